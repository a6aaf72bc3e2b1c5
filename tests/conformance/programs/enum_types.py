import enum
from enum import Enum, Flag, IntEnum, StrEnum, auto, unique

class Color(Enum):
    RED = 1
    GREEN = 2
    BLUE = 3
    CRIMSON = 1

print(Color.RED, repr(Color.GREEN), Color(3), Color["BLUE"], Color.CRIMSON is Color.RED)
print(list(Color), len(Color), [m.name for m in Color.__members__.values()])

class Perm(Flag):
    R = auto()
    W = auto()
    X = auto()

rw = Perm.R | Perm.W
print(rw, repr(rw), Perm.R in rw, Perm.X in rw, list(rw), ~Perm.R, Perm(0))

class Level(IntEnum):
    LOW = 10
    HIGH = 20

print(Level.LOW < Level.HIGH, Level.HIGH + 1, sorted([Level.HIGH, Level.LOW]), int(Level.LOW))

class Mode(StrEnum):
    FAST = auto()
    SLOW = "slow-mode"

print(Mode.FAST, Mode.SLOW.upper(), Mode("fast") is Mode.FAST, f"{Mode.SLOW}")
try:
    @unique
    class Dup(Enum):
        A = 1
        B = 1
except ValueError as e:
    print("ValueError:", e)
try:
    Color(9)
except ValueError as e:
    print("ValueError:", e)
Animal = Enum("Animal", "CAT DOG")
print(Animal.DOG.value, Animal.CAT.name, isinstance(Animal.CAT, Enum))
print(enum.Enum.__name__, Color.RED.value, type(Color.RED).__name__)
