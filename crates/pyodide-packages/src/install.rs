//! Installing wheels without unpacking them: [`Wheel::open`] verifies a wheel
//! file (sha256, zip structure, entry paths, `.dist-info`), and [`plan`] says
//! where each member goes in the guest, as read-only mounts the embedder
//! builds with `pyodide_vfs::Vfs::mount_zip_union` (one mount per
//! [`PlannedMount`], one `ZipPlacement` per [`PlannedFile`]).
//!
//! Layout follows what installers do: the wheel's root (purelib or platlib,
//! Pyodide has one `site-packages`) and `{name}-{version}.data/purelib|platlib`
//! go to `site-packages`, `.data/scripts` to the scripts directory,
//! `.data/headers` to the headers directory under the project's name, and
//! `.data/data` below the prefix. The `.dist-info` directory is kept, so
//! `importlib.metadata` finds the distribution.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::name::normalize;
use crate::requirements::{Requirement, RequirementError};
use crate::wheel::{WheelError, WheelName};

/// Why a wheel could not be opened or placed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// The wheel file could not be read.
    #[error("cannot read wheel \"{path}\": {source}", path = path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file name is not a wheel name.
    #[error(transparent)]
    Name(#[from] WheelError),
    /// The file's sha256 is not the expected one; the file is not used.
    #[error("sha256 mismatch for wheel \"{wheel}\": expected {expected}, got {actual}")]
    HashMismatch {
        /// The wheel (path or file name).
        wheel: String,
        /// The expected sha256 (lowercase hex).
        expected: String,
        /// The file's sha256.
        actual: String,
    },
    /// An expected sha256 that is not 64 hex digits.
    #[error("invalid sha256 \"{value}\" given for wheel \"{wheel}\"")]
    BadHash {
        /// The wheel.
        wheel: String,
        /// The value given.
        value: String,
    },
    /// The file is not a readable zip archive.
    #[error("wheel \"{wheel}\" is not a valid zip archive: {detail}")]
    Corrupt {
        /// The wheel.
        wheel: String,
        /// What is wrong.
        detail: String,
    },
    /// An entry would land outside its directory, or is otherwise unsafe.
    #[error("wheel \"{wheel}\" has an unsafe entry \"{entry}\": {reason}")]
    UnsafeEntry {
        /// The wheel.
        wheel: String,
        /// The entry's name as stored.
        entry: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The `.dist-info` directory or one of its files is missing or malformed.
    #[error("wheel \"{wheel}\": {detail}")]
    Metadata {
        /// The wheel.
        wheel: String,
        /// What is wrong.
        detail: String,
    },
    /// Two wheels put a file and a directory at one path.
    #[error(
        "wheels \"{first}\" and \"{second}\" conflict at \"{path}\": one has a file where the \
         other has a directory"
    )]
    Conflict {
        /// The guest path.
        path: String,
        /// The earlier wheel.
        first: String,
        /// The later wheel.
        second: String,
    },
    /// A data directory of one wheel would be mounted inside or around another mount.
    #[error(
        "wheel \"{wheel}\" puts data files in \"{point}\", which overlaps the mount at \"{other}\""
    )]
    NestedMount {
        /// The wheel.
        wheel: String,
        /// Its data mount point.
        point: String,
        /// The other mount point.
        other: String,
    },
    /// A `Requires-Dist` line is malformed.
    #[error("wheel \"{wheel}\": bad Requires-Dist: {source}")]
    Requirement {
        /// The wheel.
        wheel: String,
        /// The parse error.
        source: RequirementError,
    },
}

/// Where a member of a wheel goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scheme {
    /// `site-packages` (purelib and platlib are the same directory in Pyodide).
    SitePackages,
    /// Executable scripts (`.data/scripts`).
    Scripts,
    /// C headers (`.data/headers`), below a directory named after the project.
    Headers,
    /// Anything else (`.data/data`), below the prefix.
    Data,
}

/// One member of a wheel and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The directory it goes to.
    pub scheme: Scheme,
    /// Its `/`-separated path relative to that directory.
    pub path: String,
    /// The member's name in the wheel.
    pub entry: String,
}

/// The parts of `METADATA` the resolver uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `Name`.
    pub name: String,
    /// `Version`.
    pub version: String,
    /// `Requires-Dist` lines, as written.
    pub requires_dist: Vec<String>,
    /// `Provides-Extra` values.
    pub provides_extra: Vec<String>,
}

