//! Bake: a module whose instantiation *is* the restore.
//!
//! [`bake`] rewrites a module so that instantiating it yields the captured
//! state: its data segments become the captured linear memory, its memory's
//! minimum the captured size, its mutable globals' init expressions the
//! captured values, and its start function is dropped (it ran before the
//! capture; running it again would change the restored state).
//!
//! # Copy-on-write
//!
//! The point of baking is that wasmtime (with `Config::memory_init_cow`,
//! on by default) turns the data segments into one page-aligned memory
//! image at compile time, stores it in the serialized artifact, and at
//! instantiation maps that image copy-on-write from the artifact file
//! (`Module::deserialize_file`), so a restore costs an `mmap` and memory is
//! paid on touch. wasmtime 48 does that only when (`try_static_init` in
//! `wasmtime-environ`):
//!
//! - the memory is defined by the module, not imported;
//! - every active segment's offset is a single `i32.const` (no `global.get`);
//! - every segment fits in the memory's *minimum* size;
//! - the image — from the first to the last non-zero byte of all segments —
//!   is smaller than twice the bytes the segments hold, or smaller than
//!   `Config::memory_guaranteed_dense_image_size` (16 MiB by default);
//! - the memory's page size is at least the host page size.
//!
//! Passive segments do not matter (they are kept apart). [`bake`] produces
//! exactly that: one active segment per run of non-zero 64 KiB pages (runs
//! coalesced, all-zero pages skipped), at `i32.const` offsets that are
//! multiples of 64 KiB, inside the new minimum; and when skipping zero pages
//! would leave the image less than half full, it fills the smallest gaps
//! with their zero pages until it is not, without relying on the
//! configurable threshold. [`data_layout`] reports these properties of any
//! module.
//!
//! # Segment indices
//!
//! `memory.init`, `data.drop`, `array.new_data` and `array.init_data` name
//! data segments by index. When the code uses none of them (Pyodide 314.0.7:
//! 14,579 active segments, a DataCount section, no such instruction) the
//! old segments are simply replaced. When it does, index positions are kept:
//! each old active segment becomes an empty passive segment (an active
//! segment is dropped after instantiation, which behaves as an empty one),
//! each old passive segment is kept with its bytes, and the image segments
//! are appended after them. Whether a passive segment had been dropped
//! before the capture is instance state wasm cannot export, so a baked
//! module starts with every passive segment undropped.
//!
//! # Imported memory
//!
//! A relocatable Emscripten main module (Pyodide 0.29.3) imports its
//! memory, and its one data segment sits at `global.get $__memory_base`.
//! Bake turns the memory import into a defined memory (the import removed,
//! the memory section added; memory index 0 stays the memory, so nothing
//! else shifts) with the import's maximum, exports it under the import's
//! field name (where the host used to provide it) and as
//! `pyworkerd.memory.0`, and replaces the relocated segment by the image
//! like any other. Every other import stays: the host gives the restored
//! instance its table and imported globals again, with their captured
//! values (`__memory_base`, `__table_base`, `__stack_pointer`, `GOT.*` are
//! the host's; [`crate::capture::capture_with_memory`] captures such an
//! instance), and skips what the dropped start function and the loader's
//! data relocations did, which the image already holds.
//!
//! # Imported globals
//!
//! [`bake_with`] can also turn every imported global into a defined one:
//! the global imports removed, a global of the import's type and
//! mutability, initialised to the value the caller gives, put first in the
//! global section (imported globals come first in the index space, so
//! every global keeps its index), and exported as `<module>.<name>` (for
//! example `GOT.func.PyObject_GenericGetAttr`), where the host finds what
//! it used to provide. A module whose remaining imports are all functions
//! can then be instantiated from a pre-linked `InstancePre`, with no
//! per-instance import work. It is all or nothing: a global import without
//! a value is an error ([`Error::MissingImportedGlobal`]).
//!
//! # Not handled
//!
//! - Tables are not baked: instantiation re-applies the element segments
//!   (at the same `__table_base` when the host gives it back), and whoever
//!   grew or wrote tables after instantiation (the host's call trampoline,
//!   a dynamic linker) must do it again on restore.

