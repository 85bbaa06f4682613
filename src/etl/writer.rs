//! ETL writer: an [`EtlModel`] (logfile header fields and kernel events with their CPU and raw
//! timestamp) serialised as Windows lays a kernel trace out (`shared/docs/format-etl.md`), plus
//! builders of the kernel payloads the samples and tests need ([`payload`]) and an MS-XCA plain
//! LZ77 encoder ([`xpress`]) for compressed buffers.
//!
//! Layout followed:
//! * §1: the file is a sequence of buffers, each a 0x48-byte `WMI_BUFFER_HEADER` and packed
//!   events, every event at an 8-byte aligned offset (§1.3), the unused tail of an uncompressed
//!   buffer filled with 0xFF. Buffer 0 is the header buffer (BufferType 4, FLUSH_MARKER) holding
//!   only the logfile-header event; the last buffer carries FLUSH_MARKER too. Data buffers name
//!   their CPU as a u16 with PROC_INDEX (0x20).
//! * §1.5 / §3.8: each CPU's events go, in time order, into that CPU's buffers; buffers are
//!   written in flush order (by the time of their last event), so buffers of different CPUs
//!   interleave as in real files.
//! * §1.4: with [`EtlModel::compress`], every data buffer whose events shrink is stored
//!   Xpress-compressed (flag 0x40, `BufferSize` = 0x48 + compressed bytes, `Offset` = the
//!   uncompressed fill level), LogFileMode gets `EVENT_TRACE_COMPRESSED_MODE` and the log format
//!   version 2.0; a buffer that would not shrink is stored plain (dissect.etl reads
//!   `min(BufferSize, Offset)` bytes of a buffer, so a "compressed" buffer larger than its
//!   uncompressed fill level would be cut).
//! * §2.2: the logfile header in its 64-bit (SYSTEM64) or 32-bit (SYSTEM32) layout;
//!   `BuffersWritten` is exact (dissect.etl trusts it).
//! * §3.2 / §3.3: kernel events with SYSTEM (pid, tid), COMPACT or PERFINFO (no ids) headers.
//!
//! The writer never fails and never panics: an event too large for an empty buffer is left out
//! (counted in [`Written::dropped`]). Reading a written file back with [`crate::etl::Etl`] gives
//! every event of the model, in the merge order of §3.8.

use std::collections::BTreeMap;

/// Size of a buffer header.
const BUFFER_HEADER: usize = 0x48;
/// `BufferFlag` FLUSH_MARKER.
const FLUSH_MARKER: u16 = 0x0001;
/// `BufferFlag` PROC_INDEX.
const PROC_INDEX: u16 = 0x0020;
/// `BufferFlag` COMPRESSED.
const COMPRESSED: u16 = 0x0040;
/// `EVENT_TRACE_COMPRESSED_MODE`.
pub const COMPRESSED_MODE: u32 = 0x0400_0000;

/// Kernel event header kind (§3.1): the pointer size of the payload goes with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Header {
    /// `SYSTEM_TRACE_HEADER` (0x20 bytes, with thread and process id).
    System,
    /// Compact system header (0x18 bytes, with thread and process id).
    Compact,
    /// `PERFINFO_TRACE_HEADER` (0x10 bytes, no ids).
    PerfInfo,
}

/// One kernel event to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventModel {
    /// CPU whose buffers hold it.
    pub cpu: u16,
    /// Header kind.
    pub header: Header,
    /// 64-bit header type (0x02 / 0x04 / 0x11) when true, 32-bit (0x01 / 0x03 / 0x10) when false.
    pub ptr64: bool,
    /// Kernel group byte (§4.1), e.g. 0x04 FileIo.
    pub group: u8,
    /// Event type (opcode).
    pub opcode: u8,
    /// Event version.
    pub version: u8,
    /// Process id (SYSTEM / COMPACT headers).
    pub pid: u32,
    /// Thread id (SYSTEM / COMPACT headers).
    pub tid: u32,
    /// Raw timestamp in the session clock (§2.4).
    pub timestamp: u64,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

impl EventModel {
    /// A kernel event with a 64-bit SYSTEM header.
    #[allow(clippy::too_many_arguments)]
    pub fn system(
        cpu: u16,
        group: u8,
        opcode: u8,
        version: u8,
        pid: u32,
        tid: u32,
        timestamp: u64,
        payload: Vec<u8>,
    ) -> Self {
        EventModel {
            cpu,
            header: Header::System,
            ptr64: true,
            group,
            opcode,
            version,
            pid,
            tid,
            timestamp,
            payload,
        }
    }

    /// A kernel event with a 64-bit PERFINFO header (no process or thread id).
    pub fn perfinfo(
        cpu: u16,
        group: u8,
        opcode: u8,
        version: u8,
        timestamp: u64,
        payload: Vec<u8>,
    ) -> Self {
        EventModel {
            cpu,
            header: Header::PerfInfo,
            ptr64: true,
            group,
            opcode,
            version,
            pid: 0,
            tid: 0,
            timestamp,
            payload,
        }
    }

    /// The header type byte (§3.1).
    pub fn header_type(&self) -> u8 {
        match (self.header, self.ptr64) {
            (Header::System, false) => 0x01,
            (Header::System, true) => 0x02,
            (Header::Compact, false) => 0x03,
            (Header::Compact, true) => 0x04,
            (Header::PerfInfo, false) => 0x10,
            (Header::PerfInfo, true) => 0x11,
        }
    }

    /// Pointer size of the payload (4 or 8).
    pub fn pointer_size(&self) -> usize {
        if self.ptr64 {
            8
        } else {
            4
        }
    }

