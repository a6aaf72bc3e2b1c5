//! The sidecar: host state that does not live in linear memory, stored next
//! to a baked module.
//!
//! On disk (all integers little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic [`SIDECAR_MAGIC`] |
//! | 8 | 4 | format version [`SIDECAR_FORMAT`] |
//! | 12 | 8 | payload length in bytes |
//! | 20 | 32 | SHA-256 of the payload |
//! | 52 | … | payload: the [`Sidecar`] in bincode 2 (serde, standard config) |
//!
//! bincode is not self-describing: adding, removing or reordering a field
//! of [`Sidecar`] (or of a type inside it) changes the payload layout, so
//! it must come with a bump of [`SIDECAR_FORMAT`]. Older sidecars are then
//! refused with [`SnapshotError::UnknownFormatVersion`] and the snapshot is
//! made again; nothing tries to read an old layout.
//!
//! Reading checks, in order: magic, format version, length, checksum,
//! decoding, then the identity (Pyodide version, binary, engine). Each
//! failure is its own [`SnapshotError`] variant, so the runtime can say why
//! it falls back to a cold boot.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The first 8 bytes of every sidecar.
pub const SIDECAR_MAGIC: [u8; 8] = *b"PYWKSNP\0";
/// The payload layout this build writes and reads.
pub const SIDECAR_FORMAT: u32 = 5;
/// The wasmtime version this crate is built against (checked against
/// `Cargo.lock` by a test).
pub const WASMTIME_VERSION: &str = "48.0.8";

const HEADER_LEN: usize = 8 + 4 + 8 + 32;

/// When in a worker's life a snapshot was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnapshotKind {
    /// After start-up and a fixed list of stdlib imports, before any user
    /// file is mounted.
    Baseline,
    /// Baseline plus the worker's packages imported.
    Package,
    /// Package plus the worker module's top level executed.
    Dedicated,
}

/// What a snapshot must have been made with to be usable: the same Pyodide
/// build, run by the same compiled code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The Pyodide release (`"314.0.7"`).
    pub pyodide_version: String,
    /// SHA-256 of the original `pyodide.asm.wasm`.
    pub binary_sha256: [u8; 32],
    /// The engine fingerprint (`pyodide_emscripten::engine::engine_fingerprint`).
    pub engine_fingerprint: [u8; 32],
    /// The wasmtime version ([`WASMTIME_VERSION`] when made by this build).
    pub wasmtime_version: String,
}

impl Identity {
    /// An identity made by this build (wasmtime [`WASMTIME_VERSION`]).
    pub fn new(
        pyodide_version: impl Into<String>,
        binary_sha256: [u8; 32],
        engine_fingerprint: [u8; 32],
    ) -> Self {
        Identity {
            pyodide_version: pyodide_version.into(),
            binary_sha256,
            engine_fingerprint,
            wasmtime_version: WASMTIME_VERSION.to_owned(),
        }
    }
}

/// The host state of a snapshot. Extending it means bumping
/// [`SIDECAR_FORMAT`] (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    /// When the snapshot was taken.
    pub kind: SnapshotKind,
    /// What it was made with.
    pub identity: Identity,
    /// Length of the function table (`__indirect_function_table`) at
    /// capture, host-added entries (the call trampoline) included.
    pub table_len: u64,
    /// The instance's other tables as (absolute index, length), when
    /// every entry was null at capture: a restore grows them back to that
    /// length with nulls. (A table holding host references cannot be
    /// snapshotted.)
    pub null_tables: Vec<(u32, u64)>,
    /// The guest environment (name, value), in order.
    pub environment: Vec<(String, String)>,
    /// The Python modules imported while making the snapshot, in order.
    pub imports: Vec<String>,
    /// The compiled baked module this sidecar goes with: its length and
    /// XXH3-64, checked before the file is mapped.
    pub artifact: ArtifactDigest,
    /// Side modules loaded into the instance, in load order, with the
    /// memory and table bases they were given (a restore loads them again
    /// at the same bases, without relocations or constructors, before
    /// running anything).
    pub side_modules: Vec<SideModule>,
    /// Table slots the dynamic linker handed out to functions that had
    /// none, in order (a restore hands them out again).
    pub side_slots: Vec<SideSlot>,
    /// The `GOT` entries the dynamic linker made for side modules (symbol,
    /// value: a data address or a table slot), which a restore sets
    /// instead of resolving them again.
    pub got: Vec<(String, i32)>,
    /// The package files (wheels, then shared-library archives) mounted
    /// when the snapshot was made; a restore must be given the same ones.
    pub packages: Vec<PackageFile>,
    /// The host `python_modules/` directory mounted when the snapshot was
    /// made, if any.
    pub python_modules: Option<String>,
    /// Addresses in linear memory the host needs again after a restore
    /// (for example a function object it calls), by name.
    pub anchors: Vec<(String, u64)>,
    /// Where the host mounted host directories the snapshot's state
    /// depends on (guest path, host path), to mount them again.
    pub mounts: Vec<(String, String)>,
    /// The file system state (tree, working directory, umask), encoded by
    /// the embedder; opaque to this crate.
    pub vfs: Vec<u8>,
    /// The entropy bookkeeping of the creation (who drew how many bytes),
    /// encoded by the embedder; opaque to this crate.
    pub entropy: Vec<u8>,
}

