//! Snapshots: an initialised interpreter, saved once and restored in about
//! the time it takes to map a file.
//!
//! A snapshot is two files: the sidecar at the path the user names (host
//! state and identity, see [`pyodide_snapshot::sidecar`]) and, beside it
//! at `<path>.cwasm`, the compiled *baked* module — Pyodide's module with
//! the captured linear memory as its data and the captured globals as
//! their initial values — which wasmtime maps copy-on-write when it
//! instantiates it. Restoring is: check the sidecar (identity, checksums),
//! map the module (once per process: a [`Snapshot`] keeps it), then per
//! interpreter instantiate it, install the call trampoline again, rebuild
//! the file system, attach the driver and reseed the random generators
//! from real entropy. Nothing re-runs CPython's initialisation.
//!
//! Creation boots (or restores the previous kind of snapshot) with a
//! deterministic entropy stream, enters snapshot mode (`crate::entropy`:
//! top-level draws outside the policy refuse the snapshot), imports,
//! leaves snapshot mode — so its `sys.monitoring` tool and patches are not
//! in the image and a restore only has to reseed — and captures. Because CPython
//! draws its hash secret at start-up from that stream, every interpreter
//! restored from one snapshot has the same `str` hash secret (as with a
//! fixed `PYTHONHASHSEED`); the `random` module and friends are reseeded
//! from the OS after every restore.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use pyodide_emscripten::{
    AddedSlot, ArtifactCheck, EmscriptenInstance, LibraryBases, LibraryContent, LoadOptions,
    RestoredImports, SharedEntropy,
};
use pyodide_snapshot::{
    ArtifactDigest, PackageFile, SideModule, SideSlot, Sidecar, read_sidecar, write_sidecar,
};
use pyodide_vfs::{Dirfd, GuestPath, OsEntropy};
use sha2::{Digest, Sha256};
use wasmtime::{ExternType, InstancePre, Linker, Module, Ref, RefType, Val};

pub use pyodide_snapshot::SnapshotKind;

use crate::interpreter::{apply_mounts, base_vfs, new_store, stdlib_zip};
use crate::packages::{InstallPlan, PYTHON_MODULES_GUEST_DIR};
use crate::runtime::{HostState, Runtime, ctx_of};
use crate::vfs_image::{self, VfsImage};
use crate::{Error, Interpreter, InterpreterConfig, Mount, Packages, RunError};

/// The standard-library modules a baseline snapshot has imported: what
/// most programs and workers import anyway (workerd's baseline list plus
/// `json`, `dataclasses`, `datetime`).
pub const BASELINE_IMPORTS: &[&str] = &[
    "asyncio",
    "collections.abc",
    "dataclasses",
    "datetime",
    "importlib",
    "importlib.machinery",
    "importlib.metadata",
    "inspect",
    "json",
    "pathlib",
    "re",
    "shutil",
    "sysconfig",
    "tarfile",
    "tempfile",
    "traceback",
    "typing",
    "zipfile",
];

/// Revision of what a baseline contains (its import list and how it is
/// made, and the sidecar format: builds that disagree must not share a
/// file); part of the automatic baseline's file name.
const BASELINE_REVISION: u32 = 10;

/// The name under which the driver's `run` function is anchored.
const DRIVER_ANCHOR: &str = "driver_run";

/// The anchors of imported globals' values: `import:<module>:<name>`
/// (Emscripten's import module names hold no colon).
const IMPORT_ANCHOR_PREFIX: &str = "import:";

/// What to snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotRequest {
    /// The kind of snapshot.
    pub kind: SnapshotKind,
    /// Modules to import (for `Package` and `Dedicated`; a baseline
    /// imports [`BASELINE_IMPORTS`] and these).
    pub imports: Vec<String>,
    /// The module file whose top level a `Dedicated` snapshot executes (a
    /// host path; its directory is mounted read-only at its own path, as
    /// `pyworkerd run` mounts a script's, and must be mounted there again
    /// on restore).
    pub module: Option<PathBuf>,
    /// Packages mounted while the snapshot is made (as
    /// [`InterpreterConfig::packages`]), so its imports can come from them.
    /// Their identities (file names, SHA-256) are recorded: a restore must
    /// be given the same packages in its configuration. Continuing from a
    /// snapshot that has packages, they must be that snapshot's.
    pub packages: Packages,
}

impl SnapshotRequest {
    /// A baseline: start-up plus [`BASELINE_IMPORTS`].
    pub fn baseline() -> Self {
        SnapshotRequest {
            kind: SnapshotKind::Baseline,
            imports: Vec::new(),
            module: None,
            packages: Packages::default(),
        }
    }
}

/// A snapshot checked against a runtime and mapped, ready to restore any
/// number of interpreters from.
pub struct Snapshot {
    path: PathBuf,
    sidecar: Sidecar,
    module: Module,
    vfs: VfsImage,
    /// The module pre-linked with the runtime's linker (kept with that
    /// linker, to use it only with the same runtime), made at the first
    /// restore; `None` inside when the module imports more than functions.
    pre: OnceLock<Option<PreLinked>>,
    /// Where the snapshot's packages go, made at the first restore given
    /// them (every restore of a snapshot with packages is given packages of
    /// the same identities: `check_packages`).
    install_plan: OnceLock<InstallPlan>,
}

