//! Host ends of the guest's stdin, stdout and stderr.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

/// A byte buffer shared between the VFS (which appends guest output) and the embedder.
#[derive(Debug, Clone, Default)]
pub struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// An empty buffer.
    pub fn new() -> SharedBuffer {
        SharedBuffer::default()
    }

    /// A copy of everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.lock().clone()
    }

    /// Everything written so far, leaving the buffer empty.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A callback receiving guest output.
pub type OutputCallback = Box<dyn FnMut(&[u8]) + Send>;
/// A callback filling a buffer with guest input; returns the count (0 = end of file).
pub type InputCallback = Box<dyn FnMut(&mut [u8]) -> usize + Send>;

/// Where guest output on a stdio stream goes.
#[non_exhaustive]
pub enum OutputSink {
    /// Dropped (the default: nothing leaves the sandbox unless asked for).
    Discard,
    /// The host process's own stdout.
    InheritStdout,
    /// The host process's own stderr.
    InheritStderr,
    /// Appended to a shared buffer.
    Capture(SharedBuffer),
    /// Handed to a callback, one write at a time.
    Callback(OutputCallback),
}

impl OutputSink {
    /// Whether this sink is a terminal of the host (only inherited streams
    /// can be).
    pub fn is_terminal(&self) -> bool {
        use std::io::IsTerminal;
        match self {
            OutputSink::InheritStdout => std::io::stdout().is_terminal(),
            OutputSink::InheritStderr => std::io::stderr().is_terminal(),
            _ => false,
        }
    }

    pub(crate) fn write(&mut self, buf: &[u8]) -> usize {
        match self {
            OutputSink::Discard => {}
            OutputSink::InheritStdout => {
                let mut out = std::io::stdout().lock();
                // A host stdout that fails is not the guest's problem; its bytes are dropped.
                let _ = out.write_all(buf).and_then(|()| out.flush());
            }
            OutputSink::InheritStderr => {
                let _ = std::io::stderr().lock().write_all(buf);
            }
            OutputSink::Capture(b) => b.lock().extend_from_slice(buf),
            OutputSink::Callback(f) => f(buf),
        }
        buf.len()
    }
}

impl std::fmt::Debug for OutputSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputSink::Discard => f.write_str("Discard"),
            OutputSink::InheritStdout => f.write_str("InheritStdout"),
            OutputSink::InheritStderr => f.write_str("InheritStderr"),
            OutputSink::Capture(b) => f.debug_tuple("Capture").field(b).finish(),
            OutputSink::Callback(_) => f.write_str("Callback(..)"),
        }
    }
}

/// Where guest reads of stdin come from.
#[non_exhaustive]
pub enum InputSource {
    /// End of file at once (the default).
    Empty,
    /// The host process's own stdin.
    Inherit,
    /// These bytes, then end of file.
    Bytes(std::io::Cursor<Vec<u8>>),
    /// A callback that fills the buffer and returns the count (0 = end of file).
    Callback(InputCallback),
}

impl InputSource {
    /// Whether this source is a terminal of the host.
    pub fn is_terminal(&self) -> bool {
        use std::io::IsTerminal;
        matches!(self, InputSource::Inherit) && std::io::stdin().is_terminal()
    }

    /// A source that yields `bytes` then end of file.
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> InputSource {
        InputSource::Bytes(std::io::Cursor::new(bytes.into()))
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> usize {
        match self {
            InputSource::Empty => 0,
            InputSource::Inherit => std::io::stdin().lock().read(buf).unwrap_or(0),
            InputSource::Bytes(c) => c.read(buf).unwrap_or(0),
            InputSource::Callback(f) => f(buf).min(buf.len()),
        }
    }
}

impl std::fmt::Debug for InputSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputSource::Empty => f.write_str("Empty"),
            InputSource::Inherit => f.write_str("Inherit"),
            InputSource::Bytes(c) => write!(f, "Bytes({} bytes)", c.get_ref().len()),
            InputSource::Callback(_) => f.write_str("Callback(..)"),
        }
    }
}
