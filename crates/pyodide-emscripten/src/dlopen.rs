//! The dynamic linker: loading Emscripten side modules (the `.so` files of
//! wheels and of shared-library packages) into a running main module, and
//! the `dlopen`/`dlsym` imports of Emscripten's libc (`_dlopen_js`,
//! `_emscripten_dlopen_js`, `_dlsym_js`).
//!
//! A load reads `dylink.0`, loads the `NEEDED` libraries first (searched in
//! `LD_LIBRARY_PATH` and the `$ORIGIN`-relative runtime paths, in the guest
//! file system), compiles through the [`ModuleCache`] (legacy exception
//! handling translated there), places the module's data in memory from the
//! guest's `calloc` (aligned as `dylink.0` asks) and its table slots at the
//! end of `__indirect_function_table`, resolves its imports against the main
//! module's exports, the main module's own imports (the host functions),
//! libraries loaded with `RTLD_GLOBAL` and the libraries of the same load,
//! fills the shared `GOT.mem`/`GOT.func` globals (a function keeps the one
//! table slot it already has, so function pointers compare equal across
//! modules), then runs `__wasm_apply_data_relocs` and `__wasm_call_ctors`.
//! A function import nobody defines becomes a stub that fails with the
//! symbol's name ([`UndefinedSymbol`]) when, and only if, it is called.
//!
//! Every load is recorded in load order with its bases ([`LoadedLibrary`]),
//! and [`load_library`] can place a library at recorded bases without
//! running its relocations and constructors, which is what restoring a
//! memory snapshot needs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use pyodide_vfs::{Dirfd, Errno, FileKind, GuestPath, OpenFlags};
use sha2::{Digest, Sha256};
use wasmtime::{
    AsContextMut, Caller, Extern, ExternType, Func, FuncType, Global, GlobalType, Instance, Linker,
    Module, Mutability, Ref, StoreContextMut, Table, TypedFunc, Val, ValType,
};

use crate::ctx::EmscriptenCtx;
use crate::dylink::{DylinkInfo, first_section_end, read_dylink_info};
use crate::guest::Guest;
use crate::linker::CtxGetter;
use crate::module_cache::ModuleCache;

const ENV: &str = "env";
const WASI: &str = "wasi_snapshot_preview1";
/// The value of a GOT entry nobody has defined yet (Emscripten's).
const UNDEFINED_ADDR: i32 = -1;
/// `RTLD_GLOBAL`.
const RTLD_GLOBAL: i32 = 256;
/// The name `dlsym` reports for the main program's handle.
const MAIN_NAME: &str = "__main__";

/// Offsets in musl's `struct dso` (wasm32) that the loader reads or writes.
mod dso {
    pub(super) const FLAGS: u32 = 4;
    pub(super) const MEM_ALLOCATED: u32 = 8;
    pub(super) const MEM_ADDR: u32 = 12;
    pub(super) const MEM_SIZE: u32 = 16;
    pub(super) const TABLE_ADDR: u32 = 20;
    pub(super) const TABLE_SIZE: u32 = 24;
    pub(super) const FILE_DATA: u32 = 28;
    pub(super) const FILE_DATA_SIZE: u32 = 32;
    pub(super) const NAME: u32 = 36;
}

/// Exports a side module has that are never symbols of the program
/// (Emscripten's list).
fn is_internal(name: &str) -> bool {
    matches!(
        name,
        "memory"
            | "__memory_base"
            | "__table_base"
            | "__stack_pointer"
            | "__indirect_function_table"
            | "__cpp_exception"
            | "__c_longjmp"
            | "__wasm_apply_data_relocs"
            | "__dso_handle"
            | "__tls_size"
            | "__tls_align"
            | "__set_stack_limits"
            | "_emscripten_tls_init"
            | "__wasm_init_tls"
            | "__wasm_call_ctors"
            | "__start_em_asm"
            | "__stop_em_asm"
            | "__start_em_js"
            | "__stop_em_js"
    ) || name.starts_with("__em_js__")
}

/// Where a side module's data and table slots start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LibraryBases {
    /// Address of the module's static data (0 when it has none).
    pub memory_base: u32,
    /// First table slot of the module's functions (0 when it has none).
    pub table_base: u32,
}

/// A loaded side module, as recorded in load order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedLibrary {
    /// Its path in the guest file system (normalized).
    pub path: String,
    /// Where its data and table slots were placed.
    pub bases: LibraryBases,
    /// Bytes of static data (`dylink.0`).
    pub mem_size: u32,
    /// Table slots (`dylink.0`).
    pub table_size: u32,
    /// Whether its symbols are visible to later loads (`RTLD_GLOBAL`).
    pub global: bool,
    /// The `struct dso` addresses `dlopen` used for it (its handles).
    pub handles: Vec<u32>,
    /// What it was loaded from (a later load given it in
    /// [`LoadOptions::content`] needs no file).
    pub content: LibraryContent,
}

/// The identity and layout of a side module's file: enough to load the
/// library again from the module cache without reading the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryContent {
    /// SHA-256 of the whole file (the module cache's key).
    pub sha256: [u8; 32],
    /// The file's first bytes through its `dylink.0` section (sizes,
    /// alignments, `NEEDED`, weak imports, runtime paths).
    pub header: Vec<u8>,
}

/// A table slot the linker added for a function that had none (a `GOT.func`
/// entry or a `dlsym` result for a function outside every element
/// segment). Slots the `GOT` of a load needs are handed out again, in the
/// same order, when the load is replayed; slots `dlsym` handed out between
/// loads are replayed with [`restore_slot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedSlot {
    /// The slot.
    pub slot: u32,
    /// The library whose export it is (`None`: the main module or the host).
    pub library: Option<String>,
    /// The exported name.
    pub symbol: String,
    /// How many libraries were loaded when it was added (a restore replays it
    /// after loading that many).
    pub after_libraries: usize,
}

/// How [`load_library`] loads.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `RTLD_GLOBAL`: later loads and `dlsym(RTLD_DEFAULT)` see its symbols.
    pub global: bool,
    /// Place the library at these bases instead of allocating (the memory
    /// then receives its data from a snapshot). The libraries it needs are
    /// found loaded when the records of [`EmscriptenCtx::loaded_libraries`]
    /// are replayed in order; any it needs that are not are allocated.
    pub at: Option<LibraryBases>,
    /// Run `__wasm_apply_data_relocs` and `__wasm_call_ctors` (false when
    /// the memory already holds the initialised data).
    pub run_init: bool,
    /// `struct dso` addresses to register as handles of the library.
    pub handles: Vec<u32>,
    /// The library's content as an earlier load recorded it
    /// ([`LoadedLibrary::content`]): the module compiled from it is taken
    /// from memory or the module cache, and the file is not read unless it
    /// has to be compiled (it must then still have this SHA-256). Applies to
    /// this library only, not to the ones it needs.
    pub content: Option<LibraryContent>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            global: false,
            at: None,
            run_init: true,
            handles: Vec::new(),
            content: None,
        }
    }
}

/// The guest called a function a side module imports but nothing defines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("undefined symbol '{name}' called (no loaded library defines it)")]
pub struct UndefinedSymbol {
    /// The symbol.
    pub name: String,
}

