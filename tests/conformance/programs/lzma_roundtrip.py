try:
    import lzma
except ImportError as e:
    print("lzma unavailable:", type(e).__name__)
    raise SystemExit(0)

data = b"lzma data " * 1000
for fmt in (lzma.FORMAT_XZ, lzma.FORMAT_ALONE):
    c = lzma.compress(data, format=fmt)
    print(fmt, len(c), lzma.decompress(c) == data)
raw = lzma.compress(data, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 1}])
print(lzma.decompress(raw, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2}]) == data)
print(lzma.compress(b"abc").hex())
print(lzma.is_check_supported(lzma.CHECK_SHA256))
try:
    lzma.decompress(b"not xz")
except lzma.LZMAError as e:
    print("LZMAError:", e)
