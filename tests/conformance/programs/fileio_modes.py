import os

p = "/tmp/fileio.txt"
with open(p, "w", encoding="utf-8") as f:
    print(f.write("line1\nline2\n"), f.tell(), f.mode, f.name, f.encoding)
with open(p, "a") as f:
    f.write("line3\n")
with open(p) as f:
    print(f.readlines())
with open(p, "r+") as f:
    f.seek(2)
    f.write("X")
    f.seek(0)
    print(repr(f.read()))
with open(p, "rb") as f:
    f.seek(-6, os.SEEK_END)
    print(f.read(), f.tell(), f.seekable(), f.readable(), f.writable())
with open(p, "w", newline="\r\n") as f:
    f.write("crlf\nlines\n")
with open(p, "rb") as f:
    print(f.read())
with open(p, newline="") as f:
    print(repr(f.read()))
with open(p, "wb", buffering=0) as f:
    print(f.write(b"unbuffered"), type(f).__name__)
try:
    open(p, "x")
except FileExistsError as e:
    print("FileExistsError:", e)
with open(p, "ab+") as f:
    f.write(b"!")
    f.seek(0)
    print(f.read())
with open(p, "w", encoding="latin-1") as f:
    f.write("café")
print(open(p, "rb").read(), os.path.getsize(p))
try:
    open(p, encoding="ascii").read()
except UnicodeDecodeError as e:
    print("UnicodeDecodeError:", e)
try:
    open("/tmp", "r")
except IsADirectoryError as e:
    print("IsADirectoryError:", e)
try:
    open("/tmp/no/such/dir/file", "w")
except FileNotFoundError as e:
    print("FileNotFoundError:", e)
with open(p, "w") as f:
    pass
print(os.path.getsize(p))
f = open(p)
f.close()
try:
    f.read()
except ValueError as e:
    print("ValueError:", e)
big = os.urandom(1) * 0 + bytes(range(256)) * 4096
with open(p, "wb") as f:
    f.write(big)
with open(p, "rb") as f:
    chunks = iter(lambda: f.read(65536), b"")
    print(sum(len(c) for c in chunks), os.path.getsize(p))
os.remove(p)
