import sys

def depth(n):
    return depth(n + 1) if n < 10**6 else n

print(sys.getrecursionlimit())
try:
    depth(0)
except RecursionError as e:
    print("RecursionError:", e)

def count(n):
    try:
        return count(n + 1)
    except RecursionError:
        return n

reached = count(0)
print("reached a depth over 500:", reached > 500)
sys.setrecursionlimit(200)
try:
    depth(0)
except RecursionError as e:
    print("limit 200:", type(e).__name__)
sys.setrecursionlimit(1000)
import json
nested = "[" * 500 + "]" * 500
print("json depth 500:", len(json.dumps(json.loads(nested))))
class Node:
    def __init__(self, child):
        self.child = child
    def __repr__(self):
        return f"Node({self.child!r})"
n = None
for _ in range(5000):
    n = Node(n)
sys.setrecursionlimit(150)
try:
    repr(n)
except RecursionError as e:
    print("repr RecursionError:", e)
sys.setrecursionlimit(1000)
print("recovered", sum(range(10)))
