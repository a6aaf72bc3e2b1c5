//! Restoring is equivalent to booting, and restored instances are
//! isolated from each other.
//!
//! Equivalence: every program of the conformance corpus (on 314; on the
//! relocatable 0.29.3, the programs of `subset-0.29.3.txt`) runs on a
//! cold-booted interpreter and on one restored from the baseline snapshot
//! (one runtime, one snapshot loaded once, a fresh interpreter per
//! program and per mode); both must give the same stdout, stderr, exit
//! status and file-system effects (every file under `/tmp` and
//! `/home/pyodide` afterwards, with its size, and for text files a digest
//! of their content).
//! Programs whose output is not reproducible are excluded by construction:
//! a program is compared only when its cold output equals its golden file
//! (the conformance test separately requires that of every program).
//!
//! Isolation: two interpreters restored from one snapshot, one mutating
//! `__main__` globals, files in `/tmp`, `sys.modules` and a stdlib module
//! (monkeypatching `json.dumps`), do not see each other's changes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use pyodide_entrypoint::{
    InputSource, Interpreter, InterpreterConfig, Mount, OutputSink, Runtime, RuntimeOptions,
    SharedBuffer, Snapshot,
};

const GUEST_CORPUS: &str = "/corpus";
const VERSION: &str = "314.0.7";
/// The relocatable release, compared on its conformance subset.
const RELOCATABLE_VERSION: &str = "0.29.3";

/// Lists every file under /tmp and /home/pyodide with its size and, for
/// text, a digest of its content (binary files such as zip archives and
/// `.pyc` files embed the time they were written, which differs between
/// any two runs, so only their size is compared).
const FS_EFFECTS: &str = r#"
import hashlib, os
for top in ("/tmp", "/home/pyodide"):
    for root, dirs, files in sorted(os.walk(top)):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
                try:
                    data.decode("utf-8")
                    digest = hashlib.sha256(data).hexdigest()[:16]
                except UnicodeDecodeError:
                    digest = "binary"
                print(path, len(data), digest)
            except OSError as e:
                print(path, "unreadable", e.errno)
"#;

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

