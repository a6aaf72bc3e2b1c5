//! [`Runtime`]: the pieces every interpreter of one Pyodide version shares —
//! the engine, the compiled module (mapped from the cache), the standard
//! library archive and the linker with the host imports.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use pyodide_emscripten::dylink::{DylinkInfo, read_dylink_info};
use pyodide_emscripten::{
    CacheOutcome, CallTrampoline, EmscriptenCtx, EngineSettings, ModuleCache,
};
use pyodide_packages::dist::{self, Distribution, Event, KnownVersion, Source};
use pyodide_snapshot::Identity;
use sha2::{Digest, Sha256};
use wasmtime::{Linker, Module};

use crate::Error;

/// How to make a [`Runtime`].
pub struct RuntimeOptions {
    /// The Pyodide version (default: the newest known).
    pub version: String,
    /// Engine settings (the defaults are what pyworkerd uses).
    pub engine: EngineSettings,
    /// The cache root (default: `PYWORKERD_CACHE`, else the user cache).
    pub cache_root: Option<PathBuf>,
    /// Progress of first-use work (fetching, compiling).
    pub progress: Box<dyn FnMut(Progress)>,
    /// Whether an interpreter that ends keeps the pages it wrote resident
    /// in its slot of the engine's pool, so that the next interpreter made
    /// there from the same snapshot (or the same boot) writes them without
    /// page faults (default: yes). It costs up to 16 MiB resident per slot
    /// used and a copy of those pages back from the snapshot whenever an
    /// interpreter ends, and suits a process that makes many interpreters;
    /// one that makes a single interpreter and exits (`pyworkerd run`)
    /// gains nothing from it. See `pyodide_emscripten::resident`.
    pub warm_slots: bool,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            version: dist::default_version().version.to_owned(),
            engine: EngineSettings::default(),
            cache_root: None,
            progress: Box::new(|_| {}),
            warm_slots: true,
        }
    }
}

impl std::fmt::Debug for RuntimeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeOptions")
            .field("version", &self.version)
            .field("engine", &self.engine)
            .field("cache_root", &self.cache_root)
            .field("warm_slots", &self.warm_slots)
            .finish_non_exhaustive()
    }
}

/// Long-running first-use work [`Runtime::new`] reports.
#[derive(Debug)]
#[non_exhaustive]
pub enum Progress {
    /// A step of fetching the distribution.
    Fetch(Event),
    /// Compiling the module for this machine has started (once per
    /// Pyodide release and engine configuration; ~10 s).
    Compiling {
        /// The Pyodide version.
        version: &'static str,
    },
}

/// Store data of an interpreter.
pub(crate) struct HostState {
    pub(crate) ctx: EmscriptenCtx,
}

pub(crate) fn ctx_of(state: &mut HostState) -> &mut EmscriptenCtx {
    &mut state.ctx
}

/// Everything interpreters of one Pyodide version share.
pub struct Runtime {
    pub(crate) version: &'static KnownVersion,
    pub(crate) cache: ModuleCache,
    /// The main module, mapped from the cache when first needed (a boot,
    /// not a restore: a restore instantiates the snapshot's module), or at
    /// [`Runtime::new`] when it had to be compiled.
    module: OnceLock<Module>,
    pub(crate) dylink: Option<DylinkInfo>,
    pub(crate) stdlib: Arc<[u8]>,
    /// The archive's modification time on the host, which its guest copy
    /// gets too: the same in every interpreter, so that what CPython keys on
    /// it (`importlib.metadata`'s index, made in a snapshot) stays valid.
    pub(crate) stdlib_mtime: pyodide_vfs::Timespec,
    /// The host imports.
    base_linker: Linker<HostState>,
    /// `base_linker` plus traps for the imports the host does not
    /// implement, made for the first module instantiated (the main module
    /// and a snapshot's module import the same functions).
    linker: OnceLock<Arc<Linker<HostState>>>,
    pub(crate) trampoline: CallTrampoline,
    lock_file: PathBuf,
    /// SHA-256 of the original `pyodide.asm.wasm` (a snapshot's identity).
    pub(crate) binary_sha256: [u8; 32],
    /// The original `pyodide.asm.wasm` (read again to bake a snapshot).
    pub(crate) asm_wasm: PathBuf,
    /// `<cache root>/snapshots`, where the automatic baseline lives.
    pub(crate) snapshots_dir: PathBuf,
    compiled_now: bool,
    /// [`RuntimeOptions::warm_slots`].
    pub(crate) warm_slots: bool,
}