/// Why a side module could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DlopenError {
    /// The file does not exist in the guest file system.
    #[error("no such file '{path}'")]
    NotFound {
        /// The guest path.
        path: String,
    },
    /// The file could not be read.
    #[error("cannot read '{path}': {errno}")]
    Read {
        /// The guest path.
        path: String,
        /// Why.
        errno: Errno,
    },
    /// The file is not the one the library was recorded with
    /// ([`LoadOptions::content`]).
    #[error(
        "'{path}' has changed since it was loaded: sha-256 '{found}', it was loaded with \
         '{expected}'"
    )]
    ContentChanged {
        /// The guest path.
        path: String,
        /// The recorded SHA-256, hex.
        expected: String,
        /// The file's SHA-256, hex.
        found: String,
    },
    /// The file is not a side module.
    #[error("'{path}' is not a side module (no dylink.0 section)")]
    NotSideModule {
        /// The guest path.
        path: String,
    },
    /// Its `dylink.0` section is malformed, or it did not compile.
    #[error(transparent)]
    Module(#[from] crate::Error),
    /// The host was built without a module cache, so nothing can compile.
    #[error("side modules cannot be loaded: the host has no module cache")]
    NoModuleCache,
    /// The main module is not instantiated yet.
    #[error("side modules cannot be loaded before the main module is instantiated")]
    NoMainModule,
    /// The main module lacks an export the loader needs.
    #[error("the main module does not export '{0}'")]
    MissingExport(&'static str),
    /// The module asks for `dylink.0` features this loader refuses.
    #[error("'{path}' cannot be loaded: {why}")]
    Unsupported {
        /// The guest path.
        path: String,
        /// What is refused.
        why: String,
    },
    /// A non-function import that nothing provides.
    #[error("'{path}' imports '{module}.{name}', which nothing provides")]
    Import {
        /// The guest path.
        path: String,
        /// Import module.
        module: String,
        /// Import field.
        name: String,
    },
    /// A required `GOT.mem`/`GOT.func` symbol that nothing defines.
    #[error("undefined symbol '{name}'")]
    UndefinedSymbol {
        /// The symbol.
        name: String,
    },
    /// The `GOT` values a snapshot recorded do not fit the libraries it
    /// placed again ([`restore_got`]).
    #[error("the recorded GOT entry '{name}' {why}")]
    GotReplay {
        /// The entry's symbol.
        name: String,
        /// What does not fit.
        why: &'static str,
    },
    /// The guest has no memory left for the library's data.
    #[error("out of memory allocating {bytes} bytes for '{path}'")]
    OutOfMemory {
        /// The guest path.
        path: String,
        /// The size asked for.
        bytes: u32,
    },
    /// The function table could not grow, or is laid out differently from
    /// what a placement at recorded bases expects.
    #[error("cannot place the table slots of '{path}': {why}")]
    Table {
        /// The guest path.
        path: String,
        /// Why.
        why: String,
    },
    /// wasmtime refused to instantiate the module.
    #[error("cannot instantiate '{path}'")]
    Instantiate {
        /// The guest path.
        path: String,
        /// wasmtime's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The guest trapped in the loader's calls (`calloc`, relocations,
    /// constructors).
    #[error("'{during}' failed while loading '{path}'")]
    Trap {
        /// The guest path.
        path: String,
        /// The function being run.
        during: &'static str,
        /// The trap.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// What a name resolves to.
#[derive(Clone)]
enum Symbol {
    /// A function.
    Func(Func),
    /// A data address (already relocated).
    Data(u32),
    /// Anything else (a mutable global, a memory, a table, a tag).
    Other(Extern),
}

struct GotEntry {
    global: Global,
    required: bool,
    /// Made by the loader for a side module (not the main module's own).
    created: bool,
}

/// The main module as the loader sees it.
#[derive(Clone)]
struct MainModule {
    instance: Instance,
    memory_base: u32,
    /// What the host gives: see [`HostImports`].
    imports: HostImports,
}

/// Where the loader finds what the host provides (host functions, and for
/// a relocatable module its memory, table, stack pointer and tags).
#[derive(Clone)]
enum HostImports {
    /// What the main module was given for its `env`/`wasi_snapshot_preview1`
    /// imports, by field name.
    Given(Arc<HashMap<String, Extern>>),
    /// The `Linker<T>` the main module was pre-instantiated from (as
    /// `Any`: the loader's state does not know the store's data type),
    /// asked on demand.
    Linker(Arc<dyn std::any::Any + Send + Sync>),
}

impl HostImports {
    fn get<T: 'static>(&self, store: &mut StoreContextMut<'_, T>, name: &str) -> Option<Extern> {
        match self {
            HostImports::Given(map) => map.get(name).cloned(),
            HostImports::Linker(any) => {
                let linker = any.downcast_ref::<Linker<T>>()?;
                linker
                    .get(&mut *store, ENV, name)
                    .or_else(|_| linker.get(&mut *store, WASI, name))
                    .ok()
            }
        }
    }
}

struct Library {
    record: LoadedLibrary,
    exports: HashMap<String, Symbol>,
}

/// The dynamic linker's state, kept in [`EmscriptenCtx`].
#[derive(Default)]
pub(crate) struct DynamicLinker {
    cache: Option<ModuleCache>,
    main: Option<MainModule>,
    /// Ordered, so the slots filling it hands out are the same on every
    /// run. A main module pre-linked with its `GOT` baked in (see
    /// `attach_main_linked`) has its entries among its exports,
    /// `GOT.func.<name>` and `GOT.mem.<name>`: one joins this map when a
    /// side module first imports it.
    got: BTreeMap<String, GotEntry>,
    /// Function identity (`Func::to_raw`) → its table slot; built from the
    /// table on first use, then kept up to date.
    slots: Option<HashMap<usize, u32>>,
    libraries: Vec<Library>,
    by_path: HashMap<String, usize>,
    by_handle: HashMap<u32, usize>,
    added_slots: Vec<AddedSlot>,
}

impl DynamicLinker {
    pub(crate) fn new(cache: Option<ModuleCache>) -> Self {
        DynamicLinker {
            cache,
            ..DynamicLinker::default()
        }
    }

    /// Called by `boot` once the main module is instantiated: its instance,
    /// its memory base, what it was given for its imports, and the GOT
    /// globals it imports (which side modules share).
    pub(crate) fn attach_main(
        &mut self,
        instance: Instance,
        memory_base: u32,
        imports: HashMap<String, Extern>,
        got: Vec<(String, Global)>,
    ) {
        self.main = Some(MainModule {
            instance,
            memory_base,
            imports: HostImports::Given(Arc::new(imports)),
        });
        for (name, global) in got {
            self.got.insert(
                name,
                GotEntry {
                    global,
                    required: false,
                    created: false,
                },
            );
        }
    }

    /// Called instead of `attach_main` for a main module instantiated from
    /// an `InstancePre` of `linker`: a non-relocatable module (memory base
    /// 0) whose imported globals were baked into exported ones. Nothing is
    /// looked up now: host imports and `GOT` entries (its exports
    /// `GOT.func.<name>`, `GOT.mem.<name>`) are found when a side module
    /// first needs them.
    pub(crate) fn attach_main_linked<T: 'static>(
        &mut self,
        instance: Instance,
        linker: Arc<Linker<T>>,
    ) {
        self.main = Some(MainModule {
            instance,
            memory_base: 0,
            imports: HostImports::Linker(linker),
        });
    }

    /// The loaded libraries in load order.
    pub(crate) fn loaded(&self) -> impl Iterator<Item = &LoadedLibrary> {
        self.libraries.iter().map(|l| &l.record)
    }

    /// The table slots handed out to functions that had none, in order.
    pub(crate) fn added_slots(&self) -> &[AddedSlot] {
        &self.added_slots
    }

    /// The `GOT` entries made for side modules (not the main module's).
    fn created_got(&self) -> Vec<(String, Global)> {
        self.got
            .iter()
            .filter(|(_, e)| e.created)
            .map(|(n, e)| (n.clone(), e.global))
            .collect()
    }
}

impl std::fmt::Debug for DynamicLinker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicLinker")
            .field("libraries", &self.libraries.len())
            .field("got", &self.got.len())
            .finish_non_exhaustive()
    }
}

