//! Where wheels come from, in order: local wheelhouse directories, the
//! project's `python_modules/` (an installed tree, used as is), a package
//! index the user configures (PEP 691 JSON or PEP 503 HTML), and the lock
//! file's packages from a base URL the user configures. No host is built in.
//!
//! [`Resolver::resolve`] turns requirements into verified wheel files on the
//! local disk plus the vendored distributions that satisfied requirements,
//! following each wheel's `Requires-Dist` (or the lock file's `depends`).
//! Downloads are verified against the sha256 the index or lock file gives
//! (a file without one is refused), written to a temporary name and renamed
//! into `<cache>/wheels/<sha256>/<file name>`; a mismatching download leaves
//! nothing behind. When the index cannot be reached, verified wheels already
//! in that cache are used, and an error says what is missing.

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::install::{
    InstallError, LibraryArchive, Overwrite, PlannedFile, PlannedMount, SchemePaths, Wheel,
    check_sha256, plan, sha256_hex,
};
use crate::lock::{InstallDir, LockFile, PackageType};
use crate::name::normalize;
use crate::requirements::{MarkerEnv, Requirement};
use crate::version::Version;
use crate::wheel::{Platform, WheelName};
use std::sync::Arc;

/// Why requirements could not be turned into wheels.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// No source has a wheel that fits.
    #[error("no usable wheel for \"{requirement}\"{by}: {tried}", by = required_by.as_ref().map(|b| format!(" (required by {b})")).unwrap_or_default(), tried = tried.join("; "))]
    NotFound {
        /// The requirement as written.
        requirement: String,
        /// The package that needs it, if not requested directly.
        required_by: Option<String>,
        /// What each source said.
        tried: Vec<String>,
    },
    /// Two requirements on one project cannot both hold (no backtracking).
    #[error("\"{requirement}\"{by} conflicts with {project} {chosen}, already chosen", by = required_by.as_ref().map(|b| format!(" (required by {b})")).unwrap_or_default())]
    Conflict {
        /// The project.
        project: String,
        /// The version chosen earlier.
        chosen: String,
        /// The later requirement.
        requirement: String,
        /// Who asked for it.
        required_by: Option<String>,
    },
    /// An HTTP request failed.
    #[error("fetching \"{url}\" failed: {detail}")]
    Http {
        /// The URL.
        url: String,
        /// What happened (status, connection error, truncated body).
        detail: String,
    },
    /// The index could not be reached at all (offline, refused, timed out).
    #[error("cannot reach \"{url}\" (offline?): {detail}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The connection error.
        detail: String,
    },
    /// An index page could not be understood.
    #[error("malformed index page \"{url}\": {detail}")]
    Index {
        /// The page's URL.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// The index lists a wheel without a sha256, so it cannot be verified.
    #[error(
        "index entry \"{url}\" has no sha256 (neither in the JSON hashes nor as #sha256=); refusing an unverifiable download"
    )]
    MissingHash {
        /// The file's URL.
        url: String,
    },
    /// A downloaded file's sha256 is not the one announced; it was deleted.
    #[error(
        "sha256 mismatch for \"{url}\": expected {expected}, got {actual}; the download was deleted"
    )]
    HashMismatch {
        /// The URL.
        url: String,
        /// The announced sha256.
        expected: String,
        /// The downloaded file's.
        actual: String,
    },
    /// A wheel was found but is not valid.
    #[error(transparent)]
    Wheel(#[from] InstallError),
    /// A local file or directory could not be read or written.
    #[error("cannot {action} \"{path}\": {source}", path = path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

fn io_err<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> SourceError + 'p {
    move |source| SourceError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Where to look for packages. Every field is optional except the cache.
#[derive(Debug, Clone, Default)]
pub struct PackageSources {
    /// Directories of `.whl` files, searched first and in order: the first
    /// directory with a fitting wheel for a requirement supplies it (earlier
    /// wins).
    pub wheelhouses: Vec<PathBuf>,
    /// The project's `python_modules/`: an installed tree (as the Workers
    /// tooling vendors it) whose `*.dist-info` satisfy requirements as they are.
    pub python_modules: Option<PathBuf>,
    /// A PEP 503/691 "simple" index base URL (`…/simple/`).
    pub index_url: Option<String>,
    /// The base URL the lock file's `file_name`s are relative to.
    pub lock_base_url: Option<String>,
    /// The cache root; downloads go to `<cache_root>/wheels/<sha256>/<file>`.
    pub cache_root: PathBuf,
}

/// Where a wheel was found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// A wheelhouse directory.
    Wheelhouse,
    /// The package index, with the file's URL.
    Index(String),
    /// The lock file's base URL, with the file's URL.
    Lock(String),
    /// The download cache, used because the index could not be reached.
    Cache,
}

