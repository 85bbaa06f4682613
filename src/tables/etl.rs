//! Building the tables from an ETL trace (`tables/mod.rs` has the schema; the record layouts are
//! those of `shared/docs/format-etl.md`, decoded by [`crate::etl::kernel`]).
//!
//! One pass over the trace in global time order (§3.8) collects the records; the tables are then
//! built from them:
//!
//! - `events`: FileIo operations (a start event joined to its OperationEnd by IRP, §4.5) and
//!   Registry operations (§4.6), named with Procmon's operation names (DESIGN.md, "operations
//!   meet at the IRP major function / registry operation"). File paths come from the operation
//!   itself (Create), else from the FileKey's name event, else from the FILE_OBJECT's Create;
//!   registry paths are full key names through the KCB map, `\REGISTRY\MACHINE\` shown as
//!   `HKLM\` and `\REGISTRY\USER\` as `HKU\`, as Procmon shows them; value operations end with
//!   the value name. Times are the operation's start (Registry: InitialTime), durations run to
//!   the OperationEnd / the registry event. A request that only minifilter failure events show
//!   (no FileIo operation events in the trace) becomes an event of its own, so the failure is a
//!   denial in `events` even when only the ETL is given.
//! - `callbacks`: one row per minifilter callback invocation — an init event (96/97) joined to
//!   the completion (98/99) and failure (100/101) events of the same callback data, routine and
//!   phase. The driver is the kernel image (pid 0 Image events) whose range holds the routine at
//!   that time, never a guess. `layout` says which inferred payload layout(s) matched (§5.2:
//!   inferred from public symbols, unconfirmed by a real trace).
//! - `modules`: kernel images under pid 4 (as Procmon lists them), user images under their
//!   process. A kernel image signed at the Windows signing level (SignatureLevel 12 or 14) gets
//!   the company `Microsoft Corporation`; the trace has no version resources.
//! - `processes` from Process events (user = the token's account for well-known SIDs, else the
//!   SID; integrity is not in kernel traces and stays empty), `frames` from StackWalk stacks and
//!   stack keys (§4.7), resolved to the images of the kernel or of the process.

use super::build::{sha256_hex, InputInfo, Tables};
use super::cols::{cast_col, column, str_col, utc_ns};
use crate::etl::kernel::{self, is_kernel_address, KcbMap, KernelEvent, StackKeyMap};
use crate::etl::{Etl, Problem};
use crate::pml::text::{filetime_to_unix_ns, status_text};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What one ETL input can show, for the evidence and the advice (from [`crate::etl::info()`]).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct TraceInfo {
    /// Input file name (`events.source`).
    pub source: String,
    /// Minifilter tracing is on (FLT_IO_* groups, or minifilter events present).
    pub minifilter: bool,
    /// Failure events are traced (FLT_IO_FAILURE on, or failure events present): a denial by a
    /// minifilter callback would have been logged.
    pub minifilter_failure: bool,
    /// The trace can name a filter: minifilter tracing and the kernel image list.
    pub can_name_filter: bool,
    /// FileIo operations or Registry events are present.
    pub operations: bool,
    /// `etl::info`'s one-paragraph answer about what the trace can show.
    pub verdict: String,
    /// Minifilter events read.
    pub minifilter_events: u64,
    /// Minifilter payload layout variants matched (format-etl.md §5.2), e.g. `Operation`.
    pub layouts: Vec<String>,
    /// Minifilter events whose layout failed its plausibility checks.
    pub implausible_minifilter_events: u64,
}

/// The note every minifilter-based statement carries until a real trace confirms §5.2.
pub const LAYOUT_NOTE: &str = "minifilter payload layout inferred, unconfirmed by a real trace";

/// An empty `callbacks` table with its schema.
pub fn empty_callbacks() -> PolarsResult<DataFrame> {
    callbacks_df(&CallbackCols::default(), "")
}

/// `IRP_MJ_*` name of a major function (negative: filter-manager pseudo-operations, fltkernel.h).
pub fn major_function_name(mj: i8) -> String {
    const MJ: [&str; 28] = [
        "CREATE",
        "CREATE_NAMED_PIPE",
        "CLOSE",
        "READ",
        "WRITE",
        "QUERY_INFORMATION",
        "SET_INFORMATION",
        "QUERY_EA",
        "SET_EA",
        "FLUSH_BUFFERS",
        "QUERY_VOLUME_INFORMATION",
        "SET_VOLUME_INFORMATION",
        "DIRECTORY_CONTROL",
        "FILE_SYSTEM_CONTROL",
        "DEVICE_CONTROL",
        "INTERNAL_DEVICE_CONTROL",
        "SHUTDOWN",
        "LOCK_CONTROL",
        "CLEANUP",
        "CREATE_MAILSLOT",
        "QUERY_SECURITY",
        "SET_SECURITY",
        "POWER",
        "SYSTEM_CONTROL",
        "DEVICE_CHANGE",
        "QUERY_QUOTA",
        "SET_QUOTA",
        "PNP",
    ];
    let name = match mj {
        0..=27 => MJ[mj as usize],
        -1 => "ACQUIRE_FOR_SECTION_SYNCHRONIZATION",
        -2 => "RELEASE_FOR_SECTION_SYNCHRONIZATION",
        -3 => "ACQUIRE_FOR_MOD_WRITE",
        -4 => "RELEASE_FOR_MOD_WRITE",
        -5 => "ACQUIRE_FOR_CC_FLUSH",
        -6 => "RELEASE_FOR_CC_FLUSH",
        -7 => "QUERY_OPEN",
        -13 => "FAST_IO_CHECK_IF_POSSIBLE",
        -14 => "NETWORK_QUERY_OPEN",
        -15 => "MDL_READ",
        -16 => "MDL_READ_COMPLETE",
        -17 => "PREPARE_MDL_WRITE",
        -18 => "MDL_WRITE_COMPLETE",
        -19 => "VOLUME_MOUNT",
        -20 => "VOLUME_DISMOUNT",
        _ => return format!("IRP_MJ_{mj}"),
    };
    format!("IRP_MJ_{name}")
}

/// Procmon's operation name for an IRP major function (the FileIo event's IRP, or a minifilter
/// callback's major function).
fn procmon_major(mj: i8) -> &'static str {
    match mj {
        0 => "CreateFile",
        1 => "CreatePipe",
        2 => "IRP_MJ_CLOSE",
        3 => "ReadFile",
        4 => "WriteFile",
        5 => "QueryInformationFile",
        6 => "SetInformationFile",
        7 => "QueryEAFile",
        8 => "SetEAFile",
        9 => "FlushBuffersFile",
        10 => "QueryVolumeInformation",
        11 => "SetVolumeInformation",
        12 => "DirectoryControl",
        13 => "FileSystemControl",
        14 => "DeviceIoControl",
        15 => "InternalDeviceIoControl",
        17 => "LockUnlockFile",
        18 => "CloseFile",
        20 => "QuerySecurityFile",
        21 => "SetSecurityFile",
        -1 => "CreateFileMapping",
        -7 => "QueryOpen",
        -13 => "FASTIO_CHECK_IF_POSSIBLE",
        _ => "IRP",
    }
}

