//! One test per POSIX rule, each errno asserted explicitly, through the public API.

use pyodide_vfs::{
    AccessCheck, Dirfd, Errno, Fd, FileKind, GuestPath, InputSource, ManualClock, OpenFlags,
    OutputSink, SetTime, SharedBuffer, Timespec, Vfs, Whence,
};

const CWD: Dirfd = Dirfd::Cwd;

fn p(s: &str) -> GuestPath<'_> {
    GuestPath::from(s)
}

fn flags(f: &[OpenFlags]) -> OpenFlags {
    f.iter().fold(OpenFlags::RDONLY, |a, b| a | *b)
}

fn vfs() -> Vfs {
    Vfs::builder()
        .clock(ManualClock::new(Timespec::new(1000, 5)))
        .build()
}

fn create(v: &mut Vfs, path: &str, data: &[u8]) {
    let fd = v
        .open(
            CWD,
            p(path),
            flags(&[OpenFlags::WRONLY, OpenFlags::CREAT, OpenFlags::TRUNC]),
            0o644,
        )
        .unwrap();
    assert_eq!(v.write(fd, data).unwrap(), data.len());
    v.close(fd).unwrap();
}

fn read_all(v: &mut Vfs, path: &str) -> Vec<u8> {
    let fd = v.open(CWD, p(path), OpenFlags::RDONLY, 0).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 7];
    loop {
        let n = v.read(fd, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    v.close(fd).unwrap();
    out
}

#[test]
fn default_layout_matches_emscripten() {
    let v = vfs();
    for dir in ["/", "/tmp", "/home/web_user", "/dev", "/dev/shm/tmp"] {
        let st = v.stat(CWD, p(dir), true).unwrap();
        // MEMFS makes every directory, the root included, with mode 0o777.
        assert_eq!((st.kind, st.perm), (FileKind::Directory, 0o777), "{dir}");
    }
    let null = v.stat(CWD, p("/dev/null"), true).unwrap();
    assert_eq!(null.kind, FileKind::CharDevice);
    assert_eq!(null.rdev, (1 << 8) | 3);
    assert_eq!(v.stat(CWD, p("/dev/tty"), true).unwrap().rdev, 5 << 8);
    assert_eq!(v.stat(CWD, p("/dev/tty1"), true).unwrap().rdev, 6 << 8);
    assert_eq!(v.readlink(CWD, p("/dev/stdin")).unwrap(), b"/dev/tty");
    assert_eq!(v.readlink(CWD, p("/dev/stderr")).unwrap(), b"/dev/tty1");
    assert_eq!(v.getcwd().unwrap(), b"/");
    for fd in [Fd::STDIN, Fd::STDOUT, Fd::STDERR] {
        // Character devices, but not terminals: the default sinks are not.
        assert!(!v.is_tty(fd).unwrap());
        assert_eq!(v.fstat(fd).unwrap().kind, FileKind::CharDevice);
    }
}

#[test]
fn stdio_goes_to_the_configured_sinks() {
    let out = SharedBuffer::new();
    let err = SharedBuffer::new();
    let mut v = Vfs::builder()
        .stdin(InputSource::bytes("typed"))
        .stdout(OutputSink::Capture(out.clone()))
        .stderr(OutputSink::Capture(err.clone()))
        .build();
    v.write(Fd::STDOUT, b"hello\n").unwrap();
    v.write(Fd::STDERR, b"oops").unwrap();
    let tty = v.open(CWD, p("/dev/tty"), OpenFlags::WRONLY, 0).unwrap();
    v.write(tty, b"!").unwrap();
    assert_eq!(out.take(), b"hello\n!");
    assert_eq!(err.contents(), b"oops");
    let mut buf = [0u8; 10];
    assert_eq!(v.read(Fd::STDIN, &mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"typed");
    assert_eq!(v.read(Fd::STDIN, &mut buf).unwrap(), 0);
    assert_eq!(v.seek(Fd::STDOUT, 0, Whence::Set), Err(Errno::ESPIPE));
    assert_eq!(v.pwrite(Fd::STDOUT, b"x", 0), Err(Errno::ESPIPE));
    assert_eq!(v.read(Fd::STDOUT, &mut buf), Err(Errno::EBADF));
}

#[test]
fn devices_null_zero_random() {
    struct Sevens;
    impl pyodide_vfs::EntropySource for Sevens {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), pyodide_vfs::Denied> {
            buf.fill(7);
            Ok(())
        }
    }
    let mut v = Vfs::builder().entropy(Sevens).build();
    let mut buf = [1u8; 4];
    let null = v.open(CWD, p("/dev/null"), OpenFlags::RDWR, 0).unwrap();
    assert_eq!(v.read(null, &mut buf).unwrap(), 0);
    assert_eq!(v.write(null, b"abc").unwrap(), 3);
    let zero = v.open(CWD, p("/dev/zero"), OpenFlags::RDONLY, 0).unwrap();
    assert_eq!(v.read(zero, &mut buf).unwrap(), 4);
    assert_eq!(buf, [0; 4]);
    let ur = v
        .open(CWD, p("/dev/urandom"), OpenFlags::RDONLY, 0)
        .unwrap();
    assert_eq!(v.read(ur, &mut buf).unwrap(), 4);
    assert_eq!(buf, [7; 4]);
    let r = v.open(CWD, p("/dev/random"), OpenFlags::RDONLY, 0).unwrap();
    buf = [0; 4];
    v.read(r, &mut buf).unwrap();
    assert_eq!(buf, [7; 4]);
    // Real OS entropy by default.
    let mut v = vfs();
    let ur = v
        .open(CWD, p("/dev/urandom"), OpenFlags::RDONLY, 0)
        .unwrap();
    let mut big = [0u8; 64];
    v.read(ur, &mut big).unwrap();
    assert_ne!(big, [0u8; 64]);
}

#[test]
fn a_refused_entropy_draw_reads_as_eio() {
    struct Refuses;
    impl pyodide_vfs::EntropySource for Refuses {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), pyodide_vfs::Denied> {
            Err(pyodide_vfs::Denied {
                consumer: "test".to_owned(),
                bytes: buf.len() as u64,
                reason: pyodide_entropy::DenialReason::NotAllowed,
            })
        }
    }
    let mut v = Vfs::builder().entropy(Refuses).build();
    let ur = v
        .open(CWD, p("/dev/urandom"), OpenFlags::RDONLY, 0)
        .unwrap();
    let mut buf = [1u8; 4];
    assert_eq!(v.read(ur, &mut buf), Err(Errno::EIO));
    assert_eq!(buf, [1; 4], "nothing is written on a refusal");
}