/// A verified wheel on the local disk.
#[derive(Debug, Clone)]
pub struct ResolvedWheel {
    /// Normalised project name.
    pub project: String,
    /// The version.
    pub version: String,
    /// The local file (in the wheelhouse or the cache).
    pub path: PathBuf,
    /// Its sha256, verified.
    pub sha256: String,
    /// Where it came from.
    pub origin: Origin,
    /// The opened, validated wheel.
    pub wheel: Wheel,
}

/// A lock file package that is a plain zip rather than a wheel (a shared
/// library, or unvendored tests), verified on the local disk.
#[derive(Debug, Clone)]
pub struct ResolvedLibrary {
    /// Where Pyodide unpacks it: [`InstallDir::Dynlib`] is
    /// [`crate::install::SchemePaths::dynlib`], [`InstallDir::Site`] is `site-packages`.
    pub install_dir: InstallDir,
    /// Normalised project name, e.g. `libopenblas`.
    pub project: String,
    /// The version.
    pub version: String,
    /// The local file (in the cache).
    pub path: PathBuf,
    /// The URL it came from.
    pub url: String,
    /// The opened, checked archive (mount it with `install::plan_libraries`).
    pub archive: LibraryArchive,
}

/// A distribution already installed in `python_modules/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendoredDist {
    /// Normalised project name.
    pub project: String,
    /// The version from its METADATA.
    pub version: String,
    /// Its `.dist-info` directory.
    pub dist_info: PathBuf,
}

/// What [`Resolver::resolve`] found.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    /// Wheels to mount, in the order they were chosen (requested first, then
    /// their dependencies breadth first).
    pub wheels: Vec<ResolvedWheel>,
    /// Shared-library archives lock file packages depend on.
    pub libraries: Vec<ResolvedLibrary>,
    /// Requirements satisfied by `python_modules/`.
    pub vendored: Vec<VendoredDist>,
    /// The `python_modules/` directory to mount read-only and put on
    /// `sys.path`, when one was configured and exists.
    pub python_modules: Option<PathBuf>,
}

/// One archive of a [`MountSet`]: what `pyodide_vfs::ZipSource::new` takes.
#[derive(Debug, Clone)]
pub struct MountArchive {
    /// The archive's file name (errors name it).
    pub name: String,
    /// Its verified bytes.
    pub bytes: Arc<[u8]>,
}

/// Everything a [`Resolution`] needs mounted, ready for
/// `pyodide_vfs::Vfs::mount_zip_union`: call it once per mount with
/// `archives` (as `ZipSource`s) and the mount's files (as `ZipPlacement`s,
/// [`PlannedFile::wheel`] indexing `archives`).
#[derive(Debug, Clone)]
pub struct MountSet {
    /// The wheels, then the library archives.
    pub archives: Vec<MountArchive>,
    /// One read-only union mount per directory.
    pub mounts: Vec<PlannedMount>,
    /// Files several wheels provide (the later one is mounted).
    pub overwrites: Vec<Overwrite>,
}

impl Resolution {
    /// Lays out the resolved wheels and library archives with
    /// [`plan_mount_set`]. `python_modules` is not part of it: mount that
    /// directory read-only and put it on `sys.path`.
    pub fn mount_set(&self, paths: &SchemePaths) -> Result<MountSet, InstallError> {
        let wheels: Vec<Wheel> = self.wheels.iter().map(|w| w.wheel.clone()).collect();
        plan_mount_set(&wheels, &self.libraries, paths)
    }
}

