//! A side module's replay form: the module a snapshot restore instantiates
//! when it places a library again over memory that already holds the
//! library's data (relocated, and changed since).
//!
//! Instantiating the module as built would write its data segments over
//! that data, and its start function — which `wasm-ld` makes to zero the
//! library's `.bss` — would clear what the library keeps there: every page
//! would be touched (copied on write) and the loader would have to put the
//! snapshot's bytes back. In the replay form the active data segments are
//! passive (indices stay valid; nothing is written) and the start function
//! is gone. The start function is dropped only when it is exactly that
//! `.bss` zeroing — `memory.fill` of zeros over constant ranges at
//! `__memory_base`, which has no effect but on memory the snapshot holds —
//! and any other start function leaves the module as it is (the loader then
//! puts the library's bytes back after instantiating it). A module in replay form
//! exports its memory as [`REPLAY_FORM_EXPORT`], which is how the loader
//! tells the two apart.

use wasm_encoder::{DataSection, ExportKind, ExportSection};
use wasmparser::{DataKind, ExternalKind, FunctionBody, Operator, Parser, Payload, TypeRef};

use crate::sections::{encoded, splice};

/// The export a module in replay form has (its memory).
pub const REPLAY_FORM_EXPORT: &str = "pyworkerd.replay-form";

const EXPORT_SECTION: u8 = 7;
const DATA_SECTION: u8 = 11;

/// What [`replay_form`] cannot read.
#[derive(Debug, thiserror::Error)]
#[error("cannot make the replay form: {0}")]
pub struct ReplayFormError(#[from] wasmparser::BinaryReaderError);

/// The replay form of the side module `wasm` (see the module
/// documentation), or `wasm` unchanged when its start function does more
/// than zero memory at `__memory_base`, or when it has no data to keep.
pub fn replay_form(wasm: &[u8]) -> Result<Vec<u8>, ReplayFormError> {
    let mut memory_base = None;
    let mut globals_imported = 0u32;
    let mut funcs_imported = 0u32;
    let mut start = None;
    let mut start_body = None;
    let mut code_index = 0u32;
    let mut export_section = None;
    let mut data_section = None;
    let mut active = false;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match &payload {
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports() {
                    let import = import?;
                    match import.ty {
                        TypeRef::Global(_) => {
                            if import.module == "env" && import.name == "__memory_base" {
                                memory_base = Some(globals_imported);
                            }
                            globals_imported += 1;
                        }
                        TypeRef::Func(_) => funcs_imported += 1,
                        _ => {}
                    }
                }
            }
            Payload::StartSection { func, range } => start = Some((*func, range.clone())),
            Payload::ExportSection(reader) => {
                export_section = Some((reader.clone(), payload.as_section().map(|(_, r)| r)));
            }
            Payload::CodeSectionEntry(body) => {
                if start
                    .as_ref()
                    .is_some_and(|(f, _)| *f == funcs_imported + code_index)
                {
                    start_body = Some(body.clone());
                }
                code_index += 1;
            }
            Payload::DataSection(reader) => {
                for data in reader.clone() {
                    active |= matches!(data?.kind, DataKind::Active { .. });
                }
                data_section = Some((reader.clone(), payload.as_section().map(|(_, r)| r)));
            }
            _ => {}
        }
    }
    let start_is_bss_zeroing = match (&start, &start_body, memory_base) {
        (None, _, _) => true,
        (Some(_), Some(body), Some(base)) => zeroes_at_base(body, base)?,
        _ => false,
    };
    let (Some((exports, Some(export_range))), true, true) =
        (export_section, start_is_bss_zeroing, active)
    else {
        return Ok(wasm.to_vec());
    };

    // Rewrite: the export section gains the marker, the start section goes,
    // the data section's segments become passive; the rest is copied.
    let mut replaced = Vec::new();
    let mut new_exports = ExportSection::new();
    for export in exports {
        let export = export?;
        let kind = match export.kind {
            ExternalKind::Func | ExternalKind::FuncExact => ExportKind::Func,
            ExternalKind::Table => ExportKind::Table,
            ExternalKind::Memory => ExportKind::Memory,
            ExternalKind::Global => ExportKind::Global,
            ExternalKind::Tag => ExportKind::Tag,
        };
        new_exports.export(export.name, kind, export.index);
    }
    new_exports.export(REPLAY_FORM_EXPORT, ExportKind::Memory, 0);
    replaced.push((export_range, Some((EXPORT_SECTION, encoded(&new_exports)))));
    if let Some((_, range)) = start {
        replaced.push((range, None));
    }
    if let Some((reader, Some(range))) = data_section {
        let mut section = DataSection::new();
        for data in reader {
            section.passive(data?.data.iter().copied());
        }
        replaced.push((range, Some((DATA_SECTION, encoded(&section)))));
    }
    Ok(splice(wasm, replaced))
}