/// The label of the snapshot instrumentation in the module cache's keys:
/// change it when `pyodide_snapshot::export_mutable_globals` changes its
/// output.
const INSTRUMENTATION_LABEL: &str = "pyodide-snapshot export_mutable_globals r1";

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("version", &self.version.version)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Finds the distribution (fetching and verifying it on first use),
    /// compiles the module when the cache has none (mapping a cached one is
    /// left to the first boot) and prepares the host imports.
    pub fn new(mut options: RuntimeOptions) -> Result<Runtime, Error> {
        let version = dist::known_version(&options.version)?;
        let cache_root = match options.cache_root.take() {
            Some(root) => root,
            None => dist::cache_root()?,
        };
        // Sizes only on the fast path; a miss verifies (or fetches) fully.
        let distribution = match dist::find_cached(version, &cache_root) {
            Some(found) => found,
            None => {
                let progress = &mut options.progress;
                dist::ensure(version, &cache_root, &Source::from_env(), &mut |e| {
                    progress(Progress::Fetch(e))
                })?
            }
        };
        let cache = ModuleCache::new(options.engine, cache_root.join("modules"))?;
        let dylink = read_prefix_dylink(&distribution)?;
        let asm_wasm = distribution.asm_wasm();
        let binary_sha256 = match known_sha256(&distribution) {
            Some(sha256) => sha256,
            None => file_sha256(&asm_wasm)?,
        };
        // A module to compile is compiled now (with progress); a cached one
        // is mapped when a boot first needs it, so a process that restores
        // a snapshot never reads (nor checks) it.
        let module = OnceLock::new();
        let mut compiled_now = false;
        if !cache.is_cached_transformed(&binary_sha256, INSTRUMENTATION_LABEL) {
            (options.progress)(Progress::Compiling {
                version: version.version,
            });
            let loaded = load_main_module(&cache, &asm_wasm, binary_sha256)?;
            compiled_now = matches!(loaded.outcome, CacheOutcome::Compiled { .. });
            let _ = module.set(loaded.module);
        }
        let stdlib_path = distribution.stdlib_zip();
        let stdlib = std::fs::read(&stdlib_path).map_err(|source| Error::Read {
            path: stdlib_path.clone(),
            source,
        })?;
        let stdlib_mtime = std::fs::metadata(&stdlib_path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(pyodide_vfs::Timespec::new(0, 0), |d| {
                pyodide_vfs::Timespec::new(d.as_secs() as i64, d.subsec_nanos())
            });
        let mut base_linker = Linker::new(cache.engine());
        pyodide_emscripten::add_to_linker(&mut base_linker, ctx_of).map_err(|e| {
            Error::Host(pyodide_emscripten::Error::Engine(e.into_boxed_dyn_error()))
        })?;
        let trampoline = CallTrampoline::new(&cache)?;
        Ok(Runtime {
            lock_file: distribution.lock_file(),
            binary_sha256,
            asm_wasm,
            snapshots_dir: cache_root.join("snapshots"),
            trampoline,
            version,
            cache,
            module,
            dylink,
            stdlib: stdlib.into(),
            stdlib_mtime,
            base_linker,
            linker: OnceLock::new(),
            compiled_now,
            warm_slots: options.warm_slots,
        })
    }

    /// The main module (instrumented for snapshots), mapped from the cache
    /// on first use.
    pub(crate) fn main_module(&self) -> Result<&Module, Error> {
        if let Some(module) = self.module.get() {
            return Ok(module);
        }
        let loaded = load_main_module(&self.cache, &self.asm_wasm, self.binary_sha256)?;
        Ok(self.module.get_or_init(|| loaded.module))
    }

    /// The linker to instantiate `module` (the main module or a snapshot's)
    /// with: the host imports, and imports the host does not implement
    /// defined once as traps naming them, so instantiating (every boot and
    /// restore) only looks them up.
    pub(crate) fn linker(&self, module: &Module) -> Result<&Arc<Linker<HostState>>, Error> {
        if let Some(linker) = self.linker.get() {
            return Ok(linker);
        }
        let mut linker = self.base_linker.clone();
        let mut scratch = wasmtime::Store::new(
            self.cache.engine(),
            HostState {
                ctx: EmscriptenCtx::builder().build(),
            },
        );
        pyodide_emscripten::define_missing_as_traps(&mut linker, &mut scratch, module).map_err(
            |e| Error::Host(pyodide_emscripten::Error::Engine(e.into_boxed_dyn_error())),
        )?;
        Ok(self.linker.get_or_init(|| Arc::new(linker)))
    }

    /// The Pyodide release this runtime runs.
    pub fn version(&self) -> &'static KnownVersion {
        self.version
    }

    /// Whether making this runtime compiled the module (a cold cache; a
    /// cached module is only mapped when a boot needs it).
    pub fn compiled_now(&self) -> bool {
        self.compiled_now
    }

    /// The distribution's `pyodide-lock.json` (its packages, and the full
    /// CPython version package markers are evaluated with).
    pub fn lock_file(&self) -> &std::path::Path {
        &self.lock_file
    }

    /// The module cache (and through it, the engine).
    pub fn module_cache(&self) -> &ModuleCache {
        &self.cache
    }

    /// What a snapshot must have been made with to be restored by this
    /// runtime: this Pyodide release and binary, this wasmtime and engine
    /// configuration.
    pub fn snapshot_identity(&self) -> Identity {
        Identity::new(
            self.version.version,
            self.binary_sha256,
            self.cache.fingerprint(),
        )
    }

    /// Why this runtime cannot make or restore snapshots, if it cannot.
    /// Every known release can (a relocatable Pyodide, 0.29.x, imports its
    /// memory: bake turns the import into a defined memory and a restore
    /// gives the other imports their captured values), so this is `None`;
    /// it stays for callers that handle a release that cannot.
    pub fn snapshot_unsupported(&self) -> Option<String> {
        None
    }
}

