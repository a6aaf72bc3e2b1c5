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
        return _finish(1, text)


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
