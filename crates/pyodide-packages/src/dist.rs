//! The Pyodide distribution: fetch the npm tarball of a pinned release,
//! verify its sha512 before anything is unpacked, extract it atomically into
//! the cache, and find it there again without touching the network.
//!
//! Layout: `<cache root>/pyodide/<version>/` holds the files of the tarball's
//! `package/` directory plus a manifest (`.pyworkerd-manifest.json`) with the
//! size and sha256 of each. Work in progress lives in hidden `.download-*`
//! and `.extract-*` directories beside it, which are renamed or removed, so a
//! version directory is either complete or absent.
//!
//! This module knows nothing of terminals: progress is reported as [`Event`]s
//! to a callback, and the caller decides how to show them.

mod cache;
mod error;
mod extract;
mod source;
pub(crate) use source::is_unreachable;
mod versions;

#[cfg(test)]
mod tests;

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha512};

pub use cache::cache_root;
pub use error::Error;
pub use source::{NPM_PACKAGE, Source};
pub use versions::{KNOWN_VERSIONS, KnownVersion, PythonVersion, default_version, known_version};

use cache::Manifest;
use error::{io_error, write_error};

/// The Emscripten-compiled CPython (the main wasm module).
pub const ASM_WASM: &str = "pyodide.asm.wasm";
/// The zipped Python standard library.
pub const STDLIB_ZIP: &str = "python_stdlib.zip";
/// The lock file listing the packages built for this release.
pub const LOCK_FILE: &str = "pyodide-lock.json";

/// Files every distribution must contain; a tarball without them is refused.
pub const REQUIRED_FILES: &[&str] = &[ASM_WASM, STDLIB_ZIP, LOCK_FILE];

/// The directory below the cache root that holds one directory per version.
const DIST_DIR: &str = "pyodide";

/// A step of fetching that may take a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// `npm pack` is running.
    NpmPack,
    /// A URL is being downloaded; [`Event::Downloaded`] follows.
    Downloading,
    /// The tarball's sha512 is being checked.
    Verifying,
    /// The tarball is being unpacked.
    Extracting,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::NpmPack => "running npm pack",
            Phase::Downloading => "downloading",
            Phase::Verifying => "verifying",
            Phase::Extracting => "extracting",
        })
    }
}

/// Something [`ensure`] reports while it works.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A phase started.
    PhaseStarted(Phase),
    /// Bytes of a URL downloaded so far, and the total when the server said.
    Downloaded {
        /// Bytes received so far.
        bytes: u64,
        /// The announced length (`Content-Length`), if any.
        total: Option<u64>,
    },
    /// A cached distribution did not match its manifest; it is being removed
    /// and fetched again. Reported once per damaged directory.
    CacheDamaged {
        /// The directory that was damaged.
        dir: PathBuf,
        /// What was wrong, e.g. `"pyodide.asm.wasm" is missing`.
        problem: String,
    },
}

/// A verified Pyodide distribution in the cache.
#[derive(Debug, Clone)]
pub struct Distribution {
    version: KnownVersion,
    dir: PathBuf,
    manifest: Manifest,
    was_cached: bool,
}

impl Distribution {
    /// The release this is.
    pub fn version(&self) -> &KnownVersion {
        &self.version
    }

    /// The directory holding the distribution's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `pyodide.asm.wasm`, the Emscripten-compiled CPython.
    pub fn asm_wasm(&self) -> PathBuf {
        self.dir.join(ASM_WASM)
    }

    /// `python_stdlib.zip`, the standard library.
    pub fn stdlib_zip(&self) -> PathBuf {
        self.dir.join(STDLIB_ZIP)
    }

    /// `pyodide-lock.json`, the package lock file.
    pub fn lock_file(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    /// Whether the distribution was already in the cache (no source was used).
    pub fn was_cached(&self) -> bool {
        self.was_cached
    }

    /// The sha256 (lowercase hex) of a file of the distribution, by its
    /// `/`-separated path relative to [`Distribution::dir`], as verified.
    /// Handy as a cache key (e.g. `file_sha256(ASM_WASM)`) without hashing again.
    pub fn file_sha256(&self, name: &str) -> Option<&str> {
        self.manifest
            .files
            .get(name)
            .map(|record| record.sha256.as_str())
    }

    /// The `/`-separated relative paths of all files of the distribution.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.manifest.files.keys().map(String::as_str)
    }
}

