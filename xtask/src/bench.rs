//! `cargo xtask bench`: compares pyworkerd with Pyodide on Node (the
//! reference runner, `xtask/reference/run-pyodide.mjs`) and native CPython
//! (`python3`), side by side, in one run.
//!
//! Three sections:
//! - start: the wall time of a whole process running `print(1+1)`, and the
//!   child's peak RSS as `wait4` reports it (`ru_maxrss`, the kernel's
//!   high-water mark of the reaped process); pyworkerd twice, restoring its
//!   baseline snapshot (the default) and booting cold (`--no-snapshot`);
//! - density: memory added per interpreter when one process holds many,
//!   each having evaluated `1+1` (`pyodide-entrypoint`'s `density` example:
//!   restored from the baseline snapshot, and booted, side by side);
//! - cpu: the pure-Python suite in `benches/python/`, one file per benchmark.
//!   Each file times its own inner loop with `time.perf_counter` and prints
//!   `<name> <seconds>`, so process start and imports are not counted.
//!
//! The numbers are a report, never an assertion: results go to stdout as
//! tables and to `target/bench/latest.json`. A runtime that is missing
//! (no `node`, no `python3`) is skipped with a note; pyworkerd itself must
//! work, or there is nothing to compare.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use pyodide_packages::dist::{self, KnownVersion};
use serde_json::{Value, json};

pub(crate) const SUMMARY: &str = "compare pyworkerd with Pyodide on Node and native CPython";

/// The program every runtime starts with in the start section, and what it
/// must print.
const START_CODE: &str = "print(1+1)";
const START_EXPECTED: &str = "2";

/// Repetitions per measurement: (start, cpu), normal and with `--quick`.
const RUNS: (usize, usize) = (10, 3);
const QUICK_RUNS: (usize, usize) = (3, 1);

/// Where the suite lives and where the reference runner is, relative to the
/// workspace root.
const SUITE_DIR: &str = "benches/python";
const NODE_RUNNER: &str = "xtask/reference/run-pyodide.mjs";
/// Where the suite is mounted for Pyodide on Node.
const NODE_SUITE_MOUNT: &str = "/bench";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Start,
    Cpu,
    Density,
}

/// Interpreters per density run: (restored, booted), normal and `--quick`.
const DENSITY: (usize, usize) = (100, 10);
const QUICK_DENSITY: (usize, usize) = (20, 3);

#[derive(Debug, PartialEq, Eq)]
struct Options {
    quick: bool,
    only: Option<Section>,
    runs: Option<usize>,
}

impl Options {
    fn runs(&self, section: Section) -> usize {
        let (start, cpu) = if self.quick { QUICK_RUNS } else { RUNS };
        self.runs.unwrap_or(match section {
            Section::Start => start,
            Section::Cpu | Section::Density => cpu,
        })
    }

    fn wants(&self, section: Section) -> bool {
        self.only.is_none_or(|only| only == section)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Help,
    Bench(Options),
}

fn help() -> String {
    format!(
        "Compare pyworkerd with Pyodide on Node and native CPython.\n\
         \n\
         Usage: cargo xtask bench [--quick] [--only start|cpu|density] [--runs N]\n\
         \n\
         Options:\n\
         \x20 --quick            fewer repetitions ({qs} start, {qc} per benchmark)\n\
         \x20 --only SECTION     run one section only (start, cpu or density)\n\
         \x20 --runs N           repetitions for every measurement (default: {rs} start,\n\
         \x20                    {rc} per benchmark)\n\
         \x20 -h, --help         show this help\n\
         \n\
         Sections:\n\
         \x20 start  wall time of a whole process running `{START_CODE}` (median and min)\n\
         \x20        and its peak RSS (ru_maxrss of the child, from wait4); pyworkerd\n\
         \x20        restoring its baseline snapshot and booting cold (--no-snapshot)\n\
         \x20 density  memory added per interpreter in one process holding many\n\
         \x20        ({dr} restored from the baseline snapshot, {db} booted; {qdr} and\n\
         \x20        {qdb} with --quick), each after evaluating `1+1`: RSS and private\n\
         \x20        memory (smaps_rollup) growth divided by the count\n\
         \x20 cpu    the pure-Python suite in {SUITE_DIR}/: each file times its own inner\n\
         \x20        loop and prints `<name> <seconds>`; the table shows the median\n\
         \x20        seconds, each runtime's ratio to native CPython, and the geometric\n\
         \x20        mean of the ratios\n\
         \n\
         Runtimes: pyworkerd (built here with `cargo build --release -p pyworkerd`,\n\
         one warm-up run first so the compiled module is cached), Pyodide on Node\n\
         through {NODE_RUNNER}, and `python3` from PATH. A missing\n\
         `node` or `python3` is skipped with a note.\n\
         \n\
         Results are printed as tables and written to target/bench/latest.json.\n\
         Nothing is asserted: this is a report.\n",
        qs = QUICK_RUNS.0,
        qc = QUICK_RUNS.1,
        rs = RUNS.0,
        rc = RUNS.1,
        dr = DENSITY.0,
        db = DENSITY.1,
        qdr = QUICK_DENSITY.0,
        qdb = QUICK_DENSITY.1,
    )
}

fn parse(args: &[String]) -> Result<Parsed> {
    let mut options = Options {
        quick: false,
        only: None,
        runs: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String> {
            match &inline {
                Some(value) => Ok(value.clone()),
                None => args
                    .next()
                    .cloned()
                    .with_context(|| format!("{name} needs a value")),
            }
        };
        match flag {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--quick" if inline.is_none() => options.quick = true,
            "--only" => {
                options.only = Some(match value("--only")?.as_str() {
                    "start" => Section::Start,
                    "cpu" => Section::Cpu,
                    "density" => Section::Density,
                    other => bail!("--only takes start, cpu or density, not \"{other}\""),
                })
            }
            "--runs" => {
                let text = value("--runs")?;
                match text.parse::<usize>() {
                    Ok(runs) if runs > 0 => options.runs = Some(runs),
                    _ => bail!("--runs takes a positive whole number, not \"{text}\""),
                }
            }
            _ => bail!("unexpected argument \"{arg}\" for bench; see `cargo xtask bench --help`"),
        }
    }
    Ok(Parsed::Bench(options))
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let options = match parse(args)? {
        Parsed::Help => return crate::print_out(&help()),
        Parsed::Bench(options) => options,
    };
    let root = workspace_root();
    let version = dist::default_version();
    let runtimes = prepare(&root, version)?;

    let mut out = header(version, &runtimes);
    for runtime in &runtimes {
        if let Err(note) = &runtime.invoker {
            writeln!(out, "note: {} skipped: {note}", runtime.name)?;
        }
    }
    crate::print_out(&out)?;

    let mut report = json!({
        "generated_unix_seconds": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs()),
        "machine": {
            "cpu": cpu_model(),
            "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "load_average_1min": load_average(),
        },
        "pyodide": { "version": version.version, "python": version.python.to_string() },
        "runtimes": runtimes.iter().map(|runtime| (runtime.name.to_owned(), json!({
            "description": runtime.description,
            "skipped": runtime.invoker.as_ref().err(),
        }))).collect::<serde_json::Map<_, _>>(),
    });

