//! Interrupting a running interpreter from another thread, and sleeping
//! without spinning, on the real Pyodide binary (both supported versions).

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use pyodide_entrypoint::{
    Interpreter, InterpreterConfig, InterruptHandle, OutputSink, RunError, Runtime, RuntimeOptions,
    SharedBuffer,
};

struct Captured {
    interpreter: Interpreter,
    stdout: SharedBuffer,
}

fn boot(version: &str) -> Result<Captured> {
    let runtime = Runtime::new(RuntimeOptions {
        version: version.to_owned(),
        ..Default::default()
    })?;
    let stdout = SharedBuffer::new();
    let config = InterpreterConfig {
        stdout: OutputSink::Capture(stdout.clone()),
        stderr: OutputSink::Capture(SharedBuffer::new()),
        ..Default::default()
    };
    let interpreter = Interpreter::boot(&runtime, config)?;
    Ok(Captured {
        interpreter,
        stdout,
    })
}

/// Runs on a thread with a large stack, as the runtime asks of callers.
fn on_big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    pyodide_entrypoint::spawn_interpreter_thread(f)
        .unwrap()
        .join()
        .unwrap()
}

/// Interrupts through `handle` once `stdout` shows `ready` past its first
/// `from` bytes, from a thread of its own.
fn interrupt_when_ready(stdout: SharedBuffer, from: usize, handle: InterruptHandle) {
    std::thread::spawn(move || {
        while !String::from_utf8_lossy(&stdout.contents()[from..]).contains("ready") {
            std::thread::sleep(Duration::from_millis(5));
        }
        // Let the guest get from its `print` into the wait that follows
        // (which takes microseconds): the tests check where it is raised.
        std::thread::sleep(Duration::from_millis(100));
        handle.interrupt();
    });
}

/// Runs `code` (which prints `ready` before it waits or loops), interrupts
/// it, and returns the `KeyboardInterrupt` traceback and what it printed.
fn interrupted(py: &mut Captured, code: &str) -> Result<(String, String)> {
    let handle = py.interpreter.interrupt_handle()?;
    let printed_before = py.stdout.contents().len();
    interrupt_when_ready(py.stdout.clone(), printed_before, handle.clone());
    let result = py.interpreter.run(code, &[]);
    let printed = String::from_utf8_lossy(&py.stdout.contents()[printed_before..]).into_owned();
    match result {
        Err(RunError::Interrupted { traceback }) => {
            assert!(!handle.is_pending(), "the interrupt was taken");
            Ok((traceback, printed))
        }
        other => bail!("expected KeyboardInterrupt, got {other:?} after printing {printed:?}"),
    }
}

fn interrupts_python_code(version: &str) -> Result<()> {
    let mut py = boot(version)?;
    // The loop ends after a minute, so a broken interrupt fails the test
    // instead of hanging it. (No `finally` here: CPython 3.13 — 0.29.3,
    // and native 3.13.0 alike — skips the handlers of an exception raised
    // at a loop's backward jump.)
    let busy = "import time\nend = time.monotonic() + 60\nprint('ready', flush=True)\n\
                while time.monotonic() < end:\n    pass\n";
    let (traceback, printed) = interrupted(&mut py, busy)?;
    assert!(traceback.ends_with("KeyboardInterrupt\n"), "{traceback}");
    assert_eq!(printed, "ready\n");

    let sleeping = "import time\ntry:\n    print('ready', flush=True)\n    time.sleep(60)\n    \
                    print('woke')\nfinally:\n    print('finally ran')\n";
    let started = Instant::now();
    let (traceback, printed) = interrupted(&mut py, sleeping)?;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the sleep was cut short"
    );
    // `-c` code has no source lines to show: line 4 is the sleep.
    assert!(
        traceback.contains("line 4, in <module>"),
        "raised in the sleep: {traceback}"
    );
    assert_eq!(printed, "ready\nfinally ran\n", "{traceback}");

    // Caught, like any exception; the interpreter goes on.
    let caught = "import time\ntry:\n    print('ready', flush=True)\n    time.sleep(60)\n\
                  except KeyboardInterrupt:\n    print('caught')\n";
    let handle = py.interpreter.interrupt_handle()?;
    interrupt_when_ready(py.stdout.clone(), py.stdout.contents().len(), handle);
    py.interpreter.run(caught, &[])?;
    assert!(String::from_utf8_lossy(&py.stdout.contents()).ends_with("ready\ncaught\n"));
    Ok(())
}