#[test]
fn open_lowest_free_fd_and_access_modes() {
    let mut v = vfs();
    create(&mut v, "/tmp/f", b"data");
    let a = v.open(CWD, p("/tmp/f"), OpenFlags::RDONLY, 0).unwrap();
    assert_eq!(a, Fd(3));
    let b = v.open(CWD, p("/tmp/f"), OpenFlags::RDONLY, 0).unwrap();
    assert_eq!(b, Fd(4));
    v.close(a).unwrap();
    assert_eq!(
        v.open(CWD, p("/tmp/f"), OpenFlags::WRONLY, 0).unwrap(),
        Fd(3)
    );
    assert_eq!(v.write(b, b"x"), Err(Errno::EBADF));
    let mut buf = [0u8; 2];
    assert_eq!(v.read(Fd(3), &mut buf), Err(Errno::EBADF));
    assert_eq!(v.close(Fd(99)), Err(Errno::EBADF));
    assert_eq!(
        v.open(CWD, p("/tmp/f"), OpenFlags::from_bits(3).unwrap(), 0),
        Err(Errno::EINVAL)
    );
}

#[test]
fn open_creat_excl_trunc_directory_nofollow() {
    let mut v = vfs();
    assert_eq!(
        v.open(CWD, p("/tmp/none"), OpenFlags::RDONLY, 0),
        Err(Errno::ENOENT)
    );
    create(&mut v, "/tmp/f", b"hello");
    let ce = flags(&[OpenFlags::WRONLY, OpenFlags::CREAT, OpenFlags::EXCL]);
    assert_eq!(v.open(CWD, p("/tmp/f"), ce, 0o644), Err(Errno::EEXIST));
    v.symlink(b"f", CWD, p("/tmp/l")).unwrap();
    assert_eq!(v.open(CWD, p("/tmp/l"), ce, 0o644), Err(Errno::EEXIST));
    assert_eq!(
        v.open(CWD, p("/tmp/f"), flags(&[OpenFlags::DIRECTORY]), 0),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        v.open(CWD, p("/tmp/l"), OpenFlags::NOFOLLOW, 0),
        Err(Errno::ELOOP)
    );
    assert_eq!(
        v.open(CWD, p("/tmp"), OpenFlags::WRONLY, 0),
        Err(Errno::EISDIR)
    );
    assert_eq!(v.open(CWD, p("/tmp/new/"), ce, 0o644), Err(Errno::EISDIR));
    assert_eq!(
        v.open(CWD, p("/tmp/f/"), OpenFlags::RDONLY, 0),
        Err(Errno::ENOTDIR)
    );
    let d = v
        .open(
            CWD,
            p("/tmp"),
            flags(&[OpenFlags::DIRECTORY, OpenFlags::CLOEXEC]),
            0,
        )
        .unwrap();
    assert!(v.cloexec(d).unwrap());
    // O_TRUNC through a symlink truncates the target.
    let fd = v
        .open(
            CWD,
            p("/tmp/l"),
            flags(&[OpenFlags::WRONLY, OpenFlags::TRUNC]),
            0,
        )
        .unwrap();
    v.close(fd).unwrap();
    assert_eq!(v.stat(CWD, p("/tmp/f"), true).unwrap().size, 0);
    // The mode is used as given (no umask).
    let fd = v.open(CWD, p("/tmp/m"), ce, 0o604).unwrap();
    assert_eq!(v.fstat(fd).unwrap().perm, 0o604);
    assert_eq!(v.fstat(fd).unwrap().mode(), 0o100604);
}

#[test]
fn append_writes_at_the_end() {
    let mut v = vfs();
    create(&mut v, "/tmp/f", b"abc");
    let fd = v
        .open(
            CWD,
            p("/tmp/f"),
            flags(&[OpenFlags::RDWR, OpenFlags::APPEND]),
            0,
        )
        .unwrap();
    v.seek(fd, 0, Whence::Set).unwrap();
    v.write(fd, b"de").unwrap();
    assert_eq!(v.seek(fd, 0, Whence::Cur).unwrap(), 5);
    assert_eq!(read_all(&mut v, "/tmp/f"), b"abcde");
    assert!(v.status_flags(fd).unwrap().contains(OpenFlags::APPEND));
    v.set_status_flags(fd, OpenFlags::RDONLY).unwrap();
    assert!(!v.status_flags(fd).unwrap().contains(OpenFlags::APPEND));
    v.seek(fd, 0, Whence::Set).unwrap();
    v.write(fd, b"X").unwrap();
    assert_eq!(read_all(&mut v, "/tmp/f"), b"Xbcde");
}

#[test]
fn seek_whence_and_negative_offsets() {
    let mut v = vfs();
    create(&mut v, "/tmp/f", b"0123456789");
    let fd = v.open(CWD, p("/tmp/f"), OpenFlags::RDWR, 0).unwrap();
    assert_eq!(v.seek(fd, 3, Whence::Set).unwrap(), 3);
    assert_eq!(v.seek(fd, 2, Whence::Cur).unwrap(), 5);
    assert_eq!(v.seek(fd, -1, Whence::End).unwrap(), 9);
    assert_eq!(v.seek(fd, -10, Whence::Cur), Err(Errno::EINVAL));
    assert_eq!(v.seek(fd, -1, Whence::Set), Err(Errno::EINVAL));
    assert_eq!(
        v.seek(fd, 0, Whence::Cur).unwrap(),
        9,
        "failed seek leaves the offset"
    );
    // Writing past the end fills the gap with zeros.
    v.seek(fd, 12, Whence::Set).unwrap();
    v.write(fd, b"x").unwrap();
    assert_eq!(read_all(&mut v, "/tmp/f"), b"0123456789\0\0x");
    let mut buf = [0u8; 4];
    v.seek(fd, 100, Whence::Set).unwrap();
    assert_eq!(v.read(fd, &mut buf).unwrap(), 0);
}

