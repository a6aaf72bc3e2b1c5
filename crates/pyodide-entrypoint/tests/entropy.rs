//! The top-level entropy policy through the public snapshot API: a module
//! that draws entropy at its top level cannot be snapshotted, and the error
//! names it and says what to do. (The policy's own behaviour, booted in
//! snapshot mode, is tested beside `src/entropy.rs`.)

use anyhow::Result;
use pyodide_entrypoint::{Error, Runtime, RuntimeOptions, SnapshotKind, SnapshotRequest};

/// Runs on a thread with a large stack, as the runtime asks of callers.
fn on_big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    pyodide_entrypoint::spawn_interpreter_thread(f)
        .unwrap()
        .join()
        .unwrap()
}

/// Tries to make a dedicated snapshot of a module `name` with `source`.
fn snapshot_module(name: &str, source: &str) -> Result<Result<(), Error>> {
    let runtime = Runtime::new(RuntimeOptions {
        version: "314.0.7".to_owned(),
        ..Default::default()
    })?;
    let dir = tempfile::tempdir()?;
    let module = dir.path().join(format!("{name}.py"));
    std::fs::write(&module, source)?;
    let request = SnapshotRequest {
        kind: SnapshotKind::Dedicated,
        imports: Vec::new(),
        module: Some(module),
        packages: Default::default(),
    };
    let out = dir.path().join("out.snap");
    Ok(runtime.create_snapshot(&request, None, &out).map(|_| ()))
}

#[test]
fn os_urandom_at_top_level_refuses_the_snapshot_with_advice() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let error = snapshot_module("keys", "import os\nKEY = os.urandom(16)\n")?.unwrap_err();
        let text = error.to_string();
        assert!(text.contains("'keys' asked for 16 bytes"), "{text}");
        assert!(
            text.contains("move the call into a request handler"),
            "{text}"
        );
        Ok(())
    })
}

#[test]
fn a_random_instance_seeded_at_top_level_refuses_the_snapshot() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        // CPython silently falls back to seeding from the time; the host's
        // ledger still saw the refused draw.
        let error = snapshot_module("dice", "import random\nRNG = random.Random()\n")?.unwrap_err();
        match &error {
            Error::TopLevelEntropy { consumer, .. } => assert_eq!(consumer, "dice"),
            other => panic!("not a top-level entropy error: {other}"),
        }
        Ok(())
    })
}

#[test]
fn importing_random_and_tempfile_at_top_level_is_fine() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        snapshot_module(
            "fine",
            "import random, tempfile, uuid\nR = random.Random\nD = tempfile.gettempdir()\n",
        )??;
        Ok(())
    })
}
