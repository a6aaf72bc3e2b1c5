import locale

print(locale.getlocale(), locale.getpreferredencoding(False), locale.getencoding())
print(locale.setlocale(locale.LC_ALL, None))
for name in ("C", "C.UTF-8", "", "en_US.UTF-8", "de_DE.UTF-8"):
    try:
        print(repr(name), locale.setlocale(locale.LC_ALL, name))
    except locale.Error as e:
        print(repr(name), "locale.Error:", e)
locale.setlocale(locale.LC_ALL, "C")
conv = locale.localeconv()
print(conv["decimal_point"], repr(conv["thousands_sep"]), conv["grouping"])
print(locale.format_string("%.2f", 1234567.891, grouping=True), locale.str(3.14), locale.atof("2.5"))
print(sorted(["b", "A", "a", "B"], key=locale.strxfrm), locale.strcoll("a", "b") < 0)
print(locale.normalize("en_us"), locale.nl_langinfo(locale.CODESET) if hasattr(locale, "nl_langinfo") else "no nl_langinfo")
