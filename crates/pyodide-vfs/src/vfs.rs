//! The file system object: mounts, path resolution, the fd table and every operation.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use cap_std::fs::Dir;

use crate::entropy::{EntropySource, OsEntropy};
use crate::errno::{Errno, MountError};
use crate::flags::{AccessCheck, AccessMode, OpenFlags, Whence};
use crate::host;
use crate::memfs::{Device, FileData, Ino, MountId, Node, NodeKind, NodeTable, ROOT_INO};
use crate::path::{GuestPath, NAME_MAX, PATH_MAX};
use crate::pipe::{Pipe, PipeEnd, Readiness};
use crate::socket::Socket;
use crate::stat::{DirEntry, FileKind, Stat, StatFs};
use crate::stdio::{InputSource, OutputSink};
use crate::tar_mount::{self, TarKind};
use crate::time::{Clock, SetTime, SystemClock, Timespec};
use crate::zip_mount::{self, ZipPlacement, ZipSource};

/// Most descriptors open at once (reference §5.3).
pub const MAX_FDS: u32 = 4096;
/// Symlinks followed while resolving one path before `ELOOP`.
pub const MAX_SYMLINKS: u32 = 40;
/// Largest regular file the in-memory file system stores.
pub const MAX_FILE_SIZE: u64 = 1 << 40;

/// A file descriptor number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fd(pub u32);

impl Fd {
    /// Standard input.
    pub const STDIN: Fd = Fd(0);
    /// Standard output.
    pub const STDOUT: Fd = Fd(1);
    /// Standard error.
    pub const STDERR: Fd = Fd(2);

    /// The descriptor for a raw guest value, or `EBADF` if it is negative.
    pub fn from_raw(raw: i32) -> Result<Fd, Errno> {
        u32::try_from(raw).map(Fd).map_err(|_| Errno::EBADF)
    }
}

/// Where a relative path starts: the current directory (`AT_FDCWD`) or an open directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dirfd {
    /// The current working directory.
    Cwd,
    /// An open directory descriptor.
    Fd(Fd),
}

impl Dirfd {
    /// `AT_FDCWD`.
    pub const AT_FDCWD: i32 = -100;

    /// Decode a raw `dirfd` argument.
    pub fn from_raw(raw: i32) -> Result<Dirfd, Errno> {
        if raw == Self::AT_FDCWD {
            Ok(Dirfd::Cwd)
        } else {
            Fd::from_raw(raw).map(Dirfd::Fd)
        }
    }
}

/// Whether a host-directory mount may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MountAccess {
    /// Writes fail with `EROFS`.
    ReadOnly,
    /// Writes reach the host directory.
    ReadWrite,
}

/// A resolved node: in the in-memory table, or a path relative to a host mount's `Dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Loc {
    Mem(Ino),
    Host { mount: MountId, rel: PathBuf },
}

#[derive(Debug)]
enum MountKind {
    Memory,
    Archive,
    Host(Dir),
}

#[derive(Debug)]
struct Mount {
    kind: MountKind,
    readonly: bool,
    /// The in-memory directory the mount covers (its root for memory and archive mounts).
    point: Ino,
}

#[derive(Debug)]
enum Target {
    MemFile(Ino),
    MemDir(Ino),
    Device(Ino, Device),
    HostFile {
        mount: MountId,
        rel: PathBuf,
        file: std::fs::File,
    },
    HostDir {
        mount: MountId,
        rel: PathBuf,
    },
    /// One end of the pipe `pipe` (an index into the pipe table); `ino` is its FIFO node.
    Pipe {
        ino: Ino,
        pipe: usize,
        end: PipeEnd,
    },
    /// A socket on its node `ino`.
    Socket {
        ino: Ino,
        state: Socket,
    },
}

impl Target {
    /// Reads and writes do not move an offset (devices, pipes and sockets).
    fn is_stream(&self) -> bool {
        matches!(
            self,
            Target::Device(..) | Target::Pipe { .. } | Target::Socket { .. }
        )
    }

    /// `pread`, `pwrite` and `lseek` answer `ESPIPE` (terminals, pipes and sockets).
    fn is_unseekable(&self) -> bool {
        matches!(self, Target::Device(_, d) if d.is_tty())
            || matches!(self, Target::Pipe { .. } | Target::Socket { .. })
    }
}

#[derive(Debug)]
struct Description {
    target: Target,
    flags: OpenFlags,
    /// Byte offset for files; for directories the index of the next entry (a cookie).
    offset: u64,
    refs: u32,
    /// A directory's listing, taken when a reader starts at position 0.
    listing: Option<Vec<DirEntry>>,
}

#[derive(Debug, Clone, Copy)]
struct FdSlot {
    desc: usize,
    cloexec: bool,
}

/// The final component of a path and the directory holding it.
#[derive(Debug)]
struct Parent {
    dir: Loc,
    name: Vec<u8>,
    /// The path ended in `/`.
    slash: bool,
    /// The path named the root itself (`/`).
    root: bool,
}

/// Builds a [`Vfs`]. Defaults deny: stdin is empty, output is discarded; the clock and
/// entropy are the host's.
pub struct VfsBuilder {
    clock: Box<dyn Clock>,
    entropy: Box<dyn EntropySource>,
    stdin: InputSource,
    stdout: OutputSink,
    stderr: OutputSink,
}

impl Default for VfsBuilder {
    fn default() -> VfsBuilder {
        VfsBuilder {
            clock: Box::new(SystemClock),
            entropy: Box::new(OsEntropy),
            stdin: InputSource::Empty,
            stdout: OutputSink::Discard,
            stderr: OutputSink::Discard,
        }
    }
}

impl std::fmt::Debug for VfsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VfsBuilder")
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish_non_exhaustive()
    }
}

impl VfsBuilder {
    /// A builder with the defaults.
    pub fn new() -> VfsBuilder {
        VfsBuilder::default()
    }

    /// The clock that stamps files.
    pub fn clock(mut self, clock: impl Clock + 'static) -> VfsBuilder {
        self.clock = Box::new(clock);
        self
    }

    /// The source behind `/dev/random` and `/dev/urandom`.
    pub fn entropy(mut self, entropy: impl EntropySource + 'static) -> VfsBuilder {
        self.entropy = Box::new(entropy);
        self
    }

    /// What reads of stdin (and the ttys) return.
    pub fn stdin(mut self, source: InputSource) -> VfsBuilder {
        self.stdin = source;
        self
    }

    /// Where writes to stdout (and `/dev/tty`) go.
    pub fn stdout(mut self, sink: OutputSink) -> VfsBuilder {
        self.stdout = sink;
        self
    }

    /// Where writes to stderr (and `/dev/tty1`) go.
    pub fn stderr(mut self, sink: OutputSink) -> VfsBuilder {
        self.stderr = sink;
        self
    }

    /// A file system with only an empty root directory and no open descriptors.
    pub fn build_empty(self) -> Vfs {
        let now = self.clock.now();
        let mut nodes = NodeTable::new(now);
        nodes.open_ref(ROOT_INO); // held by the cwd
        Vfs {
            nodes,
            mounts: vec![Mount {
                kind: MountKind::Memory,
                readonly: false,
                point: ROOT_INO,
            }],
            host_points: HashMap::new(),
            descs: Vec::new(),
            free_descs: Vec::new(),
            fds: Vec::new(),
            pipes: Vec::new(),
            cwd: Loc::Mem(ROOT_INO),
            clock: self.clock,
            entropy: self.entropy,
            stdin: self.stdin,
            stdout: self.stdout,
            stderr: self.stderr,
        }
    }

    /// The layout Emscripten has at `main()` (reference §3.3): `/tmp`, `/home/web_user`,
    /// `/dev/{null,zero,random,urandom,tty,tty1}`, `/dev/shm/tmp`, the `/dev/std{in,out,err}`
    /// symlinks, and fds 0, 1, 2 open on them; the cwd is `/`. (`/proc/self/fd` is omitted.)
    pub fn build(self) -> Vfs {
        let mut vfs = self.build_empty();
        vfs.install_default_layout()
            .expect("the default layout fits an empty file system");
        vfs
    }
}

/// An in-memory POSIX file system with mounts, devices and one descriptor table.
///
/// Every method is a system call: arguments are already decoded from guest memory, results are
/// values or an [`Errno`]. See the crate documentation for the design.
pub struct Vfs {
    nodes: NodeTable,
    mounts: Vec<Mount>,
    /// In-memory directories covered by a host mount.
    host_points: HashMap<Ino, MountId>,
    descs: Vec<Option<Description>>,
    free_descs: Vec<usize>,
    fds: Vec<Option<FdSlot>>,
    /// Pipes with at least one open end.
    pipes: Vec<Option<Pipe>>,
    cwd: Loc,
    clock: Box<dyn Clock>,
    entropy: Box<dyn EntropySource>,
    stdin: InputSource,
    stdout: OutputSink,
    stderr: OutputSink,
}

impl std::fmt::Debug for Vfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vfs")
            .field("nodes", &self.nodes.len())
            .field("mounts", &self.mounts.len())
            .field("open_fds", &self.fds.iter().flatten().count())
            .field("cwd", &self.cwd)
            .finish_non_exhaustive()
    }
}

impl Default for Vfs {
    fn default() -> Vfs {
        VfsBuilder::new().build()
    }
}

fn is_dot(name: &[u8]) -> bool {
    name == b"." || name == b".."
}

impl Vfs {
    /// A builder.
    pub fn builder() -> VfsBuilder {
        VfsBuilder::new()
    }

    fn now(&self) -> Timespec {
        self.clock.now()
    }