    if options.wants(Section::Start) {
        let runs = options.runs(Section::Start);
        let results = start_section(&runtimes, &root, runs);
        crate::print_out(&render_start(&runtimes, &results, runs))?;
        report["start"] = start_json(&runtimes, &results, runs);
    }
    if options.wants(Section::Density) {
        let counts = if options.quick {
            QUICK_DENSITY
        } else {
            DENSITY
        };
        let (text, json) = density_section(&root, counts)?;
        crate::print_out(&text)?;
        report["density"] = json;
    }
    if options.wants(Section::Cpu) {
        let runs = options.runs(Section::Cpu);
        let benchmarks = suite_files(&root.join(SUITE_DIR))?;
        // Booting cold changes start-up only: the suite times its own loops.
        let runtimes: Vec<Runtime> = runtimes
            .into_iter()
            .filter(|runtime| runtime.name != PYWORKERD_COLD)
            .collect();
        let results = cpu_section(&runtimes, &root, &benchmarks, runs);
        let table = CpuTable::new(&runtimes, &benchmarks, &results);
        crate::print_out(&table.render(runs))?;
        report["cpu"] = table.to_json(runs);
    }

    let path = write_report(&report)?;
    crate::print_out(&format!("\nwrote {}\n", path.display()))
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// How one runtime is invoked.
#[derive(Debug)]
enum Invoker {
    Pyworkerd {
        exe: PathBuf,
        version: &'static str,
        /// Whether `run` restores its baseline snapshot (else
        /// `--no-snapshot`).
        snapshot: bool,
    },
    Node {
        node: PathBuf,
        runner: PathBuf,
        dist: PathBuf,
    },
    Native {
        python: PathBuf,
    },
}

/// A runtime of the comparison; `invoker` is the reason it is skipped when it
/// cannot run.
#[derive(Debug)]
struct Runtime {
    name: &'static str,
    description: String,
    invoker: Result<Invoker, String>,
}

const PYWORKERD: &str = "pyworkerd";
const PYWORKERD_COLD: &str = "pyworkerd-cold";
const NODE: &str = "pyodide+node";
const NATIVE: &str = "python3";

impl Runtime {
    fn is_native(&self) -> bool {
        self.name == NATIVE
    }
}

impl Invoker {
    /// A command that runs `code` (like `python -c`).
    fn code(&self, root: &Path, code: &str) -> Command {
        let mut command = self.base(root);
        command.arg("-c").arg(code);
        command
    }

    /// A command that runs the suite file `file` (a name in [`SUITE_DIR`]).
    fn script(&self, root: &Path, file: &str) -> Command {
        let mut command = self.base(root);
        let suite = root.join(SUITE_DIR);
        match self {
            Invoker::Node { .. } => {
                command
                    .arg("--mount")
                    .arg(format!("{}:{NODE_SUITE_MOUNT}", suite.display()))
                    .arg(format!("{NODE_SUITE_MOUNT}/{file}"));
            }
            Invoker::Pyworkerd { .. } | Invoker::Native { .. } => {
                command.arg(suite.join(file));
            }
        }
        command
    }

