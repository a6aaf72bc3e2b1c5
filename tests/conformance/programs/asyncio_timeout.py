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


async def slow():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        print("slow was cancelled")
        raise

async def main():
    try:
        await asyncio.wait_for(slow(), timeout=0.05)
    except TimeoutError as e:
        print("wait_for:", type(e).__name__, isinstance(e, asyncio.TimeoutError))
    try:
        async with asyncio.timeout(0.02):
            await asyncio.sleep(5)
    except TimeoutError:
        print("timeout context expired")
    async with asyncio.timeout(30) as cm:
        await asyncio.sleep(0.01)
    print("finished in time", cm.expired())
    task = asyncio.create_task(slow())
    await asyncio.sleep(0)
    task.cancel("stop now")
    try:
        await task
    except asyncio.CancelledError as e:
        print("CancelledError", e.args, task.cancelled())
    shielded = asyncio.ensure_future(asyncio.sleep(0.2, "shield result"))
    try:
        await asyncio.wait_for(asyncio.shield(shielded), 0.001)
    except TimeoutError:
        print("shield timed out, inner still running:", not shielded.done())
    print(await shielded)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await asyncio.sleep(0.05)
    print("loop time advanced", loop.time() - t0 >= 0.04)
    r = await asyncio.wait_for(asyncio.sleep(0, "fast"), timeout=30)
    print(r)

run(main())