#[test]
fn pread_pwrite_leave_the_offset() {
    let mut v = vfs();
    create(&mut v, "/tmp/f", b"abcdef");
    let fd = v.open(CWD, p("/tmp/f"), OpenFlags::RDWR, 0).unwrap();
    let mut buf = [0u8; 3];
    assert_eq!(v.pread(fd, &mut buf, 2).unwrap(), 3);
    assert_eq!(&buf, b"cde");
    assert_eq!(v.pwrite(fd, b"ZZ", 4).unwrap(), 2);
    assert_eq!(v.seek(fd, 0, Whence::Cur).unwrap(), 0);
    assert_eq!(v.pread(fd, &mut buf, -1), Err(Errno::EINVAL));
    assert_eq!(v.pwrite(fd, b"a", -1), Err(Errno::EINVAL));
    assert_eq!(read_all(&mut v, "/tmp/f"), b"abcdZZ");
}

#[test]
fn dup_shares_the_offset_and_dup3_rules() {
    let mut v = vfs();
    create(&mut v, "/tmp/f", b"abcdef");
    let a = v.open(CWD, p("/tmp/f"), OpenFlags::RDONLY, 0).unwrap();
    let b = v.dup(a).unwrap();
    assert_eq!(b, Fd(a.0 + 1));
    let mut buf = [0u8; 2];
    v.read(a, &mut buf).unwrap();
    v.read(b, &mut buf).unwrap();
    assert_eq!(&buf, b"cd");
    v.close(a).unwrap();
    v.read(b, &mut buf).unwrap();
    assert_eq!(&buf, b"ef");
    assert_eq!(v.dup3(b, b, false), Err(Errno::EINVAL));
    assert_eq!(v.dup3(Fd(77), Fd(78), false), Err(Errno::EBADF));
    assert_eq!(
        v.dup3(b, Fd(pyodide_vfs::MAX_FDS), false),
        Err(Errno::EBADF)
    );
    // dup3 onto an open fd closes it first; the cloexec flag is per fd.
    let c = v.open(CWD, p("/tmp/f"), OpenFlags::RDONLY, 0).unwrap();
    assert_eq!(v.dup3(b, c, true).unwrap(), c);
    assert!(v.cloexec(c).unwrap());
    assert!(!v.cloexec(b).unwrap());
    assert_eq!(v.seek(c, 0, Whence::Cur).unwrap(), 6);
    assert_eq!(v.dup_min(b, 100).unwrap(), Fd(100));
    assert_eq!(v.dup_min(b, pyodide_vfs::MAX_FDS), Err(Errno::EINVAL));
}

#[test]
fn fd_table_is_bounded() {
    let mut v = vfs();
    let mut last = Ok(Fd(0));
    for _ in 0..pyodide_vfs::MAX_FDS {
        last = v.open(CWD, p("/dev/null"), OpenFlags::RDONLY, 0);
        if last.is_err() {
            break;
        }
    }
    assert_eq!(last, Err(Errno::EMFILE));
    assert_eq!(v.dup(Fd(0)), Err(Errno::EMFILE));
}

#[test]
fn truncate_and_ftruncate() {
    let mut v = vfs();
    create(&mut v, "/tmp/f", b"abcdef");
    v.truncate(CWD, p("/tmp/f"), 2).unwrap();
    assert_eq!(read_all(&mut v, "/tmp/f"), b"ab");
    v.truncate(CWD, p("/tmp/f"), 4).unwrap();
    assert_eq!(read_all(&mut v, "/tmp/f"), b"ab\0\0");
    assert_eq!(v.truncate(CWD, p("/tmp/f"), -1), Err(Errno::EINVAL));
    assert_eq!(v.truncate(CWD, p("/tmp"), 0), Err(Errno::EISDIR));
    assert_eq!(v.truncate(CWD, p("/tmp/none"), 0), Err(Errno::ENOENT));
    assert_eq!(v.truncate(CWD, p("/dev/null"), 0), Err(Errno::EINVAL));
    let ro = v.open(CWD, p("/tmp/f"), OpenFlags::RDONLY, 0).unwrap();
    assert_eq!(v.ftruncate(ro, 0), Err(Errno::EINVAL));
    let rw = v.open(CWD, p("/tmp/f"), OpenFlags::RDWR, 0).unwrap();
    v.ftruncate(rw, 1).unwrap();
    assert_eq!(v.fstat(rw).unwrap().size, 1);
    assert_eq!(v.ftruncate(rw, -5), Err(Errno::EINVAL));
    assert_eq!(v.ftruncate(Fd(1000), 0), Err(Errno::EBADF));
    v.chmod(CWD, p("/tmp/f"), 0o444).unwrap();
    assert_eq!(v.truncate(CWD, p("/tmp/f"), 0), Err(Errno::EACCES));
}

