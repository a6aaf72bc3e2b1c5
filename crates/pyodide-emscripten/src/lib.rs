//! The Emscripten host for Pyodide on wasmtime.
//!
//! This crate owns everything that touches wasmtime on Pyodide's behalf: the
//! engine configuration every Pyodide module is compiled with ([`engine`]),
//! the on-disk cache of compiled modules ([`module_cache`]) that turns a
//! ten-second Cranelift compile into a millisecond `mmap`, and the
//! Emscripten imports themselves, in the style of wasmtime-wasi: the host
//! state is an [`EmscriptenCtx`] built by [`EmscriptenCtxBuilder`], and
//! [`add_to_linker`] defines the imports, one module per interface (`wasi`,
//! `fs`, `time`, `heap`, `process`, `ffi`, `libffi`, `net`). [`EmscriptenInstance`]
//! instantiates a main module and runs it up to `main`.
//!
//! Guest errors and traps are different things: an errno goes back to the
//! guest, a trap stops it. `exit` is a value ([`GuestExit`]), never
//! `std::process::exit`; abort and failed assertions are [`GuestAbort`]; an
//! import this crate does not implement traps with its name
//! ([`UnsupportedImport`]). Guest memory is touched only through the
//! bounds-checked `guest` module.
//!
//! It does not know where a Pyodide distribution comes from (that is
//! `pyodide-packages`), nor anything about Python Workers, HTTP or terminals;
//! the file system is `pyodide-vfs`. It depends on `wasm-legacy-eh` to make
//! Emscripten's legacy exception handling acceptable to wasmtime.
//!
//! Tests: unit tests beside the code; the real-binary tests (compile,
//! instantiate and run `pyodide.asm.wasm`) are in the workspace `tests`
//! crate; the cache-load benchmark is `benches/module_cache.rs`.

mod boot;
mod ctx;
pub mod dlopen;
pub mod dylink;
pub mod engine;
mod ffi;
mod fs;
mod guest;
mod heap;
pub mod interrupt;
mod libffi;
mod linker;
pub mod module_cache;
mod net;
mod process;
pub mod replay_form;
pub mod resident;
mod sections;
pub mod sleep_form;
mod time;
mod trampoline;
mod wasi;

pub use boot::{EmscriptenInstance, RestoredImports};
pub use ctx::{
    ConsumerSlot, DEFAULT_MEMORY_LIMIT, EmscriptenCtx, EmscriptenCtxBuilder, SharedEntropy,
};
pub use dlopen::{
    AddedSlot, DlopenError, LibraryBases, LibraryContent, LoadOptions, LoadedLibrary,
    UndefinedSymbol, function_slot, got_values, library_function, load_library, prepare_replay,
    restore_got, restore_slot,
};
pub use engine::{EngineSettings, MAX_INSTANCES, new_engine};
pub use interrupt::InterruptHandle;
pub use linker::{CtxGetter, add_to_linker, define_missing_as_traps};
pub use module_cache::{ArtifactCheck, CacheOutcome, LoadedModule, ModuleCache, RebuildReason};
pub use trampoline::CallTrampoline;

/// The guest called `exit` or `proc_exit` with this status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("guest exited with status {0}")]
pub struct GuestExit(pub i32);

/// The guest aborted (`abort()`, a failed C assertion, a fatal error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("guest aborted: {0}")]
pub struct GuestAbort(pub String);

/// The guest called an import this host does not implement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the guest called import '{name}', which pyworkerd does not implement")]
pub struct UnsupportedImport {
    /// `module.name` of the import.
    pub name: String,
}