/// A verified wheel held in memory.
#[derive(Debug, Clone)]
pub struct Wheel {
    name: WheelName,
    origin: String,
    sha256: String,
    bytes: Arc<[u8]>,
    dist_info: String,
    metadata: Metadata,
    placements: Vec<Placement>,
}

/// The sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks that `value` is 64 hex digits and returns it in lowercase.
pub(crate) fn check_sha256(value: &str) -> Option<String> {
    (value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| value.to_ascii_lowercase())
}

impl Wheel {
    /// Reads the wheel at `path`, checks its sha256 against `expected_sha256`
    /// (lowercase or uppercase hex) when given, and validates it as [`Wheel::from_bytes`] does.
    pub fn open(path: &Path, expected_sha256: Option<&str>) -> Result<Wheel, InstallError> {
        let (file, bytes) = read_archive(path)?;
        Wheel::from_bytes(&file, &path.display().to_string(), bytes, expected_sha256)
    }

    /// Validates a wheel held in memory: `file_name` is its wheel file name,
    /// `origin` names it in errors (a path or URL). The sha256 is checked
    /// first, before the bytes are parsed; then the zip's central directory,
    /// every entry path (no `..`, no absolute path, no backslash, no symlink
    /// leaving its directory, no duplicate), the one `.dist-info` directory
    /// with `WHEEL` (version 1.x) and `METADATA` (name matching the file
    /// name), and the `.data` schemes.
    pub fn from_bytes(
        file_name: &str,
        origin: &str,
        bytes: Arc<[u8]>,
        expected_sha256: Option<&str>,
    ) -> Result<Wheel, InstallError> {
        let name = WheelName::parse(file_name)?;
        let Opened {
            actual,
            mut archive,
            entries,
        } = open_zip(origin, &bytes, expected_sha256)?;
        let corrupt = |detail: String| InstallError::Corrupt {
            wheel: origin.to_owned(),
            detail,
        };
        let unsafe_entry = |entry: &str, reason| InstallError::UnsafeEntry {
            wheel: origin.to_owned(),
            entry: entry.to_owned(),
            reason,
        };
        let meta_err = |detail: String| InstallError::Metadata {
            wheel: origin.to_owned(),
            detail,
        };

        // The one .dist-info directory at the top.
        let mut dist_infos: Vec<&str> = entries
            .iter()
            .filter_map(|(_, e, _, _)| e.split('/').next().filter(|_| e.contains('/')))
            .filter(|top| top.ends_with(".dist-info"))
            .collect();
        dist_infos.sort_unstable();
        dist_infos.dedup();
        let dist_info = match dist_infos.as_slice() {
            [one] => (*one).to_owned(),
            [] => return Err(meta_err("no .dist-info directory".to_owned())),
            many => {
                return Err(meta_err(format!(
                    "several .dist-info directories: {}",
                    many.join(", ")
                )));
            }
        };
        let stem = dist_info.trim_end_matches(".dist-info");
        let dist_project = stem.rsplit_once('-').map_or(stem, |(n, _)| n);
        if normalize(dist_project) != name.project() {
            return Err(meta_err(format!(
                "the .dist-info directory \"{dist_info}\" does not match the file name's project \"{}\"",
                name.distribution
            )));
        }
        let data_dir = format!("{stem}.data");

        let mut read_text = |member: &str| -> Result<String, InstallError> {
            let path = format!("{dist_info}/{member}");
            let mut file = archive
                .by_name(&path)
                .map_err(|_| meta_err(format!("\"{path}\" is missing")))?;
            let mut text = String::new();
            (&mut file)
                .take(16 << 20)
                .read_to_string(&mut text)
                .map_err(|e| corrupt(format!("\"{path}\": {e}")))?;
            Ok(text)
        };
        let wheel_file = read_text("WHEEL")?;
        let headers = parse_headers(&wheel_file);
        let wheel_version = headers
            .get("wheel-version")
            .and_then(|v| v.first())
            .ok_or_else(|| meta_err(format!("\"{dist_info}/WHEEL\" has no Wheel-Version")))?;
        if wheel_version.split('.').next() != Some("1") {
            return Err(meta_err(format!(
                "Wheel-Version {wheel_version} is not supported (only 1.x)"
            )));
        }
        let metadata_text = read_text("METADATA")?;
        let fields = parse_headers(&metadata_text);
        let field = |key: &str| fields.get(key).and_then(|v| v.first()).cloned();
        let metadata = Metadata {
            name: field("name")
                .ok_or_else(|| meta_err(format!("\"{dist_info}/METADATA\" has no Name")))?,
            version: field("version")
                .ok_or_else(|| meta_err(format!("\"{dist_info}/METADATA\" has no Version")))?,
            requires_dist: fields.get("requires-dist").cloned().unwrap_or_default(),
            provides_extra: fields.get("provides-extra").cloned().unwrap_or_default(),
        };
        if normalize(&metadata.name) != name.project() {
            return Err(meta_err(format!(
                "METADATA names \"{}\", the file name \"{}\"",
                metadata.name, name.distribution
            )));
        }

        // Placements.
        let mut placements = Vec::new();
        for (index, entry, is_dir, is_symlink) in &entries {
            if *is_dir {
                continue;
            }
            let (scheme, path) = match entry.strip_prefix(&format!("{data_dir}/")) {
                Some(rest) => {
                    let (scheme_name, path) = rest.split_once('/').ok_or_else(|| {
                        unsafe_entry(entry, "file directly in the .data directory")
                    })?;
                    let scheme = match scheme_name {
                        "purelib" | "platlib" => Scheme::SitePackages,
                        "scripts" => Scheme::Scripts,
                        "headers" => Scheme::Headers,
                        "data" => Scheme::Data,
                        _ => {
                            return Err(unsafe_entry(
                                entry,
                                "unknown .data scheme (expected purelib, platlib, scripts, headers or data)",
                            ));
                        }
                    };
                    let path = if scheme == Scheme::Headers {
                        format!("{}/{path}", name.distribution)
                    } else {
                        path.to_owned()
                    };
                    (scheme, path)
                }
                None => (Scheme::SitePackages, entry.clone()),
            };
            let path = path.trim_start_matches("./").to_owned();
            if path.is_empty() {
                return Err(unsafe_entry(entry, "empty path"));
            }
            if scheme == Scheme::Data && !path.contains('/') {
                return Err(unsafe_entry(
                    entry,
                    "data files must be inside a directory (a file directly in the prefix is not supported)",
                ));
            }
            if *is_symlink {
                check_symlink_member(&mut archive, *index, entry, &path, origin)?;
            }
            placements.push(Placement {
                scheme,
                path,
                entry: entry.clone(),
            });
        }
        Ok(Wheel {
            name,
            origin: origin.to_owned(),
            sha256: actual,
            bytes,
            dist_info,
            metadata,
            placements,
        })
    }