#[test]
fn rename_posix_rules() {
    let mut v = vfs();
    for d in ["/tmp/d", "/tmp/d/sub", "/tmp/empty", "/tmp/full"] {
        v.mkdir(CWD, p(d), 0o755).unwrap();
    }
    create(&mut v, "/tmp/full/x", b"");
    create(&mut v, "/tmp/f", b"file");
    create(&mut v, "/tmp/g", b"other");
    // file over file replaces
    v.rename(CWD, p("/tmp/f"), CWD, p("/tmp/g")).unwrap();
    assert_eq!(read_all(&mut v, "/tmp/g"), b"file");
    assert_eq!(v.stat(CWD, p("/tmp/f"), true), Err(Errno::ENOENT));
    // dir over empty dir ok
    v.mkdir(CWD, p("/tmp/d2"), 0o755).unwrap();
    v.rename(CWD, p("/tmp/d2"), CWD, p("/tmp/empty")).unwrap();
    // dir over non-empty dir
    assert_eq!(
        v.rename(CWD, p("/tmp/d"), CWD, p("/tmp/full")),
        Err(Errno::ENOTEMPTY)
    );
    // dir over file
    assert_eq!(
        v.rename(CWD, p("/tmp/d"), CWD, p("/tmp/g")),
        Err(Errno::ENOTDIR)
    );
    // file over dir
    assert_eq!(
        v.rename(CWD, p("/tmp/g"), CWD, p("/tmp/d")),
        Err(Errno::EISDIR)
    );
    // dir into its own subtree
    assert_eq!(
        v.rename(CWD, p("/tmp/d"), CWD, p("/tmp/d/sub/x")),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        v.rename(CWD, p("/tmp/d"), CWD, p("/tmp/d/sub")),
        Err(Errno::EINVAL)
    );
    // missing source, missing target dir
    assert_eq!(
        v.rename(CWD, p("/tmp/none"), CWD, p("/tmp/x")),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        v.rename(CWD, p("/tmp/g"), CWD, p("/tmp/no/x")),
        Err(Errno::ENOENT)
    );
    // trailing slash on a file
    assert_eq!(
        v.rename(CWD, p("/tmp/g/"), CWD, p("/tmp/h")),
        Err(Errno::ENOTDIR)
    );
    // root and dots
    assert_eq!(v.rename(CWD, p("/"), CWD, p("/tmp/r")), Err(Errno::EBUSY));
    assert_eq!(
        v.rename(CWD, p("/tmp/d/."), CWD, p("/tmp/r")),
        Err(Errno::EINVAL)
    );
    // renaming to itself is a no-op
    v.rename(CWD, p("/tmp/g"), CWD, p("/tmp/g")).unwrap();
    assert_eq!(read_all(&mut v, "/tmp/g"), b"file");
    // a moved directory keeps its contents and its `..` follows
    v.rename(CWD, p("/tmp/d"), CWD, p("/tmp/full/moved"))
        .unwrap();
    assert_eq!(
        v.stat(CWD, p("/tmp/full/moved/sub/../sub"), true)
            .unwrap()
            .kind,
        FileKind::Directory
    );
    assert_eq!(
        v.stat(CWD, p("/tmp/full/moved/.."), true).unwrap().ino,
        v.stat(CWD, p("/tmp/full"), true).unwrap().ino
    );
}

#[test]
fn unlink_and_rmdir_rules() {
    let mut v = vfs();
    v.mkdir(CWD, p("/tmp/d"), 0o755).unwrap();
    create(&mut v, "/tmp/d/f", b"");
    create(&mut v, "/tmp/f", b"");
    assert_eq!(v.unlink(CWD, p("/tmp/d")), Err(Errno::EISDIR));
    assert_eq!(v.unlink(CWD, p("/tmp/f/")), Err(Errno::ENOTDIR));
    assert_eq!(v.unlink(CWD, p("/tmp/none")), Err(Errno::ENOENT));
    assert_eq!(v.rmdir(CWD, p("/tmp/d")), Err(Errno::ENOTEMPTY));
    assert_eq!(v.rmdir(CWD, p("/tmp/f")), Err(Errno::ENOTDIR));
    assert_eq!(v.rmdir(CWD, p("/")), Err(Errno::EBUSY));
    assert_eq!(v.rmdir(CWD, p("/tmp/d/.")), Err(Errno::EINVAL));
    assert_eq!(v.rmdir(CWD, p(".")), Err(Errno::EINVAL));
    assert_eq!(v.rmdir(CWD, p("/tmp/d/..")), Err(Errno::ENOTEMPTY));
    assert_eq!(v.rmdir(CWD, p("/tmp/none")), Err(Errno::ENOENT));
    v.unlink(CWD, p("/tmp/d/f")).unwrap();
    let nlink = v.stat(CWD, p("/tmp"), true).unwrap().nlink;
    v.rmdir(CWD, p("/tmp/d/")).unwrap();
    assert_eq!(v.stat(CWD, p("/tmp"), true).unwrap().nlink, nlink - 1);
    assert_eq!(v.stat(CWD, p("/tmp/d"), true), Err(Errno::ENOENT));
    // A symlink to a directory is unlinked, not rmdir'ed.
    v.mkdir(CWD, p("/tmp/t"), 0o755).unwrap();
    v.symlink(b"t", CWD, p("/tmp/lt")).unwrap();
    assert_eq!(v.rmdir(CWD, p("/tmp/lt")), Err(Errno::ENOTDIR));
    v.unlink(CWD, p("/tmp/lt")).unwrap();
    assert_eq!(
        v.stat(CWD, p("/tmp/t"), true).unwrap().kind,
        FileKind::Directory
    );
}

#[test]
fn mkdir_rules_and_link_counts() {
    let mut v = vfs();
    assert_eq!(v.mkdir(CWD, p("/tmp"), 0o755), Err(Errno::EEXIST));
    assert_eq!(v.mkdir(CWD, p("/"), 0o755), Err(Errno::EEXIST));
    assert_eq!(v.mkdir(CWD, p("/tmp/a/b"), 0o755), Err(Errno::ENOENT));
    assert_eq!(v.mkdir(CWD, p(""), 0o755), Err(Errno::ENOENT));
    v.symlink(b"nowhere", CWD, p("/tmp/dangling")).unwrap();
    assert_eq!(v.mkdir(CWD, p("/tmp/dangling"), 0o755), Err(Errno::EEXIST));
    create(&mut v, "/tmp/f", b"");
    assert_eq!(v.mkdir(CWD, p("/tmp/f/x"), 0o755), Err(Errno::ENOTDIR));
    v.mkdir(CWD, p("/tmp/a/"), 0o750).unwrap();
    let st = v.stat(CWD, p("/tmp/a"), true).unwrap();
    assert_eq!(
        (st.kind, st.perm, st.nlink),
        (FileKind::Directory, 0o750, 2)
    );
    v.mkdir(CWD, p("/tmp/a/b"), 0o755).unwrap();
    assert_eq!(v.stat(CWD, p("/tmp/a"), true).unwrap().nlink, 3);
    assert_eq!(v.stat(CWD, p("/tmp/f"), true).unwrap().nlink, 1);
    let long = format!("/tmp/{}", "x".repeat(256));
    assert_eq!(v.mkdir(CWD, p(&long), 0o755), Err(Errno::ENAMETOOLONG));
}

