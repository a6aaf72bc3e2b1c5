//! Indexing zip archives for read-only mounts.
//!
//! The central directory is read once ([`ZipSource::new`]). Every entry path is checked the
//! way tar entries are (no absolute path, no `..`, no symlink leaving the mount) and also
//! refuses backslashes, drive letters and duplicate names. A member becomes a lazy file: it is
//! unpacked into memory (and its CRC-32 checked by the zip reader) the first time it is opened,
//! and kept; nothing is written to the host.

use std::io::{Cursor, Read};
use std::sync::Arc;

use crate::errno::MountError;
use crate::memfs::{FileData, LazyFile};
use crate::tar_mount::{TarItem, TarKind, check_symlink, split_entry_path};

type Archive = zip::ZipArchive<Cursor<Arc<[u8]>>>;

/// Symlink targets longer than this are refused (they are read at mount time).
const MAX_SYMLINK_TARGET: u64 = crate::path::PATH_MAX as u64;

/// A zip archive opened for mounting: its bytes and its parsed central directory.
/// Cloning is cheap (both are shared).
#[derive(Clone)]
pub struct ZipSource {
    name: Arc<str>,
    archive: Archive,
}

impl std::fmt::Debug for ZipSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZipSource")
            .field("name", &self.name)
            .field("entries", &self.archive.len())
            .finish()
    }
}

impl ZipSource {
    /// Reads the central directory of the zip archive `bytes`. `name` (e.g. the wheel's file
    /// name) is how errors and [`MountError::ZipEntry`] refer to the archive. Archives with
    /// duplicate entry names are refused: which copy would be served would be ambiguous.
    pub fn new(name: impl Into<String>, bytes: Arc<[u8]>) -> Result<ZipSource, MountError> {
        let name: Arc<str> = name.into().into();
        let read_err = |detail: String| MountError::ZipRead {
            archive: name.to_string(),
            detail,
        };
        let archive =
            zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| read_err(e.to_string()))?;
        if archive.has_duplicate_names() {
            return Err(read_err("it has duplicate entry names".to_owned()));
        }
        Ok(ZipSource { name, archive })
    }

    /// The name given to [`ZipSource::new`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The entry names, in central-directory order (raw bytes, as stored).
    pub fn entry_names(&self) -> impl Iterator<Item = &[u8]> {
        self.archive.file_names_raw()
    }

    fn refuse(&self, entry: &[u8], reason: &'static str) -> MountError {
        MountError::ZipEntry {
            archive: self.name.to_string(),
            entry: String::from_utf8_lossy(entry).into_owned(),
            reason,
        }
    }
}

/// One file of a union mount: member `entry` of `archives[archive]`, served at `path`
/// (relative to the mount point, `/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipPlacement {
    /// Index into the archives passed with the placements.
    pub archive: usize,
    /// The member's name as stored in the archive.
    pub entry: String,
    /// Where it appears, relative to the mount point.
    pub path: String,
}

/// What one archive member is.
enum Member {
    Dir,
    File { size: u64 },
    Symlink,
}

/// Checks a raw entry name beyond what [`split_entry_path`] checks.
fn check_name(source: &ZipSource, name: &[u8]) -> Result<Vec<Vec<u8>>, MountError> {
    if name.contains(&b'\\') {
        return Err(source.refuse(name, "path contains a backslash"));
    }
    if name.len() >= 2 && name[1] == b':' && name[0].is_ascii_alphabetic() {
        return Err(source.refuse(name, "path starts with a drive letter"));
    }
    if name.contains(&0) {
        return Err(source.refuse(name, "path contains a NUL byte"));
    }
    split_entry_path(name).map_err(|e| match e {
        MountError::TarEntry { reason, .. } => source.refuse(name, reason),
        other => other,
    })
}

fn member(source: &ZipSource, index: usize) -> Result<(Vec<u8>, Member, u32, i64), MountError> {
    let entry = source
        .archive
        .by_index_data(index)
        .map_err(|e| MountError::ZipRead {
            archive: source.name.to_string(),
            detail: e.to_string(),
        })?;
    let name = entry.name_raw().to_vec();
    let mode = entry.unix_mode();
    let kind = if entry.is_symlink() {
        Member::Symlink
    } else if entry.is_dir() {
        Member::Dir
    } else {
        Member::File { size: entry.size() }
    };
    let default_perm = if matches!(kind, Member::Dir) {
        0o755
    } else {
        0o644
    };
    let perm = mode.map_or(default_perm, |m| m & 0o7777);
    // A mode without owner read bits would make the file unreadable; archives made on
    // other systems often carry such modes. Keep what is there plus owner read.
    let perm = perm
        | 0o400
        | if matches!(kind, Member::Dir) {
            0o100
        } else {
            0
        };
    let mtime = entry.last_modified().map_or(0, |t| {
        unix_time(
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
        )
    });
    Ok((name, kind, perm, mtime))
}

