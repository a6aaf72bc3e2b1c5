//! Rewrites legacy wasm exception handling (`try`, `catch`, `catch_all`,
//! `delegate`, `rethrow`) into the standardised form (`try_table`,
//! `throw_ref`, `exnref`) with the same behaviour, so that engines that only
//! implement the standard proposal (wasmtime) can run binaries built with
//! Emscripten's `-fwasm-exceptions`, such as Pyodide's `pyodide.asm.wasm` and
//! its side modules.
//!
//! Owns: the wasm → wasm pass, [`translate`], and its [`Error`]. It keeps
//! everything else intact: sections stay in their order and custom sections
//! (`dylink.0`, `name`, ...) are copied byte for byte; function, type,
//! global and tag indices do not change (new function types used as block
//! types are appended after the existing ones, new `exnref` locals after the
//! existing locals, so local names stay valid); function bodies without a
//! legacy instruction are copied raw, and a module without any is returned
//! unchanged.
//!
//! Does not know: any engine (no wasmtime here), Pyodide, or how modules are
//! fetched or cached. It does not validate its input beyond what decoding
//! needs; a valid input gives a valid output.
//!
//! Not rewritten: data that points at code offsets (DWARF `.debug_*`
//! sections, branch hints, label names in the `name` section) stays as it
//! was and may be stale for the translated functions.
//!
//! How it works: see the `function` module. Tests: unit tests beside the
//! code; `tests/wat_cases.rs` runs translated WAT programs in wasmtime and
//! translates the real Pyodide binaries; `tests/proptest_semantics.rs`
//! compares random programs; `benches/translate.rs` times the real binary.

mod error;
mod function;
mod module;
mod types;

pub use error::Error;

/// Translates every legacy exception-handling instruction of the core wasm
/// module `wasm` into the standard exnref form.
///
/// Returns the input bytes unchanged when no function uses legacy exception
/// handling.
///
/// # Errors
///
/// [`Error`] when the input cannot be decoded, is not a core module, or uses
/// legacy instructions in a way that does not validate (a `rethrow` outside a
/// catch, a label out of range, an unknown tag).
pub fn translate(wasm: &[u8]) -> Result<Vec<u8>, Error> {
    module::translate(wasm)
}
