//! Typed decoders for the kernel (MOF) events that attribution needs (`format-etl.md` §4–§6).
//!
//! Decoders are keyed on (group, type, version), never on header kind (§3.7), take the pointer
//! size from the event header, read only fields that fit and report a payload shorter than the
//! fixed part as [`DecodeError::Short`]. Records borrow their strings from the buffer: decoding
//! allocates nothing.
//!
//! Units, everywhere: `…_time` fields named *raw* are session-clock values (QPC ticks for clock
//! type 1; convert with [`crate::etl::Clock`]); fields documented as FILETIME are 100-ns units
//! since 1601 UTC. Addresses and keys are `u64` whatever the pointer size.

mod fileio;
mod process;
mod registry;
mod stack;

pub use fileio::*;
pub use process::*;
pub use registry::*;
pub use stack::*;

use super::event::Event;
use serde::Serialize;

/// Kernel group bytes (`HookId >> 8`, §4.1) used by the decoders.
pub mod group {
    /// EventTrace (header, group masks).
    pub const EVENT_TRACE: u8 = 0x00;
    /// Process (and Image Load, type 10).
    pub const PROCESS: u8 = 0x03;
    /// FileIo (and minifilter 96–101).
    pub const FILE_IO: u8 = 0x04;
    /// Thread.
    pub const THREAD: u8 = 0x05;
    /// Registry.
    pub const REGISTRY: u8 = 0x09;
    /// Object (handles).
    pub const OBJECT: u8 = 0x11;
    /// Image.
    pub const IMAGE: u8 = 0x14;
    /// StackWalk.
    pub const STACK_WALK: u8 = 0x18;
}

/// Context some decoders need beyond the event itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecodeCtx {
    /// Raw timestamp of the first event of the session (the logfile header event): lower bound
    /// for plausible raw times inside payloads (minifilter InitialTime, §5.2).
    pub first_timestamp: u64,
}

/// Why a kernel payload could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DecodeError {
    /// Payload shorter than the fixed part of its layout.
    Short {
        /// Bytes the layout needs.
        need: usize,
        /// Bytes present.
        got: usize,
    },
    /// A version this reader has no layout for.
    UnsupportedVersion(u16),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Short { need, got } => {
                write!(f, "payload of {got} bytes, layout needs {need}")
            }
            DecodeError::UnsupportedVersion(v) => write!(f, "no layout for version {v}"),
        }
    }
}

#[inline]
pub(crate) fn need(payload: &[u8], n: usize) -> Result<(), DecodeError> {
    if payload.len() < n {
        Err(DecodeError::Short {
            need: n,
            got: payload.len(),
        })
    } else {
        Ok(())
    }
}