fn programs() -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(corpus_root().join("programs"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".py") {
            names.push(stem.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// The programs of `subset-<version>.txt` (one name a line, `#` comments).
fn subset(version: &str) -> Result<Vec<String>> {
    let list = std::fs::read_to_string(corpus_root().join(format!("subset-{version}.txt")))?;
    Ok(list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

#[derive(Debug, PartialEq, Eq)]
struct Observed {
    stdout: String,
    stderr: String,
    status: i32,
    files: String,
}

fn config(stdout: &SharedBuffer, stderr: &SharedBuffer) -> InterpreterConfig {
    InterpreterConfig {
        mounts: vec![Mount {
            host: corpus_root().join("programs"),
            guest: GUEST_CORPUS.to_owned(),
            writable: false,
        }],
        stdin: InputSource::Empty,
        stdout: OutputSink::Capture(stdout.clone()),
        stderr: OutputSink::Capture(stderr.clone()),
        ..Default::default()
    }
}

fn observe(
    mut interpreter: Interpreter,
    name: &str,
    stdout: SharedBuffer,
    stderr: SharedBuffer,
) -> Result<Observed> {
    let status = match interpreter.run_file(&format!("{GUEST_CORPUS}/{name}.py"), &[]) {
        Ok(()) => 0,
        Err(error) => error.exit_status().ok_or(error).context("run")?,
    };
    let out = String::from_utf8_lossy(&stdout.take()).into_owned();
    let err = String::from_utf8_lossy(&stderr.take()).into_owned();
    // A program that ended the process leaves nothing to list with.
    let files = match interpreter.run(FS_EFFECTS, &[]) {
        Ok(()) => String::from_utf8_lossy(&stdout.take()).into_owned(),
        Err(error) => format!("(not listed: {error})"),
    };
    Ok(Observed {
        stdout: out,
        stderr: err,
        status,
        files,
    })
}

fn golden(version: &str, name: &str) -> Option<(String, String, i32)> {
    let dir = corpus_root().join("expected").join(version);
    let read = |ext: &str| std::fs::read(dir.join(format!("{name}.{ext}"))).ok();
    Some((
        String::from_utf8_lossy(&read("stdout")?).into_owned(),
        String::from_utf8_lossy(&read("stderr")?).into_owned(),
        String::from_utf8_lossy(&read("status")?)
            .trim()
            .parse()
            .ok()?,
    ))
}

fn on_big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    pyodide_entrypoint::spawn_interpreter_thread(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn restored_and_cold_interpreters_run_the_corpus_alike() -> Result<()> {
    on_big_stack(|| compare_restored_and_cold(VERSION, programs()?, 50))
}

#[test]
fn relocatable_restored_and_cold_interpreters_run_the_subset_alike() -> Result<()> {
    on_big_stack(|| {
        let names = subset(RELOCATABLE_VERSION)?;
        let enough = names.len() * 3 / 4;
        compare_restored_and_cold(RELOCATABLE_VERSION, names, enough)
    })
}

/// Runs each of `names` cold and restored from `version`'s baseline and
/// compares them; more than `enough` must be comparable.
fn compare_restored_and_cold(version: &str, names: Vec<String>, enough: usize) -> Result<()> {
    let runtime = Runtime::new(RuntimeOptions {
        version: version.to_owned(),
        ..Default::default()
    })?;
    let snapshot = runtime.baseline_snapshot()?;
    let mut compared = 0;
    let mut differences = Vec::new();
    for name in names {
        let (stdout, stderr) = (SharedBuffer::new(), SharedBuffer::new());
        let cold = Interpreter::boot(&runtime, config(&stdout, &stderr))?;
        let cold = observe(cold, &name, stdout, stderr).with_context(|| format!("{name}: cold"))?;
        let reproducible = golden(version, &name).is_some_and(|(out, err, status)| {
            out == cold.stdout && err == cold.stderr && status == (cold.status & 0xff)
        });
        if !reproducible {
            continue;
        }
        let (stdout, stderr) = (SharedBuffer::new(), SharedBuffer::new());
        let restored = Interpreter::restore(&runtime, &snapshot, config(&stdout, &stderr))?;
        let restored = observe(restored, &name, stdout, stderr)
            .with_context(|| format!("{name}: restored"))?;
        compared += 1;
        if restored != cold {
            differences.push(format!(
                "{name}:\n  cold:     {cold:?}\n  restored: {restored:?}"
            ));
        }
    }
    assert!(
        compared > enough,
        "only {compared} programs were comparable on {version}"
    );
    assert!(
        differences.is_empty(),
        "{} of {compared} programs differ when restored on {version}:\n{}",
        differences.len(),
        differences.join("\n")
    );
    Ok(())
}

/// Runs `code` and returns its stdout (failing on an exception).
fn run(interpreter: &mut Interpreter, out: &SharedBuffer, code: &str) -> Result<String> {
    interpreter
        .run(code, &[])
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(String::from_utf8_lossy(&out.take()).into_owned())
}

#[test]
fn instances_restored_from_one_snapshot_are_isolated() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let runtime = Runtime::new(RuntimeOptions::default())?;
        let snapshot: Snapshot = runtime.baseline_snapshot()?;
        let restore = |out: &SharedBuffer| {
            Interpreter::restore(
                &runtime,
                &snapshot,
                InterpreterConfig {
                    stdout: OutputSink::Capture(out.clone()),
                    ..Default::default()
                },
            )
        };
        let (out_a, out_b) = (SharedBuffer::new(), SharedBuffer::new());
        let mut a = restore(&out_a)?;
        let mut b = restore(&out_b)?;

        let mutate = "import sys, json, types\n\
                      MARK = 'a'\n\
                      open('/tmp/from-a', 'w').write('a')\n\
                      sys.modules['made_by_a'] = types.ModuleType('made_by_a')\n\
                      json.dumps = lambda *args, **kwargs: 'patched'\n\
                      print(json.dumps([1]), MARK)\n";
        assert_eq!(run(&mut a, &out_a, mutate)?, "patched a\n");

        let look = "import sys, json, os\n\
                    print(json.dumps([1]), 'MARK' in globals(), os.path.exists('/tmp/from-a'), \
                    'made_by_a' in sys.modules)\n";
        assert_eq!(run(&mut b, &out_b, look)?, "[1] False False False\n");

        // And the other way round, after b changes things too.
        run(
            &mut b,
            &out_b,
            "import json\nMARK = 'b'\njson.loads = None\nopen('/tmp/from-b', 'w').write('b')",
        )?;
        assert_eq!(
            run(
                &mut a,
                &out_a,
                "import json, os\nprint(MARK, json.loads('[2]'), os.path.exists('/tmp/from-b'), \
                 json.dumps(0))"
            )?,
            "a [2] False patched\n"
        );
        // A third instance restored now sees none of it.
        let out_c = SharedBuffer::new();
        let mut c = restore(&out_c)?;
        assert_eq!(run(&mut c, &out_c, look)?, "[1] False False False\n");
        Ok(())
    })
}