    /// The event's bytes: header then payload (no alignment padding). `None` when it is larger
    /// than the 16-bit size field allows.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        let hsize = match self.header {
            Header::System => 0x20,
            Header::Compact => 0x18,
            Header::PerfInfo => 0x10,
        };
        let size = u16::try_from(hsize + self.payload.len()).ok()?;
        let mut v = Vec::with_capacity(size as usize);
        v.push(self.version);
        v.push(0);
        v.push(self.header_type());
        v.push(0xC0);
        v.extend_from_slice(&size.to_le_bytes());
        v.push(self.opcode);
        v.push(self.group);
        match self.header {
            Header::PerfInfo => v.extend_from_slice(&self.timestamp.to_le_bytes()),
            Header::System | Header::Compact => {
                v.extend_from_slice(&self.tid.to_le_bytes());
                v.extend_from_slice(&self.pid.to_le_bytes());
                v.extend_from_slice(&self.timestamp.to_le_bytes());
                if self.header == Header::System {
                    // KernelTime, UserTime.
                    v.extend_from_slice(&[0; 8]);
                }
            }
        }
        v.extend_from_slice(&self.payload);
        Some(v)
    }
}

/// `TIME_ZONE_INFORMATION` fields kept by the writer (§2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeZoneModel {
    /// Bias in minutes (UTC = local + bias): −480 for UTC+8.
    pub bias_minutes: i32,
    /// Standard-time name.
    pub standard_name: String,
    /// Daylight-time name.
    pub daylight_name: String,
}

/// Logfile header fields (§2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogfileModel {
    /// Kernel pointer size (4 or 8): also the layout of the header event (SYSTEM32 / SYSTEM64).
    pub pointer_size: u32,
    /// OS major version.
    pub os_major: u8,
    /// OS minor version.
    pub os_minor: u8,
    /// OS build number (`ProviderVersion`).
    pub os_build: u32,
    /// Number of processors.
    pub cpus: u32,
    /// QPC frequency in Hz (clock type 1).
    pub perf_freq: u64,
    /// CPU speed in MHz.
    pub cpu_speed_mhz: u32,
    /// Session start, FILETIME (UTC).
    pub start_time: u64,
    /// Session end, FILETIME; 0 = the time of the last event.
    pub end_time: u64,
    /// Boot time, FILETIME.
    pub boot_time: u64,
    /// Raw timestamp of the logfile-header event: the origin of raw → FILETIME (§2.4).
    pub raw_origin: u64,
    /// `EVENT_TRACE_*_MODE` bits (COMPRESSED is added when the model compresses).
    pub log_file_mode: u32,
    /// Time zone of the recording machine.
    pub time_zone: TimeZoneModel,
    /// Logger name (e.g. `NT Kernel Logger`).
    pub logger_name: String,
    /// Log file name as recorded.
    pub log_file_name: String,
}

impl LogfileModel {
    /// A Windows 10 x64 kernel session with a 10 MHz QPC clock starting at FILETIME `start`
    /// (raw origin 0, so raw ticks are 100-ns units since the session start).
    pub fn windows10(build: u32, cpus: u32, start: u64) -> Self {
        LogfileModel {
            pointer_size: 8,
            os_major: 10,
            os_minor: 0,
            os_build: build,
            cpus,
            perf_freq: 10_000_000,
            cpu_speed_mhz: 2_904,
            start_time: start,
            end_time: 0,
            boot_time: start.saturating_sub(36_000_000_000),
            raw_origin: 0,
            log_file_mode: 0x0000_0001,
            time_zone: TimeZoneModel {
                bias_minutes: 0,
                standard_name: "Coordinated Universal Time".into(),
                daylight_name: "Coordinated Universal Time".into(),
            },
            logger_name: "NT Kernel Logger".into(),
            log_file_name: "C:\\trace.etl".into(),
        }
    }

    /// FILETIME of raw timestamp `raw` (§2.4, rounded to nearest 100 ns).
    pub fn filetime(&self, raw: u64) -> u64 {
        let f = self.perf_freq.max(1) as i128;
        let d = (raw as i128 - self.raw_origin as i128) * 10_000_000;
        let q = if d >= 0 {
            (d + f / 2) / f
        } else {
            (d - f / 2) / f
        };
        (self.start_time as i128 + q).clamp(0, u64::MAX as i128) as u64
    }

    /// Raw timestamp of FILETIME `ft` (inverse of [`LogfileModel::filetime`], truncated).
    pub fn raw(&self, ft: u64) -> u64 {
        let d = ft as i128 - self.start_time as i128;
        (self.raw_origin as i128 + d * self.perf_freq as i128 / 10_000_000).max(0) as u64
    }
}

/// A whole trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtlModel {
    /// The logfile header.
    pub header: LogfileModel,
    /// Session buffer size in bytes (every uncompressed buffer has this size); at least 0x200.
    pub buffer_size: u32,
    /// Store data buffers Xpress-compressed (§1.4).
    pub compress: bool,
    /// The events, in any order (the writer sorts each CPU's events by time, stably).
    pub events: Vec<EventModel>,
}

impl EtlModel {
    /// An empty trace with header `header`, 64 KB buffers, uncompressed.
    pub fn new(header: LogfileModel) -> Self {
        EtlModel {
            header,
            buffer_size: 65_536,
            compress: false,
            events: Vec::new(),
        }
    }
}

/// What [`write_with_stats`] produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// The file.
    pub bytes: Vec<u8>,
    /// Buffers written (including the header buffer).
    pub buffers: u32,
    /// Of which stored compressed.
    pub compressed_buffers: u32,
    /// Events written (the logfile header event included).
    pub events: u64,
    /// Events left out because they do not fit an empty buffer.
    pub dropped: u64,
}

