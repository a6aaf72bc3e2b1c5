//! Running real Python on the real Pyodide binary through the public API.

use anyhow::Result;
use pyodide_entrypoint::{
    Interpreter, InterpreterConfig, OutputSink, Runtime, RuntimeOptions, SharedBuffer,
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
    std::thread::Builder::new()
        .stack_size(pyodide_entrypoint::RECOMMENDED_THREAD_STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn prints_on_314() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let mut py = boot("314.0.7")?;
        let outcome = py
            .interpreter
            .run("import sys\nprint(1 + 1, sys.version_info[:2])", &[])?;
        let err = String::from_utf8_lossy(&py.stderr.contents()).into_owned();
        assert_eq!(outcome.status, 0, "stderr: {err}");
        assert_eq!(
            String::from_utf8_lossy(&py.stdout.contents()),
            "2 (3, 14)\n"
        );
        Ok(())
    })
}
