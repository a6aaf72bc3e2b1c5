import io
import zipfile

buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
    for name, body in [("a.txt", b"alpha\n" * 50), ("dir/b.bin", bytes(range(256))), ("dir/c.txt", "ünïcode".encode())]:
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 2, 3, 4, 6))
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, body)
    stored = zipfile.ZipInfo("stored.txt", date_time=(1999, 12, 31, 23, 59, 58))
    zf.writestr(stored, b"stored", compress_type=zipfile.ZIP_STORED)
raw = buf.getvalue()
print(len(raw), raw[:4], zipfile.is_zipfile(io.BytesIO(raw)))
with zipfile.ZipFile(io.BytesIO(raw)) as zf:
    for info in zf.infolist():
        print(info.filename, info.file_size, info.compress_type, info.date_time, f"{info.CRC:08x}")
    print(zf.read("a.txt")[:12], zf.read("dir/c.txt").decode(), zf.testzip())
    with zf.open("dir/b.bin") as f:
        print(f.read(4).hex())
    print(zf.namelist())
    zf.extractall("/tmp/zipout")
import os
print(sorted(os.listdir("/tmp/zipout")), sorted(os.listdir("/tmp/zipout/dir")))
path = zipfile.Path(io.BytesIO(raw), "dir/")
print(sorted(p.name for p in path.iterdir()))
try:
    zipfile.ZipFile(io.BytesIO(b"not a zip"))
except zipfile.BadZipFile as e:
    print("BadZipFile:", e)
