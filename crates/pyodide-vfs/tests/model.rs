//! Model-based property test: random operation sequences run against the VFS and against a
//! deliberately simple reference model (a `BTreeMap` from path to node); every result, value
//! or errno, must agree.

use std::collections::{BTreeMap, VecDeque};

use proptest::prelude::*;
use pyodide_vfs::{Dirfd, Errno, Fd, FileKind, GuestPath, OpenFlags, Vfs, Whence};

type Path = Vec<&'static str>;

#[derive(Debug, Clone)]
enum Op {
    Open {
        path: Path,
        creat: bool,
        excl: bool,
        trunc: bool,
        append: bool,
        acc: u32,
    },
    Write {
        fd: u32,
        len: usize,
    },
    Read {
        fd: u32,
        len: usize,
    },
    Seek {
        fd: u32,
        off: i64,
        whence: i32,
    },
    Close {
        fd: u32,
    },
    Dup {
        fd: u32,
    },
    Mkdir {
        path: Path,
    },
    Rmdir {
        path: Path,
    },
    Unlink {
        path: Path,
    },
    Rename {
        from: Path,
        to: Path,
    },
    Symlink {
        target: &'static str,
        path: Path,
    },
    Stat {
        path: Path,
        follow: bool,
    },
    Truncate {
        path: Path,
        len: i64,
    },
    Fstat {
        fd: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Unit,
    Fd(u32),
    N(u64),
    Bytes(Vec<u8>),
    /// kind, size, nlink
    Stat(FileKind, u64, u64),
}

// ---------------------------------------------------------------------------------------------
// The reference model

#[derive(Debug, Clone)]
enum Entry {
    File(usize),
    Dir,
    Symlink(&'static str),
}

#[derive(Debug, Clone)]
enum Target {
    File(usize),
    Dir,
}

#[derive(Debug, Clone)]
struct Desc {
    target: Target,
    offset: u64,
    read: bool,
    write: bool,
    append: bool,
}

#[derive(Debug, Default)]
struct Model {
    tree: BTreeMap<Vec<String>, Entry>,
    files: Vec<Vec<u8>>,
    descs: Vec<Desc>,
    fds: BTreeMap<u32, usize>,
}

impl Model {
    /// Resolve to a canonical path (root = empty).
    fn resolve(&self, path: &[String], follow_last: bool) -> Result<Vec<String>, Errno> {
        let mut cur: Vec<String> = Vec::new();
        let mut todo: VecDeque<String> = path.iter().cloned().collect();
        let mut links = 0;
        while let Some(c) = todo.pop_front() {
            if c == "." {
                continue;
            }
            if c == ".." {
                cur.pop();
                continue;
            }
            let mut next = cur.clone();
            next.push(c);
            match self.tree.get(&next) {
                None => return Err(Errno::ENOENT),
                Some(Entry::Symlink(t)) if follow_last || !todo.is_empty() => {
                    links += 1;
                    if links > 40 {
                        return Err(Errno::ELOOP);
                    }
                    if t.starts_with('/') {
                        cur.clear();
                    }
                    for comp in t.split('/').filter(|s| !s.is_empty()).rev() {
                        todo.push_front(comp.to_owned());
                    }
                }
                Some(Entry::Dir) => cur = next,
                Some(_) => {
                    if !todo.is_empty() {
                        return Err(Errno::ENOTDIR);
                    }
                    cur = next;
                }
            }
        }
        Ok(cur)
    }

    fn is_dir(&self, p: &[String]) -> bool {
        p.is_empty() || matches!(self.tree.get(p), Some(Entry::Dir))
    }

    /// Canonical parent directory and the final name.
    fn parent(&self, path: &Path) -> Result<(Vec<String>, String), Errno> {
        let comps: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        let (name, parent) = comps.split_last().unwrap();
        let dir = self.resolve(parent, true)?;
        if !self.is_dir(&dir) {
            return Err(Errno::ENOTDIR);
        }
        let mut full = dir.clone();
        full.push(name.clone());
        Ok((dir, full.pop().unwrap()))
    }

    fn join(dir: &[String], name: &str) -> Vec<String> {
        let mut v = dir.to_vec();
        v.push(name.to_owned());
        v
    }

    fn children(&self, dir: &[String]) -> impl Iterator<Item = &Vec<String>> {
        self.tree
            .keys()
            .filter(move |k| k.len() == dir.len() + 1 && k.starts_with(dir))
    }

    fn alloc_fd(&mut self, desc: usize) -> Result<u32, Errno> {
        let fd = (0..).find(|n| !self.fds.contains_key(n)).unwrap();
        self.fds.insert(fd, desc);
        Ok(fd)
    }

    fn desc(&mut self, fd: u32) -> Result<&mut Desc, Errno> {
        let i = *self.fds.get(&fd).ok_or(Errno::EBADF)?;
        Ok(&mut self.descs[i])
    }

