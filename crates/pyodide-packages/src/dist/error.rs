//! The one error type of [`crate::dist`]: every way fetching, verifying or
//! caching a Pyodide distribution can fail, each with a message that tells the
//! user what to do.

use std::io;
use std::path::{Path, PathBuf};

use crate::env_vars::{PYODIDE_DIST, PYWORKERD_CACHE};

/// Why a Pyodide distribution could not be located, fetched or verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The requested version is not in [`crate::dist::KNOWN_VERSIONS`].
    #[error("unknown pyodide version \"{version}\"; known versions: {known}")]
    UnknownVersion {
        /// The version that was asked for.
        version: String,
        /// The known versions, comma-separated, default first.
        known: String,
    },

    /// A [`crate::dist::KnownVersion`] whose version cannot name a cache directory.
    #[error(
        "invalid pyodide version \"{version}\": use letters, digits, '.', '-', '+' and '_', \
         not starting with '.'"
    )]
    InvalidVersion {
        /// The version as given.
        version: String,
    },

    /// `npm` could not be started because it is not on `PATH`.
    #[error(
        "npm was not found on PATH; install Node.js (it brings npm) or set {PYODIDE_DIST} to the \
         path or URL of a pyodide tarball"
    )]
    NpmMissing,

    /// The version is not cached and the package registry or the download
    /// URL could not be reached.
    #[error(
        "pyodide {version} is not in the cache (\"{cache_dir}\") and the network cannot be \
         reached through {from} (offline?); try again online or set {PYODIDE_DIST} to a local \
         pyodide tarball: {detail}",
        cache_dir = cache_dir.display()
    )]
    Unreachable {
        /// The version being fetched.
        version: String,
        /// The directory the version would be cached in.
        cache_dir: PathBuf,
        /// Where the tarball was to come from, e.g. `npm pack pyodide@314.0.7`.
        from: String,
        /// npm's last lines of output, or the connection error.
        detail: String,
    },

    /// `npm pack` ran but failed for a reason other than the network.
    #[error("\"{command}\" failed ({status}): {detail}")]
    NpmFailed {
        /// The command that ran.
        command: String,
        /// How it exited.
        status: String,
        /// npm's last lines of output.
        detail: String,
    },

    /// `npm pack` succeeded but the tarball it wrote could not be found.
    #[error("\"{command}\" did not leave a tarball in \"{dir}\"", dir = dir.display())]
    NpmNoTarball {
        /// The command that ran.
        command: String,
        /// The directory it was told to write into.
        dir: PathBuf,
    },

    /// The URL answered, but not with the tarball.
    #[error("downloading \"{url}\" failed: {detail}")]
    DownloadFailed {
        /// The URL that was fetched.
        url: String,
        /// What went wrong (HTTP status, truncated body, ...).
        detail: String,
    },

    /// The tarball's sha512 is not the one pinned for this version.
    #[error(
        "integrity mismatch for pyodide {version} from {from}: expected {expected}, got \
         {actual}; {disposal}",
        disposal = if *deleted { "the download was deleted" } else { "the file was left in place" }
    )]
    IntegrityMismatch {
        /// The version being fetched.
        version: String,
        /// Where the tarball came from.
        from: String,
        /// The pinned SRI value (`sha512-<base64>`).
        expected: String,
        /// The SRI value of what was obtained.
        actual: String,
        /// Whether the bad file was a download of ours and has been deleted
        /// (a file the user pointed at is never deleted).
        deleted: bool,
    },

    /// A pinned integrity value is not of the form `sha512-<base64 of 64 bytes>`.
    #[error("invalid integrity value \"{value}\" for pyodide {version}: {reason}")]
    InvalidIntegrity {
        /// The version it belongs to.
        version: String,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The device holding a directory we write to is full (or over quota).
    #[error(
        "no space left on the device holding \"{dir}\"; free some space or set \
         {PYWORKERD_CACHE} to a directory on another disk",
        dir = dir.display()
    )]
    DiskFull {
        /// The directory being written.
        dir: PathBuf,
    },

    /// The tarball is not a gzip-compressed tar archive in npm's layout.
    #[error("malformed pyodide tarball from {from}: {reason}")]
    MalformedTarball {
        /// Where the tarball came from.
        from: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A tarball entry would escape the distribution directory or is not a
    /// regular file.
    #[error("refusing tarball entry \"{entry}\" from {from}: {reason}")]
    UnsafeEntry {
        /// The entry's path as stored in the archive.
        entry: String,
        /// Where the tarball came from.
        from: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// The tarball lacks files every Pyodide distribution has.
    #[error("pyodide {version} tarball from {from} lacks expected files: {missing}", missing = missing.join(", "))]
    MissingFiles {
        /// The version being fetched.
        version: String,
        /// Where the tarball came from.
        from: String,
        /// The missing file names.
        missing: Vec<String>,
    },

    /// No cache directory could be determined from the environment.
    #[error("cannot determine a cache directory; set {PYWORKERD_CACHE} (or HOME)")]
    NoCacheDir,

    /// Any other file-system failure, with the path it happened on.
    #[error("cannot {action} \"{path}\": {source}", path = path.display())]
    Io {
        /// What was being done, e.g. `create directory`.
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// `ENOSPC` has the same number on Linux and macOS.
#[cfg(unix)]
const ENOSPC: i32 = 28;

/// Whether an I/O error means the device is full or the user's quota is used up.
pub(crate) fn is_disk_full(error: &io::Error) -> bool {
    if matches!(
        error.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    ) {
        return true;
    }
    #[cfg(unix)]
    if error.raw_os_error() == Some(ENOSPC) {
        return true;
    }
    false
}

/// Turns an I/O error that happened while writing below `dir` into an
/// [`Error`]: [`Error::DiskFull`] naming `dir` when the disk is full,
/// [`Error::Io`] naming `path` otherwise.
pub(crate) fn write_error(
    action: &'static str,
    path: &Path,
    dir: &Path,
    source: io::Error,
) -> Error {
    if is_disk_full(&source) {
        Error::DiskFull {
            dir: dir.to_path_buf(),
        }
    } else {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// [`Error::Io`] for a failure that is not about writing.
pub(crate) fn io_error(action: &'static str, path: &Path, source: io::Error) -> Error {
    Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
