//! Flag newtypes with the musl/Emscripten bit values (reference §5.3, §5.4).

/// `open` flags, bit-compatible with musl's generic values that Emscripten uses.
///
/// Build one from the guest's raw integer with [`OpenFlags::from_bits`], which refuses unknown
/// bits; `O_LARGEFILE`, `O_NOCTTY`, `O_NONBLOCK`, `O_DSYNC` and `O_CLOEXEC` are accepted and kept
/// (the VFS never blocks, has no controlling terminal and is always synchronous).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OpenFlags(u32);

impl OpenFlags {
    /// Read only (access mode 0).
    pub const RDONLY: OpenFlags = OpenFlags(0);
    /// Write only.
    pub const WRONLY: OpenFlags = OpenFlags(0o1);
    /// Read and write.
    pub const RDWR: OpenFlags = OpenFlags(0o2);
    /// Create the file if it does not exist.
    pub const CREAT: OpenFlags = OpenFlags(0o100);
    /// With `CREAT`: fail with `EEXIST` if the path exists.
    pub const EXCL: OpenFlags = OpenFlags(0o200);
    /// No controlling terminal (ignored).
    pub const NOCTTY: OpenFlags = OpenFlags(0o400);
    /// Truncate a regular file opened for writing.
    pub const TRUNC: OpenFlags = OpenFlags(0o1000);
    /// Every write goes to the end of the file.
    pub const APPEND: OpenFlags = OpenFlags(0o2000);
    /// Non-blocking (the VFS never blocks; kept for `F_GETFL`).
    pub const NONBLOCK: OpenFlags = OpenFlags(0o4000);
    /// Synchronous data writes (ignored).
    pub const DSYNC: OpenFlags = OpenFlags(0o10000);
    /// Large-file flag added by musl (ignored).
    pub const LARGEFILE: OpenFlags = OpenFlags(0o100000);
    /// Fail with `ENOTDIR` unless the path is a directory.
    pub const DIRECTORY: OpenFlags = OpenFlags(0o200000);
    /// Fail with `ELOOP` if the final component is a symlink.
    pub const NOFOLLOW: OpenFlags = OpenFlags(0o400000);
    /// Close on exec (recorded on the fd; there is no exec).
    pub const CLOEXEC: OpenFlags = OpenFlags(0o2000000);
    /// Path-only descriptor (opened without access checks; reads and writes fail with `EBADF`).
    pub const PATH: OpenFlags = OpenFlags(0o10000000);

    const ACCMODE: u32 = 0o3;
    const ALL: u32 = 0o3
        | 0o100
        | 0o200
        | 0o400
        | 0o1000
        | 0o2000
        | 0o4000
        | 0o10000
        | 0o100000
        | 0o200000
        | 0o400000
        | 0o2000000
        | 0o10000000;

    /// The flags for the raw value, or `None` if it has a bit this VFS does not know.
    pub const fn from_bits(bits: u32) -> Option<OpenFlags> {
        if bits & !Self::ALL != 0 {
            None
        } else {
            Some(OpenFlags(bits))
        }
    }

    /// The flags for the raw value with unknown bits dropped.
    pub const fn from_bits_truncate(bits: u32) -> OpenFlags {
        OpenFlags(bits & Self::ALL)
    }

    /// The raw value.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every flag in `other` is set (`RDONLY`, being zero, is always contained).
    pub const fn contains(self, other: OpenFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The access mode, or `None` for the invalid mode 3.
    pub const fn access_mode(self) -> Option<AccessMode> {
        match self.0 & Self::ACCMODE {
            0 => Some(AccessMode::ReadOnly),
            1 => Some(AccessMode::WriteOnly),
            2 => Some(AccessMode::ReadWrite),
            _ => None,
        }
    }

    /// These flags with `other`'s bits removed.
    pub const fn without(self, other: OpenFlags) -> OpenFlags {
        OpenFlags(self.0 & !other.0)
    }
}

impl std::ops::BitOr for OpenFlags {
    type Output = OpenFlags;
    fn bitor(self, rhs: OpenFlags) -> OpenFlags {
        OpenFlags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for OpenFlags {
    fn bitor_assign(&mut self, rhs: OpenFlags) {
        self.0 |= rhs.0;
    }
}

impl std::fmt::Debug for OpenFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [(&str, OpenFlags); 13] = [
            ("WRONLY", OpenFlags::WRONLY),
            ("RDWR", OpenFlags::RDWR),
            ("CREAT", OpenFlags::CREAT),
            ("EXCL", OpenFlags::EXCL),
            ("NOCTTY", OpenFlags::NOCTTY),
            ("TRUNC", OpenFlags::TRUNC),
            ("APPEND", OpenFlags::APPEND),
            ("NONBLOCK", OpenFlags::NONBLOCK),
            ("DSYNC", OpenFlags::DSYNC),
            ("LARGEFILE", OpenFlags::LARGEFILE),
            ("DIRECTORY", OpenFlags::DIRECTORY),
            ("NOFOLLOW", OpenFlags::NOFOLLOW),
            ("CLOEXEC", OpenFlags::CLOEXEC),
        ];
        let mut parts: Vec<&str> = NAMES
            .iter()
            .filter(|(_, flag)| self.contains(*flag))
            .map(|(name, _)| *name)
            .collect();
        if self.contains(OpenFlags::PATH) {
            parts.push("PATH");
        }
        if parts.is_empty() {
            parts.push("RDONLY");
        }
        write!(f, "OpenFlags({})", parts.join("|"))
    }
}

/// The access mode of an open file description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessMode {
    /// `O_RDONLY`.
    ReadOnly,
    /// `O_WRONLY`.
    WriteOnly,
    /// `O_RDWR`.
    ReadWrite,
}

