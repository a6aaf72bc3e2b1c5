//! Clocks and calendar imports: `emscripten_date_now`, `emscripten_get_now`,
//! `_localtime_js`, `_gmtime_js`, `_mktime_js`, `_timegm_js`, `_tzset_js`,
//! `_setitimer_js`, and [`wall_clock_nanos`] for WASI's `clock_time_get`.
//!
//! # Time zone
//!
//! Local time is UTC: the host's time zone and `TZ` are not consulted. This is
//! what Pyodide on Node shows on a machine whose zone is UTC, which is the
//! output this host is compared with byte for byte: `_tzset_js` reports
//! `timezone = 0`, `daylight = 0` and the zone names `UTC-0000` (Emscripten
//! spells a zone `UTC±hhmm` with the sign of JavaScript's
//! `getTimezoneOffset()`, which is `-` for UTC), so Python's `time.tzname` is
//! `('UTC-0000', 'UTC-0000')`.
//!
//! # Calendar arithmetic
//!
//! The calendar imports reproduce JavaScript's `Date` (as V8 implements it),
//! which is what Emscripten's glue calls, including its visible quirks:
//!
//! * a time value is valid only within ±8.64e15 ms of the epoch (years
//!   −271821 to 275760); outside, every field JavaScript writes is `NaN`,
//!   which lands in memory as 0 (so `time.gmtime(1e13)` is
//!   `(1900, 1, 0, 0, 0, 0, 6, 1, 0)` in Python) and `_mktime_js` returns −1;
//! * `new Date(y, …)` and `Date.UTC(y, …)` read a year 0..=99 as 1900 + y, so
//!   `mktime` of year 50 gives 1950, and `gmtime`'s `tm_yday` is counted from
//!   1 January 19yy for the years 0..=99;
//! * `_mktime_js` rolls out-of-range fields over, writes the normalised fields
//!   back with `tm_wday`/`tm_yday`, and sets a negative `tm_isdst` to 0 (a
//!   positive one is left alone); `_timegm_js` writes only `tm_wday` and
//!   `tm_yday`.
//!
//! Where JavaScript would throw instead (`_timegm_js` of an invalid date makes
//! `BigInt(NaN)`), this host returns −1.
//!
//! # Clock resolution
//!
//! Node's `Date.now()` has millisecond resolution. This host reads the system
//! clock at full resolution and truncates it to microseconds, for both
//! `emscripten_date_now` (fractional milliseconds) and [`wall_clock_nanos`], so
//! `time.time()` has microsecond resolution and never runs ahead of file
//! timestamps taken after it. `emscripten_get_now` is monotonic milliseconds
//! since the host state was built, with nanosecond precision.

use std::time::{SystemTime, UNIX_EPOCH};

use pyodide_vfs::Errno;
use wasmtime::{Caller, Linker};

use crate::guest::Guest;
use crate::linker::{CtxGetter, with_guest};

const ENV: &str = "env";

/// Milliseconds per day.
const MS_PER_DAY: i64 = 86_400_000;
/// Largest magnitude of a valid JavaScript time value (`TimeClip`).
const MAX_TIME_MS: i64 = 8_640_000_000_000_000;
/// V8's `MakeDay` answers `NaN` for years outside this range…
const MAX_YEAR: i64 = 1_000_000;
/// …and for months outside this one.
const MAX_MONTH: i64 = 10_000_000;

/// The zone name `_tzset_js` writes for both standard and daylight time.
const UTC_ZONE_NAME: &[u8] = b"UTC-0000";
/// Size of the `std_name` / `dst_name` buffers `_tzset_js` receives.
const ZONE_NAME_BUFFER: usize = 17;

/// Bytes of `struct tm` that `_localtime_js` fills (`tm_sec` to `tm_gmtoff`).
const TM_LOCAL_BYTES: usize = 40;

