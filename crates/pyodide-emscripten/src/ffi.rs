//! The imports that stand in for Pyodide's JavaScript side when no JS exists:
//! the C-call trampoline (`_PyEM_TrampolineCall_JS`), the EM_ASM dispatcher,
//! and the "not mine" answers of the JS-object machinery that CPython reaches
//! before (and without) `_pyodide_core`.

use wasmtime::{Caller, ExternRef, Func, Linker, Rooted, ValType};

use crate::GuestAbort;
use crate::ctx::Trampoline;
use crate::linker::CtxGetter;

const ENV: &str = "env";

/// EM_ASM sites (absolute addresses; 0.29.3's are relative to its memory
/// base 1024). Only the fatal-error one does anything: it aborts.
const ASM_FATAL_ERROR: [i32; 2] = [3_964_903, 3_473_994 + 1024];
const ASM_ANSWER_ZERO: [i32; 4] = [3_964_960, 3_965_009, 3_474_051 + 1024, 3_474_100 + 1024];

pub(crate) fn add<T: 'static>(linker: &mut Linker<T>, get: CtxGetter<T>) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "_PyEM_TrampolineCall_JS",
        move |mut caller: Caller<'_, T>,
              func: i32,
              a1: i32,
              a2: i32,
              a3: i32|
              -> wasmtime::Result<i32> {
            let slot = func as u32;
            let trampoline = match get(caller.data_mut()).trampolines.get(&slot) {
                Some(t) => t.clone(),
                None => {
                    let t = resolve_trampoline(&mut caller, get, slot)?;
                    get(caller.data_mut()).trampolines.insert(slot, t.clone());
                    t
                }
            };
            Ok(match trampoline {
                Trampoline::Args0(f) => f.call(&mut caller, ())?,
                Trampoline::Args1(f) => f.call(&mut caller, a1)?,
                Trampoline::Args2(f) => f.call(&mut caller, (a1, a2))?,
                Trampoline::Args3(f) => f.call(&mut caller, (a1, a2, a3))?,
                Trampoline::Void0(f) => f.call(&mut caller, ()).map(|()| 0)?,
                Trampoline::Void1(f) => f.call(&mut caller, a1).map(|()| 0)?,
                Trampoline::Void2(f) => f.call(&mut caller, (a1, a2)).map(|()| 0)?,
                Trampoline::Void3(f) => f.call(&mut caller, (a1, a2, a3)).map(|()| 0)?,
            })
        },
    )?;
    // 0.29.3 asks JS to set up its trampoline and to count arguments; the
    // answers "nothing" select the `_PyEM_TrampolineCall_JS` path above.
    linker.func_wrap(ENV, "_PyEM_InitTrampoline_js", |_: Caller<'_, T>| {})?;
    linker.func_wrap(ENV, "_PyEM_GetCountArgsPtr", |_: Caller<'_, T>| 0i32)?;

    linker.func_wrap(
        ENV,
        "emscripten_asm_const_int",
        |_: Caller<'_, T>, code: i32, _sig: i32, _args: i32| -> wasmtime::Result<i32> {
            if ASM_FATAL_ERROR.contains(&code) {
                return Err(wasmtime::Error::new(GuestAbort(
                    "intentionally triggered fatal error!".to_owned(),
                )));
            }
            if ASM_ANSWER_ZERO.contains(&code) {
                return Ok(0);
            }
            Err(wasmtime::Error::new(GuestAbort(format!(
                "unknown EM_ASM site at address {code}"
            ))))
        },
    )?;

    // "Not a JS object / not a Pyodide socket": null lets libc fall through
    // to the plain syscalls.
    linker.func_wrap(
        ENV,
        "__hiwire_deduplicate_new",
        |_: Caller<'_, T>| -> Option<Rooted<ExternRef>> { None },
    )?;
    for name in [
        "_maybe_connect_async",
        "_maybe_recvfrom_async",
        "_maybe_sendto_async",
        "_maybe_poll_async",
    ] {
        linker.func_wrap(
            ENV,
            name,
            |_: Caller<'_, T>, _: i32, _: i32, _: i32| -> Option<Rooted<ExternRef>> { None },
        )?;
    }

    // 0.29.3's FFI error sentinel: a unique value and an identity test.
    linker.func_wrap(
        "sentinel",
        "create_sentinel",
        |mut caller: Caller<'_, T>| -> wasmtime::Result<Option<Rooted<ExternRef>>> {
            Ok(Some(ExternRef::new(&mut caller, Sentinel)?))
        },
    )?;
    linker.func_wrap(
        "sentinel",
        "is_sentinel",
        |caller: Caller<'_, T>, value: Option<Rooted<ExternRef>>| -> wasmtime::Result<i32> {
            Ok(match value {
                Some(value) => i32::from(value.data(&caller)?.is_some_and(|d| d.is::<Sentinel>())),
                None => 0,
            })
        },
    )?;
    Ok(())
}

struct Sentinel;

/// Looks at the function in table slot `slot` and picks the typed call that
/// passes the first n of the three arguments (as JS would drop the rest).
fn resolve_trampoline<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    slot: u32,
) -> wasmtime::Result<Trampoline> {
    let table = get(caller.data_mut()).handles()?.table;
    let func: Func = table
        .get(&mut *caller, u64::from(slot))
        .and_then(|r| r.as_func().flatten().copied())
        .ok_or_else(|| wasmtime::format_err!("C call through empty function table slot {slot}"))?;
    let ty = func.ty(&*caller);
    let params: Vec<ValType> = ty.params().collect();
    let results: Vec<ValType> = ty.results().collect();
    if params.len() > 3 || !params.iter().all(|p| matches!(p, ValType::I32)) || results.len() > 1 {
        return Err(wasmtime::format_err!(
            "C call trampoline cannot call slot {slot} of type {ty}"
        ));
    }
    let returns_i32 = match results.first() {
        None => false,
        Some(ValType::I32) => true,
        Some(_) => {
            return Err(wasmtime::format_err!(
                "C call trampoline cannot call slot {slot} of type {ty}"
            ));
        }
    };
    let c = &*caller;
    Ok(match (params.len(), returns_i32) {
        (0, true) => Trampoline::Args0(func.typed(c)?),
        (1, true) => Trampoline::Args1(func.typed(c)?),
        (2, true) => Trampoline::Args2(func.typed(c)?),
        (3, true) => Trampoline::Args3(func.typed(c)?),
        (0, false) => Trampoline::Void0(func.typed(c)?),
        (1, false) => Trampoline::Void1(func.typed(c)?),
        (2, false) => Trampoline::Void2(func.typed(c)?),
        _ => Trampoline::Void3(func.typed(c)?),
    })
}
