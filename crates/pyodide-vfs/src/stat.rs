//! What `stat`, `statfs` and `getdents` report.

use crate::time::Timespec;

/// File type bits of `st_mode` (`S_IFMT`).
pub const S_IFMT: u32 = 0o170000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// Character device.
pub const S_IFCHR: u32 = 0o020000;
/// FIFO (pipe).
pub const S_IFIFO: u32 = 0o010000;
/// Socket.
pub const S_IFSOCK: u32 = 0o140000;

/// The kind of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A character device (`/dev/null`, a tty, ...).
    CharDevice,
    /// A FIFO: an end of an anonymous pipe.
    Fifo,
    /// A socket.
    Socket,
}

impl FileKind {
    /// The `S_IF*` bits.
    pub const fn mode_bits(self) -> u32 {
        match self {
            FileKind::Regular => S_IFREG,
            FileKind::Directory => S_IFDIR,
            FileKind::Symlink => S_IFLNK,
            FileKind::CharDevice => S_IFCHR,
            FileKind::Fifo => S_IFIFO,
            FileKind::Socket => S_IFSOCK,
        }
    }

    /// The `d_type` value `getdents64` writes (FIFO 1, CHR 2, DIR 4, REG 8, LNK 10, SOCK 12).
    pub const fn dirent_type(self) -> u8 {
        match self {
            FileKind::Fifo => 1,
            FileKind::CharDevice => 2,
            FileKind::Directory => 4,
            FileKind::Regular => 8,
            FileKind::Symlink => 10,
            FileKind::Socket => 12,
        }
    }
}

/// `struct stat`, with the fields Emscripten's 96-byte layout has (reference §5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stat {
    /// Device of the mount holding the node.
    pub dev: u64,
    /// Inode number, unique within `dev`.
    pub ino: u64,
    /// Kind of node.
    pub kind: FileKind,
    /// Permission bits (`0o7777`); [`Stat::mode`] adds the type bits.
    pub perm: u32,
    /// Hard links to the node (0 once unlinked but still open).
    pub nlink: u64,
    /// Owner (always 0).
    pub uid: u32,
    /// Group (always 0).
    pub gid: u32,
    /// Device number for character devices, `major << 8 | minor` as Emscripten's `makedev`.
    pub rdev: u64,
    /// Size in bytes (target length for symlinks, 4096 for directories).
    pub size: u64,
    /// Preferred I/O size (4096).
    pub blksize: u32,
    /// 512-byte blocks.
    pub blocks: u64,
    /// Last access.
    pub atime: Timespec,
    /// Last modification of the contents.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
}

impl Stat {
    /// `st_mode`: type bits and permission bits.
    pub const fn mode(&self) -> u32 {
        self.kind.mode_bits() | self.perm
    }
}

/// `struct statfs` (reference §5.7). The values are synthetic except `fsid` and `flags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatFs {
    /// Block size.
    pub bsize: u32,
    /// Total blocks.
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Blocks available to the user.
    pub bavail: u64,
    /// Total inodes.
    pub files: u64,
    /// Free inodes.
    pub ffree: u64,
    /// File system id (the mount's device number).
    pub fsid: u64,
    /// Longest file name.
    pub namelen: u32,
    /// Fragment size.
    pub frsize: u32,
    /// Mount flags: [`StatFs::RDONLY`] for read-only mounts.
    pub flags: u32,
}

impl StatFs {
    /// `ST_RDONLY`.
    pub const RDONLY: u32 = 1;
}

/// One entry of a directory listing, as `getdents` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DirEntry {
    /// Inode number.
    pub ino: u64,
    /// Kind.
    pub kind: FileKind,
    /// Name (`.` and `..` included).
    pub name: Vec<u8>,
    /// The position just after this entry: seek the directory there to resume (`d_off`).
    pub next: u64,
}
