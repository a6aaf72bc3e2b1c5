//! Packages with C and Rust extensions (side modules loaded by the dynamic
//! linker) on the real Pyodide binaries: msgpack and pydantic_core on 314,
//! msgpack and dummy-pyodide-ext-test on 0.29.3, and the linker's failure
//! paths (a missing library, a symbol nobody defines).
//!
//! Wheels are fetched once with `pip download` into
//! `<pyworkerd cache>/test-wheels/` and installed through
//! `InterpreterConfig::packages` (mounted from their zip bytes).

mod common;
use common::wheel;

use std::process::Command;

use anyhow::{Result, bail};
use pyodide_entrypoint::{
    Interpreter, InterpreterConfig, Mount, OutputSink, Packages, RunError, Runtime, RuntimeOptions,
    SharedBuffer,
};
use pyodide_packages::install::Wheel;

struct Py {
    interpreter: Interpreter,
    stdout: SharedBuffer,
    _dir: Option<tempfile::TempDir>,
}

impl Py {
    fn run(&mut self, code: &str) -> Result<String, RunError> {
        let before = self.stdout.contents().len();
        self.interpreter.run(code, &[])?;
        Ok(String::from_utf8_lossy(&self.stdout.contents()[before..]).into_owned())
    }
}

/// An interpreter with `requirements` installed the way `pyworkerd run
/// --package` installs them: wheels mounted from their zip bytes.
fn boot(version: &str, requirements: &[(&str, bool)]) -> Result<Py> {
    let wheels = requirements
        .iter()
        .map(|(r, pure)| Ok(Wheel::open(&wheel(version, r, *pure)?, None)?))
        .collect::<Result<Vec<_>>>()?;
    let runtime = Runtime::new(RuntimeOptions {
        version: version.to_owned(),
        ..Default::default()
    })?;
    let stdout = SharedBuffer::new();
    let config = InterpreterConfig {
        stdout: OutputSink::Capture(stdout.clone()),
        packages: Packages {
            wheels,
            ..Packages::default()
        },
        ..Default::default()
    };
    let interpreter = Interpreter::boot(&runtime, config)?;
    Ok(Py {
        interpreter,
        stdout,
        _dir: None,
    })
}

/// Runs on a thread with a large stack, as the runtime asks of callers.
fn on_big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    pyodide_entrypoint::spawn_interpreter_thread(f)
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

fn uleb(mut v: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn string(s: &str, out: &mut Vec<u8>) {
    uleb(s.len() as u32, out);
    out.extend_from_slice(s.as_bytes());
}

/// What a side module's `dylink.0` says.
#[derive(Default)]
struct Dylink<'a> {
    mem_size: u32,
    mem_p2align: u32,
    needed: &'a [&'a str],
    weak: &'a [(&'a str, &'a str)],
    runtime_paths: &'a [&'a str],
}

/// Compiles `wat` and puts a `dylink.0` custom section first, as
/// `wasm-ld -shared` does.
fn side_module(wat: &str, dylink: &Dylink<'_>) -> Result<Vec<u8>> {
    let wasm = wat::parse_str(wat)?;
    let mut body = Vec::new();
    string("dylink.0", &mut body);
    let mut sub = |kind: u8, payload: Vec<u8>| {
        body.push(kind);
        uleb(payload.len() as u32, &mut body);
        body.extend(payload);
    };
    let mut mem = Vec::new();
    for v in [dylink.mem_size, dylink.mem_p2align, 0, 0] {
        uleb(v, &mut mem);
    }
    sub(1, mem);
    let strings = |list: &[&str]| {
        let mut out = Vec::new();
        uleb(list.len() as u32, &mut out);
        for s in list {
            string(s, &mut out);
        }
        out
    };
    sub(2, strings(dylink.needed));
    let mut imports = Vec::new();
    uleb(dylink.weak.len() as u32, &mut imports);
    for (module, field) in dylink.weak {
        string(module, &mut imports);
        string(field, &mut imports);
        uleb(1, &mut imports);
    }
    sub(4, imports);
    sub(5, strings(dylink.runtime_paths));
    let mut out = wasm[..8].to_vec();
    out.push(0);
    uleb(body.len() as u32, &mut out);
    out.extend(body);
    out.extend_from_slice(&wasm[8..]);
    Ok(out)
}

