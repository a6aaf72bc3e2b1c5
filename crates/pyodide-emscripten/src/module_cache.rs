//! The compiled-module cache: translate and compile a wasm module once, then
//! map the compiled artifact from disk on every later start.
//!
//! An entry is two files named after the key — the SHA-256 of the *input*
//! wasm and the engine fingerprint ([`crate::engine::engine_fingerprint`]):
//!
//! - `<key>.cwasm`: the artifact exactly as `Module::serialize` wrote it, so
//!   `Module::deserialize_file` can `mmap` it;
//! - `<key>.sum`: a 100-byte record (magic, format version, fingerprint,
//!   input hash, artifact length, XXH3-64 of the artifact, XXH3-64 of the
//!   record itself).
//!
//! An artifact is handed to wasmtime only after its length and checksum match
//! the record, so a truncated, corrupt or foreign file is rebuilt, never
//! trusted. Both files are written under a unique temporary name and renamed
//! into place, so concurrent writers and interrupted writes leave either a
//! complete entry or a mismatch that the next load rebuilds. Files are never
//! modified in place, which keeps the `deserialize_file` contract (the mapped
//! file must not change while the module lives): a rebuild renames a new file
//! over the name and the old mapping keeps the old inode.
//!
//! Side modules ([`ModuleCache::load_shared`]) are also kept in memory, by
//! the SHA-256 of their content, for the life of the cache and its clones:
//! a second load of the same library in the process (another interpreter,
//! a snapshot restore) touches no file.
#![allow(unsafe_code)] // Module::deserialize_file; see the SAFETY comment

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};
use xxhash_rust::xxh3::xxh3_64;

use crate::engine::{EngineSettings, engine_fingerprint, new_engine};
use crate::{Error, boxed};

const SUM_MAGIC: &[u8; 8] = b"PYWKCWM\0";
const SUM_FORMAT: u32 = 1;
const SUM_LEN: usize = 8 + 4 + 32 + 32 + 8 + 8 + 8;

/// An engine plus a directory of compiled artifacts for it.
#[derive(Debug, Clone)]
pub struct ModuleCache {
    engine: Engine,
    settings: EngineSettings,
    fingerprint: [u8; 32],
    dir: PathBuf,
    /// Side modules loaded through [`ModuleCache::load_shared`], by the
    /// SHA-256 of their content; shared by clones.
    shared: Arc<Mutex<HashMap<[u8; 32], Module>>>,
}

/// A module ready to instantiate, and how it was obtained.
#[derive(Debug)]
pub struct LoadedModule {
    /// The compiled module.
    pub module: Module,
    /// Whether it came from the cache or was compiled now.
    pub outcome: CacheOutcome,
    /// Where its artifact lives (or would have been stored).
    pub artifact: PathBuf,
}

/// What an artifact written by [`ModuleCache::compile_artifact`] must be
/// for [`ModuleCache::load_artifact`] to map it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArtifactCheck {
    /// Length in bytes.
    pub len: u64,
    /// XXH3-64 of the bytes.
    pub xxh3: u64,
}

/// How [`ModuleCache::load`] obtained a module.
#[derive(Debug)]
pub enum CacheOutcome {
    /// The artifact was found, verified and mapped.
    Hit,
    /// The module was translated and compiled now.
    Compiled {
        /// Why a cached artifact was not used, when one existed.
        rebuilt_because: Option<RebuildReason>,
        /// Time spent in the legacy exception-handling translation.
        translate: Duration,
        /// Time spent in Cranelift.
        compile: Duration,
        /// `None` when the artifact was stored; the error when storing failed
        /// (the module is still usable, the next start compiles again).
        store_error: Option<Error>,
    },
}

/// Why a cache entry that existed was rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebuildReason {
    /// The artifact exists but its checksum record does not.
    MissingChecksum,
    /// The checksum record is damaged or of another format.
    BadChecksumRecord,
    /// The record belongs to another input or another engine.
    ForeignRecord,
    /// The artifact's length differs from the record's.
    Truncated {
        /// Length in the record.
        expected: u64,
        /// Length on disk.
        actual: u64,
    },
    /// The artifact's content does not match the record's checksum.
    ChecksumMismatch,
    /// wasmtime refused the artifact (for example another wasmtime version).
    Refused(String),
}