#[test]
fn symlink_resolution() {
    let mut v = vfs();
    v.mkdir(CWD, p("/tmp/d"), 0o755).unwrap();
    create(&mut v, "/tmp/d/f", b"target");
    v.symlink(b"d/f", CWD, p("/tmp/rel")).unwrap();
    v.symlink(b"/tmp/d", CWD, p("/tmp/abs")).unwrap();
    v.symlink(b"rel", CWD, p("/tmp/chain")).unwrap();
    v.symlink(b"../d/f", CWD, p("/tmp/d/up")).unwrap();
    assert_eq!(read_all(&mut v, "/tmp/rel"), b"target");
    assert_eq!(read_all(&mut v, "/tmp/abs/f"), b"target");
    assert_eq!(read_all(&mut v, "/tmp/chain"), b"target");
    assert_eq!(read_all(&mut v, "/tmp/abs/up"), b"target");
    // `..` after a symlink goes to the target's parent.
    assert_eq!(read_all(&mut v, "/tmp/abs/../d/f"), b"target");
    let l = v.stat(CWD, p("/tmp/chain"), false).unwrap();
    assert_eq!((l.kind, l.size), (FileKind::Symlink, 3));
    assert_eq!(v.readlink(CWD, p("/tmp/chain")).unwrap(), b"rel");
    assert_eq!(v.readlink(CWD, p("/tmp/d")), Err(Errno::EINVAL));
    assert_eq!(v.symlink(b"x", CWD, p("/tmp/rel")), Err(Errno::EEXIST));
    assert_eq!(v.symlink(b"", CWD, p("/tmp/empty")), Err(Errno::ENOENT));
    // loops
    v.symlink(b"loop2", CWD, p("/tmp/loop1")).unwrap();
    v.symlink(b"loop1", CWD, p("/tmp/loop2")).unwrap();
    assert_eq!(v.stat(CWD, p("/tmp/loop1"), true), Err(Errno::ELOOP));
    assert_eq!(
        v.stat(CWD, p("/tmp/loop1"), false).unwrap().kind,
        FileKind::Symlink
    );
    // a chain of exactly 40 works, 41 does not
    create(&mut v, "/tmp/c0", b"end");
    for i in 1..=41 {
        v.symlink(
            format!("c{}", i - 1).as_bytes(),
            CWD,
            p(&format!("/tmp/c{i}")),
        )
        .unwrap();
    }
    assert_eq!(read_all(&mut v, "/tmp/c40"), b"end");
    assert_eq!(v.stat(CWD, p("/tmp/c41"), true), Err(Errno::ELOOP));
    // dangling
    v.symlink(b"missing", CWD, p("/tmp/dang")).unwrap();
    assert_eq!(v.stat(CWD, p("/tmp/dang"), true), Err(Errno::ENOENT));
    // trailing slash follows the symlink and needs a directory
    assert_eq!(
        v.stat(CWD, p("/tmp/abs/"), true).unwrap().kind,
        FileKind::Directory
    );
    assert_eq!(
        v.stat(CWD, p("/tmp/abs/"), false).unwrap().kind,
        FileKind::Directory
    );
    assert_eq!(v.stat(CWD, p("/tmp/rel/"), true), Err(Errno::ENOTDIR));
    assert_eq!(v.stat(CWD, p("/tmp/d/f/."), true), Err(Errno::ENOTDIR));
    assert_eq!(v.stat(CWD, p("/tmp/d/f/.."), true), Err(Errno::ENOTDIR));
}

#[test]
fn dot_dot_at_root_stays_at_root() {
    let mut v = vfs();
    let root = v.stat(CWD, p("/"), true).unwrap().ino;
    assert_eq!(v.stat(CWD, p("/.."), true).unwrap().ino, root);
    assert_eq!(v.stat(CWD, p("/../../.."), true).unwrap().ino, root);
    assert_eq!(
        v.stat(CWD, p("/../tmp/./../tmp"), true).unwrap().ino,
        v.stat(CWD, p("/tmp"), true).unwrap().ino
    );
    v.symlink(b"../../../../tmp", CWD, p("/tmp/up")).unwrap();
    assert_eq!(
        v.stat(CWD, p("/tmp/up"), true).unwrap().ino,
        v.stat(CWD, p("/tmp"), true).unwrap().ino
    );
}

