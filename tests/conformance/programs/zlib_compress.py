import zlib

data = b"".join(b"line %d of some repetitive text\n" % i for i in range(200))
for level in (0, 1, 6, 9):
    c = zlib.compress(data, level)
    print(level, len(c), zlib.decompress(c) == data)
print(zlib.compress(b"hello").hex())
co = zlib.compressobj(9, zlib.DEFLATED, -15)
raw = co.compress(data) + co.flush()
print(len(raw), zlib.decompress(raw, -15) == data)
d = zlib.decompressobj()
c = zlib.compress(data)
out = d.decompress(c[:100]) + d.decompress(c[100:]) + d.flush()
print(out == data, d.eof, d.unused_data)
print(zlib.crc32(data), zlib.adler32(data))
print(zlib.ZLIB_VERSION.count(".") >= 2, zlib.MAX_WBITS)
try:
    zlib.decompress(b"not zlib data")
except zlib.error as e:
    print("zlib.error:", e)
gz = zlib.compressobj(wbits=31)
g = gz.compress(b"gzip via zlib") + gz.flush()
print(g[:3].hex(), zlib.decompress(g, 47))