impl std::fmt::Display for RebuildReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RebuildReason::MissingChecksum => write!(f, "its checksum record is missing"),
            RebuildReason::BadChecksumRecord => write!(f, "its checksum record is damaged"),
            RebuildReason::ForeignRecord => {
                write!(f, "its checksum record belongs to another module or engine")
            }
            RebuildReason::Truncated { expected, actual } => {
                write!(f, "it is {actual} bytes long, expected {expected}")
            }
            RebuildReason::ChecksumMismatch => write!(f, "its content does not match its checksum"),
            RebuildReason::Refused(why) => write!(f, "wasmtime refused it: {why}"),
        }
    }
}

impl ModuleCache {
    /// Creates the engine for `settings` and a cache of its artifacts in
    /// `dir` (created on first store).
    pub fn new(settings: EngineSettings, dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let engine = new_engine(&settings)?;
        let fingerprint = engine_fingerprint(&engine, &settings);
        Ok(ModuleCache {
            engine,
            settings,
            fingerprint,
            dir: dir.into(),
            shared: Arc::default(),
        })
    }

    /// The engine every module of this cache is compiled for.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The settings the engine was made from.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The engine fingerprint (see [`crate::engine::engine_fingerprint`])
    /// that keys this cache's entries.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// The directory holding the artifacts.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the artifact for an input with this SHA-256 lives.
    pub fn artifact_path(&self, input_sha256: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.cwasm", self.key(input_sha256)))
    }

    /// Whether an entry for this input exists (it may still turn out to be
    /// damaged when loaded). For telling a user that a compile is coming.
    pub fn is_cached(&self, input_sha256: &[u8; 32]) -> bool {
        let artifact = self.artifact_path(input_sha256);
        artifact.is_file() && artifact.with_extension("sum").is_file()
    }

    /// Whether an entry exists for the input with this SHA-256 after the
    /// rewrite named `label` (see [`ModuleCache::load_file_transformed`]).
    pub fn is_cached_transformed(&self, input_sha256: &[u8; 32], label: &str) -> bool {
        self.is_cached(&transformed_key(input_sha256, label))
    }

    fn key(&self, input_sha256: &[u8; 32]) -> String {
        format!(
            "{}-{}",
            hex::encode(input_sha256),
            hex::encode(&self.fingerprint[..12])
        )
    }

    /// Loads the module for `wasm` (named `name` in errors), compiling and
    /// storing it on a miss. Hashes the input; see [`ModuleCache::load_file`]
    /// to skip that for large files whose hash is already known.
    pub fn load(&self, name: &str, wasm: &[u8]) -> Result<LoadedModule, Error> {
        let sha256: [u8; 32] = Sha256::digest(wasm).into();
        self.load_with(name, &sha256, || Ok(wasm.to_vec()))
    }

    /// Loads the module for the wasm file at `path`. When `sha256` is given
    /// (for example from a verified distribution manifest) the file is read
    /// only on a miss.
    pub fn load_file(&self, path: &Path, sha256: Option<[u8; 32]>) -> Result<LoadedModule, Error> {
        let read = || {
            fs::read(path).map_err(|source| Error::ReadInput {
                path: path.into(),
                source,
            })
        };
        let name = path.display().to_string();
        match sha256 {
            Some(sha256) => self.load_with(&name, &sha256, read),
            None => self.load(&name, &read()?),
        }
    }

    /// Loads the module for the wasm file at `path` after a host-defined
    /// rewrite `transform` (applied before the legacy-EH translation; for
    /// example the snapshot instrumentation). The entry is keyed by the
    /// input's SHA-256 and `label`, which must name the transform and its
    /// revision: change the label when the transform's output changes. As
    /// with [`ModuleCache::load_file`], a known `sha256` means the file is
    /// read (and transformed) only on a miss.
    pub fn load_file_transformed(
        &self,
        path: &Path,
        sha256: Option<[u8; 32]>,
        label: &str,
        transform: impl FnOnce(Vec<u8>) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>>,
    ) -> Result<LoadedModule, Error> {
        let name = path.display().to_string();
        let read = || {
            fs::read(path).map_err(|source| Error::ReadInput {
                path: path.into(),
                source,
            })
        };
        let (sha256, input) = match sha256 {
            Some(sha256) => (sha256, None),
            None => {
                let bytes = read()?;
                (Sha256::digest(&bytes).into(), Some(bytes))
            }
        };
        let key = transformed_key(&sha256, label);
        self.load_with(&name, &key, || {
            let wasm = match input {
                Some(bytes) => bytes,
                None => read()?,
            };
            transform(wasm).map_err(|source| Error::Transform {
                name: name.clone(),
                label: label.to_owned(),
                source,
            })
        })
    }