/// Length and checksum of a compiled artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactDigest {
    /// Length in bytes.
    pub len: u64,
    /// XXH3-64 of the bytes.
    pub xxh3: u64,
}

/// A side module (shared library) loaded into a snapshotted instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideModule {
    /// The path it was loaded from, as the guest named it.
    pub path: String,
    /// Where its data was placed in linear memory.
    pub memory_base: u64,
    /// Where its functions were placed in the function table.
    pub table_base: u64,
    /// How many table slots it has.
    pub table_size: u64,
    /// Whether it was loaded with `RTLD_GLOBAL`.
    pub global: bool,
    /// The `struct dso` addresses `dlopen` registered for it.
    pub handles: Vec<u32>,
    /// SHA-256 of its file: a restore takes the module compiled from these
    /// bytes (from memory or the module cache) without reading the file.
    pub sha256: [u8; 32],
    /// Its file's first bytes through the `dylink.0` section (its layout
    /// and the libraries it needs), read by the loader instead of the file.
    pub header: Vec<u8>,
}

/// A table slot the dynamic linker added for a function that had none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideSlot {
    /// The slot.
    pub slot: u32,
    /// The side module exporting the function (`None`: the main module or
    /// the host).
    pub library: Option<String>,
    /// The function's exported name.
    pub symbol: String,
    /// How many side modules were loaded when the slot was added.
    pub after_libraries: u64,
}

/// A package file (wheel or shared-library archive) a snapshot was made
/// with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageFile {
    /// Its file name.
    pub file_name: String,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
}

/// Why a sidecar could not be written or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The file could not be read.
    #[error("cannot read snapshot sidecar '{path}'")]
    Read {
        /// The sidecar's path.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// The file could not be written.
    #[error("cannot write snapshot sidecar '{path}'")]
    Write {
        /// The sidecar's path.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// The sidecar could not be encoded.
    #[error("cannot encode snapshot sidecar: {message}")]
    Encode {
        /// What bincode said.
        message: String,
    },
    /// The file does not start with [`SIDECAR_MAGIC`].
    #[error("not a snapshot sidecar: it starts with '{found}', expected '{expected}'")]
    NotASnapshot {
        /// The first bytes found, escaped.
        found: String,
        /// The magic, escaped.
        expected: String,
    },
    /// The file has another format version than this build reads.
    #[error("unknown snapshot sidecar format version '{found}', expected '{expected}'")]
    UnknownFormatVersion {
        /// The version in the file.
        found: u32,
        /// [`SIDECAR_FORMAT`].
        expected: u32,
    },
    /// The file is shorter than its header says.
    #[error("snapshot sidecar is truncated: '{found}' bytes, expected '{expected}'")]
    Truncated {
        /// Length of the file.
        found: u64,
        /// Length the header implies (or the header's own length).
        expected: u64,
    },
    /// The file is longer than its header says.
    #[error("snapshot sidecar has trailing bytes: '{found}' bytes, expected '{expected}'")]
    TrailingBytes {
        /// Length of the file.
        found: u64,
        /// Length the header implies.
        expected: u64,
    },
    /// The payload does not match its checksum.
    #[error("snapshot sidecar payload does not match its sha-256 '{expected}'")]
    ChecksumMismatch {
        /// The checksum in the header, hex.
        expected: String,
    },
    /// The payload passed its checksum but does not decode as a [`Sidecar`].
    #[error("snapshot sidecar payload cannot be decoded: {message}")]
    Undecodable {
        /// What bincode said.
        message: String,
    },
    /// The snapshot was made with another Pyodide release.
    #[error("snapshot was made with pyodide '{found}', expected '{expected}'")]
    OtherPyodideVersion {
        /// Its version.
        found: String,
        /// The running version.
        expected: String,
    },
    /// The snapshot was made from another `pyodide.asm.wasm`.
    #[error("snapshot was made from another binary: sha-256 '{found}', expected '{expected}'")]
    OtherBinary {
        /// Its binary's SHA-256, hex.
        found: String,
        /// The running binary's SHA-256, hex.
        expected: String,
    },
    /// The snapshot was made by another engine (wasmtime version or
    /// configuration).
    #[error(
        "snapshot was made by another engine: wasmtime '{found_wasmtime}' fingerprint \
         '{found_fingerprint}', expected wasmtime '{expected_wasmtime}' fingerprint \
         '{expected_fingerprint}'"
    )]
    OtherEngine {
        /// Its wasmtime version.
        found_wasmtime: String,
        /// Its engine fingerprint, hex.
        found_fingerprint: String,
        /// The running wasmtime version.
        expected_wasmtime: String,
        /// The running engine fingerprint, hex.
        expected_fingerprint: String,
    },
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard()
}