/// Serialise `model` (see the module documentation).
pub fn write(model: &EtlModel) -> Vec<u8> {
    write_with_stats(model).bytes
}

/// Write `model` to `path`.
pub fn write_file(model: &EtlModel, path: &std::path::Path) -> std::io::Result<()> {
    std::fs::write(path, write(model))
}

struct DataBuffer {
    cpu: u16,
    first_ts: u64,
    last_ts: u64,
    body: Vec<u8>,
    events: u64,
}

/// [`write()`], with counts.
pub fn write_with_stats(model: &EtlModel) -> Written {
    let bsize = (model.buffer_size as usize).max(0x200);
    let room = bsize - BUFFER_HEADER;
    let mut dropped = 0u64;

    // Each CPU's events in time order (stable: the model's order breaks ties).
    let mut per_cpu: BTreeMap<u16, Vec<&EventModel>> = BTreeMap::new();
    for e in &model.events {
        per_cpu.entry(e.cpu).or_default().push(e);
    }
    let mut data: Vec<DataBuffer> = Vec::new();
    for (cpu, mut evs) in per_cpu {
        evs.sort_by_key(|e| e.timestamp);
        let mut cur: Option<DataBuffer> = None;
        for e in evs {
            let Some(b) = e.bytes() else {
                dropped += 1;
                continue;
            };
            if b.len() > room {
                dropped += 1;
                continue;
            }
            let fits = cur
                .as_ref()
                .is_some_and(|c| align8(c.body.len()) + b.len() <= room);
            if !fits {
                if let Some(c) = cur.take() {
                    data.push(c);
                }
                cur = Some(DataBuffer {
                    cpu,
                    first_ts: e.timestamp,
                    last_ts: e.timestamp,
                    body: Vec::new(),
                    events: 0,
                });
            }
            if let Some(c) = cur.as_mut() {
                let pad = align8(c.body.len()) - c.body.len();
                c.body.extend(std::iter::repeat_n(0u8, pad));
                c.body.extend_from_slice(&b);
                c.last_ts = e.timestamp;
                c.events += 1;
            }
        }
        if let Some(c) = cur.take() {
            data.push(c);
        }
    }
    // Flush order: a buffer is written when it is full or the session ends, i.e. after its last
    // event; ties by first event, then CPU.
    data.sort_by_key(|b| (b.last_ts, b.first_ts, b.cpu));

    let h = &model.header;
    let buffers = 1 + data.len() as u32;
    let end_time = if h.end_time != 0 {
        h.end_time
    } else {
        let last = model.events.iter().map(|e| e.timestamp).max().unwrap_or(0);
        h.filetime(last.max(h.raw_origin))
    };
    let mut log_file_mode = h.log_file_mode;
    if model.compress {
        log_file_mode |= COMPRESSED_MODE;
    }
    let header_event = EventModel {
        cpu: 0,
        header: Header::System,
        ptr64: h.pointer_size != 4,
        group: 0,
        opcode: 0,
        version: 2,
        pid: 0,
        tid: 0,
        timestamp: h.raw_origin,
        payload: logfile_payload(
            h,
            model.compress,
            buffers,
            end_time,
            bsize as u32,
            log_file_mode,
        ),
    };
    let header_bytes = header_event.bytes().unwrap_or_default();

    let mut out = Vec::new();
    let mut compressed_buffers = 0;
    let mut events = 1u64;
    let single = data.is_empty();
    // Buffer 0: the header buffer, never compressed.
    push_buffer(
        &mut out,
        &BufferSpec {
            cpu: 0,
            timestamp: h.raw_origin,
            sequence: 0,
            flags: FLUSH_MARKER | PROC_INDEX,
            buffer_type: 4,
            size: bsize,
        },
        &header_bytes,
        None,
    );
    let n = data.len();
    for (i, b) in data.iter().enumerate() {
        events += b.events;
        let last = i + 1 == n;
        let mut flags = PROC_INDEX;
        if last && !single {
            flags |= FLUSH_MARKER;
        }
        let fill = BUFFER_HEADER + b.body.len();
        let packed = if model.compress {
            let c = xpress::compress(&b.body);
            (BUFFER_HEADER + c.len() < fill).then_some(c)
        } else {
            None
        };
        if packed.is_some() {
            flags |= COMPRESSED;
            compressed_buffers += 1;
        }
        push_buffer(
            &mut out,
            &BufferSpec {
                cpu: b.cpu,
                timestamp: b.last_ts,
                sequence: i as u64 + 1,
                flags,
                buffer_type: 0,
                size: bsize,
            },
            &b.body,
            packed.as_deref(),
        );
    }
    Written {
        bytes: out,
        buffers,
        compressed_buffers,
        events,
        dropped,
    }
}

struct BufferSpec {
    cpu: u16,
    timestamp: u64,
    sequence: u64,
    flags: u16,
    buffer_type: u16,
    size: usize,
}