#[test]
fn chdir_getcwd_and_relative_paths() {
    let mut v = vfs();
    v.mkdir(CWD, p("/tmp/a"), 0o755).unwrap();
    v.chdir(CWD, p("/tmp/a")).unwrap();
    assert_eq!(v.getcwd().unwrap(), b"/tmp/a");
    create(&mut v, "f", b"rel");
    assert_eq!(read_all(&mut v, "/tmp/a/f"), b"rel");
    assert_eq!(read_all(&mut v, "../a/./f"), b"rel");
    v.chdir(CWD, p("..")).unwrap();
    assert_eq!(v.getcwd().unwrap(), b"/tmp");
    assert_eq!(v.chdir(CWD, p("a/f")), Err(Errno::ENOTDIR));
    assert_eq!(v.chdir(CWD, p("nope")), Err(Errno::ENOENT));
    // dirfd-relative
    let d = v.open(CWD, p("/tmp/a"), OpenFlags::DIRECTORY, 0).unwrap();
    assert_eq!(v.stat(Dirfd::Fd(d), p("f"), true).unwrap().size, 3);
    let f = v.open(CWD, p("/tmp/a/f"), OpenFlags::RDONLY, 0).unwrap();
    assert_eq!(v.stat(Dirfd::Fd(f), p("x"), true), Err(Errno::ENOTDIR));
    assert_eq!(v.stat(Dirfd::Fd(Fd(500)), p("x"), true), Err(Errno::EBADF));
    assert_eq!(
        v.stat(Dirfd::Fd(Fd(500)), p("/tmp"), true).unwrap().kind,
        FileKind::Directory
    );
    v.fchdir(d).unwrap();
    assert_eq!(v.getcwd().unwrap(), b"/tmp/a");
    assert_eq!(v.fchdir(f), Err(Errno::ENOTDIR));
    // a renamed cwd reports its new path; a removed one ENOENT
    v.rename(CWD, p("/tmp/a"), CWD, p("/tmp/b")).unwrap();
    assert_eq!(v.getcwd().unwrap(), b"/tmp/b");
    v.unlink(CWD, p("f")).unwrap();
    v.rmdir(CWD, p("/tmp/b")).unwrap();
    assert_eq!(v.getcwd(), Err(Errno::ENOENT));
    assert_eq!(
        v.open(
            CWD,
            p("new"),
            flags(&[OpenFlags::CREAT, OpenFlags::WRONLY]),
            0o644
        ),
        Err(Errno::ENOENT)
    );
    assert_eq!(Dirfd::from_raw(-100).unwrap(), Dirfd::Cwd);
    assert_eq!(Dirfd::from_raw(-1), Err(Errno::EBADF));
}

#[test]
fn unlinked_open_files_stay_readable() {
    let mut v = vfs();
    create(&mut v, "/tmp/f", b"still here");
    let fd = v.open(CWD, p("/tmp/f"), OpenFlags::RDWR, 0).unwrap();
    v.unlink(CWD, p("/tmp/f")).unwrap();
    assert_eq!(v.stat(CWD, p("/tmp/f"), true), Err(Errno::ENOENT));
    let mut buf = [0u8; 32];
    let n = v.read(fd, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"still here");
    assert_eq!(v.fstat(fd).unwrap().nlink, 0);
    v.write(fd, b"!").unwrap();
    assert_eq!(v.fstat(fd).unwrap().size, 11);
    // A new file with the same name is a different node.
    create(&mut v, "/tmp/f", b"new");
    assert_ne!(
        v.stat(CWD, p("/tmp/f"), true).unwrap().ino,
        v.fstat(fd).unwrap().ino
    );
    v.close(fd).unwrap();
}

#[test]
fn stat_times_with_injected_clock() {
    let clock = ManualClock::new(Timespec::new(100, 1));
    let mut v = Vfs::builder().clock(clock.clone()).build();
    create(&mut v, "/tmp/f", b"x");
    let st = v.stat(CWD, p("/tmp/f"), true).unwrap();
    assert_eq!(
        (st.atime, st.mtime, st.ctime),
        (
            Timespec::new(100, 1),
            Timespec::new(100, 1),
            Timespec::new(100, 1)
        )
    );
    clock.set(Timespec::new(200, 999_999_999));
    let fd = v.open(CWD, p("/tmp/f"), OpenFlags::WRONLY, 0).unwrap();
    v.write(fd, b"y").unwrap();
    let st = v.fstat(fd).unwrap();
    assert_eq!(st.mtime, Timespec::new(200, 999_999_999));
    assert_eq!(st.atime, Timespec::new(100, 1));
    assert_eq!(
        v.stat(CWD, p("/tmp"), true).unwrap().mtime,
        Timespec::new(100, 1)
    );
    clock.set(Timespec::new(300, 0));
    create(&mut v, "/tmp/g", b"");
    assert_eq!(
        v.stat(CWD, p("/tmp"), true).unwrap().mtime,
        Timespec::new(300, 0)
    );
}

#[test]
fn utimens_now_omit_and_values() {
    let clock = ManualClock::new(Timespec::new(10, 0));
    let mut v = Vfs::builder().clock(clock.clone()).build();
    create(&mut v, "/tmp/f", b"");
    clock.set(Timespec::new(50, 7));
    v.utimens(
        CWD,
        p("/tmp/f"),
        true,
        SetTime::To(Timespec::new(1, 2_000_345)),
        SetTime::Omit,
    )
    .unwrap();
    let st = v.stat(CWD, p("/tmp/f"), true).unwrap();
    assert_eq!(
        (st.atime, st.mtime, st.ctime),
        (
            // Stored to the millisecond, as Emscripten does.
            Timespec::new(1, 2_000_000),
            Timespec::new(10, 0),
            Timespec::new(50, 7)
        )
    );
    v.utimens(CWD, p("/tmp/f"), true, SetTime::Omit, SetTime::Now)
        .unwrap();
    let st = v.stat(CWD, p("/tmp/f"), true).unwrap();
    assert_eq!(
        (st.atime, st.mtime),
        (Timespec::new(1, 2_000_000), Timespec::new(50, 7))
    );
    clock.set(Timespec::new(60, 0));
    v.utimens(CWD, p("/tmp/f"), true, SetTime::Omit, SetTime::Omit)
        .unwrap();
    assert_eq!(
        v.stat(CWD, p("/tmp/f"), true).unwrap().ctime,
        Timespec::new(50, 7)
    );
    assert_eq!(SetTime::from_raw(0, SetTime::UTIME_NOW), SetTime::Now);
    // nofollow changes the link itself
    v.symlink(b"f", CWD, p("/tmp/l")).unwrap();
    v.utimens(
        CWD,
        p("/tmp/l"),
        false,
        SetTime::To(Timespec::new(5, 5_000_000)),
        SetTime::To(Timespec::new(6, 6_000_000)),
    )
    .unwrap();
    assert_eq!(
        v.stat(CWD, p("/tmp/l"), false).unwrap().mtime,
        Timespec::new(6, 6_000_000)
    );
    assert_eq!(
        v.stat(CWD, p("/tmp/f"), true).unwrap().mtime,
        Timespec::new(50, 7)
    );
    let fd = v.open(CWD, p("/tmp/f"), OpenFlags::RDONLY, 0).unwrap();
    v.futimens(
        fd,
        SetTime::To(Timespec::new(9, 9_000_000)),
        SetTime::To(Timespec::new(8, 8_000_000)),
    )
    .unwrap();
    assert_eq!(v.fstat(fd).unwrap().mtime, Timespec::new(8, 8_000_000));
    assert_eq!(
        v.utimens(CWD, p("/tmp/none"), true, SetTime::Now, SetTime::Now),
        Err(Errno::ENOENT)
    );
}

