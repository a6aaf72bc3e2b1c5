import os
import shutil

src = "/tmp/sh_src"
os.makedirs(src + "/nested/deep", exist_ok=True)
for rel, body in [("a.txt", "A" * 100), ("nested/b.txt", "B"), ("nested/deep/c.log", "C" * 10)]:
    with open(os.path.join(src, rel), "w") as f:
        f.write(body)
shutil.copyfile(src + "/a.txt", src + "/a_copy.txt")
shutil.copy2(src + "/a.txt", src + "/a_copy2.txt")
print(os.path.getsize(src + "/a_copy.txt"), os.stat(src + "/a.txt").st_mtime == os.stat(src + "/a_copy2.txt").st_mtime)
shutil.copytree(src, "/tmp/sh_dst", ignore=shutil.ignore_patterns("*.log"))
print(sorted(os.path.relpath(os.path.join(r, f), "/tmp/sh_dst") for r, _, fs in os.walk("/tmp/sh_dst") for f in fs))
shutil.move("/tmp/sh_dst/nested", "/tmp/sh_moved")
print(os.path.exists("/tmp/sh_dst/nested"), sorted(os.listdir("/tmp/sh_moved")))
archive = shutil.make_archive("/tmp/sh_archive", "zip", src)
print(archive, os.path.getsize(archive) > 100)
shutil.unpack_archive(archive, "/tmp/sh_unpacked")
print(sorted(os.listdir("/tmp/sh_unpacked")))
print(sorted(f for f, _ in shutil.get_archive_formats() if f != "whl"))
usage = shutil.disk_usage("/tmp")
print(usage.total >= usage.used >= 0, usage.free >= 0)
print(shutil.which("python"), shutil.get_terminal_size((80, 24)))
for p in ["/tmp/sh_src", "/tmp/sh_dst", "/tmp/sh_moved", "/tmp/sh_unpacked"]:
    shutil.rmtree(p)
os.remove(archive)
print(sorted(n for n in os.listdir("/tmp") if n.startswith("sh_")))
try:
    shutil.rmtree("/tmp/does-not-exist")
except FileNotFoundError as e:
    print("FileNotFoundError:", e)
