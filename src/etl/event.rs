//! Event headers (`format-etl.md` §3): recognising the kind, finding the payload, and the
//! header fields of every kind. Parsing allocates nothing: an [`Event`] borrows the buffer.

use super::bytes::{align8, u16_at, u32_at, u64_at};
use super::guid::{self, Guid};
use serde::Serialize;

/// Header kind: byte 2 of the marker (`TRACE_HEADER_TYPE_*`), or WPP message (§3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[repr(u8)]
pub enum HeaderKind {
    /// 0x01 `SYSTEM_TRACE_HEADER`, 32-bit payload pointers.
    System32 = 0x01,
    /// 0x02 `SYSTEM_TRACE_HEADER`, 64-bit payload pointers.
    System64 = 0x02,
    /// 0x03 compact system header, 32-bit.
    Compact32 = 0x03,
    /// 0x04 compact system header, 64-bit.
    Compact64 = 0x04,
    /// 0x0A `EVENT_TRACE_HEADER` (classic/MOF), 32-bit.
    Full32 = 0x0A,
    /// 0x0B `EVENT_INSTANCE_GUID_HEADER`, 32-bit.
    Instance32 = 0x0B,
    /// 0x0C TIMED ("not used").
    Timed = 0x0C,
    /// 0x0D ERROR.
    Error = 0x0D,
    /// 0x0E WNODE_HEADER ("not used").
    Wnode = 0x0E,
    /// WPP `MESSAGE_TRACE_HEADER` (marker top byte 0x90).
    Message = 0x0F,
    /// 0x10 `PERFINFO_TRACE_HEADER`, 32-bit.
    PerfInfo32 = 0x10,
    /// 0x11 `PERFINFO_TRACE_HEADER`, 64-bit.
    PerfInfo64 = 0x11,
    /// 0x12 `EVENT_HEADER` (manifest / TraceLogging), 32-bit.
    EventHeader32 = 0x12,
    /// 0x13 `EVENT_HEADER`, 64-bit.
    EventHeader64 = 0x13,
    /// 0x14 `EVENT_TRACE_HEADER`, 64-bit.
    Full64 = 0x14,
    /// 0x15 `EVENT_INSTANCE_GUID_HEADER`, 64-bit.
    Instance64 = 0x15,
    /// Any other type byte (skipped by its size, counted).
    Unknown = 0xFF,
}

impl HeaderKind {
    fn from_type(t: u8) -> HeaderKind {
        use HeaderKind::*;
        match t {
            0x01 => System32,
            0x02 => System64,
            0x03 => Compact32,
            0x04 => Compact64,
            0x0A => Full32,
            0x0B => Instance32,
            0x0C => Timed,
            0x0D => Error,
            0x0E => Wnode,
            0x0F => Message,
            0x10 => PerfInfo32,
            0x11 => PerfInfo64,
            0x12 => EventHeader32,
            0x13 => EventHeader64,
            0x14 => Full64,
            0x15 => Instance64,
            _ => Unknown,
        }
    }