    fn base(&self, root: &Path) -> Command {
        let mut command = match self {
            Invoker::Pyworkerd {
                exe,
                version,
                snapshot,
            } => {
                let mut command = Command::new(exe);
                command.args(["run", "--pyodide-version", version]);
                if !snapshot {
                    command.arg("--no-snapshot");
                }
                command
            }
            Invoker::Node { node, runner, dist } => {
                let mut command = Command::new(node);
                command.arg(runner).arg("--dist").arg(dist);
                command
            }
            Invoker::Native { python } => Command::new(python),
        };
        command.current_dir(root);
        command
    }
}

/// Builds pyworkerd, finds node and python3 and the Pyodide distribution,
/// and warms every runtime up once (pyworkerd's first run compiles and caches
/// the module).
fn prepare(root: &Path, version: &'static KnownVersion) -> Result<Vec<Runtime>> {
    let exe = build_pyworkerd(root)?;
    let pyworkerd = Runtime {
        name: PYWORKERD,
        description: format!(
            "{} run (Pyodide {}, Python {}, wasmtime; baseline snapshot)",
            relative(root, &exe),
            version.version,
            version.python
        ),
        invoker: Ok(Invoker::Pyworkerd {
            exe: exe.clone(),
            version: version.version,
            snapshot: true,
        }),
    };
    let pyworkerd_cold = Runtime {
        name: PYWORKERD_COLD,
        description: format!(
            "{} run --no-snapshot (CPython initialised from scratch)",
            relative(root, &exe),
        ),
        invoker: Ok(Invoker::Pyworkerd {
            exe,
            version: version.version,
            snapshot: false,
        }),
    };

    let node = match (probe_node(), dist::ensure_from_env(version)) {
        (Err(note), _) => Runtime {
            name: NODE,
            description: "Pyodide on Node".to_owned(),
            invoker: Err(note),
        },
        (Ok(_), Err(error)) => Runtime {
            name: NODE,
            description: "Pyodide on Node".to_owned(),
            invoker: Err(format!("cannot get Pyodide {}: {error}", version.version)),
        },
        (Ok((node, node_version)), Ok(distribution)) => Runtime {
            name: NODE,
            description: format!(
                "node {node_version} {NODE_RUNNER} (Pyodide {}, Python {})",
                version.version, version.python
            ),
            invoker: Ok(Invoker::Node {
                node,
                runner: root.join(NODE_RUNNER),
                dist: distribution.dir().to_path_buf(),
            }),
        },
    };

    let native = match probe_python() {
        Ok((python, python_version)) => Runtime {
            name: NATIVE,
            description: format!("native CPython {python_version} ({})", python.display()),
            invoker: Ok(Invoker::Native { python }),
        },
        Err(note) => Runtime {
            name: NATIVE,
            description: "native CPython".to_owned(),
            invoker: Err(note),
        },
    };

    let mut runtimes = vec![pyworkerd, pyworkerd_cold, node, native];
    for runtime in &mut runtimes {
        let Ok(invoker) = &runtime.invoker else {
            continue;
        };
        eprintln!(
            "bench: warming up {}{}",
            runtime.name,
            if runtime.name == PYWORKERD {
                " (the first run after a build compiles Pyodide and makes the baseline snapshot)"
            } else {
                ""
            }
        );
        let warm_up = measure(invoker.code(root, START_CODE))
            .and_then(|sample| sample.check_prints(START_EXPECTED).map(|()| sample));
        if let Err(error) = warm_up {
            if runtime.name == PYWORKERD || runtime.name == PYWORKERD_COLD {
                return Err(error.context("pyworkerd does not run `print(1+1)`"));
            }
            runtime.invoker = Err(format!("its warm-up run failed: {error:#}"));
        }
    }
    Ok(runtimes)
}

/// Runs `cargo build --release -p pyworkerd` and returns the executable.
fn build_pyworkerd(root: &Path) -> Result<PathBuf> {
    eprintln!("bench: cargo build --release -p pyworkerd");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "pyworkerd",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run cargo to build pyworkerd")?;
    if !output.status.success() {
        bail!("building pyworkerd failed ({})", output.status);
    }
    executable_from_messages(&String::from_utf8_lossy(&output.stdout), "pyworkerd")
        .context("cargo built pyworkerd but did not name its executable")
}

/// The `executable` of the binary target `name` in cargo's JSON messages.
fn executable_from_messages(messages: &str, name: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == name
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
}

fn probe_node() -> Result<(PathBuf, String), String> {
    let output = Command::new("node").arg("--version").output();
    match output {
        Ok(output) if output.status.success() => Ok((
            PathBuf::from("node"),
            String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        )),
        Ok(output) => Err(format!("`node --version` failed ({})", output.status)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Err("node is not on PATH".to_owned())
        }
        Err(error) => Err(format!("cannot run node: {error}")),
    }
}

/// Finds `python3` and the interpreter it really is: version managers put
/// shell-script shims on PATH, whose start-up is not CPython's.
fn probe_python() -> Result<(PathBuf, String), String> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import sys, platform; print(sys.executable); print(platform.python_version())",
        ])
        .output();
    match output {
        Ok(output) if output.status.success() => {
            let text = String::from_utf8_lossy(&output.stdout);
            let mut lines = text.lines();
            match (lines.next(), lines.next()) {
                (Some(executable), Some(version)) if !executable.is_empty() => {
                    Ok((PathBuf::from(executable), version.to_owned()))
                }
                _ => Err(format!("python3 did not name its executable: {text:?}")),
            }
        }
        Ok(output) => Err(format!("`python3 -c ...` failed ({})", output.status)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Err("python3 is not on PATH".to_owned())
        }
        Err(error) => Err(format!("cannot run python3: {error}")),
    }
}