/// Lays out `wheels` ([`crate::install::plan`], later wheels overwriting
/// earlier ones' files) and library archives (at [`SchemePaths::dynlib`] for
/// `install_dir: dynlib`, in `site-packages` otherwise, as Pyodide unpacks
/// them) as union mounts, sorted by mount point. The one layout planner:
/// [`Resolution::mount_set`] and embedders that hold wheels directly both
/// use it.
pub fn plan_mount_set(
    wheels: &[Wheel],
    libraries: &[ResolvedLibrary],
    paths: &SchemePaths,
) -> Result<MountSet, InstallError> {
    let planned = plan(wheels, paths)?;
    let mut mounts = planned.mounts;
    let mut archives: Vec<MountArchive> = wheels
        .iter()
        .map(|w| MountArchive {
            name: w.file_name().to_owned(),
            bytes: w.bytes().clone(),
        })
        .collect();
    for library in libraries {
        let index = archives.len();
        archives.push(MountArchive {
            name: library.archive.file_name().to_owned(),
            bytes: library.archive.bytes().clone(),
        });
        let point = match library.install_dir {
            InstallDir::Dynlib => paths.dynlib.trim_end_matches('/').to_owned(),
            _ => paths.site_packages.trim_end_matches('/').to_owned(),
        };
        let files = library.archive.files().iter().map(|f| PlannedFile {
            wheel: index,
            entry: f.clone(),
            path: f.clone(),
        });
        match mounts.iter_mut().find(|m| m.point == point) {
            Some(mount) => mount.files.extend(files),
            None => mounts.push(PlannedMount {
                point,
                files: files.collect(),
            }),
        }
    }
    mounts.sort_by(|a, b| a.point.cmp(&b.point));
    Ok(MountSet {
        archives,
        mounts,
        overwrites: planned.overwrites,
    })
}

/// Something the resolver reports while it works.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A download started.
    Downloading {
        /// The URL.
        url: String,
    },
    /// Bytes of the current download so far.
    Downloaded {
        /// Bytes so far.
        bytes: u64,
        /// `Content-Length`, if given.
        total: Option<u64>,
    },
    /// A verified file from the cache is used instead of downloading.
    Cached {
        /// The cached file.
        path: PathBuf,
    },
}

/// A candidate file from an index page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    /// The file name.
    pub filename: String,
    /// The absolute URL, without fragment.
    pub url: String,
    /// The sha256 the index gives, if any.
    pub sha256: Option<String>,
    /// Whether the file is yanked.
    pub yanked: bool,
    /// The `Requires-Python` the index gives, if any (e.g. `>=3.9`).
    pub requires_python: Option<String>,
}

/// Turns requirements into wheels using [`PackageSources`].
pub struct Resolver<'a> {
    sources: &'a PackageSources,
    platform: Platform,
    lock: Option<&'a LockFile>,
    env: MarkerEnv,
    progress: Box<dyn FnMut(Event) + 'a>,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Resolver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("sources", &self.sources)
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Index pages larger than this are refused.
const MAX_INDEX_PAGE: u64 = 64 << 20;

enum Found {
    Wheel(Box<ResolvedWheel>, Vec<(Requirement, Vec<String>)>),
    Library(Box<ResolvedLibrary>, Vec<(Requirement, Vec<String>)>),
    Vendored(VendoredDist),
}

