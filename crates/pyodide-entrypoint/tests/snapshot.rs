//! Snapshots through the public API: the automatic baseline restores to a
//! working interpreter with the baseline imports already done; package and
//! dedicated snapshots are made from the previous kind; state made before
//! the snapshot (files, modules) is there after the restore; a relocatable
//! Pyodide (0.29.3) restores from its baseline too.

use anyhow::Result;
use pyodide_entrypoint::{
    Error, Interpreter, InterpreterConfig, OutputSink, Runtime, RuntimeOptions, SharedBuffer,
    Snapshot, SnapshotKind, SnapshotRequest,
};

/// Runs on a thread with a large stack, as the runtime asks of callers.
fn on_big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    pyodide_entrypoint::spawn_interpreter_thread(f)
        .unwrap()
        .join()
        .unwrap()
}

fn runtime(version: &str) -> Result<Runtime> {
    Ok(Runtime::new(RuntimeOptions {
        version: version.to_owned(),
        ..Default::default()
    })?)
}

/// Restores and runs `code`, returning stdout.
fn run_restored(runtime: &Runtime, snapshot: &Snapshot, code: &str) -> Result<String> {
    let stdout = SharedBuffer::new();
    let stderr = SharedBuffer::new();
    let mut interpreter = Interpreter::restore(
        runtime,
        snapshot,
        InterpreterConfig {
            stdout: OutputSink::Capture(stdout.clone()),
            stderr: OutputSink::Capture(stderr.clone()),
            env: vec![("GREETING".to_owned(), "hi".to_owned())],
            ..Default::default()
        },
    )?;
    let result = interpreter.run(code, &[]);
    let err = String::from_utf8_lossy(&stderr.contents()).into_owned();
    result.map_err(|e| anyhow::anyhow!("{e}\nstderr: {err}"))?;
    Ok(String::from_utf8_lossy(&stdout.contents()).into_owned())
}

#[test]
fn baseline_restores_to_a_working_interpreter() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let runtime = runtime("314.0.7")?;
        let snapshot = runtime.baseline_snapshot()?;
        assert_eq!(snapshot.kind(), SnapshotKind::Baseline);
        assert!(snapshot.imports().iter().any(|m| m == "asyncio"));
        let out = run_restored(
            &runtime,
            &snapshot,
            "import sys, os, json\n\
             print(1 + 1)\n\
             print('asyncio' in sys.modules, 'tempfile' in sys.modules)\n\
             print(json.dumps({'a': [1, 2]}))\n\
             print(os.getcwd(), os.environ['GREETING'])\n\
             import decimal\n\
             print(decimal.Decimal('1.10') + 1)\n",
        )?;
        assert_eq!(
            out,
            "2\nTrue True\n{\"a\": [1, 2]}\n/home/pyodide hi\n2.10\n"
        );
        // Loading it again (another process would) gives the same result.
        let again = Snapshot::load(&runtime, snapshot.path())?;
        assert_eq!(run_restored(&runtime, &again, "print(6 * 7)")?, "42\n");
        Ok(())
    })
}

#[test]
fn random_state_differs_between_restores() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let runtime = runtime("314.0.7")?;
        let snapshot = runtime.baseline_snapshot()?;
        let code = "import random, os\nprint(random.random(), os.urandom(8).hex())";
        let a = run_restored(&runtime, &snapshot, code)?;
        let b = run_restored(&runtime, &snapshot, code)?;
        assert_ne!(a, b, "two restores drew the same random numbers");
        Ok(())
    })
}