/// A snapshot's module pre-linked, with the linker it was linked with.
type PreLinked = (Arc<Linker<HostState>>, InstancePre<HostState>);

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("path", &self.path)
            .field("kind", &self.sidecar.kind)
            .field("imports", &self.sidecar.imports)
            .finish_non_exhaustive()
    }
}

/// Where the compiled module of the snapshot whose sidecar is at `path`
/// lives: `<path>.cwasm`.
pub fn artifact_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".cwasm");
    PathBuf::from(name)
}

impl Snapshot {
    /// Reads the sidecar at `path`, checks it was made for `runtime`
    /// (Pyodide release and binary, wasmtime, engine settings), and maps
    /// its compiled module after checking its length and checksum.
    ///
    /// # Errors
    ///
    /// [`Error::Snapshot`] for the sidecar (missing, truncated, damaged,
    /// unknown format version, other Pyodide / binary / engine), a host
    /// [`pyodide_emscripten::Error::BadArtifact`] for the compiled module,
    /// [`Error::SnapshotUnsupported`] when the runtime cannot restore
    /// snapshots at all.
    pub fn load(runtime: &Runtime, path: &Path) -> Result<Snapshot, Error> {
        check_supported(runtime)?;
        let sidecar = read_sidecar(path, &runtime.snapshot_identity())?;
        let check = ArtifactCheck {
            len: sidecar.artifact.len,
            xxh3: sidecar.artifact.xxh3,
        };
        let module = runtime.cache.load_artifact(&artifact_path(path), &check)?;
        let vfs = vfs_image::decode(&sidecar.vfs)?;
        Ok(Snapshot {
            path: path.to_owned(),
            sidecar,
            module,
            vfs,
            pre: OnceLock::new(),
            install_plan: OnceLock::new(),
        })
    }

    /// The module pre-linked with `runtime`'s host imports, when all its
    /// imports are functions (a module baked with its imported globals
    /// defined) and `runtime` is the one it was first pre-linked with.
    fn instance_pre(&self, runtime: &Runtime) -> Result<Option<&PreLinked>, Error> {
        let linker = runtime.linker(&self.module)?;
        if self.pre.get().is_none() {
            let only_functions = self
                .module
                .imports()
                .all(|i| matches!(i.ty(), ExternType::Func(_)));
            let pre = if only_functions {
                let pre = linker.instantiate_pre(&self.module).map_err(|e| {
                    Error::Host(pyodide_emscripten::Error::Engine(e.into_boxed_dyn_error()))
                })?;
                Some((linker.clone(), pre))
            } else {
                None
            };
            let _ = self.pre.set(pre);
        }
        Ok(self
            .pre
            .get()
            .and_then(|p| p.as_ref())
            .filter(|(made_with, _)| Arc::ptr_eq(made_with, linker)))
    }

    /// The sidecar's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// When in an interpreter's life it was taken.
    pub fn kind(&self) -> SnapshotKind {
        self.sidecar.kind
    }

    /// The modules imported while making it, in order.
    pub fn imports(&self) -> &[String] {
        &self.sidecar.imports
    }

    /// Host directories its state depends on: (guest path, host path).
    pub fn mounts(&self) -> &[(String, String)] {
        &self.sidecar.mounts
    }

    /// The side modules loaded when it was taken, in load order.
    pub fn side_modules(&self) -> &[SideModule] {
        &self.sidecar.side_modules
    }

    /// The package files it was made with (wheels, then shared-library
    /// archives); a restore must be given the same ones.
    pub fn packages(&self) -> &[PackageFile] {
        &self.sidecar.packages
    }
}

/// The automatic baselines of Pyodide `version` in `dir` other than
/// `current` and its compiled module: what other builds made.
fn stale_baselines(dir: &Path, version: &str, current: &Path) -> Vec<PathBuf> {
    let prefix = format!("baseline-{version}-");
    let current_artifact = artifact_path(current);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(&prefix)
                && (name.ends_with(".snap") || name.ends_with(".snap.cwasm"))
                && *path != current
                && *path != current_artifact
        })
        .collect()
}

fn check_supported(runtime: &Runtime) -> Result<(), Error> {
    match runtime.snapshot_unsupported() {
        Some(why) => Err(Error::SnapshotUnsupported {
            version: runtime.version.version.to_owned(),
            why,
        }),
        None => Ok(()),
    }
}