impl<'a> Resolver<'a> {
    /// A resolver for `platform`; `lock` enables the lock-file source (with
    /// [`PackageSources::lock_base_url`]); markers are evaluated for
    /// CPython `python_full_version` on Emscripten.
    pub fn new(
        sources: &'a PackageSources,
        platform: Platform,
        lock: Option<&'a LockFile>,
        python_full_version: &str,
    ) -> Resolver<'a> {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_per_read(Some(READ_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Resolver {
            sources,
            platform,
            lock,
            env: MarkerEnv::pyodide(python_full_version),
            progress: Box::new(|_| {}),
            agent,
        }
    }

    /// Reports [`Event`]s to `progress`.
    pub fn with_progress(mut self, progress: impl FnMut(Event) + 'a) -> Resolver<'a> {
        self.progress = Box::new(progress);
        self
    }

    /// Finds a wheel (or vendored distribution) for every requirement whose
    /// marker applies, and for their dependencies, trying the sources in
    /// order for each. The first choice for a project stands: a later
    /// requirement it does not satisfy is a [`SourceError::Conflict`].
    pub fn resolve(&mut self, requirements: &[Requirement]) -> Result<Resolution, SourceError> {
        let mut resolution = Resolution {
            python_modules: self.sources.python_modules.clone().filter(|d| d.is_dir()),
            ..Resolution::default()
        };
        let vendored = match &resolution.python_modules {
            Some(dir) => scan_vendored(dir)?,
            None => BTreeMap::new(),
        };
        let mut chosen: BTreeMap<String, String> = BTreeMap::new();
        let mut queue: VecDeque<(Requirement, Vec<String>, Option<String>)> = requirements
            .iter()
            .map(|r| (r.clone(), r.extras.clone(), None))
            .collect();
        while let Some((requirement, extras, required_by)) = queue.pop_front() {
            // Dependencies were filtered by their markers when they were queued.
            if required_by.is_none() && !requirement.applies(&self.env, &[]) {
                continue;
            }
            let key = requirement.key();
            if let Some(version) = chosen.get(&key) {
                let satisfied = Version::parse(version)
                    .map(|v| requirement.specifiers.contains_prerelease(&v))
                    .unwrap_or(requirement.specifiers.is_empty());
                if !satisfied {
                    return Err(SourceError::Conflict {
                        project: key,
                        chosen: version.clone(),
                        requirement: requirement.to_string(),
                        required_by,
                    });
                }
                continue;
            }
            match self.find(&requirement, &extras, required_by.as_deref(), &vendored)? {
                Found::Vendored(dist) => {
                    chosen.insert(key, dist.version.clone());
                    resolution.vendored.push(dist);
                }
                Found::Library(library, dependencies) => {
                    chosen.insert(key, library.version.clone());
                    let by = format!("{} {}", library.project, library.version);
                    for (dependency, dep_extras) in dependencies {
                        queue.push_back((dependency, dep_extras, Some(by.clone())));
                    }
                    resolution.libraries.push(*library);
                }
                Found::Wheel(wheel, dependencies) => {
                    chosen.insert(key, wheel.version.clone());
                    let by = format!("{} {}", wheel.project, wheel.version);
                    for (dependency, dep_extras) in dependencies {
                        queue.push_back((dependency, dep_extras, Some(by.clone())));
                    }
                    resolution.wheels.push(*wheel);
                }
            }
        }
        Ok(resolution)
    }

    fn find(
        &mut self,
        requirement: &Requirement,
        extras: &[String],
        required_by: Option<&str>,
        vendored: &BTreeMap<String, VendoredDist>,
    ) -> Result<Found, SourceError> {
        let key = requirement.key();
        let mut tried = Vec::new();
        // A lock file or python_modules offers one version: a pre-release is
        // acceptable there when the specifiers allow it.
        let accepts = |version: &str| {
            requirement.specifiers.is_empty()
                || Version::parse(version)
                    .is_ok_and(|v| requirement.specifiers.contains_prerelease(&v))
        };

        for dir in &self.sources.wheelhouses {
            if let Some(wheel) = self.search_wheelhouse(dir, requirement, &mut tried)? {
                return self.with_dependencies(wheel, extras);
            }
        }
        if self.sources.python_modules.is_some() {
            match vendored.get(&key) {
                Some(dist) if accepts(&dist.version) => return Ok(Found::Vendored(dist.clone())),
                Some(dist) => tried.push(format!(
                    "python_modules has {} {}",
                    dist.project, dist.version
                )),
                None => tried.push("not in python_modules".to_owned()),
            }
        }
        if let Some(index) = self.sources.index_url.clone()
            && let Some(wheel) = self.search_index(&index, requirement, &mut tried)?
        {
            return self.with_dependencies(wheel, extras);
        }
        if let Some(lock) = self.lock {
            match lock.get(&key) {
                Some(package) if !accepts(&package.version) => tried.push(format!(
                    "the lock file has {} {}",
                    package.name, package.version
                )),
                Some(package) => match self.sources.lock_base_url.clone() {
                    None => tried.push(format!(
                        "the lock file has {} {} but no base URL for its files is configured",
                        package.name, package.version
                    )),
                    Some(base) => {
                        let url = join_url(&base_dir(&base), &package.file_name);
                        let path = self.download(&url, &package.file_name, &package.sha256)?;
                        let dependencies = package
                            .depends
                            .iter()
                            .filter_map(|d| Requirement::parse(d).ok())
                            .map(|r| (r, Vec::new()))
                            .collect();
                        if package.package_type == PackageType::SharedLibrary
                            || !package.file_name.ends_with(".whl")
                        {
                            let archive = LibraryArchive::open(&path, Some(&package.sha256))?;
                            let library = ResolvedLibrary {
                                install_dir: package.install_dir.clone(),
                                project: key.clone(),
                                version: package.version.clone(),
                                path,
                                url,
                                archive,
                            };
                            return Ok(Found::Library(Box::new(library), dependencies));
                        }
                        let wheel = Wheel::open(&path, Some(&package.sha256))?;
                        self.platform
                            .check(wheel.name())
                            .map_err(|e| SourceError::NotFound {
                                requirement: requirement.to_string(),
                                required_by: required_by.map(str::to_owned),
                                tried: vec![e.to_string()],
                            })?;
                        let resolved = ResolvedWheel {
                            project: key.clone(),
                            version: package.version.clone(),
                            sha256: wheel.sha256().to_owned(),
                            path,
                            origin: Origin::Lock(url),
                            wheel,
                        };
                        return Ok(Found::Wheel(Box::new(resolved), dependencies));
                    }
                },
                None => tried.push("not in the lock file".to_owned()),
            }
        }
        if tried.is_empty() {
            tried.push("no package source is configured".to_owned());
        }
        Err(SourceError::NotFound {
            requirement: requirement.to_string(),
            required_by: required_by.map(str::to_owned),
            tried,
        })
    }

    /// The wheel's `Requires-Dist` that apply with `extras`, each with the
    /// extras it asks for.
    fn with_dependencies(
        &self,
        wheel: ResolvedWheel,
        extras: &[String],
    ) -> Result<Found, SourceError> {
        let dependencies = wheel
            .wheel
            .requirements()?
            .into_iter()
            .filter(|r| r.applies(&self.env, extras))
            .map(|r| {
                let extras = r.extras.clone();
                (r, extras)
            })
            .collect();
        Ok(Found::Wheel(Box::new(wheel), dependencies))
    }

    /// The best wheel in the wheelhouse: the highest allowed version, then
    /// the most specific tag.
    fn search_wheelhouse(
        &mut self,
        dir: &Path,
        requirement: &Requirement,
        tried: &mut Vec<String>,
    ) -> Result<Option<ResolvedWheel>, SourceError> {
        let key = requirement.key();
        let entries = fs::read_dir(dir).map_err(io_err("read the wheelhouse", dir))?;
        let mut candidates = Vec::new();
        let mut seen = Vec::new();
        let mut refused = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err("read the wheelhouse", dir))?;
            let file = entry.file_name().to_string_lossy().into_owned();
            let Ok(name) = WheelName::parse(&file) else {
                continue;
            };
            if name.project() != key {
                continue;
            }
            seen.push(file.clone());
            if let Err(mismatch) = self.platform.check(&name) {
                refused.push(mismatch.to_string());
            }
            candidates.push((name, entry.path(), None::<String>));
        }
        let Some((name, path, _)) = self.best(candidates, requirement) else {
            tried.push(if seen.is_empty() {
                format!("no wheel in the wheelhouse \"{}\"", dir.display())
            } else {
                let mut text = format!(
                    "the wheelhouse \"{}\" has no fitting wheel among {}",
                    dir.display(),
                    seen.join(", ")
                );
                for reason in &refused {
                    text.push_str(" (");
                    text.push_str(reason);
                    text.push(')');
                }
                text
            });
            return Ok(None);
        };
        let wheel = Wheel::open(&path, None)?;
        Ok(Some(ResolvedWheel {
            project: key,
            version: name.version.clone(),
            sha256: wheel.sha256().to_owned(),
            path,
            origin: Origin::Wheelhouse,
            wheel,
        }))
    }

    /// Picks the highest allowed version, then the best-ranked tag.
    fn best<T>(
        &self,
        candidates: Vec<(WheelName, T, Option<String>)>,
        requirement: &Requirement,
    ) -> Option<(WheelName, T, Option<String>)> {
        candidates
            .into_iter()
            .filter_map(|(name, item, hash)| {
                let version = Version::parse(&name.version).ok()?;
                if !requirement.specifiers.is_empty() && !requirement.specifiers.contains(&version)
                {
                    return None;
                }
                if requirement.specifiers.is_empty() && version.is_prerelease() {
                    return None;
                }
                let rank = self.platform.rank(&name)?;
                Some((version, rank, name, item, hash))
            })
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|(_, _, name, item, hash)| (name, item, hash))
    }

    fn search_index(
        &mut self,
        index: &str,
        requirement: &Requirement,
        tried: &mut Vec<String>,
    ) -> Result<Option<ResolvedWheel>, SourceError> {
        let key = requirement.key();
        let page_url = join_url(&base_dir(index), &format!("{key}/"));
        let files = match self.index_page(&page_url) {
            Ok(Some(files)) => files,
            Ok(None) => {
                tried.push(format!("the index has no page \"{page_url}\""));
                return Ok(None);
            }
            Err(unreachable @ SourceError::Unreachable { .. }) => {
                // Offline: a verified wheel already in the cache will do.
                if let Some(wheel) = self.search_cache(requirement)? {
                    return Ok(Some(wheel));
                }
                tried.push(format!("{unreachable}, and the cache has no fitting wheel"));
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let mut candidates = Vec::new();
        for file in &files {
            let Ok(name) = WheelName::parse(&file.filename) else {
                continue;
            };
            if name.project() != key || file.yanked {
                continue;
            }
            // Files that declare they need another Python are left out (an
            // unparsable declaration does not exclude a file).
            let python = Version::parse(&self.env.python_full_version);
            if let (Some(declared), Ok(python)) = (&file.requires_python, python)
                && let Ok(allowed) = crate::version::SpecifierSet::parse(declared)
                && !allowed.contains(&python)
            {
                continue;
            }
            candidates.push((name, file.url.clone(), file.sha256.clone()));
        }
        let Some((name, url, sha256)) = self.best(candidates, requirement) else {
            let wheels: Vec<&str> = files
                .iter()
                .map(|f| f.filename.as_str())
                .filter(|f| f.ends_with(".whl"))
                .collect();
            tried.push(format!(
                "the index page \"{page_url}\" has no wheel for {} {} among: {}",
                self.platform.python_version(),
                self.platform.platform_tags().join("/"),
                if wheels.is_empty() {
                    "(no wheels)".to_owned()
                } else {
                    wheels.join(", ")
                }
            ));
            return Ok(None);
        };
        let sha256 = sha256.ok_or_else(|| SourceError::MissingHash { url: url.clone() })?;
        let path = self.download(&url, &name.file, &sha256)?;
        let wheel = Wheel::open(&path, Some(&sha256))?;
        Ok(Some(ResolvedWheel {
            project: key,
            version: name.version.clone(),
            sha256,
            path,
            origin: Origin::Index(url),
            wheel,
        }))
    }

    /// The best wheel for `requirement` among the downloads in the cache
    /// (`<cache>/wheels/<sha256>/<file>`), each checked against its sha256.
    fn search_cache(
        &mut self,
        requirement: &Requirement,
    ) -> Result<Option<ResolvedWheel>, SourceError> {
        let key = requirement.key();
        let wheels = self.sources.cache_root.join("wheels");
        let Ok(dirs) = fs::read_dir(&wheels) else {
            return Ok(None);
        };
        let mut candidates = Vec::new();
        for dir in dirs.flatten() {
            let sha256 = dir.file_name().to_string_lossy().into_owned();
            if check_sha256(&sha256).is_none() {
                continue;
            }
            let Ok(files) = fs::read_dir(dir.path()) else {
                continue;
            };
            for file in files.flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                if let Ok(wheel_name) = WheelName::parse(&name)
                    && wheel_name.project() == key
                {
                    candidates.push((wheel_name, file.path(), Some(sha256.clone())));
                }
            }
        }
        let Some((name, path, sha256)) = self.best(candidates, requirement) else {
            return Ok(None);
        };
        let sha256 = sha256.expect("cache candidates carry their sha256");
        // A damaged cache entry fails here, naming the file.
        let wheel = Wheel::open(&path, Some(&sha256))?;
        (self.progress)(Event::Cached { path: path.clone() });
        Ok(Some(ResolvedWheel {
            project: key,
            version: name.version.clone(),
            sha256,
            origin: Origin::Cache,
            path,
            wheel,
        }))
    }

    /// Fetches and parses an index page; `None` for 404.
    fn index_page(&mut self, url: &str) -> Result<Option<Vec<IndexFile>>, SourceError> {
        let http = |detail: String| SourceError::Http {
            url: url.to_owned(),
            detail,
        };
        let mut response = self
            .agent
            .get(url)
            .header(
                "Accept",
                "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1",
            )
            .call()
            .map_err(|e| {
                if crate::dist::is_unreachable(&e) {
                    SourceError::Unreachable {
                        url: url.to_owned(),
                        detail: e.to_string(),
                    }
                } else {
                    http(e.to_string())
                }
            })?;
        let status = response.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        if status != 200 {
            return Err(http(format!(
                "the server answered with HTTP status {status}"
            )));
        }
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_INDEX_PAGE)
            .read_to_string()
            .map_err(|e| http(e.to_string()))?;
        let files = if content_type.contains("json") {
            parse_index_json(&body, url)
        } else {
            parse_index_html(&body, url)
        }
        .map_err(|detail| SourceError::Index {
            url: url.to_owned(),
            detail,
        })?;
        Ok(Some(files))
    }

    /// Makes sure `<cache>/wheels/<sha256>/<file>` holds the file of `url`
    /// with that sha256, downloading it if needed, and returns its path.
    fn download(&mut self, url: &str, file: &str, sha256: &str) -> Result<PathBuf, SourceError> {
        let sha256 = check_sha256(sha256).ok_or_else(|| SourceError::MissingHash {
            url: url.to_owned(),
        })?;
        if file.is_empty() || file.contains(['/', '\\']) || file.starts_with('.') {
            return Err(SourceError::Index {
                url: url.to_owned(),
                detail: format!("\"{file}\" is not a plain file name"),
            });
        }
        let wheels = self.sources.cache_root.join("wheels");
        let dir = wheels.join(&sha256);
        let target = dir.join(file);
        if target.is_file() {
            let bytes = fs::read(&target).map_err(io_err("read", &target))?;
            if sha256_hex(&bytes) == sha256 {
                (self.progress)(Event::Cached {
                    path: target.clone(),
                });
                return Ok(target);
            }
            // Damaged: replaced below by a verified download.
        }
        fs::create_dir_all(&wheels).map_err(io_err("create directory", &wheels))?;
        (self.progress)(Event::Downloading {
            url: url.to_owned(),
        });
        let http = |detail: String| SourceError::Http {
            url: url.to_owned(),
            detail,
        };
        let response = self
            .agent
            .get(url)
            .call()
            .map_err(|e| http(e.to_string()))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(http(format!(
                "the server answered with HTTP status {status}"
            )));
        }
        let total = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let mut body = response.into_body().into_reader();
        let mut temp = tempfile::Builder::new()
            .prefix(".download-")
            .tempfile_in(&wheels)
            .map_err(io_err("create a file in", &wheels))?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; 64 * 1024];
        let mut bytes = 0u64;
        loop {
            let n = match body.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(http(format!(
                        "the connection broke after {bytes} bytes: {e}"
                    )));
                }
            };
            hasher.update(&buffer[..n]);
            temp.write_all(&buffer[..n])
                .map_err(io_err("write", temp.path()))?;
            bytes += n as u64;
            (self.progress)(Event::Downloaded { bytes, total });
        }
        if let Some(total) = total.filter(|t| *t != bytes) {
            return Err(http(format!(
                "received {bytes} bytes, the server announced {total}"
            )));
        }
        let actual = hex::encode(hasher.finalize());
        if actual != sha256 {
            // `temp` is deleted when dropped; no cache entry was created.
            return Err(SourceError::HashMismatch {
                url: url.to_owned(),
                expected: sha256,
                actual,
            });
        }
        temp.as_file()
            .sync_all()
            .map_err(io_err("write", temp.path()))?;
        fs::create_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        temp.persist(&target).map_err(|e| SourceError::Io {
            action: "move into place",
            path: target.clone(),
            source: e.error,
        })?;
        Ok(target)
    }
}