/// Loads the side module at `path` (a guest path; its `NEEDED` libraries
/// are loaded first) into the instance whose host state `get` finds, and
/// returns its record. A library already loaded is not loaded again (with
/// `options.global` it becomes global).
pub fn load_library<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    get: CtxGetter<T>,
    path: &str,
    options: LoadOptions,
) -> Result<LoadedLibrary, DlopenError> {
    let mut store = store.as_context_mut();
    let path = normalize(path);
    let mut scope = Vec::new();
    let index = load(&mut store, get, &path, None, &options, &mut scope)?;
    Ok(get(store.data_mut()).dylinker.libraries[index]
        .record
        .clone())
}

/// The function `name` that the loaded library at `path` exports (the
/// host's `dlsym`); `None` when the library is not loaded or has no such
/// function.
pub fn library_function<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    get: CtxGetter<T>,
    path: &str,
    name: &str,
) -> Option<Func> {
    let mut store = store.as_context_mut();
    let linker = &get(store.data_mut()).dylinker;
    let library = &linker.libraries[*linker.by_path.get(&normalize(path))?];
    match library.exports.get(name)? {
        Symbol::Func(f) => Some(*f),
        _ => None,
    }
}

/// The table slot of function `name` of the loaded library at `path` (`None`:
/// the global symbols), as `dlsym` gives it: its existing slot, or a new one
/// (recorded in [`EmscriptenCtx::added_slots`]).
pub fn function_slot<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    get: CtxGetter<T>,
    path: Option<&str>,
    name: &str,
) -> Result<u32, DlopenError> {
    let mut store = store.as_context_mut();
    let (func, owner) = find_function(&mut store, get, path, name)?;
    slot_for(&mut store, get, func, owner, name)
}

/// The function `name` names: exported by the library loaded from `path`,
/// or (`None`) found the way every library looks first.
fn find_function<T: 'static>(
    store: &mut StoreContextMut<'_, T>,
    get: CtxGetter<T>,
    path: Option<&str>,
    name: &str,
) -> Result<(Func, Owner), DlopenError> {
    let main = get(store.data_mut())
        .dylinker
        .main
        .clone()
        .ok_or(DlopenError::NoMainModule)?;
    let found = match path {
        None => resolve_global(store, get, &main, name),
        Some(path) => {
            let linker = &get(store.data_mut()).dylinker;
            let path = normalize(path);
            linker
                .by_path
                .get(&path)
                .and_then(|&i| Some((linker.libraries[i].exports.get(name)?.clone(), Some(i))))
        }
    };
    match found {
        Some((Symbol::Func(f), owner)) => Ok((f, owner)),
        _ => Err(DlopenError::UndefinedSymbol {
            name: name.to_owned(),
        }),
    }
}

/// Hands out `added.slot` again to the same function, after a restore has
/// re-created the libraries loaded before it (and the slots added before
/// it). A slot just past the end of the table is added there without
/// looking for one the function already has: the snapshot recorded that it
/// had none, in the same layout. Fails when the function gets another slot
/// (the table was laid out differently).
pub fn restore_slot<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    get: CtxGetter<T>,
    added: &AddedSlot,
) -> Result<(), DlopenError> {
    let mut store = store.as_context_mut();
    let library = added.library.as_deref();
    let (func, owner) = find_function(&mut store, get, library, &added.symbol)?;
    let table = get(store.data_mut())
        .handles
        .as_ref()
        .ok_or(DlopenError::NoMainModule)?
        .table;
    let slot = if table.size(&store) == u64::from(added.slot) {
        new_slot(&mut store, get, table, func, owner, &added.symbol)?
    } else {
        slot_for(&mut store, get, func, owner, &added.symbol)?
    };
    if slot != added.slot {
        return Err(DlopenError::Table {
            path: library.unwrap_or(MAIN_NAME).to_owned(),
            why: format!(
                "'{}' got slot {slot}, the snapshot has it at {}",
                added.symbol, added.slot
            ),
        });
    }
    Ok(())
}

/// The values of the `GOT` entries the loader made for side modules (not
/// the main module's own), by symbol: what a snapshot records so that a
/// restore can set them with [`restore_got`] instead of resolving them.
pub fn got_values<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    get: CtxGetter<T>,
) -> Vec<(String, i32)> {
    let mut store = store.as_context_mut();
    let entries = get(store.data_mut()).dylinker.created_got();
    entries
        .into_iter()
        .filter_map(|(name, global)| Some((name, global.get(&mut store).i32()?)))
        .collect()
}

/// Names the replay form of a side module in the module cache (change it
/// when `replay_form`'s output changes).
const REPLAY_FORM_LABEL: &str = "replay-form-1";

fn make_replay_form(wasm: Vec<u8>) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    Ok(crate::replay_form::replay_form(&wasm)?)
}

/// Compiles (into the module cache, and keeps in its memory) the form in
/// which a snapshot restore loads each library loaded so far, so that the
/// first restore compiles nothing: for a snapshot being made.
pub fn prepare_replay<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    get: CtxGetter<T>,
) -> Result<(), DlopenError> {
    let mut store = store.as_context_mut();
    let linker = &get(store.data_mut()).dylinker;
    let cache = linker.cache.clone().ok_or(DlopenError::NoModuleCache)?;
    let libraries: Vec<(String, [u8; 32])> = linker
        .libraries
        .iter()
        .filter(|l| l.record.mem_size > 0)
        .map(|l| (l.record.path.clone(), l.record.content.sha256))
        .collect();
    for (path, sha256) in libraries {
        load_module(&cache, &path, &sha256, true, || {
            read_verified(get(store.data_mut()), &path, &sha256)
        })?;
    }
    Ok(())
}

