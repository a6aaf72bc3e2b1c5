//! Finding a real `pyodide.asm.wasm` for tests and benches.
//!
//! Shared by `tests/pyodide_binaries.rs` and `benches/translate.rs` (included
//! with `#[path]`). Lookup order for a version:
//! 1. `$PYODIDE_ASM_WASM`, for the pinned version only;
//! 2. the distribution cache written by `cargo xtask fetch-pyodide`:
//!    `$PYWORKERD_CACHE`, else `$XDG_CACHE_HOME/pyworkerd` (absolute only),
//!    else `~/.cache/pyworkerd`, then `pyodide/<version>/pyodide.asm.wasm`.

#![allow(dead_code)]

use std::path::PathBuf;

/// The Pyodide version the project pins.
pub(crate) const PINNED_VERSION: &str = "314.0.7";
/// The previous release line, kept working too.
pub(crate) const PREVIOUS_VERSION: &str = "0.29.3";

/// Candidate paths for `version`'s `pyodide.asm.wasm`, best first.
pub(crate) fn candidates(version: &str) -> Vec<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let mut paths = Vec::new();
    if version == PINNED_VERSION
        && let Some(path) = var("PYODIDE_ASM_WASM")
    {
        paths.push(path);
    }
    let cache = var("PYWORKERD_CACHE")
        .or_else(|| {
            var("XDG_CACHE_HOME")
                .filter(|dir| dir.is_absolute())
                .map(|dir| dir.join("pyworkerd"))
        })
        .or_else(|| var("HOME").map(|home| home.join(".cache").join("pyworkerd")));
    if let Some(cache) = cache {
        paths.push(cache.join("pyodide").join(version).join("pyodide.asm.wasm"));
    }
    paths
}

/// Reads `version`'s `pyodide.asm.wasm`, or panics saying how to get it.
pub(crate) fn read(version: &str) -> Vec<u8> {
    let paths = candidates(version);
    for path in &paths {
        if let Ok(bytes) = std::fs::read(path) {
            return bytes;
        }
    }
    panic!(
        "pyodide {version} binary not found (looked at {paths:?}); run \
         `cargo xtask fetch-pyodide --all` to fetch it into the cache, or set \
         PYODIDE_ASM_WASM to a pyodide.asm.wasm of version {PINNED_VERSION}"
    );
}
