import inspect

def sample(a, b: int = 2, *args, c, d="x", **kwargs) -> str:
    """Sample docstring."""
    return "ok"

print(inspect.signature(sample))
print([(p.name, p.kind.name) for p in inspect.signature(sample).parameters.values()])
print(inspect.getsource(sample), end="")
print(inspect.getdoc(sample), inspect.isfunction(sample), inspect.getmodule(sample).__name__)
print(inspect.getsourcelines(sample)[1], inspect.getfile(sample))
frame = inspect.currentframe()
print(frame.f_code.co_name, frame.f_lineno, inspect.stack()[0].function)
class K:
    def m(self):
        pass
print(inspect.isclass(K), inspect.ismethod(K().m), [n for n, _ in inspect.getmembers(K, inspect.isfunction)])
async def coro():
    pass
print(inspect.iscoroutinefunction(coro), inspect.isgeneratorfunction(lambda: (yield)))
import json
print(inspect.getsourcefile(json.dumps), inspect.getsource(json.dumps).splitlines()[0])
