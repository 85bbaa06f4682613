//! FileIo events (group 0x04, §4.5) and the minifilter events 96–101 (§5).
//!
//! Operation layouts: version ≥ 3 = Windows 8+ (`PERFINFO_FILE_*`, issuing thread id `ttid` a
//! u32 after the object pointers); version 2 = Windows 7 MOF (`ttid` pointer-sized, second).
//! None of the operation or minifilter events occur in the public corpus: these layouts are
//! [S]/[I] in `format-etl.md` and exercised only by synthetic tests.

use super::{is_kernel_address, need, DecodeCtx, DecodeError, KernelEvent};
use crate::etl::bytes::{ptr_at, u32_at, u64_at, wstr_at, Hex, WStr};
use serde::Serialize;

/// Name of a FileIo type.
pub(super) fn op_name(op: u8) -> Option<&'static str> {
    Some(match op {
        0 => "Name",
        32 => "FileCreate",
        35 => "FileDelete",
        36 => "FileRundown",
        37 => "MapFile",
        38 => "UnmapFile",
        39 => "MapFileDCStart",
        40 => "MapFileDCEnd",
        64 => "Create",
        65 => "Cleanup",
        66 => "Close",
        67 => "Read",
        68 => "Write",
        69 => "SetInfo",
        70 => "Delete",
        71 => "Rename",
        72 => "DirEnum",
        73 => "Flush",
        74 => "QueryInfo",
        75 => "FSControl",
        76 => "OperationEnd",
        77 => "DirNotify",
        78 => "CreateNew",
        79 => "DeletePath",
        80 => "RenamePath",
        81 => "SetLinkPath",
        82 => "SetLink",
        96 => "PreOpInit",
        97 => "PostOpInit",
        98 => "PreOpCompletion",
        99 => "PostOpCompletion",
        100 => "PreOpFailure",
        101 => "PostOpFailure",
        _ => return None,
    })
}

pub(super) fn decode<'a>(
    op: u8,
    v: u16,
    p: &'a [u8],
    ps: usize,
    ts: u64,
    ctx: &DecodeCtx,
) -> Result<Option<KernelEvent<'a>>, DecodeError> {
    Ok(Some(match op {
        0 | 32 | 35 | 36 => KernelEvent::FileName(FileNameEvent::decode(op, p, ps)?),
        64 | 78 => KernelEvent::FileCreate(FileCreateEvent::decode(op, v, p, ps)?),
        65 | 66 | 73 => KernelEvent::FileSimpleOp(FileSimpleOpEvent::decode(op, v, p, ps)?),
        67 | 68 => KernelEvent::FileReadWrite(FileReadWriteEvent::decode(op, v, p, ps)?),
        69 | 70 | 71 | 74 | 75 | 82 => KernelEvent::FileInfo(FileInfoEvent::decode(op, v, p, ps)?),
        72 | 77 => KernelEvent::FileDirEnum(FileDirEnumEvent::decode(op, v, p, ps)?),
        76 => KernelEvent::FileOpEnd(FileOpEndEvent::decode(p, ps)?),
        79..=81 => KernelEvent::FilePathOp(FilePathOpEvent::decode(op, p, ps)?),
        96..=101 => KernelEvent::Minifilter(MinifilterEvent::decode(op, v, p, ps, ts, ctx)?),
        _ => return Ok(None),
    }))
}

fn ptr(p: &[u8], o: usize, ps: usize) -> Hex {
    Hex(ptr_at(p, o, ps).unwrap_or(0))
}

/// FileIo name event: Name 0, FileCreate 32, FileDelete 35, FileRundown 36 (`FileIo_Name` v2, §4.5).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FileNameEvent<'a> {
    /// Event type.
    pub opcode: u8,
    /// FileObject in the MOF; used as the FileKey of operation events.
    pub file_key: Hex,
    /// File name (`\Device\HarddiskVolume2\…`).
    pub file_name: WStr<'a>,
}

impl<'a> FileNameEvent<'a> {
    fn decode(opcode: u8, p: &'a [u8], ps: usize) -> Result<Self, DecodeError> {
        need(p, ps)?;
        Ok(FileNameEvent {
            opcode,
            file_key: ptr(p, 0, ps),
            file_name: wstr_at(p, ps).map(|x| x.0).unwrap_or_default(),
        })
    }
}

