//! The dynamic linker on hand-made modules: a small main module in the
//! shape of Pyodide's (exported memory, table, `calloc`), side modules with
//! `dylink.0`, loaded through the public `load_library`. Real extensions are
//! tested in `pyodide-entrypoint`'s `tests/packages.rs`.

use std::sync::Arc;

use anyhow::Result;
use pyodide_emscripten::dylink::read_dylink_info;
use pyodide_emscripten::{
    DlopenError, EmscriptenCtx, EmscriptenInstance, EngineSettings, LoadOptions, LoadedLibrary,
    ModuleCache, UndefinedSymbol, add_to_linker, function_slot, got_values, library_function,
    load_library, prepare_replay, restore_got, restore_slot,
};
use pyodide_vfs::GuestPath;
use wasmtime::{Linker, Module, Store};

const MAIN: &str = r#"
(module
  (memory (export "memory") 2)
  (table (export "__indirect_function_table") 2 funcref)
  (global (export "__stack_pointer") (mut i32) (i32.const 65536))
  (global $heap (mut i32) (i32.const 4096))
  (global $ctor_calls (mut i32) (i32.const 0))
  (global (export "main_data") i32 (i32.const 2048))
  (elem (i32.const 1) $twice)
  (func $twice (export "twice") (param i32) (result i32)
    (i32.mul (local.get 0) (i32.const 2)))
  (func $alloc (param $size i32) (result i32) (local $at i32)
    (local.set $at (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $size))
                                        (i32.const 15)) (i32.const -16)))
    (local.get $at))
  (func (export "malloc") (param i32) (result i32) (call $alloc (local.get 0)))
  (func (export "calloc") (param i32 i32) (result i32)
    (call $alloc (i32.mul (local.get 0) (local.get 1))))
  (func (export "free") (param i32))
  (func (export "note_ctor") (global.set $ctor_calls (i32.add (global.get $ctor_calls) (i32.const 1))))
  (func (export "ctor_calls") (result i32) (global.get $ctor_calls)))
"#;

