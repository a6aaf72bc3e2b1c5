//! Host-directory mounts through `cap-std`: the only module that turns guest names into host
//! paths.
//!
//! A host node is named by a path relative to the mount's [`cap_std::fs::Dir`], built from
//! components the VFS has already resolved: no component is `.`, `..` or contains `/`, and none
//! of the intermediate ones is a symlink (the VFS reads host symlinks with `read_link` and
//! resolves them in guest space). `cap-std` additionally refuses anything that would escape the
//! directory.

use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use cap_std::fs::{Dir, MetadataExt, OpenOptions, OpenOptionsExt, PermissionsExt};

use crate::errno::{Errno, MountError};
use crate::stat::{DirEntry, FileKind, Stat};
use crate::time::Timespec;

/// Open a host directory to mount. This is the one place the VFS uses ambient authority.
pub fn open_host_dir(path: &Path) -> Result<Dir, MountError> {
    Dir::open_ambient_dir(path, cap_std::ambient_authority()).map_err(|source| {
        MountError::HostDir {
            path: path.to_path_buf(),
            source,
        }
    })
}

pub(crate) fn io(e: std::io::Error) -> Errno {
    Errno::from_io(&e)
}

/// The path to hand to cap-std: `.` for the mount root, else the relative path.
pub(crate) fn rel_path(rel: &Path) -> &Path {
    if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    }
}

pub(crate) fn join(rel: &Path, name: &[u8]) -> PathBuf {
    debug_assert!(!name.contains(&b'/') && name != b"." && name != b"..");
    rel.join(OsStr::from_bytes(name))
}

fn kind_of(ft: cap_std::fs::FileType) -> FileKind {
    if ft.is_dir() {
        FileKind::Directory
    } else if ft.is_symlink() {
        FileKind::Symlink
    } else if ft.is_file() {
        FileKind::Regular
    } else {
        // Sockets, fifos and host devices look like character devices to the guest, which
        // cannot open them anyway (opening one is refused with ENXIO).
        FileKind::CharDevice
    }
}

pub(crate) fn stat_from(meta: &cap_std::fs::Metadata, dev: u64) -> Stat {
    Stat {
        dev,
        ino: meta.ino(),
        kind: kind_of(meta.file_type()),
        perm: meta.mode() & 0o7777,
        nlink: meta.nlink(),
        uid: 0,
        gid: 0,
        rdev: 0,
        size: meta.size(),
        blksize: 4096,
        blocks: meta.blocks(),
        // Millisecond precision, as Emscripten's NODEFS reports host times.
        atime: Timespec::new(meta.atime(), meta.atime_nsec() as u32).to_millis(),
        mtime: Timespec::new(meta.mtime(), meta.mtime_nsec() as u32).to_millis(),
        ctime: Timespec::new(meta.ctime(), meta.ctime_nsec() as u32).to_millis(),
    }
}

pub(crate) fn lstat(dir: &Dir, rel: &Path, dev: u64) -> Result<Stat, Errno> {
    let meta = if rel.as_os_str().is_empty() {
        dir.dir_metadata()
    } else {
        dir.symlink_metadata(rel)
    }
    .map_err(io)?;
    Ok(stat_from(&meta, dev))
}

pub(crate) fn read_link(dir: &Dir, rel: &Path) -> Result<Vec<u8>, Errno> {
    // `read_link_contents` returns the stored target without cap-std's own escape check: the
    // VFS resolves it in guest space, so an absolute or `..` target is only ever a guest path.
    let target = dir.read_link_contents(rel).map_err(io)?;
    Ok(target.into_os_string().into_vec())
}

/// The directory's entries (without `.` and `..`), sorted by name.
pub(crate) fn read_dir(dir: &Dir, rel: &Path) -> Result<Vec<DirEntry>, Errno> {
    let mut out = Vec::new();
    for entry in dir.read_dir(rel_path(rel)).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().into_vec();
        let meta = entry.metadata().map_err(io)?;
        out.push(DirEntry {
            ino: meta.ino(),
            kind: kind_of(meta.file_type()),
            name,
            next: 0,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Open an existing regular file (never following a final symlink).
pub(crate) fn open_file(
    dir: &Dir,
    rel: &Path,
    read: bool,
    write: bool,
    truncate: bool,
) -> Result<std::fs::File, Errno> {
    let mut opts = OpenOptions::new();
    opts.read(read || !write)
        .write(write)
        .truncate(truncate && write);
    cap_fs_ext::OpenOptionsFollowExt::follow(&mut opts, cap_fs_ext::FollowSymlinks::No);
    Ok(dir.open_with(rel, &opts).map_err(io)?.into_std())
}

/// Create a new regular file with `perm` (fails with `EEXIST` if the name exists).
pub(crate) fn create_file(dir: &Dir, rel: &Path, perm: u32) -> Result<(), Errno> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true).mode(perm & 0o7777);
    dir.open_with(rel, &opts).map_err(io)?;
    Ok(())
}

pub(crate) fn set_perm(dir: &Dir, rel: &Path, perm: u32) -> Result<(), Errno> {
    dir.set_permissions(
        rel_path(rel),
        cap_std::fs::Permissions::from_mode(perm & 0o7777),
    )
    .map_err(io)
}

pub(crate) fn set_times(
    dir: &Dir,
    rel: &Path,
    follow: bool,
    atime: Option<Timespec>,
    mtime: Option<Timespec>,
) -> Result<(), Errno> {
    use cap_fs_ext::{DirExt, SystemTimeSpec};
    let spec = |t: Option<Timespec>| {
        t.map(|t| {
            let d = std::time::Duration::new(t.sec.unsigned_abs(), t.nsec);
            let st = if t.sec >= 0 {
                std::time::UNIX_EPOCH + d
            } else {
                std::time::UNIX_EPOCH - d
            };
            SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(st))
        })
    };
    let r = if follow {
        dir.set_times(rel_path(rel), spec(atime), spec(mtime))
    } else {
        dir.set_symlink_times(rel_path(rel), spec(atime), spec(mtime))
    };
    r.map_err(io)
}
