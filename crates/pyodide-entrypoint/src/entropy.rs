//! Entropy while a snapshot is made, and after a restore.
//!
//! An interpreter whose memory will become a snapshot boots with
//! [`snapshot_entropy`] (the fixed-seed, accounted stream of
//! `pyodide-entropy`) from its first instruction; [`enter_snapshot_mode`]
//! then installs the Python half (`entropy_policy.py`: it names the module
//! whose top level runs in a slot the host reads in `random_get`, makes a
//! refused `os.urandom` raise `TopLevelEntropyError` with advice, and makes
//! the global generator's functions (`random.random()`, `choice()`, …)
//! raise `TopLevelRandomError`, since its state is in the snapshot); after
//! each import step
//! [`check_top_level_entropy`] turns a refusal recorded in the ledger into
//! [`Error::TopLevelEntropy`] (this also catches C-level draws that swallow
//! the refusal, like `random.Random()` falling back to the time). A restored
//! instance calls [`leave_snapshot_mode`] before user code: real entropy,
//! the policy removed, `random`, `numpy.random` and `tempfile` reseeded.

use pyodide_emscripten::{ConsumerSlot, SharedEntropy};
use pyodide_entropy::{Ledger, LedgerHandle, OsEntropy, Policy, SnapshotEntropy};
use wasmtime::TypedFunc;

use crate::Error;
use crate::interpreter::Interpreter;

pub(crate) const POLICY: &str = include_str!("entropy_policy.py");
const POLICY_MODULE: &str = "_pyworkerd_entropy";
const PY_FILE_INPUT: i32 = 257;

/// Runs one operation of the policy module (loading it first if it is not
/// in `sys.modules`; `enter` registers it there) and leaves its string
/// result, or the traceback, in `result`.
const CALL: &str = r#"
def _call():
    import sys

    module = sys.modules.get(NAME)
    if module is None:
        import types

        module = types.ModuleType(NAME)
        exec(compile(SOURCE, "<pyworkerd entropy policy>", "exec"), module.__dict__)
        if OP == "enter":
            sys.modules[NAME] = module
    try:
        return getattr(module, OP)()
    except BaseException:
        if OP == "enter":
            sys.modules.pop(NAME, None)
        raise


try:
    result = "ok\n" + _call()
except BaseException as error:
    import traceback

    result = "error\n" + "".join(traceback.format_exception(error))
"#;

/// The entropy an interpreter that will be snapshotted boots with: the
/// fixed-seed stream under the default policy, and a handle on its ledger
/// (for the snapshot's sidecar).
pub(crate) fn snapshot_entropy() -> (SharedEntropy, LedgerHandle) {
    let source = SnapshotEntropy::new(Policy::default());
    let ledger = source.ledger_handle();
    (SharedEntropy::new(source), ledger)
}

/// Installs the Python half of the policy in an interpreter booted with
/// [`snapshot_entropy`], before its imports.
pub(crate) fn enter_snapshot_mode(interp: &mut Interpreter) -> Result<(), Error> {
    let reply = call_policy(interp, "enter")?;
    let slot = reply
        .split_once(' ')
        .and_then(|(addr, len)| Some((addr.parse().ok()?, len.parse().ok()?)))
        .map(|(addr, len)| ConsumerSlot { addr, len })
        .ok_or_else(|| Error::Driver(format!("entropy policy: malformed slot {reply:?}")))?;
    interp
        .store
        .data()
        .ctx
        .entropy()
        .set_consumer_slot(Some(slot));
    Ok(())
}

/// After an import step: the first refused draw in the ledger, as
/// [`Error::TopLevelEntropy`] (with everything that consumer was refused).
/// An interpreter without an accounting source passes.
pub(crate) fn check_top_level_entropy(interp: &mut Interpreter) -> Result<(), Error> {
    let Some(ledger) = interp.store.data().ctx.entropy().ledger() else {
        return Ok(());
    };
    let ledger = ledger.get();
    match ledger.denials().first() {
        None => Ok(()),
        Some(first) => {
            let usage = ledger.usage(&first.consumer);
            Err(Error::TopLevelEntropy {
                consumer: first.consumer.clone(),
                bytes: usage.denied_bytes,
                calls: usage.denied_calls,
            })
        }
    }
}

/// The ledger of the interpreter's entropy source, if it keeps one (what a
/// snapshot's sidecar records: who drew how much while it was made).
pub(crate) fn ledger(interp: &Interpreter) -> Option<Ledger> {
    interp
        .store
        .data()
        .ctx
        .entropy()
        .ledger()
        .map(|handle| handle.get())
}