impl Runtime {
    /// Where the automatic baseline snapshot of this runtime lives:
    /// `<cache root>/snapshots/`, named after the Pyodide release, its
    /// binary, the engine fingerprint, the baseline's revision and a digest
    /// of the Python code it holds (the driver, the entropy policy, the
    /// import list), so a build that changes any of them makes its own.
    pub fn baseline_snapshot_path(&self) -> PathBuf {
        let identity = self.snapshot_identity();
        let mut content = Sha256::new();
        for part in [crate::interpreter::DRIVER, crate::entropy::POLICY] {
            content.update(part.as_bytes());
            content.update([0]);
        }
        for name in BASELINE_IMPORTS {
            content.update(name.as_bytes());
            content.update([0]);
        }
        self.snapshots_dir.join(format!(
            "baseline-{}-{}-{}-r{BASELINE_REVISION}-{}-{}.snap",
            identity.pyodide_version,
            hex::encode(&identity.binary_sha256[..8]),
            hex::encode(&identity.engine_fingerprint[..8]),
            env!("CARGO_PKG_VERSION"),
            hex::encode(&content.finalize()[..6]),
        ))
    }

    /// The automatic baseline snapshot: loaded from
    /// [`Runtime::baseline_snapshot_path`], or made there when there is
    /// none (once per Pyodide release and engine; it compiles a module, so
    /// it takes about as long as the first start did).
    ///
    /// # Errors
    ///
    /// Any error of [`Runtime::create_snapshot`]. A file that is there but
    /// refused by [`Snapshot::load`] (damaged, of an older sidecar format)
    /// is removed and made again. Once a new baseline is written, the
    /// automatic baselines other builds made for the same Pyodide release
    /// are removed, so the cache does not grow with every upgrade.
    pub fn baseline_snapshot(&self) -> Result<Snapshot, Error> {
        let path = self.baseline_snapshot_path();
        if path.exists() {
            match Snapshot::load(self, &path) {
                Ok(snapshot) => return Ok(snapshot),
                Err(Error::SnapshotUnsupported { version, why }) => {
                    return Err(Error::SnapshotUnsupported { version, why });
                }
                Err(_) => {
                    let _ = std::fs::remove_file(&path);
                    let _ = std::fs::remove_file(artifact_path(&path));
                }
            }
        }
        let snapshot = self.create_snapshot(&SnapshotRequest::baseline(), None, &path)?;
        // Best effort: a file that cannot be removed stays (a process that
        // still maps a removed one keeps it until it exits).
        for stale in stale_baselines(&self.snapshots_dir, self.version.version, &path) {
            let _ = std::fs::remove_file(stale);
        }
        Ok(snapshot)
    }

    /// Makes a snapshot of `request`'s kind and writes it to `path` (and
    /// `<path>.cwasm`), each file under a temporary name first. With
    /// `base`, the interpreter is restored from it and continues (a
    /// package snapshot from a baseline, a dedicated one from either);
    /// otherwise it boots. Returns the snapshot, ready to restore from.
    ///
    /// # Errors
    ///
    /// An import that fails ([`Error::SnapshotImport`]), state that cannot
    /// be snapshotted ([`Error::SnapshotState`]: an open file, a
    /// function table grown beyond what the dynamic linker placed), packages
    /// other than `base`'s ([`Error::SnapshotPackages`]), a runtime without snapshot support, or a failure to bake,
    /// compile or write.
    pub fn create_snapshot(
        &self,
        request: &SnapshotRequest,
        base: Option<&Snapshot>,
        path: &Path,
    ) -> Result<Snapshot, Error> {
        check_supported(self)?;
        if let Some(base) = base {
            let ok = match request.kind {
                SnapshotKind::Baseline => false,
                SnapshotKind::Package => base.kind() == SnapshotKind::Baseline,
                SnapshotKind::Dedicated => base.kind() != SnapshotKind::Dedicated,
            };
            if !ok {
                return Err(Error::SnapshotState(format!(
                    "a {:?} snapshot cannot be made from a {:?} one",
                    request.kind,
                    base.kind()
                )));
            }
        }
        let mut mounts = Vec::new();
        let mut module_target = None;
        if let Some(file) = &request.module {
            if request.kind != SnapshotKind::Dedicated {
                return Err(Error::SnapshotState(
                    "only a dedicated snapshot runs a module file".to_owned(),
                ));
            }
            let (mount, name) = module_mount(file)?;
            module_target = Some((mount.guest.clone(), name));
            mounts.push(mount);
        }
        let config = InterpreterConfig {
            mounts: mounts.clone(),
            packages: request.packages.clone(),
            ..Default::default()
        };
        let entropy = entropy_integration::creation_source();
        let mut interpreter = match base {
            Some(base) => Interpreter::restore_with(self, base, config, entropy, false)?,
            None => Interpreter::boot_with_entropy(self, config, entropy)?,
        };
        entropy_integration::enter(&mut interpreter)?;

        let mut imports: Vec<String> = base.map(|b| b.imports().to_vec()).unwrap_or_default();
        let mut new_imports: Vec<String> = Vec::new();
        if base.is_none() {
            new_imports.extend(BASELINE_IMPORTS.iter().map(|s| s.to_string()));
        }
        new_imports.extend(request.imports.iter().cloned());
        for name in &new_imports {
            import(&mut interpreter, name, None)?;
            entropy_integration::check(&mut interpreter)?;
        }
        imports.extend(new_imports);
        if let Some((dir, name)) = &module_target {
            import(&mut interpreter, name, Some(dir))?;
            entropy_integration::check(&mut interpreter)?;
            imports.push(name.clone());
        }
        index_distributions(&mut interpreter)?;
        entropy_integration::check(&mut interpreter)?;
        // The form a restore loads each side module in, compiled now.
        pyodide_emscripten::prepare_replay(&mut interpreter.store, ctx_of)?;
        // Snapshot mode ends before the capture, not after every restore:
        // turning the policy's `sys.monitoring` tool off and restoring its
        // patches is then paid once, and a restore only reseeds.
        let ledger = entropy_integration::ledger(&mut interpreter)?;
        entropy_integration::leave(&mut interpreter)?;
        let mut recorded_mounts = base.map(|b| b.mounts().to_vec()).unwrap_or_default();
        recorded_mounts.extend(
            mounts
                .iter()
                .map(|m| (m.guest.clone(), m.host.display().to_string())),
        );

        let (sidecar, vfs, baked) = capture(
            self,
            &mut interpreter,
            request.kind,
            imports,
            recorded_mounts,
            ledger,
            &request.packages,
        )?;
        drop(interpreter);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Read {
                path: dir.to_owned(),
                source,
            })?;
        }
        let (module, check) =
            self.cache
                .compile_artifact("snapshot module", &baked, &artifact_path(path))?;
        let sidecar = Sidecar {
            artifact: ArtifactDigest {
                len: check.len,
                xxh3: check.xxh3,
            },
            ..sidecar
        };
        write_sidecar(path, &sidecar)?;
        Ok(Snapshot {
            path: path.to_owned(),
            sidecar,
            module,
            vfs,
            pre: OnceLock::new(),
            install_plan: OnceLock::new(),
        })
    }
}

