//! Capture: reading an instance's state (linear memory, mutable globals,
//! table sizes) through the exports the instrumentation added.

use wasmtime::{AsContextMut, Extern, Instance, Memory, Val};

use crate::Error;
use crate::instrument::{GLOBAL_EXPORT_PREFIX, MEMORY_EXPORT_PREFIX, TABLE_EXPORT_PREFIX};

/// The state of an instance that [`crate::bake::bake`] writes into a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// The whole linear memory, a whole number of 64 KiB pages.
    pub memory: Vec<u8>,
    /// Every defined mutable global: (absolute index, value), by index.
    pub globals: Vec<(u32, GlobalValue)>,
    /// Every defined table: (absolute index, length in elements), by index.
    /// Bake does not use them: tables are rebuilt by instantiation and by
    /// whoever grew them (see the crate documentation); they are here so
    /// the caller can record and check them.
    pub tables: Vec<(u32, u64)>,
}

/// The value of a global, as its bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GlobalValue {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as its bit pattern (NaN payloads are kept).
    F32(u32),
    /// An `f64`, as its bit pattern.
    F64(u64),
    /// A `v128`.
    V128(u128),
}

impl GlobalValue {
    /// The wasm name of the value's type (`"i32"`, ...).
    pub fn type_name(self) -> &'static str {
        match self {
            GlobalValue::I32(_) => "i32",
            GlobalValue::I64(_) => "i64",
            GlobalValue::F32(_) => "f32",
            GlobalValue::F64(_) => "f64",
            GlobalValue::V128(_) => "v128",
        }
    }

    /// The value of a wasmtime global; `None` for reference types.
    pub fn from_val(val: &Val) -> Option<Self> {
        Some(match val {
            Val::I32(v) => GlobalValue::I32(*v),
            Val::I64(v) => GlobalValue::I64(*v),
            Val::F32(bits) => GlobalValue::F32(*bits),
            Val::F64(bits) => GlobalValue::F64(*bits),
            Val::V128(v) => GlobalValue::V128(v.as_u128()),
            _ => return None,
        })
    }

    /// The value as a wasmtime value.
    pub fn to_val(self) -> Val {
        match self {
            GlobalValue::I32(v) => Val::I32(v),
            GlobalValue::I64(v) => Val::I64(v),
            GlobalValue::F32(bits) => Val::F32(bits),
            GlobalValue::F64(bits) => Val::F64(bits),
            GlobalValue::V128(v) => Val::V128(v.into()),
        }
    }
}

/// Copies the instance's linear memory and reads every global and table
/// the instrumentation exported (see
/// [`crate::instrument::export_mutable_globals`]).
///
/// The memory is the one exported as `pyworkerd.memory.<index>`, or else
/// the only memory the instance exports. Call it when no wasm is running
/// on the store (between calls), so memory and globals are consistent.
///
/// # Errors
///
/// [`Error::NoExportedMemory`] / [`Error::AmbiguousMemory`] when the memory
/// cannot be found, [`Error::BadInstrumentationExport`] for an export with
/// an instrumentation prefix that the instrumentation did not write,
/// [`Error::UnsupportedMutableGlobal`] for a global of reference type.
pub fn capture(store: impl AsContextMut, instance: &Instance) -> Result<Capture, Error> {
    capture_inner(store, instance, None)
}

/// [`capture`] of an instance whose memory the host gave it: `memory` is
/// the one captured (an imported memory has no instrumentation export,
/// and the module need not export it). Bake turns the memory import into
/// a defined memory; the instance's imported globals are the host's to
/// read and give back (bake keeps them imported).
///
/// # Errors
///
/// As [`capture`], except that the memory is always found.
pub fn capture_with_memory(
    store: impl AsContextMut,
    instance: &Instance,
    memory: Memory,
) -> Result<Capture, Error> {
    capture_inner(store, instance, Some(memory))
}