    /// The parsed file name.
    pub fn name(&self) -> &WheelName {
        &self.name
    }

    /// The wheel's file name (`pkg-1.0-py3-none-any.whl`), what the VFS should call the archive.
    pub fn file_name(&self) -> &str {
        &self.name.file
    }

    /// Where the wheel came from (a path or URL), as errors name it.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The file's sha256, lowercase hex (verified when one was expected).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The wheel's bytes, to hand to `pyodide_vfs::ZipSource::new`.
    pub fn bytes(&self) -> &Arc<[u8]> {
        &self.bytes
    }

    /// The `.dist-info` directory name.
    pub fn dist_info(&self) -> &str {
        &self.dist_info
    }

    /// `METADATA`'s name, version and requirements.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Every file member and where it goes (directories are implied).
    pub fn placements(&self) -> &[Placement] {
        &self.placements
    }

    /// The parsed `Requires-Dist` requirements (markers not yet evaluated).
    pub fn requirements(&self) -> Result<Vec<Requirement>, InstallError> {
        self.metadata
            .requires_dist
            .iter()
            .map(|line| {
                Requirement::parse(line).map_err(|source| InstallError::Requirement {
                    wheel: self.origin.clone(),
                    source,
                })
            })
            .collect()
    }
}

/// A zip whose sha256 and entry paths were checked.
struct Opened {
    actual: String,
    archive: zip::ZipArchive<Cursor<Arc<[u8]>>>,
    /// (index, name, is a directory, is a symlink) of every entry.
    entries: Vec<(usize, String, bool, bool)>,
}

