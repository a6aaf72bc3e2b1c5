//! Errors: the guest-visible [`Errno`] and the host-side [`MountError`].

use std::io;

macro_rules! errnos {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $msg:literal;)*) => {
        /// A POSIX error number with the Emscripten (WASI preview1) numbering.
        ///
        /// Every VFS operation returns `Result<T, Errno>`; the Emscripten host turns the error
        /// into `-errno` (`__syscall_*`) or `errno` (WASI `fd_*`) with [`Errno::code`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Errno {
            $($(#[$doc])* #[doc = $msg] $name,)*
        }

        impl Errno {
            /// The Emscripten/WASI number (for example 44 for `ENOENT`), never the Linux one.
            pub const fn code(self) -> i32 {
                match self { $(Errno::$name => $code,)* }
            }

            /// The error with number `code`, if it is one this crate knows.
            pub const fn from_code(code: i32) -> Option<Errno> {
                match code { $($code => Some(Errno::$name),)* _ => None }
            }

            /// The symbolic name, such as `"ENOENT"`.
            pub const fn name(self) -> &'static str {
                match self { $(Errno::$name => stringify!($name),)* }
            }

            const fn message(self) -> &'static str {
                match self { $(Errno::$name => $msg,)* }
            }
        }
    };
}

errnos! {
    EACCES = 2, "permission denied";
    EADDRINUSE = 3, "address in use";
    EAFNOSUPPORT = 5, "address family not supported";
    EAGAIN = 6, "resource temporarily unavailable";
    EBADF = 8, "bad file descriptor";
    EBUSY = 10, "device or resource busy";
    EDESTADDRREQ = 17, "destination address required";
    ECONNREFUSED = 14, "connection refused";
    ECONNRESET = 15, "connection reset";
    EEXIST = 20, "file exists";
    EFAULT = 21, "bad address";
    EFBIG = 22, "file too large";
    EHOSTUNREACH = 23, "host is unreachable";
    EINPROGRESS = 26, "operation in progress";
    EINTR = 27, "interrupted system call";
    EINVAL = 28, "invalid argument";
    EIO = 29, "input/output error";
    EISDIR = 31, "is a directory";
    ELOOP = 32, "too many levels of symbolic links";
    EMFILE = 33, "too many open files";
    ENAMETOOLONG = 37, "file name too long";
    ENODEV = 43, "no such device";
    ENOENT = 44, "no such file or directory";
    ENOMEM = 48, "out of memory";
    ENOPROTOOPT = 50, "protocol not available";
    ENOSPC = 51, "no space left on device";
    ENOSYS = 52, "function not implemented";
    ENOTCONN = 53, "not connected";
    ENOTDIR = 54, "not a directory";
    ENOTEMPTY = 55, "directory not empty";
    ENOTSOCK = 57, "not a socket";
    /// Emscripten's number, shared with `EOPNOTSUPP` (WASI's 58 is unknown to its libc).
    ENOTSUP = 138, "not supported";
    ENOTTY = 59, "inappropriate ioctl for device";
    ENXIO = 60, "no such device or address";
    EOVERFLOW = 61, "value too large";
    EPERM = 63, "operation not permitted";
    EPIPE = 64, "broken pipe";
    EPROTONOSUPPORT = 66, "protocol not supported";
    ERANGE = 68, "result out of range";
    EROFS = 69, "read-only file system";
    ESPIPE = 70, "illegal seek";
    ETIMEDOUT = 73, "timed out";
    EXDEV = 75, "cross-device link";
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message(), self.name())
    }
}

impl std::error::Error for Errno {}