fn query_info_name(class: u32) -> &'static str {
    match class {
        4 => "QueryBasicInformationFile",
        5 => "QueryStandardInformationFile",
        6 => "QueryFileInternalInformationFile",
        7 => "QueryEaInformationFile",
        9 => "QueryNameInformationFile",
        14 => "QueryPositionInformationFile",
        18 => "QueryAllInformationFile",
        22 => "QueryStreamInformationFile",
        34 => "QueryNetworkOpenInformationFile",
        35 => "QueryAttributeTagFile",
        48 => "QueryNormalizedNameInformationFile",
        _ => "QueryInformationFile",
    }
}

fn set_info_name(class: u32) -> &'static str {
    match class {
        4 => "SetBasicInformationFile",
        10 => "SetRenameInformationFile",
        11 => "SetLinkInformationFile",
        13 => "SetDispositionInformationFile",
        14 => "SetPositionInformationFile",
        19 => "SetAllocationInformationFile",
        20 => "SetEndOfFileInformationFile",
        39 => "SetValidDataLengthInformationFile",
        64 => "SetDispositionInformationEx",
        65 => "SetRenameInformationEx",
        _ => "SetInformationFile",
    }
}

/// Procmon's operation name for a FileIo operation event (type, information class).
fn fileio_operation(opcode: u8, class: u32) -> &'static str {
    match opcode {
        64 | 78 => "CreateFile",
        65 => "CloseFile",
        66 => "IRP_MJ_CLOSE",
        67 => "ReadFile",
        68 => "WriteFile",
        69 => set_info_name(class),
        70 | 79 => "SetDispositionInformationFile",
        71 | 80 => "SetRenameInformationFile",
        72 => "QueryDirectory",
        73 => "FlushBuffersFile",
        74 => query_info_name(class),
        75 => "FileSystemControl",
        77 => "NotifyChangeDirectory",
        81 | 82 => "SetLinkInformationFile",
        _ => "IRP",
    }
}

/// Procmon's operation name for a Registry event type.
fn registry_operation(opcode: u8) -> Option<&'static str> {
    Some(match opcode {
        10 => "RegCreateKey",
        11 => "RegOpenKey",
        12 => "RegDeleteKey",
        13 => "RegQueryKey",
        14 => "RegSetValue",
        15 => "RegDeleteValue",
        16 => "RegQueryValue",
        17 => "RegEnumKey",
        18 => "RegEnumValue",
        19 => "RegQueryMultipleValueKey",
        20 => "RegSetInfoKey",
        21 => "RegFlushKey",
        27 => "RegCloseKey",
        28 => "RegSetKeySecurity",
        29 => "RegQueryKeySecurity",
        _ => return None,
    })
}

/// Registry key names as Procmon shows them: `\REGISTRY\MACHINE\` = `HKLM\`,
/// `\REGISTRY\USER\` = `HKU\`.
pub fn registry_display(path: &str) -> String {
    for (long, short) in [("\\REGISTRY\\MACHINE", "HKLM"), ("\\REGISTRY\\USER", "HKU")] {
        if path.len() >= long.len()
            && path.is_char_boundary(long.len())
            && path[..long.len()].eq_ignore_ascii_case(long)
        {
            let rest = &path[long.len()..];
            if rest.is_empty() || rest.starts_with('\\') {
                return format!("{short}{rest}");
            }
        }
    }
    path.to_string()
}