/// Before user code runs in a restored instance (or in the instance that
/// made the snapshot, to go on serving): switches `random_get` and
/// `/dev/(u)random` to the OS, removes the Python half of the policy, and
/// reseeds `random` (`random.seed()`), `numpy.random` when loaded, and
/// `tempfile`'s name generator, so no two instances share a stream.
pub(crate) fn leave_snapshot_mode(interp: &mut Interpreter) -> Result<(), Error> {
    let entropy = interp.store.data().ctx.entropy().clone();
    entropy.set_consumer_slot(None);
    entropy.replace(Box::new(OsEntropy));
    call_policy(interp, "leave")?;
    Ok(())
}

/// Calls `op` of the policy module through the C API, in a private
/// namespace (not `__main__`, not `sys.argv`), and returns its result.
fn call_policy(interp: &mut Interpreter, op: &str) -> Result<String, Error> {
    let store = &mut interp.store;
    let instance = &interp.instance;
    let dict_new: TypedFunc<(), i32> = instance.typed_func(store, "PyDict_New")?;
    let get_builtins: TypedFunc<(), i32> = instance.typed_func(store, "PyEval_GetBuiltins")?;
    let set_item: TypedFunc<(i32, i32, i32), i32> =
        instance.typed_func(store, "PyDict_SetItemString")?;
    let get_item: TypedFunc<(i32, i32), i32> =
        instance.typed_func(store, "PyDict_GetItemString")?;
    let unicode_from: TypedFunc<(i32, i32), i32> =
        instance.typed_func(store, "PyUnicode_FromStringAndSize")?;
    let as_utf8: TypedFunc<(i32, i32), i32> =
        instance.typed_func(store, "PyUnicode_AsUTF8AndSize")?;
    let compile: TypedFunc<(i32, i32, i32), i32> =
        instance.typed_func(store, "Py_CompileString")?;
    let eval_code: TypedFunc<(i32, i32, i32), i32> =
        instance.typed_func(store, "PyEval_EvalCode")?;
    let decref: TypedFunc<i32, ()> = instance.typed_func(store, "Py_DecRef")?;
    let clear: TypedFunc<(), ()> = instance.typed_func(store, "PyErr_Clear")?;

    let namespace = dict_new
        .call(&mut *store, ())
        .map_err(|e| trap("PyDict_New", e))?;
    if namespace == 0 {
        return Err(Error::Driver("entropy policy: no namespace".to_owned()));
    }
    let outcome = (|| -> Result<String, Error> {
        let builtins = get_builtins
            .call(&mut *store, ())
            .map_err(|e| trap("PyEval_GetBuiltins", e))?;
        let set = |store: &mut wasmtime::Store<_>, key: &str, value: i32| {
            let key = instance.malloc_c_string(store, key.as_bytes())?;
            let status = set_item
                .call(&mut *store, (namespace, key as i32, value))
                .map_err(|e| trap("PyDict_SetItemString", e));
            instance.free(store, key)?;
            match status? {
                0 => Ok(()),
                _ => Err(Error::Driver(
                    "entropy policy: cannot fill its namespace".to_owned(),
                )),
            }
        };
        set(store, "__builtins__", builtins)?;
        for (key, value) in [("NAME", POLICY_MODULE), ("OP", op), ("SOURCE", POLICY)] {
            let bytes = instance.malloc_c_string(store, value.as_bytes())?;
            let text = unicode_from
                .call(&mut *store, (bytes as i32, value.len() as i32))
                .map_err(|e| trap("PyUnicode_FromStringAndSize", e));
            instance.free(store, bytes)?;
            let text = text?;
            if text == 0 {
                return Err(Error::Driver(
                    "entropy policy: cannot make a string".to_owned(),
                ));
            }
            let result = set(store, key, text);
            decref
                .call(&mut *store, text)
                .map_err(|e| trap("Py_DecRef", e))?;
            result?;
        }
        let source = instance.malloc_c_string(store, CALL.as_bytes())?;
        let filename = instance.malloc_c_string(store, b"<pyworkerd entropy>")?;
        let code = compile
            .call(&mut *store, (source as i32, filename as i32, PY_FILE_INPUT))
            .map_err(|e| trap("Py_CompileString", e));
        instance.free(store, source)?;
        instance.free(store, filename)?;
        let code = code?;
        if code == 0 {
            clear
                .call(&mut *store, ())
                .map_err(|e| trap("PyErr_Clear", e))?;
            return Err(Error::Driver(
                "entropy policy: the call does not compile".to_owned(),
            ));
        }
        let evaluated = eval_code
            .call(&mut *store, (code, namespace, namespace))
            .map_err(|e| trap("PyEval_EvalCode", e));
        decref
            .call(&mut *store, code)
            .map_err(|e| trap("Py_DecRef", e))?;
        let evaluated = evaluated?;
        if evaluated == 0 {
            clear
                .call(&mut *store, ())
                .map_err(|e| trap("PyErr_Clear", e))?;
            return Err(Error::Driver("entropy policy: the call raised".to_owned()));
        }
        decref
            .call(&mut *store, evaluated)
            .map_err(|e| trap("Py_DecRef", e))?;
        let key = instance.malloc_c_string(store, b"result")?;
        let result = get_item
            .call(&mut *store, (namespace, key as i32))
            .map_err(|e| trap("PyDict_GetItemString", e));
        instance.free(store, key)?;
        let result = result?;
        if result == 0 {
            return Err(Error::Driver("entropy policy: no result".to_owned()));
        }
        let size_slot = instance.malloc_c_string(store, &[0; 4])?;
        let data = as_utf8
            .call(&mut *store, (result, size_slot as i32))
            .map_err(|e| trap("PyUnicode_AsUTF8AndSize", e));
        let size = instance.read(store, size_slot, 4);
        instance.free(store, size_slot)?;
        let (data, size) = (data?, size?);
        let size = u32::from_le_bytes(size.try_into().expect("4 bytes"));
        let text = instance.read(store, data as u32, size as usize)?;
        Ok(String::from_utf8_lossy(&text).into_owned())
    })();
    decref
        .call(&mut *store, namespace)
        .map_err(|e| trap("Py_DecRef", e))?;
    let reply = outcome?;
    match reply.split_once('\n') {
        Some(("ok", value)) => Ok(value.to_owned()),
        Some((_, traceback)) => Err(Error::Driver(format!(
            "entropy policy '{op}' failed\n{traceback}"
        ))),
        None => Err(Error::Driver(format!(
            "entropy policy: malformed reply {reply:?}"
        ))),
    }
}

