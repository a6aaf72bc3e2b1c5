//! Pyodide's distribution and, later, its lock file and wheels.
//!
//! Owns: [`dist`] — the pinned table of Pyodide releases and their npm
//! tarball integrity values, fetching a release (`npm pack`, or a file or
//! URL from `PYODIDE_DIST`), verifying it before anything is unpacked, and
//! the on-disk cache with its manifest; [`env_vars`] — the names of every
//! environment variable this crate reads.
//!
//! Does not know: wasm, wasmtime, the Emscripten host, or terminals (progress
//! is a callback). It names no package-registry host: npm is used as the
//! user has configured it.
//!
//! Tests: unit tests beside the code (`src/dist/tests.rs` for fetching with
//! small tarballs built in the test, and one that fetches the real default
//! release into the user's cache through [`dist::ensure_from_env`]).

pub mod dist;
pub mod env_vars;
pub mod install;
pub mod lock;
pub mod name;
pub mod pip;
pub mod requirements;
pub mod source;
pub mod version;
pub mod wheel;
