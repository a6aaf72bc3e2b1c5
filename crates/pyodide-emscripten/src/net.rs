//! Sockets and name lookups without a network, answering as Pyodide's
//! Emscripten glue does on Node (where it has no WebSocket backend and so
//! never reaches a peer).
//!
//! * `socket` makes an `AF_INET` stream or datagram socket: a VFS
//!   descriptor holding a [`Socket`] record. Other families are
//!   `EAFNOSUPPORT` (as on Node), a stream socket with a protocol other than
//!   TCP `EPROTONOSUPPORT`, other types `EINVAL`.
//! * `connect`, and `sendto` / `sendmsg` of a datagram to an address, are
//!   `EHOSTUNREACH`: no host is reachable. Other sends and receives of a
//!   stream socket are `ENOTCONN`; a datagram socket receives `EAGAIN` and
//!   sends without an address `EDESTADDRREQ`.
//! * `bind` records the address (a second `bind` is `EINVAL`);
//!   `getsockname` returns it, or `0.0.0.0:0`; `getpeername` is
//!   `ENOTCONN`; `getsockopt(SOL_SOCKET, SO_ERROR)` is 0, other options
//!   `ENOPROTOOPT`.
//! * `listen` is `EOPNOTSUPP` (Emscripten on Node aborts the whole runtime
//!   there) and `accept4` `EINVAL` (nothing listens).
//! * Names resolve as Emscripten's `DNS` object does: numeric addresses as
//!   themselves, any other name to a placeholder address `172.29.N.0`
//!   numbered in order of first lookup (so `connect` to it fails like any
//!   other), and `getnameinfo` maps placeholders back to their names. Past
//!   255 names the last octet carries the high byte (Emscripten would write
//!   an invalid address). `getaddrinfo` returns one entry, allocated with the
//!   module's allocator as Emscripten's does; services are numeric only
//!   (`EAI_SERVICE` otherwise) and `AI_ADDRCONFIG` is `EAI_NONAME`, as there.
//! * `getprotobyname` knows `tcp` and `udp`.
//!
//! Nothing here opens a host socket or asks a host resolver.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use pyodide_vfs::{Errno, Fd, OpenFlags, Socket, Vfs};
use wasmtime::{Caller, Linker};

use crate::guest::Guest;
use crate::linker::{CtxGetter, syscall_result, with_guest};

const ENV: &str = "env";

const AF_UNSPEC: i32 = 0;
const AF_INET: i32 = 2;
const AF_INET6: i32 = 10;
const SOCK_STREAM: i32 = 1;
const SOCK_DGRAM: i32 = 2;
const SOCK_NONBLOCK: i32 = 0o4000;
const SOCK_CLOEXEC: i32 = 0o2000000;
const IPPROTO_TCP: i32 = 6;
const IPPROTO_UDP: i32 = 17;
const SOL_SOCKET: i32 = 1;
const SO_ERROR: i32 = 4;

/// `sizeof(struct sockaddr_in)` and `sizeof(struct sockaddr_in6)`.
const SOCKADDR_IN_SIZE: usize = 16;
const SOCKADDR_IN6_SIZE: usize = 28;
/// `sizeof(struct addrinfo)` on wasm32: flags, family, socktype, protocol,
/// addrlen, addr, canonname, next.
const ADDRINFO_SIZE: usize = 32;
/// `sizeof(struct protoent)`: name, aliases, proto.
const PROTOENT_SIZE: usize = 12;

const AI_PASSIVE: i32 = 0x01;
const AI_CANONNAME: i32 = 0x02;
const AI_NUMERICHOST: i32 = 0x04;
const AI_V4MAPPED: i32 = 0x08;
const AI_ALL: i32 = 0x10;
const AI_ADDRCONFIG: i32 = 0x20;
const AI_NUMERICSERV: i32 = 0x400;
const NI_NUMERICHOST: i32 = 0x01;
const NI_NAMEREQD: i32 = 0x08;

const EAI_BADFLAGS: i32 = -1;
const EAI_NONAME: i32 = -2;
const EAI_FAMILY: i32 = -6;
const EAI_SOCKTYPE: i32 = -7;
const EAI_SERVICE: i32 = -8;
const EAI_MEMORY: i32 = -10;
const EAI_OVERFLOW: i32 = -12;

