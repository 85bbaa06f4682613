//! ETW trace (.etl) reader, portable (no Windows API), written from `shared/docs/format-etl.md`.
//!
//! * [`Etl::open`] memory-maps the file, walks the buffers by size (§1.2) and decodes the
//!   logfile header (§2). Nothing is trusted: bad buffers and events are skipped, counted and
//!   reported as [`Problem`]s with file and offset; no input makes the reader panic.
//! * Events ([`Event`]) borrow their buffer; header fields are read on demand and nothing is
//!   allocated per event. Compressed buffers (MS-XCA plain LZ77, [`xpress`]) are decompressed
//!   into reused scratch buffers.
//! * Order: [`Etl::merged`] gives global time order (per-CPU k-way merge, §3.8);
//!   [`Etl::par_fold_buffers`] / [`Etl::par_map_buffers`] process buffers on all cores in file
//!   order (for counts and statistics, where order does not matter).
//! * [`kernel::decode`] turns kernel events into typed records (Process, Thread, Image, FileIo,
//!   Registry, minifilter, StackWalk, Object).
//! * [`info`], [`export`] and [`bench`] are the library side of the CLI subcommands.
//! * [`writer`] writes kernel traces (Image, Process, Thread, FileIo, Registry, minifilter,
//!   StackWalk events; plain or Xpress-compressed buffers) for tests and the samples.
//!
//! Times: raw event timestamps are in the session clock (QPC ticks for clock type 1); convert
//! with [`Etl::clock`] to FILETIME (100-ns units since 1601-01-01 UTC).

pub mod bench;
pub mod buffer;
pub mod bytes;
pub mod event;
pub mod export;
pub mod guid;
pub mod info;
pub mod kernel;
pub mod logfile;
mod merge;
pub mod writer;
pub mod xpress;

pub use buffer::BufferInfo;
pub use event::{BufferEvents, Event, HeaderKind};
pub use guid::Guid;
pub use info::{info, EtlInfo};
pub use kernel::{decode, DecodeCtx, DecodeError, KernelEvent};
pub use logfile::{Clock, ClockType, LogfileHeader};
pub use merge::Merged;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Something the reader skipped, with where it is. Displayed as
/// `file: offset 0x…: message` (plus the buffer and in-buffer offset for compressed buffers,
/// whose events have no file offset of their own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// File name as given to [`Etl::open`].
    pub file: String,
    /// File offset: of the event when its buffer is stored plain, else of the buffer header.
    pub offset: u64,
    /// Buffer index (file order), when the problem is in a buffer.
    pub buffer: Option<u32>,
    /// Offset of the event in the buffer's decompressed data, for compressed buffers.
    pub decompressed_offset: Option<u32>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.buffer, self.decompressed_offset) {
            (Some(b), Some(o)) => write!(
                f,
                "{}: buffer {b} at offset {:#x} (compressed), event at +{o:#x} of its decompressed data: {}",
                self.file, self.offset, self.message
            ),
            (Some(b), None) => write!(
                f,
                "{}: offset {:#x} (buffer {b}): {}",
                self.file, self.offset, self.message
            ),
            _ => write!(f, "{}: offset {:#x}: {}", self.file, self.offset, self.message),
        }
    }
}

pub(crate) enum Source {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Source {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Source::Mapped(m) => m,
            Source::Owned(v) => v,
        }
    }
}

/// An open ETL file.
pub struct Etl {
    name: String,
    data: Arc<Source>,
    header: LogfileHeader,
    clock: Clock,
    buffers: Arc<[BufferInfo]>,
    open_problems: Vec<Problem>,
}

impl fmt::Debug for Etl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Etl")
            .field("name", &self.name)
            .field("bytes", &self.bytes().len())
            .field("buffers", &self.buffers.len())
            .finish()
    }
}