    /// Upper-case name as in §3.1 (`SYSTEM64`, `EVENT_HEADER32`, …).
    pub fn name(&self) -> &'static str {
        use HeaderKind::*;
        match self {
            System32 => "SYSTEM32",
            System64 => "SYSTEM64",
            Compact32 => "COMPACT32",
            Compact64 => "COMPACT64",
            Full32 => "FULL_HEADER32",
            Instance32 => "INSTANCE32",
            Timed => "TIMED",
            Error => "ERROR",
            Wnode => "WNODE_HEADER",
            Message => "MESSAGE",
            PerfInfo32 => "PERFINFO32",
            PerfInfo64 => "PERFINFO64",
            EventHeader32 => "EVENT_HEADER32",
            EventHeader64 => "EVENT_HEADER64",
            Full64 => "FULL_HEADER64",
            Instance64 => "INSTANCE64",
            Unknown => "UNKNOWN",
        }
    }

    /// Kernel (MOF) header: SYSTEM, COMPACT or PERFINFO — keyed by group and type.
    #[inline]
    pub fn is_kernel(&self) -> bool {
        use HeaderKind::*;
        matches!(
            self,
            System32 | System64 | Compact32 | Compact64 | PerfInfo32 | PerfInfo64
        )
    }

    /// Manifest / TraceLogging header (`EVENT_HEADER`).
    #[inline]
    pub fn is_event_header(&self) -> bool {
        matches!(self, HeaderKind::EventHeader32 | HeaderKind::EventHeader64)
    }

    /// Classic MOF header (`EVENT_TRACE_HEADER` or instance header).
    #[inline]
    pub fn is_classic(&self) -> bool {
        use HeaderKind::*;
        matches!(self, Full32 | Full64 | Instance32 | Instance64)
    }

    /// Pointer size of the payload implied by the header kind (§3.1): 4 or 8; 0 when the
    /// kind does not say (message, error, unknown).
    pub fn pointer_size(&self) -> u8 {
        use HeaderKind::*;
        match self {
            System32 | Compact32 | Full32 | Instance32 | PerfInfo32 | EventHeader32 => 4,
            System64 | Compact64 | Full64 | Instance64 | PerfInfo64 | EventHeader64 => 8,
            _ => 0,
        }
    }

    fn fixed_size(&self) -> usize {
        use HeaderKind::*;
        match self {
            System32 | System64 => 0x20,
            Compact32 | Compact64 => 0x18,
            PerfInfo32 | PerfInfo64 => 0x10,
            EventHeader32 | EventHeader64 => 0x50,
            Full32 | Full64 => 0x30,
            Instance32 | Instance64 => 0x48,
            Message => 8,
            Timed | Error | Wnode | Unknown => 8,
        }
    }
}

/// Where the header fields of one event were found; no borrow, so it can be stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Header kind.
    pub kind: HeaderKind,
    /// Raw timestamp (session clock, §2.4). Message events without a time field carry the
    /// time of the previous event of their buffer.
    pub timestamp: u64,
    /// Event size (header + extended items + payload; no padding).
    pub size: u16,
    /// Payload start, relative to the event start.
    pub payload_start: u16,
    /// Start of the extended data items (EVENT_HEADER) or PEBS/PMC extension (kernel headers).
    pub ext_start: u16,
    /// Size in bytes of the event in the buffer, with alignment padding.
    pub stride: u32,
}

/// Why the walk of a buffer stopped before its fill level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkError {
    /// The marker is neither a trace header nor a message.
    BadMarker(u32),
    /// The size field is smaller than the header or runs past the data.
    BadSize {
        /// Header kind.
        kind: HeaderKind,
        /// Size field.
        size: u16,
    },
}

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WalkError::BadMarker(m) => write!(f, "unknown event marker {m:#010x}"),
            WalkError::BadSize { kind, size } => {
                write!(f, "{} event with impossible size {size}", kind.name())
            }
        }
    }
}

/// Parse the event at `off` of buffer data `d`. `Ok(None)` = end of data (0xFFFFFFFF marker
/// or fewer than 4 bytes left). `prev_ts` is the time given to messages without a time field.
#[inline]
pub fn parse_at(d: &[u8], off: usize, prev_ts: u64) -> Result<Option<Parsed>, WalkError> {
    let Some(m) = u32_at(d, off) else {
        return Ok(None);
    };
    if m == 0xFFFF_FFFF {
        return Ok(None);
    }
    let top = (m >> 24) as u8;
    let kind = if top & 0xC0 == 0xC0 {
        HeaderKind::from_type((m >> 16) as u8)
    } else if top & 0xF0 == 0x90 {
        HeaderKind::Message
    } else {
        return Err(WalkError::BadMarker(m));
    };
    let ev = &d[off..];
    let size = if kind.is_kernel() {
        u16_at(ev, 4).unwrap_or(0)
    } else {
        m as u16
    };
    let fixed = kind.fixed_size();
    if (size as usize) < fixed || size as usize > ev.len() {
        return Err(WalkError::BadSize { kind, size });
    }
    let ev = &ev[..size as usize];
    let mut payload_start = fixed;
    let ext_start = fixed;
    let timestamp;
    use HeaderKind::*;
    match kind {
        System32 | System64 | Compact32 | Compact64 | PerfInfo32 | PerfInfo64 => {
            timestamp = if matches!(kind, PerfInfo32 | PerfInfo64) {
                u64_at(ev, 8).unwrap_or(0)
            } else {
                u64_at(ev, 0x10).unwrap_or(0)
            };
            // PEBS index and PMC counters (§3.3).
            let v = m as u16;
            if v & 0x8000 != 0 {
                payload_start += 8;
            }
            payload_start += 8 * ((v >> 8) & 7) as usize;
            if payload_start > ev.len() {
                return Err(WalkError::BadSize { kind, size });
            }
        }
        EventHeader32 | EventHeader64 => {
            timestamp = u64_at(ev, 0x10).unwrap_or(0);
            let flags = u16_at(ev, 4).unwrap_or(0);
            if flags & 1 != 0 {
                // Extended data items (§3.4): walk until an item without the linkage bit.
                let mut p = fixed;
                loop {
                    let (Some(isz), Some(link)) = (u16_at(ev, p), u16_at(ev, p + 4)) else {
                        return Err(WalkError::BadSize { kind, size });
                    };
                    let dsz = u16_at(ev, p + 6).unwrap_or(0) as usize;
                    let isz = isz as usize;
                    if isz < 8 || dsz > isz - 8 || p + isz > ev.len() {
                        return Err(WalkError::BadSize { kind, size });
                    }
                    p += isz;
                    if link & 1 == 0 {
                        break;
                    }
                }
                payload_start = p;
            }
        }
        Full32 | Full64 | Instance32 | Instance64 => {
            timestamp = u64_at(ev, 0x10).unwrap_or(0);
        }
        Message => {
            let (ts, start) = message_fields(ev).time_and_payload;
            timestamp = ts.unwrap_or(prev_ts);
            payload_start = start;
        }
        Timed | Error | Wnode | Unknown => {
            timestamp = prev_ts;
        }
    }
    Ok(Some(Parsed {
        kind,
        timestamp,
        size,
        payload_start: payload_start as u16,
        ext_start: ext_start as u16,
        stride: align8(size as usize) as u32,
    }))
}