impl AccessMode {
    /// Whether reads are allowed.
    pub const fn readable(self) -> bool {
        matches!(self, AccessMode::ReadOnly | AccessMode::ReadWrite)
    }

    /// Whether writes are allowed.
    pub const fn writable(self) -> bool {
        matches!(self, AccessMode::WriteOnly | AccessMode::ReadWrite)
    }
}

/// The `mode` argument of `access`/`faccessat`: `F_OK` (0) or a union of `R_OK`, `W_OK`, `X_OK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AccessCheck(u32);

impl AccessCheck {
    /// `F_OK`: the path exists.
    pub const EXISTS: AccessCheck = AccessCheck(0);
    /// `X_OK`.
    pub const EXECUTE: AccessCheck = AccessCheck(1);
    /// `W_OK`.
    pub const WRITE: AccessCheck = AccessCheck(2);
    /// `R_OK`.
    pub const READ: AccessCheck = AccessCheck(4);

    /// The check for the raw value, or `None` if it has bits above `R_OK|W_OK|X_OK`.
    pub const fn from_bits(bits: u32) -> Option<AccessCheck> {
        if bits & !7 != 0 {
            None
        } else {
            Some(AccessCheck(bits))
        }
    }

    /// The raw value.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every check in `other` is requested.
    pub const fn contains(self, other: AccessCheck) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for AccessCheck {
    type Output = AccessCheck;
    fn bitor(self, rhs: AccessCheck) -> AccessCheck {
        AccessCheck(self.0 | rhs.0)
    }
}

/// `lseek` origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Whence {
    /// `SEEK_SET` (0).
    Set,
    /// `SEEK_CUR` (1).
    Cur,
    /// `SEEK_END` (2).
    End,
}

impl Whence {
    /// The origin for the raw value, or `None` (the host answers `EINVAL`).
    pub const fn from_raw(raw: i32) -> Option<Whence> {
        match raw {
            0 => Some(Whence::Set),
            1 => Some(Whence::Cur),
            2 => Some(Whence::End),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_use_musl_values() {
        let f = OpenFlags::from_bits(64 | 512 | 1 | 524288).unwrap();
        assert!(f.contains(OpenFlags::CREAT));
        assert!(f.contains(OpenFlags::TRUNC));
        assert!(f.contains(OpenFlags::CLOEXEC));
        assert_eq!(f.access_mode(), Some(AccessMode::WriteOnly));
        assert_eq!(OpenFlags::DIRECTORY.bits(), 65536);
        assert_eq!(OpenFlags::NOFOLLOW.bits(), 131072);
        assert_eq!(OpenFlags::APPEND.bits(), 1024);
        assert_eq!(OpenFlags::EXCL.bits(), 128);
        assert_eq!(OpenFlags::from_bits(0o3).unwrap().access_mode(), None);
        assert_eq!(OpenFlags::from_bits(1 << 30), None);
        assert_eq!(
            OpenFlags::from_bits_truncate((1 << 30) | 2),
            OpenFlags::RDWR
        );
        assert_eq!(
            format!("{:?}", OpenFlags::RDWR | OpenFlags::CREAT),
            "OpenFlags(RDWR|CREAT)"
        );
    }

    #[test]
    fn whence_and_access_from_raw() {
        assert_eq!(Whence::from_raw(2), Some(Whence::End));
        assert_eq!(Whence::from_raw(3), None);
        assert_eq!(AccessCheck::from_bits(8), None);
        assert!(
            AccessCheck::from_bits(6)
                .unwrap()
                .contains(AccessCheck::READ)
        );
    }
}
