//! The in-memory node table: directories, regular files, symlinks and device nodes.
//!
//! Nodes live in a map keyed by inode number. A node is freed when it has no directory entry
//! (`nlink == 0`) and no open file description refers to it, so unlinked-but-open files stay
//! readable.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use crate::time::Timespec;

pub(crate) type Ino = u64;

/// Index into the VFS's mount table.
pub(crate) type MountId = usize;

/// The devices the VFS implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Device {
    Null,
    Zero,
    Random,
    URandom,
    /// `/dev/tty`: reads stdin, writes stdout.
    Tty,
    /// `/dev/tty1`: reads stdin, writes stderr.
    Tty1,
}

impl Device {
    /// `major << 8 | minor`, Emscripten's `makedev`.
    pub(crate) const fn rdev(self) -> u64 {
        let (major, minor) = match self {
            Device::Null => (1, 3),
            Device::Zero => (1, 5),
            Device::Random => (1, 8),
            Device::URandom => (1, 9),
            Device::Tty => (5, 0),
            Device::Tty1 => (6, 0),
        };
        (major << 8) | minor
    }

    pub(crate) const fn is_tty(self) -> bool {
        matches!(self, Device::Tty | Device::Tty1)
    }
}

/// File contents: owned bytes, a slice of a shared archive, or an archive member unpacked
/// into memory on first use (read-only mounts).
#[derive(Debug, Clone)]
pub(crate) enum FileData {
    Owned(Vec<u8>),
    Archive {
        bytes: Arc<[u8]>,
        start: usize,
        len: usize,
    },
    Lazy(Arc<LazyFile>),
}

/// How a [`LazyFile`] produces its bytes (decompressing an archive member); an error is a
/// message for the host, the guest sees `EIO`.
pub(crate) type Loader = Box<dyn Fn() -> Result<Vec<u8>, String> + Send + Sync>;

/// Contents produced once, on first open, and kept. The size is known up front so `stat`
/// does not unpack anything.
pub(crate) struct LazyFile {
    size: usize,
    load: Loader,
    data: OnceLock<Result<Arc<[u8]>, String>>,
}

impl std::fmt::Debug for LazyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyFile")
            .field("size", &self.size)
            .field("loaded", &self.data.get().is_some())
            .finish()
    }
}

impl LazyFile {
    pub(crate) fn new(size: usize, load: Loader) -> LazyFile {
        LazyFile {
            size,
            load,
            data: OnceLock::new(),
        }
    }

    /// The contents, produced on the first call; an error (including a length other than the
    /// announced size) is remembered and returned again.
    pub(crate) fn get(&self) -> Result<&[u8], &str> {
        let result = self.data.get_or_init(|| {
            let bytes = (self.load)()?;
            if bytes.len() != self.size {
                return Err(format!(
                    "unpacked {} bytes, the archive announced {}",
                    bytes.len(),
                    self.size
                ));
            }
            Ok(bytes.into())
        });
        match result {
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(e),
        }
    }
}