impl Errno {
    /// Map a host I/O error (from a host-directory mount) to the guest's numbering.
    ///
    /// Uses [`io::ErrorKind`] so the mapping does not depend on the host OS's numbers.
    pub fn from_io(err: &io::Error) -> Errno {
        use io::ErrorKind as K;
        match err.kind() {
            K::NotFound => Errno::ENOENT,
            K::PermissionDenied => Errno::EACCES,
            K::AlreadyExists => Errno::EEXIST,
            K::NotADirectory => Errno::ENOTDIR,
            K::IsADirectory => Errno::EISDIR,
            K::DirectoryNotEmpty => Errno::ENOTEMPTY,
            K::ReadOnlyFilesystem => Errno::EROFS,
            K::CrossesDevices => Errno::EXDEV,
            K::InvalidFilename => Errno::ENAMETOOLONG,
            K::ResourceBusy => Errno::EBUSY,
            K::StorageFull | K::QuotaExceeded => Errno::ENOSPC,
            K::FileTooLarge => Errno::EFBIG,
            K::NotSeekable => Errno::ESPIPE,
            K::InvalidInput => Errno::EINVAL,
            K::Unsupported => Errno::ENOTSUP,
            K::OutOfMemory => Errno::ENOMEM,
            K::Interrupted => Errno::EINTR,
            K::WouldBlock => Errno::EAGAIN,
            // ELOOP has no stable `ErrorKind`; Linux and the BSDs number it 40 and 62.
            _ if cfg!(target_os = "linux") && err.raw_os_error() == Some(40) => Errno::ELOOP,
            _ if cfg!(target_vendor = "apple") && err.raw_os_error() == Some(62) => Errno::ELOOP,
            _ => Errno::EIO,
        }
    }
}

/// Why a mount could not be set up. These are host-side errors (bad archive, unreadable host
/// directory, bad mount point), reported before the guest runs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MountError {
    /// The tar archive could not be parsed.
    #[error("cannot read tar archive for mount \"{mount_point}\"")]
    TarRead {
        /// Guest path the archive was to be mounted at.
        mount_point: String,
        /// The parser's error.
        #[source]
        source: io::Error,
    },
    /// A tar entry was refused (escaping path, unsupported type, conflicting entry).
    #[error("tar entry \"{entry}\" refused: {reason}")]
    TarEntry {
        /// The entry's path as written in the archive.
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The zip archive could not be parsed (no central directory, truncated, duplicate
    /// names, unsupported compression).
    #[error("cannot read zip archive \"{archive}\": {detail}")]
    ZipRead {
        /// The archive's name as given to [`crate::ZipSource::new`].
        archive: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A zip entry was refused (escaping path, conflicting entry, missing member).
    #[error("zip entry \"{entry}\" of \"{archive}\" refused: {reason}")]
    ZipEntry {
        /// The archive's name as given to [`crate::ZipSource::new`].
        archive: String,
        /// The entry's path as written in the archive (or as placed, for a union mount).
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The host directory could not be opened.
    #[error("cannot open host directory \"{}\"", path.display())]
    HostDir {
        /// The host path.
        path: std::path::PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The mount point is not usable (not absolute, the root, not a directory, or not empty).
    #[error("cannot mount at \"{mount_point}\": {reason}")]
    MountPoint {
        /// The guest path.
        mount_point: String,
        /// What is wrong with it.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_wasi_table() {
        assert_eq!(Errno::ENOENT.code(), 44);
        assert_eq!(Errno::EACCES.code(), 2);
        assert_eq!(Errno::ENOTEMPTY.code(), 55);
        assert_eq!(Errno::EROFS.code(), 69);
        assert_eq!(Errno::EXDEV.code(), 75);
        assert_eq!(Errno::from_code(54), Some(Errno::ENOTDIR));
        // Emscripten's libc, not WASI: Python's errno.ENOTSUP is 138 under Pyodide.
        assert_eq!(Errno::ENOTSUP.code(), 138);
        assert_eq!(Errno::from_code(58), None);
        assert_eq!(Errno::from_code(1000), None);
        assert_eq!(
            Errno::ELOOP.to_string(),
            "too many levels of symbolic links (ELOOP)"
        );
    }

    #[test]
    fn io_errors_map_by_kind() {
        let e = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(Errno::from_io(&e), Errno::ENOENT);
        let e = io::Error::from(io::ErrorKind::DirectoryNotEmpty);
        assert_eq!(Errno::from_io(&e), Errno::ENOTEMPTY);
        let e = io::Error::other("x");
        assert_eq!(Errno::from_io(&e), Errno::EIO);
    }

    #[test]
    fn mount_error_messages_name_the_input() {
        let e = MountError::TarEntry {
            entry: "../etc/passwd".into(),
            reason: "path escapes the mount",
        };
        assert_eq!(
            e.to_string(),
            "tar entry \"../etc/passwd\" refused: path escapes the mount"
        );
    }
}
