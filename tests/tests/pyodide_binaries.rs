//! The real Pyodide binaries, end to end: fetched through the project's own
//! fetch code, translated, validated, compiled through the module cache, and
//! instantiated with placeholder imports.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use pyodide_emscripten::{CacheOutcome, EngineSettings, LoadedModule, ModuleCache};
use pyodide_packages::dist::{self, Distribution};
use wasmtime::{Extern, ExternType, Func, Global, Instance, Memory, Ref, Store, Table, Tag, Val};

const VERSIONS: [&str; 2] = ["314.0.7", "0.29.3"];

fn distribution(version: &str) -> Result<Distribution> {
    let known = dist::known_version(version)?;
    dist::ensure_from_env(known).with_context(|| {
        format!("cannot get Pyodide {version}; run `cargo xtask fetch-pyodide --all` to see why")
    })
}

/// The cache shared by test runs, so a run compiles each binary once.
fn shared_cache() -> Result<ModuleCache> {
    let dir: PathBuf = dist::cache_root()?.join("modules");
    Ok(ModuleCache::new(EngineSettings::default(), dir)?)
}

fn load(cache: &ModuleCache, dist: &Distribution) -> Result<LoadedModule> {
    let sha256 = dist
        .file_sha256(dist::ASM_WASM)
        .context("manifest lacks pyodide.asm.wasm")?;
    let sha256: [u8; 32] = hex_to_array(sha256)?;
    Ok(cache.load_file(&dist.asm_wasm(), Some(sha256))?)
}

fn hex_to_array(hex: &str) -> Result<[u8; 32]> {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<_, _>>()?;
    bytes.try_into().map_err(|_| anyhow!("not a sha256: {hex}"))
}

/// Counts legacy exception-handling operators in a module's code.
fn legacy_eh_ops(wasm: &[u8]) -> Result<usize> {
    let mut count = 0;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::CodeSectionEntry(body) = payload? {
            let mut reader = body.get_operators_reader()?;
            while !reader.eof() {
                use wasmparser::Operator::*;
                if matches!(
                    reader.read()?,
                    Try { .. } | Catch { .. } | CatchAll | Delegate { .. } | Rethrow { .. }
                ) {
                    count += 1;
                }
            }
        }
    }
    Ok(count)
}

#[test]
fn both_releases_translate_to_valid_standard_eh() -> Result<()> {
    for version in VERSIONS {
        let dist = distribution(version)?;
        let original = std::fs::read(dist.asm_wasm())?;
        assert!(
            legacy_eh_ops(&original)? > 1000,
            "{version}: expected legacy EH in the input"
        );
        let translated = wasm_legacy_eh::translate(&original)?;
        assert_eq!(
            legacy_eh_ops(&translated)?,
            0,
            "{version}: legacy EH left after translation"
        );
        let features = wasmparser::WasmFeatures::default()
            | wasmparser::WasmFeatures::EXCEPTIONS
            | wasmparser::WasmFeatures::REFERENCE_TYPES
            | wasmparser::WasmFeatures::GC;
        wasmparser::Validator::new_with_features(features)
            .validate_all(&translated)
            .with_context(|| format!("{version}: translated module does not validate"))?;
    }
    Ok(())
}

/// Every import answered by a placeholder of its type: functions trap when
/// called, globals, memories and tables are zero/empty of the declared size.
/// Returns the store, the instance and its linear memory (exported by 314,
/// imported by the relocatable 0.29.3).
fn instantiate_with_placeholders(
    cache: &ModuleCache,
    loaded: &LoadedModule,
) -> Result<(Store<()>, Instance, Memory)> {
    let mut store = Store::new(cache.engine(), ());
    let mut imports = Vec::new();
    let mut imported_memory = None;
    for import in loaded.module.imports() {
        let name = format!("{}.{}", import.module(), import.name());
        let value: Extern = match import.ty() {
            ExternType::Func(ty) => Func::new(&mut store, ty, move |_, _, _| {
                Err(wasmtime::format_err!("placeholder import {name} called"))
            })
            .into(),
            ExternType::Global(ty) => {
                let zero = Val::default_for_ty(ty.content()).context("global without default")?;
                Global::new(&mut store, ty, zero)?.into()
            }
            ExternType::Memory(ty) => {
                let memory = Memory::new(&mut store, ty)?;
                imported_memory = Some(memory);
                memory.into()
            }
            ExternType::Table(ty) => {
                let null = Ref::Func(None);
                Table::new(&mut store, ty, null)?.into()
            }
            ExternType::Tag(ty) => Tag::new(&mut store, &ty)?.into(),
        };
        imports.push(value);
    }
    let instance = Instance::new(&mut store, &loaded.module, &imports)?;
    let memory = match imported_memory {
        Some(memory) => memory,
        None => instance
            .get_memory(&mut store, "memory")
            .context("no exported memory")?,
    };
    Ok((store, instance, memory))
}

/// Runs libc's `strlen`, compiled code of the real binary, on a string
/// written into guest memory.
fn run_strlen(store: &mut Store<()>, instance: &Instance, memory: Memory) -> Result<i32> {
    let address = 16 << 20; // inside the initial memory of both releases (20 MiB for 0.29.3)
    memory.write(&mut *store, address, b"pyworkerd\0")?;
    let strlen = instance.get_typed_func::<i32, i32>(&mut *store, "strlen")?;
    Ok(strlen.call(&mut *store, address as i32)?)
}

#[test]
fn cached_artifacts_instantiate_and_run() -> Result<()> {
    let cache = shared_cache()?;
    let dist = distribution("314.0.7")?;
    // Either compiled now (first run) or mapped; the second load is a hit.
    load(&cache, &dist)?;
    let loaded = load(&cache, &dist)?;
    assert!(
        matches!(loaded.outcome, CacheOutcome::Hit),
        "{:?}",
        loaded.outcome
    );
    let (mut store, instance, memory) = instantiate_with_placeholders(&cache, &loaded)?;
    assert_eq!(run_strlen(&mut store, &instance, memory)?, 9);
    Ok(())
}

#[test]
fn relocatable_release_instantiates_too() -> Result<()> {
    let cache = shared_cache()?;
    let dist = distribution("0.29.3")?;
    let loaded = load(&cache, &dist)?;
    let imports_memory = loaded
        .module
        .imports()
        .any(|i| matches!(i.ty(), ExternType::Memory(_)));
    assert!(imports_memory, "0.29.3 is expected to import its memory");
    let (mut store, instance, memory) = instantiate_with_placeholders(&cache, &loaded)?;
    assert_eq!(run_strlen(&mut store, &instance, memory)?, 9);
    Ok(())
}

#[test]
fn fresh_cache_compiles_once_then_maps() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cache = ModuleCache::new(EngineSettings::default(), dir.path().join("modules"))?;
    let dist = distribution("314.0.7")?;
    let first = load(&cache, &dist)?;
    match &first.outcome {
        CacheOutcome::Compiled {
            rebuilt_because: None,
            store_error: None,
            ..
        } => {}
        other => panic!("expected a first compile that stores, got {other:?}"),
    }
    let second = load(&cache, &dist)?;
    assert!(
        matches!(second.outcome, CacheOutcome::Hit),
        "{:?}",
        second.outcome
    );
    let (mut store, instance, memory) = instantiate_with_placeholders(&cache, &second)?;
    assert_eq!(run_strlen(&mut store, &instance, memory)?, 9);
    Ok(())
}
