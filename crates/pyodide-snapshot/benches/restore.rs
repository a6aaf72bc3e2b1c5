//! Restoring a baked snapshot: a first measure of copy-on-write
//! instantiation, the mechanism behind "restore in under a millisecond".
//!
//! Setup (outside the timings): a WAT module with a 32 MiB memory whose
//! every page holds data and a few mutable globals is baked with that
//! image, compiled with the runtime's engine
//! (`pyodide_emscripten::new_engine`), serialized to a file and mapped back
//! with `Module::deserialize_file`, as the module cache does.
//!
//! Measured:
//! - `deserialize_file + instantiate`: the whole restore of the wasm side;
//! - `instantiate`: a new store and instance of the mapped module (the
//!   image is mapped copy-on-write, not copied);
//! - `instantiate, pooling allocator`: the same with wasmtime's pooling
//!   allocator, which keeps memory slots and resets them instead of
//!   mapping anew;
//! - `instantiate, copy-on-write off`: the same engine with
//!   `memory_init_cow(false)`: the 32 MiB are copied at instantiation, the
//!   cost bake avoids;
//! - `instantiate + touch every 4 KiB page`: what the guest pays later, on
//!   touch, if it reads all of memory.
//!
//! And the real thing, without a host: Pyodide 314's `pyodide.asm.wasm`
//! instrumented and baked with its own initial data, mapped through the
//! module cache and instantiated with placeholder imports (the time of
//! creating the placeholders is measured alone too, to subtract it).
#![allow(unsafe_code)] // Module::deserialize_file of artifacts this bench just wrote

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use pyodide_emscripten::{EngineSettings, ModuleCache, new_engine};
use pyodide_packages::dist;
use pyodide_snapshot::{Capture, GlobalValue, bake, capture, data_layout, export_mutable_globals};
use wasmparser::{DataKind, Operator, Parser, Payload, TypeRef};
use wasmtime::{
    Config, Engine, Extern, ExternType, Func, Global, Instance, Memory, Module, Ref, Store, Table,
    Tag, Val,
};

const PAGES: usize = 512; // 32 MiB
const PAGE: usize = 1 << 16;

const WAT: &str = r#"
(module
  (memory (export "memory") 1)
  (global $a (mut i32) (i32.const 0))
  (global $b (mut i64) (i64.const 0))
  (global (export "__stack_pointer") (mut i32) (i32.const 65536))
  ;; Grows memory to $pages pages and writes a non-zero, varying word
  ;; every 64 bytes, so no page is zero.
  (func (export "fill") (param $pages i32)
    (local $i i32) (local $end i32)
    (drop (memory.grow (i32.sub (local.get $pages) (memory.size))))
    (local.set $end (i32.mul (local.get $pages) (i32.const 65536)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i32.store (local.get $i) (i32.or (i32.mul (local.get $i) (i32.const 2654435761))
                                          (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 64)))
        (br $next)))
    (global.set $a (i32.const 7))
    (global.set $b (i64.const 9)))
  (func (export "read") (param $addr i32) (result i32) (i32.load (local.get $addr))))
"#;

/// Runs the module, captures it with every page non-zero and returns the
/// baked module.
fn baked_module() -> Vec<u8> {
    let instrumented =
        export_mutable_globals(&wat::parse_str(WAT).expect("wat")).expect("instrument");
    let engine = Engine::default();
    let module = Module::new(&engine, &instrumented).expect("compile");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiate");
    instance
        .get_typed_func::<i32, ()>(&mut store, "fill")
        .expect("fill")
        .call(&mut store, PAGES as i32)
        .expect("run fill");
    let captured = capture(&mut store, &instance).expect("capture");
    assert_eq!(captured.memory.len(), PAGES * PAGE);
    let baked = bake(&instrumented, &captured).expect("bake");
    let layout = data_layout(&baked).expect("layout");
    assert!(layout.cow_eligible() && layout.active_bytes == (PAGES * PAGE) as u64);
    baked
}

/// Compiles `wasm` for `engine`, writes the artifact to `path` and maps it.
fn serialized(engine: &Engine, wasm: &[u8], path: &Path) -> Module {
    let bytes = Module::new(engine, wasm)
        .expect("compile")
        .serialize()
        .expect("serialize");
    std::fs::write(path, bytes).expect("write artifact");
    // SAFETY: the file was just written by `Module::serialize` for this
    // engine and is not modified while the module lives.
    unsafe { Module::deserialize_file(engine, path) }.expect("deserialize")
}

fn instantiate(engine: &Engine, module: &Module) -> (Store<()>, Instance) {
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, module, &[]).expect("instantiate");
    (store, instance)
}