/// A decoded kernel event. Each variant's record names its section of `format-etl.md`.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(untagged)]
pub enum KernelEvent<'a> {
    /// EventTrace type 5 / 32: enabled kernel groups (§6).
    GroupMask(GroupMaskEvent),
    /// Process Start/End/DCStart/DCEnd/Defunct (§4.2).
    Process(ProcessEvent<'a>),
    /// Process Terminate (type 11).
    ProcessTerminate(ProcessTerminateEvent),
    /// Process PerfCtr / PerfCtrRundown (types 32, 33).
    ProcessCounters(ProcessCountersEvent),
    /// Thread Start/End/DCStart/DCEnd (§4.3).
    Thread(ThreadEvent<'a>),
    /// Image Load/Unload/DCStart/DCEnd (§4.4).
    Image(ImageEvent<'a>),
    /// Image KernelBase / HypercallPage (§4.4; one pointer).
    ImageAddress(ImageAddressEvent),
    /// FileIo Name/FileCreate/FileDelete/FileRundown (§4.5).
    FileName(FileNameEvent<'a>),
    /// FileIo Create / CreateNew (§4.5).
    FileCreate(FileCreateEvent<'a>),
    /// FileIo Cleanup / Close / Flush (§4.5).
    FileSimpleOp(FileSimpleOpEvent),
    /// FileIo Read / Write (§4.5).
    FileReadWrite(FileReadWriteEvent),
    /// FileIo SetInfo / Delete / Rename / QueryInfo / FSControl / SetLink (§4.5).
    FileInfo(FileInfoEvent),
    /// FileIo DirEnum / DirNotify (§4.5).
    FileDirEnum(FileDirEnumEvent<'a>),
    /// FileIo DeletePath / RenamePath / SetLinkPath (§4.5).
    FilePathOp(FilePathOpEvent<'a>),
    /// FileIo OperationEnd (§4.5).
    FileOpEnd(FileOpEndEvent),
    /// Minifilter FltIoInit / FltIoCompletion / FltIoFailure (§5).
    Minifilter(MinifilterEvent),
    /// Registry operations and KCB events (§4.6).
    Registry(RegistryEvent<'a>),
    /// Registry TxR (transaction) events 30–32.
    RegistryTxr(RegistryTxrEvent<'a>),
    /// Registry hive events 36–40 and ChangeNotify 48.
    RegistryHive(RegistryHiveEvent<'a>),
    /// StackWalk Stack (§4.7).
    Stack(StackEvent<'a>),
    /// StackWalk StackKeyKernel / StackKeyUser (§4.7).
    StackKey(StackKeyEvent),
    /// StackWalk KeyCreate / KeyDelete / KeyRundown (§4.7).
    StackKeyDefinition(StackKeyDefinitionEvent<'a>),
    /// Object CreateHandle / CloseHandle / HandleDCStart / HandleDCEnd (§4.8).
    Handle(HandleEvent<'a>),
    /// Object DuplicateHandle (§4.8).
    DuplicateHandle(DuplicateHandleEvent),
    /// Object TypeDCStart / TypeDCEnd (§4.8).
    ObjectType(ObjectTypeEvent<'a>),
}

/// Decode a kernel event. `Ok(None)`: not a kernel header, or a (group, type) without a typed
/// decoder — keep the [`Event`] itself (provider GUID, id, opcode, version, raw payload).
pub fn decode<'a>(ev: &Event<'a>, ctx: &DecodeCtx) -> Result<Option<KernelEvent<'a>>, DecodeError> {
    let Some(g) = ev.group() else {
        return Ok(None);
    };
    let op = ev.opcode();
    let v = ev.version();
    let p = ev.payload();
    let ps = ev.pointer_size();
    Ok(Some(match (g, op) {
        (group::EVENT_TRACE, 5 | 32) => KernelEvent::GroupMask(GroupMaskEvent::decode(op, p)?),
        (group::PROCESS, 1..=4 | 39) => KernelEvent::Process(ProcessEvent::decode(op, v, p, ps)?),
        (group::PROCESS, 11) => KernelEvent::ProcessTerminate(ProcessTerminateEvent::decode(v, p)?),
        (group::PROCESS, 32 | 33) => {
            KernelEvent::ProcessCounters(ProcessCountersEvent::decode(op, v, p, ps)?)
        }
        (group::PROCESS, 10) | (group::IMAGE, 2..=4 | 10) => {
            KernelEvent::Image(ImageEvent::decode(op, v, p, ps)?)
        }
        (group::IMAGE, 33 | 34) => {
            KernelEvent::ImageAddress(ImageAddressEvent::decode(op, v, p, ps)?)
        }
        (group::THREAD, 1..=4) => KernelEvent::Thread(ThreadEvent::decode(op, v, p, ps)?),
        (group::FILE_IO, _) => match fileio::decode(op, v, p, ps, ev.timestamp(), ctx)? {
            Some(e) => e,
            None => return Ok(None),
        },
        (group::REGISTRY, 10..=29) => KernelEvent::Registry(RegistryEvent::decode(op, v, p, ps)?),
        (group::REGISTRY, 30..=32) => KernelEvent::RegistryTxr(RegistryTxrEvent::decode(op, p)?),
        (group::REGISTRY, 36..=40 | 48) => {
            KernelEvent::RegistryHive(RegistryHiveEvent::decode(op, p, ps)?)
        }
        (group::STACK_WALK, 32) => KernelEvent::Stack(StackEvent::decode(p, ps)?),
        (group::STACK_WALK, 37 | 38) => KernelEvent::StackKey(StackKeyEvent::decode(op, p, ps)?),
        (group::STACK_WALK, 34..=36) => {
            KernelEvent::StackKeyDefinition(StackKeyDefinitionEvent::decode(op, p, ps)?)
        }
        (group::OBJECT, 32 | 33 | 38 | 39) => KernelEvent::Handle(HandleEvent::decode(op, p, ps)?),
        (group::OBJECT, 34) => KernelEvent::DuplicateHandle(DuplicateHandleEvent::decode(p, ps)?),
        (group::OBJECT, 36 | 37) => KernelEvent::ObjectType(ObjectTypeEvent::decode(op, p)?),
        _ => return Ok(None),
    }))
}

/// Name of a kernel event, `Group/Type` (e.g. `Image/Load`, `FileIo/PreOpFailure`), or
/// `Group/<n>` when the type has no name here.
pub fn event_name(group: u8, opcode: u8) -> String {
    let g = super::guid::effective_group(group, opcode);
    let name = match (g, opcode) {
        (0, 0) => "Header",
        (0, 5) => "Extension",
        (0, 8) => "RundownComplete",
        (0, 32) => "EndExtension",
        (3, 1) | (5, 1) => "Start",
        (3, 2) | (5, 2) => "End",
        (3, 3) | (5, 3) | (0x14, 3) => "DCStart",
        (3, 4) | (5, 4) | (0x14, 4) => "DCEnd",
        (3, 11) => "Terminate",
        (3, 32) => "PerfCtr",
        (3, 33) => "PerfCtrRundown",
        (3, 39) => "Defunct",
        (0x14, 10) => "Load",
        (0x14, 2) => "Unload",
        (0x14, 33) => "KernelBase",
        (0x14, 34) => "HypercallPage",
        (4, o) => fileio::op_name(o).unwrap_or(""),
        (9, o) => registry::op_name(o).unwrap_or(""),
        (0x18, 32) => "Stack",
        (0x18, 34) => "KeyCreate",
        (0x18, 35) => "KeyDelete",
        (0x18, 36) => "KeyRundown",
        (0x18, 37) => "StackKeyKernel",
        (0x18, 38) => "StackKeyUser",
        (0x11, 32) => "CreateHandle",
        (0x11, 33) => "CloseHandle",
        (0x11, 34) => "DuplicateHandle",
        (0x11, 36) => "TypeDCStart",
        (0x11, 37) => "TypeDCEnd",
        (0x11, 38) => "HandleDCStart",
        (0x11, 39) => "HandleDCEnd",
        (0x11, 48) => "CreateObject",
        (0x11, 49) => "DeleteObject",
        (0x11, 50) => "ReferenceObject",
        (0x11, 51) => "DereferenceObject",
        _ => "",
    };
    if name.is_empty() {
        format!("{}/{}", super::guid::group_name(g), opcode)
    } else {
        format!("{}/{}", super::guid::group_name(g), name)
    }
}

/// EventTrace type 5 ("Extension") / 32 ("EndExtension"): `PERFINFO_GROUPMASK` (§2.3, §6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupMaskEvent {
    /// 5 or 32.
    pub opcode: u8,
    /// `Masks[0..8]`; a `PERF_*` constant `c` is on when `masks[c >> 29] & (c & 0x1FFFFFFF)`.
    pub masks: [u32; 8],
    /// KernelEventVersion (event version ≥ 2), when present.
    pub kernel_event_version: Option<u32>,
}

impl GroupMaskEvent {
    fn decode(opcode: u8, p: &[u8]) -> Result<Self, DecodeError> {
        need(p, 32)?;
        let mut masks = [0u32; 8];
        for (i, m) in masks.iter_mut().enumerate() {
            *m = super::bytes::u32_at(p, 4 * i).unwrap_or(0);
        }
        Ok(GroupMaskEvent {
            opcode,
            masks,
            kernel_event_version: super::bytes::u32_at(p, 32),
        })
    }
}

/// True when kernel address `a` for pointer size `ps` (≥ 0xFFFF800000000000 on 64-bit,
/// ≥ 0x80000000 on 32-bit; §4.7).
#[inline]
pub fn is_kernel_address(a: u64, ps: usize) -> bool {
    if ps == 4 {
        (0x8000_0000..=0xFFFF_FFFF).contains(&a)
    } else {
        a >= 0xFFFF_8000_0000_0000
    }
}