/// The mount that makes a module file visible (its directory, read-only,
/// at its own path) and the module's name.
fn module_mount(file: &Path) -> Result<(Mount, String), Error> {
    let bad = |why: &str| Error::SnapshotState(format!("module '{}' {why}", file.display()));
    let absolute = std::fs::canonicalize(file).map_err(|source| Error::Read {
        path: file.to_owned(),
        source,
    })?;
    let name = absolute
        .file_stem()
        .and_then(|n| n.to_str())
        .filter(|n| valid_module_name(n))
        .ok_or_else(|| bad("is not named like a Python module"))?
        .to_owned();
    let dir = absolute
        .parent()
        .ok_or_else(|| bad("has no directory"))?
        .to_owned();
    let guest = dir
        .to_str()
        .ok_or_else(|| bad("has a path that is not UTF-8"))?
        .to_owned();
    Ok((
        Mount {
            host: dir,
            guest,
            writable: false,
        },
        name,
    ))
}

fn valid_module_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            !part.is_empty()
                && !part.starts_with(|c: char| c.is_ascii_digit())
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Run after a snapshot's imports: builds `importlib.metadata`'s index of
/// every `sys.path` entry (a lookup per entry, which it keeps until the
/// entry's mtime changes), so that code asking for distributions or entry
/// points after a restore (pydantic's plugin loader, `version()`) does not
/// read the standard library's zip archive again: about 10 ms of Python on
/// Pyodide 314. The archive the index opened is closed: the index never
/// reads from it again (it holds no distributions), and a snapshot cannot
/// hold a descriptor open on a file the runtime re-creates.
/// `importlib.invalidate_caches()` (run after a restore that mounts new
/// packages) drops the index.
const INDEX_DISTRIBUTIONS: &str = "\
import importlib.metadata, sys, zipfile
for _ in importlib.metadata.distributions():
    pass
for root in sys.path:
    handle = vars(importlib.metadata.FastPath(root)).get('joinpath')
    archive = getattr(getattr(handle, '__self__', None), 'root', None)
    if isinstance(archive, zipfile.ZipFile):
        archive.close()
";

fn index_distributions(interpreter: &mut Interpreter) -> Result<(), Error> {
    interpreter
        .request("exec", INDEX_DISTRIBUTIONS, &[])
        .map_err(|e| match e {
            RunError::Host(error) => error,
            other => Error::Driver(format!("cannot index the installed distributions: {other}")),
        })
}

/// Imports `name` in the interpreter (with `dir` put first on `sys.path`).
fn import(interpreter: &mut Interpreter, name: &str, dir: Option<&str>) -> Result<(), Error> {
    if !valid_module_name(name) {
        return Err(Error::SnapshotImport {
            module: name.to_owned(),
            traceback: "not a module name".to_owned(),
        });
    }
    let code = match dir {
        Some(dir) => format!(
            "import sys, importlib\nsys.path.insert(0, {dir:?})\nimportlib.import_module({name:?})\n"
        ),
        None => format!("import importlib\nimportlib.import_module({name:?})\n"),
    };
    match interpreter.request("exec", &code, &[]) {
        Ok(()) => Ok(()),
        Err(RunError::Exception { traceback } | RunError::Interrupted { traceback }) => {
            Err(Error::SnapshotImport {
                module: name.to_owned(),
                traceback,
            })
        }
        Err(RunError::Exit { status }) => Err(Error::SnapshotImport {
            module: name.to_owned(),
            traceback: format!("SystemExit({status})"),
        }),
        Err(RunError::Host(error)) => Err(error),
    }
}