fn header(version: &KnownVersion, runtimes: &[Runtime]) -> String {
    let mut text = format!(
        "pyworkerd benchmarks: {} ({} cores{}), {version}\n",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average().map_or(String::new(), |load| format!(", load average {load}"))
    );
    for runtime in runtimes {
        let _ = writeln!(text, "  {:<16}{}", runtime.name, runtime.description);
    }
    text
}

/// The 1-minute load average, when the system reports one: the numbers are
/// only as quiet as the machine was.
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next().map(str::to_owned)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// One finished child process.
#[derive(Debug)]
struct Sample {
    wall: Duration,
    max_rss_kib: u64,
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

impl Sample {
    /// Fails unless the process succeeded and printed exactly `expected`.
    fn check_prints(&self, expected: &str) -> Result<()> {
        self.check_status()?;
        if self.stdout.trim_end() != expected {
            bail!(
                "printed {:?} instead of {expected:?}{}",
                self.stdout,
                stderr_tail(&self.stderr)
            );
        }
        Ok(())
    }

    fn check_status(&self) -> Result<()> {
        if !self.status.success() {
            bail!("exited with {}{}", self.status, stderr_tail(&self.stderr));
        }
        Ok(())
    }

    /// The seconds a suite file reported on its `<name> <seconds>` line.
    fn reported_seconds(&self, name: &str) -> Result<f64> {
        self.check_status()?;
        reported_seconds(&self.stdout, name).with_context(|| {
            format!(
                "no `{name} <seconds>` line in its output {:?}{}",
                self.stdout,
                stderr_tail(&self.stderr)
            )
        })
    }
}

fn reported_seconds(stdout: &str, name: &str) -> Option<f64> {
    stdout.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some(word), Some(seconds), None) if word == name => seconds
                .parse::<f64>()
                .ok()
                .filter(|seconds| seconds.is_finite() && *seconds >= 0.0),
            _ => None,
        }
    })
}

/// The last lines of a child's stderr, for error messages.
fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(6)..];
    format!("; stderr ends:\n    {}", tail.join("\n    "))
}

fn measure(command: Command) -> Result<Sample> {
    let program = command.get_program().to_string_lossy().into_owned();
    child::run(command).with_context(|| format!("cannot run \"{program}\""))
}

/// The start section's measurements of one runtime, or why they stopped.
#[derive(Debug)]
struct StartResult {
    walls: Vec<Duration>,
    rss_kib: Vec<u64>,
    failure: Option<String>,
}

fn start_section(runtimes: &[Runtime], root: &Path, runs: usize) -> Vec<StartResult> {
    let mut results: Vec<StartResult> = runtimes
        .iter()
        .map(|_| StartResult {
            walls: Vec::new(),
            rss_kib: Vec::new(),
            failure: None,
        })
        .collect();
    // Round-robin, so a slow drift of the machine affects every runtime alike.
    for run in 1..=runs {
        eprintln!("bench: start, run {run}/{runs}");
        for (runtime, result) in runtimes.iter().zip(&mut results) {
            let Ok(invoker) = &runtime.invoker else {
                continue;
            };
            if result.failure.is_some() {
                continue;
            }
            let sample = measure(invoker.code(root, START_CODE));
            match sample.and_then(|sample| sample.check_prints(START_EXPECTED).map(|()| sample)) {
                Ok(sample) => {
                    result.walls.push(sample.wall);
                    result.rss_kib.push(sample.max_rss_kib);
                }
                Err(error) => result.failure = Some(format!("{error:#}")),
            }
        }
    }
    results
}

fn render_start(runtimes: &[Runtime], results: &[StartResult], runs: usize) -> String {
    let mut rows = vec![vec![
        "runtime".to_owned(),
        "median".to_owned(),
        "min".to_owned(),
        "peak RSS".to_owned(),
    ]];
    let mut notes = Vec::new();
    for (runtime, result) in runtimes.iter().zip(results) {
        if runtime.invoker.is_err() {
            rows.push(vec![runtime.name.to_owned(), "skipped".to_owned()]);
            continue;
        }
        if let Some(failure) = &result.failure {
            notes.push(format!("{}: {failure}", runtime.name));
        }
        match (median_duration(&result.walls), result.walls.iter().min()) {
            (Some(median), Some(min)) => rows.push(vec![
                runtime.name.to_owned(),
                millis(median),
                millis(*min),
                mib(median_u64(&result.rss_kib).unwrap_or(0)),
            ]),
            _ => rows.push(vec![runtime.name.to_owned(), "failed".to_owned()]),
        }
    }
    let mut text = format!(
        "\nStart: `{START_CODE}` as a whole process, {runs} run{} each (wall time; peak RSS\n\
         is the child's ru_maxrss from wait4, median over the runs)\n",
        if runs == 1 { "" } else { "s" }
    );
    text.push_str(&table(&rows));
    for note in notes {
        let _ = writeln!(text, "note: {note}");
    }
    text
}

fn start_json(runtimes: &[Runtime], results: &[StartResult], runs: usize) -> Value {
    let per_runtime: serde_json::Map<String, Value> = runtimes
        .iter()
        .zip(results)
        .filter(|(runtime, _)| runtime.invoker.is_ok())
        .map(|(runtime, result)| {
            let walls: Vec<f64> = result.walls.iter().map(|d| d.as_secs_f64() * 1e3).collect();
            (
                runtime.name.to_owned(),
                json!({
                    "wall_ms": walls,
                    "median_ms": median_duration(&result.walls).map(|d| d.as_secs_f64() * 1e3),
                    "min_ms": result.walls.iter().min().map(|d| d.as_secs_f64() * 1e3),
                    "peak_rss_kib": result.rss_kib,
                    "median_peak_rss_kib": median_u64(&result.rss_kib),
                    "failure": result.failure,
                }),
            )
        })
        .collect();
    json!({ "code": START_CODE, "runs": runs, "runtimes": per_runtime })
}