/// The compiled module of the library at `path` with content `sha256`
/// (its replay form when `replay_form`) from the module cache, which calls
/// `read` for the file only when it must compile. An error of `read` is
/// returned as it is, not as the cache's compile error.
fn load_module(
    cache: &ModuleCache,
    path: &str,
    sha256: &[u8; 32],
    replay_form: bool,
    read: impl FnOnce() -> Result<Vec<u8>, DlopenError>,
) -> Result<Module, DlopenError> {
    let mut read_error = None;
    let read_input = || {
        read().map_err(|error| {
            let message = error.to_string();
            read_error = Some(error);
            crate::Error::Compile {
                name: path.to_owned(),
                source: message.into(),
            }
        })
    };
    let loaded = if replay_form {
        cache.load_shared_transformed(
            path,
            sha256,
            REPLAY_FORM_LABEL,
            read_input,
            make_replay_form,
        )
    } else {
        cache.load_shared(path, sha256, read_input)
    };
    match read_error {
        Some(error) => Err(error),
        None => Ok(loaded?),
    }
}

/// Sets the `GOT` entries a replay of side modules made (loads with
/// [`LoadOptions::at`] and without init, which resolve nothing) to the
/// values [`got_values`] recorded. Fails when a value names an entry no
/// replayed library imports, or when an entry gets no value.
pub fn restore_got<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    get: CtxGetter<T>,
    values: &[(String, i32)],
) -> Result<(), DlopenError> {
    let mut store = store.as_context_mut();
    let created = get(store.data_mut()).dylinker.created_got();
    let mut pending: HashMap<String, Global> = created
        .into_iter()
        .filter(|(_, global)| global.get(&mut store).i32() == Some(UNDEFINED_ADDR))
        .collect();
    for (name, value) in values {
        let global = pending.remove(name).ok_or_else(|| DlopenError::GotReplay {
            name: name.clone(),
            why: "is not one the replayed libraries import",
        })?;
        global
            .set(&mut store, Val::I32(*value))
            .map_err(|e| DlopenError::Instantiate {
                path: name.clone(),
                source: crate::boxed(e),
            })?;
    }
    match pending.into_keys().min() {
        Some(name) => Err(DlopenError::GotReplay {
            name,
            why: "has no recorded value",
        }),
        None => Ok(()),
    }
}

fn load<T: 'static>(
    store: &mut StoreContextMut<'_, T>,
    get: CtxGetter<T>,
    path: &str,
    bytes: Option<Vec<u8>>,
    options: &LoadOptions,
    scope: &mut Vec<usize>,
) -> Result<usize, DlopenError> {
    let linker = &mut get(store.data_mut()).dylinker;
    if let Some(&index) = linker.by_path.get(path) {
        let library = &mut linker.libraries[index];
        library.record.global |= options.global;
        for &handle in &options.handles {
            linker.by_handle.insert(handle, index);
            if !library.record.handles.contains(&handle) {
                library.record.handles.push(handle);
            }
        }
        scope.push(index);
        return Ok(index);
    }
    let main = linker.main.clone().ok_or(DlopenError::NoMainModule)?;
    let cache = linker.cache.clone().ok_or(DlopenError::NoModuleCache)?;
    // A library of known content is loaded from its recorded header and
    // its compiled module; other loads read the file (or take the bytes
    // given) and hash it.
    let (mut bytes, content) = match (&options.content, bytes) {
        (Some(content), _) => (None, content.clone()),
        (None, bytes) => {
            let bytes = match bytes {
                Some(bytes) => bytes,
                None => read_file(get(store.data_mut()), path)?,
            };
            let header = first_section_end(&bytes).map_or(&bytes[..], |end| &bytes[..end]);
            let content = LibraryContent {
                sha256: Sha256::digest(&bytes).into(),
                header: header.to_vec(),
            };
            (Some(bytes), content)
        }
    };
    let info =
        read_dylink_info(path, &content.header)?.ok_or_else(|| DlopenError::NotSideModule {
            path: path.to_owned(),
        })?;
    if info.table_p2align != 0 {
        return Err(DlopenError::Unsupported {
            path: path.to_owned(),
            why: format!("table alignment 2^{} (only 1 is valid)", info.table_p2align),
        });
    }

    // NEEDED first, with this library's runtime paths; they join the scope
    // of this load.
    for needed in &info.needed {
        let found = find_library(get(store.data_mut()), needed, path, &info.runtime_paths);
        let needed_options = LoadOptions {
            handles: Vec::new(),
            at: None,
            content: None,
            ..options.clone()
        };
        load(store, get, &found, None, &needed_options, scope)?;
    }

    // A replay (placed at recorded bases, without init) instantiates the
    // library's replay form, which writes nothing over the data the memory
    // holds (see `replay_form`), when it has one.
    let replay = options.at.is_some() && !options.run_init;
    let use_replay_form = replay && info.mem_size > 0;
    let module = load_module(
        &cache,
        path,
        &content.sha256,
        use_replay_form,
        || match bytes.take() {
            Some(bytes) => Ok(bytes),
            None => read_verified(get(store.data_mut()), path, &content.sha256),
        },
    )?;
    drop(bytes);
    let handles = get(store.data_mut()).handles.clone();
    let Some(handles) = handles else {
        return Err(DlopenError::NoMainModule);
    };
    let table = handles.table;
    let bases = match options.at {
        Some(bases) => {
            let end = u64::from(bases.table_base) + u64::from(info.table_size);
            let size = table.size(&mut *store);
            if info.table_size > 0 && size > u64::from(bases.table_base) && size < end {
                return Err(DlopenError::Table {
                    path: path.to_owned(),
                    why: format!(
                        "slots {}..{end} overlap the end of the table ({size})",
                        bases.table_base
                    ),
                });
            }
            if size < end {
                grow_table(store, table, end - size, path)?;
            }
            bases
        }
        None => {
            let memory_base = if info.mem_size > 0 {
                let align = 1u32.checked_shl(info.mem_p2align).unwrap_or(0);
                if align == 0 {
                    return Err(DlopenError::Unsupported {
                        path: path.to_owned(),
                        why: format!("memory alignment 2^{}", info.mem_p2align),
                    });
                }
                let bytes =
                    info.mem_size
                        .checked_add(align)
                        .ok_or_else(|| DlopenError::OutOfMemory {
                            path: path.to_owned(),
                            bytes: info.mem_size,
                        })?;
                let calloc: TypedFunc<(i32, i32), i32> = main
                    .instance
                    .get_typed_func(&mut *store, "calloc")
                    .map_err(|_| DlopenError::MissingExport("calloc"))?;
                let ptr = calloc
                    .call(&mut *store, (bytes as i32, 1))
                    .map_err(|e| trap(path, "calloc", e))? as u32;
                if ptr == 0 {
                    return Err(DlopenError::OutOfMemory {
                        path: path.to_owned(),
                        bytes,
                    });
                }
                ptr.next_multiple_of(align)
            } else {
                0
            };
            let table_base = if info.table_size > 0 {
                let size = table.size(&mut *store);
                grow_table(store, table, u64::from(info.table_size), path)?;
                u32::try_from(size).map_err(|_| DlopenError::Table {
                    path: path.to_owned(),
                    why: format!("the table has {size} slots"),
                })?
            } else {
                0
            };
            LibraryBases {
                memory_base,
                table_base,
            }
        }
    };

    let index = get(store.data_mut()).dylinker.libraries.len();
    let imports = resolve_imports(store, get, &main, &module, &info, bases, path, scope, index)?;
    // Replayed from a module without a replay form, instantiation writes
    // the data segments (and the start function zeroes `.bss`) over the
    // library's data: it is put back afterwards.
    let kept = match options.at {
        Some(bases)
            if use_replay_form
                && module
                    .get_export(crate::replay_form::REPLAY_FORM_EXPORT)
                    .is_none() =>
        {
            let start = bases.memory_base as usize;
            let end = start + info.mem_size as usize;
            let data = handles.memory.data(&*store);
            let bytes = data
                .get(start..end)
                .ok_or_else(|| DlopenError::Unsupported {
                    path: path.to_owned(),
                    why: format!("its data at {start}..{end} is outside the memory"),
                })?;
            Some((start, bytes.to_vec()))
        }
        _ => None,
    };
    let instance =
        Instance::new(&mut *store, &module, &imports).map_err(|e| DlopenError::Instantiate {
            path: path.to_owned(),
            source: crate::boxed(e),
        })?;
    if let Some((start, bytes)) = kept {
        handles.memory.data_mut(&mut *store)[start..start + bytes.len()].copy_from_slice(&bytes);
    }

    // The module's own slots join the identity map.
    if info.table_size > 0 && get(store.data_mut()).dylinker.slots.is_some() {
        let mut added = Vec::new();
        for slot in bases.table_base..bases.table_base + info.table_size {
            if let Some(Ref::Func(Some(f))) = table.get(&mut *store, u64::from(slot)) {
                added.push((f.to_raw(&mut *store) as usize, slot));
            }
        }
        let slots = get(store.data_mut()).dylinker.slots.as_mut();
        if let Some(slots) = slots {
            for (key, slot) in added {
                slots.entry(key).or_insert(slot);
            }
        }
    }

    let mut exports = HashMap::new();
    let export_names: Vec<String> = module.exports().map(|e| e.name().to_owned()).collect();
    for name in export_names {
        if let Some(value) = instance.get_export(&mut *store, &name) {
            exports.insert(name, classify(store, value, bases.memory_base));
        }
    }
    let record = LoadedLibrary {
        path: path.to_owned(),
        bases,
        mem_size: info.mem_size,
        table_size: info.table_size,
        global: options.global,
        handles: options.handles.clone(),
        content,
    };
    {
        let linker = &mut get(store.data_mut()).dylinker;
        linker.libraries.push(Library { record, exports });
        linker.by_path.insert(path.to_owned(), index);
        for &handle in &options.handles {
            linker.by_handle.insert(handle, index);
        }
    }
    scope.push(index);
    // A replay gets its GOT values from the snapshot (`restore_got`), not by
    // resolving them again.
    if !replay && let Err(e) = fill_got(store, get, &main, index, scope) {
        forget(get(store.data_mut()), index);
        return Err(e);
    }

    if options.run_init {
        for name in ["__wasm_apply_data_relocs", "__wasm_call_ctors"] {
            if let Ok(init) = instance.get_typed_func::<(), ()>(&mut *store, name)
                && let Err(e) = init.call(&mut *store, ())
            {
                forget(get(store.data_mut()), index);
                return Err(trap(path, name, e));
            }
        }
    }
    Ok(index)
}

