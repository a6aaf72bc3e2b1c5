//! Timestamps and the injected clock.

use std::sync::{Arc, Mutex};

/// Seconds and nanoseconds since the Unix epoch, as in `struct timespec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timespec {
    /// Whole seconds (negative before 1970).
    pub sec: i64,
    /// Nanoseconds, `0..1_000_000_000`.
    pub nsec: u32,
}

impl Timespec {
    /// A timestamp from seconds and nanoseconds.
    pub const fn new(sec: i64, nsec: u32) -> Timespec {
        Timespec { sec, nsec }
    }

    /// This time cut to the millisecond: the precision of file times under Emscripten, whose
    /// file systems take them from JavaScript `Date`s.
    pub const fn to_millis(self) -> Timespec {
        Timespec {
            sec: self.sec,
            nsec: self.nsec / 1_000_000 * 1_000_000,
        }
    }
}

/// A new timestamp for `utimensat`: a value, "now" (`UTIME_NOW`) or "leave it" (`UTIME_OMIT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetTime {
    /// `UTIME_NOW`: the clock's current time.
    Now,
    /// `UTIME_OMIT`: unchanged.
    Omit,
    /// This time.
    To(Timespec),
}

impl SetTime {
    /// `UTIME_NOW` as Emscripten defines it.
    pub const UTIME_NOW: u32 = 0x3fff_ffff;
    /// `UTIME_OMIT` as Emscripten defines it.
    pub const UTIME_OMIT: u32 = 0x3fff_fffe;

    /// Decode a raw `{sec, nsec}` pair from `utimensat`'s `times` array.
    pub const fn from_raw(sec: i64, nsec: u32) -> SetTime {
        match nsec {
            Self::UTIME_NOW => SetTime::Now,
            Self::UTIME_OMIT => SetTime::Omit,
            _ => SetTime::To(Timespec { sec, nsec }),
        }
    }
}

/// The wall clock the VFS stamps files with. Injected so tests are deterministic.
pub trait Clock: Send {
    /// The current time.
    fn now(&self) -> Timespec;
}

/// The host's real-time clock, to the millisecond as Emscripten's `Date.now()` stamps files
/// (so a time copied with `os.utime`'s microseconds compares equal to the original).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timespec {
        Self::precise().to_millis()
    }
}

impl SystemClock {
    fn precise() -> Timespec {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Timespec::new(d.as_secs() as i64, d.subsec_nanos()),
            Err(e) => {
                let d = e.duration();
                if d.subsec_nanos() == 0 {
                    Timespec::new(-(d.as_secs() as i64), 0)
                } else {
                    Timespec::new(-(d.as_secs() as i64) - 1, 1_000_000_000 - d.subsec_nanos())
                }
            }
        }
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<Mutex<Timespec>>);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timespec) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    /// Set the time.
    pub fn set(&self, t: Timespec) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timespec {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_utime_values_decode() {
        assert_eq!(SetTime::from_raw(5, 0x3fff_ffff), SetTime::Now);
        assert_eq!(SetTime::from_raw(5, 0x3fff_fffe), SetTime::Omit);
        assert_eq!(SetTime::from_raw(5, 7), SetTime::To(Timespec::new(5, 7)));
    }

    #[test]
    fn manual_clock_is_shared_between_clones() {
        let c = ManualClock::new(Timespec::new(1, 2));
        let d = c.clone();
        c.set(Timespec::new(3, 4));
        assert_eq!(d.now(), Timespec::new(3, 4));
        assert!(SystemClock.now().sec > 1_600_000_000);
    }

    #[test]
    fn file_times_have_millisecond_precision() {
        assert_eq!(
            Timespec::new(7, 123_456_789).to_millis(),
            Timespec::new(7, 123_000_000)
        );
        assert_eq!(SystemClock.now().nsec % 1_000_000, 0);
    }
}
