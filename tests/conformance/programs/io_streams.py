import io

s = io.StringIO("first\nsecond\nthird")
print(s.readline(), s.read(3), s.tell(), s.readlines())
s.seek(0, io.SEEK_END)
s.write("\nfourth")
print(repr(s.getvalue()))
b = io.BytesIO(b"0123456789")
print(b.read(3), b.seek(-2, io.SEEK_END), b.read(), b.getbuffer().nbytes)
b.seek(2)
b.write(b"XY")
print(b.getvalue())
b.truncate(4)
print(b.getvalue(), b.tell())
br = io.BufferedReader(io.BytesIO(b"buffered data here"), buffer_size=4)
print(br.peek(1)[:1], br.read(8), br.read1(3))
t = io.TextIOWrapper(io.BytesIO("a\r\nb\rc\nd".encode()), encoding="utf-8", newline=None)
print(t.readlines())
t2 = io.TextIOWrapper(io.BytesIO(), encoding="utf-16", newline="\r\n")
t2.write("x\ny")
t2.flush()
print(t2.buffer.getvalue())
with io.StringIO() as closed:
    pass
try:
    closed.read()
except ValueError as e:
    print("ValueError:", e)
try:
    io.BytesIO(b"x").write("str")
except TypeError as e:
    print("TypeError:", e)
print(io.DEFAULT_BUFFER_SIZE, issubclass(io.StringIO, io.TextIOBase))
bad = io.TextIOWrapper(io.BytesIO(b"ok \xff bad"), encoding="utf-8", errors="replace")
print(bad.read())
try:
    io.TextIOWrapper(io.BytesIO(b"\xff"), encoding="utf-8").read()
except UnicodeDecodeError as e:
    print("UnicodeDecodeError:", e)
