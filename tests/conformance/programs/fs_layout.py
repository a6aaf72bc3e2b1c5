import os
import stat

print(os.getcwd(), sorted(os.listdir(".")))
for d in ("/home", "/home/pyodide", "/tmp", "/dev/shm"):
    print(d, sorted(os.listdir(d)))
print(sorted(set(os.listdir("/")) & {"dev", "home", "lib", "tmp"}))
print(sorted(set(os.listdir("/dev")) & {"null", "random", "shm", "stderr", "stdin", "stdout", "tty", "tty1", "urandom"}))
for dev in ("/dev/null", "/dev/tty", "/dev/tty1"):
    st = os.stat(dev)
    print(dev, stat.filemode(st.st_mode), hex(st.st_rdev), os.path.islink(dev))
with open("/dev/null", "wb") as f:
    print(f.write(b"discarded"))
with open("/dev/null", "rb") as f:
    print(f.read(4))
with open("/dev/urandom", "rb") as f:
    print(len(f.read(16)))
with open("/dev/stdout", "w") as f:
    f.write("written to /dev/stdout\n")
st = os.statvfs("/tmp")
print(st.f_bsize > 0, st.f_namemax)
print(stat.filemode(os.stat("/tmp").st_mode), stat.filemode(os.stat("/").st_mode))
print(os.path.ismount("/"), os.path.exists("/lib"), os.path.isdir("/lib"))
