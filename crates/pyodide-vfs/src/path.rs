//! Guest paths: bytes as the guest wrote them, never a host `Path`.

/// Longest path the VFS accepts (`PATH_MAX`), in bytes.
pub const PATH_MAX: usize = 4096;
/// Longest single component (`NAME_MAX`), in bytes.
pub const NAME_MAX: usize = 255;

/// A path in the guest's name space, borrowed from guest memory or a string.
///
/// It is only bytes: resolution (`.`, `..`, symlinks, mounts) happens inside the VFS, and a guest
/// path is never handed to the host OS. Build one with [`GuestPath::new`] or `From<&str>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct GuestPath<'a>(&'a [u8]);

impl<'a> GuestPath<'a> {
    /// Wrap raw bytes (without the C string's NUL).
    pub const fn new(bytes: &'a [u8]) -> GuestPath<'a> {
        GuestPath(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(self) -> &'a [u8] {
        self.0
    }

    /// Whether the path starts at the root.
    pub fn is_absolute(self) -> bool {
        self.0.first() == Some(&b'/')
    }

    /// Whether the path ends in `/` (so its final component must be a directory).
    pub fn has_trailing_slash(self) -> bool {
        self.0.len() > 1 && self.0.last() == Some(&b'/')
    }

    /// The non-empty components, in order (`.` and `..` included, repeated slashes skipped).
    pub fn components(self) -> impl DoubleEndedIterator<Item = &'a [u8]> {
        self.0.split(|b| *b == b'/').filter(|c| !c.is_empty())
    }
}

impl<'a> From<&'a str> for GuestPath<'a> {
    fn from(s: &'a str) -> GuestPath<'a> {
        GuestPath(s.as_bytes())
    }
}

impl<'a> From<&'a [u8]> for GuestPath<'a> {
    fn from(b: &'a [u8]) -> GuestPath<'a> {
        GuestPath(b)
    }
}

impl std::fmt::Debug for GuestPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GuestPath({:?})", String::from_utf8_lossy(self.0))
    }
}

impl std::fmt::Display for GuestPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_skip_repeated_slashes() {
        let p = GuestPath::from("//a/./b//");
        let comps: Vec<&[u8]> = p.components().collect();
        assert_eq!(comps, vec![&b"a"[..], b".", b"b"]);
        assert!(p.is_absolute());
        assert!(p.has_trailing_slash());
        assert!(!GuestPath::from("/").has_trailing_slash());
        assert!(!GuestPath::from("a").is_absolute());
    }
}
