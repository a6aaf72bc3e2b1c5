import sys

print("exiting with zero")
sys.stdout.flush()
sys.exit(0)
print("not reached")