/// Builds and runs the `density` example of `pyodide-entrypoint` for
/// restored and booted interpreters; returns the rendered table and the
/// JSON.
fn density_section(root: &Path, (restored, booted): (usize, usize)) -> Result<(String, Value)> {
    eprintln!("bench: cargo build --release -p pyodide-entrypoint --example density");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "pyodide-entrypoint",
            "--example",
            "density",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run cargo to build the density example")?;
    if !output.status.success() {
        bail!("building the density example failed ({})", output.status);
    }
    let exe = executable_from_messages(&String::from_utf8_lossy(&output.stdout), "density")
        .context("cargo built the density example but did not name its executable")?;
    let mut rows = vec![vec![
        "interpreters".to_owned(),
        "count".to_owned(),
        "time each".to_owned(),
        "RSS each".to_owned(),
        "private each".to_owned(),
    ]];
    let mut results = Vec::new();
    for (mode, count) in [("restore", restored), ("boot", booted)] {
        eprintln!("bench: density, {count} interpreters ({mode})");
        let mut command = Command::new(&exe);
        command.arg(mode).arg(count.to_string()).current_dir(root);
        let sample = measure(command)?;
        sample.check_status()?;
        let line: Value = serde_json::from_str(sample.stdout.trim())
            .with_context(|| format!("density printed {:?}", sample.stdout))?;
        let per = |after: &str, before: &str| -> f64 {
            let grown = line[after].as_f64().unwrap_or(0.0) - line[before].as_f64().unwrap_or(0.0);
            grown / count as f64
        };
        let rss = per("rss_after_kib", "rss_before_kib");
        let private = per("private_after_kib", "private_before_kib");
        let seconds = line["seconds"].as_f64().unwrap_or(0.0) / count as f64;
        rows.push(vec![
            if mode == "restore" {
                "restored from the baseline snapshot".to_owned()
            } else {
                "booted (--no-snapshot)".to_owned()
            },
            count.to_string(),
            format!("{:.2} ms", seconds * 1e3),
            format!("{:.2} MiB", rss / 1024.0),
            format!("{:.2} MiB", private / 1024.0),
        ]);
        results.push(json!({
            "mode": mode,
            "instances": count,
            "seconds_each": seconds,
            "rss_kib_each": rss,
            "private_kib_each": private,
            "raw": line,
        }));
    }
    let mut text = "\nDensity: interpreters held by one process, each after `1+1` (growth of the\n\
                    process's RSS and private memory, /proc/self/smaps_rollup, per interpreter)\n"
        .to_owned();
    text.push_str(&table(&rows));
    Ok((text, json!({ "runs": results })))
}

/// The suite's files (`*.py` in `dir`, sorted), each a benchmark named by its
/// file stem.
fn suite_files(dir: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("cannot list \"{}\"", dir.display()))?
    {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".py") && !name.starts_with(['_', '.']) {
            files.push(name.into_owned());
        }
    }
    if files.is_empty() {
        bail!("no benchmarks in \"{}\"", dir.display());
    }
    files.sort();
    Ok(files)
}

fn bench_name(file: &str) -> &str {
    file.strip_suffix(".py").unwrap_or(file)
}

/// `results[benchmark][runtime]`: the seconds each run reported, or why the
/// benchmark failed on that runtime.
type CpuResults = Vec<Vec<Result<Vec<f64>, String>>>;

fn cpu_section(runtimes: &[Runtime], root: &Path, files: &[String], runs: usize) -> CpuResults {
    let mut results = Vec::new();
    for file in files {
        let name = bench_name(file);
        let mut row: Vec<Result<Vec<f64>, String>> = runtimes
            .iter()
            .map(|runtime| match &runtime.invoker {
                Ok(_) => Ok(Vec::new()),
                Err(_) => Err("skipped".to_owned()),
            })
            .collect();
        for run in 1..=runs {
            eprintln!("bench: cpu {name}, run {run}/{runs}");
            for (runtime, cell) in runtimes.iter().zip(&mut row) {
                let (Ok(invoker), Ok(seconds)) = (&runtime.invoker, &mut *cell) else {
                    continue;
                };
                match measure(invoker.script(root, file))
                    .and_then(|sample| sample.reported_seconds(name))
                {
                    Ok(reported) => seconds.push(reported),
                    Err(error) => *cell = Err(format!("{error:#}")),
                }
            }
        }
        results.push(row);
    }
    results
}

/// The cpu section, reduced to medians and ratios.
struct CpuTable<'a> {
    runtimes: &'a [Runtime],
    files: &'a [String],
    results: &'a CpuResults,
    native: Option<usize>,
}

impl<'a> CpuTable<'a> {
    fn new(runtimes: &'a [Runtime], files: &'a [String], results: &'a CpuResults) -> Self {
        let native = runtimes
            .iter()
            .position(|runtime| runtime.is_native() && runtime.invoker.is_ok());
        CpuTable {
            runtimes,
            files,
            results,
            native,
        }
    }