/// Append one buffer: header, then the events (`body`, uncompressed, fill = 0x48 + its length)
/// stored plain and padded with 0xFF to the buffer size, or stored as `packed`.
fn push_buffer(out: &mut Vec<u8>, s: &BufferSpec, body: &[u8], packed: Option<&[u8]>) {
    let fill = (BUFFER_HEADER + body.len()) as u32;
    let size = match packed {
        Some(p) => BUFFER_HEADER + p.len(),
        None => s.size.max(fill as usize),
    };
    let start = out.len();
    out.extend_from_slice(&(size as u32).to_le_bytes()); // BufferSize
    out.extend_from_slice(&fill.to_le_bytes()); // SavedOffset
    out.extend_from_slice(&fill.to_le_bytes()); // CurrentOffset
    out.extend_from_slice(&0u32.to_le_bytes()); // ReferenceCount
    out.extend_from_slice(&s.timestamp.to_le_bytes()); // TimeStamp (flush time)
    out.extend_from_slice(&s.sequence.to_le_bytes()); // SequenceNumber
    out.extend_from_slice(&0u64.to_le_bytes()); // ClockType / Frequency union
    out.extend_from_slice(&s.cpu.to_le_bytes()); // ProcessorIndex (PROC_INDEX)
    out.extend_from_slice(&1u16.to_le_bytes()); // LoggerId
    out.extend_from_slice(&3u32.to_le_bytes()); // State
    out.extend_from_slice(&fill.to_le_bytes()); // Offset = fill level
    out.extend_from_slice(&s.flags.to_le_bytes()); // BufferFlag
    out.extend_from_slice(&s.buffer_type.to_le_bytes()); // BufferType
    out.resize(start + BUFFER_HEADER, 0); // ReferenceTime union
    match packed {
        Some(p) => out.extend_from_slice(p),
        None => {
            out.extend_from_slice(body);
            out.resize(start + size, 0xFF);
        }
    }
}

fn align8(n: usize) -> usize {
    (n + 7) & !7
}

fn logfile_payload(
    h: &LogfileModel,
    compress: bool,
    buffers: u32,
    end_time: u64,
    buffer_size: u32,
    log_file_mode: u32,
) -> Vec<u8> {
    let p = if h.pointer_size == 4 { 4 } else { 8 };
    let mut v = Vec::new();
    v.extend_from_slice(&buffer_size.to_le_bytes());
    // Version: OS major, minor, then the log format version (2.0 for compressed files, 1.5
    // otherwise, as in the corpus).
    let (sub, subminor) = if compress { (2, 0) } else { (1, 5) };
    v.extend_from_slice(&[h.os_major, h.os_minor, sub, subminor]);
    v.extend_from_slice(&h.os_build.to_le_bytes());
    v.extend_from_slice(&h.cpus.to_le_bytes());
    v.extend_from_slice(&end_time.to_le_bytes());
    v.extend_from_slice(&156_250u32.to_le_bytes()); // TimerResolution
    v.extend_from_slice(&0u32.to_le_bytes()); // MaximumFileSize
    v.extend_from_slice(&log_file_mode.to_le_bytes());
    v.extend_from_slice(&buffers.to_le_bytes()); // BuffersWritten
    v.extend_from_slice(&1u32.to_le_bytes()); // StartBuffers
    v.extend_from_slice(&(p as u32).to_le_bytes()); // PointerSize
    v.extend_from_slice(&0u32.to_le_bytes()); // EventsLost
    v.extend_from_slice(&h.cpu_speed_mhz.to_le_bytes());
    v.extend(std::iter::repeat_n(0u8, 2 * p)); // LoggerName, LogFileName pointers
    let tz = v.len();
    v.extend_from_slice(&h.time_zone.bias_minutes.to_le_bytes());
    fixed_wstr(&mut v, &h.time_zone.standard_name, 32);
    v.extend_from_slice(&[0; 16]); // StandardDate
    v.extend_from_slice(&0i32.to_le_bytes()); // StandardBias
    fixed_wstr(&mut v, &h.time_zone.daylight_name, 32);
    v.extend_from_slice(&[0; 16]); // DaylightDate
    v.extend_from_slice(&0i32.to_le_bytes()); // DaylightBias
    debug_assert_eq!(v.len() - tz, 0xAC);
    v.resize(align8(v.len()), 0);
    v.extend_from_slice(&h.boot_time.to_le_bytes());
    v.extend_from_slice(&h.perf_freq.to_le_bytes());
    v.extend_from_slice(&h.start_time.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes()); // ReservedFlags = clock type 1 (QPC)
    v.extend_from_slice(&0u32.to_le_bytes()); // BuffersLost
    payload::wstr(&mut v, &h.logger_name);
    payload::wstr(&mut v, &h.log_file_name);
    v
}

/// `units` UTF-16 units of `s`, NUL-padded (truncated to leave room for a NUL).
fn fixed_wstr(v: &mut Vec<u8>, s: &str, units: usize) {
    let mut n = 0;
    for u in s.encode_utf16().take(units - 1) {
        v.extend_from_slice(&u.to_le_bytes());
        n += 1;
    }
    v.extend(std::iter::repeat_n(0u8, 2 * (units - n)));
}

/// Kernel payload builders (layouts of `format-etl.md` §4–§6; pointer-sized fields take `ps`,
/// 4 or 8). Each returns the payload bytes for an [`EventModel`].
pub mod payload {
    /// Kernel group bytes (§4.1).
    pub mod group {
        /// EventTrace (header, group masks).
        pub const EVENT_TRACE: u8 = 0x00;
        /// Process (and Image Load, type 10).
        pub const PROCESS: u8 = 0x03;
        /// FileIo (and the minifilter events 96–101).
        pub const FILE_IO: u8 = 0x04;
        /// Thread.
        pub const THREAD: u8 = 0x05;
        /// Registry.
        pub const REGISTRY: u8 = 0x09;
        /// Image.
        pub const IMAGE: u8 = 0x14;
        /// StackWalk.
        pub const STACK_WALK: u8 = 0x18;
    }