/// Maps (compiling on a miss) the main module with the snapshot
/// instrumentation: exports of its mutable globals, tables and memory, so
/// they can be captured; harmless otherwise.
fn load_main_module(
    cache: &ModuleCache,
    asm_wasm: &Path,
    sha256: [u8; 32],
) -> Result<pyodide_emscripten::LoadedModule, Error> {
    Ok(
        cache.load_file_transformed(asm_wasm, Some(sha256), INSTRUMENTATION_LABEL, |wasm| {
            Ok(pyodide_snapshot::export_mutable_globals(&wasm)?)
        })?,
    )
}

fn file_sha256(path: &Path) -> Result<[u8; 32], Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(Sha256::digest(&bytes).into())
}

fn known_sha256(distribution: &Distribution) -> Option<[u8; 32]> {
    let hex = distribution.file_sha256(dist::ASM_WASM)?;
    hex::decode(hex).ok()?.try_into().ok()
}

/// `dylink.0` is the first section; 64 KiB of the file hold it.
fn read_prefix_dylink(distribution: &Distribution) -> Result<Option<DylinkInfo>, Error> {
    let path = distribution.asm_wasm();
    let read_error = |source| Error::Read {
        path: path.clone(),
        source,
    };
    let mut prefix = Vec::with_capacity(64 << 10);
    std::fs::File::open(&path)
        .and_then(|f| f.take(64 << 10).read_to_end(&mut prefix))
        .map_err(read_error)?;
    Ok(read_dylink_info(dist::ASM_WASM, &prefix)?)
}
