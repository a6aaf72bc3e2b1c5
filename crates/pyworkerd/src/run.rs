//! `pyworkerd run`.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use pyodide_entrypoint::{
    InputSource, Interpreter, InterpreterConfig, Mount, OutputSink, Packages, Progress, RunError,
    Runtime, RuntimeOptions, Snapshot,
};
use pyodide_packages::dist::{self, Event, Phase};
use pyodide_packages::env_vars;
use pyodide_packages::lock::LockFile;
use pyodide_packages::requirements::{Requirement, load_requirements};
use pyodide_packages::source::{Event as SourceEvent, PackageSources, Resolver};
use pyodide_packages::wheel::Platform;

/// Run a Python script, `-c` code, a `-m` module, or a script on stdin.
///
/// Behaves like `python`: `sys.argv` is set the same way, Python's exit
/// status is pyworkerd's, an uncaught exception prints its traceback and
/// exits with 1, Ctrl-C raises KeyboardInterrupt (press it again to end a
/// script blocked reading stdin). The script's directory is mounted read-only at the same
/// path inside the guest so sibling imports work; nothing else of the host
/// is visible unless mounted with --mount.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  pyworkerd run examples/hello.py\n  pyworkerd run -c 'print(1+1)'\n  pyworkerd run -m json.tool data.json\n  echo 'print(42)' | pyworkerd run -\n  pyworkerd run --mount ./data:/data:rw script.py\n  pyworkerd run --snapshot app.snap app.py\n  pyworkerd run --no-snapshot -c 'print(1+1)'\n\nStart-up restores a snapshot of an initialised interpreter (the baseline, made\non first use; about a second) unless --no-snapshot is given or a PYTHON*\nvariable is set with --env (CPython reads those while it starts)."
)]
pub(crate) struct RunArgs {
    /// Program passed in as a string (like `python -c`).
    #[arg(short = 'c', value_name = "CODE", conflicts_with = "module")]
    code: Option<String>,

    /// Run a library module as a script (like `python -m`).
    #[arg(short = 'm', value_name = "MODULE")]
    module: Option<String>,

    /// Make a host directory visible: HOST:GUEST, optionally :ro (the
    /// default) or :rw. Repeatable.
    #[arg(long = "mount", value_name = "HOST:GUEST[:ro|:rw]")]
    mounts: Vec<String>,

    /// Set an environment variable for the guest: K=V. Repeatable.
    #[arg(long = "env", value_name = "K=V")]
    env: Vec<String>,

    #[command(flatten)]
    package_args: PackageArgs,

    /// The Pyodide release to run.
    #[arg(long, value_name = "VERSION", default_value_t = dist::default_version().version.to_owned(), env = env_vars::PYWORKERD_PYODIDE_VERSION)]
    pyodide_version: String,

    /// Boot Python from scratch instead of restoring the cached baseline
    /// snapshot (made on first use, under the cache's `snapshots/`).
    #[arg(long, conflicts_with = "snapshot")]
    no_snapshot: bool,

    /// Restore this snapshot (made by `pyworkerd snapshot`) instead of the
    /// cached baseline. If it cannot be used, pyworkerd says why and boots
    /// from scratch.
    #[arg(long, value_name = "FILE")]
    snapshot: Option<PathBuf>,

    /// The script (a path, or `-` for stdin) followed by its arguments; with
    /// -c or -m, all of these are arguments.
    #[arg(
        value_name = "SCRIPT [ARGS]",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    rest: Vec<String>,
}

/// Where packages come from: shared by `run` and `snapshot`.
#[derive(Debug, Args)]
pub(crate) struct PackageArgs {
    /// Install a package before running (a requirement: `msgpack`,
    /// `pydantic>=2`), with its dependencies. Repeatable.
    #[arg(long = "package", value_name = "REQUIREMENT")]
    packages: Vec<String>,

    /// Install the packages a requirements file lists (pip's format).
    /// Repeatable.
    #[arg(long = "requirements", value_name = "FILE")]
    requirements: Vec<PathBuf>,

    /// A directory of wheels to install packages from, searched before
    /// anything else. Repeatable (earlier directories win).
    #[arg(long = "wheelhouse", value_name = "DIR")]
    wheelhouses: Vec<PathBuf>,

    /// A PEP 503/691 simple index to fetch packages from (after the
    /// wheelhouses and `python_modules/`).
    #[arg(long = "index-url", value_name = "URL")]
    index_url: Option<String>,