/// Makes sure `version` is in the cache below `cache_root` and returns it.
///
/// A cached copy whose files match its manifest is returned without touching
/// `source`. A damaged copy is reported ([`Event::CacheDamaged`]), removed and
/// fetched again. Otherwise the tarball is obtained from `source`, its sha512
/// checked against `version.integrity` (a mismatching download is deleted),
/// extracted into a private directory beside the final one, and renamed into
/// place. If another process installed the same version meanwhile, its copy
/// is verified and used, and ours is dropped.
pub fn ensure(
    version: &KnownVersion,
    cache_root: &Path,
    source: &Source,
    progress: &mut dyn FnMut(Event),
) -> Result<Distribution, Error> {
    check_version_name(version)?;
    let expected = versions::expected_sha512(version)?;
    let parent = cache_root.join(DIST_DIR);
    let final_dir = parent.join(version.version);

    if let Some(cached) = use_cached(version, &parent, &final_dir, progress)? {
        return Ok(cached);
    }

    fs::create_dir_all(&parent)
        .map_err(|e| write_error("create directory", &parent, &parent, e))?;
    remove_stale_work_dirs(&parent, STALE_AFTER);
    let download = private_dir(&parent, "download", version)?;
    let tarball = source::obtain(source, version, download.path(), &final_dir, progress)?;

    progress(Event::PhaseStarted(Phase::Verifying));
    let actual = sha512_of_file(&tarball.path)?;
    if actual != expected {
        let deleted = tarball.owned && fs::remove_file(&tarball.path).is_ok();
        return Err(Error::IntegrityMismatch {
            version: version.version.to_owned(),
            from: tarball.from,
            expected: version.integrity.to_owned(),
            actual: versions::sri_sha512(&actual),
            deleted,
        });
    }

    progress(Event::PhaseStarted(Phase::Extracting));
    let staging = private_dir(&parent, "extract", version)?;
    let files = extract::extract(&tarball.path, &tarball.from, staging.path())?;
    let missing: Vec<String> = REQUIRED_FILES
        .iter()
        .filter(|name| !files.contains_key(**name))
        .map(|name| (*name).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(Error::MissingFiles {
            version: version.version.to_owned(),
            from: tarball.from,
            missing,
        });
    }
    let manifest = Manifest::new(version, files);
    manifest.write(staging.path())?;
    // The tarball is no longer needed; a failure to delete it is harmless
    // (the directory is hidden and never read again).
    let _ = download.close();

    install(staging, version, manifest, &parent, &final_dir, progress)
}

/// [`ensure`] with the cache root from [`cache_root`], the source from
/// [`Source::from_env`] and no progress reports: what the runtime calls on
/// first use.
pub fn ensure_from_env(version: &KnownVersion) -> Result<Distribution, Error> {
    ensure(version, &cache_root()?, &Source::from_env(), &mut |_| {})
}

/// The distribution of `version` in the cache below `cache_root`, if one is
/// installed whose files have the sizes its manifest records; `None`
/// otherwise (then [`ensure`] repairs or fetches it). Cheap enough for every
/// start of the runtime: the contents were verified (sha512 of the tarball,
/// sha256 of every file) when the directory was installed, and [`ensure`]
/// verifies them again.
pub fn find_cached(version: &KnownVersion, cache_root: &Path) -> Option<Distribution> {
    check_version_name(version).ok()?;
    let dir = cache_root.join(DIST_DIR).join(version.version);
    let manifest = cache::verify_dir(&dir, version, cache::Check::Sizes).ok()?;
    Some(Distribution {
        version: *version,
        dir,
        manifest,
        was_cached: true,
    })
}

/// Refuses version names that are not one plain, visible path component:
/// they name a directory in the cache, next to our hidden work directories.
fn check_version_name(version: &KnownVersion) -> Result<(), Error> {
    let name = version.version;
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'));
    if plain {
        Ok(())
    } else {
        Err(Error::InvalidVersion {
            version: name.to_owned(),
        })
    }
}