/// Account name of a well-known SID, else the SID text.
pub fn account_of_sid(sid: &str) -> String {
    match sid {
        "S-1-5-18" => "NT AUTHORITY\\SYSTEM".into(),
        "S-1-5-19" => "NT AUTHORITY\\LOCAL SERVICE".into(),
        "S-1-5-20" => "NT AUTHORITY\\NETWORK SERVICE".into(),
        "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464" => {
            "NT SERVICE\\TrustedInstaller".into()
        }
        s => s.to_string(),
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn flags_text(v: u32, table: &[(u32, &str)], none: &str) -> String {
    let words: Vec<&str> = table
        .iter()
        .filter(|(b, _)| v & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if words.is_empty() {
        none.to_string()
    } else {
        words.join(", ")
    }
}

/// Procmon-style Detail of a create: disposition, options, attributes, share mode.
fn create_detail(options: u32, attributes: u32, share: u32) -> String {
    const DISPOSITION: [&str; 6] = [
        "Supersede",
        "Open",
        "Create",
        "OpenIf",
        "Overwrite",
        "OverwriteIf",
    ];
    const OPTIONS: [(u32, &str); 12] = [
        (0x0000_0001, "Directory"),
        (0x0000_0002, "Write Through"),
        (0x0000_0004, "Sequential Access"),
        (0x0000_0008, "No Buffering"),
        (0x0000_0010, "Synchronous IO Alert"),
        (0x0000_0020, "Synchronous IO Non-Alert"),
        (0x0000_0040, "Non-Directory File"),
        (0x0000_0800, "Random Access"),
        (0x0000_1000, "Delete On Close"),
        (0x0000_2000, "Open By ID"),
        (0x0000_4000, "Open For Backup"),
        (0x0020_0000, "Open Reparse Point"),
    ];
    const ATTRIBUTES: [(u32, &str); 8] = [
        (0x01, "R"),
        (0x02, "H"),
        (0x04, "S"),
        (0x10, "D"),
        (0x20, "A"),
        (0x80, "N"),
        (0x100, "T"),
        (0x800, "C"),
    ];
    const SHARE: [(u32, &str); 3] = [(0x1, "Read"), (0x2, "Write"), (0x4, "Delete")];
    let disp = (options >> 24) as usize;
    format!(
        "Disposition: {}, Options: {}, Attributes: {}, ShareMode: {}",
        DISPOSITION.get(disp).copied().unwrap_or("?"),
        flags_text(options & 0x00FF_FFFF, &OPTIONS, "none"),
        flags_text(attributes, &ATTRIBUTES, "n/a"),
        flags_text(share, &SHARE, "None")
    )
}

// ---------------------------------------------------------------------------------------------
// Records collected in the pass over the trace.

#[derive(Clone, Debug, Default)]
struct ProcRec {
    pid: u32,
    ppid: u32,
    name: String,
    command_line: String,
    sid: Option<String>,
    session: u32,
    /// Raw start time (Process Start); `None` when it existed before the trace (DCStart).
    start: Option<u64>,
    end: Option<u64>,
}

#[derive(Clone, Debug)]
struct ImageRec {
    pid: u32,
    base: u64,
    size: u64,
    path: String,
    start: u64,
    end: u64,
    signature_level: Option<u8>,
}

impl ImageRec {
    fn name(&self) -> &str {
        self.path.rsplit(['\\', '/']).next().unwrap_or(&self.path)
    }
}

#[derive(Clone, Debug, Default)]
struct OpRec {
    ts: u64,
    opcode: u8,
    irp: u64,
    fo: u64,
    key: u64,
    ttid: u32,
    hpid: Option<u32>,
    htid: Option<u32>,
    class: u32,
    options: u32,
    attributes: u32,
    share: u32,
    path: Option<String>,
    offset: u64,
    size: u32,
    end: Option<u64>,
    status: Option<u32>,
}

#[derive(Clone, Debug)]
struct RegRec {
    ts: u64,
    initial: u64,
    status: u32,
    opcode: u8,
    path: String,
    hpid: Option<u32>,
    htid: Option<u32>,
}

/// A registry operation before the KCB map is complete.
#[derive(Clone, Debug)]
struct RegRaw {
    ts: u64,
    opcode: u8,
    initial: u64,
    status: u32,
    index: u32,
    kcb: u64,
    name: String,
    hpid: Option<u32>,
    htid: Option<u32>,
}

#[derive(Clone, Debug)]
struct FltRec {
    ts: u64,
    opcode: u8,
    m: kernel::MinifilterEvent,
    hpid: Option<u32>,
    htid: Option<u32>,
}

/// Time-ranged lookups: the latest entry at or before `t`, else the earliest after it (rundown
/// events come at the end of a trace and name objects used before).
fn at_time<T>(v: &[(u64, T)], t: u64) -> Option<&T> {
    v.iter()
        .rev()
        .find(|(s, _)| *s <= t)
        .or_else(|| v.first())
        .map(|(_, x)| x)
}

#[derive(Default)]
struct Collected {
    procs: Vec<ProcRec>,
    threads: HashMap<u32, Vec<(u64, u32)>>,
    images: Vec<ImageRec>,
    names: HashMap<u64, Vec<(u64, String)>>,
    ops: Vec<OpRec>,
    orphan_ends: u64,
    regs: Vec<RegRec>,
    reg_raw: Vec<RegRaw>,
    kcbs: KcbMap,
    flts: Vec<FltRec>,
    stacks: HashMap<(u64, u32), Vec<u64>>,
    stack_keys: Vec<(u64, u32, u8, u64)>,
    key_defs: StackKeyMap,
    decode_errors: BTreeMap<String, (u64, String)>,
    first_ts: Option<u64>,
    /// pid -> indexes into `procs`.
    proc_index: HashMap<u32, Vec<usize>>,
    /// pid -> indexes into `images`, by base address.
    image_index: HashMap<u32, Vec<usize>>,
}

impl Collected {
    /// Build the lookup indexes once everything is collected.
    fn index(&mut self) {
        for (i, p) in self.procs.iter().enumerate() {
            self.proc_index.entry(p.pid).or_default().push(i);
        }
        for (i, img) in self.images.iter().enumerate() {
            self.image_index.entry(img.pid).or_default().push(i);
        }
        for v in self.image_index.values_mut() {
            v.sort_by_key(|&i| self.images[i].base);
        }
    }

    fn proc_at(&self, pid: u32, t: u64) -> Option<&ProcRec> {
        let idx = self.proc_index.get(&pid)?;
        let all = idx.iter().map(|&i| &self.procs[i]);
        all.clone()
            .filter(|p| p.start.unwrap_or(0) <= t)
            .max_by_key(|p| p.start.unwrap_or(0))
            .or_else(|| all.clone().next())
    }

    fn pid_of_thread(&self, tid: u32, t: u64) -> Option<u32> {
        self.threads.get(&tid).and_then(|v| at_time(v, t)).copied()
    }

    /// The image of process `pid` (0: the kernel) holding `addr` at raw time `t`: among the
    /// images whose range holds it, the latest loaded that is valid then, else any.
    fn image_at(&self, pid: u32, addr: u64, t: u64) -> Option<&ImageRec> {
        /// Images larger than this are not looked for (no driver or DLL is that large).
        const MAX_IMAGE: u64 = 1 << 30;
        let idx = self.image_index.get(&pid)?;
        let end = idx.partition_point(|&i| self.images[i].base <= addr);
        let holding = idx[..end]
            .iter()
            .rev()
            .map(|&i| &self.images[i])
            .take_while(|i| addr - i.base < MAX_IMAGE)
            .filter(|i| addr - i.base < i.size.max(1));
        holding
            .clone()
            .filter(|i| i.start <= t && t <= i.end)
            .max_by_key(|i| i.start)
            .or_else(|| holding.clone().next())
    }
}

fn collect(etl: &Etl) -> (Collected, Vec<Problem>) {
    let mut c = Collected::default();
    let ctx = etl.decode_ctx();
    // Latest open operation per IRP (OperationEnd joins to it, §4.5).
    let mut open_irp: HashMap<u64, usize> = HashMap::new();
    let problems = etl.for_each_merged(|ev| {
        let Some(g) = ev.group() else { return };
        let ts = ev.timestamp();
        let (hpid, htid) = (ev.pid(), ev.tid());
        if !(g == 0 && ev.opcode() == 0) {
            c.first_ts = Some(c.first_ts.map_or(ts, |f| f.min(ts)));
        }
        let k = match kernel::decode(ev, &ctx) {
            Ok(Some(k)) => k,
            Ok(None) => return,
            Err(e) => {
                let name = kernel::event_name(g, ev.opcode());
                let entry = c
                    .decode_errors
                    .entry(format!("{name} v{}", ev.version()))
                    .or_insert((0, etl.location(ev, &e.to_string()).to_string()));
                entry.0 += 1;
                return;
            }
        };
        // The fields every FileIo operation carries.
        let file_op = move |opcode: u8, irp: u64, fo: u64, key: u64, ttid: u32| OpRec {
            ts,
            opcode,
            irp,
            fo,
            key,
            ttid,
            hpid,
            htid,
            ..Default::default()
        };
        match k {
            KernelEvent::Process(p) => {
                let sid = p.user_sid.map(|s| s.to_string());
                match p.opcode {
                    1 | 3 => c.procs.push(ProcRec {
                        pid: p.pid,
                        ppid: p.ppid,
                        name: p.image_file_name.to_string_lossy(),
                        command_line: p.command_line.to_string_lossy(),
                        sid,
                        session: p.session_id,
                        start: (p.opcode == 1).then_some(ts),
                        end: None,
                    }),
                    2 => {
                        if let Some(r) = c.procs.iter_mut().rev().find(|r| r.pid == p.pid) {
                            r.end = Some(ts);
                        }
                    }
                    _ => {
                        if !c.procs.iter().any(|r| r.pid == p.pid) {
                            c.procs.push(ProcRec {
                                pid: p.pid,
                                ppid: p.ppid,
                                name: p.image_file_name.to_string_lossy(),
                                command_line: p.command_line.to_string_lossy(),
                                sid,
                                session: p.session_id,
                                start: None,
                                end: None,
                            });
                        }
                    }
                }
            }
            KernelEvent::Thread(t) => {
                if matches!(t.opcode, 1 | 3) {
                    let start = if t.opcode == 1 { ts } else { 0 };
                    c.threads.entry(t.tid).or_default().push((start, t.pid));
                }
            }
            KernelEvent::Image(i) => {
                let path = i.file_name.to_string_lossy();
                let same =
                    |r: &ImageRec| r.pid == i.pid && r.base == i.image_base.0 && r.path == path;
                match i.opcode {
                    10 | 3 => {
                        if i.opcode == 3 && c.images.iter().any(same) {
                            return;
                        }
                        c.images.push(ImageRec {
                            pid: i.pid,
                            base: i.image_base.0,
                            size: i.image_size,
                            path,
                            start: if i.opcode == 10 { ts } else { 0 },
                            end: u64::MAX,
                            signature_level: i.signature_level,
                        });
                    }
                    2 => {
                        if let Some(r) = c.images.iter_mut().rev().find(|r| {
                            r.pid == i.pid && r.base == i.image_base.0 && r.end == u64::MAX
                        }) {
                            r.end = ts;
                        }
                    }
                    _ => {
                        // DCEnd: a rundown at the end; an image only it shows was there all along.
                        if !c.images.iter().any(same) {
                            c.images.push(ImageRec {
                                pid: i.pid,
                                base: i.image_base.0,
                                size: i.image_size,
                                path,
                                start: 0,
                                end: u64::MAX,
                                signature_level: i.signature_level,
                            });
                        }
                    }
                }
            }
            KernelEvent::FileName(n) => {
                c.names
                    .entry(n.file_key.0)
                    .or_default()
                    .push((ts, n.file_name.to_string_lossy()));
            }
            KernelEvent::FileCreate(f) => {
                push_op(
                    &mut c,
                    &mut open_irp,
                    OpRec {
                        options: f.create_options,
                        attributes: f.file_attributes,
                        share: f.share_access,
                        path: Some(f.open_path.to_string_lossy()),
                        ..file_op(f.opcode, f.irp.0, f.file_object.0, 0, f.ttid)
                    },
                );
            }
            KernelEvent::FileSimpleOp(f) => push_op(
                &mut c,
                &mut open_irp,
                file_op(f.opcode, f.irp.0, f.file_object.0, f.file_key.0, f.ttid),
            ),
            KernelEvent::FileReadWrite(f) => push_op(
                &mut c,
                &mut open_irp,
                OpRec {
                    offset: f.offset,
                    size: f.io_size,
                    ..file_op(f.opcode, f.irp.0, f.file_object.0, f.file_key.0, f.ttid)
                },
            ),
            KernelEvent::FileInfo(f) => push_op(
                &mut c,
                &mut open_irp,
                OpRec {
                    class: f.info_class,
                    ..file_op(f.opcode, f.irp.0, f.file_object.0, f.file_key.0, f.ttid)
                },
            ),
            KernelEvent::FileDirEnum(f) => push_op(
                &mut c,
                &mut open_irp,
                OpRec {
                    class: f.info_class,
                    ..file_op(f.opcode, f.irp.0, f.file_object.0, f.file_key.0, f.ttid)
                },
            ),
            KernelEvent::FilePathOp(f) => push_op(
                &mut c,
                &mut open_irp,
                OpRec {
                    class: f.info_class,
                    ..file_op(f.opcode, f.irp.0, f.file_object.0, f.file_key.0, f.ttid)
                },
            ),
            KernelEvent::FileOpEnd(o) => match open_irp.remove(&o.irp.0) {
                Some(i) => {
                    let op = &mut c.ops[i];
                    op.end = Some(ts);
                    op.status = Some(o.status);
                }
                None => c.orphan_ends += 1,
            },
            KernelEvent::Registry(r) => {
                c.kcbs.add(ts, &r);
                if registry_operation(r.opcode).is_some() {
                    c.reg_raw.push(RegRaw {
                        ts,
                        opcode: r.opcode,
                        initial: r.initial_time,
                        status: r.status,
                        index: r.index,
                        kcb: r.kcb.0,
                        name: r.name.to_string_lossy(),
                        hpid,
                        htid,
                    });
                }
            }
            KernelEvent::Minifilter(m) => c.flts.push(FltRec {
                ts,
                opcode: m.opcode,
                m,
                hpid,
                htid,
            }),
            KernelEvent::Stack(s) => {
                c.stacks
                    .entry((s.event_timestamp, s.tid))
                    .or_insert_with(|| s.frames.iter().collect());
            }
            KernelEvent::StackKey(s) => {
                c.stack_keys
                    .push((s.event_timestamp, s.tid, s.opcode, s.key.0));
            }
            KernelEvent::StackKeyDefinition(d) => c.key_defs.add(ts, &d),
            _ => {}
        }
    });
    c.kcbs.finish();
    c.key_defs.finish();
    c.index();
    // Registry names need the whole KCB map (rundowns come at the end).
    let raw = std::mem::take(&mut c.reg_raw);
    for RegRaw {
        ts,
        opcode,
        initial,
        status,
        index,
        kcb,
        name,
        hpid,
        htid,
    } in raw
    {
        let ev = kernel::RegistryEvent {
            opcode,
            version: 2,
            initial_time: initial,
            status,
            index,
            kcb: crate::etl::bytes::Hex(kcb),
            name: crate::etl::bytes::WStr::from_bytes(&[]),
        };
        // Key operations carry the (relative) key name, value operations the value name.
        let names_value = ev.names_value();
        let key = if names_value || name.is_empty() {
            c.kcbs.key_name(ts, &ev).to_string()
        } else if name.len() >= 9 && name[..9].eq_ignore_ascii_case("\\REGISTRY") {
            name.clone()
        } else {
            match c.kcbs.lookup(kcb, ts) {
                Some(base) => format!("{}\\{}", base.trim_end_matches('\\'), name),
                None => kernel::KeyName::Unresolved {
                    kcb: crate::etl::bytes::Hex(kcb),
                    relative: name.clone(),
                }
                .to_string(),
            }
        };
        let mut path = registry_display(&key);
        if names_value {
            path = format!("{}\\{}", path.trim_end_matches('\\'), name);
        }
        c.regs.push(RegRec {
            ts,
            initial,
            status,
            opcode,
            path,
            hpid,
            htid,
        });
    }
    // Stack keys: the kernel part, then the user part (§4.7).
    let keys = std::mem::take(&mut c.stack_keys);
    let mut keyed: HashMap<(u64, u32), (Vec<u64>, Vec<u64>)> = HashMap::new();
    for (ts, tid, opcode, key) in keys {
        if let Some(frames) = c.key_defs.frames(key, ts) {
            let e = keyed.entry((ts, tid)).or_default();
            if opcode == 37 {
                e.0 = frames.to_vec();
            } else {
                e.1 = frames.to_vec();
            }
        }
    }
    for (k, (mut kf, uf)) in keyed {
        kf.extend(uf);
        c.stacks.entry(k).or_insert(kf);
    }
    (c, problems)
}

fn push_op(c: &mut Collected, open: &mut HashMap<u64, usize>, op: OpRec) {
    if op.irp != 0 {
        open.insert(op.irp, c.ops.len());
    }
    c.ops.push(op);
}

// ---------------------------------------------------------------------------------------------
// Rows.

#[derive(Clone, Debug, Default)]
struct Row {
    start: u64,
    end: Option<u64>,
    pid: u32,
    tid: u32,
    class: &'static str,
    operation: String,
    path: String,
    status: Option<u32>,
    detail: String,
    /// (raw time, thread) keys a stack may be filed under.
    stack_keys: Vec<(u64, u32)>,
    irp: u64,
}

#[derive(Clone, Debug, Default)]
struct Invocation {
    start: u64,
    end: Option<u64>,
    routine: u64,
    fo: u64,
    fctx: u64,
    irp: u64,
    cbd: u64,
    mj: i8,
    post: bool,
    status: Option<u32>,
    failure: bool,
    /// A completion event (98/99) closed it.
    completed: bool,
    layouts: BTreeSet<&'static str>,
    pid: Option<u32>,
    tid: Option<u32>,
    row: Option<usize>,
}

fn layout_name(l: kernel::MinifilterLayout) -> &'static str {
    use kernel::MinifilterLayout::*;
    match l {
        Operation => "Operation",
        OperationStatus => "OperationStatus",
        TimeFirst => "TimeFirst",
        TimeLast => "TimeLast",
        Longer => "Longer",
    }
}

/// Join the minifilter events into callback invocations (see the module documentation).
fn invocations(c: &Collected) -> Vec<Invocation> {
    let first = c.first_ts.unwrap_or(0);
    let mut out: Vec<Invocation> = Vec::new();
    // (request, routine, post) -> the latest invocation.
    let mut last: HashMap<(u64, u64, bool), usize> = HashMap::new();
    for f in &c.flts {
        let m = &f.m;
        let post = matches!(f.opcode, 97 | 99 | 101);
        let request = [m.callback_data.0, m.irp.0, m.file_object.0]
            .into_iter()
            .find(|v| *v != 0)
            .unwrap_or(0);
        let key = (request, m.routine.0, post);
        let plausible_initial = m
            .initial_time
            .filter(|t| *t >= first && *t <= f.ts && m.plausible);
        let new = |start: u64| Invocation {
            start,
            routine: m.routine.0,
            fo: m.file_object.0,
            fctx: m.file_context.0,
            irp: m.irp.0,
            cbd: m.callback_data.0,
            mj: m.major_function,
            post,
            pid: f.hpid,
            tid: f.htid,
            ..Default::default()
        };
        let idx = match f.opcode {
            96 | 97 => {
                out.push(new(f.ts));
                out.len() - 1
            }
            98 | 99 => match last.get(&key) {
                Some(&i) if !out[i].completed => i,
                _ => {
                    out.push(new(plausible_initial.unwrap_or(f.ts)));
                    out.len() - 1
                }
            },
            _ => match last.get(&key) {
                // A failure belongs to the latest invocation of that callback for the request,
                // whether its completion was logged before or after it.
                Some(&i) if !out[i].failure && f.ts.saturating_sub(out[i].start) < 10_000_000 => i,
                _ => {
                    out.push(new(f.ts));
                    out.len() - 1
                }
            },
        };
        let inv = &mut out[idx];
        inv.layouts.insert(layout_name(m.layout));
        match f.opcode {
            98 | 99 => {
                inv.completed = true;
                inv.end = Some(f.ts);
                if let Some(t) = plausible_initial {
                    inv.start = inv.start.min(t);
                }
                if inv.status.is_none() {
                    inv.status = m.status;
                }
            }
            100 | 101 => {
                inv.failure = true;
                inv.status = m.status;
                if inv.end.is_none() {
                    inv.end = Some(f.ts);
                }
            }
            _ => {
                if inv.status.is_none() && m.status.is_some() {
                    inv.status = m.status;
                }
            }
        }
        if inv.pid.is_none() {
            inv.pid = f.hpid;
            inv.tid = f.htid;
        }
        last.insert(key, idx);
    }
    out
}

struct Built {
    rows: Vec<Row>,
    invs: Vec<Invocation>,
}

fn build_rows(c: &Collected) -> Built {
    let first = c.first_ts.unwrap_or(0);
    let mut rows: Vec<Row> = Vec::new();
    // FILE_OBJECT -> (time, path) of its Creates.
    let mut fo_paths: HashMap<u64, Vec<(u64, String)>> = HashMap::new();
    for op in &c.ops {
        if let Some(p) = &op.path {
            fo_paths.entry(op.fo).or_default().push((op.ts, p.clone()));
        }
    }
    let path_of = |fo: u64, key: u64, t: u64| -> String {
        if key != 0 {
            if let Some(n) = c.names.get(&key).and_then(|v| at_time(v, t)) {
                return n.clone();
            }
        }
        if fo != 0 {
            if let Some(p) = fo_paths.get(&fo).and_then(|v| at_time(v, t)) {
                return p.clone();
            }
        }
        String::new()
    };
    for op in &c.ops {
        let tid = if op.ttid != 0 {
            op.ttid
        } else {
            op.htid.unwrap_or(0)
        };
        let pid = c.pid_of_thread(tid, op.ts).or(op.hpid).unwrap_or_default();
        let path = op
            .path
            .clone()
            .unwrap_or_else(|| path_of(op.fo, op.key, op.ts));
        let detail = match op.opcode {
            64 | 78 => create_detail(op.options, op.attributes, op.share),
            67 | 68 => format!(
                "Offset: {}, Length: {}",
                thousands(op.offset),
                thousands(u64::from(op.size))
            ),
            _ => String::new(),
        };
        let mut keys = vec![(op.ts, tid)];
        if let Some(h) = op.htid {
            if h != tid {
                keys.push((op.ts, h));
            }
        }
        rows.push(Row {
            start: op.ts,
            end: op.end,
            pid,
            tid,
            class: "File System",
            operation: fileio_operation(op.opcode, op.class).to_string(),
            path,
            status: op.status,
            detail,
            stack_keys: keys,
            irp: op.irp,
        });
    }
    for r in &c.regs {
        let start = if r.initial >= first && r.initial <= r.ts && r.initial != 0 {
            r.initial
        } else {
            r.ts
        };
        let tid = r.htid.unwrap_or(0);
        let pid = r
            .hpid
            .or_else(|| c.pid_of_thread(tid, r.ts))
            .unwrap_or_default();
        rows.push(Row {
            start,
            end: Some(r.ts),
            pid,
            tid,
            class: "Registry",
            operation: registry_operation(r.opcode)
                .unwrap_or("Registry")
                .to_string(),
            path: r.path.clone(),
            status: Some(r.status),
            detail: String::new(),
            stack_keys: vec![(r.ts, tid)],
            irp: 0,
        });
    }

    // Callback invocations, linked to the FileIo operation of their IRP.
    let mut invs = invocations(c);
    let mut by_irp: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        if r.irp != 0 {
            by_irp.entry(r.irp).or_default().push(i);
        }
    }
    for v in by_irp.values_mut() {
        v.sort_by_key(|&i| rows[i].start);
    }
    for inv in invs.iter_mut() {
        if inv.irp == 0 {
            continue;
        }
        if let Some(v) = by_irp.get(&inv.irp) {
            // The latest operation with that IRP started at or before the callback (IRPs are
            // reused), still running then (or with no end seen).
            let k = v.partition_point(|&i| rows[i].start <= inv.start);
            inv.row = k
                .checked_sub(1)
                .map(|j| v[j])
                .filter(|&i| rows[i].end.is_none_or(|e| inv.start <= e));
        }
    }
    // Requests the FileIo events do not show: the callbacks of one callback data (else IRP)
    // share a request; one with a failure event becomes an event of its own.
    let mut requests: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, inv) in invs.iter().enumerate() {
        if inv.row.is_none() {
            let req = if inv.cbd != 0 { inv.cbd } else { inv.irp };
            if req != 0 {
                requests.entry(req).or_default().push(i);
            }
        }
    }
    // Link callbacks of one callback data to the operation a sibling was linked to.
    let mut cbd_row: HashMap<u64, Vec<(u64, usize)>> = HashMap::new();
    for inv in &invs {
        if let (Some(r), true) = (inv.row, inv.cbd != 0) {
            cbd_row.entry(inv.cbd).or_default().push((inv.start, r));
        }
    }
    for idxs in requests.values_mut() {
        idxs.retain(|&i| {
            let inv = &invs[i];
            let sibling = cbd_row.get(&inv.cbd).and_then(|v| {
                v.iter()
                    .find(|(t, r)| {
                        let row = &rows[*r];
                        *t >= row.start && row.end.is_none_or(|e| inv.start <= e)
                    })
                    .map(|x| x.1)
            });
            match sibling {
                Some(r) => {
                    invs[i].row = Some(r);
                    false
                }
                None => true,
            }
        });
    }
    for idxs in requests.values() {
        let Some(&fail) = idxs.iter().find(|&&i| invs[i].failure) else {
            continue;
        };
        let f = &invs[fail];
        let start = idxs.iter().map(|&i| invs[i].start).min().unwrap_or(f.start);
        let end = idxs.iter().filter_map(|&i| invs[i].end).max().or(f.end);
        let tid = idxs.iter().find_map(|&i| invs[i].tid).unwrap_or(0);
        let pid = idxs
            .iter()
            .find_map(|&i| invs[i].pid)
            .or_else(|| c.pid_of_thread(tid, start))
            .unwrap_or(0);
        let row = rows.len();
        rows.push(Row {
            start,
            end,
            pid,
            tid,
            class: "File System",
            operation: procmon_major(f.mj).to_string(),
            path: path_of(f.fo, f.fctx, f.start),
            status: f.status,
            detail: format!(
                "From minifilter events only (no FileIo operation event for this request): {} {} failed by a callback ({LAYOUT_NOTE})",
                major_function_name(f.mj),
                if f.post { "post-operation" } else { "pre-operation" }
            ),
            stack_keys: idxs
                .iter()
                .map(|&i| (invs[i].start, invs[i].tid.unwrap_or(0)))
                .collect(),
            irp: f.irp,
        });
        for &i in idxs {
            invs[i].row = Some(row);
        }
    }
    Built { rows, invs }
}

