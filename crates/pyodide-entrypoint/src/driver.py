# The driver pyworkerd runs inside the interpreter (not on sys.path, not in
# __main__): it runs a script, a -c string or a -m module the way CPython's
# `python` command does and reports "<status>\n<traceback text>".
# Shared with the reference runner (xtask's golden-file generator), so both
# runtimes run programs through the same Python code.


def _line_buffered_stdio():
    # Pyodide's stdin and stdout are line-buffered whatever the host's end
    # is (CPython starts on Emscripten's /dev/tty, a terminal), so output
    # written through sys.stdout and sys.stdout.buffer keeps its order.
    import sys

    for stream in (sys.stdin, sys.stdout):
        if not stream.line_buffering:
            stream.reconfigure(line_buffering=True)


_line_buffered_stdio()


def run(request):
    import sys

    kind, target, *args = request.split("\0")
    main = sys.modules["__main__"]
    try:
        if kind == "code":
            sys.argv = ["-c", *args]
            sys.path.insert(0, "")
            code = compile(target, "<string>", "exec")
            exec(code, main.__dict__)
        elif kind == "stdin":
            sys.argv = ["-", *args]
            sys.path.insert(0, "")
            code = compile(target, "<stdin>", "exec")
            exec(code, main.__dict__)
        elif kind == "file":
            import os

            sys.argv = [target, *args]
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            with open(target, "rb") as f:
                source = f.read()
            main.__dict__["__file__"] = target
            main.__dict__["__cached__"] = None
            code = compile(source, target, "exec")
            exec(code, main.__dict__)
        elif kind == "module":
            import runpy

            sys.argv = ["-m", *args]
            sys.path.insert(0, "")
            runpy._run_module_as_main(target)
        elif kind == "atexit":
            import atexit

            atexit._run_exitfuncs()
        elif kind == "exec":
            # pyworkerd's own code (snapshot imports, reseeding), run in a
            # private namespace: no sys.argv or sys.path change.
            exec(compile(target, "<pyworkerd>", "exec"), {"__builtins__": __builtins__})
        elif kind == "reseed":
            # Right after a snapshot restore, whose entropy is the OS's:
            # what the snapshot holds seeded gets its own stream.
            modules = sys.modules
            if "random" in modules:
                modules["random"].seed()
            if "numpy.random" in modules:
                modules["numpy.random"].seed()
            if "tempfile" in modules:
                modules["tempfile"]._name_sequence = None
        elif kind == "restored":
            # Right after a snapshot restore: the environment given to this
            # run is set. (Import caches need no invalidation: a path
            # finder rereads a directory whose mtime changed, and mounts
            # made after the restore are paths it has never cached.)
            import os

            for item in args:
                key, _, value = item.partition("=")
                os.environ[key] = value
        else:
            raise ValueError(f"unknown request kind {kind!r}")
        return _finish(0, "")
    except SystemExit as exit:
        code = exit.code
        if code is None:
            return _finish(0, "")
        if isinstance(code, int):
            return _finish(code, "")
        _flush()
        print(code, file=sys.stderr)
        return _finish(1, "")
    except BaseException as error:
        import traceback

        # Hide this driver's own frame, as CPython hides its C entry point.
        tb = error.__traceback__
        if tb is not None and tb.tb_frame.f_code is run.__code__:
            tb = tb.tb_next
        error = error.with_traceback(tb)
        _flush()
        text = "".join(traceback.format_exception(type(error), error, tb))
        sys.excepthook(type(error), error, tb)
        # As `python` ends by SIGINT after an uncaught KeyboardInterrupt,
        # which a shell shows as 130.
        return _finish(130 if isinstance(error, KeyboardInterrupt) else 1, text)


def _flush():
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _finish(status, text):
    _flush()
    return f"{status}\n{text}"


# (Defined after run(): tracebacks and faulthandler dumps show run()'s line
# numbers, which the golden files of the conformance corpus hold.)
def _asyncio_without_self_pipe():
    # asyncio's selector loop makes a "self-pipe" with socket.socketpair()
    # so other threads and signal handlers can wake it. This CPython has
    # neither threads nor a loopback network (socketpair's fallback cannot
    # listen), so the pipe is left out when it cannot be made: then
    # asyncio.run() and new_event_loop() work, their timers and file
    # descriptors served by poll() as usual. Patched when
    # asyncio.selector_events is first imported.
    import sys

    def patch(module):
        loop = module.BaseSelectorEventLoop
        make, close, wake = loop._make_self_pipe, loop._close_self_pipe, loop._write_to_self

        def _make_self_pipe(self):
            try:
                make(self)
            except OSError:
                self._ssock = self._csock = None

        def _close_self_pipe(self):
            if self._ssock is not None:
                close(self)

        def _write_to_self(self):
            if self._csock is not None:
                wake(self)

        loop._make_self_pipe = _make_self_pipe
        loop._close_self_pipe = _close_self_pipe
        loop._write_to_self = _write_to_self

    name = "asyncio.selector_events"
    if name in sys.modules:
        patch(sys.modules[name])
        return

    class PatchOnLoad:
        def __init__(self, loader):
            self.loader = loader

        def create_module(self, spec):
            return self.loader.create_module(spec)

        def exec_module(self, module):
            self.loader.exec_module(module)
            patch(module)

        def __getattr__(self, attr):
            # get_source and the rest, for tracebacks and inspect.
            return getattr(self.loader, attr)

    class Finder:
        @classmethod
        def find_spec(cls, fullname, path=None, target=None):
            if fullname != name:
                return None
            sys.meta_path.remove(cls)
            import importlib.machinery

            spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = PatchOnLoad(spec.loader)
            return spec

    sys.meta_path.insert(0, Finder)


_asyncio_without_self_pipe()
