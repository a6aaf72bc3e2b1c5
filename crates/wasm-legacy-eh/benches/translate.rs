//! Time to translate the real `pyodide.asm.wasm` (the pinned version), and
//! to pass over a module that has no legacy exception handling left (the
//! translated one), which is the cost paid on every start.
//!
//! The binary is found as in `tests/pyodide_binaries.rs`: `$PYODIDE_ASM_WASM`,
//! else the distribution cache filled by `cargo xtask fetch-pyodide`.

#[path = "../tests/support/pyodide_binary.rs"]
mod pyodide_binary;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn translate(c: &mut Criterion) {
    let wasm = pyodide_binary::read(pyodide_binary::PINNED_VERSION);
    let translated = wasm_legacy_eh::translate(&wasm).expect("translate pyodide.asm.wasm");

    let mut group = c.benchmark_group("translate");
    group.throughput(Throughput::Bytes(wasm.len() as u64));
    group.sample_size(20);
    group.bench_function("pyodide_314_main", |b| {
        b.iter(|| wasm_legacy_eh::translate(black_box(&wasm)).expect("translate"))
    });
    group.bench_function("pyodide_314_main_already_translated", |b| {
        b.iter(|| wasm_legacy_eh::translate(black_box(&translated)).expect("translate"))
    });
    group.finish();
}

criterion_group!(benches, translate);
criterion_main!(benches);
