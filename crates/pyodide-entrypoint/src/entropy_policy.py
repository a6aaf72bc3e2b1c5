# The Python half of pyworkerd's entropy policy while a snapshot is made (the
# host half is crates/pyodide-entropy and random_get in pyodide-emscripten).
# Loaded by src/entropy.rs into a module that is registered as
# sys.modules["_pyworkerd_entropy"] from enter() to leave() (so a restored
# instance finds it); never on sys.path.
#
# The host serves entropy only to allowed consumers and must know, at each
# draw, which module's top level is running. That name is kept in a slot in
# linear memory (a length byte, then UTF-8) that the host reads in
# random_get. sys.monitoring keeps it current: when a "<module>" code object
# starts, the slot names its module; when it returns or unwinds, the slot
# names the next enclosing module frame. Every other code object disables
# the event at its first start, so the cost is paid once per function.
#
# The global random generator's functions (random.random(), choice(), ...)
# raise TopLevelRandomError while the policy is active: its state would be
# repeated in every restored instance.
#
# A refused draw is EIO. os.urandom (the path of os.urandom, secrets, uuid4
# and random.SystemRandom) turns it into TopLevelEntropyError with advice;
# C-level draws that swallow the error (random.Random() seeding itself falls
# back to the time) are reported by the host from its ledger after the
# import step.

import sys
from array import array

NAME = "_pyworkerd_entropy"
SLOT_SIZE = 256
EIO = 29
UNKNOWN = "<unknown>"
TOOL_NAME = "pyworkerd entropy policy"


class TopLevelEntropyError(OSError):
    """Entropy asked for at a module's top level while a snapshot is made."""


class TopLevelRandomError(RuntimeError):
    """The global random generator used while a snapshot is made."""


def advice(consumer, size):
    return (
        f"{consumer!r} asked for {size} bytes of entropy at its top level while "
        "pyworkerd was making a snapshot: values drawn now would repeat in every "
        "instance restored from it; move the call into a request handler or a "
        "function called from one"
    )


_slot = array("B", bytes(SLOT_SIZE))
# An exported view pins the array's buffer: its address never changes.
_view = memoryview(_slot)
_current = UNKNOWN
_active = False
_tool = None
_original_urandom = None
# (object, attribute, original value) of every patch, undone by leave().
_patches = []


def _write(name):
    global _current
    _current = name
    data = name.encode("utf-8", "replace")[: SLOT_SIZE - 1]
    _view[0] = 0
    _view[1 : 1 + len(data)] = data
    _view[0] = len(data)


def _module_of(frame):
    """The module whose top level `frame` (or the nearest caller) runs; code
    exec'd in a namespace without a name counts for the module around it."""
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            name = frame.f_globals.get("__name__")
            if isinstance(name, str) and name:
                return name
        frame = frame.f_back
    return UNKNOWN


def urandom(size, /):
    try:
        return _original_urandom(size)
    except OSError as error:
        if _active and error.errno == EIO:
            raise TopLevelEntropyError(EIO, advice(_current, size)) from None
        raise


def _patch(obj, attribute, value):
    _patches.append((obj, attribute, getattr(obj, attribute)))
    setattr(obj, attribute, value)


# Module-level functions of random that do not draw from the global
# generator's state.
_RANDOM_ALLOWED = {"seed", "getstate", "setstate"}


def _blocked(qualname, function):
    def blocked(*args, **kwargs):
        if _active:
            raise TopLevelRandomError(
                f"{_current!r} called {qualname}() at its top level while pyworkerd "
                "was making a snapshot: the generator's state is part of the "
                "snapshot, so the result would repeat in every instance restored "
                "from it; move the call into a request handler or a function "
                "called from one"
            )
        return function(*args, **kwargs)

    blocked.__name__ = function.__name__
    blocked.__qualname__ = getattr(function, "__qualname__", function.__name__)
    blocked.__doc__ = function.__doc__
    return blocked


