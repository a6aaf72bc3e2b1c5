"""A first program for pyworkerd: real CPython, no JavaScript."""

import json
import platform
import sys

greeting = {"hello": "world", "python": platform.python_version(), "platform": sys.platform}
print(json.dumps(greeting, sort_keys=True))
print("args:", sys.argv[1:])