// ---------------------------------------------------------------------------------------------
// DataFrames.

#[derive(Default)]
struct CallbackCols {
    time: Vec<Option<i64>>,
    irp: Vec<u64>,
    cbd: Vec<u64>,
    fo: Vec<u64>,
    path: Vec<String>,
    mj: Vec<String>,
    phase: Vec<&'static str>,
    driver: Vec<Option<String>>,
    routine: Vec<u64>,
    status: Vec<Option<u32>>,
    status_name: Vec<Option<String>>,
    duration: Vec<Option<i64>>,
    pid: Vec<u32>,
    tid: Vec<u32>,
    layout: Vec<String>,
    event_id: Vec<Option<u64>>,
    failure: Vec<bool>,
}

fn callbacks_df(c: &CallbackCols, source: &str) -> PolarsResult<DataFrame> {
    let n = c.irp.len();
    DataFrame::new(
        n,
        vec![
            utc_ns("time_utc", c.time.clone())?,
            str_col("source", vec![source.to_string(); n]),
            column("irp", c.irp.clone()),
            column("callback_data", c.cbd.clone()),
            column("file_object", c.fo.clone()),
            str_col("path", c.path.clone()),
            str_col("major_function", c.mj.clone()),
            cast_col("phase", c.phase.clone(), &DataType::String)?,
            cast_col("driver", c.driver.clone(), &DataType::String)?,
            column("routine", c.routine.clone()),
            cast_col("status", c.status.clone(), &DataType::UInt32)?,
            cast_col("status_name", c.status_name.clone(), &DataType::String)?,
            cast_col("duration_ns", c.duration.clone(), &DataType::Int64)?,
            column("pid", c.pid.clone()),
            column("tid", c.tid.clone()),
            str_col("layout", c.layout.clone()),
            cast_col("event_id", c.event_id.clone(), &DataType::UInt64)?,
            column("failure", c.failure.clone()),
        ],
    )
}