    /// `PERF_*` group-mask bits (§6): `(mask index, bit)`.
    pub mod perf {
        /// PROCESS (`Masks[0]`).
        pub const PROCESS: (usize, u32) = (0, 0x0000_0001);
        /// THREAD.
        pub const THREAD: (usize, u32) = (0, 0x0000_0002);
        /// LOADER (image load).
        pub const LOADER: (usize, u32) = (0, 0x0000_0004);
        /// FILENAME (DISK_FILE_IO).
        pub const FILENAME: (usize, u32) = (0, 0x0000_0200);
        /// REGISTRY.
        pub const REGISTRY: (usize, u32) = (0, 0x0002_0000);
        /// FILE_IO (OperationEnd).
        pub const FILE_IO: (usize, u32) = (0, 0x0200_0000);
        /// FILE_IO_INIT (operation start events).
        pub const FILE_IO_INIT: (usize, u32) = (0, 0x0400_0000);
        /// FLT_IO_INIT (`Masks[4]`).
        pub const FLT_IO_INIT: (usize, u32) = (4, 0x0008_0000);
        /// FLT_IO.
        pub const FLT_IO: (usize, u32) = (4, 0x0010_0000);
        /// FLT_FASTIO.
        pub const FLT_FASTIO: (usize, u32) = (4, 0x0020_0000);
        /// FLT_IO_FAILURE.
        pub const FLT_IO_FAILURE: (usize, u32) = (4, 0x0040_0000);
    }

    /// The eight group masks with `bits` on.
    pub fn masks(bits: &[(usize, u32)]) -> [u32; 8] {
        let mut m = [0u32; 8];
        for (i, b) in bits {
            if let Some(x) = m.get_mut(*i) {
                *x |= b;
            }
        }
        m
    }

    /// Little-endian u16.
    pub fn u16(v: &mut Vec<u8>, x: u16) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    /// Little-endian u32.
    pub fn u32(v: &mut Vec<u8>, x: u32) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    /// Little-endian u64.
    pub fn u64(v: &mut Vec<u8>, x: u64) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    /// A pointer-sized value (low 32 bits when `ps` is 4).
    pub fn ptr(v: &mut Vec<u8>, x: u64, ps: usize) {
        if ps == 4 {
            u32(v, x as u32)
        } else {
            u64(v, x)
        }
    }
    /// NUL-terminated UTF-16LE string.
    pub fn wstr(v: &mut Vec<u8>, s: &str) {
        for c in s.encode_utf16() {
            u16(v, c);
        }
        u16(v, 0);
    }
    /// NUL-terminated 8-bit string (characters above 0xFF become `?`).
    pub fn astr(v: &mut Vec<u8>, s: &str) {
        for c in s.chars() {
            v.push(u8::try_from(u32::from(c)).unwrap_or(b'?'));
        }
        v.push(0);
    }

    /// EventTrace Extension (5) / EndExtension (32): `PERFINFO_GROUPMASK` + KernelEventVersion
    /// (§2.3, §6).
    pub fn group_mask(masks: &[u32; 8], kernel_event_version: u32) -> Vec<u8> {
        let mut v = Vec::with_capacity(36);
        for m in masks {
            u32(&mut v, *m);
        }
        u32(&mut v, kernel_event_version);
        v
    }

    /// A SID's bytes: revision 1, `authority` (48-bit, big-endian), sub-authorities.
    pub fn sid(authority: u64, subs: &[u32]) -> Vec<u8> {
        let mut v = vec![1u8, subs.len() as u8];
        v.extend_from_slice(&authority.to_be_bytes()[2..]);
        for s in subs {
            u32(&mut v, *s);
        }
        v
    }

    /// Parse `S-1-5-21-…` into SID bytes; `None` when it is not a SID string.
    pub fn sid_from_str(s: &str) -> Option<Vec<u8>> {
        let mut it = s.strip_prefix("S-1-")?.split('-');
        let auth: u64 = it.next()?.parse().ok()?;
        let subs: Option<Vec<u32>> = it.map(|x| x.parse().ok()).collect();
        Some(sid(auth, &subs?))
    }

    /// Process fields of a version-4 event (§4.2).
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct Process {
        /// EPROCESS address.
        pub key: u64,
        /// Process id.
        pub pid: u32,
        /// Parent process id.
        pub ppid: u32,
        /// Session id.
        pub session: u32,
        /// Exit status (259 = still active).
        pub exit_status: u32,
        /// DirectoryTableBase.
        pub dtb: u64,
        /// Flags.
        pub flags: u32,
        /// User SID bytes ([`sid`]); empty = no SID (the field is then a single zero u32).
        pub sid: Vec<u8>,
        /// ImageFileName (8-bit, at most 15 characters in a real kernel).
        pub image: String,
        /// Command line.
        pub command_line: String,
        /// PackageFullName.
        pub package: String,
        /// ApplicationId.
        pub application_id: String,
    }

    /// Process Start/End/DCStart/DCEnd, version 4 (§4.2).
    pub fn process_v4(p: &Process, ps: usize) -> Vec<u8> {
        let mut v = Vec::new();
        ptr(&mut v, p.key, ps);
        u32(&mut v, p.pid);
        u32(&mut v, p.ppid);
        u32(&mut v, p.session);
        u32(&mut v, p.exit_status);
        ptr(&mut v, p.dtb, ps);
        u32(&mut v, p.flags);
        if p.sid.is_empty() {
            u32(&mut v, 0);
        } else {
            // TOKEN_USER-like prefix: a (non-null) SID pointer and the attributes, then the SID.
            ptr(&mut v, p.key | 0x0808, ps);
            ptr(&mut v, 0, ps);
            v.extend_from_slice(&p.sid);
        }
        astr(&mut v, &p.image);
        wstr(&mut v, &p.command_line);
        wstr(&mut v, &p.package);
        wstr(&mut v, &p.application_id);
        v
    }