use std::ops::Range;

use wasm_encoder::{ConstExpr, Encode, Ieee32, Ieee64};
use wasmparser::{DataKind, ExternalKind, Operator, TypeRef, ValType};

use crate::capture::{Capture, GlobalValue};
use crate::wasm::{
    self, Action, DATA_COUNT_SECTION, DATA_SECTION, EXPORT_SECTION, GLOBAL_SECTION, IMPORT_SECTION,
    MEMORY_SECTION, Outline, START_SECTION,
};
use crate::{Error, instrument};

/// The wasm page size, and the granularity of the baked image.
pub const WASM_PAGE: usize = 1 << 16;

/// Largest image segment bake writes; longer runs are split (segment
/// lengths are u32, and a memory can be 4 GiB).
const MAX_SEGMENT_LEN: usize = 1 << 30;

/// Largest 32-bit memory, in pages.
const MAX_PAGES_32: u64 = 1 << 16;

/// Rewrites `wasm` so that instantiating it restores `capture`: the data
/// segments become the captured memory's non-zero pages, the memory's
/// minimum becomes the captured size (an imported memory becomes a defined,
/// exported one, see the module documentation), each captured global's
/// init expression becomes its captured value, and the start section is
/// removed.
/// Everything else (code, other imports and exports, custom sections,
/// element segments) is copied byte for byte. See the module documentation for the layout and
/// why it suits copy-on-write instantiation.
///
/// Bake the module the snapshotted instance ran (instrumented with
/// [`crate::instrument::export_mutable_globals`]); the result keeps the
/// instrumentation exports, so an instance restored from it can be
/// captured again.
///
/// # Errors
///
/// Bad input ([`Error::Malformed`], [`Error::NotCoreModule`]); a memory
/// that cannot be baked ([`Error::NoMemory`],
/// [`Error::SeveralMemories`], [`Error::UnsupportedMemory`]); a capture that
/// does not fit the module (memory size errors, global errors, and
/// [`Error::MissingGlobal`] when a mutable global of the module is not
/// captured).
pub fn bake(wasm: &[u8], capture: &Capture) -> Result<Vec<u8>, Error> {
    bake_with(wasm, capture, &BakeOptions::default())
}

/// What [`bake_with`] does beyond [`bake`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BakeOptions {
    /// When given: a value for every imported global of the module, as
    /// (import module, import name, value); each becomes a defined global
    /// with that value, exported as `<module>.<name>` (see the module
    /// documentation).
    pub define_imported_globals: Option<Vec<(String, String, GlobalValue)>>,
}

/// The export name [`bake_with`] gives the global that replaced the
/// imported global `module`.`name`.
pub fn defined_import_export_name(module: &str, name: &str) -> String {
    format!("{module}.{name}")
}