/// Registers the clock and calendar imports.
pub(crate) fn add<T: 'static>(linker: &mut Linker<T>, get: CtxGetter<T>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "emscripten_date_now", |_: Caller<'_, T>| -> f64 {
        wall_clock_micros() as f64 / 1000.0
    })?;
    linker.func_wrap(
        ENV,
        "emscripten_get_now",
        move |mut caller: Caller<'_, T>| -> f64 {
            get(caller.data_mut()).started.elapsed().as_nanos() as f64 / 1e6
        },
    )?;
    // JavaScript ignores stores outside its heap, so a bad `tm` pointer is
    // ignored here too rather than trapping.
    linker.func_wrap(
        ENV,
        "_localtime_js",
        move |mut caller: Caller<'_, T>, t: i64, tm: i32| {
            with_guest(&mut caller, get, |_, guest| {
                let _ = guest.write_bytes(tm as u32, &encode_local_tm(&localtime(t)));
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "_gmtime_js",
        move |mut caller: Caller<'_, T>, t: i64, tm: i32| {
            with_guest(&mut caller, get, |_, guest| {
                let _ = write_words(guest, tm as u32, &gmtime(t).words()[..8]);
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "_mktime_js",
        move |mut caller: Caller<'_, T>, tm: i32| {
            with_guest(&mut caller, get, |_, guest| {
                let Ok(input) = read_tm(guest, tm as u32) else {
                    return -1;
                };
                let (out, seconds) = mktime(input);
                let words = out.words();
                let _ = write_words(guest, tm as u32, &words[..8]);
                if input.isdst < 0 {
                    let _ = guest.write_i32(tm as u32 + 32, out.isdst);
                }
                seconds
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "_timegm_js",
        move |mut caller: Caller<'_, T>, tm: i32| {
            with_guest(&mut caller, get, |_, guest| {
                let Ok(input) = read_tm(guest, tm as u32) else {
                    return -1;
                };
                let (wday, yday, seconds) = timegm(input);
                let _ = write_words(guest, tm as u32 + 24, &[wday, yday]);
                seconds
            })
        },
    )?;
    linker.func_wrap(
        ENV,
        "_tzset_js",
        move |mut caller: Caller<'_, T>,
              timezone: i32,
              daylight: i32,
              std_name: i32,
              dst_name: i32| {
            with_guest(&mut caller, get, |_, guest| {
                let _ = guest.write_u32(timezone as u32, 0);
                let _ = guest.write_i32(daylight as u32, 0);
                for name in [std_name, dst_name] {
                    let _ = guest.write_c_str(name as u32, zone_name());
                }
            })
        },
    )?;
    // CPython's `signal` module has no `setitimer` or `alarm` in this build;
    // only C extensions reach this. There is no event loop to deliver a timer
    // from, so arming one fails (libc returns the value as is); disarming is
    // trivially done.
    linker.func_wrap(
        ENV,
        "_setitimer_js",
        |_: Caller<'_, T>, _which: i32, ms: f64| -> i32 { setitimer_result(ms) },
    )?;
    Ok(())
}

/// Wall-clock time in nanoseconds since the epoch, truncated to microseconds
/// (0 if the system clock is before 1970).
pub(crate) fn wall_clock_nanos() -> u64 {
    u64::try_from(wall_clock_micros())
        .unwrap_or(0)
        .saturating_mul(1000)
}

/// Wall-clock time in whole microseconds since the epoch (negative before it).
fn wall_clock_micros() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

fn zone_name() -> &'static [u8] {
    debug_assert!(UTC_ZONE_NAME.len() < ZONE_NAME_BUFFER);
    UTC_ZONE_NAME
}

fn setitimer_result(ms: f64) -> i32 {
    if ms == 0.0 { 0 } else { -Errno::ENOSYS.code() }
}

/// The first nine fields of `struct tm` (all `int`), in memory order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Tm {
    pub(crate) sec: i32,
    pub(crate) min: i32,
    pub(crate) hour: i32,
    pub(crate) mday: i32,
    /// Month, 0 = January.
    pub(crate) mon: i32,
    /// Years since 1900.
    pub(crate) year: i32,
    /// Day of the week, 0 = Sunday.
    pub(crate) wday: i32,
    /// Day of the year, 0 = 1 January.
    pub(crate) yday: i32,
    pub(crate) isdst: i32,
}

impl Tm {
    fn from_words(w: [i32; 9]) -> Tm {
        Tm {
            sec: w[0],
            min: w[1],
            hour: w[2],
            mday: w[3],
            mon: w[4],
            year: w[5],
            wday: w[6],
            yday: w[7],
            isdst: w[8],
        }
    }

    fn words(&self) -> [i32; 9] {
        [
            self.sec, self.min, self.hour, self.mday, self.mon, self.year, self.wday, self.yday,
            self.isdst,
        ]
    }
}

fn read_tm(guest: &Guest<'_>, ptr: u32) -> Result<Tm, Errno> {
    let bytes = guest.slice(ptr, 36)?;
    let mut words = [0i32; 9];
    for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
        *w = i32::from_le_bytes(chunk.try_into().expect("4 bytes"));
    }
    Ok(Tm::from_words(words))
}

fn write_words(guest: &mut Guest<'_>, ptr: u32, words: &[i32]) -> Result<(), Errno> {
    let out = guest.slice_mut(ptr, words.len() * 4)?;
    for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    Ok(())
}

/// `struct tm` from `tm_sec` to `tm_gmtoff` as `_localtime_js` writes it
/// (`tm_gmtoff` is 0: local time is UTC).
fn encode_local_tm(tm: &Tm) -> [u8; TM_LOCAL_BYTES] {
    let mut out = [0u8; TM_LOCAL_BYTES];
    for (chunk, w) in out.chunks_exact_mut(4).zip(tm.words()) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    // tm_gmtoff at 36 stays 0.
    out
}

/// A calendar date and time of day, from a valid time value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    /// 0 = January.
    mon: i64,
    mday: i64,
    hour: i64,
    min: i64,
    sec: i64,
    /// 0 = Sunday.
    wday: i64,
    /// 0 = 1 January.
    yday: i64,
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days before the first of each month (0 = January) in a common year.
const DAYS_BEFORE_MONTH: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

fn day_of_year(year: i64, mon: i64, mday: i64) -> i64 {
    let leap_day = i64::from(mon >= 2 && is_leap(year));
    DAYS_BEFORE_MONTH[mon as usize] + leap_day + mday - 1
}

/// Days from 1970-01-01 to the proleptic Gregorian `year`-`month`-`day`
/// (`month` 1..=12). Counts in 400-year eras whose years start in March, so
/// the leap day is the last day of its year.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719 468 days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month 1..=12, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// JavaScript's `MakeDay` with V8's argument limits (`None` is `NaN`).
fn make_day(year: i64, month: i64, date: i64) -> Option<i64> {
    if !(-MAX_YEAR..=MAX_YEAR).contains(&year) || !(-MAX_MONTH..=MAX_MONTH).contains(&month) {
        return None;
    }
    let year = year + month.div_euclid(12);
    let month = month.rem_euclid(12);
    Some(days_from_civil(year, month + 1, 1) + date - 1)
}

/// JavaScript's `TimeClip` for integral time values.
fn time_clip(t: i64) -> Option<i64> {
    (t.abs() <= MAX_TIME_MS).then_some(t)
}

/// The year `new Date(y, …)` and `Date.UTC(y, …)` use for `y`.
fn js_year(year: i64) -> i64 {
    if (0..=99).contains(&year) {
        1900 + year
    } else {
        year
    }
}

/// `Date.UTC(year, mon, mday, hour, min, sec, 0)` (also `new Date(…)` in a
/// UTC zone), in milliseconds.
fn date_utc(year: i64, mon: i64, mday: i64, hour: i64, min: i64, sec: i64) -> Option<i64> {
    let day = make_day(js_year(year), mon, mday)?;
    // Exact in i64 (and in V8's doubles) for `int` fields.
    let time = hour * 3_600_000 + min * 60_000 + sec * 1000;
    time_clip(day * MS_PER_DAY + time)
}

/// The calendar fields of a valid time value (UTC).
fn civil(t_ms: i64) -> Civil {
    let days = t_ms.div_euclid(MS_PER_DAY);
    let ms = t_ms.rem_euclid(MS_PER_DAY);
    let (year, month, mday) = civil_from_days(days);
    Civil {
        year,
        mon: month - 1,
        mday,
        hour: ms / 3_600_000,
        min: ms / 60_000 % 60,
        sec: ms / 1000 % 60,
        wday: (days + 4).rem_euclid(7),
        yday: day_of_year(year, month - 1, mday),
    }
}

/// A `time_t` as a valid time value in milliseconds, if JavaScript's `Date`
/// can hold it.
fn time_value(t: i64) -> Option<i64> {
    time_clip(t.checked_mul(1000)?)
}

/// The fields from `tm_sec` to `tm_yday` of a valid time value; `tm_yday`
/// from the month tables (as `_localtime_js` and `_mktime_js` compute it).
fn tm_of(t_ms: i64) -> Tm {
    let c = civil(t_ms);
    Tm {
        sec: c.sec as i32,
        min: c.min as i32,
        hour: c.hour as i32,
        mday: c.mday as i32,
        mon: c.mon as i32,
        year: (c.year - 1900) as i32,
        wday: c.wday as i32,
        yday: c.yday as i32,
        isdst: 0,
    }
}

/// `_localtime_js`: local time (UTC) of `t`, `tm_isdst` 0; all zero if
/// JavaScript's `Date` cannot hold `t`.
pub(crate) fn localtime(t: i64) -> Tm {
    time_value(t).map(tm_of).unwrap_or_default()
}

/// `_gmtime_js`: the first eight fields; `tm_yday` counted from `Date.UTC` of
/// 1 January of the year, as Emscripten does (so from 19yy for years 0..=99).
pub(crate) fn gmtime(t: i64) -> Tm {
    let Some(t_ms) = time_value(t) else {
        return Tm::default();
    };
    let mut tm = tm_of(t_ms);
    tm.yday = js_yday(t_ms);
    tm
}

/// `(t - Date.UTC(getUTCFullYear(t), 0, 1)) / 86400000 | 0`.
fn js_yday(t_ms: i64) -> i32 {
    match date_utc(civil(t_ms).year, 0, 1, 0, 0, 0) {
        Some(start) => ((t_ms - start) / MS_PER_DAY) as i32,
        None => 0,
    }
}

/// `_mktime_js`: the normalised fields (`tm_isdst` 0 when it was negative)
/// and the seconds since the epoch, or −1 (fields zero) if the date is out of
/// JavaScript's range.
pub(crate) fn mktime(tm: Tm) -> (Tm, i64) {
    let t_ms = date_utc(
        i64::from(tm.year) + 1900,
        i64::from(tm.mon),
        i64::from(tm.mday),
        i64::from(tm.hour),
        i64::from(tm.min),
        i64::from(tm.sec),
    );
    let isdst = if tm.isdst < 0 { 0 } else { tm.isdst };
    match t_ms {
        Some(t_ms) => (
            Tm {
                isdst,
                ..tm_of(t_ms)
            },
            t_ms / 1000,
        ),
        None => (
            Tm {
                isdst,
                ..Tm::default()
            },
            -1,
        ),
    }
}

/// `_timegm_js`: (`tm_wday`, `tm_yday`, seconds since the epoch or −1).
pub(crate) fn timegm(tm: Tm) -> (i32, i32, i64) {
    let t_ms = date_utc(
        i64::from(tm.year) + 1900,
        i64::from(tm.mon),
        i64::from(tm.mday),
        i64::from(tm.hour),
        i64::from(tm.min),
        i64::from(tm.sec),
    );
    match t_ms {
        Some(t_ms) => (civil(t_ms).wday as i32, js_yday(t_ms), t_ms / 1000),
        None => (0, 0, -1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (sec, min, hour, mday, mon, year, wday, yday) as Python's
    /// `time.struct_time` shows it: (year, mon, mday, hour, min, sec, wday, yday).
    fn python(tm: &Tm) -> (i32, i32, i32, i32, i32, i32, i32, i32) {
        (
            tm.year + 1900,
            tm.mon + 1,
            tm.mday,
            tm.hour,
            tm.min,
            tm.sec,
            (tm.wday + 6) % 7,
            tm.yday + 1,
        )
    }

    fn tm(year: i32, mon: i32, mday: i32, hour: i32, min: i32, sec: i32, isdst: i32) -> Tm {
        Tm {
            sec,
            min,
            hour,
            mday,
            mon: mon - 1,
            year: year - 1900,
            wday: 0,
            yday: 0,
            isdst,
        }
    }

    #[test]
    fn civil_days_round_trip_across_eras() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(0, 3, 1), -719_468);
        for days in (-1_000_000..1_000_000).step_by(997).chain(-800..800) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn known_timestamps_match_node() {
        // Values printed by Pyodide 314.0.7 on Node 20 with TZ=UTC.
        assert_eq!(python(&localtime(0)), (1970, 1, 1, 0, 0, 0, 3, 1));
        assert_eq!(python(&gmtime(-1)), (1969, 12, 31, 23, 59, 59, 2, 365));
        assert_eq!(
            python(&localtime(2_147_483_648)),
            (2038, 1, 19, 3, 14, 8, 1, 19)
        );
        assert_eq!(python(&gmtime(4_102_444_800)), (2100, 1, 1, 0, 0, 0, 4, 1));
        assert_eq!(
            python(&localtime(8_640_000_000_000)),
            (275_760, 9, 13, 0, 0, 0, 5, 257)
        );
        assert_eq!(
            python(&localtime(-62_135_596_800)),
            (1, 1, 1, 0, 0, 0, 0, 1)
        );
        assert_eq!(
            python(&localtime(-62_135_596_801)),
            (0, 12, 31, 23, 59, 59, 6, 366)
        );
        // Leap years: 29 February 2024 is day 60; 2100 is not a leap year.
        assert_eq!(
            python(&gmtime(1_709_164_800)),
            (2024, 2, 29, 0, 0, 0, 3, 60)
        );
        assert_eq!(python(&gmtime(4_107_542_400)), (2100, 3, 1, 0, 0, 0, 0, 60));
        assert_eq!(localtime(1_709_164_800).isdst, 0);
    }

    #[test]
    fn out_of_range_times_are_zero_fields_like_javascript_nan() {
        for t in [
            10_000_000_000_000,
            -10_000_000_000_000,
            8_650_000_000_000,
            i64::MIN,
            i64::MAX,
        ] {
            assert_eq!(python(&localtime(t)), (1900, 1, 0, 0, 0, 0, 6, 1), "{t}");
            assert_eq!(gmtime(t), Tm::default(), "{t}");
        }
    }

    #[test]
    fn gmtime_yday_of_two_digit_years_counts_from_19yy_like_node() {
        assert_eq!(gmtime(-62_135_596_800).yday + 1, -693_959);
        assert_eq!(gmtime(-62_135_596_801).yday + 1, -693_594);
        // localtime uses the month tables instead.
        assert_eq!(localtime(-62_135_596_800).yday, 0);
    }

    #[test]
    fn mktime_normalises_out_of_range_fields() {
        // 2024-02-30 25:61:61 is 2024-03-02 02:02:01.
        let (out, t) = mktime(tm(2024, 2, 30, 25, 61, 61, -1));
        assert_eq!(t, 1_709_344_921);
        assert_eq!(python(&out), (2024, 3, 2, 2, 2, 1, 5, 62));
        assert_eq!(out.isdst, 0);
        assert_eq!(mktime(tm(2024, 13, 1, 0, 0, 0, -1)).1, 1_735_689_600);
        assert_eq!(mktime(tm(2024, 1, 0, 0, 0, 0, -1)).1, 1_703_980_800);
        assert_eq!(mktime(tm(2024, 3, 1, 0, 0, -1, -1)).1, 1_709_251_199);
        assert_eq!(mktime(tm(2024, 0, 1, 0, 0, 0, 0)).1, 1_701_388_800);
        // A month far below zero rolls back whole years.
        assert_eq!(python(&mktime(tm(2024, -23, 1, 0, 0, 0, 0)).0).0, 2022);
    }

    #[test]
    fn mktime_follows_node_at_the_edges() {
        assert_eq!(mktime(tm(1969, 12, 31, 23, 59, 59, -1)).1, -1);
        assert_eq!(mktime(tm(2038, 1, 19, 3, 14, 8, 0)).1, 2_147_483_648);
        assert_eq!(mktime(tm(1900, 1, 1, 0, 0, 0, -1)).1, -2_208_988_800);
        assert_eq!(mktime(tm(-5, 1, 1, 0, 0, 0, -1)).1, -62_324_985_600);
        // Years 0..=99 are 19yy to JavaScript's Date.
        assert_eq!(mktime(tm(50, 1, 1, 0, 0, 0, -1)).1, -631_152_000);
        // Beyond JavaScript's range: -1 and zeroed fields.
        let (out, t) = mktime(tm(300_000, 1, 1, 0, 0, 0, -1));
        assert_eq!((t, out), (-1, Tm::default()));
        assert_eq!(mktime(tm(i32::MAX, 1, 1, 0, 0, 0, 1)).0.isdst, 1);
        // A positive tm_isdst is left as given (no daylight time in UTC).
        assert_eq!(mktime(tm(2024, 2, 29, 12, 0, 0, 1)), {
            let mut expected = localtime(1_709_208_000);
            expected.isdst = 1;
            (expected, 1_709_208_000)
        });
    }

    #[test]
    fn timegm_matches_date_utc() {
        assert_eq!(timegm(tm(2024, 2, 29, 12, 0, 0, 0)), (4, 59, 1_709_208_000));
        assert_eq!(timegm(tm(1970, 1, 1, 0, 0, -1, 0)), (3, 364, -1));
        assert_eq!(
            timegm(tm(2040, 12, 31, 0, 0, 0, 0)),
            (1, 365, 2_240_524_800)
        );
        assert_eq!(timegm(tm(400_000, 1, 1, 0, 0, 0, 0)), (0, 0, -1));
    }

    #[test]
    fn local_tm_byte_layout() {
        let bytes = encode_local_tm(&localtime(1_709_344_921));
        let word = |off: usize| i32::from_le_bytes(bytes[off..off + 4].try_into().unwrap());
        let fields: Vec<i32> = (0..10).map(|i| word(i * 4)).collect();
        // sec min hour mday mon year wday yday isdst gmtoff
        assert_eq!(fields, [1, 2, 2, 2, 2, 124, 6, 61, 0, 0]);
    }

    #[test]
    fn tm_read_write_round_trip_through_guest_memory() {
        let mut memory = vec![0u8; 64];
        let mut guest = Guest::new(&mut memory);
        let input = tm(2024, 7, 4, 1, 2, 3, -1);
        write_words(&mut guest, 8, &input.words()).unwrap();
        assert_eq!(read_tm(&guest, 8), Ok(input));
        assert_eq!(read_tm(&guest, 40), Err(Errno::EFAULT));
        assert_eq!(memory[8..12], 3i32.to_le_bytes());
        assert_eq!(memory[28..32], 124i32.to_le_bytes());
    }

    #[test]
    fn zone_names_and_timers() {
        assert_eq!(zone_name(), b"UTC-0000");
        assert_eq!(setitimer_result(0.0), 0);
        assert_eq!(setitimer_result(250.0), -52);
    }

    #[test]
    fn wall_clock_is_truncated_to_microseconds() {
        let nanos = wall_clock_nanos();
        assert_eq!(nanos % 1000, 0);
        assert!(nanos > 1_600_000_000_000_000_000);
    }
}
