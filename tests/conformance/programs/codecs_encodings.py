import codecs

s = "Grüße, 世界! 😀"
for enc in ("utf-8", "utf-16", "utf-16-le", "utf-32-be", "utf-8-sig", "latin-1", "cp1252", "ascii", "shift_jis", "gb18030", "koi8-r", "idna", "punycode"):
    try:
        b = s.encode(enc)
        print(enc, b.hex(), b.decode(enc) == s)
    except UnicodeError as e:
        print(enc, type(e).__name__, e)
for errors in ("ignore", "replace", "xmlcharrefreplace", "backslashreplace", "namereplace"):
    print(errors, s.encode("ascii", errors))
print(b"\xff\xfeabc".decode("utf-8", "replace"), b"\xff".decode("latin-1"), b"caf\xc3".decode("utf-8", "surrogateescape").encode("utf-8", "surrogateescape"))
print(codecs.encode("hello", "rot13"), codecs.decode(b"68656c6c6f", "hex"), codecs.encode(b"x", "base64"))
print(codecs.lookup("UTF8").name, codecs.lookup("latin_1").name, codecs.BOM_UTF8)
inc = codecs.getincrementaldecoder("utf-8")()
print([inc.decode(bytes([b])) for b in "é✓".encode()], inc.decode(b"", final=True))
try:
    "x".encode("no-such-codec")
except LookupError as e:
    print("LookupError:", e)
print("idna", "bücher.example".encode("idna"), b"xn--bcher-kva.example".decode("idna"))