/// Captures the interpreter: memory and globals (baked into a module),
/// the table length, the file system, the driver's anchor.
fn capture(
    runtime: &Runtime,
    interpreter: &mut Interpreter,
    kind: SnapshotKind,
    imports: Vec<String>,
    mounts: Vec<(String, String)>,
    entropy_ledger: Vec<u8>,
    packages: &Packages,
) -> Result<(Sidecar, VfsImage, Vec<u8>), Error> {
    let store = &mut interpreter.store;
    let instance = interpreter.instance.instance();
    // The memory is the host's for a relocatable module (0.29.3), whose
    // bake turns the import into a defined memory.
    let captured = pyodide_snapshot::capture_with_memory(
        &mut *store,
        instance,
        interpreter.instance.memory(),
    )?;
    // The imported globals the host gave (a relocatable module's bases,
    // stack globals, GOT entries): given back at restore. Zero is what a
    // restore gives the others.
    let mut anchors = vec![(
        DRIVER_ANCHOR.to_owned(),
        interpreter.driver_run as u32 as u64,
    )];
    // A module that imports nothing but functions and globals (Pyodide
    // 314's `GOT.func` entries) is baked with those globals defined, so a
    // restore instantiates it pre-linked; a relocatable one (0.29.3, which
    // imports its table and tags too) gets them from the host again.
    let main_imports: Vec<(String, String, ExternType)> = runtime
        .main_module()?
        .imports()
        .map(|i| (i.module().to_owned(), i.name().to_owned(), i.ty()))
        .collect();
    let define_globals = main_imports
        .iter()
        .all(|(_, _, ty)| matches!(ty, ExternType::Func(_) | ExternType::Global(_)));
    let mut imported_globals = Vec::new();
    for (module, name, ty) in &main_imports {
        if !matches!(ty, ExternType::Global(_)) {
            continue;
        }
        let value = interpreter
            .instance
            .global_import_value(&mut *store, module, name);
        match value {
            Some(Val::I32(value)) => {
                imported_globals.push((
                    module.clone(),
                    name.clone(),
                    pyodide_snapshot::GlobalValue::I32(value),
                ));
                if value != 0 {
                    anchors.push((
                        format!("{IMPORT_ANCHOR_PREFIX}{module}:{name}"),
                        value as u32 as u64,
                    ));
                }
            }
            other => {
                return Err(Error::SnapshotState(format!(
                    "imported global '{module}.{name}' holds {other:?}, which a snapshot cannot \
                     give back"
                )));
            }
        }
    }

    // The function table: module elements, the call trampoline, the side
    // modules' slots and the slots the dynamic linker added, and nothing
    // else the host would have to redo (closures from ctypes callbacks).
    let table = interpreter.instance.table();
    let table_len = table.size(&*store);
    let declared = interpreter.instance.initial_table_len();
    let libraries: Vec<_> = store.data().ctx.loaded_libraries().cloned().collect();
    let slots: Vec<AddedSlot> = store.data().ctx.added_slots().to_vec();
    let accounted = libraries
        .iter()
        .filter(|l| l.table_size > 0)
        .map(|l| u64::from(l.bases.table_base) + u64::from(l.table_size))
        .chain(slots.iter().map(|s| u64::from(s.slot) + 1))
        .fold(declared + 1, u64::max);
    if table_len > accounted {
        return Err(Error::SnapshotState(format!(
            "the function table grew by {} entries beyond what the dynamic linker placed \
             (ctypes callbacks?), which a restore cannot rebuild",
            table_len - accounted
        )));
    }
    let mut null_tables = Vec::new();
    for (index, len) in &captured.tables {
        let name = pyodide_snapshot::instrument::table_export_name(*index);
        let Some(t) = instance.get_table(&mut *store, &name) else {
            continue;
        };
        if t.ty(&*store).element().matches(&RefType::FUNCREF) {
            continue;
        }
        if let Some(i) = (0..*len).find(|i| !t.get(&mut *store, *i).is_none_or(|r| r.is_null())) {
            return Err(Error::SnapshotState(format!(
                "table {index} holds a host reference at {i}, which a snapshot cannot hold"
            )));
        }
        null_tables.push((*index, *len));
    }

    let ctx = &mut store.data_mut().ctx;
    let umask = ctx.umask();
    let zip = stdlib_zip(runtime);
    let vfs = vfs_image::capture(ctx.vfs_mut(), umask, &[zip.as_str()])?;

    let instrumented = std::fs::read(&runtime.asm_wasm).map_err(|source| Error::Read {
        path: runtime.asm_wasm.clone(),
        source,
    })?;
    let instrumented = pyodide_snapshot::export_mutable_globals(&instrumented)?;
    let options = pyodide_snapshot::BakeOptions {
        define_imported_globals: define_globals.then_some(imported_globals),
    };
    let baked = pyodide_snapshot::bake_with(&instrumented, &captured, &options)?;

    let sidecar = Sidecar {
        kind,
        identity: runtime.snapshot_identity(),
        table_len,
        null_tables,
        environment: interpreter.environment.clone(),
        imports,
        artifact: ArtifactDigest { len: 0, xxh3: 0 },
        side_modules: libraries
            .iter()
            .map(|l| SideModule {
                path: l.path.clone(),
                memory_base: l.bases.memory_base.into(),
                table_base: l.bases.table_base.into(),
                table_size: l.table_size.into(),
                global: l.global,
                handles: l.handles.clone(),
                sha256: l.content.sha256,
                header: l.content.header.clone(),
            })
            .collect(),
        side_slots: slots
            .iter()
            .map(|s| SideSlot {
                slot: s.slot,
                library: s.library.clone(),
                symbol: s.symbol.clone(),
                after_libraries: s.after_libraries as u64,
            })
            .collect(),
        got: pyodide_emscripten::got_values(&mut *store, ctx_of),
        packages: packages.identities(),
        python_modules: packages.python_modules_identity(),
        anchors,
        mounts,
        vfs: vfs_image::encode(&vfs)?,
        entropy: entropy_ledger,
    };
    Ok((sidecar, vfs, baked))
}