/// Optional fields of a WPP message header (§3.6).
#[derive(Clone, Copy, Debug, Default)]
struct MessageFields {
    sequence: Option<u32>,
    guid: Option<Guid>,
    component: Option<u32>,
    ids: Option<(u32, u32)>,
    time_and_payload: (Option<u64>, usize),
}

fn message_fields(ev: &[u8]) -> MessageFields {
    let flags = u16_at(ev, 6).unwrap_or(0);
    let mut p = 8;
    let mut f = MessageFields::default();
    if flags & 0x01 != 0 {
        f.sequence = u32_at(ev, p);
        p += 4;
    }
    if flags & 0x02 != 0 {
        f.guid = Guid::read(ev, p);
        p += 16;
    } else if flags & 0x04 != 0 {
        f.component = u32_at(ev, p);
        p += 4;
    }
    let mut ts = None;
    if flags & 0x08 != 0 {
        ts = u64_at(ev, p);
        p += 8;
    }
    if flags & 0x20 != 0 {
        f.ids = u32_at(ev, p).zip(u32_at(ev, p + 4));
        p += 8;
    }
    f.time_and_payload = (ts, p.min(ev.len()));
    f
}

/// One event, borrowed from its (decompressed) buffer. Header fields are read on demand.
#[derive(Clone, Copy, Debug)]
pub struct Event<'a> {
    /// The event bytes (header, extended items, payload; no padding).
    pub raw: &'a [u8],
    /// Parsed header layout.
    pub parsed: Parsed,
    /// CPU that wrote the buffer (§1.1 ClientContext).
    pub cpu: u16,
    /// Index of the buffer in file order (0 = header buffer).
    pub buffer: u32,
    /// Offset of the event in the buffer's uncompressed data (after the 0x48-byte header).
    pub offset: u32,
}

impl<'a> Event<'a> {
    /// Build the event at `off` of buffer data `d` from its parsed header.
    #[inline]
    pub fn new(d: &'a [u8], off: usize, p: Parsed, cpu: u16, buffer: u32) -> Event<'a> {
        Event {
            raw: &d[off..off + p.size as usize],
            parsed: p,
            cpu,
            buffer,
            offset: off as u32,
        }
    }

    /// Header kind.
    #[inline]
    pub fn kind(&self) -> HeaderKind {
        self.parsed.kind
    }

    /// Raw timestamp in the session clock (§2.4; convert with [`super::Clock::filetime`]).
    #[inline]
    pub fn timestamp(&self) -> u64 {
        self.parsed.timestamp
    }

    /// Event size in bytes (header + extended items + payload).
    #[inline]
    pub fn size(&self) -> u16 {
        self.parsed.size
    }

    /// Payload (user data) bytes.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.raw[self.parsed.payload_start as usize..]
    }

