//! The environment variables this crate reads, in one place.

/// Path or URL of a Pyodide npm tarball to use instead of running
/// `npm pack`. A directory is searched for `pyodide-<version>.tgz`; a URL
/// may contain `{version}`, which is replaced by the version being fetched.
pub const PYODIDE_DIST: &str = "PYODIDE_DIST";

/// The cache directory of pyworkerd (distributions go to
/// `$PYWORKERD_CACHE/pyodide/<version>/`). When unset, the user's cache
/// directory is used.
pub const PYWORKERD_CACHE: &str = "PYWORKERD_CACHE";

/// The XDG base directory for caches, honoured on Linux and other Unixes.
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";

/// The user's home directory, the fallback for the cache directory.
pub const HOME: &str = "HOME";

/// The per-user application data directory on Windows.
pub const LOCALAPPDATA: &str = "LOCALAPPDATA";

/// The Pyodide version `pyworkerd` runs when none is given on the command line.
pub const PYWORKERD_PYODIDE_VERSION: &str = "PYWORKERD_PYODIDE_VERSION";

/// The base URL of a mirror of Pyodide's built packages: the `file_name`s
/// in the release's `pyodide-lock.json` are fetched relative to it
/// (`pyworkerd run --lock-base-url` takes precedence). No host is built in.
pub const PYWORKERD_LOCK_BASE_URL: &str = "PYWORKERD_LOCK_BASE_URL";
