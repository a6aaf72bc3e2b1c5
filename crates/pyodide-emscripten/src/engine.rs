//! The one wasmtime configuration Pyodide modules are compiled and run with.
//!
//! Everything that changes generated code goes through [`EngineSettings`], so
//! the engine fingerprint (see [`engine_fingerprint`]) that keys the module
//! cache covers it.

use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
};

use crate::{Error, boxed};

/// Knobs of the engine. The defaults are what the runtime uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EngineSettings {
    /// Largest native stack, in bytes, that wasm frames may use before a
    /// stack-exhaustion trap (default 16 MiB: C recursion in CPython uses
    /// far more native stack than shadow stack, so `limit_c_stack` narrows
    /// what CPython's guard measures until it fires well before this). The
    /// thread running wasm needs more than this.
    pub max_wasm_stack: usize,
    /// Cranelift optimisation: `true` optimises for speed (the default),
    /// `false` compiles without optimisation (faster compile, slower code).
    pub optimize: bool,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            max_wasm_stack: 16 << 20,
            optimize: true,
        }
    }
}

/// How many instances (interpreters, each with its linear memory, its GC
/// heap and up to three tables) one engine can hold at once: the size of
/// its pooling allocator. Instantiating one more fails with an error that
/// names the limit.
pub const MAX_INSTANCES: u32 = 256;

/// Side modules and helper modules (the call trampoline) share their
/// interpreter's memory and table but each is a core instance of its own.
const MAX_CORE_INSTANCES: u32 = 16 * MAX_INSTANCES;

/// Largest function table (Pyodide 314 starts with 8,733 entries; side
/// modules and the dynamic linker add theirs).
pub const MAX_TABLE_ELEMENTS: usize = 262_144;

/// Bytes of each linear memory kept resident when its slot is freed: the
/// pages the instance wrote are copied back from the image (found with
/// Linux's `PAGEMAP_SCAN` where available) instead of being unmapped, so
/// the next instance restored into the slot takes no page fault on them
/// ([`crate::resident`] makes sure they are all found). A restore plus a
/// first statement writes about 1 MiB; a first pydantic model after a
/// restore about 4 MiB, 12.5 MiB once joined into few runs. The budget
/// covers such a request-sized instance; a larger one would make every end
/// of a heavy instance copy more back.
pub const KEEP_RESIDENT: usize = 16 << 20;

/// Creates the engine: standard exceptions (the legacy form is translated
/// away before compiling), reference types and GC (Pyodide uses `externref`
/// tables; `exnref` values live on the GC heap), copy-on-write memory
/// images, and the pooling allocator (see [`MAX_INSTANCES`]): linear
/// memories, tables and GC heaps live in slots reserved once, and a slot
/// freed by one instance of a module is reused, already mapped, by the
/// next — what makes restoring a snapshot cheap in a long-running process.
pub fn new_engine(settings: &EngineSettings) -> Result<Engine, Error> {
    let mut config = Config::new();
    config
        .wasm_exceptions(true)
        .wasm_reference_types(true)
        .wasm_function_references(true)
        .wasm_gc(true)
        .wasm_multi_value(true)
        .wasm_bulk_memory(true)
        .memory_init_cow(true)
        .parallel_compilation(true)
        .max_wasm_stack(settings.max_wasm_stack)
        // wasmtime checks the wasm stack against the async stack even when
        // async support is unused; keep the latter the larger one.
        .async_stack_size(settings.max_wasm_stack + (1 << 20))
        .cranelift_opt_level(if settings.optimize {
            OptLevel::Speed
        } else {
            OptLevel::None
        });
    let mut pool = PoolingAllocationConfig::new();
    // A store's GC heap takes a memory slot too.
    pool.total_memories(2 * MAX_INSTANCES)
        .total_gc_heaps(MAX_INSTANCES)
        .total_tables(3 * MAX_INSTANCES)
        .total_core_instances(MAX_CORE_INSTANCES)
        .max_tables_per_module(3)
        .table_elements(MAX_TABLE_ELEMENTS)
        .max_core_instance_size(16 << 20)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(1 << 20)
        .pagemap_scan(Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(|e| Error::Engine(boxed(e)))
}

/// Revision of the pipeline between the input wasm and what wasmtime
/// compiles (the legacy exception-handling translation, then the sleep
/// rewrite of `crate::sleep_form`). Bump it when the pipeline changes its
/// output, so stale artifacts are not reused.
pub const PIPELINE_REVISION: u32 = 2;

/// A stable digest of everything that affects compiled code: wasmtime's own
/// compatibility hash of `engine` (target, Cranelift flags, tunables, wasm
/// features, wasmtime version), the settings it was made from, this crate's
/// version and [`PIPELINE_REVISION`].
pub fn engine_fingerprint(engine: &Engine, settings: &EngineSettings) -> [u8; 32] {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    settings.hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    PIPELINE_REVISION.hash(&mut hasher);
    hasher.0.finalize().into()
}

/// Feeds `Hash` output into SHA-256 so the fingerprint does not depend on
/// std's unspecified `DefaultHasher` algorithm.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().expect("sha256 is 32 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_and_tracks_settings() {
        let fingerprint = |settings: &EngineSettings| {
            engine_fingerprint(&new_engine(settings).unwrap(), settings)
        };
        let default = EngineSettings::default();
        assert_eq!(fingerprint(&default), fingerprint(&default));
        assert_ne!(
            fingerprint(&default),
            fingerprint(&EngineSettings {
                optimize: false,
                ..default.clone()
            })
        );
        assert_ne!(
            fingerprint(&default),
            fingerprint(&EngineSettings {
                max_wasm_stack: 1 << 20,
                ..default.clone()
            })
        );
    }
}