    /// Pointer size of the payload: from the header kind (§3.1), never from the logfile header.
    /// Messages and unknown kinds report 8.
    #[inline]
    pub fn pointer_size(&self) -> usize {
        match self.parsed.kind.pointer_size() {
            0 => 8,
            p => p as usize,
        }
    }

    /// Kernel group byte (`HookId >> 8`) for SYSTEM/COMPACT/PERFINFO events.
    #[inline]
    pub fn group(&self) -> Option<u8> {
        self.parsed.kind.is_kernel().then(|| self.raw[7])
    }

    /// Opcode: kernel Type byte; `EVENT_HEADER` Opcode; classic `Class.Type`; 0 otherwise.
    #[inline]
    pub fn opcode(&self) -> u8 {
        use HeaderKind::*;
        match self.parsed.kind {
            k if k.is_kernel() => self.raw[6],
            EventHeader32 | EventHeader64 => self.raw[0x2D],
            Full32 | Full64 | Instance32 | Instance64 => self.raw[4],
            _ => 0,
        }
    }

    /// Event identity within its provider: `EVENT_HEADER` Id, WPP message number, or the
    /// opcode (Type) for kernel and classic events. This is the "opcode" of count keys.
    #[inline]
    pub fn key_id(&self) -> u16 {
        use HeaderKind::*;
        match self.parsed.kind {
            EventHeader32 | EventHeader64 => u16_at(self.raw, 0x28).unwrap_or(0),
            Message => u16_at(self.raw, 4).unwrap_or(0),
            _ => self.opcode() as u16,
        }
    }

    /// Event version: kernel `Version & 0xFF` (the bits above are PEBS/PMC flags, §3.3);
    /// `EVENT_HEADER` Version; classic `Class.Version`; 0 otherwise.
    #[inline]
    pub fn version(&self) -> u16 {
        use HeaderKind::*;
        match self.parsed.kind {
            k if k.is_kernel() => self.raw[0] as u16,
            EventHeader32 | EventHeader64 => self.raw[0x2A] as u16,
            Full32 | Full64 | Instance32 | Instance64 => u16_at(self.raw, 6).unwrap_or(0),
            _ => 0,
        }
    }

    /// Level (`EVENT_HEADER` or classic), 0 otherwise.
    pub fn level(&self) -> u8 {
        use HeaderKind::*;
        match self.parsed.kind {
            EventHeader32 | EventHeader64 => self.raw[0x2C],
            Full32 | Full64 | Instance32 | Instance64 => self.raw[5],
            _ => 0,
        }
    }

    /// Provider GUID: kernel group GUID (§4.1, Image Load rule), `EVENT_HEADER` ProviderId,
    /// classic event GUID, message GUID; null when none.
    #[inline]
    pub fn provider(&self) -> Guid {
        use HeaderKind::*;
        match self.parsed.kind {
            k if k.is_kernel() => guid::kernel_guid(self.raw[7], self.raw[6]),
            EventHeader32 | EventHeader64 | Full32 | Full64 | Instance32 | Instance64 => {
                Guid::read(self.raw, 0x18).unwrap_or_default()
            }
            Message => message_fields(self.raw).guid.unwrap_or_default(),
            _ => Guid::NULL,
        }
    }

    /// Process id from the header; `None` for PERFINFO (take it from the payload) and kinds
    /// without one.
    #[inline]
    pub fn pid(&self) -> Option<u32> {
        use HeaderKind::*;
        match self.parsed.kind {
            System32 | System64 | Compact32 | Compact64 | EventHeader32 | EventHeader64
            | Full32 | Full64 | Instance32 | Instance64 => u32_at(self.raw, 0x0C),
            Message => message_fields(self.raw).ids.map(|i| i.1),
            _ => None,
        }
    }

    /// Thread id from the header (same rules as [`Event::pid`]).
    #[inline]
    pub fn tid(&self) -> Option<u32> {
        use HeaderKind::*;
        match self.parsed.kind {
            System32 | System64 | Compact32 | Compact64 | EventHeader32 | EventHeader64
            | Full32 | Full64 | Instance32 | Instance64 => u32_at(self.raw, 0x08),
            Message => message_fields(self.raw).ids.map(|i| i.0),
            _ => None,
        }
    }

