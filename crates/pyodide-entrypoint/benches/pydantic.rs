//! `import pydantic` and a first validated model on Pyodide 314: cold
//! against restored from a package snapshot. Target: from the snapshot,
//! under 5 ms to the first validated model.
//!
//! Setup (outside the timings): a runtime, the pydantic wheels (from
//! `<pyworkerd cache>/test-wheels/`, where the packages tests fetch them),
//! and a package snapshot made from the baseline with them mounted and
//! [`IMPORTS`] imported — `pydantic` and what a first `BaseModel`
//! subclass imports lazily (`pydantic.main`, `pydantic.fields`,
//! `pydantic.types`, the schema generator, the plugin loader, and the
//! stdlib modules they pull in), as `pyworkerd snapshot --import` would —
//! loaded once (its compiled module mapped). No model is defined in the
//! snapshot.
//!
//! Measured (each ends with a model class defined and an instance
//! validated through the driver):
//! - `cold`: [`Interpreter::boot`] with the wheels, `import pydantic`
//!   (loads `_pydantic_core`: relocations, constructors; compiles
//!   pydantic's sources, which the wheels ship without bytecode), a model
//!   class defined and validated;
//! - `baseline + mount`: the baseline restored, the wheels mounted after
//!   it, then the same (what `pyworkerd run --package` does);
//! - `package snapshot`: restored from the snapshot (pydantic and its side
//!   module already there, placed at their bases without init, in its
//!   replay form, with the `GOT` values the snapshot recorded; the compiled
//!   code from the module cache's memory after the first restore;
//!   `importlib.metadata`'s index of `sys.path` made in the snapshot), then
//!   a model class defined and validated: pydantic's plugin loader reads
//!   the installed distributions' entry points, and the class's core schema
//!   and validator are built here.
//!
//! - `package snapshot: restore only`: the restore alone.
//!
//! The first sample of a case in the process is a warm-up, so the side
//! module is in memory when measuring. Each interpreter is dropped before
//! the next is made, outside the timing (`BatchSize::PerIteration`: a
//! runtime holds at most 256 at once), as a server serving requests from
//! one snapshot does: the runtime's default `warm_slots` leaves the pages
//! the last interpreter wrote resident in the slot the next restore uses,
//! so the measured restores take no copy-on-write page faults on them.
//! A process that restores once (`pyworkerd run`) pays ~1,300 faults more
//! here (≈ 10 ms in all, measured with `warm_slots` off).

use criterion::{BatchSize, Criterion, criterion_group};
use pyodide_entrypoint::{
    Interpreter, InterpreterConfig, Packages, Runtime, RuntimeOptions, SnapshotKind,
    SnapshotRequest,
};
use pyodide_packages::install::Wheel;

const WHEELS: &[&str] = &[
    "pydantic_core-2.50.4-cp314",
    "pydantic-2.14.3-",
    "typing_extensions-4.16.0-",
    "typing_inspection-0.4.5-",
    "annotated_types-0.8.0-",
];

/// What the package snapshot imports: `pydantic` and the modules a first
/// model class and validation import after it (measured: the difference in
/// `sys.modules` around [`VALIDATE`] after `import pydantic`).
const IMPORTS: &[&str] = &[
    "pydantic",
    "pydantic.main",
    "pydantic.fields",
    "pydantic.types",
    "pydantic.config",
    "pydantic.functional_validators",
    "pydantic.json_schema",
    "pydantic._internal._generate_schema",
    "pydantic._internal._model_construction",
    "pydantic._internal._validators",
    "pydantic._internal._discriminated_union",
    "pydantic._internal._signature",
    "pydantic._internal._schema_gather",
    "pydantic._internal._docs_extraction",
    "pydantic.plugin._loader",
    "pydantic.plugin._schema_validator",
    "annotated_types",
    "zoneinfo",
    "uuid",
    "secrets",
    "encodings.cp437",
];

const VALIDATE: &str = "import pydantic\n\
class M(pydantic.BaseModel):\n    id: int\n    name: str\n\
assert M.model_validate({'id': '3', 'name': 'x'}).id == 3\n";

/// `interpreter` after running [`VALIDATE`] (returned, to be dropped
/// outside the timing).
fn validated(mut interpreter: Interpreter) -> Interpreter {
    interpreter.run(VALIDATE, &[]).expect("validate");
    interpreter
}

fn packages() -> Packages {
    let dir = pyodide_packages::dist::cache_root()
        .expect("cache root")
        .join("test-wheels");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("run the packages tests first: they fetch the wheels")
        .flatten()
        .map(|e| e.path())
        .collect();
    let wheels = WHEELS
        .iter()
        .map(|prefix| {
            let path = files
                .iter()
                .find(|p| {
                    p.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .starts_with(prefix)
                })
                .unwrap_or_else(|| panic!("a wheel '{prefix}*' in {}", dir.display()));
            Wheel::open(path, None).expect("wheel")
        })
        .collect();
    Packages {
        wheels,
        ..Packages::default()
    }
}

fn pydantic(c: &mut Criterion) {
    let runtime = Runtime::new(RuntimeOptions {
        version: "314.0.7".to_owned(),
        ..Default::default()
    })
    .expect("runtime");
    let packages = packages();
    let baseline = runtime.baseline_snapshot().expect("baseline snapshot");
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = runtime
        .create_snapshot(
            &SnapshotRequest {
                kind: SnapshotKind::Package,
                imports: IMPORTS.iter().map(|m| m.to_string()).collect(),
                module: None,
                packages: packages.clone(),
            },
            Some(&baseline),
            &dir.path().join("pydantic.snap"),
        )
        .expect("package snapshot");
    let config = || InterpreterConfig {
        packages: packages.clone(),
        ..Default::default()
    };

    let mut group = c.benchmark_group("pydantic first validation");
    group.sample_size(10);
    group.bench_function("package snapshot: restore only", |b| {
        b.iter_batched(
            || (),
            |()| Interpreter::restore(&runtime, &snapshot, config()).expect("restore"),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("package snapshot", |b| {
        b.iter_batched(
            || (),
            |()| validated(Interpreter::restore(&runtime, &snapshot, config()).expect("restore")),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("baseline + mount", |b| {
        b.iter_batched(
            || (),
            |()| validated(Interpreter::restore(&runtime, &baseline, config()).expect("restore")),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("cold", |b| {
        b.iter_batched(
            || (),
            |()| validated(Interpreter::boot(&runtime, config()).expect("boot")),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, pydantic);

/// Wasm frames run on the calling thread's stack: run the benchmarks on a
/// thread with the recommended stack.
fn main() {
    pyodide_entrypoint::spawn_interpreter_thread(|| {
        benches();
        Criterion::default().configure_from_args().final_summary();
    })
    .expect("bench thread")
    .join()
    .expect("benchmarks panicked");
}