    fn stat_of(&self, p: &[String]) -> Out {
        match self.tree.get(p) {
            None => Out::Stat(FileKind::Directory, 4096, 2 + self.subdirs(p)),
            Some(Entry::Dir) => Out::Stat(FileKind::Directory, 4096, 2 + self.subdirs(p)),
            Some(Entry::File(id)) => Out::Stat(FileKind::Regular, self.files[*id].len() as u64, 1),
            Some(Entry::Symlink(t)) => Out::Stat(FileKind::Symlink, t.len() as u64, 1),
        }
    }

    fn subdirs(&self, p: &[String]) -> u64 {
        self.children(p)
            .filter(|k| matches!(self.tree[*k], Entry::Dir))
            .count() as u64
    }

    fn apply(&mut self, op: &Op) -> Result<Out, Errno> {
        match op {
            Op::Open {
                path,
                creat,
                excl,
                trunc,
                append,
                acc,
            } => {
                let (read, write) = (*acc != 1, *acc != 0);
                let canon = if *creat {
                    let (dir, name) = self.parent(path)?;
                    let full = Self::join(&dir, &name);
                    match self.tree.get(&full) {
                        Some(_) if *excl => return Err(Errno::EEXIST),
                        Some(Entry::Symlink(_)) => {
                            let c: Vec<String> = path.iter().map(|s| s.to_string()).collect();
                            self.resolve(&c, true)?
                        }
                        Some(_) => full,
                        None => {
                            self.files.push(Vec::new());
                            self.tree
                                .insert(full.clone(), Entry::File(self.files.len() - 1));
                            full
                        }
                    }
                } else {
                    let c: Vec<String> = path.iter().map(|s| s.to_string()).collect();
                    self.resolve(&c, true)?
                };
                let target = match self.tree.get(&canon) {
                    None | Some(Entry::Dir) => {
                        if write {
                            return Err(Errno::EISDIR);
                        }
                        Target::Dir
                    }
                    Some(Entry::File(id)) => {
                        if *trunc && write {
                            self.files[*id].clear();
                        }
                        Target::File(*id)
                    }
                    Some(Entry::Symlink(_)) => unreachable!("resolved"),
                };
                self.descs.push(Desc {
                    target,
                    offset: 0,
                    read,
                    write,
                    append: *append,
                });
                Ok(Out::Fd(self.alloc_fd(self.descs.len() - 1)?))
            }
            Op::Write { fd, len } => {
                let data: Vec<u8> = (0..*len).map(|i| b'a' + (i as u8 % 26)).collect();
                let d = self.desc(*fd)?.clone();
                if !d.write {
                    return Err(Errno::EBADF);
                }
                let Target::File(id) = d.target else {
                    return Err(Errno::EISDIR);
                };
                let file = &mut self.files[id];
                let start = if d.append {
                    file.len() as u64
                } else {
                    d.offset
                } as usize;
                if !data.is_empty() {
                    if file.len() < start + data.len() {
                        file.resize(start + data.len(), 0);
                    }
                    file[start..start + data.len()].copy_from_slice(&data);
                }
                self.desc(*fd)?.offset = (start + data.len()) as u64;
                Ok(Out::N(data.len() as u64))
            }
            Op::Read { fd, len } => {
                let d = self.desc(*fd)?.clone();
                if !d.read {
                    return Err(Errno::EBADF);
                }
                let Target::File(id) = d.target else {
                    return Err(Errno::EISDIR);
                };
                let file = &self.files[id];
                let start = (d.offset as usize).min(file.len());
                let end = (start + len).min(file.len());
                let out = file[start..end].to_vec();
                self.desc(*fd)?.offset = d.offset + out.len() as u64;
                Ok(Out::Bytes(out))
            }
            Op::Seek { fd, off, whence } => {
                let d = self.desc(*fd)?.clone();
                let new = match d.target {
                    Target::Dir => match (whence, off) {
                        (0, o) if *o >= 0 => *o,
                        (1, 0) => d.offset as i64,
                        _ => return Err(Errno::EINVAL),
                    },
                    Target::File(id) => {
                        let base = match whence {
                            0 => 0,
                            1 => d.offset as i64,
                            _ => self.files[id].len() as i64,
                        };
                        base + off
                    }
                };
                if new < 0 {
                    return Err(Errno::EINVAL);
                }
                self.desc(*fd)?.offset = new as u64;
                Ok(Out::N(new as u64))
            }
            Op::Close { fd } => {
                self.fds.remove(fd).ok_or(Errno::EBADF)?;
                Ok(Out::Unit)
            }
            Op::Dup { fd } => {
                let i = *self.fds.get(fd).ok_or(Errno::EBADF)?;
                Ok(Out::Fd(self.alloc_fd(i)?))
            }
            Op::Mkdir { path } => {
                let (dir, name) = self.parent(path)?;
                let full = Self::join(&dir, &name);
                if self.tree.contains_key(&full) {
                    return Err(Errno::EEXIST);
                }
                self.tree.insert(full, Entry::Dir);
                Ok(Out::Unit)
            }
            Op::Rmdir { path } => {
                let (dir, name) = self.parent(path)?;
                let full = Self::join(&dir, &name);
                match self.tree.get(&full) {
                    None => return Err(Errno::ENOENT),
                    Some(Entry::Dir) => {}
                    Some(_) => return Err(Errno::ENOTDIR),
                }
                if self.children(&full).next().is_some() {
                    return Err(Errno::ENOTEMPTY);
                }
                self.tree.remove(&full);
                Ok(Out::Unit)
            }
            Op::Unlink { path } => {
                let (dir, name) = self.parent(path)?;
                let full = Self::join(&dir, &name);
                match self.tree.get(&full) {
                    None => Err(Errno::ENOENT),
                    Some(Entry::Dir) => Err(Errno::EISDIR),
                    Some(_) => {
                        self.tree.remove(&full);
                        Ok(Out::Unit)
                    }
                }
            }
            Op::Rename { from, to } => {
                let (odir, oname) = self.parent(from)?;
                let (ndir, nname) = self.parent(to)?;
                let src = Self::join(&odir, &oname);
                let dst = Self::join(&ndir, &nname);
                let src_entry = self.tree.get(&src).cloned().ok_or(Errno::ENOENT)?;
                let dst_entry = self.tree.get(&dst).cloned();
                if src == dst {
                    return Ok(Out::Unit);
                }
                let src_dir = matches!(src_entry, Entry::Dir);
                if src_dir && ndir.starts_with(&src) {
                    return Err(Errno::EINVAL);
                }
                match (&dst_entry, src_dir) {
                    (Some(Entry::Dir), true) if self.children(&dst).next().is_some() => {
                        return Err(Errno::ENOTEMPTY);
                    }
                    (Some(Entry::Dir), true) => {}
                    (Some(_), true) => return Err(Errno::ENOTDIR),
                    (Some(Entry::Dir), false) => return Err(Errno::EISDIR),
                    _ => {}
                }
                self.tree.remove(&dst);
                let moved: Vec<(Vec<String>, Entry)> = self
                    .tree
                    .iter()
                    .filter(|(k, _)| k.starts_with(&src))
                    .map(|(k, e)| (k.clone(), e.clone()))
                    .collect();
                for (k, e) in moved {
                    self.tree.remove(&k);
                    let mut nk = dst.clone();
                    nk.extend_from_slice(&k[src.len()..]);
                    self.tree.insert(nk, e);
                }
                Ok(Out::Unit)
            }
            Op::Symlink { target, path } => {
                let (dir, name) = self.parent(path)?;
                let full = Self::join(&dir, &name);
                if self.tree.contains_key(&full) {
                    return Err(Errno::EEXIST);
                }
                self.tree.insert(full, Entry::Symlink(target));
                Ok(Out::Unit)
            }
            Op::Stat { path, follow } => {
                let c: Vec<String> = path.iter().map(|s| s.to_string()).collect();
                let canon = self.resolve(&c, *follow)?;
                Ok(self.stat_of(&canon))
            }
            Op::Truncate { path, len } => {
                if *len < 0 {
                    return Err(Errno::EINVAL);
                }
                let c: Vec<String> = path.iter().map(|s| s.to_string()).collect();
                let canon = self.resolve(&c, true)?;
                match self.tree.get(&canon) {
                    Some(Entry::File(id)) => {
                        self.files[*id].resize(*len as usize, 0);
                        Ok(Out::Unit)
                    }
                    _ => Err(Errno::EISDIR),
                }
            }
            Op::Fstat { fd } => {
                let d = self.desc(*fd)?.clone();
                match d.target {
                    Target::File(id) => {
                        let linked = self
                            .tree
                            .values()
                            .any(|e| matches!(e, Entry::File(i) if *i == id));
                        Ok(Out::Stat(
                            FileKind::Regular,
                            self.files[id].len() as u64,
                            u64::from(linked),
                        ))
                    }
                    Target::Dir => Ok(Out::Stat(FileKind::Directory, 4096, 0)),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The system under test

fn gp(path: &Path) -> String {
    format!("/{}", path.join("/"))
}

fn run(v: &mut Vfs, op: &Op) -> Result<Out, Errno> {
    let cwd = Dirfd::Cwd;
    match op {
        Op::Open {
            path,
            creat,
            excl,
            trunc,
            append,
            acc,
        } => {
            let mut f = OpenFlags::from_bits(*acc).unwrap();
            for (on, flag) in [
                (creat, OpenFlags::CREAT),
                (excl, OpenFlags::EXCL),
                (trunc, OpenFlags::TRUNC),
                (append, OpenFlags::APPEND),
            ] {
                if *on {
                    f |= flag;
                }
            }
            v.open(cwd, GuestPath::from(gp(path).as_str()), f, 0o644)
                .map(|fd| Out::Fd(fd.0))
        }
        Op::Write { fd, len } => {
            let data: Vec<u8> = (0..*len).map(|i| b'a' + (i as u8 % 26)).collect();
            v.write(Fd(*fd), &data).map(|n| Out::N(n as u64))
        }
        Op::Read { fd, len } => {
            let mut buf = vec![0u8; *len];
            v.read(Fd(*fd), &mut buf)
                .map(|n| Out::Bytes(buf[..n].to_vec()))
        }
        Op::Seek { fd, off, whence } => v
            .seek(Fd(*fd), *off, Whence::from_raw(*whence).unwrap())
            .map(Out::N),
        Op::Close { fd } => v.close(Fd(*fd)).map(|()| Out::Unit),
        Op::Dup { fd } => v.dup(Fd(*fd)).map(|fd| Out::Fd(fd.0)),
        Op::Mkdir { path } => v
            .mkdir(cwd, GuestPath::from(gp(path).as_str()), 0o755)
            .map(|()| Out::Unit),
        Op::Rmdir { path } => v
            .rmdir(cwd, GuestPath::from(gp(path).as_str()))
            .map(|()| Out::Unit),
        Op::Unlink { path } => v
            .unlink(cwd, GuestPath::from(gp(path).as_str()))
            .map(|()| Out::Unit),
        Op::Rename { from, to } => v
            .rename(
                cwd,
                GuestPath::from(gp(from).as_str()),
                cwd,
                GuestPath::from(gp(to).as_str()),
            )
            .map(|()| Out::Unit),
        Op::Symlink { target, path } => v
            .symlink(target.as_bytes(), cwd, GuestPath::from(gp(path).as_str()))
            .map(|()| Out::Unit),
        Op::Stat { path, follow } => v
            .stat(cwd, GuestPath::from(gp(path).as_str()), *follow)
            .map(|s| Out::Stat(s.kind, s.size, s.nlink)),
        Op::Truncate { path, len } => v
            .truncate(cwd, GuestPath::from(gp(path).as_str()), *len)
            .map(|()| Out::Unit),
        Op::Fstat { fd } => v.fstat(Fd(*fd)).map(|s| {
            // Directory link counts through an fd are not modelled.
            let nlink = if s.kind == FileKind::Directory {
                0
            } else {
                s.nlink
            };
            Out::Stat(s.kind, s.size, nlink)
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies

fn path() -> impl Strategy<Value = Path> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 1..=2)
}

fn fd() -> impl Strategy<Value = u32> {
    0u32..6
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (path(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), 0u32..3).prop_map(
            |(path, creat, excl, trunc, append, acc)| Op::Open { path, creat, excl, trunc, append, acc }
        ),
        3 => (fd(), 0usize..9).prop_map(|(fd, len)| Op::Write { fd, len }),
        3 => (fd(), 0usize..9).prop_map(|(fd, len)| Op::Read { fd, len }),
        2 => (fd(), -5i64..20, 0i32..3).prop_map(|(fd, off, whence)| Op::Seek { fd, off, whence }),
        2 => fd().prop_map(|fd| Op::Close { fd }),
        1 => fd().prop_map(|fd| Op::Dup { fd }),
        3 => path().prop_map(|path| Op::Mkdir { path }),
        2 => path().prop_map(|path| Op::Rmdir { path }),
        2 => path().prop_map(|path| Op::Unlink { path }),
        2 => (path(), path()).prop_map(|(from, to)| Op::Rename { from, to }),
        2 => (prop::sample::select(vec!["a", "b", "/a", "../a", "a/b", "/c/b", "x", ".", "..", "/"]), path())
            .prop_map(|(target, path)| Op::Symlink { target, path }),
        3 => (path(), any::<bool>()).prop_map(|(path, follow)| Op::Stat { path, follow }),
        1 => (path(), -1i64..12).prop_map(|(path, len)| Op::Truncate { path, len }),
        1 => fd().prop_map(|fd| Op::Fstat { fd }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn vfs_agrees_with_the_model(ops in prop::collection::vec(op(), 1..60)) {
        let mut v = Vfs::builder().build_empty();
        let mut m = Model::default();
        for (i, op) in ops.iter().enumerate() {
            let got = run(&mut v, op);
            let want = m.apply(op);
            prop_assert_eq!(got, want, "step {} {:?}", i, op);
        }
    }
}
