//! The per-instance host state: [`EmscriptenCtx`], built by
//! [`EmscriptenCtxBuilder`], whose defaults deny (no host directories, no
//! inherited stdio, an empty environment) except for real OS entropy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use pyodide_vfs::{Denied, EntropySource, OsEntropy, Vfs};
use wasmtime::{Memory, Table, TypedFunc};

/// The most linear memory a guest may grow to by default (2 GiB).
pub const DEFAULT_MEMORY_LIMIT: u64 = 2 << 30;

/// Largest heap Emscripten's allocator may ask for (`emscripten_get_heap_max`).
pub(crate) const EMSCRIPTEN_HEAP_MAX: u64 = 4_294_901_760;

/// An entropy source shared by `random_get` and `/dev/(u)random`: one
/// stream, whichever way the guest asks. Clones share the source, so the
/// host can swap it ([`SharedEntropy::replace`]) after the VFS got its copy.
///
/// While snapshot accounting is on, the guest names the consumer of each
/// draw in a [`ConsumerSlot`] of its memory that `random_get` reads.
#[derive(Clone)]
pub struct SharedEntropy(Arc<Mutex<SharedInner>>);

struct SharedInner {
    source: Box<dyn EntropySource>,
    slot: Option<ConsumerSlot>,
}

/// Where in linear memory the guest keeps the name of the entropy consumer
/// currently running: `len` bytes at `addr`, the first byte the name's
/// length `n` (less than `len`), then `n` bytes of UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerSlot {
    /// The slot's address.
    pub addr: u32,
    /// The slot's size in bytes (at most 256).
    pub len: u32,
}

impl SharedEntropy {
    /// Wraps `source` so several consumers draw from the one stream.
    pub fn new(source: impl EntropySource + 'static) -> Self {
        SharedEntropy::from_box(Box::new(source))
    }