/// A library that needs another (found through its `$ORIGIN` runtime
/// path), has data, a constructor, a weak import, GOT entries for a main
/// module function and data symbol, and an import nobody defines.
const LIBRARY: &str = r#"
(module
  (import "env" "memory" (memory 0))
  (import "env" "__indirect_function_table" (table 0 funcref))
  (import "env" "__memory_base" (global $mb i32))
  (import "env" "__table_base" (global $tb i32))
  (import "GOT.func" "PyObject_GenericGetAttr" (global $gga (mut i32)))
  (import "GOT.mem" "PyBaseObject_Type" (global $object (mut i32)))
  (import "GOT.mem" "pyworkerd_weak_nothing" (global $weak (mut i32)))
  (import "env" "pyworkerd_no_such_function" (func $missing (result i32)))
  (import "env" "dep_value" (func $dep (result i32)))
  (data (global.get $mb) "\2a\00\00\00\00\00\00\00")
  (func (export "__wasm_call_ctors")
    (i32.store (i32.add (global.get $mb) (i32.const 4)) (i32.const 7)))
  (func (export "ok") (result i32) (i32.const 42))
  (func (export "ctor_ran") (result i32) (i32.load (i32.add (global.get $mb) (i32.const 4))))
  (func (export "generic_getattr") (result i32) (global.get $gga))
  (func (export "object_type") (result i32) (global.get $object))
  (func (export "weak_nothing") (result i32) (global.get $weak))
  (func (export "call_missing") (result i32) (call $missing))
  (func (export "call_dep") (result i32) (call $dep))
  (global (export "answer") i32 (i32.const 0)))
"#;

const DEPENDENCY: &str = r#"
(module
  (func (export "dep_value") (result i32) (i32.const 1234)))
"#;

fn boot_with_libraries() -> Result<Py> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("deps"))?;
    std::fs::write(
        dir.path().join("libdyltest.so"),
        side_module(
            LIBRARY,
            &Dylink {
                mem_size: 8,
                mem_p2align: 2,
                needed: &["libdyldep.so"],
                weak: &[("GOT.mem", "pyworkerd_weak_nothing")],
                runtime_paths: &["$ORIGIN/deps"],
            },
        )?,
    )?;
    std::fs::write(dir.path().join("not-wasm.so"), "not a wasm module")?;
    std::fs::write(
        dir.path().join("deps/libdyldep.so"),
        side_module(DEPENDENCY, &Dylink::default())?,
    )?;
    let runtime = Runtime::new(RuntimeOptions::default())?;
    let stdout = SharedBuffer::new();
    let config = InterpreterConfig {
        stdout: OutputSink::Capture(stdout.clone()),
        mounts: vec![Mount {
            host: dir.path().to_owned(),
            guest: "/dyltest".to_owned(),
            writable: false,
        }],
        ..Default::default()
    };
    let interpreter = Interpreter::boot(&runtime, config)?;
    Ok(Py {
        interpreter,
        stdout,
        _dir: Some(dir),
    })
}

#[test]
fn side_modules_link_against_the_main_module_and_each_other() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let mut py = boot_with_libraries()?;
        let out = py.run(
            r#"
import ctypes
lib = ctypes.CDLL("/dyltest/libdyltest.so")
print(lib.ok(), lib.ctor_ran(), lib.call_dep(), lib.weak_nothing())
print(ctypes.c_int.in_dll(lib, "answer").value)
gga = ctypes.cast(ctypes.pythonapi.PyObject_GenericGetAttr, ctypes.c_void_p).value
tp_getattro = ctypes.c_void_p.from_address(id(object) + 72).value
print(lib.generic_getattr() == gga == tp_getattro, lib.object_type() == id(object))
try:
    lib.not_exported
except AttributeError as e:
    print(e)
"#,
        )?;
        assert_eq!(
            out,
            "42 7 1234 0\n42\nTrue True\n\
             Tried to lookup unknown symbol \"not_exported\" in dynamic lib: /dyltest/libdyltest.so\n"
        );
        Ok(())
    })
}

#[test]
fn an_undefined_symbol_fails_when_called_with_its_name() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let mut py = boot_with_libraries()?;
        // Loading succeeds; only the call fails.
        let out =
            py.run("import ctypes\nlib = ctypes.CDLL('/dyltest/libdyltest.so')\nprint(lib.ok())")?;
        assert_eq!(out, "42\n");
        let error = py.run("lib.call_missing()").unwrap_err();
        let text = format!("{:?}", anyhow::Error::from(error));
        assert!(
            text.contains("undefined symbol 'pyworkerd_no_such_function' called"),
            "{text}"
        );
        Ok(())
    })
}

#[test]
fn a_missing_library_is_an_import_error_naming_it() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let mut py = boot_with_libraries()?;
        let out = py.run(
            r#"
import importlib.machinery, importlib.util
path = "/dyltest/ghost.cpython-314-wasm32-emscripten.so"
loader = importlib.machinery.ExtensionFileLoader("ghost", path)
try:
    importlib.util.module_from_spec(importlib.util.spec_from_file_location("ghost", path, loader=loader))
except ImportError as e:
    print(e)
    print(e.path)
import ctypes
try:
    ctypes.CDLL("/dyltest/not-wasm.so")
except OSError as e:
    print(e)
"#,
        )?;
        assert_eq!(
            out,
            "could not load dynamic lib: /dyltest/ghost.cpython-314-wasm32-emscripten.so\n\
             no such file '/dyltest/ghost.cpython-314-wasm32-emscripten.so'\n\
             /dyltest/ghost.cpython-314-wasm32-emscripten.so\n\
             could not load dynamic lib: /dyltest/not-wasm.so\n\
             malformed dylink.0 section in '/dyltest/not-wasm.so': not a wasm module\n"
        );
        Ok(())
    })
}

