//! Packages with C and Rust extensions (side modules loaded by the dynamic
//! linker) on the real Pyodide binaries: msgpack and pydantic_core on 314,
//! msgpack and dummy-pyodide-ext-test on 0.29.3, and the linker's failure
//! paths (a missing library, a symbol nobody defines).
//!
//! Wheels are fetched once with `pip download` into
//! `<pyworkerd cache>/test-wheels/` and extracted into a temporary directory
//! mounted read-only at `site-packages`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use pyodide_entrypoint::{
    Interpreter, InterpreterConfig, Mount, OutputSink, RunError, Runtime, RuntimeOptions,
    SharedBuffer,
};

/// A wheel for Pyodide `version`'s platform (or pure Python when `pure`),
/// downloaded on first use.
fn wheel(version: &str, requirement: &str, pure: bool) -> Result<PathBuf> {
    let dir = pyodide_packages::dist::cache_root()?.join("test-wheels");
    std::fs::create_dir_all(&dir)?;
    let (name, exact) = requirement
        .split_once("==")
        .map_or((requirement, None), |(n, v)| (n, Some(v)));
    let (platform, python) = match version {
        "0.29.3" => ("pyemscripten_2025_0_wasm32", "3.13"),
        _ => ("pyemscripten_2026_0_wasm32", "3.14"),
    };
    let tag = format!("cp{}", python.replace('.', ""));
    let find = || -> Option<PathBuf> {
        let prefix = format!("{}-{}", name.replace('-', "_"), exact.unwrap_or(""));
        std::fs::read_dir(&dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let file = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                file.starts_with(&prefix)
                    && file.ends_with(".whl")
                    && (if pure {
                        file.ends_with("-none-any.whl")
                    } else {
                        file.contains(&tag) && file.contains(platform)
                    })
            })
    };
    if let Some(found) = find() {
        return Ok(found);
    }
    let mut pip = Command::new("python3");
    pip.args([
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "-d",
    ])
    .arg(&dir);
    if !pure {
        pip.args([
            "--platform",
            platform,
            "--python-version",
            python,
            "--implementation",
            "cp",
        ]);
    }
    let status = pip.arg(requirement).status().context("running pip")?;
    if !status.success() {
        bail!("pip download {requirement} failed: {status}");
    }
    find().with_context(|| format!("pip did not leave a wheel for {requirement}"))
}

/// Extracts wheels into one temporary site-packages directory.
fn site_packages(wheels: &[PathBuf]) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for wheel in wheels {
        let status = Command::new("python3")
            .args(["-m", "zipfile", "-e"])
            .arg(wheel)
            .arg(dir.path())
            .status()?;
        if !status.success() {
            bail!("cannot extract {}", wheel.display());
        }
    }
    Ok(dir)
}

struct Py {
    interpreter: Interpreter,
    stdout: SharedBuffer,
    _site: tempfile::TempDir,
}

impl Py {
    fn run(&mut self, code: &str) -> Result<String, RunError> {
        let before = self.stdout.contents().len();
        self.interpreter.run(code, &[])?;
        Ok(String::from_utf8_lossy(&self.stdout.contents()[before..]).into_owned())
    }
}

fn boot_with(version: &str, site: tempfile::TempDir) -> Result<Py> {
    let runtime = Runtime::new(RuntimeOptions {
        version: version.to_owned(),
        ..Default::default()
    })?;
    let python = if version == "0.29.3" { "3.13" } else { "3.14" };
    let stdout = SharedBuffer::new();
    let config = InterpreterConfig {
        stdout: OutputSink::Capture(stdout.clone()),
        mounts: vec![Mount {
            host: site.path().to_owned(),
            guest: format!("/lib/python{python}/site-packages"),
            writable: false,
        }],
        ..Default::default()
    };
    let interpreter = Interpreter::boot(&runtime, config)?;
    Ok(Py {
        interpreter,
        stdout,
        _site: site,
    })
}

fn boot(version: &str, requirements: &[(&str, bool)]) -> Result<Py> {
    let wheels = requirements
        .iter()
        .map(|(r, pure)| wheel(version, r, *pure))
        .collect::<Result<Vec<_>>>()?;
    boot_with(version, site_packages(&wheels)?)
}

