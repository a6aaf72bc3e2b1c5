//! Loading msgpack's C extension (`_cmsgpack`, a 100 KB side module) into a
//! booted 314 interpreter with its compiled module already in the cache:
//! read the file from the guest file system, check the cache, map the
//! artifact, place data and table slots, resolve ~200 imports, instantiate,
//! fill the GOT, run relocations and constructors. Target: under 5 ms.
//!
//! Each iteration loads a fresh copy at a new path (a library is loaded
//! once per path), so every load does the whole work. The wheel comes from
//! `<pyworkerd cache>/test-wheels/` (the packages tests fetch it there).
//! Every 1,000 loads the bench boots a new interpreter (not timed): the
//! copies' table slots would otherwise outgrow the engine's table limit.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use pyodide_entrypoint::{
    Interpreter, InterpreterConfig, LoadOptions, Mount, Runtime, RuntimeOptions,
};

const SO: &str = "msgpack/_cmsgpack.cpython-314-wasm32-emscripten.so";

fn msgpack_so() -> Vec<u8> {
    let dir = pyodide_packages::dist::cache_root()
        .expect("cache root")
        .join("test-wheels");
    let wheel = std::fs::read_dir(&dir)
        .expect("run the packages tests first: they fetch the wheels")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("msgpack-1.2.4-cp314")
        })
        .expect("the msgpack 1.2.4 cp314 wheel in test-wheels");
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))"])
        .arg(&wheel)
        .arg(SO)
        .output()
        .expect("python3");
    assert!(out.status.success(), "cannot read {SO} from the wheel");
    out.stdout
}

/// Loads into one interpreter before the bench moves to a new one.
const LOADS_PER_INTERPRETER: usize = 1000;

fn load_msgpack(c: &mut Criterion) {
    let so = msgpack_so();
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let boot = || {
        Interpreter::boot(
            &runtime,
            InterpreterConfig {
                mounts: vec![Mount {
                    host: dir.path().to_owned(),
                    guest: "/bench".to_owned(),
                    writable: false,
                }],
                ..Default::default()
            },
        )
        .expect("boot")
    };
    let mut interpreter = boot();
    let mut loaded_here = 0usize;
    let mut next = 0u64;
    let mut copy = |dir: &std::path::Path| {
        next += 1;
        let name = format!("m{next}.so");
        std::fs::write(dir.join(&name), &so).expect("write a copy");
        format!("/bench/{name}")
    };
    // Compile once, outside the timing.
    let first = copy(dir.path());
    interpreter
        .load_library(&first, LoadOptions::default())
        .expect("first load");

    c.bench_function("dlopen/load msgpack _cmsgpack (cached compile)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // Each load takes 91 table slots: a fresh interpreter (not
                // timed) before the table reaches the engine's limit.
                if loaded_here == LOADS_PER_INTERPRETER {
                    interpreter = boot();
                    loaded_here = 0;
                }
                loaded_here += 1;
                let path = copy(dir.path());
                let start = Instant::now();
                interpreter
                    .load_library(&path, LoadOptions::default())
                    .expect("load");
                total += start.elapsed();
            }
            total
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = load_msgpack
}
criterion_main!(benches);
