import os
import select

r, w = os.pipe()
print(select.select([r], [w], [], 0))
os.write(w, b"data")
print(select.select([r], [w], [], 0))
p = select.poll()
p.register(r, select.POLLIN)
p.register(w, select.POLLOUT)
print(sorted(p.poll(0)))
print(os.read(r, 10))
print(sorted(p.poll(0)))
p.unregister(w)
os.close(w)
os.close(r)
with open("/tmp/sel.txt", "w") as f:
    print(select.select([f], [f], [], 0) == ([], [f], []) or "file ready")
try:
    select.select([9999], [], [], 0)
except (OSError, ValueError) as e:
    print(type(e).__name__)
print(hasattr(select, "epoll"), hasattr(select, "kqueue"), hasattr(select, "devpoll"))