impl Interpreter {
    /// Restores an interpreter from `snapshot`: instantiates its mapped
    /// module (memory and globals are the snapshot's, copy-on-write),
    /// rebuilds the file system (the snapshot's tree, then the snapshot's
    /// and `config`'s mounts), attaches the driver, sets `config.env` in
    /// `os.environ` and reseeds the random generators from the OS.
    ///
    /// `config`'s stdio, mounts, environment and memory limit apply;
    /// `program_name` and `c_stack_window` are the snapshot's, and so is
    /// every setting CPython reads at start-up (`PYTHON*` variables in
    /// `config.env` land in `os.environ` but do not re-configure it).
    pub fn restore(
        runtime: &Runtime,
        snapshot: &Snapshot,
        config: InterpreterConfig,
    ) -> Result<Interpreter, Error> {
        Self::restore_with(
            runtime,
            snapshot,
            config,
            SharedEntropy::new(OsEntropy),
            true,
        )
    }

    pub(crate) fn restore_with(
        runtime: &Runtime,
        snapshot: &Snapshot,
        config: InterpreterConfig,
        entropy: SharedEntropy,
        leave_snapshot_mode: bool,
    ) -> Result<Interpreter, Error> {
        let sidecar = &snapshot.sidecar;
        let mount_new_packages = check_packages(sidecar, &config.packages)?;
        let python = || {
            let python = runtime.version.python;
            format!("{}.{}", python.major, python.minor)
        };
        let new_plan;
        let plan = if mount_new_packages {
            new_plan = config.packages.plan(&python())?;
            &new_plan
        } else {
            if snapshot.install_plan.get().is_none() {
                let _ = snapshot.install_plan.set(config.packages.plan(&python())?);
            }
            snapshot.install_plan.get().expect("set just above")
        };
        let driver_run = sidecar
            .anchors
            .iter()
            .find(|(name, _)| name == DRIVER_ANCHOR)
            .map(|(_, value)| *value as u32 as i32)
            .ok_or_else(|| Error::SnapshotState("the snapshot has no driver anchor".to_owned()))?;

        let mut vfs = base_vfs(
            runtime,
            &entropy,
            config.stdin,
            config.stdout,
            config.stderr,
        )?;
        vfs_image::apply(&mut vfs, &snapshot.vfs)?;
        config.packages.install_planned(&mut vfs, plan)?;
        let mut mounts: Vec<Mount> = snapshot
            .mounts()
            .iter()
            .filter(|(guest, _)| !config.mounts.iter().any(|m| m.guest == *guest))
            .map(|(guest, host)| Mount {
                host: PathBuf::from(host),
                guest: guest.clone(),
                writable: false,
            })
            .collect();
        mounts.extend(config.mounts);
        apply_mounts(&mut vfs, &mounts)?;
        vfs.chdir(Dirfd::Cwd, GuestPath::from(snapshot.vfs.cwd.as_slice()))
            .map_err(|errno| Error::Layout {
                path: String::from_utf8_lossy(&snapshot.vfs.cwd).into_owned(),
                errno,
            })?;

        let mut store = new_store(
            runtime,
            vfs,
            entropy,
            &sidecar.environment,
            &config.program_name,
            config.memory_limit,
        );
        store.data_mut().ctx.set_umask(snapshot.vfs.umask);
        let restored = RestoredImports {
            globals: sidecar
                .anchors
                .iter()
                .filter_map(|(anchor, value)| {
                    let (module, name) =
                        anchor.strip_prefix(IMPORT_ANCHOR_PREFIX)?.split_once(':')?;
                    Some((module.to_owned(), name.to_owned(), *value as u32 as i32))
                })
                .collect(),
            table_len: sidecar.table_len,
        };
        let instance = match snapshot.instance_pre(runtime)? {
            Some((linker, pre)) => {
                EmscriptenInstance::instantiate_pre(&mut store, pre, linker.clone(), ctx_of)?
            }
            None => EmscriptenInstance::instantiate_restored(
                &mut store,
                runtime.linker(&snapshot.module)?,
                &snapshot.module,
                &restored,
                ctx_of,
            )?,
        };
        runtime.trampoline.install(&mut store, &instance)?;
        for (index, len) in &sidecar.null_tables {
            let name = pyodide_snapshot::instrument::table_export_name(*index);
            let table = instance
                .instance()
                .get_table(&mut store, &name)
                .ok_or_else(|| Error::SnapshotState(format!("the module has no table {index}")))?;
            let ty = table.ty(&store);
            let missing = len.saturating_sub(table.size(&store));
            if missing > 0 {
                table
                    .grow(&mut store, missing, Ref::null(ty.element().heap_type()))
                    .map_err(|e| {
                        Error::SnapshotState(format!("cannot grow table {index} back: {e}"))
                    })?;
            }
        }
        replay_side_modules(&mut store, sidecar)?;
        let table_len = instance.table().size(&store);
        if table_len != sidecar.table_len {
            return Err(Error::SnapshotState(format!(
                "the function table has {table_len} entries after the restore, the snapshot \
                 recorded {}",
                sidecar.table_len
            )));
        }
        let mut environment = sidecar.environment.clone();
        for (key, value) in &config.env {
            environment.retain(|(k, _)| k != key);
            environment.push((key.clone(), value.clone()));
        }
        let mut interpreter =
            Interpreter::attach(runtime, store, instance, driver_run, environment)?;
        let env: Vec<String> = config
            .env
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        if mount_new_packages {
            // Mounted after the snapshot's imports: the path finders'
            // directory caches must not hide them.
            let mut code = String::from("import importlib, sys\n");
            if config.packages.python_modules.is_some() {
                code.push_str(&format!(
                    "if {PYTHON_MODULES_GUEST_DIR:?} not in sys.path: \
                     sys.path.insert(0, {PYTHON_MODULES_GUEST_DIR:?})\n"
                ));
            }
            code.push_str("importlib.invalidate_caches()\n");
            interpreter
                .request("exec", &code, &[])
                .map_err(|e| match e {
                    RunError::Host(error) => error,
                    other => Error::Driver(format!("cannot mount the packages: {other}")),
                })?;
        }
        if !env.is_empty() {
            interpreter
                .request("restored", "", &env)
                .map_err(|e| match e {
                    RunError::Host(error) => error,
                    other => Error::Driver(format!("cannot finish the restore: {other}")),
                })?;
        }
        if leave_snapshot_mode {
            entropy_integration::reseed(&mut interpreter)?;
        }
        Ok(interpreter)
    }
}

