//! Samples `case-b-softwaredistribution/trace.etl` and `case-b-control/trace.etl`: case B of
//! `shared/docs/cases.md` as WPR kernel traces with minifilter tracing, written by the ETL writer
//! ([`crate::etl::writer`]).
//!
//! **`case-b-softwaredistribution/trace.etl`**: a Windows 10 1809 x64 branch PC (4 CPUs, UTC+8,
//! the TMS suite installed) recorded with "First level triage", "File I/O activity" and
//! "Minifilter I/O activity" (kernel groups PROC_THREAD, LOADER, FILENAME, FILE_IO,
//! FILE_IO_INIT, REGISTRY, FLT_IO_INIT, FLT_IO, FLT_IO_FAILURE; Xpress-compressed buffers, log
//! format 2.0). TiWorker.exe expands `Windows10.0-KB5016623-x64.cab` under
//! `C:\Windows\SoftwareDistribution\Download\126a776ddc6e3f4a95f92e499e810bce\inst\`. Every
//! ordinary request passes the pre-operation chain PROCMON24.SYS, gscfmgr.sys, TmPreFlt.sys,
//! fileinfo.sys (highest altitude first; cases.md's WPA listing, reproduced to the 100 ns for one
//! close of an extracted file at 696.1167978 s), reaches the file system, and comes back
//! through the post-operation callbacks in reverse order. The create of
//! `...\amd64_dual_wpdmtp.inf_...\r\wpdmtp.dll` (Disposition OverwriteIf) is different: gscfmgr.sys's
//! pre-create callback fails it with STATUS_ACCESS_DENIED (FltIoFailure PreOpFailure, its
//! routine inside gscfmgr.sys), TmPreFlt.sys and fileinfo.sys never see it, only PROCMON24.SYS's
//! post-create callback runs, and the IRP completes ACCESS DENIED (OperationEnd 0xC0000022).
//! TiWorker then gives up (the DPX exception of the CBS log at 12:05:29 local) and closes the cab.
//!
//! **`case-b-control/trace.etl`**: another PC of the same fleet (2 CPUs, same drivers, plain
//! buffers). A user at Medium integrity runs `expand.exe` in a command prompt to put the same
//! cab's files into `C:\Windows\SoftwareDistribution\Download\...` by hand. Extracting into the
//! user's own Downloads folder works; the create in SoftwareDistribution passes every filter
//! (PROCMON24.SYS, gscfmgr.sys, TmPreFlt.sys, fileinfo.sys: pre-operation callbacks all run and
//! none fails it), the file system refuses it (the folder's ACL grants users read only), every
//! post-operation callback sees ACCESS DENIED come back, and no failure event names a filter.
//!
//! Minifilter payloads use the layouts of `format-etl.md` §5.2 that the kernel MOF classes (as
//! bundled with dissect.etl) describe: FltIoInit 44 bytes, FltIoCompletion with InitialTime
//! first (52), FltIoFailure with Status (48) — inferred, unconfirmed by a real trace.
//! Everything is deterministic: fixed addresses and times, variation only from a fixed-seed
//! [`Rng`]. The READMEs beside the files state what `fltblame analyze` must conclude.

use super::Rng;
use crate::etl::writer::payload::{self, group, perf, Flt, FltLayout, Image, Process, Thread};
use crate::etl::writer::{self, EtlModel, EventModel, LogfileModel};

/// Session start of the main sample: 2022-08-16 03:53:53 UTC (11:53:53 at UTC+8), FILETIME.
pub const TRACE_START: u64 = 133_050_956_330_000_000;
/// Session start of the control sample: 2022-08-17 02:10:00 UTC, FILETIME.
pub const CONTROL_START: u64 = 133_051_758_000_000_000;
/// One microsecond in raw ticks (the samples' QPC runs at 10 MHz: one tick = 100 ns).
const US: u64 = 10;
/// One millisecond in raw ticks.
const MS: u64 = 10_000;
/// One second in raw ticks.
const SEC: u64 = 10_000_000;

/// The folder TiWorker expands the cab into (NT path, as the trace records it).
pub const EXPAND_DIR: &str = r"\Device\HarddiskVolume2\Windows\SoftwareDistribution\Download\126a776ddc6e3f4a95f92e499e810bce\inst\_Windows10.0-KB5016623-x64.cab_";
/// The component folder of the denied file.
const WPDMTP_DIR: &str =
    r"amd64_dual_wpdmtp.inf_31bf3856ad364e35_10.0.17763.1697_none_f3f3f27a8f89a4d0";
/// The cab being expanded.
pub const CAB: &str = r"\Device\HarddiskVolume2\Windows\SoftwareDistribution\Download\126a776ddc6e3f4a95f92e499e810bce\Windows10.0-KB5016623-x64.cab";
/// The driver whose callback denies the create.
pub const SUSPECT_DRIVER: &str = "gscfmgr.sys";
/// The pre-operation chain of ordinary I/O, in call order (highest altitude first).
pub const CHAIN: [&str; 4] = [
    "PROCMON24.SYS",
    "gscfmgr.sys",
    "TmPreFlt.sys",
    "fileinfo.sys",
];
/// TiWorker.exe's process id.
pub const TIWORKER_PID: u32 = 3100;
/// The TiWorker thread that expands the cab.
pub const TIWORKER_TID: u32 = 3104;
/// Raw time of the denied create (696.1172 s into the trace).
pub const DENIED_RAW: u64 = 696 * SEC + 1_172_000;
/// expand.exe's process id in the control sample.
pub const EXPAND_PID: u32 = 5120;
/// The user whose expand.exe is denied in the control sample.
pub const CONTROL_USER_SID: &str = "S-1-5-21-1004336348-1177238915-682003330-1104";