/// Seconds since the epoch for a (UTC) calendar time; zip times have no zone.
fn unix_time(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> i64 {
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m, d) = (i64::from(year), i64::from(month), i64::from(day));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
}

/// Reads a whole member (decompressing it and checking its CRC-32).
fn read_member(archive: &Archive, index: usize, limit: u64) -> Result<Vec<u8>, String> {
    let mut archive = archive.clone();
    let mut file = archive.by_index(index).map_err(|e| e.to_string())?;
    // The announced size is only a hint: an archive may lie, so never reserve more than a
    // modest amount up front; the bytes that really arrive decide.
    const RESERVE_AT_MOST: u64 = 16 << 20;
    let mut out = Vec::with_capacity(file.size().min(limit).min(RESERVE_AT_MOST) as usize);
    (&mut file)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    if out.len() as u64 > limit {
        return Err(format!("member is larger than {limit} bytes"));
    }
    Ok(out)
}

fn file_item(source: &ZipSource, index: usize, size: u64) -> Result<TarKind, MountError> {
    let size = usize::try_from(size)
        .ok()
        .filter(|s| *s as u64 <= crate::MAX_FILE_SIZE)
        .ok_or_else(|| {
            let name = source
                .archive
                .name_for_index(index)
                .and_then(Result::ok)
                .unwrap_or_default();
            source.refuse(name.as_bytes(), "member is too large")
        })?;
    let archive = source.archive.clone();
    let load = Box::new(move || read_member(&archive, index, size as u64));
    Ok(TarKind::File(FileData::Lazy(Arc::new(LazyFile::new(
        size, load,
    )))))
}

fn symlink_item(
    source: &ZipSource,
    index: usize,
    entry: &[u8],
    at: &[Vec<u8>],
) -> Result<TarKind, MountError> {
    let target = read_member(&source.archive, index, MAX_SYMLINK_TARGET)
        .map_err(|_| source.refuse(entry, "symlink target cannot be read"))?;
    check_symlink(entry, at, &target).map_err(|e| match e {
        MountError::TarEntry { reason, .. } => source.refuse(entry, reason),
        other => other,
    })?;
    Ok(TarKind::Symlink(target))
}

/// Every entry of `source`, at its own path.
pub(crate) fn index_all(source: &ZipSource) -> Result<Vec<TarItem>, MountError> {
    let mut items = Vec::with_capacity(source.archive.len());
    for index in 0..source.archive.len() {
        let (name, kind, perm, mtime) = member(source, index)?;
        let components = check_name(source, &name)?;
        if components.is_empty() {
            if matches!(kind, Member::Dir) {
                continue;
            }
            return Err(source.refuse(&name, "empty path"));
        }
        let kind = match kind {
            Member::Dir => TarKind::Dir,
            Member::File { size } => file_item(source, index, size)?,
            Member::Symlink => symlink_item(source, index, &name, &components)?,
        };
        items.push(TarItem {
            archive: Some(source.name.clone()),
            components,
            kind,
            perm,
            mtime,
        });
    }
    Ok(items)
}

/// The placed members, each at its placement's path.
pub(crate) fn index_placements(
    archives: &[ZipSource],
    placements: &[ZipPlacement],
) -> Result<Vec<TarItem>, MountError> {
    let mut items = Vec::with_capacity(placements.len());
    for placement in placements {
        let Some(source) = archives.get(placement.archive) else {
            return Err(MountError::ZipEntry {
                archive: format!("#{}", placement.archive),
                entry: placement.entry.clone(),
                reason: "the placement names an archive that was not given",
            });
        };
        let entry = placement.entry.as_bytes();
        check_name(source, entry)?;
        let index = source
            .archive
            .index_for_name_raw(entry)
            .ok_or_else(|| source.refuse(entry, "no such member"))?;
        let (_, kind, perm, mtime) = member(source, index)?;
        let components = check_name(source, placement.path.as_bytes())?;
        if components.is_empty() {
            return Err(source.refuse(placement.path.as_bytes(), "empty path"));
        }
        let kind = match kind {
            Member::Dir => TarKind::Dir,
            Member::File { size } => file_item(source, index, size)?,
            Member::Symlink => symlink_item(source, index, placement.path.as_bytes(), &components)?,
        };
        items.push(TarItem {
            archive: Some(source.name.clone()),
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
    fn calendar_times_convert_to_unix_seconds() {
        assert_eq!(unix_time(1970, 1, 1, 0, 0, 0), 0);
        assert_eq!(unix_time(1980, 1, 1, 0, 0, 0), 315_532_800);
        assert_eq!(unix_time(2024, 2, 29, 12, 30, 15), 1_709_209_815);
    }
}
