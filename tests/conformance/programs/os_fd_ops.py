import errno
import fcntl
import os

path = "/tmp/fdops.txt"
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
print(os.writev(fd, [b"abc", b"def", b"ghi"]))
os.lseek(fd, 0, os.SEEK_SET)
a, b = bytearray(4), bytearray(10)
print(os.readv(fd, [a, b]), a, b)
d = os.dup(fd)
print(d > fd, os.lseek(d, 0, os.SEEK_CUR), os.get_inheritable(d))
os.lseek(fd, 2, os.SEEK_SET)
print(os.lseek(d, 0, os.SEEK_CUR), "shared offset")
os.dup2(fd, 20)
print(os.fstat(20).st_size, os.get_blocking(fd))
os.set_blocking(fd, False)
print(os.get_blocking(fd), fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK != 0)
print(fcntl.fcntl(fd, fcntl.F_GETFD), fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR)
for name, call in [("flock", lambda: fcntl.flock(fd, fcntl.LOCK_EX)), ("lockf", lambda: fcntl.lockf(fd, fcntl.LOCK_SH)), ("unlock", lambda: fcntl.flock(fd, fcntl.LOCK_UN))]:
    try:
        print(name, call())
    except OSError as e:
        print(name, type(e).__name__, errno.errorcode.get(e.errno))
os.fsync(fd)
os.fdatasync(fd)
os.truncate(path, 3)
print(os.stat(path).st_size)
for fdn in (d, 20, fd):
    os.close(fdn)
try:
    os.fstat(fd)
except OSError as e:
    print("closed:", errno.errorcode[e.errno])
try:
    os.dup2(999, 5)
except OSError as e:
    print("dup2:", errno.errorcode[e.errno])
print(os.device_encoding(1), os.isatty(5))
try:
    os.ttyname(1)
except OSError as e:
    print("ttyname:", errno.errorcode.get(e.errno))
print(hasattr(os, "sendfile"), hasattr(os, "copy_file_range"), hasattr(os, "posix_fadvise"))
