class Meta(type):
    def __new__(mcls, name, bases, ns, **kw):
        ns["created_by"] = "Meta"
        return super().__new__(mcls, name, bases, ns, **kw)

class Base(metaclass=Meta):
    count = 0
    def __init_subclass__(cls, tag="none", **kw):
        super().__init_subclass__(**kw)
        cls.tag = tag
    def __init__(self):
        type(self).count += 1

class Child(Base, tag="child"):
    __slots__ = ("a",)
    def __repr__(self):
        return f"Child(count={self.count})"

c1, c2 = Child(), Child()
print(c1, Child.tag, Child.created_by, Child.__mro__[1].__name__, Base.count)

class Vec:
    def __init__(self, *xs):
        self.xs = xs
    def __add__(self, other):
        return Vec(*(a + b for a, b in zip(self.xs, other.xs)))
    def __mul__(self, k):
        return Vec(*(a * k for a in self.xs))
    __rmul__ = __mul__
    def __eq__(self, other):
        return self.xs == other.xs
    def __hash__(self):
        return hash(self.xs)
    def __len__(self):
        return len(self.xs)
    def __getitem__(self, i):
        return self.xs[i]
    def __repr__(self):
        return f"Vec{self.xs}"
    def __bool__(self):
        return any(self.xs)
    def __format__(self, spec):
        return "<" + ",".join(format(x, spec) for x in self.xs) + ">"

v = Vec(1, 2) + Vec(3, 4)
print(v, 2 * v, v * 2, len(v), v[-1], list(v), bool(Vec(0, 0)), f"{v:03d}", {v: 1}[Vec(4, 6)])

def gen():
    received = yield 1
    print("received", received)
    yield from range(2, 4)
    return "done"

g = gen()
print(next(g), g.send("hello"), next(g))
try:
    next(g)
except StopIteration as e:
    print("StopIteration value:", e.value)

def countdown(n):
    while n:
        yield n
        n -= 1

print(list(countdown(5)), sum(x * x for x in countdown(4)), {x: x % 2 for x in countdown(3)})
squares = (i * i for i in range(5))
print(next(squares), list(squares))

class Prop:
    def __init__(self):
        self._v = 0
    @property
    def v(self):
        return self._v
    @v.setter
    def v(self, x):
        if x < 0:
            raise ValueError("negative")
        self._v = x
    @staticmethod
    def s():
        return "static"
    @classmethod
    def c(cls):
        return cls.__name__

p = Prop()
p.v = 5
print(p.v, Prop.s(), Prop.c())
try:
    p.v = -1
except ValueError as e:
    print("ValueError:", e)
match {"type": "point", "x": 1, "y": 2}:
    case {"type": "point", "x": x, "y": y} if x < y:
        print("point", x, y)
    case _:
        print("other")
f = lambda *a, k=1, **kw: (a, k, sorted(kw))
print(f(1, 2, k=3, z=4, a=5))
nonlocal_test = []
def outer():
    n = 0
    def inc():
        nonlocal n
        n += 1
        return n
    return inc
inc = outer()
print(inc(), inc(), inc.__closure__[0].cell_contents)
