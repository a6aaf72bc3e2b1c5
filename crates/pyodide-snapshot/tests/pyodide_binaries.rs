//! The real Pyodide binaries: instrumented, they still translate and
//! compile; the 314 module baked with a synthetic capture (its own initial
//! data, plus a marker string and a moved stack pointer) compiles through
//! the module cache, is mapped back from its serialized artifact, and the
//! instance has the baked memory and globals and runs on them. The
//! relocatable 0.29.3 module bakes into one with a defined, exported
//! memory (its other imports kept) that translates and compiles.
//!
//! The binaries come from the distribution cache (fetched on first use,
//! as the workspace `tests` crate does).

use anyhow::{Context, Result, anyhow, ensure};
use pyodide_emscripten::{CacheOutcome, EngineSettings, ModuleCache, new_engine};
use pyodide_packages::dist;
use pyodide_snapshot::{Capture, GlobalValue, bake, capture, data_layout, export_mutable_globals};
use wasmparser::{DataKind, ExternalKind, Operator, Parser, Payload, TypeRef};
use wasmtime::{
    Extern, ExternType, Func, Global, Instance, Memory, Module, Ref, Store, Table, Tag, Val,
};

const PAGE: usize = 1 << 16;

fn binary(version: &str) -> Result<Vec<u8>> {
    let known = dist::known_version(version)?;
    let dist = dist::ensure_from_env(known).with_context(|| {
        format!("cannot get Pyodide {version}; run `cargo xtask fetch-pyodide --all` to see why")
    })?;
    Ok(std::fs::read(dist.asm_wasm())?)
}

fn exports(wasm: &[u8]) -> Result<Vec<(String, ExternalKind, u32)>> {
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::ExportSection(reader) = payload? {
            for e in reader {
                let e = e?;
                out.push((e.name.to_owned(), e.kind, e.index));
            }
        }
    }
    Ok(out)
}

fn instrumentation_exports(wasm: &[u8]) -> Result<Vec<String>> {
    Ok(exports(wasm)?
        .into_iter()
        .map(|(name, _, _)| name)
        .filter(|name| name.starts_with("pyworkerd."))
        .collect())
}

#[test]
fn instrumented_314_translates_and_compiles() -> Result<()> {
    let original = binary("314.0.7")?;
    let instrumented = export_mutable_globals(&original)?;
    // The four defined mutable globals (280 is __stack_pointer), the
    // function table and two externref tables, and the memory.
    assert_eq!(
        instrumentation_exports(&instrumented)?,
        [
            "pyworkerd.global.280",
            "pyworkerd.global.281",
            "pyworkerd.global.282",
            "pyworkerd.global.283",
            "pyworkerd.table.0",
            "pyworkerd.table.1",
            "pyworkerd.table.2",
            "pyworkerd.memory.0",
        ]
    );
    let engine = new_engine(&EngineSettings::default())?;
    let translated = wasm_legacy_eh::translate(&instrumented)?;
    Module::new(&engine, &translated).map_err(|e| anyhow!("{e:#}"))?;
    Ok(())
}

