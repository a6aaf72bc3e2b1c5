import sys

print("plain ascii")
print("unicode: héllo wörld ✓ 😀 中文")
sys.stdout.write("no newline")
sys.stdout.write(" then newline\n")
print("to stderr", file=sys.stderr)
sys.stderr.write("stderr unicode ✓\n")
print("multi", "args", sep="|", end="!\n")
sys.stdout.buffer.write(b"raw bytes \xe2\x9c\x93\n")
sys.stdout.flush()
print("surrogate:", "\udce9".encode("utf-8", "surrogateescape"))
try:
    print("lone surrogate \ud800")
except UnicodeEncodeError as e:
    print("UnicodeEncodeError:", e.reason, file=sys.stderr)
print("x" * 10000)
print("\r\n\t tabs and crlf", end="\n")
print()
print(repr(sys.stdout.newlines), sys.stdout.writable(), sys.stdin.readable())
print("final line without newline", end="")
