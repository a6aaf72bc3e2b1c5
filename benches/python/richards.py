"""richards-like: an operating-system scheduler simulation in the spirit of
Martin Richards' benchmark, written for this suite. Six tasks (idle, worker,
two handlers, two devices) pass packets through linked-list queues under a
priority scheduler: method calls, attribute access and small objects.

Prints `richards <seconds>` for the timed loop only.
"""

import time

ROUNDS = 8
IDLE_COUNT = 10_000
# The result on native CPython; every runtime must reproduce it.
EXPECTED = (23256, 9301)

IDLE, WORKER, HANDLER_A, HANDLER_B, DEVICE_A, DEVICE_B = range(6)
KIND_DEVICE, KIND_WORK = 0, 1
ALPHABET = 26


class Packet:
    __slots__ = ("link", "owner", "kind", "count", "data")

    def __init__(self, link, owner, kind):
        self.link = link
        self.owner = owner
        self.kind = kind
        self.count = 0
        self.data = [0, 0, 0, 0]


def append(packet, queue):
    """Appends `packet` to the queue headed by `queue`; returns the head."""
    packet.link = None
    if queue is None:
        return packet
    tail = queue
    while tail.link is not None:
        tail = tail.link
    tail.link = packet
    return queue


class Task:
    def __init__(self, scheduler, ident, priority, queue, waiting):
        self.scheduler = scheduler
        self.ident = ident
        self.priority = priority
        self.queue = queue
        self.waiting = waiting
        self.held = False
        self.link = None
        scheduler.add(self)

    def runnable(self):
        return not self.held and (not self.waiting or self.queue is not None)

    def take_packet(self):
        if not self.waiting:
            return None
        packet = self.queue
        self.queue = packet.link
        self.waiting = False
        return packet


class IdleTask(Task):
    def __init__(self, scheduler, count):
        super().__init__(scheduler, IDLE, 0, None, False)
        self.seed = 1
        self.count = count

    def step(self, packet):
        scheduler = self.scheduler
        self.count -= 1
        if self.count == 0:
            return scheduler.hold_self(self)
        if self.seed & 1 == 0:
            self.seed >>= 1
            return scheduler.release(DEVICE_A, self)
        self.seed = (self.seed >> 1) ^ 0xD008
        return scheduler.release(DEVICE_B, self)


class WorkerTask(Task):
    def __init__(self, scheduler, queue):
        super().__init__(scheduler, WORKER, 1000, queue, True)
        self.destination = HANDLER_B
        self.letter = 0

    def step(self, packet):
        if packet is None:
            return self.scheduler.wait(self)
        self.destination = HANDLER_A if self.destination == HANDLER_B else HANDLER_B
        packet.owner = self.destination
        packet.count = 0
        data = packet.data
        for i in range(4):
            self.letter += 1
            if self.letter > ALPHABET:
                self.letter = 1
            data[i] = self.letter
        return self.scheduler.send(packet, self)


class HandlerTask(Task):
    def __init__(self, scheduler, ident, priority, queue):
        super().__init__(scheduler, ident, priority, queue, True)
        self.work = None
        self.devices = None

    def step(self, packet):
        if packet is not None:
            if packet.kind == KIND_WORK:
                self.work = append(packet, self.work)
            else:
                self.devices = append(packet, self.devices)
        work = self.work
        if work is not None:
            count = work.count
            if count >= 4:
                self.work = work.link
                return self.scheduler.send(work, self)
            device = self.devices
            if device is not None:
                self.devices = device.link
                device.data[0] = work.data[count]
                work.count = count + 1
                return self.scheduler.send(device, self)
        return self.scheduler.wait(self)


class DeviceTask(Task):
    def __init__(self, scheduler, ident, priority):
        super().__init__(scheduler, ident, priority, None, True)
        self.pending = None

    def step(self, packet):
        if packet is None:
            pending = self.pending
            if pending is None:
                return self.scheduler.wait(self)
            self.pending = None
            return self.scheduler.send(pending, self)
        self.pending = packet
        return self.scheduler.hold_self(self)


class Scheduler:
    def __init__(self):
        self.table = [None] * 6
        self.tasks = None
        self.sends = 0
        self.holds = 0

    def add(self, task):
        # Tasks are created in rising priority, so the list runs from the
        # highest priority down.
        task.link = self.tasks
        self.tasks = task
        self.table[task.ident] = task

    def run(self):
        task = self.tasks
        while task is not None:
            if task.runnable():
                task = task.step(task.take_packet())
            else:
                task = task.link

    def hold_self(self, task):
        self.holds += 1
        task.held = True
        return task.link

    def release(self, ident, current):
        task = self.table[ident]
        task.held = False
        return task if task.priority > current.priority else current

    def wait(self, task):
        task.waiting = True
        return task

    def send(self, packet, current):
        target = self.table[packet.owner]
        self.sends += 1
        packet.owner = current.ident
        was_empty = target.queue is None
        target.queue = append(packet, target.queue)
        if was_empty and target.priority > current.priority:
            return target
        return current


def simulate(count):
    scheduler = Scheduler()
    IdleTask(scheduler, count)
    work = Packet(Packet(None, IDLE, KIND_WORK), IDLE, KIND_WORK)
    WorkerTask(scheduler, work)
    for handler, device, priority in ((HANDLER_A, DEVICE_A, 2000), (HANDLER_B, DEVICE_B, 3000)):
        queue = None
        for _ in range(3):
            queue = Packet(queue, device, KIND_DEVICE)
        HandlerTask(scheduler, handler, priority, queue)
    DeviceTask(scheduler, DEVICE_A, 4000)
    DeviceTask(scheduler, DEVICE_B, 5000)
    scheduler.run()
    return scheduler.sends, scheduler.holds


def main():
    start = time.perf_counter()
    results = [simulate(IDLE_COUNT) for _ in range(ROUNDS)]
    elapsed = time.perf_counter() - start
    if results != [EXPECTED] * ROUNDS:
        raise SystemExit(f"richards: wrong result {results[0]}, expected {EXPECTED}")
    print(f"richards {elapsed:.6f}")


if __name__ == "__main__":
    main()