    /// Where Pyodide's own built packages (those its `pyodide-lock.json`
    /// lists, e.g. numpy) are fetched from: a mirror's base URL, which the
    /// lock file's file names are relative to. Searched last.
    #[arg(long = "lock-base-url", value_name = "URL", env = env_vars::PYWORKERD_LOCK_BASE_URL)]
    lock_base_url: Option<String>,
}

impl PackageArgs {
    /// Whether no package was asked for.
    pub(crate) fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.requirements.is_empty()
    }
}

enum Target {
    Code(String),
    Module(String),
    File {
        guest: String,
        dir: PathBuf,
        guest_dir: String,
    },
    Stdin(String),
}

pub(crate) fn run(args: RunArgs) -> Result<u8> {
    let mut rest = args.rest.clone();
    let target = if let Some(code) = args.code.clone() {
        Target::Code(code)
    } else if let Some(module) = args.module.clone() {
        Target::Module(module)
    } else if rest.is_empty() || rest[0] == "-" {
        if !rest.is_empty() {
            rest.remove(0);
        }
        let mut source = String::new();
        std::io::stdin()
            .read_to_string(&mut source)
            .context("cannot read the script from stdin")?;
        Target::Stdin(source)
    } else {
        let script = rest.remove(0);
        let path = Path::new(&script);
        if !path.is_file() {
            bail!("script '{script}' not found (no such file)");
        }
        let absolute = std::fs::canonicalize(path)
            .with_context(|| format!("cannot resolve script '{script}'"))?;
        let dir = absolute
            .parent()
            .context("script has no directory")?
            .to_owned();
        let host_dir = dir
            .to_str()
            .with_context(|| format!("script path '{script}' is not UTF-8"))?;
        let name = absolute
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("script path '{script}' is not UTF-8"))?;
        // The script's directory appears at its own path, unless that path
        // is one the guest's system needs (then at /script).
        let guest_dir = if guest_system_path(host_dir) {
            SCRIPT_FALLBACK_DIR.to_owned()
        } else {
            host_dir.to_owned()
        };
        let guest = format!("{}/{name}", guest_dir.trim_end_matches('/'));
        Target::File {
            guest,
            dir,
            guest_dir,
        }
    };

    let mut mounts = args
        .mounts
        .iter()
        .map(|m| parse_mount(m))
        .collect::<Result<Vec<_>>>()?;
    if let Target::File { dir, guest_dir, .. } = &target
        && !mounts.iter().any(|m| m.guest == *guest_dir)
    {
        mounts.push(Mount {
            host: dir.clone(),
            guest: guest_dir.clone(),
            writable: false,
        });
    }
    let env = args
        .env
        .iter()
        .map(|e| parse_env(e))
        .collect::<Result<Vec<_>>>()?;

    let terminal = std::io::stderr().is_terminal();
    let runtime = Runtime::new(RuntimeOptions {
        version: args.pyodide_version.clone(),
        progress: Box::new(move |progress| report_progress(terminal, &progress)),
        // One interpreter, then the process exits: no slot is reused.
        warm_slots: false,
        ..Default::default()
    })
    .with_context(|| format!("cannot prepare Pyodide {}", args.pyodide_version))?;

    // A `python_modules/` directory beside the script: installed packages,
    // used as they are.
    let python_modules = match &target {
        Target::File { dir, .. } => Some(dir.join("python_modules")).filter(|d| d.is_dir()),
        _ => None,
    };
    let packages = resolve_packages(&args.package_args, &runtime, python_modules, terminal)?;

    let startup = if args.no_snapshot {
        Startup::Cold
    } else if let Some(file) = args.snapshot.clone() {
        Startup::Snapshot(file)
    } else if packages.python_modules.is_some()
        || packages.wheels.iter().any(|w| {
            w.placements()
                .iter()
                .any(|p| p.path.ends_with(".pth") && !p.path.contains('/'))
        })
    {
        // `site` reads `.pth` files and the `python_modules` path while
        // Python starts: booted with them, not mounted after the baseline.
        Startup::Cold
    } else if env.iter().any(|(key, _)| key.starts_with("PYTHON")) {
        // CPython reads these while it starts: a snapshot has started.
        Startup::Cold
    } else {
        Startup::Baseline
    };
    let stdin = match target {
        Target::Stdin(_) => InputSource::Empty,
        _ => InputSource::Inherit,
    };
    let config = InterpreterConfig {
        env,
        mounts,
        stdin,
        stdout: OutputSink::InheritStdout,
        stderr: OutputSink::InheritStderr,
        program_name: "python".to_owned(),
        packages,
        ..Default::default()
    };
    // Wasm frames use this thread's stack: run on one large enough.
    let handle = pyodide_entrypoint::spawn_interpreter_thread(move || -> Result<(i32, bool)> {
        let mut interpreter = start(&runtime, startup, config, terminal)?;
        crate::interrupt::forward_sigint(interpreter.interrupt_handle()?)?;
        let result = match &target {
            Target::Code(code) => interpreter.run(code, &rest),
            Target::Module(module) => interpreter.run_module(module, &rest),
            Target::File { guest, .. } => interpreter.run_file(guest, &rest),
            Target::Stdin(source) => interpreter.run_stdin(source, &rest),
        };
        let mut interrupted = matches!(result, Err(RunError::Interrupted { .. }));
        // Python's own outcome is the exit status; a host failure is an error.
        let status = exit_status(result)?;
        // `atexit` handlers run after a KeyboardInterrupt too.
        let at_exit = interpreter.finish();
        interrupted |= matches!(at_exit, Err(RunError::Interrupted { .. }));
        let at_exit = exit_status(at_exit)?;
        Ok((if status != 0 { status } else { at_exit }, interrupted))
    })
    .context("cannot start the interpreter thread")?;
    let (status, interrupted) = handle
        .join()
        .map_err(|_| anyhow::anyhow!("the interpreter thread panicked"))??;
    if interrupted {
        crate::interrupt::exit_by_sigint();
    }
    // Like a shell, report statuses modulo 256.
    Ok((status & 0xff) as u8)
}

