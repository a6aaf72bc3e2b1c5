import gc
import weakref

class Obj:
    def __init__(self, name):
        self.name = name

o = Obj("first")
r = weakref.ref(o)
print(r() is o, r().name)
del o
print(r() is None)
events = []
o2 = Obj("second")
weakref.finalize(o2, events.append, "finalized")
del o2
gc.collect()
print(events)
d = weakref.WeakValueDictionary()
keep = Obj("kept")
d["k"] = keep
d["t"] = Obj("temporary")
gc.collect()
print(sorted(d.keys()))
class Cycle:
    pass
a, b = Cycle(), Cycle()
a.other, b.other = b, a
wa = weakref.ref(a)
del a, b
print(gc.collect() >= 2, wa() is None)
print(gc.isenabled(), len(gc.get_threshold()))
ws = weakref.WeakSet([keep])
print(len(ws))
p = weakref.proxy(keep)
print(p.name)
del keep
gc.collect()
try:
    p.name
except ReferenceError as e:
    print("ReferenceError:", e)