/// The `*.dist-info` directories of an installed tree, by normalised name.
pub fn scan_vendored(dir: &Path) -> Result<BTreeMap<String, VendoredDist>, SourceError> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(dir).map_err(io_err("read", dir))? {
        let entry = entry.map_err(io_err("read", dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".dist-info") else {
            continue;
        };
        let metadata_path = entry.path().join("METADATA");
        let (mut project, mut version) = match stem.rsplit_once('-') {
            Some((n, v)) => (n.to_owned(), v.to_owned()),
            None => (stem.to_owned(), String::new()),
        };
        if let Ok(text) = fs::read_to_string(&metadata_path) {
            for line in text.lines().take_while(|l| !l.trim().is_empty()) {
                if let Some(v) = line.strip_prefix("Name:") {
                    project = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("Version:") {
                    version = v.trim().to_owned();
                }
            }
        }
        let project = normalize(&project);
        out.insert(
            project.clone(),
            VendoredDist {
                project,
                version,
                dist_info: entry.path(),
            },
        );
    }
    Ok(out)
}

/// `base` made to end with `/` (a directory URL).
fn base_dir(base: &str) -> String {
    if base.ends_with('/') {
        base.to_owned()
    } else {
        format!("{base}/")
    }
}

/// Resolves `href` against the page URL `base` (RFC 3986, the common cases:
/// absolute, scheme-relative, host-relative, relative with `.` and `..`).
pub(crate) fn join_url(base: &str, href: &str) -> String {
    if href.contains("://")
        && href.split("://").next().is_some_and(|s| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        })
    {
        return href.to_owned();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("", base));
    if let Some(tail) = href.strip_prefix("//") {
        return format!("{scheme}://{tail}");
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let joined = if href.starts_with('/') {
        href.to_owned()
    } else {
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{dir}{href}")
    };
    let (joined_path, suffix) = match joined.find(['?', '#']) {
        Some(i) => (&joined[..i], &joined[i..]),
        None => (joined.as_str(), ""),
    };
    let mut segments: Vec<&str> = Vec::new();
    let parts: Vec<&str> = joined_path.split('/').collect();
    for (i, segment) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        match *segment {
            "." => {
                if last {
                    segments.push("");
                }
            }
            ".." => {
                if segments.len() > 1 {
                    segments.pop();
                }
                if last {
                    segments.push("");
                }
            }
            s => segments.push(s),
        }
    }
    let mut normalized = segments.join("/");
    if !normalized.starts_with('/') {
        normalized.insert(0, '/');
    }
    format!("{scheme}://{authority}{normalized}{suffix}")
}

