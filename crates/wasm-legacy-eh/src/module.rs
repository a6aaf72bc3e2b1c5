//! Module level: split the binary into sections, gather what function
//! translation needs (types, tags, function signatures), and reassemble.
//!
//! Every section other than the type and code sections is copied byte for
//! byte in its original position, custom sections included. The type section
//! gets the new function types appended; the code section gets the
//! translated bodies, and the untouched bodies copied raw.

use std::ops::Range;

use wasm_encoder::Encode;
use wasmparser::{
    BinaryReader, CompositeInnerType, Encoding, FunctionBody, Parser, Payload, TypeRef,
};

use crate::Error;
use crate::function::{self, ModuleCtx, Scratch};
use crate::types::{FuncSig, TypeTable};

const TYPE_SECTION: u8 = 1;
const CODE_SECTION: u8 = 10;
const CUSTOM_SECTION: u8 = 0;

#[derive(Debug)]
struct Section {
    id: u8,
    /// The whole section, id byte and size included.
    range: Range<usize>,
}

#[derive(Debug)]
struct TypeSectionInfo {
    /// Number of entries (recursion groups).
    groups: u32,
    /// The entries, after the count.
    entries: Range<usize>,
}

#[derive(Debug)]
struct CodeSectionInfo<'a> {
    /// Where the first body's size prefix starts.
    entries_start: usize,
    bodies: Vec<FunctionBody<'a>>,
}

pub(crate) fn translate(wasm: &[u8]) -> Result<Vec<u8>, Error> {
    let mut sections = Vec::new();
    let mut types = TypeTable::default();
    let mut type_section = None;
    let mut tag_types = Vec::new();
    let mut func_types = Vec::new();
    let mut code = None;
    let mut section_start = 8;

    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match &payload {
            Payload::Version { encoding, .. } if *encoding != Encoding::Module => {
                return Err(Error::NotCoreModule);
            }
            Payload::TypeSection(reader) => {
                let entries = reader.original_position()..reader.range().end;
                let groups = reader.count();
                for group in reader.clone() {
                    for sub in group?.types() {
                        types.push_existing(match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => Some(FuncSig {
                                params: f.params().into(),
                                results: f.results().into(),
                            }),
                            _ => None,
                        });
                    }
                }
                type_section = Some(TypeSectionInfo { groups, entries });
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports() {
                    if let TypeRef::Tag(tag) = import?.ty {
                        tag_types.push(tag.func_type_idx);
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader.clone() {
                    func_types.push(ty?);
                }
            }
            Payload::TagSection(reader) => {
                for tag in reader.clone() {
                    tag_types.push(tag?.func_type_idx);
                }
            }
            Payload::CodeSectionStart { range, .. } => {
                let mut reader = BinaryReader::new(&wasm[range.clone()], range.start);
                reader.read_var_u32()?;
                code = Some(CodeSectionInfo {
                    entries_start: reader.original_position(),
                    bodies: Vec::new(),
                });
            }
            Payload::CodeSectionEntry(body) => {
                if let Some(code) = &mut code {
                    code.bodies.push(body.clone());
                }
            }
            _ => {}
        }
        if let Some((id, range)) = payload.as_section() {
            sections.push(Section {
                id,
                range: section_start..range.end,
            });
            section_start = range.end;
        }
    }

    let Some(code) = code else {
        return Ok(wasm.to_vec());
    };
    if code.bodies.len() != func_types.len() {
        return Err(Error::FunctionCountMismatch {
            bodies: code.bodies.len(),
            declared: func_types.len(),
        });
    }

    let ctx = ModuleCtx {
        wasm,
        tag_types: &tag_types,
    };
    let mut scratch = Scratch::default();
    let mut new_code = Vec::with_capacity(wasm.len() + wasm.len() / 16);
    (code.bodies.len() as u32).encode(&mut new_code);
    let mut changed = false;
    let mut prev_end = code.entries_start;
    for (body, &func_type) in code.bodies.iter().zip(&func_types) {
        let end = body.range().end;
        if function::translate_function(&ctx, &mut types, func_type, body, &mut scratch)? {
            changed = true;
            scratch.out.len().encode(&mut new_code);
            new_code.extend_from_slice(&scratch.out);
        } else {
            new_code.extend_from_slice(&wasm[prev_end..end]);
        }
        prev_end = end;
    }
    if !changed {
        return Ok(wasm.to_vec());
    }

    let new_types = if types.added().is_empty() {
        None
    } else {
        Some(encode_type_section(wasm, type_section.as_ref(), &types)?)
    };

    let mut out = Vec::with_capacity(new_code.len() + wasm.len() / 4);
    out.extend_from_slice(&wasm[..8]);
    let mut types_written = type_section.is_some();
    for section in &sections {
        if !types_written && section.id != CUSTOM_SECTION {
            // No type section in the input but new types are needed: it goes first.
            if let Some(bytes) = &new_types {
                write_section(&mut out, TYPE_SECTION, bytes);
            }
            types_written = true;
        }
        match (section.id, &new_types) {
            (TYPE_SECTION, Some(bytes)) => write_section(&mut out, TYPE_SECTION, bytes),
            (CODE_SECTION, _) => write_section(&mut out, CODE_SECTION, &new_code),
            _ => out.extend_from_slice(&wasm[section.range.clone()]),
        }
    }
    Ok(out)
}

fn encode_type_section(
    wasm: &[u8],
    existing: Option<&TypeSectionInfo>,
    types: &TypeTable,
) -> Result<Vec<u8>, Error> {
    let added = types.added();
    let groups = existing.map_or(0, |s| s.groups);
    let mut bytes = Vec::new();
    (groups + added.len() as u32).encode(&mut bytes);
    if let Some(section) = existing {
        bytes.extend_from_slice(&wasm[section.entries.clone()]);
    }
    let offset = existing.map_or(0, |s| s.entries.start);
    for sig in added {
        bytes.push(0x60);
        sig.params.len().encode(&mut bytes);
        for &t in &sig.params {
            function::val_type(t, offset)?.encode(&mut bytes);
        }
        sig.results.len().encode(&mut bytes);
        for &t in &sig.results {
            function::val_type(t, offset)?.encode(&mut bytes);
        }
    }
    Ok(bytes)
}

fn write_section(out: &mut Vec<u8>, id: u8, content: &[u8]) {
    out.push(id);
    content.len().encode(out);
    out.extend_from_slice(content);
}
