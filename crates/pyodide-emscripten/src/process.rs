//! Process-level imports: exit and abort (as values, never
//! `std::process::exit`), the runtime keepalive counter, the program name,
//! `system()`, signal handlers and logging.

use wasmtime::{Caller, Linker, Val};

use crate::linker::{CtxGetter, with_guest};
use crate::{GuestAbort, GuestExit};

const ENV: &str = "env";

pub(crate) fn add<T: 'static>(linker: &mut Linker<T>, get: CtxGetter<T>) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "exit",
        move |mut caller: Caller<'_, T>, status: i32| -> wasmtime::Result<()> {
            let handles = get(caller.data_mut()).handles()?.clone();
            if get(caller.data_mut()).keepalive <= 0 {
                if let Some(funcs_on_exit) = &handles.funcs_on_exit {
                    funcs_on_exit.call(&mut caller, ())?;
                }
                if let Some(fflush) = &handles.fflush {
                    fflush.call(&mut caller, 0)?;
                }
            }
            Err(wasmtime::Error::new(GuestExit(status)))
        },
    )?;
    linker.func_wrap(
        ENV,
        "_abort_js",
        |_: Caller<'_, T>| -> wasmtime::Result<()> {
            Err(wasmtime::Error::new(GuestAbort(
                "abort() called".to_owned(),
            )))
        },
    )?;
    linker.func_wrap(
        ENV,
        "__assert_fail",
        move |mut caller: Caller<'_, T>,
              condition: i32,
              file: i32,
              line: i32,
              function: i32|
              -> wasmtime::Result<()> {
            let message = with_guest(&mut caller, get, |_, guest| {
                let text = |ptr: i32| {
                    guest
                        .c_str(ptr as u32, 4096)
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .unwrap_or_else(|_| "?".to_owned())
                };
                format!(
                    "assertion failed: {} at {}:{line} in {}",
                    text(condition),
                    text(file),
                    text(function)
                )
            })?;
            Err(wasmtime::Error::new(GuestAbort(message)))
        },
    )?;
    linker.func_wrap(
        ENV,
        "emscripten_runtime_keepalive_push",
        move |mut caller: Caller<'_, T>| {
            get(caller.data_mut()).keepalive += 1;
        },
    )?;
    linker.func_wrap(
        ENV,
        "emscripten_runtime_keepalive_pop",
        move |mut caller: Caller<'_, T>| {
            get(caller.data_mut()).keepalive -= 1;
        },
    )?;
    linker.func_wrap(
        ENV,
        "_emscripten_runtime_keepalive_clear",
        move |mut caller: Caller<'_, T>| {
            get(caller.data_mut()).keepalive = 0;
        },
    )?;
    linker.func_wrap(
        ENV,
        "_emscripten_get_progname",
        move |mut caller: Caller<'_, T>, buf: i32, size: i32| {
            with_guest(&mut caller, get, |ctx, guest| {
                let size = size.max(0) as usize;
                if size == 0 {
                    return;
                }
                let name = &ctx.program_name[..ctx.program_name.len().min(size - 1)];
                // A bad buffer leaves the name unwritten; there is no errno here.
                let _ = guest.write_c_str(buf as u32, name);
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "_emscripten_system",
        |_: Caller<'_, T>, command: i32| -> i32 {
            // No shell: system(NULL) says so with 0, any command fails with
            // ENOSYS, which Python's os.system returns as is.
            if command == 0 {
                0
            } else {
                -pyodide_vfs::Errno::ENOSYS.code()
            }
        },
    )?;
    linker.func_wrap(
        ENV,
        "__call_sighandler",
        move |mut caller: Caller<'_, T>, handler: i32, signal: i32| -> wasmtime::Result<()> {
            let table = get(caller.data_mut()).handles()?.table;
            let func = table
                .get(&mut caller, handler as u32 as u64)
                .and_then(|r| r.as_func().flatten().copied())
                .ok_or_else(|| wasmtime::format_err!("signal handler slot {handler} is empty"))?;
            func.call(&mut caller, &[Val::I32(signal)], &mut [])?;
            Ok(())
        },
    )?;
    linker.func_wrap(ENV, "emscripten_debugger", |_: Caller<'_, T>| {})?;
    linker.func_wrap(
        ENV,
        "emscripten_log_impl_js",
        |_: Caller<'_, T>, _message: i32| {},
    )?;
    linker.func_wrap(
        ENV,
        "_emscripten_log_formatted",
        move |mut caller: Caller<'_, T>, _flags: i32, message: i32| {
            with_guest(&mut caller, get, |ctx, guest| {
                if let Ok(text) = guest.c_str(message as u32, 64 << 10) {
                    let mut line = text.to_vec();
                    line.push(b'\n');
                    let _ = ctx.vfs.write(pyodide_vfs::Fd(2), &line);
                }
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "emscripten_set_up_async_input_device_js",
        |_: Caller<'_, T>| 0i32,
    )?;
    linker.func_wrap(ENV, "_Py_emscripten_runtime", |_: Caller<'_, T>| 0i32)?;
    // CPython asks for a pending signal (see `crate::interrupt`).
    linker.func_wrap(
        ENV,
        "_Py_CheckEmscriptenSignals_Helper",
        move |mut caller: Caller<'_, T>| get(caller.data_mut()).interrupt.take(),
    )?;
    Ok(())
}