/// Build the tables of one ETL trace, numbering events from `id_base` (to keep ids unique over
/// several inputs). `source` is the file name.
pub fn from_etl(etl: &Etl, id_base: u64) -> anyhow::Result<Tables> {
    from_etl_opts(etl, id_base, None)
}

/// Which frames [`from_etl_opts`] keeps besides every frame of the events of interest: the
/// candidate drivers (lower-case file names) chosen from the trace's `modules` table, and the
/// statuses whose events keep their whole stack (with the events their threads started while
/// they ran: the nested-I/O window). The same rule as the PML builder's
/// [`super::build::FrameScope::Focused`].
pub struct EtlFocus<'a> {
    /// Picks the candidate drivers from the trace's `modules` table.
    pub candidates: &'a dyn Fn(&DataFrame) -> anyhow::Result<std::collections::HashSet<String>>,
    /// The statuses whose events keep their whole stack.
    pub failure: fn(u32) -> bool,
}

/// As [`from_etl`]; with `focus`, `frames` holds only the rows the verdict reads (`analyze`).
pub fn from_etl_opts(etl: &Etl, id_base: u64, focus: Option<&EtlFocus>) -> anyhow::Result<Tables> {
    let source = std::path::Path::new(etl.name())
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| etl.name().to_string());
    let (info, ((c, problems), sha256)) = rayon::join(
        || crate::etl::info(etl),
        || rayon::join(|| collect(etl), || sha256_hex(etl.bytes())),
    );
    let clock = etl.clock();
    let ps = if etl.header().pointer_size == 4 { 4 } else { 8 };
    let ns = |raw: u64| filetime_to_unix_ns(clock.filetime(raw));
    let dur_ns = |a: u64, b: u64| clock.ticks_between(a, b).saturating_mul(100);
    let Built { mut rows, invs } = build_rows(&c);

    // Events in time order; ids follow it.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| (rows[i].start, i));
    let mut id_of = vec![0u64; rows.len()];
    for (k, &i) in order.iter().enumerate() {
        id_of[i] = id_base + k as u64;
    }
    let sorted: Vec<Row> = order
        .iter()
        .map(|&i| std::mem::take(&mut rows[i]))
        .collect();
    let n = sorted.len();
    // Focused frames: the candidates' names, and per thread the windows (ns, inclusive) of the
    // failures, as `nested_io` computes them from the `events` columns.
    let focused = match focus {
        None => None,
        Some(f) => {
            let names = (f.candidates)(&modules_df(&c, &source)?)?;
            let mut windows: HashMap<u32, Vec<(i64, i64)>> = HashMap::new();
            for r in sorted
                .iter()
                .filter(|r| r.status.is_some_and(|s| (f.failure)(s)))
            {
                let a = ns(r.start);
                let d = r.end.map_or(0, |e| dur_ns(r.start, e));
                let d = d.max(0);
                windows
                    .entry(r.tid)
                    .or_default()
                    .push((a, a.saturating_add(d)));
            }
            for w in windows.values_mut() {
                w.sort_unstable();
            }
            Some((names, windows, f.failure))
        }
    };
    let whole_stack = |r: &Row| -> bool {
        let Some((_, windows, failure)) = &focused else {
            return true;
        };
        if r.status.is_some_and(*failure) {
            return true;
        }
        let t = ns(r.start);
        // Windows opened at or before `t`; any of them may still be open.
        windows.get(&r.tid).is_some_and(|w| {
            w[..w.partition_point(|&(a, _)| a <= t)]
                .iter()
                .any(|&(_, b)| t <= b)
        })
    };

    let mut e_id = Vec::with_capacity(n);
    let mut e_time = Vec::with_capacity(n);
    let mut e_pid = Vec::with_capacity(n);
    let mut e_tid = Vec::with_capacity(n);
    let mut e_pname = Vec::with_capacity(n);
    let mut e_user = Vec::with_capacity(n);
    let mut e_integrity = Vec::with_capacity(n);
    let mut e_class = Vec::with_capacity(n);
    let mut e_op = Vec::with_capacity(n);
    let mut e_path = Vec::with_capacity(n);
    let mut e_status = Vec::with_capacity(n);
    let mut e_sname = Vec::with_capacity(n);
    let mut e_dur = Vec::with_capacity(n);
    let mut e_detail = Vec::with_capacity(n);
    let mut e_cat = Vec::with_capacity(n);
    let mut e_stack = Vec::with_capacity(n);
    let (mut f_stack, mut f_depth, mut f_addr, mut f_module, mut f_offset, mut f_kernel) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (k, r) in sorted.iter().enumerate() {
        let id = id_base + k as u64;
        let p = c.proc_at(r.pid, r.start);
        e_id.push(id);
        e_time.push(Some(ns(r.start)));
        e_pid.push(r.pid);
        e_tid.push(r.tid);
        e_pname.push(p.map(|p| p.name.clone()).unwrap_or_default());
        e_user.push(
            p.and_then(|p| p.sid.as_deref())
                .map(account_of_sid)
                .unwrap_or_default(),
        );
        e_integrity.push(String::new());
        e_class.push(r.class);
        e_op.push(r.operation.clone());
        e_path.push(r.path.clone());
        e_status.push(r.status);
        e_sname.push(
            r.status
                .map(|s| status_text(s).into_owned())
                .unwrap_or_default(),
        );
        e_dur.push(r.end.map_or(0, |e| dur_ns(r.start, e)));
        e_detail.push(r.detail.clone());
        e_cat.push(category(&r.operation, r.class));
        let frames = r.stack_keys.iter().find_map(|key| c.stacks.get(key));
        match frames {
            Some(frames) if !frames.is_empty() => {
                e_stack.push(Some(id));
                let whole = whole_stack(r);
                for (depth, &addr) in frames.iter().enumerate() {
                    let kernel = is_kernel_address(addr, ps);
                    if !whole && !kernel {
                        continue;
                    }
                    let img = if kernel {
                        c.image_at(0, addr, r.start)
                    } else {
                        c.image_at(r.pid, addr, r.start)
                    };
                    if let (false, Some((names, _, _))) = (whole, &focused) {
                        let wanted =
                            img.is_some_and(|i| names.contains(&i.name().to_ascii_lowercase()));
                        if !wanted {
                            continue;
                        }
                    }
                    f_stack.push(id);
                    f_depth.push(depth as u32);
                    f_addr.push(addr);
                    f_module.push(img.map(|i| i.name().to_string()));
                    f_offset.push(img.map(|i| addr - i.base));
                    f_kernel.push(kernel);
                }
            }
            _ => e_stack.push(None),
        }
    }
    let events = DataFrame::new(
        n,
        vec![
            column("event_id", e_id),
            str_col("source", vec![source.clone(); n]),
            utc_ns("time_utc", e_time)?,
            column("pid", e_pid),
            column("tid", e_tid),
            str_col("process_name", e_pname),
            str_col("user", e_user),
            str_col("integrity", e_integrity),
            column("class", e_class),
            str_col("operation", e_op),
            str_col("path", e_path),
            cast_col("status", e_status, &DataType::UInt32)?,
            str_col("status_name", e_sname),
            column("duration_ns", e_dur),
            str_col("detail", e_detail),
            column("category", e_cat),
            cast_col("stack_id", e_stack, &DataType::UInt64)?,
        ],
    )?;
    let frames = DataFrame::new(
        f_stack.len(),
        vec![
            column("stack_id", f_stack),
            column("depth", f_depth),
            column("address", f_addr),
            cast_col("module", f_module, &DataType::String)?,
            cast_col("offset", f_offset, &DataType::UInt64)?,
            column("kernel", f_kernel),
        ],
    )?;

    // Callbacks, in time order.
    let mut cb = CallbackCols::default();
    let mut inv_order: Vec<usize> = (0..invs.len()).collect();
    inv_order.sort_by_key(|&i| (invs[i].start, i));
    let mut layouts: BTreeSet<&str> = BTreeSet::new();
    for &i in &inv_order {
        let inv = &invs[i];
        let row = inv.row.map(|r| (id_of[r], r));
        let linked = row.map(|(id, _)| &sorted[(id - id_base) as usize]);
        let tid = inv.tid.or(linked.map(|r| r.tid)).unwrap_or(0);
        let pid = inv
            .pid
            .or(linked.map(|r| r.pid))
            .or_else(|| c.pid_of_thread(tid, inv.start))
            .unwrap_or(0);
        let path = linked
            .map(|r| r.path.clone())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| {
                let by_key = c.names.get(&inv.fctx).and_then(|v| at_time(v, inv.start));
                by_key.cloned().unwrap_or_default()
            });
        cb.time.push(Some(ns(inv.start)));
        cb.irp.push(inv.irp);
        cb.cbd.push(inv.cbd);
        cb.fo.push(inv.fo);
        cb.path.push(path);
        cb.mj.push(major_function_name(inv.mj));
        cb.phase.push(if inv.post { "post" } else { "pre" });
        cb.driver.push(
            c.image_at(0, inv.routine, inv.start)
                .filter(|_| is_kernel_address(inv.routine, ps))
                .map(|img| img.name().to_string()),
        );
        cb.routine.push(inv.routine);
        cb.status.push(inv.status);
        cb.status_name
            .push(inv.status.map(|s| status_text(s).into_owned()));
        cb.duration.push(inv.end.map(|e| dur_ns(inv.start, e)));
        cb.pid.push(pid);
        cb.tid.push(tid);
        cb.layout
            .push(inv.layouts.iter().copied().collect::<Vec<_>>().join("+"));
        layouts.extend(inv.layouts.iter().copied());
        cb.event_id.push(row.map(|(id, _)| id));
        cb.failure.push(inv.failure);
    }
    let callbacks = callbacks_df(&cb, &source)?;
    let modules = modules_df(&c, &source)?;
    let processes = processes_df(&c, &source, ns)?;

    let on = |name: &str| {
        info.capabilities
            .iter()
            .any(|c| c.name == name && c.enabled)
    };
    let trace = TraceInfo {
        source: source.clone(),
        minifilter: [
            "minifilter_init",
            "minifilter_completion",
            "minifilter_fastio",
            "minifilter_failure",
        ]
        .iter()
        .any(|n| on(n)),
        minifilter_failure: on("minifilter_failure"),
        can_name_filter: info.can_name_filter,
        operations: on("file_io") || on("file_io_init") || on("registry"),
        verdict: info.verdict.clone(),
        minifilter_events: c.flts.len() as u64,
        layouts: layouts.iter().map(|s| s.to_string()).collect(),
        implausible_minifilter_events: c.flts.iter().filter(|f| !f.m.plausible).count() as u64,
    };
    let mut warnings: Vec<String> = etl
        .open_problems()
        .iter()
        .chain(problems.iter())
        .take(50)
        .map(|p| p.to_string())
        .collect();
    let extra = etl.open_problems().len() + problems.len();
    if extra > 50 {
        warnings.push(format!(
            "{}: {} more problems not listed",
            etl.name(),
            extra - 50
        ));
    }
    for (name, (count, first)) in &c.decode_errors {
        warnings.push(format!(
            "{count} {name} event(s) could not be decoded; first: {first}"
        ));
    }
    if c.orphan_ends > 0 {
        warnings.push(format!(
            "{}: {} FileIo OperationEnd event(s) without their start event (the trace started while they ran, or FILE_IO_INIT was off)",
            etl.name(),
            c.orphan_ends
        ));
    }
    if trace.implausible_minifilter_events > 0 {
        warnings.push(format!(
            "{}: {} minifilter event(s) failed the plausibility checks of their layout ({LAYOUT_NOTE})",
            etl.name(),
            trace.implausible_minifilter_events
        ));
    }
    let h = etl.header();
    let info_in = InputInfo {
        path: etl.name().to_string(),
        kind: "etl".into(),
        bytes: etl.bytes().len() as u64,
        sha256,
        computer: String::new(),
        os: format!(
            "Windows {}.{} (build {})",
            h.os_major, h.os_minor, h.os_build
        ),
        is_64bit: ps == 8,
        events: n as u64,
        first_utc: info.first_event_utc.clone(),
        last_utc: info.last_event_utc.clone(),
        warnings,
    };
    Ok(Tables {
        events,
        frames,
        modules,
        processes,
        inputs: vec![info_in],
        logs: Default::default(),
        callbacks,
        traces: vec![trace],
    })
}

