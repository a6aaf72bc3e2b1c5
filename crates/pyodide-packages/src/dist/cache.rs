//! Where the cache is, and the manifest that lets a later run trust what an
//! earlier one extracted.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Error, KnownVersion, REQUIRED_FILES};
use crate::env_vars::{HOME, LOCALAPPDATA, PYWORKERD_CACHE, XDG_CACHE_HOME};

/// The application's directory name inside the user's cache directory.
const APP_DIR: &str = "pyworkerd";

/// The manifest's file name inside a distribution directory. It starts with a
/// dot so that no Pyodide file can have the same name by accident.
pub(crate) const MANIFEST_NAME: &str = ".pyworkerd-manifest.json";

/// The manifest format this code writes and accepts.
const MANIFEST_FORMAT: u32 = 1;

/// The root of pyworkerd's cache: `$PYWORKERD_CACHE` if set, else the user's
/// cache directory plus `pyworkerd` (`$XDG_CACHE_HOME/pyworkerd`, else
/// `~/.cache/pyworkerd`; `~/Library/Caches/pyworkerd` on macOS;
/// `%LOCALAPPDATA%\pyworkerd` on Windows).
///
/// A relative `$PYWORKERD_CACHE` is made absolute against the current
/// directory, so the paths handed out stay valid if it changes.
pub fn cache_root() -> Result<PathBuf, Error> {
    let root = cache_root_from(|name| std::env::var_os(name), std::env::consts::OS)?;
    Ok(std::path::absolute(&root).unwrap_or(root))
}

/// [`cache_root`] with the environment and the OS name given, for tests.
pub(crate) fn cache_root_from(
    var: impl Fn(&str) -> Option<OsString>,
    os: &str,
) -> Result<PathBuf, Error> {
    let non_empty = |name: &str| {
        var(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    if let Some(explicit) = non_empty(PYWORKERD_CACHE) {
        return Ok(explicit);
    }
    let base = match os {
        "macos" => non_empty(HOME).map(|home| home.join("Library").join("Caches")),
        "windows" => non_empty(LOCALAPPDATA),
        // The XDG spec says a relative value is to be ignored.
        _ => non_empty(XDG_CACHE_HOME)
            .filter(|dir| dir.is_absolute())
            .or_else(|| non_empty(HOME).map(|home| home.join(".cache"))),
    };
    base.map(|base| base.join(APP_DIR)).ok_or(Error::NoCacheDir)
}

/// The size and sha256 of one extracted file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileRecord {
    pub(crate) size: u64,
    /// Lowercase hex.
    pub(crate) sha256: String,
}

/// What a distribution directory holds, written last before the directory is
/// renamed into place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) format: u32,
    pub(crate) version: String,
    pub(crate) python: String,
    pub(crate) integrity: String,
    /// Relative paths with `/` separators, as in the tarball minus `package/`.
    pub(crate) files: BTreeMap<String, FileRecord>,
}

impl Manifest {
    pub(crate) fn new(version: &KnownVersion, files: BTreeMap<String, FileRecord>) -> Self {
        Manifest {
            format: MANIFEST_FORMAT,
            version: version.version.to_owned(),
            python: version.python.to_string(),
            integrity: version.integrity.to_owned(),
            files,
        }
    }

    /// Writes the manifest into `dir` (a directory nobody else sees yet).
    pub(crate) fn write(&self, dir: &Path) -> Result<(), Error> {
        let path = dir.join(MANIFEST_NAME);
        let json = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        let write = || -> io::Result<()> {
            let mut file = File::create(&path)?;
            io::Write::write_all(&mut file, &json)?;
            file.sync_all()
        };
        write().map_err(|e| super::error::write_error("write", &path, dir, e))
    }
}

/// Hashes a reader with sha256, returning the digest (hex) and the length.
pub(crate) fn sha256_of(mut reader: impl Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 256 * 1024];
    let mut size = 0u64;
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buffer[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// How much of a cached distribution [`verify_dir`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Sizes and sha256 of every file.
    Contents,
    /// Sizes only: for the runtime's start-up, after the contents were
    /// verified when the directory was installed.
    Sizes,
}

