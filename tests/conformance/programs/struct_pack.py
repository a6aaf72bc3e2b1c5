import struct

print(struct.pack("<I", 1).hex(), struct.pack(">I", 1).hex(), struct.pack("!h", -2).hex())
packed = struct.pack("<bhiqfd?3sx", -1, 2, -3, 2**40, 1.5, -2.25, True, b"abc")
print(packed.hex(), len(packed), struct.calcsize("<bhiqfd?3sx"))
print(struct.unpack("<bhiqfd?3sx", packed))
print(struct.calcsize("@bi"), struct.calcsize("=bi"), struct.calcsize("P"), struct.calcsize("n"), struct.calcsize("l"))
s = struct.Struct(">HH")
print(s.size, s.format, list(s.iter_unpack(bytes(range(8)))))
buf = bytearray(8)
s.pack_into(buf, 2, 0x1234, 0xABCD)
print(buf.hex(), s.unpack_from(buf, 2))
print(struct.pack("<e", 0.1).hex(), struct.unpack("<e", b"\x00\x3c"))
print(struct.pack("10p", b"pascal").hex())
try:
    struct.pack("<h", 70000)
except struct.error as e:
    print("struct.error:", e)
try:
    struct.unpack("<I", b"ab")
except struct.error as e:
    print("struct.error:", e)
print(struct.pack("<Q", 2**64 - 1).hex(), struct.unpack("<q", b"\xff" * 8))