#[test]
fn package_and_dedicated_snapshots_continue_from_the_previous_kind() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let runtime = runtime("314.0.7")?;
        let baseline = runtime.baseline_snapshot()?;
        let dir = tempfile::tempdir()?;

        let package = runtime.create_snapshot(
            &SnapshotRequest {
                kind: SnapshotKind::Package,
                imports: vec!["decimal".to_owned(), "fractions".to_owned()],
                module: None,
                packages: Default::default(),
            },
            Some(&baseline),
            &dir.path().join("package.snap"),
        )?;
        assert_eq!(package.kind(), SnapshotKind::Package);
        assert_eq!(
            run_restored(
                &runtime,
                &package,
                "import sys\nprint('asyncio' in sys.modules, 'fractions' in sys.modules)"
            )?,
            "True True\n"
        );

        let module_dir = tempfile::tempdir()?;
        let module = module_dir.path().join("worker.py");
        std::fs::write(
            &module,
            "import os\nCOUNTER = [0]\nwith open('/tmp/made-at-top-level', 'w') as f:\n    f.write('top')\n",
        )?;
        let dedicated = runtime.create_snapshot(
            &SnapshotRequest {
                kind: SnapshotKind::Dedicated,
                imports: vec![],
                module: Some(module.clone()),
                packages: Default::default(),
            },
            Some(&package),
            &dir.path().join("dedicated.snap"),
        )?;
        // The module's top level ran once, at creation: its state and the
        // file it wrote are restored, not made again.
        std::fs::write(&module, "raise SystemExit('must not run again')\n")?;
        let out = run_restored(
            &runtime,
            &dedicated,
            "import sys, worker\n\
             worker.COUNTER[0] += 1\n\
             print(worker.COUNTER, 'fractions' in sys.modules)\n\
             print(open('/tmp/made-at-top-level').read())\n",
        )?;
        assert_eq!(out, "[1] True\ntop\n");

        // A baseline cannot be made from another snapshot.
        let err = runtime
            .create_snapshot(
                &SnapshotRequest::baseline(),
                Some(&package),
                &dir.path().join("x.snap"),
            )
            .unwrap_err();
        assert!(matches!(err, Error::SnapshotState(_)), "{err:?}");
        Ok(())
    })
}

#[test]
fn a_failing_import_names_the_module() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let runtime = runtime("314.0.7")?;
        let dir = tempfile::tempdir()?;
        let err = runtime
            .create_snapshot(
                &SnapshotRequest {
                    kind: SnapshotKind::Package,
                    imports: vec!["no_such_module_here".to_owned()],
                    module: None,
                    packages: Default::default(),
                },
                None,
                &dir.path().join("p.snap"),
            )
            .unwrap_err();
        match &err {
            Error::SnapshotImport { module, traceback } => {
                assert_eq!(module, "no_such_module_here");
                assert!(traceback.contains("ModuleNotFoundError"), "{traceback}");
            }
            other => panic!("expected an import error, got {other:?}"),
        }
        // Nothing was written.
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
        Ok(())
    })
}

#[test]
fn relocatable_pyodide_restores_from_its_baseline() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        // 0.29.3 imports its memory, table, bases and stack pointer: the
        // baked module defines its memory and the restore gives the other
        // imports their captured values.
        let runtime = runtime("0.29.3")?;
        assert_eq!(runtime.snapshot_unsupported(), None);
        let snapshot = runtime.baseline_snapshot()?;
        assert_eq!(snapshot.kind(), SnapshotKind::Baseline);
        let out = run_restored(
            &runtime,
            &snapshot,
            "import sys, os, json\n\
             print(1 + 1)\n\
             print('asyncio' in sys.modules, sys.version_info[:2])\n\
             print(json.dumps({'a': [1, 2]}), os.environ['GREETING'])\n\
             import decimal, fractions\n\
             print(decimal.Decimal('1.10') + 1, fractions.Fraction(3, 6))\n",
        )?;
        assert_eq!(out, "2\nTrue (3, 13)\n{\"a\": [1, 2]} hi\n2.10 1/2\n");
        let code = "import random, os\nprint(random.random(), os.urandom(8).hex())";
        let a = run_restored(&runtime, &snapshot, code)?;
        let b = run_restored(&runtime, &snapshot, code)?;
        assert_ne!(a, b, "two restores drew the same random numbers");
        // Loaded again (as another process would) it still restores.
        let again = Snapshot::load(&runtime, snapshot.path())?;
        assert_eq!(run_restored(&runtime, &again, "print(6 * 7)")?, "42\n");
        Ok(())
    })
}

#[test]
fn relocatable_pyodide_makes_package_snapshots_from_its_baseline() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let runtime = runtime("0.29.3")?;
        let baseline = runtime.baseline_snapshot()?;
        let dir = tempfile::tempdir()?;
        let package = runtime.create_snapshot(
            &SnapshotRequest {
                kind: SnapshotKind::Package,
                imports: vec!["fractions".to_owned()],
                module: None,
                packages: Default::default(),
            },
            Some(&baseline),
            &dir.path().join("package.snap"),
        )?;
        assert_eq!(
            run_restored(
                &runtime,
                &package,
                "import sys\nprint('fractions' in sys.modules, sum(range(10)))"
            )?,
            "True 45\n"
        );
        Ok(())
    })
}

