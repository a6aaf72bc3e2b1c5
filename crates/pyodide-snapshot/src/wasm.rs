//! Reading a module into the parts instrument and bake look at, and writing
//! it back with some sections replaced, dropped or added.
//!
//! Sections nobody touches are copied byte for byte in their original
//! position, custom sections (`name`, `dylink.0`, producers, DWARF)
//! included; a new section goes where the binary format's section order
//! puts it.

use std::ops::Range;

use wasm_encoder::Encode;
use wasmparser::{
    ConstExpr, DataKind, Encoding, ExternalKind, FunctionBody, GlobalType, MemoryType, Operator,
    Parser, Payload, TypeRef,
};

use crate::Error;

pub(crate) const CUSTOM_SECTION: u8 = 0;
pub(crate) const IMPORT_SECTION: u8 = 2;
pub(crate) const MEMORY_SECTION: u8 = 5;
pub(crate) const GLOBAL_SECTION: u8 = 6;
pub(crate) const EXPORT_SECTION: u8 = 7;
pub(crate) const START_SECTION: u8 = 8;
pub(crate) const CODE_SECTION: u8 = 10;
pub(crate) const DATA_SECTION: u8 = 11;
pub(crate) const DATA_COUNT_SECTION: u8 = 12;

/// One section of the input.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub(crate) id: u8,
    /// The whole section, id byte and size included.
    pub(crate) range: Range<usize>,
}

/// A global defined by the module.
#[derive(Debug, Clone)]
pub(crate) struct DefinedGlobal<'a> {
    pub(crate) ty: GlobalType,
    pub(crate) init_expr: ConstExpr<'a>,
    /// The whole entry in the global section (type and init expression).
    pub(crate) entry: Range<usize>,
}

/// An export of the input.
#[derive(Debug, Clone)]
pub(crate) struct Export {
    pub(crate) name: String,
    pub(crate) kind: ExternalKind,
    pub(crate) index: u32,
}

/// A data segment of the input.
#[derive(Debug, Clone)]
pub(crate) struct Segment<'a> {
    pub(crate) kind: DataKind<'a>,
    pub(crate) data: &'a [u8],
}

/// What instrument and bake need to know about a module.
#[derive(Debug, Default)]
pub(crate) struct Outline<'a> {
    pub(crate) sections: Vec<Section>,
    pub(crate) imported_globals: u32,
    pub(crate) imported_tables: u32,
    /// Every import, in order: (module, name, type).
    pub(crate) imports: Vec<(String, String, TypeRef)>,
    /// Imported memories: (module, name, type).
    pub(crate) imported_memories: Vec<(String, String, MemoryType)>,
    pub(crate) memories: Vec<MemoryType>,
    /// Number of tables the module defines.
    pub(crate) defined_tables: u32,
    pub(crate) globals: Vec<DefinedGlobal<'a>>,
    pub(crate) exports: Vec<Export>,
    /// The export section's entries, after its count.
    pub(crate) export_entries: Option<Range<usize>>,
    pub(crate) segments: Vec<Segment<'a>>,
    pub(crate) data_count: Option<u32>,
    pub(crate) bodies: Vec<FunctionBody<'a>>,
}

