//! Indexing a tar archive for a read-only mount.
//!
//! The archive is walked once. Every entry's path is checked (no absolute path, no `..`, no
//! symlink whose target leaves the mount) and file contents are recorded as byte ranges of the
//! shared archive, so opening and reading a file never copies the archive.

use std::sync::Arc;

use crate::errno::MountError;
use crate::memfs::FileData;

/// One validated entry, its path split into components relative to the mount root.
#[derive(Debug)]
pub(crate) struct TarItem {
    /// The archive the entry came from, for errors: `None` for a tar mount (whose errors
    /// name only the entry), the zip's name for zip mounts.
    pub(crate) archive: Option<std::sync::Arc<str>>,
    pub(crate) components: Vec<Vec<u8>>,
    pub(crate) kind: TarKind,
    pub(crate) perm: u32,
    pub(crate) mtime: i64,
}

#[derive(Debug)]
pub(crate) enum TarKind {
    File(FileData),
    Dir,
    Symlink(Vec<u8>),
    /// A hard link to an earlier entry (components relative to the mount root).
    HardLink(Vec<Vec<u8>>),
}

pub(crate) fn refuse(path: &[u8], reason: &'static str) -> MountError {
    MountError::TarEntry {
        entry: String::from_utf8_lossy(path).into_owned(),
        reason,
    }
}

/// Split an entry path, refusing absolute paths and `..`; `.` components are dropped.
pub(crate) fn split_entry_path(path: &[u8]) -> Result<Vec<Vec<u8>>, MountError> {
    if path.first() == Some(&b'/') {
        return Err(refuse(path, "absolute path"));
    }
    let mut out = Vec::new();
    for c in path.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err(refuse(path, "path contains \"..\"")),
            c if c.len() > crate::path::NAME_MAX => return Err(refuse(path, "name too long")),
            c => out.push(c.to_vec()),
        }
    }
    Ok(out)
}

/// Check that a symlink at `link` (components) with `target` stays inside the mount.
pub(crate) fn check_symlink(
    entry: &[u8],
    link: &[Vec<u8>],
    target: &[u8],
) -> Result<(), MountError> {
    if target.is_empty() {
        return Err(refuse(entry, "empty symlink target"));
    }
    if target.first() == Some(&b'/') {
        return Err(refuse(entry, "symlink target is absolute"));
    }
    // Depth of the directory holding the link; `..` may climb at most that far.
    let mut depth = link.len() as i64 - 1;
    for c in target.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                depth -= 1;
                if depth < 0 {
                    return Err(refuse(entry, "symlink target escapes the mount"));
                }
            }
            _ => depth += 1,
        }
    }
    Ok(())
}

/// Walk the archive once and return its validated entries in archive order.
pub(crate) fn index(archive: &Arc<[u8]>, mount_point: &str) -> Result<Vec<TarItem>, MountError> {
    let read_err = |source| MountError::TarRead {
        mount_point: mount_point.to_owned(),
        source,
    };
    let mut ar = tar::Archive::new(&archive[..]);
    let mut items = Vec::new();
    for entry in ar.entries().map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let path = entry.path_bytes().into_owned();
        let components = split_entry_path(&path)?;
        let header = entry.header();
        let perm = header.mode().map_err(read_err)? & 0o7777;
        let mtime = header.mtime().map_err(read_err)? as i64;
        let ty = header.entry_type();
        let kind = if ty.is_dir() {
            TarKind::Dir
        } else if ty.is_file() || ty.is_contiguous() {
            let start = entry.raw_file_position() as usize;
            let len = entry.size() as usize;
            if start.checked_add(len).is_none_or(|end| end > archive.len()) {
                return Err(refuse(&path, "file data runs past the end of the archive"));
            }
            TarKind::File(FileData::Archive {
                bytes: archive.clone(),
                start,
                len,
            })
        } else if ty.is_symlink() {
            let target = entry
                .link_name_bytes()
                .ok_or_else(|| refuse(&path, "symlink without target"))?;
            check_symlink(&path, &components, &target)?;
            TarKind::Symlink(target.into_owned())
        } else if ty.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .ok_or_else(|| refuse(&path, "hard link without target"))?;
            TarKind::HardLink(split_entry_path(&target)?)
        } else if ty.is_pax_global_extensions() {
            continue;
        } else {
            return Err(refuse(&path, "unsupported entry type"));
        };
        if components.is_empty() {
            if matches!(kind, TarKind::Dir) {
                continue; // "./" names the mount root itself
            }
            return Err(refuse(&path, "empty path"));
        }
        items.push(TarItem {
            archive: None,
            components,
            kind,
            perm,
            mtime,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths_are_checked() {
        assert_eq!(
            split_entry_path(b"./a//b/").unwrap(),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        let e = split_entry_path(b"/etc/passwd").unwrap_err();
        assert_eq!(
            e.to_string(),
            "tar entry \"/etc/passwd\" refused: absolute path"
        );
        let e = split_entry_path(b"a/../../x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "tar entry \"a/../../x\" refused: path contains \"..\""
        );
    }

    #[test]
    fn symlink_targets_must_stay_inside() {
        let link = vec![b"d".to_vec(), b"l".to_vec()];
        assert!(check_symlink(b"d/l", &link, b"../x").is_ok());
        assert!(check_symlink(b"d/l", &link, b"x/../../y").is_ok());
        assert!(check_symlink(b"d/l", &link, b"x/../../../y").is_err());
        assert!(check_symlink(b"d/l", &link, b"../../y").is_err());
        assert!(check_symlink(b"d/l", &link, b"/y").is_err());
        let top = vec![b"l".to_vec()];
        assert!(check_symlink(b"l", &top, b"..").is_err());
        assert!(check_symlink(b"l", &top, b"a/b/../c").is_ok());
    }
}