/// Checks `given` against the packages the snapshot was made with: the
/// same files (by name and SHA-256) in the same order, or — for a
/// snapshot made without packages — anything. Returns whether they are new
/// to the snapshot (mounted after its imports).
fn check_packages(sidecar: &Sidecar, given: &Packages) -> Result<bool, Error> {
    if sidecar.packages.is_empty() && sidecar.python_modules.is_none() {
        return Ok(!given.is_empty());
    }
    let files = given.identities();
    let modules = given.python_modules_identity();
    if files != sidecar.packages || modules != sidecar.python_modules {
        let describe = |files: &[PackageFile], modules: &Option<String>| {
            let mut parts: Vec<String> = files
                .iter()
                .map(|f| format!("{} (sha256 {})", f.file_name, f.sha256))
                .collect();
            if let Some(dir) = modules {
                parts.push(format!("python_modules {dir}"));
            }
            if parts.is_empty() {
                "none".to_owned()
            } else {
                parts.join(", ")
            }
        };
        return Err(Error::SnapshotPackages {
            recorded: describe(&sidecar.packages, &sidecar.python_modules),
            given: describe(&files, &modules),
        });
    }
    Ok(false)
}

/// Loads the snapshot's side modules again, in load order, at their
/// recorded bases, without relocations or constructors (the memory holds
/// their initialised data), registering their `dlopen` handles, and hands
/// out the linker's added table slots again in between, as they were.
fn replay_side_modules(
    store: &mut wasmtime::Store<crate::runtime::HostState>,
    sidecar: &Sidecar,
) -> Result<(), Error> {
    let slots_after = |store: &mut wasmtime::Store<crate::runtime::HostState>,
                       count: usize|
     -> Result<(), Error> {
        for slot in sidecar
            .side_slots
            .iter()
            .filter(|s| s.after_libraries as usize == count)
        {
            let added = AddedSlot {
                slot: slot.slot,
                library: slot.library.clone(),
                symbol: slot.symbol.clone(),
                after_libraries: count,
            };
            pyodide_emscripten::restore_slot(&mut *store, ctx_of, &added)?;
        }
        Ok(())
    };
    slots_after(store, 0)?;
    for (index, module) in sidecar.side_modules.iter().enumerate() {
        let bases = LibraryBases {
            memory_base: u32::try_from(module.memory_base).map_err(|_| {
                Error::SnapshotState(format!(
                    "side module '{}' has memory base {}",
                    module.path, module.memory_base
                ))
            })?,
            table_base: u32::try_from(module.table_base).map_err(|_| {
                Error::SnapshotState(format!(
                    "side module '{}' has table base {}",
                    module.path, module.table_base
                ))
            })?,
        };
        let loaded = pyodide_emscripten::load_library(
            &mut *store,
            ctx_of,
            &module.path,
            LoadOptions {
                global: module.global,
                at: Some(bases),
                run_init: false,
                handles: module.handles.clone(),
                content: Some(LibraryContent {
                    sha256: module.sha256,
                    header: module.header.clone(),
                }),
            },
        )?;
        if loaded.bases != bases || u64::from(loaded.table_size) != module.table_size {
            return Err(Error::SnapshotState(format!(
                "side module '{}' was placed at memory {} table {} ({} slots) on restore, the \
                 snapshot has it at memory {} table {} ({} slots)",
                module.path,
                loaded.bases.memory_base,
                loaded.bases.table_base,
                loaded.table_size,
                module.memory_base,
                module.table_base,
                module.table_size
            )));
        }
        slots_after(store, index + 1)?;
    }
    pyodide_emscripten::restore_got(&mut *store, ctx_of, &sidecar.got)?;
    Ok(())
}

