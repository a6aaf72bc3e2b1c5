//! Interrupting a running guest, and the waits an interrupt ends.
//!
//! CPython built for Emscripten has a hook for signals that arrive while
//! Python code runs: when the byte at its exported
//! `Py_EMSCRIPTEN_SIGNAL_HANDLING` is set, it calls the import
//! `_Py_CheckEmscriptenSignals_Helper` every 50 times it checks its eval
//! breaker (and whenever `PyErr_CheckSignals` runs), and raises the signal
//! it answers as if the process had received it: 2 is `SIGINT`, which the
//! default handler turns into `KeyboardInterrupt`. Pyodide on Node answers
//! from a `SharedArrayBuffer` another thread writes; here the answer is an
//! [`InterruptHandle`], an atomic that any thread (a Ctrl-C handler, a
//! server's request deadline) may set. The import takes the value and
//! clears it, so one interrupt raises once.
//!
//! A guest that waits — `poll` or `select` with a timeout, which is also
//! what `time.sleep` becomes (see [`crate::sleep_form`]) — sleeps on the
//! host for real instead of spinning, in slices of [`WAIT_SLICE`] so an
//! interrupt ends the wait within one slice. The wait then hands the signal
//! to CPython itself (`PyErr_SetInterruptEx`, safe to call at any point: it
//! only sets flags) and fails with `EINTR`, so Python raises
//! `KeyboardInterrupt` from the call that waited, as native Python does.
//!
//! One difference remains: natively, a `time.sleep` whose `SIGINT` handler
//! returns without raising (a custom handler, or `SIG_IGN`) sleeps on for
//! the time left (PEP 475); here that sleep ends early, because Emscripten's
//! `clock_nanosleep` reports success whenever `emscripten_thread_sleep`
//! returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// `SIGINT`: the signal CPython turns into `KeyboardInterrupt`.
pub const SIGINT: i32 = 2;

/// Longest stretch a guest's wait sleeps before it looks for an interrupt.
pub const WAIT_SLICE: Duration = Duration::from_millis(10);

/// Raises `KeyboardInterrupt` in a running guest from any thread. Clones
/// share one pending signal. Setting it is a single atomic store, so it may
/// be done from a signal handler.
#[derive(Debug, Clone, Default)]
pub struct InterruptHandle {
    pending: Arc<AtomicI32>,
}

impl InterruptHandle {
    /// A handle with nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the guest to raise `KeyboardInterrupt` (`SIGINT`) at its next
    /// check. Asking again before the guest has taken it changes nothing.
    pub fn interrupt(&self) {
        self.pending.store(SIGINT, Ordering::SeqCst);
    }

    /// Whether an interrupt was asked for that the guest has not taken yet
    /// (a guest blocked outside Python, or one that never enabled the hook,
    /// does not take it).
    pub fn is_pending(&self) -> bool {
        self.pending.load(Ordering::SeqCst) != 0
    }

    /// Takes the pending signal (0 for none), leaving none.
    pub(crate) fn take(&self) -> i32 {
        self.pending.swap(0, Ordering::SeqCst)
    }

    /// Sleeps for `timeout` (`None`: until interrupted). Returns `true` when
    /// an interrupt ended the sleep early; the signal stays pending.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if self.is_pending() {
                return true;
            }
            let slice = match deadline {
                None => WAIT_SLICE,
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    left.min(WAIT_SLICE)
                }
            };
            std::thread::sleep(slice);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupt_is_taken_once() {
        let handle = InterruptHandle::new();
        assert!(!handle.is_pending());
        assert_eq!(handle.take(), 0);
        handle.clone().interrupt();
        assert!(handle.is_pending());
        assert_eq!(handle.take(), SIGINT);
        assert_eq!(handle.take(), 0);
        assert!(!handle.is_pending());
    }

    #[test]
    fn a_wait_runs_out_or_ends_at_an_interrupt() {
        let handle = InterruptHandle::new();
        let started = Instant::now();
        assert!(!handle.wait(Some(Duration::from_millis(30))));
        assert!(started.elapsed() >= Duration::from_millis(30));

        let other = handle.clone();
        let interrupter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            other.interrupt();
        });
        // Without a timeout only the interrupt can end the wait.
        assert!(handle.wait(None));
        interrupter.join().unwrap();
        assert!(handle.is_pending(), "the wait leaves the signal pending");
    }
}