    /// Wraps an already boxed `source`.
    pub fn from_box(source: Box<dyn EntropySource>) -> Self {
        SharedEntropy(Arc::new(Mutex::new(SharedInner { source, slot: None })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SharedInner> {
        // A panicking draw leaves nothing half-updated behind the lock.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Swaps the source behind every clone of this handle (and so behind
    /// `random_get` and `/dev/(u)random`) and returns the previous one. Used
    /// to leave the deterministic stream of snapshot creation for real
    /// entropy once a restored instance is about to run user code.
    pub fn replace(&self, source: Box<dyn EntropySource>) -> Box<dyn EntropySource> {
        std::mem::replace(&mut self.lock().source, source)
    }

    /// Names (or with `None` stops naming) the guest memory `random_get`
    /// reads the current consumer from.
    pub fn set_consumer_slot(&self, slot: Option<ConsumerSlot>) {
        self.lock().slot = slot;
    }

    /// The slot set by [`set_consumer_slot`](Self::set_consumer_slot).
    pub fn consumer_slot(&self) -> Option<ConsumerSlot> {
        self.lock().slot
    }

    /// The current source's ledger, if it keeps one.
    pub fn ledger(&self) -> Option<pyodide_entropy::LedgerHandle> {
        self.lock().source.ledger()
    }
}

impl std::fmt::Debug for SharedEntropy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedEntropy")
            .field("slot", &self.consumer_slot())
            .finish_non_exhaustive()
    }
}

impl EntropySource for SharedEntropy {
    /// The file system's draws (`/dev/(u)random`): it cannot tell who reads,
    /// so while consumers are named they count as
    /// [`pyodide_entropy::DEVICE`].
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Denied> {
        let mut inner = self.lock();
        if inner.slot.is_some() {
            inner.source.fill_for(pyodide_entropy::DEVICE, buf)
        } else {
            inner.source.fill(buf)
        }
    }

    fn fill_for(&mut self, consumer: &str, buf: &mut [u8]) -> Result<(), Denied> {
        self.lock().source.fill_for(consumer, buf)
    }

    fn ledger(&self) -> Option<pyodide_entropy::LedgerHandle> {
        SharedEntropy::ledger(self)
    }
}

/// Exports of the main module that imports call back into, plus its memory
/// and function table. Filled by [`crate::boot`] once the instance exists.
#[derive(Clone)]
pub(crate) struct Handles {
    pub(crate) memory: Memory,
    pub(crate) table: Table,
    pub(crate) free: Option<TypedFunc<i32, ()>>,
    pub(crate) memalign: Option<TypedFunc<(i32, i32), i32>>,
    pub(crate) funcs_on_exit: Option<TypedFunc<(), ()>>,
    pub(crate) fflush: Option<TypedFunc<i32, i32>>,
    /// CPython's `PyErr_SetInterruptEx`, through which an interrupted wait
    /// hands its signal over (see [`crate::interrupt`]).
    pub(crate) set_interrupt: Option<TypedFunc<i32, i32>>,
}

/// A call-trampoline target resolved once per table slot.
#[derive(Clone)]
pub(crate) enum Trampoline {
    Args0(TypedFunc<(), i32>),
    Args1(TypedFunc<i32, i32>),
    Args2(TypedFunc<(i32, i32), i32>),
    Args3(TypedFunc<(i32, i32, i32), i32>),
    Void0(TypedFunc<(), ()>),
    Void1(TypedFunc<i32, ()>),
    Void2(TypedFunc<(i32, i32), ()>),
    Void3(TypedFunc<(i32, i32, i32), ()>),
}

/// Host state of one Pyodide instance.
pub struct EmscriptenCtx {
    pub(crate) vfs: Vfs,
    pub(crate) environ: Vec<Vec<u8>>,
    pub(crate) program_name: Vec<u8>,
    pub(crate) memory_limit: u64,
    pub(crate) entropy: SharedEntropy,
    pub(crate) started: Instant,
    pub(crate) keepalive: i32,
    pub(crate) umask: u32,
    pub(crate) handles: Option<Handles>,
    pub(crate) trampolines: HashMap<u32, Trampoline>,
    pub(crate) net: crate::net::NetState,
    pub(crate) libffi: crate::libffi::LibffiState,
    pub(crate) dylinker: crate::dlopen::DynamicLinker,
    pub(crate) interrupt: crate::InterruptHandle,
    /// Set when an interrupt ended a wait: the next wait answers at once
    /// (see `fs::wait`).
    pub(crate) wake_next_wait: bool,
}

impl std::fmt::Debug for EmscriptenCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmscriptenCtx")
            .field("vfs", &self.vfs)
            .field("environ_len", &self.environ.len())
            .field("memory_limit", &self.memory_limit)
            .field("keepalive", &self.keepalive)
            .finish_non_exhaustive()
    }
}

impl EmscriptenCtx {
    /// A builder with denying defaults.
    pub fn builder() -> EmscriptenCtxBuilder {
        EmscriptenCtxBuilder::default()
    }

    /// The file system the guest sees.
    pub fn vfs(&self) -> &Vfs {
        &self.vfs
    }

    /// The handle that interrupts this guest from another thread. It takes
    /// effect in Python code once the hook is on
    /// ([`crate::EmscriptenInstance::enable_interrupts`]), and in any wait
    /// (`poll`, `select`, `time.sleep`) always.
    pub fn interrupt_handle(&self) -> crate::InterruptHandle {
        self.interrupt.clone()
    }

    /// The file system the guest sees, writable (to mount or add files).
    pub fn vfs_mut(&mut self) -> &mut Vfs {
        &mut self.vfs
    }

    /// The entropy stream behind `random_get` and `/dev/(u)random`.
    pub fn entropy(&self) -> &SharedEntropy {
        &self.entropy
    }

    /// The side modules loaded so far, in load order, with their bases.
    pub fn loaded_libraries(&self) -> impl Iterator<Item = &crate::dlopen::LoadedLibrary> {
        self.dylinker.loaded()
    }

    /// Table slots the dynamic linker added for functions that had none,
    /// in order (a snapshot records them; see `dlopen::restore_slot`).
    pub fn added_slots(&self) -> &[crate::dlopen::AddedSlot] {
        self.dylinker.added_slots()
    }

    /// The file-mode creation mask the guest set (`umask`; 0o022 at start).
    pub fn umask(&self) -> u32 {
        self.umask
    }

    /// Sets the file-mode creation mask, as a restored instance had it.
    pub fn set_umask(&mut self, mask: u32) {
        self.umask = mask & 0o777;
    }

