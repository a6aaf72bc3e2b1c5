//! Package snapshots with extension modules (side modules) on the real
//! Pyodide 314 binary: a snapshot made with msgpack or pydantic imported
//! records the loaded libraries; a restore places them again at their
//! bases without re-running their initialisation, the extension works and
//! is not loaded twice; a restore given other packages is refused. The
//! `GOT` values the side modules got are recorded and set again, not
//! resolved; a recording that does not fit is refused. `importlib.metadata`'s
//! index of `sys.path`, built in the snapshot, is used after a restore.
//!
//! Wheels are fetched once with `pip download` into
//! `<pyworkerd cache>/test-wheels/`, as in `packages.rs`.

mod common;
use common::wheel;

use anyhow::{Context, Result};
use pyodide_entrypoint::{
    Error, Interpreter, InterpreterConfig, OutputSink, Packages, Runtime, RuntimeOptions,
    SharedBuffer, Snapshot, SnapshotKind, SnapshotRequest,
};
use pyodide_packages::install::Wheel;

/// Runs on a thread with a large stack, as the runtime asks of callers.
fn on_big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    pyodide_entrypoint::spawn_interpreter_thread(f)
        .unwrap()
        .join()
        .unwrap()
}

fn packages(requirements: &[(&str, bool)]) -> Result<Packages> {
    let wheels = requirements
        .iter()
        .map(|(r, pure)| Ok(Wheel::open(&wheel("314.0.7", r, *pure)?, None)?))
        .collect::<Result<Vec<_>>>()?;
    Ok(Packages {
        wheels,
        ..Packages::default()
    })
}

/// A package snapshot, continued from the baseline, with `packages`
/// mounted and `imports` imported.
fn package_snapshot(
    runtime: &Runtime,
    packages: &Packages,
    imports: &[&str],
    path: &std::path::Path,
) -> Result<Snapshot> {
    let baseline = runtime.baseline_snapshot()?;
    Ok(runtime.create_snapshot(
        &SnapshotRequest {
            kind: SnapshotKind::Package,
            imports: imports.iter().map(|s| s.to_string()).collect(),
            module: None,
            packages: packages.clone(),
        },
        Some(&baseline),
        path,
    )?)
}

struct Restored {
    interpreter: Interpreter,
    stdout: SharedBuffer,
}

impl Restored {
    fn new(runtime: &Runtime, snapshot: &Snapshot, packages: Packages) -> Result<Self, Error> {
        let stdout = SharedBuffer::new();
        let interpreter = Interpreter::restore(
            runtime,
            snapshot,
            InterpreterConfig {
                stdout: OutputSink::Capture(stdout.clone()),
                packages,
                ..Default::default()
            },
        )?;
        Ok(Restored {
            interpreter,
            stdout,
        })
    }

    fn run(&mut self, code: &str) -> Result<String> {
        let before = self.stdout.contents().len();
        self.interpreter.run(code, &[])?;
        Ok(String::from_utf8_lossy(&self.stdout.contents()[before..]).into_owned())
    }
}

const MSGPACK_CHECKS: &str = r#"
import sys
print("already imported:", "msgpack._cmsgpack" in sys.modules)
import msgpack, msgpack._cmsgpack
assert msgpack.Packer is msgpack._cmsgpack.Packer, "the C extension is in use"
data = {"a": [1, 2.5, None, True, "é", b"\x00\xff"], "n": {"deep": [[[-(2**63)], 2**64 - 1]]}}
packed = msgpack.packb(data)
assert msgpack.unpackb(packed) == data, msgpack.unpackb(packed)
ext = msgpack.ExtType(5, b"xyz")
assert msgpack.unpackb(msgpack.packb([ext])) == [ext]
try:
    msgpack.unpackb(b"\xc1")
except Exception as e:
    print("bad:", type(e).__name__)
print("msgpack ok", packed.hex())
"#;

/// `msgpack.packb` of the checks' data, from msgpack's pure-Python
/// implementation on a native CPython.
const PACKED_HEX: &str = "82a1619601cb4004000000000000c0c3a2c3a9c40200ffa16e81a464656570919291d38000000000000000cfffffffffffffffff";

