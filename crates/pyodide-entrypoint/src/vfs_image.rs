//! The guest file system as snapshot state: what a snapshot must restore
//! that linear memory does not hold.
//!
//! [`capture`] walks the in-memory tree through the VFS's public,
//! syscall-shaped API and records every directory, regular file and
//! symlink, with permission bits and modification times, plus the working
//! directory and umask. Left out: mounted trees (host directories and tar
//! archives, told apart by their device number; they are mounted again
//! from the configuration), devices (`/dev` is rebuilt by the VFS itself)
//! and the shared standard-library archive (re-created from the runtime).
//! Open descriptors beyond stdio are captured when they are regular files
//! or directories of the captured tree: their number, path, status flags,
//! close-on-exec flag and (for files) offset. Any other open descriptor — a
//! pipe, a socket, a device, a file on a mount, a file unlinked while open
//! — makes the capture fail with a message naming it. Descriptors that
//! shared one open file description (`dup`) come back as separate ones,
//! each at the captured offset; a directory stream starts over.
//!
//! [`apply`] replays an image onto a freshly laid-out VFS: directories are
//! created (or given their recorded mode), files written, symlinks made,
//! then the descriptors opened again at their numbers.

use std::collections::HashMap;

use pyodide_vfs::{
    Dirfd, Errno, Fd, FileKind, GuestPath, MAX_FDS, OpenFlags, SetTime, Timespec, Vfs, Whence,
};
use serde::{Deserialize, Serialize};

use crate::Error;

/// Layout revision of [`VfsImage`] inside the sidecar's opaque bytes.
const IMAGE_FORMAT: u32 = 2;

/// The file system state of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VfsImage {
    format: u32,
    /// The working directory.
    pub(crate) cwd: Vec<u8>,
    /// The guest's umask.
    pub(crate) umask: u32,
    /// Every captured node, parents before children.
    pub(crate) entries: Vec<Entry>,
    /// Open descriptors beyond stdio, by number.
    descriptors: Vec<Descriptor>,
}

/// An open descriptor of a captured file or directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Descriptor {
    fd: u32,
    path: Vec<u8>,
    /// `F_GETFL`: access mode and status flags.
    flags: u32,
    cloexec: bool,
    /// The file offset (0 for a directory).
    offset: u64,
}

