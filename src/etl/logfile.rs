//! The logfile header (`TRACE_LOGFILE_HEADER`, `format-etl.md` §2) and clock conversion (§2.4).

use super::bytes::{align8, u16_at, u32_at, u64_at, wstr_at};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Session clock (`ReservedFlags` of the logfile header, §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ClockType {
    /// 1: QueryPerformanceCounter ticks at `PerfFreq` Hz.
    Qpc,
    /// 2: system time, already 100-ns FILETIME units.
    SystemTime,
    /// 3: CPU cycle counter at `CpuSpeedInMHz`.
    CpuCycles,
    /// Any other value (treated as QPC for conversion).
    Unknown(u32),
}

impl ClockType {
    fn from_raw(v: u32) -> ClockType {
        match v {
            1 => ClockType::Qpc,
            2 => ClockType::SystemTime,
            3 => ClockType::CpuCycles,
            o => ClockType::Unknown(o),
        }
    }
    /// Short name for text output.
    pub fn name(&self) -> String {
        match self {
            ClockType::Qpc => "QPC".into(),
            ClockType::SystemTime => "system time".into(),
            ClockType::CpuCycles => "CPU cycles".into(),
            ClockType::Unknown(v) => format!("unknown ({v})"),
        }
    }
}

/// A `SYSTEMTIME` as stored in `TIME_ZONE_INFORMATION` (transition rule, not a date).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SystemTime {
    /// wYear (0 for a recurring rule).
    pub year: u16,
    /// wMonth.
    pub month: u16,
    /// wDayOfWeek.
    pub day_of_week: u16,
    /// wDay (week of month for a recurring rule).
    pub day: u16,
    /// wHour.
    pub hour: u16,
    /// wMinute.
    pub minute: u16,
    /// wSecond.
    pub second: u16,
    /// wMilliseconds.
    pub milliseconds: u16,
}

/// `TIME_ZONE_INFORMATION` of the recording machine (display only: all times in the file are UTC).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TimeZone {
    /// Minutes; UTC = local time + bias.
    pub bias_minutes: i32,
    /// Standard-time name (often an indirect string such as `@tzres.dll,-212`).
    pub standard_name: String,
    /// Start of standard time.
    pub standard_date: SystemTime,
    /// Extra bias in standard time, minutes.
    pub standard_bias: i32,
    /// Daylight-time name.
    pub daylight_name: String,
    /// Start of daylight time.
    pub daylight_date: SystemTime,
    /// Extra bias in daylight time, minutes.
    pub daylight_bias: i32,
}

/// The logfile header event (first event of the first buffer), decoded (§2.2).
#[derive(Clone, Debug, Serialize)]
pub struct LogfileHeader {
    /// Session buffer size in bytes (not necessarily the size of buffer 0).
    pub buffer_size: u32,
    /// OS major version (e.g. 6, 10).
    pub os_major: u8,
    /// OS minor version.
    pub os_minor: u8,
    /// Log format sub-version (2.0 = compressed / large-buffer format; do not gate on it).
    pub sub_version: u8,
    /// Log format sub-minor version.
    pub sub_minor_version: u8,
    /// OS build number (`ProviderVersion`, e.g. 9200, 19041).
    pub os_build: u32,
    /// Number of processors.
    pub cpus: u32,
    /// End of session, FILETIME (100 ns since 1601, UTC).
    pub end_time: u64,
    /// Timer resolution in 100-ns units.
    pub timer_resolution: u32,
    /// Maximum file size in MB.
    pub maximum_file_size: u32,
    /// `EVENT_TRACE_*_MODE` bits (0x04000000 = compressed).
    pub log_file_mode: u32,
    /// Buffers written (informational; never used for bounds).
    pub buffers_written: u32,
    /// StartBuffers.
    pub start_buffers: u32,
    /// Pointer size of the kernel that wrote the file (4 or 8).
    pub pointer_size: u32,
    /// Events lost by the session.
    pub events_lost: u32,
    /// CPU speed in MHz (clock type 3 conversion).
    pub cpu_speed_mhz: u32,
    /// Time zone of the recording machine.
    pub time_zone: TimeZone,
    /// Boot time, FILETIME (100 ns, UTC).
    pub boot_time: u64,
    /// QPC frequency in Hz (raw ticks per second for clock type 1).
    pub perf_freq: u64,
    /// Session start, FILETIME (100 ns, UTC).
    pub start_time: u64,
    /// Session clock (`ReservedFlags`).
    pub clock_type: ClockType,
    /// Buffers lost.
    pub buffers_lost: u32,
    /// Logger (session) name.
    pub logger_name: String,
    /// Log file name as recorded.
    pub log_file_name: String,
    /// Raw timestamp of the logfile-header event itself (session clock): the origin of the
    /// raw → FILETIME conversion.
    pub raw_origin: u64,
    /// 32 when the header was a SYSTEM32 header (32-bit layout), else 64.
    pub header_bits: u32,
}

