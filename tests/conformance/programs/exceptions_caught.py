import traceback

def inner(x):
    return {"a": 1}[x]

def outer():
    try:
        inner("b")
    except KeyError as e:
        raise ValueError("outer failed") from e

try:
    outer()
except ValueError as e:
    print("caught:", repr(e), "cause:", repr(e.__cause__))
    print(traceback.format_exc(), end="")

try:
    try:
        1 / 0
    except ZeroDivisionError:
        [][1]
except IndexError as e:
    print("context:", type(e.__context__).__name__, e.__suppress_context__)
    print("".join(traceback.format_exception(e)), end="")

class AppError(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code
    def __str__(self):
        return f"[{self.code}] {self.args[0]}"

try:
    raise AppError(42, "custom")
except AppError as e:
    print(e, e.args, e.code, isinstance(e, Exception))
e = ValueError("with note")
e.add_note("first note")
e.add_note("second note")
print("".join(traceback.format_exception_only(e)), end="")
eg = ExceptionGroup("several", [ValueError(1), TypeError("t"), ExceptionGroup("nested", [KeyError("k")])])
try:
    raise eg
except* ValueError as g:
    print("value group", g.exceptions)
except* (TypeError, KeyError) as g:
    print("other group", len(g.exceptions))
print("".join(traceback.format_exception(eg)), end="")
def f():
    try:
        return "try"
    finally:
        print("finally runs")
print(f())
for exc in (AttributeError("x", name="n", obj=1), NameError("y"), StopIteration(5), OSError(2, "No such file", "p"), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")):
    print(type(exc).__name__, str(exc), exc.args)
try:
    undefined_name
except NameError as e:
    print("NameError:", e)
try:
    "abc".uper()
except AttributeError as e:
    print("AttributeError:", e)
try:
    import no_such_module_here
except ModuleNotFoundError as e:
    print("ModuleNotFoundError:", e, e.name)