    fn median(&self, bench: usize, runtime: usize) -> Option<f64> {
        self.results[bench][runtime]
            .as_ref()
            .ok()
            .and_then(|seconds| median_f64(seconds))
    }

    /// A runtime's time over native CPython's on one benchmark.
    fn ratio(&self, bench: usize, runtime: usize) -> Option<f64> {
        let native = self.median(bench, self.native?)?;
        let seconds = self.median(bench, runtime)?;
        (native > 0.0).then(|| seconds / native)
    }

    /// The geometric mean of a runtime's ratios, and over how many benchmarks.
    fn geometric_mean(&self, runtime: usize) -> Option<(f64, usize)> {
        let ratios: Vec<f64> = (0..self.files.len())
            .filter_map(|bench| self.ratio(bench, runtime))
            .collect();
        geometric_mean(&ratios).map(|mean| (mean, ratios.len()))
    }

    /// Runtimes shown as columns: every one that is not skipped.
    fn columns(&self) -> Vec<usize> {
        (0..self.runtimes.len())
            .filter(|&runtime| self.runtimes[runtime].invoker.is_ok())
            .collect()
    }

    fn render(&self, runs: usize) -> String {
        let columns = self.columns();
        let with_ratio = |runtime: usize| self.native.is_some_and(|native| native != runtime);
        let mut heading = vec!["benchmark".to_owned()];
        for &runtime in &columns {
            heading.push(format!("{} s", self.runtimes[runtime].name));
            if with_ratio(runtime) {
                heading.push("x native".to_owned());
            }
        }
        let mut rows = vec![heading];
        let mut notes = Vec::new();
        for (bench, file) in self.files.iter().enumerate() {
            let name = bench_name(file);
            let mut row = vec![name.to_owned()];
            for &runtime in &columns {
                match &self.results[bench][runtime] {
                    Ok(_) => row.push(self.median(bench, runtime).map_or("-".to_owned(), seconds)),
                    Err(error) => {
                        row.push("failed".to_owned());
                        notes.push(format!(
                            "{name} on {}: {error}",
                            self.runtimes[runtime].name
                        ));
                    }
                }
                if with_ratio(runtime) {
                    row.push(self.ratio(bench, runtime).map_or("-".to_owned(), ratio));
                }
            }
            rows.push(row);
        }
        let mut mean_row = vec!["geometric mean".to_owned()];
        for &runtime in &columns {
            mean_row.push(String::new());
            if with_ratio(runtime) {
                mean_row.push(match self.geometric_mean(runtime) {
                    Some((mean, count)) if count == self.files.len() => ratio(mean),
                    Some((mean, count)) => format!("{} ({count})", ratio(mean)),
                    None => "-".to_owned(),
                });
            }
        }
        if self.native.is_some() {
            rows.push(mean_row);
        }

        let mut text = format!(
            "\nCPU: {SUITE_DIR}/, {runs} run{} each, median of each file's self-timed inner loop\n\
             (seconds; start-up and imports excluded; x native = time / native CPython's)\n",
            if runs == 1 { "" } else { "s" }
        );
        text.push_str(&table(&rows));
        if self.native.is_none() {
            text.push_str("note: no native CPython, so no ratios\n");
        }
        for note in notes {
            let _ = writeln!(text, "note: {note}");
        }
        text
    }

    fn to_json(&self, runs: usize) -> Value {
        let benchmarks: serde_json::Map<String, Value> = self
            .files
            .iter()
            .enumerate()
            .map(|(bench, file)| {
                let per_runtime: serde_json::Map<String, Value> = self
                    .columns()
                    .into_iter()
                    .map(|runtime| {
                        let value = match &self.results[bench][runtime] {
                            Ok(seconds) => json!({
                                "seconds": seconds,
                                "median_seconds": self.median(bench, runtime),
                                "ratio_to_native": self.ratio(bench, runtime),
                            }),
                            Err(error) => json!({ "failure": error }),
                        };
                        (self.runtimes[runtime].name.to_owned(), value)
                    })
                    .collect();
                (bench_name(file).to_owned(), Value::Object(per_runtime))
            })
            .collect();
        let means: serde_json::Map<String, Value> = self
            .columns()
            .into_iter()
            .filter(|&runtime| Some(runtime) != self.native)
            .map(|runtime| {
                (
                    self.runtimes[runtime].name.to_owned(),
                    json!(self.geometric_mean(runtime).map(|(mean, _)| mean)),
                )
            })
            .collect();
        json!({
            "suite": SUITE_DIR,
            "runs": runs,
            "benchmarks": benchmarks,
            "geometric_mean_ratio_to_native": means,
        })
    }
}

/// Writes the report to `target/bench/latest.json` (whole or not at all).
fn write_report(report: &Value) -> Result<PathBuf> {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::env::current_dir()?.join(dir),
        None => workspace_root().join("target"),
    };
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create \"{}\"", dir.display()))?;
    let path = dir.join("latest.json");
    let temporary = dir.join(format!(".latest.json.{}.tmp", std::process::id()));
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    std::fs::write(&temporary, text)
        .with_context(|| format!("cannot write \"{}\"", temporary.display()))?;
    std::fs::rename(&temporary, &path)
        .with_context(|| format!("cannot rename into \"{}\"", path.display()))?;
    Ok(path)
}

/// Lays out rows as columns: the first left-aligned, the rest right-aligned.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for row in rows {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            if column == 0 {
                let _ = write!(line, "{cell:<width$}", width = widths[0]);
            } else {
                let _ = write!(line, "  {cell:>width$}", width = widths[column]);
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn median_f64(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    })
}

