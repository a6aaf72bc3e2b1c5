//! Running real Python on the real Pyodide binary through the public API.

use anyhow::Result;
use pyodide_entrypoint::{
    Interpreter, InterpreterConfig, OutputSink, RunError, Runtime, RuntimeOptions, SharedBuffer,
};

struct Captured {
    interpreter: Interpreter,
    stdout: SharedBuffer,
    stderr: SharedBuffer,
}

fn boot(version: &str) -> Result<Captured> {
    let runtime = Runtime::new(RuntimeOptions {
        version: version.to_owned(),
        ..Default::default()
    })?;
    let stdout = SharedBuffer::new();
    let stderr = SharedBuffer::new();
    let config = InterpreterConfig {
        stdout: OutputSink::Capture(stdout.clone()),
        stderr: OutputSink::Capture(stderr.clone()),
        ..Default::default()
    };
    let interpreter = Interpreter::boot(&runtime, config)?;
    Ok(Captured {
        interpreter,
        stdout,
        stderr,
    })
}

/// Runs on a thread with a large stack, as the runtime asks of callers.
fn on_big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    pyodide_entrypoint::spawn_interpreter_thread(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn prints_on_314() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let mut py = boot("314.0.7")?;
        py.interpreter
            .run("import sys\nprint(1 + 1, sys.version_info[:2])", &[])?;
        assert_eq!(
            String::from_utf8_lossy(&py.stdout.contents()),
            "2 (3, 14)\n"
        );
        Ok(())
    })
}

#[test]
fn runaway_c_recursion_is_a_recursion_error_not_a_trap() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let mut py = boot("314.0.7")?;
        let code = "import json\nl = []\nfor i in range(200000): l = [l]\n\
                    for f in (repr, json.dumps):\n    try: f(l)\n    except RecursionError: print(f.__name__, 'RecursionError')\n\
                    def g(n): return g(n + 1)\ntry: g(0)\nexcept RecursionError: print('python RecursionError')\n";
        py.interpreter.run(code, &[])?;
        assert_eq!(
            String::from_utf8_lossy(&py.stdout.contents()),
            "repr RecursionError\ndumps RecursionError\npython RecursionError\n"
        );
        // The interpreter is still usable afterwards.
        py.interpreter.run("print('alive')", &[])?;
        assert!(String::from_utf8_lossy(&py.stdout.contents()).ends_with("alive\n"));
        Ok(())
    })
}

#[test]
fn exceptions_and_exit_statuses_are_typed_errors() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let mut py = boot("314.0.7")?;
        let error = py
            .interpreter
            .run("def f():\n    raise ValueError('bad input')\nf()", &[])
            .unwrap_err();
        assert_eq!(error.exit_status(), Some(1));
        let RunError::Exception { traceback } = error else {
            panic!("expected an exception, got {error:?}");
        };
        assert!(
            traceback.starts_with("Traceback (most recent call last):\n"),
            "{traceback}"
        );
        assert!(traceback.contains("line 2, in f"), "{traceback}");
        assert!(
            traceback.ends_with("ValueError: bad input\n"),
            "{traceback}"
        );
        assert_eq!(String::from_utf8_lossy(&py.stderr.take()), traceback);

        let error = py
            .interpreter
            .run("import sys; sys.exit(7)", &[])
            .unwrap_err();
        assert!(matches!(error, RunError::Exit { status: 7 }), "{error:?}");
        py.interpreter.run("raise SystemExit", &[])?;
        py.interpreter.run("import sys; sys.exit(0)", &[])?;
        let error = py
            .interpreter
            .run("import sys; sys.exit('goodbye')", &[])
            .unwrap_err();
        assert!(matches!(error, RunError::Exit { status: 1 }), "{error:?}");
        assert_eq!(String::from_utf8_lossy(&py.stderr.take()), "goodbye\n");
        // Still usable.
        py.interpreter.run("print('alive')", &[])?;

        // os._exit ends the process: the status comes back, nothing runs after.
        let error = py
            .interpreter
            .run("import os; os._exit(4)", &[])
            .unwrap_err();
        assert_eq!(error.exit_status(), Some(4), "{error:?}");
        let error = py.interpreter.run("print('never')", &[]).unwrap_err();
        assert_eq!(error.exit_status(), Some(4), "{error:?}");
        assert!(!String::from_utf8_lossy(&py.stdout.contents()).contains("never"));
        Ok(())
    })
}

#[test]
fn relocatable_0_29_3_runs_too() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let mut py = boot("0.29.3")?;
        py.interpreter.run(
            "import sys, json\nprint(sys.version_info[:2], json.dumps([1]))",
            &[],
        )?;
        assert_eq!(
            String::from_utf8_lossy(&py.stdout.contents()),
            "(3, 13) [1]\n"
        );
        Ok(())
    })
}

#[test]
fn the_memory_ceiling_is_a_memory_error_not_a_crash() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let runtime = Runtime::new(RuntimeOptions::default())?;
        let stdout = SharedBuffer::new();
        let config = InterpreterConfig {
            stdout: OutputSink::Capture(stdout.clone()),
            memory_limit: 96 << 20,
            ..Default::default()
        };
        let mut interpreter = Interpreter::boot(&runtime, config)?;
        let code = "try:\n    b = bytearray(128 * 2**20)\nexcept MemoryError:\n    print('MemoryError')\n\
                    small = bytearray(2**20)\nprint(len(small))";
        interpreter.run(code, &[])?;
        assert_eq!(
            String::from_utf8_lossy(&stdout.contents()),
            "MemoryError\n1048576\n"
        );
        Ok(())
    })
}

/// `asyncio.run()` with the default loop: there is no `socketpair` and no
/// loopback network for the selector loop's self-pipe, so the driver lets
/// the loop run without one; timers, `gather`, queues and timeouts work,
/// and the patched module still has its source for tracebacks.
const ASYNCIO_RUN: &str = r#"
import asyncio, inspect, time
import asyncio.selector_events as se

async def main():
    start = time.monotonic()
    await asyncio.sleep(0.05)
    values = await asyncio.gather(*(asyncio.sleep(0, i) for i in range(3)))
    queue = asyncio.Queue()
    async def produce():
        for i in range(3):
            await queue.put(i)
            await asyncio.sleep(0.001)
    task = asyncio.create_task(produce())
    got = [await queue.get() for _ in range(3)]
    await task
    try:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(10)
    except TimeoutError:
        timed_out = True
    return values, got, timed_out, time.monotonic() - start >= 0.05

print(asyncio.run(main()))
loop = asyncio.new_event_loop()
print(loop.run_until_complete(asyncio.sleep(0, "again")))
loop.close()
print("def __init__" in inspect.getsource(se.BaseSelectorEventLoop))
"#;

const ASYNCIO_RUN_OUTPUT: &str = "([0, 1, 2], [0, 1, 2], True, True)\nagain\nTrue\n";

#[test]
fn asyncio_run_works_with_the_default_loop() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        for version in ["314.0.7", "0.29.3"] {
            let mut py = boot(version)?;
            let result = py.interpreter.run(ASYNCIO_RUN, &[]);
            let stderr = String::from_utf8_lossy(&py.stderr.contents()).into_owned();
            result.map_err(|e| anyhow::anyhow!("{version}: {e}\n{stderr}"))?;
            assert_eq!(
                String::from_utf8_lossy(&py.stdout.contents()),
                ASYNCIO_RUN_OUTPUT,
                "{version}"
            );
        }
        Ok(())
    })
}
