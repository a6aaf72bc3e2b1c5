import functools

@functools.lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

print(fib(100), fib.cache_info())
fib.cache_clear()
print(fib.cache_info())
print(functools.reduce(lambda a, b: a * b, range(1, 8)), functools.reduce(lambda a, b: a + b, [], 0))
pow2 = functools.partial(pow, exp=2)
print(pow2(9), pow2.keywords, repr(functools.partial(int, base=2))[:40].split(" at ")[0])

@functools.total_ordering
class V:
    def __init__(self, v):
        self.v = v
    def __eq__(self, other):
        return self.v == other.v
    def __lt__(self, other):
        return self.v < other.v

print(V(1) <= V(2), V(3) >= V(2), V(1) > V(1))

@functools.singledispatch
def show(x):
    return f"object {x!r}"

@show.register
def _(x: int):
    return f"int {x}"

@show.register(list)
def _(x):
    return f"list of {len(x)}"

print(show(1), show([1, 2]), show("s"), show(True))

def deco(f):
    @functools.wraps(f)
    def wrapper(*a, **k):
        return f(*a, **k)
    return wrapper

@deco
def documented():
    """docstring"""

print(documented.__name__, documented.__doc__, documented.__wrapped__.__name__)

class C:
    @functools.cached_property
    def value(self):
        print("computing")
        return 42

c = C()
print(c.value, c.value)
print(sorted(["b", "A", "c"], key=functools.cmp_to_key(lambda a, b: (a.lower() > b.lower()) - (a.lower() < b.lower()))))