/// Procmon's Category for the operations a trace gives.
fn category(operation: &str, class: &str) -> &'static str {
    let op = operation;
    let write = op.starts_with("Set")
        || op == "WriteFile"
        || op == "RegSetValue"
        || op == "RegCreateKey"
        || op == "RegDeleteKey"
        || op == "RegDeleteValue"
        || op == "RegSetInfoKey"
        || op == "RegSetKeySecurity";
    if class == "Registry" {
        if write {
            "Write"
        } else if op == "RegCloseKey" || op == "RegOpenKey" || op == "RegFlushKey" {
            ""
        } else {
            "Read"
        }
    } else if op == "WriteFile" || (op.starts_with("Set") && op.ends_with("File")) {
        "Write"
    } else if op == "ReadFile" || op == "QueryDirectory" {
        "Read"
    } else if op.starts_with("Query") {
        "Read Metadata"
    } else if op.starts_with("Set") {
        "Write Metadata"
    } else {
        ""
    }
}

fn modules_df(c: &Collected, source: &str) -> PolarsResult<DataFrame> {
    let mut seen = BTreeSet::new();
    let (mut pid, mut base, mut size, mut path, mut name, mut company) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for i in &c.images {
        // Kernel images are listed under the System process, as Procmon does.
        let p = if i.pid == 0 { 4 } else { i.pid };
        if !seen.insert((p, i.base, i.path.to_lowercase())) {
            continue;
        }
        pid.push(p);
        base.push(i.base);
        size.push(i.size);
        path.push(i.path.clone());
        name.push(i.name().to_string());
        // SE_SIGNING_LEVEL_WINDOWS (12) / WINDOWS_TCB (14): signed as a part of Windows.
        let windows = i.pid == 0 && matches!(i.signature_level.map(|l| l & 0x0F), Some(12 | 14));
        company.push(if windows {
            "Microsoft Corporation".to_string()
        } else {
            String::new()
        });
    }
    let n = pid.len();
    DataFrame::new(
        n,
        vec![
            str_col("source", vec![source.to_string(); n]),
            column("pid", pid),
            column("base", base),
            column("size", size),
            str_col("path", path),
            str_col("name", name),
            str_col("company", company),
            str_col("version", vec![String::new(); n]),
            str_col("description", vec![String::new(); n]),
        ],
    )
}

