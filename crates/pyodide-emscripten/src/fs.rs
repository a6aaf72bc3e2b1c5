//! The file-system imports: the `__syscall_*` family on the shared
//! [`Vfs`] descriptor table, the `_mmap_js` / `_munmap_js` / `_msync_js`
//! helpers, `__syscall_umask_js` / `__syscall_getuid32_js`, and the
//! "not a Pyodide socket" answers `_try_fcntl64` / `_try_shutdown`.
//!
//! Each syscall is a plain function over the [`Vfs`] and a bounds-checked
//! [`Guest`] view returning `Result<i32, Errno>` (so the unit tests below run
//! without an instance); [`add`] wraps them as imports answering `-errno`.
//! Struct layouts (`stat`, `statfs`, `dirent64`) are encoded by small
//! functions with byte-layout tests.
//!
//! Behaviour follows Emscripten's JavaScript glue as Pyodide runs it on Node
//! (reference §5), so Python sees the same results. Where that glue is silent
//! or would misbehave, the choices are:
//!
//! * `statfs64` / `fstatfs64` write the layout the `size` argument names:
//!   88 bytes with 64-bit counts (314.x, reference §5.7) or the 64-byte
//!   struct with 32-bit counts of the 0.29.x glue; other sizes are `EINVAL`.
//! * `getdents64` writes fixed 280-byte records; `d_off` is the VFS listing
//!   position after the entry (not Emscripten's `index × 280`), so `telldir`
//!   / `seekdir` round-trip through `fd_seek`. A buffer smaller than one
//!   record is `EINVAL` (Emscripten would answer 0, "end of directory").
//! * `fcntl`: `F_GETFD` / `F_SETFD` answer 0 (no exec, as Emscripten);
//!   `F_SETFL` ORs `O_APPEND` / `O_NONBLOCK` into the status flags and never
//!   clears them (as Emscripten); `F_DUPFD_CLOEXEC` is answered directly
//!   rather than left to libc's emulation.
//! * `ioctl`: the terminal requests work on ttys only (`ENOTTY` elsewhere),
//!   with Node's default answers (`TIOCGWINSZ` 24 × 80, fixed `termios`);
//!   `FIONREAD` / `FIONBIO` are `ENOTTY` (no VFS file is a stream device);
//!   unknown requests are `EINVAL`.
//! * `openat` and `mkdirat` apply no umask (as Emscripten); `mkdirat` keeps
//!   the sticky and permission bits (`0o1777`).
//! * `mknodat`: `S_IFREG` creates an empty regular file; a type of 0 is
//!   `EINVAL` (as Emscripten, where Linux would create a file); devices,
//!   FIFOs and sockets are `EPERM`.
//! * `fchown32` / `fchownat` succeed without changing anything once the file
//!   exists; `fchmodat2` with `AT_SYMLINK_NOFOLLOW` on a symlink changes the
//!   link's own bits (as Emscripten; Linux would answer `ENOTSUP`),
//!   `faccessat` with it checks the link itself.
//! * `pipe` makes a VFS pipe. Like Emscripten's, an empty one answers
//!   `EAGAIN` while its write end is open (nothing can block); unlike
//!   Emscripten's, one whose write end is closed reads as end of file, and
//!   writing with the read end closed is `EPIPE` (Emscripten answers `EAGAIN`
//!   and accepts the bytes).
//! * `poll` answers at once when a descriptor is ready, and otherwise
//!   waits out its timeout on the host (see [`wait`]; an interrupt ends the
//!   wait with `EINTR`). Files and devices are readable and writable
//!   (`POLLIN | POLLOUT`); a pipe's read end is readable when it holds bytes
//!   or has no writer left (`POLLHUP`), its write end writable when there is
//!   room or no reader left (`POLLERR`); closed descriptors are `POLLNVAL`;
//!   each masked by the requested
//!   events plus `POLLERR | POLLHUP` as Emscripten does (so `POLLNVAL` shows
//!   only when asked for). `_newselect` (0.29.3) is the same over `fd_set`s
//!   and fails with `EBADF` on a closed descriptor in a set. (Emscripten's
//!   own never wait: a browser cannot block; here a sleeping guest must not
//!   spin.)
//! * `utimensat` honours `AT_SYMLINK_NOFOLLOW`; a null path is `futimens`.
//! * `fallocate` mode 0 grows the file like `ftruncate`; other modes are
//!   `ENOTSUP`. `fadvise64` always succeeds.
//! * `_setitimer_js` lives in `time.rs`.
//!
//! `mmap` of a file copies it into a block from the module's
//! `emscripten_builtin_memalign` (called back into the guest, so guest memory
//! is re-borrowed afterwards) and writes shared writable mappings back on
//! `msync` and `munmap`.

use std::time::Duration;

use pyodide_vfs::{
    AccessCheck, AccessMode, DirEntry, Dirfd, Errno, Fd, FileKind, GuestPath, MAX_FDS, OpenFlags,
    PATH_MAX, S_IFMT, S_IFREG, SetTime, Stat, StatFs, Vfs,
};
use wasmtime::{Caller, Linker};

use crate::ctx::EmscriptenCtx;
use crate::guest::Guest;
use crate::linker::{CtxGetter, syscall_result, with_guest};

const ENV: &str = "env";

const AT_SYMLINK_NOFOLLOW: i32 = 0x100;
const AT_REMOVEDIR: i32 = 0x200;
const AT_EACCESS: i32 = 0x200;
const AT_NO_AUTOMOUNT: i32 = 0x800;
const AT_EMPTY_PATH: i32 = 0x1000;

const F_DUPFD: i32 = 0;
const F_GETFD: i32 = 1;
const F_SETFD: i32 = 2;
const F_GETFL: i32 = 3;
const F_SETFL: i32 = 4;
const F_GETLK: i32 = 12;
const F_SETLK: i32 = 13;
const F_SETLKW: i32 = 14;
const F_DUPFD_CLOEXEC: i32 = 1030;
const F_UNLCK: u16 = 2;

const TCGETS: i32 = 0x5401;
const TCSETS: i32 = 0x5402;
const TCSETSW: i32 = 0x5403;
const TCSETSF: i32 = 0x5404;
const TCGETA: i32 = 0x5405;
const TCSETA: i32 = 0x5406;
const TCSETAW: i32 = 0x5407;
const TCSETAF: i32 = 0x5408;
const TCFLSH: i32 = 0x540b;
const TIOCGPGRP: i32 = 0x540f;
const TIOCSPGRP: i32 = 0x5410;
const TIOCGWINSZ: i32 = 0x5413;
const TIOCSWINSZ: i32 = 0x5414;
const FIONREAD: i32 = 0x541b;
const FIONBIO: i32 = 0x5421;

/// The window size a terminal reports (rows, columns), as Node's glue does.
const WINSIZE: (u16, u16) = (24, 80);

const POLLIN: u16 = 0x1;
const POLLOUT: u16 = 0x4;
const POLLERR: u16 = 0x8;
const POLLHUP: u16 = 0x10;
const POLLNVAL: u16 = 0x20;
/// `struct pollfd { int fd; short events; short revents; }`.
const POLLFD_SIZE: u32 = 8;
/// Bits in musl's `fd_set`.
const FD_SETSIZE: i32 = 1024;

const S_IFCHR: u32 = 0o020000;
const S_IFBLK: u32 = 0o060000;
const S_IFIFO: u32 = 0o010000;
const S_IFSOCK: u32 = 0o140000;

const PROT_WRITE: i32 = 0x2;
const MAP_PRIVATE: i32 = 0x2;
/// Alignment and size granule of file mappings (a wasm page).
const MMAP_ALIGN: u32 = 65_536;

/// `struct stat` on wasm32.
pub(crate) const STAT_SIZE: usize = 96;
/// One `struct dirent64` record as Emscripten writes it.
pub(crate) const DIRENT_SIZE: usize = 280;
/// Bytes of the name field of a dirent record (name plus NUL).
const DIRENT_NAME_SIZE: usize = 256;
/// `struct statfs` on wasm32.
pub(crate) const STATFS_SIZE: usize = 88;
/// Bytes of `struct statfs` that carry values (up to `f_flags`).
const STATFS_USED: usize = 68;
/// `struct statfs` of the 0.29.x glue (32-bit block and file counts).
pub(crate) const STATFS_LEGACY_SIZE: usize = 64;

/// Defines `env.$name` as a syscall whose body runs with the host state, the
/// guest memory and the import's arguments, answering `-errno` on failure.
macro_rules! syscall {
    ($linker:ident, $get:ident, $name:literal =>
        |$ctx:pat_param, $guest:pat_param $(, $arg:ident: $ty:ty)*| $body:expr) => {
        $linker.func_wrap(ENV, $name, move |mut caller: Caller<'_, T>, $($arg: $ty),*| {
            sys(&mut caller, $get, |$ctx, $guest| $body)
        })?
    };
}