fn restore(c: &mut Criterion) {
    let baked = baked_module();
    let dir = tempfile::tempdir().expect("tempdir");

    let engine = new_engine(&EngineSettings::default()).expect("engine");
    let artifact = dir.path().join("baked.cwasm");
    let module = serialized(&engine, &baked, &artifact);
    // The restored instance has the image.
    {
        let (mut store, instance) = instantiate(&engine, &module);
        let read = instance
            .get_typed_func::<i32, i32>(&mut store, "read")
            .expect("read");
        assert_eq!(
            read.call(&mut store, 64 * 1000).expect("read"),
            (64 * 1000u32).wrapping_mul(2654435761) as i32 | 1
        );
    }

    let mut group = c.benchmark_group("restore 32 MiB image");
    group.bench_function("deserialize_file + instantiate", |b| {
        b.iter(|| {
            // SAFETY: as in `serialized`: written by this bench, unchanged.
            let module =
                unsafe { Module::deserialize_file(&engine, &artifact) }.expect("deserialize");
            instantiate(&engine, &module)
        })
    });
    group.bench_function("instantiate", |b| b.iter(|| instantiate(&engine, &module)));

    let mut limits = wasmtime::PoolingAllocationConfig::new();
    limits
        .total_core_instances(4)
        .total_memories(4)
        .total_tables(4)
        .max_memory_size(64 << 20);
    let mut pooling = Config::new();
    pooling.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(limits));
    let pooling_engine = Engine::new(&pooling).expect("pooling engine");
    let pooling_module = serialized(&pooling_engine, &baked, &dir.path().join("pooling.cwasm"));
    group.bench_function("instantiate, pooling allocator", |b| {
        b.iter(|| instantiate(&pooling_engine, &pooling_module))
    });

    let mut no_cow = Config::new();
    no_cow.memory_init_cow(false);
    let copy_engine = Engine::new(&no_cow).expect("engine without cow");
    let copy_module = serialized(&copy_engine, &baked, &dir.path().join("copy.cwasm"));
    group.bench_function("instantiate, copy-on-write off", |b| {
        b.iter(|| instantiate(&copy_engine, &copy_module))
    });

    group.bench_function("instantiate + touch every 4 KiB page", |b| {
        b.iter(|| {
            let (mut store, instance) = instantiate(&engine, &module);
            let memory = instance.get_memory(&mut store, "memory").expect("memory");
            let data = memory.data(&store);
            let mut sum = 0u8;
            for page in data.chunks(4096) {
                sum = sum.wrapping_add(page[0]);
            }
            std::hint::black_box(sum);
            (store, instance)
        })
    });
    group.finish();
}

/// The real Pyodide 314 module, instrumented and baked with its own
/// initial data (as `tests/pyodide_binaries.rs` does), compiled and mapped
/// through the module cache; instantiated with placeholder imports.
fn restore_pyodide(c: &mut Criterion) {
    let known = dist::known_version("314.0.7").expect("known version");
    let dist = dist::ensure_from_env(known).expect("fetch Pyodide");
    let original = std::fs::read(dist.asm_wasm()).expect("read binary");
    let instrumented = export_mutable_globals(&original).expect("instrument");
    let baked = bake(&instrumented, &initial_state(&instrumented)).expect("bake");
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = ModuleCache::new(EngineSettings::default(), dir.path()).expect("cache");
    cache.load("baked 314", &baked).expect("compile");
    let module = cache.load("baked 314", &baked).expect("map").module;
    let engine = cache.engine();

    let mut group = c.benchmark_group("restore pyodide 314");
    group.bench_function("placeholder imports only", |b| {
        b.iter(|| {
            let mut store = Store::new(engine, ());
            let imports = placeholder_imports(&mut store, &module);
            (store, imports)
        })
    });
    group.bench_function("placeholder imports + instantiate", |b| {
        b.iter(|| {
            let mut store = Store::new(engine, ());
            let imports = placeholder_imports(&mut store, &module);
            let instance = Instance::new(&mut store, &module, &imports).expect("instantiate");
            (store, instance)
        })
    });
    group.finish();
}

/// Functions that trap, zero globals, empty tables, fresh tags.
fn placeholder_imports(store: &mut Store<()>, module: &Module) -> Vec<Extern> {
    module
        .imports()
        .map(|import| -> Extern {
            match import.ty() {
                ExternType::Func(ty) => Func::new(&mut *store, ty, |_, _, _| {
                    Err(wasmtime::format_err!("placeholder import called"))
                })
                .into(),
                ExternType::Global(ty) => {
                    let zero = Val::default_for_ty(ty.content()).expect("numeric global");
                    Global::new(&mut *store, ty, zero).expect("global").into()
                }
                ExternType::Memory(ty) => Memory::new(&mut *store, ty).expect("memory").into(),
                ExternType::Table(ty) => Table::new(&mut *store, ty, Ref::Func(None))
                    .expect("table")
                    .into(),
                ExternType::Tag(ty) => Tag::new(&mut *store, &ty).expect("tag").into(),
            }
        })
        .collect()
}

/// The module's initial memory (from its constant-offset segments) and the
/// initial values of its mutable `i32` globals.
fn initial_state(wasm: &[u8]) -> Capture {
    let mut imported_globals = 0u32;
    let mut memory = Vec::new();
    let mut globals = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.expect("parse") {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import.expect("import").ty, TypeRef::Global(_)) {
                        imported_globals += 1;
                    }
                }
            }
            Payload::MemorySection(reader) => {
                let ty = reader
                    .into_iter()
                    .next()
                    .expect("a memory")
                    .expect("memory");
                memory = vec![0u8; ty.initial as usize * PAGE];
            }
            Payload::GlobalSection(reader) => {
                for (i, global) in reader.into_iter().enumerate() {
                    let global = global.expect("global");
                    if global.ty.mutable {
                        let op = global.init_expr.get_operators_reader().read().expect("op");
                        let Operator::I32Const { value } = op else {
                            panic!("global {i} is not an i32.const");
                        };
                        globals.push((imported_globals + i as u32, GlobalValue::I32(value)));
                    }
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data.expect("segment");
                    let DataKind::Active { offset_expr, .. } = data.kind else {
                        panic!("passive segment");
                    };
                    let op = offset_expr.get_operators_reader().read().expect("op");
                    let Operator::I32Const { value } = op else {
                        panic!("non-constant offset");
                    };
                    let at = value as u32 as usize;
                    memory[at..at + data.data.len()].copy_from_slice(data.data);
                }
            }
            _ => {}
        }
    }
    Capture {
        memory,
        globals,
        tables: vec![],
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = restore, restore_pyodide
}
criterion_main!(benches);
