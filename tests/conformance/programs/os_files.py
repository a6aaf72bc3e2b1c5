import errno
import os
import stat

d = "/tmp/os_files"
os.makedirs(d + "/x/y", exist_ok=True)
fd = os.open(d + "/f.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
print(os.write(fd, b"hello world\n"), os.lseek(fd, 0, os.SEEK_CUR))
os.close(fd)
fd = os.open(d + "/f.txt", os.O_RDWR)
print(os.read(fd, 5), os.lseek(fd, 6, os.SEEK_SET), os.read(fd, 100), os.read(fd, 10))
print(os.pread(fd, 4, 1), os.pwrite(fd, b"J", 0))
os.ftruncate(fd, 5)
print(os.fstat(fd).st_size)
os.close(fd)
with open(d + "/f.txt", "rb") as f:
    print(f.read())
st = os.stat(d + "/f.txt")
print(stat.S_ISREG(st.st_mode), stat.filemode(st.st_mode), st.st_nlink, st.st_size)
os.chmod(d + "/f.txt", 0o600)
print(oct(stat.S_IMODE(os.stat(d + "/f.txt").st_mode)))
print(stat.S_ISDIR(os.stat(d).st_mode), os.path.isdir(d + "/x"), os.path.exists(d + "/nope"))
os.utime(d + "/f.txt", (1000000000, 1500000000))
st = os.stat(d + "/f.txt")
print(st.st_atime, st.st_mtime, st.st_mtime_ns)
os.rename(d + "/f.txt", d + "/g.txt")
print(hasattr(os, "link"), os.path.samefile(d + "/g.txt", d + "/./g.txt"))
os.symlink("g.txt", d + "/sym")
print(os.readlink(d + "/sym"), os.path.islink(d + "/sym"), os.lstat(d + "/sym").st_size, stat.S_ISLNK(os.lstat(d + "/sym").st_mode))
print(sorted(os.listdir(d)))
with os.scandir(d) as it:
    print(sorted((e.name, e.is_dir(), e.is_file(), e.is_symlink()) for e in it))
print([(root.replace(d, "D"), sorted(dirs), sorted(files)) for root, dirs, files in os.walk(d)])
for call, args in [(os.mkdir, (d,)), (os.rmdir, (d + "/x",)), (os.open, (d + "/nope", os.O_RDONLY)),
                   (os.unlink, (d + "/x",)), (os.open, (d + "/x", os.O_WRONLY)), (os.listdir, (d + "/g.txt",)),
                   (os.close, (999,)), (os.rename, (d + "/x", d + "/x/y/z"))]:
    try:
        call(*args)
        print(call.__name__, "succeeded")
    except OSError as e:
        print(call.__name__, type(e).__name__, errno.errorcode[e.errno], e.strerror)
print(os.access(d + "/g.txt", os.R_OK), os.access(d + "/nope", os.F_OK))
os.chdir(d)
print(os.getcwd(), os.path.abspath("x/../g.txt"), os.path.realpath("sym"))
r, w = os.pipe()
os.write(w, b"through a pipe")
os.close(w)
print(os.read(r, 100))
os.close(r)
print(os.sep, os.linesep == "\n", os.curdir, os.name, os.path.join("a", "b", "/c", "d"), os.path.splitext("x.tar.gz"))
print(os.path.normpath("/a//b/./c/../d"), os.path.commonpath(["/a/b/c", "/a/b/d"]), os.path.basename("/x/y.z"), os.path.dirname("/x/y.z"))