    /// Thread fields of a version-3 event (§4.3).
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct Thread {
        /// Process id.
        pub pid: u32,
        /// Thread id.
        pub tid: u32,
        /// Kernel stack base.
        pub stack_base: u64,
        /// Kernel stack limit.
        pub stack_limit: u64,
        /// User stack base.
        pub user_stack_base: u64,
        /// User stack limit.
        pub user_stack_limit: u64,
        /// StartAddress / Affinity.
        pub start_address: u64,
        /// Win32StartAddress.
        pub win32_start_address: u64,
        /// TEB base.
        pub teb_base: u64,
        /// SubProcessTag.
        pub sub_process_tag: u32,
        /// BasePriority.
        pub base_priority: u8,
        /// PagePriority.
        pub page_priority: u8,
        /// IoPriority.
        pub io_priority: u8,
        /// ThreadFlags.
        pub thread_flags: u8,
    }

    /// Thread Start/End/DCStart/DCEnd, version 3 (§4.3; no name).
    pub fn thread_v3(t: &Thread, ps: usize) -> Vec<u8> {
        let mut v = Vec::new();
        u32(&mut v, t.pid);
        u32(&mut v, t.tid);
        for x in [
            t.stack_base,
            t.stack_limit,
            t.user_stack_base,
            t.user_stack_limit,
            t.start_address,
            t.win32_start_address,
            t.teb_base,
        ] {
            ptr(&mut v, x, ps);
        }
        u32(&mut v, t.sub_process_tag);
        v.extend_from_slice(&[
            t.base_priority,
            t.page_priority,
            t.io_priority,
            t.thread_flags,
        ]);
        v
    }

    /// Image fields of a version-3 event (§4.4).
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct Image {
        /// Image base.
        pub base: u64,
        /// Image size.
        pub size: u64,
        /// Process id (0 for kernel images).
        pub pid: u32,
        /// PE checksum.
        pub checksum: u32,
        /// PE TimeDateStamp.
        pub time_date_stamp: u32,
        /// SignatureLevel (`SE_SIGNING_LEVEL_*` in the low nibble, 0x10/0x20 flags).
        pub signature_level: u8,
        /// SignatureType.
        pub signature_type: u8,
        /// DefaultBase.
        pub default_base: u64,
        /// File name.
        pub file_name: String,
    }

    /// Image Load (group 3, type 10) / Unload 2 / DCStart 3 / DCEnd 4, version 3 (§4.4).
    pub fn image_v3(i: &Image, ps: usize) -> Vec<u8> {
        let mut v = Vec::new();
        ptr(&mut v, i.base, ps);
        ptr(&mut v, i.size, ps);
        u32(&mut v, i.pid);
        u32(&mut v, i.checksum);
        u32(&mut v, i.time_date_stamp);
        v.extend_from_slice(&[i.signature_level, i.signature_type]);
        u16(&mut v, 0);
        ptr(&mut v, i.default_base, ps);
        v.extend_from_slice(&[0; 16]);
        wstr(&mut v, &i.file_name);
        v
    }

    /// FileIo Name 0 / FileCreate 32 / FileDelete 35 / FileRundown 36 (§4.5).
    pub fn file_name(file_key: u64, name: &str, ps: usize) -> Vec<u8> {
        let mut v = Vec::new();
        ptr(&mut v, file_key, ps);
        wstr(&mut v, name);
        v
    }

    /// FileIo Create 64 / CreateNew 78, version 3 (§4.5). `create_options`: low 24 bits the
    /// options, high byte the CreateDisposition.
    #[allow(clippy::too_many_arguments)]
    pub fn file_create_v3(
        irp: u64,
        file_object: u64,
        ttid: u32,
        create_options: u32,
        attributes: u32,
        share: u32,
        path: &str,
        ps: usize,
    ) -> Vec<u8> {
        let mut v = Vec::new();
        ptr(&mut v, irp, ps);
        ptr(&mut v, file_object, ps);
        u32(&mut v, ttid);
        u32(&mut v, create_options);
        u32(&mut v, attributes);
        u32(&mut v, share);
        wstr(&mut v, path);
        v
    }

    /// FileIo Cleanup 65 / Close 66 / Flush 73, version 3 (§4.5).
    pub fn file_simple_op_v3(
        irp: u64,
        file_object: u64,
        file_key: u64,
        ttid: u32,
        ps: usize,
    ) -> Vec<u8> {
        let mut v = Vec::new();
        ptr(&mut v, irp, ps);
        ptr(&mut v, file_object, ps);
        ptr(&mut v, file_key, ps);
        u32(&mut v, ttid);
        v
    }

    /// FileIo Read 67 / Write 68, version 3 (§4.5).
    #[allow(clippy::too_many_arguments)]
    pub fn file_read_write_v3(
        offset: u64,
        irp: u64,
        file_object: u64,
        file_key: u64,
        ttid: u32,
        size: u32,
        flags: u32,
        ps: usize,
    ) -> Vec<u8> {
        let mut v = Vec::new();
        u64(&mut v, offset);
        ptr(&mut v, irp, ps);
        ptr(&mut v, file_object, ps);
        ptr(&mut v, file_key, ps);
        u32(&mut v, ttid);
        u32(&mut v, size);
        u32(&mut v, flags);
        v
    }

    /// FileIo SetInfo 69 / Delete 70 / Rename 71 / QueryInfo 74 / FSControl 75, version 3 (§4.5).
    #[allow(clippy::too_many_arguments)]
    pub fn file_info_v3(
        irp: u64,
        file_object: u64,
        file_key: u64,
        extra_info: u64,
        ttid: u32,
        info_class: u32,
        ps: usize,
    ) -> Vec<u8> {
        let mut v = Vec::new();
        ptr(&mut v, irp, ps);
        ptr(&mut v, file_object, ps);
        ptr(&mut v, file_key, ps);
        ptr(&mut v, extra_info, ps);
        u32(&mut v, ttid);
        u32(&mut v, info_class);
        v
    }