impl Etl {
    /// Memory-map and open `path`. Errors: unreadable file; not an ETL file (no buffer, or the
    /// first event is not the logfile header).
    pub fn open(path: &Path) -> Result<Etl> {
        let file = std::fs::File::open(path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        let len = file
            .metadata()
            .with_context(|| format!("{}: cannot stat", path.display()))?
            .len();
        let data = if len == 0 {
            Source::Owned(Vec::new())
        } else {
            // SAFETY: read-only mapping; the file is not modified by this process. A file
            // truncated by another process while mapped is outside what any reader can handle.
            Source::Mapped(
                unsafe { memmap2::Mmap::map(&file) }
                    .with_context(|| format!("{}: cannot map", path.display()))?,
            )
        };
        Self::from_source(path.display().to_string(), data)
    }

    /// Open an ETL image held in memory (`name` is used in messages).
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<Etl> {
        Self::from_source(name.to_string(), Source::Owned(bytes))
    }

    fn from_source(name: String, data: Source) -> Result<Etl> {
        let walk = buffer::walk(data.bytes());
        let mut open_problems = Vec::new();
        if let Some((off, msg)) = &walk.stopped {
            open_problems.push(Problem {
                file: name.clone(),
                offset: *off,
                buffer: None,
                decompressed_offset: None,
                message: msg.clone(),
            });
        }
        let Some(b0) = walk.buffers.first() else {
            match &walk.stopped {
                Some((_, msg)) => bail!("{name}: not an ETL file: {msg}"),
                None => bail!("{name}: not an ETL file: empty"),
            }
        };
        let mut scratch = Vec::new();
        let region = buffer::events_region(data.bytes(), b0, &mut scratch)
            .map_err(|e| anyhow::anyhow!("{name}: not an ETL file: first buffer: {e}"))?;
        let first = match event::parse_at(region, 0, 0) {
            Ok(Some(p)) => Event::new(region, 0, p, b0.cpu, 0),
            Ok(None) => bail!("{name}: not an ETL file: first buffer holds no event"),
            Err(e) => bail!("{name}: not an ETL file: first event: {e}"),
        };
        if first.group() != Some(0) || first.opcode() != 0 {
            bail!(
                "{name}: not an ETL file: first event is not the logfile header ({} event)",
                first.kind().name()
            );
        }
        let header = LogfileHeader::parse(first.payload(), first.pointer_size(), first.timestamp())
            .with_context(|| {
                format!(
                    "{name}: not an ETL file: logfile header of {} bytes is too short",
                    first.payload().len()
                )
            })?;
        let clock = header.clock();
        Ok(Etl {
            name,
            data: Arc::new(data),
            header,
            clock,
            buffers: walk.buffers.into(),
            open_problems,
        })
    }

    /// The name given at open (the path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        self.data.bytes()
    }

    pub(crate) fn shared_source(&self) -> (Arc<Source>, Arc<[BufferInfo]>) {
        (self.data.clone(), self.buffers.clone())
    }

    /// The decoded logfile header (§2.2).
    pub fn header(&self) -> &LogfileHeader {
        &self.header
    }

    /// Raw timestamp → FILETIME converter for this file (§2.4).
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Buffers in file order.
    pub fn buffers(&self) -> &[BufferInfo] {
        &self.buffers
    }

    /// Context for [`kernel::decode`].
    pub fn decode_ctx(&self) -> DecodeCtx {
        DecodeCtx {
            first_timestamp: self.header.raw_origin,
        }
    }