#[test]
fn an_interrupt_raises_keyboard_interrupt_on_314() -> Result<()> {
    on_big_stack(|| interrupts_python_code("314.0.7"))
}

#[test]
fn an_interrupt_raises_keyboard_interrupt_on_0_29() -> Result<()> {
    on_big_stack(|| interrupts_python_code("0.29.3"))
}

#[test]
fn an_interrupt_ends_poll_and_asyncio_waits() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let mut py = boot("314.0.7")?;
        let poll = "import select\nprint('ready', flush=True)\nselect.poll().poll(60_000)\n";
        let (traceback, _) = interrupted(&mut py, poll)?;
        assert!(traceback.contains("line 3, in <module>"), "{traceback}");

        // asyncio.run cancels the main task on the first interrupt, lets it
        // clean up, then raises KeyboardInterrupt — as it does natively.
        let asyncio = "import asyncio\nasync def main():\n    try:\n        \
                       print('ready', flush=True)\n        await asyncio.sleep(60)\n    \
                       finally:\n        print('task cleaned up')\nasyncio.run(main())\n";
        let started = Instant::now();
        let (traceback, printed) = interrupted(&mut py, asyncio)?;
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the wait was cut short"
        );
        assert!(traceback.contains("CancelledError"), "{traceback}");
        assert_eq!(printed, "ready\ntask cleaned up\n");
        Ok(())
    })
}

/// Time this thread has spent on a CPU.
fn thread_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    let nanos: u64 = stat.split_whitespace().next().unwrap().parse().unwrap();
    Duration::from_nanos(nanos)
}

/// Runs `code` and returns (wall time, CPU time of this thread).
fn timed(py: &mut Captured, code: &str) -> Result<(Duration, Duration)> {
    let (wall, cpu) = (Instant::now(), thread_cpu_time());
    py.interpreter.run(code, &[])?;
    Ok((wall.elapsed(), thread_cpu_time() - cpu))
}

fn sleeps_sleep(version: &str, waits: &[&str]) -> Result<()> {
    let mut py = boot(version)?;
    // Imports first: they take CPU of their own.
    py.interpreter.run("import asyncio, select, time", &[])?;
    for wait in waits {
        let (wall, cpu) = timed(&mut py, wait)?;
        // The guest's clock agrees that the time passed...
        assert!(wall >= Duration::from_millis(500), "{wait}: {wall:?}");
        // ...and the host thread slept through it instead of spinning
        // (Emscripten's own sleep is a busy loop: CPU ≈ wall).
        assert!(cpu < wall / 2, "{wait}: {cpu:?} of CPU in {wall:?}");
    }
    Ok(())
}

#[test]
fn sleeps_and_timed_waits_do_not_spin_on_314() -> Result<()> {
    on_big_stack(|| {
        sleeps_sleep(
            "314.0.7",
            &[
                "time.sleep(0.5)",
                "select.poll().poll(500)",
                "asyncio.run(asyncio.sleep(0.5))",
            ],
        )
    })
}

#[test]
fn sleeps_and_timed_waits_do_not_spin_on_0_29() -> Result<()> {
    on_big_stack(|| {
        sleeps_sleep(
            "0.29.3",
            &["time.sleep(0.5)", "select.select([], [], [], 0.5)"],
        )
    })
}
