//! Socket records: what the descriptor table keeps for a socket.
//!
//! The VFS gives a socket a descriptor (so `close`, `dup`, `fcntl`, `fstat` and `poll` work on
//! it as on any file) and never interprets the record: the embedder implements the socket
//! calls (`connect`, `bind`, `getsockname`, ...) on it through [`crate::Vfs::socket_mut`].
//! Plain `read` and `write` of a socket descriptor answer `ENOTCONN`: no socket is ever
//! connected in a file system without a network.

/// A socket's state, as the embedder defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    /// The address family (`AF_INET`, ...).
    pub domain: i32,
    /// The socket type without flags (`SOCK_STREAM`, `SOCK_DGRAM`, ...).
    pub kind: i32,
    /// The protocol.
    pub protocol: i32,
    /// The local address given to `bind`, as the guest's `struct sockaddr` bytes.
    pub local: Option<Vec<u8>>,
}

impl Socket {
    /// An unbound socket.
    pub fn new(domain: i32, kind: i32, protocol: i32) -> Socket {
        Socket {
            domain,
            kind,
            protocol,
            local: None,
        }
    }
}