/// Undoes the bookkeeping of a load that failed after instantiation (its
/// memory and slots stay allocated, as Emscripten leaves them).
fn forget(ctx: &mut EmscriptenCtx, index: usize) {
    let linker = &mut ctx.dylinker;
    if index + 1 == linker.libraries.len() {
        let library = linker.libraries.pop().expect("the library just pushed");
        linker.by_path.remove(&library.record.path);
        linker.by_handle.retain(|_, i| *i != index);
    }
}

fn trap(path: &str, during: &'static str, error: wasmtime::Error) -> DlopenError {
    DlopenError::Trap {
        path: path.to_owned(),
        during,
        source: crate::boxed(error),
    }
}

fn grow_table<T>(
    store: &mut StoreContextMut<'_, T>,
    table: Table,
    by: u64,
    path: &str,
) -> Result<(), DlopenError> {
    table
        .grow(&mut *store, by, Ref::Func(None))
        .map(|_| ())
        .map_err(|e| DlopenError::Table {
            path: path.to_owned(),
            why: e.to_string(),
        })
}

fn classify<T>(store: &mut StoreContextMut<'_, T>, value: Extern, memory_base: u32) -> Symbol {
    match value {
        Extern::Func(f) => Symbol::Func(f),
        Extern::Global(g) => {
            let ty = g.ty(&mut *store);
            match (ty.mutability(), ty.content(), g.get(&mut *store)) {
                (Mutability::Const, ValType::I32, Val::I32(v)) => {
                    Symbol::Data((v as u32).wrapping_add(memory_base))
                }
                _ => Symbol::Other(Extern::Global(g)),
            }
        }
        other => Symbol::Other(other),
    }
}

/// Who defines a symbol: the main module (or the host), or a library.
type Owner = Option<usize>;

/// Looks `name` up where every library looks first: the main module's
/// exports, what the main module imports (the host), then the libraries
/// loaded with `RTLD_GLOBAL`, in load order.
fn resolve_global<T: 'static>(
    store: &mut StoreContextMut<'_, T>,
    get: CtxGetter<T>,
    main: &MainModule,
    name: &str,
) -> Option<(Symbol, Owner)> {
    if let Some(value) = main.instance.get_export(&mut *store, name) {
        return Some((classify(store, value, main.memory_base), None));
    }
    if let Some(value) = main.imports.get(store, name) {
        let symbol = match value {
            Extern::Func(f) => Symbol::Func(f),
            other => Symbol::Other(other),
        };
        return Some((symbol, None));
    }
    let linker = &get(store.data_mut()).dylinker;
    linker
        .libraries
        .iter()
        .enumerate()
        .filter(|(_, l)| l.record.global)
        .find_map(|(i, l)| Some((l.exports.get(name)?.clone(), Some(i))))
}

/// `resolve_global`, then the libraries of `scope` (this load's), then
/// library `own`'s exports.
fn resolve_scoped<T: 'static>(
    store: &mut StoreContextMut<'_, T>,
    get: CtxGetter<T>,
    main: &MainModule,
    name: &str,
    scope: &[usize],
    own: Option<usize>,
) -> Option<(Symbol, Owner)> {
    if let Some(found) = resolve_global(store, get, main, name) {
        return Some(found);
    }
    let linker = &get(store.data_mut()).dylinker;
    scope
        .iter()
        .chain(own.iter())
        .filter_map(|&i| Some((linker.libraries.get(i)?.exports.get(name)?.clone(), Some(i))))
        .next()
}

