import sys

print(sys.version_info[:2] >= (3, 13), sys.implementation.name, sys.platform, sys.byteorder, sys.maxsize, sys.maxunicode)
print(sys.float_info.max, sys.float_info.epsilon, sys.float_info.dig, sys.int_info.bits_per_digit)
print(sys.hash_info.width, sys.getdefaultencoding(), sys.getfilesystemencoding(), sys.flags.optimize, sys.flags.isolated)
print(sys.argv, __name__, __file__, sys.prefix)
print(sys.stdout.encoding, sys.stderr.encoding, sys.stdout.errors, sys.stderr.errors, sys.stdin.encoding)
print(sys.stdout.isatty(), sys.stderr.isatty(), sys.stdin.isatty(), sys.stdout.line_buffering)
print(sys.getsizeof(0), sys.getsizeof(""), sys.getsizeof([]), sys.getsizeof(1.0))
print(sys.get_int_max_str_digits(), sys.getrecursionlimit(), sys.getswitchinterval())
print(type(sys.modules).__name__, "sys" in sys.modules, sys.is_finalizing())
import platform
print(platform.system(), platform.machine(), platform.python_implementation())
try:
    int("9" * 5000)
except ValueError as e:
    print("ValueError:", e)