/// Makes a dedicated snapshot of a module with `source` as its top level.
/// Makes a dedicated snapshot (from the baseline) of a module `holder`
/// with `source` as its top level, in `dir` (`holder.py`, `holder.snap`).
fn dedicated_snapshot(
    runtime: &Runtime,
    dir: &std::path::Path,
    source: &str,
) -> Result<Snapshot, Error> {
    let baseline = runtime.baseline_snapshot()?;
    let module = dir.join("holder.py");
    std::fs::write(&module, source).expect("write holder.py");
    runtime.create_snapshot(
        &SnapshotRequest {
            kind: SnapshotKind::Dedicated,
            imports: vec![],
            module: Some(module),
            packages: Default::default(),
        },
        Some(&baseline),
        &dir.join("holder.snap"),
    )
}

fn dedicated_error(runtime: &Runtime, source: &str) -> Result<Error> {
    let dir = tempfile::tempdir()?;
    let result = dedicated_snapshot(runtime, dir.path(), source);
    assert!(
        !dir.path().join("holder.snap").exists(),
        "a refused snapshot was written"
    );
    Ok(result.expect_err("the snapshot must be refused"))
}

#[test]
fn state_a_restore_cannot_rebuild_refuses_the_snapshot() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let runtime = runtime("314.0.7")?;
        // An open pipe: nothing a restore could open again.
        let err = dedicated_error(&runtime, "import os\nPIPE = os.pipe()\n")?;
        assert!(matches!(err, Error::SnapshotState(_)), "{err:?}");
        assert!(
            err.to_string().contains("descriptor 3 is open on a Fifo"),
            "{err}"
        );
        // A file unlinked while open.
        let err = dedicated_error(
            &runtime,
            "import os\nHANDLE = open('/tmp/scratch', 'w')\nos.unlink('/tmp/scratch')\n",
        )?;
        assert!(err.to_string().contains("unlinked while open"), "{err}");
        // A ctypes callback: a function-table slot the host filled.
        let err = dedicated_error(
            &runtime,
            "import ctypes\nCALLBACK = ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 1)\n",
        )?;
        assert!(
            err.to_string()
                .contains("the function table grew by 1 entries"),
            "{err}"
        );
        Ok(())
    })
}

/// A runtime holds at most `MAX_INSTANCES` interpreters at once (its
/// pooling allocator's slots): one more is refused with an error naming
/// the limit, the others keep working, and a slot freed by a dropped
/// interpreter serves the next restore, which starts from the snapshot
/// again (nothing of the dropped instance's state shows).
#[test]
fn a_runtime_refuses_one_interpreter_too_many_and_reuses_freed_slots() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let runtime = runtime("314.0.7")?;
        let snapshot = runtime.baseline_snapshot()?;
        let limit = pyodide_emscripten::MAX_INSTANCES as usize;
        let mut alive = Vec::with_capacity(limit);
        for i in 0..limit {
            let mut interpreter =
                Interpreter::restore(&runtime, &snapshot, InterpreterConfig::default())
                    .map_err(|e| anyhow::anyhow!("restore {i}: {e}"))?;
            interpreter.run(&format!("import sys; sys.marker = {i}"), &[])?;
            alive.push(interpreter);
        }
        match Interpreter::restore(&runtime, &snapshot, InterpreterConfig::default()) {
            Err(Error::Host(pyodide_emscripten::Error::TooManyInstances { limit: l, .. })) => {
                assert_eq!(l as usize, limit)
            }
            Err(other) => panic!("expected TooManyInstances, got: {other}"),
            Ok(_) => panic!("interpreter {} was accepted", limit + 1),
        }
        // The others are unharmed.
        alive[7].run("import sys; assert sys.marker == 7", &[])?;
        drop(alive.pop());
        let out = run_restored(
            &runtime,
            &snapshot,
            "import sys; print(hasattr(sys, 'marker'))",
        )?;
        assert_eq!(out, "False\n");
        Ok(())
    })
}

