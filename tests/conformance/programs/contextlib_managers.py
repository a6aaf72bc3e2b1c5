import contextlib
import io

@contextlib.contextmanager
def tag(name):
    print(f"<{name}>")
    try:
        yield name.upper()
    finally:
        print(f"</{name}>")

with tag("a") as t, tag("b"):
    print("inside", t)

with contextlib.suppress(KeyError, ZeroDivisionError):
    1 / 0
print("suppressed")

buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    print("captured line")
print(repr(buf.getvalue()))

with contextlib.ExitStack() as stack:
    names = [stack.enter_context(tag(n)) for n in ("x", "y")]
    stack.callback(print, "callback ran")
    print(names)

class Res:
    def close(self):
        print("closed")

with contextlib.closing(Res()):
    print("using")
with contextlib.nullcontext(5) as v:
    print(v)

try:
    with tag("err"):
        raise ValueError("boom")
except ValueError as e:
    print("caught", e)

@contextlib.contextmanager
def swallow():
    try:
        yield
    except RuntimeError as e:
        print("swallowed", e)

with swallow():
    raise RuntimeError("inner")
print("after swallow")

class Deco(contextlib.ContextDecorator):
    def __enter__(self):
        print("enter")
        return self
    def __exit__(self, *exc):
        print("exit", exc[0])
        return False

@Deco()
def work():
    print("working")

work()
import os
with contextlib.chdir("/tmp"):
    print(os.getcwd())
print(os.getcwd())
