//! Restoring an interpreter from a snapshot, against booting one.
//!
//! Setup (outside the timings): a runtime for the default Pyodide and its
//! baseline snapshot (made on first use in the user cache), loaded once —
//! the compiled module mapped — as `pyworkerd run` loads it once per
//! process.
//!
//! Measured:
//! - `restore`: [`Interpreter::restore`] to a runnable interpreter
//!   (instantiate the mapped module, rebuild the file system, attach the
//!   driver, reseed); dropping it is not timed;
//! - `restore + 1+1`: the same, then `1+1` evaluated through the driver;
//! - `boot + 1+1`: [`Interpreter::boot`] (CPython initialised from
//!   scratch), then `1+1`, for comparison.
//!
//! Memory per instance is not something criterion reports: `cargo xtask
//! bench` has a density section for it (`examples/density.rs`).

use criterion::{Criterion, criterion_group};
use pyodide_entrypoint::{Interpreter, InterpreterConfig, Runtime, RuntimeOptions};

fn snapshot(c: &mut Criterion) {
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let snapshot = runtime.baseline_snapshot().expect("baseline snapshot");

    let mut group = c.benchmark_group("snapshot");
    // Dropping an interpreter (unmapping its memory) is left out of the
    // timings: `iter_with_large_drop`.
    group.bench_function("restore", |b| {
        b.iter_with_large_drop(|| {
            Interpreter::restore(&runtime, &snapshot, InterpreterConfig::default())
                .expect("restore")
        })
    });
    group.bench_function("restore + 1+1", |b| {
        b.iter_with_large_drop(|| {
            let mut interpreter =
                Interpreter::restore(&runtime, &snapshot, InterpreterConfig::default())
                    .expect("restore");
            interpreter.run("1+1", &[]).expect("1+1");
            interpreter
        })
    });
    group.sample_size(10);
    group.bench_function("boot + 1+1", |b| {
        b.iter_with_large_drop(|| {
            let mut interpreter =
                Interpreter::boot(&runtime, InterpreterConfig::default()).expect("boot");
            interpreter.run("1+1", &[]).expect("1+1");
            interpreter
        })
    });
    group.finish();
}

criterion_group!(benches, snapshot);

/// Wasm frames run on the calling thread's stack: run the benchmarks on a
/// thread with the recommended stack.
fn main() {
    std::thread::Builder::new()
        .stack_size(pyodide_entrypoint::RECOMMENDED_THREAD_STACK)
        .spawn(|| {
            benches();
            Criterion::default().configure_from_args().final_summary();
        })
        .expect("bench thread")
        .join()
        .expect("benchmarks panicked");
}