/// [`bake`], with `options`.
///
/// # Errors
///
/// Those of [`bake`]; with [`BakeOptions::define_imported_globals`], an
/// imported global without a value ([`Error::MissingImportedGlobal`]), a
/// value for no imported global ([`Error::UnknownImportedGlobal`]) or of
/// the wrong type ([`Error::ImportedGlobalType`]).
pub fn bake_with(wasm: &[u8], capture: &Capture, options: &BakeOptions) -> Result<Vec<u8>, Error> {
    let outline = Outline::read(wasm)?;
    let (memory, imported_memory) = baked_memory(&outline, capture.memory.len())?;
    let globals = check_globals(&outline, &capture.globals)?;
    let defined_imports = match &options.define_imported_globals {
        Some(values) => Some(imported_global_values(&outline, values)?),
        None => None,
    };
    let keep_indices = outline.code_uses_segment_indices()?;

    let runs = image_runs(&capture.memory);
    let old_segments = if keep_indices {
        outline.segments.len()
    } else {
        0
    };
    let mut data = Vec::with_capacity(runs.iter().map(|r| r.len() + 16).sum::<usize>() + 16);
    (old_segments + runs.len()).encode(&mut data);
    if keep_indices {
        for segment in &outline.segments {
            data.push(0x01); // passive
            match segment.kind {
                DataKind::Active { .. } => 0u32.encode(&mut data),
                DataKind::Passive => segment.data.encode(&mut data),
            }
        }
    }
    for run in &runs {
        data.push(0x00); // active, memory 0
        // Offsets above 2 GiB are written as negative i32: the offset is
        // read as unsigned.
        ConstExpr::i32_const(run.start as u32 as i32).encode(&mut data);
        capture.memory[run.clone()].encode(&mut data);
    }

    let mut memory_section = Vec::new();
    1u32.encode(&mut memory_section);
    memory.encode(&mut memory_section);

    let mut global_section = Vec::new();
    let former_imports = defined_imports.as_deref().unwrap_or_default();
    (former_imports.len() + outline.globals.len()).encode(&mut global_section);
    for (_, ty, value) in former_imports {
        ty.encode(&mut global_section);
        const_expr(*value).encode(&mut global_section);
    }
    for (i, global) in outline.globals.iter().enumerate() {
        let index = outline.imported_globals + i as u32;
        match globals.get(i).copied().flatten() {
            Some(value) => {
                let init_start = global.init_expr.get_binary_reader().original_position();
                global_section.extend_from_slice(&wasm[global.entry.start..init_start]);
                const_expr(value).encode(&mut global_section);
            }
            None => {
                debug_assert!(!global.ty.mutable, "global {index} checked as captured");
                global_section.extend_from_slice(&wasm[global.entry.clone()]);
            }
        }
    }

    // A memory import becomes the defined memory (memory index 0 either
    // way), exported under the import's field name, so the host finds it
    // where it used to provide it, and under the instrumentation's name.
    // Globals defined in place of imports are exported as `<module>.<name>`.
    let mut wanted_exports = Vec::new();
    if let Some(field) = &imported_memory {
        wanted_exports.push((field.clone(), ExternalKind::Memory, 0));
        wanted_exports.push((instrument::memory_export_name(0), ExternalKind::Memory, 0));
    }
    for (index, (name, _, _)) in former_imports.iter().enumerate() {
        wanted_exports.push((name.clone(), ExternalKind::Global, index as u32));
    }
    let (mut import_section, mut export_section) = (None, None);
    if imported_memory.is_some() || defined_imports.is_some() {
        import_section = Some(imports_without(&outline, defined_imports.is_some())?);
        export_section = instrument::export_section_with(wasm, &outline, wanted_exports)?;
    }

    let new_count = (old_segments + runs.len()) as u32;
    let has = |id: u8| outline.sections.iter().any(|s| s.id == id);
    let mut inserts = Vec::new();
    let no_segments = runs.is_empty() && old_segments == 0;
    if !has(DATA_SECTION) && !no_segments {
        inserts.push((DATA_SECTION, std::mem::take(&mut data)));
    }
    if !has(MEMORY_SECTION) {
        inserts.push((MEMORY_SECTION, std::mem::take(&mut memory_section)));
    }
    if !has(EXPORT_SECTION)
        && let Some(content) = export_section.take()
    {
        inserts.push((EXPORT_SECTION, content));
    }
    let mut data = Some(data);
    let mut memory_section = Some(memory_section);
    let has_globals = !outline.globals.is_empty() || !former_imports.is_empty();
    if !has(GLOBAL_SECTION) && has_globals {
        inserts.push((GLOBAL_SECTION, std::mem::take(&mut global_section)));
    }
    let mut global_section = Some(global_section);
    Ok(wasm::rebuild(
        wasm,
        &outline.sections,
        |section| match section.id {
            IMPORT_SECTION => import_section.take().map_or(Action::Keep, Action::Replace),
            EXPORT_SECTION => export_section.take().map_or(Action::Keep, Action::Replace),
            MEMORY_SECTION => memory_section.take().map_or(Action::Drop, Action::Replace),
            GLOBAL_SECTION => global_section.take().map_or(Action::Drop, Action::Replace),
            START_SECTION => Action::Drop,
            DATA_COUNT_SECTION => {
                let mut count = Vec::new();
                new_count.encode(&mut count);
                Action::Replace(count)
            }
            DATA_SECTION => data.take().map_or(Action::Drop, Action::Replace),
            _ => Action::Keep,
        },
        inserts,
    ))
}