fn trap(during: &'static str, error: wasmtime::Error) -> Error {
    Error::Host(pyodide_emscripten::Error::Trap {
        during,
        source: error.into_boxed_dyn_error(),
    })
}

/// Through the real Pyodide (the functions are crate-internal; the
/// restored-from-a-snapshot versions are in `tests/`).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::interpreter::{InterpreterConfig, Mount, RunError};
    use crate::runtime::{Runtime, RuntimeOptions};
    use pyodide_vfs::{OutputSink, SharedBuffer};

    type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

    const VERSIONS: [&str; 2] = ["314.0.7", "0.29.3"];

    struct Booted {
        interp: Interpreter,
        stdout: SharedBuffer,
        stderr: SharedBuffer,
        ledger: LedgerHandle,
    }

    /// An interpreter in snapshot mode, with `files` importable from
    /// `/modules`.
    fn snapshot_mode(
        version: &str,
        files: &[(&str, &str)],
    ) -> Result<(Booted, tempfile::TempDir), Box<dyn std::error::Error + Send + Sync>> {
        let runtime = Runtime::new(RuntimeOptions {
            version: version.to_owned(),
            ..Default::default()
        })?;
        let dir = tempfile::tempdir()?;
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text)?;
        }
        let stdout = SharedBuffer::new();
        let stderr = SharedBuffer::new();
        let config = InterpreterConfig {
            stdout: OutputSink::Capture(stdout.clone()),
            stderr: OutputSink::Capture(stderr.clone()),
            mounts: vec![Mount {
                host: dir.path().to_owned(),
                guest: "/modules".to_owned(),
                writable: false,
            }],
            ..Default::default()
        };
        let (entropy, ledger) = snapshot_entropy();
        let mut interp = Interpreter::boot_with_entropy(&runtime, config, entropy)?;
        enter_snapshot_mode(&mut interp)?;
        interp.run("import sys\nsys.path.insert(0, '/modules')", &[])?;
        Ok((
            Booted {
                interp,
                stdout,
                stderr,
                ledger,
            },
            dir,
        ))
    }

    fn on_big_stack(f: impl FnOnce() -> TestResult + Send + 'static) -> TestResult {
        crate::spawn_interpreter_thread(f)?
            .join()
            .expect("the test thread panicked")
    }

    fn stdout_text(booted: &Booted) -> String {
        String::from_utf8_lossy(&booted.stdout.contents()).into_owned()
    }

    #[test]
    fn importing_random_is_allowed_and_accounted() -> TestResult {
        on_big_stack(|| {
            for version in VERSIONS {
                let (mut py, _dir) = snapshot_mode(version, &[])?;
                py.interp.run("import random, tempfile", &[])?;
                check_top_level_entropy(&mut py.interp)?;
                let ledger = py.ledger.get();
                assert_eq!(super::ledger(&py.interp).as_ref(), Some(&ledger));
                let random = ledger.usage("random");
                assert_eq!(random.bytes, 624 * 4, "{version}: {ledger:?}");
                assert_eq!(random.denied_calls, 0);
                // CPython's hash secret, drawn before any Python ran.
                assert_eq!(ledger.usage(pyodide_entropy::STARTUP).bytes, 24);
                assert!(ledger.denials().is_empty(), "{version}: {ledger:?}");
            }
            Ok(())
        })
    }

    #[test]
    fn the_baseline_imports_fit_the_default_policy() -> TestResult {
        on_big_stack(|| {
            for version in VERSIONS {
                let (mut py, _dir) = snapshot_mode(version, &[])?;
                for name in crate::BASELINE_IMPORTS {
                    py.interp.run(&format!("import {name}"), &[])?;
                    check_top_level_entropy(&mut py.interp)?;
                }
                // Entering twice (a snapshot made on top of one made in
                // snapshot mode) keeps the one policy.
                enter_snapshot_mode(&mut py.interp)?;
                py.interp.run(
                    "import sys, os\nprint(sys.modules['_pyworkerd_entropy']._tool is not None, \
                     os.urandom.__module__)",
                    &[],
                )?;
                assert_eq!(stdout_text(&py), "True _pyworkerd_entropy\n");
                let ledger = py.ledger.get();
                assert!(ledger.denials().is_empty(), "{version}: {ledger:?}");
                // The hash secret at start-up, and `random` (imported by
                // `tempfile`) seeding itself: nothing else draws.
                let consumers: Vec<(&str, u64, u64)> = ledger
                    .consumers()
                    .map(|(name, usage)| (name, usage.calls, usage.bytes))
                    .collect();
                assert_eq!(
                    consumers,
                    [(pyodide_entropy::STARTUP, 1, 24), ("random", 10, 2496)],
                    "{version}"
                );
            }
            Ok(())
        })
    }

    #[test]
    fn os_urandom_at_a_module_top_level_raises_with_advice() -> TestResult {
        on_big_stack(|| {
            for version in VERSIONS {
                let files = [
                    ("secret_token.py", "import os\nTOKEN = os.urandom(16)\n"),
                    ("outer.py", "import secret_token\nAFTER = 1\n"),
                    ("execer.py", "exec('import os\\nos.urandom(4)', {})\n"),
                ];
                let (mut py, _dir) = snapshot_mode(version, &files)?;
                let error = py.interp.run("import outer", &[]).unwrap_err();
                let RunError::Exception { traceback } = error else {
                    panic!(
                        "{version}: not an exception: {error}\n{}",
                        String::from_utf8_lossy(&py.stderr.contents())
                    );
                };
                assert!(
                    traceback.contains(
                        "TopLevelEntropyError: [Errno 29] 'secret_token' asked for 16 bytes"
                    ),
                    "{version}: {traceback}"
                );
                assert!(
                    traceback.contains("move the call into a request handler"),
                    "{traceback}"
                );
                match check_top_level_entropy(&mut py.interp) {
                    Err(Error::TopLevelEntropy {
                        consumer,
                        bytes,
                        calls,
                    }) => {
                        assert_eq!((consumer.as_str(), bytes, calls), ("secret_token", 16, 1));
                    }
                    other => panic!("{version}: {other:?}"),
                }
                // Code exec'd in a nameless namespace counts for the module
                // around it.
                let error = py.interp.run("import execer", &[]).unwrap_err();
                assert!(
                    error.to_string().contains("'execer' asked for 4 bytes"),
                    "{version}: {error}"
                );
            }
            Ok(())
        })
    }

    #[test]
    fn a_random_instance_seeded_at_top_level_is_reported() -> TestResult {
        on_big_stack(|| {
            for version in VERSIONS {
                let files = [("seeds.py", "import random\nR = random.Random()\n")];
                let (mut py, _dir) = snapshot_mode(version, &files)?;
                // CPython falls back to seeding from the time, silently...
                py.interp.run("import seeds", &[])?;
                // ...but the host saw the refusal.
                let error = check_top_level_entropy(&mut py.interp).unwrap_err();
                let Error::TopLevelEntropy { consumer, .. } = &error else {
                    panic!("{version}: {error:?}");
                };
                assert_eq!(consumer, "seeds");
                let message = error.to_string();
                assert!(
                    message.starts_with("'seeds' asked for entropy at its top level"),
                    "{message}"
                );
                // CPython asks for 256 bytes at a time and gives up at the
                // first refusal.
                assert!(
                    message.contains("(refused: 256 bytes, 1 draw(s))"),
                    "{message}"
                );
                assert!(message.contains("move the call into a request handler"));
                // `random` itself seeded within its budget.
                assert_eq!(py.ledger.get().usage("random").denied_calls, 0);
            }
            Ok(())
        })
    }

    #[test]
    fn the_global_generator_is_blocked_at_top_level_and_works_after() -> TestResult {
        on_big_stack(|| {
            for version in VERSIONS {
                let files = [
                    ("dice.py", "import random\nROLL = random.randint(1, 6)\n"),
                    (
                        "picker.py",
                        "from random import choice\nSEEDED = __import__('random').seed\n",
                    ),
                ];
                let (mut py, _dir) = snapshot_mode(version, &files)?;
                let error = py.interp.run("import dice", &[]).unwrap_err();
                let RunError::Exception { traceback } = error else {
                    panic!("{version}: not an exception: {error}");
                };
                assert!(
                    traceback.contains(
                        "TopLevelRandomError: 'dice' called random.randint() at its top level"
                    ),
                    "{version}: {traceback}"
                );
                assert!(traceback.contains("move the call into a request handler"));
                // Taking a reference is fine; so is seeding.
                py.interp.run("import picker", &[])?;
                check_top_level_entropy(&mut py.interp)?;
                leave_snapshot_mode(&mut py.interp)?;
                py.interp.run(
                    "import picker, random\nprint(picker.choice('ab') in 'ab', \
                     random.randint.__self__ is random._inst)",
                    &[],
                )?;
                assert_eq!(stdout_text(&py), "True True\n", "{version}");
            }
            Ok(())
        })
    }

    #[test]
    fn tempfile_names_at_top_level_are_allowed() -> TestResult {
        on_big_stack(|| {
            let files = [("scratch.py", "import tempfile\nNAME = tempfile.mkdtemp()\n")];
            let (mut py, _dir) = snapshot_mode("314.0.7", &files)?;
            py.interp.run("import scratch", &[])?;
            check_top_level_entropy(&mut py.interp)?;
            // One generator probes for the default directory, one makes names.
            assert_eq!(py.ledger.get().usage("tempfile").bytes, 2 * 624 * 4);
            Ok(())
        })
    }

    #[test]
    fn after_leaving_two_instances_of_one_stream_differ() -> TestResult {
        on_big_stack(|| {
            for version in VERSIONS {
                let probe = "import random, os, uuid, sys\n\
                             print(random.random(), os.urandom(8).hex(), uuid.uuid4(), \
                             '_pyworkerd_entropy' in sys.modules, type(os.urandom).__name__)";
                let mut outputs = Vec::new();
                for _ in 0..2 {
                    let (mut py, _dir) = snapshot_mode(version, &[])?;
                    py.interp.run("import random, tempfile", &[])?;
                    py.interp.run("print(random.getstate()[1][:4])", &[])?;
                    leave_snapshot_mode(&mut py.interp)?;
                    py.interp.run(probe, &[])?;
                    // Top-level entropy is ordinary again.
                    py.interp
                        .run("import secrets\nprint(len(secrets.token_hex(8)))", &[])?;
                    // The hash secret stays pinned: it was drawn at start-up.
                    py.interp.run(
                        "print(hash('pyworkerd'), sys.flags.hash_randomization)",
                        &[],
                    )?;
                    assert!(py.interp.store.data().ctx.entropy().ledger().is_none());
                    outputs.push(stdout_text(&py));
                }
                let lines: Vec<Vec<&str>> = outputs.iter().map(|o| o.lines().collect()).collect();
                // Snapshot mode: the same stream, the same seed.
                assert_eq!(lines[0][0], lines[1][0], "{version}");
                let (a, b): (Vec<&str>, Vec<&str>) = (
                    lines[0][1].split(' ').collect(),
                    lines[1][1].split(' ').collect(),
                );
                assert_ne!(a[0], b[0], "{version}: random.random() repeats");
                assert_ne!(a[1], b[1], "{version}: os.urandom repeats");
                assert_ne!(a[2], b[2], "{version}: uuid4 repeats");
                assert_eq!(
                    &a[3..],
                    ["False", "builtin_function_or_method"],
                    "{version}: the policy is gone"
                );
                assert_eq!(lines[0][2], "16");
                assert_eq!(
                    lines[0][3], lines[1][3],
                    "{version}: the hash secret differs"
                );
                assert!(lines[0][3].ends_with(" 1"), "{version}: {}", lines[0][3]);
            }
            Ok(())
        })
    }
}
