import asyncio
import time


class TimersOnly:
    """A selector without file descriptors: waiting is sleeping.

    asyncio's default loop needs a self-pipe (a socket pair); this loop runs
    asyncio's own scheduling, timers, tasks and futures without one.
    """

    def select(self, timeout):
        if timeout:
            time.sleep(timeout)
        return []


class TimerLoop(asyncio.BaseEventLoop):
    def __init__(self):
        super().__init__()
        self._selector = TimersOnly()

    def _process_events(self, event_list):
        pass

    def _write_to_self(self):
        pass


def run(main):
    """asyncio.run on TimerLoop.

    Pyodide marks the loop its JavaScript host drives as running, and
    asyncio refuses to start a loop inside a running one; step it aside.
    """
    outer = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        return asyncio.run(main, loop_factory=TimerLoop)
    finally:
        asyncio._set_running_loop(outer)


async def producer(q, n):
    for i in range(n):
        await q.put(i)
        await asyncio.sleep(0)
    await q.put(None)

async def consumer(q, name, seen):
    while True:
        item = await q.get()
        q.task_done()
        if item is None:
            await q.put(None)
            return
        seen.append((name, item))
        await asyncio.sleep(0.001)

async def main():
    q = asyncio.Queue(maxsize=3)
    seen = []
    await asyncio.gather(producer(q, 10), consumer(q, "c1", seen), consumer(q, "c2", seen))
    print(sorted(item for _, item in seen), len(seen))
    pq = asyncio.PriorityQueue()
    for p in [5, 1, 3]:
        pq.put_nowait((p, f"job{p}"))
    print([pq.get_nowait() for _ in range(3)])
    lq = asyncio.LifoQueue()
    for i in range(3):
        lq.put_nowait(i)
    print([lq.get_nowait() for _ in range(3)], lq.empty())
    try:
        lq.get_nowait()
    except asyncio.QueueEmpty:
        print("QueueEmpty")
    full = asyncio.Queue(1)
    full.put_nowait(1)
    try:
        full.put_nowait(2)
    except asyncio.QueueFull:
        print("QueueFull", full.qsize(), full.full())
    ev = asyncio.Event()
    lock = asyncio.Lock()
    sem = asyncio.Semaphore(2)
    log = []
    async def waiter(i):
        await ev.wait()
        async with sem:
            async with lock:
                log.append(i)
    tasks = [asyncio.create_task(waiter(i)) for i in range(4)]
    await asyncio.sleep(0.01)
    print("before set", log)
    ev.set()
    await asyncio.gather(*tasks)
    print("after set", log)
    cond = asyncio.Condition()
    async def notifier():
        async with cond:
            cond.notify_all()
    async with cond:
        asyncio.create_task(notifier())
        await cond.wait()
    print("condition notified")

run(main())
