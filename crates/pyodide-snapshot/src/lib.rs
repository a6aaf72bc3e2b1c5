//! Memory snapshots of a wasm instance: capture its state, bake that state
//! into a module whose instantiation restores it, and store the host state
//! that lives outside linear memory in a versioned sidecar.
//!
//! A snapshot is two files: a *baked module* — the original module with its
//! data segments replaced by the captured linear memory, its memory's
//! minimum set to the captured size and its mutable globals initialised to
//! the captured values — which, compiled and serialized by wasmtime, is
//! mapped copy-on-write at instantiation (see [`mod@bake`] for the conditions
//! wasmtime needs and how bake meets them); and a *sidecar*
//! ([`sidecar::Sidecar`]) with the host state and the identity the
//! snapshot needs to be valid.
//!
//! The pipeline, for a module `wasm` that will be snapshotted:
//!
//! 1. [`instrument::export_mutable_globals`]`(wasm)` before compiling it, so
//!    that mutable globals, tables and memory can be read from the host;
//! 2. run the instance up to the snapshot point, then
//!    [`capture::capture`]`(store, instance)`;
//! 3. [`bake::bake`]`(instrumented_wasm, &capture)`, then compile and
//!    serialize the result like any module;
//! 4. [`sidecar::write_sidecar`] next to it.
//!
//! Restore = deserialize the baked module and instantiate it with the same
//! imports, then redo what the host did to the instance after
//! instantiation that linear memory and globals do not hold (table growth,
//! host state), checked with [`sidecar::read_sidecar`].
//!
//! Owns: the instrumentation exports (`pyworkerd.global.<index>`,
//! `pyworkerd.table.<index>`, `pyworkerd.memory.<index>`), the bake
//! rewrite, capture, and the sidecar format with its errors.
//!
//! Does not know: Pyodide, Python or Emscripten conventions (which globals
//! are the stack pointer, what the table holds), how modules are translated,
//! compiled, cached or mapped (that is `pyodide-emscripten`'s module cache;
//! this crate has no `unsafe` and never calls `Module::deserialize`), the
//! VFS, or where snapshot files live. It sits below `pyodide-entrypoint`.
//!
//! Tests: unit tests beside the code; `tests/wat_snapshots.rs` runs WAT
//! modules, captures, bakes and restores them and checks the restored
//! instance behaves as the original; `tests/same_result.rs` is the
//! property test (random programs, snapshot at a random point: continuing
//! from the snapshot gives what continuing the original gives);
//! `tests/sidecar_corruption.rs` flips and truncates sidecar bytes;
//! `tests/pyodide_binaries.rs` instruments and bakes the real Pyodide
//! binaries. Benchmark: `benches/restore.rs` (instantiating a baked module
//! from a serialized artifact).

pub mod bake;
pub mod capture;
mod error;
pub mod instrument;
pub mod sidecar;
mod wasm;

pub use bake::{BakeOptions, DataLayout, bake, bake_with, data_layout, defined_import_export_name};
pub use capture::{Capture, GlobalValue, capture, capture_with_memory};
pub use error::Error;
pub use instrument::export_mutable_globals;
pub use sidecar::{
    ArtifactDigest, Identity, PackageFile, SideModule, SideSlot, Sidecar, SnapshotError,
    SnapshotKind, decode_sidecar, encode_sidecar, read_sidecar, write_sidecar,
};
