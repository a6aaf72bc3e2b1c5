//! Property: whatever entry names and symlink targets a zip archive holds, mounting it either
//! fails or leaves everything it created below the mount point, and no path below the mount
//! point reaches a file outside it.

use std::io::Write;
use std::sync::Arc;

use proptest::prelude::*;
use pyodide_vfs::{Dirfd, FileKind, GuestPath, OpenFlags, Vfs, ZipSource};

const SECRET: &[u8] = b"SECRET-CANARY";

fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("".to_owned()),
        Just("a".to_owned()),
        Just("b".to_owned()),
        Just("canary".to_owned()),
        Just("m".to_owned()),
        Just("C:".to_owned()),
        Just("a\\..".to_owned()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(component(), 1..5)).prop_map(|(abs, comps)| {
        let body = comps.join("/");
        if abs { format!("/{body}") } else { body }
    })
}

fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => name(),
        1 => Just("../canary".to_owned()),
        1 => Just("../../canary".to_owned()),
        1 => Just("/m/canary".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just("a/../../canary".to_owned()),
    ]
}

#[derive(Debug, Clone)]
enum Item {
    File(String),
    Symlink(String, String),
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        2 => name().prop_map(Item::File),
        2 => (name(), target()).prop_map(|(n, t)| Item::Symlink(n, t)),
    ]
}

fn build(items: &[Item]) -> Option<Arc<[u8]>> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for item in items {
        match item {
            Item::File(n) => {
                w.start_file(n.as_str(), options).ok()?;
                w.write_all(b"data").ok()?;
            }
            Item::Symlink(n, t) => w.add_symlink(n.as_str(), t.as_str(), options).ok()?,
        }
    }
    Some(w.finish().ok()?.into_inner().into())
}

fn read(v: &mut Vfs, path: &str) -> Option<Vec<u8>> {
    let fd = v
        .open(Dirfd::Cwd, GuestPath::from(path), OpenFlags::RDONLY, 0)
        .ok()?;
    let mut out = vec![0u8; 64];
    let n = v.read(fd, &mut out).ok()?;
    out.truncate(n);
    v.close(fd).ok()?;
    Some(out)
}

fn listing(v: &mut Vfs, path: &str) -> Vec<Vec<u8>> {
    let fd = v
        .open(
            Dirfd::Cwd,
            GuestPath::from(path),
            OpenFlags::RDONLY | OpenFlags::DIRECTORY,
            0,
        )
        .unwrap();
    let mut names: Vec<Vec<u8>> = v
        .getdents(fd, 1024)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    v.close(fd).unwrap();
    names.sort();
    names
}

/// Reads every file reachable below `dir` (following symlinks, to a bounded depth).
fn walk(v: &mut Vfs, dir: &str, depth: usize, out: &mut Vec<(String, Vec<u8>)>) {
    if depth > 6 {
        return;
    }
    let Ok(fd) = v.open(
        Dirfd::Cwd,
        GuestPath::from(dir),
        OpenFlags::RDONLY | OpenFlags::DIRECTORY,
        0,
    ) else {
        return;
    };
    let entries = v.getdents(fd, 1024).unwrap_or_default();
    v.close(fd).unwrap();
    for entry in entries {
        if entry.name == b"." || entry.name == b".." {
            continue;
        }
        let path = format!("{dir}/{}", String::from_utf8_lossy(&entry.name));
        match v.stat(Dirfd::Cwd, GuestPath::from(path.as_str()), true) {
            Ok(st) if st.kind == FileKind::Directory => walk(v, &path, depth + 1, out),
            Ok(_) => {
                if let Some(data) = read(v, &path) {
                    out.push((path, data));
                }
            }
            Err(_) => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn zip_entries_never_escape_the_mount(items in prop::collection::vec(item(), 1..6)) {
        let Some(bytes) = build(&items) else {
            return Ok(()); // the writer refused the names (e.g. a duplicate)
        };
        let mut v = Vfs::default();
        v.create_dir_all(GuestPath::from("/m"), 0o755).unwrap();
        let fd = v
            .open(Dirfd::Cwd, GuestPath::from("/m/canary"), OpenFlags::CREAT | OpenFlags::WRONLY, 0o644)
            .unwrap();
        v.write(fd, SECRET).unwrap();
        v.close(fd).unwrap();
        let root_before = listing(&mut v, "/");

        let mounted = ZipSource::new("p.zip", bytes)
            .and_then(|source| v.mount_zip(GuestPath::from("/m/inner"), &source));

        prop_assert_eq!(listing(&mut v, "/"), root_before);
        // A refused archive may fail before the mount point is made.
        let mut m = listing(&mut v, "/m");
        m.retain(|n| n != b"inner");
        prop_assert_eq!(m, vec![b".".to_vec(), b"..".to_vec(), b"canary".to_vec()]);
        prop_assert_eq!(read(&mut v, "/m/canary"), Some(SECRET.to_vec()));
        // Everything reachable below the mount point, following symlinks, stays below it:
        // no path there reads the canary.
        if mounted.is_ok() {
            let mut reached = Vec::new();
            walk(&mut v, "/m/inner", 0, &mut reached);
            prop_assert!(
                !reached.iter().any(|(_, data)| data.as_slice() == SECRET),
                "the canary was reached: {reached:?}"
            );
        }
        let _ = &items;
    }
}
