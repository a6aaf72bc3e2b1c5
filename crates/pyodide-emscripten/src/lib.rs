//! The Emscripten host for Pyodide on wasmtime.
//!
//! This crate owns everything that touches wasmtime on Pyodide's behalf: the
//! engine configuration every Pyodide module is compiled with ([`engine`]), and
//! the on-disk cache of compiled modules ([`module_cache`]) that turns a
//! ten-second Cranelift compile into a millisecond `mmap`. The Emscripten
//! imports (syscalls, clocks, heap growth, dynamic linking) arrive here next.
//!
//! It does not know where a Pyodide distribution comes from (that is
//! `pyodide-packages`), nor anything about Python Workers, HTTP or terminals.
//! It depends on `wasm-legacy-eh` to make Emscripten's legacy exception
//! handling acceptable to wasmtime before compiling.
//!
//! Tests: unit tests beside the code; the real-binary tests (compile and
//! instantiate `pyodide.asm.wasm`) are in the workspace `tests` crate; the
//! cache-load benchmark is `benches/module_cache.rs`.

pub mod engine;
pub mod module_cache;

pub use engine::{EngineSettings, new_engine};
pub use module_cache::{CacheOutcome, LoadedModule, ModuleCache, RebuildReason};

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

/// Turns a wasmtime error into something `thiserror` can carry as a source.
pub(crate) fn boxed(error: wasmtime::Error) -> Box<dyn std::error::Error + Send + Sync> {
    error.into_boxed_dyn_error()
}