/// Whether `body` (no locals) is only `memory.fill(global.get base + a, 0,
/// n)` statements with constant `a` and `n`, as `wasm-ld` zeroes `.bss`.
fn zeroes_at_base(body: &FunctionBody<'_>, base: u32) -> Result<bool, ReplayFormError> {
    if body.get_locals_reader()?.get_count() != 0 {
        return Ok(false);
    }
    let mut reader = body.get_operators_reader()?;
    let mut ops = Vec::new();
    while !reader.eof() {
        ops.push(reader.read()?);
    }
    let Some((Operator::End, statements)) = ops.split_last() else {
        return Ok(false);
    };
    Ok(statements.len() % 6 == 0
        && statements.chunks(6).all(|statement| {
            matches!(
                statement,
                [
                    Operator::GlobalGet { global_index },
                    Operator::I32Const { .. },
                    Operator::I32Add,
                    Operator::I32Const { value: 0 },
                    Operator::I32Const { .. },
                    Operator::MemoryFill { mem: 0 },
                ] if *global_index == base
            )
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A side module shaped as `wasm-ld` makes one: data at
    /// `__memory_base`, `.bss` zeroed by the start function.
    fn side(start_body: &str) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module
                (@custom "dylink.0" (before first) "\01\02")
                (import "env" "memory" (memory 1))
                (import "env" "__stack_pointer" (global $sp (mut i32)))
                (import "env" "__memory_base" (global $base i32))
                (global $g (mut i32) (i32.const 0))
                (func (export "read") (param i32) (result i32)
                    (i32.load (i32.add (global.get $base) (local.get 0))))
                (func (export "g") (result i32) (global.get $g))
                (func $start {start_body})
                (start $start)
                (data (global.get $base) "hello")
                (data "kept passive"))"#
        ))
        .unwrap()
    }

    const BSS_ZEROING: &str = "(memory.fill (i32.add (global.get $base) (i32.const 8)) \
                               (i32.const 0) (i32.const 4))";

    fn instantiate(wasm: &[u8]) -> (wasmtime::Store<()>, wasmtime::Memory, wasmtime::Instance) {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, wasm).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        let memory = wasmtime::Memory::new(&mut store, wasmtime::MemoryType::new(1, None)).unwrap();
        memory.data_mut(&mut store)[16..32].copy_from_slice(b"snapshot's bytes");
        let sp = wasmtime::Global::new(
            &mut store,
            wasmtime::GlobalType::new(wasmtime::ValType::I32, wasmtime::Mutability::Var),
            wasmtime::Val::I32(0),
        )
        .unwrap();
        let base = wasmtime::Global::new(
            &mut store,
            wasmtime::GlobalType::new(wasmtime::ValType::I32, wasmtime::Mutability::Const),
            wasmtime::Val::I32(16),
        )
        .unwrap();
        let instance = wasmtime::Instance::new(
            &mut store,
            &module,
            &[memory.into(), sp.into(), base.into()],
        )
        .unwrap();
        (store, memory, instance)
    }

    #[test]
    fn the_replay_form_writes_nothing_into_memory() {
        let wasm = side(BSS_ZEROING);
        // As built: the data and the zeroed .bss land over what was there.
        let (store, memory, instance) = instantiate(&wasm);
        let mut store = store;
        assert_eq!(&memory.data(&store)[16..32], b"hellohot\0\0\0\0ytes");
        assert!(
            instance
                .get_export(&mut store, REPLAY_FORM_EXPORT)
                .is_none()
        );

        let out = replay_form(&wasm).unwrap();
        wasmparser::Validator::new().validate_all(&out).unwrap();
        let (mut store, memory, instance) = instantiate(&out);
        assert_eq!(&memory.data(&store)[16..32], b"snapshot's bytes");
        assert!(
            instance
                .get_export(&mut store, REPLAY_FORM_EXPORT)
                .is_some()
        );
        let read = instance
            .get_typed_func::<i32, i32>(&mut store, "read")
            .unwrap();
        assert_eq!(
            read.call(&mut store, 0).unwrap(),
            i32::from_le_bytes(*b"snap")
        );
        // The dylink.0 section is still first; the segments are passive.
        let mut first = None;
        let mut kinds = Vec::new();
        for payload in Parser::new(0).parse_all(&out) {
            match payload.unwrap() {
                Payload::CustomSection(c) if first.is_none() => first = Some(c.name().to_owned()),
                Payload::StartSection { .. } => panic!("the start section is still there"),
                Payload::DataSection(reader) => {
                    for data in reader {
                        let data = data.unwrap();
                        kinds.push((matches!(data.kind, DataKind::Passive), data.data.to_vec()));
                    }
                }
                _ => {}
            }
        }
        assert_eq!(first.as_deref(), Some("dylink.0"));
        assert_eq!(
            kinds,
            [(true, b"hello".to_vec()), (true, b"kept passive".to_vec())]
        );
    }

    #[test]
    fn a_start_function_doing_more_leaves_the_module_as_it_is() {
        for body in [
            // Sets a global besides zeroing.
            "(global.set $g (i32.const 1)) (memory.fill (i32.add (global.get $base) \
             (i32.const 8)) (i32.const 0) (i32.const 4))",
            // Fills with something other than zero.
            "(memory.fill (i32.add (global.get $base) (i32.const 8)) (i32.const 7) \
             (i32.const 4))",
            // Zeroes memory not based at __memory_base.
            "(memory.fill (i32.add (global.get $sp) (i32.const 8)) (i32.const 0) \
             (i32.const 4))",
        ] {
            let wasm = side(body);
            assert_eq!(replay_form(&wasm).unwrap(), wasm, "{body}");
        }
    }

    #[test]
    fn a_large_data_section_and_later_sections_are_kept() {
        let big = "x".repeat(70_000);
        let wasm = wat::parse_str(format!(
            r#"(module (import "env" "memory" (memory 2))
                (import "env" "__memory_base" (global $base i32))
                (func (export "f"))
                (data (global.get $base) "{big}") (@custom "tail" (after last) "t"))"#
        ))
        .unwrap();
        let out = replay_form(&wasm).unwrap();
        wasmparser::Validator::new().validate_all(&out).unwrap();
        let customs = |wasm: &[u8]| -> Vec<(String, Vec<u8>)> {
            Parser::new(0)
                .parse_all(wasm)
                .filter_map(|p| match p.unwrap() {
                    Payload::CustomSection(c) => Some((c.name().to_owned(), c.data().to_vec())),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(customs(&out), customs(&wasm));
        assert!(customs(&out).iter().any(|(name, _)| name == "tail"));
        let passive = Parser::new(0).parse_all(&out).any(|p| match p.unwrap() {
            Payload::DataSection(reader) => reader
                .into_iter()
                .all(|d| matches!(d.unwrap().kind, DataKind::Passive)),
            _ => false,
        });
        assert!(passive, "the segment is passive");
    }
}