/// FileIo Create 64 / CreateNew 78 (`FileIo_Create` / `PERFINFO_FILE_CREATE`, §4.5).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FileCreateEvent<'a> {
    /// Event type.
    pub opcode: u8,
    /// Event version (≥3: Windows 8 layout; 2: Windows 7 layout).
    pub version: u16,
    /// IRP address (joins to OperationEnd).
    pub irp: Hex,
    /// Issuing thread id.
    pub ttid: u32,
    /// FILE_OBJECT address.
    pub file_object: Hex,
    /// CreateOptions: low 24 bits options, high byte CreateDisposition.
    pub create_options: u32,
    /// FileAttributes.
    pub file_attributes: u32,
    /// ShareAccess.
    pub share_access: u32,
    /// Path being opened.
    pub open_path: WStr<'a>,
}

impl<'a> FileCreateEvent<'a> {
    fn decode(opcode: u8, v: u16, p: &'a [u8], ps: usize) -> Result<Self, DecodeError> {
        let (ttid, fo, rest) = if v >= 3 {
            (u32_at(p, 2 * ps).unwrap_or(0), ps, 2 * ps + 4)
        } else {
            (ptr_at(p, ps, ps).unwrap_or(0) as u32, 2 * ps, 3 * ps)
        };
        need(p, rest + 12)?;
        Ok(FileCreateEvent {
            opcode,
            version: v,
            irp: ptr(p, 0, ps),
            ttid,
            file_object: ptr(p, fo, ps),
            create_options: u32_at(p, rest).unwrap_or(0),
            file_attributes: u32_at(p, rest + 4).unwrap_or(0),
            share_access: u32_at(p, rest + 8).unwrap_or(0),
            open_path: wstr_at(p, rest + 12).map(|x| x.0).unwrap_or_default(),
        })
    }

    /// CreateDisposition (FILE_SUPERSEDE 0 … FILE_OVERWRITE_IF 5).
    pub fn create_disposition(&self) -> u8 {
        (self.create_options >> 24) as u8
    }
}

/// FileIo Cleanup 65 / Close 66 / Flush 73 (`FileIo_SimpleOp`, §4.5).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FileSimpleOpEvent {
    /// Event type.
    pub opcode: u8,
    /// Event version.
    pub version: u16,
    /// IRP address.
    pub irp: Hex,
    /// Issuing thread id.
    pub ttid: u32,
    /// FILE_OBJECT address.
    pub file_object: Hex,
    /// FileKey (joins to name events).
    pub file_key: Hex,
}

impl FileSimpleOpEvent {
    fn decode(opcode: u8, v: u16, p: &[u8], ps: usize) -> Result<Self, DecodeError> {
        if v >= 3 {
            need(p, 3 * ps + 4)?;
            Ok(FileSimpleOpEvent {
                opcode,
                version: v,
                irp: ptr(p, 0, ps),
                file_object: ptr(p, ps, ps),
                file_key: ptr(p, 2 * ps, ps),
                ttid: u32_at(p, 3 * ps).unwrap_or(0),
            })
        } else {
            need(p, 4 * ps)?;
            Ok(FileSimpleOpEvent {
                opcode,
                version: v,
                irp: ptr(p, 0, ps),
                ttid: ptr_at(p, ps, ps).unwrap_or(0) as u32,
                file_object: ptr(p, 2 * ps, ps),
                file_key: ptr(p, 3 * ps, ps),
            })
        }
    }
}

/// FileIo Read 67 / Write 68 (`FileIo_ReadWrite`, §4.5).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FileReadWriteEvent {
    /// Event type.
    pub opcode: u8,
    /// Event version.
    pub version: u16,
    /// Byte offset in the file.
    pub offset: u64,
    /// IRP address.
    pub irp: Hex,
    /// Issuing thread id.
    pub ttid: u32,
    /// FILE_OBJECT address.
    pub file_object: Hex,
    /// FileKey.
    pub file_key: Hex,
    /// Bytes requested.
    pub io_size: u32,
    /// IRP flags.
    pub io_flags: u32,
    /// ExtraFlags (newer builds).
    pub extra_flags: Option<u32>,
}

