//! A main module whose sleeps sleep: `emscripten_thread_sleep` rewritten to
//! wait in `poll` instead of spinning.
//!
//! Emscripten's libc sleeps (`clock_nanosleep`, `nanosleep`, `usleep`, and
//! so Python's `time.sleep`) end in `emscripten_thread_sleep(ms)`, which
//! without threads is a busy loop over `emscripten_get_now` — a browser
//! cannot block its main thread. On a server that burns a core for every
//! sleeping interpreter. This rewrite replaces the function's body (its
//! index, type and export stay) with a loop that asks `__syscall_poll` with
//! no descriptors — POSIX's way to sleep — for the time left, until the
//! time has passed or `poll` fails (`EINTR`: an interrupt, see
//! [`crate::interrupt`]), in which case it returns early and Python raises
//! the interrupt where the sleep was called. The busy loop also ran
//! Emscripten's timers (`_emscripten_check_timers`); this host never starts
//! one (`_setitimer_js` refuses), so there is none to run.
//!
//! A module without all three pieces — the exported function of type
//! `(f64) -> ()`, and the imports `env.emscripten_get_now: () -> f64` and
//! `env.__syscall_poll: (i32, i32, i32) -> i32` — is returned unchanged.

use wasm_encoder::{CodeSection, Function, Instruction, ValType as EncType};
use wasmparser::{ExternalKind, FuncType, Parser, Payload, TypeRef, ValType};

use crate::sections::{encoded, splice};

/// The function whose body is replaced.
pub const SLEEP_EXPORT: &str = "emscripten_thread_sleep";

const CODE_SECTION: u8 = 10;