impl FileData {
    /// The contents; a lazy file that cannot be produced reads as empty (open checks
    /// [`FileData::load`] first, so readers never see that).
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            FileData::Owned(v) => v,
            FileData::Archive { bytes, start, len } => &bytes[*start..*start + *len],
            FileData::Lazy(lazy) => lazy.get().unwrap_or(&[]),
        }
    }

    /// The length, without producing a lazy file's contents.
    pub(crate) fn len(&self) -> usize {
        match self {
            FileData::Owned(v) => v.len(),
            FileData::Archive { len, .. } => *len,
            FileData::Lazy(lazy) => lazy.size,
        }
    }

    /// Produces a lazy file's contents now (`Err` names the problem); others are always ready.
    pub(crate) fn load(&self) -> Result<(), String> {
        match self {
            FileData::Lazy(lazy) => lazy.get().map(|_| ()).map_err(str::to_owned),
            _ => Ok(()),
        }
    }

    /// Mutable access, copying archive bytes out first (only writable mounts call this, and
    /// they never hold archive data, so the copy does not happen in practice).
    pub(crate) fn make_mut(&mut self) -> &mut Vec<u8> {
        if !matches!(self, FileData::Owned(_)) {
            *self = FileData::Owned(self.as_slice().to_vec());
        }
        match self {
            FileData::Owned(v) => v,
            _ => unreachable!("converted to owned above"),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    File(FileData),
    Dir(BTreeMap<Box<[u8]>, Ino>),
    Symlink(Box<[u8]>),
    Device(Device),
    /// One end of an anonymous pipe (its bytes live in the VFS's pipe table).
    Fifo,
    /// A socket (its record lives in the descriptor's open file description).
    Socket,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    /// Permission bits only.
    pub(crate) perm: u32,
    pub(crate) nlink: u64,
    pub(crate) atime: Timespec,
    pub(crate) mtime: Timespec,
    pub(crate) ctime: Timespec,
    /// The mount whose file system holds this node.
    pub(crate) mount: MountId,
    /// Whether this directory is the root of its mount (cannot be removed or renamed).
    pub(crate) mount_root: bool,
    /// Open file descriptions referring to this node.
    pub(crate) open: u32,
    /// For directories: the parent directory and the name in it (root: itself and "").
    pub(crate) parent: Ino,
    pub(crate) name: Box<[u8]>,
}

impl Node {
    pub(crate) fn dir_entries(&self) -> Option<&BTreeMap<Box<[u8]>, Ino>> {
        match &self.kind {
            NodeKind::Dir(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn is_dir(&self) -> bool {
        matches!(self.kind, NodeKind::Dir(_))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct NodeTable {
    nodes: HashMap<Ino, Node>,
    next_ino: Ino,
}

pub(crate) const ROOT_INO: Ino = 1;

impl NodeTable {
    pub(crate) fn new(now: Timespec) -> NodeTable {
        let mut nodes = HashMap::new();
        nodes.insert(
            ROOT_INO,
            Node {
                kind: NodeKind::Dir(BTreeMap::new()),
                perm: 0o777,
                nlink: 2,
                atime: now,
                mtime: now,
                ctime: now,
                mount: 0,
                mount_root: true,
                open: 0,
                parent: ROOT_INO,
                name: Box::default(),
            },
        );
        NodeTable {
            nodes,
            next_ino: ROOT_INO + 1,
        }
    }

    pub(crate) fn get(&self, ino: Ino) -> &Node {
        self.nodes
            .get(&ino)
            .expect("inode referenced by the VFS exists")
    }

    pub(crate) fn get_mut(&mut self, ino: Ino) -> &mut Node {
        self.nodes
            .get_mut(&ino)
            .expect("inode referenced by the VFS exists")
    }

    /// Create a node and link it into `parent` as `name` (which must be absent).
    pub(crate) fn create(
        &mut self,
        parent: Ino,
        name: &[u8],
        kind: NodeKind,
        perm: u32,
        now: Timespec,
    ) -> Ino {
        let ino = self.next_ino;
        self.next_ino += 1;
        let is_dir = matches!(kind, NodeKind::Dir(_));
        let mount = self.get(parent).mount;
        self.nodes.insert(
            ino,
            Node {
                kind,
                perm: perm & 0o7777,
                nlink: if is_dir { 2 } else { 1 },
                atime: now,
                mtime: now,
                ctime: now,
                mount,
                mount_root: false,
                open: 0,
                parent,
                name: name.into(),
            },
        );
        let p = self.get_mut(parent);
        if let NodeKind::Dir(entries) = &mut p.kind {
            entries.insert(name.into(), ino);
        }
        if is_dir {
            p.nlink += 1;
        }
        p.mtime = now;
        p.ctime = now;
        ino
    }

    /// Create a node with no directory entry (a pipe end, a socket), held open once by the
    /// caller; it is freed when that reference is closed.
    pub(crate) fn create_anonymous(&mut self, kind: NodeKind, perm: u32, now: Timespec) -> Ino {
        let ino = self.next_ino;
        self.next_ino += 1;
        self.nodes.insert(
            ino,
            Node {
                kind,
                perm: perm & 0o7777,
                nlink: 0,
                atime: now,
                mtime: now,
                ctime: now,
                mount: self.get(ROOT_INO).mount,
                mount_root: false,
                open: 1,
                parent: ROOT_INO,
                name: Box::default(),
            },
        );
        ino
    }

    /// Remove `name` from `parent`; the node is freed unless it is still open.
    pub(crate) fn unlink(&mut self, parent: Ino, name: &[u8], now: Timespec) {
        let p = self.get_mut(parent);
        let Some(ino) = (match &mut p.kind {
            NodeKind::Dir(entries) => entries.remove(name),
            _ => None,
        }) else {
            return;
        };
        p.mtime = now;
        p.ctime = now;
        let child_is_dir = self.get(ino).is_dir();
        if child_is_dir {
            self.get_mut(parent).nlink -= 1;
        }
        let child = self.get_mut(ino);
        child.nlink = 0;
        child.ctime = now;
        self.free_if_unused(ino);
    }

    /// Move the entry `old_name` of `old_parent` to `new_name` in `new_parent`, replacing what was
    /// there (the caller has checked the POSIX rules).
    pub(crate) fn rename(
        &mut self,
        old_parent: Ino,
        old_name: &[u8],
        new_parent: Ino,
        new_name: &[u8],
        now: Timespec,
    ) {
        let existing = self
            .get(new_parent)
            .dir_entries()
            .and_then(|e| e.get(new_name).copied());
        if existing.is_some() {
            self.unlink(new_parent, new_name, now);
        }
        let p = self.get_mut(old_parent);
        let ino = match &mut p.kind {
            NodeKind::Dir(entries) => entries.remove(old_name).expect("rename source exists"),
            _ => unreachable!("rename parent is a directory"),
        };
        p.mtime = now;
        p.ctime = now;
        let is_dir = self.get(ino).is_dir();
        if is_dir {
            self.get_mut(old_parent).nlink -= 1;
        }
        let np = self.get_mut(new_parent);
        if let NodeKind::Dir(entries) = &mut np.kind {
            entries.insert(new_name.into(), ino);
        }
        if is_dir {
            np.nlink += 1;
        }
        np.mtime = now;
        np.ctime = now;
        let node = self.get_mut(ino);
        node.parent = new_parent;
        node.name = new_name.into();
        node.ctime = now;
    }

    pub(crate) fn open_ref(&mut self, ino: Ino) {
        self.get_mut(ino).open += 1;
    }

    pub(crate) fn close_ref(&mut self, ino: Ino) {
        let node = self.get_mut(ino);
        node.open -= 1;
        self.free_if_unused(ino);
    }

    fn free_if_unused(&mut self, ino: Ino) {
        let node = self.get(ino);
        if node.nlink == 0
            && node.open == 0
            && let Some(Node {
                kind: NodeKind::Dir(entries),
                ..
            }) = self.nodes.remove(&ino)
        {
            debug_assert!(entries.is_empty(), "only empty directories are unlinked");
        }
    }

    /// Whether `ino` is `ancestor` or lies below it.
    pub(crate) fn is_within(&self, mut ino: Ino, ancestor: Ino) -> bool {
        loop {
            if ino == ancestor {
                return true;
            }
            let parent = self.get(ino).parent;
            if parent == ino {
                return false;
            }
            ino = parent;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }
}
