//! `pyworkerd snapshot`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use pyodide_entrypoint::{Runtime, RuntimeOptions, Snapshot, SnapshotKind, SnapshotRequest};
use pyodide_packages::dist;
use pyodide_packages::env_vars;

use crate::run::{PackageArgs, error_chain, report_progress, resolve_packages};

/// Make a snapshot of an initialised interpreter, for `pyworkerd run
/// --snapshot FILE`.
///
/// A snapshot is the interpreter's memory after start-up and some imports,
/// saved so that later starts restore it instead of initialising Python
/// again. Kinds: `baseline` (start-up plus a fixed list of standard-library
/// imports; `pyworkerd run` makes and uses one automatically), `package`
/// (a baseline plus the packages given with --package mounted and the
/// modules given with --import) and `dedicated` (a
/// package plus the top level of the module file given with --module). A
/// package or dedicated snapshot continues from the cached baseline (or
/// from --from FILE) rather than starting over.
///
/// Two files are written: FILE (the sidecar: host state, identity,
/// checksums) and FILE.cwasm (the compiled module holding the memory).
/// Both are written under temporary names and renamed. A snapshot only
/// works with the Pyodide release, binary, wasmtime and engine settings it
/// was made with; any other is refused with a message saying which.
/// Code whose top level draws random numbers (other than the standard
/// exceptions, such as `random`'s seeding) is refused: the values would
/// repeat in every restored instance.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  pyworkerd snapshot -o base.snap\n  pyworkerd snapshot --kind package --import decimal --import email.parser -o pkg.snap\n  pyworkerd snapshot --module app.py -o app.snap\n  pyworkerd snapshot --package pydantic --wheelhouse wheels/ --import pydantic -o pd.snap\n  pyworkerd run --snapshot pd.snap --package pydantic --wheelhouse wheels/ app.py\n  pyworkerd run --snapshot app.snap app.py"
)]
pub(crate) struct SnapshotArgs {
    /// The kind of snapshot (default: dedicated with --module, package
    /// with --import, else baseline).
    #[arg(long, value_enum, value_name = "KIND")]
    kind: Option<Kind>,

    /// A module to import before the snapshot is taken. Repeatable.
    #[arg(long = "import", value_name = "NAME")]
    imports: Vec<String>,

    /// A Python file whose top level runs (imported as a module, its
    /// directory on `sys.path`) before a dedicated snapshot is taken. Its
    /// directory is mounted read-only at its own path, as `pyworkerd run`
    /// mounts a script's.
    #[arg(long, value_name = "PATH")]
    module: Option<PathBuf>,

    /// Packages mounted while the snapshot is made, so --import can import
    /// them (their extension modules are kept in the snapshot). `pyworkerd
    /// run --snapshot FILE` must be given the same packages.
    #[command(flatten)]
    package_args: PackageArgs,

    /// Continue from this snapshot instead of the cached baseline.
    #[arg(long = "from", value_name = "FILE")]
    from: Option<PathBuf>,

    /// Where to write the snapshot (and FILE.cwasm beside it).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,

    /// The Pyodide release to snapshot.
    #[arg(long, value_name = "VERSION", default_value_t = dist::default_version().version.to_owned(), env = env_vars::PYWORKERD_PYODIDE_VERSION)]
    pyodide_version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    Baseline,
    Package,
    Dedicated,
}

pub(crate) fn snapshot(args: SnapshotArgs) -> Result<u8> {
    let nothing_to_import = args.imports.is_empty() && args.package_args.is_empty();
    let kind = match (args.kind, &args.module, nothing_to_import) {
        (Some(kind), _, _) => kind,
        (None, Some(_), _) => Kind::Dedicated,
        (None, None, false) => Kind::Package,
        (None, None, true) => Kind::Baseline,
    };
    let kind = match kind {
        Kind::Baseline => SnapshotKind::Baseline,
        Kind::Package => SnapshotKind::Package,
        Kind::Dedicated => SnapshotKind::Dedicated,
    };
    match (kind, &args.module) {
        (SnapshotKind::Dedicated, None) => bail!("a dedicated snapshot needs --module PATH"),
        (SnapshotKind::Baseline | SnapshotKind::Package, Some(_)) => {
            bail!("--module runs a module's top level: it makes a dedicated snapshot")
        }
        _ => {}
    }
    if kind == SnapshotKind::Baseline && args.from.is_some() {
        bail!("a baseline snapshot starts from scratch: --from does not apply");
    }
    if let Some(module) = &args.module
        && !module.is_file()
    {
        bail!("module '{}' not found (no such file)", module.display());
    }
    let terminal = std::io::stderr().is_terminal();
    let runtime = Runtime::new(RuntimeOptions {
        version: args.pyodide_version.clone(),
        progress: Box::new(move |progress| report_progress(terminal, &progress)),
        // One interpreter, then the process exits: no slot is reused.
        warm_slots: false,
        ..Default::default()
    })
    .with_context(|| format!("cannot prepare Pyodide {}", args.pyodide_version))?;
    if let Some(why) = runtime.snapshot_unsupported() {
        bail!(
            "snapshots are not supported for Pyodide {}: {why}",
            args.pyodide_version
        );
    }
    let packages = resolve_packages(&args.package_args, &runtime, None, terminal)?;
    if kind == SnapshotKind::Baseline && !packages.is_empty() {
        bail!("a baseline snapshot holds no packages: use --kind package");
    }
    let request = SnapshotRequest {
        kind,
        imports: args.imports.clone(),
        module: args.module.clone(),
        packages,
    };
    let output = args.output.clone();
    let from = args.from.clone();
    // Making a snapshot runs Python: on a thread with a large stack.
    let handle = pyodide_entrypoint::spawn_interpreter_thread(move || -> Result<Snapshot> {
        let base = match (&from, kind) {
            (Some(file), _) => Some(
                Snapshot::load(&runtime, file)
                    .with_context(|| format!("cannot use snapshot '{}'", file.display()))?,
            ),
            (None, SnapshotKind::Baseline) => None,
            (None, _) => match runtime.baseline_snapshot() {
                Ok(base) => Some(base),
                Err(error) => {
                    eprintln!(
                        "pyworkerd: no baseline snapshot to start from ({}); starting from \
                             scratch",
                        error_chain(&error)
                    );
                    None
                }
            },
        };
        runtime
            .create_snapshot(&request, base.as_ref(), &output)
            .with_context(|| format!("cannot make the snapshot '{}'", output.display()))
    })
    .context("cannot start the interpreter thread")?;
    let snapshot = handle
        .join()
        .map_err(|_| anyhow::anyhow!("the interpreter thread panicked"))??;
    eprintln!(
        "pyworkerd: wrote a {} snapshot ({} modules imported) to {}",
        format!("{:?}", snapshot.kind()).to_lowercase(),
        snapshot.imports().len(),
        snapshot.path().display()
    );
    Ok(0)
}
