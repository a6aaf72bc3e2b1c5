//! The public Rust API of pyworkerd: a [`Runtime`] (engine, compiled-module
//! cache, Pyodide distribution) that boots [`Interpreter`]s, each a real
//! CPython from Pyodide's release binary, running in wasmtime with every
//! import implemented in Rust.
//!
//! It composes the internal crates: `pyodide-packages` finds (or fetches)
//! the distribution, `pyodide-emscripten` compiles it once and hosts it,
//! `pyodide-vfs` is the guest's file system. It knows nothing of HTTP,
//! command lines or terminals (that is the `pyworkerd` binary).
//!
//! Running code goes through a small Python driver (`src/driver.py`) kept in
//! a private namespace, called through CPython's C API exports, so results
//! come back as a typed [`RunError`]: the `SystemExit` status, or for an
//! uncaught exception the traceback text.
//!
//! Snapshots: [`Runtime::create_snapshot`] makes one (baseline, package or
//! dedicated, see [`SnapshotRequest`]), [`Snapshot::load`] checks and maps
//! one, [`Interpreter::restore`] restores an interpreter from it without
//! re-running CPython's initialisation, and [`Runtime::baseline_snapshot`]
//! is the automatic baseline kept in the cache. `pyodide-snapshot` does the
//! capture, bake and sidecar; `pyodide-entropy` the deterministic entropy
//! of creation. Every interpreter restored from one snapshot shares its
//! `str` hash secret (drawn while CPython started, from the fixed stream);
//! `random`, `numpy.random` and `tempfile` are reseeded from the OS. A
//! snapshot made with packages keeps the extension modules it imported
//! (their side modules are placed again at the same bases, without
//! re-running their initialisation) and must be restored with the same
//! packages.
//!
//! Wasm frames run on the calling thread's native stack; call into an
//! interpreter from a thread with at least [`RECOMMENDED_THREAD_STACK`]
//! bytes of stack, so deep recursion ends in a trap rather than a crash.
//!
//! Tests: `tests/` (real Pyodide, fetched through the project's fetch
//! code); `tests/snapshot.rs` and `tests/snapshot_packages.rs` for
//! snapshots. Benches: `benches/snapshot.rs`, `benches/pydantic.rs`.

mod entropy;
mod interpreter;
mod packages;
mod runtime;
mod snapshot;
mod vfs_image;

pub use interpreter::{Interpreter, InterpreterConfig, Mount, RunError};
pub use packages::{PYTHON_MODULES_GUEST_DIR, Packages};
pub use pyodide_emscripten::{
    AddedSlot, EngineSettings, InterruptHandle, LibraryBases, LoadOptions, LoadedLibrary,
};
pub use pyodide_snapshot::SnapshotError;
pub use pyodide_vfs::{InputSource, OutputSink, SharedBuffer};
pub use runtime::{Progress, Runtime, RuntimeOptions};
pub use snapshot::{BASELINE_IMPORTS, Snapshot, SnapshotKind, SnapshotRequest, artifact_path};

use std::path::PathBuf;

/// Native stack the thread running an interpreter should have: more than
/// the wasm stack limit (`EngineSettings::max_wasm_stack`, 16 MiB by
/// default, or a larger one an embedder sets) plus room for the host's own
/// frames. Only touched pages cost memory.
pub const RECOMMENDED_THREAD_STACK: usize = 192 << 20;

/// Starts `f` on a new thread named `python` with
/// [`RECOMMENDED_THREAD_STACK`], the thread interpreters should be driven
/// from (wasm frames run on the calling thread's stack). Join the handle for
/// `f`'s result.
pub fn spawn_interpreter_thread<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<R>> {
    std::thread::Builder::new()
        .name("python".to_owned())
        .stack_size(RECOMMENDED_THREAD_STACK)
        .spawn(f)
}

/// Errors of the runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The requested Pyodide version is not known.
    #[error(transparent)]
    Distribution(#[from] pyodide_packages::dist::Error),
    /// Compiling, instantiating or running the module failed in the host.
    #[error(transparent)]
    Host(#[from] pyodide_emscripten::Error),
    /// A file of the distribution could not be read.
    #[error("cannot read '{path}'")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A host directory could not be mounted.
    #[error("cannot mount '{host}' at '{guest}'")]
    Mount {
        /// The host directory.
        host: PathBuf,
        /// The guest path.
        guest: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Setting up the guest file system failed.
    #[error("cannot prepare '{path}' in the guest file system: {errno}")]
    Layout {
        /// The guest path.
        path: String,
        /// The error.
        errno: pyodide_vfs::Errno,
    },
    /// Packages could not be installed into the guest file system.
    #[error("cannot install packages: {0}")]
    Packages(String),
    /// A side module could not be loaded.
    #[error(transparent)]
    Dlopen(#[from] pyodide_emscripten::DlopenError),
    /// CPython did not start.
    #[error("Python failed to start (main returned {status})")]
    Startup {
        /// `main`'s status.
        status: i32,
    },
    /// The guest ended the process (`os._exit`, C `exit`) with this
    /// status; the interpreter cannot run anything more.
    #[error("the interpreter exited with status {status}")]
    Exited {
        /// The exit status.
        status: i32,
    },
    /// A snapshot was refused: its sidecar is missing, damaged, of an
    /// unknown format or made for another Pyodide, binary or engine.
    #[error(transparent)]
    Snapshot(#[from] pyodide_snapshot::SnapshotError),
    /// Capturing or baking a snapshot failed.
    #[error("cannot make the snapshot")]
    SnapshotCapture(#[from] pyodide_snapshot::Error),
    /// The interpreter's state cannot be snapshotted or restored.
    #[error("snapshot: {0}")]
    SnapshotState(String),
    /// A restore was given other packages than the snapshot was made with
    /// (its extension modules' memory would not match their files).
    #[error(
        "the snapshot was made with packages '{recorded}', the interpreter was given '{given}'"
    )]
    SnapshotPackages {
        /// The snapshot's packages.
        recorded: String,
        /// The configuration's packages.
        given: String,
    },
    /// This Pyodide release cannot make or restore snapshots.
    #[error("snapshots are not supported for pyodide '{version}': {why}")]
    SnapshotUnsupported {
        /// The release.
        version: String,
        /// Why.
        why: String,
    },
    /// An import made while creating a snapshot failed.
    #[error("importing '{module}' while making the snapshot failed\n{traceback}")]
    SnapshotImport {
        /// The module.
        module: String,
        /// Its traceback.
        traceback: String,
    },
    /// While a snapshot was being made, a module asked for entropy at its
    /// top level outside the allow-list of `pyodide-entropy`.
    #[error(
        "'{consumer}' asked for entropy at its top level while the snapshot was being made \
         (refused: {bytes} bytes, {calls} draw(s)): values drawn then would repeat in every \
         instance restored from the snapshot; move the call into a request handler or a \
         function called from one"
    )]
    TopLevelEntropy {
        /// The module whose top level ran (or a `pyodide_entropy` pseudo-consumer).
        consumer: String,
        /// Bytes refused to it.
        bytes: u64,
        /// Draws refused to it.
        calls: u64,
    },
    /// The interpreter's driver misbehaved (a bug in pyworkerd).
    #[error("internal error in the interpreter driver: {0}")]
    Driver(String),
}