/// Registers the file-system imports.
pub(crate) fn add<T: 'static>(linker: &mut Linker<T>, get: CtxGetter<T>) -> wasmtime::Result<()> {
    syscall!(linker, get, "__syscall_openat" =>
    |ctx, guest, dirfd: i32, path: i32, flags: i32, varargs: i32| {
        openat(&mut ctx.vfs, guest, dirfd, path, flags, varargs)
    });
    syscall!(linker, get, "__syscall_fcntl64" => |ctx, guest, fd: i32, cmd: i32, varargs: i32| {
        fcntl64(&mut ctx.vfs, guest, fd, cmd, varargs)
    });
    syscall!(linker, get, "__syscall_ioctl" => |ctx, guest, fd: i32, op: i32, varargs: i32| {
        ioctl(&ctx.vfs, guest, fd, op, varargs)
    });
    syscall!(linker, get, "__syscall_fstat64" => |ctx, guest, fd: i32, buf: i32| {
        write_stat(guest, buf, &ctx.vfs.fstat(Fd::from_raw(fd)?)?)
    });
    syscall!(linker, get, "__syscall_stat64" => |ctx, guest, path: i32, buf: i32| {
        let st = ctx.vfs.stat(Dirfd::Cwd, read_path(guest, path)?, true)?;
        write_stat(guest, buf, &st)
    });
    syscall!(linker, get, "__syscall_lstat64" => |ctx, guest, path: i32, buf: i32| {
        let st = ctx.vfs.stat(Dirfd::Cwd, read_path(guest, path)?, false)?;
        write_stat(guest, buf, &st)
    });
    syscall!(linker, get, "__syscall_newfstatat" =>
    |ctx, guest, dirfd: i32, path: i32, buf: i32, flags: i32| {
        newfstatat(&ctx.vfs, guest, dirfd, path, buf, flags)
    });
    syscall!(linker, get, "__syscall_statfs64" => |ctx, guest, path: i32, size: i32, buf: i32| {
        let st = ctx.vfs.statfs(Dirfd::Cwd, read_path(guest, path)?)?;
        write_statfs(guest, buf, size, &st)
    });
    syscall!(linker, get, "__syscall_fstatfs64" => |ctx, guest, fd: i32, size: i32, buf: i32| {
        write_statfs(guest, buf, size, &ctx.vfs.fstatfs(Fd::from_raw(fd)?)?)
    });
    syscall!(linker, get, "__syscall_getdents64" => |ctx, guest, fd: i32, dirp: i32, count: i32| {
        getdents64(&mut ctx.vfs, guest, fd, dirp, count)
    });
    syscall!(linker, get, "__syscall_getcwd" => |ctx, guest, buf: i32, size: i32| {
        getcwd(&ctx.vfs, guest, buf, size)
    });
    syscall!(linker, get, "__syscall_chdir" => |ctx, guest, path: i32| {
        ctx.vfs.chdir(Dirfd::Cwd, read_path(guest, path)?).map(|()| 0)
    });
    syscall!(linker, get, "__syscall_fchdir" => |ctx, _, fd: i32| {
        ctx.vfs.fchdir(Fd::from_raw(fd)?).map(|()| 0)
    });
    syscall!(linker, get, "__syscall_mkdirat" => |ctx, guest, dirfd: i32, path: i32, mode: i32| {
        let path = read_path(guest, path)?;
        ctx.vfs.mkdir(at(dirfd, path)?, path, mode as u32 & 0o1777).map(|()| 0)
    });
    syscall!(linker, get, "__syscall_mknodat" =>
    |ctx, guest, dirfd: i32, path: i32, mode: i32, _dev: i32| {
        mknodat(&mut ctx.vfs, guest, dirfd, path, mode)
    });
    syscall!(linker, get, "__syscall_rmdir" => |ctx, guest, path: i32| {
        ctx.vfs.rmdir(Dirfd::Cwd, read_path(guest, path)?).map(|()| 0)
    });
    syscall!(linker, get, "__syscall_unlinkat" => |ctx, guest, dirfd: i32, path: i32, flags: i32| {
        unlinkat(&mut ctx.vfs, guest, dirfd, path, flags)
    });
    syscall!(linker, get, "__syscall_renameat" =>
    |ctx, guest, olddirfd: i32, oldpath: i32, newdirfd: i32, newpath: i32| {
        let old = read_path(guest, oldpath)?;
        let new = read_path(guest, newpath)?;
        ctx.vfs.rename(at(olddirfd, old)?, old, at(newdirfd, new)?, new).map(|()| 0)
    });
    syscall!(linker, get, "__syscall_symlinkat" =>
    |ctx, guest, target: i32, newdirfd: i32, linkpath: i32| {
        let target = guest.c_str(target as u32, PATH_MAX)?;
        let link = read_path(guest, linkpath)?;
        ctx.vfs.symlink(target, at(newdirfd, link)?, link).map(|()| 0)
    });
    syscall!(linker, get, "__syscall_readlinkat" =>
    |ctx, guest, dirfd: i32, path: i32, buf: i32, bufsize: i32| {
        readlinkat(&ctx.vfs, guest, dirfd, path, buf, bufsize)
    });
    syscall!(linker, get, "__syscall_faccessat" =>
    |ctx, guest, dirfd: i32, path: i32, amode: i32, flags: i32| {
        faccessat(&ctx.vfs, guest, dirfd, path, amode, flags)
    });
    syscall!(linker, get, "__syscall_chmod" => |ctx, guest, path: i32, mode: i32| {
        ctx.vfs.chmod(Dirfd::Cwd, read_path(guest, path)?, mode as u32 & 0o7777).map(|()| 0)
    });
    syscall!(linker, get, "__syscall_fchmod" => |ctx, _, fd: i32, mode: i32| {
        ctx.vfs.fchmod(Fd::from_raw(fd)?, mode as u32 & 0o7777).map(|()| 0)
    });
    syscall!(linker, get, "__syscall_fchmodat2" =>
    |ctx, guest, dirfd: i32, path: i32, mode: i32, flags: i32| {
        fchmodat2(&mut ctx.vfs, guest, dirfd, path, mode, flags)
    });
    syscall!(linker, get, "__syscall_fchown32" => |ctx, _, fd: i32, _owner: i32, _group: i32| {
        ctx.vfs.fstat(Fd::from_raw(fd)?).map(|_| 0)
    });
    syscall!(linker, get, "__syscall_fchownat" =>
    |ctx, guest, dirfd: i32, path: i32, _owner: i32, _group: i32, flags: i32| {
        fchownat(&ctx.vfs, guest, dirfd, path, flags)
    });
    syscall!(linker, get, "__syscall_ftruncate64" => |ctx, _, fd: i32, length: i64| {
        ctx.vfs.ftruncate(Fd::from_raw(fd)?, length).map(|()| 0)
    });
    syscall!(linker, get, "__syscall_truncate64" => |ctx, guest, path: i32, length: i64| {
        ctx.vfs.truncate(Dirfd::Cwd, read_path(guest, path)?, length).map(|()| 0)
    });
    syscall!(linker, get, "__syscall_fdatasync" => |ctx, _, fd: i32| {
        ctx.vfs.fstat(Fd::from_raw(fd)?).map(|_| 0)
    });
    syscall!(linker, get, "__syscall_dup" => |ctx, _, fd: i32| {
        ctx.vfs.dup(Fd::from_raw(fd)?).map(fd_result)
    });
    syscall!(linker, get, "__syscall_dup3" => |ctx, _, old: i32, new: i32, flags: i32| {
        dup3(&mut ctx.vfs, old, new, flags)
    });
    syscall!(linker, get, "__syscall_pipe" => |ctx, guest, fds: i32| {
        pipe(&mut ctx.vfs, guest, fds)
    });
    linker.func_wrap(
        ENV,
        "__syscall_poll",
        move |mut caller: Caller<'_, T>, fds: i32, nfds: i32, timeout: i32| {
            let ready = sys(&mut caller, get, |ctx, guest| {
                poll(&ctx.vfs, guest, fds, nfds)
            })?;
            if ready != 0 || timeout == 0 {
                return Ok(ready);
            }
            // Negative: no limit.
            let timeout = u64::try_from(timeout).ok().map(Duration::from_millis);
            wait(&mut caller, get, timeout)
        },
    )?;
    linker.func_wrap(
        ENV,
        "__syscall__newselect",
        move |mut caller: Caller<'_, T>,
              nfds: i32,
              readfds: i32,
              writefds: i32,
              exceptfds: i32,
              timeout: i32| {
            let mut limit = None;
            let ready = sys(&mut caller, get, |ctx, guest| {
                limit = select_timeout(guest, timeout)?;
                newselect(&ctx.vfs, guest, nfds, [readfds, writefds, exceptfds])
            })?;
            if ready != 0 || limit == Some(Duration::ZERO) {
                return Ok(ready);
            }
            wait(&mut caller, get, limit)
        },
    )?;
    syscall!(linker, get, "__syscall_utimensat" =>
    |ctx, guest, dirfd: i32, path: i32, times: i32, flags: i32| {
        utimensat(&mut ctx.vfs, guest, dirfd, path, times, flags)
    });
    syscall!(linker, get, "__syscall_fallocate" =>
    |ctx, _, fd: i32, mode: i32, offset: i64, len: i64| {
        fallocate(&mut ctx.vfs, fd, mode, offset, len)
    });
    syscall!(linker, get, "_munmap_js" =>
    |ctx, guest, addr: i32, len: i32, prot: i32, flags: i32, fd: i32, offset: i64| {
        let fd = Fd::from_raw(fd)?;
        ctx.vfs.fstat(fd)?;
        if prot & PROT_WRITE == 0 {
            return Ok(0);
        }
        write_back(&mut ctx.vfs, guest, addr as u32, len as u32, flags, fd, offset)
    });
    syscall!(linker, get, "_msync_js" =>
    |ctx, guest, addr: i32, len: i32, prot: i32, flags: i32, fd: i32, offset: i64| {
        let fd = Fd::from_raw(fd)?;
        ctx.vfs.fstat(fd)?;
        // A mapping without PROT_WRITE cannot differ from the file.
        if prot & PROT_WRITE == 0 {
            return Ok(0);
        }
        write_back(&mut ctx.vfs, guest, addr as u32, len as u32, flags, fd, offset)
    });
    linker.func_wrap(
        ENV,
        "_mmap_js",
        move |mut caller: Caller<'_, T>,
              len: i32,
              prot: i32,
              flags: i32,
              fd: i32,
              offset: i64,
              allocated: i32,
              addr: i32| {
            let args = MmapArgs {
                len: len as u32,
                prot,
                flags,
                fd,
                offset,
            };
            mmap_js(&mut caller, get, args, allocated as u32, addr as u32)
        },
    )?;
    linker.func_wrap(
        ENV,
        "__syscall_fadvise64",
        |_: Caller<'_, T>, _fd: i32, _offset: i64, _len: i64, _advice: i32| -> i32 { 0 },
    )?;
    // Pyodide's socket wrappers: 0 means "not a Pyodide socket, carry on".
    linker.func_wrap(
        ENV,
        "_try_fcntl64",
        |_: Caller<'_, T>, _fd: i32, _cmd: i32, _arg: i32, _ret: i32| -> i32 { 0 },
    )?;
    linker.func_wrap(
        ENV,
        "_try_shutdown",
        |_: Caller<'_, T>, _fd: i32, _how: i32, _ret: i32| -> i32 { 0 },
    )?;
    linker.func_wrap(
        ENV,
        "__syscall_umask_js",
        move |mut caller: Caller<'_, T>, mask: i32| -> i32 {
            let ctx = get(caller.data_mut());
            let old = ctx.umask;
            ctx.umask = mask as u32 & 0o777;
            old as i32
        },
    )?;
    linker.func_wrap(ENV, "__syscall_getuid32_js", |_: Caller<'_, T>| -> i32 {
        0
    })?;
    Ok(())
}

/// Runs one syscall body with the host state and guest memory, answering
/// `-errno` on failure.
fn sys<T>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    f: impl FnOnce(&mut EmscriptenCtx, &mut Guest<'_>) -> Result<i32, Errno>,
) -> wasmtime::Result<i32> {
    with_guest(caller, get, |ctx, guest| syscall_result(f(ctx, guest)))
}

fn fd_result(fd: Fd) -> i32 {
    fd.0 as i32
}

/// The NUL-terminated path at `ptr` (at most `PATH_MAX` bytes).
fn read_path<'g>(guest: &'g Guest<'_>, ptr: i32) -> Result<GuestPath<'g>, Errno> {
    Ok(GuestPath::new(guest.c_str(ptr as u32, PATH_MAX)?))
}

/// Where `path` starts: a relative path needs `dirfd`; an absolute one
/// ignores it (even an invalid one), as POSIX says.
fn at(dirfd: i32, path: GuestPath<'_>) -> Result<Dirfd, Errno> {
    if path.is_absolute() {
        Ok(Dirfd::Cwd)
    } else {
        Dirfd::from_raw(dirfd)
    }
}

/// The target of an `*at` call with an empty path and `AT_EMPTY_PATH`.
enum EmptyPath {
    Cwd,
    Fd(Fd),
}

fn empty_path_target(dirfd: i32) -> Result<EmptyPath, Errno> {
    Ok(match Dirfd::from_raw(dirfd)? {
        Dirfd::Cwd => EmptyPath::Cwd,
        Dirfd::Fd(fd) => EmptyPath::Fd(fd),
    })
}

fn openat(
    vfs: &mut Vfs,
    guest: &mut Guest<'_>,
    dirfd: i32,
    path: i32,
    flags: i32,
    varargs: i32,
) -> Result<i32, Errno> {
    let mode = if varargs != 0 {
        guest.u32(varargs as u32)?
    } else {
        0
    };
    let path = read_path(guest, path)?;
    // Unknown bits are ignored, as by Linux and Emscripten. `O_TMPFILE`
    // keeps its `O_DIRECTORY` bit, so it fails like Emscripten's (EISDIR
    // for a writable open of a directory).
    let flags = OpenFlags::from_bits_truncate(flags as u32);
    vfs.open(at(dirfd, path)?, path, flags, mode & 0o7777)
        .map(fd_result)
}

