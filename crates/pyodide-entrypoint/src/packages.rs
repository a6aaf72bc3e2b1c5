//! [`Packages`]: what an interpreter gets installed before Python starts —
//! wheels and the lock file's library archives, laid out by
//! `pyodide_packages::source::plan_mount_set` (the one planner, also behind
//! `Resolution::mount_set`) and mounted read-only from their zip bytes
//! (nothing is extracted): libraries in `/usr/lib` or `site-packages`, both
//! on `LD_LIBRARY_PATH` for the dynamic linker. A `python_modules/`
//! directory goes on `sys.path`. Extension modules in them load when Python
//! imports them.

use std::path::PathBuf;

use pyodide_packages::install::{PlannedMount, SchemePaths, Wheel};
use pyodide_packages::source::{Resolution, ResolvedLibrary, plan_mount_set};
use pyodide_vfs::{GuestPath, MountAccess, Vfs, ZipPlacement, ZipSource};

use crate::Error;

/// Where a `python_modules/` directory appears in the guest.
pub const PYTHON_MODULES_GUEST_DIR: &str = "/python_modules";

/// Packages to install into an interpreter.
#[derive(Debug, Clone, Default)]
pub struct Packages {
    /// Wheels, in install order (a later wheel's file wins).
    pub wheels: Vec<Wheel>,
    /// The lock file's library archives, each unpacked where its
    /// `install_dir` says (`/usr/lib`, else `site-packages`).
    pub libraries: Vec<ResolvedLibrary>,
    /// A host `python_modules/` directory (an installed tree), mounted
    /// read-only at [`PYTHON_MODULES_GUEST_DIR`] and put on `sys.path`.
    pub python_modules: Option<PathBuf>,
}

impl Packages {
    /// Whether there is nothing to install.
    pub fn is_empty(&self) -> bool {
        self.wheels.is_empty() && self.libraries.is_empty() && self.python_modules.is_none()
    }

    /// The identities of the wheels, then the library archives (file name
    /// and SHA-256), as a snapshot records them.
    pub(crate) fn identities(&self) -> Vec<pyodide_snapshot::PackageFile> {
        let wheels = self.wheels.iter().map(|w| (w.file_name(), w.sha256()));
        let libraries = self
            .libraries
            .iter()
            .map(|l| (l.archive.file_name(), l.archive.sha256()));
        wheels
            .chain(libraries)
            .map(|(name, sha256)| pyodide_snapshot::PackageFile {
                file_name: name.to_owned(),
                sha256: sha256.to_owned(),
            })
            .collect()
    }

    /// The host `python_modules/` directory, as a snapshot records it.
    pub(crate) fn python_modules_identity(&self) -> Option<String> {
        self.python_modules
            .as_ref()
            .map(|dir| dir.display().to_string())
    }

    /// What a resolver found.
    pub fn from_resolution(resolution: Resolution) -> Packages {
        Packages {
            wheels: resolution.wheels.into_iter().map(|w| w.wheel).collect(),
            libraries: resolution.libraries,
            python_modules: resolution.python_modules,
        }
    }

    /// Mounts everything into `vfs` for CPython `python` (`3.14`).
    pub(crate) fn install(&self, vfs: &mut Vfs, python: &str) -> Result<(), Error> {
        self.install_planned(vfs, &self.plan(python)?)
    }

    /// Where the wheels and library archives go for CPython `python`, with
    /// the archives opened: what [`Packages::install`] computes from the
    /// packages alone (so it can be kept for packages that come again).
    pub(crate) fn plan(&self, python: &str) -> Result<InstallPlan, Error> {
        if self.wheels.is_empty() && self.libraries.is_empty() {
            return Ok(InstallPlan::default());
        }
        let paths = SchemePaths::pyodide(python);
        let set = plan_mount_set(&self.wheels, &self.libraries, &paths)
            .map_err(|e| Error::Packages(e.to_string()))?;
        let archives = set
            .archives
            .iter()
            .map(|a| zip_source(&a.name, &a.bytes))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(InstallPlan {
            mounts: set.mounts,
            archives,
        })
    }

    /// [`Packages::install`] with `plan` made by [`Packages::plan`] for
    /// these packages (or others of the same identities).
    pub(crate) fn install_planned(&self, vfs: &mut Vfs, plan: &InstallPlan) -> Result<(), Error> {
        for mount in &plan.mounts {
            mount_planned(vfs, &plan.archives, mount)?;
        }
        if let Some(dir) = &self.python_modules {
            let host = pyodide_vfs::open_host_dir(dir).map_err(|e| Error::Mount {
                host: dir.clone(),
                guest: PYTHON_MODULES_GUEST_DIR.to_owned(),
                source: Box::new(e),
            })?;
            let guest = GuestPath::from(PYTHON_MODULES_GUEST_DIR);
            vfs.create_dir_all(guest, 0o755)
                .map_err(|errno| Error::Layout {
                    path: PYTHON_MODULES_GUEST_DIR.to_owned(),
                    errno,
                })?;
            vfs.mount_host(guest, host, MountAccess::ReadOnly)
                .map_err(|e| Error::Mount {
                    host: dir.clone(),
                    guest: PYTHON_MODULES_GUEST_DIR.to_owned(),
                    source: Box::new(e),
                })?;
        }
        Ok(())
    }
}

/// The union mounts of a set of packages and their archives, opened.
#[derive(Debug, Clone, Default)]
pub(crate) struct InstallPlan {
    mounts: Vec<PlannedMount>,
    archives: Vec<ZipSource>,
}

fn zip_source(name: &str, bytes: &std::sync::Arc<[u8]>) -> Result<ZipSource, Error> {
    ZipSource::new(name, bytes.clone())
        .map_err(|e| Error::Packages(format!("'{name}' is not a readable zip archive: {e}")))
}

fn mount_planned(vfs: &mut Vfs, archives: &[ZipSource], mount: &PlannedMount) -> Result<(), Error> {
    let placements: Vec<ZipPlacement> = mount
        .files
        .iter()
        .map(|f| ZipPlacement {
            archive: f.wheel,
            entry: f.entry.clone(),
            path: f.path.clone(),
        })
        .collect();
    vfs.mount_zip_union(GuestPath::from(mount.point.as_str()), archives, &placements)
        .map_err(|e| Error::Packages(format!("cannot mount at '{}': {e}", mount.point)))
}
