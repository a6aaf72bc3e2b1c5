import bz2

data = b"bz2 compresses runs " * 500
c = bz2.compress(data)
print(len(c), c[:3], bz2.decompress(c) == data)
print(bz2.compress(b"abc", 1).hex())
comp = bz2.BZ2Compressor(5)
out = comp.compress(data[:3000]) + comp.compress(data[3000:]) + comp.flush()
dec = bz2.BZ2Decompressor()
print(dec.decompress(out) == data, dec.eof)
with bz2.open("/tmp/conf.bz2", "wb") as f:
    f.write(data)
with bz2.open("/tmp/conf.bz2", "rb") as f:
    print(f.read(20))
try:
    bz2.decompress(b"BZh9 broken")
except OSError as e:
    print("OSError:", e)
