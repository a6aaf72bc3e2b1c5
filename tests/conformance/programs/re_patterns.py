import re

text = "Alice: 30, Bob: 25; Carol: 41\nDave: 7"
pattern = re.compile(r"(?P<name>[A-Z][a-z]+): (?P<age>\d+)")
for m in pattern.finditer(text):
    print(m.group("name"), int(m.group("age")), m.span())
print(pattern.findall(text))
print(re.sub(r"\d+", lambda m: str(int(m.group()) * 2), text))
print(re.split(r"[,;\n]\s*", text))
print(re.fullmatch(r"\w+@\w+\.com", "me@example.com") is not None)
print(re.match(r"^Dave", text, re.M), re.search(r"^Dave", text, re.M).start())
print(re.escape("a.b*c?(d)"))
print(re.sub(r"(?i)ALICE", "X", text, count=1))
print(re.findall(r"\b\w", "the quick brown fox"))
print(re.subn(r"o", "0", "foo boo"))
print(re.match(r"(a)(b)?", "a").groups())
print(re.findall(r"[\u00e0-\u00ff]+", "café naïve résumé"))
print(pattern.pattern, pattern.groups, sorted(pattern.groupindex.items()))
try:
    re.compile(r"(unclosed")
except re.error as e:
    print("re.error:", e.msg, e.pos)
print(re.sub(r"(?P<w>\w+)", r"<\g<w>>", "a bc"))
