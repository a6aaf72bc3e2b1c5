//! Anonymous pipes: a bounded byte queue shared by a read end and a write end.
//!
//! The guest is single-threaded, so an operation that would block can never be woken: a read
//! of an empty pipe whose write end is still open, or a write to a full one, answers `EAGAIN`
//! whatever `O_NONBLOCK` says (as Emscripten's pipes do). Unlike Emscripten's, these pipes keep
//! POSIX's end-of-file and broken-pipe rules: an empty pipe with no writer left reads as end of
//! file, and writing with no reader left is `EPIPE`.

use std::collections::VecDeque;

use crate::errno::Errno;

/// Bytes a pipe holds before writes answer `EAGAIN`. Host memory, so bounded.
pub const PIPE_CAPACITY: usize = 1 << 20;

/// Which end of a pipe a descriptor holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PipeEnd {
    Read,
    Write,
}

/// What `poll` reports for one end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness {
    /// A read would not fail with `EAGAIN` (data, or end of file).
    pub readable: bool,
    /// A write would not fail with `EAGAIN` (room, or `EPIPE`).
    pub writable: bool,
    /// The other end is closed (`POLLHUP` for a read end).
    pub hangup: bool,
    /// Writing would fail with `EPIPE` (`POLLERR` for a write end).
    pub error: bool,
}

impl Readiness {
    /// An ordinary file or device: always ready.
    pub(crate) const ALWAYS: Readiness = Readiness {
        readable: true,
        writable: true,
        hangup: false,
        error: false,
    };
}

#[derive(Debug)]
pub(crate) struct Pipe {
    data: VecDeque<u8>,
    readers: u32,
    writers: u32,
}

impl Pipe {
    /// A pipe with one open read end and one open write end.
    pub(crate) fn new() -> Pipe {
        Pipe {
            data: VecDeque::new(),
            readers: 1,
            writers: 1,
        }
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.data.is_empty() {
            return if self.writers == 0 {
                Ok(0)
            } else {
                Err(Errno::EAGAIN)
            };
        }
        let n = buf.len().min(self.data.len());
        for (slot, byte) in buf.iter_mut().zip(self.data.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }

    pub(crate) fn write(&mut self, buf: &[u8]) -> Result<usize, Errno> {
        if self.readers == 0 {
            return Err(Errno::EPIPE);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let room = PIPE_CAPACITY - self.data.len();
        if room == 0 {
            return Err(Errno::EAGAIN);
        }
        let n = buf.len().min(room);
        self.data.extend(&buf[..n]);
        Ok(n)
    }

    pub(crate) fn readiness(&self, end: PipeEnd) -> Readiness {
        match end {
            PipeEnd::Read => Readiness {
                readable: !self.data.is_empty() || self.writers == 0,
                writable: false,
                hangup: self.writers == 0,
                error: false,
            },
            PipeEnd::Write => Readiness {
                readable: false,
                writable: self.readers == 0 || self.data.len() < PIPE_CAPACITY,
                hangup: false,
                error: self.readers == 0,
            },
        }
    }

    /// The last descriptor of `end` was closed.
    pub(crate) fn close(&mut self, end: PipeEnd) {
        match end {
            PipeEnd::Read => self.readers -= 1,
            PipeEnd::Write => self.writers -= 1,
        }
    }

    /// Both ends are closed.
    pub(crate) fn is_unused(&self) -> bool {
        self.readers == 0 && self.writers == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_come_out_in_order_across_reads() {
        let mut pipe = Pipe::new();
        assert_eq!(pipe.write(b"hello "), Ok(6));
        assert_eq!(pipe.write(b"world"), Ok(5));
        let mut buf = [0; 4];
        assert_eq!(pipe.read(&mut buf), Ok(4));
        assert_eq!(&buf, b"hell");
        let mut rest = [0; 16];
        assert_eq!(pipe.read(&mut rest), Ok(7));
        assert_eq!(&rest[..7], b"o world");
    }

    #[test]
    fn empty_pipe_is_eagain_while_a_writer_lives_then_end_of_file() {
        let mut pipe = Pipe::new();
        let mut buf = [0; 4];
        assert_eq!(pipe.read(&mut buf), Err(Errno::EAGAIN));
        assert!(!pipe.readiness(PipeEnd::Read).readable);
        pipe.write(b"x").unwrap();
        pipe.close(PipeEnd::Write);
        assert_eq!(pipe.read(&mut buf), Ok(1));
        assert_eq!(pipe.read(&mut buf), Ok(0));
        let ready = pipe.readiness(PipeEnd::Read);
        assert!(ready.readable && ready.hangup);
    }

    #[test]
    fn writing_without_a_reader_is_epipe() {
        let mut pipe = Pipe::new();
        pipe.close(PipeEnd::Read);
        assert_eq!(pipe.write(b"x"), Err(Errno::EPIPE));
        assert!(pipe.readiness(PipeEnd::Write).error);
        pipe.close(PipeEnd::Write);
        assert!(pipe.is_unused());
    }

    #[test]
    fn a_full_pipe_takes_what_fits_then_eagain() {
        let mut pipe = Pipe::new();
        let big = vec![7u8; PIPE_CAPACITY + 10];
        assert_eq!(pipe.write(&big), Ok(PIPE_CAPACITY));
        assert!(!pipe.readiness(PipeEnd::Write).writable);
        assert_eq!(pipe.write(b"more"), Err(Errno::EAGAIN));
        let mut buf = [0; 10];
        assert_eq!(pipe.read(&mut buf), Ok(10));
        assert_eq!(pipe.write(b"more"), Ok(4));
    }
}