#[test]
fn preloaded_libraries_are_recorded_in_load_order_and_reused_by_import() -> Result<()> {
    on_big_stack(|| -> Result<()> {
        let mut py = boot("314.0.7", &[("msgpack==1.2.4", false)])?;
        assert!(py.interpreter.loaded_libraries().is_empty());
        let path =
            "/lib/python3.14/site-packages/msgpack/_cmsgpack.cpython-314-wasm32-emscripten.so";
        let loaded = py.interpreter.load_library(
            "/lib/python3.14/site-packages/msgpack/../msgpack/_cmsgpack.cpython-314-wasm32-emscripten.so",
            Default::default(),
        )?;
        assert_eq!(loaded.path, path);
        assert!(loaded.mem_size > 0 && loaded.table_size > 0, "{loaded:?}");
        assert!(loaded.bases.memory_base > 0 && loaded.bases.table_base > 0);
        assert_eq!(loaded.bases.memory_base % 16, 0, "aligned as dylink.0 asks");
        assert!(loaded.handles.is_empty() && !loaded.global);
        // The import finds the library loaded: still one, now with the
        // `struct dso` handle CPython's dlopen made for it.
        let out = py.run(MSGPACK_CHECKS)?;
        assert!(
            out.ends_with(&format!("msgpack ok {PACKED_HEX}\n")),
            "{out}"
        );
        let libraries = py.interpreter.loaded_libraries();
        assert_eq!(libraries.len(), 1, "{libraries:?}");
        assert_eq!(libraries[0].bases, loaded.bases);
        assert_eq!(libraries[0].handles.len(), 1);
        Ok(())
    })
}

/// A zip of `files` (name, contents) made with python3's zipfile.
fn zip_of(path: &std::path::Path, files: &[(&str, &str)]) -> Result<std::sync::Arc<[u8]>> {
    let mut args = vec![path.to_string_lossy().into_owned()];
    for (name, contents) in files {
        args.push((*name).to_owned());
        args.push((*contents).to_owned());
    }
    let status = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z:\n    \
             for name, text in zip(sys.argv[2::2], sys.argv[3::2]):\n        z.writestr(name, text)",
        ])
        .args(&args)
        .status()?;
    if !status.success() {
        bail!("python3 zipfile failed: {status}");
    }
    Ok(std::fs::read(path)?.into())
}

#[test]
fn library_archives_go_where_their_install_dir_says_beside_wheels() -> Result<()> {
    use pyodide_packages::install::LibraryArchive;
    use pyodide_packages::lock::InstallDir;
    use pyodide_packages::source::ResolvedLibrary;
    let dir = tempfile::tempdir()?;
    let library = |file: &str, install_dir: InstallDir, files: &[(&str, &str)]| -> Result<_> {
        let path = dir.path().join(file);
        let bytes = zip_of(&path, files)?;
        Ok(ResolvedLibrary {
            install_dir,
            project: file.split('-').next().unwrap_or(file).to_owned(),
            version: "1.0".to_owned(),
            url: format!("file://{}", path.display()),
            archive: LibraryArchive::from_bytes(file, &path.display().to_string(), bytes, None)?,
            path,
        })
    };
    let libraries = vec![
        // Installed into site-packages (refused before the one planner).
        library(
            "sitelib-1.0.zip",
            InstallDir::Site,
            &[("sitelib_mod.py", "VALUE = 'from site'\n")],
        )?,
        library(
            "libnothing-1.0.zip",
            InstallDir::Dynlib,
            &[("libnothing.so", "not loaded")],
        )?,
    ];
    let wheel = Wheel::open(&wheel("314.0.7", "typing-extensions==4.16.0", true)?, None)?;
    let stdout = on_big_stack(move || -> Result<String> {
        let runtime = Runtime::new(RuntimeOptions {
            version: "314.0.7".to_owned(),
            ..Default::default()
        })?;
        let stdout = SharedBuffer::new();
        let config = InterpreterConfig {
            stdout: OutputSink::Capture(stdout.clone()),
            packages: Packages {
                wheels: vec![wheel],
                libraries,
                ..Packages::default()
            },
            ..Default::default()
        };
        let mut interpreter = Interpreter::boot(&runtime, config)?;
        interpreter.run(
            "import os, sitelib_mod, typing_extensions\n\
             print(sitelib_mod.__file__, sitelib_mod.VALUE)\n\
             print(typing_extensions.__file__)\n\
             print(open('/usr/lib/libnothing.so').read())",
            &[],
        )?;
        Ok(String::from_utf8_lossy(&stdout.contents()).into_owned())
    })?;
    assert_eq!(
        stdout,
        "/lib/python3.14/site-packages/sitelib_mod.py from site\n\
         /lib/python3.14/site-packages/typing_extensions.py\n\
         not loaded\n"
    );
    Ok(())
}
