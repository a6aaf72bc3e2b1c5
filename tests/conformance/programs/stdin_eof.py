import sys

print(repr(sys.stdin.read()))
print(repr(sys.stdin.readline()))
try:
    input("prompt> ")
except EOFError as e:
    print()
    print("EOFError", e.args)
print(list(sys.stdin))
