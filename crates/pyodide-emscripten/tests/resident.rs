//! The engine's pool keeps an instance's working set resident for the next
//! instance in its slot once `resident::keep_working_set` has joined it; it
//! keeps only a few runs of pages without it. A small module with a memory
//! image stands for a snapshot (`pyodide_emscripten::resident` explains).

use pyodide_emscripten::resident::{self, KEPT_RUNS};
use pyodide_emscripten::{EngineSettings, new_engine};
use wasmtime::{Engine, Instance, Memory, Module, Store};

/// Host pages written by the first instance: every fourth of the first
/// 1,024 (4 MiB with 4 KiB pages), so 256 runs of one page.
const STRIDE: usize = 4;
const WRITTEN: usize = 256;

/// A 5 MiB memory whose image (its data segments) spans it, as a snapshot's
/// does.
fn module(engine: &Engine) -> Module {
    Module::new(
        engine,
        r#"(module
            (memory (export "memory") 80)
            (data (i32.const 0) "image start")
            (data (i32.const 5242000) "image end"))"#,
    )
    .expect("module")
}

fn instantiate(engine: &Engine, module: &Module) -> (Store<()>, Memory) {
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, module, &[]).expect("instantiate");
    let memory = instance.get_memory(&mut store, "memory").expect("memory");
    (store, memory)
}

fn written_pages() -> Vec<usize> {
    (0..WRITTEN).map(|i| i * STRIDE).collect()
}

/// Writes a byte into each of [`written_pages`].
fn scatter(store: &mut Store<()>, memory: Memory) {
    let page = rustix::param::page_size();
    let data = memory.data_mut(store);
    for p in written_pages() {
        data[p * page + 1] = 0xab;
    }
}

fn covered(runs: &[(usize, usize)], page: usize) -> bool {
    runs.iter()
        .any(|&(start, end)| (start..end).contains(&page))
}

#[test]
fn a_joined_working_set_stays_resident_for_the_next_instance_in_the_slot() {
    let engine = new_engine(&EngineSettings::default()).expect("engine");
    let module = module(&engine);
    let (mut store, memory) = instantiate(&engine, &module);
    let image = memory.data(&store).to_vec();
    scatter(&mut store, memory);
    let before = resident::written_runs(&store, memory).expect("pagemap");
    assert!(
        before.len() >= WRITTEN,
        "the writes make one run each: {before:?}"
    );
    let written = memory.data(&store).to_vec();

    let set = resident::keep_working_set(&mut store, memory).expect("pagemap");
    assert_eq!(set.runs, before.len());
    assert!(set.filled > 0 && set.kept_runs <= KEPT_RUNS, "{set:?}");
    let after = resident::written_runs(&store, memory).expect("pagemap");
    assert!(after.len() <= KEPT_RUNS, "{after:?}");
    assert!(written_pages().iter().all(|&p| covered(&after, p)));
    assert!(
        memory.data(&store) == written.as_slice(),
        "joining the runs changed no byte"
    );
    drop(store);

    let (store, memory) = instantiate(&engine, &module);
    assert!(
        memory.data(&store) == image.as_slice(),
        "the next instance sees the image, nothing of the last one"
    );
    let resident = resident::written_runs(&store, memory).expect("pagemap");
    let missing: Vec<usize> = written_pages()
        .into_iter()
        .filter(|&p| !covered(&resident, p))
        .collect();
    assert!(
        missing.is_empty(),
        "pages written by the last instance the pool did not keep: {missing:?}"
    );
}

/// What the module exists for: without the join, the pool keeps at most
/// [`KEPT_RUNS`] runs (wasmtime 48). Should this fail, wasmtime keeps more
/// and `resident` may no longer be needed.
#[test]
fn without_the_join_the_pool_keeps_only_a_few_runs() {
    let engine = new_engine(&EngineSettings::default()).expect("engine");
    let module = module(&engine);
    let (mut store, memory) = instantiate(&engine, &module);
    scatter(&mut store, memory);
    drop(store);

    let (store, memory) = instantiate(&engine, &module);
    let resident = resident::written_runs(&store, memory).expect("pagemap");
    assert!(resident.len() <= KEPT_RUNS, "{resident:?}");
    let kept = written_pages()
        .into_iter()
        .filter(|&p| covered(&resident, p))
        .count();
    assert!(kept <= KEPT_RUNS, "{kept} of {WRITTEN} written pages kept");
}
