import os

base = "/tmp/ünï"
os.makedirs(base, exist_ok=True)
names = ["café.txt", "日本語.md", "emoji 😀.bin", "space name", "a" * 200]
for n in names:
    with open(os.path.join(base, n), "w", encoding="utf-8") as f:
        f.write(n)
print(sorted(os.listdir(base)))
print(sorted(os.listdir(os.fsencode(base)))[:3])
print(open(os.path.join(base, "café.txt"), encoding="utf-8").read())
print(os.path.exists(os.path.join(base, "CAFÉ.txt")), os.path.exists(os.path.join(base, "cafe\u0301.txt")))
print(os.fsencode("ü"), os.fsdecode(b"\xc3\xbc"), os.fsdecode(b"\xff"), os.fsencode("\udcff"))
print(sorted(e.name for e in os.scandir(base))[:2])
