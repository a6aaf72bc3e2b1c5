import math

print(math.pi, math.e, math.tau, math.inf, math.nan)
print(math.sqrt(2), math.isqrt(10**20 + 1), math.cbrt(27.0) if hasattr(math, "cbrt") else 3.0)
print(math.sin(1), math.cos(1), math.tan(1), math.atan2(1, -1))
print(math.log(100, 10), math.log2(1024), math.log10(0.001), math.log1p(1e-10), math.expm1(1e-10))
print(math.factorial(25), math.comb(50, 25), math.perm(10, 3), math.gcd(462, 1071, 21), math.lcm(4, 6, 10))
print(math.floor(-2.5), math.ceil(-2.5), math.trunc(-2.5), round(2.5), round(3.5), round(-0.5))
print(math.fsum([0.1] * 10), sum([0.1] * 10), math.prod(range(1, 11)))
print(math.isclose(0.1 + 0.2, 0.3), math.isfinite(1e308 * 10), math.isnan(float("nan")))
print(math.hypot(3, 4, 12), math.dist((0, 0), (3, 4)), math.copysign(1, -0.0))
print(math.frexp(1024.5), math.ldexp(0.5, 11), math.modf(-3.75), math.fmod(-7, 3), -7 % 3)
print(math.degrees(math.pi), math.radians(180), math.erf(1), math.gamma(5.5), math.lgamma(100))
print(math.nextafter(1.0, 2.0), math.ulp(1.0), math.remainder(10, 3))
try:
    math.sqrt(-1)
except ValueError as e:
    print("ValueError:", e)
try:
    math.exp(1000)
except OverflowError as e:
    print("OverflowError:", e)
print(2 ** 0.5, 10 / 3, 1e16, 1.5e-7, 123456789.0 * 1000, float("1e500"), -0.0)
print((0.1).hex(), float.fromhex("0x1.8p1"), (2.5).as_integer_ratio())
