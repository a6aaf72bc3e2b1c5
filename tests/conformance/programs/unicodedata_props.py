import unicodedata

for ch in "aZ5 é€😀\u0301ß中":
    print(repr(ch), unicodedata.name(ch, "?"), unicodedata.category(ch), unicodedata.bidirectional(ch),
          unicodedata.combining(ch), unicodedata.east_asian_width(ch), unicodedata.mirrored(ch))
print(unicodedata.lookup("SNOWMAN"), unicodedata.lookup("GREEK SMALL LETTER ALPHA"))
s = "e\u0301 ﬁ Ⅻ ①"
for form in ("NFC", "NFD", "NFKC", "NFKD"):
    n = unicodedata.normalize(form, s)
    print(form, ascii(n), len(n), unicodedata.is_normalized(form, s))
print(unicodedata.decimal("٣"), unicodedata.digit("③"), unicodedata.numeric("⅞"), unicodedata.decomposition("é"))
print(unicodedata.unidata_version.count("."), len(unicodedata.unidata_version) > 0)
try:
    unicodedata.lookup("NO SUCH CHARACTER NAME")
except KeyError as e:
    print("KeyError:", e)
print("\N{BLACK HEART SUIT}", len("👍🏽"), "👍🏽".encode("utf-8").hex())
