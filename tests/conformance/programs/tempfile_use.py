import os
import tempfile

print(tempfile.gettempdir(), tempfile.gettempprefix())
with tempfile.TemporaryDirectory(prefix="conf_") as d:
    print(os.path.isdir(d), os.path.basename(d).startswith("conf_"), os.path.dirname(d))
    path = os.path.join(d, "inner")
    open(path, "w").close()
print(os.path.exists(d))
with tempfile.NamedTemporaryFile("w+", suffix=".txt", delete=True) as f:
    f.write("temporary")
    f.seek(0)
    print(f.read(), f.name.endswith(".txt"), os.path.exists(f.name))
    name = f.name
print(os.path.exists(name))
with tempfile.TemporaryFile() as f:
    f.write(b"anonymous")
    f.seek(0)
    print(f.read())
fd, p = tempfile.mkstemp(prefix="mk", dir="/tmp")
os.write(fd, b"x")
os.close(fd)
print(os.path.getsize(p), oct(os.stat(p).st_mode & 0o777))
os.unlink(p)
d2 = tempfile.mkdtemp()
print(oct(os.stat(d2).st_mode & 0o777))
os.rmdir(d2)
with tempfile.SpooledTemporaryFile(max_size=10) as s:
    s.write(b"small")
    print(s._rolled)
    s.write(b" but now bigger than ten")
    print(s._rolled)
names = {tempfile.mktemp() for _ in range(20)}
print(len(names))
