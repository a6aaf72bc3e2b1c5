import typing
from typing import Annotated, Any, Generic, Literal, NamedTuple, Optional, Protocol, TypedDict, TypeVar, Union, get_args, get_origin, get_type_hints, runtime_checkable

T = TypeVar("T")

class Box(Generic[T]):
    def __init__(self, item: T) -> None:
        self.item = item

class Movie(TypedDict, total=False):
    title: str
    year: int

class Pair(NamedTuple):
    left: int
    right: str = "r"

@runtime_checkable
class Closer(Protocol):
    def close(self) -> None: ...

def f(a: int, b: Optional[str] = None, *rest: float) -> list[int]:
    return [a]

print(get_type_hints(f))
print(get_origin(list[int]), get_args(dict[str, int]), get_args(Union[int, str]), get_origin(int | None))
print(get_args(Literal["a", "b"]), get_args(Annotated[int, "meta"]), get_type_hints(Movie))
print(Box[int](5).item, Box.__parameters__, Pair(1), Pair._fields, Movie.__total__)
print(isinstance(open("/dev/null"), Closer), isinstance(3, Closer))
print(typing.cast(int, "not checked"), repr(Any), repr(Optional[int]), repr(list[tuple[int, ...]]))
print(typing.TYPE_CHECKING, repr(int | str), Union[int, int] is int)

def g[S](x: S) -> S:
    return x

print(g.__type_params__, g(3))
type Alias = list[int]
print(Alias.__value__, Alias.__name__)
