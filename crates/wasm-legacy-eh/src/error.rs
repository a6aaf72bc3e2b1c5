//! The error type of the translation.

/// Why a module could not be translated.
///
/// Offsets are byte offsets into the input module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not well-formed wasm (reported by `wasmparser`).
    #[error("malformed wasm at offset {offset:#x}: {message}")]
    Malformed {
        /// Where the problem was found.
        offset: usize,
        /// What `wasmparser` said.
        message: String,
    },
    /// The input is a component or some other non-module binary.
    #[error("input is not a core wasm module")]
    NotCoreModule,
    /// A `rethrow` whose label does not name a `try` in one of its `catch` blocks.
    #[error("`rethrow {depth}` at offset {offset:#x} does not name an enclosing catch block")]
    RethrowNotInCatch {
        /// Offset of the `rethrow` instruction.
        offset: usize,
        /// Its label immediate.
        depth: u32,
    },
    /// A `delegate` whose label is deeper than the enclosing blocks (function included).
    #[error("`delegate {depth}` at offset {offset:#x} names no enclosing block")]
    DelegateOutOfRange {
        /// Offset of the `delegate` instruction.
        offset: usize,
        /// Its label immediate.
        depth: u32,
    },
    /// A branch whose label is deeper than the enclosing blocks.
    #[error("branch label {depth} at offset {offset:#x} names no enclosing block")]
    LabelOutOfRange {
        /// Offset of the branch instruction.
        offset: usize,
        /// The label immediate.
        depth: u32,
    },
    /// A `catch` names a tag the module does not have.
    #[error("unknown tag {tag} at offset {offset:#x}")]
    UnknownTag {
        /// Offset of the `catch` instruction.
        offset: usize,
        /// The tag index.
        tag: u32,
    },
    /// A type index that is out of range or not a function type.
    #[error("type {index} at offset {offset:#x} is not a function type")]
    NotAFunctionType {
        /// Offset of the item that uses the type.
        offset: usize,
        /// The type index.
        index: u32,
    },
    /// The function and code sections disagree.
    #[error("code section has {bodies} bodies but the function section declares {declared}")]
    FunctionCountMismatch {
        /// Entries in the code section.
        bodies: usize,
        /// Entries in the function section.
        declared: usize,
    },
    /// An instruction could not be re-encoded.
    #[error("cannot re-encode instruction at offset {offset:#x}: {message}")]
    Reencode {
        /// Offset of the instruction.
        offset: usize,
        /// What the encoder said.
        message: String,
    },
}

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(err: wasmparser::BinaryReaderError) -> Self {
        Error::Malformed {
            offset: err.offset(),
            message: err.message().to_string(),
        }
    }
}
