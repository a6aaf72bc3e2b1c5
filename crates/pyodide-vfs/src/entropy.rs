//! The injected entropy source behind `/dev/random` and `/dev/urandom`.
//!
//! The trait and the OS source live in `pyodide-entropy` (the VFS does not
//! decide entropy policy: deterministic while snapshotting, real afterwards);
//! they are re-exported here so users of the VFS need not name that crate.

pub use pyodide_entropy::{Denied, EntropySource, OsEntropy};