    /// FileIo OperationEnd 76 (§4.5).
    pub fn file_op_end(irp: u64, extra_info: u64, status: u32, ps: usize) -> Vec<u8> {
        let mut v = Vec::new();
        ptr(&mut v, irp, ps);
        ptr(&mut v, extra_info, ps);
        u32(&mut v, status);
        v
    }

    /// Registry operation or KCB event, version 2 (§4.6). `initial_time` is the raw clock value
    /// at the operation's start; `kcb` the KCB address.
    pub fn registry_v2(
        initial_time: u64,
        status: u32,
        index: u32,
        kcb: u64,
        name: &str,
        ps: usize,
    ) -> Vec<u8> {
        let mut v = Vec::new();
        u64(&mut v, initial_time);
        u32(&mut v, status);
        u32(&mut v, index);
        ptr(&mut v, kcb, ps);
        wstr(&mut v, name);
        v
    }

    /// Payload layout of a minifilter event (§5.2; inferred, unconfirmed by a real trace).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum FltLayout {
        /// `PERFINFO_FLT_OPERATION`: RoutineAddr, FileObject, FileContext, IrpPtr,
        /// CallbackDataPtr, MajorFunction (the FltIoInit MOF).
        Operation,
        /// The same + Status (`PERFINFO_FLT_OPERATION_STATUS`; the FltIoFailure MOF).
        OperationStatus,
        /// InitialTime (u64) first, then the operation (the FltIoCompletion MOF).
        TimeFirst,
        /// The operation, then InitialTime (u64) last.
        TimeLast,
    }

    /// One minifilter callback event's fields (§5).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Flt {
        /// The callback routine (inside the minifilter's image).
        pub routine: u64,
        /// FILE_OBJECT.
        pub file_object: u64,
        /// FsContext (MOF FileContext).
        pub file_context: u64,
        /// IRP (0 for fast I/O).
        pub irp: u64,
        /// FLT_CALLBACK_DATA.
        pub callback_data: u64,
        /// IRP_MJ_* (negative: filter-manager pseudo-operations, stored sign-extended).
        pub major_function: i8,
        /// Status (OperationStatus layout).
        pub status: u32,
        /// InitialTime (TimeFirst / TimeLast layouts), raw session clock.
        pub initial_time: u64,
    }

    /// A minifilter event payload (FileIo 96–101) in `layout`.
    pub fn minifilter(f: &Flt, layout: FltLayout, ps: usize) -> Vec<u8> {
        let mut v = Vec::new();
        if layout == FltLayout::TimeFirst {
            u64(&mut v, f.initial_time);
        }
        for x in [
            f.routine,
            f.file_object,
            f.file_context,
            f.irp,
            f.callback_data,
        ] {
            ptr(&mut v, x, ps);
        }
        u32(&mut v, f.major_function as i32 as u32);
        match layout {
            FltLayout::OperationStatus => u32(&mut v, f.status),
            FltLayout::TimeLast => u64(&mut v, f.initial_time),
            _ => {}
        }
        v
    }

    /// StackWalk Stack 32 (§4.7): the stack of the event at raw time `event_ts` on `tid`;
    /// `frames` innermost first.
    pub fn stack(event_ts: u64, pid: u32, tid: u32, frames: &[u64], ps: usize) -> Vec<u8> {
        let mut v = Vec::new();
        u64(&mut v, event_ts);
        u32(&mut v, pid);
        u32(&mut v, tid);
        for f in frames {
            ptr(&mut v, *f, ps);
        }
        v
    }

    /// StackWalk StackKeyKernel 37 / StackKeyUser 38 (§4.7).
    pub fn stack_key(event_ts: u64, pid: u32, tid: u32, key: u64, ps: usize) -> Vec<u8> {
        let mut v = Vec::new();
        u64(&mut v, event_ts);
        u32(&mut v, pid);
        u32(&mut v, tid);
        ptr(&mut v, key, ps);
        v
    }

    /// StackWalk KeyDelete 35 / KeyRundown 36 (§4.7): a stack key's frames.
    pub fn stack_key_definition(key: u64, frames: &[u64], ps: usize) -> Vec<u8> {
        let mut v = Vec::new();
        ptr(&mut v, key, ps);
        for f in frames {
            ptr(&mut v, *f, ps);
        }
        v
    }
}

/// MS-XCA plain LZ77 encoder ([MS-XCA] §2.3), written from the format description: the inverse
/// of [`crate::etl::xpress`]. Greedy parsing with hash chains over an 8 KB window (the format's
/// largest offset); matches of any length (16- and 32-bit length escapes included).
pub mod xpress {
    /// Largest match distance the format encodes (13 bits + 1).
    const WINDOW: usize = 8192;
    /// Candidates examined per position.
    const CHAIN: usize = 32;
    const HASH_BITS: u32 = 14;

    struct Out {
        bytes: Vec<u8>,
        flag_pos: usize,
        flags: u32,
        nflags: u32,
        /// Byte whose high nibble is still free for the next long match.
        half: Option<usize>,
    }

    impl Out {
        fn flag(&mut self, bit: u32) {
            self.flags = (self.flags << 1) | bit;
            self.nflags += 1;
            if self.nflags == 32 {
                let p = self.flag_pos;
                self.bytes[p..p + 4].copy_from_slice(&self.flags.to_le_bytes());
                self.flag_pos = self.bytes.len();
                self.bytes.extend_from_slice(&[0; 4]);
                self.flags = 0;
                self.nflags = 0;
            }
        }

