import errno
import os
import stat

base = "/tmp/perms"
os.makedirs(base, exist_ok=True)
path = os.path.join(base, "file.txt")
with open(path, "w") as f:
    f.write("x")
print(oct(stat.S_IMODE(os.stat(path).st_mode)), oct(stat.S_IMODE(os.stat(base).st_mode)))
old = os.umask(0o077)
print("umask was", oct(old))
with open(os.path.join(base, "private.txt"), "w") as f:
    pass
os.mkdir(os.path.join(base, "privdir"))
print(oct(stat.S_IMODE(os.stat(os.path.join(base, "private.txt")).st_mode)))
print(oct(stat.S_IMODE(os.stat(os.path.join(base, "privdir")).st_mode)))
os.umask(old)
for mode in (0o400, 0o200, 0o000, 0o755, 0o4755, 0o1777):
    os.chmod(path, mode)
    st = os.stat(path)
    print(oct(mode), stat.filemode(st.st_mode), os.access(path, os.R_OK), os.access(path, os.W_OK), os.access(path, os.X_OK))
os.chmod(path, 0o644)
os.symlink("file.txt", os.path.join(base, "link"))
os.chmod(os.path.join(base, "link"), 0o600, follow_symlinks=False)
print(stat.filemode(os.lstat(os.path.join(base, "link")).st_mode), stat.filemode(os.stat(path).st_mode))
os.chmod(path, 0o000)
try:
    open(path).read()
    print("read a mode-000 file")
except PermissionError as e:
    print("PermissionError", errno.errorcode[e.errno])
os.chmod(path, 0o644)
fd = os.open(path, os.O_RDONLY)
os.fchmod(fd, 0o640)
print(oct(stat.S_IMODE(os.fstat(fd).st_mode)))
os.close(fd)
os.chown(path, 0, 0)
print(os.stat(path).st_uid, os.stat(path).st_gid)
try:
    os.chmod(os.path.join(base, "missing"), 0o600)
except FileNotFoundError as e:
    print("FileNotFoundError", e.errno, e.strerror)
print(os.access(base, os.W_OK | os.X_OK), os.access("/", os.W_OK))
