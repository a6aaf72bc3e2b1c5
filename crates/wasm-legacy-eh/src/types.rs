//! The module's function types, and the new ones the translation appends.
//!
//! Existing type indices never change: a block type that needs parameters or
//! several results reuses an existing function type with the same signature,
//! else a new one is appended after every existing type.

use std::collections::HashMap;

use wasmparser::ValType;

use crate::Error;

/// Parameters and results of a function type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FuncSig {
    pub(crate) params: Box<[ValType]>,
    pub(crate) results: Box<[ValType]>,
}

/// A block type ready to be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewBlockType {
    Empty,
    Value(ValType),
    Func(u32),
}

#[derive(Debug, Default)]
pub(crate) struct TypeTable {
    /// One entry per existing type index; `None` for struct, array and other non-function types.
    existing: Vec<Option<FuncSig>>,
    /// Types appended by the translation, indices `existing.len()..`.
    added: Vec<FuncSig>,
    /// Signature → first index with it; built on first use.
    lookup: Option<HashMap<FuncSig, u32>>,
}

impl TypeTable {
    pub(crate) fn push_existing(&mut self, sig: Option<FuncSig>) {
        self.existing.push(sig);
    }

    pub(crate) fn added(&self) -> &[FuncSig] {
        &self.added
    }

    /// The function type at `index`.
    pub(crate) fn func(&self, index: u32, offset: usize) -> Result<&FuncSig, Error> {
        let i = index as usize;
        let sig = if i < self.existing.len() {
            self.existing[i].as_ref()
        } else {
            self.added.get(i - self.existing.len())
        };
        sig.ok_or(Error::NotAFunctionType { offset, index })
    }

    /// Parameters and results of a block type from the input.
    pub(crate) fn block_sig(
        &self,
        ty: wasmparser::BlockType,
        offset: usize,
    ) -> Result<(Vec<ValType>, Vec<ValType>), Error> {
        Ok(match ty {
            wasmparser::BlockType::Empty => (Vec::new(), Vec::new()),
            wasmparser::BlockType::Type(t) => (Vec::new(), vec![t]),
            wasmparser::BlockType::FuncType(index) => {
                let sig = self.func(index, offset)?;
                (sig.params.to_vec(), sig.results.to_vec())
            }
        })
    }

    /// A block type `params -> results`, adding a function type if needed.
    pub(crate) fn block_type(&mut self, params: &[ValType], results: &[ValType]) -> NewBlockType {
        match (params, results) {
            ([], []) => NewBlockType::Empty,
            ([], [t]) => NewBlockType::Value(*t),
            _ => NewBlockType::Func(self.func_index(params, results)),
        }
    }

    fn func_index(&mut self, params: &[ValType], results: &[ValType]) -> u32 {
        let existing = &self.existing;
        let lookup = self.lookup.get_or_insert_with(|| {
            let mut map = HashMap::new();
            for (i, sig) in existing.iter().enumerate() {
                if let Some(sig) = sig {
                    map.entry(sig.clone()).or_insert(i as u32);
                }
            }
            map
        });
        let sig = FuncSig {
            params: params.into(),
            results: results.into(),
        };
        if let Some(&index) = lookup.get(&sig) {
            return index;
        }
        let index = (self.existing.len() + self.added.len()) as u32;
        lookup.insert(sig.clone(), index);
        self.added.push(sig);
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(params: &[ValType], results: &[ValType]) -> FuncSig {
        FuncSig {
            params: params.into(),
            results: results.into(),
        }
    }

    #[test]
    fn block_types_reuse_existing_and_append_new() {
        let mut table = TypeTable::default();
        table.push_existing(Some(sig(&[ValType::I32], &[])));
        table.push_existing(None);
        table.push_existing(Some(sig(&[ValType::I32], &[ValType::I32, ValType::I64])));

        assert_eq!(table.block_type(&[], &[]), NewBlockType::Empty);
        assert_eq!(
            table.block_type(&[], &[ValType::EXNREF]),
            NewBlockType::Value(ValType::EXNREF)
        );
        assert_eq!(
            table.block_type(&[ValType::I32], &[ValType::I32, ValType::I64]),
            NewBlockType::Func(2)
        );
        assert_eq!(
            table.block_type(&[], &[ValType::I32, ValType::EXNREF]),
            NewBlockType::Func(3)
        );
        assert_eq!(
            table.block_type(&[], &[ValType::I32, ValType::EXNREF]),
            NewBlockType::Func(3)
        );
        assert_eq!(table.added(), &[sig(&[], &[ValType::I32, ValType::EXNREF])]);
        assert!(table.func(1, 0).is_err());
        assert_eq!(table.func(3, 0).unwrap().results.len(), 2);
    }
}