/// Checks the sha256 (before parsing anything), opens the zip, and checks
/// every entry path.
fn open_zip(
    origin: &str,
    bytes: &Arc<[u8]>,
    expected_sha256: Option<&str>,
) -> Result<Opened, InstallError> {
    let actual = sha256_hex(bytes);
    if let Some(expected) = expected_sha256 {
        let expected = check_sha256(expected).ok_or_else(|| InstallError::BadHash {
            wheel: origin.to_owned(),
            value: expected.to_owned(),
        })?;
        if expected != actual {
            return Err(InstallError::HashMismatch {
                wheel: origin.to_owned(),
                expected,
                actual,
            });
        }
    }
    let corrupt = |detail: String| InstallError::Corrupt {
        wheel: origin.to_owned(),
        detail,
    };
    let unsafe_entry = |entry: &str, reason| InstallError::UnsafeEntry {
        wheel: origin.to_owned(),
        entry: entry.to_owned(),
        reason,
    };
    let archive =
        zip::ZipArchive::new(Cursor::new(bytes.clone())).map_err(|e| corrupt(e.to_string()))?;
    if archive.has_duplicate_names() {
        return Err(corrupt("it has duplicate entry names".to_owned()));
    }
    let mut entries = Vec::new();
    for index in 0..archive.len() {
        let entry = archive
            .by_index_data(index)
            .map_err(|e| corrupt(e.to_string()))?;
        let raw = entry.name_raw();
        let entry_name = std::str::from_utf8(raw)
            .map_err(|_| unsafe_entry(&String::from_utf8_lossy(raw), "name is not UTF-8"))?
            .to_owned();
        check_entry_path(&entry_name).map_err(|reason| unsafe_entry(&entry_name, reason))?;
        entries.push((index, entry_name, entry.is_dir(), entry.is_symlink()));
    }
    Ok(Opened {
        actual,
        archive,
        entries,
    })
}

/// Refuses a symlink member placed at `path` whose target leaves its directory.
fn check_symlink_member(
    archive: &mut zip::ZipArchive<Cursor<Arc<[u8]>>>,
    index: usize,
    entry: &str,
    path: &str,
    origin: &str,
) -> Result<(), InstallError> {
    let corrupt = |detail: String| InstallError::Corrupt {
        wheel: origin.to_owned(),
        detail,
    };
    let mut file = archive
        .by_index(index)
        .map_err(|e| corrupt(e.to_string()))?;
    let mut target = Vec::new();
    (&mut file)
        .take(4096)
        .read_to_end(&mut target)
        .map_err(|e| corrupt(format!("\"{entry}\": {e}")))?;
    if symlink_stays_inside(path, &target) {
        Ok(())
    } else {
        Err(InstallError::UnsafeEntry {
            wheel: origin.to_owned(),
            entry: entry.to_owned(),
            reason: "symlink target leaves its directory",
        })
    }
}

/// A zip of shared libraries from the lock file (`package_type:
/// shared_library`, e.g. `libopenblas-0.3.31.zip`): Pyodide unpacks it into
/// its dynamic library directory (`/usr/lib`), which [`plan_libraries`]
/// turns into a mount.
#[derive(Debug, Clone)]
pub struct LibraryArchive {
    file_name: String,
    origin: String,
    sha256: String,
    bytes: Arc<[u8]>,
    files: Vec<String>,
}

impl LibraryArchive {
    /// Reads and checks the archive at `path` as [`LibraryArchive::from_bytes`] does.
    pub fn open(
        path: &Path,
        expected_sha256: Option<&str>,
    ) -> Result<LibraryArchive, InstallError> {
        let (file, bytes) = read_archive(path)?;
        LibraryArchive::from_bytes(&file, &path.display().to_string(), bytes, expected_sha256)
    }

    /// Checks the sha256 first, then the zip and every entry path, as for wheels.
    pub fn from_bytes(
        file_name: &str,
        origin: &str,
        bytes: Arc<[u8]>,
        expected_sha256: Option<&str>,
    ) -> Result<LibraryArchive, InstallError> {
        let Opened {
            actual,
            mut archive,
            entries,
        } = open_zip(origin, &bytes, expected_sha256)?;
        let mut files = Vec::new();
        for (index, entry, is_dir, is_symlink) in entries {
            if is_dir {
                continue;
            }
            if is_symlink {
                check_symlink_member(&mut archive, index, &entry, &entry, origin)?;
            }
            files.push(entry);
        }
        Ok(LibraryArchive {
            file_name: file_name.to_owned(),
            origin: origin.to_owned(),
            sha256: actual,
            bytes,
            files,
        })
    }

