//! Buffers (`format-etl.md` §1): the `WMI_BUFFER_HEADER`, the walk by `BufferSize`, and the
//! events region of each buffer (decompressed when needed).

use super::bytes::{u16_at, u32_at, u64_at};
use super::xpress::{self, XpressError};
use serde::Serialize;

/// Size of `WMI_BUFFER_HEADER` (32- and 64-bit alike).
pub const HEADER_SIZE: usize = 0x48;

/// Largest uncompressed buffer accepted (ETW buffers are at most a few MB; a larger fill level
/// in a compressed buffer is corruption and must not make the reader allocate gigabytes).
pub const MAX_UNCOMPRESSED: usize = 64 << 20;

/// `BufferFlag` bits (§1.1).
pub mod flag {
    /// First (header) buffer and last buffer.
    pub const FLUSH_MARKER: u16 = 0x0001;
    /// Events were lost before this buffer.
    pub const EVENTS_LOST: u16 = 0x0002;
    /// Buffers were lost.
    pub const BUFFER_LOST: u16 = 0x0004;
    /// Real-time backup corrupt.
    pub const RTBACKUP_CORRUPT: u16 = 0x0008;
    /// Real-time backup.
    pub const RTBACKUP: u16 = 0x0010;
    /// ClientContext holds a u16 processor index (Win8+).
    pub const PROC_INDEX: u16 = 0x0020;
    /// Payload after the header is Xpress-compressed.
    pub const COMPRESSED: u16 = 0x0040;
}

/// One buffer of the file, from its header (§1.1).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct BufferInfo {
    /// Index in file order (0 = the header buffer).
    pub index: u32,
    /// File offset of the buffer header.
    pub file_offset: u64,
    /// `BufferSize`: bytes the buffer occupies in the file (compressed size when compressed).
    pub size: u32,
    /// `Offset` (fill level of the uncompressed buffer, header included).
    pub fill: u32,
    /// Flush time, raw session clock (not an event time).
    pub timestamp: u64,
    /// `SequenceNumber` (informational).
    pub sequence: u64,
    /// CPU that wrote it: u16 with PROC_INDEX, else the byte at 0x28 (§1.1).
    pub cpu: u16,
    /// Logger id.
    pub logger_id: u16,
    /// `BufferFlag` bits ([`flag`]).
    pub flags: u16,
    /// `BufferType` (4 = header buffer).
    pub buffer_type: u16,
}

impl BufferInfo {
    /// True when the events region is Xpress-compressed.
    #[inline]
    pub fn compressed(&self) -> bool {
        self.flags & flag::COMPRESSED != 0
    }

    /// Parse the header at `off` of `file`. `None` when fewer than 0x48 bytes remain.
    pub fn parse(file: &[u8], off: usize, index: u32) -> Option<BufferInfo> {
        let h = file.get(off..off.checked_add(HEADER_SIZE)?)?;
        let flags = u16_at(h, 0x34)?;
        let cpu = if flags & flag::PROC_INDEX != 0 {
            u16_at(h, 0x28)?
        } else {
            h[0x28] as u16
        };
        Some(BufferInfo {
            index,
            file_offset: off as u64,
            size: u32_at(h, 0)?,
            fill: u32_at(h, 0x30)?,
            timestamp: u64_at(h, 0x10)?,
            sequence: u64_at(h, 0x18)?,
            cpu,
            logger_id: u16_at(h, 0x2A)?,
            flags,
            buffer_type: u16_at(h, 0x36)?,
        })
    }

    /// Length of the uncompressed events region per the header (`Offset − 0x48`), or the
    /// on-disk region when `Offset` is unusable in an uncompressed buffer.
    pub fn data_len(&self) -> usize {
        let fill = self.fill as usize;
        let on_disk = (self.size as usize).saturating_sub(HEADER_SIZE);
        if self.compressed() {
            fill.saturating_sub(HEADER_SIZE)
        } else if fill < HEADER_SIZE || fill > self.size as usize {
            on_disk
        } else {
            fill - HEADER_SIZE
        }
    }
}

/// Why a buffer's events could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BufferError {
    /// Xpress decoding failed.
    Decompress(XpressError),
    /// The compressed buffer's `Offset` is below the header size.
    BadFill(u32),
}

