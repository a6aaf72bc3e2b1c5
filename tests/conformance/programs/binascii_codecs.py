import binascii

data = b"binascii \x00\xff\x10 data"
print(binascii.hexlify(data), binascii.hexlify(data, "-", 4))
print(binascii.unhexlify("48656c6c6f"), bytes.fromhex("de ad be ef").hex(":"))
print(binascii.b2a_base64(data), binascii.a2b_base64(binascii.b2a_base64(data)) == data)
print(binascii.crc32(data), binascii.crc32(b"second", binascii.crc32(data)), binascii.crc_hqx(data, 0))
print(binascii.b2a_qp(b"caf\xe9 = ok\n"), binascii.a2b_qp(b"caf=E9"))
print(binascii.b2a_uu(b"uuencode me"))
try:
    binascii.unhexlify("abc")
except binascii.Error as e:
    print("binascii.Error:", e)
