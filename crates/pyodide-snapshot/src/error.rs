//! The error type of instrumenting, baking and capturing.
//!
//! The sidecar has its own error type, [`crate::sidecar::SnapshotError`]:
//! its failures are about files and identities, these are about modules.

/// Why a module could not be instrumented or baked, or an instance not
/// captured.
///
/// Offsets are byte offsets into the input module; global, table and memory
/// indices are absolute (imports first, as in the wasm index spaces).
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
    /// The module has no memory at all.
    #[error("the module has no memory")]
    NoMemory,
    /// The module has more than one memory.
    #[error("the module has {count} memories; only a module with one memory can be baked")]
    SeveralMemories {
        /// How many memories (imported and defined).
        count: usize,
    },
    /// The memory is of a kind whose image wasmtime does not map
    /// copy-on-write, or that this crate does not bake.
    #[error(
        "the module's memory is {what}; only a 32-bit, unshared memory with 64 KiB pages can be baked"
    )]
    UnsupportedMemory {
        /// `"64-bit"`, `"shared"` or `"of custom page size"`.
        what: &'static str,
    },
    /// A mutable global whose type has no portable value (a reference):
    /// it cannot be captured nor baked.
    #[error("mutable global {index} has type '{ty}', which cannot be captured")]
    UnsupportedMutableGlobal {
        /// The global's absolute index.
        index: u32,
        /// Its value type.
        ty: String,
    },
    /// An export the instrumentation wants to add already exists for
    /// something else.
    #[error("export '{name}' already exists and names something else")]
    ExportNameTaken {
        /// The export name.
        name: String,
    },
    /// The captured memory is not a whole number of 64 KiB pages.
    #[error("captured memory is {len} bytes, not a whole number of 64 KiB pages")]
    MemoryNotPageSized {
        /// Its length in bytes.
        len: usize,
    },
    /// The captured memory is smaller than the module's initial memory: it
    /// cannot come from an instance of this module.
    #[error("captured memory has {pages} pages, fewer than the module's minimum of {minimum}")]
    MemoryBelowMinimum {
        /// Captured pages.
        pages: u64,
        /// The module's minimum.
        minimum: u64,
    },
    /// The captured memory is larger than the module's maximum.
    #[error("captured memory has {pages} pages, more than the module's maximum of {maximum}")]
    MemoryAboveMaximum {
        /// Captured pages.
        pages: u64,
        /// The module's maximum.
        maximum: u64,
    },
    /// A captured global index names no defined global of the module.
    #[error("captured global {index} is not a global defined by the module")]
    GlobalNotDefined {
        /// The absolute index in the capture.
        index: u32,
    },
    /// A captured global is immutable: its value cannot have changed.
    #[error("captured global {index} is immutable")]
    GlobalImmutable {
        /// The absolute index.
        index: u32,
    },
    /// A captured value has another type than its global.
    #[error("captured global {index} holds a {found} but the global is {expected}")]
    GlobalTypeMismatch {
        /// The absolute index.
        index: u32,
        /// The global's type.
        expected: String,
        /// The captured value's type.
        found: String,
    },
    /// A global appears twice in the capture.
    #[error("global {index} is captured twice")]
    DuplicateGlobal {
        /// The absolute index.
        index: u32,
    },
    /// A mutable global of the module is not in the capture: it would
    /// silently restart from its initial value.
    #[error(
        "mutable global {index} is not in the capture (was the instance instrumented with \
         export_mutable_globals?)"
    )]
    MissingGlobal {
        /// The absolute index.
        index: u32,
    },
    /// Imported globals are to become defined ones, and this one has no
    /// value.
    #[error("imported global '{module}.{name}' has no value to be defined with")]
    MissingImportedGlobal {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
    },
    /// A value was given for an imported global the module does not import.
    #[error("a value is given for '{module}.{name}', which the module does not import as a global")]
    UnknownImportedGlobal {
        /// The given module.
        module: String,
        /// The given name.
        name: String,
    },
    /// The value given for an imported global has another type.
    #[error("imported global '{module}.{name}' is {expected}, the value given is {found}")]
    ImportedGlobalType {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
        /// The import's type.
        expected: String,
        /// The value's type.
        found: String,
    },
    /// The instance exports no memory to capture.
    #[error("the instance exports no memory to capture")]
    NoExportedMemory,
    /// The instance exports several memories and none under the
    /// instrumentation's name.
    #[error("the instance exports {count} memories and none named '{name}'")]
    AmbiguousMemory {
        /// How many memories are exported.
        count: usize,
        /// The name that would have settled it.
        name: &'static str,
    },
    /// An export with the instrumentation prefix whose name or kind is not
    /// one the instrumentation writes.
    #[error("export '{name}' is not an instrumentation export")]
    BadInstrumentationExport {
        /// The export name.
        name: String,
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