/// The import section's content without its memory import, and without
/// its global imports when `globals` is set.
fn imports_without(outline: &Outline<'_>, globals: bool) -> Result<Vec<u8>, Error> {
    let kept: Vec<_> = outline
        .imports
        .iter()
        .filter(|(_, _, ty)| match ty {
            TypeRef::Memory(_) => false,
            TypeRef::Global(_) => !globals,
            _ => true,
        })
        .collect();
    let mut content = Vec::new();
    kept.len().encode(&mut content);
    for (module, name, ty) in kept {
        let ty = wasm_encoder::EntityType::try_from(*ty).map_err(|e| Error::Malformed {
            offset: 0,
            message: format!("import '{module}.{name}' cannot be re-encoded: {e}"),
        })?;
        module.as_str().encode(&mut content);
        name.as_str().encode(&mut content);
        ty.encode(&mut content);
    }
    Ok(content)
}

/// Checks the memory and the captured size; returns the memory type to
/// write and, when the memory was imported, the import's field name.
fn baked_memory(
    outline: &Outline<'_>,
    captured_len: usize,
) -> Result<(wasm_encoder::MemoryType, Option<String>), Error> {
    let count = outline.imported_memories.len() + outline.memories.len();
    if count > 1 {
        return Err(Error::SeveralMemories { count });
    }
    let (memory, imported) = match (outline.imported_memories.first(), outline.memories.first()) {
        (Some((_, name, memory)), _) => (memory, Some(name.clone())),
        (None, Some(memory)) => (memory, None),
        (None, None) => return Err(Error::NoMemory),
    };
    if memory.memory64 {
        return Err(Error::UnsupportedMemory { what: "64-bit" });
    }
    if memory.shared {
        return Err(Error::UnsupportedMemory { what: "shared" });
    }
    if memory.page_size_log2.is_some_and(|log2| log2 != 16) {
        return Err(Error::UnsupportedMemory {
            what: "of custom page size",
        });
    }
    if !captured_len.is_multiple_of(WASM_PAGE) {
        return Err(Error::MemoryNotPageSized { len: captured_len });
    }
    let pages = (captured_len / WASM_PAGE) as u64;
    if pages < memory.initial {
        return Err(Error::MemoryBelowMinimum {
            pages,
            minimum: memory.initial,
        });
    }
    let maximum = memory.maximum.unwrap_or(MAX_PAGES_32).min(MAX_PAGES_32);
    if pages > maximum {
        return Err(Error::MemoryAboveMaximum { pages, maximum });
    }
    let ty = wasm_encoder::MemoryType {
        minimum: pages,
        maximum: memory.maximum,
        memory64: false,
        shared: false,
        page_size_log2: memory.page_size_log2,
    };
    Ok((ty, imported))
}

/// Matches `values` with the module's global imports, in import order:
/// (export name, type of the defined global, value).
fn imported_global_values(
    outline: &Outline<'_>,
    values: &[(String, String, GlobalValue)],
) -> Result<Vec<(String, wasm_encoder::GlobalType, GlobalValue)>, Error> {
    let mut used = vec![false; values.len()];
    let mut out = Vec::new();
    for (module, name, ty) in &outline.imports {
        let TypeRef::Global(ty) = ty else { continue };
        let position = values
            .iter()
            .position(|(m, n, _)| m == module && n == name)
            .ok_or_else(|| Error::MissingImportedGlobal {
                module: module.clone(),
                name: name.clone(),
            })?;
        used[position] = true;
        let value = values[position].2;
        if !matches_type(value, ty.content_type) {
            return Err(Error::ImportedGlobalType {
                module: module.clone(),
                name: name.clone(),
                expected: ty.content_type.to_string(),
                found: value.type_name().to_owned(),
            });
        }
        let encoded = wasm_encoder::GlobalType::try_from(*ty).map_err(|e| Error::Malformed {
            offset: 0,
            message: format!("global import '{module}.{name}' cannot be re-encoded: {e}"),
        })?;
        out.push((defined_import_export_name(module, name), encoded, value));
    }
    if let Some(unused) = used.iter().position(|u| !u) {
        let (module, name, _) = &values[unused];
        return Err(Error::UnknownImportedGlobal {
            module: module.clone(),
            name: name.clone(),
        });
    }
    Ok(out)
}