impl FileReadWriteEvent {
    fn decode(opcode: u8, v: u16, p: &[u8], ps: usize) -> Result<Self, DecodeError> {
        if v >= 3 {
            need(p, 20 + 3 * ps)?;
            Ok(FileReadWriteEvent {
                opcode,
                version: v,
                offset: u64_at(p, 0).unwrap_or(0),
                irp: ptr(p, 8, ps),
                file_object: ptr(p, 8 + ps, ps),
                file_key: ptr(p, 8 + 2 * ps, ps),
                ttid: u32_at(p, 8 + 3 * ps).unwrap_or(0),
                io_size: u32_at(p, 12 + 3 * ps).unwrap_or(0),
                io_flags: u32_at(p, 16 + 3 * ps).unwrap_or(0),
                extra_flags: u32_at(p, 20 + 3 * ps),
            })
        } else {
            need(p, 16 + 4 * ps)?;
            Ok(FileReadWriteEvent {
                opcode,
                version: v,
                offset: u64_at(p, 0).unwrap_or(0),
                irp: ptr(p, 8, ps),
                ttid: ptr_at(p, 8 + ps, ps).unwrap_or(0) as u32,
                file_object: ptr(p, 8 + 2 * ps, ps),
                file_key: ptr(p, 8 + 3 * ps, ps),
                io_size: u32_at(p, 8 + 4 * ps).unwrap_or(0),
                io_flags: u32_at(p, 12 + 4 * ps).unwrap_or(0),
                extra_flags: None,
            })
        }
    }
}

/// FileIo SetInfo 69 / Delete 70 / Rename 71 / QueryInfo 74 / FSControl 75 / SetLink 82
/// (`FileIo_Info`, §4.5).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FileInfoEvent {
    /// Event type.
    pub opcode: u8,
    /// Event version.
    pub version: u16,
    /// IRP address.
    pub irp: Hex,
    /// Issuing thread id.
    pub ttid: u32,
    /// FILE_OBJECT address.
    pub file_object: Hex,
    /// FileKey.
    pub file_key: Hex,
    /// ExtraInfo (pointer-sized; meaning depends on the class).
    pub extra_info: Hex,
    /// FILE_INFORMATION_CLASS, or the FSCTL code for FSControl.
    pub info_class: u32,
}

impl FileInfoEvent {
    fn decode(opcode: u8, v: u16, p: &[u8], ps: usize) -> Result<Self, DecodeError> {
        if v >= 3 {
            need(p, 4 * ps + 8)?;
            Ok(FileInfoEvent {
                opcode,
                version: v,
                irp: ptr(p, 0, ps),
                file_object: ptr(p, ps, ps),
                file_key: ptr(p, 2 * ps, ps),
                extra_info: ptr(p, 3 * ps, ps),
                ttid: u32_at(p, 4 * ps).unwrap_or(0),
                info_class: u32_at(p, 4 * ps + 4).unwrap_or(0),
            })
        } else {
            need(p, 5 * ps + 4)?;
            Ok(FileInfoEvent {
                opcode,
                version: v,
                irp: ptr(p, 0, ps),
                ttid: ptr_at(p, ps, ps).unwrap_or(0) as u32,
                file_object: ptr(p, 2 * ps, ps),
                file_key: ptr(p, 3 * ps, ps),
                extra_info: ptr(p, 4 * ps, ps),
                info_class: u32_at(p, 5 * ps).unwrap_or(0),
            })
        }
    }
}

/// FileIo DirEnum 72 / DirNotify 77 (`FileIo_DirEnum`, §4.5).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FileDirEnumEvent<'a> {
    /// Event type.
    pub opcode: u8,
    /// Event version.
    pub version: u16,
    /// IRP address.
    pub irp: Hex,
    /// Issuing thread id.
    pub ttid: u32,
    /// FILE_OBJECT address.
    pub file_object: Hex,
    /// FileKey.
    pub file_key: Hex,
    /// Output buffer length.
    pub length: u32,
    /// FILE_INFORMATION_CLASS.
    pub info_class: u32,
    /// FileIndex.
    pub file_index: u32,
    /// Search pattern.
    pub file_name: WStr<'a>,
}

impl<'a> FileDirEnumEvent<'a> {
    fn decode(opcode: u8, v: u16, p: &'a [u8], ps: usize) -> Result<Self, DecodeError> {
        let (ttid, fo, rest) = if v >= 3 {
            (u32_at(p, 3 * ps).unwrap_or(0), ps, 3 * ps + 4)
        } else {
            (ptr_at(p, ps, ps).unwrap_or(0) as u32, 2 * ps, 4 * ps)
        };
        need(p, rest + 12)?;
        Ok(FileDirEnumEvent {
            opcode,
            version: v,
            irp: ptr(p, 0, ps),
            ttid,
            file_object: ptr(p, fo, ps),
            file_key: ptr(p, fo + ps, ps),
            length: u32_at(p, rest).unwrap_or(0),
            info_class: u32_at(p, rest + 4).unwrap_or(0),
            file_index: u32_at(p, rest + 8).unwrap_or(0),
            file_name: wstr_at(p, rest + 12).map(|x| x.0).unwrap_or_default(),
        })
    }
}

