//! Networking is not provided: socket syscalls answer `ENOSYS` and name
//! lookups fail cleanly, so Python raises its ordinary `OSError` /
//! `socket.gaierror` instead of trapping.

use pyodide_vfs::Errno;
use wasmtime::{Caller, Linker};

use crate::linker::CtxGetter;

const ENV: &str = "env";

/// `EAI_FAIL` in musl's numbering: a non-recoverable lookup failure.
const EAI_FAIL: i32 = -4;

const SOCKET_SYSCALLS: [&str; 12] = [
    "__syscall_accept4",
    "__syscall_bind",
    "__syscall_connect",
    "__syscall_getpeername",
    "__syscall_getsockname",
    "__syscall_getsockopt",
    "__syscall_listen",
    "__syscall_recvfrom",
    "__syscall_recvmsg",
    "__syscall_sendmsg",
    "__syscall_sendto",
    "__syscall_socket",
];

pub(crate) fn add<T: 'static>(linker: &mut Linker<T>, _get: CtxGetter<T>) -> wasmtime::Result<()> {
    for name in SOCKET_SYSCALLS {
        linker.func_wrap(
            ENV,
            name,
            |_: Caller<'_, T>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32| -> i32 {
                -Errno::ENOSYS.code()
            },
        )?;
    }
    linker.func_wrap(
        ENV,
        "getaddrinfo",
        |_: Caller<'_, T>, _: i32, _: i32, _: i32, _: i32| EAI_FAIL,
    )?;
    linker.func_wrap(
        ENV,
        "getnameinfo",
        |_: Caller<'_, T>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32| EAI_FAIL,
    )?;
    linker.func_wrap(ENV, "getprotobyname", |_: Caller<'_, T>, _: i32| 0i32)?;
    linker.func_wrap(
        ENV,
        "_emscripten_lookup_name",
        |_: Caller<'_, T>, _: i32| 0i32,
    )?;
    Ok(())
}