fn systemtime(b: &[u8], o: usize) -> SystemTime {
    let f = |i: usize| u16_at(b, o + 2 * i).unwrap_or(0);
    SystemTime {
        year: f(0),
        month: f(1),
        day_of_week: f(2),
        day: f(3),
        hour: f(4),
        minute: f(5),
        second: f(6),
        milliseconds: f(7),
    }
}

fn fixed_wstr(b: &[u8], o: usize, units: usize) -> String {
    let s = b.get(o..(o + units * 2).min(b.len())).unwrap_or(&[]);
    let (w, _) = wstr_at(s, 0).unwrap_or_default();
    w.to_string_lossy()
}

impl LogfileHeader {
    /// Decode the payload of the logfile-header event. `pointer_size` is that of the event's
    /// header (SYSTEM32 → 4, SYSTEM64 → 8), `raw_origin` its raw timestamp. `None` when the
    /// payload is too short for the fixed part.
    pub fn parse(payload: &[u8], pointer_size: usize, raw_origin: u64) -> Option<LogfileHeader> {
        let p = pointer_size;
        let tz = 0x38 + 2 * p;
        let boot = align8(tz + 0xAC);
        let names = boot + 0x20;
        if payload.len() < names {
            return None;
        }
        let b = payload;
        let version = u32_at(b, 4)?;
        let time_zone = TimeZone {
            bias_minutes: u32_at(b, tz)? as i32,
            standard_name: fixed_wstr(b, tz + 4, 32),
            standard_date: systemtime(b, tz + 68),
            standard_bias: u32_at(b, tz + 84)? as i32,
            daylight_name: fixed_wstr(b, tz + 88, 32),
            daylight_date: systemtime(b, tz + 152),
            daylight_bias: u32_at(b, tz + 168)? as i32,
        };
        let (logger, next) = wstr_at(b, names).unwrap_or_default();
        let log_file = if next > names && next <= b.len() {
            wstr_at(b, next).map(|(s, _)| s).unwrap_or_default()
        } else {
            Default::default()
        };
        Some(LogfileHeader {
            buffer_size: u32_at(b, 0)?,
            os_major: version as u8,
            os_minor: (version >> 8) as u8,
            sub_version: (version >> 16) as u8,
            sub_minor_version: (version >> 24) as u8,
            os_build: u32_at(b, 8)?,
            cpus: u32_at(b, 0x0C)?,
            end_time: u64_at(b, 0x10)?,
            timer_resolution: u32_at(b, 0x18)?,
            maximum_file_size: u32_at(b, 0x1C)?,
            log_file_mode: u32_at(b, 0x20)?,
            buffers_written: u32_at(b, 0x24)?,
            start_buffers: u32_at(b, 0x28)?,
            pointer_size: u32_at(b, 0x2C)?,
            events_lost: u32_at(b, 0x30)?,
            cpu_speed_mhz: u32_at(b, 0x34)?,
            time_zone,
            boot_time: u64_at(b, boot)?,
            perf_freq: u64_at(b, boot + 8)?,
            start_time: u64_at(b, boot + 0x10)?,
            clock_type: ClockType::from_raw(u32_at(b, boot + 0x18)?),
            buffers_lost: u32_at(b, boot + 0x1C)?,
            logger_name: logger.to_string_lossy(),
            log_file_name: log_file.to_string_lossy(),
            raw_origin,
            header_bits: if p == 4 { 32 } else { 64 },
        })
    }

    /// A converter from raw event timestamps to FILETIME.
    pub fn clock(&self) -> Clock {
        let (num, den) = match self.clock_type {
            ClockType::SystemTime => (1, 1),
            ClockType::CpuCycles if self.cpu_speed_mhz > 0 => (10, self.cpu_speed_mhz as i128),
            _ if self.perf_freq > 0 => (10_000_000, self.perf_freq as i128),
            // No usable frequency: assume 100-ns ticks rather than dividing by zero.
            _ => (1, 1),
        };
        Clock {
            start: self.start_time as i128,
            origin: self.raw_origin as i128,
            num,
            den,
        }
    }