/// FileIo DeletePath 79 / RenamePath 80 / SetLinkPath 81 (`PERFINFO_FILE_PATH_OPERATION`,
/// Windows 10+, §4.5).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FilePathOpEvent<'a> {
    /// Event type.
    pub opcode: u8,
    /// IRP address.
    pub irp: Hex,
    /// FILE_OBJECT address.
    pub file_object: Hex,
    /// FileKey.
    pub file_key: Hex,
    /// ExtraInfo.
    pub extra_info: Hex,
    /// Issuing thread id.
    pub ttid: u32,
    /// FILE_INFORMATION_CLASS.
    pub info_class: u32,
    /// Path (new name for renames).
    pub path: WStr<'a>,
}

impl<'a> FilePathOpEvent<'a> {
    fn decode(opcode: u8, p: &'a [u8], ps: usize) -> Result<Self, DecodeError> {
        need(p, 4 * ps + 8)?;
        Ok(FilePathOpEvent {
            opcode,
            irp: ptr(p, 0, ps),
            file_object: ptr(p, ps, ps),
            file_key: ptr(p, 2 * ps, ps),
            extra_info: ptr(p, 3 * ps, ps),
            ttid: u32_at(p, 4 * ps).unwrap_or(0),
            info_class: u32_at(p, 4 * ps + 4).unwrap_or(0),
            path: wstr_at(p, 4 * ps + 8).map(|x| x.0).unwrap_or_default(),
        })
    }
}

/// FileIo OperationEnd 76 (`FileIo_OpEnd`, v2 and v3 alike, §4.5): the final status of the
/// operation whose start event has the same IRP.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FileOpEndEvent {
    /// IRP address.
    pub irp: Hex,
    /// ExtraInfo (e.g. bytes transferred, create disposition result).
    pub extra_info: Hex,
    /// NTSTATUS (0xC0000022 = ACCESS_DENIED).
    pub status: u32,
}

impl FileOpEndEvent {
    fn decode(p: &[u8], ps: usize) -> Result<Self, DecodeError> {
        need(p, 2 * ps + 4)?;
        Ok(FileOpEndEvent {
            irp: ptr(p, 0, ps),
            extra_info: ptr(p, ps, ps),
            status: u32_at(p, 2 * ps).unwrap_or(0),
        })
    }
}

/// Which payload layout a minifilter event matched (§5.2). The layouts are inferred and no
/// real trace has confirmed them: this value is shown so that a wrong guess is visible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum MinifilterLayout {
    /// `PERFINFO_FLT_OPERATION`: 5 pointers + MajorFunction (44 bytes on 64-bit).
    Operation,
    /// `PERFINFO_FLT_OPERATION_STATUS`: the same + Status (48 bytes on 64-bit).
    OperationStatus,
    /// Completion with InitialTime **first** (the kernel MOF's order, as bundled by
    /// dissect.etl), then the operation (52 bytes on 64-bit; +4 with a status).
    TimeFirst,
    /// Completion with the operation first and InitialTime (u64) in the last 8 bytes.
    TimeLast,
    /// Longer than any known layout: read as the operation(+status) prefix.
    Longer,
}

/// Minifilter callback event, FileIo types 96–101 (§5): FltIoInit (96 PreOpInit, 97
/// PostOpInit), FltIoCompletion (98 PreOpCompletion, 99 PostOpCompletion), FltIoFailure
/// (100 PreOpFailure, 101 PostOpFailure). Layout chosen by payload length and validated
/// (kernel addresses, plausible raw times); see [`MinifilterLayout`].
#[derive(Clone, Copy, Debug, Serialize)]
pub struct MinifilterEvent {
    /// Event type (96–101).
    pub opcode: u8,
    /// Event version.
    pub version: u16,
    /// Layout variant that was applied.
    pub layout: MinifilterLayout,
    /// False when the chosen layout failed its plausibility checks (RoutineAddr not a kernel
    /// address, or InitialTime outside the session) — read the fields with suspicion.
    pub plausible: bool,
    /// The minifilter's pre/post callback address (lands in the filter's own `.sys`).
    pub routine: Hex,
    /// FILE_OBJECT address.
    pub file_object: Hex,
    /// FsContext (MOF FileContext).
    pub file_context: Hex,
    /// IRP address (0 for fast I/O).
    pub irp: Hex,
    /// FLT_CALLBACK_DATA address (MOF CallbackDataPtr).
    pub callback_data: Hex,
    /// MajorFunction as stored (u32).
    pub major_function_raw: u32,
    /// MajorFunction normalised to i8: IRP_MJ_* 0–0x1B, negative = filter-manager
    /// pseudo-operations (−1 ACQUIRE_FOR_SECTION_SYNCHRONIZATION, …).
    pub major_function: i8,
    /// NTSTATUS (failure events; init events when 4 bytes longer).
    pub status: Option<u32>,
    /// InitialTime of completion events: raw session clock at callback start; the event
    /// time minus this is the callback's duration. (Only the low 32 bits when a 32-bit
    /// trace stores it pointer-sized.)
    pub initial_time: Option<u64>,
}