impl std::fmt::Display for BufferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BufferError::Decompress(e) => write!(f, "compressed buffer: {e}"),
            BufferError::BadFill(v) => {
                write!(f, "compressed buffer with impossible fill level {v}")
            }
        }
    }
}

/// Outcome of walking the buffer headers of a file.
#[derive(Debug, Default)]
pub struct Walk {
    /// Buffers in file order.
    pub buffers: Vec<BufferInfo>,
    /// Why the walk stopped before the end of the file, with the offset.
    pub stopped: Option<(u64, String)>,
}

/// Walk the buffers of `file` by `BufferSize` (§1.2). Never trusts `BuffersWritten`.
pub fn walk(file: &[u8]) -> Walk {
    let mut w = Walk::default();
    let mut pos = 0usize;
    while pos < file.len() {
        let Some(b) = BufferInfo::parse(file, pos, w.buffers.len() as u32) else {
            w.stopped = Some((
                pos as u64,
                format!(
                    "{} trailing bytes, too few for a buffer header",
                    file.len() - pos
                ),
            ));
            break;
        };
        if b.size == 0 {
            // Zero-filled tail of a preallocated file: only report when not all zero.
            if file[pos..].iter().any(|&c| c != 0) {
                w.stopped = Some((
                    pos as u64,
                    "buffer with BufferSize 0; rest of file ignored".into(),
                ));
            }
            break;
        }
        let left = file.len() - pos;
        if (b.size as usize) >= HEADER_SIZE && b.size as usize > left && !b.compressed() {
            // A plain buffer cut short (the file was cut): its events up to the cut are read;
            // an event cut in two is reported by the event walk.
            let fill = b.data_len() + HEADER_SIZE;
            w.stopped = Some((
                pos as u64,
                if fill <= left {
                    format!(
                        "buffer {} claims {} bytes but {left} remain (file cut short): its events (up to offset {fill:#x} of the buffer) are all present, only its padding is missing",
                        b.index, b.size
                    )
                } else {
                    format!(
                        "buffer {} claims {} bytes but {left} remain (file cut short): its events after offset {left:#x} of the buffer (file offset {:#x}) are lost",
                        b.index,
                        b.size,
                        file.len()
                    )
                },
            ));
            let mut b = b;
            b.size = left as u32;
            w.buffers.push(b);
            break;
        }
        if (b.size as usize) < HEADER_SIZE || pos + b.size as usize > file.len() {
            w.stopped = Some((
                pos as u64,
                format!(
                    "buffer {} claims {} bytes but {} remain (truncated or corrupt file); rest ignored",
                    b.index,
                    b.size,
                    file.len() - pos
                ),
            ));
            break;
        }
        pos += b.size as usize;
        w.buffers.push(b);
    }
    w
}

/// Events region of buffer `b`: borrowed from `file` when stored plain, else decompressed into
/// `scratch` (reused; no allocation once grown).
pub fn events_region<'a>(
    file: &'a [u8],
    b: &BufferInfo,
    scratch: &'a mut Vec<u8>,
) -> Result<&'a [u8], BufferError> {
    if b.compressed() {
        let start = b.file_offset as usize + HEADER_SIZE;
        let end = b.file_offset as usize + b.size as usize;
        let raw = &file[start..end];
        if (b.fill as usize) < HEADER_SIZE || b.fill as usize > MAX_UNCOMPRESSED {
            return Err(BufferError::BadFill(b.fill));
        }
        xpress::decompress_into(raw, b.data_len(), scratch).map_err(BufferError::Decompress)?;
        Ok(&scratch[..])
    } else {
        Ok(plain_region(file, b))
    }
}

/// Events region of an uncompressed buffer, borrowed from the file (empty for a compressed one).
pub fn plain_region<'a>(file: &'a [u8], b: &BufferInfo) -> &'a [u8] {
    if b.compressed() {
        return &[];
    }
    let start = b.file_offset as usize + HEADER_SIZE;
    let end = b.file_offset as usize + b.size as usize;
    let raw = &file[start..end];
    &raw[..b.data_len().min(raw.len())]
}