fn median_duration(values: &[Duration]) -> Option<Duration> {
    let seconds: Vec<f64> = values.iter().map(Duration::as_secs_f64).collect();
    median_f64(&seconds).map(Duration::from_secs_f64)
}

fn median_u64(values: &[u64]) -> Option<u64> {
    let as_float: Vec<f64> = values.iter().map(|&value| value as f64).collect();
    median_f64(&as_float).map(|median| median.round() as u64)
}

fn geometric_mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() || !values.iter().all(|value| value.is_finite() && *value > 0.0) {
        return None;
    }
    let mean_log = values.iter().map(|value| value.ln()).sum::<f64>() / values.len() as f64;
    Some(mean_log.exp())
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

fn seconds(value: f64) -> String {
    format!("{value:.3}")
}

fn ratio(value: f64) -> String {
    format!("{value:.2}x")
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Running a child and reaping it with `wait4`, which also returns the
/// child's resource usage: std's `Child::wait` drops it.
mod child {
    #![allow(unsafe_code)] // wait4 through libc: the only way to get one child's peak RSS

    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, ExitStatus, Stdio};
    use std::time::Instant;

    use super::Sample;

    /// Runs `command` with stdin closed and stdout/stderr captured, and
    /// returns its wall time (spawn to reap), peak RSS, status and output.
    pub(super) fn run(mut command: Command) -> std::io::Result<Sample> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = command.spawn()?;
        // Drain both pipes while the child runs, so it never blocks on a full one.
        let stdout = child
            .stdout
            .take()
            .map(|pipe| std::thread::spawn(|| drain(pipe)));
        let stderr = child
            .stderr
            .take()
            .map(|pipe| std::thread::spawn(|| drain(pipe)));
        let pid = libc::pid_t::try_from(child.id()).map_err(std::io::Error::other)?;

        let mut status: libc::c_int = 0;
        // SAFETY: `rusage` is a plain C struct of integers and timevals, for
        // which all-zero bytes are a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: `pid` is our own child, spawned above and not reaped yet
            // (its `Child` is never waited on, and dropping a `Child` does not
            // wait), so the pid cannot have been reused; `status` and `usage`
            // are live, writable locals of the types wait4 writes.
            let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            if reaped == pid {
                break;
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
        let wall = start.elapsed();
        drop(child);

        let join = |reader: Option<std::thread::JoinHandle<Vec<u8>>>| {
            reader
                .and_then(|reader| reader.join().ok())
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        };
        // ru_maxrss is in KiB on Linux and in bytes on macOS.
        let max_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0);
        let max_rss_kib = if cfg!(target_os = "macos") {
            max_rss / 1024
        } else {
            max_rss
        };
        Ok(Sample {
            wall,
            max_rss_kib,
            status: ExitStatus::from_raw(status),
            stdout: join(stdout),
            stderr: join(stderr),
        })
    }

    fn drain(mut pipe: impl Read) -> Vec<u8> {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(list: &[&str]) -> Result<Parsed> {
        parse(&list.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>())
    }

    fn options(list: &[&str]) -> Options {
        match parse_args(list).unwrap() {
            Parsed::Bench(options) => options,
            Parsed::Help => panic!("{list:?} parsed as help"),
        }
    }

    #[test]
    fn runs_default_per_section_and_follow_quick_and_runs() {
        let plain = options(&[]);
        assert_eq!((plain.runs(Section::Start), plain.runs(Section::Cpu)), RUNS);
        assert!(plain.wants(Section::Start) && plain.wants(Section::Cpu));
        let quick = options(&["--quick"]);
        assert_eq!(
            (quick.runs(Section::Start), quick.runs(Section::Cpu)),
            QUICK_RUNS
        );
        let fixed = options(&["--quick", "--runs", "7", "--only=cpu"]);
        assert_eq!(
            (fixed.runs(Section::Start), fixed.runs(Section::Cpu)),
            (7, 7)
        );
        assert!(fixed.wants(Section::Cpu) && !fixed.wants(Section::Start));
        assert_eq!(options(&["--only", "start"]).only, Some(Section::Start));
        assert_eq!(options(&["--only", "density"]).only, Some(Section::Density));
        assert_eq!(parse_args(&["--runs", "2", "-h"]).unwrap(), Parsed::Help);
    }

    #[test]
    fn bad_arguments_are_refused_with_a_reason() {
        let message = |list: &[&str]| parse_args(list).unwrap_err().to_string();
        assert_eq!(
            message(&["--only", "gpu"]),
            "--only takes start, cpu or density, not \"gpu\""
        );
        assert_eq!(message(&["--only"]), "--only needs a value");
        assert_eq!(
            message(&["--runs", "0"]),
            "--runs takes a positive whole number, not \"0\""
        );
        assert_eq!(
            message(&["--runs=many"]),
            "--runs takes a positive whole number, not \"many\""
        );
        assert!(message(&["--quick=yes"]).starts_with("unexpected argument \"--quick=yes\""));
        assert!(message(&["fast"]).starts_with("unexpected argument \"fast\""));
    }

    #[test]
    fn help_names_every_option_and_the_report_file() {
        let text = help();
        for needle in [
            "--quick",
            "--only start|cpu",
            "--runs N",
            "target/bench/latest.json",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }

    #[test]
    fn reported_seconds_come_from_the_named_line_only() {
        let out = "warming\nnbody 0.512345\nnbody_other 9\n";
        assert_eq!(reported_seconds(out, "nbody"), Some(0.512345));
        assert_eq!(reported_seconds(out, "fannkuch"), None);
        assert_eq!(reported_seconds("nbody fast\n", "nbody"), None);
        assert_eq!(reported_seconds("nbody 1 2\n", "nbody"), None);
        assert_eq!(reported_seconds("nbody -1\n", "nbody"), None);
    }

    #[test]
    fn medians_and_geometric_means() {
        assert_eq!(median_f64(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median_f64(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median_f64(&[]), None);
        assert_eq!(median_u64(&[10, 30, 20, 40]), Some(25));
        let mean = geometric_mean(&[2.0, 8.0]).unwrap();
        assert!((mean - 4.0).abs() < 1e-12, "{mean}");
        assert_eq!(geometric_mean(&[2.0, 0.0]), None);
        assert_eq!(geometric_mean(&[]), None);
    }

    #[test]
    fn table_aligns_columns() {
        let rows = vec![
            vec!["name".to_owned(), "s".to_owned()],
            vec!["nbody".to_owned(), "12.5".to_owned()],
        ];
        assert_eq!(table(&rows), "name      s\nnbody  12.5\n");
    }

    #[test]
    fn executable_is_found_in_cargo_messages() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"pyodide-vfs"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"pyworkerd"},"executable":"/t/release/pyworkerd"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(
            executable_from_messages(messages, "pyworkerd"),
            Some(PathBuf::from("/t/release/pyworkerd"))
        );
        assert_eq!(executable_from_messages(messages, "pyodide-vfs"), None);
    }

    #[test]
    fn a_child_is_measured_with_its_output_status_and_own_peak_rss() {
        let small = child::run(shell(": small; echo hi; echo oops >&2")).unwrap();
        assert!(small.status.success());
        assert_eq!(
            (small.stdout.as_str(), small.stderr.as_str()),
            ("hi\n", "oops\n")
        );
        assert!(small.max_rss_kib > 0);

        // The shell holds a 64 MiB string, so its high-water mark passes 64 MiB.
        let big = child::run(shell(
            "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo ${#x}; exit 3",
        ))
        .unwrap();
        assert_eq!(big.status.code(), Some(3));
        assert_eq!(big.stdout, "67108864\n");
        assert!(big.max_rss_kib > 64 * 1024, "{}", big.max_rss_kib);
        assert!(small.max_rss_kib < 64 * 1024, "{}", small.max_rss_kib);
        assert!(big.check_prints("67108864").is_err());
    }

    #[test]
    fn cpu_table_shows_ratios_failures_and_skipped_runtimes() {
        let runtimes = [
            Runtime {
                name: PYWORKERD,
                description: String::new(),
                invoker: Ok(Invoker::Native {
                    python: PathBuf::from("unused"),
                }),
            },
            Runtime {
                name: NODE,
                description: String::new(),
                invoker: Err("node is not on PATH".to_owned()),
            },
            Runtime {
                name: NATIVE,
                description: String::new(),
                invoker: Ok(Invoker::Native {
                    python: PathBuf::from("unused"),
                }),
            },
        ];
        let files = ["a.py".to_owned(), "b.py".to_owned(), "c.py".to_owned()];
        let skipped = || Err("skipped".to_owned());
        let results: CpuResults = vec![
            vec![Ok(vec![3.0, 2.0, 9.0]), skipped(), Ok(vec![1.0])],
            vec![Ok(vec![8.0]), skipped(), Ok(vec![1.0, 1.0])],
            vec![Err("exited with 1".to_owned()), skipped(), Ok(vec![0.5])],
        ];
        let table = CpuTable::new(&runtimes, &files, &results);
        assert_eq!(table.ratio(0, 0), Some(3.0));
        assert_eq!(table.geometric_mean(0), Some(((3.0f64 * 8.0).sqrt(), 2)));
        let text = table.render(3);
        let lines: Vec<&str> = text.lines().skip(3).collect();
        assert_eq!(
            lines,
            [
                "benchmark       pyworkerd s   x native  python3 s",
                "a                     3.000      3.00x      1.000",
                "b                     8.000      8.00x      1.000",
                "c                    failed          -      0.500",
                "geometric mean               4.90x (2)",
                "note: c on pyworkerd: exited with 1",
            ]
        );
        let json = table.to_json(3);
        assert_eq!(json["benchmarks"]["a"]["pyworkerd"]["median_seconds"], 3.0);
        assert_eq!(
            json["benchmarks"]["c"]["pyworkerd"]["failure"],
            "exited with 1"
        );
        assert!(json["benchmarks"]["a"].get(NODE).is_none());
    }

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        command
    }

    #[test]
    fn every_suite_file_reports_under_its_own_name() {
        let dir = workspace_root().join(SUITE_DIR);
        let files = suite_files(&dir).unwrap();
        assert!(files.len() >= 8, "{files:?}");
        for file in &files {
            let source = std::fs::read_to_string(dir.join(file)).unwrap();
            let name = bench_name(file);
            assert!(
                source.contains(&format!("print(f\"{name} {{elapsed:.6f}}\")")),
                "{file} does not print `{name} <seconds>`"
            );
            assert!(
                source.contains("time.perf_counter()"),
                "{file} does not time itself"
            );
        }
    }
}