/// An interpreter that ends leaves its pages resident in its pool slot
/// (`RuntimeOptions::warm_slots`, on by default), their bytes reset to the
/// snapshot's: the next interpreter restored there finds neither the
/// objects the last one changed (every module's dict) nor the bytes it
/// wrote (4.8 MiB of a pattern, looked for at the same addresses after the
/// same allocations).
#[test]
fn a_warm_slot_shows_nothing_of_the_interpreter_that_ran_there() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let runtime = runtime("314.0.7")?;
        let snapshot = runtime.baseline_snapshot()?;
        const ALLOCATE: &str = "import ctypes, sys\n\
            BUFS = [bytearray(16384) for _ in range(300)]\n\
            ADDRS = [ctypes.addressof((ctypes.c_char * 16384).from_buffer(b)) for b in BUFS]\n";
        const FOUND: &str = "FOUND = [a for a in ADDRS if ctypes.string_at(a, 16384) == b'Z' * 16384]\n\
            MARKED = [n for n, m in list(sys.modules.items()) if getattr(m, '_pw_marker', 0)]\n\
            print(len(FOUND), MARKED)\n";
        let restore = || -> Result<(Interpreter, SharedBuffer)> {
            let out = SharedBuffer::new();
            let config = InterpreterConfig {
                stdout: OutputSink::Capture(out.clone()),
                ..Default::default()
            };
            Ok((Interpreter::restore(&runtime, &snapshot, config)?, out))
        };
        let (mut first, out) = restore()?;
        first.run(ALLOCATE, &[])?;
        first.run(
            "for b in BUFS: b[:] = b'Z' * 16384\n\
             for m in list(sys.modules.values()):\n    try: m._pw_marker = 1\n    except Exception: pass\n",
            &[],
        )?;
        first.run(FOUND, &[])?;
        let seen = String::from_utf8_lossy(&out.contents()).into_owned();
        assert!(
            seen.starts_with("300 ['"),
            "the check sees the writes: {seen}"
        );
        drop(first);

        let (mut next, out) = restore()?;
        next.run(ALLOCATE, &[])?;
        next.run(FOUND, &[])?;
        assert_eq!(String::from_utf8_lossy(&out.contents()), "0 []\n");
        Ok(())
    })
}

/// The driver's asyncio fix is in the baseline too (it is made with the
/// driver of this build: its file name carries the driver's digest).
#[test]
fn asyncio_run_works_after_a_restore() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let runtime = runtime("314.0.7")?;
        let snapshot = runtime.baseline_snapshot()?;
        let out = run_restored(
            &runtime,
            &snapshot,
            "import asyncio\n\
             async def main():\n    await asyncio.sleep(0.01)\n    return 'done'\n\
             print(asyncio.run(main()))",
        )?;
        assert_eq!(out, "done\n");
        Ok(())
    })
}

/// Files a module's top level left open come back in the restored
/// instance at the same descriptors, with their modes and offsets: a log
/// opened for appending goes on appending, a half-read file goes on from
/// where it was.
#[test]
fn files_left_open_at_top_level_survive_a_restore() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let runtime = runtime("314.0.7")?;
        let dir = tempfile::tempdir()?;
        let snapshot = dedicated_snapshot(
            &runtime,
            dir.path(),
            "with open('/tmp/data.txt', 'w') as f:\n    f.write('line one\\nline two\\n')\n\
             LOG = open('/tmp/app.log', 'a', buffering=1)\n\
             LOG.write('made\\n')\n\
             DATA = open('/tmp/data.txt')\n\
             FIRST = DATA.readline()\n",
        )?;
        for round in 0..2 {
            let out = run_restored(
                &runtime,
                &snapshot,
                &format!(
                    "import holder\n\
                     holder.LOG.write('restored {round}\\n')\n\
                     print(repr(holder.FIRST), repr(holder.DATA.readline()))\n\
                     print(open('/tmp/app.log').read().splitlines())"
                ),
            )?;
            // Each restore starts from the snapshot's file, not the last run's.
            assert_eq!(
                out,
                format!("'line one\\n' 'line two\\n'\n['made', 'restored {round}']\n"),
                "round {round}"
            );
        }
        Ok(())
    })
}