/// Encodes `sidecar` with its header (see the module documentation).
///
/// # Errors
///
/// [`SnapshotError::Encode`] if bincode refuses a value.
pub fn encode_sidecar(sidecar: &Sidecar) -> Result<Vec<u8>, SnapshotError> {
    let payload =
        bincode::serde::encode_to_vec(sidecar, config()).map_err(|e| SnapshotError::Encode {
            message: e.to_string(),
        })?;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&SIDECAR_MAGIC);
    out.extend_from_slice(&SIDECAR_FORMAT.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(&payload));
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Decodes a sidecar and checks that it was made with `expected`.
///
/// # Errors
///
/// One [`SnapshotError`] variant per failure, checked in this order:
/// magic, format version, length, checksum, decoding, Pyodide version,
/// binary, engine.
pub fn decode_sidecar(bytes: &[u8], expected: &Identity) -> Result<Sidecar, SnapshotError> {
    let found_len = bytes.len() as u64;
    let magic_len = bytes.len().min(SIDECAR_MAGIC.len());
    if bytes[..magic_len] != SIDECAR_MAGIC[..magic_len] {
        return Err(SnapshotError::NotASnapshot {
            found: escape(&bytes[..magic_len]),
            expected: escape(&SIDECAR_MAGIC),
        });
    }
    let truncated = |expected: u64| SnapshotError::Truncated {
        found: found_len,
        expected,
    };
    let version = bytes
        .get(8..12)
        .ok_or_else(|| truncated(HEADER_LEN as u64))?;
    let version = u32::from_le_bytes(version.try_into().expect("4 bytes"));
    if version != SIDECAR_FORMAT {
        return Err(SnapshotError::UnknownFormatVersion {
            found: version,
            expected: SIDECAR_FORMAT,
        });
    }
    if bytes.len() < HEADER_LEN {
        return Err(truncated(HEADER_LEN as u64));
    }
    let payload_len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let checksum: [u8; 32] = bytes[20..HEADER_LEN].try_into().expect("32 bytes");
    let expected_len = payload_len.saturating_add(HEADER_LEN as u64);
    if found_len < expected_len {
        return Err(truncated(expected_len));
    }
    if found_len > expected_len {
        return Err(SnapshotError::TrailingBytes {
            found: found_len,
            expected: expected_len,
        });
    }
    let payload = &bytes[HEADER_LEN..];
    if Sha256::digest(payload)[..] != checksum[..] {
        return Err(SnapshotError::ChecksumMismatch {
            expected: hex::encode(checksum),
        });
    }
    let (sidecar, read): (Sidecar, usize) = bincode::serde::decode_from_slice(payload, config())
        .map_err(|e| SnapshotError::Undecodable {
            message: e.to_string(),
        })?;
    if read != payload.len() {
        return Err(SnapshotError::Undecodable {
            message: format!("{} bytes left after the sidecar", payload.len() - read),
        });
    }
    check_identity(&sidecar.identity, expected)?;
    Ok(sidecar)
}

fn check_identity(found: &Identity, expected: &Identity) -> Result<(), SnapshotError> {
    if found.pyodide_version != expected.pyodide_version {
        return Err(SnapshotError::OtherPyodideVersion {
            found: found.pyodide_version.clone(),
            expected: expected.pyodide_version.clone(),
        });
    }
    if found.binary_sha256 != expected.binary_sha256 {
        return Err(SnapshotError::OtherBinary {
            found: hex::encode(found.binary_sha256),
            expected: hex::encode(expected.binary_sha256),
        });
    }
    if found.engine_fingerprint != expected.engine_fingerprint
        || found.wasmtime_version != expected.wasmtime_version
    {
        return Err(SnapshotError::OtherEngine {
            found_wasmtime: found.wasmtime_version.clone(),
            found_fingerprint: hex::encode(found.engine_fingerprint),
            expected_wasmtime: expected.wasmtime_version.clone(),
            expected_fingerprint: hex::encode(expected.engine_fingerprint),
        });
    }
    Ok(())
}

