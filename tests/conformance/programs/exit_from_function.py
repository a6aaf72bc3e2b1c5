import sys

def shutdown(code):
    print("shutting down with", code)
    raise SystemExit(code)

try:
    sys.exit(5)
except SystemExit as e:
    print("caught SystemExit", e.code)
try:
    shutdown(None)
except SystemExit as e:
    print("caught None", e.code)
shutdown(7)