#[allow(clippy::too_many_arguments)]
fn resolve_imports<T: 'static>(
    store: &mut StoreContextMut<'_, T>,
    get: CtxGetter<T>,
    main: &MainModule,
    module: &Module,
    info: &DylinkInfo,
    bases: LibraryBases,
    path: &str,
    scope: &[usize],
    index: usize,
) -> Result<Vec<Extern>, DlopenError> {
    let handles = get(store.data_mut())
        .handles
        .clone()
        .ok_or(DlopenError::NoMainModule)?;
    let mut imports = Vec::new();
    for import in module.imports() {
        let (m, name) = (import.module(), import.name());
        let missing = || DlopenError::Import {
            path: path.to_owned(),
            module: m.to_owned(),
            name: name.to_owned(),
        };
        let value: Extern = match import.ty() {
            ExternType::Memory(_) => handles.memory.into(),
            ExternType::Table(_) => handles.table.into(),
            ExternType::Global(ty) if m == ENV && name == "__memory_base" => {
                constant(store, ty, bases.memory_base, path)?
            }
            ExternType::Global(ty) if m == ENV && name == "__table_base" => {
                constant(store, ty, bases.table_base, path)?
            }
            ExternType::Global(ty) if m == "GOT.mem" || m == "GOT.func" => {
                let weak = info
                    .weak_imports
                    .iter()
                    .any(|(wm, wn)| wm == m && wn == name);
                got_entry(store, get, ty, name, !weak, path)?.into()
            }
            ExternType::Func(ty) if m == ENV || m == WASI => {
                match resolve_scoped(store, get, main, name, scope, None) {
                    Some((Symbol::Func(f), _)) => f.into(),
                    _ => lazy_stub(store, get, ty, name, scope.to_vec(), index).into(),
                }
            }
            ExternType::Func(ty) => lazy_stub(store, get, ty, name, Vec::new(), index).into(),
            ExternType::Global(_) | ExternType::Tag(_) if m == ENV => {
                match resolve_scoped(store, get, main, name, scope, None) {
                    Some((Symbol::Other(value), _)) => value,
                    _ => return Err(missing()),
                }
            }
            _ => return Err(missing()),
        };
        imports.push(value);
    }
    Ok(imports)
}

fn constant<T>(
    store: &mut StoreContextMut<'_, T>,
    ty: GlobalType,
    value: u32,
    path: &str,
) -> Result<Extern, DlopenError> {
    Global::new(&mut *store, ty, Val::I32(value as i32))
        .map(Extern::from)
        .map_err(|e| DlopenError::Instantiate {
            path: path.to_owned(),
            source: crate::boxed(e),
        })
}

fn got_entry<T>(
    store: &mut StoreContextMut<'_, T>,
    get: CtxGetter<T>,
    ty: GlobalType,
    name: &str,
    required: bool,
    path: &str,
) -> Result<Global, DlopenError> {
    if let Some(entry) = get(store.data_mut()).dylinker.got.get_mut(name) {
        entry.required |= required;
        return Ok(entry.global);
    }
    // The main module's own entry, when its GOT was baked into exports.
    let main = get(store.data_mut()).dylinker.main.clone();
    let exported = main.and_then(|main| {
        main.instance
            .get_global(&mut *store, &format!("GOT.func.{name}"))
            .or_else(|| {
                main.instance
                    .get_global(&mut *store, &format!("GOT.mem.{name}"))
            })
    });
    let (global, created) = match exported {
        Some(global) => (global, false),
        None => {
            let ty = GlobalType::new(ty.content().clone(), Mutability::Var);
            let global = Global::new(&mut *store, ty, Val::I32(UNDEFINED_ADDR)).map_err(|e| {
                DlopenError::Instantiate {
                    path: path.to_owned(),
                    source: crate::boxed(e),
                }
            })?;
            (global, true)
        }
    };
    get(store.data_mut()).dylinker.got.insert(
        name.to_owned(),
        GotEntry {
            global,
            required,
            created,
        },
    );
    Ok(global)
}

/// A function import resolved on its first call: the global symbols, the
/// libraries of the load that brought it, then the importing library's own
/// exports; [`UndefinedSymbol`] when none defines it.
fn lazy_stub<T: 'static>(
    store: &mut StoreContextMut<'_, T>,
    get: CtxGetter<T>,
    ty: FuncType,
    name: &str,
    scope: Vec<usize>,
    own: usize,
) -> Func {
    let name: Arc<str> = name.into();
    let resolved: Arc<OnceLock<Func>> = Arc::new(OnceLock::new());
    Func::new(&mut *store, ty, move |mut caller, params, results| {
        let target = match resolved.get() {
            Some(f) => *f,
            None => {
                let mut store = caller.as_context_mut();
                let main = get(store.data_mut()).dylinker.main.clone();
                let found = main.and_then(|main| {
                    resolve_scoped(&mut store, get, &main, &name, &scope, Some(own))
                });
                match found {
                    Some((Symbol::Func(f), _)) => *resolved.get_or_init(|| f),
                    _ => {
                        return Err(wasmtime::Error::new(UndefinedSymbol {
                            name: name.to_string(),
                        }));
                    }
                }
            }
        };
        target.call(&mut caller, params, results)
    })
}

/// Gives every GOT entry still undefined its value, as Emscripten does after
/// each load: the new library's exports first, then the global symbols,
/// then this load's libraries and every other loaded library. Functions get
/// their existing table slot (or one new slot); an unresolved weak entry
/// becomes 0, an unresolved required one fails the load.
fn fill_got<T: 'static>(
    store: &mut StoreContextMut<'_, T>,
    get: CtxGetter<T>,
    main: &MainModule,
    index: usize,
    scope: &[usize],
) -> Result<(), DlopenError> {
    let pending: Vec<(String, Global, bool)> = {
        let linker = &get(store.data_mut()).dylinker;
        linker
            .got
            .iter()
            .map(|(n, e)| (n.clone(), e.global, e.required))
            .collect()
    };
    for (name, global, required) in pending {
        if global.get(&mut *store).i32() != Some(UNDEFINED_ADDR) {
            continue;
        }
        let own = {
            let linker = &get(store.data_mut()).dylinker;
            if is_internal(&name) {
                None
            } else {
                linker.libraries[index].exports.get(&name).cloned()
            }
        };
        let found = match own {
            Some(symbol) => Some((symbol, Some(index))),
            None => resolve_scoped(store, get, main, &name, scope, None).or_else(|| {
                let linker = &get(store.data_mut()).dylinker;
                linker
                    .libraries
                    .iter()
                    .enumerate()
                    .find_map(|(i, l)| Some((l.exports.get(&name)?.clone(), Some(i))))
            }),
        };
        let value = match found {
            Some((Symbol::Func(f), owner)) => slot_for(store, get, f, owner, &name)? as i32,
            Some((Symbol::Data(address), _)) => address as i32,
            Some((Symbol::Other(Extern::Global(g)), _)) => match g.get(&mut *store) {
                Val::I32(v) => v,
                _ => continue,
            },
            Some((Symbol::Other(_), _)) | None if !required => 0,
            Some((Symbol::Other(_), _)) | None => {
                return Err(DlopenError::UndefinedSymbol { name });
            }
        };
        global
            .set(&mut *store, Val::I32(value))
            .map_err(|e| DlopenError::Instantiate {
                path: name.clone(),
                source: crate::boxed(e),
            })?;
    }
    Ok(())
}

