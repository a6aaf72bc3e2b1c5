//! Registration of the host imports ([`add_to_linker`]) and the helpers every
//! import module shares.

use pyodide_vfs::Errno;
use wasmtime::{Caller, Linker, Module, Store};

use crate::ctx::EmscriptenCtx;
use crate::guest::Guest;

/// How an import finds the host state inside the embedder's store data.
pub type CtxGetter<T> = fn(&mut T) -> &mut EmscriptenCtx;

/// Defines every import this crate implements on `linker`. Imports of the
/// module that are still undefined afterwards are given traps that name them
/// by [`define_missing_as_traps`].
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: CtxGetter<T>,
) -> wasmtime::Result<()> {
    crate::wasi::add(linker, get)?;
    crate::fs::add(linker, get)?;
    crate::time::add(linker, get)?;
    crate::heap::add(linker, get)?;
    crate::process::add(linker, get)?;
    crate::ffi::add(linker, get)?;
    crate::net::add(linker, get)?;
    crate::libffi::add(linker, get)?;
    crate::dlopen::add(linker, get)?;
    Ok(())
}

/// Gives every function import of `module` that `linker` does not define a
/// body that traps with a message naming the import, so an unimplemented
/// import can never answer with a silent zero.
pub fn define_missing_as_traps<T: 'static>(
    linker: &mut Linker<T>,
    store: &mut Store<T>,
    module: &Module,
) -> wasmtime::Result<()> {
    for import in module.imports() {
        let wasmtime::ExternType::Func(ty) = import.ty() else {
            continue;
        };
        if linker
            .get(&mut *store, import.module(), import.name())
            .is_ok()
        {
            continue;
        }
        let name = format!("{}.{}", import.module(), import.name());
        linker.func_new(import.module(), import.name(), ty, move |_, _, _| {
            Err(wasmtime::Error::new(crate::UnsupportedImport {
                name: name.clone(),
            }))
        })?;
    }
    Ok(())
}

/// Runs `f` with the host state and a bounds-checked view of guest memory.
pub(crate) fn with_guest<T, R>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    f: impl FnOnce(&mut EmscriptenCtx, &mut Guest<'_>) -> R,
) -> wasmtime::Result<R> {
    let memory = get(caller.data_mut()).handles()?.memory;
    let (bytes, data) = memory.data_and_store_mut(caller);
    let mut guest = Guest::new(bytes);
    Ok(f(get(data), &mut guest))
}

/// `__syscall_*` convention: a result ≥ 0, or `-errno`.
pub(crate) fn syscall_result(result: Result<i32, Errno>) -> i32 {
    result.unwrap_or_else(|errno| -errno.code())
}

/// WASI convention: 0, or a positive errno.
pub(crate) fn wasi_result(result: Result<(), Errno>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(errno) => errno.code(),
    }
}
