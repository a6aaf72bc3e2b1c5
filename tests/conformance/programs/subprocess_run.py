import os
import subprocess

for args in (["echo", "hi"], ["python", "-c", "print(1)"]):
    try:
        r = subprocess.run(args, capture_output=True)
        print("ran", r.returncode)
    except Exception as e:
        print(type(e).__name__, e)
try:
    print(subprocess.check_output("echo shell", shell=True))
except Exception as e:
    print(type(e).__name__, e)
try:
    pid = os.fork()
    print("forked", pid)
except Exception as e:
    print(type(e).__name__, e)
try:
    os.popen("ls")
except Exception as e:
    print(type(e).__name__, e)