const ACCESS_DENIED: u32 = 0xC000_0022;
const P: usize = 8;

/// The denied file's NT path (the FileIo Create's OpenPath).
pub fn denied_path() -> String {
    format!(r"{EXPAND_DIR}\{WPDMTP_DIR}\r\wpdmtp.dll")
}

/// The control sample's denied file (the first file expand.exe writes into SoftwareDistribution).
pub fn control_denied_path() -> String {
    format!(r"{EXPAND_DIR}\{WPDMTP_DIR}\f\wpdmtp.dll")
}

/// `case-b-softwaredistribution/trace.etl`.
pub fn trace() -> Vec<u8> {
    writer::write(&model())
}

/// `case-b-control/trace.etl`.
pub fn control() -> Vec<u8> {
    writer::write(&control_model())
}

// ---------------------------------------------------------------------------------------------

/// A minifilter: image, and its callback routines (offsets in the image).
struct Filter {
    path: &'static str,
    base: u64,
    size: u64,
    signature_level: u8,
    pre_create: u64,
    post_create: u64,
    pre_io: u64,
    post_io: u64,
}

const fn filter(
    path: &'static str,
    base: u64,
    size: u64,
    signature_level: u8,
    routines: [u64; 4],
) -> Filter {
    Filter {
        path,
        base,
        size,
        signature_level,
        pre_create: base + routines[0],
        post_create: base + routines[1],
        pre_io: base + routines[2],
        post_io: base + routines[3],
    }
}

/// The four filters of the chain, in call order. Signature levels: PROCMON24.SYS Microsoft (8),
/// gscfmgr.sys Authenticode (4), TmPreFlt.sys anti-malware (7), fileinfo.sys Windows (12); the
/// 0x10 / 0x20 bits say catalog / embedded signature.
const FILTERS: [Filter; 4] = [
    filter(
        r"\SystemRoot\System32\drivers\PROCMON24.SYS",
        0xFFFF_F80B_1F6C_0000,
        0x1_7000,
        0x28,
        [0x2F10, 0x3280, 0x2F10, 0x3280],
    ),
    filter(
        r"\SystemRoot\System32\drivers\gscfmgr.sys",
        0xFFFF_F80B_1E80_0000,
        0x4_F000,
        0x24,
        [0x1_A5C0, 0x1_B1E0, 0x1_C0A0, 0x1_C4F0],
    ),
    filter(
        r"\SystemRoot\System32\drivers\TmPreFlt.sys",
        0xFFFF_F80B_1E86_0000,
        0x3_D000,
        0x27,
        [0x8D40, 0x9A10, 0xB220, 0xB7C0],
    ),
    filter(
        r"\SystemRoot\System32\drivers\fileinfo.sys",
        0xFFFF_F80B_1B50_0000,
        0x1_A000,
        0x1C,
        [0x2870, 0x4E30, 0x1C40, 0x5510],
    ),
];

/// Kernel images besides the filters: (path, base, size, signature level).
const KERNEL: [(&str, u64, u64, u8); 6] = [
    (
        r"\SystemRoot\system32\ntoskrnl.exe",
        0xFFFF_F803_7A20_0000,
        0xAB_6000,
        0x1E,
    ),
    (
        r"\SystemRoot\system32\hal.dll",
        0xFFFF_F803_79F0_0000,
        0x9_E000,
        0x1C,
    ),
    (
        r"\SystemRoot\System32\drivers\CLFS.SYS",
        0xFFFF_F80B_1B20_0000,
        0x6_C000,
        0x1C,
    ),
    (
        r"\SystemRoot\System32\drivers\FLTMGR.SYS",
        0xFFFF_F80B_1B40_0000,
        0x7_A000,
        0x1C,
    ),
    (
        r"\SystemRoot\System32\drivers\Wof.sys",
        0xFFFF_F80B_1B52_0000,
        0x2_C000,
        0x1C,
    ),
    (
        r"\SystemRoot\System32\Drivers\Ntfs.sys",
        0xFFFF_F80B_1C20_0000,
        0x2B_2000,
        0x1C,
    ),
];

const NTOSKRNL: u64 = 0xFFFF_F803_7A20_0000;
const FLTMGR: u64 = 0xFFFF_F80B_1B40_0000;

/// User images: (file name, base, size, folder under `\Device\HarddiskVolume2`).
const SERVICING_STACK: &str = r"\Windows\WinSxS\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.17763.3160_none_7e9c8ab9e4c2b9f5";
const SYS32: &str = r"\Windows\System32";
const NTDLL: u64 = 0x7FFD_6F8A_0000;
const KERNELBASE: u64 = 0x7FFD_6C2F_0000;
const KERNEL32: u64 = 0x7FFD_6E4A_0000;
const CABINET: u64 = 0x7FFD_5C5D_0000;
const DPX: u64 = 0x7FFD_5A26_0000;
const CBSCORE: u64 = 0x7FFD_4F3B_0000;