/// Checks the captured globals against the module; returns, per defined
/// global, the value to bake (or `None` to keep its init expression).
fn check_globals(
    outline: &Outline<'_>,
    captured: &[(u32, GlobalValue)],
) -> Result<Vec<Option<GlobalValue>>, Error> {
    let mut values: Vec<Option<GlobalValue>> = vec![None; outline.globals.len()];
    for &(index, value) in captured {
        let defined = index
            .checked_sub(outline.imported_globals)
            .map(|i| i as usize)
            .filter(|&i| i < outline.globals.len())
            .ok_or(Error::GlobalNotDefined { index })?;
        let ty = outline.globals[defined].ty;
        if !ty.mutable {
            return Err(Error::GlobalImmutable { index });
        }
        if !matches_type(value, ty.content_type) {
            return Err(Error::GlobalTypeMismatch {
                index,
                expected: ty.content_type.to_string(),
                found: value.type_name().to_owned(),
            });
        }
        if values[defined].replace(value).is_some() {
            return Err(Error::DuplicateGlobal { index });
        }
    }
    for (i, global) in outline.globals.iter().enumerate() {
        let index = outline.imported_globals + i as u32;
        if global.ty.mutable && values[i].is_none() {
            if !instrument::capturable(global.ty.content_type) {
                return Err(Error::UnsupportedMutableGlobal {
                    index,
                    ty: global.ty.content_type.to_string(),
                });
            }
            return Err(Error::MissingGlobal { index });
        }
    }
    Ok(values)
}

fn matches_type(value: GlobalValue, ty: ValType) -> bool {
    matches!(
        (value, ty),
        (GlobalValue::I32(_), ValType::I32)
            | (GlobalValue::I64(_), ValType::I64)
            | (GlobalValue::F32(_), ValType::F32)
            | (GlobalValue::F64(_), ValType::F64)
            | (GlobalValue::V128(_), ValType::V128)
    )
}

fn const_expr(value: GlobalValue) -> ConstExpr {
    match value {
        GlobalValue::I32(v) => ConstExpr::i32_const(v),
        GlobalValue::I64(v) => ConstExpr::i64_const(v),
        GlobalValue::F32(bits) => ConstExpr::f32_const(Ieee32::new(bits)),
        GlobalValue::F64(bits) => ConstExpr::f64_const(Ieee64::new(bits)),
        GlobalValue::V128(v) => ConstExpr::v128_const(v as i128),
    }
}

/// The byte ranges of `memory` to write as active segments: runs of
/// non-zero 64 KiB pages, densified so that copy-on-write applies, split
/// at [`MAX_SEGMENT_LEN`]. `memory` is a whole number of pages.
fn image_runs(memory: &[u8]) -> Vec<Range<usize>> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    for (i, page) in memory.chunks(WASM_PAGE).enumerate() {
        if is_zero(page) {
            continue;
        }
        let start = i * WASM_PAGE;
        match runs.last_mut() {
            Some(run) if run.end == start => run.end = start + page.len(),
            _ => runs.push(start..start + page.len()),
        }
    }
    let runs = densify(runs);
    let mut split = Vec::with_capacity(runs.len());
    for run in runs {
        let mut start = run.start;
        while start < run.end {
            let end = run.end.min(start + MAX_SEGMENT_LEN);
            split.push(start..end);
            start = end;
        }
    }
    split
}

