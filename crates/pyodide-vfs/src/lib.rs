//! `pyodide-vfs`: the guest's file system — an in-memory POSIX tree, read-only tar and zip mounts,
//! `cap-std` host-directory mounts, devices, stdio, and the one descriptor table.
//!
//! **Owns:** nodes (directories, regular files, symlinks, character devices) with inode
//! numbers, permission bits, link counts and timestamps from an injected [`Clock`] (stored
//! to the millisecond, as Emscripten's file systems store them);
//! path resolution; mounts; the fd table and open file descriptions; the [`Errno`] numbering
//! the guest sees.
//!
//! **Does not know:** wasmtime or guest memory (the Emscripten host decodes syscall arguments
//! and calls [`Vfs`] methods with plain values), Python (the Pyodide layout beyond Emscripten's
//! defaults is the embedder's business), or entropy policy (an [`EntropySource`] is injected).
//!
//! # Design
//!
//! * **One object, syscall-shaped methods.** [`Vfs`] has one method per file system call
//!   (`open`, `read`, `pread`, `seek`, `rename`, `getdents`, …) taking a [`Dirfd`] and a
//!   [`GuestPath`] where the call is `*at`, and returning `Result<T, Errno>`. Raw flags are
//!   decoded by newtypes with the musl values ([`OpenFlags::from_bits`], [`Whence::from_raw`],
//!   [`SetTime::from_raw`]).
//! * **Guest paths are their own type.** A [`GuestPath`] is bytes; it is resolved inside the VFS
//!   component by component: `.`, `..` (the root's parent is the root), symlinks (relative,
//!   absolute, chains; `ELOOP` after [`MAX_SYMLINKS`]), trailing slashes (`ENOTDIR` unless the
//!   final node is a directory). `..` follows real parent links, so after a symlink it goes to
//!   the target's parent, as in POSIX.
//! * **Nodes.** In-memory nodes live in a table keyed by inode number; a node is freed when it
//!   has neither a directory entry nor an open description (unlinked-but-open files stay
//!   readable, and the cwd counts as a reference).
//! * **Descriptors.** Fds map to shared open file descriptions (offset, status flags), so
//!   `dup`/`dup3` share the offset; new fds take the lowest free number below [`MAX_FDS`].
//! * **Tar mounts** ([`Vfs::mount_tar`]) are indexed once into read-only in-memory nodes whose
//!   contents are ranges of one `Arc<[u8]>`: opening or reading never copies the archive, and a
//!   read costs O(length read). Entries with absolute paths, `..`, or symlinks leaving the mount
//!   are refused at mount time with a [`MountError`] naming the entry.
//! * **Zip mounts** ([`Vfs::mount_zip`], [`Vfs::mount_zip_union`]) read the central directory
//!   once ([`ZipSource`]); members are unpacked into memory on first open (CRC-32 checked, a
//!   corrupt member opens as `EIO`) and kept, never written to the host; `stat` needs no
//!   unpacking. A union mount places members of several archives in one tree (wheels sharing
//!   `site-packages`). Entry paths are checked as for tar, plus backslashes, drive letters and
//!   duplicate names.
//! * **Host mounts** ([`Vfs::mount_host`]) go through `cap_std::fs::Dir`; ambient authority is
//!   used only in [`open_host_dir`]. Only relative paths of already-resolved components reach
//!   the `Dir`: the VFS reads host symlinks itself and resolves them in guest space, so the OS
//!   never follows a guest-controlled link, and `cap-std` would refuse an escape anyway.
//! * **Read-only mounts** answer `EROFS` to every write; operations across mounts answer
//!   `EXDEV`; mount roots cannot be removed or renamed (`EBUSY`).
//! * **Devices.** `/dev/null`, `/dev/zero`, `/dev/random`, `/dev/urandom` (from the injected
//!   [`EntropySource`]), `/dev/tty` (stdin / stdout) and `/dev/tty1` (stdin / stderr), with
//!   Emscripten's `makedev` numbers in `st_rdev`. Stdio fds 0, 1, 2 are opened on them by
//!   [`VfsBuilder::build`], whose [`InputSource`] / [`OutputSink`] choose inherit, capture or
//!   callback.
//! * **Pipes** ([`Vfs::pipe`]) are bounded in-memory queues ([`PIPE_CAPACITY`]) whose two ends
//!   are anonymous FIFO nodes. Nothing can block in a single-threaded guest, so an empty pipe
//!   with a live writer and a full pipe answer `EAGAIN`; no writer left reads as end of file and
//!   no reader left is `EPIPE`. [`Vfs::readiness`] is what `poll` reports.
//! * **Sockets** ([`Vfs::socket`]) are descriptors on anonymous socket nodes holding a
//!   [`Socket`] record the embedder interprets ([`Vfs::socket_mut`]); the VFS itself only
//!   answers `ENOTCONN` to reads and writes of them.
//! * **Directory listings** include `.` and `..`; a listing is taken when a reader is at
//!   position 0 and positions ([`DirEntry::next`]) are indexes into it, so a reader can resume
//!   with `seek` even if the directory changes meanwhile.
//!
//! Simplifications: one user owns everything (only owner permission bits are checked, for
//! `open` of regular files, `truncate` and `access`); reads do not update `atime`; no hard links
//! (`link`) and no `O_CREAT` through a dangling symlink; host-mount cwd and open directories are
//! named by path, so moving them on the host side is not tracked; this crate is Unix-only.
//!
//! Tests: unit tests beside the code; POSIX rule tests in `tests/posix.rs`; mounts in
//! `tests/mounts.rs`; property tests (a model-based comparison, a host-mount escape
//! property and a zip-entry escape property) in `tests/model.rs`, `tests/escape.rs` and
//! `tests/zip_escape.rs`.

mod entropy;
mod errno;
mod flags;
mod host;
mod memfs;
mod path;
mod pipe;
mod socket;
mod stat;
mod stdio;
mod tar_mount;
mod time;
mod vfs;
mod zip_mount;

pub use entropy::{Denied, EntropySource, OsEntropy};
pub use errno::{Errno, MountError};
pub use flags::{AccessCheck, AccessMode, OpenFlags, Whence};
pub use host::open_host_dir;
pub use path::{GuestPath, NAME_MAX, PATH_MAX};
pub use pipe::{PIPE_CAPACITY, Readiness};
pub use socket::Socket;
pub use stat::{
    DirEntry, FileKind, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, Stat, StatFs,
};
pub use stdio::{InputCallback, InputSource, OutputCallback, OutputSink, SharedBuffer};
pub use time::{Clock, ManualClock, SetTime, SystemClock, Timespec};
pub use vfs::{Dirfd, Fd, MAX_FDS, MAX_FILE_SIZE, MAX_SYMLINKS, MountAccess, Vfs, VfsBuilder};
pub use zip_mount::{ZipPlacement, ZipSource};
