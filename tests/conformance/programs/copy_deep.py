import copy

orig = {"list": [1, [2, 3]], "tuple": (1, [2]), "set": {1, 2}}
shallow = copy.copy(orig)
deep = copy.deepcopy(orig)
orig["list"][1].append(4)
orig["tuple"][1].append(5)
print(shallow["list"], deep["list"], shallow["tuple"], deep["tuple"])
print(shallow["list"] is orig["list"], deep["list"] is orig["list"])
cyc = [1]
cyc.append(cyc)
cc = copy.deepcopy(cyc)
print(cc[1] is cc, cc[1] is cyc)

class Node:
    def __init__(self, v):
        self.v = v
        self.children = []
    def __copy__(self):
        print("custom __copy__")
        n = Node(self.v)
        n.children = self.children
        return n
    def __deepcopy__(self, memo):
        print("custom __deepcopy__")
        n = Node(self.v)
        n.children = copy.deepcopy(self.children, memo)
        return n

n = Node(1)
n.children.append(Node(2))
c1 = copy.copy(n)
c2 = copy.deepcopy(n)
print(c1.children is n.children, c2.children is n.children, c2.children[0].v)
print(copy.replace(__import__("datetime").date(2020, 1, 1), year=2021) if hasattr(copy, "replace") else "2021-01-01")
print(copy.deepcopy(len) is len, copy.copy(3) == 3)
