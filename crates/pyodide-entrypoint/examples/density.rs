//! Memory per interpreter, for `cargo xtask bench`'s density section.
//!
//! `density [restore|boot] [N]` makes one interpreter (restored from the
//! baseline snapshot, or booted) as a warm-up, reads the process's memory,
//! makes N more (default 100), each evaluating `1+1` and kept alive, reads
//! it again, and prints one line of JSON: the mode, N, the seconds taken,
//! and RSS and private memory (`Private_Clean + Private_Dirty` of
//! `/proc/self/smaps_rollup`) before and after, in KiB.

use std::io::Write;
use std::time::Instant;

use pyodide_entrypoint::{Interpreter, InterpreterConfig, Runtime, RuntimeOptions};

fn memory_kib() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    let field = |name: &str| -> u64 {
        text.lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0)
    };
    (
        field("Rss:"),
        field("Private_Clean:") + field("Private_Dirty:"),
    )
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "restore".to_owned());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100);
    pyodide_entrypoint::spawn_interpreter_thread(move || {
        let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
        let snapshot =
            (mode == "restore").then(|| runtime.baseline_snapshot().expect("baseline snapshot"));
        let make = || {
            let mut interpreter = match &snapshot {
                Some(snapshot) => {
                    Interpreter::restore(&runtime, snapshot, InterpreterConfig::default())
                }
                None => Interpreter::boot(&runtime, InterpreterConfig::default()),
            }
            .expect("interpreter");
            interpreter.run("1+1", &[]).expect("1+1");
            interpreter
        };
        let mut alive = vec![make()];
        let (rss_before, private_before) = memory_kib();
        let started = Instant::now();
        for _ in 0..count {
            alive.push(make());
        }
        let seconds = started.elapsed().as_secs_f64();
        let (rss_after, private_after) = memory_kib();
        let mut stdout = std::io::stdout().lock();
        writeln!(
            stdout,
            "{{\"mode\":\"{mode}\",\"instances\":{count},\"seconds\":{seconds},\
                 \"rss_before_kib\":{rss_before},\"rss_after_kib\":{rss_after},\
                 \"private_before_kib\":{private_before},\"private_after_kib\":{private_after}}}"
        )
        .expect("stdout");
        drop(alive);
    })
    .expect("thread")
    .join()
    .expect("density run panicked");
}
