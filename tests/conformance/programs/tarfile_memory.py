import io
import tarfile

buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
    for name, body in [("hello.txt", b"hello\n"), ("sub/data.bin", bytes(1000)), ("sub/ünï.txt", "x".encode())]:
        info = tarfile.TarInfo(name)
        info.size = len(body)
        info.mtime = 1600000000
        info.mode = 0o640
        info.uname = "user"
        tf.addfile(info, io.BytesIO(body))
    d = tarfile.TarInfo("emptydir")
    d.type = tarfile.DIRTYPE
    d.mtime = 1600000000
    d.mode = 0o755
    tf.addfile(d)
    link = tarfile.TarInfo("link")
    link.type = tarfile.SYMTYPE
    link.linkname = "hello.txt"
    link.mtime = 1600000000
    tf.addfile(link)
buf.seek(0)
with tarfile.open(fileobj=buf, mode="r:*") as tf:
    for m in tf.getmembers():
        print(m.name, m.size, oct(m.mode), m.mtime, m.isfile(), m.isdir(), m.issym(), m.linkname, m.uname)
    print(tf.extractfile("hello.txt").read())
    tf.extractall("/tmp/tarout", filter="data")
import os
print(sorted(os.listdir("/tmp/tarout")), os.readlink("/tmp/tarout/link"))
print(open("/tmp/tarout/link").read(), oct(os.stat("/tmp/tarout/hello.txt").st_mode))
print(os.stat("/tmp/tarout/hello.txt").st_mtime)
print(tarfile.is_tarfile(io.BytesIO(b"nope" * 200)))
bad = tarfile.TarInfo("../escape.txt")
bad.size = 1
b2 = io.BytesIO()
with tarfile.open(fileobj=b2, mode="w") as tf:
    tf.addfile(bad, io.BytesIO(b"x"))
b2.seek(0)
with tarfile.open(fileobj=b2) as tf:
    try:
        tf.extractall("/tmp/tarout2", filter="data")
    except tarfile.FilterError as e:
        print(type(e).__name__, e)