/// Runs on a thread with a large stack, as the runtime asks of callers.
fn on_big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(pyodide_entrypoint::RECOMMENDED_THREAD_STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

const MSGPACK_CHECKS: &str = r#"
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
try:
    msgpack.unpackb(b"\x93\x01")
except ValueError as e:
    print("short:", type(e).__name__)
print("msgpack ok", packed.hex())
"#;

/// `msgpack.packb` of the checks' data, from msgpack's pure-Python
/// implementation on a native CPython.
const PACKED_HEX: &str = "82a1619601cb4004000000000000c0c3a2c3a9c40200ffa16e81a464656570919291d38000000000000000cfffffffffffffffff";

#[test]
fn msgpack_round_trips_on_314() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let mut py = boot("314.0.7", &[("msgpack==1.2.4", false)])?;
        let out = py.run(MSGPACK_CHECKS)?;
        assert_eq!(
            out,
            "bad: FormatError\nshort: ValueError\nmsgpack ok {PACKED_HEX}\n"
                .replace("{PACKED_HEX}", PACKED_HEX)
        );
        Ok(())
    })
}

#[test]
fn msgpack_and_a_dummy_extension_on_0_29_3() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let mut py = boot(
            "0.29.3",
            &[
                ("msgpack==1.2.4", false),
                ("dummy-pyodide-ext-test==0.1.0", false),
            ],
        )?;
        let out = py.run(MSGPACK_CHECKS)?;
        assert_eq!(
            out,
            "bad: FormatError\nshort: ValueError\nmsgpack ok {PACKED_HEX}\n"
                .replace("{PACKED_HEX}", PACKED_HEX)
        );
        let out = py.run(
            "import dummy_pyodide_ext_test as d\nprint(d.hello(), d.add(2, 3), d.add(-7, 2**20))",
        )?;
        assert_eq!(
            out,
            format!("Hello from a Pyodide C extension! 5 {}\n", (1 << 20) - 7)
        );
        Ok(())
    })
}

#[test]
fn pydantic_core_validates_on_314() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let mut py = boot(
            "314.0.7",
            &[
                ("pydantic_core==2.50.4", false),
                ("typing-extensions==4.16.0", true),
            ],
        )?;
        let out = py.run(
            r#"
from pydantic_core import SchemaValidator, ValidationError, core_schema as cs
v = SchemaValidator(cs.typed_dict_schema({
    "name": cs.typed_dict_field(cs.str_schema(min_length=2)),
    "age": cs.typed_dict_field(cs.int_schema(ge=0)),
}))
print(v.validate_python({"name": "Ada", "age": "36"}))
print(v.validate_json(b'{"name": "Bo", "age": 7}'))
try:
    v.validate_python({"name": "A", "age": -1})
except ValidationError as e:
    print(e.error_count(), [err["type"] for err in e.errors()])
    print(str(e).splitlines()[0])
"#,
        )?;
        assert_eq!(
            out,
            "{'name': 'Ada', 'age': 36}\n{'name': 'Bo', 'age': 7}\n\
             2 ['string_too_short', 'greater_than_equal']\n\
             2 validation errors for typed-dict\n"
        );
        Ok(())
    })
}

#[test]
fn pydantic_models_on_314() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let mut py = boot(
            "314.0.7",
            &[
                ("pydantic_core==2.50.4", false),
                ("pydantic==2.14.3", true),
                ("typing-extensions==4.16.0", true),
                ("typing-inspection==0.4.5", true),
                ("annotated-types==0.8.0", true),
            ],
        )?;
        let out = py.run(
            r#"
import datetime
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
print(o.when.tzinfo is not None, o.model_dump()["items"][0])
try:
    Order(id=0, when="soon", items=[{}])
except ValidationError as e:
    print(e.error_count(), sorted(".".join(map(str, err["loc"])) for err in e.errors()))
"#,
        )?;
        assert_eq!(
            out,
            "{\"id\":3,\"when\":\"2024-05-06T07:08:09Z\",\"items\":[{\"name\":\"x\",\"tags\":[\"a\"]}]}\n\
             True {'name': 'x', 'tags': ['a']}\n\
             3 ['id', 'items.0.name', 'when']\n"
        );
        Ok(())
    })
}