/// Bytes as text for a message: printable ASCII as is, the rest escaped.
fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// Writes `sidecar` to `path`: to a unique temporary file in the same
/// directory first, then renamed over `path`, so a reader sees either the
/// old file or the complete new one. The directory must exist.
///
/// # Errors
///
/// [`SnapshotError::Encode`], or [`SnapshotError::Write`] (the temporary
/// file is removed).
pub fn write_sidecar(path: &Path, sidecar: &Sidecar) -> Result<(), SnapshotError> {
    let bytes = encode_sidecar(sidecar)?;
    write_atomically(path, &bytes).map_err(|source| SnapshotError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Reads the sidecar at `path` and checks it against `expected` (see
/// [`decode_sidecar`]).
///
/// # Errors
///
/// [`SnapshotError::Read`], or any error of [`decode_sidecar`].
pub fn read_sidecar(path: &Path, expected: &Identity) -> Result<Sidecar, SnapshotError> {
    let bytes = fs::read(path).map_err(|source| SnapshotError::Read {
        path: path.to_owned(),
        source,
    })?;
    decode_sidecar(&bytes, expected)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("sidecar");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let temp = path.with_file_name(format!(".{file_name}.tmp-{}-{nanos}", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create_new(&temp)?;
        file.write_all(bytes)?;
        file.sync_data()?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity::new("314.0.7", [1; 32], [2; 32])
    }

    fn sidecar() -> Sidecar {
        Sidecar {
            kind: SnapshotKind::Dedicated,
            identity: identity(),
            table_len: 8734,
            null_tables: vec![(1, 2)],
            environment: vec![("HOME".into(), "/home/pyodide".into())],
            imports: vec!["asyncio".into(), "json".into()],
            artifact: ArtifactDigest {
                len: 1 << 20,
                xxh3: 7,
            },
            side_modules: vec![SideModule {
                path: "/lib/python3.13/site-packages/x.so".into(),
                memory_base: 1 << 24,
                table_base: 9000,
                table_size: 12,
                global: false,
                handles: vec![77],
                sha256: [3; 32],
                header: b"\0asm\x01\0\0\0".to_vec(),
            }],
            side_slots: vec![SideSlot {
                slot: 9012,
                library: None,
                symbol: "f".into(),
                after_libraries: 1,
            }],
            got: vec![("PyExc_TypeError".into(), 4096), ("g".into(), 9013)],
            packages: vec![PackageFile {
                file_name: "x-1-py3-none-any.whl".into(),
                sha256: "00".into(),
            }],
            python_modules: Some("/app/python_modules".into()),
            anchors: vec![("driver_run".into(), 123_456)],
            mounts: vec![("/work".into(), "/home/me/work".into())],
            vfs: vec![],
            entropy: vec![1, 2, 3],
        }
    }

    /// A sidecar whose header is patched and whose checksum is then fixed,
    /// so only the patched field is wrong.
    fn with_payload(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&SIDECAR_MAGIC);
        out.extend_from_slice(&SIDECAR_FORMAT.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&Sha256::digest(payload));
        out.extend_from_slice(payload);
        out
    }

    fn reencoded(edit: impl FnOnce(&mut Sidecar)) -> Vec<u8> {
        let mut value = sidecar();
        edit(&mut value);
        encode_sidecar(&value).unwrap()
    }

    #[test]
    fn round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.sidecar");
        let mut value = sidecar();
        value.vfs = (0..=255).collect();
        write_sidecar(&path, &value).unwrap();
        assert_eq!(read_sidecar(&path, &identity()).unwrap(), value);
        // Only the sidecar is left in the directory: no temporary file.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["snapshot.sidecar"]);
    }

    #[test]
    fn a_missing_file_is_a_read_error_naming_it() {
        let err = read_sidecar(Path::new("/nonexistent/x.sidecar"), &identity()).unwrap_err();
        assert!(matches!(err, SnapshotError::Read { .. }));
        assert_eq!(
            err.to_string(),
            "cannot read snapshot sidecar '/nonexistent/x.sidecar'"
        );
    }

    #[test]
    fn a_write_into_a_missing_directory_fails_cleanly() {
        let err = write_sidecar(Path::new("/nonexistent/dir/x.sidecar"), &sidecar()).unwrap_err();
        assert!(matches!(err, SnapshotError::Write { .. }));
    }

    #[test]
    fn bad_magic() {
        let mut bytes = encode_sidecar(&sidecar()).unwrap();
        bytes[0] = b'X';
        let err = decode_sidecar(&bytes, &identity()).unwrap_err();
        assert!(matches!(err, SnapshotError::NotASnapshot { .. }));
        assert_eq!(
            err.to_string(),
            "not a snapshot sidecar: it starts with 'XYWKSNP\\x00', expected 'PYWKSNP\\x00'"
        );
    }

    #[test]
    fn unknown_format_version() {
        let mut bytes = encode_sidecar(&sidecar()).unwrap();
        bytes[8..12].copy_from_slice(&7u32.to_le_bytes());
        let err = decode_sidecar(&bytes, &identity()).unwrap_err();
        assert!(matches!(
            err,
            SnapshotError::UnknownFormatVersion {
                found: 7,
                expected: SIDECAR_FORMAT
            }
        ));
        assert_eq!(
            err.to_string(),
            format!("unknown snapshot sidecar format version '7', expected '{SIDECAR_FORMAT}'")
        );
    }

    #[test]
    fn truncated() {
        let bytes = encode_sidecar(&sidecar()).unwrap();
        let full = bytes.len() as u64;
        let err = decode_sidecar(&bytes[..bytes.len() - 1], &identity()).unwrap_err();
        assert!(matches!(
            err,
            SnapshotError::Truncated { found, expected } if found == full - 1 && expected == full
        ));
        let err = decode_sidecar(&bytes[..30], &identity()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "snapshot sidecar is truncated: '30' bytes, expected '52'"
        );
        assert!(matches!(
            decode_sidecar(&[], &identity()),
            Err(SnapshotError::Truncated { found: 0, .. })
        ));
    }

    #[test]
    fn trailing_bytes() {
        let mut bytes = encode_sidecar(&sidecar()).unwrap();
        bytes.push(0);
        assert!(matches!(
            decode_sidecar(&bytes, &identity()),
            Err(SnapshotError::TrailingBytes { .. })
        ));
    }

    #[test]
    fn checksum_mismatch() {
        let mut bytes = encode_sidecar(&sidecar()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let err = decode_sidecar(&bytes, &identity()).unwrap_err();
        assert!(matches!(err, SnapshotError::ChecksumMismatch { .. }));
        assert!(
            err.to_string()
                .starts_with("snapshot sidecar payload does not match its sha-256 '"),
            "{err}"
        );
    }

    #[test]
    fn undecodable_payload() {
        let err = decode_sidecar(&with_payload(&[0xff; 5]), &identity()).unwrap_err();
        assert!(matches!(err, SnapshotError::Undecodable { .. }), "{err:?}");
        let mut payload = bincode::serde::encode_to_vec(sidecar(), config()).unwrap();
        payload.push(0);
        let err = decode_sidecar(&with_payload(&payload), &identity()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "snapshot sidecar payload cannot be decoded: 1 bytes left after the sidecar"
        );
    }

    #[test]
    fn other_pyodide_version() {
        let bytes = reencoded(|s| s.identity.pyodide_version = "0.29.3".into());
        let err = decode_sidecar(&bytes, &identity()).unwrap_err();
        assert!(matches!(err, SnapshotError::OtherPyodideVersion { .. }));
        assert_eq!(
            err.to_string(),
            "snapshot was made with pyodide '0.29.3', expected '314.0.7'"
        );
    }

    #[test]
    fn other_binary() {
        let bytes = reencoded(|s| s.identity.binary_sha256 = [0xab; 32]);
        let err = decode_sidecar(&bytes, &identity()).unwrap_err();
        assert!(matches!(err, SnapshotError::OtherBinary { .. }));
        assert_eq!(
            err.to_string(),
            format!(
                "snapshot was made from another binary: sha-256 '{}', expected '{}'",
                "ab".repeat(32),
                "01".repeat(32)
            )
        );
    }

    #[test]
    fn other_engine() {
        let bytes = reencoded(|s| s.identity.engine_fingerprint = [9; 32]);
        assert!(matches!(
            decode_sidecar(&bytes, &identity()),
            Err(SnapshotError::OtherEngine { .. })
        ));
        let bytes = reencoded(|s| s.identity.wasmtime_version = "47.0.0".into());
        let err = decode_sidecar(&bytes, &identity()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("snapshot was made by another engine: wasmtime '47.0.0' fingerprint"),
            "{err}"
        );
    }

    #[test]
    fn wasmtime_version_matches_the_lock_file() {
        let lock =
            fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock")).unwrap();
        let line = format!("name = \"wasmtime\"\nversion = \"{WASMTIME_VERSION}\"");
        assert!(lock.contains(&line), "Cargo.lock has no {line:?}");
    }
}