fn user_images(exe: (&str, u64, u64, &str)) -> Vec<(String, u64, u64)> {
    let mut v = vec![(
        format!(r"\Device\HarddiskVolume2{}\{}", exe.3, exe.0),
        exe.1,
        exe.2,
    )];
    for (name, base, size, dir) in [
        ("ntdll.dll", NTDLL, 0x1E_D000, SYS32),
        ("KERNELBASE.dll", KERNELBASE, 0x29_3000, SYS32),
        ("KERNEL32.DLL", KERNEL32, 0xA_E000, SYS32),
        ("cabinet.dll", CABINET, 0x2_A000, SYS32),
        ("dpx.dll", DPX, 0x5_B000, SYS32),
    ] {
        v.push((format!(r"\Device\HarddiskVolume2{dir}\{name}"), base, size));
    }
    v
}

/// Which filter's pre-operation callback fails a request, or the file system.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Deny {
    No,
    Filter(usize),
    FileSystem,
}

/// One I/O request and everything the trace logs for it.
struct Req {
    cpu: u16,
    pid: u32,
    tid: u32,
    /// FileIo type (64 Create, 65 Cleanup, 66 Close, 67 Read, 68 Write).
    opcode: u8,
    fo: u64,
    key: u64,
    path: Option<String>,
    options: u32,
    offset: u64,
    size: u32,
    deny: Deny,
    stack: Vec<u64>,
    /// Fixed (start, end) of each filter's pre-operation callback (cases.md's WPA listing).
    fixed: Option<[(u64, u64); 4]>,
}

impl Req {
    fn new(cpu: u16, pid: u32, tid: u32, opcode: u8, fo: u64, key: u64) -> Self {
        Req {
            cpu,
            pid,
            tid,
            opcode,
            fo,
            key,
            path: None,
            options: 0,
            offset: 0,
            size: 0,
            deny: Deny::No,
            stack: Vec::new(),
            fixed: None,
        }
    }

    fn major(&self) -> i8 {
        match self.opcode {
            64 => 0,
            65 => 18,
            66 => 2,
            67 => 3,
            68 => 4,
            _ => 5,
        }
    }
}

struct Gen {
    m: EtlModel,
    rng: Rng,
    irps: [u64; 4],
    next_irp: usize,
    cbds: [u64; 3],
    next_cbd: usize,
    next_fo: u64,
    next_key: u64,
}

