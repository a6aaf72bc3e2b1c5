//! Loading `pyodide.asm.wasm` from the compiled-module cache: read and check
//! the checksum record, hash the artifact, map it with
//! `Module::deserialize_file`. Target: under 10 ms.
//!
//! The distribution is fetched (or found) through the project's own fetch
//! code; the first run compiles and stores the artifact outside the timing.

use criterion::{Criterion, criterion_group, criterion_main};
use pyodide_emscripten::{CacheOutcome, EngineSettings, ModuleCache};
use pyodide_packages::dist;

fn load_from_cache(c: &mut Criterion) {
    let dist = dist::ensure_from_env(dist::default_version()).expect("fetch Pyodide");
    let cache_dir = dist::cache_root().expect("cache root").join("modules");
    let cache = ModuleCache::new(EngineSettings::default(), cache_dir).expect("engine");
    let sha256 = dist.file_sha256(dist::ASM_WASM).expect("manifest entry");
    let sha256: [u8; 32] = hex::decode(sha256)
        .expect("hex")
        .try_into()
        .expect("32 bytes");
    let path = dist.asm_wasm();
    cache
        .load_file(&path, Some(sha256))
        .expect("warm the cache");

    // The two parts of a load, to see where the time goes.
    let artifact = cache.artifact_path(&sha256);
    c.bench_function("module_cache/part: checksum the artifact", |b| {
        b.iter(|| xxhash_rust::xxh3::xxh3_64(&std::fs::read(&artifact).expect("read")))
    });
    c.bench_function("module_cache/part: Module::deserialize_file", |b| {
        // SAFETY: the artifact was just verified by load_file and is never
        // modified in place.
        #[allow(unsafe_code)]
        b.iter(|| {
            unsafe { wasmtime::Module::deserialize_file(cache.engine(), &artifact) }
                .expect("deserialize")
        })
    });

    c.bench_function("module_cache/load pyodide.asm.wasm (314.0.7)", |b| {
        b.iter(|| {
            let loaded = cache.load_file(&path, Some(sha256)).expect("load");
            assert!(matches!(loaded.outcome, CacheOutcome::Hit));
            loaded
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = load_from_cache
}
criterion_main!(benches);