/// Returns the cached distribution if it verifies; if the directory exists
/// but does not verify, reports and removes it.
fn use_cached(
    version: &KnownVersion,
    parent: &Path,
    final_dir: &Path,
    progress: &mut dyn FnMut(Event),
) -> Result<Option<Distribution>, Error> {
    match cache::verify_dir(final_dir, version, cache::Check::Contents) {
        Ok(manifest) => Ok(Some(Distribution {
            version: *version,
            dir: final_dir.to_path_buf(),
            manifest,
            was_cached: true,
        })),
        Err(problem) => {
            if fs::symlink_metadata(final_dir).is_ok() {
                progress(Event::CacheDamaged {
                    dir: final_dir.to_path_buf(),
                    problem,
                });
                remove_damaged(parent, final_dir, version)?;
            }
            Ok(None)
        }
    }
}

/// The names our work directories start with (see [`private_dir`]).
const WORK_DIR_PREFIXES: &[&str] = &[".download-", ".extract-", ".damaged-"];

/// Work directories untouched for this long were left by a process that was
/// killed; no fetch takes a day.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// Deletes work directories in `parent` older than `stale_after`. Best effort:
/// failing to clean up never fails a fetch.
fn remove_stale_work_dirs(parent: &Path, stale_after: std::time::Duration) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let ours = name.to_str().is_some_and(|name| {
            WORK_DIR_PREFIXES
                .iter()
                .any(|prefix| name.starts_with(prefix))
        });
        let stale = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age >= stale_after);
        if ours && stale {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// A fresh hidden directory in `parent`, removed when dropped.
fn private_dir(
    parent: &Path,
    purpose: &str,
    version: &KnownVersion,
) -> Result<tempfile::TempDir, Error> {
    tempfile::Builder::new()
        .prefix(&format!(".{purpose}-{}-", version.version))
        .tempdir_in(parent)
        .map_err(|e| write_error("create a directory in", parent, parent, e))
}

/// Moves a damaged version directory out of the way (one atomic rename, so
/// a concurrent reader sees it whole or not at all) and deletes it.
fn remove_damaged(parent: &Path, final_dir: &Path, version: &KnownVersion) -> Result<(), Error> {
    let trash = private_dir(parent, "damaged", version)?;
    match fs::rename(final_dir, trash.path().join(version.version)) {
        Ok(()) => {}
        // Someone else removed it first.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error("remove damaged directory", final_dir, e)),
    }
    trash
        .close()
        .map_err(|e| io_error("remove damaged directory", final_dir, e))
}

/// How many times a lost race against another process is retried.
const INSTALL_ATTEMPTS: usize = 3;

/// Renames the complete `staging` directory to `final_dir`. If another
/// process got there first, uses its copy when it verifies, else replaces it.
fn install(
    staging: tempfile::TempDir,
    version: &KnownVersion,
    manifest: Manifest,
    parent: &Path,
    final_dir: &Path,
    progress: &mut dyn FnMut(Event),
) -> Result<Distribution, Error> {
    let fetched = |dir: &Path, manifest| Distribution {
        version: *version,
        dir: dir.to_path_buf(),
        manifest,
        was_cached: false,
    };
    let mut last_error = None;
    for _ in 0..INSTALL_ATTEMPTS {
        match fs::rename(staging.path(), final_dir) {
            Ok(()) => {
                let _ = staging.keep();
                return Ok(fetched(final_dir, manifest));
            }
            Err(e) if fs::symlink_metadata(final_dir).is_ok() => {
                // Another process won the race; ours is dropped with `staging`.
                if let Some(winner) = use_cached(version, parent, final_dir, progress)? {
                    return Ok(fetched(final_dir, winner.manifest));
                }
                last_error = Some(e);
            }
            Err(e) => return Err(write_error("move into place", final_dir, parent, e)),
        }
    }
    let e = last_error.expect("the loop ran at least once");
    Err(write_error("move into place", final_dir, parent, e))
}

/// The sha512 of a file.
fn sha512_of_file(path: &Path) -> Result<[u8; versions::SHA512_LEN], Error> {
    let mut file = File::open(path).map_err(|e| io_error("open", path, e))?;
    let mut hasher = Sha512::new();
    let mut buffer = vec![0; 256 * 1024];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error("read", path, e)),
        }
    }
    Ok(hasher.finalize().into())
}
