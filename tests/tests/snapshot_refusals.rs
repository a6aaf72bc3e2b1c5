//! A snapshot that does not match is refused with an error saying which,
//! never accepted and never a crash: a truncated or damaged sidecar, an
//! unknown format version, another Pyodide release or engine, a truncated
//! or damaged compiled module. Each case damages a copy of the runtime's
//! baseline snapshot (made on first use in the user cache).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use pyodide_entrypoint::{Error, Runtime, RuntimeOptions, Snapshot, SnapshotError, artifact_path};
use pyodide_snapshot::sidecar::{decode_sidecar, encode_sidecar};

/// Runs on a thread with a large stack, as the runtime asks of callers
/// (making the baseline on first use runs Python).
fn on_big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    pyodide_entrypoint::spawn_interpreter_thread(f)
        .unwrap()
        .join()
        .unwrap()
}

/// A copy of the baseline (sidecar and module) in `dir`.
fn copy_of_baseline(runtime: &Runtime, dir: &Path) -> Result<PathBuf> {
    let original = runtime.baseline_snapshot()?;
    let copy = dir.join("copy.snap");
    std::fs::copy(original.path(), &copy)?;
    std::fs::copy(artifact_path(original.path()), artifact_path(&copy))?;
    Ok(copy)
}

/// Rewrites a file under a new inode (a mapped file must never change in
/// place).
fn rewrite(path: &Path, edit: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
    let mut bytes = std::fs::read(path)?;
    edit(&mut bytes);
    std::fs::remove_file(path)?;
    std::fs::write(path, bytes)?;
    Ok(())
}

fn load_error(runtime: &Runtime, path: &Path) -> Error {
    match Snapshot::load(runtime, path) {
        Ok(_) => panic!("a damaged snapshot at {} was accepted", path.display()),
        Err(error) => error,
    }
}

#[test]
fn each_kind_of_damage_is_its_own_error() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let runtime = Runtime::new(RuntimeOptions::default())?;
        let dir = tempfile::tempdir()?;
        let fresh = || copy_of_baseline(&runtime, dir.path());

        // The intact copy loads.
        let intact = fresh()?;
        Snapshot::load(&runtime, &intact).context("the intact copy must load")?;

        // Sidecar truncated.
        let path = fresh()?;
        rewrite(&path, |b| b.truncate(b.len() - 3))?;
        let err = load_error(&runtime, &path);
        assert!(
            matches!(err, Error::Snapshot(SnapshotError::Truncated { .. })),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("snapshot sidecar is truncated"),
            "{err}"
        );

        // A flipped byte in the sidecar's payload.
        let path = fresh()?;
        rewrite(&path, |b| {
            let at = b.len() - 10;
            b[at] ^= 0x20;
        })?;
        let err = load_error(&runtime, &path);
        assert!(
            matches!(err, Error::Snapshot(SnapshotError::ChecksumMismatch { .. })),
            "{err:?}"
        );

        // Another format version.
        let path = fresh()?;
        rewrite(&path, |b| b[8..12].copy_from_slice(&99u32.to_le_bytes()))?;
        let err = load_error(&runtime, &path);
        assert!(
            matches!(
                err,
                Error::Snapshot(SnapshotError::UnknownFormatVersion { found: 99, .. })
            ),
            "{err:?}"
        );

        // Made with another Pyodide, or another engine: re-encoded with a
        // valid checksum, so only the identity is wrong.
        let identity = runtime.snapshot_identity();
        for (edit, expect) in [
            (
                Box::new(|s: &mut pyodide_snapshot::Sidecar| {
                    s.identity.pyodide_version = "0.29.3".into()
                }) as Box<dyn Fn(&mut pyodide_snapshot::Sidecar)>,
                "snapshot was made with pyodide '0.29.3', expected '314.0.7'",
            ),
            (
                Box::new(|s: &mut pyodide_snapshot::Sidecar| s.identity.binary_sha256 = [1; 32]),
                "snapshot was made from another binary",
            ),
            (
                Box::new(|s: &mut pyodide_snapshot::Sidecar| {
                    s.identity.engine_fingerprint = [2; 32]
                }),
                "snapshot was made by another engine",
            ),
            (
                Box::new(|s: &mut pyodide_snapshot::Sidecar| {
                    s.identity.wasmtime_version = "47.0.0".into()
                }),
                "snapshot was made by another engine: wasmtime '47.0.0'",
            ),
        ] {
            let path = fresh()?;
            let mut sidecar = decode_sidecar(&std::fs::read(&path)?, &identity)?;
            edit(&mut sidecar);
            let bytes = encode_sidecar(&sidecar)?;
            std::fs::remove_file(&path)?;
            std::fs::write(&path, bytes)?;
            let err = load_error(&runtime, &path);
            assert!(matches!(err, Error::Snapshot(_)), "{err:?}");
            assert!(err.to_string().starts_with(expect), "{err}");
        }

        // The compiled module truncated, or with a flipped byte (in its
        // code, in its memory image, at its end).
        let path = fresh()?;
        rewrite(&artifact_path(&path), |b| b.truncate(b.len() / 2))?;
        let err = load_error(&runtime, &path);
        assert!(
            matches!(
                err,
                Error::Host(pyodide_emscripten::Error::BadArtifact {
                    truncated: true,
                    ..
                })
            ),
            "{err:?}"
        );
        for at in [0.1, 0.5, 0.999] {
            let path = fresh()?;
            rewrite(&artifact_path(&path), |b| {
                let i = (b.len() as f64 * at) as usize;
                b[i] ^= 0x01;
            })?;
            let err = load_error(&runtime, &path);
            assert!(
                matches!(
                    err,
                    Error::Host(pyodide_emscripten::Error::BadArtifact { checksum: true, .. })
                ),
                "{err:?}"
            );
            assert!(
                err.to_string()
                    .ends_with("its content does not match its checksum"),
                "{err}"
            );
        }

        // The module missing altogether.
        let path = fresh()?;
        std::fs::remove_file(artifact_path(&path))?;
        assert!(matches!(
            load_error(&runtime, &path),
            Error::Host(pyodide_emscripten::Error::BadArtifact { .. })
        ));
        Ok(())
    })
}

#[test]
fn a_runtime_of_another_pyodide_refuses_the_snapshot() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let current = Runtime::new(RuntimeOptions::default())?;
        let path = current.baseline_snapshot()?.path().to_owned();
        let other = Runtime::new(RuntimeOptions {
            version: "0.29.3".to_owned(),
            ..Default::default()
        })?;
        // 0.29.3 has snapshots of its own: a 314 one is refused by name.
        let err = Snapshot::load(&other, &path).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Snapshot(SnapshotError::OtherPyodideVersion { found, expected })
                    if found == "314.0.7" && expected == "0.29.3"
            ),
            "{err:?}"
        );
        Ok(())
    })
}
