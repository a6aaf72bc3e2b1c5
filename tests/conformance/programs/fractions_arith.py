from fractions import Fraction
import math

a = Fraction(3, 4)
b = Fraction("5/6")
print(a + b, a - b, a * b, a / b, a ** 2, -a)
print(Fraction(0.1), Fraction(0.1).limit_denominator(100))
print(Fraction("3.1415").limit_denominator(1000), Fraction(math.pi).limit_denominator(10**6))
print(sum(Fraction(1, n) for n in range(1, 11)))
print(a < b, a == 0.75, float(b), int(Fraction(-7, 2)), round(Fraction(7, 2)))
print(Fraction(10, -4), Fraction(10, -4).numerator, Fraction(10, -4).denominator)
print(math.floor(Fraction(-7, 3)), math.ceil(Fraction(-7, 3)))
print(Fraction(1, 3).as_integer_ratio(), repr(Fraction(2, 6)))
try:
    Fraction(1, 0)
except ZeroDivisionError as e:
    print("ZeroDivisionError:", e)
print(f"{Fraction(1, 3):.5f}")