/// The longest name or service string read from the guest.
const NAME_MAX: usize = 1024;

/// Name-lookup state: Emscripten's placeholder-address map, and the
/// `protoent` records once allocated.
#[derive(Debug, Default)]
pub(crate) struct NetState {
    by_name: HashMap<String, Ipv4Addr>,
    by_addr: HashMap<Ipv4Addr, String>,
    protoents: Option<[u32; 2]>,
}

impl NetState {
    /// The address `name` resolves to: itself when numeric, else its
    /// placeholder (made on first lookup).
    fn lookup_name(&mut self, name: &str) -> std::net::IpAddr {
        if let Ok(v4) = name.parse::<Ipv4Addr>() {
            return v4.into();
        }
        if let Ok(v6) = name.parse::<Ipv6Addr>() {
            return v6.into();
        }
        if let Some(addr) = self.by_name.get(name) {
            return (*addr).into();
        }
        let id = self.by_name.len() + 1;
        let addr = Ipv4Addr::new(172, 29, (id & 0xff) as u8, (id >> 8) as u8);
        self.by_name.insert(name.to_owned(), addr);
        self.by_addr.insert(addr, name.to_owned());
        addr.into()
    }
}

pub(crate) fn add<T: 'static>(linker: &mut Linker<T>, get: CtxGetter<T>) -> wasmtime::Result<()> {
    macro_rules! socketcall {
        ($name:literal => |$ctx:pat_param, $guest:pat_param, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident| $body:expr) => {
            linker.func_wrap(
                ENV,
                $name,
                move |mut caller: Caller<'_, T>,
                      $a: i32,
                      $b: i32,
                      $c: i32,
                      $d: i32,
                      $e: i32,
                      $f: i32|
                      -> wasmtime::Result<i32> {
                    with_guest(&mut caller, get, |$ctx, $guest| {
                        let mut call = || -> Result<i32, Errno> { $body };
                        syscall_result(call())
                    })
                },
            )?
        };
    }
    socketcall!("__syscall_socket" => |ctx, _g, domain, kind, protocol, _d, _e, _f| {
        socket(&mut ctx.vfs, domain, kind, protocol)
    });
    socketcall!("__syscall_connect" => |ctx, g, fd, addr, len, _d, _e, _f| {
        socket_of(&mut ctx.vfs, fd)?;
        read_sockaddr(g, addr, len)?;
        Err(Errno::EHOSTUNREACH)
    });
    socketcall!("__syscall_bind" => |ctx, g, fd, addr, len, _d, _e, _f| {
        let sockaddr = read_sockaddr(g, addr, len)?;
        let socket = socket_of(&mut ctx.vfs, fd)?;
        if socket.local.is_some() {
            return Err(Errno::EINVAL);
        }
        socket.local = Some(sockaddr);
        Ok(0)
    });
    socketcall!("__syscall_getsockname" => |ctx, g, fd, addr, len, _d, _e, _f| {
        let local = socket_of(&mut ctx.vfs, fd)?
            .local
            .clone()
            .unwrap_or_else(|| sockaddr_in(Ipv4Addr::UNSPECIFIED, 0));
        write_sockaddr(g, addr, len, &local)
    });
    socketcall!("__syscall_getpeername" => |ctx, _g, fd, _b, _c, _d, _e, _f| {
        socket_of(&mut ctx.vfs, fd)?;
        Err(Errno::ENOTCONN)
    });
    socketcall!("__syscall_listen" => |ctx, _g, fd, _b, _c, _d, _e, _f| {
        socket_of(&mut ctx.vfs, fd)?;
        Err(Errno::ENOTSUP)
    });
    socketcall!("__syscall_accept4" => |ctx, _g, fd, _b, _c, _d, _e, _f| {
        socket_of(&mut ctx.vfs, fd)?;
        Err(Errno::EINVAL)
    });
    socketcall!("__syscall_getsockopt" => |ctx, g, fd, level, name, value, len, _f| {
        socket_of(&mut ctx.vfs, fd)?;
        if (level, name) != (SOL_SOCKET, SO_ERROR) {
            return Err(Errno::ENOPROTOOPT);
        }
        g.write_i32(value as u32, 0)?;
        g.write_i32(len as u32, 4)?;
        Ok(0)
    });
    socketcall!("__syscall_sendto" => |ctx, g, fd, _buf, _len, _flags, addr, addrlen| {
        let kind = socket_of(&mut ctx.vfs, fd)?.kind;
        let to = if addr != 0 {
            Some(read_sockaddr(g, addr, addrlen)?)
        } else {
            None
        };
        Err(send_error(kind, to.is_some()))
    });
    socketcall!("__syscall_sendmsg" => |ctx, g, fd, message, _c, _d, _e, _f| {
        let kind = socket_of(&mut ctx.vfs, fd)?.kind;
        // `struct msghdr` starts with `msg_name`.
        let name = g.u32(message as u32)?;
        Err(send_error(kind, name != 0))
    });
    socketcall!("__syscall_recvfrom" => |ctx, _g, fd, _b, _c, _d, _e, _f| {
        Err(receive_error(socket_of(&mut ctx.vfs, fd)?.kind))
    });
    socketcall!("__syscall_recvmsg" => |ctx, _g, fd, _b, _c, _d, _e, _f| {
        Err(receive_error(socket_of(&mut ctx.vfs, fd)?.kind))
    });

    linker.func_wrap(
        ENV,
        "getaddrinfo",
        move |mut caller: Caller<'_, T>, node: i32, service: i32, hints: i32, out: i32| {
            getaddrinfo(&mut caller, get, [node, service, hints, out])
        },
    )?;
    linker.func_wrap(
        ENV,
        "getnameinfo",
        move |mut caller: Caller<'_, T>,
              sa: i32,
              salen: i32,
              node: i32,
              nodelen: i32,
              serv: i32,
              servlen: i32,
              flags: i32| {
            with_guest(&mut caller, get, |ctx, g| {
                getnameinfo(
                    &ctx.net,
                    g,
                    (sa, salen),
                    (node, nodelen),
                    (serv, servlen),
                    flags,
                )
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "_emscripten_lookup_name",
        move |mut caller: Caller<'_, T>, name: i32| {
            with_guest(&mut caller, get, |ctx, g| {
                let Ok(name) = g.c_str(name as u32, NAME_MAX) else {
                    return 0;
                };
                match ctx.net.lookup_name(&String::from_utf8_lossy(name)) {
                    std::net::IpAddr::V4(v4) => u32::from_le_bytes(v4.octets()) as i32,
                    std::net::IpAddr::V6(_) => 0,
                }
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "getprotobyname",
        move |mut caller: Caller<'_, T>, name: i32| getprotobyname(&mut caller, get, name),
    )?;
    Ok(())
}

fn socket(vfs: &mut Vfs, domain: i32, kind: i32, protocol: i32) -> Result<i32, Errno> {
    let flags = kind & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    let kind = kind & !flags;
    if domain != AF_INET {
        return Err(Errno::EAFNOSUPPORT);
    }
    match (kind, protocol) {
        (SOCK_STREAM, 0 | IPPROTO_TCP) | (SOCK_DGRAM, 0 | IPPROTO_UDP) => {}
        (SOCK_STREAM | SOCK_DGRAM, _) => return Err(Errno::EPROTONOSUPPORT),
        _ => return Err(Errno::EINVAL),
    }
    let mut open = OpenFlags::from_bits_truncate(0);
    if flags & SOCK_NONBLOCK != 0 {
        open |= OpenFlags::NONBLOCK;
    }
    if flags & SOCK_CLOEXEC != 0 {
        open |= OpenFlags::CLOEXEC;
    }
    let fd = vfs.socket(Socket::new(domain, kind, protocol), open)?;
    Ok(fd.0 as i32)
}

fn socket_of(vfs: &mut Vfs, fd: i32) -> Result<&mut Socket, Errno> {
    vfs.socket_mut(Fd::from_raw(fd)?)
}

fn send_error(kind: i32, to_address: bool) -> Errno {
    match (kind, to_address) {
        (SOCK_DGRAM, true) => Errno::EHOSTUNREACH,
        (SOCK_DGRAM, false) => Errno::EDESTADDRREQ,
        _ => Errno::ENOTCONN,
    }
}

fn receive_error(kind: i32) -> Errno {
    if kind == SOCK_DGRAM {
        Errno::EAGAIN
    } else {
        Errno::ENOTCONN
    }
}

/// The `struct sockaddr` at `addr` of `len` bytes, checked as Emscripten's
/// `readSockaddr` does: `AF_INET` needs 16 bytes, `AF_INET6` 28, other
/// families are `EAFNOSUPPORT`.
fn read_sockaddr(g: &Guest<'_>, addr: i32, len: i32) -> Result<Vec<u8>, Errno> {
    let family = i32::from(u16::from_le_bytes(g.read(addr as u32)?));
    let size = match family {
        AF_INET => SOCKADDR_IN_SIZE,
        AF_INET6 => SOCKADDR_IN6_SIZE,
        _ => return Err(Errno::EAFNOSUPPORT),
    };
    if usize::try_from(len).ok() != Some(size) {
        return Err(Errno::EINVAL);
    }
    Ok(g.slice(addr as u32, size)?.to_vec())
}

/// Writes `sockaddr` to `addr` (truncated to the buffer size `*len`, as
/// POSIX says) and its full size to `*len`.
fn write_sockaddr(g: &mut Guest<'_>, addr: i32, len: i32, sockaddr: &[u8]) -> Result<i32, Errno> {
    let room = usize::try_from(g.i32(len as u32)?).map_err(|_| Errno::EINVAL)?;
    let n = room.min(sockaddr.len());
    g.write_bytes(addr as u32, &sockaddr[..n])?;
    g.write_i32(len as u32, sockaddr.len() as i32)?;
    Ok(0)
}

fn sockaddr_in(addr: Ipv4Addr, port: u16) -> Vec<u8> {
    let mut out = vec![0; SOCKADDR_IN_SIZE];
    out[..2].copy_from_slice(&(AF_INET as u16).to_le_bytes());
    out[2..4].copy_from_slice(&port.to_be_bytes());
    out[4..8].copy_from_slice(&addr.octets());
    out
}

fn sockaddr_in6(addr: Ipv6Addr, port: u16) -> Vec<u8> {
    let mut out = vec![0; SOCKADDR_IN6_SIZE];
    out[..2].copy_from_slice(&(AF_INET6 as u16).to_le_bytes());
    out[2..4].copy_from_slice(&port.to_be_bytes());
    out[8..24].copy_from_slice(&addr.octets());
    out
}

/// One `getaddrinfo` answer before it is written to guest memory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AddrInfo {
    family: i32,
    socktype: i32,
    protocol: i32,
    sockaddr: Vec<u8>,
}

/// `getaddrinfo` hints, zero when absent.
#[derive(Debug, Clone, Copy, Default)]
struct Hints {
    flags: i32,
    family: i32,
    socktype: i32,
    protocol: i32,
}

/// What Emscripten's `getaddrinfo` answers for `node` and `service`: one
/// entry, or an `EAI_*` code.
fn resolve(
    net: &mut NetState,
    node: Option<&str>,
    service: Option<&str>,
    hints: Option<Hints>,
) -> Result<AddrInfo, i32> {
    let Hints {
        flags,
        family,
        socktype: mut kind,
        mut protocol,
    } = hints.unwrap_or_default();
    if kind != 0 && protocol == 0 {
        protocol = if kind == SOCK_DGRAM {
            IPPROTO_UDP
        } else {
            IPPROTO_TCP
        };
    }
    if kind == 0 && protocol != 0 {
        kind = if protocol == IPPROTO_UDP {
            SOCK_DGRAM
        } else {
            SOCK_STREAM
        };
    }
    if protocol == 0 {
        protocol = IPPROTO_TCP;
    }
    if kind == 0 {
        kind = SOCK_STREAM;
    }
    if node.is_none() && service.is_none() {
        return Err(EAI_NONAME);
    }
    let known = AI_PASSIVE
        | AI_CANONNAME
        | AI_NUMERICHOST
        | AI_NUMERICSERV
        | AI_V4MAPPED
        | AI_ALL
        | AI_ADDRCONFIG;
    if flags & !known != 0 || (hints.is_some() && flags & AI_CANONNAME != 0 && node.is_none()) {
        return Err(EAI_BADFLAGS);
    }
    if flags & AI_ADDRCONFIG != 0 {
        return Err(EAI_NONAME);
    }
    if kind != SOCK_STREAM && kind != SOCK_DGRAM {
        return Err(EAI_SOCKTYPE);
    }
    if ![AF_UNSPEC, AF_INET, AF_INET6].contains(&family) {
        return Err(EAI_FAMILY);
    }
    let port = match service {
        None => 0,
        Some(service) => match parse_int_prefix(service) {
            Some(port) => port as u16,
            None if flags & AI_NUMERICSERV != 0 => return Err(EAI_NONAME),
            None => return Err(EAI_SERVICE),
        },
    };
    let answer = |family: i32, sockaddr: Vec<u8>| AddrInfo {
        family,
        socktype: kind,
        protocol,
        sockaddr,
    };
    let v4_mapped = |v4: Ipv4Addr| v4.to_ipv6_mapped();
    let Some(node) = node else {
        let passive = flags & AI_PASSIVE != 0;
        return Ok(if family == AF_INET6 {
            let addr = if passive {
                Ipv6Addr::UNSPECIFIED
            } else {
                Ipv6Addr::LOCALHOST
            };
            answer(AF_INET6, sockaddr_in6(addr, port))
        } else {
            let addr = if passive {
                Ipv4Addr::UNSPECIFIED
            } else {
                Ipv4Addr::LOCALHOST
            };
            answer(AF_INET, sockaddr_in(addr, port))
        });
    };
    if let Ok(v4) = node.parse::<Ipv4Addr>() {
        return match family {
            AF_UNSPEC | AF_INET => Ok(answer(AF_INET, sockaddr_in(v4, port))),
            _ if flags & AI_V4MAPPED != 0 => {
                Ok(answer(AF_INET6, sockaddr_in6(v4_mapped(v4), port)))
            }
            _ => Err(EAI_NONAME),
        };
    }
    if let Ok(v6) = node.parse::<Ipv6Addr>() {
        return match family {
            AF_UNSPEC | AF_INET6 => Ok(answer(AF_INET6, sockaddr_in6(v6, port))),
            _ => Err(EAI_NONAME),
        };
    }
    if flags & AI_NUMERICHOST != 0 {
        return Err(EAI_NONAME);
    }
    let std::net::IpAddr::V4(placeholder) = net.lookup_name(node) else {
        unreachable!("a non-numeric name resolves to an IPv4 placeholder")
    };
    Ok(if family == AF_INET6 {
        answer(AF_INET6, sockaddr_in6(v4_mapped(placeholder), port))
    } else {
        answer(AF_INET, sockaddr_in(placeholder, port))
    })
}

/// JavaScript's `parseInt(text, 10)`: optional leading whitespace and sign,
/// then the longest run of digits; `None` when there is none (NaN).
fn parse_int_prefix(text: &str) -> Option<i64> {
    let text = text.trim_start();
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let value = digits[..end].bytes().fold(0i64, |acc, b| {
        acc.wrapping_mul(10).wrapping_add(i64::from(b - b'0'))
    });
    Some(if negative { -value } else { value })
}

fn getaddrinfo<T>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    [node, service, hints, out]: [i32; 4],
) -> wasmtime::Result<i32> {
    let answer = with_guest(caller, get, |ctx, g| -> Result<AddrInfo, i32> {
        let text = |ptr: i32| -> Result<Option<String>, i32> {
            if ptr == 0 {
                return Ok(None);
            }
            let bytes = g.c_str(ptr as u32, NAME_MAX).map_err(|_| EAI_NONAME)?;
            Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
        };
        let (node, service) = (text(node)?, text(service)?);
        let hints = if hints == 0 {
            None
        } else {
            let field = |i: u32| g.i32(hints as u32 + 4 * i).map_err(|_| EAI_BADFLAGS);
            Some(Hints {
                flags: field(0)?,
                family: field(1)?,
                socktype: field(2)?,
                protocol: field(3)?,
            })
        };
        resolve(&mut ctx.net, node.as_deref(), service.as_deref(), hints)
    })?;
    let answer = match answer {
        Ok(answer) => answer,
        Err(code) => return Ok(code),
    };
    // Two blocks, as Emscripten allocates them; the guest's freeaddrinfo
    // frees the addrinfo (and, as there, leaks the address).
    let Some(sa) = allocate(caller, get, answer.sockaddr.len())? else {
        return Ok(EAI_MEMORY);
    };
    let Some(ai) = allocate(caller, get, ADDRINFO_SIZE)? else {
        return Ok(EAI_MEMORY);
    };
    let written = with_guest(caller, get, |_, g| -> Result<(), Errno> {
        g.write_bytes(sa, &answer.sockaddr)?;
        let fields = [
            0,
            answer.family,
            answer.socktype,
            answer.protocol,
            answer.sockaddr.len() as i32,
            sa as i32,
            0,
            0,
        ];
        for (i, value) in fields.into_iter().enumerate() {
            g.write_i32(ai + 4 * i as u32, value)?;
        }
        g.write_u32(out as u32, ai)
    })?;
    Ok(match written {
        Ok(()) => 0,
        Err(_) => EAI_MEMORY,
    })
}

/// A block from the module's allocator, or `None` when it is exhausted.
fn allocate<T>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    size: usize,
) -> wasmtime::Result<Option<u32>> {
    let memalign = get(caller.data_mut())
        .handles()?
        .memalign
        .clone()
        .ok_or_else(|| {
            wasmtime::format_err!(
                "name lookups need the export emscripten_builtin_memalign, which the module lacks"
            )
        })?;
    let ptr = memalign.call(&mut *caller, (8, size as i32))? as u32;
    Ok((ptr != 0).then_some(ptr))
}

fn getnameinfo(
    net: &NetState,
    g: &mut Guest<'_>,
    (sa, salen): (i32, i32),
    (node, nodelen): (i32, i32),
    (serv, servlen): (i32, i32),
    flags: i32,
) -> i32 {
    let Ok(sockaddr) = read_sockaddr(g, sa, salen) else {
        return EAI_FAMILY;
    };
    let port = u16::from_be_bytes([sockaddr[2], sockaddr[3]]);
    let (text, name) = if sockaddr.len() == SOCKADDR_IN_SIZE {
        let v4 = Ipv4Addr::new(sockaddr[4], sockaddr[5], sockaddr[6], sockaddr[7]);
        (v4.to_string(), net.by_addr.get(&v4).cloned())
    } else {
        let octets: [u8; 16] = sockaddr[8..24].try_into().expect("16 bytes");
        (Ipv6Addr::from(octets).to_string(), None)
    };
    let mut overflowed = false;
    if node != 0 && nodelen > 0 {
        let host = match name {
            Some(name) if flags & NI_NUMERICHOST == 0 => name,
            _ if flags & NI_NAMEREQD != 0 => return EAI_NONAME,
            _ => text,
        };
        match write_truncated(g, node, nodelen, &host) {
            Ok(fits) => overflowed |= !fits,
            Err(_) => return EAI_OVERFLOW,
        }
    }
    if serv != 0 && servlen > 0 {
        match write_truncated(g, serv, servlen, &port.to_string()) {
            Ok(fits) => overflowed |= !fits,
            Err(_) => return EAI_OVERFLOW,
        }
    }
    if overflowed { EAI_OVERFLOW } else { 0 }
}

/// Writes `text` and a NUL into `size` bytes at `ptr`, truncating as
/// Emscripten's `stringToUTF8` does; whether it fit with room to spare.
fn write_truncated(g: &mut Guest<'_>, ptr: i32, size: i32, text: &str) -> Result<bool, Errno> {
    let size = size as usize;
    let n = text.len().min(size - 1);
    g.write_bytes(ptr as u32, &text.as_bytes()[..n])?;
    g.write_bytes(ptr as u32 + n as u32, &[0])?;
    Ok(n + 1 < size)
}

fn getprotobyname<T>(
    caller: &mut Caller<'_, T>,
    get: CtxGetter<T>,
    name: i32,
) -> wasmtime::Result<i32> {
    let wanted = with_guest(caller, get, |_, g| {
        g.c_str(name as u32, NAME_MAX).ok().map(<[u8]>::to_vec)
    })?;
    let index = match wanted.as_deref() {
        Some(b"tcp") => 0,
        Some(b"udp") => 1,
        _ => return Ok(0),
    };
    if let Some(records) = get(caller.data_mut()).net.protoents {
        return Ok(records[index] as i32);
    }
    let mut records = [0u32; 2];
    for (slot, (proto, name, alias)) in records
        .iter_mut()
        .zip([(IPPROTO_TCP, "tcp", "TCP"), (IPPROTO_UDP, "udp", "UDP")])
    {
        // protoent, then name, alias and the alias list in one block.
        let size = PROTOENT_SIZE + 8 + (name.len() + 1) + (alias.len() + 1);
        let Some(block) = allocate(caller, get, size)? else {
            return Ok(0);
        };
        let written = with_guest(caller, get, |_, g| -> Result<(), Errno> {
            let aliases = block + PROTOENT_SIZE as u32;
            let name_at = aliases + 8;
            let alias_at = name_at + name.len() as u32 + 1;
            g.write_c_str(name_at, name.as_bytes())?;
            g.write_c_str(alias_at, alias.as_bytes())?;
            g.write_u32(aliases, alias_at)?;
            g.write_u32(aliases + 4, 0)?;
            g.write_u32(block, name_at)?;
            g.write_u32(block + 4, aliases)?;
            g.write_i32(block + 8, proto)
        })?;
        if written.is_err() {
            return Ok(0);
        }
        *slot = block;
    }
    get(caller.data_mut()).net.protoents = Some(records);
    Ok(records[index] as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(info: &AddrInfo) -> (Ipv4Addr, u16) {
        assert_eq!(info.family, AF_INET);
        let s = &info.sockaddr;
        (
            Ipv4Addr::new(s[4], s[5], s[6], s[7]),
            u16::from_be_bytes([s[2], s[3]]),
        )
    }

    #[test]
    fn names_get_placeholders_in_order_and_keep_them() {
        let mut net = NetState::default();
        let first = resolve(&mut net, Some("example.com"), Some("80"), None).unwrap();
        assert_eq!(v4(&first), (Ipv4Addr::new(172, 29, 1, 0), 80));
        let other = resolve(&mut net, Some("localhost"), None, None).unwrap();
        assert_eq!(v4(&other).0, Ipv4Addr::new(172, 29, 2, 0));
        let again = resolve(&mut net, Some("example.com"), None, None).unwrap();
        assert_eq!(v4(&again).0, Ipv4Addr::new(172, 29, 1, 0));
        assert_eq!((first.socktype, first.protocol), (SOCK_STREAM, IPPROTO_TCP));
    }

    #[test]
    fn numeric_hosts_and_services_resolve_without_placeholders() {
        let mut net = NetState::default();
        let info = resolve(&mut net, Some("10.1.2.3"), Some(" 8080x"), None).unwrap();
        assert_eq!(v4(&info), (Ipv4Addr::new(10, 1, 2, 3), 8080));
        let info = resolve(&mut net, Some("::1"), None, None).unwrap();
        assert_eq!(info.family, AF_INET6);
        assert_eq!(info.sockaddr.len(), SOCKADDR_IN6_SIZE);
        assert!(net.by_name.is_empty());
        let hints = Hints {
            flags: AI_PASSIVE,
            socktype: SOCK_DGRAM,
            ..Hints::default()
        };
        let info = resolve(&mut net, None, Some("53"), Some(hints)).unwrap();
        assert_eq!(v4(&info), (Ipv4Addr::UNSPECIFIED, 53));
        assert_eq!(info.protocol, IPPROTO_UDP);
    }

    #[test]
    fn refusals_use_emscriptens_codes() {
        let mut net = NetState::default();
        assert_eq!(resolve(&mut net, None, None, None), Err(EAI_NONAME));
        assert_eq!(
            resolve(&mut net, Some("h"), Some("http"), None),
            Err(EAI_SERVICE)
        );
        let numeric = Hints {
            flags: AI_NUMERICHOST,
            ..Hints::default()
        };
        assert_eq!(
            resolve(&mut net, Some("h"), None, Some(numeric)),
            Err(EAI_NONAME)
        );
        let v6_only = Hints {
            family: AF_INET6,
            ..Hints::default()
        };
        assert_eq!(
            resolve(&mut net, Some("1.2.3.4"), None, Some(v6_only)),
            Err(EAI_NONAME)
        );
        let bad_family = Hints {
            family: 1,
            ..Hints::default()
        };
        assert_eq!(
            resolve(&mut net, Some("h"), None, Some(bad_family)),
            Err(EAI_FAMILY)
        );
        let addrconfig = Hints {
            flags: AI_ADDRCONFIG,
            ..Hints::default()
        };
        assert_eq!(
            resolve(&mut net, Some("h"), None, Some(addrconfig)),
            Err(EAI_NONAME)
        );
    }

    #[test]
    fn sockets_are_inet_only_and_never_connect() {
        let mut vfs = Vfs::default();
        let fd = socket(&mut vfs, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0).unwrap();
        assert_eq!(fd, 3);
        assert!(vfs.cloexec(Fd(3)).unwrap());
        assert_eq!(
            socket(&mut vfs, AF_INET6, SOCK_STREAM, 0),
            Err(Errno::EAFNOSUPPORT)
        );
        assert_eq!(
            socket(&mut vfs, AF_INET, SOCK_STREAM, IPPROTO_UDP),
            Err(Errno::EPROTONOSUPPORT)
        );
        assert_eq!(socket(&mut vfs, AF_INET, 3, 0), Err(Errno::EINVAL));
        assert_eq!(send_error(SOCK_STREAM, false), Errno::ENOTCONN);
        assert_eq!(send_error(SOCK_DGRAM, true), Errno::EHOSTUNREACH);
        assert_eq!(send_error(SOCK_DGRAM, false), Errno::EDESTADDRREQ);
        assert_eq!(receive_error(SOCK_DGRAM), Errno::EAGAIN);
        assert_eq!(socket_of(&mut vfs, 1).unwrap_err(), Errno::ENOTSOCK);
        assert_eq!(socket_of(&mut vfs, 99).unwrap_err(), Errno::EBADF);
    }

    #[test]
    fn sockaddrs_are_checked_and_written_truncated() {
        let mut mem = vec![0u8; 256];
        let mut g = Guest::new(&mut mem);
        let sa = sockaddr_in(Ipv4Addr::new(127, 0, 0, 1), 80);
        g.write_bytes(64, &sa).unwrap();
        assert_eq!(read_sockaddr(&g, 64, 16).unwrap(), sa);
        assert_eq!(read_sockaddr(&g, 64, 8), Err(Errno::EINVAL));
        g.write_bytes(64, &[1, 0]).unwrap();
        assert_eq!(read_sockaddr(&g, 64, 16), Err(Errno::EAFNOSUPPORT));
        g.write_i32(128, 6).unwrap();
        assert_eq!(write_sockaddr(&mut g, 0, 128, &sa), Ok(0));
        assert_eq!(g.i32(128).unwrap(), 16, "the full size is reported");
        assert_eq!(g.slice(0, 8).unwrap(), &[2, 0, 0, 80, 127, 0, 0, 0]);
    }

    #[test]
    fn getnameinfo_names_placeholders_and_reports_overflow() {
        let mut net = NetState::default();
        net.lookup_name("example.com");
        let mut mem = vec![0u8; 512];
        let mut g = Guest::new(&mut mem);
        g.write_bytes(0, &sockaddr_in(Ipv4Addr::new(172, 29, 1, 0), 443))
            .unwrap();
        assert_eq!(
            getnameinfo(&net, &mut g, (0, 16), (100, 64), (200, 8), 0),
            0
        );
        assert_eq!(g.c_str(100, 64).unwrap(), b"example.com");
        assert_eq!(g.c_str(200, 8).unwrap(), b"443");
        assert_eq!(
            getnameinfo(&net, &mut g, (0, 16), (100, 64), (0, 0), NI_NUMERICHOST),
            0
        );
        assert_eq!(g.c_str(100, 64).unwrap(), b"172.29.1.0");
        assert_eq!(
            getnameinfo(&net, &mut g, (0, 16), (100, 5), (0, 0), 0),
            EAI_OVERFLOW
        );
        assert_eq!(g.c_str(100, 5).unwrap(), b"exam");
        g.write_bytes(0, &sockaddr_in(Ipv4Addr::new(10, 0, 0, 1), 1))
            .unwrap();
        assert_eq!(
            getnameinfo(&net, &mut g, (0, 16), (100, 64), (0, 0), NI_NAMEREQD),
            EAI_NONAME
        );
    }
}
