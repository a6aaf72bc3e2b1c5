from pathlib import Path, PurePosixPath, PureWindowsPath

base = Path("/tmp/pl_test")
(base / "sub" / "deeper").mkdir(parents=True, exist_ok=True)
(base / "a.txt").write_text("alpha\nbeta\n", encoding="utf-8")
(base / "b.bin").write_bytes(bytes(range(5)))
(base / "sub" / "c.py").write_text("print('c')\n")
print(sorted(p.name for p in base.iterdir()))
print(sorted(str(p.relative_to(base)) for p in base.rglob("*")))
print(sorted(p.name for p in base.glob("*.txt")), (base / "a.txt").read_text().splitlines())
p = base / "sub" / "c.py"
print(p.name, p.stem, p.suffix, p.parent.name, p.parts, p.with_suffix(".txt").name, p.is_file(), p.is_dir())
print(p.exists(), (base / "missing").exists(), p.stat().st_size, p.resolve() == p, p.is_absolute())
moved = p.rename(base / "moved.py")
print(moved.exists(), p.exists())
(base / "link").symlink_to("a.txt")
print((base / "link").is_symlink(), (base / "link").readlink(), (base / "link").read_text()[:5])
pp = PurePosixPath("/usr/lib/../lib/python3.x/site.py")
print(pp.parent, pp.suffixes, pp.match("*.py"), pp.as_posix(), PurePosixPath("a", "/b", "c"))
print(PureWindowsPath(r"C:\Users\x\file.TXT").suffix, PureWindowsPath("c:/a").drive)
print(Path.home(), Path.cwd(), Path("~").expanduser())
try:
    (base / "nope" / "x").read_text()
except FileNotFoundError as e:
    print("FileNotFoundError:", e)
try:
    (base / "sub").rmdir()
except OSError as e:
    print(type(e).__name__, e.errno, e.strerror)
for f in sorted(base.rglob("*"), key=lambda p: -len(p.parts)):
    f.rmdir() if f.is_dir() and not f.is_symlink() else f.unlink()
base.rmdir()
print(base.exists())