/// Splits `#sha256=…` off a URL.
fn split_fragment(url: &str) -> (String, Option<String>) {
    match url.split_once('#') {
        Some((head, fragment)) => {
            let sha = fragment
                .split('&')
                .find_map(|part| part.strip_prefix("sha256="))
                .map(str::to_ascii_lowercase);
            (head.to_owned(), sha)
        }
        None => (url.to_owned(), None),
    }
}

fn file_name_of(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    percent_decode(path.rsplit('/').next().unwrap_or(path))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a PEP 691 JSON project page.
pub(crate) fn parse_index_json(body: &str, page_url: &str) -> Result<Vec<IndexFile>, String> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let files = value
        .get("files")
        .and_then(|f| f.as_array())
        .ok_or_else(|| "missing \"files\" array".to_owned())?;
    let mut out = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let field = |key: &str| {
            file.get(key)
                .and_then(|v| v.as_str())
                .ok_or_else(|| format!("files[{i}] has no string \"{key}\""))
        };
        let filename = field("filename")?.to_owned();
        let (url, fragment_sha) = split_fragment(&join_url(page_url, field("url")?));
        let sha256 = file
            .get("hashes")
            .and_then(|h| h.get("sha256"))
            .and_then(|h| h.as_str())
            .map(str::to_ascii_lowercase)
            .or(fragment_sha);
        let yanked = match file.get("yanked") {
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(_)) => true,
            _ => false,
        };
        let requires_python = file
            .get("requires-python")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        out.push(IndexFile {
            filename,
            url,
            sha256,
            yanked,
            requires_python,
        });
    }
    Ok(out)
}