/// Finds the packages `--package` and `--requirements` ask for (and their
/// dependencies) in the wheelhouses, `python_modules/`, the index, then the
/// lock file's base URL.
pub(crate) fn resolve_packages(
    args: &PackageArgs,
    runtime: &Runtime,
    python_modules: Option<PathBuf>,
    terminal: bool,
) -> Result<Packages> {
    let mut requirements = Vec::new();
    for spec in &args.packages {
        requirements.push(Requirement::parse(spec).with_context(|| format!("--package '{spec}'"))?);
    }
    for file in &args.requirements {
        requirements.extend(
            load_requirements(file)
                .with_context(|| format!("--requirements '{}'", file.display()))?,
        );
    }
    for dir in &args.wheelhouses {
        if !dir.is_dir() {
            bail!("--wheelhouse '{}' is not a directory", dir.display());
        }
    }
    if requirements.is_empty() {
        return Ok(Packages {
            python_modules,
            ..Packages::default()
        });
    }
    let version = runtime.version();
    let lock = LockFile::load(runtime.lock_file()).ok();
    let python_full = lock.as_ref().map_or_else(
        || version.python.to_string(),
        |lock| lock.info().python.clone(),
    );
    let platform = Platform::for_pyodide(version.version)
        .with_context(|| format!("no wheel platform for Pyodide {}", version.version))?;
    let sources = PackageSources {
        wheelhouses: args.wheelhouses.clone(),
        python_modules,
        index_url: args.index_url.clone(),
        lock_base_url: args.lock_base_url.clone(),
        cache_root: dist::cache_root().context("cannot find the cache directory")?,
    };
    let resolution = Resolver::new(&sources, platform, lock.as_ref(), &python_full)
        .with_progress(move |event| {
            if terminal && let SourceEvent::Downloading { url } = event {
                eprintln!("pyworkerd: downloading {url}…");
            }
        })
        .resolve(&requirements)
        .context("cannot find the requested packages")?;
    Ok(Packages::from_resolution(resolution))
}

/// How an interpreter starts.
enum Startup {
    /// Boot CPython from scratch.
    Cold,
    /// Restore the cached baseline snapshot (made on first use).
    Baseline,
    /// Restore this snapshot.
    Snapshot(PathBuf),
}

/// Starts the interpreter as `startup` says; a snapshot that cannot be used
/// is reported on stderr and the interpreter boots from scratch.
fn start(
    runtime: &Runtime,
    startup: Startup,
    config: InterpreterConfig,
    terminal: bool,
) -> Result<Interpreter> {
    let snapshot = match startup {
        Startup::Cold => None,
        Startup::Snapshot(file) => match Snapshot::load(runtime, &file) {
            Ok(snapshot) => Some(snapshot),
            Err(error) => {
                eprintln!(
                    "pyworkerd: cannot use snapshot '{}': {}; booting without it",
                    file.display(),
                    error_chain(&error)
                );
                None
            }
        },
        Startup::Baseline => baseline(runtime, terminal),
    };
    match snapshot {
        Some(snapshot) => Interpreter::restore(runtime, &snapshot, config)
            .with_context(|| format!("cannot restore snapshot '{}'", snapshot.path().display())),
        None => Interpreter::boot(runtime, config).context("cannot start Python"),
    }
}