    /// Loads the module whose input has this SHA-256 (named `name` in
    /// errors) and keeps it in memory: a module this cache (or a clone)
    /// loaded before in the process is returned as is, without touching a
    /// file; otherwise the cached artifact is mapped, or `read_input`'s
    /// bytes (which must hash to `sha256`: the caller checks) are compiled
    /// and stored. For side modules, which a process loads again for each
    /// interpreter; the memory holds one module per distinct content.
    pub fn load_shared(
        &self,
        name: &str,
        sha256: &[u8; 32],
        read_input: impl FnOnce() -> Result<Vec<u8>, Error>,
    ) -> Result<Module, Error> {
        let shared = || self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(module) = shared().get(sha256) {
            return Ok(module.clone());
        }
        // Not held across the load: another thread may load the same
        // module meanwhile; the first one stored wins.
        let module = self.load_with(name, sha256, read_input)?.module;
        Ok(shared().entry(*sha256).or_insert(module).clone())
    }

    /// [`ModuleCache::load_shared`] for the module made from the input by
    /// the rewrite `transform`, named by `label` (which, as for
    /// [`ModuleCache::load_file_transformed`], must change when the
    /// rewrite's output does): kept in memory and on disk under the input's
    /// SHA-256 and the label.
    pub fn load_shared_transformed(
        &self,
        name: &str,
        sha256: &[u8; 32],
        label: &str,
        read_input: impl FnOnce() -> Result<Vec<u8>, Error>,
        transform: impl FnOnce(Vec<u8>) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>>,
    ) -> Result<Module, Error> {
        let key = transformed_key(sha256, label);
        self.load_shared(name, &key, || {
            transform(read_input()?).map_err(|source| Error::Transform {
                name: name.to_owned(),
                label: label.to_owned(),
                source,
            })
        })
    }

    /// Whether [`ModuleCache::load_shared`] holds the module for the input
    /// with this SHA-256 in memory (its next load touches no file).
    pub fn is_shared(&self, sha256: &[u8; 32]) -> bool {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(sha256)
    }

    /// Translates and compiles `wasm` (named `name` in errors) and writes
    /// the serialized artifact to `path` (a temporary name in the same
    /// directory, then renamed), outside the cache's own entries: for
    /// artifacts whose owner keeps the check record elsewhere (a snapshot's
    /// sidecar). Returns the module and the record to check the file with
    /// before [`ModuleCache::load_artifact`] maps it.
    pub fn compile_artifact(
        &self,
        name: &str,
        wasm: &[u8],
        path: &Path,
    ) -> Result<(Module, ArtifactCheck), Error> {
        let translated = pipeline(name, wasm)?;
        let module = Module::new(&self.engine, &translated).map_err(|e| Error::Compile {
            name: name.to_owned(),
            source: boxed(e),
        })?;
        let bytes = module.serialize().map_err(|e| Error::CacheWrite {
            path: path.to_owned(),
            source: io::Error::other(format!("{e:#}")),
        })?;
        let check = ArtifactCheck {
            len: bytes.len() as u64,
            xxh3: xxh3_64(&bytes),
        };
        write_atomically(path, &bytes).map_err(|source| Error::CacheWrite {
            path: path.to_owned(),
            source,
        })?;
        Ok((module, check))
    }

    /// Maps the artifact at `path` (written by
    /// [`ModuleCache::compile_artifact`] for this engine) after checking
    /// its length and XXH3-64 against `check`.
    ///
    /// # Errors
    ///
    /// [`Error::BadArtifact`] with the reason: missing or unreadable,
    /// truncated (another length), checksum mismatch, or refused by wasmtime.
    pub fn load_artifact(&self, path: &Path, check: &ArtifactCheck) -> Result<Module, Error> {
        self.map_verified(path, check.len, check.xxh3)
            .map_err(|reason| Error::BadArtifact {
                path: path.to_owned(),
                reason: reason.to_string(),
                truncated: matches!(reason, RebuildReason::Truncated { .. }),
                checksum: matches!(reason, RebuildReason::ChecksumMismatch),
            })
    }

