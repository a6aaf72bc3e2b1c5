import fnmatch
import glob
import os

root = "/tmp/globtest"
for rel in ["a.py", "b.py", "c.txt", ".hidden.py", "sub/d.py", "sub/e.md", "sub/deep/f.py", "[x].py"]:
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").close()
os.chdir(root)
print(sorted(glob.glob("*.py")))
print(sorted(glob.glob("**/*.py", recursive=True)))
print(sorted(glob.glob("*.py", include_hidden=True)))
print(sorted(glob.glob("sub/*")), sorted(glob.glob("?.txt")), sorted(glob.glob("[ab].py")))
print(sorted(glob.glob(glob.escape("[x].py"))), sorted(glob.glob(root + "/sub/**", recursive=True)))
print(sorted(glob.iglob("*", root_dir=root + "/sub")))
print(fnmatch.fnmatch("File.PY", "*.py"), fnmatch.fnmatchcase("File.PY", "*.py"), fnmatch.filter(["x.c", "y.h", "z.c"], "*.c"))
print(fnmatch.translate("*.[ch]"))
print(glob.translate("**/*.py", recursive=True) if hasattr(glob, "translate") else "")
