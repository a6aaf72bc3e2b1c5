import array

a = array.array("i", range(10))
print(a, a.itemsize, a.typecode, len(a), a.buffer_info()[1])
a.append(100)
a.extend([7, 8])
a.insert(0, -1)
print(a.tolist(), a.count(7), a.index(100))
a.reverse()
print(a[:5], a[::4])
d = array.array("d", [1.5, 2.25])
print(d.tobytes().hex(), array.array("d", d.tobytes()))
u = array.array("u", "héllo")
print(u.tounicode(), u.itemsize)
b = array.array("B", b"\x01\x02\x03")
b.byteswap()
print(b, array.array("H", [1, 256]).tobytes().hex())
h = array.array("H", [1, 256])
h.byteswap()
print(h.tolist())
print(sorted(array.typecodes))
try:
    array.array("b", [200])
except OverflowError as e:
    print("OverflowError:", e)
try:
    array.array("z")
except ValueError as e:
    print("ValueError:", e)
m = memoryview(array.array("l", [1, 2, 3]))
print(m.format, m.itemsize, m.tolist(), m.nbytes)
