import sys

print(sys.maxsize)
try:
    bytearray(2**40)
except (MemoryError, OverflowError) as e:
    print("bytearray(2**40):", type(e).__name__, e)
try:
    [None] * (2**30)
except MemoryError as e:
    print("[None] * 2**30:", type(e).__name__, e)
try:
    "x" * (2**31)
except (MemoryError, OverflowError) as e:
    print("'x' * 2**31:", type(e).__name__, e)
try:
    b"\0" * (sys.maxsize)
except MemoryError as e:
    print("bytes of maxsize:", type(e).__name__, e)
big = bytearray(64 * 1024 * 1024)
print("64 MiB ok:", len(big), big[-1])
del big
print("still alive", sum(range(100)))