    /// The file name, what the VFS should call the archive.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// Where it came from, as errors name it.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Its sha256 (verified when one was expected).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The bytes, for `pyodide_vfs::ZipSource::new`.
    pub fn bytes(&self) -> &Arc<[u8]> {
        &self.bytes
    }

    /// The file members, each placed at its own path.
    pub fn files(&self) -> &[String] {
        &self.files
    }
}

/// One mount at `dir` (e.g. [`SchemePaths::dynlib`]) holding every member
/// of `libraries`, later archives overwriting earlier ones' files;
/// [`PlannedFile::wheel`] indexes `libraries`.
pub fn plan_libraries(libraries: &[LibraryArchive], dir: &str) -> PlannedMount {
    PlannedMount {
        point: dir.to_owned(),
        files: libraries
            .iter()
            .enumerate()
            .flat_map(|(i, library)| {
                library.files.iter().map(move |f| PlannedFile {
                    wheel: i,
                    entry: f.clone(),
                    path: f.clone(),
                })
            })
            .collect(),
    }
}

/// Refuses entry paths that could land outside the directory they are
/// installed in, or that mean different things on different systems.
fn check_entry_path(entry: &str) -> Result<(), &'static str> {
    if entry.is_empty() {
        return Err("empty name");
    }
    if entry.starts_with('/') {
        return Err("absolute path");
    }
    if entry.contains('\\') {
        return Err("path contains a backslash");
    }
    if entry.contains('\0') {
        return Err("path contains a NUL byte");
    }
    let b = entry.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return Err("path starts with a drive letter");
    }
    if entry.split('/').any(|c| c == "..") {
        return Err("path contains \"..\"");
    }
    Ok(())
}

/// Whether a symlink at `link` (relative to its directory root) pointing to
/// `target` resolves inside that root.
fn symlink_stays_inside(link: &str, target: &[u8]) -> bool {
    if target.is_empty() || target.first() == Some(&b'/') || target.contains(&b'\\') {
        return false;
    }
    let mut depth = link
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .count() as i64
        - 1;
    for c in target.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => depth += 1,
        }
    }
    true
}

/// Parses RFC 822-style headers (`Key: value`, continuation lines start with
/// whitespace) up to the first blank line. Keys are lowercased; repeated keys
/// keep every value in order.
fn parse_headers(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(key) = &last
                && let Some(value) = out.get_mut(key).and_then(|v| v.last_mut())
            {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            let key = key.trim().to_ascii_lowercase();
            out.entry(key.clone())
                .or_default()
                .push(value.trim().to_owned());
            last = Some(key);
        }
    }
    out
}

/// The guest directories of the install schemes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemePaths {
    /// `site-packages`, e.g. `/lib/python3.14/site-packages`.
    pub site_packages: String,
    /// Scripts, e.g. `/bin`.
    pub scripts: String,
    /// Headers, e.g. `/include/site/python3.14` (a project's go below its name).
    pub headers: String,
    /// The prefix for data files, e.g. `/`.
    pub data: String,
    /// Where shared-library archives go, e.g. `/usr/lib`.
    pub dynlib: String,
}

impl SchemePaths {
    /// Pyodide's layout for CPython `python_version` (`3.14`): prefix `/`,
    /// `site-packages` in `/lib/python3.14`.
    pub fn pyodide(python_version: &str) -> SchemePaths {
        SchemePaths {
            site_packages: format!("/lib/python{python_version}/site-packages"),
            scripts: "/bin".to_owned(),
            headers: format!("/include/site/python{python_version}"),
            data: "/".to_owned(),
            dynlib: "/usr/lib".to_owned(),
        }
    }

    fn root(&self, scheme: Scheme) -> &str {
        match scheme {
            Scheme::SitePackages => &self.site_packages,
            Scheme::Scripts => &self.scripts,
            Scheme::Headers => &self.headers,
            Scheme::Data => &self.data,
        }
    }
}

/// One file of a planned mount: member `entry` of `wheels[wheel]` at `path`
/// (relative to the mount point). Maps one-to-one onto `pyodide_vfs::ZipPlacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// Index into the wheels given to [`plan`].
    pub wheel: usize,
    /// The member's name in that wheel.
    pub entry: String,
    /// The path below the mount point.
    pub path: String,
}