    /// PEBS index of a kernel header with the 0x8000 version bit (§3.3).
    pub fn pebs_index(&self) -> Option<u64> {
        if self.parsed.kind.is_kernel() && self.raw[1] & 0x80 != 0 {
            u64_at(self.raw, self.parsed.ext_start as usize)
        } else {
            None
        }
    }

    /// PMC counter values of a kernel header (`(Version >> 8) & 7` counters, §3.3).
    pub fn pmc_counters(&self) -> impl Iterator<Item = u64> + 'a {
        let (start, n) = if self.parsed.kind.is_kernel() {
            let pebs = if self.raw[1] & 0x80 != 0 { 8 } else { 0 };
            (
                self.parsed.ext_start as usize + pebs,
                (self.raw[1] & 7) as usize,
            )
        } else {
            (0, 0)
        };
        let raw = self.raw;
        (0..n).filter_map(move |i| u64_at(raw, start + 8 * i))
    }

    /// `EVENT_HEADER` Flags (0x0001 EXTENDED_INFO …); 0 for other kinds.
    pub fn header_flags(&self) -> u16 {
        if self.parsed.kind.is_event_header() {
            u16_at(self.raw, 4).unwrap_or(0)
        } else {
            0
        }
    }

    /// `EVENT_HEADER` EventProperty; WPP MessageFlags; 0 otherwise.
    pub fn event_property(&self) -> u16 {
        match self.parsed.kind {
            k if k.is_event_header() => u16_at(self.raw, 6).unwrap_or(0),
            HeaderKind::Message => u16_at(self.raw, 6).unwrap_or(0),
            _ => 0,
        }
    }

    /// `EVENT_HEADER` Channel, Task, Keyword.
    pub fn channel_task_keyword(&self) -> Option<(u8, u16, u64)> {
        if self.parsed.kind.is_event_header() {
            Some((
                self.raw[0x2B],
                u16_at(self.raw, 0x2E)?,
                u64_at(self.raw, 0x30)?,
            ))
        } else {
            None
        }
    }

    /// `EVENT_HEADER` ActivityId.
    pub fn activity_id(&self) -> Option<Guid> {
        if self.parsed.kind.is_event_header() {
            Guid::read(self.raw, 0x40)
        } else {
            None
        }
    }

    /// Kernel and user CPU time (SYSTEM, EVENT_HEADER, classic headers), in clock ticks.
    pub fn cpu_times(&self) -> Option<(u32, u32)> {
        use HeaderKind::*;
        let o = match self.parsed.kind {
            System32 | System64 => 0x18,
            EventHeader32 | EventHeader64 => 0x38,
            Full32 | Full64 | Instance32 | Instance64 => 0x28,
            _ => return None,
        };
        Some((u32_at(self.raw, o)?, u32_at(self.raw, o + 4)?))
    }

    /// Instance header fields: InstanceId, ParentInstanceId, ParentGuid (§3.5).
    pub fn instance(&self) -> Option<(u32, u32, Guid)> {
        if matches!(
            self.parsed.kind,
            HeaderKind::Instance32 | HeaderKind::Instance64
        ) {
            Some((
                u32_at(self.raw, 0x30)?,
                u32_at(self.raw, 0x34)?,
                Guid::read(self.raw, 0x38)?,
            ))
        } else {
            None
        }
    }

    /// WPP message: sequence number, component id.
    pub fn message_sequence_component(&self) -> Option<(Option<u32>, Option<u32>)> {
        (self.parsed.kind == HeaderKind::Message).then(|| {
            let f = message_fields(self.raw);
            (f.sequence, f.component)
        })
    }

    /// Extended data items of an `EVENT_HEADER` event (§3.4).
    pub fn extended_items(&self) -> ExtItems<'a> {
        let region = if self.parsed.kind.is_event_header() {
            &self.raw[self.parsed.ext_start as usize..self.parsed.payload_start as usize]
        } else {
            &[]
        };
        ExtItems { region, pos: 0 }
    }
}

