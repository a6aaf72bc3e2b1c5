//! Instrumentation: exports that let the host read, at capture time, the
//! state a wasm module keeps out of its exports.
//!
//! A module's mutable globals (Emscripten's `__stack_pointer`, stack limits,
//! TLS base, ...) are part of its state but mostly not exported, and the
//! host cannot read an unexported global. [`export_mutable_globals`] adds an
//! export for each one, and for each defined table and memory, so that
//! [`crate::capture::capture`] finds everything by name. Exports change no
//! behaviour: code, indices and every other section stay as they were.

use wasm_encoder::{Encode, ExportKind};
use wasmparser::{ExternalKind, ValType};

use crate::Error;
use crate::wasm::{self, Action, EXPORT_SECTION, Outline};

/// Prefix of every export the instrumentation adds.
pub const EXPORT_PREFIX: &str = "pyworkerd.";
/// Prefix of a mutable global's export; the absolute global index follows.
pub const GLOBAL_EXPORT_PREFIX: &str = "pyworkerd.global.";
/// Prefix of a defined table's export; the absolute table index follows.
pub const TABLE_EXPORT_PREFIX: &str = "pyworkerd.table.";
/// Prefix of a defined memory's export; the absolute memory index follows.
pub const MEMORY_EXPORT_PREFIX: &str = "pyworkerd.memory.";

/// The export name of the global with absolute index `index`.
pub fn global_export_name(index: u32) -> String {
    format!("{GLOBAL_EXPORT_PREFIX}{index}")
}

/// The export name of the table with absolute index `index`.
pub fn table_export_name(index: u32) -> String {
    format!("{TABLE_EXPORT_PREFIX}{index}")
}

/// The export name of the memory with absolute index `index`.
pub fn memory_export_name(index: u32) -> String {
    format!("{MEMORY_EXPORT_PREFIX}{index}")
}

/// Adds an export `pyworkerd.global.<absolute index>` for every mutable
/// global the module defines, `pyworkerd.table.<index>` for every table it
/// defines and `pyworkerd.memory.<index>` for every memory it defines.
///
/// Imported globals are not exported: their owner is the host, which can
/// read them itself. Everything else is unchanged; sections other than the
/// export section are copied byte for byte. Instrumenting an instrumented
/// module returns it unchanged, so a baked module (which keeps these
/// exports) can be instrumented again.
///
/// # Errors
///
/// [`Error::Malformed`] or [`Error::NotCoreModule`] for bad input;
/// [`Error::UnsupportedMutableGlobal`] for a mutable global of reference
/// type, whose value cannot be captured; [`Error::ExportNameTaken`] when one
/// of the names is already exported for something else.
pub fn export_mutable_globals(wasm: &[u8]) -> Result<Vec<u8>, Error> {
    let outline = Outline::read(wasm)?;
    let mut wanted: Vec<(String, ExternalKind, u32)> = Vec::new();
    for (i, global) in outline.globals.iter().enumerate() {
        if !global.ty.mutable {
            continue;
        }
        let index = outline.imported_globals + i as u32;
        if !capturable(global.ty.content_type) {
            return Err(Error::UnsupportedMutableGlobal {
                index,
                ty: global.ty.content_type.to_string(),
            });
        }
        wanted.push((global_export_name(index), ExternalKind::Global, index));
    }
    for i in 0..outline.defined_tables {
        let index = outline.imported_tables + i;
        wanted.push((table_export_name(index), ExternalKind::Table, index));
    }
    let imported_memories = outline.imported_memories.len() as u32;
    for i in 0..outline.memories.len() as u32 {
        let index = imported_memories + i;
        wanted.push((memory_export_name(index), ExternalKind::Memory, index));
    }

    let Some(content) = export_section_with(wasm, &outline, wanted)? else {
        return Ok(wasm.to_vec());
    };
    let has_export_section = outline.export_entries.is_some();
    let inserts = if has_export_section {
        Vec::new()
    } else {
        vec![(EXPORT_SECTION, content.clone())]
    };
    let mut replacement = Some(content);
    Ok(wasm::rebuild(
        wasm,
        &outline.sections,
        |section| match section.id {
            EXPORT_SECTION => replacement.take().map_or(Action::Keep, Action::Replace),
            _ => Action::Keep,
        },
        inserts,
    ))
}

/// The content of an export section holding the module's exports plus
/// those of `wanted` (name, kind, index) it lacks; `None` when it lacks
/// none.
///
/// # Errors
///
/// [`Error::ExportNameTaken`] when a wanted name is exported for
/// something else.
pub(crate) fn export_section_with(
    wasm: &[u8],
    outline: &Outline<'_>,
    wanted: Vec<(String, ExternalKind, u32)>,
) -> Result<Option<Vec<u8>>, Error> {
    let mut added = Vec::new();
    for (name, kind, index) in wanted {
        match outline.exports.iter().find(|e| e.name == name) {
            Some(e) if e.kind == kind && e.index == index => {}
            Some(_) => return Err(Error::ExportNameTaken { name }),
            None => added.push((name, kind, index)),
        }
    }
    if added.is_empty() {
        return Ok(None);
    }
    let mut content = Vec::new();
    (outline.exports.len() + added.len()).encode(&mut content);
    if let Some(entries) = &outline.export_entries {
        content.extend_from_slice(&wasm[entries.clone()]);
    }
    for (name, kind, index) in &added {
        name.as_str().encode(&mut content);
        export_kind(*kind).encode(&mut content);
        index.encode(&mut content);
    }
    Ok(Some(content))
}

