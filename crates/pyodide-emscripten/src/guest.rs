//! Bounds-checked access to guest linear memory.
//!
//! Every read or write of guest memory made by an import goes through
//! [`Guest`]: a pointer and a length from the guest are checked against the
//! memory's current size before any byte is touched, and a guest-supplied
//! length never sizes a host allocation without a cap. An access out of
//! bounds is `EFAULT` for the guest, never a host panic.

use pyodide_vfs::Errno;

/// Largest host buffer an import allocates on the guest's say-so (a read or
/// write larger than this is done in several rounds or truncated).
pub(crate) const MAX_HOST_BUFFER: usize = 16 << 20;

/// A view of linear memory during one import call.
pub(crate) struct Guest<'a> {
    bytes: &'a mut [u8],
}

impl<'a> Guest<'a> {
    pub(crate) fn new(bytes: &'a mut [u8]) -> Self {
        Guest { bytes }
    }

    fn range(&self, ptr: u32, len: usize) -> Result<std::ops::Range<usize>, Errno> {
        let start = ptr as usize;
        let end = start.checked_add(len).ok_or(Errno::EFAULT)?;
        if end > self.bytes.len() {
            return Err(Errno::EFAULT);
        }
        Ok(start..end)
    }

    /// The `len` bytes at `ptr`.
    pub(crate) fn slice(&self, ptr: u32, len: usize) -> Result<&[u8], Errno> {
        let range = self.range(ptr, len)?;
        Ok(&self.bytes[range])
    }

    /// The `len` bytes at `ptr`, writable.
    pub(crate) fn slice_mut(&mut self, ptr: u32, len: usize) -> Result<&mut [u8], Errno> {
        let range = self.range(ptr, len)?;
        Ok(&mut self.bytes[range])
    }

    pub(crate) fn read<const N: usize>(&self, ptr: u32) -> Result<[u8; N], Errno> {
        Ok(self.slice(ptr, N)?.try_into().expect("slice has N bytes"))
    }

    pub(crate) fn u32(&self, ptr: u32) -> Result<u32, Errno> {
        Ok(u32::from_le_bytes(self.read(ptr)?))
    }

    pub(crate) fn i32(&self, ptr: u32) -> Result<i32, Errno> {
        Ok(i32::from_le_bytes(self.read(ptr)?))
    }

    pub(crate) fn i64(&self, ptr: u32) -> Result<i64, Errno> {
        Ok(i64::from_le_bytes(self.read(ptr)?))
    }

    pub(crate) fn write_bytes(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), Errno> {
        self.slice_mut(ptr, bytes.len())?.copy_from_slice(bytes);
        Ok(())
    }

    pub(crate) fn write_u16(&mut self, ptr: u32, value: u16) -> Result<(), Errno> {
        self.write_bytes(ptr, &value.to_le_bytes())
    }

    pub(crate) fn write_u32(&mut self, ptr: u32, value: u32) -> Result<(), Errno> {
        self.write_bytes(ptr, &value.to_le_bytes())
    }

    pub(crate) fn write_i32(&mut self, ptr: u32, value: i32) -> Result<(), Errno> {
        self.write_bytes(ptr, &value.to_le_bytes())
    }

    pub(crate) fn write_u64(&mut self, ptr: u32, value: u64) -> Result<(), Errno> {
        self.write_bytes(ptr, &value.to_le_bytes())
    }

    #[cfg(test)]
    pub(crate) fn write_i64(&mut self, ptr: u32, value: i64) -> Result<(), Errno> {
        self.write_bytes(ptr, &value.to_le_bytes())
    }

    /// The NUL-terminated string at `ptr`, without its NUL; at most `max`
    /// bytes are scanned (`ENAMETOOLONG` past that).
    pub(crate) fn c_str(&self, ptr: u32, max: usize) -> Result<&[u8], Errno> {
        let start = ptr as usize;
        if start >= self.bytes.len() {
            return Err(Errno::EFAULT);
        }
        let window = &self.bytes[start..self.bytes.len().min(start.saturating_add(max + 1))];
        match window.iter().position(|&b| b == 0) {
            Some(len) => Ok(&window[..len]),
            None if window.len() > max => Err(Errno::ENAMETOOLONG),
            None => Err(Errno::EFAULT),
        }
    }

    /// Writes `bytes` and a NUL at `ptr`.
    pub(crate) fn write_c_str(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), Errno> {
        let out = self.slice_mut(ptr, bytes.len() + 1)?;
        out[..bytes.len()].copy_from_slice(bytes);
        out[bytes.len()] = 0;
        Ok(())
    }

    /// The WASI iovec array `{u32 ptr, u32 len}` × `count` at `iovs`.
    pub(crate) fn iovecs(&self, iovs: u32, count: u32) -> Result<Vec<(u32, u32)>, Errno> {
        let count = count as usize;
        if count > 1024 {
            return Err(Errno::EINVAL);
        }
        let raw = self.slice(iovs, count * 8)?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| {
                let ptr = u32::from_le_bytes(c[0..4].try_into().expect("4 bytes"));
                let len = u32::from_le_bytes(c[4..8].try_into().expect("4 bytes"));
                (ptr, len)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_bounds_is_efault_not_a_panic() {
        let mut bytes = vec![0u8; 16];
        let mut guest = Guest::new(&mut bytes);
        assert_eq!(guest.slice(10, 6).map(<[u8]>::len), Ok(6));
        assert_eq!(guest.slice(10, 7).err(), Some(Errno::EFAULT));
        assert_eq!(guest.slice(u32::MAX, 2).err(), Some(Errno::EFAULT));
        assert_eq!(guest.write_u64(12, 1).err(), Some(Errno::EFAULT));
        assert_eq!(guest.u32(13).err(), Some(Errno::EFAULT));
    }

    #[test]
    fn c_strings_are_bounded() {
        let mut bytes = b"abc\0defgh".to_vec();
        let mut guest = Guest::new(&mut bytes);
        assert_eq!(guest.c_str(0, 10), Ok(&b"abc"[..]));
        assert_eq!(guest.c_str(0, 2).err(), Some(Errno::ENAMETOOLONG));
        // No NUL before the end of memory.
        assert_eq!(guest.c_str(4, 100).err(), Some(Errno::EFAULT));
        guest.write_c_str(4, b"xy").unwrap();
        assert_eq!(guest.c_str(4, 10), Ok(&b"xy"[..]));
    }
}