/// What [`real_sleep`] cannot read.
#[derive(Debug, thiserror::Error)]
#[error("cannot rewrite emscripten_thread_sleep: {0}")]
pub struct SleepFormError(#[from] wasmparser::BinaryReaderError);

/// `wasm` with [`SLEEP_EXPORT`] waiting in `poll` (see the module
/// documentation), or `None` when `wasm` lacks one of the pieces.
pub fn real_sleep(wasm: &[u8]) -> Result<Option<Vec<u8>>, SleepFormError> {
    let mut types: Vec<FuncType> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut imported_funcs = 0u32;
    let mut now = None;
    let mut poll = None;
    let mut sleep = None;
    let mut code = None;
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match &payload {
            Payload::TypeSection(reader) => {
                for ty in reader.clone().into_iter_err_on_gc_types() {
                    types.push(ty?);
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports() {
                    let import = import?;
                    if let TypeRef::Func(ty) | TypeRef::FuncExact(ty) = import.ty {
                        match (import.module, import.name) {
                            ("env", "emscripten_get_now") => now = Some(imported_funcs),
                            ("env", "__syscall_poll") => poll = Some(imported_funcs),
                            _ => {}
                        }
                        func_types.push(ty);
                        imported_funcs += 1;
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader.clone() {
                    func_types.push(ty?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader.clone() {
                    let export = export?;
                    if export.name == SLEEP_EXPORT && export.kind == ExternalKind::Func {
                        sleep = Some(export.index);
                    }
                }
            }
            Payload::CodeSectionStart { range, .. } => code = Some(range.clone()),
            Payload::CodeSectionEntry(body) => bodies.push(body.range()),
            _ => {}
        }
    }
    let signature = |func: u32| {
        let ty = *func_types.get(func as usize)?;
        let ty = types.get(ty as usize)?;
        Some((ty.params().to_vec(), ty.results().to_vec()))
    };
    use ValType::{F64, I32};
    let (Some(now), Some(poll), Some(sleep), Some(code)) = (now, poll, sleep, code) else {
        return Ok(None);
    };
    let wanted = [
        (now, (vec![], vec![F64])),
        (poll, (vec![I32, I32, I32], vec![I32])),
        (sleep, (vec![F64], vec![])),
    ];
    if sleep < imported_funcs
        || wanted
            .iter()
            .any(|(func, sig)| signature(*func).as_ref() != Some(sig))
    {
        return Ok(None);
    }

    let mut section = CodeSection::new();
    for (index, range) in bodies.iter().enumerate() {
        if index as u32 + imported_funcs == sleep {
            section.function(&sleep_body(now, poll));
        } else {
            section.raw(&wasm[range.clone()]);
        }
    }
    Ok(Some(splice(
        wasm,
        vec![(code, Some((CODE_SECTION, encoded(&section))))],
    )))
}

/// `emscripten_thread_sleep(ms)`: local 0 is `ms`, 1 the start, 2 what is
/// left. Each round waits in `poll(NULL, 0, ceil(left))` (at most
/// `i32::MAX` ms a round); a `poll` failure ends the sleep early.
fn sleep_body(now: u32, poll: u32) -> Function {
    use Instruction as I;
    let mut f = Function::new([(2, EncType::F64)]);
    for instruction in [
        I::Call(now),
        I::LocalSet(1),
        I::Block(wasm_encoder::BlockType::Empty),
        I::Loop(wasm_encoder::BlockType::Empty),
        // left = ms - (now() - start); done unless left > 0 (NaN included).
        I::LocalGet(0),
        I::Call(now),
        I::LocalGet(1),
        I::F64Sub,
        I::F64Sub,
        I::LocalTee(2),
        I::F64Const(0.0.into()),
        I::F64Gt,
        I::I32Eqz,
        I::BrIf(1),
        I::I32Const(0),
        I::I32Const(0),
        I::LocalGet(2),
        I::F64Ceil,
        I::F64Const(f64::from(i32::MAX).into()),
        I::F64Min,
        I::I32TruncSatF64S,
        I::Call(poll),
        I::I32Const(0),
        I::I32LtS,
        I::BrIf(1),
        I::Br(0),
        I::End,
        I::End,
        I::End,
    ] {
        f.instruction(&instruction);
    }
    f
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A module shaped like Pyodide's: the sleep spins on `emscripten_get_now`.
    fn module(sleep_type: &str) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module
                (@custom "dylink.0" (before first) "\01\02")
                (import "env" "emscripten_get_now" (func $now (result f64)))
                (import "env" "__syscall_poll" (func $poll (param i32 i32 i32) (result i32)))
                (func (export "twice") (param i32) (result i32)
                    (i32.mul (local.get 0) (i32.const 2)))
                (func $sleep (export "emscripten_thread_sleep") {sleep_type}
                    (local $start f64)
                    (local.set $start (call $now))
                    (loop $spin
                        (br_if $spin (f64.lt (f64.sub (call $now) (local.get $start))
                                             (local.get 0)))))
                (func (export "sleep") (param f64) (call $sleep (local.get 0)))
                (func (export "thrice") (param i32) (result i32)
                    (i32.mul (local.get 0) (i32.const 3))))"#
        ))
        .unwrap()
    }

    /// Runs `sleep(ms)` against a clock that advances only when `poll`
    /// waits, and records each poll's (fds, nfds, timeout).
    fn sleep_with(wasm: &[u8], ms: f64, poll_result: i32) -> (Vec<(i32, i32, i32)>, f64) {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, wasm).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        let clock = Arc::new(Mutex::new(1000.0f64));
        let polls = Arc::new(Mutex::new(Vec::new()));
        let mut linker = wasmtime::Linker::new(&engine);
        let c = clock.clone();
        linker
            .func_wrap("env", "emscripten_get_now", move || *c.lock().unwrap())
            .unwrap();
        let (c, p) = (clock.clone(), polls.clone());
        linker
            .func_wrap(
                "env",
                "__syscall_poll",
                move |fds: i32, nfds: i32, timeout: i32| {
                    p.lock().unwrap().push((fds, nfds, timeout));
                    // Waiting takes a little less than asked, as a slice may.
                    *c.lock().unwrap() += f64::from(timeout) * 0.75;
                    poll_result
                },
            )
            .unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let sleep = instance
            .get_typed_func::<f64, ()>(&mut store, "sleep")
            .unwrap();
        sleep.call(&mut store, ms).unwrap();
        let twice = instance
            .get_typed_func::<i32, i32>(&mut store, "twice")
            .unwrap();
        let thrice = instance
            .get_typed_func::<i32, i32>(&mut store, "thrice")
            .unwrap();
        assert_eq!(twice.call(&mut store, 21).unwrap(), 42, "other bodies kept");
        assert_eq!(
            thrice.call(&mut store, 14).unwrap(),
            42,
            "other bodies kept"
        );
        let slept = *clock.lock().unwrap() - 1000.0;
        let polls = polls.lock().unwrap().clone();
        (polls, slept)
    }

    #[test]
    fn the_sleep_waits_in_poll_until_the_time_has_passed() {
        let rewritten = real_sleep(&module("(param f64)")).unwrap().unwrap();
        wasmparser::Validator::new()
            .validate_all(&rewritten)
            .unwrap();
        assert!(
            rewritten.starts_with(b"\0asm\x01\0\0\0\0"),
            "dylink.0 stays first"
        );
        let (polls, slept) = sleep_with(&rewritten, 100.5, 0);
        // 101 ms asked (rounded up), then what is left, until none is.
        assert_eq!(polls[0], (0, 0, 101));
        assert!(
            polls
                .iter()
                .all(|&(fds, nfds, t)| fds == 0 && nfds == 0 && t >= 1)
        );
        assert!(polls.windows(2).all(|w| w[1].2 < w[0].2));
        assert!(slept >= 100.5, "slept {slept} ms of 100.5");
    }

    #[test]
    fn a_failed_poll_ends_the_sleep_early() {
        let rewritten = real_sleep(&module("(param f64)")).unwrap().unwrap();
        let (polls, _) = sleep_with(&rewritten, 5000.0, -27);
        assert_eq!(polls, vec![(0, 0, 5000)]);
        // Nothing to wait for: no poll at all.
        let (polls, _) = sleep_with(&rewritten, 0.0, 0);
        assert!(polls.is_empty());
        let (polls, _) = sleep_with(&rewritten, f64::NAN, 0);
        assert!(polls.is_empty());
        // Longer than poll can wait at once: capped rounds.
        let (polls, _) = sleep_with(&rewritten, 1e10, -27);
        assert_eq!(polls, vec![(0, 0, i32::MAX)]);
    }

    #[test]
    fn a_module_without_every_piece_is_left_alone() {
        // The export with another type.
        assert!(real_sleep(&module("(param f32)")).unwrap().is_none());
        // No poll import.
        let no_poll = wat::parse_str(
            r#"(module
                (import "env" "emscripten_get_now" (func $now (result f64)))
                (func (export "emscripten_thread_sleep") (param f64)))"#,
        )
        .unwrap();
        assert!(real_sleep(&no_poll).unwrap().is_none());
        // The unchanged module spins (the test's clock never moves while
        // nothing polls, so only check that it is accepted as is).
        assert!(real_sleep(b"\0asm\x01\0\0\0").unwrap().is_none());
        assert!(real_sleep(b"\0asm\x01\0\0\0\x01").is_err());
    }
}
