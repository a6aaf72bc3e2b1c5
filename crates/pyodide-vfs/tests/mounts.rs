//! Tar and host-directory mounts through the public API.

use std::sync::Arc;

use pyodide_vfs::{
    AccessCheck, Dirfd, Errno, FileKind, GuestPath, MountAccess, MountError, OpenFlags, SetTime,
    StatFs, Vfs, Whence, ZipPlacement, ZipSource, open_host_dir,
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

// ---------------------------------------------------------------------------------------------
// Zip mounts

enum ZipItem<'a> {
    Stored(&'a str, &'a [u8]),
    Deflated(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
}

/// Build a zip with the `zip` crate's writer (it writes names as given, so bad names can be
/// produced).
fn zip(items: &[ZipItem<'_>]) -> Arc<[u8]> {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::from_date_and_time(2024, 2, 29, 12, 30, 14).unwrap())
        .unix_permissions(0o644);
    let deflated = stored.compression_method(zip::CompressionMethod::Deflated);
    for item in items {
        match item {
            ZipItem::Stored(name, data) => {
                w.start_file(*name, stored).unwrap();
                w.write_all(data).unwrap();
            }
            ZipItem::Deflated(name, data) => {
                w.start_file(*name, deflated).unwrap();
                w.write_all(data).unwrap();
            }
            ZipItem::Dir(name) => w.add_directory(*name, stored).unwrap(),
            ZipItem::Symlink(name, target) => w.add_symlink(*name, *target, stored).unwrap(),
        }
    }
    w.finish().unwrap().into_inner().into()
}

fn zip_source(name: &str, items: &[ZipItem<'_>]) -> ZipSource {
    ZipSource::new(name, zip(items)).unwrap()
}

/// Replaces the first `count` occurrences of `from` by `to` (same length) in an archive.
fn patch(bytes: &[u8], from: &[u8], to: &[u8], count: usize) -> Arc<[u8]> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut done = 0;
    let mut i = 0;
    while done < count && i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            done += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert_eq!(done, count, "pattern found {done} times");
    out.into()
}

#[test]
fn zip_mount_serves_members_read_only_without_unpacking_on_stat() {
    let text = b"print('hello from a zip')\n".repeat(50);
    let source = zip_source(
        "pkg-1.0-py3-none-any.whl",
        &[
            ZipItem::Dir("pkg/"),
            ZipItem::Deflated("pkg/__init__.py", &text),
            ZipItem::Stored("pkg/data.bin", b"\x00\x01\x02"),
            ZipItem::Deflated("pkg-1.0.dist-info/METADATA", b"Name: pkg\nVersion: 1.0\n"),
            ZipItem::Symlink("pkg/alias.py", "__init__.py"),
        ],
    );
    let mut v = Vfs::default();
    v.mount_zip(p("/site"), &source).unwrap();
    let st = v.stat(CWD, p("/site/pkg/__init__.py"), true).unwrap();
    assert_eq!(st.kind, FileKind::Regular);
    assert_eq!(st.size, text.len() as u64);
    assert_eq!(st.mtime.sec, 1_709_209_814);
    assert_eq!(st.perm & 0o777, 0o644);
    assert_eq!(
        v.stat(CWD, p("/site/pkg"), true).unwrap().kind,
        FileKind::Directory
    );
    assert_eq!(read_all(&mut v, "/site/pkg/__init__.py").unwrap(), text);
    assert_eq!(
        read_all(&mut v, "/site/pkg/data.bin").unwrap(),
        b"\x00\x01\x02"
    );
    assert_eq!(read_all(&mut v, "/site/pkg/alias.py").unwrap(), text);
    assert_eq!(
        v.readlink(CWD, p("/site/pkg/alias.py")).unwrap(),
        b"__init__.py"
    );
    assert_eq!(
        read_all(&mut v, "/site/pkg-1.0.dist-info/METADATA").unwrap(),
        b"Name: pkg\nVersion: 1.0\n"
    );
    // Read-only.
    let err = v
        .open(CWD, p("/site/pkg/__init__.py"), OpenFlags::WRONLY, 0)
        .unwrap_err();
    assert_eq!(err, Errno::EROFS);
    let err = v
        .open(
            CWD,
            p("/site/new.py"),
            OpenFlags::CREAT | OpenFlags::WRONLY,
            0o644,
        )
        .unwrap_err();
    assert_eq!(err, Errno::EROFS);
    assert_eq!(v.unlink(CWD, p("/site/pkg/data.bin")), Err(Errno::EROFS));
    // Listing.
    let fd = v
        .open(
            CWD,
            p("/site/pkg"),
            OpenFlags::RDONLY | OpenFlags::DIRECTORY,
            0,
        )
        .unwrap();
    let mut names: Vec<Vec<u8>> = v
        .getdents(fd, 64)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [&b"."[..], b"..", b"__init__.py", b"alias.py", b"data.bin"]
    );
}

#[test]
fn zip_mount_refuses_escaping_and_ambiguous_entries() {
    let cases: Vec<(Arc<[u8]>, &str)> = vec![
        (
            zip(&[ZipItem::Stored("../evil.py", b"x")]),
            "zip entry \"../evil.py\" of \"w.whl\" refused: path contains \"..\"",
        ),
        (
            zip(&[ZipItem::Stored("/etc/evil", b"x")]),
            "zip entry \"/etc/evil\" of \"w.whl\" refused: absolute path",
        ),
        (
            zip(&[ZipItem::Stored("pkg\\..\\..\\evil", b"x")]),
            "zip entry \"pkg\\..\\..\\evil\" of \"w.whl\" refused: path contains a backslash",
        ),
        (
            zip(&[ZipItem::Stored("C:/evil", b"x")]),
            "zip entry \"C:/evil\" of \"w.whl\" refused: path starts with a drive letter",
        ),
        (
            zip(&[ZipItem::Symlink("pkg/l", "../../etc/passwd")]),
            "zip entry \"pkg/l\" of \"w.whl\" refused: symlink target escapes the mount",
        ),
        (
            zip(&[ZipItem::Symlink("l", "/etc/passwd")]),
            "zip entry \"l\" of \"w.whl\" refused: symlink target is absolute",
        ),
        (
            zip(&[ZipItem::Stored("a", b"x"), ZipItem::Stored("a/b", b"y")]),
            "zip entry \"a/b\" of \"w.whl\" refused: conflicts with an earlier entry",
        ),
    ];
    for (bytes, msg) in cases {
        let mut v = Vfs::default();
        let err = ZipSource::new("w.whl", bytes)
            .and_then(|source| v.mount_zip(p("/m"), &source))
            .unwrap_err();
        assert!(matches!(err, MountError::ZipEntry { .. }), "{err}");
        assert_eq!(err.to_string(), msg);
        // Nothing of a refused archive is visible.
        assert_eq!(
            v.stat(CWD, p("/m/evil.py"), true).unwrap_err(),
            Errno::ENOENT
        );
    }
    // Two entries with one name: which would be served is ambiguous.
    let twice = patch(
        &zip(&[ZipItem::Stored("a.py", b"1"), ZipItem::Stored("b.py", b"2")]),
        b"b.py",
        b"a.py",
        2,
    );
    let err = ZipSource::new("w.whl", twice).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read zip archive \"w.whl\": it has duplicate entry names"
    );
    let err = ZipSource::new("junk.whl", Arc::from(&b"not a zip archive"[..])).unwrap_err();
    assert!(matches!(err, MountError::ZipRead { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("cannot read zip archive \"junk.whl\": "),
        "{err}"
    );
}

#[test]
fn corrupt_zip_members_fail_to_open_with_eio() {
    let payload = b"0123456789abcdef".repeat(64);
    let good = zip(&[
        ZipItem::Stored("ok.txt", b"fine"),
        ZipItem::Stored("bad.txt", &payload),
    ]);
    // Flip stored bytes of one member: the central directory is intact, the CRC is not.
    let bad = patch(&good, b"0123456789abcdef", b"0123456789abcdeX", 1);
    let mut v = Vfs::default();
    v.mount_zip(p("/m"), &ZipSource::new("c.zip", bad).unwrap())
        .unwrap();
    assert_eq!(read_all(&mut v, "/m/ok.txt").unwrap(), b"fine");
    assert_eq!(
        v.stat(CWD, p("/m/bad.txt"), true).unwrap().size,
        payload.len() as u64
    );
    assert_eq!(read_all(&mut v, "/m/bad.txt").unwrap_err(), Errno::EIO);
    // The failure is remembered, not retried into success.
    assert_eq!(read_all(&mut v, "/m/bad.txt").unwrap_err(), Errno::EIO);
}

#[test]
fn zip_union_overlays_several_archives_in_one_directory() {
    let a = zip_source(
        "a-1.0-py3-none-any.whl",
        &[
            ZipItem::Deflated("a/__init__.py", b"A = 1\n"),
            ZipItem::Deflated("ns/a_part.py", b"part of ns from a\n"),
            ZipItem::Deflated("a-1.0.data/scripts/a-tool", b"#!python\n"),
            ZipItem::Deflated("top_a.py", b"top a\n"),
        ],
    );
    let b = zip_source(
        "b-2.0-py3-none-any.whl",
        &[
            ZipItem::Deflated("b/__init__.py", b"B = 2\n"),
            ZipItem::Deflated("ns/b_part.py", b"part of ns from b\n"),
            ZipItem::Deflated("top_a.py", b"top from b\n"),
        ],
    );
    let place = |archive: usize, entry: &str, path: &str| ZipPlacement {
        archive,
        entry: entry.to_owned(),
        path: path.to_owned(),
    };
    let placements = [
        place(0, "a/__init__.py", "a/__init__.py"),
        place(0, "ns/a_part.py", "ns/a_part.py"),
        place(0, "a-1.0.data/scripts/a-tool", "bin/a-tool"),
        place(0, "top_a.py", "top_a.py"),
        place(1, "b/__init__.py", "b/__init__.py"),
        place(1, "ns/b_part.py", "ns/b_part.py"),
        place(1, "top_a.py", "top_a.py"),
    ];
    let mut v = Vfs::default();
    v.mount_zip_union(
        p("/lib/site-packages"),
        &[a.clone(), b.clone()],
        &placements,
    )
    .unwrap();
    assert_eq!(
        read_all(&mut v, "/lib/site-packages/a/__init__.py").unwrap(),
        b"A = 1\n"
    );
    assert_eq!(
        read_all(&mut v, "/lib/site-packages/b/__init__.py").unwrap(),
        b"B = 2\n"
    );
    assert_eq!(
        read_all(&mut v, "/lib/site-packages/ns/a_part.py").unwrap(),
        b"part of ns from a\n"
    );
    assert_eq!(
        read_all(&mut v, "/lib/site-packages/ns/b_part.py").unwrap(),
        b"part of ns from b\n"
    );
    assert_eq!(
        read_all(&mut v, "/lib/site-packages/bin/a-tool").unwrap(),
        b"#!python\n"
    );
    // A later file replaces an earlier one at the same path.
    assert_eq!(
        read_all(&mut v, "/lib/site-packages/top_a.py").unwrap(),
        b"top from b\n"
    );
    // Members that were not placed are not there.
    assert_eq!(
        v.stat(CWD, p("/lib/site-packages/a-1.0.data"), true)
            .unwrap_err(),
        Errno::ENOENT
    );
    assert_eq!(
        v.open(
            CWD,
            p("/lib/site-packages/c.py"),
            OpenFlags::CREAT | OpenFlags::WRONLY,
            0o644
        )
        .unwrap_err(),
        Errno::EROFS
    );

    let refuse = |placements: &[ZipPlacement]| {
        let mut v = Vfs::default();
        v.mount_zip_union(p("/m"), &[a.clone(), b.clone()], placements)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        refuse(&[place(1, "missing.py", "missing.py")]),
        "zip entry \"missing.py\" of \"b-2.0-py3-none-any.whl\" refused: no such member"
    );
    assert_eq!(
        refuse(&[place(0, "top_a.py", "../escape.py")]),
        "zip entry \"../escape.py\" of \"a-1.0-py3-none-any.whl\" refused: path contains \"..\""
    );
    assert_eq!(
        refuse(&[
            place(0, "top_a.py", "x"),
            place(1, "b/__init__.py", "x/y.py")
        ]),
        "zip entry \"x/y.py\" of \"b-2.0-py3-none-any.whl\" refused: conflicts with an earlier entry"
    );
    assert_eq!(
        refuse(&[place(2, "top_a.py", "x")]),
        "zip entry \"top_a.py\" of \"#2\" refused: the placement names an archive that was not given"
    );
}

#[test]
fn a_zip_that_lies_about_a_member_size_opens_as_eio() {
    let honest = zip(&[ZipItem::Stored("small", b"four")]);
    let mut bytes = honest.to_vec();
    // Announce 3 GiB in both the local header and the central directory entry.
    let announce = 3u32 << 30;
    for (signature, offset) in [(0x0403_4b50u32, 22), (0x0201_4b50u32, 24)] {
        let at = bytes
            .windows(4)
            .position(|w| w == signature.to_le_bytes())
            .unwrap();
        bytes[at + offset..at + offset + 4].copy_from_slice(&announce.to_le_bytes());
    }
    let mut v = Vfs::default();
    v.mount_zip(p("/m"), &ZipSource::new("liar.zip", bytes.into()).unwrap())
        .unwrap();
    assert_eq!(
        v.stat(CWD, p("/m/small"), true).unwrap().size,
        u64::from(announce)
    );
    assert_eq!(read_all(&mut v, "/m/small").unwrap_err(), Errno::EIO);
}