/// One node of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    path: Vec<u8>,
    node: Node,
    perm: u32,
    mtime: (i64, u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Node {
    Dir,
    File(Vec<u8>),
    Symlink(Vec<u8>),
}

fn refused(why: impl Into<String>) -> Error {
    Error::SnapshotState(why.into())
}

fn errno_at(path: &[u8], errno: Errno) -> Error {
    Error::Layout {
        path: String::from_utf8_lossy(path).into_owned(),
        errno,
    }
}

/// Captures the in-memory tree of `vfs` (see the module documentation);
/// `skip` are paths re-created by the runtime itself (the stdlib archive).
pub(crate) fn capture(vfs: &mut Vfs, umask: u32, skip: &[&str]) -> Result<VfsImage, Error> {
    let cwd = vfs.getcwd().map_err(|e| errno_at(b"<cwd>", e))?;
    let root = vfs
        .stat(Dirfd::Cwd, GuestPath::from("/"), false)
        .map_err(|e| errno_at(b"/", e))?;
    // Open descriptors first (the walk below opens its own): (fd, inode,
    // flags, cloexec, offset), their paths found by inode during the walk.
    let mut open = Vec::new();
    for fd in 3..MAX_FDS {
        if !vfs.is_open(Fd(fd)) {
            continue;
        }
        let cannot = |why: String| {
            refused(format!(
                "descriptor {fd} is open on {why}, which a snapshot cannot reopen; close it \
                 before the snapshot is taken"
            ))
        };
        let stat = vfs
            .fstat(Fd(fd))
            .map_err(|e| cannot(format!("something fstat refuses ({e})")))?;
        match stat.kind {
            FileKind::Regular | FileKind::Directory => {}
            other => return Err(cannot(format!("a {other:?}"))),
        }
        if stat.dev != root.dev {
            return Err(cannot("a file of a mounted tree".to_owned()));
        }
        if stat.nlink == 0 {
            return Err(cannot("a file unlinked while open".to_owned()));
        }
        let flags = vfs
            .status_flags(Fd(fd))
            .map_err(|e| cannot(format!("a file whose flags cannot be read ({e})")))?;
        let cloexec = vfs.cloexec(Fd(fd)).unwrap_or(false);
        let offset = match stat.kind {
            FileKind::Regular => vfs
                .seek(Fd(fd), 0, Whence::Cur)
                .map_err(|e| cannot(format!("a file whose offset cannot be read ({e})")))?,
            _ => 0,
        };
        open.push((fd, stat.ino, flags.bits(), cloexec, offset));
    }
    let mut wanted: HashMap<u64, Option<Vec<u8>>> =
        open.iter().map(|&(_, ino, ..)| (ino, None)).collect();
    let mut entries = Vec::new();
    let mut pending = vec![b"/".to_vec()];
    while let Some(dir) = pending.pop() {
        let fd = vfs
            .open(
                Dirfd::Cwd,
                GuestPath::from(dir.as_slice()),
                OpenFlags::RDONLY | OpenFlags::DIRECTORY,
                0,
            )
            .map_err(|e| errno_at(&dir, e))?;
        let mut names = Vec::new();
        loop {
            let batch = vfs.getdents(fd, 256).map_err(|e| errno_at(&dir, e))?;
            if batch.is_empty() {
                break;
            }
            names.extend(batch.into_iter().map(|e| e.name));
        }
        vfs.close(fd).map_err(|e| errno_at(&dir, e))?;
        names.sort();
        for name in names {
            if name == b"." || name == b".." {
                continue;
            }
            let mut path = dir.clone();
            if path != b"/" {
                path.push(b'/');
            }
            path.extend_from_slice(&name);
            if path == b"/dev" || skip.iter().any(|s| s.as_bytes() == path) {
                continue;
            }
            let stat = vfs
                .stat(Dirfd::Cwd, GuestPath::from(path.as_slice()), false)
                .map_err(|e| errno_at(&path, e))?;
            if stat.dev != root.dev {
                continue; // a mount: re-mounted from the configuration
            }
            if let Some(slot @ None) = wanted.get_mut(&stat.ino) {
                *slot = Some(path.clone());
            }
            let node = match stat.kind {
                FileKind::Directory => {
                    pending.push(path.clone());
                    Node::Dir
                }
                FileKind::Regular => Node::File(read_file(vfs, &path)?),
                FileKind::Symlink => Node::Symlink(
                    vfs.readlink(Dirfd::Cwd, GuestPath::from(path.as_slice()))
                        .map_err(|e| errno_at(&path, e))?,
                ),
                other => {
                    return Err(refused(format!(
                        "'{}' is a {other:?}, which a snapshot cannot hold",
                        String::from_utf8_lossy(&path)
                    )));
                }
            };
            entries.push(Entry {
                path,
                node,
                perm: stat.perm,
                mtime: (stat.mtime.sec, stat.mtime.nsec),
            });
        }
    }
    // Parents first: sort by path (a parent is a prefix of its children).
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut descriptors = Vec::with_capacity(open.len());
    for (fd, ino, flags, cloexec, offset) in open {
        let path = if ino == root.ino {
            Some(b"/".to_vec())
        } else {
            wanted.get(&ino).cloned().flatten()
        };
        let Some(path) = path else {
            return Err(refused(format!(
                "descriptor {fd} is open on a file outside the captured tree (under /dev or \
                 re-created by the runtime), which a snapshot cannot reopen; close it before the \
                 snapshot is taken"
            )));
        };
        descriptors.push(Descriptor {
            fd,
            path,
            flags,
            cloexec,
            offset,
        });
    }
    Ok(VfsImage {
        format: IMAGE_FORMAT,
        cwd,
        umask,
        entries,
        descriptors,
    })
}

fn read_file(vfs: &mut Vfs, path: &[u8]) -> Result<Vec<u8>, Error> {
    let fd = vfs
        .open(
            Dirfd::Cwd,
            GuestPath::from(path),
            OpenFlags::RDONLY | OpenFlags::NOFOLLOW,
            0,
        )
        .map_err(|e| errno_at(path, e))?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = vfs.read(fd, &mut buf).map_err(|e| errno_at(path, e))?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    vfs.close(fd).map_err(|e| errno_at(path, e))?;
    Ok(out)
}

/// Replays `image` onto `vfs` (already laid out as at boot); the caller
/// moves to `image.cwd` once its mounts are in place.
pub(crate) fn apply(vfs: &mut Vfs, image: &VfsImage) -> Result<(), Error> {
    for entry in &image.entries {
        let path = GuestPath::from(entry.path.as_slice());
        let at = |e| errno_at(&entry.path, e);
        match &entry.node {
            Node::Dir => match vfs.mkdir(Dirfd::Cwd, path, entry.perm) {
                Ok(()) => {}
                Err(Errno::EEXIST) => vfs.chmod(Dirfd::Cwd, path, entry.perm).map_err(at)?,
                Err(e) => return Err(at(e)),
            },
            Node::File(data) => {
                let fd = vfs
                    .open(
                        Dirfd::Cwd,
                        path,
                        OpenFlags::WRONLY | OpenFlags::CREAT | OpenFlags::TRUNC,
                        0o600,
                    )
                    .map_err(at)?;
                let mut written = 0;
                while written < data.len() {
                    written += vfs.write(fd, &data[written..]).map_err(at)?;
                }
                vfs.close(fd).map_err(at)?;
                vfs.chmod(Dirfd::Cwd, path, entry.perm).map_err(at)?;
            }
            Node::Symlink(target) => {
                let _ = vfs.unlink(Dirfd::Cwd, path);
                vfs.symlink(target, Dirfd::Cwd, path).map_err(at)?;
            }
        }
        if !matches!(entry.node, Node::Dir) {
            set_mtime(vfs, entry)?;
        }
    }
    // Directories last, children before parents: creating an entry
    // changes its directory's modification time.
    for entry in image.entries.iter().rev() {
        if matches!(entry.node, Node::Dir) {
            set_mtime(vfs, entry)?;
        }
    }
    // Descriptors in increasing order: the one opened for each lands at the
    // lowest free number, never above its own (which is free), and is
    // moved there.
    let mut descriptors: Vec<&Descriptor> = image.descriptors.iter().collect();
    descriptors.sort_by_key(|d| d.fd);
    for d in descriptors {
        let at = |e| errno_at(&d.path, e);
        if vfs.is_open(Fd(d.fd)) {
            return Err(refused(format!(
                "descriptor {} of the snapshot is already taken",
                d.fd
            )));
        }
        let flags = OpenFlags::from_bits(d.flags).ok_or_else(|| {
            refused(format!(
                "descriptor {} has unknown flags {:#o}",
                d.fd, d.flags
            ))
        })?;
        let opened = vfs
            .open(Dirfd::Cwd, GuestPath::from(d.path.as_slice()), flags, 0)
            .map_err(at)?;
        let fd = if opened.0 == d.fd {
            vfs.set_cloexec(opened, d.cloexec).map_err(at)?;
            opened
        } else {
            let moved = vfs.dup3(opened, Fd(d.fd), d.cloexec).map_err(at)?;
            vfs.close(opened).map_err(at)?;
            moved
        };
        if d.offset > 0 {
            vfs.seek(fd, d.offset as i64, Whence::Set).map_err(at)?;
        }
    }
    Ok(())
}

fn set_mtime(vfs: &mut Vfs, entry: &Entry) -> Result<(), Error> {
    let mtime = SetTime::To(Timespec {
        sec: entry.mtime.0,
        nsec: entry.mtime.1,
    });
    vfs.utimens(
        Dirfd::Cwd,
        GuestPath::from(entry.path.as_slice()),
        false,
        mtime,
        mtime,
    )
    .map_err(|e| errno_at(&entry.path, e))
}

/// Encodes an image for the sidecar.
pub(crate) fn encode(image: &VfsImage) -> Result<Vec<u8>, Error> {
    bincode::serde::encode_to_vec(image, bincode::config::standard())
        .map_err(|e| refused(format!("cannot encode the file system: {e}")))
}

/// Decodes an image from the sidecar.
pub(crate) fn decode(bytes: &[u8]) -> Result<VfsImage, Error> {
    let (image, _): (VfsImage, usize) =
        bincode::serde::decode_from_slice(bytes, bincode::config::standard())
            .map_err(|e| refused(format!("cannot decode the snapshot's file system: {e}")))?;
    if image.format != IMAGE_FORMAT {
        return Err(refused(format!(
            "the snapshot's file system has format '{}', expected '{IMAGE_FORMAT}'",
            image.format
        )));
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(vfs: &mut Vfs, path: &str, data: &[u8], perm: u32) {
        let fd = vfs
            .open(
                Dirfd::Cwd,
                GuestPath::from(path),
                OpenFlags::WRONLY | OpenFlags::CREAT,
                perm,
            )
            .unwrap();
        vfs.write(fd, data).unwrap();
        vfs.close(fd).unwrap();
    }

    #[test]
    fn a_tree_round_trips_onto_a_fresh_file_system() {
        let mut vfs = Vfs::default();
        vfs.create_dir_all(GuestPath::from("/home/pyodide/a/b"), 0o750)
            .unwrap();
        write(&mut vfs, "/tmp/x.txt", b"hello", 0o640);
        write(
            &mut vfs,
            "/home/pyodide/a/b/big",
            &vec![7u8; 200_000],
            0o600,
        );
        vfs.symlink(
            b"/tmp/x.txt",
            Dirfd::Cwd,
            GuestPath::from("/home/pyodide/link"),
        )
        .unwrap();
        vfs.chdir(Dirfd::Cwd, GuestPath::from("/home/pyodide/a"))
            .unwrap();
        let image = capture(&mut vfs, 0o027, &[]).unwrap();
        let image = decode(&encode(&image).unwrap()).unwrap();
        assert_eq!(image.umask, 0o027);

        let mut fresh = Vfs::default();
        apply(&mut fresh, &image).unwrap();
        fresh
            .chdir(Dirfd::Cwd, GuestPath::from(image.cwd.as_slice()))
            .unwrap();
        assert_eq!(fresh.getcwd().unwrap(), b"/home/pyodide/a");
        assert_eq!(read_file(&mut fresh, b"/tmp/x.txt").unwrap(), b"hello");
        assert_eq!(
            read_file(&mut fresh, b"/home/pyodide/a/b/big").unwrap(),
            vec![7u8; 200_000]
        );
        let stat = fresh
            .stat(Dirfd::Cwd, GuestPath::from("/tmp/x.txt"), false)
            .unwrap();
        assert_eq!(stat.perm, 0o640);
        let original = vfs
            .stat(Dirfd::Cwd, GuestPath::from("/tmp/x.txt"), false)
            .unwrap();
        assert_eq!(stat.mtime, original.mtime);
        assert_eq!(
            fresh
                .readlink(Dirfd::Cwd, GuestPath::from("/home/pyodide/link"))
                .unwrap(),
            b"/tmp/x.txt"
        );
        // Capturing the restored tree gives the same image.
        assert_eq!(capture(&mut fresh, 0o027, &[]).unwrap(), image);
    }

    #[test]
    fn skipped_paths_and_devices_are_left_out() {
        let mut vfs = Vfs::default();
        write(&mut vfs, "/tmp/zip", b"archive", 0o644);
        let image = capture(&mut vfs, 0o022, &["/tmp/zip"]).unwrap();
        assert!(image.entries.iter().all(|e| e.path != b"/tmp/zip"));
        assert!(image.entries.iter().all(|e| !e.path.starts_with(b"/dev")));
    }

    #[test]
    fn open_descriptors_come_back_at_their_numbers_flags_and_offsets() {
        let mut vfs = Vfs::default();
        write(&mut vfs, "/tmp/log", b"first\n", 0o644);
        write(&mut vfs, "/tmp/data", b"0123456789", 0o644);
        let open = |vfs: &mut Vfs, path: &str, flags| {
            vfs.open(Dirfd::Cwd, GuestPath::from(path), flags, 0)
                .unwrap()
        };
        let log = open(&mut vfs, "/tmp/log", OpenFlags::WRONLY | OpenFlags::APPEND);
        let data = open(&mut vfs, "/tmp/data", OpenFlags::RDONLY);
        let dir = open(&mut vfs, "/tmp", OpenFlags::RDONLY | OpenFlags::DIRECTORY);
        let mut buf = [0u8; 4];
        vfs.read(data, &mut buf).unwrap();
        // A gap in the numbers, and close-on-exec on one.
        let high = vfs.dup3(data, Fd(9), true).unwrap();
        vfs.seek(high, 7, Whence::Set).unwrap(); // shared description
        let image = decode(&encode(&capture(&mut vfs, 0o022, &[]).unwrap()).unwrap()).unwrap();

        let mut fresh = Vfs::default();
        apply(&mut fresh, &image).unwrap();
        assert_eq!(
            fresh.status_flags(log).unwrap(),
            vfs.status_flags(log).unwrap()
        );
        fresh.write(log, b"second\n").unwrap();
        assert_eq!(
            read_file(&mut fresh, b"/tmp/log").unwrap(),
            b"first\nsecond\n"
        );
        let mut rest = [0u8; 3];
        assert_eq!(fresh.read(data, &mut rest).unwrap(), 3);
        assert_eq!(&rest, b"789");
        assert_eq!(fresh.read(Fd(9), &mut rest).unwrap(), 3);
        assert_eq!(&rest, b"789");
        assert!(fresh.cloexec(Fd(9)).unwrap());
        assert!(!fresh.cloexec(data).unwrap());
        assert_eq!(fresh.fstat(dir).unwrap().kind, FileKind::Directory);
        assert!(!fresh.is_open(Fd(8)));
    }

    #[test]
    fn descriptors_a_snapshot_cannot_reopen_refuse_the_capture() {
        let mut vfs = Vfs::default();
        write(&mut vfs, "/tmp/gone", b"x", 0o644);
        let fd = vfs
            .open(
                Dirfd::Cwd,
                GuestPath::from("/tmp/gone"),
                OpenFlags::RDONLY,
                0,
            )
            .unwrap();
        vfs.unlink(Dirfd::Cwd, GuestPath::from("/tmp/gone"))
            .unwrap();
        let err = capture(&mut vfs, 0o022, &[]).unwrap_err().to_string();
        assert!(err.contains(&format!("descriptor {} ", fd.0)), "{err}");
        assert!(err.contains("unlinked"), "{err}");
        vfs.close(fd).unwrap();

        let (read, _write) = vfs.pipe(OpenFlags::default()).unwrap();
        let err = capture(&mut vfs, 0o022, &[]).unwrap_err().to_string();
        assert!(err.contains(&format!("descriptor {} ", read.0)), "{err}");
        assert!(err.contains("Fifo") || err.contains("Pipe"), "{err}");
    }
}