/// The table slot of `func`: the one it already has (so `&f` compares equal
/// everywhere), or a new one at the end of the table.
fn slot_for<T>(
    store: &mut StoreContextMut<'_, T>,
    get: CtxGetter<T>,
    func: Func,
    owner: Owner,
    name: &str,
) -> Result<u32, DlopenError> {
    let table = get(store.data_mut())
        .handles
        .as_ref()
        .ok_or(DlopenError::NoMainModule)?
        .table;
    if get(store.data_mut()).dylinker.slots.is_none() {
        let size = table.size(&mut *store);
        let mut slots = HashMap::new();
        for slot in 1..size {
            if let Some(Ref::Func(Some(f))) = table.get(&mut *store, slot) {
                slots
                    .entry(f.to_raw(&mut *store) as usize)
                    .or_insert(slot as u32);
            }
        }
        get(store.data_mut()).dylinker.slots = Some(slots);
    }
    let key = func.to_raw(&mut *store) as usize;
    if let Some(&slot) = get(store.data_mut())
        .dylinker
        .slots
        .as_ref()
        .and_then(|s| s.get(&key))
    {
        return Ok(slot);
    }
    new_slot(store, get, table, func, owner, name)
}

/// Adds a slot for `func` at the end of the table and records it.
fn new_slot<T>(
    store: &mut StoreContextMut<'_, T>,
    get: CtxGetter<T>,
    table: Table,
    func: Func,
    owner: Owner,
    name: &str,
) -> Result<u32, DlopenError> {
    let key = func.to_raw(&mut *store) as usize;
    let slot = table
        .grow(&mut *store, 1, Ref::Func(Some(func)))
        .map_err(|e| DlopenError::Table {
            path: MAIN_NAME.to_owned(),
            why: e.to_string(),
        })? as u32;
    let linker = &mut get(store.data_mut()).dylinker;
    if let Some(slots) = linker.slots.as_mut() {
        slots.insert(key, slot);
    }
    let library = owner.map(|i| linker.libraries[i].record.path.clone());
    linker.added_slots.push(AddedSlot {
        slot,
        library,
        symbol: name.to_owned(),
        after_libraries: linker.libraries.len(),
    });
    Ok(slot)
}

/// Reads the guest file `path`, which must still have the SHA-256 it was
/// loaded with (else `ContentChanged`).
fn read_verified(
    ctx: &mut EmscriptenCtx,
    path: &str,
    sha256: &[u8; 32],
) -> Result<Vec<u8>, DlopenError> {
    let bytes = read_file(ctx, path)?;
    let found: [u8; 32] = Sha256::digest(&bytes).into();
    if found == *sha256 {
        Ok(bytes)
    } else {
        Err(DlopenError::ContentChanged {
            path: path.to_owned(),
            expected: hex::encode(sha256),
            found: hex::encode(found),
        })
    }
}

/// Reads a whole file of the guest file system.
fn read_file(ctx: &mut EmscriptenCtx, path: &str) -> Result<Vec<u8>, DlopenError> {
    let read_error = |errno: Errno| match errno {
        Errno::ENOENT | Errno::ENOTDIR => DlopenError::NotFound {
            path: path.to_owned(),
        },
        errno => DlopenError::Read {
            path: path.to_owned(),
            errno,
        },
    };
    let vfs = &mut ctx.vfs;
    let fd = vfs
        .open(Dirfd::Cwd, GuestPath::from(path), OpenFlags::RDONLY, 0)
        .map_err(read_error)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let result = loop {
        match vfs.read(fd, &mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(errno) => break Err(read_error(errno)),
        }
    };
    let _ = vfs.close(fd);
    result.map(|()| out)
}

fn is_regular_file(ctx: &EmscriptenCtx, path: &str) -> bool {
    ctx.vfs
        .stat(Dirfd::Cwd, GuestPath::from(path), true)
        .is_ok_and(|s| s.kind == FileKind::Regular)
}

/// Where a `NEEDED` library is: a name with a `/` as is; otherwise the
/// first regular file found in `LD_LIBRARY_PATH`, then in the runtime paths
/// (`$ORIGIN` = the directory of the library that needs it); the bare name
/// when neither has it (the load then fails naming it).
fn find_library(ctx: &EmscriptenCtx, name: &str, parent: &str, runtime_paths: &[String]) -> String {
    if name.contains('/') {
        return normalize(name);
    }
    let origin = parent.rsplit_once('/').map_or(".", |(dir, _)| dir);
    let origin = if origin.is_empty() { "/" } else { origin };
    let ld_library_path = ctx
        .environ
        .iter()
        .find_map(|kv| kv.strip_prefix(b"LD_LIBRARY_PATH="))
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default();
    let rpaths = runtime_paths.iter().map(|p| p.replace("$ORIGIN", origin));
    ld_library_path
        .split(':')
        .map(str::to_owned)
        .chain(rpaths)
        .filter(|dir| !dir.is_empty())
        .map(|dir| normalize(&format!("{dir}/{name}")))
        .find(|candidate| is_regular_file(ctx, candidate))
        .unwrap_or_else(|| name.to_owned())
}

/// Collapses `//`, `.` and `..` (Emscripten's `PATH.normalize`).
fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

// ---------------------------------------------------------------------------
// The imports.

pub(crate) fn add<T: 'static>(linker: &mut Linker<T>, get: CtxGetter<T>) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "_dlopen_js",
        move |mut caller: Caller<'_, T>, handle: i32| -> wasmtime::Result<i32> {
            let handle = handle as u32;
            match dlopen_handle(&mut caller, get, handle) {
                Ok(()) => Ok(1),
                Err(message) => {
                    set_dlerror(&mut caller, get, &message)?;
                    Ok(0)
                }
            }
        },
    )?;
    linker.func_wrap(
        ENV,
        "_emscripten_dlopen_js",
        move |mut caller: Caller<'_, T>,
              handle: i32,
              onsuccess: i32,
              onerror: i32,
              user_data: i32|
              -> wasmtime::Result<()> {
            // Loaded synchronously; the callbacks run before this returns.
            let callback = match dlopen_handle(&mut caller, get, handle as u32) {
                Ok(()) => onsuccess,
                Err(message) => {
                    set_dlerror(&mut caller, get, &message)?;
                    onerror
                }
            };
            let table = get(caller.data_mut()).handles()?.table;
            let func = table
                .get(&mut caller, u64::from(callback as u32))
                .and_then(|r| r.as_func().flatten().copied())
                .ok_or_else(|| {
                    wasmtime::format_err!("dlopen callback in empty table slot {callback}")
                })?;
            let func: TypedFunc<(i32, i32), ()> = func.typed(&caller)?;
            func.call(&mut caller, (handle, user_data))
        },
    )?;
    linker.func_wrap(
        ENV,
        "_dlsym_js",
        move |mut caller: Caller<'_, T>,
              handle: i32,
              symbol: i32,
              _sym_index: i32|
              -> wasmtime::Result<i32> {
            match dlsym(&mut caller, get, handle as u32, symbol as u32) {
                Ok(address) => Ok(address),
                Err(message) => {
                    set_dlerror(&mut caller, get, &message)?;
                    Ok(0)
                }
            }
        },
    )?;
    Ok(())
}