fn is_zero(bytes: &[u8]) -> bool {
    let (words, rest) = bytes.split_at(bytes.len() / 8 * 8);
    words
        .chunks_exact(8)
        .all(|w| u64::from_ne_bytes(w.try_into().expect("8 bytes")) == 0)
        && rest.iter().all(|&b| b == 0)
}

/// Fills the smallest gaps between runs with their zero pages until the
/// image (first start to last end) is less than twice the bytes the runs
/// hold: wasmtime's density condition for a copy-on-write image, met
/// without relying on `memory_guaranteed_dense_image_size`.
fn densify(runs: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let (Some(first), Some(last)) = (runs.first(), runs.last()) else {
        return runs;
    };
    let extent = last.end - first.start;
    let mut data: usize = runs.iter().map(|r| r.len()).sum();
    if extent < 2 * data {
        return runs;
    }
    // gaps[i] lies between runs[i] and runs[i + 1].
    let mut gaps: Vec<(usize, usize)> = runs
        .windows(2)
        .enumerate()
        .map(|(i, pair)| (pair[1].start - pair[0].end, i))
        .collect();
    gaps.sort();
    let mut fill = vec![false; runs.len()];
    for (len, i) in gaps {
        if extent < 2 * data {
            break;
        }
        fill[i] = true;
        data += len;
    }
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(runs.len());
    let mut previous_filled = false;
    for (i, run) in runs.into_iter().enumerate() {
        match merged.last_mut() {
            Some(last) if previous_filled => last.end = run.end,
            _ => merged.push(run),
        }
        previous_filled = fill[i];
    }
    merged
}

/// What a module's memory and data segments look like, as far as
/// copy-on-write instantiation is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataLayout {
    /// Whether the memory is imported (then there is no image).
    pub memory_imported: bool,
    /// The memory's minimum, in pages.
    pub minimum_pages: u64,
    /// The memory's maximum, in pages, if any.
    pub maximum_pages: Option<u64>,
    /// Number of active data segments.
    pub active_segments: usize,
    /// Number of passive data segments.
    pub passive_segments: usize,
    /// Bytes held by the active segments.
    pub active_bytes: u64,
    /// From the start of the first non-empty active segment to the end of
    /// the last one, in bytes.
    pub extent: u64,
    /// Whether every active segment's offset is one `i32.const`.
    pub constant_offsets: bool,
    /// Whether every active segment starts at a multiple of 64 KiB.
    pub page_aligned: bool,
    /// Whether every active segment fits in the minimum size.
    pub in_bounds: bool,
    /// Whether the module has a start function.
    pub has_start: bool,
}

impl DataLayout {
    /// Whether wasmtime 48 turns this module's data into a copy-on-write
    /// memory image regardless of `memory_guaranteed_dense_image_size`
    /// (see the module documentation).
    pub fn cow_eligible(&self) -> bool {
        !self.memory_imported
            && self.constant_offsets
            && self.in_bounds
            && (self.active_bytes == 0 || self.extent < 2 * self.active_bytes)
    }
}