#[test]
fn chmod_access_and_permission_checks() {
    let mut v = vfs();
    create(&mut v, "/tmp/f", b"");
    v.chmod(CWD, p("/tmp/f"), 0o400).unwrap();
    assert_eq!(v.stat(CWD, p("/tmp/f"), true).unwrap().perm, 0o400);
    v.access(CWD, p("/tmp/f"), AccessCheck::READ).unwrap();
    v.access(CWD, p("/tmp/f"), AccessCheck::EXISTS).unwrap();
    assert_eq!(
        v.access(CWD, p("/tmp/f"), AccessCheck::WRITE),
        Err(Errno::EACCES)
    );
    assert_eq!(
        v.access(CWD, p("/tmp/f"), AccessCheck::EXECUTE),
        Err(Errno::EACCES)
    );
    assert_eq!(
        v.access(CWD, p("/tmp/none"), AccessCheck::EXISTS),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        v.open(CWD, p("/tmp/f"), OpenFlags::WRONLY, 0),
        Err(Errno::EACCES)
    );
    let fd = v.open(CWD, p("/tmp/f"), OpenFlags::RDONLY, 0).unwrap();
    v.fchmod(fd, 0o755).unwrap();
    v.access(
        CWD,
        p("/tmp/f"),
        AccessCheck::READ | AccessCheck::WRITE | AccessCheck::EXECUTE,
    )
    .unwrap();
    assert_eq!(v.chmod(CWD, p("/tmp/none"), 0o644), Err(Errno::ENOENT));
    // Creating with a mode that forbids writing still returns a writable fd.
    let fd = v
        .open(
            CWD,
            p("/tmp/ro"),
            flags(&[OpenFlags::CREAT, OpenFlags::WRONLY]),
            0o444,
        )
        .unwrap();
    assert_eq!(v.write(fd, b"ok").unwrap(), 2);
}

#[test]
fn statfs_reports_the_mount() {
    let v = vfs();
    let s = v.statfs(CWD, p("/tmp")).unwrap();
    assert_eq!((s.bsize, s.namelen, s.flags), (4096, 255, 0));
    assert_eq!(v.fstatfs(Fd::STDOUT).unwrap().fsid, s.fsid);
    assert_eq!(v.statfs(CWD, p("/none")), Err(Errno::ENOENT));
}

#[test]
fn getdents_lists_dot_entries_and_resumes() {
    let mut v = vfs();
    v.mkdir(CWD, p("/tmp/d"), 0o755).unwrap();
    for n in ["c", "a", "b"] {
        create(&mut v, &format!("/tmp/d/{n}"), b"");
    }
    v.symlink(b"a", CWD, p("/tmp/d/l")).unwrap();
    v.mkdir(CWD, p("/tmp/d/s"), 0o755).unwrap();
    let fd = v.open(CWD, p("/tmp/d"), OpenFlags::DIRECTORY, 0).unwrap();
    let first = v.getdents(fd, 3).unwrap();
    let names: Vec<&[u8]> = first.iter().map(|e| &e.name[..]).collect();
    assert_eq!(names, vec![&b"."[..], b"..", b"a"]);
    assert_eq!(first[0].ino, v.stat(CWD, p("/tmp/d"), true).unwrap().ino);
    assert_eq!(first[1].ino, v.stat(CWD, p("/tmp"), true).unwrap().ino);
    assert_eq!(first[2].next, 3);
    // The listing is stable while reading even if the directory changes.
    v.unlink(CWD, p("/tmp/d/b")).unwrap();
    let rest = v.getdents(fd, 100).unwrap();
    let names: Vec<&[u8]> = rest.iter().map(|e| &e.name[..]).collect();
    assert_eq!(names, vec![&b"b"[..], b"c", b"l", b"s"]);
    assert_eq!(rest[2].kind, FileKind::Symlink);
    assert_eq!(rest[3].kind, FileKind::Directory);
    assert!(v.getdents(fd, 100).unwrap().is_empty());
    // Resume from a cookie.
    v.seek(fd, first[1].next as i64, Whence::Set).unwrap();
    assert_eq!(v.getdents(fd, 1).unwrap()[0].name, b"a");
    // Rewinding takes a fresh listing.
    v.seek(fd, 0, Whence::Set).unwrap();
    assert_eq!(v.getdents(fd, 100).unwrap().len(), 6);
    assert_eq!(v.seek(fd, 0, Whence::End), Err(Errno::EINVAL));
    let f = v.open(CWD, p("/tmp/d/a"), OpenFlags::RDONLY, 0).unwrap();
    assert_eq!(v.getdents(f, 1), Err(Errno::ENOTDIR));
    let mut buf = [0u8; 1];
    assert_eq!(v.read(fd, &mut buf), Err(Errno::EISDIR));
}

#[test]
fn path_length_limits() {
    let v = vfs();
    assert_eq!(v.stat(CWD, p(""), true), Err(Errno::ENOENT));
    let long = "/a".repeat(2100);
    assert_eq!(v.stat(CWD, p(&long), true), Err(Errno::ENAMETOOLONG));
    let comp = format!("/{}", "n".repeat(300));
    assert_eq!(v.stat(CWD, p(&comp), true), Err(Errno::ENAMETOOLONG));
}

#[test]
fn vfs_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Vfs>();
}

