//! The `wasi_snapshot_preview1` imports: fd I/O on the shared descriptor
//! table, environment, clocks, entropy, `proc_exit`.

use pyodide_vfs::{EntropySource, Errno, Fd, FileKind, Whence};
use wasmtime::{Caller, Linker};

use crate::GuestExit;
use crate::ctx::ConsumerSlot;
use crate::guest::{Guest, MAX_HOST_BUFFER};
use crate::linker::{CtxGetter, wasi_result, with_guest};

const WASI: &str = "wasi_snapshot_preview1";

const CLOCK_REALTIME: i32 = 0;

pub(crate) fn add<T: 'static>(linker: &mut Linker<T>, get: CtxGetter<T>) -> wasmtime::Result<()> {
    linker.func_wrap(
        WASI,
        "fd_write",
        move |mut caller: Caller<'_, T>, fd: i32, iovs: i32, count: i32, nwritten: i32| {
            with_guest(&mut caller, get, |ctx, guest| {
                wasi_result((|| {
                    let fd = Fd::from_raw(fd)?;
                    write_vectored(guest, iovs, count, nwritten, |data, _| {
                        ctx.vfs.write(fd, data)
                    })
                })())
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_read",
        move |mut caller: Caller<'_, T>, fd: i32, iovs: i32, count: i32, nread: i32| {
            with_guest(&mut caller, get, |ctx, guest| {
                wasi_result((|| {
                    let fd = Fd::from_raw(fd)?;
                    read_vectored(guest, iovs, count, nread, |buf, _| ctx.vfs.read(fd, buf))
                })())
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_pread",
        move |mut caller: Caller<'_, T>,
              fd: i32,
              iovs: i32,
              count: i32,
              offset: i64,
              nread: i32| {
            with_guest(&mut caller, get, |ctx, guest| {
                wasi_result((|| {
                    let fd = Fd::from_raw(fd)?;
                    read_vectored(guest, iovs, count, nread, |buf, done| {
                        ctx.vfs.pread(fd, buf, offset + i64::from(done))
                    })
                })())
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_pwrite",
        move |mut caller: Caller<'_, T>,
              fd: i32,
              iovs: i32,
              count: i32,
              offset: i64,
              nwritten: i32| {
            with_guest(&mut caller, get, |ctx, guest| {
                wasi_result((|| {
                    let fd = Fd::from_raw(fd)?;
                    write_vectored(guest, iovs, count, nwritten, |data, done| {
                        ctx.vfs.pwrite(fd, data, offset + i64::from(done))
                    })
                })())
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_close",
        move |mut caller: Caller<'_, T>, fd: i32| {
            let ctx = get(caller.data_mut());
            wasi_result(Fd::from_raw(fd).and_then(|fd| ctx.vfs.close(fd)))
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_sync",
        move |mut caller: Caller<'_, T>, fd: i32| {
            let ctx = get(caller.data_mut());
            wasi_result(Fd::from_raw(fd).and_then(|fd| ctx.vfs.fstat(fd).map(drop)))
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_seek",
        move |mut caller: Caller<'_, T>, fd: i32, offset: i64, whence: i32, newoffset: i32| {
            with_guest(&mut caller, get, |ctx, guest| {
                wasi_result((|| {
                    let fd = Fd::from_raw(fd)?;
                    let whence = Whence::from_raw(whence).ok_or(Errno::EINVAL)?;
                    let position = ctx.vfs.seek(fd, offset, whence)?;
                    guest.write_u64(newoffset as u32, position)
                })())
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_fdstat_get",
        move |mut caller: Caller<'_, T>, fd: i32, buf: i32| {
            with_guest(&mut caller, get, |ctx, guest| {
                wasi_result((|| {
                    let fd = Fd::from_raw(fd)?;
                    let stat = ctx.vfs.fstat(fd)?;
                    // musl's isatty() is "filetype == character device"; only
                    // terminals may say so, or Python would line-buffer pipes.
                    let filetype: u8 = match stat.kind {
                        FileKind::CharDevice if ctx.vfs.is_tty(fd)? => 2,
                        FileKind::Directory => 3,
                        FileKind::Symlink => 7,
                        _ => 4,
                    };
                    let out = guest.slice_mut(buf as u32, 24)?;
                    out.fill(0);
                    out[0] = filetype;
                    Ok(())
                })())
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "environ_sizes_get",
        move |mut caller: Caller<'_, T>, count: i32, size: i32| {
            with_guest(&mut caller, get, |ctx, guest| {
                wasi_result((|| {
                    let bytes: usize = ctx.environ.iter().map(|e| e.len() + 1).sum();
                    guest.write_u32(count as u32, ctx.environ.len() as u32)?;
                    guest.write_u32(size as u32, bytes as u32)
                })())
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "environ_get",
        move |mut caller: Caller<'_, T>, environ: i32, buf: i32| {
            with_guest(&mut caller, get, |ctx, guest| {
                wasi_result((|| {
                    let mut at = buf as u32;
                    for (i, entry) in ctx.environ.iter().enumerate() {
                        guest.write_u32(environ as u32 + 4 * i as u32, at)?;
                        guest.write_c_str(at, entry)?;
                        at += entry.len() as u32 + 1;
                    }
                    Ok(())
                })())
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "clock_time_get",
        move |mut caller: Caller<'_, T>, id: i32, _precision: i64, out: i32| {
            with_guest(&mut caller, get, |ctx, guest| {
                wasi_result((|| {
                    let nanos = match id {
                        CLOCK_REALTIME => crate::time::wall_clock_nanos(),
                        1..=3 => ctx.started.elapsed().as_nanos() as u64,
                        _ => return Err(Errno::EINVAL),
                    };
                    guest.write_u64(out as u32, nanos)
                })())
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "clock_res_get",
        move |mut caller: Caller<'_, T>, id: i32, out: i32| {
            with_guest(&mut caller, get, |_ctx, guest| {
                wasi_result((|| {
                    let resolution = match id {
                        CLOCK_REALTIME => 1_000,
                        1..=3 => 1,
                        _ => return Err(Errno::EINVAL),
                    };
                    guest.write_u64(out as u32, resolution)
                })())
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "random_get",
        move |mut caller: Caller<'_, T>, buf: i32, len: i32| {
            with_guest(&mut caller, get, |ctx, guest| {
                wasi_result((|| {
                    let len = len as u32 as usize;
                    if len > MAX_HOST_BUFFER {
                        return Err(Errno::EINVAL);
                    }
                    // While snapshot accounting is on, the guest names who
                    // draws; a refusal is EIO (not ENOSYS or EPERM, which
                    // would make CPython give up on getentropy for good).
                    let drawn = match ctx.entropy.consumer_slot() {
                        Some(slot) => {
                            let consumer = consumer_name(guest, slot)?;
                            ctx.entropy
                                .fill_for(&consumer, guest.slice_mut(buf as u32, len)?)
                        }
                        None => ctx.entropy.fill(guest.slice_mut(buf as u32, len)?),
                    };
                    drawn.map_err(|_| Errno::EIO)
                })())
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "proc_exit",
        |_: Caller<'_, T>, code: i32| -> wasmtime::Result<()> {
            Err(wasmtime::Error::new(GuestExit(code)))
        },
    )?;
    Ok(())
}

/// The consumer named in the guest's [`ConsumerSlot`]: a length byte, then
/// that many bytes of UTF-8 (invalid bytes replaced). An empty or
/// out-of-range name is [`pyodide_entropy::UNKNOWN`].
fn consumer_name(guest: &Guest<'_>, slot: ConsumerSlot) -> Result<String, Errno> {
    let bytes = guest.slice(slot.addr, slot.len.min(256) as usize)?;
    let name = match bytes.split_first() {
        Some((&n, rest)) if n > 0 && usize::from(n) <= rest.len() => &rest[..usize::from(n)],
        _ => return Ok(pyodide_entropy::UNKNOWN.to_owned()),
    };
    Ok(String::from_utf8_lossy(name).into_owned())
}

/// Reads into the guest's iovec array with `read(buffer, bytes so far)`,
/// stopping at the first short read, and stores the total at `total_ptr`.
fn read_vectored(
    guest: &mut Guest<'_>,
    iovs: i32,
    count: i32,
    total_ptr: i32,
    mut read: impl FnMut(&mut [u8], u32) -> Result<usize, Errno>,
) -> Result<(), Errno> {
    let mut total = 0u32;
    for (ptr, len) in guest.iovecs(iovs as u32, count as u32)? {
        let done = read(guest.slice_mut(ptr, len as usize)?, total)?;
        total = total.saturating_add(done as u32);
        if done < len as usize {
            break;
        }
    }
    guest.write_u32(total_ptr as u32, total)
}

/// Writes the guest's iovec array with `write(bytes, bytes so far)`,
/// stopping at the first short write, and stores the total at `total_ptr`.
fn write_vectored(
    guest: &mut Guest<'_>,
    iovs: i32,
    count: i32,
    total_ptr: i32,
    mut write: impl FnMut(&[u8], u32) -> Result<usize, Errno>,
) -> Result<(), Errno> {
    let mut total = 0u32;
    for (ptr, len) in guest.iovecs(iovs as u32, count as u32)? {
        let done = write(guest.slice(ptr, len as usize)?, total)?;
        total = total.saturating_add(done as u32);
        if done < len as usize {
            break;
        }
    }
    guest.write_u32(total_ptr as u32, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consumer_slot_is_a_length_byte_then_the_name() {
        let mut memory = vec![0u8; 64];
        memory[8] = 6;
        memory[9..15].copy_from_slice(b"random");
        let guest = Guest::new(&mut memory);
        let slot = ConsumerSlot { addr: 8, len: 16 };
        assert_eq!(consumer_name(&guest, slot).unwrap(), "random");
        // An empty slot, or a length past its end, names nobody.
        let empty = ConsumerSlot { addr: 40, len: 16 };
        assert_eq!(
            consumer_name(&guest, empty).unwrap(),
            pyodide_entropy::UNKNOWN
        );
        let short = ConsumerSlot { addr: 8, len: 4 };
        assert_eq!(
            consumer_name(&guest, short).unwrap(),
            pyodide_entropy::UNKNOWN
        );
        // A slot outside memory is the guest's fault.
        let outside = ConsumerSlot { addr: 60, len: 16 };
        assert_eq!(consumer_name(&guest, outside), Err(Errno::EFAULT));
    }
}
