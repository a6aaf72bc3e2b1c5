//! Getting a real `pyodide.asm.wasm` for tests and benches, through the
//! project's own fetch code: the verified distribution in the cache, fetched
//! on first use (`npm pack`, or `PYODIDE_DIST`).
//!
//! Shared by `tests/pyodide_binaries.rs` and `benches/translate.rs` (included
//! with `#[path]`). `pyodide-packages` is a dev-dependency only: the
//! translator itself knows nothing of Pyodide.

#![allow(dead_code)]

use pyodide_packages::dist;

/// The Pyodide version the project pins.
pub(crate) const PINNED_VERSION: &str = "314.0.7";
/// The previous release line, kept working too.
pub(crate) const PREVIOUS_VERSION: &str = "0.29.3";

/// Reads `version`'s `pyodide.asm.wasm`, fetching the release if needed.
pub(crate) fn read(version: &str) -> Vec<u8> {
    let known = dist::known_version(version).expect("a known version");
    let distribution = dist::ensure_from_env(known).unwrap_or_else(|e| {
        panic!("cannot get Pyodide {version}: {e}; try `cargo xtask fetch-pyodide --all`")
    });
    std::fs::read(distribution.asm_wasm()).expect("read pyodide.asm.wasm")
}