fn fcntl64(
    vfs: &mut Vfs,
    guest: &mut Guest<'_>,
    fd: i32,
    cmd: i32,
    varargs: i32,
) -> Result<i32, Errno> {
    let fd = Fd::from_raw(fd)?;
    let status = vfs.status_flags(fd)?;
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let min = u32::try_from(guest.i32(varargs as u32)?).map_err(|_| Errno::EINVAL)?;
            let new = vfs.dup_min(fd, min)?;
            if cmd == F_DUPFD_CLOEXEC {
                vfs.set_cloexec(new, true)?;
            }
            Ok(fd_result(new))
        }
        F_GETFD | F_SETFD => Ok(0),
        F_GETFL => Ok(status.bits() as i32),
        F_SETFL => {
            let arg = guest.i32(varargs as u32)? as u32;
            vfs.set_status_flags(fd, status | OpenFlags::from_bits_truncate(arg))?;
            Ok(0)
        }
        F_GETLK => {
            let lock = guest.u32(varargs as u32)?;
            // `l_type` is the first field of `struct flock`: never locked.
            guest.write_u16(lock, F_UNLCK)?;
            Ok(0)
        }
        F_SETLK | F_SETLKW => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// `struct termios` as Node's default terminal reports it.
fn encode_termios() -> [u8; 60] {
    const C_CC: [u8; 17] = [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0];
    let mut out = [0u8; 60];
    for (i, flag) in [25_856u32, 5, 191, 35_387].into_iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&flag.to_le_bytes());
    }
    // c_line at 16 stays 0; c_cc[32] starts at 17; speeds stay 0.
    out[17..17 + C_CC.len()].copy_from_slice(&C_CC);
    out
}

fn ioctl(vfs: &Vfs, guest: &mut Guest<'_>, fd: i32, op: i32, varargs: i32) -> Result<i32, Errno> {
    let tty = vfs.is_tty(Fd::from_raw(fd)?)?;
    tty_ioctl(guest, tty, op, varargs)
}

/// `ioctl` on a descriptor that is (`tty`) or is not a terminal.
fn tty_ioctl(guest: &mut Guest<'_>, tty: bool, op: i32, varargs: i32) -> Result<i32, Errno> {
    let need_tty = || if tty { Ok(()) } else { Err(Errno::ENOTTY) };
    match op {
        TCGETA | TCSETA | TCSETAW | TCSETAF | TCSETS | TCSETSW | TCSETSF | TIOCSWINSZ | TCFLSH => {
            need_tty()?;
            Ok(0)
        }
        TCGETS => {
            need_tty()?;
            let argp = guest.u32(varargs as u32)?;
            guest.write_bytes(argp, &encode_termios())?;
            Ok(0)
        }
        TIOCGPGRP => {
            need_tty()?;
            let argp = guest.u32(varargs as u32)?;
            guest.write_i32(argp, 0)?;
            Ok(0)
        }
        TIOCSPGRP => {
            need_tty()?;
            Err(Errno::EINVAL)
        }
        TIOCGWINSZ => {
            need_tty()?;
            let argp = guest.u32(varargs as u32)?;
            guest.write_u16(argp, WINSIZE.0)?;
            guest.write_u16(argp + 2, WINSIZE.1)?;
            Ok(0)
        }
        FIONREAD | FIONBIO => Err(Errno::ENOTTY),
        _ => Err(Errno::EINVAL),
    }
}

fn sat_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn sat_i32(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn put(out: &mut [u8], at: usize, bytes: &[u8]) {
    out[at..at + bytes.len()].copy_from_slice(bytes);
}

/// `struct stat` (reference §5.6); padding is zero.
pub(crate) fn encode_stat(st: &Stat) -> [u8; STAT_SIZE] {
    let mut b = [0u8; STAT_SIZE];
    put(&mut b, 0, &(st.dev as u32).to_le_bytes());
    put(&mut b, 4, &st.mode().to_le_bytes());
    put(&mut b, 8, &sat_u32(st.nlink).to_le_bytes());
    put(&mut b, 12, &st.uid.to_le_bytes());
    put(&mut b, 16, &st.gid.to_le_bytes());
    put(&mut b, 20, &(st.rdev as u32).to_le_bytes());
    put(
        &mut b,
        24,
        &i64::try_from(st.size).unwrap_or(i64::MAX).to_le_bytes(),
    );
    put(&mut b, 32, &(st.blksize as i32).to_le_bytes());
    put(&mut b, 36, &sat_i32(st.blocks).to_le_bytes());
    for (at, ts) in [(40, st.atime), (56, st.mtime), (72, st.ctime)] {
        put(&mut b, at, &ts.sec.to_le_bytes());
        put(&mut b, at + 8, &ts.nsec.to_le_bytes());
    }
    put(&mut b, 88, &st.ino.to_le_bytes());
    b
}

fn write_stat(guest: &mut Guest<'_>, buf: i32, st: &Stat) -> Result<i32, Errno> {
    guest.write_bytes(buf as u32, &encode_stat(st))?;
    Ok(0)
}

/// `struct statfs` up to `f_flags` (reference §5.7, 314.x): 64-bit counts;
/// `f_type` and the spare words are zero.
pub(crate) fn encode_statfs(st: &StatFs) -> [u8; STATFS_USED] {
    let mut b = [0u8; STATFS_USED];
    put(&mut b, 4, &st.bsize.to_le_bytes());
    put(&mut b, 8, &st.blocks.to_le_bytes());
    put(&mut b, 16, &st.bfree.to_le_bytes());
    put(&mut b, 24, &st.bavail.to_le_bytes());
    put(&mut b, 32, &st.files.to_le_bytes());
    put(&mut b, 40, &st.ffree.to_le_bytes());
    // f_fsid.__val[0]; musl's statvfs reads only that word.
    put(&mut b, 48, &(st.fsid as u32).to_le_bytes());
    put(&mut b, 56, &st.namelen.to_le_bytes());
    put(&mut b, 60, &st.frsize.to_le_bytes());
    put(&mut b, 64, &st.flags.to_le_bytes());
    b
}

/// The older `struct statfs` of 0.29.x (64 bytes): 32-bit counts, so
/// `f_fsid` at 28, `f_namelen` 36, `f_frsize` 40, `f_flags` 44.
pub(crate) fn encode_statfs_legacy(st: &StatFs) -> [u8; STATFS_LEGACY_SIZE] {
    let mut b = [0u8; STATFS_LEGACY_SIZE];
    put(&mut b, 4, &st.bsize.to_le_bytes());
    let counts = [st.blocks, st.bfree, st.bavail, st.files, st.ffree];
    for (i, count) in counts.into_iter().enumerate() {
        put(&mut b, 8 + 4 * i, &sat_u32(count).to_le_bytes());
    }
    put(&mut b, 28, &(st.fsid as u32).to_le_bytes());
    put(&mut b, 36, &st.namelen.to_le_bytes());
    put(&mut b, 40, &st.frsize.to_le_bytes());
    put(&mut b, 44, &st.flags.to_le_bytes());
    b
}

/// Writes `struct statfs` in the layout the caller's `size` names: 88 bytes
/// (or more) for 314.x, exactly 64 for 0.29.x.
fn write_statfs(guest: &mut Guest<'_>, buf: i32, size: i32, st: &StatFs) -> Result<i32, Errno> {
    let size = usize::try_from(size).map_err(|_| Errno::EINVAL)?;
    if size == STATFS_LEGACY_SIZE {
        guest.write_bytes(buf as u32, &encode_statfs_legacy(st))?;
        return Ok(0);
    }
    if size < STATFS_SIZE {
        return Err(Errno::EINVAL);
    }
    let out = guest.slice_mut(buf as u32, STATFS_SIZE)?;
    out.fill(0);
    out[..STATFS_USED].copy_from_slice(&encode_statfs(st));
    Ok(0)
}

fn newfstatat(
    vfs: &Vfs,
    guest: &mut Guest<'_>,
    dirfd: i32,
    path: i32,
    buf: i32,
    flags: i32,
) -> Result<i32, Errno> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(guest, path)?;
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    let st = if path.as_bytes().is_empty() && flags & AT_EMPTY_PATH != 0 {
        match empty_path_target(dirfd)? {
            EmptyPath::Cwd => vfs.stat(Dirfd::Cwd, GuestPath::from("."), follow)?,
            EmptyPath::Fd(fd) => vfs.fstat(fd)?,
        }
    } else {
        vfs.stat(at(dirfd, path)?, path, follow)?
    };
    write_stat(guest, buf, &st)
}

/// One `struct dirent64` record: `d_ino`, `d_off` (the position after the
/// entry), `d_reclen` 280, `d_type`, and the name NUL-terminated (cut at 255
/// bytes); the rest is zero.
pub(crate) fn encode_dirent(entry: &DirEntry) -> [u8; DIRENT_SIZE] {
    let mut b = [0u8; DIRENT_SIZE];
    put(&mut b, 0, &entry.ino.to_le_bytes());
    put(
        &mut b,
        8,
        &i64::try_from(entry.next).unwrap_or(i64::MAX).to_le_bytes(),
    );
    put(&mut b, 16, &(DIRENT_SIZE as u16).to_le_bytes());
    b[18] = entry.kind.dirent_type();
    let name = &entry.name[..entry.name.len().min(DIRENT_NAME_SIZE - 1)];
    put(&mut b, 19, name);
    b
}

fn getdents64(
    vfs: &mut Vfs,
    guest: &mut Guest<'_>,
    fd: i32,
    dirp: i32,
    count: i32,
) -> Result<i32, Errno> {
    let fd = Fd::from_raw(fd)?;
    let records = count as u32 as usize / DIRENT_SIZE;
    if records == 0 {
        return Err(Errno::EINVAL);
    }
    // Check the whole buffer first: entries handed out are consumed.
    let dirp = dirp as u32;
    guest.slice_mut(dirp, records * DIRENT_SIZE)?;
    let entries = vfs.getdents(fd, records)?;
    let out = guest.slice_mut(dirp, entries.len() * DIRENT_SIZE)?;
    for (chunk, entry) in out.chunks_exact_mut(DIRENT_SIZE).zip(&entries) {
        chunk.copy_from_slice(&encode_dirent(entry));
    }
    Ok((entries.len() * DIRENT_SIZE) as i32)
}

fn getcwd(vfs: &Vfs, guest: &mut Guest<'_>, buf: i32, size: i32) -> Result<i32, Errno> {
    if size == 0 {
        return Err(Errno::EINVAL);
    }
    let cwd = vfs.getcwd()?;
    let needed = cwd.len() + 1;
    if (size as u32 as usize) < needed {
        return Err(Errno::ERANGE);
    }
    guest.write_c_str(buf as u32, &cwd)?;
    Ok(needed as i32)
}