    pub(crate) fn handles(&self) -> wasmtime::Result<&Handles> {
        self.handles.as_ref().ok_or_else(|| {
            wasmtime::format_err!(
                "an import was called before the instance was attached to its host state"
            )
        })
    }
}

/// Builds an [`EmscriptenCtx`].
pub struct EmscriptenCtxBuilder {
    vfs: Option<Vfs>,
    environ: Vec<(String, String)>,
    program_name: String,
    memory_limit: u64,
    entropy: Option<SharedEntropy>,
    module_cache: Option<crate::ModuleCache>,
}

impl Default for EmscriptenCtxBuilder {
    fn default() -> Self {
        EmscriptenCtxBuilder {
            vfs: None,
            environ: Vec::new(),
            program_name: "python".to_owned(),
            memory_limit: DEFAULT_MEMORY_LIMIT,
            entropy: None,
            module_cache: None,
        }
    }
}

impl std::fmt::Debug for EmscriptenCtxBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmscriptenCtxBuilder")
            .field("environ", &self.environ)
            .field("program_name", &self.program_name)
            .field("memory_limit", &self.memory_limit)
            .finish_non_exhaustive()
    }
}

impl EmscriptenCtxBuilder {
    /// The file system (default: Emscripten's layout, stdio discarded).
    pub fn vfs(mut self, vfs: Vfs) -> Self {
        self.vfs = Some(vfs);
        self
    }

    /// Adds an environment variable (the environment is frozen when the
    /// constructors run, as Emscripten's is).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        self.environ.retain(|(k, _)| *k != key);
        self.environ.push((key, value.into()));
        self
    }

    /// The program name (`argv[0]` and `_emscripten_get_progname`).
    pub fn program_name(mut self, name: impl Into<String>) -> Self {
        self.program_name = name.into();
        self
    }

    /// The ceiling for linear memory in bytes; heap growth past it fails
    /// (Python raises `MemoryError`).
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// The entropy source (default: the OS). Give the same one to the VFS
    /// builder so `/dev/urandom` draws from it too.
    pub fn entropy(mut self, entropy: SharedEntropy) -> Self {
        self.entropy = Some(entropy);
        self
    }

    /// The module cache side modules are compiled through (`dlopen`); without
    /// one, loading a side module fails with a `dlerror`.
    pub fn module_cache(mut self, cache: crate::ModuleCache) -> Self {
        self.module_cache = Some(cache);
        self
    }

    /// Builds the context.
    pub fn build(self) -> EmscriptenCtx {
        let entropy = self
            .entropy
            .unwrap_or_else(|| SharedEntropy::new(OsEntropy));
        let vfs = self
            .vfs
            .unwrap_or_else(|| Vfs::builder().entropy(entropy.clone()).build());
        EmscriptenCtx {
            vfs,
            environ: self
                .environ
                .into_iter()
                .map(|(k, v)| format!("{k}={v}").into_bytes())
                .collect(),
            program_name: self.program_name.into_bytes(),
            memory_limit: self.memory_limit,
            entropy,
            started: Instant::now(),
            keepalive: 0,
            umask: 0o022,
            handles: None,
            trampolines: HashMap::new(),
            net: Default::default(),
            libffi: Default::default(),
            dylinker: crate::dlopen::DynamicLinker::new(self.module_cache),
            interrupt: crate::InterruptHandle::new(),
            wake_next_wait: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields `byte` for every byte asked for.
    struct Constant(u8);

    impl EntropySource for Constant {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), Denied> {
            buf.fill(self.0);
            Ok(())
        }
    }

    #[test]
    fn replace_swaps_the_source_behind_every_clone() {
        let shared = SharedEntropy::new(Constant(7));
        let mut vfs_side = shared.clone();
        let mut buf = [0u8; 4];
        vfs_side.fill(&mut buf).unwrap();
        assert_eq!(buf, [7; 4]);

        let mut old = shared.replace(Box::new(Constant(9)));
        vfs_side.fill(&mut buf).unwrap();
        assert_eq!(buf, [9; 4], "a clone draws from the new source");
        old.fill(&mut buf).unwrap();
        assert_eq!(buf, [7; 4], "the previous source is handed back intact");
    }
}
