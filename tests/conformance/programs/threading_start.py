import threading

print(threading.current_thread().name, threading.active_count(), threading.main_thread() is threading.current_thread())
lock = threading.Lock()
with lock:
    print("lock held", lock.locked())
print(lock.locked())
rlock = threading.RLock()
with rlock, rlock:
    print("rlock reentered")
local = threading.local()
local.x = 5
print(local.x)
t = threading.Thread(target=print, args=("from thread",))
try:
    t.start()
    t.join()
    print("thread ran")
except Exception as e:
    print(type(e).__name__, e)
ev = threading.Event()
print(ev.wait(0.01), ev.is_set())
import concurrent.futures
try:
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        print(list(ex.map(abs, [-1, -2])))
except Exception as e:
    print(type(e).__name__, e)
