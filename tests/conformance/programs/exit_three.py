import sys

print("about to exit with 3")
print("a message on stderr", file=sys.stderr)
try:
    sys.exit(3)
finally:
    print("finally still runs")
