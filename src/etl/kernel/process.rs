//! Process (§4.2), Thread (§4.3) and Image (§4.4) events.

use super::{need, DecodeError};
use crate::etl::bytes::{astr_at, ptr_at, u32_at, u64_at, u8_at, wstr_at, AStr, Hex, WStr};
use serde::{Serialize, Serializer};
use std::fmt;

/// A SID as stored in Process events (Revision, count, 6-byte big-endian authority, sub-authorities).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sid<'a>(&'a [u8]);

impl<'a> Sid<'a> {
    /// Raw SID bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl fmt::Display for Sid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        let rev = b.first().copied().unwrap_or(0);
        let n = b.get(1).copied().unwrap_or(0) as usize;
        let auth = b
            .get(2..8)
            .map(|a| a.iter().fold(0u64, |acc, &x| (acc << 8) | x as u64))
            .unwrap_or(0);
        write!(f, "S-{rev}-{auth}")?;
        for i in 0..n {
            if let Some(v) = u32_at(b, 8 + 4 * i) {
                write!(f, "-{v}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Sid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl Serialize for Sid<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Skip the `UserSID` field at `o` (§4.2): `(sid, offset after it)`.
fn read_sid(p: &[u8], o: usize, ps: usize) -> Option<(Option<Sid<'_>>, usize)> {
    if u32_at(p, o)? == 0 {
        return Some((None, o + 4));
    }
    let sid = o + 2 * ps;
    let n = u8_at(p, sid + 1)? as usize;
    let end = sid + 8 + 4 * n;
    let bytes = p.get(sid..end)?;
    Some((Some(Sid(bytes)), end))
}

/// Process event (group 0x03: Start 1, End 2, DCStart 3, DCEnd 4, Defunct 39), versions 2–5
/// (§4.2). Version 3 = Windows 7, 4 = Windows 8+, 5 = Defunct on 1903+ (v4 + 8 bytes).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ProcessEvent<'a> {
    /// Event type (1 Start, 2 End, 3 DCStart, 4 DCEnd, 39 Defunct).
    pub opcode: u8,
    /// Event version.
    pub version: u16,
    /// EPROCESS address (UniqueProcessKey).
    pub unique_process_key: Hex,
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Session id (0xFFFFFFFF = none).
    pub session_id: u32,
    /// Exit status (NTSTATUS; 259 = still active).
    pub exit_status: u32,
    /// DirectoryTableBase (v3+).
    pub directory_table_base: Option<Hex>,
    /// Flags (v4+).
    pub flags: Option<u32>,
    /// User SID, when present.
    pub user_sid: Option<Sid<'a>>,
    /// ImageFileName (8-bit, e.g. `Test.x64.exe`).
    pub image_file_name: AStr<'a>,
    /// Command line.
    pub command_line: WStr<'a>,
    /// PackageFullName (v4+).
    pub package_full_name: Option<WStr<'a>>,
    /// ApplicationId (v4+).
    pub application_id: Option<WStr<'a>>,
    /// ExitTime (v5 Defunct: the 8 bytes after ApplicationId; named by the kernel MOF as
    /// bundled by dissect.etl, unit not confirmed — FILETIME is likely).
    pub exit_time: Option<u64>,
    /// Bytes after the known fields.
    #[serde(skip)]
    pub tail: &'a [u8],
}

impl<'a> ProcessEvent<'a> {
    pub(super) fn decode(
        opcode: u8,
        version: u16,
        p: &'a [u8],
        ps: usize,
    ) -> Result<Self, DecodeError> {
        if version < 2 {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let (dtb, flags, sid_off) = match version {
            2 => (None, None, ps + 16),
            3 => (ptr_at(p, ps + 16, ps), None, 2 * ps + 16),
            _ => (ptr_at(p, ps + 16, ps), u32_at(p, 2 * ps + 16), 2 * ps + 20),
        };
        need(p, sid_off + 4)?;
        let short = || DecodeError::Short {
            need: sid_off + 4,
            got: p.len(),
        };
        let (user_sid, o) = read_sid(p, sid_off, ps).ok_or_else(short)?;
        let (image_file_name, o) = astr_at(p, o).ok_or_else(short)?;
        let (command_line, mut o) = wstr_at(p, o).unwrap_or_default();
        let (mut package_full_name, mut application_id) = (None, None);
        if version >= 4 {
            if let Some((s, n)) = wstr_at(p, o) {
                package_full_name = Some(s);
                o = n;
                if let Some((s, n)) = wstr_at(p, o) {
                    application_id = Some(s);
                    o = n;
                }
            }
        }
        Ok(ProcessEvent {
            opcode,
            version,
            unique_process_key: Hex(ptr_at(p, 0, ps).unwrap_or(0)),
            pid: u32_at(p, ps).unwrap_or(0),
            ppid: u32_at(p, ps + 4).unwrap_or(0),
            session_id: u32_at(p, ps + 8).unwrap_or(0),
            exit_status: u32_at(p, ps + 12).unwrap_or(0),
            directory_table_base: dtb.map(Hex),
            flags,
            user_sid,
            image_file_name,
            command_line,
            package_full_name,
            application_id,
            exit_time: if version >= 5 { u64_at(p, o) } else { None },
            tail: p.get(o.min(p.len())..).unwrap_or(&[]),
        })
    }
}

/// Thread event (group 0x05: Start 1, End 2, DCStart 3, DCEnd 4), §4.3. Versions 2–4 share the
/// `WMI_EXTENDED_THREAD_INFORMATION` layout (fields absent from a shorter payload are `None`);
/// version 1 carries only ProcessId/ThreadId here, version 0 ThreadId then ProcessId.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ThreadEvent<'a> {
    /// Event type.
    pub opcode: u8,
    /// Event version.
    pub version: u16,
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Kernel stack base.
    pub stack_base: Option<Hex>,
    /// Kernel stack limit.
    pub stack_limit: Option<Hex>,
    /// User stack base.
    pub user_stack_base: Option<Hex>,
    /// User stack limit.
    pub user_stack_limit: Option<Hex>,
    /// StartAddress (PerfView) / Affinity (MS docs): a union.
    pub start_address: Option<Hex>,
    /// Win32StartAddress.
    pub win32_start_address: Option<Hex>,
    /// TEB base.
    pub teb_base: Option<Hex>,
    /// SubProcessTag.
    pub sub_process_tag: Option<u32>,
    /// BasePriority (signed).
    pub base_priority: Option<i8>,
    /// PagePriority.
    pub page_priority: Option<u8>,
    /// IoPriority.
    pub io_priority: Option<u8>,
    /// ThreadFlags.
    pub thread_flags: Option<u8>,
    /// Thread name (newer builds only, when the payload is longer).
    pub name: Option<WStr<'a>>,
}

impl<'a> ThreadEvent<'a> {
    pub(super) fn decode(
        opcode: u8,
        version: u16,
        p: &'a [u8],
        ps: usize,
    ) -> Result<Self, DecodeError> {
        need(p, 8)?;
        let (pid, tid) = if version == 0 {
            (u32_at(p, 4).unwrap_or(0), u32_at(p, 0).unwrap_or(0))
        } else {
            (u32_at(p, 0).unwrap_or(0), u32_at(p, 4).unwrap_or(0))
        };
        let full = version >= 2;
        let f = |i: usize| {
            if full {
                ptr_at(p, 8 + i * ps, ps).map(Hex)
            } else {
                None
            }
        };
        let t = 8 + 7 * ps;
        let name = if full && p.len() > t + 8 {
            wstr_at(p, t + 8).map(|(s, _)| s)
        } else {
            None
        };
        Ok(ThreadEvent {
            opcode,
            version,
            pid,
            tid,
            stack_base: f(0),
            stack_limit: f(1),
            user_stack_base: f(2),
            user_stack_limit: f(3),
            start_address: f(4),
            win32_start_address: f(5),
            teb_base: f(6),
            sub_process_tag: if full { u32_at(p, t) } else { None },
            base_priority: if full {
                u8_at(p, t + 4).map(|b| b as i8)
            } else {
                None
            },
            page_priority: if full { u8_at(p, t + 5) } else { None },
            io_priority: if full { u8_at(p, t + 6) } else { None },
            thread_flags: if full { u8_at(p, t + 7) } else { None },
            name,
        })
    }
}

/// Image event (§4.4): Load (logged as group 3 type 10), Unload 2, DCStart 3, DCEnd 4.
/// Versions 2 and 3 (`WMI_IMAGELOAD_INFORMATION`); version 1
/// has the file name right after ProcessId, version 0 after a u32 size (pid unknown: 0).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ImageEvent<'a> {
    /// Event type (10 Load, 2 Unload, 3 DCStart, 4 DCEnd).
    pub opcode: u8,
    /// Event version.
    pub version: u16,
    /// Image base address.
    pub image_base: Hex,
    /// Image size in bytes.
    pub image_size: u64,
    /// Process id (0 for kernel-mode images/drivers).
    pub pid: u32,
    /// PE checksum (v2+).
    pub checksum: Option<u32>,
    /// PE TimeDateStamp (v2+), seconds since 1970.
    pub time_date_stamp: Option<u32>,
    /// SignatureLevel (v3+).
    pub signature_level: Option<u8>,
    /// SignatureType (v3+).
    pub signature_type: Option<u8>,
    /// DefaultBase (v2+).
    pub default_base: Option<Hex>,
    /// File name (`\SystemRoot\System32\drivers\x.sys`, `\Device\HarddiskVolume2\…`).
    pub file_name: WStr<'a>,
}

impl<'a> ImageEvent<'a> {
    pub(super) fn decode(
        opcode: u8,
        version: u16,
        p: &'a [u8],
        ps: usize,
    ) -> Result<Self, DecodeError> {
        let base = ptr_at(p, 0, ps).unwrap_or(0);
        let size = ptr_at(p, ps, ps).unwrap_or(0);
        match version {
            0 => {
                // BaseAddress P, ModuleSize u32, ImageFileName (XP-era MOF).
                need(p, ps + 4)?;
                Ok(ImageEvent {
                    opcode,
                    version,
                    image_base: Hex(base),
                    image_size: u32_at(p, ps).unwrap_or(0) as u64,
                    pid: 0,
                    checksum: None,
                    time_date_stamp: None,
                    signature_level: None,
                    signature_type: None,
                    default_base: None,
                    file_name: wstr_at(p, ps + 4).map(|x| x.0).unwrap_or_default(),
                })
            }
            1 => {
                need(p, 2 * ps + 4)?;
                Ok(ImageEvent {
                    opcode,
                    version,
                    image_base: Hex(base),
                    image_size: size,
                    pid: u32_at(p, 2 * ps).unwrap_or(0),
                    checksum: None,
                    time_date_stamp: None,
                    signature_level: None,
                    signature_type: None,
                    default_base: None,
                    file_name: wstr_at(p, 2 * ps + 4).map(|x| x.0).unwrap_or_default(),
                })
            }
            _ => {
                let name = 3 * ps + 32;
                need(p, name)?;
                let v3 = version >= 3;
                Ok(ImageEvent {
                    opcode,
                    version,
                    image_base: Hex(base),
                    image_size: size,
                    pid: u32_at(p, 2 * ps).unwrap_or(0),
                    checksum: u32_at(p, 2 * ps + 4),
                    time_date_stamp: u32_at(p, 2 * ps + 8),
                    signature_level: if v3 { u8_at(p, 2 * ps + 12) } else { None },
                    signature_type: if v3 { u8_at(p, 2 * ps + 13) } else { None },
                    default_base: ptr_at(p, 2 * ps + 16, ps).map(Hex),
                    file_name: wstr_at(p, name).map(|x| x.0).unwrap_or_default(),
                })
            }
        }
    }

    /// True for an image in kernel space (pid 0 driver list, §5.4).
    pub fn is_kernel(&self) -> bool {
        self.pid == 0
    }
}

/// Image KernelBase 33 / HypercallPage 34: one pointer (the kernel's base, or the hypercall
/// page address). The corpus shows an 8-byte payload on 64-bit — not the Image layout
/// `format-etl.md` §4.4 assumed for these types.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ImageAddressEvent {
    /// 33 KernelBase, 34 HypercallPage.
    pub opcode: u8,
    /// Event version.
    pub version: u16,
    /// The address.
    pub address: Hex,
}

impl ImageAddressEvent {
    pub(super) fn decode(
        opcode: u8,
        version: u16,
        p: &[u8],
        ps: usize,
    ) -> Result<Self, DecodeError> {
        need(p, ps)?;
        Ok(ImageAddressEvent {
            opcode,
            version,
            address: Hex(ptr_at(p, 0, ps).unwrap_or(0)),
        })
    }
}

/// Process Terminate, type 11 (version 2): the process id only (§4.2 "other types").
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ProcessTerminateEvent {
    /// Event version.
    pub version: u16,
    /// Process id.
    pub pid: u32,
}

impl ProcessTerminateEvent {
    pub(super) fn decode(version: u16, p: &[u8]) -> Result<Self, DecodeError> {
        need(p, 4)?;
        Ok(ProcessTerminateEvent {
            version,
            pid: u32_at(p, 0).unwrap_or(0),
        })
    }
}

/// Process PerfCtr 32 / PerfCtrRundown 33 (version 2, `Process_V2_TypeGroup2`): memory and
/// handle counters of a process. Sizes in bytes.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ProcessCountersEvent {
    /// 32 PerfCtr (at exit), 33 PerfCtrRundown.
    pub opcode: u8,
    /// Event version.
    pub version: u16,
    /// Process id.
    pub pid: u32,
    /// Page faults.
    pub page_fault_count: u32,
    /// Open handles.
    pub handle_count: u32,
    /// Peak virtual size.
    pub peak_virtual_size: Option<u64>,
    /// Peak working set.
    pub peak_working_set_size: Option<u64>,
    /// Peak pagefile usage.
    pub peak_pagefile_usage: Option<u64>,
    /// Private pages (bytes).
    pub private_page_count: Option<u64>,
}

impl ProcessCountersEvent {
    pub(super) fn decode(
        opcode: u8,
        version: u16,
        p: &[u8],
        ps: usize,
    ) -> Result<Self, DecodeError> {
        need(p, 12)?;
        Ok(ProcessCountersEvent {
            opcode,
            version,
            pid: u32_at(p, 0).unwrap_or(0),
            page_fault_count: u32_at(p, 4).unwrap_or(0),
            handle_count: u32_at(p, 8).unwrap_or(0),
            peak_virtual_size: ptr_at(p, 16, ps),
            peak_working_set_size: ptr_at(p, 16 + ps, ps),
            peak_pagefile_usage: ptr_at(p, 16 + 2 * ps, ps),
            private_page_count: ptr_at(p, 16 + 10 * ps, ps),
        })
    }
}
