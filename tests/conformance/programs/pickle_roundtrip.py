import pickle
import pickletools
from collections import OrderedDict

class Custom:
    def __init__(self, a):
        self.a = a
        self.cache = "drop me"
    def __getstate__(self):
        return {"a": self.a}
    def __setstate__(self, state):
        self.a = state["a"]
        self.cache = "rebuilt"
    def __eq__(self, other):
        return isinstance(other, Custom) and other.a == self.a

obj = {"int": 2**70, "float": 1.5, "str": "ünï", "bytes": b"\x00\x01", "list": [1, (2, 3)],
       "set": frozenset({1}), "none": None, "od": OrderedDict(a=1), "custom": Custom([1, 2])}
for proto in range(0, pickle.HIGHEST_PROTOCOL + 1):
    data = pickle.dumps(obj, protocol=proto)
    back = pickle.loads(data)
    print(proto, back == obj, back["custom"].cache)
print(pickle.HIGHEST_PROTOCOL, pickle.DEFAULT_PROTOCOL)
print(pickle.dumps([1, "a", None], protocol=2).hex())
shared = [1]
twice = pickle.loads(pickle.dumps([shared, shared]))
print(twice[0] is twice[1])
small = pickle.dumps((1, 2), protocol=4)
pickletools.dis(small)
try:
    pickle.dumps(lambda: 0)
except (pickle.PicklingError, AttributeError) as e:
    print(type(e).__name__)
try:
    pickle.loads(b"garbage")
except pickle.UnpicklingError as e:
    print("UnpicklingError:", e)