fn decode_entities(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
}

/// The value of attribute `name` in the text of one start tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let start = from + found;
        from = start + name.len();
        let before_ok = start == 0 || lower.as_bytes()[start - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - rest.len() + 1;
        let value = tag[value_start..].trim_start();
        return Some(decode_entities(match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
            _ => value
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or(""),
        }));
    }
    None
}

/// Parses a PEP 503 HTML project page: every `<a href>`; the file name is
/// the anchor text, else the URL's last segment.
pub(crate) fn parse_index_html(body: &str, page_url: &str) -> Result<Vec<IndexFile>, String> {
    let lower = body.to_ascii_lowercase();
    let mut base = page_url.to_owned();
    if let Some(i) = lower.find("<base ") {
        let end = lower[i..].find('>').map_or(lower.len(), |e| i + e);
        if let Some(href) = attribute(&body[i + 5..end], "href") {
            base = join_url(page_url, &href);
        }
    }
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = lower[at..].find("<a") {
        let start = at + found;
        let after = lower.as_bytes().get(start + 2).copied();
        at = start + 2;
        if !after.is_some_and(|c| c.is_ascii_whitespace()) {
            continue;
        }
        let tag_end = lower[start..].find('>').ok_or("unterminated <a> tag")? + start;
        let tag = &body[start + 2..tag_end];
        let text_end = lower[tag_end..]
            .find("</a")
            .map_or(lower.len(), |e| tag_end + e);
        let text = decode_entities(body[tag_end + 1..text_end].trim());
        at = tag_end;
        let Some(href) = attribute(tag, "href") else {
            continue;
        };
        let (url, sha256) = split_fragment(&join_url(&base, &href));
        let filename =
            if text.ends_with(".whl") || text.ends_with(".tar.gz") || text.ends_with(".zip") {
                text
            } else {
                file_name_of(&url)
            };
        out.push(IndexFile {
            filename,
            url,
            sha256,
            yanked: tag.to_ascii_lowercase().contains("data-yanked"),
            requires_python: attribute(tag, "data-requires-python"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