    /// Maps `artifact` if its length and XXH3-64 are the expected ones.
    fn map_verified(&self, artifact: &Path, len: u64, xxh3: u64) -> Result<Module, RebuildReason> {
        let file = match fs::File::open(artifact) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(RebuildReason::Truncated {
                    expected: len,
                    actual: 0,
                });
            }
            Err(e) => return Err(RebuildReason::Refused(e.to_string())),
        };
        let actual = file
            .metadata()
            .map_err(|e| RebuildReason::Refused(e.to_string()))?
            .len();
        if actual != len {
            return Err(RebuildReason::Truncated {
                expected: len,
                actual,
            });
        }
        // Hashed by reading, not through a map: nothing of the file stays
        // in this process's memory, and no page is faulted in twice.
        if streamed_xxh3(file).map_err(|e| RebuildReason::Refused(e.to_string()))? != xxh3 {
            return Err(RebuildReason::ChecksumMismatch);
        }
        // SAFETY: the file's length and XXH3 checksum match the record that
        // was written right after `Module::serialize` produced these exact
        // bytes for an engine with this fingerprint (the cache's record, or
        // a snapshot sidecar whose identity names the same fingerprint), so
        // it is a precompiled module for a compatible engine. Artifacts are
        // never modified in place, so the mapped file stays unchanged for
        // the module's lifetime.
        unsafe { Module::deserialize_file(&self.engine, artifact) }
            .map_err(|e| RebuildReason::Refused(format!("{e:#}")))
    }

    fn load_with(
        &self,
        name: &str,
        sha256: &[u8; 32],
        read_input: impl FnOnce() -> Result<Vec<u8>, Error>,
    ) -> Result<LoadedModule, Error> {
        let artifact = self.artifact_path(sha256);
        let rebuilt_because = match self.load_cached(sha256, &artifact) {
            Ok(Some(module)) => {
                return Ok(LoadedModule {
                    module,
                    outcome: CacheOutcome::Hit,
                    artifact,
                });
            }
            Ok(None) => None,
            Err(reason) => Some(reason),
        };

        let wasm = read_input()?;
        let started = Instant::now();
        let translated = pipeline(name, &wasm)?;
        let translate = started.elapsed();
        let started = Instant::now();
        let module = Module::new(&self.engine, &translated).map_err(|e| Error::Compile {
            name: name.to_owned(),
            source: boxed(e),
        })?;
        let compile = started.elapsed();
        let store_error = self.store(sha256, &artifact, &module).err();
        Ok(LoadedModule {
            module,
            outcome: CacheOutcome::Compiled {
                rebuilt_because,
                translate,
                compile,
                store_error,
            },
            artifact,
        })
    }

    /// `Ok(None)`: nothing cached. `Err(reason)`: something was cached but
    /// cannot be used.
    fn load_cached(
        &self,
        sha256: &[u8; 32],
        artifact: &Path,
    ) -> Result<Option<Module>, RebuildReason> {
        let record = match fs::read(artifact.with_extension("sum")) {
            Ok(bytes) => bytes,
            Err(_) if !artifact.exists() => return Ok(None),
            Err(_) => return Err(RebuildReason::MissingChecksum),
        };
        let record = SumRecord::decode(&record).ok_or(RebuildReason::BadChecksumRecord)?;
        if record.fingerprint != self.fingerprint || record.input_sha256 != *sha256 {
            return Err(RebuildReason::ForeignRecord);
        }
        self.map_verified(artifact, record.artifact_len, record.artifact_xxh3)
            .map(Some)
    }

    fn store(&self, sha256: &[u8; 32], artifact: &Path, module: &Module) -> Result<(), Error> {
        let cache_error = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::CacheWrite { path, source }
        };
        fs::create_dir_all(&self.dir).map_err(cache_error(&self.dir))?;
        let bytes = module.serialize().map_err(|e| Error::CacheWrite {
            path: artifact.to_owned(),
            source: io::Error::other(format!("{e:#}")),
        })?;
        let record = SumRecord {
            fingerprint: self.fingerprint,
            input_sha256: *sha256,
            artifact_len: bytes.len() as u64,
            artifact_xxh3: xxh3_64(&bytes),
        };
        write_atomically(artifact, &bytes).map_err(cache_error(artifact))?;
        let sum = artifact.with_extension("sum");
        write_atomically(&sum, &record.encode()).map_err(cache_error(&sum))
    }
}

