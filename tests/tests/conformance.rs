//! The conformance corpus: every program of `tests/conformance/programs/`
//! runs on pyworkerd and must print, byte for byte, what Pyodide on Node
//! printed (the golden files in `tests/conformance/expected/<version>/`,
//! made by `cargo xtask golden`), and exit with the same status.
//!
//! Data-driven: one loop over the directory per Pyodide version; a version
//! with a `tests/conformance/subset-<version>.txt` runs only the programs it
//! lists. Each program gets a fresh interpreter (one runtime per version),
//! with the corpus mounted read-only at `/corpus`, as the reference runner
//! mounts it. Intended differences, if any, are in
//! `tests/conformance/DIFFERENCES.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use pyodide_entrypoint::{
    InputSource, Interpreter, InterpreterConfig, Mount, OutputSink, Runtime, RuntimeOptions,
    SharedBuffer,
};

/// Where the corpus is mounted inside the guest (as the reference mounts it).
const GUEST_CORPUS: &str = "/corpus";

/// Lines shown around the first difference of a stream.
const CONTEXT_LINES: usize = 3;

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

fn programs_dir() -> PathBuf {
    corpus_root().join("programs")
}

/// Every program's name (without `.py`), sorted.
fn all_programs() -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(programs_dir())? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".py") {
            names.push(stem.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// The programs `version` runs: those of its subset file, else all.
fn programs_for(version: &str) -> Result<Vec<String>> {
    let subset = corpus_root().join(format!("subset-{version}.txt"));
    if !subset.exists() {
        return all_programs();
    }
    let text = std::fs::read_to_string(&subset)?;
    Ok(text
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(|line| line.strip_suffix(".py").unwrap_or(line).to_owned())
        .collect())
}

/// What a run printed and how it ended.
struct Observed {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    status: i32,
}

/// Runs one program on a fresh interpreter.
fn run_program(runtime: &Runtime, name: &str) -> Result<Observed> {
    let stdout = SharedBuffer::new();
    let stderr = SharedBuffer::new();
    let config = InterpreterConfig {
        mounts: vec![Mount {
            host: programs_dir(),
            guest: GUEST_CORPUS.to_owned(),
            writable: false,
        }],
        stdin: InputSource::Empty,
        stdout: OutputSink::Capture(stdout.clone()),
        stderr: OutputSink::Capture(stderr.clone()),
        ..Default::default()
    };
    let mut interpreter = Interpreter::boot(runtime, config).context("boot")?;
    let status = match interpreter.run_file(&format!("{GUEST_CORPUS}/{name}.py"), &[]) {
        Ok(()) => 0,
        Err(error) => error.exit_status().ok_or(error).context("run")?,
    };
    Ok(Observed {
        stdout: stdout.take(),
        stderr: stderr.take(),
        status,
    })
}

/// Compares a run with the golden files; `None` when they match, else a
/// readable report.
fn compare(version: &str, name: &str, observed: &Observed) -> Option<String> {
    let expected_dir = corpus_root().join("expected").join(version);
    let read = |extension: &str| std::fs::read(expected_dir.join(format!("{name}.{extension}")));
    let (Ok(stdout), Ok(stderr), Ok(status)) = (read("stdout"), read("stderr"), read("status"))
    else {
        return Some(format!(
            "{name}: golden files missing in {}; run `cargo xtask golden --version {version} {name}`",
            expected_dir.display()
        ));
    };
    let mut report = String::new();
    let status = String::from_utf8_lossy(&status).trim().to_owned();
    // What a process exits with, as `pyworkerd run` and Node report it.
    let observed_status = observed.status & 0xff;
    if status != observed_status.to_string() {
        let _ = writeln!(
            report,
            "  exit status: expected {status}, got {observed_status}"
        );
    }
    for (stream, expected, actual) in [
        ("stdout", &stdout, &observed.stdout),
        ("stderr", &stderr, &observed.stderr),
    ] {
        if expected != actual {
            report.push_str(&first_difference(stream, expected, actual));
        }
    }
    (!report.is_empty()).then(|| format!("{name}:\n{report}"))
}

/// The first differing line of a stream, with a few lines after it.
fn first_difference(stream: &str, expected: &[u8], actual: &[u8]) -> String {
    let expected: Vec<&[u8]> = expected.split_inclusive(|b| *b == b'\n').collect();
    let actual: Vec<&[u8]> = actual.split_inclusive(|b| *b == b'\n').collect();
    let first = expected
        .iter()
        .zip(&actual)
        .position(|(e, a)| e != a)
        .unwrap_or(expected.len().min(actual.len()));
    let mut text = format!(
        "  {stream} differs at line {} ({} lines expected, {} got):\n",
        first + 1,
        expected.len(),
        actual.len()
    );
    let show = |lines: &[&[u8]]| -> String {
        let end = (first + CONTEXT_LINES).min(lines.len());
        let shown: Vec<String> = lines[first.min(end)..end]
            .iter()
            .map(|line| format!("      {:?}\n", String::from_utf8_lossy(line)))
            .collect();
        if shown.is_empty() {
            "      (end of output)\n".to_owned()
        } else {
            shown.concat()
        }
    };
    text.push_str("    expected:\n");
    text.push_str(&show(&expected));
    text.push_str("    got:\n");
    text.push_str(&show(&actual));
    text
}

/// Golden files of `version` whose program is not run (deleted or renamed),
/// as failures: they would silently stop being checked.
fn stale_golden_files(version: &str, programs: &[String]) -> Result<Vec<(String, String)>> {
    let dir = corpus_root().join("expected").join(version);
    let mut stale = Vec::new();
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
    {
        let path = entry?.path();
        let Some(stem) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
            continue;
        };
        if !programs.contains(&stem) {
            stale.push((
                stem.clone(),
                format!(
                    "{}: golden file without a program; run `cargo xtask golden --version {version}`",
                    path.display()
                ),
            ));
        }
    }
    Ok(stale)
}

/// Runs every program of `version` and fails listing each mismatch.
fn check_version(version: &'static str) -> Result<()> {
    let worker = std::thread::Builder::new()
        .name(format!("conformance-{version}"))
        .stack_size(pyodide_entrypoint::RECOMMENDED_THREAD_STACK)
        .spawn(move || -> Result<Vec<(String, String)>> {
            let runtime = Runtime::new(RuntimeOptions {
                version: version.to_owned(),
                ..Default::default()
            })
            .with_context(|| format!("cannot prepare Pyodide {version}"))?;
            let available = all_programs()?;
            let programs = programs_for(version)?;
            let mut failures = stale_golden_files(version, &programs)?;
            for name in programs {
                let report = if !available.contains(&name) {
                    Some(format!(
                        "{name}: listed in subset-{version}.txt but not in the corpus"
                    ))
                } else {
                    match run_program(&runtime, &name) {
                        Ok(observed) => compare(version, &name, &observed),
                        Err(error) => Some(format!("{name}: pyworkerd failed: {error:#}")),
                    }
                };
                if let Some(report) = report {
                    failures.push((name, report));
                }
            }
            Ok(failures)
        })?;
    let failures = worker
        .join()
        .map_err(|_| anyhow::anyhow!("the conformance thread panicked"))??;
    for (_, report) in &failures {
        eprintln!("{}", report.trim_end());
    }
    let names: Vec<&str> = failures.iter().map(|(name, _)| name.as_str()).collect();
    assert!(
        failures.is_empty(),
        "{} program(s) differ from Pyodide {version} on Node: {}",
        names.len(),
        names.join(", ")
    );
    Ok(())
}

#[test]
fn corpus_matches_pyodide_314_0_7_on_node() -> Result<()> {
    check_version("314.0.7")
}

#[test]
fn subset_matches_pyodide_0_29_3_on_node() -> Result<()> {
    check_version("0.29.3")
}

#[test]
fn a_difference_report_shows_the_first_differing_line() {
    let report = first_difference("stdout", b"same\nold\ntail\n", b"same\nnew\ntail\n");
    assert_eq!(
        report,
        "  stdout differs at line 2 (3 lines expected, 3 got):\n    expected:\n      \"old\\n\"\n      \"tail\\n\"\n    got:\n      \"new\\n\"\n      \"tail\\n\"\n"
    );
    let report = first_difference("stderr", b"a\n", b"a\nextra\n");
    assert!(
        report.starts_with("  stderr differs at line 2 (1 lines expected, 2 got):\n    expected:\n      (end of output)\n"),
        "{report}"
    );
}