/// Checks a cached distribution directory against its manifest: same version
/// and integrity as asked for, every required file listed, and every listed
/// file present with its recorded size (and, with [`Check::Contents`], its
/// sha256). Returns the manifest, or a sentence saying what is wrong.
pub(crate) fn verify_dir(
    dir: &Path,
    version: &KnownVersion,
    check: Check,
) -> Result<Manifest, String> {
    let manifest_path = dir.join(MANIFEST_NAME);
    let bytes = fs::read(&manifest_path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => format!("its manifest \"{MANIFEST_NAME}\" is missing"),
        _ => format!("its manifest cannot be read: {e}"),
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| format!("its manifest is not valid: {e}"))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(format!(
            "its manifest has format {}, expected {MANIFEST_FORMAT}",
            manifest.format
        ));
    }
    if manifest.version != version.version || manifest.integrity != version.integrity {
        return Err(format!(
            "it holds pyodide {} with integrity {}, expected {} with {}",
            manifest.version, manifest.integrity, version.version, version.integrity
        ));
    }
    for required in REQUIRED_FILES {
        if !manifest.files.contains_key(*required) {
            return Err(format!("its manifest does not list \"{required}\""));
        }
    }
    for (name, record) in &manifest.files {
        let path = dir.join(name);
        let file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => format!("\"{name}\" is missing"),
            _ => format!("\"{name}\" cannot be read: {e}"),
        })?;
        let metadata = file
            .metadata()
            .map_err(|e| format!("\"{name}\" cannot be read: {e}"))?;
        if !metadata.is_file() {
            return Err(format!("\"{name}\" is not a regular file"));
        }
        if metadata.len() != record.size {
            return Err(format!(
                "\"{name}\" has {} bytes, expected {}",
                metadata.len(),
                record.size
            ));
        }
        if check == Check::Sizes {
            continue;
        }
        let (sha256, size) =
            sha256_of(file).map_err(|e| format!("\"{name}\" cannot be read: {e}"))?;
        if size != record.size || sha256 != record.sha256 {
            return Err(format!(
                "\"{name}\" has sha256 {sha256}, expected {}",
                record.sha256
            ));
        }
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn root(vars: &[(&str, &str)], os: &str) -> Result<PathBuf, Error> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        cache_root_from(|name| vars.get(name).cloned(), os)
    }

    #[test]
    fn explicit_cache_wins_everywhere() {
        for os in ["linux", "macos", "windows"] {
            let got = root(&[(PYWORKERD_CACHE, "/c"), (HOME, "/h")], os).unwrap();
            assert_eq!(got, PathBuf::from("/c"));
        }
    }

    #[test]
    fn linux_uses_xdg_then_home() {
        let xdg = root(&[(XDG_CACHE_HOME, "/x"), (HOME, "/h")], "linux").unwrap();
        assert_eq!(xdg, PathBuf::from("/x/pyworkerd"));
        let home = root(&[(HOME, "/h")], "linux").unwrap();
        assert_eq!(home, PathBuf::from("/h/.cache/pyworkerd"));
        // Empty and relative XDG values are ignored, as the spec says.
        let relative = root(&[(XDG_CACHE_HOME, "rel"), (HOME, "/h")], "linux").unwrap();
        assert_eq!(relative, PathBuf::from("/h/.cache/pyworkerd"));
        let empty = root(&[(PYWORKERD_CACHE, ""), (HOME, "/h")], "linux").unwrap();
        assert_eq!(empty, PathBuf::from("/h/.cache/pyworkerd"));
    }

    #[test]
    fn macos_uses_library_caches() {
        let got = root(&[(XDG_CACHE_HOME, "/x"), (HOME, "/h")], "macos").unwrap();
        assert_eq!(got, PathBuf::from("/h/Library/Caches/pyworkerd"));
    }

    #[test]
    fn no_home_is_an_error_naming_the_variable() {
        let error = root(&[], "linux").unwrap_err();
        assert!(matches!(error, Error::NoCacheDir));
        assert_eq!(
            error.to_string(),
            "cannot determine a cache directory; set PYWORKERD_CACHE (or HOME)"
        );
    }
}