/// Describes the memory and data segments of `wasm` (its first memory).
///
/// # Errors
///
/// [`Error::Malformed`], [`Error::NotCoreModule`], or [`Error::NoMemory`].
pub fn data_layout(wasm: &[u8]) -> Result<DataLayout, Error> {
    let outline = Outline::read(wasm)?;
    let (memory_imported, memory) =
        match (outline.imported_memories.first(), outline.memories.first()) {
            (Some((_, _, ty)), _) => (true, *ty),
            (None, Some(ty)) => (false, *ty),
            (None, None) => return Err(Error::NoMemory),
        };
    let minimum_bytes = memory.initial.saturating_mul(WASM_PAGE as u64);
    let mut layout = DataLayout {
        memory_imported,
        minimum_pages: memory.initial,
        maximum_pages: memory.maximum,
        active_segments: 0,
        passive_segments: 0,
        active_bytes: 0,
        extent: 0,
        constant_offsets: true,
        page_aligned: true,
        in_bounds: true,
        has_start: outline.sections.iter().any(|s| s.id == START_SECTION),
    };
    let (mut low, mut high) = (u64::MAX, 0u64);
    for segment in &outline.segments {
        let DataKind::Active { offset_expr, .. } = &segment.kind else {
            layout.passive_segments += 1;
            continue;
        };
        layout.active_segments += 1;
        let mut ops = offset_expr.get_operators_reader();
        let offset = match (ops.read()?, ops.read()?) {
            (Operator::I32Const { value }, Operator::End) => Some(u64::from(value as u32)),
            _ => None,
        };
        let len = segment.data.len() as u64;
        layout.active_bytes += len;
        let Some(offset) = offset else {
            layout.constant_offsets = false;
            layout.page_aligned = false;
            layout.in_bounds = false;
            continue;
        };
        layout.page_aligned &= offset.is_multiple_of(WASM_PAGE as u64);
        layout.in_bounds &= offset + len <= minimum_bytes;
        if len > 0 {
            low = low.min(offset);
            high = high.max(offset + len);
        }
    }
    layout.extent = high.saturating_sub(low);
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(marks: &[usize], count: usize) -> Vec<u8> {
        let mut memory = vec![0u8; count * WASM_PAGE];
        for &page in marks {
            memory[page * WASM_PAGE + 100] = 1;
        }
        memory
    }

    fn run_pages(runs: &[Range<usize>]) -> Vec<(usize, usize)> {
        runs.iter()
            .map(|r| (r.start / WASM_PAGE, r.end / WASM_PAGE))
            .collect()
    }

    #[test]
    fn runs_skip_zero_pages_and_coalesce() {
        // Pages 1-2 and 5: extent 5 pages < 2 x 3 pages, no filling needed.
        let memory = pages(&[1, 2, 5], 8);
        assert_eq!(run_pages(&image_runs(&memory)), vec![(1, 3), (5, 6)]);
        assert!(image_runs(&pages(&[], 4)).is_empty());
    }

    #[test]
    fn sparse_images_get_their_smallest_gaps_filled() {
        // Pages 0, 2 and 40: extent 41 pages, data 3 pages. Filling the gap
        // of 1 page gives 4 pages, still sparse; then the gap of 37 pages.
        let memory = pages(&[0, 2, 40], 48);
        assert_eq!(run_pages(&image_runs(&memory)), vec![(0, 41)]);
        // Pages 0-9, 11, 30: extent 31, data 12 → fill the 1-page gap:
        // data 13, 31 >= 26 → fill the 18-page gap too.
        let memory = pages(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 30], 32);
        assert_eq!(run_pages(&image_runs(&memory)), vec![(0, 31)]);
        // Pages 0-1, 3, 8: extent 9, data 4 → fill the 1-page gap: data 5,
        // 9 < 10, the 4-page gap stays.
        let memory = pages(&[0, 1, 3, 8], 16);
        assert_eq!(run_pages(&image_runs(&memory)), vec![(0, 4), (8, 9)]);
    }

    #[test]
    fn densified_runs_always_meet_the_density_condition() {
        for seed in 0u64..200 {
            let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut marks = Vec::new();
            for page in 0..64 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if state % 5 == 0 {
                    marks.push(page);
                }
            }
            let memory = pages(&marks, 64);
            let runs = image_runs(&memory);
            for &page in &marks {
                let at = page * WASM_PAGE;
                assert!(runs.iter().any(|r| r.contains(&at)), "page {page} lost");
            }
            if let (Some(first), Some(last)) = (runs.first(), runs.last()) {
                let data: usize = runs.iter().map(|r| r.len()).sum();
                assert!(last.end - first.start < 2 * data, "seed {seed}: {runs:?}");
            }
        }
    }

    #[test]
    fn zero_detection_sees_every_byte() {
        let mut page = vec![0u8; WASM_PAGE];
        assert!(is_zero(&page));
        for at in [0, 7, 8, WASM_PAGE - 1] {
            page[at] = 0x80;
            assert!(!is_zero(&page), "{at}");
            page[at] = 0;
        }
    }
}
