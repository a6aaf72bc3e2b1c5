//! Property: nothing the guest does through a read-write host mount reads or creates anything
//! outside the mounted directory, whatever `..` and symlinks (relative, absolute, planted on
//! the host side or created by the guest) it uses.

use std::path::Path;

use proptest::prelude::*;
use pyodide_vfs::{Dirfd, GuestPath, MountAccess, OpenFlags, Vfs, open_host_dir};

const SECRET: &[u8] = b"SECRET-CANARY";

#[derive(Debug, Clone)]
enum Op {
    Read(String),
    Create(String),
    Mkdir(String),
    Symlink(String, String),
    Rename(String, String),
    Unlink(String),
    Chdir(String),
    Truncate(String),
}

fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("a".to_owned()),
        Just("b".to_owned()),
        Just("canary".to_owned()),
        Just("root".to_owned()),
        Just("hostlink".to_owned()),
        Just("l".to_owned()),
    ]
}

fn path() -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(component(), 1..6)).prop_map(|(abs, comps)| {
        let body = comps.join("/");
        if abs { format!("/mnt/{body}") } else { body }
    })
}

fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        path(),
        Just("/".to_owned()),
        Just("../../canary".to_owned()),
        Just("/mnt/..".to_owned())
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => path().prop_map(Op::Read),
        2 => path().prop_map(Op::Create),
        1 => path().prop_map(Op::Mkdir),
        2 => (target(), path()).prop_map(|(t, p)| Op::Symlink(t, p)),
        1 => (path(), path()).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => path().prop_map(Op::Unlink),
        1 => path().prop_map(Op::Chdir),
        1 => path().prop_map(Op::Truncate),
    ]
}

/// Every path under `dir`, relative, without following symlinks.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        out.push(p.strip_prefix(dir).unwrap().display().to_string());
        if e.file_type().unwrap().is_dir() {
            for sub in tree(&p) {
                out.push(format!("{}/{sub}", e.file_name().display()));
            }
        }
    }
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn host_mount_never_escapes(ops in prop::collection::vec(op(), 1..40)) {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(outer.path().join("canary"), SECRET).unwrap();
        std::fs::create_dir(outer.path().join("a")).unwrap();
        std::fs::write(outer.path().join("a/canary"), SECRET).unwrap();
        // Hostile host-side symlinks inside the mount.
        let abs_canary = outer.path().join("canary");
        std::os::unix::fs::symlink(&abs_canary, root.join("hostlink")).unwrap();
        std::os::unix::fs::symlink("../canary", root.join("l")).unwrap();
        std::os::unix::fs::symlink(outer.path(), root.join("b")).unwrap();

        let mut v = Vfs::default();
        v.mount_host(GuestPath::from("/mnt"), open_host_dir(&root).unwrap(), MountAccess::ReadWrite).unwrap();
        v.chdir(Dirfd::Cwd, GuestPath::from("/mnt")).unwrap();
        let outside_before = tree(outer.path()).into_iter().filter(|p| !p.starts_with("root")).collect::<Vec<_>>();
        let abs_host = abs_canary.display().to_string();

        for op in &ops {
            match op {
                Op::Read(p) => {
                    for path in [p.clone(), abs_host.clone()] {
                        if let Ok(fd) = v.open(Dirfd::Cwd, GuestPath::from(path.as_str()), OpenFlags::RDONLY, 0) {
                            let mut buf = vec![0u8; 64];
                            if let Ok(n) = v.read(fd, &mut buf) {
                                prop_assert!(!buf[..n].windows(SECRET.len()).any(|w| w == SECRET), "read the canary via {path}");
                            }
                            v.close(fd).unwrap();
                        }
                    }
                }
                Op::Create(p) => {
                    if let Ok(fd) = v.open(Dirfd::Cwd, GuestPath::from(p.as_str()), OpenFlags::CREAT | OpenFlags::WRONLY | OpenFlags::TRUNC, 0o644) {
                        let _ = v.write(fd, b"guest");
                        v.close(fd).unwrap();
                    }
                }
                Op::Mkdir(p) => { let _ = v.mkdir(Dirfd::Cwd, GuestPath::from(p.as_str()), 0o755); }
                Op::Symlink(t, p) => { let _ = v.symlink(t.as_bytes(), Dirfd::Cwd, GuestPath::from(p.as_str())); }
                Op::Rename(a, b) => { let _ = v.rename(Dirfd::Cwd, GuestPath::from(a.as_str()), Dirfd::Cwd, GuestPath::from(b.as_str())); }
                Op::Unlink(p) => { let _ = v.unlink(Dirfd::Cwd, GuestPath::from(p.as_str())); }
                Op::Chdir(p) => { let _ = v.chdir(Dirfd::Cwd, GuestPath::from(p.as_str())); }
                Op::Truncate(p) => { let _ = v.truncate(Dirfd::Cwd, GuestPath::from(p.as_str()), 0); }
            }
        }

        prop_assert_eq!(std::fs::read(outer.path().join("canary")).unwrap(), SECRET);
        prop_assert_eq!(std::fs::read(outer.path().join("a/canary")).unwrap(), SECRET);
        let outside_after = tree(outer.path()).into_iter().filter(|p| !p.starts_with("root")).collect::<Vec<_>>();
        prop_assert_eq!(outside_before, outside_after);
    }
}
