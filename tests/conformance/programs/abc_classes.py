from abc import ABC, ABCMeta, abstractmethod
from collections.abc import Iterable, Sized

class Shape(ABC):
    @abstractmethod
    def area(self): ...

    @property
    @abstractmethod
    def name(self): ...

    def describe(self):
        return f"{self.name} with area {self.area()}"

class Square(Shape):
    def __init__(self, s):
        self.s = s
    def area(self):
        return self.s ** 2
    @property
    def name(self):
        return "square"

print(Square(3).describe(), sorted(Shape.__abstractmethods__))
try:
    Shape()
except TypeError as e:
    print("TypeError:", e)

class Half(Shape):
    def area(self):
        return 0
try:
    Half()
except TypeError as e:
    print("TypeError:", e)

class Duck(metaclass=ABCMeta):
    pass

Duck.register(int)
print(isinstance(3, Duck), issubclass(bool, Duck), isinstance("x", Duck))

class Bag:
    def __len__(self):
        return 0
    def __iter__(self):
        return iter(())

print(isinstance(Bag(), Sized), isinstance(Bag(), Iterable), issubclass(list, Sized))