fn mknodat(
    vfs: &mut Vfs,
    guest: &mut Guest<'_>,
    dirfd: i32,
    path: i32,
    mode: i32,
) -> Result<i32, Errno> {
    let mode = mode as u32;
    match mode & S_IFMT {
        S_IFREG => {
            let path = read_path(guest, path)?;
            let flags = OpenFlags::CREAT | OpenFlags::EXCL | OpenFlags::WRONLY;
            let fd = vfs.open(at(dirfd, path)?, path, flags, mode & 0o7777)?;
            vfs.close(fd)?;
            Ok(0)
        }
        S_IFCHR | S_IFBLK | S_IFIFO | S_IFSOCK => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

fn unlinkat(
    vfs: &mut Vfs,
    guest: &mut Guest<'_>,
    dirfd: i32,
    path: i32,
    flags: i32,
) -> Result<i32, Errno> {
    let path = read_path(guest, path)?;
    let dirfd = at(dirfd, path)?;
    match flags {
        0 => vfs.unlink(dirfd, path)?,
        AT_REMOVEDIR => vfs.rmdir(dirfd, path)?,
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

fn readlinkat(
    vfs: &Vfs,
    guest: &mut Guest<'_>,
    dirfd: i32,
    path: i32,
    buf: i32,
    bufsize: i32,
) -> Result<i32, Errno> {
    if bufsize <= 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(guest, path)?;
    let target = vfs.readlink(at(dirfd, path)?, path)?;
    // No NUL is written, and the target is cut to the buffer.
    let n = target.len().min(bufsize as usize);
    guest.write_bytes(buf as u32, &target[..n])?;
    Ok(n as i32)
}

fn faccessat(
    vfs: &Vfs,
    guest: &mut Guest<'_>,
    dirfd: i32,
    path: i32,
    amode: i32,
    flags: i32,
) -> Result<i32, Errno> {
    if flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let check = AccessCheck::from_bits(amode as u32).ok_or(Errno::EINVAL)?;
    let path = read_path(guest, path)?;
    let dirfd = at(dirfd, path)?;
    // The one user owns everything and a symlink's permissions are 0777, so
    // checking a link itself only needs it to exist.
    if flags & AT_SYMLINK_NOFOLLOW != 0 && vfs.stat(dirfd, path, false)?.kind == FileKind::Symlink {
        return Ok(0);
    }
    vfs.access(dirfd, path, check)?;
    Ok(0)
}

fn fchmodat2(
    vfs: &mut Vfs,
    guest: &mut Guest<'_>,
    dirfd: i32,
    path: i32,
    mode: i32,
    flags: i32,
) -> Result<i32, Errno> {
    if flags & !AT_SYMLINK_NOFOLLOW != 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(guest, path)?;
    let dirfd = at(dirfd, path)?;
    if flags & AT_SYMLINK_NOFOLLOW != 0 {
        vfs.lchmod(dirfd, path, mode as u32 & 0o7777)?;
    } else {
        vfs.chmod(dirfd, path, mode as u32 & 0o7777)?;
    }
    Ok(0)
}

fn fchownat(
    vfs: &Vfs,
    guest: &mut Guest<'_>,
    dirfd: i32,
    path: i32,
    flags: i32,
) -> Result<i32, Errno> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(guest, path)?;
    if path.as_bytes().is_empty() && flags & AT_EMPTY_PATH != 0 {
        if let EmptyPath::Fd(fd) = empty_path_target(dirfd)? {
            vfs.fstat(fd)?;
        }
        return Ok(0);
    }
    vfs.stat(at(dirfd, path)?, path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    Ok(0)
}

fn dup3(vfs: &mut Vfs, old: i32, new: i32, flags: i32) -> Result<i32, Errno> {
    let cloexec = OpenFlags::CLOEXEC.bits() as i32;
    if flags & !cloexec != 0 {
        return Err(Errno::EINVAL);
    }
    let old = Fd::from_raw(old)?;
    let new = Fd::from_raw(new)?;
    vfs.dup3(old, new, flags & cloexec != 0).map(fd_result)
}

/// `pipe(int fds[2])`: the read end goes to `fds[0]`, the write end to
/// `fds[1]`.
fn pipe(vfs: &mut Vfs, guest: &mut Guest<'_>, fds: i32) -> Result<i32, Errno> {
    if fds == 0 {
        return Err(Errno::EFAULT);
    }
    // Fail before making a pipe the guest could not learn about.
    guest.slice(fds as u32, 8)?;
    let (read, write) = vfs.pipe(OpenFlags::from_bits_truncate(0))?;
    guest.write_i32(fds as u32, read.0 as i32)?;
    guest.write_i32(fds as u32 + 4, write.0 as i32)?;
    Ok(0)
}

/// Readiness of one descriptor as `poll` events (never blocking).
fn ready_events(vfs: &Vfs, fd: i32) -> u16 {
    let Ok(fd) = u32::try_from(fd) else {
        return POLLNVAL;
    };
    match vfs.readiness(Fd(fd)) {
        Ok(ready) => [
            (ready.readable, POLLIN),
            (ready.writable, POLLOUT),
            (ready.hangup, POLLHUP),
            (ready.error, POLLERR),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .fold(0, |events, (_, bit)| events | bit),
        Err(_) => POLLNVAL,
    }
}

fn poll(vfs: &Vfs, guest: &mut Guest<'_>, fds: i32, nfds: i32) -> Result<i32, Errno> {
    let nfds = u32::try_from(nfds).map_err(|_| Errno::EINVAL)?;
    if nfds > MAX_FDS {
        return Err(Errno::EINVAL);
    }
    let base = fds as u32;
    guest.slice(base, (nfds * POLLFD_SIZE) as usize)?;
    let mut ready = 0;
    for i in 0..nfds {
        let entry = base + i * POLLFD_SIZE;
        let fd = guest.i32(entry)?;
        let events = u16::from_le_bytes(guest.read(entry + 4)?);
        let revents = ready_events(vfs, fd) & (events | POLLERR | POLLHUP);
        if revents != 0 {
            ready += 1;
        }
        guest.write_u16(entry + 6, revents)?;
    }
    Ok(ready)
}

/// `select`'s `struct timeval *timeout`; a null pointer is no limit. In the
/// libc of 0.29.3 (the only release that imports `_newselect`) it is two
/// 32-bit fields, seconds then microseconds.
fn select_timeout(guest: &Guest<'_>, ptr: i32) -> Result<Option<Duration>, Errno> {
    if ptr == 0 {
        return Ok(None);
    }
    let sec = guest.i32(ptr as u32)?;
    let usec = guest.i32(ptr as u32 + 4)?;
    if sec < 0 || !(0..1_000_000).contains(&usec) {
        return Err(Errno::EINVAL);
    }
    Ok(Some(
        Duration::from_secs(sec as u64) + Duration::from_micros(usec as u64),
    ))
}

/// A `poll` or `select` that found nothing ready waits out its timeout
/// (`None`: until interrupted) on the host: 0 when it ran out, `-EINTR`
/// once an interrupt ended it and was handed to CPython (see
/// [`crate::interrupt`]). Nothing else can make a descriptor ready
/// meanwhile: the guest is the only writer of its pipes, and files and
/// devices are always ready.
///
/// The first wait after an interrupted one answers 0 at once. CPython
/// retries an interrupted `select.poll` after running the Python signal
/// handler, and a handler that only schedules work — asyncio's cancels the
/// main task and wakes its loop through a self-pipe this host cannot make —
/// must not then wait out the whole timeout. Sleeps and event loops take
/// such an early answer in their stride; a lone `select.poll` after a
/// caught `KeyboardInterrupt` may return early once.
fn wait<T>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    timeout: Option<Duration>,
) -> wasmtime::Result<i32> {
    let ctx = get(caller.data_mut());
    if std::mem::take(&mut ctx.wake_next_wait) {
        return Ok(0);
    }
    let handle = ctx.interrupt.clone();
    if !handle.wait(timeout) {
        return Ok(0);
    }
    ctx.wake_next_wait = true;
    let set_interrupt = ctx.handles()?.set_interrupt.clone();
    if let Some(set_interrupt) = set_interrupt {
        let signal = handle.take();
        if signal != 0 {
            set_interrupt.call(&mut *caller, signal)?;
        }
    }
    Ok(-Errno::EINTR.code())
}

/// `select` over up to `FD_SETSIZE` descriptors; sets are `[read, write,
/// except]` pointers (0 for none). Answers at once; the caller waits.
fn newselect(vfs: &Vfs, guest: &mut Guest<'_>, nfds: i32, sets: [i32; 3]) -> Result<i32, Errno> {
    if !(0..=FD_SETSIZE).contains(&nfds) {
        return Err(Errno::EINVAL);
    }
    let words = (nfds as usize).div_ceil(32);
    let mut input = [[0u32; (FD_SETSIZE / 32) as usize]; 3];
    for (set, &ptr) in input.iter_mut().zip(&sets) {
        if ptr != 0 {
            for (w, word) in set.iter_mut().enumerate().take(words) {
                *word = guest.u32(ptr as u32 + 4 * w as u32)?;
            }
        }
    }
    let mut output = [[0u32; (FD_SETSIZE / 32) as usize]; 3];
    let mut total = 0;
    for fd in 0..nfds as usize {
        let (word, bit) = (fd / 32, 1u32 << (fd % 32));
        if input.iter().all(|set| set[word] & bit == 0) {
            continue;
        }
        let events = ready_events(vfs, fd as i32);
        if events & POLLNVAL != 0 {
            return Err(Errno::EBADF);
        }
        // Nothing is ever exceptional.
        for (i, wanted) in [POLLIN, POLLOUT].into_iter().enumerate() {
            if events & wanted != 0 && input[i][word] & bit != 0 {
                output[i][word] |= bit;
                total += 1;
            }
        }
    }
    for (set, &ptr) in output.iter().zip(&sets) {
        if ptr != 0 {
            for (w, word) in set.iter().enumerate().take(words) {
                guest.write_u32(ptr as u32 + 4 * w as u32, *word)?;
            }
        }
    }
    Ok(total)
}

/// One `struct timespec` of `utimensat`'s `times` (16 bytes on wasm32).
fn read_set_time(guest: &Guest<'_>, ptr: u32) -> Result<SetTime, Errno> {
    let sec = guest.i64(ptr)?;
    let nsec = guest.u32(ptr + 8)?;
    match SetTime::from_raw(sec, nsec) {
        SetTime::To(ts) if ts.nsec >= 1_000_000_000 => Err(Errno::EINVAL),
        t => Ok(t),
    }
}

fn utimensat(
    vfs: &mut Vfs,
    guest: &mut Guest<'_>,
    dirfd: i32,
    path: i32,
    times: i32,
    flags: i32,
) -> Result<i32, Errno> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let (atime, mtime) = if times == 0 {
        (SetTime::Now, SetTime::Now)
    } else {
        let times = times as u32;
        (
            read_set_time(guest, times)?,
            read_set_time(guest, times + 16)?,
        )
    };
    // musl's futimens(fd, times) is utimensat(fd, NULL, times, 0).
    if path == 0 {
        vfs.futimens(Fd::from_raw(dirfd)?, atime, mtime)?;
        return Ok(0);
    }
    let path = read_path(guest, path)?;
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    if path.as_bytes().is_empty() && flags & AT_EMPTY_PATH != 0 {
        match empty_path_target(dirfd)? {
            EmptyPath::Cwd => {
                vfs.utimens(Dirfd::Cwd, GuestPath::from("."), follow, atime, mtime)?
            }
            EmptyPath::Fd(fd) => vfs.futimens(fd, atime, mtime)?,
        }
        return Ok(0);
    }
    vfs.utimens(at(dirfd, path)?, path, follow, atime, mtime)?;
    Ok(0)
}

fn fallocate(vfs: &mut Vfs, fd: i32, mode: i32, offset: i64, len: i64) -> Result<i32, Errno> {
    let fd = Fd::from_raw(fd)?;
    if mode != 0 {
        return Err(Errno::ENOTSUP);
    }
    if offset < 0 || len < 0 {
        return Err(Errno::EINVAL);
    }
    let end = offset.checked_add(len).ok_or(Errno::EFBIG)?;
    let size = vfs.fstat(fd)?.size;
    if u64::try_from(end).unwrap_or(0) > size {
        vfs.ftruncate(fd, end)?;
    }
    Ok(0)
}

/// `_mmap_js` arguments.
#[derive(Debug, Clone, Copy)]
struct MmapArgs {
    len: u32,
    prot: i32,
    flags: i32,
    fd: i32,
    offset: i64,
}

/// What `_mmap_js` allocates once the checks pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MmapPlan {
    fd: Fd,
    len: u32,
    /// `len` rounded up to [`MMAP_ALIGN`].
    block: u32,
    offset: i64,
}

/// The checks Emscripten's `FS.mmap` makes, in its order.
fn mmap_plan(vfs: &Vfs, args: MmapArgs) -> Result<MmapPlan, Errno> {
    let fd = Fd::from_raw(args.fd)?;
    let status = vfs.status_flags(fd)?;
    if status.contains(OpenFlags::PATH) {
        return Err(Errno::EBADF);
    }
    let access = status.access_mode().ok_or(Errno::EACCES)?;
    if args.prot & PROT_WRITE != 0
        && args.flags & MAP_PRIVATE == 0
        && access != AccessMode::ReadWrite
    {
        return Err(Errno::EACCES);
    }
    if access == AccessMode::WriteOnly {
        return Err(Errno::EACCES);
    }
    if vfs.fstat(fd)?.kind != FileKind::Regular {
        return Err(Errno::ENODEV);
    }
    if args.len == 0 || args.offset < 0 {
        return Err(Errno::EINVAL);
    }
    let block = args
        .len
        .checked_next_multiple_of(MMAP_ALIGN)
        .ok_or(Errno::ENOMEM)?;
    Ok(MmapPlan {
        fd,
        len: args.len,
        block,
        offset: args.offset,
    })
}

/// Zero the block at `ptr`, copy the file's bytes into it, and report the
/// mapping through `*allocated` and `*addr`.
fn mmap_fill(
    vfs: &mut Vfs,
    guest: &mut Guest<'_>,
    plan: MmapPlan,
    ptr: u32,
    allocated: u32,
    addr: u32,
) -> Result<i32, Errno> {
    guest.slice_mut(ptr, plan.block as usize)?.fill(0);
    let buf = guest.slice_mut(ptr, plan.len as usize)?;
    let mut done = 0;
    while done < buf.len() {
        let n = vfs.pread(plan.fd, &mut buf[done..], plan.offset + done as i64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    guest.write_i32(allocated, 1)?;
    guest.write_u32(addr, ptr)?;
    Ok(0)
}

fn mmap_js<T>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    args: MmapArgs,
    allocated: u32,
    addr: u32,
) -> wasmtime::Result<i32> {
    let plan = match with_guest(caller, get, |ctx, _| mmap_plan(&ctx.vfs, args))? {
        Ok(plan) => plan,
        Err(errno) => return Ok(-errno.code()),
    };
    let handles = get(caller.data_mut()).handles()?;
    let memalign = handles.memalign.clone().ok_or_else(|| {
        wasmtime::format_err!(
            "_mmap_js needs the export emscripten_builtin_memalign, which the module lacks"
        )
    })?;
    let free = handles.free.clone();
    // A call back into the guest: memory may grow, so it is re-borrowed below.
    let ptr = memalign.call(&mut *caller, (MMAP_ALIGN as i32, plan.block as i32))? as u32;
    if ptr == 0 {
        return Ok(-Errno::ENOMEM.code());
    }
    let result = with_guest(caller, get, |ctx, guest| {
        mmap_fill(&mut ctx.vfs, guest, plan, ptr, allocated, addr)
    })?;
    match result {
        Ok(r) => Ok(r),
        Err(errno) => {
            if let Some(free) = free {
                free.call(&mut *caller, ptr as i32)?;
            }
            Ok(-errno.code())
        }
    }
}

/// Write a shared mapping's bytes back to its file (`msync`, and `munmap` of
/// a writable mapping). Private mappings are never written back.
fn write_back(
    vfs: &mut Vfs,
    guest: &mut Guest<'_>,
    addr: u32,
    len: u32,
    flags: i32,
    fd: Fd,
    offset: i64,
) -> Result<i32, Errno> {
    if vfs.fstat(fd)?.kind != FileKind::Regular {
        return Err(Errno::ENODEV);
    }
    if flags & MAP_PRIVATE != 0 {
        return Ok(0);
    }
    let data = guest.slice(addr, len as usize)?;
    vfs.pwrite(fd, data, offset)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyodide_vfs::{ManualClock, Timespec, Whence};

    /// A guest memory of 64 KiB with scratch areas.
    const MEM: usize = 1 << 16;
    const PATH: u32 = 0x100;
    const PATH2: u32 = 0x600;
    const BUF: u32 = 0x1000;
    const ARGS: u32 = 0x40;

    fn vfs() -> Vfs {
        Vfs::builder()
            .clock(ManualClock::new(Timespec::new(1_700_000_000, 5)))
            .build()
    }

    fn set_path(mem: &mut [u8], at: u32, path: &str) -> i32 {
        let at = at as usize;
        mem[at..at + path.len()].copy_from_slice(path.as_bytes());
        mem[at + path.len()] = 0;
        at as i32
    }

    fn word(mem: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(mem[at..at + 4].try_into().unwrap())
    }

    fn open(
        v: &mut Vfs,
        mem: &mut [u8],
        path: &str,
        flags: OpenFlags,
        mode: u32,
    ) -> Result<i32, Errno> {
        let p = set_path(mem, PATH, path);
        mem[ARGS as usize..ARGS as usize + 4].copy_from_slice(&mode.to_le_bytes());
        openat(
            v,
            &mut Guest::new(mem),
            Dirfd::AT_FDCWD,
            p,
            flags.bits() as i32,
            ARGS as i32,
        )
    }

    fn sample_stat() -> Stat {
        Stat {
            dev: 7,
            ino: 0x1_0000_0002,
            kind: FileKind::Regular,
            perm: 0o644,
            nlink: 1,
            uid: 0,
            gid: 0,
            rdev: 0x501,
            size: 5000,
            blksize: 4096,
            blocks: 10,
            atime: Timespec::new(-2, 999_999_999),
            mtime: Timespec::new(1_700_000_000, 123),
            ctime: Timespec::new(4_102_444_800, 0),
        }
    }

    #[test]
    fn stat_byte_layout() {
        let b = encode_stat(&sample_stat());
        let i64_at = |at: usize| i64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        assert_eq!(word(&b, 0), 7);
        assert_eq!(word(&b, 4), 0o100644);
        assert_eq!(word(&b, 8), 1);
        assert_eq!((word(&b, 12), word(&b, 16)), (0, 0));
        assert_eq!(word(&b, 20), 0x501);
        assert_eq!(i64_at(24), 5000);
        assert_eq!((word(&b, 32), word(&b, 36)), (4096, 10));
        assert_eq!((i64_at(40), word(&b, 48)), (-2, 999_999_999));
        assert_eq!((i64_at(56), word(&b, 64)), (1_700_000_000, 123));
        assert_eq!((i64_at(72), word(&b, 80)), (4_102_444_800, 0));
        assert_eq!(
            u64::from_le_bytes(b[88..96].try_into().unwrap()),
            0x1_0000_0002
        );
        for pad in [52, 68, 84] {
            assert_eq!(word(&b, pad), 0, "padding at {pad}");
        }
        let huge = Stat {
            blocks: 1 << 40,
            nlink: 1 << 33,
            ..sample_stat()
        };
        let b = encode_stat(&huge);
        assert_eq!((word(&b, 8), word(&b, 36)), (u32::MAX, i32::MAX as u32));
    }

    #[test]
    fn statfs_byte_layout() {
        let st = StatFs {
            bsize: 4096,
            blocks: 1 << 33,
            bfree: 3,
            bavail: 4,
            files: 5,
            ffree: 6,
            fsid: 0x1_0000_0009,
            namelen: 255,
            frsize: 512,
            flags: StatFs::RDONLY,
        };
        let mut mem = vec![0xaau8; 256];
        write_statfs(&mut Guest::new(&mut mem), 8, STATFS_SIZE as i32, &st).unwrap();
        let b = &mem[8..8 + STATFS_SIZE];
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        assert_eq!((word(b, 0), word(b, 4)), (0, 4096));
        assert_eq!(
            [u64_at(8), u64_at(16), u64_at(24), u64_at(32), u64_at(40)],
            [1 << 33, 3, 4, 5, 6]
        );
        assert_eq!((word(b, 48), word(b, 52)), (9, 0));
        assert_eq!((word(b, 56), word(b, 60), word(b, 64)), (255, 512, 1));
        assert!(b[68..].iter().all(|&x| x == 0));
        assert_eq!(
            mem[8 + STATFS_SIZE],
            0xaa,
            "nothing written past the struct"
        );
        for size in [40, 68, 87] {
            assert_eq!(
                write_statfs(&mut Guest::new(&mut mem), 8, size, &st),
                Err(Errno::EINVAL)
            );
        }

        // 0.29.3's layout, chosen by its size of 64.
        let mut mem = vec![0xaau8; 256];
        write_statfs(&mut Guest::new(&mut mem), 8, 64, &st).unwrap();
        let b = &mem[8..8 + 64];
        let words: Vec<u32> = (0..16).map(|i| word(b, i * 4)).collect();
        assert_eq!(
            words[..12],
            [0, 4096, u32::MAX, 3, 4, 5, 6, 9, 0, 255, 512, 1]
        );
        assert!(words[12..].iter().all(|&w| w == 0));
        assert_eq!(mem[8 + 64], 0xaa);
    }

    #[test]
    fn dirent_byte_layout() {
        let entry = DirEntry {
            ino: 42,
            kind: FileKind::Symlink,
            name: b"link".to_vec(),
            next: 9,
        };
        let b = encode_dirent(&entry);
        assert_eq!(u64::from_le_bytes(b[0..8].try_into().unwrap()), 42);
        assert_eq!(i64::from_le_bytes(b[8..16].try_into().unwrap()), 9);
        assert_eq!(u16::from_le_bytes([b[16], b[17]]), 280);
        assert_eq!(b[18], 10);
        assert_eq!(&b[19..24], b"link\0");
        assert!(b[24..].iter().all(|&x| x == 0));
        let long = DirEntry {
            name: vec![b'x'; 300],
            ..entry
        };
        let b = encode_dirent(&long);
        assert_eq!(b[19 + 254], b'x');
        assert_eq!(b[19 + 255], 0, "names are cut to 255 bytes plus NUL");
    }

    /// Reads a directory the way musl's readdir does (2048-byte buffer) and
    /// returns (name, d_off) pairs.
    fn read_all(v: &mut Vfs, mem: &mut [u8], fd: i32, count: i32) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        loop {
            let n = getdents64(v, &mut Guest::new(mem), fd, BUF as i32, count).unwrap();
            assert_eq!(n as usize % DIRENT_SIZE, 0);
            assert!(n <= count);
            if n == 0 {
                return out;
            }
            for rec in mem[BUF as usize..BUF as usize + n as usize].chunks_exact(DIRENT_SIZE) {
                let name_end = 19 + rec[19..].iter().position(|&c| c == 0).unwrap();
                let d_off = i64::from_le_bytes(rec[8..16].try_into().unwrap());
                out.push((
                    String::from_utf8(rec[19..name_end].to_vec()).unwrap(),
                    d_off,
                ));
            }
        }
    }

    #[test]
    fn getdents_pages_through_a_directory_across_calls() {
        let mut v = vfs();
        let mut mem = vec![0u8; MEM];
        v.mkdir(Dirfd::Cwd, "/d".into(), 0o755).unwrap();
        let mut expected = vec![".".to_owned(), "..".to_owned()];
        for i in 0..20 {
            let name = format!("f{i:02}");
            let fd = v
                .open(
                    Dirfd::Cwd,
                    format!("/d/{name}").as_str().into(),
                    OpenFlags::CREAT | OpenFlags::WRONLY,
                    0o644,
                )
                .unwrap();
            v.close(fd).unwrap();
            expected.push(name);
        }
        let fd = open(&mut v, &mut mem, "/d", OpenFlags::DIRECTORY, 0).unwrap();
        let entries = read_all(&mut v, &mut mem, fd, 2048);
        let mut names: Vec<String> = entries.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        expected.sort();
        assert_eq!(names, expected, "every entry exactly once over 4 calls");
        let offs: Vec<i64> = entries.iter().map(|e| e.1).collect();
        assert!(
            offs.windows(2).all(|w| w[0] < w[1]),
            "d_off increases: {offs:?}"
        );

        // seekdir(telldir()) goes through lseek with a d_off.
        let third = entries[2].1;
        v.seek(Fd(fd as u32), third, pyodide_vfs::Whence::Set)
            .unwrap();
        let rest = read_all(&mut v, &mut mem, fd, 280);
        assert_eq!(rest, entries[3..].to_vec());

        // rewinddir restarts the listing.
        v.seek(Fd(fd as u32), 0, pyodide_vfs::Whence::Set).unwrap();
        assert_eq!(read_all(&mut v, &mut mem, fd, 4000), entries);

        let mut guest = Guest::new(&mut mem);
        assert_eq!(
            getdents64(&mut v, &mut guest, fd, BUF as i32, 279),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            getdents64(&mut v, &mut guest, 1, BUF as i32, 2048),
            Err(Errno::ENOTDIR)
        );
        assert_eq!(
            getdents64(&mut v, &mut guest, 99, BUF as i32, 2048),
            Err(Errno::EBADF)
        );
    }

    #[test]
    fn getdents_checks_the_buffer_before_consuming_entries() {
        let mut v = vfs();
        let mut mem = vec![0u8; MEM];
        let fd = open(&mut v, &mut mem, "/dev", OpenFlags::DIRECTORY, 0).unwrap();
        let tail = (MEM - DIRENT_SIZE) as i32;
        let mut guest = Guest::new(&mut mem);
        assert_eq!(
            getdents64(&mut v, &mut guest, fd, tail, 2 * DIRENT_SIZE as i32),
            Err(Errno::EFAULT)
        );
        assert_eq!(
            read_all(&mut v, &mut mem, fd, 2048)[0].0,
            ".",
            "nothing was lost"
        );
    }

    #[test]
    fn openat_reads_the_mode_from_varargs() {
        let mut v = vfs();
        let mut mem = vec![0u8; MEM];
        let fd = open(
            &mut v,
            &mut mem,
            "/tmp/f",
            OpenFlags::CREAT | OpenFlags::RDWR | OpenFlags::CLOEXEC,
            0o100640,
        )
        .unwrap();
        assert_eq!(fd, 3);
        let st = v.stat(Dirfd::Cwd, "/tmp/f".into(), true).unwrap();
        assert_eq!(st.mode(), 0o100640, "no umask applied");
        assert_eq!(
            open(
                &mut v,
                &mut mem,
                "/tmp/f",
                OpenFlags::CREAT | OpenFlags::EXCL,
                0o600
            ),
            Err(Errno::EEXIST)
        );
        assert_eq!(
            open(&mut v, &mut mem, "/tmp/f", OpenFlags::DIRECTORY, 0),
            Err(Errno::ENOTDIR)
        );
        // Without varargs the mode is 0.
        let p = set_path(&mut mem, PATH, "/tmp/g");
        let flags = (OpenFlags::CREAT | OpenFlags::WRONLY).bits() as i32;
        openat(&mut v, &mut Guest::new(&mut mem), -100, p, flags, 0).unwrap();
        assert_eq!(v.stat(Dirfd::Cwd, "/tmp/g".into(), true).unwrap().perm, 0);
        // An absolute path ignores even a bad dirfd; a relative one needs it.
        let abs = set_path(&mut mem, PATH, "/tmp/f");
        assert!(openat(&mut v, &mut Guest::new(&mut mem), -7, abs, 0, 0).is_ok());
        let rel = set_path(&mut mem, PATH, "tmp/f");
        assert_eq!(
            openat(&mut v, &mut Guest::new(&mut mem), -7, rel, 0, 0),
            Err(Errno::EBADF)
        );
    }

    #[test]
    fn fcntl_commands() {
        let mut v = vfs();
        let mut mem = vec![0u8; MEM];
        let fd = open(
            &mut v,
            &mut mem,
            "/tmp/f",
            OpenFlags::CREAT | OpenFlags::RDWR,
            0o644,
        )
        .unwrap();
        let mut g = Guest::new(&mut mem);
        g.write_i32(ARGS, 10).unwrap();
        assert_eq!(fcntl64(&mut v, &mut g, fd, F_DUPFD, ARGS as i32), Ok(10));
        assert_eq!(
            fcntl64(&mut v, &mut g, fd, F_DUPFD_CLOEXEC, ARGS as i32),
            Ok(11)
        );
        assert_eq!(v.cloexec(Fd(11)), Ok(true));
        assert_eq!(fcntl64(&mut v, &mut g, fd, F_GETFD, 0), Ok(0));
        assert_eq!(fcntl64(&mut v, &mut g, fd, F_SETFD, 0), Ok(0));
        let fl = fcntl64(&mut v, &mut g, fd, F_GETFL, 0).unwrap() as u32;
        assert_eq!(fl & 3, 2);
        assert_eq!(fl & OpenFlags::NONBLOCK.bits(), 0);
        g.write_i32(
            ARGS,
            (OpenFlags::NONBLOCK | OpenFlags::APPEND).bits() as i32,
        )
        .unwrap();
        assert_eq!(fcntl64(&mut v, &mut g, fd, F_SETFL, ARGS as i32), Ok(0));
        // F_SETFL ORs (as Emscripten): clearing O_NONBLOCK does not stick.
        g.write_i32(ARGS, 0).unwrap();
        assert_eq!(fcntl64(&mut v, &mut g, fd, F_SETFL, ARGS as i32), Ok(0));
        let fl = fcntl64(&mut v, &mut g, 10, F_GETFL, 0).unwrap() as u32;
        assert_ne!(fl & OpenFlags::NONBLOCK.bits(), 0, "shared by the dup");
        assert_ne!(fl & OpenFlags::APPEND.bits(), 0);
        g.write_u32(ARGS, BUF).unwrap();
        g.write_u16(BUF, 1).unwrap();
        assert_eq!(fcntl64(&mut v, &mut g, fd, F_GETLK, ARGS as i32), Ok(0));
        assert_eq!(g.read::<2>(BUF).unwrap(), F_UNLCK.to_le_bytes());
        assert_eq!(fcntl64(&mut v, &mut g, fd, F_SETLKW, ARGS as i32), Ok(0));
        assert_eq!(
            fcntl64(&mut v, &mut g, fd, 99, ARGS as i32),
            Err(Errno::EINVAL)
        );
        assert_eq!(fcntl64(&mut v, &mut g, 77, F_GETFD, 0), Err(Errno::EBADF));
        g.write_i32(ARGS, -1).unwrap();
        assert_eq!(
            fcntl64(&mut v, &mut g, fd, F_DUPFD, ARGS as i32),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn ioctl_answers_terminals_only() {
        let mut v = vfs();
        let mut mem = vec![0u8; MEM];
        let fd = open(
            &mut v,
            &mut mem,
            "/tmp/f",
            OpenFlags::CREAT | OpenFlags::RDWR,
            0o644,
        )
        .unwrap();
        let mut g = Guest::new(&mut mem);
        g.write_u32(ARGS, BUF).unwrap();
        assert_eq!(tty_ioctl(&mut g, true, TIOCGWINSZ, ARGS as i32), Ok(0));
        assert_eq!(g.read::<4>(BUF).unwrap(), [24, 0, 80, 0]);
        assert_eq!(tty_ioctl(&mut g, true, TCGETS, ARGS as i32), Ok(0));
        assert_eq!(g.u32(BUF + 12).unwrap(), 35_387, "c_lflag");
        assert_eq!(g.read::<3>(BUF + 17).unwrap(), [3, 28, 127], "c_cc");
        assert_eq!(tty_ioctl(&mut g, true, TCSETSW, ARGS as i32), Ok(0));
        assert_eq!(
            tty_ioctl(&mut g, true, TIOCSPGRP, ARGS as i32),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            tty_ioctl(&mut g, true, FIONREAD, ARGS as i32),
            Err(Errno::ENOTTY)
        );
        g.write_u32(BUF, 0xdead_beef).unwrap();
        for op in [TIOCGWINSZ, TCGETS, TCSETS, TIOCGPGRP, FIONREAD, FIONBIO] {
            assert_eq!(
                ioctl(&v, &mut g, fd, op, ARGS as i32),
                Err(Errno::ENOTTY),
                "{op:#x}"
            );
            // Stdio whose host end is no terminal is not one either.
            assert_eq!(
                ioctl(&v, &mut g, 1, op, ARGS as i32),
                Err(Errno::ENOTTY),
                "{op:#x}"
            );
        }
        assert_eq!(
            g.u32(BUF).unwrap(),
            0xdead_beef,
            "nothing written for a non-tty"
        );
        assert_eq!(ioctl(&v, &mut g, fd, 0x5451, 0), Err(Errno::EINVAL));
        assert_eq!(
            ioctl(&v, &mut g, 50, TIOCGWINSZ, ARGS as i32),
            Err(Errno::EBADF)
        );
    }

    #[test]
    fn stat_family_and_newfstatat_flags() {
        let mut v = vfs();
        let mut mem = vec![0u8; MEM];
        v.symlink(b"/tmp", Dirfd::Cwd, "/lnk".into()).unwrap();
        let dir = open(&mut v, &mut mem, "/", OpenFlags::DIRECTORY, 0).unwrap();
        let p = set_path(&mut mem, PATH, "lnk");
        let mut g = Guest::new(&mut mem);
        assert_eq!(newfstatat(&v, &mut g, dir, p, BUF as i32, 0), Ok(0));
        assert_eq!(g.u32(BUF + 4).unwrap() & S_IFMT, 0o040000);
        assert_eq!(
            newfstatat(&v, &mut g, dir, p, BUF as i32, AT_SYMLINK_NOFOLLOW),
            Ok(0)
        );
        assert_eq!(g.u32(BUF + 4).unwrap() & S_IFMT, 0o120000);
        let empty = set_path(&mut mem, PATH2, "");
        let mut g = Guest::new(&mut mem);
        assert_eq!(
            newfstatat(&v, &mut g, dir, empty, BUF as i32, 0),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            newfstatat(&v, &mut g, dir, empty, BUF as i32, AT_EMPTY_PATH),
            Ok(0)
        );
        assert_eq!(g.u32(BUF + 4).unwrap() & S_IFMT, 0o040000);
        assert_eq!(
            u64::from_le_bytes(g.read(BUF + 88).unwrap()),
            v.fstat(Fd(dir as u32)).unwrap().ino
        );
        assert_eq!(
            newfstatat(&v, &mut g, dir, p, BUF as i32, 0x4),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn getcwd_returns_length_with_nul() {
        let mut v = vfs();
        let mut mem = vec![0u8; MEM];
        v.chdir(Dirfd::Cwd, "/home/web_user".into()).unwrap();
        let mut g = Guest::new(&mut mem);
        assert_eq!(getcwd(&v, &mut g, BUF as i32, 64), Ok(15));
        assert_eq!(g.c_str(BUF, 64).unwrap(), b"/home/web_user");
        assert_eq!(getcwd(&v, &mut g, BUF as i32, 14), Err(Errno::ERANGE));
        assert_eq!(getcwd(&v, &mut g, BUF as i32, 0), Err(Errno::EINVAL));
    }

    #[test]
    fn readlinkat_truncates_without_nul() {
        let mut v = vfs();
        let mut mem = vec![0u8; MEM];
        v.symlink(b"/tmp/target", Dirfd::Cwd, "/tmp/l".into())
            .unwrap();
        let p = set_path(&mut mem, PATH, "/tmp/l");
        mem[BUF as usize..BUF as usize + 16].fill(b'#');
        let mut g = Guest::new(&mut mem);
        assert_eq!(readlinkat(&v, &mut g, -100, p, BUF as i32, 64), Ok(11));
        assert_eq!(g.slice(BUF, 12).unwrap(), b"/tmp/target#");
        assert_eq!(readlinkat(&v, &mut g, -100, p, BUF as i32 + 32, 4), Ok(4));
        assert_eq!(g.slice(BUF + 32, 4).unwrap(), b"/tmp");
        assert_eq!(
            readlinkat(&v, &mut g, -100, p, BUF as i32, 0),
            Err(Errno::EINVAL)
        );
        let f = set_path(&mut mem, PATH, "/tmp");
        assert_eq!(
            readlinkat(&v, &mut Guest::new(&mut mem), -100, f, BUF as i32, 8),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn unlinkat_mknodat_and_access() {
        let mut v = vfs();
        let mut mem = vec![0u8; MEM];
        let p = set_path(&mut mem, PATH, "/tmp/n");
        let mut g = Guest::new(&mut mem);
        assert_eq!(mknodat(&mut v, &mut g, -100, p, 0o600), Err(Errno::EINVAL));
        assert_eq!(
            mknodat(&mut v, &mut g, -100, p, (S_IFIFO | 0o600) as i32),
            Err(Errno::EPERM)
        );
        assert_eq!(
            mknodat(&mut v, &mut g, -100, p, (S_IFREG | 0o640) as i32),
            Ok(0)
        );
        assert_eq!(
            v.stat(Dirfd::Cwd, "/tmp/n".into(), true).unwrap().mode(),
            0o100640
        );
        assert!(
            !v.is_open(Fd(3)),
            "the descriptor used to create it is closed"
        );
        assert_eq!(
            mknodat(&mut v, &mut g, -100, p, (S_IFREG | 0o640) as i32),
            Err(Errno::EEXIST)
        );
        assert_eq!(faccessat(&v, &mut g, -100, p, 6, 0), Ok(0));
        assert_eq!(faccessat(&v, &mut g, -100, p, 1, 0), Err(Errno::EACCES));
        assert_eq!(faccessat(&v, &mut g, -100, p, 8, 0), Err(Errno::EINVAL));
        assert_eq!(unlinkat(&mut v, &mut g, -100, p, 0x100), Err(Errno::EINVAL));
        assert_eq!(
            unlinkat(&mut v, &mut g, -100, p, AT_REMOVEDIR),
            Err(Errno::ENOTDIR)
        );
        assert_eq!(unlinkat(&mut v, &mut g, -100, p, 0), Ok(0));
        assert_eq!(faccessat(&v, &mut g, -100, p, 0, 0), Err(Errno::ENOENT));
        v.symlink(b"/nowhere", Dirfd::Cwd, "/tmp/n".into()).unwrap();
        assert_eq!(faccessat(&v, &mut g, -100, p, 0, 0), Err(Errno::ENOENT));
        assert_eq!(
            faccessat(&v, &mut g, -100, p, 0, AT_SYMLINK_NOFOLLOW),
            Ok(0)
        );
        assert_eq!(
            fchmodat2(&mut v, &mut g, -100, p, 0o600, AT_SYMLINK_NOFOLLOW),
            Ok(0)
        );
        let link = v.stat(Dirfd::Cwd, "/tmp/n".into(), false).unwrap();
        assert_eq!((link.kind, link.perm), (FileKind::Symlink, 0o600));
        assert_eq!(fchownat(&v, &mut g, -100, p, AT_SYMLINK_NOFOLLOW), Ok(0));
        assert_eq!(fchownat(&v, &mut g, -100, p, 0), Err(Errno::ENOENT));
    }

    #[test]
    fn dup3_flags() {
        let mut v = vfs();
        assert_eq!(dup3(&mut v, 1, 9, OpenFlags::CLOEXEC.bits() as i32), Ok(9));
        assert_eq!(v.cloexec(Fd(9)), Ok(true));
        assert_eq!(dup3(&mut v, 1, 9, 1), Err(Errno::EINVAL));
        assert_eq!(dup3(&mut v, 1, 1, 0), Err(Errno::EINVAL));
        assert_eq!(dup3(&mut v, 1, -1, 0), Err(Errno::EBADF));
        assert_eq!(dup3(&mut v, 30, 9, 0), Err(Errno::EBADF));
    }

    #[test]
    fn poll_never_blocks_and_masks_like_emscripten() {
        let v = vfs();
        let mut mem = vec![0u8; MEM];
        let mut g = Guest::new(&mut mem);
        let entries: [(i32, u16); 4] = [
            (1, POLLOUT),
            (0, POLLIN | POLLOUT),
            (40, POLLIN),
            (41, POLLIN | POLLNVAL),
        ];
        for (i, (fd, events)) in entries.iter().enumerate() {
            let at = BUF + 8 * i as u32;
            g.write_i32(at, *fd).unwrap();
            g.write_u16(at + 4, *events).unwrap();
            g.write_u16(at + 6, 0xffff).unwrap();
        }
        assert_eq!(poll(&v, &mut g, BUF as i32, 4), Ok(3));
        let revents: Vec<u16> = (0..4)
            .map(|i| u16::from_le_bytes(g.read(BUF + 8 * i + 6).unwrap()))
            .collect();
        assert_eq!(revents, [POLLOUT, POLLIN | POLLOUT, 0, POLLNVAL]);
        assert_eq!(poll(&v, &mut g, BUF as i32, 0), Ok(0));
        assert_eq!(poll(&v, &mut g, BUF as i32, 5000), Err(Errno::EINVAL));
        assert_eq!(poll(&v, &mut g, (MEM - 8) as i32, 2), Err(Errno::EFAULT));
    }

    #[test]
    fn pipe_ends_poll_by_contents_and_read_to_end_of_file() {
        let mut v = vfs();
        let mut mem = vec![0u8; MEM];
        let mut g = Guest::new(&mut mem);
        assert_eq!(pipe(&mut v, &mut g, BUF as i32), Ok(0));
        let (r, w) = (g.i32(BUF).unwrap(), g.i32(BUF + 4).unwrap());
        assert_eq!((r, w), (3, 4), "the lowest free descriptors");
        let st = v.fstat(Fd(r as u32)).unwrap();
        assert_eq!((st.mode(), st.nlink, st.size), (S_IFIFO | 0o600, 1, 0));
        assert_eq!(ready_events(&v, r), 0, "empty");
        assert_eq!(ready_events(&v, w), POLLOUT);
        v.write(Fd(w as u32), b"ping").unwrap();
        assert_eq!(ready_events(&v, r), POLLIN);
        v.close(Fd(w as u32)).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(v.read(Fd(r as u32), &mut buf), Ok(4));
        assert_eq!(ready_events(&v, r), POLLIN | POLLHUP);
        assert_eq!(v.read(Fd(r as u32), &mut buf), Ok(0), "end of file");
        assert_eq!(v.seek(Fd(r as u32), 0, Whence::Set), Err(Errno::ESPIPE));
        assert_eq!(pipe(&mut v, &mut g, 0), Err(Errno::EFAULT));
        assert_eq!(pipe(&mut v, &mut g, (MEM - 4) as i32), Err(Errno::EFAULT));
        assert!(!v.is_open(Fd(5)), "no pipe made when fds cannot be written");
    }

    #[test]
    fn newselect_reports_ready_sets() {
        let v = vfs();
        let mut mem = vec![0u8; MEM];
        let mut g = Guest::new(&mut mem);
        let (read, write) = (BUF, BUF + 128);
        g.write_u32(read, 0b101).unwrap();
        g.write_u32(write, 0b110).unwrap();
        assert_eq!(
            newselect(&v, &mut g, 3, [read as i32, write as i32, 0]),
            Ok(4)
        );
        assert_eq!(
            (g.u32(read).unwrap(), g.u32(write).unwrap()),
            (0b101, 0b110)
        );
        g.write_u32(read, 1 << 5).unwrap();
        assert_eq!(
            newselect(&v, &mut g, 6, [read as i32, 0, 0]),
            Err(Errno::EBADF)
        );
        assert_eq!(newselect(&v, &mut g, 2000, [0, 0, 0]), Err(Errno::EINVAL));
    }

    #[test]
    fn utimensat_now_omit_and_values() {
        let clock = ManualClock::new(Timespec::new(100, 0));
        let mut v = Vfs::builder().clock(clock.clone()).build();
        let mut mem = vec![0u8; MEM];
        let fd = open(
            &mut v,
            &mut mem,
            "/tmp/f",
            OpenFlags::CREAT | OpenFlags::RDWR,
            0o644,
        )
        .unwrap();
        let p = set_path(&mut mem, PATH, "/tmp/f");
        clock.set(Timespec::new(200, 7));
        let mut g = Guest::new(&mut mem);
        g.write_i64(BUF, 5).unwrap();
        g.write_u32(BUF + 8, 6_000_123).unwrap();
        g.write_i64(BUF + 16, 0).unwrap();
        g.write_u32(BUF + 24, SetTime::UTIME_OMIT).unwrap();
        assert_eq!(utimensat(&mut v, &mut g, -100, p, BUF as i32, 0), Ok(0));
        let st = v.stat(Dirfd::Cwd, "/tmp/f".into(), true).unwrap();
        assert_eq!(
            (st.atime, st.mtime, st.ctime),
            (
                Timespec::new(5, 6_000_000),
                Timespec::new(100, 0),
                Timespec::new(200, 7)
            )
        );
        clock.set(Timespec::new(300, 0));
        g.write_u32(BUF + 8, SetTime::UTIME_OMIT).unwrap();
        g.write_u32(BUF + 24, SetTime::UTIME_NOW).unwrap();
        assert_eq!(
            utimensat(&mut v, &mut g, fd, 0, BUF as i32, 0),
            Ok(0),
            "null path is futimens"
        );
        let st = v.fstat(Fd(fd as u32)).unwrap();
        assert_eq!(
            (st.atime, st.mtime),
            (Timespec::new(5, 6_000_000), Timespec::new(300, 0))
        );
        clock.set(Timespec::new(400, 0));
        assert_eq!(
            utimensat(&mut v, &mut g, -100, p, 0, 0),
            Ok(0),
            "null times is now"
        );
        assert_eq!(v.fstat(Fd(fd as u32)).unwrap().atime, Timespec::new(400, 0));
        g.write_u32(BUF + 8, 1_000_000_000).unwrap();
        assert_eq!(
            utimensat(&mut v, &mut g, -100, p, BUF as i32, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(utimensat(&mut v, &mut g, -100, p, 0, 1), Err(Errno::EINVAL));
    }

    #[test]
    fn fallocate_grows_only() {
        let mut v = vfs();
        let mut mem = vec![0u8; MEM];
        let fd = open(
            &mut v,
            &mut mem,
            "/tmp/f",
            OpenFlags::CREAT | OpenFlags::RDWR,
            0o644,
        )
        .unwrap();
        assert_eq!(fallocate(&mut v, fd, 0, 10, 90), Ok(0));
        assert_eq!(v.fstat(Fd(fd as u32)).unwrap().size, 100);
        assert_eq!(fallocate(&mut v, fd, 0, 0, 5), Ok(0));
        assert_eq!(v.fstat(Fd(fd as u32)).unwrap().size, 100);
        assert_eq!(fallocate(&mut v, fd, 1, 0, 5), Err(Errno::ENOTSUP));
        assert_eq!(fallocate(&mut v, fd, 0, -1, 5), Err(Errno::EINVAL));
        assert_eq!(fallocate(&mut v, fd, 0, i64::MAX, 5), Err(Errno::EFBIG));
    }

    #[test]
    fn mmap_checks_copy_and_write_back() {
        let mut v = vfs();
        let mut mem = vec![0u8; 4 * MEM];
        let rw = open(
            &mut v,
            &mut mem,
            "/tmp/f",
            OpenFlags::CREAT | OpenFlags::RDWR,
            0o644,
        )
        .unwrap();
        v.write(Fd(rw as u32), b"hello mapped world").unwrap();
        let ro = open(&mut v, &mut mem, "/tmp/f", OpenFlags::RDONLY, 0).unwrap();
        let args = |fd, prot, flags, len, offset| MmapArgs {
            len,
            prot,
            flags,
            fd,
            offset,
        };
        let plan = mmap_plan(&v, args(rw, 3, 1, 100, 6)).unwrap();
        assert_eq!(
            plan,
            MmapPlan {
                fd: Fd(rw as u32),
                len: 100,
                block: 65_536,
                offset: 6
            }
        );
        assert_eq!(
            mmap_plan(&v, args(ro, 3, 1, 100, 0)),
            Err(Errno::EACCES),
            "shared writable on O_RDONLY"
        );
        assert!(
            mmap_plan(&v, args(ro, 3, MAP_PRIVATE, 100, 0)).is_ok(),
            "private copy is fine"
        );
        assert_eq!(
            mmap_plan(&v, args(1, 1, 1, 100, 0)),
            Err(Errno::EACCES),
            "stdout is write-only"
        );
        assert_eq!(mmap_plan(&v, args(0, 1, 1, 100, 0)), Err(Errno::ENODEV));
        assert_eq!(mmap_plan(&v, args(rw, 1, 1, 0, 0)), Err(Errno::EINVAL));
        assert_eq!(
            mmap_plan(&v, args(rw, 1, 1, u32::MAX, 0)),
            Err(Errno::ENOMEM)
        );
        assert_eq!(mmap_plan(&v, args(44, 1, 1, 10, 0)), Err(Errno::EBADF));

        let block = MEM as u32;
        mem[block as usize..2 * block as usize].fill(0xee);
        let mut g = Guest::new(&mut mem);
        assert_eq!(
            mmap_fill(&mut v, &mut g, plan, block, ARGS, ARGS + 4),
            Ok(0)
        );
        assert_eq!(g.slice(block, 13).unwrap(), b"mapped world\0");
        assert!(
            g.slice(block, 65_536).unwrap()[12..]
                .iter()
                .all(|&b| b == 0),
            "the whole block is zeroed"
        );
        assert_eq!((g.i32(ARGS).unwrap(), g.u32(ARGS + 4).unwrap()), (1, block));

        g.slice_mut(block, 6).unwrap().copy_from_slice(b"MAPPED");
        assert_eq!(
            write_back(&mut v, &mut g, block, 6, MAP_PRIVATE, Fd(rw as u32), 6),
            Ok(0)
        );
        let mut file = [0u8; 18];
        v.pread(Fd(ro as u32), &mut file, 0).unwrap();
        assert_eq!(
            &file, b"hello mapped world",
            "private mappings are not written back"
        );
        assert_eq!(
            write_back(&mut v, &mut g, block, 6, 1, Fd(rw as u32), 6),
            Ok(0)
        );
        v.pread(Fd(ro as u32), &mut file, 0).unwrap();
        assert_eq!(&file, b"hello MAPPED world");
        assert_eq!(
            write_back(&mut v, &mut g, block, 6, 1, Fd(0), 6),
            Err(Errno::ENODEV)
        );
    }

    #[test]
    fn imports_match_the_pyodide_signatures_and_run() {
        use wasmtime::{Engine, Instance, Module, Store};

        // Import signatures as pyodide.asm.wasm (314.0.7 / 0.29.3) declares them.
        let wat = r#"(module
          (import "env" "__syscall_openat" (func (param i32 i32 i32 i32) (result i32)))
          (import "env" "__syscall_fcntl64" (func (param i32 i32 i32) (result i32)))
          (import "env" "__syscall_ioctl" (func (param i32 i32 i32) (result i32)))
          (import "env" "__syscall_fstat64" (func (param i32 i32) (result i32)))
          (import "env" "__syscall_stat64" (func (param i32 i32) (result i32)))
          (import "env" "__syscall_lstat64" (func (param i32 i32) (result i32)))
          (import "env" "__syscall_newfstatat" (func (param i32 i32 i32 i32) (result i32)))
          (import "env" "__syscall_statfs64" (func (param i32 i32 i32) (result i32)))
          (import "env" "__syscall_fstatfs64" (func (param i32 i32 i32) (result i32)))
          (import "env" "__syscall_getdents64" (func $getdents (param i32 i32 i32) (result i32)))
          (import "env" "__syscall_getcwd" (func (param i32 i32) (result i32)))
          (import "env" "__syscall_chdir" (func (param i32) (result i32)))
          (import "env" "__syscall_fchdir" (func (param i32) (result i32)))
          (import "env" "__syscall_mkdirat" (func (param i32 i32 i32) (result i32)))
          (import "env" "__syscall_mknodat" (func (param i32 i32 i32 i32) (result i32)))
          (import "env" "__syscall_rmdir" (func (param i32) (result i32)))
          (import "env" "__syscall_unlinkat" (func (param i32 i32 i32) (result i32)))
          (import "env" "__syscall_renameat" (func (param i32 i32 i32 i32) (result i32)))
          (import "env" "__syscall_symlinkat" (func (param i32 i32 i32) (result i32)))
          (import "env" "__syscall_readlinkat" (func (param i32 i32 i32 i32) (result i32)))
          (import "env" "__syscall_faccessat" (func (param i32 i32 i32 i32) (result i32)))
          (import "env" "__syscall_chmod" (func (param i32 i32) (result i32)))
          (import "env" "__syscall_fchmod" (func (param i32 i32) (result i32)))
          (import "env" "__syscall_fchmodat2" (func (param i32 i32 i32 i32) (result i32)))
          (import "env" "__syscall_fchown32" (func (param i32 i32 i32) (result i32)))
          (import "env" "__syscall_fchownat" (func (param i32 i32 i32 i32 i32) (result i32)))
          (import "env" "__syscall_ftruncate64" (func (param i32 i64) (result i32)))
          (import "env" "__syscall_truncate64" (func (param i32 i64) (result i32)))
          (import "env" "__syscall_fdatasync" (func (param i32) (result i32)))
          (import "env" "__syscall_dup" (func (param i32) (result i32)))
          (import "env" "__syscall_dup3" (func (param i32 i32 i32) (result i32)))
          (import "env" "__syscall_pipe" (func (param i32) (result i32)))
          (import "env" "__syscall_poll" (func (param i32 i32 i32) (result i32)))
          (import "env" "__syscall__newselect" (func (param i32 i32 i32 i32 i32) (result i32)))
          (import "env" "__syscall_utimensat" (func (param i32 i32 i32 i32) (result i32)))
          (import "env" "__syscall_fadvise64" (func (param i32 i64 i64 i32) (result i32)))
          (import "env" "__syscall_fallocate" (func (param i32 i32 i64 i64) (result i32)))
          (import "env" "_try_fcntl64" (func (param i32 i32 i32 i32) (result i32)))
          (import "env" "_try_shutdown" (func (param i32 i32 i32) (result i32)))
          (import "env" "__syscall_umask_js" (func $umask (param i32) (result i32)))
          (import "env" "__syscall_getuid32_js" (func (result i32)))
          (import "env" "_mmap_js" (func $mmap (param i32 i32 i32 i32 i64 i32 i32) (result i32)))
          (import "env" "_munmap_js" (func (param i32 i32 i32 i32 i32 i64) (result i32)))
          (import "env" "_msync_js" (func (param i32 i32 i32 i32 i32 i64) (result i32)))
          (import "env" "emscripten_date_now" (func (result f64)))
          (import "env" "emscripten_get_now" (func (result f64)))
          (import "env" "_localtime_js" (func (param i64 i32)))
          (import "env" "_gmtime_js" (func (param i64 i32)))
          (import "env" "_mktime_js" (func (param i32) (result i64)))
          (import "env" "_timegm_js" (func (param i32) (result i64)))
          (import "env" "_tzset_js" (func (param i32 i32 i32 i32)))
          (import "env" "_setitimer_js" (func (param i32 f64) (result i32)))
          (memory (export "memory") 2)
          (table (export "table") 1 funcref)
          ;; A bump allocator standing in for emscripten_builtin_memalign.
          (global $next (mut i32) (i32.const 65536))
          (func (export "memalign") (param i32 i32) (result i32)
            (local $p i32)
            (local.set $p (global.get $next))
            (drop (memory.grow (i32.shr_u (local.get 1) (i32.const 16))))
            (global.set $next (i32.add (local.get $p) (local.get 1)))
            (local.get $p))
          (export "getdents" (func $getdents))
          (export "umask" (func $umask))
          (export "mmap" (func $mmap)))"#;
        let engine = Engine::default();
        let module = Module::new(&engine, wat).unwrap();
        let mut linker = Linker::<EmscriptenCtx>::new(&engine);
        fn get(ctx: &mut EmscriptenCtx) -> &mut EmscriptenCtx {
            ctx
        }
        add(&mut linker, get).unwrap();
        crate::time::add(&mut linker, get).unwrap();
        let mut store = Store::new(&engine, EmscriptenCtx::builder().build());
        let instance: Instance = linker.instantiate(&mut store, &module).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        let table = instance.get_table(&mut store, "table").unwrap();
        let memalign = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "memalign")
            .unwrap();
        store.data_mut().handles = Some(crate::ctx::Handles {
            memory,
            table,
            free: None,
            memalign: Some(memalign),
            funcs_on_exit: None,
            fflush: None,
            set_interrupt: None,
        });

        let umask = instance
            .get_typed_func::<i32, i32>(&mut store, "umask")
            .unwrap();
        assert_eq!(umask.call(&mut store, 0o077).unwrap(), 0o022);
        assert_eq!(umask.call(&mut store, 0o022).unwrap(), 0o077);

        let fd = store
            .data_mut()
            .vfs
            .open(
                Dirfd::Cwd,
                "/tmp/m".into(),
                OpenFlags::CREAT | OpenFlags::RDWR,
                0o644,
            )
            .unwrap();
        store.data_mut().vfs.write(fd, &vec![7u8; 70_000]).unwrap();
        let mmap = instance
            .get_typed_func::<(i32, i32, i32, i32, i64, i32, i32), i32>(&mut store, "mmap")
            .unwrap();
        // 70 000 bytes need two pages: the allocator grows memory during the call.
        assert_eq!(
            mmap.call(&mut store, (70_000, 1, 1, fd.0 as i32, 0, 16, 20))
                .unwrap(),
            0
        );
        let data = memory.data(&store);
        assert_eq!(word(data, 16), 1);
        let addr = word(data, 20) as usize;
        assert_eq!(addr, 65_536);
        assert!(data[addr..addr + 70_000].iter().all(|&b| b == 7));
        assert!(data[addr + 70_000..addr + 131_072].iter().all(|&b| b == 0));
        assert_eq!(
            mmap.call(&mut store, (10, 1, 1, 1, 0, 16, 20)).unwrap(),
            -Errno::EACCES.code()
        );

        let dir = store
            .data_mut()
            .vfs
            .open(Dirfd::Cwd, "/dev".into(), OpenFlags::DIRECTORY, 0)
            .unwrap();
        let getdents = instance
            .get_typed_func::<(i32, i32, i32), i32>(&mut store, "getdents")
            .unwrap();
        assert_eq!(
            getdents
                .call(&mut store, (dir.0 as i32, 1024, 2048))
                .unwrap(),
            7 * 280
        );
        assert_eq!(&memory.data(&store)[1024 + 19..1024 + 21], b".\0");
        assert_eq!(
            getdents
                .call(&mut store, (dir.0 as i32, 1024, 100))
                .unwrap(),
            -Errno::EINVAL.code()
        );
    }
}