fn processes_df(c: &Collected, source: &str, ns: impl Fn(u64) -> i64) -> PolarsResult<DataFrame> {
    let ps = &c.procs;
    let n = ps.len();
    // Image path: the process's own image load whose file name is the process name.
    let image = |p: &ProcRec| -> String {
        c.images
            .iter()
            .filter(|i| i.pid == p.pid && i.name().eq_ignore_ascii_case(&p.name))
            .map(|i| i.path.clone())
            .next()
            .unwrap_or_default()
    };
    DataFrame::new(
        n,
        vec![
            str_col("source", vec![source.to_string(); n]),
            column("pid", ps.iter().map(|p| p.pid).collect::<Vec<_>>()),
            column("ppid", ps.iter().map(|p| p.ppid).collect::<Vec<_>>()),
            str_col("name", ps.iter().map(|p| p.name.clone()).collect()),
            str_col("image", ps.iter().map(image).collect()),
            str_col(
                "command_line",
                ps.iter().map(|p| p.command_line.clone()).collect(),
            ),
            str_col(
                "user",
                ps.iter()
                    .map(|p| p.sid.as_deref().map(account_of_sid).unwrap_or_default())
                    .collect(),
            ),
            str_col("integrity", vec![String::new(); n]),
            column("session", ps.iter().map(|p| p.session).collect::<Vec<_>>()),
            utc_ns("start_utc", ps.iter().map(|p| p.start.map(&ns)).collect())?,
            utc_ns("end_utc", ps.iter().map(|p| p.end.map(&ns)).collect())?,
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(major_function_name(0), "IRP_MJ_CREATE");
        assert_eq!(major_function_name(18), "IRP_MJ_CLEANUP");
        assert_eq!(major_function_name(-13), "IRP_MJ_FAST_IO_CHECK_IF_POSSIBLE");
        assert_eq!(major_function_name(-100), "IRP_MJ_-100");
        assert_eq!(
            registry_display("\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001"),
            "HKLM\\SYSTEM\\ControlSet001"
        );
        assert_eq!(
            registry_display("\\Registry\\User\\S-1-5-18"),
            "HKU\\S-1-5-18"
        );
        assert_eq!(
            registry_display("\\REGISTRY\\MACHINEX"),
            "\\REGISTRY\\MACHINEX"
        );
        assert_eq!(account_of_sid("S-1-5-18"), "NT AUTHORITY\\SYSTEM");
        assert_eq!(thousands(4096), "4,096");
        assert_eq!(thousands(0), "0");
        assert_eq!(
            create_detail(0x0500_0060, 0x80, 1),
            "Disposition: OverwriteIf, Options: Synchronous IO Non-Alert, Non-Directory File, Attributes: N, ShareMode: Read"
        );
        assert_eq!(fileio_operation(69, 13), "SetDispositionInformationFile");
        assert_eq!(fileio_operation(74, 4), "QueryBasicInformationFile");
        assert_eq!(registry_operation(14), Some("RegSetValue"));
        assert_eq!(registry_operation(22), None);
    }
}