    fn install_default_layout(&mut self) -> Result<(), Errno> {
        for dir in [
            "/tmp",
            "/home",
            "/home/web_user",
            "/dev",
            "/dev/shm",
            "/dev/shm/tmp",
        ] {
            self.mkdir(Dirfd::Cwd, dir.into(), 0o777)?;
        }
        let dev = match self.lookup(&Loc::Mem(ROOT_INO), b"dev")?.0 {
            Loc::Mem(ino) => ino,
            Loc::Host { .. } => unreachable!("no host mounts yet"),
        };
        let now = self.now();
        for (name, device) in [
            (&b"null"[..], Device::Null),
            (b"zero", Device::Zero),
            (b"random", Device::Random),
            (b"urandom", Device::URandom),
            (b"tty", Device::Tty),
            (b"tty1", Device::Tty1),
        ] {
            self.nodes
                .create(dev, name, NodeKind::Device(device), 0o666, now);
        }
        self.symlink(b"/dev/tty", Dirfd::Cwd, "/dev/stdin".into())?;
        self.symlink(b"/dev/tty", Dirfd::Cwd, "/dev/stdout".into())?;
        self.symlink(b"/dev/tty1", Dirfd::Cwd, "/dev/stderr".into())?;
        let stdin = self.open(Dirfd::Cwd, "/dev/stdin".into(), OpenFlags::RDONLY, 0)?;
        let stdout = self.open(Dirfd::Cwd, "/dev/stdout".into(), OpenFlags::WRONLY, 0)?;
        let stderr = self.open(Dirfd::Cwd, "/dev/stderr".into(), OpenFlags::WRONLY, 0)?;
        debug_assert_eq!((stdin, stdout, stderr), (Fd::STDIN, Fd::STDOUT, Fd::STDERR));
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // Nodes

    fn host_dir(&self, mount: MountId) -> &Dir {
        match &self.mounts[mount].kind {
            MountKind::Host(dir) => dir,
            _ => unreachable!("host locations only name host mounts"),
        }
    }

    fn mount_of(&self, loc: &Loc) -> MountId {
        match loc {
            Loc::Mem(ino) => self.nodes.get(*ino).mount,
            Loc::Host { mount, .. } => *mount,
        }
    }

    fn readonly(&self, loc: &Loc) -> bool {
        self.mounts[self.mount_of(loc)].readonly
    }

    fn dev_of(mount: MountId) -> u64 {
        mount as u64 + 1
    }

    fn mem_kind(node: &Node) -> FileKind {
        match node.kind {
            NodeKind::File(_) => FileKind::Regular,
            NodeKind::Dir(_) => FileKind::Directory,
            NodeKind::Symlink(_) => FileKind::Symlink,
            NodeKind::Device(_) => FileKind::CharDevice,
            NodeKind::Fifo => FileKind::Fifo,
            NodeKind::Socket => FileKind::Socket,
        }
    }

    fn mem_stat(&self, ino: Ino) -> Stat {
        let node = self.nodes.get(ino);
        let (size, rdev) = match &node.kind {
            NodeKind::File(data) => (data.len() as u64, 0),
            NodeKind::Dir(_) => (4096, 0),
            NodeKind::Symlink(target) => (target.len() as u64, 0),
            NodeKind::Device(d) => (0, d.rdev()),
            NodeKind::Fifo | NodeKind::Socket => (0, 0),
        };
        Stat {
            dev: Self::dev_of(node.mount),
            ino,
            kind: Self::mem_kind(node),
            perm: node.perm,
            // Pipe ends and sockets have no directory entry but report one link, as on Linux.
            nlink: if matches!(node.kind, NodeKind::Fifo | NodeKind::Socket) {
                1
            } else {
                node.nlink
            },
            uid: 0,
            gid: 0,
            rdev,
            size,
            blksize: 4096,
            blocks: size.div_ceil(512),
            atime: node.atime,
            mtime: node.mtime,
            ctime: node.ctime,
        }
    }

    fn stat_loc(&self, loc: &Loc) -> Result<Stat, Errno> {
        match loc {
            Loc::Mem(ino) => Ok(self.mem_stat(*ino)),
            Loc::Host { mount, rel } => {
                host::lstat(self.host_dir(*mount), rel, Self::dev_of(*mount))
            }
        }
    }

    fn parent(&self, loc: &Loc) -> Loc {
        match loc {
            Loc::Mem(ino) => Loc::Mem(self.nodes.get(*ino).parent),
            Loc::Host { mount, rel } => match rel.parent() {
                Some(p) => Loc::Host {
                    mount: *mount,
                    rel: p.to_path_buf(),
                },
                None => Loc::Mem(self.nodes.get(self.mounts[*mount].point).parent),
            },
        }
    }

    /// Look `name` (a plain component) up in the directory `dir`.
    fn lookup(&self, dir: &Loc, name: &[u8]) -> Result<(Loc, FileKind), Errno> {
        match dir {
            Loc::Mem(ino) => {
                let entries = self.nodes.get(*ino).dir_entries().ok_or(Errno::ENOTDIR)?;
                let child = *entries.get(name).ok_or(Errno::ENOENT)?;
                if let Some(&mount) = self.host_points.get(&child) {
                    return Ok((
                        Loc::Host {
                            mount,
                            rel: PathBuf::new(),
                        },
                        FileKind::Directory,
                    ));
                }
                Ok((Loc::Mem(child), Self::mem_kind(self.nodes.get(child))))
            }
            Loc::Host { mount, rel } => {
                let rel = host::join(rel, name);
                let st = host::lstat(self.host_dir(*mount), &rel, 0)?;
                Ok((Loc::Host { mount: *mount, rel }, st.kind))
            }
        }
    }

    fn read_link_loc(&self, loc: &Loc) -> Result<Vec<u8>, Errno> {
        match loc {
            Loc::Mem(ino) => match &self.nodes.get(*ino).kind {
                NodeKind::Symlink(t) => Ok(t.to_vec()),
                _ => Err(Errno::EINVAL),
            },
            Loc::Host { mount, rel } => host::read_link(self.host_dir(*mount), rel),
        }
    }

    /// The guest path of an in-memory directory, or `ENOENT` if it was removed.
    fn mem_path(&self, mut ino: Ino) -> Result<Vec<u8>, Errno> {
        let mut names: Vec<&[u8]> = Vec::new();
        while ino != ROOT_INO {
            let node = self.nodes.get(ino);
            if node.nlink == 0 {
                return Err(Errno::ENOENT);
            }
            names.push(&node.name);
            ino = node.parent;
        }
        let mut out = Vec::new();
        for name in names.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(name);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        Ok(out)
    }

    // ---------------------------------------------------------------------------------------
    // Path resolution

    fn check_path(path: GuestPath<'_>) -> Result<(), Errno> {
        match path.as_bytes().len() {
            0 => Err(Errno::ENOENT),
            n if n >= PATH_MAX => Err(Errno::ENAMETOOLONG),
            _ => Ok(()),
        }
    }

    fn start(&self, dirfd: Dirfd, path: GuestPath<'_>) -> Result<Loc, Errno> {
        if path.is_absolute() {
            return Ok(Loc::Mem(ROOT_INO));
        }
        match dirfd {
            Dirfd::Cwd => Ok(self.cwd.clone()),
            Dirfd::Fd(fd) => match &self.desc(fd)?.target {
                Target::MemDir(ino) => Ok(Loc::Mem(*ino)),
                Target::HostDir { mount, rel } => Ok(Loc::Host {
                    mount: *mount,
                    rel: rel.clone(),
                }),
                _ => Err(Errno::ENOTDIR),
            },
        }
    }

    /// Resolve `path` from the directory `start`; symlinks are followed everywhere except in
    /// the final component when `follow_last` is false. A trailing slash forces the final
    /// component to be (or lead to) a directory.
    fn walk(
        &self,
        start: Loc,
        path: &[u8],
        follow_last: bool,
        links: &mut u32,
    ) -> Result<(Loc, FileKind), Errno> {
        let gp = GuestPath::new(path);
        let mut cur = if gp.is_absolute() {
            Loc::Mem(ROOT_INO)
        } else {
            start
        };
        let mut cur_kind = FileKind::Directory;
        let mut stack: Vec<Vec<u8>> = Vec::new();
        if gp.has_trailing_slash() {
            stack.push(b".".to_vec());
        }
        stack.extend(gp.components().rev().map(<[u8]>::to_vec));
        while let Some(c) = stack.pop() {
            if cur_kind != FileKind::Directory {
                return Err(Errno::ENOTDIR);
            }
            if c == b"." {
                continue;
            }
            if c == b".." {
                cur = self.parent(&cur);
                continue;
            }
            if c.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            let (next, kind) = self.lookup(&cur, &c)?;
            if kind == FileKind::Symlink && (follow_last || !stack.is_empty()) {
                *links += 1;
                if *links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                let target = self.read_link_loc(&next)?;
                if target.is_empty() {
                    return Err(Errno::ENOENT);
                }
                let tp = GuestPath::new(&target);
                if tp.is_absolute() {
                    cur = Loc::Mem(ROOT_INO);
                }
                if tp.has_trailing_slash() {
                    stack.push(b".".to_vec());
                }
                stack.extend(tp.components().rev().map(<[u8]>::to_vec));
                continue;
            }
            cur = next;
            cur_kind = kind;
        }
        Ok((cur, cur_kind))
    }

    fn resolve(
        &self,
        dirfd: Dirfd,
        path: GuestPath<'_>,
        follow: bool,
    ) -> Result<(Loc, FileKind), Errno> {
        Self::check_path(path)?;
        let start = self.start(dirfd, path)?;
        self.walk(start, path.as_bytes(), follow, &mut 0)
    }

    fn resolve_parent(&self, dirfd: Dirfd, path: GuestPath<'_>) -> Result<Parent, Errno> {
        Self::check_path(path)?;
        let bytes = path.as_bytes();
        let end = bytes.iter().rposition(|b| *b != b'/').map_or(0, |i| i + 1);
        let trimmed = &bytes[..end];
        let slash = end < bytes.len();
        if trimmed.is_empty() {
            return Ok(Parent {
                dir: Loc::Mem(ROOT_INO),
                name: b".".to_vec(),
                slash,
                root: true,
            });
        }
        let (prefix, name) = match trimmed.iter().rposition(|b| *b == b'/') {
            Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
            None => (&b""[..], trimmed),
        };
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let start = self.start(dirfd, path)?;
        let dir = if prefix.is_empty() {
            start
        } else {
            self.walk(start, prefix, true, &mut 0)?.0
        };
        Ok(Parent {
            dir,
            name: name.to_vec(),
            slash,
            root: false,
        })
    }

    /// The node a parent's final name refers to, without following a final symlink.
    fn lookup_parent(&self, p: &Parent) -> Result<(Loc, FileKind), Errno> {
        match &p.name[..] {
            b"." => Ok((p.dir.clone(), FileKind::Directory)),
            b".." => Ok((self.parent(&p.dir), FileKind::Directory)),
            name => self.lookup(&p.dir, name),
        }
    }

    fn lookup_parent_opt(&self, p: &Parent) -> Result<Option<(Loc, FileKind)>, Errno> {
        match self.lookup_parent(p) {
            Ok(found) => Ok(Some(found)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// In-memory directories that were removed accept no new entries.
    fn check_dir_alive(&self, dir: &Loc) -> Result<(), Errno> {
        match dir {
            Loc::Mem(ino) if self.nodes.get(*ino).nlink == 0 => Err(Errno::ENOENT),
            _ => Ok(()),
        }
    }

    // ---------------------------------------------------------------------------------------
    // Descriptor table

    fn slot(&self, fd: Fd) -> Result<FdSlot, Errno> {
        self.fds
            .get(fd.0 as usize)
            .copied()
            .flatten()
            .ok_or(Errno::EBADF)
    }

    fn desc(&self, fd: Fd) -> Result<&Description, Errno> {
        let slot = self.slot(fd)?;
        Ok(self.descs[slot.desc]
            .as_ref()
            .expect("an fd names a live description"))
    }

    fn desc_mut(&mut self, fd: Fd) -> Result<&mut Description, Errno> {
        let slot = self.slot(fd)?;
        Ok(self.descs[slot.desc]
            .as_mut()
            .expect("an fd names a live description"))
    }

    fn lowest_free_fd(&self, min: u32) -> Result<u32, Errno> {
        (min..MAX_FDS)
            .find(|&n| self.fds.get(n as usize).is_none_or(Option::is_none))
            .ok_or(Errno::EMFILE)
    }

    fn set_slot(&mut self, fd: u32, slot: FdSlot) {
        let i = fd as usize;
        if self.fds.len() <= i {
            self.fds.resize(i + 1, None);
        }
        self.fds[i] = Some(slot);
    }

    fn install(&mut self, target: Target, flags: OpenFlags) -> Result<Fd, Errno> {
        let fd = match self.lowest_free_fd(0) {
            Ok(fd) => fd,
            Err(e) => {
                self.release_target(&target);
                return Err(e);
            }
        };
        let desc = Description {
            target,
            flags,
            offset: 0,
            refs: 1,
            listing: None,
        };
        let index = match self.free_descs.pop() {
            Some(i) => {
                self.descs[i] = Some(desc);
                i
            }
            None => {
                self.descs.push(Some(desc));
                self.descs.len() - 1
            }
        };
        self.set_slot(
            fd,
            FdSlot {
                desc: index,
                cloexec: flags.contains(OpenFlags::CLOEXEC),
            },
        );
        Ok(Fd(fd))
    }

    fn release_target(&mut self, target: &Target) {
        match target {
            Target::MemFile(ino) | Target::MemDir(ino) | Target::Device(ino, _) => {
                self.nodes.close_ref(*ino);
            }
            Target::HostFile { .. } | Target::HostDir { .. } => {}
            Target::Pipe { ino, pipe, end } => {
                let slot = &mut self.pipes[*pipe];
                let state = slot.as_mut().expect("an open end names a live pipe");
                state.close(*end);
                if state.is_unused() {
                    *slot = None;
                }
                self.nodes.close_ref(*ino);
            }
            Target::Socket { ino, .. } => self.nodes.close_ref(*ino),
        }
    }

    fn drop_desc_ref(&mut self, index: usize) {
        let desc = self.descs[index].as_mut().expect("live description");
        desc.refs -= 1;
        if desc.refs == 0 {
            let desc = self.descs[index].take().expect("live description");
            self.free_descs.push(index);
            self.release_target(&desc.target);
        }
    }

    /// Close `fd`. The open file description lives on while another descriptor shares it.
    pub fn close(&mut self, fd: Fd) -> Result<(), Errno> {
        let slot = self.slot(fd)?;
        self.fds[fd.0 as usize] = None;
        self.drop_desc_ref(slot.desc);
        Ok(())
    }

    /// Duplicate `fd` onto the lowest free descriptor; both share one offset and status flags.
    pub fn dup(&mut self, fd: Fd) -> Result<Fd, Errno> {
        self.dup_min(fd, 0)
    }

    /// `F_DUPFD`: duplicate onto the lowest free descriptor `>= min` (`EINVAL` if `min` is out
    /// of range).
    pub fn dup_min(&mut self, fd: Fd, min: u32) -> Result<Fd, Errno> {
        let slot = self.slot(fd)?;
        if min >= MAX_FDS {
            return Err(Errno::EINVAL);
        }
        let new = self.lowest_free_fd(min)?;
        self.descs[slot.desc]
            .as_mut()
            .expect("live description")
            .refs += 1;
        self.set_slot(
            new,
            FdSlot {
                desc: slot.desc,
                cloexec: false,
            },
        );
        Ok(Fd(new))
    }

    /// `dup3`: make `new` refer to `old`'s description, closing `new` first if open.
    /// `EINVAL` if they are equal, `EBADF` if `old` is not open or `new` is out of range.
    pub fn dup3(&mut self, old: Fd, new: Fd, cloexec: bool) -> Result<Fd, Errno> {
        let slot = self.slot(old)?;
        if old == new {
            return Err(Errno::EINVAL);
        }
        if new.0 >= MAX_FDS {
            return Err(Errno::EBADF);
        }
        if self.slot(new).is_ok() {
            self.close(new)?;
        }
        self.descs[slot.desc]
            .as_mut()
            .expect("live description")
            .refs += 1;
        self.set_slot(
            new.0,
            FdSlot {
                desc: slot.desc,
                cloexec,
            },
        );
        Ok(new)
    }

    /// Whether `fd` is open.
    pub fn is_open(&self, fd: Fd) -> bool {
        self.slot(fd).is_ok()
    }

    /// `F_GETFD`: the close-on-exec flag.
    pub fn cloexec(&self, fd: Fd) -> Result<bool, Errno> {
        Ok(self.slot(fd)?.cloexec)
    }

    /// `F_SETFD`: set the close-on-exec flag.
    pub fn set_cloexec(&mut self, fd: Fd, cloexec: bool) -> Result<(), Errno> {
        self.slot(fd)?;
        if let Some(Some(slot)) = self.fds.get_mut(fd.0 as usize) {
            slot.cloexec = cloexec;
        }
        Ok(())
    }

    /// `F_GETFL`: the flags the description was opened with (less `O_CREAT`, `O_EXCL`,
    /// `O_TRUNC`, `O_NOCTTY` and `O_CLOEXEC`, which only matter at open).
    pub fn status_flags(&self, fd: Fd) -> Result<OpenFlags, Errno> {
        Ok(self.desc(fd)?.flags.without(
            OpenFlags::CREAT
                | OpenFlags::EXCL
                | OpenFlags::TRUNC
                | OpenFlags::NOCTTY
                | OpenFlags::CLOEXEC,
        ))
    }

    /// `F_SETFL`: replace the changeable status flags (`O_APPEND`, `O_NONBLOCK`).
    pub fn set_status_flags(&mut self, fd: Fd, flags: OpenFlags) -> Result<(), Errno> {
        let changeable = OpenFlags::APPEND | OpenFlags::NONBLOCK;
        let desc = self.desc_mut(fd)?;
        let mut kept = desc.flags.without(changeable);
        for f in [OpenFlags::APPEND, OpenFlags::NONBLOCK] {
            if flags.contains(f) {
                kept |= f;
            }
        }
        desc.flags = kept;
        Ok(())
    }

    /// Whether `fd` is a terminal (stdio on the ttys): what `isatty` and WASI's
    /// `fs_filetype == CHARACTER_DEVICE` check mean for the guest.
    pub fn is_tty(&self, fd: Fd) -> Result<bool, Errno> {
        let desc = self.desc(fd)?;
        Ok(match desc.target {
            // A tty device is a terminal only when the host end behind it is
            // one: output captured to a buffer or a pipe is not.
            Target::Device(_, Device::Tty) => match desc.flags.access_mode() {
                Some(AccessMode::ReadOnly) => self.stdin.is_terminal(),
                _ => self.stdout.is_terminal(),
            },
            Target::Device(_, Device::Tty1) => match desc.flags.access_mode() {
                Some(AccessMode::ReadOnly) => self.stdin.is_terminal(),
                _ => self.stderr.is_terminal(),
            },
            _ => false,
        })
    }

    /// `pipe2`: a new pipe; returns (read end, write end) on the two lowest free descriptors.
    /// Of `flags`, only `O_NONBLOCK` and `O_CLOEXEC` are accepted (`EINVAL` otherwise);
    /// `O_NONBLOCK` changes nothing, as nothing blocks.
    pub fn pipe(&mut self, flags: OpenFlags) -> Result<(Fd, Fd), Errno> {
        if flags
            .without(OpenFlags::NONBLOCK | OpenFlags::CLOEXEC)
            .bits()
            != 0
        {
            return Err(Errno::EINVAL);
        }
        let free = (0..MAX_FDS)
            .filter(|&n| self.fds.get(n as usize).is_none_or(Option::is_none))
            .take(2)
            .count();
        if free < 2 {
            return Err(Errno::EMFILE);
        }
        let pipe = match self.pipes.iter().position(Option::is_none) {
            Some(i) => {
                self.pipes[i] = Some(Pipe::new());
                i
            }
            None => {
                self.pipes.push(Some(Pipe::new()));
                self.pipes.len() - 1
            }
        };
        let now = self.now();
        let mut ends = [Fd(0), Fd(0)];
        for (slot, (end, access)) in ends.iter_mut().zip([
            (PipeEnd::Read, OpenFlags::RDONLY),
            (PipeEnd::Write, OpenFlags::WRONLY),
        ]) {
            let ino = self.nodes.create_anonymous(NodeKind::Fifo, 0o600, now);
            *slot = self.install(Target::Pipe { ino, pipe, end }, access | flags)?;
        }
        Ok((ends[0], ends[1]))
    }

    /// A socket descriptor (the lowest free one) holding `state`. Of `flags`, only
    /// `O_NONBLOCK` and `O_CLOEXEC` are accepted (`EINVAL` otherwise).
    pub fn socket(&mut self, state: Socket, flags: OpenFlags) -> Result<Fd, Errno> {
        if flags
            .without(OpenFlags::NONBLOCK | OpenFlags::CLOEXEC)
            .bits()
            != 0
        {
            return Err(Errno::EINVAL);
        }
        self.lowest_free_fd(0)?;
        let now = self.now();
        let ino = self.nodes.create_anonymous(NodeKind::Socket, 0o777, now);
        self.install(Target::Socket { ino, state }, OpenFlags::RDWR | flags)
    }

    /// The record of the socket `fd` (shared by its `dup`s): `EBADF` if `fd` is not open,
    /// `ENOTSOCK` if it is not a socket.
    pub fn socket_mut(&mut self, fd: Fd) -> Result<&mut Socket, Errno> {
        match &mut self.desc_mut(fd)?.target {
            Target::Socket { state, .. } => Ok(state),
            _ => Err(Errno::ENOTSOCK),
        }
    }

    /// What `poll` reports for `fd`: pipe ends by their contents and other end; everything
    /// else is always ready.
    pub fn readiness(&self, fd: Fd) -> Result<Readiness, Errno> {
        Ok(match &self.desc(fd)?.target {
            Target::Pipe { pipe, end, .. } => self.pipes[*pipe]
                .as_ref()
                .expect("an open end names a live pipe")
                .readiness(*end),
            _ => Readiness::ALWAYS,
        })
    }

    // ---------------------------------------------------------------------------------------
    // open

    /// `openat`: open (or with `O_CREAT`, create with permission bits `perm`) the file at
    /// `path`, returning the lowest free descriptor.
    pub fn open(
        &mut self,
        dirfd: Dirfd,
        path: GuestPath<'_>,
        flags: OpenFlags,
        perm: u32,
    ) -> Result<Fd, Errno> {
        let access = flags.access_mode().ok_or(Errno::EINVAL)?;
        let nofollow = flags.contains(OpenFlags::NOFOLLOW);
        if flags.contains(OpenFlags::CREAT) {
            let p = self.resolve_parent(dirfd, path)?;
            if p.root || is_dot(&p.name) {
                return Err(Errno::EISDIR);
            }
            match self.lookup_parent_opt(&p)? {
                Some(_) if flags.contains(OpenFlags::EXCL) => return Err(Errno::EEXIST),
                Some((loc, kind)) => {
                    let (loc, kind) = if kind == FileKind::Symlink && !nofollow {
                        self.walk(p.dir.clone(), &p.name, true, &mut 0)?
                    } else {
                        (loc, kind)
                    };
                    if p.slash && kind != FileKind::Directory {
                        return Err(Errno::ENOTDIR);
                    }
                    return self.open_existing(loc, kind, flags, access);
                }
                None => {
                    if p.slash {
                        return Err(Errno::EISDIR);
                    }
                    if flags.contains(OpenFlags::DIRECTORY) {
                        return Err(Errno::ENOTDIR);
                    }
                    self.check_dir_alive(&p.dir)?;
                    if self.readonly(&p.dir) {
                        return Err(Errno::EROFS);
                    }
                    let target = self.create_file(&p, perm, access)?;
                    return self.install(target, flags);
                }
            }
        }
        let (loc, kind) = self.resolve(dirfd, path, !nofollow)?;
        self.open_existing(loc, kind, flags, access)
    }

    /// Creates the regular file `path` in the in-memory tree with contents
    /// shared with the caller: nothing is copied until the guest writes to
    /// it (then that file gets its own copy). For large read-mostly files
    /// such as the standard library archive, shared by every instance.
    pub fn create_shared_file(
        &mut self,
        path: GuestPath<'_>,
        contents: Arc<[u8]>,
        perm: u32,
    ) -> Result<(), Errno> {
        let p = self.resolve_parent(Dirfd::Cwd, path)?;
        if p.root || is_dot(&p.name) || p.slash {
            return Err(Errno::EISDIR);
        }
        if self.lookup_parent_opt(&p)?.is_some() {
            return Err(Errno::EEXIST);
        }
        self.check_dir_alive(&p.dir)?;
        let Loc::Mem(dir) = &p.dir else {
            return Err(Errno::EXDEV);
        };
        let len = contents.len();
        let data = FileData::Archive {
            bytes: contents,
            start: 0,
            len,
        };
        let now = self.now();
        self.nodes
            .create(*dir, &p.name, NodeKind::File(data), perm, now);
        Ok(())
    }

    fn create_file(&mut self, p: &Parent, perm: u32, access: AccessMode) -> Result<Target, Errno> {
        let now = self.now();
        match &p.dir {
            Loc::Mem(dir) => {
                let ino = self.nodes.create(
                    *dir,
                    &p.name,
                    NodeKind::File(FileData::Owned(Vec::new())),
                    perm,
                    now,
                );
                self.nodes.open_ref(ino);
                Ok(Target::MemFile(ino))
            }
            Loc::Host { mount, rel } => {
                let rel = host::join(rel, &p.name);
                let dir = self.host_dir(*mount);
                host::create_file(dir, &rel, perm)?;
                let file = host::open_file(dir, &rel, access.readable(), access.writable(), false)?;
                Ok(Target::HostFile {
                    mount: *mount,
                    rel,
                    file,
                })
            }
        }
    }

    fn open_existing(
        &mut self,
        loc: Loc,
        kind: FileKind,
        flags: OpenFlags,
        access: AccessMode,
    ) -> Result<Fd, Errno> {
        if kind == FileKind::Symlink {
            return Err(Errno::ELOOP);
        }
        if flags.contains(OpenFlags::DIRECTORY) && kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let path_only = flags.contains(OpenFlags::PATH);
        if kind == FileKind::Directory && access != AccessMode::ReadOnly && !path_only {
            return Err(Errno::EISDIR);
        }
        let truncate = flags.contains(OpenFlags::TRUNC) && access.writable() && !path_only;
        if !path_only {
            if kind == FileKind::Regular && access.writable() && self.readonly(&loc) {
                return Err(Errno::EROFS);
            }
            let st = self.stat_loc(&loc)?;
            if kind == FileKind::Regular {
                check_perm(&st, access.readable(), access.writable(), false)?;
            }
        }
        let target = match loc {
            Loc::Mem(ino) => {
                let target = match &self.nodes.get(ino).kind {
                    NodeKind::File(_) => Target::MemFile(ino),
                    NodeKind::Dir(_) => Target::MemDir(ino),
                    NodeKind::Device(d) => Target::Device(ino, *d),
                    NodeKind::Symlink(_) => return Err(Errno::ELOOP),
                    NodeKind::Fifo | NodeKind::Socket => return Err(Errno::ENXIO),
                };
                if truncate && matches!(target, Target::MemFile(_)) {
                    self.truncate_mem(ino, 0);
                }
                if let NodeKind::File(data) = &self.nodes.get(ino).kind {
                    // An archive member that cannot be unpacked (corrupt data, wrong CRC)
                    // fails here, once, rather than reading as an empty file.
                    data.load().map_err(|_| Errno::EIO)?;
                }
                self.nodes.open_ref(ino);
                target
            }
            Loc::Host { mount, rel } => match kind {
                FileKind::Directory => Target::HostDir { mount, rel },
                FileKind::Regular => {
                    let file = host::open_file(
                        self.host_dir(mount),
                        &rel,
                        access.readable() || path_only,
                        access.writable() && !path_only,
                        truncate,
                    )?;
                    Target::HostFile { mount, rel, file }
                }
                _ => return Err(Errno::ENXIO),
            },
        };
        self.install(target, flags)
    }

    // ---------------------------------------------------------------------------------------
    // read / write / seek

    fn readable_desc(&mut self, fd: Fd) -> Result<usize, Errno> {
        let slot = self.slot(fd)?;
        let desc = self.descs[slot.desc].as_ref().expect("live description");
        let ok = !desc.flags.contains(OpenFlags::PATH)
            && desc.flags.access_mode().is_some_and(AccessMode::readable);
        if ok { Ok(slot.desc) } else { Err(Errno::EBADF) }
    }

    fn writable_desc(&mut self, fd: Fd) -> Result<usize, Errno> {
        let slot = self.slot(fd)?;
        let desc = self.descs[slot.desc].as_ref().expect("live description");
        let ok = !desc.flags.contains(OpenFlags::PATH)
            && desc.flags.access_mode().is_some_and(AccessMode::writable);
        if ok { Ok(slot.desc) } else { Err(Errno::EBADF) }
    }

    /// Read at the description's offset (shared with `dup`ed descriptors) and advance it.
    pub fn read(&mut self, fd: Fd, buf: &mut [u8]) -> Result<usize, Errno> {
        let index = self.readable_desc(fd)?;
        let offset = self.descs[index].as_ref().expect("live").offset;
        let n = self.read_desc(index, buf, Some(offset))?;
        let desc = self.descs[index].as_mut().expect("live");
        if !desc.target.is_stream() {
            desc.offset = offset + n as u64;
        }
        Ok(n)
    }

    /// `pread`: read at `offset` without moving the description's offset.
    pub fn pread(&mut self, fd: Fd, buf: &mut [u8], offset: i64) -> Result<usize, Errno> {
        let index = self.readable_desc(fd)?;
        let offset = u64::try_from(offset).map_err(|_| Errno::EINVAL)?;
        if self.descs[index]
            .as_ref()
            .expect("live")
            .target
            .is_unseekable()
        {
            return Err(Errno::ESPIPE);
        }
        self.read_desc(index, buf, Some(offset))
    }

    fn read_desc(
        &mut self,
        index: usize,
        buf: &mut [u8],
        offset: Option<u64>,
    ) -> Result<usize, Errno> {
        let offset = offset.unwrap_or(0);
        let desc = self.descs[index].as_ref().expect("live");
        if let Target::Pipe { pipe, .. } = desc.target {
            return self.pipes[pipe].as_mut().expect("live pipe").read(buf);
        }
        match &desc.target {
            Target::MemFile(ino) => {
                let NodeKind::File(data) = &self.nodes.get(*ino).kind else {
                    unreachable!("a file description names a file")
                };
                let data = data.as_slice();
                let Ok(start) = usize::try_from(offset) else {
                    return Ok(0);
                };
                if start >= data.len() {
                    return Ok(0);
                }
                let n = buf.len().min(data.len() - start);
                buf[..n].copy_from_slice(&data[start..start + n]);
                Ok(n)
            }
            Target::MemDir(_) | Target::HostDir { .. } => Err(Errno::EISDIR),
            Target::HostFile { file, .. } => file.read_at(buf, offset).map_err(host::io),
            Target::Device(_, d) => match d {
                Device::Null => Ok(0),
                Device::Zero => {
                    buf.fill(0);
                    Ok(buf.len())
                }
                Device::Random | Device::URandom => {
                    // A refused draw (snapshot policy) reads as EIO, the
                    // errno `random_get` gives for it too.
                    self.entropy.fill(buf).map_err(|_| Errno::EIO)?;
                    Ok(buf.len())
                }
                Device::Tty | Device::Tty1 => Ok(self.stdin.read(buf)),
            },
            Target::Pipe { .. } => unreachable!("pipes are read above"),
            Target::Socket { .. } => Err(Errno::ENOTCONN),
        }
    }

    /// Write at the description's offset (at the end with `O_APPEND`) and advance it.
    pub fn write(&mut self, fd: Fd, buf: &[u8]) -> Result<usize, Errno> {
        let index = self.writable_desc(fd)?;
        let desc = self.descs[index].as_ref().expect("live");
        if let Target::Pipe { pipe, .. } = desc.target {
            return self.pipes[pipe].as_mut().expect("live pipe").write(buf);
        }
        let offset = if desc.flags.contains(OpenFlags::APPEND) {
            None
        } else {
            Some(desc.offset)
        };
        let end = self.write_desc(index, buf, offset)?;
        let desc = self.descs[index].as_mut().expect("live");
        if !desc.target.is_stream() {
            desc.offset = end;
        }
        Ok(buf.len())
    }

    /// `pwrite`: write at `offset` without moving the description's offset.
    pub fn pwrite(&mut self, fd: Fd, buf: &[u8], offset: i64) -> Result<usize, Errno> {
        let index = self.writable_desc(fd)?;
        let offset = u64::try_from(offset).map_err(|_| Errno::EINVAL)?;
        if self.descs[index]
            .as_ref()
            .expect("live")
            .target
            .is_unseekable()
        {
            return Err(Errno::ESPIPE);
        }
        self.write_desc(index, buf, Some(offset))?;
        Ok(buf.len())
    }

    /// Write `buf` at `offset` (`None`: at the end); returns the offset after the write.
    fn write_desc(&mut self, index: usize, buf: &[u8], offset: Option<u64>) -> Result<u64, Errno> {
        let now = self.now();
        let desc = self.descs[index].as_ref().expect("live");
        match &desc.target {
            Target::MemFile(ino) => {
                let node = self.nodes.get_mut(*ino);
                let NodeKind::File(data) = &mut node.kind else {
                    unreachable!("a file description names a file")
                };
                let len = data.as_slice().len() as u64;
                let start = offset.unwrap_or(len);
                let end = start.checked_add(buf.len() as u64).ok_or(Errno::EFBIG)?;
                if end > MAX_FILE_SIZE {
                    return Err(Errno::EFBIG);
                }
                if !buf.is_empty() {
                    let v = data.make_mut();
                    if end as usize > v.len() {
                        v.resize(end as usize, 0);
                    }
                    v[start as usize..end as usize].copy_from_slice(buf);
                    node.mtime = now;
                    node.ctime = now;
                }
                Ok(end)
            }
            Target::MemDir(_) | Target::HostDir { .. } => Err(Errno::EISDIR),
            Target::HostFile { file, .. } => {
                let start = match offset {
                    Some(o) => o,
                    None => file.metadata().map_err(host::io)?.len(),
                };
                file.write_all_at(buf, start).map_err(host::io)?;
                Ok(start + buf.len() as u64)
            }
            Target::Device(_, d) => {
                match d {
                    Device::Tty => self.stdout.write(buf),
                    Device::Tty1 => self.stderr.write(buf),
                    Device::Null | Device::Zero | Device::Random | Device::URandom => buf.len(),
                };
                Ok(0)
            }
            // `write` takes pipes before this, and `pwrite` refuses them.
            Target::Pipe { .. } => Err(Errno::ESPIPE),
            Target::Socket { .. } => Err(Errno::ENOTCONN),
        }
    }

    /// `lseek`. On a directory the offset is a listing position ([`DirEntry::next`]); only
    /// `SEEK_SET` (and `SEEK_CUR` by 0) are allowed there. Terminals answer `ESPIPE`.
    pub fn seek(&mut self, fd: Fd, offset: i64, whence: Whence) -> Result<u64, Errno> {
        let size = match &self.desc(fd)?.target {
            Target::MemFile(ino) => match &self.nodes.get(*ino).kind {
                NodeKind::File(d) => d.len() as u64,
                _ => 0,
            },
            Target::HostFile { file, .. } => file.metadata().map_err(host::io)?.len(),
            Target::Device(_, d) if d.is_tty() => return Err(Errno::ESPIPE),
            Target::Device(..) => return Ok(0),
            Target::Pipe { .. } | Target::Socket { .. } => return Err(Errno::ESPIPE),
            Target::MemDir(_) | Target::HostDir { .. } => {
                let desc = self.desc_mut(fd)?;
                return match (whence, offset) {
                    (Whence::Set, o) if o >= 0 => {
                        desc.offset = o as u64;
                        if o == 0 {
                            desc.listing = None;
                        }
                        Ok(desc.offset)
                    }
                    (Whence::Cur, 0) => Ok(desc.offset),
                    _ => Err(Errno::EINVAL),
                };
            }
        };
        let desc = self.desc_mut(fd)?;
        let base = match whence {
            Whence::Set => 0,
            Whence::Cur => desc.offset as i128,
            Whence::End => size as i128,
        };
        let new = base + offset as i128;
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        desc.offset = u64::try_from(new).map_err(|_| Errno::EOVERFLOW)?;
        Ok(desc.offset)
    }

    // ---------------------------------------------------------------------------------------
    // truncate

    fn truncate_mem(&mut self, ino: Ino, len: u64) {
        let now = self.now();
        let node = self.nodes.get_mut(ino);
        if let NodeKind::File(data) = &mut node.kind {
            data.make_mut().resize(len as usize, 0);
            node.mtime = now;
            node.ctime = now;
        }
    }

    /// `ftruncate`: `EINVAL` unless `fd` is a regular file open for writing.
    pub fn ftruncate(&mut self, fd: Fd, len: i64) -> Result<(), Errno> {
        let len = u64::try_from(len).map_err(|_| Errno::EINVAL)?;
        if len > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let desc = self.desc(fd)?;
        if !desc.flags.access_mode().is_some_and(AccessMode::writable)
            || desc.flags.contains(OpenFlags::PATH)
        {
            return Err(Errno::EINVAL);
        }
        match &desc.target {
            Target::MemFile(ino) => {
                let ino = *ino;
                self.truncate_mem(ino, len);
                Ok(())
            }
            Target::HostFile { file, .. } => file.set_len(len).map_err(host::io),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `truncate`: resize the regular file at `path` (symlinks followed).
    pub fn truncate(&mut self, dirfd: Dirfd, path: GuestPath<'_>, len: i64) -> Result<(), Errno> {
        let len = u64::try_from(len).map_err(|_| Errno::EINVAL)?;
        if len > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let (loc, kind) = self.resolve(dirfd, path, true)?;
        match kind {
            FileKind::Directory => return Err(Errno::EISDIR),
            FileKind::Regular => {}
            _ => return Err(Errno::EINVAL),
        }
        if self.readonly(&loc) {
            return Err(Errno::EROFS);
        }
        check_perm(&self.stat_loc(&loc)?, false, true, false)?;
        match loc {
            Loc::Mem(ino) => self.truncate_mem(ino, len),
            Loc::Host { mount, rel } => {
                let file = host::open_file(self.host_dir(mount), &rel, false, true, false)?;
                file.set_len(len).map_err(host::io)?;
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // stat

    /// `fstatat`: stat `path`, following a final symlink when `follow` (stat) or not (lstat).
    pub fn stat(&self, dirfd: Dirfd, path: GuestPath<'_>, follow: bool) -> Result<Stat, Errno> {
        let (loc, _) = self.resolve(dirfd, path, follow)?;
        self.stat_loc(&loc)
    }

    /// `fstat`: works on unlinked files too.
    pub fn fstat(&self, fd: Fd) -> Result<Stat, Errno> {
        match &self.desc(fd)?.target {
            Target::MemFile(ino)
            | Target::MemDir(ino)
            | Target::Device(ino, _)
            | Target::Pipe { ino, .. }
            | Target::Socket { ino, .. } => Ok(self.mem_stat(*ino)),
            Target::HostFile { mount, file, .. } => {
                let meta = cap_std::fs::Metadata::from_file(file).map_err(host::io)?;
                Ok(host::stat_from(&meta, Self::dev_of(*mount)))
            }
            Target::HostDir { mount, rel } => {
                host::lstat(self.host_dir(*mount), rel, Self::dev_of(*mount))
            }
        }
    }

    fn statfs_mount(&self, mount: MountId) -> StatFs {
        StatFs {
            bsize: 4096,
            blocks: 1 << 20,
            bfree: 1 << 19,
            bavail: 1 << 19,
            files: 1 << 20,
            ffree: (1 << 20) - self.nodes.len() as u64,
            fsid: Self::dev_of(mount),
            namelen: NAME_MAX as u32,
            frsize: 4096,
            flags: if self.mounts[mount].readonly {
                StatFs::RDONLY
            } else {
                0
            },
        }
    }

    /// `statfs` on the mount holding `path`. Sizes are synthetic.
    pub fn statfs(&self, dirfd: Dirfd, path: GuestPath<'_>) -> Result<StatFs, Errno> {
        let (loc, _) = self.resolve(dirfd, path, true)?;
        Ok(self.statfs_mount(self.mount_of(&loc)))
    }

    /// `fstatfs`.
    pub fn fstatfs(&self, fd: Fd) -> Result<StatFs, Errno> {
        let loc = self.desc_loc(fd)?;
        Ok(self.statfs_mount(self.mount_of(&loc)))
    }

    fn desc_loc(&self, fd: Fd) -> Result<Loc, Errno> {
        Ok(match &self.desc(fd)?.target {
            Target::MemFile(ino)
            | Target::MemDir(ino)
            | Target::Device(ino, _)
            | Target::Pipe { ino, .. }
            | Target::Socket { ino, .. } => Loc::Mem(*ino),
            Target::HostFile { mount, rel, .. } | Target::HostDir { mount, rel } => Loc::Host {
                mount: *mount,
                rel: rel.clone(),
            },
        })
    }

    // ---------------------------------------------------------------------------------------
    // Directory operations

    /// `mkdirat` with permission bits `perm`.
    pub fn mkdir(&mut self, dirfd: Dirfd, path: GuestPath<'_>, perm: u32) -> Result<(), Errno> {
        let p = self.resolve_parent(dirfd, path)?;
        if p.root || is_dot(&p.name) || self.lookup_parent_opt(&p)?.is_some() {
            return Err(Errno::EEXIST);
        }
        self.check_dir_alive(&p.dir)?;
        if self.readonly(&p.dir) {
            return Err(Errno::EROFS);
        }
        let now = self.now();
        match &p.dir {
            Loc::Mem(dir) => {
                self.nodes
                    .create(*dir, &p.name, NodeKind::Dir(Default::default()), perm, now);
            }
            Loc::Host { mount, rel } => {
                let rel = host::join(rel, &p.name);
                let dir = self.host_dir(*mount);
                dir.create_dir(&rel).map_err(host::io)?;
                host::set_perm(dir, &rel, perm)?;
            }
        }
        Ok(())
    }

    /// `mkdir -p` for the embedder: create `path` and any missing parents (absolute paths).
    pub fn create_dir_all(&mut self, path: GuestPath<'_>, perm: u32) -> Result<(), Errno> {
        let mut prefix = Vec::new();
        for c in path.components() {
            prefix.push(b'/');
            prefix.extend_from_slice(c);
            match self.mkdir(Dirfd::Cwd, GuestPath::new(&prefix), perm) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(e),
            }
        }
        match self.stat(Dirfd::Cwd, path, true)?.kind {
            FileKind::Directory => Ok(()),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// `unlinkat(…, AT_REMOVEDIR)`.
    pub fn rmdir(&mut self, dirfd: Dirfd, path: GuestPath<'_>) -> Result<(), Errno> {
        let p = self.resolve_parent(dirfd, path)?;
        if p.root {
            return Err(Errno::EBUSY);
        }
        match &p.name[..] {
            b"." => return Err(Errno::EINVAL),
            b".." => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        if self.readonly(&p.dir) {
            return Err(Errno::EROFS);
        }
        let (child, kind) = self.lookup_parent(&p)?;
        if kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        match (&p.dir, &child) {
            (Loc::Mem(dir), Loc::Mem(c)) => {
                let node = self.nodes.get(*c);
                if node.mount_root {
                    return Err(Errno::EBUSY);
                }
                if !node.dir_entries().is_some_and(|e| e.is_empty()) {
                    return Err(Errno::ENOTEMPTY);
                }
                let now = self.now();
                self.nodes.unlink(*dir, &p.name, now);
                Ok(())
            }
            (Loc::Host { mount, .. }, Loc::Host { rel, .. }) => {
                self.host_dir(*mount).remove_dir(rel).map_err(host::io)
            }
            _ => Err(Errno::EBUSY), // a host mount point
        }
    }

    /// `unlinkat(…, 0)`: remove a non-directory. Open descriptors keep the contents alive.
    pub fn unlink(&mut self, dirfd: Dirfd, path: GuestPath<'_>) -> Result<(), Errno> {
        let p = self.resolve_parent(dirfd, path)?;
        if p.root || is_dot(&p.name) {
            return Err(Errno::EISDIR);
        }
        if self.readonly(&p.dir) {
            return Err(Errno::EROFS);
        }
        let (child, kind) = self.lookup_parent(&p)?;
        if kind == FileKind::Directory {
            return Err(Errno::EISDIR);
        }
        if p.slash {
            return Err(Errno::ENOTDIR);
        }
        match (&p.dir, child) {
            (Loc::Mem(dir), Loc::Mem(_)) => {
                let now = self.now();
                self.nodes.unlink(*dir, &p.name, now);
                Ok(())
            }
            (Loc::Host { mount, .. }, Loc::Host { rel, .. }) => {
                self.host_dir(*mount).remove_file(rel).map_err(host::io)
            }
            _ => Err(Errno::EBUSY),
        }
    }

    /// `renameat` with the POSIX rules: a directory may replace an empty directory
    /// (`ENOTEMPTY` otherwise) but not a file (`ENOTDIR`); a file may not replace a directory
    /// (`EISDIR`); a directory may not move below itself (`EINVAL`); mounts are not crossed
    /// (`EXDEV`) or moved (`EBUSY`).
    pub fn rename(
        &mut self,
        old_dirfd: Dirfd,
        old: GuestPath<'_>,
        new_dirfd: Dirfd,
        new: GuestPath<'_>,
    ) -> Result<(), Errno> {
        let op = self.resolve_parent(old_dirfd, old)?;
        let np = self.resolve_parent(new_dirfd, new)?;
        if op.root || np.root {
            return Err(Errno::EBUSY);
        }
        if is_dot(&op.name) || is_dot(&np.name) {
            return Err(Errno::EINVAL);
        }
        let (src, skind) = self.lookup_parent(&op)?;
        if (op.slash || np.slash) && skind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        if self.mount_of(&op.dir) != self.mount_of(&np.dir) {
            return Err(Errno::EXDEV);
        }
        if self.readonly(&op.dir) {
            return Err(Errno::EROFS);
        }
        self.check_dir_alive(&np.dir)?;
        let dst = self.lookup_parent_opt(&np)?;
        match (&op.dir, &np.dir) {
            (Loc::Mem(odir), Loc::Mem(ndir)) => {
                let Loc::Mem(s) = src else {
                    return Err(Errno::EBUSY);
                };
                if self.nodes.get(s).mount_root {
                    return Err(Errno::EBUSY);
                }
                if let Some((dloc, dkind)) = &dst {
                    let Loc::Mem(d) = dloc else {
                        return Err(Errno::EBUSY);
                    };
                    if *d == s {
                        return Ok(());
                    }
                    if self.nodes.get(*d).mount_root {
                        return Err(Errno::EBUSY);
                    }
                    if skind == FileKind::Directory {
                        if self.nodes.is_within(*ndir, s) {
                            return Err(Errno::EINVAL);
                        }
                        if *dkind != FileKind::Directory {
                            return Err(Errno::ENOTDIR);
                        }
                        if !self
                            .nodes
                            .get(*d)
                            .dir_entries()
                            .is_some_and(|e| e.is_empty())
                        {
                            return Err(Errno::ENOTEMPTY);
                        }
                    } else if *dkind == FileKind::Directory {
                        return Err(Errno::EISDIR);
                    }
                } else if skind == FileKind::Directory && self.nodes.is_within(*ndir, s) {
                    return Err(Errno::EINVAL);
                }
                let now = self.now();
                let (odir, ndir) = (*odir, *ndir);
                self.nodes.rename(odir, &op.name, ndir, &np.name, now);
                Ok(())
            }
            (Loc::Host { mount, .. }, Loc::Host { .. }) => {
                let Loc::Host { rel: from, .. } = &src else {
                    return Err(Errno::EBUSY);
                };
                if from.as_os_str().is_empty() {
                    return Err(Errno::EBUSY);
                }
                let Loc::Host { rel: ndir_rel, .. } = &np.dir else {
                    unreachable!()
                };
                let to = host::join(ndir_rel, &np.name);
                if let Some((Loc::Host { rel, .. }, _)) = &dst
                    && rel.as_os_str().is_empty()
                {
                    return Err(Errno::EBUSY);
                }
                let dir = self.host_dir(*mount);
                dir.rename(from, dir, &to).map_err(host::io)
            }
            _ => Err(Errno::EXDEV),
        }
    }

    /// `symlinkat`: create `path` as a symlink to `target` (stored as given, resolved later in
    /// guest space).
    pub fn symlink(
        &mut self,
        target: &[u8],
        dirfd: Dirfd,
        path: GuestPath<'_>,
    ) -> Result<(), Errno> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let p = self.resolve_parent(dirfd, path)?;
        if p.root || is_dot(&p.name) || self.lookup_parent_opt(&p)?.is_some() {
            return Err(Errno::EEXIST);
        }
        if p.slash {
            return Err(Errno::ENOENT);
        }
        self.check_dir_alive(&p.dir)?;
        if self.readonly(&p.dir) {
            return Err(Errno::EROFS);
        }
        match &p.dir {
            Loc::Mem(dir) => {
                let now = self.now();
                self.nodes
                    .create(*dir, &p.name, NodeKind::Symlink(target.into()), 0o777, now);
                Ok(())
            }
            Loc::Host { mount, rel } => {
                let rel = host::join(rel, &p.name);
                let target = std::ffi::OsStr::from_bytes(target);
                self.host_dir(*mount)
                    .symlink_contents(target, &rel)
                    .map_err(host::io)
            }
        }
    }

    /// `readlinkat`: the target of the symlink at `path` (`EINVAL` if it is not one).
    pub fn readlink(&self, dirfd: Dirfd, path: GuestPath<'_>) -> Result<Vec<u8>, Errno> {
        let (loc, kind) = self.resolve(dirfd, path, false)?;
        if kind != FileKind::Symlink {
            return Err(Errno::EINVAL);
        }
        self.read_link_loc(&loc)
    }

    /// `getdents`: up to `max` entries from the directory's position, advancing it. The
    /// listing (with `.` and `..`) is taken when a reader is at position 0, so positions are
    /// stable for that reader: seek back to any [`DirEntry::next`] to resume. An empty result
    /// means the end.
    pub fn getdents(&mut self, fd: Fd, max: usize) -> Result<Vec<DirEntry>, Errno> {
        let slot = self.slot(fd)?;
        let desc = self.descs[slot.desc].as_ref().expect("live");
        let loc = match &desc.target {
            Target::MemDir(ino) => Loc::Mem(*ino),
            Target::HostDir { mount, rel } => Loc::Host {
                mount: *mount,
                rel: rel.clone(),
            },
            _ => return Err(Errno::ENOTDIR),
        };
        if desc.listing.is_none() {
            let listing = self.listing(&loc)?;
            self.descs[slot.desc].as_mut().expect("live").listing = Some(listing);
        }
        let desc = self.descs[slot.desc].as_mut().expect("live");
        let listing = desc.listing.as_ref().expect("listing taken above");
        let start = (desc.offset as usize).min(listing.len());
        let end = start.saturating_add(max).min(listing.len());
        let out = listing[start..end].to_vec();
        desc.offset = end as u64;
        Ok(out)
    }

    fn listing(&self, loc: &Loc) -> Result<Vec<DirEntry>, Errno> {
        let this = self.stat_loc(loc)?.ino;
        let parent = self.stat_loc(&self.parent(loc))?.ino;
        let mut out = vec![
            DirEntry {
                ino: this,
                kind: FileKind::Directory,
                name: b".".to_vec(),
                next: 0,
            },
            DirEntry {
                ino: parent,
                kind: FileKind::Directory,
                name: b"..".to_vec(),
                next: 0,
            },
        ];
        match loc {
            Loc::Mem(ino) => {
                let entries = self.nodes.get(*ino).dir_entries().ok_or(Errno::ENOTDIR)?;
                for (name, child) in entries {
                    let kind = Self::mem_kind(self.nodes.get(*child));
                    out.push(DirEntry {
                        ino: *child,
                        kind,
                        name: name.to_vec(),
                        next: 0,
                    });
                }
            }
            Loc::Host { mount, rel } => out.extend(host::read_dir(self.host_dir(*mount), rel)?),
        }
        for (i, e) in out.iter_mut().enumerate() {
            e.next = i as u64 + 1;
        }
        Ok(out)
    }

    // ---------------------------------------------------------------------------------------
    // Attributes

    /// `utimensat`: set access and modification times (`follow`: through a final symlink).
    /// The change time becomes now unless both are [`SetTime::Omit`].
    pub fn utimens(
        &mut self,
        dirfd: Dirfd,
        path: GuestPath<'_>,
        follow: bool,
        atime: SetTime,
        mtime: SetTime,
    ) -> Result<(), Errno> {
        let (loc, _) = self.resolve(dirfd, path, follow)?;
        self.utimens_loc(&loc, follow, atime, mtime)
    }

    /// `futimens`.
    pub fn futimens(&mut self, fd: Fd, atime: SetTime, mtime: SetTime) -> Result<(), Errno> {
        let loc = self.desc_loc(fd)?;
        self.utimens_loc(&loc, true, atime, mtime)
    }

    fn utimens_loc(
        &mut self,
        loc: &Loc,
        follow: bool,
        atime: SetTime,
        mtime: SetTime,
    ) -> Result<(), Errno> {
        if atime == SetTime::Omit && mtime == SetTime::Omit {
            return Ok(());
        }
        if self.readonly(loc) {
            return Err(Errno::EROFS);
        }
        let now = self.now();
        // Stored to the millisecond, as Emscripten stores file times.
        let pick = |t: SetTime| match t {
            SetTime::Now => Some(now),
            SetTime::Omit => None,
            SetTime::To(t) => Some(t.to_millis()),
        };
        match loc {
            Loc::Mem(ino) => {
                let node = self.nodes.get_mut(*ino);
                if let Some(t) = pick(atime) {
                    node.atime = t;
                }
                if let Some(t) = pick(mtime) {
                    node.mtime = t;
                }
                node.ctime = now;
                Ok(())
            }
            Loc::Host { mount, rel } => {
                host::set_times(self.host_dir(*mount), rel, follow, pick(atime), pick(mtime))
            }
        }
    }

    /// `fchmodat`: set the permission bits of `path` (symlinks followed).
    pub fn chmod(&mut self, dirfd: Dirfd, path: GuestPath<'_>, perm: u32) -> Result<(), Errno> {
        let (loc, _) = self.resolve(dirfd, path, true)?;
        self.chmod_loc(&loc, perm)
    }

    /// `fchmodat` with `AT_SYMLINK_NOFOLLOW`: like [`Vfs::chmod`] but a final symlink gets
    /// the bits itself (as Emscripten does; on a host mount that is `ENOTSUP`, as on Linux).
    pub fn lchmod(&mut self, dirfd: Dirfd, path: GuestPath<'_>, perm: u32) -> Result<(), Errno> {
        let (loc, kind) = self.resolve(dirfd, path, false)?;
        if kind == FileKind::Symlink && matches!(loc, Loc::Host { .. }) {
            return Err(Errno::ENOTSUP);
        }
        self.chmod_loc(&loc, perm)
    }

    /// `fchmod`.
    pub fn fchmod(&mut self, fd: Fd, perm: u32) -> Result<(), Errno> {
        let loc = self.desc_loc(fd)?;
        self.chmod_loc(&loc, perm)
    }

    fn chmod_loc(&mut self, loc: &Loc, perm: u32) -> Result<(), Errno> {
        if self.readonly(loc) {
            return Err(Errno::EROFS);
        }
        match loc {
            Loc::Mem(ino) => {
                let now = self.now();
                let node = self.nodes.get_mut(*ino);
                node.perm = perm & 0o7777;
                node.ctime = now;
                Ok(())
            }
            Loc::Host { mount, rel } => host::set_perm(self.host_dir(*mount), rel, perm),
        }
    }

    /// `faccessat`: check existence or the owner permission bits (the guest owns everything);
    /// `EROFS` for write checks on read-only mounts.
    pub fn access(
        &self,
        dirfd: Dirfd,
        path: GuestPath<'_>,
        check: AccessCheck,
    ) -> Result<(), Errno> {
        let (loc, kind) = self.resolve(dirfd, path, true)?;
        if check.contains(AccessCheck::WRITE) && self.readonly(&loc) && kind != FileKind::CharDevice
        {
            return Err(Errno::EROFS);
        }
        let st = self.stat_loc(&loc)?;
        check_perm(
            &st,
            check.contains(AccessCheck::READ),
            check.contains(AccessCheck::WRITE),
            check.contains(AccessCheck::EXECUTE),
        )
    }

    // ---------------------------------------------------------------------------------------
    // Working directory

    /// `chdir`.
    pub fn chdir(&mut self, dirfd: Dirfd, path: GuestPath<'_>) -> Result<(), Errno> {
        let (loc, kind) = self.resolve(dirfd, path, true)?;
        if kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        self.set_cwd(loc);
        Ok(())
    }

    /// `fchdir`.
    pub fn fchdir(&mut self, fd: Fd) -> Result<(), Errno> {
        match self.desc_loc(fd)? {
            loc @ Loc::Mem(_) if matches!(self.desc(fd)?.target, Target::MemDir(_)) => {
                self.set_cwd(loc);
                Ok(())
            }
            loc @ Loc::Host { .. } if matches!(self.desc(fd)?.target, Target::HostDir { .. }) => {
                self.set_cwd(loc);
                Ok(())
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn set_cwd(&mut self, loc: Loc) {
        // The cwd holds a reference so a removed cwd stays a valid (empty) directory.
        if let Loc::Mem(ino) = loc {
            self.nodes.open_ref(ino);
        }
        let old = std::mem::replace(&mut self.cwd, loc);
        if let Loc::Mem(ino) = old {
            self.nodes.close_ref(ino);
        }
    }

    /// `getcwd`: the absolute path of the current directory (`ENOENT` once it was removed).
    pub fn getcwd(&self) -> Result<Vec<u8>, Errno> {
        match &self.cwd {
            Loc::Mem(ino) => self.mem_path(*ino),
            Loc::Host { mount, rel } => {
                let mut out = self.mem_path(self.mounts[*mount].point)?;
                if !rel.as_os_str().is_empty() {
                    out.push(b'/');
                    out.extend_from_slice(rel.as_os_str().as_bytes());
                }
                Ok(out)
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Mounts

    fn mount_point(&mut self, point: GuestPath<'_>) -> Result<Ino, MountError> {
        let fail = |reason: &str| MountError::MountPoint {
            mount_point: point.to_string(),
            reason: reason.to_owned(),
        };
        if !point.is_absolute() {
            return Err(fail("not an absolute path"));
        }
        if point.components().next().is_none() {
            return Err(fail("cannot mount over the root"));
        }
        self.create_dir_all(point, 0o755)
            .map_err(|e| fail(&e.to_string()))?;
        match self
            .resolve(Dirfd::Cwd, point, true)
            .map_err(|e| fail(&e.to_string()))?
        {
            (Loc::Mem(ino), FileKind::Directory) => {
                let node = self.nodes.get(ino);
                if node.mount_root {
                    return Err(fail("already a mount point"));
                }
                if self.mounts[node.mount].readonly {
                    return Err(fail("inside a read-only mount"));
                }
                if !node.dir_entries().is_some_and(|e| e.is_empty()) {
                    return Err(fail("directory not empty"));
                }
                Ok(ino)
            }
            _ => Err(fail("inside a host mount")),
        }
    }

    /// Mount a tar archive read-only at `point` (created if missing; must be empty). The
    /// archive (uncompressed) is indexed once; file reads are served from `archive` directly.
    pub fn mount_tar(
        &mut self,
        point: GuestPath<'_>,
        archive: Arc<[u8]>,
    ) -> Result<(), MountError> {
        let items = tar_mount::index(&archive, &point.to_string())?;
        self.mount_items(point, items)
    }

    /// Mount a zip archive read-only at `point` (created if missing; must be empty): every
    /// entry at its own path. Members are unpacked into memory when first opened (checking
    /// their CRC-32), never onto the host; `stat` needs no unpacking. Entries with absolute
    /// paths, `..`, backslashes, duplicate names or symlinks leaving the mount are refused
    /// with a [`MountError::ZipEntry`] naming the archive and entry.
    pub fn mount_zip(
        &mut self,
        point: GuestPath<'_>,
        archive: &ZipSource,
    ) -> Result<(), MountError> {
        let items = zip_mount::index_all(archive)?;
        self.mount_items(point, items)
    }

    /// Mount files of several zip archives as one read-only directory tree at `point`
    /// (created if missing; must be empty): each [`ZipPlacement`] puts one member of one
    /// archive at a path relative to `point`. Directories are created as needed, so many
    /// archives can share a directory (several wheels in one `site-packages`). A later
    /// placement of a regular file replaces an earlier one at the same path; a file where a
    /// directory is (or the reverse) is refused. Members are unpacked as in
    /// [`Vfs::mount_zip`], and the same paths are refused.
    pub fn mount_zip_union(
        &mut self,
        point: GuestPath<'_>,
        archives: &[ZipSource],
        placements: &[ZipPlacement],
    ) -> Result<(), MountError> {
        let items = zip_mount::index_placements(archives, placements)?;
        self.mount_items(point, items)
    }

    /// Build read-only nodes for validated archive items below a fresh mount at `point`.
    fn mount_items(
        &mut self,
        point: GuestPath<'_>,
        items: Vec<tar_mount::TarItem>,
    ) -> Result<(), MountError> {
        let root = self.mount_point(point)?;
        let mount = self.mounts.len();
        self.mounts.push(Mount {
            kind: MountKind::Archive,
            readonly: true,
            point: root,
        });
        let node = self.nodes.get_mut(root);
        node.mount = mount;
        node.mount_root = true;
        let now = self.now();
        for item in items {
            let entry_name = || {
                item.components
                    .iter()
                    .map(|c| String::from_utf8_lossy(c))
                    .collect::<Vec<_>>()
                    .join("/")
            };
            let refuse = |reason: &'static str| match &item.archive {
                None => MountError::TarEntry {
                    entry: entry_name(),
                    reason,
                },
                Some(archive) => MountError::ZipEntry {
                    archive: archive.to_string(),
                    entry: entry_name(),
                    reason,
                },
            };
            let conflict = || refuse("conflicts with an earlier entry");
            let (name, parents) = item.components.split_last().expect("non-empty entry path");
            let mut dir = root;
            for c in parents {
                let existing = self
                    .nodes
                    .get(dir)
                    .dir_entries()
                    .and_then(|e| e.get(&c[..]).copied());
                dir = match existing {
                    Some(ino) if self.nodes.get(ino).is_dir() => ino,
                    Some(_) => return Err(conflict()),
                    None => {
                        self.nodes
                            .create(dir, c, NodeKind::Dir(Default::default()), 0o755, now)
                    }
                };
            }
            let time = Timespec::new(item.mtime, 0);
            let existing = self
                .nodes
                .get(dir)
                .dir_entries()
                .and_then(|e| e.get(&name[..]).copied());
            let kind = match item.kind {
                TarKind::Dir => {
                    if let Some(ino) = existing {
                        let node = self.nodes.get_mut(ino);
                        if !node.is_dir() {
                            return Err(conflict());
                        }
                        node.perm = item.perm;
                        node.mtime = time;
                        continue;
                    }
                    NodeKind::Dir(Default::default())
                }
                TarKind::File(data) => NodeKind::File(data),
                TarKind::Symlink(target) => NodeKind::Symlink(target.into()),
                TarKind::HardLink(target) => {
                    let mut ino = root;
                    for c in &target {
                        ino = self
                            .nodes
                            .get(ino)
                            .dir_entries()
                            .and_then(|e| e.get(&c[..]).copied())
                            .ok_or_else(|| refuse("hard link to a missing entry"))?;
                    }
                    match &self.nodes.get(ino).kind {
                        NodeKind::File(data) => NodeKind::File(data.clone()),
                        _ => {
                            return Err(refuse("hard link to a non-file"));
                        }
                    }
                }
            };
            if let Some(ino) = existing {
                if self.nodes.get(ino).is_dir() {
                    return Err(conflict());
                }
                self.nodes.unlink(dir, name, now);
            }
            let perm = if matches!(kind, NodeKind::Symlink(_)) {
                0o777
            } else {
                item.perm
            };
            let ino = self.nodes.create(dir, name, kind, perm, time);
            let node = self.nodes.get_mut(ino);
            node.atime = time;
            node.ctime = time;
        }
        Ok(())
    }

    /// Mount the host directory `dir` at `point` (created if missing; must be empty).
    /// Guest paths below `point` reach `dir` only as relative paths already resolved by the
    /// VFS; see [`host::open_host_dir`](crate::open_host_dir) to open one.
    pub fn mount_host(
        &mut self,
        point: GuestPath<'_>,
        dir: Dir,
        access: MountAccess,
    ) -> Result<(), MountError> {
        let ino = self.mount_point(point)?;
        let mount = self.mounts.len();
        self.mounts.push(Mount {
            kind: MountKind::Host(dir),
            readonly: access == MountAccess::ReadOnly,
            point: ino,
        });
        self.host_points.insert(ino, mount);
        Ok(())
    }
}

/// Check the owner permission bits (the guest owns every file).
fn check_perm(st: &Stat, read: bool, write: bool, exec: bool) -> Result<(), Errno> {
    let denied = (read && st.perm & 0o400 == 0)
        || (write && st.perm & 0o200 == 0)
        || (exec && st.perm & 0o100 == 0);
    if denied { Err(Errno::EACCES) } else { Ok(()) }
}
