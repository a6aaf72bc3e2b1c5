import dataclasses
from dataclasses import asdict, astuple, dataclass, field, fields, replace

@dataclass(order=True)
class Item:
    name: str
    price: float = 0.0
    tags: list = field(default_factory=list, compare=False)
    qty: int = field(default=1, repr=False)

a = Item("apple", 1.5, ["fruit"])
b = Item("banana")
print(a, b, a < b, a == Item("apple", 1.5), sorted([b, a])[0].name)
print(asdict(a), astuple(b), [f.name for f in fields(Item)])
print(replace(a, price=2.0))

@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 0
    def norm2(self):
        return self.x ** 2 + self.y ** 2

p = Point(3, 4)
print(p, p.norm2(), hash(p) == hash(Point(3, 4)), hasattr(p, "__dict__"))
try:
    p.x = 1
except dataclasses.FrozenInstanceError as e:
    print("FrozenInstanceError:", e)

@dataclass(kw_only=True)
class Cfg:
    debug: bool = False
    level: int = 3
    def __post_init__(self):
        self.level = max(0, self.level)

print(Cfg(level=-5))
try:
    Cfg(True)
except TypeError as e:
    print("TypeError:", e)
try:
    @dataclass
    class Bad:
        x: list = []
except ValueError as e:
    print("ValueError:", e)
Dyn = dataclasses.make_dataclass("Dyn", [("a", int), ("b", str, field(default="z"))])
print(Dyn(1), dataclasses.is_dataclass(Dyn), dataclasses.is_dataclass(1))