#[test]
fn instrumented_0293_translates_compiles_and_bakes_into_a_defined_memory() -> Result<()> {
    let original = binary("0.29.3")?;
    let instrumented = export_mutable_globals(&original)?;
    let added = instrumentation_exports(&instrumented)?;
    // Hundreds of defined mutable globals (relocated GOT entries), two
    // externref tables; the memory and function table are imported.
    assert!(added.len() > 500, "{}", added.len());
    assert!(!added.iter().any(|n| n.starts_with("pyworkerd.memory.")));
    let engine = new_engine(&EngineSettings::default())?;
    let translated = wasm_legacy_eh::translate(&instrumented)?;
    Module::new(&engine, &translated).map_err(|e| anyhow!("{e:#}"))?;

    let layout = data_layout(&original)?;
    assert!(layout.memory_imported && !layout.constant_offsets);
    // A synthetic capture: a marker in the middle of 400 pages, and every
    // defined mutable global at its initial value.
    let mut memory = vec![0; 400 * PAGE];
    memory[200 * PAGE + 8..200 * PAGE + 14].copy_from_slice(b"marker");
    let capture = Capture {
        memory,
        globals: initial_globals(&instrumented)?,
        tables: vec![],
    };
    let baked = bake(&instrumented, &capture)?;
    let layout = data_layout(&baked)?;
    assert!(
        !layout.memory_imported && layout.cow_eligible(),
        "{layout:?}"
    );
    assert_eq!(layout.minimum_pages, 400);
    assert_eq!(layout.active_segments, 1);
    let exported = exports(&baked)?;
    for name in ["memory", "pyworkerd.memory.0"] {
        assert!(
            exported.contains(&(name.to_owned(), ExternalKind::Memory, 0)),
            "{name} not exported"
        );
    }
    // Only the memory import is gone.
    let imports = |wasm: &[u8]| -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            if let Payload::ImportSection(reader) = payload? {
                for import in reader.into_imports() {
                    let import = import?;
                    out.push((import.module.to_owned(), import.name.to_owned()));
                }
            }
        }
        Ok(out)
    };
    let mut expected = imports(&original)?;
    expected.retain(|(m, n)| (m.as_str(), n.as_str()) != ("env", "memory"));
    assert_eq!(imports(&baked)?, expected);
    let translated = wasm_legacy_eh::translate(&baked)?;
    Module::new(&engine, &translated).map_err(|e| anyhow!("{e:#}"))?;
    Ok(())
}

/// The initial values of a module's defined mutable `i32` globals.
fn initial_globals(wasm: &[u8]) -> Result<Vec<(u32, GlobalValue)>> {
    let mut imported_globals = 0u32;
    let mut globals = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import?.ty, TypeRef::Global(_)) {
                        imported_globals += 1;
                    }
                }
            }
            Payload::GlobalSection(reader) => {
                for (i, global) in reader.into_iter().enumerate() {
                    let global = global?;
                    if global.ty.mutable {
                        let Operator::I32Const { value } =
                            global.init_expr.get_operators_reader().read()?
                        else {
                            return Err(anyhow!("global {i} is not an i32.const"));
                        };
                        globals.push((imported_globals + i as u32, GlobalValue::I32(value)));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(globals)
}

/// The initial memory of a module with constant-offset segments, and the
/// initial values of its defined mutable `i32` globals.
fn initial_state(wasm: &[u8]) -> Result<Capture> {
    let mut imported_globals = 0u32;
    let mut memory = Vec::new();
    let mut globals = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import?.ty, TypeRef::Global(_)) {
                        imported_globals += 1;
                    }
                }
            }
            Payload::MemorySection(reader) => {
                let ty = reader.into_iter().next().context("no memory")??;
                memory = vec![0u8; ty.initial as usize * PAGE];
            }
            Payload::GlobalSection(reader) => {
                for (i, global) in reader.into_iter().enumerate() {
                    let global = global?;
                    if global.ty.mutable {
                        let Operator::I32Const { value } =
                            global.init_expr.get_operators_reader().read()?
                        else {
                            return Err(anyhow!("global {i} is not an i32.const"));
                        };
                        globals.push((imported_globals + i as u32, GlobalValue::I32(value)));
                    }
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let DataKind::Active { offset_expr, .. } = data.kind else {
                        return Err(anyhow!("passive segment"));
                    };
                    let Operator::I32Const { value } = offset_expr.get_operators_reader().read()?
                    else {
                        return Err(anyhow!("non-constant offset"));
                    };
                    let at = value as u32 as usize;
                    memory[at..at + data.data.len()].copy_from_slice(data.data);
                }
            }
            _ => {}
        }
    }
    Ok(Capture {
        memory,
        globals,
        tables: vec![],
    })
}