impl<'a> Outline<'a> {
    /// Splits `wasm` into sections and reads the parts of interest.
    pub(crate) fn read(wasm: &'a [u8]) -> Result<Self, Error> {
        let mut outline = Outline::default();
        let mut section_start = 8;
        for payload in Parser::new(0).parse_all(wasm) {
            let payload = payload?;
            match &payload {
                Payload::Version { encoding, .. } if *encoding != Encoding::Module => {
                    return Err(Error::NotCoreModule);
                }
                Payload::ImportSection(reader) => {
                    for import in reader.clone().into_imports() {
                        let import = import?;
                        outline.imports.push((
                            import.module.to_owned(),
                            import.name.to_owned(),
                            import.ty,
                        ));
                        match import.ty {
                            TypeRef::Global(_) => outline.imported_globals += 1,
                            TypeRef::Table(_) => outline.imported_tables += 1,
                            TypeRef::Memory(ty) => outline.imported_memories.push((
                                import.module.to_owned(),
                                import.name.to_owned(),
                                ty,
                            )),
                            _ => {}
                        }
                    }
                }
                Payload::TableSection(reader) => outline.defined_tables = reader.count(),
                Payload::MemorySection(reader) => {
                    for memory in reader.clone() {
                        outline.memories.push(memory?);
                    }
                }
                Payload::GlobalSection(reader) => {
                    let end = reader.range().end;
                    let mut entries: Vec<(usize, wasmparser::Global<'a>)> = Vec::new();
                    for item in reader.clone().into_iter_with_offsets() {
                        entries.push(item?);
                    }
                    let starts: Vec<usize> = entries.iter().map(|(start, _)| *start).collect();
                    for (i, (start, global)) in entries.into_iter().enumerate() {
                        let entry_end = starts.get(i + 1).copied().unwrap_or(end);
                        outline.globals.push(DefinedGlobal {
                            ty: global.ty,
                            init_expr: global.init_expr,
                            entry: start..entry_end,
                        });
                    }
                }
                Payload::ExportSection(reader) => {
                    let mut entries = None;
                    for item in reader.clone().into_iter_with_offsets() {
                        let (start, export) = item?;
                        entries.get_or_insert(start..reader.range().end);
                        outline.exports.push(Export {
                            name: export.name.to_owned(),
                            kind: export.kind,
                            index: export.index,
                        });
                    }
                    outline.export_entries =
                        Some(entries.unwrap_or(reader.range().end..reader.range().end));
                }
                Payload::DataCountSection { count, .. } => outline.data_count = Some(*count),
                Payload::DataSection(reader) => {
                    for data in reader.clone() {
                        let data = data?;
                        outline.segments.push(Segment {
                            kind: data.kind,
                            data: data.data,
                        });
                    }
                }
                Payload::CodeSectionEntry(body) => outline.bodies.push(body.clone()),
                _ => {}
            }
            if let Some((id, range)) = payload.as_section() {
                outline.sections.push(Section {
                    id,
                    range: section_start..range.end,
                });
                section_start = range.end;
            }
        }
        Ok(outline)
    }

    /// Whether some instruction names a data segment by index
    /// (`memory.init`, `data.drop`, `array.new_data`, `array.init_data`).
    pub(crate) fn code_uses_segment_indices(&self) -> Result<bool, Error> {
        // Validation requires a DataCount section for all of these.
        if self.data_count.is_none() {
            return Ok(false);
        }
        for body in &self.bodies {
            let mut reader = body.get_operators_reader()?;
            while !reader.eof() {
                if matches!(
                    reader.read()?,
                    Operator::MemoryInit { .. }
                        | Operator::DataDrop { .. }
                        | Operator::ArrayNewData { .. }
                        | Operator::ArrayInitData { .. }
                ) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}

/// What to do with a section of the input when writing the output.
#[derive(Debug)]
pub(crate) enum Action {
    Keep,
    Drop,
    /// Replace the section's content (what follows its size).
    Replace(Vec<u8>),
}

/// Writes the module: every input section through `action`, and each of
/// `inserts` (id, content) right after the last input section that comes
/// before it in the section order (before the custom sections that follow
/// that one), or first when there is none.
pub(crate) fn rebuild(
    wasm: &[u8],
    sections: &[Section],
    mut action: impl FnMut(&Section) -> Action,
    mut inserts: Vec<(u8, Vec<u8>)>,
) -> Vec<u8> {
    inserts.sort_by_key(|(id, _)| order(*id));
    // Where each insert goes: the number of input sections before it.
    let positions: Vec<usize> = inserts
        .iter()
        .map(|(id, _)| {
            sections
                .iter()
                .rposition(|s| s.id != CUSTOM_SECTION && order(s.id) < order(*id))
                .map_or(0, |i| i + 1)
        })
        .collect();
    let mut inserts = positions.into_iter().zip(inserts).peekable();
    let mut out = Vec::with_capacity(wasm.len() + wasm.len() / 8);
    out.extend_from_slice(&wasm[..8]);
    for (i, section) in sections.iter().enumerate() {
        while let Some((_, (id, content))) = inserts.next_if(|(at, _)| *at == i) {
            write_section(&mut out, id, &content);
        }
        match action(section) {
            Action::Keep => out.extend_from_slice(&wasm[section.range.clone()]),
            Action::Drop => {}
            Action::Replace(content) => write_section(&mut out, section.id, &content),
        }
    }
    for (_, (id, content)) in inserts {
        write_section(&mut out, id, &content);
    }
    out
}

/// A known section's rank in the order the binary format requires.
fn order(id: u8) -> u8 {
    match id {
        1..=5 => id,     // type, import, function, table, memory
        13 => 6,         // tag
        6..=9 => id + 1, // global, export, start, element
        DATA_COUNT_SECTION => 11,
        CODE_SECTION => 12,
        DATA_SECTION => 13,
        _ => u8::MAX,
    }
}

/// Appends a section: id, size, content.
pub(crate) fn write_section(out: &mut Vec<u8>, id: u8, content: &[u8]) {
    out.push(id);
    content.len().encode(out);
    out.extend_from_slice(content);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section_ids(wasm: &[u8]) -> Vec<u8> {
        Outline::read(wasm)
            .unwrap()
            .sections
            .iter()
            .map(|s| s.id)
            .collect()
    }

    #[test]
    fn inserted_sections_go_where_the_order_says() {
        // type, function, export(no), code; plus a custom section at the end.
        let wasm = wat::parse_str(
            r#"(module (memory 1) (global (mut i32) (i32.const 0)) (func) (@custom "tail" "x"))"#,
        )
        .unwrap();
        let outline = Outline::read(&wasm).unwrap();
        let before = section_ids(&wasm);
        assert_eq!(before, vec![1, 3, 5, 6, 10, 0]);
        let out = rebuild(
            &wasm,
            &outline.sections,
            |_| Action::Keep,
            vec![(DATA_SECTION, vec![0]), (EXPORT_SECTION, vec![0])],
        );
        wasmparser::validate(&out).unwrap();
        assert_eq!(section_ids(&out), vec![1, 3, 5, 6, 7, 10, 11, 0]);
    }

    #[test]
    fn kept_sections_are_byte_identical() {
        let wasm =
            wat::parse_str(r#"(module (memory 1) (data (i32.const 8) "abc") (func))"#).unwrap();
        let outline = Outline::read(&wasm).unwrap();
        assert_eq!(
            rebuild(&wasm, &outline.sections, |_| Action::Keep, vec![]),
            wasm
        );
    }

    #[test]
    fn segment_index_users_are_found() {
        let uses = |text: &str| {
            let wasm = wat::parse_str(text).unwrap();
            Outline::read(&wasm)
                .unwrap()
                .code_uses_segment_indices()
                .unwrap()
        };
        assert!(uses(
            r#"(module (memory 1) (data $d "x") (func (data.drop $d)))"#
        ));
        assert!(uses(
            r#"(module (memory 1) (data $d "x")
                 (func (memory.init $d (i32.const 0) (i32.const 0) (i32.const 1))))"#
        ));
        assert!(!uses(
            r#"(module (memory 1) (data (i32.const 0) "x") (func (drop (i32.const 0))))"#
        ));
    }
}