fn capture_inner(
    mut store: impl AsContextMut,
    instance: &Instance,
    given_memory: Option<Memory>,
) -> Result<Capture, Error> {
    let exports: Vec<(String, Extern)> = instance
        .exports(&mut store)
        .map(|e| (e.name().to_owned(), e.into_extern()))
        .collect();

    let mut instrumented_memory = None;
    let mut exported_memories = Vec::new();
    let mut globals = Vec::new();
    let mut tables = Vec::new();
    for (name, item) in &exports {
        let bad = || Error::BadInstrumentationExport { name: name.clone() };
        if let Some(index) = name.strip_prefix(GLOBAL_EXPORT_PREFIX) {
            let (index, Extern::Global(global)) = (parse_index(index).ok_or_else(bad)?, item)
            else {
                return Err(bad());
            };
            let val = global.get(&mut store);
            let value =
                GlobalValue::from_val(&val).ok_or_else(|| Error::UnsupportedMutableGlobal {
                    index,
                    ty: format!("{:?}", global.ty(&store).content()),
                })?;
            globals.push((index, value));
        } else if let Some(index) = name.strip_prefix(TABLE_EXPORT_PREFIX) {
            let (index, Extern::Table(table)) = (parse_index(index).ok_or_else(bad)?, item) else {
                return Err(bad());
            };
            tables.push((index, table.size(&store)));
        } else if let Some(index) = name.strip_prefix(MEMORY_EXPORT_PREFIX) {
            let (_, Extern::Memory(memory)) = (parse_index(index).ok_or_else(bad)?, item) else {
                return Err(bad());
            };
            if instrumented_memory.replace(*memory).is_some() {
                return Err(Error::AmbiguousMemory {
                    count: 2,
                    name: MEMORY_EXPORT_PREFIX,
                });
            }
        } else if let Extern::Memory(memory) = item {
            exported_memories.push(*memory);
        }
    }
    let memory = match (
        given_memory,
        instrumented_memory,
        exported_memories.as_slice(),
    ) {
        (Some(memory), _, _) | (None, Some(memory), _) => memory,
        (None, None, [memory]) => *memory,
        (None, None, []) => return Err(Error::NoExportedMemory),
        (None, None, several) => {
            return Err(Error::AmbiguousMemory {
                count: several.len(),
                name: MEMORY_EXPORT_PREFIX,
            });
        }
    };
    globals.sort_by_key(|(index, _)| *index);
    tables.sort_by_key(|(index, _)| *index);
    Ok(Capture {
        memory: memory.data(&store).to_vec(),
        globals,
        tables,
    })
}

/// A decimal index written the way the instrumentation writes it.
fn parse_index(text: &str) -> Option<u32> {
    let index: u32 = text.parse().ok()?;
    (index.to_string() == text).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Engine, Module, Store};

    fn instantiate(text: &str) -> (Store<()>, Instance) {
        let engine = Engine::default();
        let module = Module::new(&engine, text).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        (store, instance)
    }

    #[test]
    fn reads_instrumented_exports() {
        let (mut store, instance) = instantiate(
            r#"(module
                 (memory (export "pyworkerd.memory.0") 1)
                 (data (i32.const 3) "\07")
                 (table (export "pyworkerd.table.0") 5 funcref)
                 (global (export "pyworkerd.global.1") (mut f32) (f32.const -0.5))
                 (global (export "pyworkerd.global.0") (mut i64) (i64.const -9)))"#,
        );
        let capture = capture(&mut store, &instance).unwrap();
        assert_eq!(capture.memory.len(), 65536);
        assert_eq!(capture.memory[3], 7);
        assert_eq!(
            capture.globals,
            vec![
                (0, GlobalValue::I64(-9)),
                (1, GlobalValue::F32((-0.5f32).to_bits()))
            ]
        );
        assert_eq!(capture.tables, vec![(0, 5)]);
    }

    #[test]
    fn falls_back_to_the_only_exported_memory() {
        let (mut store, instance) = instantiate(r#"(module (memory (export "memory") 2))"#);
        assert_eq!(
            capture(&mut store, &instance).unwrap().memory.len(),
            2 << 16
        );
    }

    #[test]
    fn refuses_missing_or_ambiguous_memory() {
        let (mut store, instance) = instantiate(r#"(module (memory 1))"#);
        assert_eq!(capture(&mut store, &instance), Err(Error::NoExportedMemory));
        let (mut store, instance) =
            instantiate(r#"(module (memory (export "a") 1) (memory (export "b") 1))"#);
        assert!(matches!(
            capture(&mut store, &instance),
            Err(Error::AmbiguousMemory { count: 2, .. })
        ));
    }

    #[test]
    fn refuses_foreign_exports_under_the_prefix() {
        for text in [
            r#"(module (memory (export "memory") 1) (func (export "pyworkerd.global.0")))"#,
            r#"(module (memory (export "memory") 1)
                 (global (export "pyworkerd.global.07") (mut i32) (i32.const 0)))"#,
            r#"(module (memory (export "memory") 1)
                 (global (export "pyworkerd.global.x") (mut i32) (i32.const 0)))"#,
        ] {
            let (mut store, instance) = instantiate(text);
            assert!(
                matches!(
                    capture(&mut store, &instance),
                    Err(Error::BadInstrumentationExport { .. })
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn values_round_trip_through_wasmtime() {
        for value in [
            GlobalValue::I32(-1),
            GlobalValue::I64(i64::MIN),
            GlobalValue::F32(0x7fc0_0001),
            GlobalValue::F64(0x7ff8_0000_0000_0001),
            GlobalValue::V128(u128::MAX - 5),
        ] {
            assert_eq!(GlobalValue::from_val(&value.to_val()), Some(value));
        }
    }
}