    /// Decode a kernel event of this file (see [`kernel::decode`]).
    pub fn decode<'a>(
        &self,
        ev: &Event<'a>,
    ) -> std::result::Result<Option<KernelEvent<'a>>, DecodeError> {
        kernel::decode(ev, &self.decode_ctx())
    }

    /// Problems found while opening (truncated file, trailing garbage).
    pub fn open_problems(&self) -> &[Problem] {
        &self.open_problems
    }

    /// A problem located at buffer `b`.
    pub fn buffer_problem(&self, b: &BufferInfo, msg: &str) -> Problem {
        Problem {
            file: self.name.clone(),
            offset: b.file_offset,
            buffer: Some(b.index),
            decompressed_offset: None,
            message: msg.to_string(),
        }
    }

    /// A problem located at the event at `offset` of buffer `buffer`'s data.
    pub fn event_problem(&self, buffer: u32, offset: u32, msg: &str) -> Problem {
        let b = self.buffers.get(buffer as usize);
        let compressed = b.is_some_and(|b| b.compressed());
        let base = b.map(|b| b.file_offset).unwrap_or(0);
        Problem {
            file: self.name.clone(),
            offset: if compressed {
                base
            } else {
                base + buffer::HEADER_SIZE as u64 + offset as u64
            },
            buffer: Some(buffer),
            decompressed_offset: compressed.then_some(offset),
            message: msg.to_string(),
        }
    }

    /// Where event `ev` is, for messages.
    pub fn location(&self, ev: &Event<'_>, msg: &str) -> Problem {
        self.event_problem(ev.buffer, ev.offset, msg)
    }

    /// Events of buffer `index` in buffer order; a compressed buffer is decompressed into
    /// `scratch`. Errors: the buffer cannot be decompressed.
    pub fn buffer_events<'a>(
        &'a self,
        index: usize,
        scratch: &'a mut Vec<u8>,
    ) -> std::result::Result<BufferEvents<'a>, Problem> {
        let b = &self.buffers[index];
        match buffer::events_region(self.bytes(), b, scratch) {
            Ok(d) => Ok(BufferEvents::new(d, b.cpu, b.index)),
            Err(e) => Err(self.buffer_problem(b, &e.to_string())),
        }
    }

    /// Run `f` on every buffer, in parallel; results in file order. `f` gets the buffer and
    /// its events (or the problem that made them unreadable). After iterating, check
    /// [`BufferEvents::stopped`] for a walk that ended early.
    pub fn par_map_buffers<R, F>(&self, f: F) -> Vec<R>
    where
        R: Send,
        F: Fn(&BufferInfo, std::result::Result<BufferEvents<'_>, Problem>) -> R + Sync + Send,
    {
        (0..self.buffers.len())
            .into_par_iter()
            .map_init(Vec::new, |scratch, i| {
                let r = self.buffer_events(i, scratch);
                f(&self.buffers[i], r)
            })
            .collect()
    }

    /// Fold every buffer into an accumulator, in parallel (order of buffers not preserved),
    /// then combine the accumulators with `reduce`.
    pub fn par_fold_buffers<T, I, F, R>(&self, init: I, f: F, reduce: R) -> T
    where
        T: Send,
        I: Fn() -> T + Sync + Send,
        F: Fn(&mut T, &BufferInfo, std::result::Result<BufferEvents<'_>, Problem>) + Sync + Send,
        R: Fn(T, T) -> T + Sync + Send,
    {
        (0..self.buffers.len())
            .into_par_iter()
            .fold(
                || (init(), Vec::new()),
                |(mut acc, mut scratch), i| {
                    let r = self.buffer_events(i, &mut scratch);
                    f(&mut acc, &self.buffers[i], r);
                    (acc, scratch)
                },
            )
            .map(|(a, _)| a)
            .reduce(&init, &reduce)
    }

    /// Visit every event in file order (buffer by buffer), on this thread. Returns the problems.
    pub fn for_each_in_file_order(&self, mut f: impl FnMut(&Event<'_>)) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut scratch = Vec::new();
        for i in 0..self.buffers.len() {
            match self.buffer_events(i, &mut scratch) {
                Ok(mut evs) => {
                    for ev in evs.by_ref() {
                        f(&ev);
                    }
                    if let Some((off, e)) = evs.stopped() {
                        problems.push(self.event_problem(i as u32, off as u32, &e.to_string()));
                    }
                }
                Err(p) => problems.push(p),
            }
        }
        problems
    }

    /// OR of the group masks of all EventTrace Extension / EndExtension events (§6), and the
    /// largest KernelEventVersion; `None` when the file has none (not a kernel session).
    /// Scans the file (all cores).
    pub fn group_masks(&self) -> Option<([u32; 8], Option<u32>)> {
        let ctx = self.decode_ctx();
        self.par_fold_buffers(
            || None,
            |acc: &mut Option<([u32; 8], Option<u32>)>, _, evs| {
                let Ok(evs) = evs else { return };
                for ev in evs {
                    if ev.group() != Some(0) || !matches!(ev.opcode(), 5 | 32) {
                        continue;
                    }
                    if let Ok(Some(KernelEvent::GroupMask(m))) = kernel::decode(&ev, &ctx) {
                        let (prev, kev) = acc.unwrap_or_default();
                        *acc = Some((
                            std::array::from_fn(|i| prev[i] | m.masks[i]),
                            kev.max(m.kernel_event_version),
                        ));
                    }
                }
            },
            |a, b| match (a, b) {
                (Some(x), Some(y)) => {
                    Some((std::array::from_fn(|i| x.0[i] | y.0[i]), x.1.max(y.1)))
                }
                (x, y) => x.or(y),
            },
        )
    }

    /// Events in global time order (§3.8).
    pub fn merged(&self) -> Merged<'_> {
        Merged::new(self)
    }

    /// Visit every event in global time order. Returns the problems met.
    pub fn for_each_merged(&self, mut f: impl FnMut(&Event<'_>)) -> Vec<Problem> {
        let mut m = self.merged();
        while let Some(ev) = m.next() {
            f(&ev);
        }
        m.take_problems()
    }
}

/// Does a file starting with `head` look like an ETL trace? ETL has no signature; a trace starts
/// with its header buffer (`format-etl.md` §1.1: BufferType u16 at 0x36 = 4) whose first event,
/// the logfile header at 0x48 (§2.1), carries the trace-header flag bits 0xC0 in its fourth byte.
/// Holds for all 16 corpus traces.
pub fn looks_like_etl(head: &[u8]) -> bool {
    head.len() >= 0x4C
        && u16::from_le_bytes([head[0x36], head[0x37]]) == 4
        && head[0x4B] & 0xC0 == 0xC0
}
