//! Ctrl-C while Python runs, as `python` handles it: `SIGINT` raises
//! `KeyboardInterrupt` in the script (so `finally` blocks, context managers
//! and `atexit` handlers run and buffered output is flushed), and a script
//! that does not catch it ends the process by `SIGINT`, which a shell shows
//! as status 130.
//!
//! The signal is received on a thread of its own (signal-hook's iterator)
//! and handed to the interpreter's [`InterruptHandle`]. A second Ctrl-C
//! while the first is still untaken — the guest is blocked outside Python,
//! in a read of stdin for example — ends the process at once, as an
//! unhandled `SIGINT` would.

use anyhow::{Context, Result};
use pyodide_entrypoint::InterruptHandle;
use signal_hook::consts::SIGINT;
use signal_hook::iterator::Signals;
use signal_hook::low_level::emulate_default_handler;

/// Hands every `SIGINT` this process receives from now on to `handle`.
pub(crate) fn forward_sigint(handle: InterruptHandle) -> Result<()> {
    let mut signals = Signals::new([SIGINT]).context("cannot install the Ctrl-C handler")?;
    std::thread::Builder::new()
        .name("sigint".to_owned())
        .spawn(move || {
            for _ in signals.forever() {
                if handle.is_pending() {
                    let _ = emulate_default_handler(SIGINT);
                }
                handle.interrupt();
            }
        })
        .context("cannot start the Ctrl-C thread")?;
    Ok(())
}

/// Ends the process as `python` does after an uncaught `KeyboardInterrupt`:
/// by `SIGINT` with its default action (130 should that fail).
pub(crate) fn exit_by_sigint() -> ! {
    let _ = emulate_default_handler(SIGINT);
    std::process::exit(130)
}