        fn literal(&mut self, b: u8) {
            self.bytes.push(b);
            self.flag(0);
        }

        /// A match `len` ≥ 3 bytes long, `dist` (1..=8192) back.
        fn matched(&mut self, dist: usize, len: usize) {
            let l = len - 3;
            let o = ((dist - 1) << 3) as u16;
            if l < 7 {
                self.bytes.extend_from_slice(&(o | l as u16).to_le_bytes());
            } else {
                self.bytes.extend_from_slice(&(o | 7).to_le_bytes());
                let rest = l - 7;
                let nib = rest.min(15) as u8;
                match self.half.take() {
                    None => {
                        self.half = Some(self.bytes.len());
                        self.bytes.push(nib);
                    }
                    Some(p) => self.bytes[p] |= nib << 4,
                }
                if rest >= 15 {
                    let rest = rest - 15;
                    if rest < 255 {
                        self.bytes.push(rest as u8);
                    } else {
                        self.bytes.push(255);
                        if l <= 0xFFFF {
                            self.bytes.extend_from_slice(&(l as u16).to_le_bytes());
                        } else {
                            self.bytes.extend_from_slice(&0u16.to_le_bytes());
                            self.bytes.extend_from_slice(&(l as u32).to_le_bytes());
                        }
                    }
                }
            }
            self.flag(1);
        }

        fn finish(mut self) -> Vec<u8> {
            if self.nflags == 0 && self.flag_pos + 4 == self.bytes.len() {
                // The last token filled a flag word: drop the empty one reserved after it (a
                // stream may end right after its last token).
                self.bytes.truncate(self.flag_pos);
                if self.bytes.is_empty() {
                    // Empty input: one flag word of "match" bits and no data.
                    return vec![0xFF; 4];
                }
                return self.bytes;
            }
            // Unused flag bits are set: a decoder reading one looks for a match, finds the
            // input exhausted and stops.
            let rem = 32 - self.nflags;
            let f = ((self.flags as u64) << rem) | ((1u64 << rem) - 1);
            let p = self.flag_pos;
            self.bytes[p..p + 4].copy_from_slice(&(f as u32).to_le_bytes());
            self.bytes
        }
    }

    fn hash(b: &[u8], i: usize) -> usize {
        let v = u32::from(b[i]) | (u32::from(b[i + 1]) << 8) | (u32::from(b[i + 2]) << 16);
        (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
    }

    /// Compress `input` (any length; the output decodes to exactly `input`).
    pub fn compress(input: &[u8]) -> Vec<u8> {
        let n = input.len();
        let mut out = Out {
            bytes: vec![0; 4],
            flag_pos: 0,
            flags: 0,
            nflags: 0,
            half: None,
        };
        let mut head = vec![usize::MAX; 1 << HASH_BITS];
        let mut prev = vec![usize::MAX; n];
        let insert = |head: &mut [usize], prev: &mut [usize], i: usize| {
            if i + 3 <= n {
                let h = hash(input, i);
                prev[i] = head[h];
                head[h] = i;
            }
        };
        let mut i = 0;
        while i < n {
            let (mut best_len, mut best_dist) = (0usize, 0usize);
            if i + 3 <= n {
                let mut cand = head[hash(input, i)];
                let mut tries = 0;
                while cand != usize::MAX && tries < CHAIN {
                    let dist = i - cand;
                    if dist > WINDOW {
                        break;
                    }
                    let mut l = 0;
                    while i + l < n && input[cand + l] == input[i + l] {
                        l += 1;
                    }
                    if l > best_len {
                        best_len = l;
                        best_dist = dist;
                    }
                    cand = prev[cand];
                    tries += 1;
                }
            }
            if best_len >= 3 {
                out.matched(best_dist, best_len);
                for k in i..i + best_len {
                    insert(&mut head, &mut prev, k);
                }
                i += best_len;
            } else {
                out.literal(input[i]);
                insert(&mut head, &mut prev, i);
                i += 1;
            }
        }
        out.finish()
    }

    #[cfg(test)]
    mod tests {
        use super::compress;
        use crate::etl::xpress::decompress_into;

        fn round_trip(data: &[u8]) {
            let c = compress(data);
            let mut out = Vec::new();
            decompress_into(&c, data.len(), &mut out).unwrap();
            assert_eq!(out, data);
        }

        #[test]
        fn round_trips() {
            round_trip(b"");
            round_trip(b"a");
            round_trip(b"abcabcabcabcabc");
            // Exactly 32 tokens: the stream ends on a full flag word.
            round_trip(&(0..32u8).collect::<Vec<_>>());
            round_trip(&[7u8; 10]);
            round_trip(&[7u8; 3 + 7 + 14]); // nibble < 15
            round_trip(&[7u8; 1 + 3 + 7 + 15 + 254]); // 8-bit escape
            round_trip(&[7u8; 1 + 300]); // 16-bit escape
            round_trip(&[9u8; 1 + 70_000]); // 32-bit escape
            let mut seed = 0x2545_F491_u32;
            let noisy: Vec<u8> = (0..50_000)
                .map(|i| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    if i % 7 < 3 {
                        (seed % 4) as u8
                    } else {
                        (i % 251) as u8
                    }
                })
                .collect();
            round_trip(&noisy);
            // Several long matches share half-bytes in turn.
            let mut v = Vec::new();
            for k in 0..40u8 {
                v.extend(std::iter::repeat_n(k, 20 + k as usize));
            }
            round_trip(&v);
        }
    }
}
