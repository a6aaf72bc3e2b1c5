import operator

print(operator.add(2, 3), operator.mul("ab", 3), operator.truediv(7, 2), operator.floordiv(-7, 2), operator.mod(-7, 2))
print(operator.neg(5), operator.not_(0), operator.truth([]), operator.is_(None, None), operator.contains([1, 2], 2))
getter = operator.itemgetter(1, 0)
print(getter(["a", "b"]), operator.itemgetter("k")({"k": "v"}))
rows = [("b", 2), ("a", 2), ("c", 1)]
print(sorted(rows, key=operator.itemgetter(1, 0)))
class P:
    def __init__(self):
        self.name = "p"
        self.child = type("Child", (), {"age": 3})()
    def greet(self, who, punct="!"):
        return f"hi {who}{punct}"
p = P()
print(operator.attrgetter("name", "child.age")(p), operator.methodcaller("greet", "you", punct="?")(p))
x = [1, 2, 3]
operator.setitem(x, 0, 9)
operator.delitem(x, 1)
print(x, operator.getitem(x, -1), operator.index(7), operator.length_hint(iter(range(5))))
print(operator.iadd([1], [2]), operator.ipow(2, 10), operator.xor(0b1100, 0b1010), operator.lshift(1, 70))
print(operator.countOf([1, 2, 1], 1), operator.indexOf("abc", "c"), operator.concat("a", "b"))
print(operator.call(len, "four") if hasattr(operator, "call") else 4)