/// Whether a global of this type has a value [`crate::capture`] can read
/// and bake can write back.
pub(crate) fn capturable(ty: ValType) -> bool {
    matches!(
        ty,
        ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64 | ValType::V128
    )
}

/// The encoding of the kinds the instrumentation exports.
fn export_kind(kind: ExternalKind) -> ExportKind {
    match kind {
        ExternalKind::Table => ExportKind::Table,
        ExternalKind::Memory => ExportKind::Memory,
        _ => ExportKind::Global,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::{Parser, Payload};

    fn exports(wasm: &[u8]) -> Vec<(String, ExternalKind, u32)> {
        let mut out = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            if let Payload::ExportSection(reader) = payload.unwrap() {
                for e in reader {
                    let e = e.unwrap();
                    out.push((e.name.to_owned(), e.kind, e.index));
                }
            }
        }
        out
    }

    const MODULE: &str = r#"
      (module
        (import "env" "g" (global $imp (mut i32)))
        (import "env" "t" (table 1 funcref))
        (memory (export "memory") 1)
        (table 2 externref)
        (global $a (mut i32) (i32.const 1))
        (global $b i64 (i64.const 2))
        (global $c (mut f64) (f64.const 3))
        (global $d (mut v128) (v128.const i64x2 4 5))
        (func (export "f") (result i32) (global.get $a)))
    "#;

    #[test]
    fn exports_every_defined_mutable_global_table_and_memory() {
        let wasm = wat::parse_str(MODULE).unwrap();
        let out = export_mutable_globals(&wasm).unwrap();
        wasmparser::validate(&out).unwrap();
        assert_eq!(
            exports(&out),
            vec![
                ("memory".to_owned(), ExternalKind::Memory, 0),
                ("f".to_owned(), ExternalKind::Func, 0),
                ("pyworkerd.global.1".to_owned(), ExternalKind::Global, 1),
                ("pyworkerd.global.3".to_owned(), ExternalKind::Global, 3),
                ("pyworkerd.global.4".to_owned(), ExternalKind::Global, 4),
                ("pyworkerd.table.1".to_owned(), ExternalKind::Table, 1),
                ("pyworkerd.memory.0".to_owned(), ExternalKind::Memory, 0),
            ]
        );
    }

    #[test]
    fn instrumenting_twice_changes_nothing() {
        let wasm = wat::parse_str(MODULE).unwrap();
        let once = export_mutable_globals(&wasm).unwrap();
        assert_eq!(export_mutable_globals(&once).unwrap(), once);
    }

    #[test]
    fn adds_an_export_section_when_there_is_none() {
        let wasm = wat::parse_str(
            r#"(module (global (mut i32) (i32.const 7)) (func) (@custom "after" "x"))"#,
        )
        .unwrap();
        let out = export_mutable_globals(&wasm).unwrap();
        wasmparser::validate(&out).unwrap();
        assert_eq!(
            exports(&out),
            vec![("pyworkerd.global.0".to_owned(), ExternalKind::Global, 0)]
        );
    }

    #[test]
    fn other_sections_are_byte_identical() {
        let wasm = wat::parse_str(MODULE).unwrap();
        let out = export_mutable_globals(&wasm).unwrap();
        let sections = |wasm: &[u8]| -> Vec<(u8, Vec<u8>)> {
            Parser::new(0)
                .parse_all(wasm)
                .filter_map(|p| p.unwrap().as_section())
                .filter(|(id, _)| *id != EXPORT_SECTION)
                .map(|(id, range)| (id, wasm[range].to_vec()))
                .collect()
        };
        assert_eq!(sections(&wasm), sections(&out));
    }

    #[test]
    fn a_taken_name_is_refused() {
        let wasm = wat::parse_str(
            r#"(module (global (mut i32) (i32.const 7))
                       (func (export "pyworkerd.global.0")))"#,
        )
        .unwrap();
        assert_eq!(
            export_mutable_globals(&wasm),
            Err(Error::ExportNameTaken {
                name: "pyworkerd.global.0".to_owned()
            })
        );
    }

    #[test]
    fn a_mutable_reference_global_is_refused() {
        let wasm = wat::parse_str(r#"(module (global (mut funcref) (ref.null func)))"#).unwrap();
        assert_eq!(
            export_mutable_globals(&wasm),
            Err(Error::UnsupportedMutableGlobal {
                index: 0,
                ty: "funcref".to_owned()
            })
        );
    }

    #[test]
    fn a_component_is_refused() {
        let component = wat::parse_str("(component)").unwrap();
        assert_eq!(
            export_mutable_globals(&component),
            Err(Error::NotCoreModule)
        );
    }
}
