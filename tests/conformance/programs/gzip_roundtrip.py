import gzip
import io
import os

data = ("gzip text é ✓\n" * 100).encode()
c = gzip.compress(data, mtime=0)
print(len(c), c[:4].hex(), gzip.decompress(c) == data)
print(gzip.compress(b"abc", mtime=0).hex())
buf = io.BytesIO()
with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as f:
    f.write(b"first\n")
    f.write(b"second\n")
buf.seek(0)
with gzip.GzipFile(fileobj=buf) as f:
    print(f.readlines())
path = "/tmp/conformance.txt.gz"
with gzip.open(path, "wt", encoding="utf-8") as f:
    f.write("line one\nline two\n")
with gzip.open(path, "rt", encoding="utf-8") as f:
    print(f.read().splitlines())
print(os.path.getsize(path) > 20)
os.remove(path)
try:
    gzip.decompress(b"definitely not gzip")
except gzip.BadGzipFile as e:
    print("BadGzipFile:", e)
