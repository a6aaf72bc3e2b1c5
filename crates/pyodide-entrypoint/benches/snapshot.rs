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
//! Each iteration's interpreter is dropped before the next starts, outside
//! the timing (`BatchSize::PerIteration`), as a server ends one request's
//! instance before it serves another: the engine's pooling allocator gives
//! the next restore the slot just freed, still mapped, with the pages the
//! last instance wrote copied back from the image rather than unmapped
//! (all of them, joined into few runs as the instance ends: the runtime's
//! default `warm_slots`).
//! The cost of a restore into a slot never used before (every instance
//! alive at once) is the density section's time per instance.
//!
//! Memory per instance is not something criterion reports: `cargo xtask
//! bench` has a density section for it (`examples/density.rs`).

use criterion::{BatchSize, Criterion, criterion_group};
use pyodide_entrypoint::{Interpreter, InterpreterConfig, Runtime, RuntimeOptions};

fn snapshot(c: &mut Criterion) {
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let snapshot = runtime.baseline_snapshot().expect("baseline snapshot");

    let mut group = c.benchmark_group("snapshot");
    // Dropping an interpreter (resetting its memory slot) is left out of
    // the timings.
    group.bench_function("restore", |b| {
        b.iter_batched(
            || (),
            |()| {
                Interpreter::restore(&runtime, &snapshot, InterpreterConfig::default())
                    .expect("restore")
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("restore + 1+1", |b| {
        b.iter_batched(
            || (),
            |()| {
                let mut interpreter =
                    Interpreter::restore(&runtime, &snapshot, InterpreterConfig::default())
                        .expect("restore");
                interpreter.run("1+1", &[]).expect("1+1");
                interpreter
            },
            BatchSize::PerIteration,
        )
    });
    group.sample_size(10);
    group.bench_function("boot + 1+1", |b| {
        b.iter_batched(
            || (),
            |()| {
                let mut interpreter =
                    Interpreter::boot(&runtime, InterpreterConfig::default()).expect("boot");
                interpreter.run("1+1", &[]).expect("1+1");
                interpreter
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, snapshot);

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
