//! The injected entropy source behind `/dev/random` and `/dev/urandom`.

/// Where `/dev/random` and `/dev/urandom` get their bytes.
///
/// The VFS does not decide entropy policy (deterministic while snapshotting, real afterwards):
/// the embedder injects a source.
pub trait EntropySource: Send {
    /// Fill `buf` completely.
    fn fill(&mut self, buf: &mut [u8]);
}

/// The operating system's entropy (`getrandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

impl EntropySource for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        if let Err(e) = getrandom::fill(buf) {
            // Without OS entropy there is nothing safe to hand out.
            panic!("operating system entropy unavailable: {e}");
        }
    }
}