#[test]
fn shared_files_are_copied_only_when_written() {
    let mut v = Vfs::builder().build();
    let shared: std::sync::Arc<[u8]> = std::sync::Arc::from(&b"shared contents"[..]);
    v.create_shared_file(p("/tmp/lib.zip"), shared.clone(), 0o644)
        .unwrap();
    assert_eq!(
        v.create_shared_file(p("/tmp/lib.zip"), shared.clone(), 0o644),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        v.create_shared_file(p("/no/such/dir/x"), shared.clone(), 0o644),
        Err(Errno::ENOENT)
    );
    assert_eq!(v.stat(CWD, p("/tmp/lib.zip"), true).unwrap().size, 15);
    let fd = v.open(CWD, p("/tmp/lib.zip"), OpenFlags::RDWR, 0).unwrap();
    let mut buf = [0u8; 6];
    assert_eq!(v.read(fd, &mut buf).unwrap(), 6);
    assert_eq!(&buf, b"shared");
    v.pwrite(fd, b"SHARED", 0).unwrap();
    let mut all = [0u8; 15];
    assert_eq!(v.pread(fd, &mut all, 0).unwrap(), 15);
    assert_eq!(&all, b"SHARED contents");
    // The caller's bytes are untouched by the guest's write.
    assert_eq!(&shared[..], b"shared contents");
}

#[test]
fn pipes_carry_bytes_between_ends_until_both_close() {
    let mut v = vfs();
    let (r, w) = v.pipe(OpenFlags::CLOEXEC).unwrap();
    assert_eq!((r, w), (Fd(3), Fd(4)), "the two lowest free descriptors");
    assert!(v.cloexec(r).unwrap() && v.cloexec(w).unwrap());
    let (rs, ws) = (v.fstat(r).unwrap(), v.fstat(w).unwrap());
    assert_eq!(rs.kind, FileKind::Fifo);
    assert_ne!(rs.ino, ws.ino, "each end is its own node, as in Emscripten");
    let mut buf = [0u8; 16];
    assert_eq!(
        v.read(r, &mut buf),
        Err(Errno::EAGAIN),
        "empty, writer alive"
    );
    assert_eq!(
        v.read(w, &mut buf),
        Err(Errno::EBADF),
        "write end is write-only"
    );
    assert_eq!(v.write(r, b"x"), Err(Errno::EBADF), "read end is read-only");
    assert_eq!(v.write(w, b"hello"), Ok(5));
    assert_eq!(v.pread(r, &mut buf, 0), Err(Errno::ESPIPE));
    assert_eq!(v.pwrite(w, b"x", 0), Err(Errno::ESPIPE));
    assert_eq!(v.seek(w, 0, Whence::Cur), Err(Errno::ESPIPE));
    assert_eq!(v.ftruncate(w, 0), Err(Errno::EINVAL));
    // A dup shares the end: closing one copy keeps the writer alive.
    let w2 = v.dup(w).unwrap();
    v.close(w).unwrap();
    assert_eq!(v.read(r, &mut buf[..2]), Ok(2));
    assert_eq!(v.read(r, &mut buf), Ok(3));
    assert_eq!(&buf[..3], b"llo");
    assert_eq!(v.read(r, &mut buf), Err(Errno::EAGAIN));
    assert!(!v.readiness(r).unwrap().readable);
    v.close(w2).unwrap();
    assert_eq!(v.read(r, &mut buf), Ok(0), "no writer left: end of file");
    assert!(v.readiness(r).unwrap().hangup);
    v.close(r).unwrap();
    // Both ends closed: the descriptors and the pipe slot are reused.
    let (r, w) = v.pipe(OpenFlags::RDONLY).unwrap();
    assert_eq!((r, w), (Fd(3), Fd(4)));
    v.close(r).unwrap();
    assert_eq!(v.write(w, b"x"), Err(Errno::EPIPE), "no reader left");
    assert!(v.readiness(w).unwrap().error);
    assert_eq!(v.pipe(OpenFlags::APPEND), Err(Errno::EINVAL));
}

#[test]
fn pipes_need_two_free_descriptors() {
    let mut v = vfs();
    let mut opened = Vec::new();
    while let Ok(fd) = v.open(CWD, p("/dev/null"), OpenFlags::RDONLY, 0) {
        opened.push(fd);
    }
    v.close(opened.pop().unwrap()).unwrap();
    assert_eq!(v.pipe(OpenFlags::RDONLY), Err(Errno::EMFILE));
    assert!(
        v.open(CWD, p("/dev/null"), OpenFlags::RDONLY, 0).is_ok(),
        "nothing leaked"
    );
}

#[test]
fn sockets_are_descriptors_holding_the_embedders_record() {
    use pyodide_vfs::Socket;
    let mut v = vfs();
    let fd = v.socket(Socket::new(2, 1, 0), OpenFlags::NONBLOCK).unwrap();
    assert_eq!(fd, Fd(3));
    assert_eq!(v.fstat(fd).unwrap().kind, FileKind::Socket);
    assert!(v.status_flags(fd).unwrap().contains(OpenFlags::NONBLOCK));
    v.socket_mut(fd).unwrap().local = Some(vec![2, 0]);
    let copy = v.dup(fd).unwrap();
    assert_eq!(
        v.socket_mut(copy).unwrap().local,
        Some(vec![2, 0]),
        "dups share it"
    );
    let mut buf = [0u8; 4];
    assert_eq!(v.read(fd, &mut buf), Err(Errno::ENOTCONN));
    assert_eq!(v.write(fd, b"x"), Err(Errno::ENOTCONN));
    assert_eq!(v.seek(fd, 0, Whence::Set), Err(Errno::ESPIPE));
    assert_eq!(v.socket_mut(Fd(1)), Err(Errno::ENOTSOCK));
    assert_eq!(v.socket_mut(Fd(40)), Err(Errno::EBADF));
    v.close(fd).unwrap();
    v.close(copy).unwrap();
    assert_eq!(v.socket_mut(fd), Err(Errno::EBADF));
}