    /// True when `EVENT_TRACE_COMPRESSED_MODE` (0x04000000) is set.
    pub fn compressed_mode(&self) -> bool {
        self.log_file_mode & 0x0400_0000 != 0
    }

    /// Names of the `EVENT_TRACE_*_MODE` bits set in `log_file_mode`.
    pub fn log_file_mode_names(&self) -> Vec<&'static str> {
        const BITS: [(u32, &str); 20] = [
            (0x0000_0001, "SEQUENTIAL"),
            (0x0000_0002, "CIRCULAR"),
            (0x0000_0004, "APPEND"),
            (0x0000_0008, "NEWFILE"),
            (0x0000_0020, "PREALLOCATE"),
            (0x0000_0040, "NONSTOPPABLE"),
            (0x0000_0080, "SECURE"),
            (0x0000_0100, "REAL_TIME"),
            (0x0000_0200, "DELAY_OPEN_FILE"),
            (0x0000_0400, "BUFFERING"),
            (0x0000_0800, "PRIVATE_LOGGER"),
            (0x0000_1000, "ADD_HEADER"),
            (0x0000_2000, "USE_KBYTES_FOR_SIZE"),
            (0x0000_4000, "USE_GLOBAL_SEQUENCE"),
            (0x0000_8000, "USE_LOCAL_SEQUENCE"),
            (0x0001_0000, "RELOG"),
            (0x0002_0000, "PRIVATE_IN_PROC"),
            (0x0008_0000, "MODE_RESERVED"),
            (0x0200_0000, "SYSTEM_LOGGER"),
            (0x0400_0000, "COMPRESSED"),
        ];
        BITS.iter()
            .filter(|(b, _)| self.log_file_mode & b != 0)
            .map(|(_, n)| *n)
            .collect()
    }
}

/// Raw session clock → FILETIME conversion (§2.4), integer arithmetic:
/// `filetime = StartTime + (raw − raw_origin) × num / den`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    start: i128,
    origin: i128,
    num: i128,
    den: i128,
}

impl Clock {
    /// FILETIME (100-ns units since 1601-01-01 UTC) of a raw timestamp; rounds to nearest.
    /// Clamped to 0 for raw values that would precede 1601.
    #[inline]
    pub fn filetime(&self, raw: u64) -> u64 {
        let d = (raw as i128 - self.origin) * self.num;
        let half = self.den / 2;
        let q = if d >= 0 {
            (d + half) / self.den
        } else {
            (d - half) / self.den
        };
        (self.start + q).clamp(0, u64::MAX as i128) as u64
    }

    /// Duration in 100-ns units between two raw timestamps (b − a; negative when b < a).
    pub fn ticks_between(&self, a: u64, b: u64) -> i64 {
        ((b as i128 - a as i128) * self.num / self.den) as i64
    }
}

/// FILETIME → UTC date-time (`None` when out of chrono's range).
pub fn filetime_to_utc(ft: u64) -> Option<DateTime<Utc>> {
    const EPOCH_DIFF: i64 = 11_644_473_600; // seconds 1601 → 1970
    let secs = (ft / 10_000_000) as i64 - EPOCH_DIFF;
    let nanos = ((ft % 10_000_000) * 100) as u32;
    DateTime::from_timestamp(secs, nanos)
}

/// FILETIME as ISO 8601 UTC with 7 fractional digits (`2020-07-29T00:07:00.6236167Z`).
pub fn filetime_iso(ft: u64) -> String {
    match filetime_to_utc(ft) {
        Some(t) => format!("{}.{:07}Z", t.format("%Y-%m-%dT%H:%M:%S"), ft % 10_000_000),
        None => format!("FILETIME({ft})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_conversion() {
        let c = Clock {
            start: 1000,
            origin: 50,
            num: 10_000_000,
            den: 3_000_000,
        };
        assert_eq!(c.filetime(50), 1000);
        assert_eq!(c.filetime(53), 1010);
        assert_eq!(c.filetime(0), 1000 - 167);
        assert_eq!(
            filetime_iso(132404548206236167),
            "2020-07-29T00:07:00.6236167Z"
        );
    }
}
