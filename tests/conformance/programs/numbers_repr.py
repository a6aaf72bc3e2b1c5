print(2**100, -2**63, 10**30 // 7, 10**30 % 7, divmod(-17, 5), pow(3, 200, 10**9 + 7), pow(3, -1, 7))
print(0.1 + 0.2, 1 / 3, 2 / 3, 1e22, 1e-7, 123456789012345678.0, 5e-324, 1.7976931348623157e308)
print(float("nan"), -float("inf"), round(2.675, 2), round(0.5), round(1.5), round(-1.5), round(1234.5678, -2))
print(int("ff", 16), int("0b101", 0), int(" 42 "), int("1_000"), int(3.99), int(-3.99), hex(-255), oct(8), bin(10))
print((255).to_bytes(2, "big"), int.from_bytes(b"\x01\x00", "little"), (-1).to_bytes(2, "big", signed=True), (2**64).bit_length(), (7).bit_count())
print(complex(1, -2), (1 + 2j) * (3 - 1j), abs(3 + 4j), (1j) ** 2, complex("1.5-2j"))
print(format(1234567.891, ",.2f"), format(0.000012345, ".3g"), format(1e100, "g"), format(255, "08b"), format(-0.0, "+.1f"))
print(repr(1.0), repr(100.0), repr(1e16), repr(0.30000000000000004), str(1e-5), 3.0 == 3, 0.1 * 3 == 0.3)
print(True + True, 7 // 2, -7 // 2, 7 % -3, 2 ** -1, (-8) ** (1 / 3))
print(float.fromhex("0x1p-1074"), (1.5).is_integer(), (10**20).__index__() == 10**20, 12.5 .__round__(), hash(-1), hash(1.5), hash(2**61))
print(sorted([3, 1.5, 2, -1, 10**20, -0.0]), max("apple", "pear", key=len), min([], default="empty"))
print(sum([0.1] * 10), sum(range(10**6)), abs(-7), 2 ** 1000 % 997)
try:
    1 / 0
except ZeroDivisionError as e:
    print("ZeroDivisionError:", e)
try:
    int("12a")
except ValueError as e:
    print("ValueError:", e)
try:
    10.0 ** 400
except OverflowError as e:
    print("OverflowError:", e)