impl Gen {
    fn new(header: LogfileModel, seed: u64) -> Self {
        Gen {
            m: EtlModel::new(header),
            rng: Rng::new(seed),
            // IRPs and callback data come from lookaside lists: addresses are reused.
            irps: [
                0xFFFF_A88F_6B2C_4A10,
                0xFFFF_A88F_6B2C_8C60,
                0xFFFF_A88F_6C01_2010,
                0xFFFF_A88F_6C0F_3B90,
            ],
            next_irp: 0,
            cbds: [
                0xFFFF_A88F_6A93_1B80,
                0xFFFF_A88F_6A93_2EC0,
                0xFFFF_A88F_6A95_0A00,
            ],
            next_cbd: 0,
            next_fo: 0xFFFF_A88F_6D40_0080,
            next_key: 0xFFFF_D28F_3A10_0170,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn sys(&mut self, cpu: u16, g: u8, op: u8, v: u8, pid: u32, tid: u32, ts: u64, p: Vec<u8>) {
        self.m
            .events
            .push(EventModel::system(cpu, g, op, v, pid, tid, ts, p));
    }

    fn perf(&mut self, cpu: u16, g: u8, op: u8, v: u8, ts: u64, p: Vec<u8>) {
        self.m
            .events
            .push(EventModel::perfinfo(cpu, g, op, v, ts, p));
    }

    fn file_object(&mut self) -> u64 {
        self.next_fo += 0x1C0 + 0x40 * self.rng.range(0, 6);
        self.next_fo
    }

    fn file_key(&mut self) -> u64 {
        self.next_key += 0x1A0 + 0x10 * self.rng.range(0, 30);
        self.next_key
    }

    /// Process DCStart (rundown at trace start) and one thread DCStart per thread.
    fn process(&mut self, p: Process, tids: &[u32], ts: u64) {
        let pid = p.pid;
        self.sys(
            0,
            group::PROCESS,
            3,
            4,
            pid,
            0,
            ts,
            payload::process_v4(&p, P),
        );
        for (i, &tid) in tids.iter().enumerate() {
            let th = Thread {
                pid,
                tid,
                stack_base: 0xFFFF_F303_4A00_0000 + u64::from(tid) * 0x8000,
                stack_limit: 0xFFFF_F303_4A00_0000 + u64::from(tid) * 0x8000 - 0x6000,
                user_stack_base: if pid == 4 {
                    0
                } else {
                    0x00E5_0000 + (i as u64) * 0x10_0000
                },
                user_stack_limit: if pid == 4 {
                    0
                } else {
                    0x00E4_8000 + (i as u64) * 0x10_0000
                },
                start_address: NTOSKRNL + 0x1_8A20,
                win32_start_address: if pid == 4 {
                    NTOSKRNL + 0x2_4F10
                } else {
                    NTDLL + 0x3_C5A0
                },
                teb_base: if pid == 4 {
                    0
                } else {
                    0x0093_C000 + (i as u64) * 0x2000
                },
                base_priority: 8,
                page_priority: 5,
                io_priority: 2,
                ..Default::default()
            };
            self.sys(
                0,
                group::THREAD,
                3,
                3,
                pid,
                tid,
                ts + 1 + i as u64,
                payload::thread_v3(&th, P),
            );
        }
    }

    /// Image DCStart (opcode 3) or DCEnd (4).
    #[allow(clippy::too_many_arguments)]
    fn image(&mut self, opcode: u8, pid: u32, path: &str, base: u64, size: u64, sig: u8, ts: u64) {
        let img = Image {
            base,
            size,
            pid,
            checksum: (base >> 12) as u32 ^ 0x5A5A,
            time_date_stamp: 0x5C3A_0000 + (size as u32 >> 8),
            signature_level: sig,
            signature_type: if sig == 0 { 0 } else { 1 },
            default_base: if pid == 0 { base } else { 0x1_8000_0000 },
            file_name: path.to_string(),
        };
        let cpu = if opcode == 3 { 1 } else { 0 };
        self.sys(
            cpu,
            group::IMAGE,
            opcode,
            3,
            pid,
            0,
            ts,
            payload::image_v3(&img, P),
        );
    }

    fn kernel_images(&mut self, opcode: u8, ts: u64) {
        for (i, (path, base, size, sig)) in KERNEL.iter().enumerate() {
            self.image(opcode, 0, path, *base, *size, *sig, ts + i as u64);
        }
        for (i, f) in FILTERS.iter().enumerate() {
            self.image(
                opcode,
                0,
                f.path,
                f.base,
                f.size,
                f.signature_level,
                ts + 10 + i as u64,
            );
        }
    }

    fn group_masks(&mut self, opcode: u8, ts: u64) {
        let masks = payload::masks(&[
            perf::PROCESS,
            perf::THREAD,
            perf::LOADER,
            perf::FILENAME,
            perf::FILE_IO,
            perf::FILE_IO_INIT,
            perf::REGISTRY,
            perf::FLT_IO_INIT,
            perf::FLT_IO,
            perf::FLT_IO_FAILURE,
        ]);
        self.perf(
            0,
            group::EVENT_TRACE,
            opcode,
            2,
            ts,
            payload::group_mask(&masks, 80),
        );
    }

    /// One callback: init at `start`, completion at `end`, failure right after when `fail`.
    #[allow(clippy::too_many_arguments)]
    fn callback(
        &mut self,
        r: &Req,
        irp: u64,
        cbd: u64,
        routine: u64,
        post: bool,
        start: u64,
        end: u64,
        fail: Option<u32>,
    ) {
        let f = Flt {
            routine,
            file_object: r.fo,
            file_context: r.key,
            irp,
            callback_data: cbd,
            major_function: r.major(),
            status: fail.unwrap_or(0),
            initial_time: start,
        };
        let (init, completion, failure) = if post { (97, 99, 101) } else { (96, 98, 100) };
        self.sys(
            r.cpu,
            group::FILE_IO,
            init,
            3,
            r.pid,
            r.tid,
            start,
            payload::minifilter(&f, FltLayout::Operation, P),
        );
        self.sys(
            r.cpu,
            group::FILE_IO,
            completion,
            3,
            r.pid,
            r.tid,
            end,
            payload::minifilter(&f, FltLayout::TimeFirst, P),
        );
        if fail.is_some() {
            self.sys(
                r.cpu,
                group::FILE_IO,
                failure,
                3,
                r.pid,
                r.tid,
                end + 1,
                payload::minifilter(&f, FltLayout::OperationStatus, P),
            );
        }
    }

    /// Log request `r` starting at `t`: the FileIo start event (and its stack), the
    /// pre-operation callbacks in chain order, the file system, the post-operation callbacks in
    /// reverse order, the OperationEnd. Returns the completion time.
    fn request(&mut self, r: &Req, t: u64) -> u64 {
        let irp = self.irps[self.next_irp % self.irps.len()];
        self.next_irp += 1;
        let cbd = self.cbds[self.next_cbd % self.cbds.len()];
        self.next_cbd += 1;
        let g = group::FILE_IO;
        let start_payload = match r.opcode {
            64 => payload::file_create_v3(
                irp,
                r.fo,
                r.tid,
                r.options,
                0x80,
                0,
                r.path.as_deref().unwrap_or(""),
                P,
            ),
            67 | 68 => payload::file_read_write_v3(
                r.offset,
                irp,
                r.fo,
                r.key,
                r.tid,
                r.size,
                0x0006_0A00,
                P,
            ),
            _ => payload::file_simple_op_v3(irp, r.fo, r.key, r.tid, P),
        };
        self.sys(r.cpu, g, r.opcode, 3, r.pid, r.tid, t, start_payload);
        if !r.stack.is_empty() {
            self.perf(
                r.cpu,
                group::STACK_WALK,
                32,
                2,
                t,
                payload::stack(t, r.pid, r.tid, &r.stack, P),
            );
        }
        let create = r.opcode == 64;
        let mut now = t + 3 * US + self.rng.range(0, 20);
        let reached = match r.deny {
            Deny::Filter(k) => k + 1,
            _ => FILTERS.len(),
        };
        for i in 0..reached {
            let routine = if create {
                FILTERS[i].pre_create
            } else {
                FILTERS[i].pre_io
            };
            let (s, e) = match r.fixed {
                Some(f) => f[i],
                None => {
                    let d = 12 + self.rng.range(0, 18);
                    (now, now + d)
                }
            };
            let fail = (r.deny == Deny::Filter(i)).then_some(ACCESS_DENIED);
            self.callback(r, irp, cbd, routine, false, s, e, fail);
            now = e + 2 + self.rng.range(0, 2);
        }
        let status = match r.deny {
            Deny::No => 0,
            _ => ACCESS_DENIED,
        };
        if !matches!(r.deny, Deny::Filter(_)) {
            // The file system's own work.
            now += match r.opcode {
                64 => 35 * US + self.rng.range(0, 400),
                67 | 68 => 12 * US + u64::from(r.size) / 200 + self.rng.range(0, 100),
                _ => 4 * US + self.rng.range(0, 30),
            };
        }
        // Post-operation callbacks, lowest first, for the filters the request reached (a
        // failing pre-operation callback gets no post-operation call of its own).
        let posted = match r.deny {
            Deny::Filter(k) => k,
            _ => FILTERS.len(),
        };
        for i in (0..posted).rev() {
            let routine = if create {
                FILTERS[i].post_create
            } else {
                FILTERS[i].post_io
            };
            let d = 8 + self.rng.range(0, 14);
            self.callback(r, irp, cbd, routine, true, now, now + d, None);
            now += d + 2 + self.rng.range(0, 2);
        }
        let end = now + 1 + self.rng.range(0, 3);
        self.sys(
            r.cpu,
            g,
            76,
            3,
            r.pid,
            r.tid,
            end,
            payload::file_op_end(irp, u64::from(r.size), status, P),
        );
        end
    }

    /// A registry operation (the event is logged at completion; InitialTime is its start).
    #[allow(clippy::too_many_arguments)]
    fn registry(
        &mut self,
        cpu: u16,
        pid: u32,
        tid: u32,
        opcode: u8,
        kcb: u64,
        name: &str,
        status: u32,
        t: u64,
    ) -> u64 {
        let end = t + 6 * US + self.rng.range(0, 60);
        self.sys(
            cpu,
            group::REGISTRY,
            opcode,
            2,
            pid,
            tid,
            end,
            payload::registry_v2(t, status, 0, kcb, name, P),
        );
        end
    }

    fn finish(mut self, end: u64, names: &[(u64, String)]) -> EtlModel {
        for (i, (key, name)) in names.iter().enumerate() {
            self.sys(
                0,
                group::FILE_IO,
                36,
                2,
                4,
                8,
                end + i as u64,
                payload::file_name(*key, name, P),
            );
        }
        self.kernel_images(4, end + 500);
        self.group_masks(32, end + 900);
        self.m
    }
}

fn proc(pid: u32, ppid: u32, image: &str, cmd: &str, sid: &str, session: u32) -> Process {
    Process {
        key: 0xFFFF_A88F_6000_0080 + u64::from(pid) * 0x1_0000,
        pid,
        ppid,
        session,
        exit_status: 259,
        dtb: 0x1_2A00_0000 + u64::from(pid) * 0x2000,
        flags: 0,
        sid: payload::sid_from_str(sid).unwrap_or_default(),
        image: image.into(),
        command_line: cmd.into(),
        package: String::new(),
        application_id: String::new(),
    }
}

const SYSTEM: &str = "S-1-5-18";
const LOCAL_SERVICE: &str = "S-1-5-19";

/// Kernel frames of a create that goes through the filter manager, then user frames.
fn create_stack(user: &[u64]) -> Vec<u64> {
    let mut v = vec![
        FLTMGR + 0x4_B1D6,    // FltpCreate
        NTOSKRNL + 0x3_1A9C9, // IofCallDriver
        NTOSKRNL + 0x5_E4C37, // IopParseDevice
        NTOSKRNL + 0x6_11E30, // ObpLookupObjectName
        NTOSKRNL + 0x6_0F1F5, // ObOpenObjectByNameEx
        NTOSKRNL + 0x6_0D329, // IopCreateFile
        NTOSKRNL + 0x1_C7B05, // KiSystemServiceCopyEnd
    ];
    v.extend_from_slice(user);
    v
}

fn tiworker_model() -> (Gen, u64, Vec<(u64, String)>) {
    let mut h = LogfileModel::windows10(17763, 4, TRACE_START);
    h.time_zone.bias_minutes = -480;
    h.time_zone.standard_name = "@tzres.dll,-632".into();
    h.time_zone.daylight_name = "@tzres.dll,-631".into();
    h.cpu_speed_mhz = 3_192;
    h.log_file_name =
        r"C:\Users\itadmin\Documents\WPR Files\BRANCH-PC042.08-16-2022.12-05-40.etl".into();
    let mut g = Gen::new(h, 0xB0B5_2022);
    g.m.compress = true;
    g.group_masks(5, 2);
    let procs = [
        (proc(4, 0, "System", "", SYSTEM, 0), vec![8, 72, 96]),
        (
            proc(
                340,
                4,
                "smss.exe",
                r"\SystemRoot\System32\smss.exe",
                SYSTEM,
                0,
            ),
            vec![344],
        ),
        (
            proc(
                612,
                520,
                "services.exe",
                r"C:\Windows\system32\services.exe",
                SYSTEM,
                0,
            ),
            vec![616],
        ),
        (
            proc(
                1112,
                612,
                "svchost.exe",
                r"C:\Windows\system32\svchost.exe -k netsvcs -p",
                SYSTEM,
                0,
            ),
            vec![1116, 2440],
        ),
        (
            proc(
                1488,
                612,
                "svchost.exe",
                r"C:\Windows\system32\svchost.exe -k LocalServiceNetworkRestricted -p",
                LOCAL_SERVICE,
                0,
            ),
            vec![1492],
        ),
        (
            proc(
                2896,
                612,
                "TrustedInstaller.exe",
                r"C:\Windows\servicing\TrustedInstaller.exe",
                SYSTEM,
                0,
            ),
            vec![2900],
        ),
        (
            proc(
                TIWORKER_PID,
                760,
                "TiWorker.exe",
                &format!(
                    r"C:\Windows\winsxs\{}\TiWorker.exe -Embedding",
                    &SERVICING_STACK[16..]
                ),
                SYSTEM,
                0,
            ),
            vec![TIWORKER_TID, 3108],
        ),
        (
            proc(
                1740,
                612,
                "tmsagent.exe",
                r#""C:\Program Files\TMS\Agent\tmsagent.exe" -service"#,
                SYSTEM,
                0,
            ),
            vec![1744],
        ),
    ];
    for (i, (p, tids)) in procs.into_iter().enumerate() {
        g.process(p, &tids, 10 + 20 * i as u64);
    }
    g.kernel_images(3, 300);
    let ti = user_images(("TiWorker.exe", 0x7FF7_3A4E_0000, 0x2_D000, SERVICING_STACK));
    for (i, (path, base, size)) in ti.iter().enumerate() {
        g.image(3, TIWORKER_PID, path, *base, *size, 0x0C, 400 + i as u64);
    }
    g.image(
        3,
        TIWORKER_PID,
        &format!(r"\Device\HarddiskVolume2{SERVICING_STACK}\CbsCore.dll"),
        CBSCORE,
        0x3E_0000,
        0x0C,
        420,
    );
    g.image(
        3,
        2896,
        r"\Device\HarddiskVolume2\Windows\servicing\TrustedInstaller.exe",
        0x7FF6_E2B1_0000,
        0x2_1000,
        0x0C,
        430,
    );
    g.image(
        3,
        1740,
        r"\Device\HarddiskVolume2\Program Files\TMS\Agent\tmsagent.exe",
        0x7FF6_4410_0000,
        0x8_6000,
        0x04,
        440,
    );
    // Registry key control blocks known at trace start.
    const CBS_KEY: &str =
        r"\REGISTRY\MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing";
    const KCB_CBS: u64 = 0xFFFF_C48A_1F3B_2A90;
    g.sys(
        0,
        group::REGISTRY,
        24,
        2,
        4,
        8,
        500,
        payload::registry_v2(0, 0, 0, KCB_CBS, CBS_KEY, P),
    );

    let user = [
        NTDLL + 0x9_F6F4,      // NtCreateFile
        KERNELBASE + 0x5_2D69, // CreateFileInternal
        KERNELBASE + 0x5_29B6, // CreateFileW
        CABINET + 0x6_1A3,     // FDICopy callbacks
        DPX + 0x2_3F1C,        // the DPX cab extractor
        DPX + 0x1_8B40,
        CBSCORE + 0x10_4A2E,
        CBSCORE + 0x10_2F17,
        0x7FF7_3A4E_0000 + 0x5_A21, // TiWorker.exe
    ];
    let (pid, tid) = (TIWORKER_PID, TIWORKER_TID);
    let mut names: Vec<(u64, String)> = Vec::new();

    // 695.90 s: TiWorker reads the package's state in the registry.
    let mut t = 695 * SEC + 900 * MS;
    let pkg = r"Packages\Package_for_RollupFix~31bf3856ad364e35~amd64~~17763.3287.1.8";
    t = g.registry(2, pid, tid, 11, KCB_CBS, pkg, 0, t) + 20 * US;
    g.sys(
        2,
        group::REGISTRY,
        22,
        2,
        pid,
        tid,
        t,
        payload::registry_v2(
            0,
            0,
            0,
            0xFFFF_C48A_2044_7C10,
            &format!(r"{CBS_KEY}\{pkg}"),
            P,
        ),
    );
    t = g.registry(
        2,
        pid,
        tid,
        16,
        0xFFFF_C48A_2044_7C10,
        "CurrentState",
        0,
        t + 5 * US,
    ) + 20 * US;
    t = g.registry(
        2,
        pid,
        tid,
        16,
        0xFFFF_C48A_2044_7C10,
        "InstallClient",
        0xC000_0034,
        t,
    ) + 20 * US;
    t = g.registry(2, pid, tid, 27, 0xFFFF_C48A_2044_7C10, "", 0, t) + 40 * US;

    // The cab: opened, read in 64 KB pieces while files come out.
    let cab_fo = g.file_object();
    let cab_key = g.file_key();
    names.push((cab_key, CAB.to_string()));
    let mut open = Req::new(2, pid, tid, 64, cab_fo, cab_key);
    open.path = Some(CAB.to_string());
    open.options = (1 << 24) | 0x60; // Open, synchronous, non-directory
    open.stack = create_stack(&user);
    t = g.request(&open, t) + 30 * US;

    let files = [
        r"amd64_dual_wpdfs.inf_31bf3856ad364e35_10.0.17763.1697_none_4b3a4bf24b18b2f5\f\wpdfs.sys",
        r"amd64_dual_wpdfs.inf_31bf3856ad364e35_10.0.17763.1697_none_4b3a4bf24b18b2f5\r\wpdfs.sys",
        r"amd64_dual_wpdmtp.inf_31bf3856ad364e35_10.0.17763.1697_none_f3f3f27a8f89a4d0\f\wpdmtp.dll",
        r"amd64_dual_wpdmtp.inf_31bf3856ad364e35_10.0.17763.1697_none_f3f3f27a8f89a4d0\f\wpdmtpdr.dll",
        r"amd64_dual_wpdmtp.inf_31bf3856ad364e35_10.0.17763.1697_none_f3f3f27a8f89a4d0\r\wpdmtpdr.dll",
    ];
    let mut cab_offset = 0u64;
    for (i, rel) in files.iter().enumerate() {
        let cpu = if i % 3 == 2 { 1 } else { 2 };
        let path = format!(r"{EXPAND_DIR}\{rel}");
        let mut read = Req::new(cpu, pid, tid, 67, cab_fo, cab_key);
        read.offset = cab_offset;
        read.size = 0x1_0000;
        cab_offset += 0x1_0000;
        t = g.request(&read, t) + 15 * US;
        let fo = g.file_object();
        let key = g.file_key();
        let mut create = Req::new(cpu, pid, tid, 64, fo, key);
        create.path = Some(path.clone());
        create.options = (5 << 24) | 0x60; // OverwriteIf
        create.stack = create_stack(&user);
        t = g.request(&create, t);
        g.sys(
            cpu,
            group::FILE_IO,
            32,
            2,
            pid,
            tid,
            t + 1,
            payload::file_name(key, &path, P),
        );
        names.push((key, path));
        t += 20 * US;
        let size = 0x3000 + 0x800 * g.rng.range(0, 40) as u32;
        let mut write = Req::new(cpu, pid, tid, 68, fo, key);
        write.size = size;
        t = g.request(&write, t) + 10 * US;
        t = g.request(&Req::new(cpu, pid, tid, 65, fo, key), t) + 5 * US;
        if i == 3 {
            // The close path cases.md's WPA view shows, to the 100 ns (696.1167978 s on).
            let at = 696 * SEC + 1_167_978;
            debug_assert!(t < at);
            let mut close = Req::new(cpu, pid, tid, 66, fo, key);
            close.fixed = Some([
                (at, at + 15),
                (696 * SEC + 1_167_995, 696 * SEC + 1_168_011),
                (696 * SEC + 1_168_013, 696 * SEC + 1_168_026),
                (696 * SEC + 1_168_028, 696 * SEC + 1_168_056),
            ]);
            t = g.request(&close, at - 3 * US) + 30 * US;
            // The denied create follows.
            let fo = g.file_object();
            let key = g.file_key();
            let mut denied = Req::new(2, pid, tid, 64, fo, key);
            denied.path = Some(denied_path());
            denied.options = (5 << 24) | 0x60;
            denied.deny = Deny::Filter(1);
            denied.stack = create_stack(&user);
            debug_assert!(t < DENIED_RAW);
            g.request(&denied, DENIED_RAW);
            // TiWorker's DPX job fails: the cab is closed.
            t = DENIED_RAW + 400 * US;
            t = g.request(&Req::new(2, pid, tid, 65, cab_fo, cab_key), t) + 5 * US;
            t = g.request(&Req::new(2, pid, tid, 66, cab_fo, cab_key), t);
            break;
        }
        t = g.request(&Req::new(cpu, pid, tid, 66, fo, key), t) + 25 * US;
    }
    // Meanwhile the update agent (svchost netsvcs) appends to its data store log.
    let edb = r"\Device\HarddiskVolume2\Windows\SoftwareDistribution\DataStore\Logs\edb.log";
    let (fo, key) = (g.file_object(), g.file_key());
    names.push((key, edb.to_string()));
    let mut w = 695 * SEC + 950 * MS;
    for k in 0..4u64 {
        let mut write = Req::new(3, 1112, 2440, 68, fo, key);
        write.offset = 0x2_4000 + k * 0x1000;
        write.size = 0x1000;
        w = g.request(&write, w) + 31 * MS;
    }
    (g, t.max(w), names)
}

/// The main sample's model.
pub fn model() -> EtlModel {
    let (g, end, names) = tiworker_model();
    g.finish(end + 2 * SEC, &names)
}

/// The control sample's model.
pub fn control_model() -> EtlModel {
    let mut h = LogfileModel::windows10(17763, 2, CONTROL_START);
    h.time_zone.bias_minutes = -480;
    h.time_zone.standard_name = "@tzres.dll,-632".into();
    h.time_zone.daylight_name = "@tzres.dll,-631".into();
    h.log_file_name =
        r"C:\Users\li.na\Documents\WPR Files\BRANCH-PC017.08-17-2022.10-10-31.etl".into();
    let mut g = Gen::new(h, 0xC0_2022);
    g.m.buffer_size = 32_768;
    g.group_masks(5, 2);
    let user = CONTROL_USER_SID;
    let procs = [
        (proc(4, 0, "System", "", SYSTEM, 0), vec![8, 72]),
        (
            proc(
                612,
                520,
                "services.exe",
                r"C:\Windows\system32\services.exe",
                SYSTEM,
                0,
            ),
            vec![616],
        ),
        (
            proc(
                1740,
                612,
                "tmsagent.exe",
                r#""C:\Program Files\TMS\Agent\tmsagent.exe" -service"#,
                SYSTEM,
                0,
            ),
            vec![1744],
        ),
        (
            proc(
                4800,
                4760,
                "explorer.exe",
                r"C:\Windows\Explorer.EXE",
                user,
                1,
            ),
            vec![4804],
        ),
        (
            proc(
                4920,
                4800,
                "cmd.exe",
                r#""C:\Windows\system32\cmd.exe" "#,
                user,
                1,
            ),
            vec![4924],
        ),
        (
            proc(
                EXPAND_PID,
                4920,
                "expand.exe",
                r"expand  -F:* C:\Users\li.na\Downloads\Windows10.0-KB5016623-x64.cab C:\Windows\SoftwareDistribution\Download\126a776ddc6e3f4a95f92e499e810bce\inst\_Windows10.0-KB5016623-x64.cab_",
                user,
                1,
            ),
            vec![5124],
        ),
    ];
    for (i, (p, tids)) in procs.into_iter().enumerate() {
        g.process(p, &tids, 10 + 20 * i as u64);
    }
    g.kernel_images(3, 300);
    for (i, (path, base, size)) in user_images(("expand.exe", 0x7FF6_1D2A_0000, 0x9000, SYS32))
        .iter()
        .enumerate()
    {
        g.image(3, EXPAND_PID, path, *base, *size, 0x0C, 400 + i as u64);
    }
    let stack_user = [
        NTDLL + 0x9_F6F4,
        KERNELBASE + 0x5_2D69,
        KERNELBASE + 0x5_29B6,
        CABINET + 0x6_1A3,
        DPX + 0x2_3F1C,
        0x7FF6_1D2A_0000 + 0x2_B4C, // expand.exe
    ];
    let (pid, tid) = (EXPAND_PID, 5124);
    let mut names = Vec::new();
    let cab = r"\Device\HarddiskVolume2\Users\li.na\Downloads\Windows10.0-KB5016623-x64.cab";
    let (cab_fo, cab_key) = (g.file_object(), g.file_key());
    names.push((cab_key, cab.to_string()));
    let mut t = 41 * SEC + 310 * MS;
    let mut open = Req::new(1, pid, tid, 64, cab_fo, cab_key);
    open.path = Some(cab.to_string());
    open.options = (1 << 24) | 0x60;
    open.stack = create_stack(&stack_user);
    t = g.request(&open, t) + 40 * US;
    // A first run into the user's own folder works.
    let own = r"\Device\HarddiskVolume2\Users\li.na\Downloads\kb5016623";
    for (i, rel) in [
        r"amd64_dual_wpdmtp.inf_31bf3856ad364e35_10.0.17763.1697_none_f3f3f27a8f89a4d0\f\wpdmtp.dll",
        r"amd64_dual_wpdmtp.inf_31bf3856ad364e35_10.0.17763.1697_none_f3f3f27a8f89a4d0\f\wpdmtpdr.dll",
    ]
    .iter()
    .enumerate()
    {
        let path = format!(r"{own}\{rel}");
        let mut read = Req::new(1, pid, tid, 67, cab_fo, cab_key);
        read.offset = i as u64 * 0x1_0000;
        read.size = 0x1_0000;
        t = g.request(&read, t) + 12 * US;
        let (fo, key) = (g.file_object(), g.file_key());
        let mut create = Req::new(1, pid, tid, 64, fo, key);
        create.path = Some(path.clone());
        create.options = (5 << 24) | 0x60;
        create.stack = create_stack(&stack_user);
        t = g.request(&create, t);
        g.sys(1, group::FILE_IO, 32, 2, pid, tid, t + 1, payload::file_name(key, &path, P));
        names.push((key, path));
        let mut write = Req::new(1, pid, tid, 68, fo, key);
        write.size = 0x6800 + 0x400 * i as u32;
        t = g.request(&write, t + 15 * US) + 10 * US;
        t = g.request(&Req::new(1, pid, tid, 65, fo, key), t) + 5 * US;
        t = g.request(&Req::new(1, pid, tid, 66, fo, key), t) + 30 * US;
    }
    // Then into SoftwareDistribution: the file system refuses the user.
    t = 58 * SEC + 702 * MS;
    let mut read = Req::new(0, pid, tid, 67, cab_fo, cab_key);
    read.size = 0x1_0000;
    t = g.request(&read, t) + 12 * US;
    let (fo, key) = (g.file_object(), g.file_key());
    let mut denied = Req::new(0, pid, tid, 64, fo, key);
    denied.path = Some(control_denied_path());
    denied.options = (5 << 24) | 0x60;
    denied.deny = Deny::FileSystem;
    denied.stack = create_stack(&stack_user);
    t = g.request(&denied, t) + 300 * US;
    t = g.request(&Req::new(0, pid, tid, 65, cab_fo, cab_key), t) + 5 * US;
    t = g.request(&Req::new(0, pid, tid, 66, cab_fo, cab_key), t);
    g.finish(t + SEC, &names)
}
