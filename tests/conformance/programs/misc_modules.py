import colorsys
import configparser
import graphlib
import io
import ipaddress
import plistlib
import tomllib
import wave

cfg = configparser.ConfigParser()
cfg.read_string("[server]\nhost = example.org\nport = 8080\n[client]\nretries = 3\n")
print(cfg.sections(), cfg["server"]["host"], cfg.getint("server", "port"), cfg.getint("client", "retries"))
out = io.StringIO()
cfg.write(out)
print(repr(out.getvalue()))
print(tomllib.loads('title = "t"\n[owner]\nname = "x"\nnums = [1, 2.5, true]\n[[items]]\nid = 1\n'))
ts = graphlib.TopologicalSorter({"b": {"a"}, "c": {"b", "a"}, "d": {"c"}})
print(list(ts.static_order()))
net = ipaddress.ip_network("192.168.0.0/28")
print(net.num_addresses, list(net.hosts())[:3], ipaddress.ip_address("::ffff:1.2.3.4").ipv4_mapped, ipaddress.ip_address("10.0.0.1").is_private)
data = plistlib.dumps({"a": [1, 2], "b": {"c": True}}, sort_keys=True)
print(data.decode().splitlines()[3:6], plistlib.loads(data))
print(colorsys.rgb_to_hsv(0.2, 0.4, 0.6), colorsys.hls_to_rgb(0.5, 0.5, 0.5))
buf = io.BytesIO()
with wave.open(buf, "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(8000)
    w.writeframes(bytes(range(100)))
buf.seek(0)
with wave.open(buf, "rb") as r:
    print(r.getparams())
for name in ("sqlite3", "ctypes", "zoneinfo", "readline", "curses", "tkinter", "_hashlib", "ssl", "lzma", "_decimal", "pwd", "grp", "resource", "termios", "fcntl", "mmap", "multiprocessing"):
    try:
        __import__(name)
        print(name, "ok")
    except Exception as e:
        print(name, type(e).__name__)
