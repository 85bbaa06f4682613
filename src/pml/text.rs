//! How Process Monitor prints numbers, times and statuses (`procmon-text.md` §2.1, §3.1).
//!
//! All times here are FILETIME values: u64 counts of 100 ns since 1601-01-01 00:00 UTC. The
//! corpus exports are in UTC, so no time-zone conversion is applied; callers that want local
//! time add their offset (in 100 ns units) first.

use std::borrow::Cow;

/// 100 ns ticks per second.
pub const TICKS_PER_SEC: u64 = 10_000_000;
/// FILETIME of 1970-01-01 00:00:00 UTC.
pub const UNIX_EPOCH_FILETIME: u64 = 116_444_736_000_000_000;

/// Calendar fields of a FILETIME (UTC): (year, month 1-12, day 1-31, hour 0-23, minute,
/// second, 100 ns remainder 0..10^7).
pub fn civil(ft: u64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = ft / TICKS_PER_SEC;
    let frac = (ft % TICKS_PER_SEC) as u32;
    let days = (secs / 86_400) as i64;
    let sod = (secs % 86_400) as u32;
    // days since 1601-01-01 -> days since 1970-01-01 (1601..1970 = 134,774 days)
    let z = days - 134_774 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (y, m, d, sod / 3600, (sod / 60) % 60, sod % 60, frac)
}

fn hour12(h: u32) -> (u32, &'static str) {
    let ampm = if h < 12 { "AM" } else { "PM" };
    let h = match h % 12 {
        0 => 12,
        x => x,
    };
    (h, ampm)
}

/// Procmon "Time of Day": `H:MM:SS.fffffff AM` (12-hour clock, no leading zero on the hour,
/// the exact 7-digit 100 ns fraction). Example: `6:55:07.0236729 AM`.
pub fn time_of_day(ft: u64) -> String {
    let (_, _, _, h, mi, s, f) = civil(ft);
    let (h, ap) = hour12(h);
    format!("{h}:{mi:02}:{s:02}.{f:07} {ap}")
}

/// Procmon "Date & Time" and dates inside Detail: `M/D/YYYY H:MM:SS AM` (no fraction).
/// A zero FILETIME prints `1/1/1601 12:00:00 AM`.
pub fn date_time(ft: u64) -> String {
    let (y, mo, d, h, mi, s, _) = civil(ft);
    let (h, ap) = hour12(h);
    format!("{mo}/{d}/{y} {h}:{mi:02}:{s:02} {ap}")
}

/// Procmon "Relative Time": `HH:MM:SS.fffffff` for a span of 100 ns ticks.
pub fn relative_time(ticks: u64) -> String {
    let secs = ticks / TICKS_PER_SEC;
    let f = ticks % TICKS_PER_SEC;
    format!(
        "{:02}:{:02}:{:02}.{:07}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        f
    )
}

/// Seconds with 7 decimals from 100 ns ticks: `S.fffffff` (Duration, thread/process times).
pub fn seconds7(ticks: u64) -> String {
    format!("{}.{:07}", ticks / TICKS_PER_SEC, ticks % TICKS_PER_SEC)
}

/// Decimal with en-US thousands separators: `2,147,483,538`.
pub fn thousands(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Signed decimal with thousands separators: `-1,024`.
pub fn thousands_i64(v: i64) -> String {
    if v < 0 {
        format!("-{}", thousands(v.unsigned_abs()))
    } else {
        thousands(v as u64)
    }
}

/// Nanoseconds since the Unix epoch (UTC) of a FILETIME; FILETIMEs before 1970 give negative values.
pub fn filetime_to_unix_ns(ft: u64) -> i64 {
    (ft as i128 - UNIX_EPOCH_FILETIME as i128).saturating_mul(100) as i64
}

/// ISO 8601 UTC text of a FILETIME with 7 fractional digits: `2020-07-12T01:18:10.7752429Z`.
pub fn iso_utc(ft: u64) -> String {
    let (y, mo, d, h, mi, s, f) = civil(ft);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:07}Z")
}

/// Procmon's Result text for an NTSTATUS (`procmon-text.md` §2.4): the name from the embedded
/// `ntstatus.csv` (column `procmon_text`), empty for STATUS_PENDING (0x103), else `0x` +
/// upper-case hex without padding (`0x368`, `0xC000CF0A`).
pub fn status_text(code: u32) -> Cow<'static, str> {
    match crate::knowledge::ntstatus(code) {
        Some(s) => Cow::Borrowed(s.procmon_text.as_str()),
        None => Cow::Owned(format!("0x{code:X}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_match_procmon_examples() {
        // 2020-07-31 06:55:07.0236729 UTC (CompressedLogFileUTC32Filesystem row 1)
        let ft = 132_406_521_070_236_729;
        assert_eq!(time_of_day(ft), "6:55:07.0236729 AM");
        assert_eq!(date_time(ft), "7/31/2020 6:55:07 AM");
        assert_eq!(date_time(0), "1/1/1601 12:00:00 AM");
        assert_eq!(iso_utc(ft), "2020-07-31T06:55:07.0236729Z");
    }

    #[test]
    fn numbers() {
        assert_eq!(thousands(2_147_483_538), "2,147,483,538");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(seconds7(1_687_987_784), "168.7987784");
        assert_eq!(relative_time(563), "00:00:00.0000563");
        assert_eq!(thousands_i64(-1024), "-1,024");
    }
}