impl MinifilterEvent {
    /// The operation block's size for pointer size `ps` (5 pointers + u32).
    fn op_len(ps: usize) -> usize {
        5 * ps + 4
    }

    fn read_op(
        opcode: u8,
        version: u16,
        layout: MinifilterLayout,
        p: &[u8],
        o: usize,
        ps: usize,
    ) -> MinifilterEvent {
        let mj = u32_at(p, o + 5 * ps).unwrap_or(0);
        MinifilterEvent {
            opcode,
            version,
            layout,
            plausible: true,
            routine: ptr(p, o, ps),
            file_object: ptr(p, o + ps, ps),
            file_context: ptr(p, o + 2 * ps, ps),
            irp: ptr(p, o + 3 * ps, ps),
            callback_data: ptr(p, o + 4 * ps, ps),
            major_function_raw: mj,
            major_function: mj as u8 as i8,
            status: None,
            initial_time: None,
        }
    }

    fn decode(
        opcode: u8,
        version: u16,
        p: &[u8],
        ps: usize,
        ts: u64,
        ctx: &DecodeCtx,
    ) -> Result<Self, DecodeError> {
        let base = Self::op_len(ps);
        let kaddr = |o: usize| ptr_at(p, o, ps).is_some_and(|a| is_kernel_address(a, ps));
        let plausible_time =
            |t: Option<u64>| t.is_some_and(|t| t >= ctx.first_timestamp && t <= ts);
        let e = match opcode {
            98 | 99 => {
                // InitialTime is pointer-typed in the kernel MOF (4 bytes on 32-bit), a u64 in
                // the C structure (§5.2, §8): a 32-bit payload 4 bytes short of the u64 form
                // takes the pointer-sized form.
                let tsz = if ps == 4 && p.len() < base + 8 { 4 } else { 8 };
                need(p, base + tsz)?;
                let time_at = |o: usize| {
                    if tsz == 8 {
                        u64_at(p, o)
                    } else {
                        u32_at(p, o).map(u64::from)
                    }
                };
                let time_ok = |t: Option<u64>| tsz == 4 || plausible_time(t);
                let first_ok = time_ok(time_at(0)) && kaddr(tsz);
                let last_ok = kaddr(0) && time_ok(time_at(p.len() - tsz));
                if first_ok || !last_ok {
                    let mut e =
                        Self::read_op(opcode, version, MinifilterLayout::TimeFirst, p, tsz, ps);
                    e.initial_time = time_at(0);
                    if p.len() >= tsz + base + 4 {
                        e.status = u32_at(p, tsz + base);
                    }
                    e.plausible = first_ok;
                    e
                } else {
                    let mut e =
                        Self::read_op(opcode, version, MinifilterLayout::TimeLast, p, 0, ps);
                    e.initial_time = time_at(p.len() - tsz);
                    if p.len() - tsz >= base + 4 {
                        // Either a Status or alignment padding before InitialTime.
                        e.status = u32_at(p, base);
                    }
                    e
                }
            }
            _ => {
                need(p, base)?;
                let failure = opcode >= 100;
                if failure {
                    need(p, base + 4)?;
                }
                let layout = if p.len() == base {
                    MinifilterLayout::Operation
                } else if p.len() == base + 4 || p.len() == base + 8 {
                    // base + 8: the status struct padded to 8 bytes.
                    MinifilterLayout::OperationStatus
                } else {
                    MinifilterLayout::Longer
                };
                let mut e = Self::read_op(opcode, version, layout, p, 0, ps);
                if p.len() >= base + 4 {
                    e.status = u32_at(p, base);
                }
                e.plausible = kaddr(0);
                e
            }
        };
        Ok(e)
    }

    /// True for the failure events (100, 101) — the primary evidence of a denial (§5.4).
    pub fn is_failure(&self) -> bool {
        self.opcode >= 100
    }
}
