import os
import sys

for key in ("HOME", "USER", "LOGNAME", "PATH", "LANG", "PWD"):
    print(key, os.environ.get(key))
os.environ["CONF_VAR"] = "value=1"
print(os.getenv("CONF_VAR"), "CONF_VAR" in os.environ, os.environb.get(b"CONF_VAR"))
del os.environ["CONF_VAR"]
print(os.getenv("CONF_VAR", "gone"))
print(os.getpid() > 0, os.getppid() >= 0, os.getuid(), os.getgid(), hasattr(os, "geteuid"))
print(os.cpu_count(), os.getlogin() if hasattr(os, "getlogin") else "n/a")
print(os.uname().sysname, os.uname().machine, sys.platform, os.name)
print(os.get_terminal_size() if os.isatty(1) else "not a tty", os.isatty(0), os.isatty(2))
print(os.umask(0o22), os.getcwd(), os.path.expanduser("~"), os.path.expandvars("$HOME/x"))
print(sorted(os.confstr_names)[:0], os.strerror(2), os.strerror(13), os.devnull)
