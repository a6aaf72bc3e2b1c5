import importlib
import os
import sys
import zipfile

zpath = "/tmp/plugins.zip"
with zipfile.ZipFile(zpath, "w") as zf:
    zf.writestr("plugin_a.py", "NAME = 'a'\ndef hello():\n    return 'hello from a'\n")
    zf.writestr("pkg/__init__.py", "VERSION = (1, 2)\n")
    zf.writestr("pkg/mod.py", "from . import VERSION\ndef v():\n    return VERSION\n")
    zf.writestr("pkg/data.txt", "resource text\n")
sys.path.insert(0, zpath)
import plugin_a
import pkg.mod
print(plugin_a.hello(), plugin_a.__file__, pkg.mod.v(), pkg.__path__)
import importlib.resources
print(importlib.resources.files("pkg").joinpath("data.txt").read_text())
os.makedirs("/tmp/srcpkg/mypkg", exist_ok=True)
with open("/tmp/srcpkg/mypkg/__init__.py", "w") as f:
    f.write("def answer():\n    return 42\n")
sys.path.insert(0, "/tmp/srcpkg")
import mypkg
print(mypkg.answer(), mypkg.__file__)
with open("/tmp/srcpkg/mypkg/__init__.py", "w") as f:
    f.write("def answer():\n    return 43\n")
importlib.invalidate_caches()
importlib.reload(mypkg)
print(mypkg.answer())
import py_compile
out = py_compile.compile("/tmp/srcpkg/mypkg/__init__.py", cfile="/tmp/srcpkg/compiled.pyc", doraise=True)
print(out, os.path.getsize(out) > 16)
spec = importlib.util.spec_from_file_location("loaded_from_path", "/tmp/srcpkg/mypkg/__init__.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
print(mod.answer(), mod.__name__)