/// Extended data item types (`EVENT_HEADER_EXT_TYPE_*`, §3.4).
pub mod ext_type {
    /// Related activity id (GUID).
    pub const RELATED_ACTIVITYID: u16 = 1;
    /// SID.
    pub const SID: u16 = 2;
    /// Terminal session id (u32).
    pub const TS_ID: u16 = 3;
    /// Instance info.
    pub const INSTANCE_INFO: u16 = 4;
    /// 32-bit stack: u64 MatchId then u32 addresses.
    pub const STACK_TRACE32: u16 = 5;
    /// 64-bit stack: u64 MatchId then u64 addresses.
    pub const STACK_TRACE64: u16 = 6;
    /// PEBS index.
    pub const PEBS_INDEX: u16 = 7;
    /// PMC counters.
    pub const PMC_COUNTERS: u16 = 8;
    /// PSM key.
    pub const PSM_KEY: u16 = 9;
    /// Event key.
    pub const EVENT_KEY: u16 = 10;
    /// TraceLogging schema.
    pub const EVENT_SCHEMA_TL: u16 = 11;
    /// Provider traits.
    pub const PROV_TRAITS: u16 = 12;
    /// Process start key.
    pub const PROCESS_START_KEY: u16 = 13;
    /// Control GUID.
    pub const CONTROL_GUID: u16 = 14;
    /// QPC delta.
    pub const QPC_DELTA: u16 = 15;
    /// Container id.
    pub const CONTAINER_ID: u16 = 16;
    /// 32-bit stack key.
    pub const STACK_KEY32: u16 = 17;
    /// 64-bit stack key.
    pub const STACK_KEY64: u16 = 18;
}

/// One extended data item.
#[derive(Clone, Copy, Debug)]
pub struct ExtItem<'a> {
    /// `EVENT_HEADER_EXT_TYPE_*` ([`ext_type`]).
    pub ext_type: u16,
    /// Item data (DataSize bytes, padding removed).
    pub data: &'a [u8],
}

impl<'a> ExtItem<'a> {
    /// Frames of a STACK_TRACE32/64 item: (MatchId, addresses).
    pub fn stack(&self) -> Option<(u64, super::bytes::Pointers<'a>)> {
        let p = match self.ext_type {
            ext_type::STACK_TRACE32 => 4,
            ext_type::STACK_TRACE64 => 8,
            _ => return None,
        };
        let id = u64_at(self.data, 0)?;
        Some((id, super::bytes::Pointers::new(&self.data[8..], p)))
    }
}

/// Iterator over the extended data items of an event.
#[derive(Clone, Debug)]
pub struct ExtItems<'a> {
    region: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for ExtItems<'a> {
    type Item = ExtItem<'a>;
    fn next(&mut self) -> Option<ExtItem<'a>> {
        let r = self.region;
        let isz = u16_at(r, self.pos)? as usize;
        let t = u16_at(r, self.pos + 2)?;
        let dsz = u16_at(r, self.pos + 6)? as usize;
        if isz < 8 || dsz > isz - 8 || self.pos + isz > r.len() {
            return None;
        }
        let data = &r[self.pos + 8..self.pos + 8 + dsz];
        self.pos += isz;
        Some(ExtItem { ext_type: t, data })
    }
}

/// Iterator over the events of one buffer's data, in buffer order.
#[derive(Clone, Debug)]
pub struct BufferEvents<'a> {
    data: &'a [u8],
    off: usize,
    last_ts: u64,
    cpu: u16,
    buffer: u32,
    stopped: Option<(usize, WalkError)>,
}

impl<'a> BufferEvents<'a> {
    /// Walk `data` (the events region of buffer `buffer`, written by `cpu`).
    pub fn new(data: &'a [u8], cpu: u16, buffer: u32) -> Self {
        BufferEvents {
            data,
            off: 0,
            last_ts: 0,
            cpu,
            buffer,
            stopped: None,
        }
    }

    /// Where and why the walk stopped early (offset in the buffer data), if it did.
    pub fn stopped(&self) -> Option<(usize, WalkError)> {
        self.stopped
    }
}

impl<'a> Iterator for BufferEvents<'a> {
    type Item = Event<'a>;
    #[inline]
    fn next(&mut self) -> Option<Event<'a>> {
        if self.stopped.is_some() {
            return None;
        }
        match parse_at(self.data, self.off, self.last_ts) {
            Ok(Some(p)) => {
                let ev = Event::new(self.data, self.off, p, self.cpu, self.buffer);
                self.off += p.stride as usize;
                self.last_ts = p.timestamp;
                Some(ev)
            }
            Ok(None) => None,
            Err(e) => {
                self.stopped = Some((self.off, e));
                None
            }
        }
    }
}
