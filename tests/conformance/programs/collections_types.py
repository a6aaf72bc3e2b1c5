from collections import ChainMap, Counter, OrderedDict, defaultdict, deque, namedtuple
from collections.abc import Mapping, MutableSequence, Sequence

c = Counter("mississippi")
print(sorted(c.items()), c.most_common(2), c["z"])
c.update("sip")
print(c.total(), sorted((c - Counter("ss")).elements()))
d = defaultdict(list)
for k, v in [("a", 1), ("b", 2), ("a", 3)]:
    d[k].append(v)
print(dict(d), d.default_factory)
q = deque(range(5), maxlen=5)
q.append(5)
q.appendleft(-1)
q.rotate(2)
print(q, q.maxlen, q.popleft(), q.pop())
od = OrderedDict.fromkeys("abcde")
od.move_to_end("b")
od.move_to_end("e", last=False)
print(list(od), od.popitem(), od.popitem(last=False))
Point = namedtuple("Point", "x y", defaults=[0])
p = Point(1)
print(p, p._replace(y=5), p._asdict(), Point._fields, Point._field_defaults)
cm = ChainMap({"a": 1}, {"a": 2, "b": 3})
print(cm["a"], cm["b"], len(cm), cm.new_child({"c": 4})["c"], sorted(cm))
print(isinstance({}, Mapping), isinstance([], MutableSequence), isinstance((), MutableSequence), isinstance("", Sequence))
try:
    Point(1, 2, 3)
except TypeError as e:
    print("TypeError:", e)
print(Counter(a=3, b=1) & Counter(a=1, b=2), Counter(a=3) | Counter(a=1, b=2))