def _patch_random(module):
    # random binds os.urandom at import: if it was imported before enter(),
    # it holds the original.
    if getattr(module, "_urandom", None) is _original_urandom:
        _patch(module, "_urandom", urandom)
    # random.random(), choice(), ... are bound methods of one generator
    # whose state (seeded from the snapshot's stream, reseeded after a
    # restore) is in the snapshot: results drawn now would repeat.
    # References taken now (`from random import choice`) keep working after
    # leave(): the wrapper only blocks while the policy is active.
    generator = getattr(module, "_inst", None)
    if generator is None:
        return
    for name, value in list(module.__dict__.items()):
        if name.startswith("_") or name in _RANDOM_ALLOWED:
            continue
        if callable(value) and getattr(value, "__self__", None) is generator:
            _patch(module, name, _blocked(f"random.{name}", value))


def _patch_tempfile(module):
    # tempfile's name generator seeds a Random() on first use: a draw that
    # is safe (leave() discards the generator), so it is named "tempfile"
    # whichever module asked for a temporary name.
    cls = getattr(module, "_RandomNameSequence", None)
    original = cls.__dict__.get("rng") if cls is not None else None
    if not isinstance(original, property):
        return

    def rng(self):
        outer = _current
        _write("tempfile")
        try:
            return original.fget(self)
        finally:
            _write(outer)

    _patch(cls, "rng", property(rng))


_AFTER_IMPORT = {"random": _patch_random, "tempfile": _patch_tempfile}


def _on_start(code, offset):
    if code.co_name != "<module>":
        return sys.monitoring.DISABLE
    _write(_module_of(sys._getframe(1)))


def _on_return(code, offset, value):
    if code.co_name != "<module>":
        return sys.monitoring.DISABLE
    _left(sys._getframe(1))


def _on_unwind(code, offset, exception):
    # Unwinding cannot be disabled per code object.
    if code.co_name == "<module>":
        _left(sys._getframe(1))


def _left(frame):
    name = frame.f_globals.get("__name__")
    patch = _AFTER_IMPORT.get(name)
    if patch is not None and sys.modules.get(name) is not None:
        patch(sys.modules[name])
    _write(_module_of(frame.f_back))


def enter():
    """Starts naming consumers and advising on refusals; returns the slot
    as "<address> <size>" for the host."""
    global _active, _tool, _original_urandom
    import os

    if _active:
        # Restored from a snapshot made in snapshot mode, to make another
        # on top of it: everything is in place but the host's knowledge of
        # the slot.
        _write(UNKNOWN)
        address, _ = _slot.buffer_info()
        return f"{address} {SLOT_SIZE}"
    monitoring = sys.monitoring
    for tool in (4, 3, 0, 1, 2, 5):
        if monitoring.get_tool(tool) is None:
            monitoring.use_tool_id(tool, TOOL_NAME)
            _tool = tool
            break
    else:
        raise RuntimeError("no free sys.monitoring tool id for the entropy policy")
    _original_urandom = os.urandom
    urandom.__doc__ = _original_urandom.__doc__
    _patch(os, "urandom", urandom)
    for name, patch in _AFTER_IMPORT.items():
        if sys.modules.get(name) is not None:
            patch(sys.modules[name])
    _write(UNKNOWN)
    events = monitoring.events
    monitoring.register_callback(_tool, events.PY_START, _on_start)
    monitoring.register_callback(_tool, events.PY_RETURN, _on_return)
    monitoring.register_callback(_tool, events.PY_UNWIND, _on_unwind)
    monitoring.set_events(_tool, events.PY_START | events.PY_RETURN | events.PY_UNWIND)
    _active = True
    address, _ = _slot.buffer_info()
    return f"{address} {SLOT_SIZE}"


def leave():
    """Undoes enter() (if it ran) and reseeds what was seeded from the
    snapshot's stream; the host has switched to real entropy first."""
    global _active, _tool
    _active = False
    if _tool is not None:
        monitoring = sys.monitoring
        monitoring.set_events(_tool, 0)
        for event in ("PY_START", "PY_RETURN", "PY_UNWIND"):
            monitoring.register_callback(_tool, getattr(monitoring.events, event), None)
        monitoring.free_tool_id(_tool)
        _tool = None
    while _patches:
        obj, attribute, original = _patches.pop()
        setattr(obj, attribute, original)
    _write("")
    random = sys.modules.get("random")
    if random is not None:
        random.seed()
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()
    tempfile = sys.modules.get("tempfile")
    if tempfile is not None:
        tempfile._name_sequence = None
    sys.modules.pop(NAME, None)
    return ""