/// Runs `f` with the host state and a bounds-checked view of guest memory.
fn with_guest<T, R>(
    store: &mut StoreContextMut<'_, T>,
    get: CtxGetter<T>,
    f: impl FnOnce(&mut EmscriptenCtx, &mut Guest<'_>) -> R,
) -> wasmtime::Result<R> {
    let memory = get(store.data_mut()).handles()?.memory;
    let (bytes, data) = memory.data_and_store_mut(&mut *store);
    let mut guest = Guest::new(bytes);
    Ok(f(get(data), &mut guest))
}

/// `_dlopen_js`: loads the library the `struct dso` at `handle` names,
/// taking its bytes from `file_data` when libc read them, and fills in the
/// struct. `Err` is the `dlerror` text.
fn dlopen_handle<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    handle: u32,
) -> Result<(), String> {
    let mut store = caller.as_context_mut();
    let read = with_guest(&mut store, get, |_, guest| -> Result<_, Errno> {
        let name = String::from_utf8_lossy(guest.c_str(handle + dso::NAME, 4096)?).into_owned();
        let flags = guest.i32(handle + dso::FLAGS)?;
        let data = guest.u32(handle + dso::FILE_DATA)?;
        let size = guest.u32(handle + dso::FILE_DATA_SIZE)?;
        let bytes = if data != 0 && size != 0 {
            Some(guest.slice(data, size as usize)?.to_vec())
        } else {
            None
        };
        Ok((name, flags, bytes))
    });
    let (name, flags, bytes) = match read {
        Ok(Ok(read)) => read,
        Ok(Err(errno)) => return Err(format!("could not load dynamic lib: invalid dso: {errno}")),
        Err(e) => return Err(format!("could not load dynamic lib: {e}")),
    };
    let path = normalize(&name);
    let options = LoadOptions {
        global: flags & RTLD_GLOBAL != 0,
        handles: vec![handle],
        ..LoadOptions::default()
    };
    let mut scope = Vec::new();
    let index = load(&mut store, get, &path, bytes, &options, &mut scope)
        .map_err(|e| format!("could not load dynamic lib: {path}\n{}", error_chain(&e)))?;
    let record = get(store.data_mut()).dylinker.libraries[index]
        .record
        .clone();
    let written = with_guest(&mut store, get, |_, guest| -> Result<(), Errno> {
        guest.slice_mut(handle + dso::MEM_ALLOCATED, 1)?[0] = 1;
        guest.write_u32(handle + dso::MEM_ADDR, record.bases.memory_base)?;
        guest.write_u32(handle + dso::MEM_SIZE, record.mem_size)?;
        guest.write_u32(handle + dso::TABLE_ADDR, record.bases.table_base)?;
        guest.write_u32(handle + dso::TABLE_SIZE, record.table_size)
    });
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(errno)) => Err(format!(
            "could not load dynamic lib: {path}\ninvalid dso: {errno}"
        )),
        Err(e) => Err(format!("could not load dynamic lib: {path}\n{e}")),
    }
}

/// `_dlsym_js`: the address of `symbol` in the library of `handle` (0 = the
/// global symbols). Functions get their table slot.
fn dlsym<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    handle: u32,
    symbol: u32,
) -> Result<i32, String> {
    let mut store = caller.as_context_mut();
    let name = with_guest(&mut store, get, |_, guest| {
        guest
            .c_str(symbol, 4096)
            .map(|s| String::from_utf8_lossy(s).into_owned())
    })
    .map_err(|e| e.to_string())?
    .map_err(|errno| format!("invalid symbol name: {errno}"))?;
    let main = get(store.data_mut())
        .dylinker
        .main
        .clone()
        .ok_or_else(|| DlopenError::NoMainModule.to_string())?;
    let (found, library) = if handle == 0 {
        (
            resolve_global(&mut store, get, &main, &name),
            MAIN_NAME.to_owned(),
        )
    } else {
        let linker = &get(store.data_mut()).dylinker;
        let Some(&index) = linker.by_handle.get(&handle) else {
            return Err(format!(
                "Tried to dlsym() from an unopened handle: {handle}"
            ));
        };
        let library = &linker.libraries[index];
        (
            library
                .exports
                .get(&name)
                .cloned()
                .map(|s| (s, Some(index))),
            library.record.path.clone(),
        )
    };
    let unknown = || format!("Tried to lookup unknown symbol \"{name}\" in dynamic lib: {library}");
    match found {
        Some((Symbol::Func(f), owner)) => slot_for(&mut store, get, f, owner, &name)
            .map(|slot| slot as i32)
            .map_err(|e| e.to_string()),
        Some((Symbol::Data(address), _)) => Ok(address as i32),
        Some((Symbol::Other(Extern::Global(g)), _)) => match g.get(&mut store) {
            Val::I32(v) => Ok(v),
            _ => Err(unknown()),
        },
        _ => Err(unknown()),
    }
}

/// An error and its sources, one per line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Sets the text `dlerror()` returns, through libc's `__dl_seterr("%s",
/// message)` with both strings on the shadow stack.
fn set_dlerror<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    message: &str,
) -> wasmtime::Result<()> {
    let main = get(caller.data_mut())
        .dylinker
        .main
        .clone()
        .ok_or_else(|| wasmtime::format_err!("dlerror before the main module exists"))?;
    let instance = main.instance;
    let current: TypedFunc<(), i32> =
        instance.get_typed_func(&mut *caller, "emscripten_stack_get_current")?;
    let alloc: TypedFunc<i32, i32> =
        instance.get_typed_func(&mut *caller, "_emscripten_stack_alloc")?;
    let restore: TypedFunc<i32, ()> =
        instance.get_typed_func(&mut *caller, "_emscripten_stack_restore")?;
    let seterr: TypedFunc<(i32, i32), ()> = instance.get_typed_func(&mut *caller, "__dl_seterr")?;
    let saved = current.call(&mut *caller, ())?;
    // "%s\0", the message and its NUL, and the one vararg (a pointer).
    let size = (message.len() as u32 + 1 + 4 + 4).next_multiple_of(16);
    let base = alloc.call(&mut *caller, size as i32)? as u32;
    let (format, args, text) = (base, base + 4, base + 8);
    let mut store = caller.as_context_mut();
    with_guest(&mut store, get, |_, guest| -> Result<(), Errno> {
        guest.write_bytes(format, b"%s\0\0")?;
        guest.write_u32(args, text)?;
        guest.write_c_str(text, message.as_bytes())
    })?
    .map_err(|errno| wasmtime::format_err!("cannot write the dlerror text: {errno}"))?;
    seterr.call(&mut *caller, (format as i32, args as i32))?;
    restore.call(&mut *caller, saved)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalize_like_emscripten() {
        assert_eq!(
            normalize("/lib//python3.14/./x/../y.so"),
            "/lib/python3.14/y.so"
        );
        assert_eq!(normalize("/../a"), "/a");
        assert_eq!(normalize("a/../../b"), "../b");
        assert_eq!(normalize(""), ".");
    }

    #[test]
    fn internal_symbols_never_enter_the_got() {
        assert!(is_internal("__wasm_call_ctors"));
        assert!(is_internal("__em_js__foo"));
        assert!(!is_internal("PyInit_foo"));
    }
}