/// One read-only union mount: an absolute guest directory and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedMount {
    /// The absolute guest directory to mount at (must be empty or absent).
    pub point: String,
    /// The files, in wheel order.
    pub files: Vec<PlannedFile>,
}

/// A path two wheels both provide; the later wheel's file is the one mounted
/// (as installers overwrite).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overwrite {
    /// The absolute guest path.
    pub path: String,
    /// The wheel whose file is hidden.
    pub earlier: String,
    /// The wheel whose file is used.
    pub later: String,
}

/// Where every member of a set of wheels goes: one mount per scheme
/// directory (for data files below the prefix, one per top-level directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallPlan {
    /// The mounts, in a stable order (by mount point).
    pub mounts: Vec<PlannedMount>,
    /// Paths provided by more than one wheel.
    pub overwrites: Vec<Overwrite>,
}

fn join(root: &str, path: &str) -> String {
    if root.ends_with('/') {
        format!("{root}{path}")
    } else {
        format!("{root}/{path}")
    }
}

/// Lays out `wheels` (in install order) below `paths`. A path where one
/// wheel has a file and another a directory is an [`InstallError::Conflict`];
/// a file both have is reported in [`InstallPlan::overwrites`], the later
/// wheel winning.
pub fn plan(wheels: &[Wheel], paths: &SchemePaths) -> Result<InstallPlan, InstallError> {
    let mut mounts: BTreeMap<String, Vec<PlannedFile>> = BTreeMap::new();
    // Absolute guest path -> (wheel index, is a directory).
    let mut seen: BTreeMap<String, (usize, bool)> = BTreeMap::new();
    let mut overwrites = Vec::new();
    for (wheel_index, wheel) in wheels.iter().enumerate() {
        for placement in wheel.placements() {
            let root = paths.root(placement.scheme);
            let (point, relative) = if placement.scheme == Scheme::Data {
                let (top, rest) = placement
                    .path
                    .split_once('/')
                    .expect("data paths have a directory (checked when opened)");
                (join(root, top), rest.to_owned())
            } else {
                (
                    root.trim_end_matches('/').to_owned(),
                    placement.path.clone(),
                )
            };
            let absolute = join(&point, &relative);
            // Parents are directories; the file itself is a file.
            let components: Vec<&str> = absolute.split('/').collect();
            for end in 2..=components.len() {
                let prefix = components[..end].join("/");
                let is_dir = end < components.len();
                match seen.get(&prefix) {
                    Some(&(other, other_is_dir)) if other_is_dir != is_dir => {
                        return Err(InstallError::Conflict {
                            path: prefix,
                            first: wheels[other].file_name().to_owned(),
                            second: wheel.file_name().to_owned(),
                        });
                    }
                    Some(&(other, false)) if other != wheel_index => {
                        overwrites.push(Overwrite {
                            path: prefix.clone(),
                            earlier: wheels[other].file_name().to_owned(),
                            later: wheel.file_name().to_owned(),
                        });
                        seen.insert(prefix, (wheel_index, false));
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(prefix, (wheel_index, is_dir));
                    }
                }
            }
            mounts.entry(point).or_default().push(PlannedFile {
                wheel: wheel_index,
                entry: placement.entry.clone(),
                path: relative,
            });
        }
    }
    let points: Vec<&String> = mounts.keys().collect();
    for point in &points {
        for other in &points {
            if point != other && other.starts_with(&format!("{}/", point.trim_end_matches('/'))) {
                let wheel = mounts[*point]
                    .first()
                    .map(|f| wheels[f.wheel].file_name().to_owned())
                    .unwrap_or_default();
                return Err(InstallError::NestedMount {
                    wheel,
                    point: (*point).clone(),
                    other: (*other).clone(),
                });
            }
        }
    }
    Ok(InstallPlan {
        mounts: mounts
            .into_iter()
            .map(|(point, files)| PlannedMount { point, files })
            .collect(),
        overwrites,
    })
}

/// The file name and bytes of the archive at `path`, for `open`.
fn read_archive(path: &Path) -> Result<(String, Arc<[u8]>), InstallError> {
    let bytes = std::fs::read(path).map_err(|source| InstallError::Io {
        path: path.to_owned(),
        source,
    })?;
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((file, bytes.into()))
}

#[cfg(test)]
pub(crate) mod tests;
