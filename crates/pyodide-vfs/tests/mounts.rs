//! Tar and host-directory mounts through the public API.

use std::sync::Arc;

use pyodide_vfs::{
    AccessCheck, Dirfd, Errno, FileKind, GuestPath, MountAccess, MountError, OpenFlags, SetTime,
    StatFs, Vfs, Whence, open_host_dir,
};

const CWD: Dirfd = Dirfd::Cwd;

fn p(s: &str) -> GuestPath<'_> {
    GuestPath::from(s)
}

enum Item<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
}

/// Build an uncompressed tar. Names are written raw into the header so that bad entries
/// (absolute, `..`) can be produced.
fn tar(items: &[Item<'_>]) -> Arc<[u8]> {
    let mut b = tar::Builder::new(Vec::new());
    for item in items {
        let mut h = tar::Header::new_gnu();
        let (name, data, ty, link): (&str, &[u8], tar::EntryType, Option<&str>) = match item {
            Item::File(n, d) => (n, d, tar::EntryType::Regular, None),
            Item::Dir(n) => (n, b"", tar::EntryType::Directory, None),
            Item::Symlink(n, t) => (n, b"", tar::EntryType::Symlink, Some(t)),
        };
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(t) = link {
            h.as_old_mut().linkname[..t.len()].copy_from_slice(t.as_bytes());
        }
        h.set_entry_type(ty);
        h.set_size(data.len() as u64);
        h.set_mode(if matches!(item, Item::Dir(_)) {
            0o755
        } else {
            0o644
        });
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap().into()
}

fn read_all(v: &mut Vfs, path: &str) -> Result<Vec<u8>, Errno> {
    let fd = v.open(CWD, p(path), OpenFlags::RDONLY, 0)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 5];
    loop {
        let n = v.read(fd, &mut buf)?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    v.close(fd)?;
    Ok(out)
}

#[test]
fn tar_mount_serves_files_read_only() {
    let mut v = Vfs::default();
    let archive = tar(&[
        Item::Dir("pkg/"),
        Item::File("pkg/__init__.py", b"print('hi')\n"),
        Item::File("./pkg/sub/mod.py", b"x = 1\n"),
        Item::Symlink("pkg/alias.py", "sub/mod.py"),
        Item::File("top.txt", b"top"),
    ]);
    v.mount_tar(p("/lib/site"), archive).unwrap();
    assert_eq!(
        read_all(&mut v, "/lib/site/pkg/__init__.py").unwrap(),
        b"print('hi')\n"
    );
    assert_eq!(
        read_all(&mut v, "/lib/site/pkg/alias.py").unwrap(),
        b"x = 1\n"
    );
    assert_eq!(
        read_all(&mut v, "/lib/site/pkg/sub/../../top.txt").unwrap(),
        b"top"
    );
    let st = v.stat(CWD, p("/lib/site/top.txt"), true).unwrap();
    assert_eq!(
        (st.kind, st.size, st.perm, st.mtime.sec),
        (FileKind::Regular, 3, 0o644, 1_700_000_000)
    );
    // `..` at the mount root leaves the mount into its parent.
    assert_eq!(
        v.stat(CWD, p("/lib/site/.."), true).unwrap().ino,
        v.stat(CWD, p("/lib"), true).unwrap().ino
    );
    // Reads at offsets; pread.
    let fd = v
        .open(CWD, p("/lib/site/top.txt"), OpenFlags::RDONLY, 0)
        .unwrap();
    let mut b = [0u8; 2];
    assert_eq!(v.pread(fd, &mut b, 1).unwrap(), 2);
    assert_eq!(&b, b"op");
    assert_eq!(v.seek(fd, 0, Whence::End).unwrap(), 3);
    // Writes: EROFS.
    let wr = OpenFlags::WRONLY;
    assert_eq!(
        v.open(CWD, p("/lib/site/top.txt"), wr, 0),
        Err(Errno::EROFS)
    );
    assert_eq!(
        v.open(CWD, p("/lib/site/new"), wr | OpenFlags::CREAT, 0o644),
        Err(Errno::EROFS)
    );
    assert_eq!(v.mkdir(CWD, p("/lib/site/d"), 0o755), Err(Errno::EROFS));
    assert_eq!(v.unlink(CWD, p("/lib/site/top.txt")), Err(Errno::EROFS));
    assert_eq!(v.rmdir(CWD, p("/lib/site/pkg/sub")), Err(Errno::EROFS));
    assert_eq!(
        v.rename(CWD, p("/lib/site/top.txt"), CWD, p("/lib/site/t2")),
        Err(Errno::EROFS)
    );
    assert_eq!(
        v.truncate(CWD, p("/lib/site/top.txt"), 0),
        Err(Errno::EROFS)
    );
    assert_eq!(
        v.chmod(CWD, p("/lib/site/top.txt"), 0o777),
        Err(Errno::EROFS)
    );
    assert_eq!(v.symlink(b"x", CWD, p("/lib/site/l")), Err(Errno::EROFS));
    assert_eq!(
        v.utimens(
            CWD,
            p("/lib/site/top.txt"),
            true,
            SetTime::Now,
            SetTime::Now
        ),
        Err(Errno::EROFS)
    );
    assert_eq!(
        v.access(CWD, p("/lib/site/top.txt"), AccessCheck::WRITE),
        Err(Errno::EROFS)
    );
    assert_eq!(v.statfs(CWD, p("/lib/site")).unwrap().flags, StatFs::RDONLY);
    // Across mounts: EXDEV; the mount root cannot go.
    v.open(
        CWD,
        p("/tmp/f"),
        OpenFlags::CREAT | OpenFlags::WRONLY,
        0o644,
    )
    .unwrap();
    assert_eq!(
        v.rename(CWD, p("/tmp/f"), CWD, p("/lib/site/f")),
        Err(Errno::EXDEV)
    );
    assert_eq!(v.rmdir(CWD, p("/lib/site")), Err(Errno::EBUSY));
    assert_eq!(
        v.rename(CWD, p("/lib/site"), CWD, p("/lib/other")),
        Err(Errno::EBUSY)
    );
    // Listing.
    let d = v
        .open(CWD, p("/lib/site/pkg"), OpenFlags::DIRECTORY, 0)
        .unwrap();
    let names: Vec<Vec<u8>> = v
        .getdents(d, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(
        names,
        vec![
            b".".to_vec(),
            b"..".to_vec(),
            b"__init__.py".to_vec(),
            b"alias.py".to_vec(),
            b"sub".to_vec()
        ]
    );
}

#[test]
fn tar_mount_refuses_escaping_entries() {
    let cases: [(&[Item<'_>], &str); 4] = [
        (
            &[Item::File("../evil", b"x")],
            "tar entry \"../evil\" refused: path contains \"..\"",
        ),
        (
            &[Item::File("/etc/evil", b"x")],
            "tar entry \"/etc/evil\" refused: absolute path",
        ),
        (
            &[Item::Symlink("a/l", "../../x")],
            "tar entry \"a/l\" refused: symlink target escapes the mount",
        ),
        (
            &[Item::Symlink("l", "/etc/passwd")],
            "tar entry \"l\" refused: symlink target is absolute",
        ),
    ];
    for (items, msg) in cases {
        let mut v = Vfs::default();
        let err = v.mount_tar(p("/m"), tar(items)).unwrap_err();
        assert!(matches!(err, MountError::TarEntry { .. }));
        assert_eq!(err.to_string(), msg);
    }
    let mut v = Vfs::default();
    let err = v
        .mount_tar(p("/m"), Arc::from(&b"not a tar archive at all"[..]))
        .unwrap_err();
    assert!(matches!(err, MountError::TarRead { .. }), "{err}");
    let err = v.mount_tar(p("relative"), tar(&[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot mount at \"relative\": not an absolute path"
    );
    v.open(
        CWD,
        p("/tmp/x"),
        OpenFlags::CREAT | OpenFlags::WRONLY,
        0o644,
    )
    .unwrap();
    let err = v.mount_tar(p("/tmp"), tar(&[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot mount at \"/tmp\": directory not empty"
    );
}

#[test]
fn tar_reads_do_not_copy_the_archive() {
    let big = vec![b'z'; 1 << 20];
    let archive = tar(&[Item::File("big.bin", &big)]);
    let mut v = Vfs::default();
    v.mount_tar(p("/m"), archive.clone()).unwrap();
    // The archive is shared, not copied: mount holds a reference.
    assert!(Arc::strong_count(&archive) >= 2);
    let fd = v.open(CWD, p("/m/big.bin"), OpenFlags::RDONLY, 0).unwrap();
    let mut buf = vec![0u8; 4096];
    assert_eq!(v.pread(fd, &mut buf, (1 << 20) - 10).unwrap(), 10);
    assert!(buf[..10].iter().all(|b| *b == b'z'));
}

fn host_vfs(access: MountAccess) -> (tempfile::TempDir, Vfs) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("sub")).unwrap();
    std::fs::write(tmp.path().join("sub/file.txt"), b"host data").unwrap();
    std::os::unix::fs::symlink("sub/file.txt", tmp.path().join("rel_link")).unwrap();
    std::os::unix::fs::symlink("/tmp", tmp.path().join("abs_link")).unwrap();
    let mut v = Vfs::default();
    v.mount_host(p("/mnt"), open_host_dir(tmp.path()).unwrap(), access)
        .unwrap();
    (tmp, v)
}

#[test]
fn host_mount_read_write() {
    let (tmp, mut v) = host_vfs(MountAccess::ReadWrite);
    assert_eq!(read_all(&mut v, "/mnt/sub/file.txt").unwrap(), b"host data");
    assert_eq!(read_all(&mut v, "/mnt/rel_link").unwrap(), b"host data");
    // An absolute host symlink is a guest path: /tmp of the guest.
    assert_eq!(
        v.stat(CWD, p("/mnt/abs_link"), true).unwrap().ino,
        v.stat(CWD, p("/tmp"), true).unwrap().ino
    );
    assert_eq!(v.readlink(CWD, p("/mnt/abs_link")).unwrap(), b"/tmp");
    // `..` at the mount root is the guest's parent.
    assert_eq!(
        v.stat(CWD, p("/mnt/sub/../.."), true).unwrap().ino,
        v.stat(CWD, p("/"), true).unwrap().ino
    );
    // Create, write, append, truncate.
    let fd = v
        .open(
            CWD,
            p("/mnt/new.txt"),
            OpenFlags::CREAT | OpenFlags::RDWR,
            0o640,
        )
        .unwrap();
    v.write(fd, b"hello").unwrap();
    v.seek(fd, 0, Whence::Set).unwrap();
    let mut b = [0u8; 5];
    v.read(fd, &mut b).unwrap();
    assert_eq!(&b, b"hello");
    assert_eq!(v.fstat(fd).unwrap().size, 5);
    assert_eq!(std::fs::read(tmp.path().join("new.txt")).unwrap(), b"hello");
    let ap = v
        .open(
            CWD,
            p("/mnt/new.txt"),
            OpenFlags::WRONLY | OpenFlags::APPEND,
            0,
        )
        .unwrap();
    v.write(ap, b"!").unwrap();
    v.ftruncate(fd, 3).unwrap();
    v.write(ap, b"?").unwrap();
    assert_eq!(std::fs::read(tmp.path().join("new.txt")).unwrap(), b"hel?");
    assert_eq!(
        v.open(
            CWD,
            p("/mnt/new.txt"),
            OpenFlags::CREAT | OpenFlags::EXCL | OpenFlags::WRONLY,
            0o644
        ),
        Err(Errno::EEXIST)
    );
    // mkdir, rename, symlink, unlink, rmdir with host errors mapped.
    v.mkdir(CWD, p("/mnt/d"), 0o755).unwrap();
    assert_eq!(v.mkdir(CWD, p("/mnt/d"), 0o755), Err(Errno::EEXIST));
    v.rename(CWD, p("/mnt/new.txt"), CWD, p("/mnt/d/moved.txt"))
        .unwrap();
    assert!(tmp.path().join("d/moved.txt").exists());
    assert_eq!(v.rmdir(CWD, p("/mnt/d")), Err(Errno::ENOTEMPTY));
    assert_eq!(v.unlink(CWD, p("/mnt/d")), Err(Errno::EISDIR));
    assert_eq!(
        v.rename(CWD, p("/mnt/d"), CWD, p("/mnt/d/x")),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        v.rename(CWD, p("/mnt/d/moved.txt"), CWD, p("/tmp/x")),
        Err(Errno::EXDEV)
    );
    v.symlink(b"/mnt/d/moved.txt", CWD, p("/mnt/guest_abs"))
        .unwrap();
    assert_eq!(read_all(&mut v, "/mnt/guest_abs").unwrap(), b"hel?");
    v.unlink(CWD, p("/mnt/d/moved.txt")).unwrap();
    v.rmdir(CWD, p("/mnt/d")).unwrap();
    assert!(!tmp.path().join("d").exists());
    assert_eq!(v.rmdir(CWD, p("/mnt")), Err(Errno::EBUSY));
    // chmod, utimens.
    v.chmod(CWD, p("/mnt/sub/file.txt"), 0o600).unwrap();
    assert_eq!(
        v.stat(CWD, p("/mnt/sub/file.txt"), true).unwrap().perm,
        0o600
    );
    let t = pyodide_vfs::Timespec::new(1_000_000, 7_000_000);
    v.utimens(
        CWD,
        p("/mnt/sub/file.txt"),
        true,
        SetTime::To(t),
        SetTime::To(t),
    )
    .unwrap();
    assert_eq!(v.stat(CWD, p("/mnt/sub/file.txt"), true).unwrap().mtime, t);
    // Listing, cwd inside the mount.
    let d = v.open(CWD, p("/mnt"), OpenFlags::DIRECTORY, 0).unwrap();
    let names: Vec<Vec<u8>> = v
        .getdents(d, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names[..2], [b".".to_vec(), b"..".to_vec()]);
    assert!(names.contains(&b"sub".to_vec()) && names.contains(&b"abs_link".to_vec()));
    v.chdir(CWD, p("/mnt/sub")).unwrap();
    assert_eq!(v.getcwd().unwrap(), b"/mnt/sub");
    assert_eq!(read_all(&mut v, "file.txt").unwrap(), b"host data");
    assert_eq!(read_all(&mut v, "../rel_link").unwrap(), b"host data");
}

#[test]
fn host_mount_read_only() {
    let (_tmp, mut v) = host_vfs(MountAccess::ReadOnly);
    assert_eq!(read_all(&mut v, "/mnt/sub/file.txt").unwrap(), b"host data");
    assert_eq!(
        v.open(CWD, p("/mnt/sub/file.txt"), OpenFlags::RDWR, 0),
        Err(Errno::EROFS)
    );
    assert_eq!(
        v.open(
            CWD,
            p("/mnt/n"),
            OpenFlags::CREAT | OpenFlags::WRONLY,
            0o644
        ),
        Err(Errno::EROFS)
    );
    assert_eq!(v.mkdir(CWD, p("/mnt/n"), 0o755), Err(Errno::EROFS));
    assert_eq!(v.unlink(CWD, p("/mnt/sub/file.txt")), Err(Errno::EROFS));
    assert_eq!(v.statfs(CWD, p("/mnt/sub")).unwrap().flags, StatFs::RDONLY);
}

#[test]
fn host_dir_errors_name_the_path() {
    let err = open_host_dir(std::path::Path::new("/definitely/not/here")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot open host directory \"/definitely/not/here\""
    );
}