/// A runtime, the msgpack wheel, and a package snapshot with msgpack
/// imported (in the returned directory).
fn msgpack_snapshot() -> Result<(Runtime, Packages, tempfile::TempDir, Snapshot)> {
    let runtime = Runtime::new(RuntimeOptions {
        version: "314.0.7".to_owned(),
        ..Default::default()
    })?;
    let msgpack = packages(&[("msgpack==1.2.4", false)])?;
    let dir = tempfile::tempdir()?;
    let snapshot = package_snapshot(
        &runtime,
        &msgpack,
        &["msgpack"],
        &dir.path().join("msgpack.snap"),
    )?;
    Ok((runtime, msgpack, dir, snapshot))
}

#[test]
fn a_msgpack_package_snapshot_restores_its_c_extension_without_loading_it_again() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let (runtime, msgpack, _dir, snapshot) = msgpack_snapshot()?;
        let recorded: Vec<String> = snapshot
            .side_modules()
            .iter()
            .map(|m| m.path.clone())
            .collect();
        assert!(
            recorded.iter().any(|p| p.contains("_cmsgpack")),
            "{recorded:?}"
        );
        // Each is recorded by content: its SHA-256 and `dylink.0` header.
        for module in snapshot.side_modules() {
            assert!(
                module.header.starts_with(b"\0asm") && module.header.len() < 4096,
                "{}: {} header bytes",
                module.path,
                module.header.len()
            );
        }
        assert_eq!(snapshot.packages().len(), 1);
        assert!(
            snapshot.packages()[0]
                .file_name
                .starts_with("msgpack-1.2.4-")
        );

        // Two interpreters from one snapshot: each gets the libraries at
        // the recorded bases and a working extension.
        for _ in 0..2 {
            let mut py = Restored::new(&runtime, &snapshot, msgpack.clone())?;
            let restored = py.interpreter.loaded_libraries();
            assert_eq!(
                restored
                    .iter()
                    .map(|l| (
                        l.path.clone(),
                        u64::from(l.bases.memory_base),
                        u64::from(l.bases.table_base)
                    ))
                    .collect::<Vec<_>>(),
                snapshot
                    .side_modules()
                    .iter()
                    .map(|m| (m.path.clone(), m.memory_base, m.table_base))
                    .collect::<Vec<_>>()
            );
            let out = py.run(MSGPACK_CHECKS)?;
            assert_eq!(
                out,
                format!("already imported: True\nbad: FormatError\nmsgpack ok {PACKED_HEX}\n")
            );
            // Importing again (and reloading the submodule's spec) does
            // not load the library a second time.
            py.run(
                "import importlib, msgpack._cmsgpack as c\n\
                 spec = importlib.util.find_spec('msgpack._cmsgpack')\n\
                 m = importlib.util.module_from_spec(spec)\n\
                 assert m.Packer is not None\n",
            )?;
            assert_eq!(py.interpreter.loaded_libraries(), restored);
            // The compiled side modules stay in the runtime's memory, by
            // content: the next restore reads no file for them.
            for module in snapshot.side_modules() {
                assert!(
                    runtime.module_cache().is_shared(&module.sha256),
                    "{}",
                    module.path
                );
            }
        }

        // Other packages, or none, are refused with both lists named.
        let error = Restored::new(&runtime, &snapshot, Packages::default())
            .err()
            .context("a restore without the snapshot's packages succeeded")?;
        let message = error.to_string();
        assert!(
            matches!(error, Error::SnapshotPackages { .. })
                && message.contains("msgpack-1.2.4-")
                && message.contains("given 'none'"),
            "{message}"
        );
        let other = packages(&[("typing-extensions==4.16.0", true)])?;
        let error = Restored::new(&runtime, &snapshot, other)
            .err()
            .context("a restore with other packages succeeded")?;
        let message = error.to_string();
        assert!(
            matches!(error, Error::SnapshotPackages { .. })
                && message.contains("typing_extensions-4.16.0-"),
            "{message}"
        );
        Ok(())
    })
}

fn pydantic_packages() -> Result<Packages> {
    packages(&[
        ("pydantic_core==2.50.4", false),
        ("pydantic==2.14.3", true),
        ("typing-extensions==4.16.0", true),
        ("typing-inspection==0.4.5", true),
        ("annotated-types==0.8.0", true),
    ])
}