/// Where snapshot creation meets the entropy policy (`crate::entropy`):
/// the deterministic, accounted stream creation runs on, the checks after
/// each import, the ledger for the sidecar, and leaving it after a restore.
mod entropy_integration {
    use super::*;
    use crate::entropy;

    /// The deterministic entropy a snapshot is made with.
    pub(super) fn creation_source() -> SharedEntropy {
        entropy::snapshot_entropy().0
    }

    pub(super) fn enter(interpreter: &mut Interpreter) -> Result<(), Error> {
        entropy::enter_snapshot_mode(interpreter)
    }

    pub(super) fn check(interpreter: &mut Interpreter) -> Result<(), Error> {
        entropy::check_top_level_entropy(interpreter)
    }

    /// Who drew how much entropy while the snapshot was made, encoded.
    pub(super) fn ledger(interpreter: &mut Interpreter) -> Result<Vec<u8>, Error> {
        match entropy::ledger(interpreter) {
            None => Ok(Vec::new()),
            Some(ledger) => bincode::serde::encode_to_vec(&ledger, bincode::config::standard())
                .map_err(|e| {
                    Error::SnapshotState(format!("cannot encode the entropy ledger: {e}"))
                }),
        }
    }

    /// At the end of creation, before the capture: OS entropy behind
    /// `random_get`, the policy removed, the random generators reseeded.
    pub(super) fn leave(interpreter: &mut Interpreter) -> Result<(), Error> {
        entropy::leave_snapshot_mode(interpreter)
    }

    /// After a restore (whose store draws from the OS from the start):
    /// reseed what the snapshot's memory holds seeded, so no two restored
    /// instances share a stream: `random`, `numpy.random` and `tempfile`'s
    /// name generator, as `leave_snapshot_mode` does (in the driver:
    /// nothing is compiled at restore).
    pub(super) fn reseed(interpreter: &mut Interpreter) -> Result<(), Error> {
        interpreter.request("reseed", "", &[]).map_err(|e| match e {
            RunError::Host(error) => error,
            other => Error::Driver(format!("cannot reseed after the restore: {other}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_baselines_are_other_builds_baselines_of_the_same_release() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "baseline-314.0.7-aa-bb-r6-0.1.0.snap",
            "baseline-314.0.7-aa-bb-r6-0.1.0.snap.cwasm",
            "baseline-314.0.7-aa-bb-r7-0.1.0-cc.snap",
            "baseline-314.0.7-aa-bb-r7-0.1.0-cc.snap.cwasm",
            "baseline-0.29.3-aa-bb-r6-0.1.0.snap",
            "baseline-314.0.7-aa-bb-r6-0.1.0.snap.tmp123",
            "mine.snap",
            "unsupported-0.29.3",
        ];
        for name in names {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let current = dir.path().join("baseline-314.0.7-aa-bb-r7-0.1.0-cc.snap");
        let mut stale: Vec<String> = stale_baselines(dir.path(), "314.0.7", &current)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        stale.sort();
        assert_eq!(
            stale,
            [
                "baseline-314.0.7-aa-bb-r6-0.1.0.snap",
                "baseline-314.0.7-aa-bb-r6-0.1.0.snap.cwasm"
            ]
        );
    }
}
