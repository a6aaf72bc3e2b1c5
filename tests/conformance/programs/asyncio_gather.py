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


order = []

async def worker(name, delay, result):
    order.append(f"start {name}")
    await asyncio.sleep(delay)
    order.append(f"end {name}")
    return result

async def failing():
    await asyncio.sleep(0.01)
    raise ValueError("task failed")

async def main():
    results = await asyncio.gather(worker("a", 0.03, 1), worker("b", 0.01, 2), worker("c", 0.02, 3))
    print(results)
    print(order)
    mixed = await asyncio.gather(worker("d", 0, 4), failing(), return_exceptions=True)
    print(mixed[0], type(mixed[1]).__name__, mixed[1])
    try:
        await asyncio.gather(failing(), worker("e", 0.05, 5))
    except ValueError as e:
        print("gather raised", e)
    t = asyncio.create_task(worker("f", 0.01, 6), name="task-f")
    print(t.get_name(), t.done())
    print(await t, t.done(), t.result())
    done, pending = await asyncio.wait([asyncio.create_task(asyncio.sleep(d, d)) for d in (0.01, 30)], return_when=asyncio.FIRST_COMPLETED)
    print(sorted(x.result() for x in done), len(pending))
    for p in pending:
        p.cancel()
    async with asyncio.TaskGroup() as tg:
        t1 = tg.create_task(worker("g", 0.01, 7))
        t2 = tg.create_task(worker("h", 0.0, 8))
    print(t1.result(), t2.result())
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(failing())
            tg.create_task(asyncio.sleep(1))
    except* ValueError as eg:
        print("TaskGroup:", [str(e) for e in eg.exceptions])
    results = []
    for coro in asyncio.as_completed([worker("i", 0.02, "slow"), worker("j", 0.0, "fast")]):
        results.append(await coro)
    print(results)
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    loop.call_later(0.01, fut.set_result, "future done")
    print(await fut)
    return "main result"

print(run(main()))
