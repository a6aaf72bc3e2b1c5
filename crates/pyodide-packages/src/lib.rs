//! Pyodide's distribution, its lock file, and the wheels a worker needs.
//!
//! Owns: [`dist`] — the pinned table of Pyodide releases and their npm
//! tarball integrity values, fetching a release (`npm pack`, or a file or
//! URL from `PYODIDE_DIST`), verifying it before anything is unpacked, and
//! the on-disk cache with its manifest; [`env_vars`] — the names of every
//! environment variable this crate reads; [`lock`] — `pyodide-lock.json`
//! parsed and resolved transitively; [`name`] — PEP 503 names;
//! [`version`] and [`requirements`] — PEP 440 versions and specifiers, PEP 508
//! requirements with markers evaluated for Emscripten, `requirements.txt`;
//! [`wheel`] — wheel file names and the tags each runtime accepts;
//! [`install`] — a verified wheel and the plan of read-only mounts that
//! installs it without unpacking; [`source`] — wheelhouses, `python_modules/`,
//! a configured package index and the lock file's configured base URL,
//! with a verified download cache; [`pip`] — platform wheels through pip.
//!
//! Does not know: wasm, wasmtime, the Emscripten host, the VFS (install plans
//! are data that the embedder turns into `pyodide-vfs` zip mounts), or
//! terminals (progress is a callback). It names no package-registry host:
//! npm and pip are used as the user has configured them, and index and lock
//! base URLs are the user's.
//!
//! Tests: unit tests beside the code (`src/dist/tests.rs` for fetching with
//! small tarballs built in the test, and one that fetches the real default
//! release into the user's cache through [`dist::ensure_from_env`];
//! `src/install/tests.rs` with wheels built in the test;
//! `src/source/tests.rs` against a loopback index server; `src/pip.rs` runs
//! the real pip once); `tests/mount_wheels.rs` mounts planned wheels with
//! `pyodide-vfs` and reads them back.

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
