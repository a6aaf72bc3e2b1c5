import mmap
import os

path = "/tmp/mm.bin"
with open(path, "wb") as f:
    f.write(b"0123456789" * 1000)
with open(path, "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    print(len(m), m[:10], m[-5:], m.find(b"789", 100), m.size())
    m[0:5] = b"HELLO"
    m.seek(10)
    print(m.read(5), m.tell(), m.readline()[:5])
    m.flush()
    m.close()
with open(path, "rb") as f:
    print(f.read(12))
anon = mmap.mmap(-1, 4096)
anon.write(b"anonymous map")
anon.seek(0)
print(anon.read(13), len(anon))
anon.close()
with open(path, "rb") as f:
    ro = mmap.mmap(f.fileno(), 100, access=mmap.ACCESS_READ)
    print(ro[:10])
    try:
        ro[0] = 1
    except TypeError as e:
        print("TypeError:", e)
    ro.close()
    cow = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    cow[:3] = b"cow"
    print(cow[:5])
    cow.close()
with open(path, "rb") as f:
    print(f.read(5))
print(mmap.PAGESIZE, mmap.ALLOCATIONGRANULARITY)
os.remove(path)