/// The cached baseline snapshot, made on first use; `None` (said once on
/// stderr) when there is none to be had.
fn baseline(runtime: &Runtime, terminal: bool) -> Option<Snapshot> {
    let path = runtime.baseline_snapshot_path();
    if let Some(why) = runtime.snapshot_unsupported() {
        // Said once per cache, not on every run.
        let marker = path.with_file_name(format!("unsupported-{}", runtime.version().version));
        if !marker.exists() {
            eprintln!(
                "pyworkerd: Pyodide {} boots without a snapshot: {why} (said once)",
                runtime.version().version
            );
            let _ = std::fs::create_dir_all(path.parent()?);
            let _ = std::fs::write(&marker, why.as_bytes());
        }
        return None;
    }
    if terminal && !path.exists() {
        eprintln!("pyworkerd: making the baseline snapshot (first use, about 10 s)…");
    }
    let existed = path.exists();
    match runtime.baseline_snapshot() {
        Ok(snapshot) => Some(snapshot),
        Err(error) => {
            if existed {
                eprintln!(
                    "pyworkerd: cannot use the cached baseline snapshot '{}': {}; booting \
                     without it (it is made again next time)",
                    path.display(),
                    error_chain(&error)
                );
            } else {
                eprintln!(
                    "pyworkerd: cannot make the baseline snapshot: {}; booting without it",
                    error_chain(&error)
                );
            }
            None
        }
    }
}

/// An error and its sources on one line.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Where the script's directory is mounted when its own path is taken.
const SCRIPT_FALLBACK_DIR: &str = "/script";

/// Paths the guest's own layout needs (the root, the standard library,
/// devices, temporary files, the home directory), which a script's directory
/// must not cover.
fn guest_system_path(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    path.is_empty()
        || [
            "/lib",
            "/dev",
            "/tmp",
            "/home",
            "/home/pyodide",
            "/usr",
            "/proc",
        ]
        .contains(&path)
}

/// The exit status a run ends with, as `python` would report it.
fn exit_status(result: std::result::Result<(), RunError>) -> Result<i32> {
    match result {
        Ok(()) => Ok(0),
        Err(error) => match error.exit_status() {
            Some(status) => Ok(status),
            None => Err(anyhow::Error::new(error).context("the interpreter failed")),
        },
    }
}

pub(crate) fn parse_mount(spec: &str) -> Result<Mount> {
    let (spec, writable) = match spec.rsplit_once(':') {
        Some((rest, "rw")) => (rest, true),
        Some((rest, "ro")) => (rest, false),
        _ => (spec, false),
    };
    let Some((host, guest)) = spec.split_once(':') else {
        bail!("--mount '{spec}': expected HOST:GUEST[:ro|:rw]");
    };
    if !guest.starts_with('/') {
        bail!("--mount '{spec}': the guest path '{guest}' must be absolute");
    }
    let host_path = Path::new(host);
    if !host_path.is_dir() {
        bail!("--mount '{spec}': '{host}' is not a readable directory");
    }
    std::fs::read_dir(host_path)
        .with_context(|| format!("--mount '{spec}': cannot read '{host}'"))?;
    Ok(Mount {
        host: host_path.to_owned(),
        guest: guest.to_owned(),
        writable,
    })
}

fn parse_env(spec: &str) -> Result<(String, String)> {
    match spec.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => bail!("--env '{spec}': expected K=V"),
    }
}

pub(crate) fn report_progress(terminal: bool, progress: &Progress) {
    if !terminal {
        return;
    }
    let event = match progress {
        Progress::Compiling { version } => {
            eprintln!(
                "pyworkerd: compiling Pyodide {version} for this machine (first use, about 10 s)…"
            );
            return;
        }
        Progress::Fetch(event) => event,
        _ => return,
    };
    match event {
        Event::PhaseStarted(Phase::NpmPack) => {
            eprintln!("pyworkerd: fetching Pyodide (first use) with npm pack…")
        }
        Event::PhaseStarted(Phase::Downloading) => {
            eprintln!("pyworkerd: downloading Pyodide (first use)…")
        }
        Event::PhaseStarted(Phase::Verifying) => eprintln!("pyworkerd: verifying the download…"),
        Event::PhaseStarted(Phase::Extracting) => eprintln!("pyworkerd: extracting…"),
        Event::CacheDamaged { dir, problem } => {
            eprintln!(
                "pyworkerd: the cached Pyodide in {} is damaged ({problem}); fetching it again",
                dir.display()
            )
        }
        _ => {}
    }
}