/// Every import answered by a placeholder: functions trap, globals are
/// zero, tables empty, tags fresh.
fn instantiate_with_placeholders(store: &mut Store<()>, module: &Module) -> Result<Instance> {
    let mut imports = Vec::new();
    for import in module.imports() {
        let name = format!("{}.{}", import.module(), import.name());
        let value: Extern = match import.ty() {
            ExternType::Func(ty) => Func::new(&mut *store, ty, move |_, _, _| {
                Err(wasmtime::format_err!("placeholder import {name} called"))
            })
            .into(),
            ExternType::Global(ty) => {
                let zero = Val::default_for_ty(ty.content()).context("global without default")?;
                Global::new(&mut *store, ty, zero)?.into()
            }
            ExternType::Memory(ty) => Memory::new(&mut *store, ty)?.into(),
            ExternType::Table(ty) => Table::new(&mut *store, ty, Ref::Func(None))?.into(),
            ExternType::Tag(ty) => Tag::new(&mut *store, &ty)?.into(),
        };
        imports.push(value);
    }
    Ok(Instance::new(&mut *store, module, &imports)?)
}

#[test]
fn baked_314_maps_back_with_its_image_and_runs() -> Result<()> {
    let original = binary("314.0.7")?;
    let before = data_layout(&original)?;
    assert_eq!(before.minimum_pages, 480);
    assert!(before.active_segments > 10_000, "{before:?}");

    let instrumented = export_mutable_globals(&original)?;
    let mut state = initial_state(&instrumented)?;
    assert_eq!(state.globals.len(), 4);
    // Grow by 20 pages (to 500, left zero), put a string at 5 MiB (a page
    // of its own, past the data) and move the stack pointer.
    state.memory.resize(500 * PAGE, 0);
    let marker = 5 << 20;
    state.memory[marker..marker + 10].copy_from_slice(b"pyworkerd\0");
    let GlobalValue::I32(stack_pointer) = state.globals[0].1 else {
        return Err(anyhow!("__stack_pointer is not an i32"));
    };
    state.globals[0].1 = GlobalValue::I32(stack_pointer - 4096);

    let baked = bake(&instrumented, &state)?;
    let after = data_layout(&baked)?;
    assert!(after.cow_eligible() && after.page_aligned, "{after:?}");
    assert_eq!(after.minimum_pages, 500);
    assert_eq!(after.passive_segments, 0);
    // The initial data (3 MiB in 14,579 segments, with zero pages inside)
    // becomes two runs of pages, the marker page a third; the zero pages
    // in between and the 26 MiB of zero pages above are skipped.
    assert_eq!(after.active_segments, 3, "{after:?}");
    assert!(after.active_bytes < 4 << 20, "{after:?}");
    assert_eq!(after.extent, (marker + PAGE) as u64, "{after:?}");

    // Translate, compile and serialize through the module cache, then map
    // the artifact back (Module::deserialize_file): the restore path.
    let dir = tempfile::tempdir()?;
    let cache = ModuleCache::new(EngineSettings::default(), dir.path())?;
    let first = cache.load("baked 314", &baked)?;
    ensure!(
        matches!(
            first.outcome,
            CacheOutcome::Compiled {
                store_error: None,
                ..
            }
        ),
        "{:?}",
        first.outcome
    );
    let mapped = cache.load("baked 314", &baked)?;
    ensure!(
        matches!(mapped.outcome, CacheOutcome::Hit),
        "{:?}",
        mapped.outcome
    );

    let mut store = Store::new(cache.engine(), ());
    let instance = instantiate_with_placeholders(&mut store, &mapped.module)?;
    let restored = capture(&mut store, &instance)?;
    assert_eq!(restored.memory.len(), state.memory.len());
    assert!(restored.memory == state.memory, "restored memory differs");
    assert_eq!(restored.globals, state.globals);
    let sp = instance
        .get_global(&mut store, "__stack_pointer")
        .context("no __stack_pointer")?;
    assert_eq!(sp.get(&mut store).i32(), Some(stack_pointer - 4096));
    // The tables are as the module declares them (the host grows the
    // function table again after a restore).
    assert_eq!(restored.tables.len(), 3);
    assert_eq!(restored.tables[1..], [(1, 0), (2, 0)]);

    // Compiled CPython code runs on the baked image.
    let strlen = instance.get_typed_func::<i32, i32>(&mut store, "strlen")?;
    assert_eq!(strlen.call(&mut store, marker as i32)?, 9);
    Ok(())
}