use std::path::PathBuf;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine configuration was refused by wasmtime.
    #[error("cannot create the wasmtime engine")]
    Engine(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The legacy exception-handling translation failed.
    #[error("cannot translate legacy exception handling in '{name}'")]
    Translate {
        /// What was being translated (a file name or a label).
        name: String,
        /// The translator's error.
        #[source]
        source: wasm_legacy_eh::Error,
    },
    /// Rewriting the module's `emscripten_thread_sleep` failed.
    #[error("cannot rewrite the sleep function of '{name}'")]
    SleepForm {
        /// What was being rewritten (a file name or a label).
        name: String,
        /// The rewrite's error.
        #[source]
        source: sleep_form::SleepFormError,
    },
    /// wasmtime refused to compile the (translated) module.
    #[error("cannot compile '{name}'")]
    Compile {
        /// What was being compiled.
        name: String,
        /// wasmtime's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Reading the wasm input failed.
    #[error("cannot read wasm module '{path}'")]
    ReadInput {
        /// The input path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// wasmtime refused to instantiate the module.
    #[error("cannot instantiate '{name}'")]
    Instantiate {
        /// The module's name.
        name: String,
        /// wasmtime's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The engine already holds as many instances as its pooling allocator
    /// has slots for (see [`engine::MAX_INSTANCES`]); one must end first.
    #[error(
        "too many interpreters at once: this runtime holds at most {limit} (wasmtime: {detail})"
    )]
    TooManyInstances {
        /// The number of instance slots.
        limit: u32,
        /// Which pool ran out, as wasmtime says it.
        detail: String,
    },
    /// The module lacks an export the host needs.
    #[error("the module does not export '{0}'")]
    MissingExport(&'static str),
    /// An export has another type than the host expects.
    #[error("the module's export '{name}' has an unexpected type")]
    ExportType {
        /// The export.
        name: &'static str,
        /// wasmtime's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The guest trapped (or exited, or called an unsupported import) while
    /// the host was running `during`; the source says which.
    #[error("the guest stopped during '{during}'")]
    Trap {
        /// The export being run.
        during: &'static str,
        /// The trap, [`GuestExit`], [`GuestAbort`] or [`UnsupportedImport`].
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A host access to guest memory was out of bounds.
    #[error("guest memory access out of bounds: {len} bytes at {ptr}")]
    OutOfBounds {
        /// Address.
        ptr: u32,
        /// Length.
        len: usize,
    },
    /// `malloc` returned NULL.
    #[error("the guest is out of memory (allocating {bytes} bytes)")]
    OutOfMemory {
        /// The size asked for.
        bytes: usize,
    },
    /// A relocatable module was given no `dylink.0` metadata.
    #[error("the module imports its memory but no dylink.0 metadata was given")]
    MissingDylink,
    /// A `dylink.0` section could not be read.
    #[error("malformed dylink.0 section in '{name}': {why}")]
    BadDylink {
        /// The module's name.
        name: String,
        /// What is wrong.
        why: String,
    },
    /// A host-defined rewrite of the input failed (see
    /// [`ModuleCache::load_file_transformed`]).
    #[error("cannot rewrite '{name}' ({label})")]
    Transform {
        /// The input.
        name: String,
        /// The transform's label.
        label: String,
        /// Its error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A compiled artifact kept outside the cache cannot be used.
    #[error("compiled module '{path}' cannot be used: {reason}")]
    BadArtifact {
        /// The artifact.
        path: PathBuf,
        /// Why, as a sentence fragment.
        reason: String,
        /// Whether it is missing or of another length than recorded.
        truncated: bool,
        /// Whether its content does not match the recorded checksum.
        checksum: bool,
    },
    /// Writing to the module cache failed.
    #[error("cannot write to the module cache at '{path}'")]
    CacheWrite {
        /// The file or directory that could not be written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn instantiate(module: &wasmtime::Module, error: wasmtime::Error) -> Error {
        if let Some(limit) = error.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
            return Error::TooManyInstances {
                limit: engine::MAX_INSTANCES,
                detail: limit.to_string(),
            };
        }
        let name = module.name().unwrap_or("pyodide.asm.wasm").to_owned();
        Error::Instantiate {
            name,
            source: boxed(error),
        }
    }

    pub(crate) fn trap(during: &'static str, error: wasmtime::Error) -> Error {
        Error::Trap {
            during,
            source: boxed(error),
        }
    }

    /// The exit status, when the guest stopped by exiting.
    pub fn exit_status(&self) -> Option<i32> {
        match self {
            Error::Trap { source, .. } => source.downcast_ref::<GuestExit>().map(|e| e.0),
            _ => None,
        }
    }
}

/// Turns a wasmtime error into something `thiserror` can carry as a source.
pub(crate) fn boxed(error: wasmtime::Error) -> Box<dyn std::error::Error + Send + Sync> {
    error.into_boxed_dyn_error()
}
