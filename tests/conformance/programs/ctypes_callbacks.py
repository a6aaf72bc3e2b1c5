import ctypes
print("imported", ctypes.sizeof(ctypes.c_long), ctypes.sizeof(ctypes.c_void_p), ctypes.sizeof(ctypes.c_longdouble))
buf = ctypes.create_string_buffer(b"hello world", 32)
ctypes.memmove(buf, b"HELLO", 5)
ctypes.memset(ctypes.addressof(buf) + 6, ord("W"), 1)
print(buf.value, ctypes.string_at(buf, 5), ctypes.wstring_at(ctypes.create_unicode_buffer("wide"), 4))
F = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double, ctypes.c_longlong)
f = F(lambda a, b: a * b)
print(f(1.5, 4))
G = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char, ctypes.c_short, ctypes.c_float)
g = G(lambda c, s, x: ord(c) + s + int(x * 10))
print(g(b"A", -3, 0.5))
class Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_double)]
P = ctypes.CFUNCTYPE(ctypes.c_double, Point)
pf = P(lambda p: p.x + p.y)
print(pf(Point(2, 0.25)))
R = ctypes.CFUNCTYPE(Point, ctypes.c_int)
try:
    rf = R(lambda n: Point(n, n / 2))
except TypeError as e:
    print("TypeError:", e)
V = ctypes.CFUNCTYPE(None)
calls = []
V(lambda: calls.append(1))()
print(calls)
p = Point(1, 2.5)
print(p.x, p.y, ctypes.sizeof(Point), bytes(p)[:4])
arr = (ctypes.c_int * 4)(4, 3, 2, 1)
print(list(arr), ctypes.cast(arr, ctypes.POINTER(ctypes.c_int))[2])
print(ctypes.c_int.from_buffer_copy(b"\x01\x02\x00\x00").value)
class U(ctypes.Union):
    _fields_ = [("i", ctypes.c_uint32), ("f", ctypes.c_float)]
print(hex(U(f=1.0).i))
import gc
for _ in range(50):
    F(lambda a, b: a)(1.0, 2)
gc.collect()
print(F(lambda a, b: a + b)(0.5, 2))