#[test]
fn a_pydantic_package_snapshot_validates_models_after_restore() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let runtime = Runtime::new(RuntimeOptions {
            version: "314.0.7".to_owned(),
            ..Default::default()
        })?;
        let pydantic = pydantic_packages()?;
        let dir = tempfile::tempdir()?;
        // `pydantic.fields` imports `pydantic.types`, whose `Secret` builds
        // a serializer at import (a hash seed drawn by `pydantic_core`,
        // which the entropy policy allows).
        let snapshot = package_snapshot(
            &runtime,
            &pydantic,
            &["pydantic", "pydantic.fields"],
            &dir.path().join("pydantic.snap"),
        )?;
        assert!(
            snapshot
                .side_modules()
                .iter()
                .any(|m| m.path.contains("_pydantic_core")),
            "{:?}",
            snapshot.side_modules()
        );
        let mut py = Restored::new(&runtime, &snapshot, pydantic)?;
        let libraries = py.interpreter.loaded_libraries();
        let out = py.run(
            r#"
import sys, datetime
print("already imported:", "pydantic_core._pydantic_core" in sys.modules)
from pydantic import BaseModel, Field, ValidationError
class Item(BaseModel):
    name: str
    tags: list[str] = []
class Order(BaseModel):
    id: int = Field(gt=0)
    when: datetime.datetime
    items: list[Item]
o = Order(id="3", when="2024-05-06T07:08:09Z", items=[{"name": "x", "tags": ["a"]}])
print(o.model_dump_json())
try:
    Order(id=0, when="soon", items=[{}])
except ValidationError as e:
    print(e.error_count(), sorted(".".join(map(str, err["loc"])) for err in e.errors()))
    print(e.errors()[0]["msg"])
"#,
        )?;
        assert_eq!(
            out,
            "already imported: True\n\
             {\"id\":3,\"when\":\"2024-05-06T07:08:09Z\",\"items\":[{\"name\":\"x\",\"tags\":[\"a\"]}]}\n\
             3 ['id', 'items.0.name', 'when']\n\
             Input should be greater than 0\n"
        );
        assert_eq!(py.interpreter.loaded_libraries(), libraries);

        // The values of the GOT entries the loader made for the side
        // modules are recorded (a restore sets them instead of resolving
        // them); a recording that does not fit the libraries is refused.
        let sidecar_bytes = std::fs::read(snapshot.path())?;
        let mut sidecar = pyodide_snapshot::sidecar::decode_sidecar(
            &sidecar_bytes,
            &runtime.snapshot_identity(),
        )?;
        assert!(
            sidecar.got.len() > 10,
            "{} GOT entries recorded",
            sidecar.got.len()
        );
        let (name, _) = sidecar.got.pop().context("a GOT entry")?;
        let damaged = dir.path().join("damaged.snap");
        std::fs::write(
            &damaged,
            pyodide_snapshot::sidecar::encode_sidecar(&sidecar)?,
        )?;
        std::fs::copy(
            pyodide_entrypoint::artifact_path(snapshot.path()),
            pyodide_entrypoint::artifact_path(&damaged),
        )?;
        let damaged = Snapshot::load(&runtime, &damaged)?;
        let error = Restored::new(&runtime, &damaged, pydantic_packages()?)
            .err()
            .context("a restore missing a GOT value succeeded")?;
        let message = error.to_string();
        assert!(
            message.contains(&format!(
                "the recorded GOT entry '{name}' has no recorded value"
            )),
            "{message}"
        );
        Ok(())
    })
}

#[test]
fn the_distribution_index_made_in_a_snapshot_is_used_after_a_restore() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let (runtime, msgpack, _dir, snapshot) = msgpack_snapshot()?;
        // Reading the standard library's archive again would fail: the
        // index of it is the snapshot's. The archive is closed (the next
        // descriptor is 3).
        let checks = r#"
import importlib.metadata, os, zipfile
def refuse(*args, **kwargs):
    raise AssertionError("the standard library archive was read again")
zipfile.ZipFile._RealGetContents = refuse
print(importlib.metadata.version("msgpack"))
print(sorted(d.metadata["Name"] for d in importlib.metadata.distributions()))
fd = os.open("/tmp/probe", os.O_CREAT | os.O_WRONLY)
print("next descriptor", fd)
os.close(fd)
"#;
        let mut py = Restored::new(&runtime, &snapshot, msgpack.clone())?;
        assert_eq!(py.run(checks)?, "1.2.4\n['msgpack']\nnext descriptor 3\n");
        // Packages mounted after a baseline (whose index saw no packages)
        // are found: the mount changed the directory the index is keyed on.
        let baseline = runtime.baseline_snapshot()?;
        let mut py = Restored::new(&runtime, &baseline, msgpack)?;
        assert_eq!(
            py.run("import importlib.metadata\nprint(importlib.metadata.version('msgpack'))\n")?,
            "1.2.4\n"
        );
        Ok(())
    })
}