/// The XXH3-64 of a file's contents, read in 1 MiB pieces.
/// The cache key of an input rewritten by the transform named `label`.
fn transformed_key(input_sha256: &[u8; 32], label: &str) -> [u8; 32] {
    let mut keyed = Sha256::new();
    keyed.update(input_sha256);
    keyed.update(label.as_bytes());
    keyed.finalize().into()
}

fn streamed_xxh3(mut file: fs::File) -> io::Result<u64> {
    use std::io::Read;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Ok(hasher.digest()),
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// What wasmtime compiles for the input `wasm` (named `name` in errors):
/// legacy exception handling translated to the standard form, then — in a
/// main module that has it — `emscripten_thread_sleep` made to wait in
/// `poll` ([`crate::sleep_form`]). [`crate::engine::PIPELINE_REVISION`]
/// names this pipeline's output.
fn pipeline(name: &str, wasm: &[u8]) -> Result<Vec<u8>, Error> {
    let translated = wasm_legacy_eh::translate(wasm).map_err(|source| Error::Translate {
        name: name.to_owned(),
        source,
    })?;
    let slept = crate::sleep_form::real_sleep(&translated).map_err(|source| Error::SleepForm {
        name: name.to_owned(),
        source,
    })?;
    Ok(slept.unwrap_or(translated))
}

/// Writes `bytes` to a unique temporary file beside `path`, then renames it
/// over `path`. On failure the temporary file is removed.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
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

struct SumRecord {
    fingerprint: [u8; 32],
    input_sha256: [u8; 32],
    artifact_len: u64,
    artifact_xxh3: u64,
}

impl SumRecord {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SUM_LEN);
        out.extend_from_slice(SUM_MAGIC);
        out.extend_from_slice(&SUM_FORMAT.to_le_bytes());
        out.extend_from_slice(&self.fingerprint);
        out.extend_from_slice(&self.input_sha256);
        out.extend_from_slice(&self.artifact_len.to_le_bytes());
        out.extend_from_slice(&self.artifact_xxh3.to_le_bytes());
        let self_check = xxh3_64(&out);
        out.extend_from_slice(&self_check.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<SumRecord> {
        if bytes.len() != SUM_LEN || &bytes[..8] != SUM_MAGIC {
            return None;
        }
        let (body, self_check) = bytes.split_at(SUM_LEN - 8);
        if xxh3_64(body) != u64::from_le_bytes(self_check.try_into().ok()?) {
            return None;
        }
        if u32::from_le_bytes(body[8..12].try_into().ok()?) != SUM_FORMAT {
            return None;
        }
        Some(SumRecord {
            fingerprint: body[12..44].try_into().ok()?,
            input_sha256: body[44..76].try_into().ok()?,
            artifact_len: u64::from_le_bytes(body[76..84].try_into().ok()?),
            artifact_xxh3: u64::from_le_bytes(body[84..92].try_into().ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Instance, Store};

    const WAT: &str = r#"(module (func (export "answer") (result i32) i32.const 42))"#;

    fn cache(dir: &Path) -> ModuleCache {
        ModuleCache::new(EngineSettings::default(), dir).unwrap()
    }

    fn answer(cache: &ModuleCache, module: &Module) -> i32 {
        let mut store = Store::new(cache.engine(), ());
        let instance = Instance::new(&mut store, module, &[]).unwrap();
        let f = instance
            .get_typed_func::<(), i32>(&mut store, "answer")
            .unwrap();
        f.call(&mut store, ()).unwrap()
    }

    fn rebuilt_because(loaded: &LoadedModule) -> Option<&RebuildReason> {
        match &loaded.outcome {
            CacheOutcome::Compiled {
                rebuilt_because,
                store_error,
                ..
            } => {
                assert!(store_error.is_none(), "{store_error:?}");
                rebuilt_because.as_ref()
            }
            CacheOutcome::Hit => panic!("expected a compile, got a cache hit"),
        }
    }

    /// Loads once more and checks the repaired entry is now a usable hit.
    fn assert_hit(cache: &ModuleCache, wasm: &[u8]) {
        let loaded = cache.load("answer", wasm).unwrap();
        assert!(
            matches!(loaded.outcome, CacheOutcome::Hit),
            "{:?}",
            loaded.outcome
        );
        assert_eq!(answer(cache, &loaded.module), 42);
    }

    #[test]
    fn miss_compiles_and_stores_then_hits() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path());
        let wasm = wat::parse_str(WAT).unwrap();
        let first = cache.load("answer", &wasm).unwrap();
        assert_eq!(rebuilt_because(&first), None);
        assert_eq!(answer(&cache, &first.module), 42);
        assert!(first.artifact.exists());
        assert!(first.artifact.with_extension("sum").exists());
        assert_hit(&cache, &wasm);
        let sha256: [u8; 32] = Sha256::digest(&wasm).into();
        assert!(cache.is_cached(&sha256));
        assert!(!cache.is_cached(&[0; 32]));
    }

    fn damaged(damage: impl FnOnce(&Path)) -> RebuildReason {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path());
        let wasm = wat::parse_str(WAT).unwrap();
        let artifact = cache.load("answer", &wasm).unwrap().artifact;
        damage(&artifact);
        let loaded = cache.load("answer", &wasm).unwrap();
        let reason = rebuilt_because(&loaded)
            .cloned()
            .expect("damage must be noticed");
        assert_eq!(answer(&cache, &loaded.module), 42);
        assert_hit(&cache, &wasm);
        reason
    }

    #[test]
    fn truncated_artifact_is_rebuilt() {
        let reason = damaged(|artifact| {
            let bytes = fs::read(artifact).unwrap();
            fs::write(artifact, &bytes[..bytes.len() / 2]).unwrap();
        });
        assert!(
            matches!(reason, RebuildReason::Truncated { .. }),
            "{reason:?}"
        );
    }

    #[test]
    fn flipped_byte_is_rebuilt() {
        let reason = damaged(|artifact| {
            let mut bytes = fs::read(artifact).unwrap();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x40;
            fs::write(artifact, &bytes).unwrap();
        });
        assert_eq!(reason, RebuildReason::ChecksumMismatch);
    }

    #[test]
    fn missing_or_damaged_record_is_rebuilt() {
        let reason = damaged(|artifact| fs::remove_file(artifact.with_extension("sum")).unwrap());
        assert_eq!(reason, RebuildReason::MissingChecksum);
        let reason = damaged(|artifact| {
            let sum = artifact.with_extension("sum");
            let mut bytes = fs::read(&sum).unwrap();
            bytes[20] ^= 1;
            fs::write(&sum, &bytes).unwrap();
        });
        assert_eq!(reason, RebuildReason::BadChecksumRecord);
    }

    #[test]
    fn entry_of_another_module_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path());
        let other = wat::parse_str(r#"(module (func (export "answer") (result i32) i32.const 7))"#);
        let other = cache.load("other", &other.unwrap()).unwrap().artifact;
        let wasm = wat::parse_str(WAT).unwrap();
        let sha256: [u8; 32] = Sha256::digest(&wasm).into();
        let ours = cache.artifact_path(&sha256);
        fs::copy(&other, &ours).unwrap();
        fs::copy(other.with_extension("sum"), ours.with_extension("sum")).unwrap();
        let loaded = cache.load("answer", &wasm).unwrap();
        assert_eq!(
            rebuilt_because(&loaded),
            Some(&RebuildReason::ForeignRecord)
        );
        assert_eq!(answer(&cache, &loaded.module), 42);
    }

    /// An artifact of an incompatible engine, with a record that vouches for
    /// its bytes, is still refused by wasmtime's own header check.
    #[test]
    fn stale_artifact_from_other_engine_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path());
        let wasm = wat::parse_str(WAT).unwrap();
        let sha256: [u8; 32] = Sha256::digest(&wasm).into();
        // Other memory tunables: wasmtime's header check rejects the artifact.
        let mut other = wasmtime::Config::new();
        other.memory_reservation(1 << 24);
        let other_engine = Engine::new(&other).unwrap();
        let stale = Module::new(&other_engine, &wasm)
            .unwrap()
            .serialize()
            .unwrap();
        let artifact = cache.artifact_path(&sha256);
        fs::create_dir_all(cache.dir()).unwrap();
        fs::write(&artifact, &stale).unwrap();
        let record = SumRecord {
            fingerprint: cache.fingerprint,
            input_sha256: sha256,
            artifact_len: stale.len() as u64,
            artifact_xxh3: xxh3_64(&stale),
        };
        fs::write(artifact.with_extension("sum"), record.encode()).unwrap();
        let loaded = cache.load("answer", &wasm).unwrap();
        let reason = rebuilt_because(&loaded).cloned();
        assert!(
            matches!(reason, Some(RebuildReason::Refused(_))),
            "{reason:?}"
        );
        assert_hit(&cache, &wasm);
    }

    #[test]
    fn concurrent_fills_leave_a_valid_entry() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = wat::parse_str(WAT).unwrap();
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| {
                    let cache = cache(dir.path());
                    let loaded = cache.load("answer", &wasm).unwrap();
                    assert_eq!(answer(&cache, &loaded.module), 42);
                });
            }
        });
        assert_hit(&cache(dir.path()), &wasm);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.contains(".tmp-"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "temporary files left behind: {leftovers:?}"
        );
    }

    #[test]
    fn transformed_loads_are_keyed_by_label() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path());
        let input = dir.path().join("input.wasm");
        fs::write(&input, wat::parse_str(WAT).unwrap()).unwrap();
        let to_seven = |_: Vec<u8>| {
            Ok(wat::parse_str(
                r#"(module (func (export "answer") (result i32) i32.const 7))"#,
            )?)
        };
        let first = cache
            .load_file_transformed(&input, None, "seven-v1", to_seven)
            .unwrap();
        assert!(matches!(first.outcome, CacheOutcome::Compiled { .. }));
        assert_eq!(answer(&cache, &first.module), 7);
        // Same label: a hit, the transform is not run again.
        let again = cache
            .load_file_transformed(&input, None, "seven-v1", |_| panic!("not on a hit"))
            .unwrap();
        assert!(matches!(again.outcome, CacheOutcome::Hit));
        assert_eq!(answer(&cache, &again.module), 7);
        // Another label is another entry; the plain load is a third.
        let identity = cache
            .load_file_transformed(&input, None, "identity-v1", Ok)
            .unwrap();
        assert_eq!(answer(&cache, &identity.module), 42);
        assert_eq!(
            answer(&cache, &cache.load_file(&input, None).unwrap().module),
            42
        );
        // A failing transform names its label.
        let err = cache
            .load_file_transformed(&input, None, "broken-v1", |_| Err("no".into()))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot rewrite '{}' (broken-v1)", input.display())
        );
    }

    #[test]
    fn artifacts_outside_the_cache_are_checked_before_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path());
        let path = dir.path().join("snapshot.cwasm");
        let (module, check) = cache
            .compile_artifact("answer", &wat::parse_str(WAT).unwrap(), &path)
            .unwrap();
        assert_eq!(answer(&cache, &module), 42);
        assert_eq!(fs::metadata(&path).unwrap().len(), check.len);
        let mapped = cache.load_artifact(&path, &check).unwrap();
        assert_eq!(answer(&cache, &mapped), 42);
        // The mapping must not see the file change: damaged copies are
        // written under new inodes, as a real corruption test must.
        drop((module, mapped));
        let bytes = fs::read(&path).unwrap();
        let replace = |content: &[u8]| {
            fs::remove_file(&path).unwrap();
            fs::write(&path, content).unwrap();
        };
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 1;
        replace(&flipped);
        let err = cache.load_artifact(&path, &check).unwrap_err();
        assert!(
            matches!(
                err,
                Error::BadArtifact {
                    checksum: true,
                    truncated: false,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .ends_with("its content does not match its checksum"),
            "{err}"
        );

        replace(&bytes[..100]);
        let err = cache.load_artifact(&path, &check).unwrap_err();
        assert!(
            matches!(
                err,
                Error::BadArtifact {
                    truncated: true,
                    ..
                }
            ),
            "{err:?}"
        );
        fs::remove_file(&path).unwrap();
        assert!(matches!(
            cache.load_artifact(&path, &check),
            Err(Error::BadArtifact {
                truncated: true,
                ..
            })
        ));
    }

    #[test]
    fn unwritable_cache_still_yields_a_module() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        fs::write(&blocker, b"").unwrap();
        let cache = cache(&blocker.join("modules"));
        let loaded = cache.load("answer", &wat::parse_str(WAT).unwrap()).unwrap();
        match &loaded.outcome {
            CacheOutcome::Compiled {
                store_error: Some(Error::CacheWrite { path, .. }),
                ..
            } => {
                assert_eq!(path, &blocker.join("modules"));
            }
            other => panic!("expected a store error, got {other:?}"),
        }
        assert_eq!(answer(&cache, &loaded.module), 42);
    }
}
