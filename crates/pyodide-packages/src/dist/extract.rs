//! Unpacks a verified npm tarball into a directory nobody else sees yet,
//! accepting only regular files under `package/` with plain path components.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Component, Path};

use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};
use tar::EntryType;

use super::Error;
use super::cache::{FileRecord, MANIFEST_NAME};
use super::error::{io_error, write_error};

/// The directory every file of an npm tarball is under.
const PACKAGE_DIR: &str = "package";

/// Extracts `tarball` (described as `from` in errors) into the empty
/// directory `dest`, stripping `package/`, and returns the size and sha256 of
/// every file written, keyed by its `/`-separated relative path.
pub(crate) fn extract(
    tarball: &Path,
    from: &str,
    dest: &Path,
) -> Result<BTreeMap<String, FileRecord>, Error> {
    let malformed = |reason: String| Error::MalformedTarball {
        from: from.to_owned(),
        reason,
    };
    let file = File::open(tarball).map_err(|e| io_error("open", tarball, e))?;
    let mut archive = tar::Archive::new(GzDecoder::new(BufReader::new(file)));
    let entries = archive
        .entries()
        .map_err(|e| malformed(format!("cannot read the archive: {e}")))?;
    let mut files = BTreeMap::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| malformed(format!("cannot read an entry: {e}")))?;
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let unsafe_entry = |reason| Error::UnsafeEntry {
            entry: raw_name.clone(),
            from: from.to_owned(),
            reason,
        };
        let entry_type = entry.header().entry_type();
        match entry_type {
            EntryType::Regular | EntryType::Continuous => {}
            // Directories are created as files need them; still refuse bad names.
            EntryType::Directory => {
                let path = entry
                    .path()
                    .map_err(|e| malformed(format!("cannot read an entry's name: {e}")))?;
                relative_name(&path, true).map_err(unsafe_entry)?;
                continue;
            }
            // Metadata records carry no file.
            EntryType::XGlobalHeader | EntryType::XHeader => continue,
            EntryType::Symlink | EntryType::Link => {
                return Err(unsafe_entry("links are not allowed"));
            }
            _ => return Err(unsafe_entry("only regular files are allowed")),
        }
        let path = entry
            .path()
            .map_err(|e| malformed(format!("cannot read an entry's name: {e}")))?;
        let name = relative_name(&path, false).map_err(unsafe_entry)?;
        if name == MANIFEST_NAME {
            return Err(unsafe_entry("the name is reserved for the cache manifest"));
        }
        if files.contains_key(&name) {
            return Err(unsafe_entry("the same path appears twice"));
        }
        let target = dest.join(&name);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| write_error("create directory", parent, dest, e))?;
        }
        // create_new never follows or replaces anything already there.
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|e| write_error("create", &target, dest, e))?;
        let record = copy_hashing(&mut entry, &mut out).map_err(|e| match e {
            CopyError::Read(e) => malformed(format!("cannot read \"{raw_name}\": {e}")),
            CopyError::Write(e) => write_error("write", &target, dest, e),
        })?;
        out.sync_all()
            .map_err(|e| write_error("write", &target, dest, e))?;
        files.insert(name, record);
    }
    Ok(files)
}

/// Turns an entry's path into the `/`-separated path below `package/`, or
/// says why it is refused. `package/` itself is allowed only for directories.
fn relative_name(path: &Path, is_dir: bool) -> Result<String, &'static str> {
    let mut components = path.components();
    match components.next() {
        Some(Component::Normal(first)) if first == PACKAGE_DIR => {}
        Some(Component::RootDir | Component::Prefix(_)) => {
            return Err("absolute paths are not allowed");
        }
        Some(Component::ParentDir) => return Err("\"..\" components are not allowed"),
        _ => return Err("entries must be under \"package/\""),
    }
    let mut parts = Vec::new();
    for component in components {
        match component {
            Component::Normal(part) => {
                parts.push(part.to_str().ok_or("names must be UTF-8")?);
            }
            Component::ParentDir => return Err("\"..\" components are not allowed"),
            Component::RootDir | Component::Prefix(_) => {
                return Err("absolute paths are not allowed");
            }
            Component::CurDir => return Err("\".\" components are not allowed"),
        }
    }
    if parts.is_empty() && !is_dir {
        return Err("entries must be under \"package/\"");
    }
    Ok(parts.join("/"))
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

fn copy_hashing(reader: &mut impl Read, writer: &mut impl Write) -> Result<FileRecord, CopyError> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        hasher.update(&buffer[..n]);
        writer.write_all(&buffer[..n]).map_err(CopyError::Write)?;
        size += n as u64;
    }
    Ok(FileRecord {
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stripped_of_package_and_checked() {
        assert_eq!(
            relative_name(Path::new("package/a/b.txt"), false),
            Ok("a/b.txt".into())
        );
        assert_eq!(
            relative_name(Path::new("package/"), true),
            Ok(String::new())
        );
        assert_eq!(
            relative_name(Path::new("package/../x"), false),
            Err("\"..\" components are not allowed")
        );
        assert_eq!(
            relative_name(Path::new("../x"), false),
            Err("\"..\" components are not allowed")
        );
        assert_eq!(
            relative_name(Path::new("/etc/passwd"), false),
            Err("absolute paths are not allowed")
        );
        assert_eq!(
            relative_name(Path::new("other/x"), false),
            Err("entries must be under \"package/\"")
        );
        assert_eq!(
            relative_name(Path::new("./package/x"), false),
            Err("entries must be under \"package/\"")
        );
        assert_eq!(
            relative_name(Path::new("package"), false),
            Err("entries must be under \"package/\"")
        );
    }
}
