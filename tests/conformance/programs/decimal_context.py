from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation, getcontext, localcontext

print(Decimal("0.1") + Decimal("0.2"), Decimal(0.1))
print(Decimal("1") / Decimal("7"))
with localcontext() as ctx:
    ctx.prec = 50
    print(Decimal(2).sqrt())
print(Decimal("2.675").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
print(Decimal("2.665").quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))
print(Decimal("-0"), Decimal("1E+3").normalize(), Decimal("123.4500").normalize())
print(Decimal("1.30").as_tuple())
print(Decimal("10") ** 30, Decimal("3.14159").to_integral_value())
print(getcontext().prec, getcontext().rounding)
try:
    Decimal("abc")
except InvalidOperation as e:
    print("InvalidOperation:", type(e).__name__)
print(sum(Decimal("0.01") for _ in range(100)))
print(Decimal("NaN").is_nan(), Decimal("Infinity") > 10**100)
print(f"{Decimal('1234567.891'):,.2f}", format(Decimal("0.000123"), "e"))
print(Decimal(1).exp(), Decimal(10).ln(), Decimal(1000).log10())