/// Data (a counter starting at 5), one function in its own table slot, a
/// constructor that bumps the counter and tells the main module, GOT entries
/// for a main function and main data, and an import nobody defines.
const SIDE: &str = r#"
(module
  (import "env" "memory" (memory 0))
  (import "env" "__indirect_function_table" (table 0 funcref))
  (import "env" "__memory_base" (global $mb i32))
  (import "env" "__table_base" (global $tb i32))
  (import "GOT.func" "twice" (global $twice_slot (mut i32)))
  (import "GOT.mem" "main_data" (global $main_data (mut i32)))
  (import "GOT.func" "note_ctor" (global $note_slot (mut i32)))
  (import "env" "note_ctor" (func $note_ctor))
  (import "env" "nobody_defines_this" (func $missing (result i32)))
  (type $unary (func (param i32) (result i32)))
  (elem (global.get $tb) $thrice)
  (data (global.get $mb) "\05\00\00\00")
  (func $thrice (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func (export "__wasm_call_ctors")
    (i32.store (global.get $mb) (i32.add (i32.load (global.get $mb)) (i32.const 1)))
    (call $note_ctor))
  (func (export "counter") (result i32) (i32.load (global.get $mb)))
  (func (export "twice_slot") (result i32) (global.get $twice_slot))
  (func (export "main_data_address") (result i32) (global.get $main_data))
  (func (export "note_slot") (result i32) (global.get $note_slot))
  (func (export "thrice_indirect") (param i32) (result i32)
    (call_indirect (type $unary) (local.get 0) (global.get $tb)))
  (func (export "call_missing") (result i32) (call $missing)))
"#;

fn uleb(mut v: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// `wat` with a `dylink.0` section (MEM_INFO only) put first.
fn side_module(wat: &str, mem_size: u32, table_size: u32) -> Result<Vec<u8>> {
    let wasm = wat::parse_str(wat)?;
    let mut body = Vec::new();
    uleb(8, &mut body);
    body.extend_from_slice(b"dylink.0");
    let mut mem = Vec::new();
    for v in [mem_size, 4, table_size, 0] {
        uleb(v, &mut mem);
    }
    body.push(1);
    uleb(mem.len() as u32, &mut body);
    body.extend(mem);
    let mut out = wasm[..8].to_vec();
    out.push(0);
    uleb(body.len() as u32, &mut out);
    out.extend(body);
    out.extend_from_slice(&wasm[8..]);
    Ok(out)
}

struct World {
    store: Store<EmscriptenCtx>,
    main: EmscriptenInstance,
}

fn world(cache: &ModuleCache, side: &Arc<[u8]>) -> Result<World> {
    world_with(cache, Some(side))
}

/// A main module instance; `side`, when given, is `/tmp/libside.so`.
fn world_with(cache: &ModuleCache, side: Option<&Arc<[u8]>>) -> Result<World> {
    let engine = cache.engine();
    let module = Module::new(engine, MAIN)?;
    let mut linker: Linker<EmscriptenCtx> = Linker::new(engine);
    add_to_linker(&mut linker, |c| c)?;
    let mut ctx = EmscriptenCtx::builder().module_cache(cache.clone()).build();
    if let Some(side) = side {
        ctx.vfs_mut()
            .create_shared_file(GuestPath::from("/tmp/libside.so"), side.clone(), 0o644)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut store = Store::new(engine, ctx);
    let main = EmscriptenInstance::instantiate(&mut store, &linker, &module, None, |c| c)?;
    Ok(World { store, main })
}

impl World {
    fn call(&mut self, library_export: &str, arg: Option<i32>) -> Result<i32> {
        let lib = self
            .side_export(library_export)
            .ok_or_else(|| anyhow::anyhow!("no export {library_export}"))?;
        Ok(match arg {
            Some(a) => lib
                .typed::<i32, i32>(&self.store)?
                .call(&mut self.store, a)?,
            None => lib
                .typed::<(), i32>(&self.store)?
                .call(&mut self.store, ())?,
        })
    }

    fn side_export(&mut self, name: &str) -> Option<wasmtime::Func> {
        library_function(&mut self.store, |c| c, "/tmp/libside.so", name)
    }
}

/// A world with `side` loaded from `/tmp/libside.so` the ordinary way.
fn loaded_world(cache: &ModuleCache, side: &Arc<[u8]>) -> Result<(World, LoadedLibrary)> {
    let mut world = world(cache, side)?;
    let loaded = load_library(
        &mut world.store,
        |c| c,
        "/tmp/libside.so",
        LoadOptions::default(),
    )?;
    Ok((world, loaded))
}

fn cache() -> Result<(tempfile::TempDir, ModuleCache)> {
    let dir = tempfile::tempdir()?;
    let cache = ModuleCache::new(EngineSettings::default(), dir.path().join("modules"))?;
    Ok((dir, cache))
}

#[test]
fn a_side_module_links_runs_its_constructor_and_shares_function_pointers() -> Result<()> {
    let (_dir, cache) = cache()?;
    let side: Arc<[u8]> = side_module(SIDE, 4, 1)?.into();
    let mut w = world(&cache, &side)?;
    let table_before = w.main.table().size(&w.store);
    let loaded = load_library(
        &mut w.store,
        |c| c,
        "/tmp//libside.so",
        LoadOptions::default(),
    )?;
    assert_eq!(loaded.path, "/tmp/libside.so");
    assert_eq!((loaded.mem_size, loaded.table_size), (4, 1));
    assert_eq!(loaded.bases.memory_base % 16, 0);
    assert!(loaded.bases.memory_base >= 4096, "{loaded:?}");
    assert_eq!(u64::from(loaded.bases.table_base), table_before);
    // Data placed and relocated, constructor run once.
    assert_eq!(w.call("counter", None)?, 6);
    let ctor_calls = w
        .main
        .typed_func::<_, (), i32>(&mut w.store, "ctor_calls")?;
    assert_eq!(ctor_calls.call(&mut w.store, ())?, 1);
    // GOT.func gets the slot the main module's elem segment gave `twice`;
    // GOT.mem the main module's (absolute) data address.
    assert_eq!(w.call("twice_slot", None)?, 1);
    assert_eq!(w.call("main_data_address", None)?, 2048);
    assert_eq!(w.call("thrice_indirect", Some(5))?, 15);
    // Loading the same path again is the same library.
    let again = load_library(
        &mut w.store,
        |c| c,
        "/tmp/libside.so",
        LoadOptions::default(),
    )?;
    assert_eq!(again.bases, loaded.bases);
    assert_eq!(ctor_calls.call(&mut w.store, ())?, 1);
    assert_eq!(w.store.data().loaded_libraries().count(), 1);
    Ok(())
}

#[test]
fn an_undefined_function_fails_only_when_called_and_names_itself() -> Result<()> {
    let (_dir, cache) = cache()?;
    let side: Arc<[u8]> = side_module(SIDE, 4, 1)?.into();
    let mut w = world(&cache, &side)?;
    load_library(
        &mut w.store,
        |c| c,
        "/tmp/libside.so",
        LoadOptions::default(),
    )?;
    let error = w.call("call_missing", None).unwrap_err();
    let undefined = error
        .downcast_ref::<UndefinedSymbol>()
        .expect("an UndefinedSymbol");
    assert_eq!(undefined.name, "nobody_defines_this");
    Ok(())
}

#[test]
fn a_library_recreated_at_recorded_bases_skips_relocations_and_constructors() -> Result<()> {
    let (_dir, cache) = cache()?;
    let side: Arc<[u8]> = side_module(SIDE, 4, 1)?.into();
    let (mut first, loaded) = loaded_world(&cache, &side)?;
    first.call("counter", None)?;
    // `note_ctor` is in no element segment: its GOT.func entry got a new
    // slot at load; `counter` gets one from a dlsym-like lookup afterwards.
    let note_slot = first.call("note_slot", None)?;
    let counter_slot = function_slot(&mut first.store, |c| c, Some("/tmp/libside.so"), "counter")?;
    let added = first.store.data().added_slots().to_vec();
    assert_eq!(
        added
            .iter()
            .map(|a| (
                a.slot as i32,
                a.library.as_deref(),
                a.symbol.as_str(),
                a.after_libraries
            ))
            .collect::<Vec<_>>(),
        [
            (note_slot, None, "note_ctor", 1),
            (counter_slot as i32, Some("/tmp/libside.so"), "counter", 1)
        ]
    );
    // The GOT entries the loader made for the library, with their values.
    let got = got_values(&mut first.store, |c| c);
    assert!(
        got.iter()
            .any(|(name, value)| name == "note_ctor" && *value == note_slot),
        "{got:?}"
    );
    let image = first.main.memory().data(&first.store).to_vec();

    // A second instance, as a snapshot restore would build it: the library
    // at the recorded bases without init, then the memory image copied in.
    let mut second = world(&cache, &side)?;
    let restored = load_library(
        &mut second.store,
        |c| c,
        "/tmp/libside.so",
        LoadOptions {
            at: Some(loaded.bases),
            run_init: false,
            ..LoadOptions::default()
        },
    )?;
    assert_eq!(restored.bases, loaded.bases);
    for slot in &added {
        restore_slot(&mut second.store, |c| c, slot)?;
    }
    // A replayed load resolves no GOT entry: a value for one it does not
    // have is refused, and the recorded ones are set.
    let unknown = restore_got(&mut second.store, |c| c, &[("nobody".to_owned(), 1)])
        .expect_err("a GOT value for an entry nobody imports was accepted");
    assert_eq!(
        unknown.to_string(),
        "the recorded GOT entry 'nobody' is not one the replayed libraries import"
    );
    restore_got(&mut second.store, |c| c, &got)?;
    let memory = second.main.memory();
    if memory.data_size(&second.store) < image.len() {
        let pages = (image.len() - memory.data_size(&second.store)) / 65536;
        memory.grow(&mut second.store, pages as u64)?;
    }
    memory.data_mut(&mut second.store)[..image.len()].copy_from_slice(&image);
    let ctor_calls = second
        .main
        .typed_func::<_, (), i32>(&mut second.store, "ctor_calls")?;
    assert_eq!(ctor_calls.call(&mut second.store, ())?, 0, "no constructor");
    assert_eq!(second.call("counter", None)?, 6);
    assert_eq!(second.call("thrice_indirect", Some(7))?, 21);
    assert_eq!(second.call("twice_slot", None)?, 1);
    assert_eq!(second.call("note_slot", None)?, note_slot);
    let table = second.main.table();
    let counter = table
        .get(&mut second.store, u64::from(counter_slot))
        .and_then(|r| r.as_func().flatten().copied())
        .expect("counter in its recorded slot");
    assert_eq!(
        counter
            .typed::<(), i32>(&second.store)?
            .call(&mut second.store, ())?,
        6
    );
    assert_eq!(
        second.main.table().size(&second.store),
        first.main.table().size(&first.store)
    );
    Ok(())
}

#[test]
fn a_library_of_recorded_content_needs_no_file_until_it_must_compile() -> Result<()> {
    let (_dir, cache) = self::cache()?;
    let (_empty_dir, empty) = self::cache()?;
    let side: Arc<[u8]> = side_module(SIDE, 4, 1)?.into();
    let (mut first, loaded) = loaded_world(&cache, &side)?;
    // The record names the content: its hash keys the module in memory,
    // its header is the file's start through `dylink.0`.
    assert!(cache.is_shared(&loaded.content.sha256));
    assert!(side.starts_with(&loaded.content.header));
    assert!(loaded.content.header.len() < side.len());
    let info = read_dylink_info("libside.so", &loaded.content.header)?.expect("dylink.0");
    assert_eq!((info.mem_size, info.table_size), (4, 1));
    let recorded = LoadOptions {
        at: Some(loaded.bases),
        run_init: false,
        content: Some(loaded.content.clone()),
        ..LoadOptions::default()
    };
    // What a snapshot does when it is made: the form a replay loads is
    // compiled now, while the file is there.
    prepare_replay(&mut first.store, |c| c)?;

    // Another instance whose file system has no such file: the module
    // this cache holds in memory is used.
    let mut second = world_with(&cache, None)?;
    let again = load_library(
        &mut second.store,
        |c| c,
        "/tmp/libside.so",
        recorded.clone(),
    )?;
    assert_eq!(
        (again.bases, &again.content),
        (loaded.bases, &loaded.content)
    );
    assert_eq!(second.call("thrice_indirect", Some(4))?, 12);
    // Without the recorded content, the missing file is an error.
    let mut bare = world_with(&cache, None)?;
    let error = load_library(
        &mut bare.store,
        |c| c,
        "/tmp/libside.so",
        LoadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(error, DlopenError::NotFound { .. }), "{error}");

    // A new cache over the same directory holds nothing in memory: it maps
    // the stored artifact, still without the file.
    let fresh = ModuleCache::new(EngineSettings::default(), cache.dir())?;
    assert!(!fresh.is_shared(&loaded.content.sha256));
    let mut third = world_with(&fresh, None)?;
    load_library(&mut third.store, |c| c, "/tmp/libside.so", recorded.clone())?;
    assert_eq!(third.call("thrice_indirect", Some(5))?, 15);

    // With nothing compiled for it, the file is read and must still be the
    // recorded one.
    let changed: Arc<[u8]> =
        side_module(&SIDE.replace("(i32.const 3)", "(i32.const 4)"), 4, 1)?.into();
    let mut fourth = world(&empty, &changed)?;
    let error = load_library(
        &mut fourth.store,
        |c| c,
        "/tmp/libside.so",
        recorded.clone(),
    )
    .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, DlopenError::ContentChanged { .. })
            && message.contains("'/tmp/libside.so'")
            && message.contains(&hex(&loaded.content.sha256)),
        "{message}"
    );
    assert!(!empty.is_shared(&loaded.content.sha256));
    let mut fifth = world(&empty, &side)?;
    load_library(&mut fifth.store, |c| c, "/tmp/libside.so", recorded)?;
    assert_eq!(fifth.call("thrice_indirect", Some(6))?, 18);
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
