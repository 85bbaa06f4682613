//! Sample `case-a-amdk8/capture.pml`: case A of `shared/docs/cases.md` as a Procmon boot log.
//!
//! A Windows 7 SP1 x86 machine (`CONTOSO-PC`, one AMD K8 CPU) reboots to finish KB4474419.
//! During the driver operations queue ("Doqe"), TrustedInstaller.exe reflects cpu.inf for the
//! AMD K8 processor; its `RegSetValue HKLM\System\CurrentControlSet\Services\AmdK8\Start`
//! (REG_DWORD 3) ends ACCESS DENIED after 4.19 ms. Inside that window, on the same thread,
//! krnlmgr.sys (company "TMS", no allocated altitude, a registry-callback driver) reads its own
//! configuration key and a policy file: those nested events' kernel stacks hold krnlmgr.sys return
//! addresses between the nested operation's own ntkrnlpa frames and the outer RegSetValue's
//! CmpCallCallBacks / NtSetValueKey frames. Around it: ordinary boot traffic (services.exe reading
//! service keys, lsass, the netsvcs svchost loading DLLs, System paging I/O, the NVIDIA display
//! driver and the AMD storage filter as third-party drivers that deny nothing), and a benign
//! ACL denial: `invagent.exe`, a Medium-integrity task of `CONTOSO-PC\alice`, cannot create
//! `HKLM\SOFTWARE\Policies\Contoso\Inventory` and falls back to HKCU.
//!
//! Times are FILETIME (100 ns since 1601, UTC): the capture starts 2024-09-10 02:44:30 UTC
//! (10:44:30 at the machine's UTC+8, matching the CBS.log lines quoted in cases.md); the denial
//! is at 02:44:43.95, the CBS "phase: 2, result 5" line at 10:44:44 local. Everything is
//! deterministic: fixed addresses and times, variation only from a fixed-seed [`Rng`].
//! `samples/case-a-amdk8/README.md` states what `fltblame analyze` must conclude.

use super::Rng;
use crate::pml::writer::build::{self, class, op, CreateFile, ProcessCreate};
use crate::pml::writer::{self, EventModel, ModuleModel, PmlModel, ProcessModel};

/// First event time: 2024-09-10 02:44:30.000 UTC, FILETIME (100 ns since 1601).
pub const CAPTURE_START: u64 = 133_704_098_700_000_000;
/// One millisecond in 100 ns units.
const MS: u64 = 10_000;
/// One microsecond in 100 ns units.
const US: u64 = 10;

/// Path of the denied write (Procmon's Path column).
pub const DENIED_PATH: &str = r"HKLM\System\CurrentControlSet\Services\AmdK8\Start";
/// Time of the denied RegSetValue, FILETIME (02:44:43.951 UTC).
pub const DENIED_TIME: u64 = CAPTURE_START + 13_951 * MS + 2_418;
/// Duration of the denied RegSetValue, 100 ns units (4.19 ms).
pub const DENIED_DURATION: u64 = 41_873;
/// TrustedInstaller.exe's process id.
pub const TRUSTED_INSTALLER_PID: u32 = 1432;
/// The TrustedInstaller thread that runs the driver operations queue and is denied.
pub const DOQE_TID: u32 = 1508;
/// The driver whose frames appear in the I/O nested inside the denied request.
pub const SUSPECT_DRIVER: &str = "krnlmgr.sys";
/// Path of the benign denial (Medium IL user process, ordinary ACL).
pub const BENIGN_DENIED_PATH: &str = r"HKLM\SOFTWARE\Policies\Contoso\Inventory";
/// Process id of the Medium-IL process that meets the benign denial.
pub const BENIGN_PID: u32 = 1720;

const ACCESS_DENIED: u32 = 0xC000_0022;
const NAME_NOT_FOUND: u32 = 0xC000_0034;

/// What one event of the sample is meant to show (Procmon's column texts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedEvent {
    /// Process Name column.
    pub process_name: &'static str,
    /// PID column.
    pub pid: u32,
    /// TID column.
    pub tid: u32,
    /// Operation column, e.g. `RegSetValue`, `QueryBasicInformationFile`, `Load Image`.
    pub operation: &'static str,
    /// Path column (empty for Thread Create and Process Start).
    pub path: String,
    /// Result as an NTSTATUS.
    pub result: u32,
    /// True for the events on the denied RegSetValue's thread that start inside its time window
    /// (those krnlmgr.sys issued while processing it).
    pub nested_in_denial: bool,
}

/// The sample's model.
pub fn model() -> PmlModel {
    generate().0
}

/// The sample's bytes, as committed in `samples/case-a-amdk8/capture.pml`.
pub fn capture() -> Vec<u8> {
    writer::write(&model())
}

/// One entry per event of the sample, in file order.
pub fn expected_events() -> Vec<ExpectedEvent> {
    generate().1
}

// ---------------------------------------------------------------------------------------------
// Images

/// The images of the sample machine, one row each: `space` (`kernel` = a module of the System
/// process, `user` = a user-mode image a process may list), `base` and `size` (hex), `path`,
/// `version`, `company`, `description` (version resource texts) and the PE `timestamp` (seconds
/// since 1970). Bases are per boot: the same user DLL sits at the same base in every process.
const IMAGES_CSV: &str = include_str!("case_a_images.csv");

/// One row of [`IMAGES_CSV`].
#[derive(Clone, Debug)]
struct Img {
    kernel: bool,
    base: u64,
    size: u32,
    path: String,
    version: String,
    company: String,
    description: String,
    timestamp: u32,
}

/// The rows of [`IMAGES_CSV`] (a malformed row is skipped; the tests check every module the
/// sample needs is there).
fn images() -> Vec<Img> {
    let mut rdr = csv::ReaderBuilder::new().from_reader(IMAGES_CSV.as_bytes());
    rdr.records()
        .filter_map(Result::ok)
        .filter_map(|r| {
            let hex = |i: usize| {
                r.get(i)
                    .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
            };
            Some(Img {
                kernel: r.get(0)? == "kernel",
                base: hex(1)?,
                size: u32::try_from(hex(2)?).ok()?,
                path: r.get(3)?.to_string(),
                version: r.get(4)?.to_string(),
                company: r.get(5)?.to_string(),
                description: r.get(6)?.to_string(),
                timestamp: r.get(7)?.parse().ok()?,
            })
        })
        .collect()
}

// Return addresses used in stacks: (module file name, offset). Invented call sites, stable per
// function, inside each module's range.
mod nt {
    pub const KI_FAST_CALL_ENTRY: u32 = 0x3F1FA;
    pub const KI_SERVICE_POSTCALL: u32 = 0x3E8D6;
    pub const KI_THREAD_STARTUP: u32 = 0x91A29;
    pub const PSP_SYSTEM_THREAD_STARTUP: u32 = 0x1E7B3E;
    pub const EX_WORKER: u32 = 0x8C2D9;
    pub const IOP_LOAD_DRIVER: u32 = 0x2D5F6E;
    pub const IOP_LOAD_UNLOAD_DRIVER: u32 = 0x2D62A1;
    pub const CMP_CALLBACKS: u32 = 0x2A4B5E;
    pub const CMP_PARSE_KEY: u32 = 0x2713A0;
    pub const OBP_LOOKUP: u32 = 0x26F5E2;
    pub const OB_OPEN_BY_NAME: u32 = 0x2701C8;
    pub const CM_OPEN_KEY: u32 = 0x2596D4;
    pub const NT_OPEN_KEY: u32 = 0x2598B2;
    pub const CM_CREATE_KEY: u32 = 0x259C18;
    pub const NT_CREATE_KEY: u32 = 0x259F4E;
    pub const NT_QUERY_VALUE_KEY: u32 = 0x28E3A1;
    pub const NT_SET_VALUE_KEY: u32 = 0x2A8C37;
    pub const CMP_CLOSE_KEY: u32 = 0x2A6E12;
    pub const OBP_DECREMENT: u32 = 0x2850B1;
    pub const OBP_CLOSE_HANDLE: u32 = 0x285F4D;
    pub const NT_CLOSE: u32 = 0x2860A2;
    pub const IOF_CALL_DRIVER: u32 = 0x4F4BC;
    pub const IOP_PARSE_DEVICE: u32 = 0x26C6E9;
    pub const IOP_CREATE_FILE: u32 = 0x27E4F3;
    pub const NT_CREATE_FILE: u32 = 0x27E8A9;
    pub const NT_READ_FILE: u32 = 0x281D02;
    pub const NT_WRITE_FILE: u32 = 0x287B4E;
    pub const NT_QUERY_INFO_FILE: u32 = 0x279A17;
    pub const IOP_CLOSE_FILE: u32 = 0x2851A6;
    pub const ZW_OPEN_KEY: u32 = 0x3D6E5;
    pub const ZW_QUERY_VALUE_KEY: u32 = 0x3DA49;
    pub const ZW_CLOSE: u32 = 0x3D1F9;
    pub const ZW_CREATE_FILE: u32 = 0x3D3D1;
    pub const ZW_READ_FILE: u32 = 0x3DAD9;
    pub const IO_PAGE_READ: u32 = 0x8D8A3;
    pub const MI_DISPATCH_FAULT: u32 = 0x9A4F0;
    pub const MM_ACCESS_FAULT: u32 = 0x9C3A2;
    pub const CC_READ_AHEAD: u32 = 0xB1E23;
    pub const IO_ASYNC_PAGE_WRITE: u32 = 0x10E8D2;
    pub const MI_MAPPED_PAGE_WRITER: u32 = 0x10F1A6;
    pub const PSP_IMAGE_NOTIFY: u32 = 0x26BD9A;
    pub const MI_MAP_VIEW_IMAGE: u32 = 0x26B5F1;
    pub const MM_MAP_VIEW: u32 = 0x26F8E1;
    pub const NT_MAP_VIEW: u32 = 0x28A71B;
    pub const MM_INIT_PROCESS_AS: u32 = 0x2B0C5E;
    pub const PSP_ALLOCATE_PROCESS: u32 = 0x2B2F19;
    pub const NT_CREATE_USER_PROCESS: u32 = 0x2B9E0D;
    pub const PSP_PROCESS_NOTIFY: u32 = 0x2B3C71;
    pub const PSP_INSERT_THREAD: u32 = 0x2B1E2A;
    pub const PSP_THREAD_NOTIFY: u32 = 0x2AB1C4;
    pub const PSP_CREATE_THREAD: u32 = 0x2AB3E4;
    pub const NT_CREATE_THREAD_EX: u32 = 0x2A9D55;
    pub const PSP_USER_THREAD_STARTUP: u32 = 0x1F2CB3;
}

mod flt {
    pub const PERFORM_PRE: u32 = 0x1C6B;
    pub const PASS_THROUGH_INTERNAL: u32 = 0x3F20;
    pub const PASS_THROUGH: u32 = 0x19F6E;
    pub const CREATE: u32 = 0x1A657;
    pub const DISPATCH: u32 = 0x23D1;
}

mod ntdll {
    pub const ZW_OPEN_KEY: u32 = 0x45EE4;
    pub const ZW_CREATE_KEY: u32 = 0x455F4;
    pub const ZW_QUERY_VALUE_KEY: u32 = 0x46434;
    pub const ZW_SET_VALUE_KEY: u32 = 0x46854;
    pub const ZW_CLOSE: u32 = 0x45314;
    pub const ZW_CREATE_FILE: u32 = 0x45594;
    pub const ZW_READ_FILE: u32 = 0x46084;
    pub const ZW_WRITE_FILE: u32 = 0x46A64;
    pub const ZW_QUERY_INFO_FILE: u32 = 0x45FB4;
    pub const ZW_CREATE_THREAD_EX: u32 = 0x456C4;
    pub const ZW_CREATE_USER_PROCESS: u32 = 0x45704;
    pub const ZW_MAP_VIEW: u32 = 0x45C74;
    pub const LDRP_MAP_VIEW: u32 = 0x2F7A1;
    pub const LDRP_FIND_OR_MAP: u32 = 0x2EB32;
    pub const LDRP_LOAD_DLL: u32 = 0x2F4F2;
    pub const LDR_LOAD_DLL: u32 = 0x2F2D8;
    pub const LDRP_LOAD_IMPORT: u32 = 0x3A0F5;
    pub const LDRP_WALK_IMPORTS: u32 = 0x3A3C8;
    pub const LDRP_INITIALIZE_PROCESS: u32 = 0x5A8F3;
    pub const LDR_INITIALIZE_THUNK: u32 = 0x5D2A1;
    pub const RTL_USER_THREAD_START: u32 = 0x637F5;
    pub const RTL_USER_THREAD_START2: u32 = 0x637C8;
}

mod kbase {
    pub const REG_OPEN_KEY_EX: u32 = 0x16E9A;
    pub const REG_CREATE_KEY_EX: u32 = 0x15F8C;
    pub const REG_QUERY_VALUE_EX: u32 = 0x17D21;
    pub const REG_SET_VALUE_EX: u32 = 0x16574;
    pub const REG_CLOSE_KEY: u32 = 0x164B2;
    pub const CREATE_FILE_W: u32 = 0xE34E;
    pub const READ_FILE: u32 = 0xDE6B;
    pub const WRITE_FILE: u32 = 0xD8B1;
    pub const GET_FILE_INFO: u32 = 0x1A0B7;
    pub const CLOSE_HANDLE: u32 = 0xC7B6;
    pub const LOAD_LIBRARY_EX: u32 = 0x9F1C;
    pub const CREATE_REMOTE_THREAD_EX: u32 = 0x1C5C1;
}

mod k32 {
    pub const BASE_THREAD_INIT_THUNK: u32 = 0x53C45;
    pub const CREATE_THREAD: u32 = 0x4A7F1;
    pub const CREATE_PROCESS_INTERNAL: u32 = 0x2C14B;
    pub const CREATE_PROCESS_AS_USER: u32 = 0x2C2E6;
}

mod krnlmgr {
    pub const READ_CONFIG: u32 = 0x1A2C4;
    pub const LOAD_POLICY: u32 = 0x1B8E0;
    pub const CHECK_ACCESS: u32 = 0x13B8E;
    pub const REG_CALLBACK: u32 = 0x1177A;
    pub const INIT: u32 = 0x2F0C2;
    pub const DRIVER_ENTRY: u32 = 0x4A10E;
}

/// User call chains (outside the API frames), innermost first.
type Chain = &'static [(&'static str, u32)];

const TI_CBS_LOG: Chain = &[
    ("wdscore.dll", 0x5D1F),
    ("wdscore.dll", 0x3F2C),
    ("CbsCore.dll", 0x10F2C),
    ("CbsCore.dll", 0x7A31D),
    ("TrustedInstaller.exe", 0x4A1C),
    ("TrustedInstaller.exe", 0x3B2F),
];
const TI_CBS_STARTUP: Chain = &[
    ("CbsCore.dll", 0x3B5E1),
    ("CbsCore.dll", 0x7A31D),
    ("TrustedInstaller.exe", 0x4A1C),
    ("TrustedInstaller.exe", 0x3B2F),
];
const TI_DOQE: Chain = &[
    ("drvstore.dll", 0x3A0CF),
    ("drvstore.dll", 0x2C4F1),
    ("CbsCore.dll", 0x1C5A2E),
    ("CbsCore.dll", 0x1C3F88),
    ("CbsCore.dll", 0x7A31D),
    ("TrustedInstaller.exe", 0x4A1C),
    ("TrustedInstaller.exe", 0x3B2F),
];
const TI_SETUPAPI_INF: Chain = &[
    ("SETUPAPI.dll", 0x1A2B3),
    ("SETUPAPI.dll", 0x43B9E),
    ("drvstore.dll", 0x2B75A),
    ("drvstore.dll", 0x2C4F1),
    ("CbsCore.dll", 0x1C5A2E),
    ("CbsCore.dll", 0x1C3F88),
    ("CbsCore.dll", 0x7A31D),
    ("TrustedInstaller.exe", 0x4A1C),
    ("TrustedInstaller.exe", 0x3B2F),
];
const TI_SETUPAPI_SERVICE: Chain = &[
    ("SETUPAPI.dll", 0x69D3A),
    ("SETUPAPI.dll", 0x6A1E4),
    ("SETUPAPI.dll", 0x43B9E),
    ("drvstore.dll", 0x2B75A),
    ("drvstore.dll", 0x2C4F1),
    ("CbsCore.dll", 0x1C5A2E),
    ("CbsCore.dll", 0x1C3F88),
    ("CbsCore.dll", 0x7A31D),
    ("TrustedInstaller.exe", 0x4A1C),
    ("TrustedInstaller.exe", 0x3B2F),
];
const TI_SETUPAPI_LOG: Chain = &[
    ("SETUPAPI.dll", 0x2F3C5),
    ("SETUPAPI.dll", 0x2F0A1),
    ("drvstore.dll", 0x12E44),
    ("drvstore.dll", 0x2C4F1),
    ("CbsCore.dll", 0x1C5A2E),
    ("CbsCore.dll", 0x1C3F88),
    ("CbsCore.dll", 0x7A31D),
    ("TrustedInstaller.exe", 0x4A1C),
    ("TrustedInstaller.exe", 0x3B2F),
];
const TI_MAIN: Chain = &[
    ("TrustedInstaller.exe", 0x5F0E),
    ("TrustedInstaller.exe", 0x3B2F),
];
const SERVICES_SCAN: Chain = &[
    ("services.exe", 0x1C2A5),
    ("services.exe", 0x1B9C4),
    ("services.exe", 0x2F1D0),
    ("services.exe", 0x30A11),
];
const SERVICES_START: Chain = &[
    ("services.exe", 0x8E3C),
    ("services.exe", 0x2F1D0),
    ("services.exe", 0x30A11),
];
const LSASS_POLICY: Chain = &[
    ("lsasrv.dll", 0x2C1F5),
    ("lsasrv.dll", 0x3A0E8),
    ("lsass.exe", 0x1A1E),
];
const SVCHOST_LOAD: Chain = &[
    ("sechost.dll", 0x4A6C),
    ("sechost.dll", 0x5B10),
    ("svchost.exe", 0x2A1C),
    ("svchost.exe", 0x1175),
];
const SCHEDSVC: Chain = &[
    ("schedsvc.dll", 0x3D1E7),
    ("schedsvc.dll", 0x41B2C),
    ("sechost.dll", 0x5B10),
    ("svchost.exe", 0x1175),
];
const GPSVC: Chain = &[
    ("gpsvc.dll", 0x1F4A2),
    ("gpsvc.dll", 0x2C3B0),
    ("sechost.dll", 0x5B10),
];
const TASKENG: Chain = &[("taskeng.exe", 0x1F0A3), ("taskeng.exe", 0x2C10E)];
const INVAGENT: Chain = &[
    ("invagent.exe", 0x1A2F0),
    ("invagent.exe", 0x2B4C1),
    ("invagent.exe", 0x1023),
    ("invagent.exe", 0x4C1F5),
];
const INVAGENT_LOG: Chain = &[
    ("invagent.exe", 0x3D0E8),
    ("invagent.exe", 0x2B4C1),
    ("invagent.exe", 0x1023),
    ("invagent.exe", 0x4C1F5),
];

// ---------------------------------------------------------------------------------------------
// Generator

/// The request an event stands for; decides its kernel frames and the user API frames.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    OpenKey,
    CreateKey,
    QueryValue,
    SetValue,
    CloseKey,
    CreateFile,
    ReadFile,
    WriteFile,
    QueryInfo,
    CloseFile,
}

/// Who issued a request.
#[derive(Clone, Copy)]
enum Origin<'a> {
    /// A user-mode thread of the event's process, through the Win32 API, from `Chain`.
    User(Chain),
    /// A driver, through Zw* calls: the driver's frames then what called the driver (kernel
    /// return addresses, innermost first, possibly followed by user ones).
    Kernel(&'a [u64]),
}

struct Proc {
    key: u32,
    pid: u32,
    name: &'static str,
    /// (lower-case file name, base, size)
    mods: Vec<(String, u64, u32)>,
}

struct Gen {
    rng: Rng,
    images: Vec<Img>,
    kernel: Vec<(String, u64, u32)>,
    procs: Vec<Proc>,
    models: Vec<ProcessModel>,
    events: Vec<(EventModel, ExpectedEvent)>,
}

fn file_name(path: &str) -> String {
    path.rsplit('\\')
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase()
}

fn module(img: &Img) -> ModuleModel {
    ModuleModel {
        base: img.base,
        size: img.size,
        path: img.path.clone(),
        version: img.version.clone(),
        company: img.company.clone(),
        description: img.description.clone(),
        timestamp: img.timestamp,
        ..ModuleModel::default()
    }
}

/// Address `off` bytes into the module `name` of `mods`; the offset wraps inside the image so
/// the address always lies in `[base, base + size)`. 0 when the module is not listed.
fn addr_in(mods: &[(String, u64, u32)], name: &str, off: u32) -> u64 {
    let name = name.to_ascii_lowercase();
    mods.iter()
        .find(|(n, _, _)| *n == name)
        .map_or(0, |(_, base, size)| base + u64::from(off % (*size).max(1)))
}

impl Gen {
    /// The user-mode image whose file name is `name` (case-insensitive).
    fn user_image(&self, name: &str) -> Option<&Img> {
        let name = name.to_ascii_lowercase();
        self.images
            .iter()
            .find(|i| !i.kernel && file_name(&i.path) == name)
    }

    fn k(&self, module: &str, off: u32) -> u64 {
        addr_in(&self.kernel, module, off)
    }

    fn nt(&self, off: u32) -> u64 {
        self.k("ntkrnlpa.exe", off)
    }

    fn u(&self, p: usize, module: &str, off: u32) -> u64 {
        self.procs
            .get(p)
            .map_or(0, |pr| addr_in(&pr.mods, module, off))
    }

    fn thread_tail(&self, p: usize) -> Vec<u64> {
        vec![
            self.u(p, "kernel32.dll", k32::BASE_THREAD_INIT_THUNK),
            self.u(p, "ntdll.dll", ntdll::RTL_USER_THREAD_START),
            self.u(p, "ntdll.dll", ntdll::RTL_USER_THREAD_START2),
        ]
    }

    fn chain(&self, p: usize, chain: Chain) -> Vec<u64> {
        chain.iter().map(|(m, o)| self.u(p, m, *o)).collect()
    }

    /// Kernel frames of `api` up to (not including) the system-call entry.
    fn kernel_frames(&self, api: Api) -> Vec<u64> {
        use nt::*;
        let fs = |last: &[u32]| {
            let mut v = vec![
                self.k("fltmgr.sys", flt::PERFORM_PRE),
                self.k("fltmgr.sys", flt::PASS_THROUGH_INTERNAL),
                self.k("fltmgr.sys", flt::DISPATCH),
                self.nt(IOF_CALL_DRIVER),
            ];
            v.extend(last.iter().map(|&o| self.nt(o)));
            v
        };
        match api {
            Api::OpenKey => [
                CMP_CALLBACKS,
                CMP_PARSE_KEY,
                OBP_LOOKUP,
                OB_OPEN_BY_NAME,
                CM_OPEN_KEY,
                NT_OPEN_KEY,
            ]
            .iter()
            .map(|&o| self.nt(o))
            .collect(),
            Api::CreateKey => [
                CMP_CALLBACKS,
                CMP_PARSE_KEY,
                OBP_LOOKUP,
                OB_OPEN_BY_NAME,
                CM_CREATE_KEY,
                NT_CREATE_KEY,
            ]
            .iter()
            .map(|&o| self.nt(o))
            .collect(),
            Api::QueryValue => vec![self.nt(CMP_CALLBACKS), self.nt(NT_QUERY_VALUE_KEY)],
            Api::SetValue => vec![self.nt(CMP_CALLBACKS), self.nt(NT_SET_VALUE_KEY)],
            Api::CloseKey => [
                CMP_CALLBACKS,
                CMP_CLOSE_KEY,
                OBP_DECREMENT,
                OBP_CLOSE_HANDLE,
                NT_CLOSE,
            ]
            .iter()
            .map(|&o| self.nt(o))
            .collect(),
            Api::CreateFile => {
                let mut v = vec![
                    self.k("fltmgr.sys", flt::PERFORM_PRE),
                    self.k("fltmgr.sys", flt::PASS_THROUGH_INTERNAL),
                    self.k("fltmgr.sys", flt::PASS_THROUGH),
                    self.k("fltmgr.sys", flt::CREATE),
                    self.nt(IOF_CALL_DRIVER),
                ];
                v.extend(
                    [
                        IOP_PARSE_DEVICE,
                        OBP_LOOKUP,
                        OB_OPEN_BY_NAME,
                        IOP_CREATE_FILE,
                        NT_CREATE_FILE,
                    ]
                    .iter()
                    .map(|&o| self.nt(o)),
                );
                v
            }
            Api::ReadFile => fs(&[NT_READ_FILE]),
            Api::WriteFile => fs(&[NT_WRITE_FILE]),
            Api::QueryInfo => fs(&[NT_QUERY_INFO_FILE]),
            Api::CloseFile => fs(&[IOP_CLOSE_FILE, OBP_DECREMENT, OBP_CLOSE_HANDLE, NT_CLOSE]),
        }
    }

    /// The whole stack of a request issued from `origin` in process `p`.
    fn stack(&self, p: usize, api: Api, origin: Origin<'_>) -> Vec<u64> {
        let mut s = self.kernel_frames(api);
        match origin {
            Origin::User(chain) => {
                s.push(self.nt(nt::KI_FAST_CALL_ENTRY));
                let (zw, kb) = match api {
                    Api::OpenKey => (ntdll::ZW_OPEN_KEY, kbase::REG_OPEN_KEY_EX),
                    Api::CreateKey => (ntdll::ZW_CREATE_KEY, kbase::REG_CREATE_KEY_EX),
                    Api::QueryValue => (ntdll::ZW_QUERY_VALUE_KEY, kbase::REG_QUERY_VALUE_EX),
                    Api::SetValue => (ntdll::ZW_SET_VALUE_KEY, kbase::REG_SET_VALUE_EX),
                    Api::CloseKey => (ntdll::ZW_CLOSE, kbase::REG_CLOSE_KEY),
                    Api::CreateFile => (ntdll::ZW_CREATE_FILE, kbase::CREATE_FILE_W),
                    Api::ReadFile => (ntdll::ZW_READ_FILE, kbase::READ_FILE),
                    Api::WriteFile => (ntdll::ZW_WRITE_FILE, kbase::WRITE_FILE),
                    Api::QueryInfo => (ntdll::ZW_QUERY_INFO_FILE, kbase::GET_FILE_INFO),
                    Api::CloseFile => (ntdll::ZW_CLOSE, kbase::CLOSE_HANDLE),
                };
                s.push(self.u(p, "ntdll.dll", zw));
                s.push(self.u(p, "KERNELBASE.dll", kb));
                s.extend(self.chain(p, chain));
                s.extend(self.thread_tail(p));
            }
            Origin::Kernel(callers) => {
                let zw = match api {
                    Api::OpenKey | Api::CreateKey => nt::ZW_OPEN_KEY,
                    Api::QueryValue | Api::SetValue => nt::ZW_QUERY_VALUE_KEY,
                    Api::CloseKey | Api::CloseFile => nt::ZW_CLOSE,
                    Api::CreateFile => nt::ZW_CREATE_FILE,
                    Api::ReadFile | Api::WriteFile | Api::QueryInfo => nt::ZW_READ_FILE,
                };
                s.push(self.nt(nt::KI_SERVICE_POSTCALL));
                s.push(self.nt(zw));
                s.extend_from_slice(callers);
            }
        }
        s
    }

    /// Add a process (table key = 1025 + 2 × its position, like Procmon's odd keys) listing
    /// `images` (file names of user-mode rows of [`IMAGES_CSV`]).
    #[allow(clippy::too_many_arguments)]
    fn add_process(
        &mut self,
        pid: u32,
        ppid: u32,
        parent: Option<usize>,
        identity: (&'static str, &'static str, u64, u32),
        image: &'static str,
        command_line: &str,
        start_time: u64,
        images: &[&str],
    ) -> usize {
        let (user, integrity, auth_id, session) = identity;
        let key = 1025 + 2 * self.procs.len() as u32;
        let name_of_image = image.rsplit('\\').next().unwrap_or(image);
        let (company, version, description) = self
            .user_image(name_of_image)
            .map_or_else(Default::default, |i| {
                (i.company.clone(), i.version.clone(), i.description.clone())
            });
        let mut list: Vec<&Img> = images.iter().filter_map(|n| self.user_image(n)).collect();
        list.sort_by_key(|i| i.base);
        let mods: Vec<(String, u64, u32)> = list
            .iter()
            .map(|i| (file_name(&i.path), i.base, i.size))
            .collect();
        let models: Vec<ModuleModel> = list.into_iter().map(module).collect();
        let parent_index = parent.and_then(|i| self.procs.get(i)).map_or(0, |p| p.key);
        self.models.push(ProcessModel {
            index: key,
            pid,
            ppid,
            parent_index,
            auth_id,
            session,
            start_time,
            end_time: 0,
            virtualized: 0,
            is_64bit: false,
            integrity: integrity.to_string(),
            user: user.to_string(),
            name: name_of_image.to_string(),
            image_path: image.to_string(),
            command_line: command_line.to_string(),
            company,
            version,
            description,
            unknown_ptr: 1,
            modules: models,
            ..ProcessModel::default()
        });
        self.procs.push(Proc {
            key,
            pid,
            name: name_of_image_static(image),
            mods,
        });
        self.procs.len() - 1
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        p: usize,
        tid: u32,
        (class, operation, op_name): (u32, u16, &'static str),
        time: u64,
        duration: u64,
        result: u32,
        stack: Vec<u64>,
        detail: Vec<u8>,
        extra: Option<Vec<u8>>,
        path: &str,
    ) {
        let Some(pr) = self.procs.get(p) else { return };
        let ev = EventModel {
            process_index: pr.key,
            tid,
            class,
            operation,
            duration,
            time,
            result,
            stack,
            detail,
            extra,
            ..EventModel::default()
        };
        let note = ExpectedEvent {
            process_name: pr.name,
            pid: pr.pid,
            tid,
            operation: op_name,
            path: path.to_string(),
            result,
            nested_in_denial: false,
        };
        self.events.push((ev, note));
    }

    /// A registry duration: 2-60 µs.
    fn reg_duration(&mut self) -> u64 {
        self.rng.range(20, 600)
    }

    // --- registry events ----------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn reg_open(
        &mut self,
        p: usize,
        tid: u32,
        t: u64,
        path: &str,
        access: u32,
        result: u32,
        origin: Origin<'_>,
    ) {
        let d = self.reg_duration();
        let stack = self.stack(p, Api::OpenKey, origin);
        let extra = (result == 0).then(|| build::reg_open_key_extra(access, 0));
        let detail = build::reg_open_key(path, access);
        self.push(
            p,
            tid,
            (class::REGISTRY, op::REG_OPEN_KEY, "RegOpenKey"),
            t,
            d,
            result,
            stack,
            detail,
            extra,
            path,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn reg_create(
        &mut self,
        p: usize,
        tid: u32,
        t: u64,
        path: &str,
        access: u32,
        result: u32,
        disposition: u32,
        origin: Origin<'_>,
    ) {
        let d = self.reg_duration();
        let stack = self.stack(p, Api::CreateKey, origin);
        let extra = (result == 0).then(|| build::reg_open_key_extra(access, disposition));
        let detail = build::reg_open_key(path, access);
        self.push(
            p,
            tid,
            (class::REGISTRY, op::REG_CREATE_KEY, "RegCreateKey"),
            t,
            d,
            result,
            stack,
            detail,
            extra,
            path,
        );
    }

    /// RegQueryValue with KeyValuePartialInformation; `value` = None gives NAME NOT FOUND.
    fn reg_query(
        &mut self,
        p: usize,
        tid: u32,
        t: u64,
        path: &str,
        value: Option<(u32, Vec<u8>)>,
        origin: Origin<'_>,
    ) {
        let d = self.reg_duration();
        let stack = self.stack(p, Api::QueryValue, origin);
        let (result, extra) = match value {
            Some((ty, data)) => (0, Some(build::reg_value_partial_extra(ty, &data))),
            None => (NAME_NOT_FOUND, None),
        };
        let detail = build::reg_query_value(path, 144, 2);
        self.push(
            p,
            tid,
            (class::REGISTRY, op::REG_QUERY_VALUE, "RegQueryValue"),
            t,
            d,
            result,
            stack,
            detail,
            extra,
            path,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn reg_set(
        &mut self,
        p: usize,
        tid: u32,
        t: u64,
        duration: u64,
        path: &str,
        (ty, data): (u32, Vec<u8>),
        result: u32,
        origin: Origin<'_>,
    ) {
        let stack = self.stack(p, Api::SetValue, origin);
        let detail = build::reg_set_value(path, ty, &data);
        self.push(
            p,
            tid,
            (class::REGISTRY, op::REG_SET_VALUE, "RegSetValue"),
            t,
            duration,
            result,
            stack,
            detail,
            None,
            path,
        );
    }

    fn reg_close(&mut self, p: usize, tid: u32, t: u64, path: &str, origin: Origin<'_>) {
        let d = self.rng.range(5, 40);
        let stack = self.stack(p, Api::CloseKey, origin);
        let detail = build::reg_close_key(path);
        self.push(
            p,
            tid,
            (class::REGISTRY, op::REG_CLOSE_KEY, "RegCloseKey"),
            t,
            d,
            0,
            stack,
            detail,
            None,
            path,
        );
    }

    // --- file system events -------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn create_file(
        &mut self,
        p: usize,
        tid: u32,
        t: u64,
        path: &str,
        c: &CreateFile,
        open_result: Option<u32>,
        result: u32,
        origin: Origin<'_>,
    ) {
        let d = self.rng.range(60, 900);
        let stack = self.stack(p, Api::CreateFile, origin);
        let detail = build::fs_create_file(false, path, c);
        let extra = open_result.map(build::fs_create_file_extra);
        self.push(
            p,
            tid,
            (class::FILE_SYSTEM, op::CREATE_FILE, "CreateFile"),
            t,
            d,
            result,
            stack,
            detail,
            extra,
            path,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn read_write(
        &mut self,
        p: usize,
        tid: u32,
        t: u64,
        path: &str,
        write: bool,
        offset: i64,
        length: u32,
        flags: u32,
        stack: Vec<u64>,
    ) {
        let d = self.rng.range(15, 400) + u64::from(length / 2048);
        let detail = build::fs_read_write(false, path, offset, length, flags);
        let extra = Some(build::fs_transfer_extra(length));
        let (opn, name) = if write {
            (op::WRITE_FILE, "WriteFile")
        } else {
            (op::READ_FILE, "ReadFile")
        };
        self.push(
            p,
            tid,
            (class::FILE_SYSTEM, opn, name),
            t,
            d,
            0,
            stack,
            detail,
            extra,
            path,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn query_basic(
        &mut self,
        p: usize,
        tid: u32,
        t: u64,
        path: &str,
        times: u64,
        attributes: u32,
        origin: Origin<'_>,
    ) {
        let d = self.rng.range(8, 60);
        let stack = self.stack(p, Api::QueryInfo, origin);
        let detail = build::fs_query_basic_information(false, path);
        let extra = Some(build::fs_basic_information_extra(
            times,
            times + 3_117 * MS,
            times,
            times,
            attributes,
        ));
        self.push(
            p,
            tid,
            (
                class::FILE_SYSTEM,
                op::QUERY_INFORMATION_FILE,
                "QueryBasicInformationFile",
            ),
            t,
            d,
            0,
            stack,
            detail,
            extra,
            path,
        );
    }

    fn close_file(&mut self, p: usize, tid: u32, t: u64, path: &str, origin: Origin<'_>) {
        let d = self.rng.range(5, 60);
        let stack = self.stack(p, Api::CloseFile, origin);
        let detail = build::fs_close_file(false, path);
        self.push(
            p,
            tid,
            (class::FILE_SYSTEM, op::CLOSE_FILE, "CloseFile"),
            t,
            d,
            0,
            stack,
            detail,
            None,
            path,
        );
    }

    /// Append `lines` (byte lengths) to a log file at `offset`: CreateFile, WriteFile each, CloseFile.
    #[allow(clippy::too_many_arguments)]
    fn append_log(
        &mut self,
        p: usize,
        tid: u32,
        t: u64,
        path: &str,
        offset: &mut i64,
        lines: &[u32],
        chain: Chain,
    ) -> u64 {
        let c = CreateFile {
            desired_access: 0x12019F,
            disposition: 3,
            options: 0x60,
            attributes: 0x80,
            share: 3,
            ..CreateFile::default()
        };
        self.create_file(p, tid, t, path, &c, Some(1), 0, Origin::User(chain));
        let mut t = t + 90 * US;
        for &len in lines {
            let stack = self.stack(p, Api::WriteFile, Origin::User(chain));
            self.read_write(p, tid, t, path, true, *offset, len, 0x60900, stack);
            *offset += i64::from(len);
            t += self.rng.range(30, 120) * US;
        }
        self.close_file(p, tid, t, path, Origin::User(chain));
        t + 20 * US
    }

    /// Open, query basic information, read in 4 KiB chunks up to `size` bytes, close.
    #[allow(clippy::too_many_arguments)]
    fn read_whole(
        &mut self,
        p: usize,
        tid: u32,
        t: u64,
        path: &str,
        size: u32,
        origin: Origin<'_>,
    ) -> u64 {
        let c = CreateFile {
            desired_access: 0x120089,
            disposition: 1,
            options: 0x60,
            share: 1,
            ..CreateFile::default()
        };
        self.create_file(p, tid, t, path, &c, Some(1), 0, origin);
        self.query_basic(
            p,
            tid,
            t + 80 * US,
            path,
            132_052_000_000_000_000,
            0x20,
            origin,
        );
        let mut t = t + 120 * US;
        let mut off = 0u32;
        while off < size {
            let len = (size - off).min(0x1000);
            let stack = self.stack(p, Api::ReadFile, origin);
            self.read_write(p, tid, t, path, false, i64::from(off), len, 0x60900, stack);
            off += len;
            t += self.rng.range(20, 80) * US;
        }
        self.close_file(p, tid, t, path, origin);
        t + 20 * US
    }

    // --- process events -----------------------------------------------------------------

    fn load_image(&mut self, p: usize, tid: u32, t: u64, image: &str, how: LoadHow) {
        let Some((base, size, path)) = self
            .user_image(image)
            .map(|i| (i.base, i.size, i.path.clone()))
        else {
            return;
        };
        let mut stack = vec![
            self.nt(nt::PSP_IMAGE_NOTIFY),
            self.nt(nt::MI_MAP_VIEW_IMAGE),
            self.nt(nt::MM_MAP_VIEW),
        ];
        match how {
            LoadHow::ProcessCreation => {
                stack.extend(
                    [
                        nt::MM_INIT_PROCESS_AS,
                        nt::PSP_ALLOCATE_PROCESS,
                        nt::NT_CREATE_USER_PROCESS,
                        nt::KI_FAST_CALL_ENTRY,
                    ]
                    .iter()
                    .map(|&o| self.nt(o)),
                );
            }
            LoadHow::Import => {
                stack.push(self.nt(nt::NT_MAP_VIEW));
                stack.push(self.nt(nt::KI_FAST_CALL_ENTRY));
                for o in [
                    ntdll::ZW_MAP_VIEW,
                    ntdll::LDRP_MAP_VIEW,
                    ntdll::LDRP_FIND_OR_MAP,
                    ntdll::LDRP_LOAD_IMPORT,
                    ntdll::LDRP_WALK_IMPORTS,
                    ntdll::LDRP_INITIALIZE_PROCESS,
                    ntdll::LDR_INITIALIZE_THUNK,
                ] {
                    stack.push(self.u(p, "ntdll.dll", o));
                }
            }
            LoadHow::Dynamic(chain) => {
                stack.push(self.nt(nt::NT_MAP_VIEW));
                stack.push(self.nt(nt::KI_FAST_CALL_ENTRY));
                for o in [
                    ntdll::ZW_MAP_VIEW,
                    ntdll::LDRP_MAP_VIEW,
                    ntdll::LDRP_FIND_OR_MAP,
                    ntdll::LDRP_LOAD_DLL,
                    ntdll::LDR_LOAD_DLL,
                ] {
                    stack.push(self.u(p, "ntdll.dll", o));
                }
                stack.push(self.u(p, "KERNELBASE.dll", kbase::LOAD_LIBRARY_EX));
                stack.extend(self.chain(p, chain));
                stack.extend(self.thread_tail(p));
            }
        }
        let detail = build::load_image(false, base, size, &path);
        self.push(
            p,
            tid,
            (class::PROCESS, op::LOAD_IMAGE, "Load Image"),
            t,
            0,
            0,
            stack,
            detail,
            None,
            &path,
        );
    }

    fn thread_create(&mut self, p: usize, tid: u32, t: u64, new_tid: u32, chain: Chain) {
        let mut stack: Vec<u64> = [
            nt::PSP_THREAD_NOTIFY,
            nt::PSP_CREATE_THREAD,
            nt::NT_CREATE_THREAD_EX,
            nt::KI_FAST_CALL_ENTRY,
        ]
        .iter()
        .map(|&o| self.nt(o))
        .collect();
        stack.push(self.u(p, "ntdll.dll", ntdll::ZW_CREATE_THREAD_EX));
        stack.push(self.u(p, "KERNELBASE.dll", kbase::CREATE_REMOTE_THREAD_EX));
        stack.push(self.u(p, "kernel32.dll", k32::CREATE_THREAD));
        stack.extend(self.chain(p, chain));
        stack.extend(self.thread_tail(p));
        self.push(
            p,
            tid,
            (class::PROCESS, op::THREAD_CREATE, "Thread Create"),
            t,
            0,
            0,
            stack,
            build::thread_create(new_tid),
            None,
            "",
        );
    }

    /// Process Create in the parent `p`, Process Start in the child `c` (its first thread `ctid`).
    #[allow(clippy::too_many_arguments)]
    fn spawn(
        &mut self,
        p: usize,
        tid: u32,
        t: u64,
        c: usize,
        ctid: u32,
        sids: (&[u8], &[u8]),
        chain: Chain,
        current_dir: &str,
        env: &[&str],
    ) {
        let Some(child) = self.models.get(c).cloned() else {
            return;
        };
        let parent_key = self.procs.get(p).map_or(0, |x| x.key);
        let parent_pid = self.procs.get(p).map_or(0, |x| x.pid);
        let mut stack: Vec<u64> = [
            nt::PSP_PROCESS_NOTIFY,
            nt::PSP_INSERT_THREAD,
            nt::NT_CREATE_USER_PROCESS,
            nt::KI_FAST_CALL_ENTRY,
        ]
        .iter()
        .map(|&o| self.nt(o))
        .collect();
        stack.push(self.u(p, "ntdll.dll", ntdll::ZW_CREATE_USER_PROCESS));
        stack.push(self.u(p, "kernel32.dll", k32::CREATE_PROCESS_INTERNAL));
        stack.push(self.u(p, "kernel32.dll", k32::CREATE_PROCESS_AS_USER));
        stack.extend(self.chain(p, chain));
        stack.extend(self.thread_tail(p));
        let detail = build::process_create(&ProcessCreate {
            new_index: child.index,
            new_pid: child.pid,
            parent_index: parent_key,
            parent_pid,
            session: child.session,
            start_time: child.start_time,
            auth_id: child.auth_id,
            user_sid: sids.0,
            integrity_sid: sids.1,
            image_path: &child.image_path,
            command_line: &child.command_line,
        });
        self.push(
            p,
            tid,
            (class::PROCESS, op::PROCESS_CREATE, "Process Create"),
            t,
            0,
            0,
            stack,
            detail,
            None,
            &child.image_path,
        );
        self.load_image(c, tid, t + 15 * US, &child.name, LoadHow::ProcessCreation);
        self.load_image(c, tid, t + 30 * US, "ntdll.dll", LoadHow::ProcessCreation);
        let stack = vec![
            self.nt(nt::PSP_USER_THREAD_STARTUP),
            self.nt(nt::KI_THREAD_STARTUP),
        ];
        let detail = build::process_start(parent_pid, &child.command_line, current_dir, env);
        self.push(
            c,
            ctid,
            (class::PROCESS, op::PROCESS_START, "Process Start"),
            t + 120 * US,
            0,
            0,
            stack,
            detail,
            None,
            "",
        );
    }
}

#[derive(Clone, Copy)]
enum LoadHow {
    /// The executable and ntdll.dll, mapped by the kernel while creating the process.
    ProcessCreation,
    /// A static import, mapped by the loader at process start.
    Import,
    /// LoadLibrary from the given call chain.
    Dynamic(Chain),
}

fn name_of_image_static(image: &'static str) -> &'static str {
    image.rsplit('\\').next().unwrap_or(image)
}

const SYSTEM_ENV: [&str; 24] = [
    "ALLUSERSPROFILE=C:\\ProgramData",
    "CommonProgramFiles=C:\\Program Files\\Common Files",
    "COMPUTERNAME=CONTOSO-PC",
    "ComSpec=C:\\Windows\\system32\\cmd.exe",
    "FP_NO_HOST_CHECK=NO",
    "NUMBER_OF_PROCESSORS=1",
    "OS=Windows_NT",
    "Path=C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\Wbem;C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\",
    "PATHEXT=.COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC",
    "PROCESSOR_ARCHITECTURE=x86",
    "PROCESSOR_IDENTIFIER=x86 Family 15 Model 4 Stepping 10, AuthenticAMD",
    "PROCESSOR_LEVEL=15",
    "PROCESSOR_REVISION=040a",
    "ProgramData=C:\\ProgramData",
    "ProgramFiles=C:\\Program Files",
    "PSModulePath=C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\Modules\\",
    "PUBLIC=C:\\Users\\Public",
    "SystemDrive=C:",
    "SystemRoot=C:\\Windows",
    "TEMP=C:\\Windows\\TEMP",
    "TMP=C:\\Windows\\TEMP",
    "USERNAME=CONTOSO-PC$",
    "USERPROFILE=C:\\Windows\\system32\\config\\systemprofile",
    "windir=C:\\Windows",
];

const ALICE_ENV: [&str; 12] = [
    "ALLUSERSPROFILE=C:\\ProgramData",
    "APPDATA=C:\\Users\\alice\\AppData\\Roaming",
    "COMPUTERNAME=CONTOSO-PC",
    "LOCALAPPDATA=C:\\Users\\alice\\AppData\\Local",
    "OS=Windows_NT",
    "Path=C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\Wbem",
    "ProgramFiles=C:\\Program Files",
    "SystemRoot=C:\\Windows",
    "TEMP=C:\\Users\\alice\\AppData\\Local\\Temp",
    "USERDOMAIN=CONTOSO-PC",
    "USERNAME=alice",
    "USERPROFILE=C:\\Users\\alice",
];

/// The services whose keys services.exe reads at boot, with (Type, Start, ErrorControl,
/// ImagePath, Group) values.
const SERVICES: [(&str, u32, u32, &str, Option<&str>); 22] = [
    (
        "AmdK8",
        1,
        3,
        "\\SystemRoot\\system32\\DRIVERS\\amdk8.sys",
        None,
    ),
    (
        "AmdPPM",
        1,
        3,
        "\\SystemRoot\\system32\\DRIVERS\\amdppm.sys",
        None,
    ),
    (
        "amdxata",
        1,
        0,
        "system32\\drivers\\amdxata.sys",
        Some("SCSI Miniport"),
    ),
    (
        "BFE",
        32,
        2,
        "%systemroot%\\system32\\svchost.exe -k LocalServiceNoNetwork",
        Some("NetworkProvider"),
    ),
    (
        "Dhcp",
        32,
        2,
        "%SystemRoot%\\system32\\svchost.exe -k LocalServiceNetworkRestricted",
        Some("TDI"),
    ),
    (
        "Dnscache",
        32,
        2,
        "%SystemRoot%\\system32\\svchost.exe -k NetworkService",
        Some("NetworkService"),
    ),
    (
        "eventlog",
        32,
        2,
        "%SystemRoot%\\System32\\svchost.exe -k LocalServiceNetworkRestricted",
        Some("Event Log"),
    ),
    (
        "gpsvc",
        32,
        2,
        "%SystemRoot%\\System32\\svchost.exe -k netsvcs",
        Some("ProfSvc_Group"),
    ),
    (
        "krnlmgr",
        1,
        0,
        "system32\\drivers\\krnlmgr.sys",
        Some("Boot Bus Extender"),
    ),
    (
        "LanmanWorkstation",
        32,
        2,
        "%SystemRoot%\\system32\\svchost.exe -k NetworkService",
        Some("NetworkProvider"),
    ),
    (
        "MpsSvc",
        32,
        2,
        "%SystemRoot%\\system32\\svchost.exe -k LocalServiceNoNetwork",
        Some("NetworkProvider"),
    ),
    (
        "nvlddmkm",
        1,
        3,
        "\\SystemRoot\\system32\\DRIVERS\\nvlddmkm.sys",
        Some("Video"),
    ),
    (
        "PlugPlay",
        32,
        2,
        "%SystemRoot%\\system32\\svchost.exe -k DcomLaunch",
        Some("PlugPlay"),
    ),
    (
        "Power",
        32,
        2,
        "%SystemRoot%\\system32\\svchost.exe -k DcomLaunch",
        Some("Plugplay"),
    ),
    (
        "ProfSvc",
        32,
        2,
        "%systemroot%\\system32\\svchost.exe -k netsvcs",
        Some("ProfSvc_Group"),
    ),
    (
        "Schedule",
        32,
        2,
        "%systemroot%\\system32\\svchost.exe -k netsvcs",
        Some("SchedulerGroup"),
    ),
    (
        "SENS",
        32,
        2,
        "%SystemRoot%\\system32\\svchost.exe -k netsvcs",
        None,
    ),
    (
        "Themes",
        32,
        2,
        "%SystemRoot%\\System32\\svchost.exe -k netsvcs",
        Some("UIGroup"),
    ),
    (
        "TrustedInstaller",
        16,
        3,
        "%SystemRoot%\\servicing\\TrustedInstaller.exe",
        Some("ProfSvc_Group"),
    ),
    (
        "W32Time",
        32,
        3,
        "%SystemRoot%\\system32\\svchost.exe -k LocalService",
        None,
    ),
    (
        "Winmgmt",
        32,
        2,
        "%systemroot%\\system32\\svchost.exe -k netsvcs",
        None,
    ),
    (
        "wuauserv",
        32,
        2,
        "%systemroot%\\system32\\svchost.exe -k netsvcs",
        None,
    ),
];

const REG_SZ: u32 = 1;
const REG_EXPAND_SZ: u32 = 2;
const REG_DWORD: u32 = 4;
const REG_MULTI_SZ: u32 = 7;
const REG_QWORD: u32 = 11;

const KEY_READ: u32 = 0x20019;
const KEY_READ_WRITE: u32 = 0x2001F;
const KEY_ALL_ACCESS: u32 = 0xF003F;

fn dword(v: u32) -> (u32, Vec<u8>) {
    (REG_DWORD, build::reg_dword(v))
}

fn sz(s: &str) -> (u32, Vec<u8>) {
    (REG_SZ, build::reg_sz(s))
}

const SVC: &str = r"HKLM\System\CurrentControlSet\Services";
const KRNLMGR_PARAMS: &str = r"HKLM\System\CurrentControlSet\Services\krnlmgr\Parameters";
const TMS_POLICY: &str = r"C:\Program Files\TMS\Policy\regprot.dat";
const CPU_INF: &str =
    r"C:\Windows\System32\DriverStore\FileRepository\cpu.inf_x86_neutral_a4e7c1b3d05f9e26\cpu.inf";
const CBS_LOG: &str = r"C:\Windows\Logs\CBS\CBS.log";
const SETUPAPI_LOG: &str = r"C:\Windows\inf\setupapi.dev.log";
const CBS_KEY: &str = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing";
const CPU_CLASS: &str =
    r"HKLM\System\CurrentControlSet\Control\Class\{50127dc3-0f36-415e-a6cc-4cb3be910b65}\0000";
const CPU_ENUM: &str =
    r"HKLM\System\CurrentControlSet\Enum\ACPI\AuthenticAMD_-_x86_Family_15_Model_4\_0";
const NV_KEY: &str =
    r"HKLM\System\CurrentControlSet\Control\Video\{3F1A0C52-8D3B-4E51-9C55-0A1B7E6D2C11}\0000";

fn generate() -> (PmlModel, Vec<ExpectedEvent>) {
    let mut g = Gen {
        rng: Rng::new(0x4B42_4474_4194_19A1),
        images: images(),
        kernel: Vec::new(),
        procs: Vec::new(),
        models: Vec::new(),
        events: Vec::new(),
    };

    // ---- processes ------------------------------------------------------------------------
    const SYSTEM: (&str, &str, u64, u32) = ("NT AUTHORITY\\SYSTEM", "System", 0x3E7, 0);
    const ALICE: (&str, &str, u64, u32) = ("CONTOSO-PC\\alice", "Medium", 0x0002_4A1F, 0);
    let boot = CAPTURE_START - 27_912 * MS; // 02:44:02.088
    let p_system = g.add_process(
        4,
        0,
        None,
        SYSTEM,
        "System",
        "",
        boot,
        &["smss.exe", "ntdll.dll"],
    );
    {
        // kernel modules of the System process (format-pml.md §5.2)
        let kmods: Vec<ModuleModel> = g.images.iter().filter(|i| i.kernel).map(module).collect();
        g.kernel = kmods
            .iter()
            .map(|m| (file_name(&m.path), m.base, m.size))
            .collect();
        if let Some(sys) = g.models.get_mut(p_system) {
            sys.image_path = "System".into();
            sys.unknown_1c = 0x0039_0038;
            sys.modules.extend(kmods);
            sys.modules.sort_by_key(|m| m.base);
        }
    }
    let p_smss = g.add_process(
        252,
        4,
        Some(p_system),
        SYSTEM,
        r"C:\Windows\System32\smss.exe",
        r"\SystemRoot\System32\smss.exe",
        boot + 312 * MS,
        &["smss.exe", "ntdll.dll"],
    );
    let p_csrss = g.add_process(
        332,
        324,
        None,
        SYSTEM,
        r"C:\Windows\system32\csrss.exe",
        r"%SystemRoot%\system32\csrss.exe ObjectDirectory=\Windows SharedSection=1024,12288,512 Windows=On SubSystemType=Windows ServerDll=basesrv,1 ServerDll=winsrv:UserServerDllInitialization,3 ServerDll=winsrv:ConServerDllInitialization,2 ServerDll=sxssrv,4 ProfileControl=Off MaxRequestThreads=16",
        boot + 2_140 * MS,
        &["csrss.exe", "ntdll.dll"],
    );
    let p_wininit = g.add_process(
        372,
        324,
        None,
        SYSTEM,
        r"C:\Windows\system32\wininit.exe",
        "wininit.exe",
        boot + 2_310 * MS,
        &[
            "wininit.exe",
            "ntdll.dll",
            "kernel32.dll",
            "KERNELBASE.dll",
            "ADVAPI32.dll",
            "msvcrt.dll",
            "sechost.dll",
            "RPCRT4.dll",
            "USER32.dll",
            "GDI32.dll",
        ],
    );
    let _ = (p_smss, p_csrss);
    let p_services = g.add_process(
        460,
        372,
        Some(p_wininit),
        SYSTEM,
        r"C:\Windows\system32\services.exe",
        r"C:\Windows\system32\services.exe",
        boot + 2_702 * MS,
        &[
            "services.exe",
            "ntdll.dll",
            "kernel32.dll",
            "KERNELBASE.dll",
            "ADVAPI32.dll",
            "msvcrt.dll",
            "sechost.dll",
            "RPCRT4.dll",
            "SspiCli.dll",
            "CRYPTBASE.dll",
            "USERENV.dll",
        ],
    );
    let p_lsass = g.add_process(
        476,
        372,
        Some(p_wininit),
        SYSTEM,
        r"C:\Windows\system32\lsass.exe",
        r"C:\Windows\system32\lsass.exe",
        boot + 2_745 * MS,
        &[
            "lsass.exe",
            "lsasrv.dll",
            "ntdll.dll",
            "kernel32.dll",
            "KERNELBASE.dll",
            "ADVAPI32.dll",
            "msvcrt.dll",
            "sechost.dll",
            "RPCRT4.dll",
            "SspiCli.dll",
            "CRYPTBASE.dll",
            "CRYPT32.dll",
            "MSASN1.dll",
        ],
    );
    let _p_dcom = g.add_process(
        588,
        460,
        Some(p_services),
        SYSTEM,
        r"C:\Windows\system32\svchost.exe",
        r"C:\Windows\system32\svchost.exe -k DcomLaunch",
        boot + 3_904 * MS,
        &[
            "svchost.exe",
            "ntdll.dll",
            "kernel32.dll",
            "KERNELBASE.dll",
            "ADVAPI32.dll",
            "msvcrt.dll",
            "sechost.dll",
            "RPCRT4.dll",
        ],
    );
    let p_netsvcs = g.add_process(
        868,
        460,
        Some(p_services),
        SYSTEM,
        r"C:\Windows\system32\svchost.exe",
        r"C:\Windows\system32\svchost.exe -k netsvcs",
        boot + 5_118 * MS,
        &[
            "svchost.exe",
            "ntdll.dll",
            "kernel32.dll",
            "KERNELBASE.dll",
            "ADVAPI32.dll",
            "msvcrt.dll",
            "sechost.dll",
            "RPCRT4.dll",
            "SspiCli.dll",
            "CRYPTBASE.dll",
            "USERENV.dll",
            "schedsvc.dll",
            "gpsvc.dll",
            "profsvc.dll",
            "themeservice.dll",
            "VERSION.dll",
            "WINHTTP.dll",
            "IPHLPAPI.DLL",
            "WINNSI.DLL",
        ],
    );
    let ti_start = CAPTURE_START + 352 * MS + 1_207;
    let p_ti = g.add_process(
        TRUSTED_INSTALLER_PID,
        460,
        Some(p_services),
        SYSTEM,
        r"C:\Windows\servicing\TrustedInstaller.exe",
        r"C:\Windows\servicing\TrustedInstaller.exe",
        ti_start,
        &[
            "TrustedInstaller.exe",
            "ntdll.dll",
            "kernel32.dll",
            "KERNELBASE.dll",
            "ADVAPI32.dll",
            "msvcrt.dll",
            "sechost.dll",
            "RPCRT4.dll",
            "SspiCli.dll",
            "CRYPTBASE.dll",
            "ole32.dll",
            "OLEAUT32.dll",
            "GDI32.dll",
            "USER32.dll",
            "LPK.dll",
            "USP10.dll",
            "CbsCore.dll",
            "wdscore.dll",
            "XmlLite.dll",
            "VERSION.dll",
            "drvstore.dll",
            "SETUPAPI.dll",
            "CFGMGR32.dll",
            "DEVOBJ.dll",
            "WINTRUST.dll",
            "CRYPT32.dll",
            "MSASN1.dll",
        ],
    );
    let taskeng_start = CAPTURE_START + 8_031 * MS + 4_410;
    let p_taskeng = g.add_process(
        1688,
        868,
        Some(p_netsvcs),
        ALICE,
        r"C:\Windows\system32\taskeng.exe",
        "taskeng.exe {5C8B2E47-3A1F-4D0B-9E6A-1B2C3D4E5F60} S-1-5-21-3623811015-3361044348-30300820-1013:CONTOSO-PC\\alice:Password:LUA[1]",
        taskeng_start,
        &["taskeng.exe", "ntdll.dll", "kernel32.dll", "KERNELBASE.dll", "ADVAPI32.dll", "msvcrt.dll", "sechost.dll", "RPCRT4.dll", "ole32.dll", "OLEAUT32.dll"],
    );
    let inv_start = taskeng_start + 187 * MS + 3_301;
    let p_inv = g.add_process(
        BENIGN_PID,
        1688,
        Some(p_taskeng),
        ALICE,
        r"C:\Program Files\Contoso\Inventory\invagent.exe",
        "\"C:\\Program Files\\Contoso\\Inventory\\invagent.exe\" /boot",
        inv_start,
        &[
            "invagent.exe",
            "ntdll.dll",
            "kernel32.dll",
            "KERNELBASE.dll",
            "ADVAPI32.dll",
            "msvcrt.dll",
            "sechost.dll",
            "RPCRT4.dll",
            "VERSION.dll",
            "WINHTTP.dll",
        ],
    );

    // ---- System: driver initialisation, paging I/O -------------------------------------------
    let sys_init_tail: Vec<u64> = vec![
        g.nt(nt::IOP_LOAD_DRIVER),
        g.nt(nt::IOP_LOAD_UNLOAD_DRIVER),
        g.nt(nt::EX_WORKER),
        g.nt(nt::PSP_SYSTEM_THREAD_STARTUP),
        g.nt(nt::KI_THREAD_STARTUP),
    ];
    // krnlmgr.sys reads its configuration once at start (a driver of "Boot Bus Extender" group
    // re-reading after the SYSTEM hive is fully loaded): frames of krnlmgr, no denial.
    let km_init: Vec<u64> = [
        vec![
            g.k("krnlmgr.sys", krnlmgr::READ_CONFIG),
            g.k("krnlmgr.sys", krnlmgr::INIT),
            g.k("krnlmgr.sys", krnlmgr::DRIVER_ENTRY),
        ],
        sys_init_tail.clone(),
    ]
    .concat();
    let mut t = CAPTURE_START + 4 * MS + 118;
    g.reg_open(
        p_system,
        56,
        t,
        KRNLMGR_PARAMS,
        KEY_READ,
        0,
        Origin::Kernel(&km_init),
    );
    t += 41 * US;
    let protected = build::reg_multi_sz(&[
        "amdk8",
        "amdppm",
        "devmgr",
        "gscfmgr",
        "intelppm",
        "processor",
        "viac7",
    ]);
    g.reg_query(
        p_system,
        56,
        t,
        &format!(r"{KRNLMGR_PARAMS}\ProtectedKeys"),
        Some((REG_MULTI_SZ, protected.clone())),
        Origin::Kernel(&km_init),
    );
    t += 37 * US;
    g.reg_query(
        p_system,
        56,
        t,
        &format!(r"{KRNLMGR_PARAMS}\PolicyFile"),
        Some(sz(TMS_POLICY)),
        Origin::Kernel(&km_init),
    );
    t += 29 * US;
    g.reg_query(
        p_system,
        56,
        t,
        &format!(r"{KRNLMGR_PARAMS}\Mode"),
        Some(dword(2)),
        Origin::Kernel(&km_init),
    );
    t += 22 * US;
    g.reg_close(p_system, 56, t, KRNLMGR_PARAMS, Origin::Kernel(&km_init));
    t += 64 * US;
    let km_policy: Vec<u64> = [
        vec![
            g.k("krnlmgr.sys", krnlmgr::LOAD_POLICY),
            g.k("krnlmgr.sys", krnlmgr::INIT),
        ],
        sys_init_tail.clone(),
    ]
    .concat();
    g.read_whole(
        p_system,
        56,
        t,
        TMS_POLICY,
        1872,
        Origin::Kernel(&km_policy),
    );

    // The NVIDIA display driver reads its settings (third party, in stacks, denies nothing).
    let nv: Vec<u64> = [
        vec![
            g.k("nvlddmkm.sys", 0x9C2F1E),
            g.k("nvlddmkm.sys", 0x9C30A4),
            g.k("nvlddmkm.sys", 0x12D5A0),
            g.k("dxgkrnl.sys", 0x6B1C2),
            g.k("dxgkrnl.sys", 0x69F0D),
        ],
        sys_init_tail.clone(),
    ]
    .concat();
    let mut t = CAPTURE_START + 61 * MS + 3_303;
    g.reg_open(p_system, 72, t, NV_KEY, KEY_READ, 0, Origin::Kernel(&nv));
    for (name, value) in [
        ("RMDisablePostL2Compression", None),
        ("RmGpsPsEnablePerCpuCoreDpc", None),
        ("DriverDesc", Some(sz("NVIDIA GeForce 8400 GS"))),
        (
            "HardwareInformation.MemorySize",
            Some((3, build::reg_dword(0x2000_0000))),
        ),
        ("RmCacheLoc", None),
        ("EnableMsHybrid", None),
        ("RMHdcpKeyglobZero", Some(dword(0))),
    ] {
        t += g.rng.range(15, 70) * US;
        g.reg_query(
            p_system,
            72,
            t,
            &format!(r"{NV_KEY}\{name}"),
            value,
            Origin::Kernel(&nv),
        );
    }
    t += 40 * US;
    g.reg_close(p_system, 72, t, NV_KEY, Origin::Kernel(&nv));

    // Paging I/O on the hives and the NTFS log, spread over the capture.
    let paging_read: Vec<u64> = [
        g.k("fltmgr.sys", flt::PERFORM_PRE),
        g.k("fltmgr.sys", flt::PASS_THROUGH_INTERNAL),
        g.k("fltmgr.sys", flt::DISPATCH),
        g.nt(nt::IOF_CALL_DRIVER),
        g.nt(nt::IO_PAGE_READ),
        g.nt(nt::MI_DISPATCH_FAULT),
        g.nt(nt::MM_ACCESS_FAULT),
        g.nt(nt::CC_READ_AHEAD),
        g.nt(nt::EX_WORKER),
        g.nt(nt::PSP_SYSTEM_THREAD_STARTUP),
        g.nt(nt::KI_THREAD_STARTUP),
    ]
    .to_vec();
    let paging_write: Vec<u64> = [
        g.k("fltmgr.sys", flt::PERFORM_PRE),
        g.k("fltmgr.sys", flt::PASS_THROUGH_INTERNAL),
        g.k("fltmgr.sys", flt::DISPATCH),
        g.nt(nt::IOF_CALL_DRIVER),
        g.nt(nt::IO_ASYNC_PAGE_WRITE),
        g.nt(nt::MI_MAPPED_PAGE_WRITER),
        g.nt(nt::PSP_SYSTEM_THREAD_STARTUP),
        g.nt(nt::KI_THREAD_STARTUP),
    ]
    .to_vec();
    for i in 0..36u64 {
        let t = CAPTURE_START + 180 * MS + i * 463 * MS + g.rng.range(0, 90_000);
        let (path, write, tid) = match i % 4 {
            0 => (r"C:\Windows\System32\config\SOFTWARE", false, 64),
            1 => (r"C:\Windows\System32\config\SYSTEM", false, 64),
            2 => (r"C:\$LogFile", true, 80),
            _ => (r"C:\Windows\System32\config\SOFTWARE.LOG1", true, 80),
        };
        let offset = (g.rng.range(0x10, 0x2400) * 0x1000) as i64;
        let len = [0x1000, 0x4000, 0x10000][(i % 3) as usize];
        let stack = if write {
            paging_write.clone()
        } else {
            paging_read.clone()
        };
        g.read_write(p_system, tid, t, path, write, offset, len, 0x60043, stack);
    }

    // ---- services.exe reads every service key ---------------------------------------------
    let mut t = CAPTURE_START + 12 * MS + 4_021;
    for (name, ty, start, image, group) in SERVICES {
        let key = format!(r"{SVC}\{name}");
        g.reg_open(
            p_services,
            512,
            t,
            &key,
            KEY_READ,
            0,
            Origin::User(SERVICES_SCAN),
        );
        t += g.rng.range(20, 60) * US;
        g.reg_query(
            p_services,
            512,
            t,
            &format!(r"{key}\Type"),
            Some(dword(ty)),
            Origin::User(SERVICES_SCAN),
        );
        t += g.rng.range(10, 40) * US;
        g.reg_query(
            p_services,
            512,
            t,
            &format!(r"{key}\Start"),
            Some(dword(start)),
            Origin::User(SERVICES_SCAN),
        );
        t += g.rng.range(10, 40) * US;
        g.reg_query(
            p_services,
            512,
            t,
            &format!(r"{key}\ErrorControl"),
            Some(dword(1)),
            Origin::User(SERVICES_SCAN),
        );
        t += g.rng.range(10, 40) * US;
        g.reg_query(
            p_services,
            512,
            t,
            &format!(r"{key}\ImagePath"),
            Some((REG_EXPAND_SZ, build::reg_sz(image))),
            Origin::User(SERVICES_SCAN),
        );
        t += g.rng.range(10, 40) * US;
        g.reg_query(
            p_services,
            512,
            t,
            &format!(r"{key}\Group"),
            group.map(sz),
            Origin::User(SERVICES_SCAN),
        );
        t += g.rng.range(10, 40) * US;
        g.reg_close(p_services, 512, t, &key, Origin::User(SERVICES_SCAN));
        t += g.rng.range(200, 900) * US;
    }

    // ---- services.exe starts TrustedInstaller -----------------------------------------------
    let sid_system = build::sid(5, &[18]);
    let sid_il_system = build::sid(16, &[0x4000]);
    let t = ti_start - 95 * US;
    g.spawn(
        p_services,
        520,
        t,
        p_ti,
        1436,
        (&sid_system, &sid_il_system),
        SERVICES_START,
        "C:\\Windows\\system32\\",
        &SYSTEM_ENV,
    );
    let mut t = ti_start + 300 * US;
    for dll in [
        "kernel32.dll",
        "KERNELBASE.dll",
        "ADVAPI32.dll",
        "msvcrt.dll",
        "sechost.dll",
        "RPCRT4.dll",
        "SspiCli.dll",
        "CRYPTBASE.dll",
        "ole32.dll",
        "GDI32.dll",
        "USER32.dll",
        "LPK.dll",
        "USP10.dll",
        "OLEAUT32.dll",
    ] {
        g.load_image(p_ti, 1436, t, dll, LoadHow::Import);
        t += g.rng.range(90, 400) * US;
    }
    for (i, new_tid) in [1472u32, 1480, DOQE_TID].into_iter().enumerate() {
        g.thread_create(p_ti, 1436, t + i as u64 * 7 * MS, new_tid, TI_MAIN);
    }
    let mut t = t + 25 * MS;
    for dll in ["CbsCore.dll", "wdscore.dll", "XmlLite.dll", "VERSION.dll"] {
        g.load_image(p_ti, 1472, t, dll, LoadHow::Dynamic(TI_MAIN));
        t += g.rng.range(300, 900) * US;
    }
    // CBS startup: pending state in the registry, then its log.
    for (value, data) in [
        ("RebootPending", None),
        ("RebootInProgress", Some(dword(1))),
        ("PackagesPending", Some(dword(1))),
        ("ExecuteState", Some(dword(0x10))),
        (
            "LastTrustTime",
            Some((3, vec![0x3C, 0x1F, 0x6A, 0x0E, 0x55, 0x03, 0xDB, 0x01])),
        ),
    ] {
        g.reg_query(
            p_ti,
            1472,
            t,
            &format!(r"{CBS_KEY}\{value}"),
            data,
            Origin::User(TI_CBS_STARTUP),
        );
        t += g.rng.range(30, 120) * US;
    }
    let mut cbs_off: i64 = 1_894_211;
    let t = g.append_log(
        p_ti,
        1472,
        t + 2 * MS,
        CBS_LOG,
        &mut cbs_off,
        &[131, 96, 142, 118],
        TI_CBS_LOG,
    );
    g.reg_open(
        p_ti,
        1472,
        t + 300 * US,
        &format!(r"{CBS_KEY}\SessionsPending"),
        KEY_READ,
        0,
        Origin::User(TI_CBS_STARTUP),
    );
    g.reg_query(
        p_ti,
        1472,
        t + 340 * US,
        &format!(r"{CBS_KEY}\SessionsPending\Exclusive"),
        Some(dword(1)),
        Origin::User(TI_CBS_STARTUP),
    );
    g.reg_close(
        p_ti,
        1472,
        t + 380 * US,
        &format!(r"{CBS_KEY}\SessionsPending"),
        Origin::User(TI_CBS_STARTUP),
    );

    // ---- lsass policy reads and netsvcs DLL loads during boot ------------------------------
    let mut t = CAPTURE_START + 690 * MS + 2_222;
    let lsa = r"HKLM\System\CurrentControlSet\Control\Lsa";
    g.reg_open(
        p_lsass,
        544,
        t,
        lsa,
        KEY_READ,
        0,
        Origin::User(LSASS_POLICY),
    );
    for (value, data) in [
        ("LmCompatibilityLevel", None),
        ("RestrictAnonymous", Some(dword(0))),
        ("RestrictAnonymousSAM", Some(dword(1))),
        ("NoLmHash", Some(dword(1))),
        ("EveryoneIncludesAnonymous", Some(dword(0))),
        ("LimitBlankPasswordUse", Some(dword(1))),
        ("DisableDomainCreds", Some(dword(0))),
        ("ForceGuest", Some(dword(0))),
    ] {
        t += g.rng.range(15, 80) * US;
        g.reg_query(
            p_lsass,
            544,
            t,
            &format!(r"{lsa}\{value}"),
            data,
            Origin::User(LSASS_POLICY),
        );
    }
    g.reg_close(p_lsass, 544, t + 50 * US, lsa, Origin::User(LSASS_POLICY));

    let mut t = CAPTURE_START + 1_130 * MS + 4_500;
    let module_open = CreateFile {
        desired_access: 0x1000A1,
        disposition: 1,
        options: 0x60,
        share: 5,
        ..CreateFile::default()
    };
    for (dll, chain) in [
        ("schedsvc.dll", SVCHOST_LOAD),
        ("gpsvc.dll", SVCHOST_LOAD),
        ("profsvc.dll", SVCHOST_LOAD),
        ("themeservice.dll", SVCHOST_LOAD),
        ("WINHTTP.dll", GPSVC),
        ("IPHLPAPI.DLL", GPSVC),
        ("WINNSI.DLL", GPSVC),
    ] {
        let path = format!(r"C:\Windows\System32\{dll}");
        g.create_file(
            p_netsvcs,
            904,
            t,
            &path,
            &module_open,
            Some(1),
            0,
            Origin::User(chain),
        );
        g.query_basic(
            p_netsvcs,
            904,
            t + 60 * US,
            &path,
            129_405_000_000_000_000,
            0x20,
            Origin::User(chain),
        );
        g.close_file(p_netsvcs, 904, t + 110 * US, &path, Origin::User(chain));
        g.load_image(p_netsvcs, 904, t + 160 * US, dll, LoadHow::Dynamic(chain));
        t += g.rng.range(8, 40) * MS;
    }
    for (i, new_tid) in [936u32, 944, 1012, 1096].into_iter().enumerate() {
        g.thread_create(p_netsvcs, 904, t + i as u64 * 11 * MS, new_tid, SCHEDSVC);
    }
    let mut t = t + 60 * MS;
    let sched = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Schedule";
    g.reg_open(
        p_netsvcs,
        936,
        t,
        sched,
        KEY_READ,
        0,
        Origin::User(SCHEDSVC),
    );
    for (value, data) in [
        ("TasksFolder", None),
        ("DisableRpcOverTcp", None),
        (
            "LastTaskRun",
            Some((3, vec![0xE8, 0x07, 0x09, 0x00, 0x02, 0x00, 0x0A, 0x00])),
        ),
    ] {
        t += g.rng.range(20, 80) * US;
        g.reg_query(
            p_netsvcs,
            936,
            t,
            &format!(r"{sched}\{value}"),
            data,
            Origin::User(SCHEDSVC),
        );
    }
    g.reg_close(p_netsvcs, 936, t + 40 * US, sched, Origin::User(SCHEDSVC));
    let gp = r"HKLM\SOFTWARE\Policies\Microsoft\Windows\System";
    let mut t = t + 220 * MS;
    for (value, data) in [
        ("GroupPolicyRefreshTime", None),
        ("SyncForegroundPolicy", None),
        ("DisableBkGndGroupPolicy", None),
    ] {
        g.reg_query(
            p_netsvcs,
            944,
            t,
            &format!(r"{gp}\{value}"),
            data,
            Origin::User(GPSVC),
        );
        t += g.rng.range(30, 90) * US;
    }

    // ---- the driver operations queue (Doqe) -------------------------------------------------
    // 02:44:35 "Doqe: [Forward] Installing driver updates, Count 1"
    let mut t = CAPTURE_START + 5_002 * MS + 317;
    t = g.append_log(p_ti, DOQE_TID, t, CBS_LOG, &mut cbs_off, &[112], TI_CBS_LOG);
    for dll in [
        "drvstore.dll",
        "SETUPAPI.dll",
        "CFGMGR32.dll",
        "DEVOBJ.dll",
        "WINTRUST.dll",
        "CRYPT32.dll",
        "MSASN1.dll",
    ] {
        t += g.rng.range(200, 700) * US;
        g.load_image(p_ti, DOQE_TID, t, dll, LoadHow::Dynamic(TI_DOQE));
    }
    // 02:44:36 phase 1: the driver package and the device
    let mut t = CAPTURE_START + 6_004 * MS + 5_120;
    t = g.read_whole(
        p_ti,
        DOQE_TID,
        t,
        CPU_INF,
        9_728,
        Origin::User(TI_SETUPAPI_INF),
    );
    g.reg_open(
        p_ti,
        DOQE_TID,
        t + 200 * US,
        CPU_ENUM,
        KEY_READ,
        0,
        Origin::User(TI_SETUPAPI_INF),
    );
    let mut t = t + 240 * US;
    for (value, data) in [
        (
            "HardwareID",
            Some((
                REG_MULTI_SZ,
                build::reg_multi_sz(&[
                    "ACPI\\AuthenticAMD_-_x86_Family_15_Model_4",
                    "*AuthenticAMD_-_x86_Family_15_Model_4",
                    "ACPI\\AuthenticAMD_-_x86_Family_15",
                    "*AuthenticAMD_-_x86_Family_15",
                    "ACPI\\AuthenticAMD_-_x86",
                    "*AuthenticAMD_-_x86",
                ]),
            )),
        ),
        (
            "Driver",
            Some(sz("{50127dc3-0f36-415e-a6cc-4cb3be910b65}\\0000")),
        ),
        ("Service", Some(sz("AmdK8"))),
        ("ConfigFlags", Some(dword(0))),
    ] {
        g.reg_query(
            p_ti,
            DOQE_TID,
            t,
            &format!(r"{CPU_ENUM}\{value}"),
            data,
            Origin::User(TI_SETUPAPI_INF),
        );
        t += g.rng.range(20, 60) * US;
    }
    g.reg_close(p_ti, DOQE_TID, t, CPU_ENUM, Origin::User(TI_SETUPAPI_INF));
    let mut setupapi_off: i64 = 2_411_307;
    let t = g.append_log(
        p_ti,
        DOQE_TID,
        t + 900 * US,
        SETUPAPI_LOG,
        &mut setupapi_off,
        &[64, 88, 71, 93, 58],
        TI_SETUPAPI_LOG,
    );
    g.append_log(
        p_ti,
        DOQE_TID,
        t + 400 * US,
        CBS_LOG,
        &mut cbs_off,
        &[86],
        TI_CBS_LOG,
    );

    // 02:44:37 phase 2: reflect the driver; the class key is not protected and is written fine.
    let mut t = CAPTURE_START + 7_031 * MS + 2_660;
    t = g.append_log(
        p_ti,
        DOQE_TID,
        t,
        SETUPAPI_LOG,
        &mut setupapi_off,
        &[77, 61, 83],
        TI_SETUPAPI_LOG,
    );
    g.reg_open(
        p_ti,
        DOQE_TID,
        t + 150 * US,
        CPU_CLASS,
        KEY_READ_WRITE,
        0,
        Origin::User(TI_SETUPAPI_INF),
    );
    let mut t = t + 200 * US;
    for (value, data) in [
        ("DriverDate", sz("6-21-2006")),
        ("DriverVersion", sz("6.1.7600.16385")),
        ("ProviderName", sz("Microsoft")),
        ("InfPath", sz("cpu.inf")),
        ("InfSection", sz("AmdK8_Inst")),
        (
            "MatchingDeviceId",
            sz("acpi\\authenticamd_-_x86_family_15_model_4"),
        ),
        ("DriverDesc", sz("AMD K8 Processor")),
    ] {
        let d = g.rng.range(40, 160);
        g.reg_set(
            p_ti,
            DOQE_TID,
            t,
            d,
            &format!(r"{CPU_CLASS}\{value}"),
            data,
            0,
            Origin::User(TI_SETUPAPI_INF),
        );
        t += g.rng.range(40, 120) * US;
    }
    g.reg_close(p_ti, DOQE_TID, t, CPU_CLASS, Origin::User(TI_SETUPAPI_INF));
    // the driver files are verified in the store (~6.9 s of catalog and file work in setupapi's
    // count; a few reads stand for it here)
    let mut t = t + 1_850 * MS;
    for file in [
        "amdk8.sys",
        "amdppm.sys",
        "intelppm.sys",
        "processr.sys",
        "cpu.PNF",
    ] {
        let path = format!(
            r"C:\Windows\System32\DriverStore\FileRepository\cpu.inf_x86_neutral_a4e7c1b3d05f9e26\{file}"
        );
        let size = 2_048 + (g.rng.range(0, 12) as u32) * 1024;
        t = g.read_whole(
            p_ti,
            DOQE_TID,
            t,
            &path,
            size,
            Origin::User(TI_SETUPAPI_INF),
        );
        t += g.rng.range(300, 900) * MS;
    }

    // 02:44:43.95 {Add Service: AmdK8} -- "Updating existing service 'AmdK8'."
    let amdk8 = format!(r"{SVC}\AmdK8");
    let mut t = DENIED_TIME - 1_900 * US;
    g.reg_open(
        p_ti,
        DOQE_TID,
        t,
        &amdk8,
        KEY_READ_WRITE,
        0,
        Origin::User(TI_SETUPAPI_SERVICE),
    );
    for (value, data) in [
        ("Type", Some(dword(1))),
        ("Start", Some(dword(3))),
        ("ErrorControl", Some(dword(1))),
        (
            "ImagePath",
            Some((
                REG_EXPAND_SZ,
                build::reg_sz("\\SystemRoot\\system32\\DRIVERS\\amdk8.sys"),
            )),
        ),
        ("DisplayName", Some(sz("AMD K8 Processor Driver"))),
        ("Group", None),
    ] {
        t += g.rng.range(120, 250) * US;
        g.reg_query(
            p_ti,
            DOQE_TID,
            t,
            &format!(r"{amdk8}\{value}"),
            data,
            Origin::User(TI_SETUPAPI_SERVICE),
        );
    }
    // The denied write and, inside it, krnlmgr.sys's own I/O on the same thread.
    g.reg_set(
        p_ti,
        DOQE_TID,
        DENIED_TIME,
        DENIED_DURATION,
        DENIED_PATH,
        dword(3),
        ACCESS_DENIED,
        Origin::User(TI_SETUPAPI_SERVICE),
    );
    let outer: Vec<u64> = {
        let mut v = vec![
            g.k("krnlmgr.sys", krnlmgr::CHECK_ACCESS),
            g.k("krnlmgr.sys", krnlmgr::REG_CALLBACK),
            g.nt(nt::CMP_CALLBACKS),
            g.nt(nt::NT_SET_VALUE_KEY),
            g.nt(nt::KI_FAST_CALL_ENTRY),
            g.u(p_ti, "ntdll.dll", ntdll::ZW_SET_VALUE_KEY),
            g.u(p_ti, "KERNELBASE.dll", kbase::REG_SET_VALUE_EX),
        ];
        v.extend(g.chain(p_ti, TI_SETUPAPI_SERVICE));
        v.extend(g.thread_tail(p_ti));
        v
    };
    let in_config: Vec<u64> = [
        vec![g.k("krnlmgr.sys", krnlmgr::READ_CONFIG)],
        outer.clone(),
    ]
    .concat();
    let in_policy: Vec<u64> = [vec![g.k("krnlmgr.sys", krnlmgr::LOAD_POLICY)], outer].concat();
    let mut t = DENIED_TIME + 131 * US + 7;
    g.reg_open(
        p_ti,
        DOQE_TID,
        t,
        KRNLMGR_PARAMS,
        KEY_READ,
        0,
        Origin::Kernel(&in_config),
    );
    t += 46 * US;
    g.reg_query(
        p_ti,
        DOQE_TID,
        t,
        &format!(r"{KRNLMGR_PARAMS}\ProtectedKeys"),
        Some((REG_MULTI_SZ, protected)),
        Origin::Kernel(&in_config),
    );
    t += 38 * US;
    g.reg_query(
        p_ti,
        DOQE_TID,
        t,
        &format!(r"{KRNLMGR_PARAMS}\PolicyFile"),
        Some(sz(TMS_POLICY)),
        Origin::Kernel(&in_config),
    );
    t += 33 * US;
    g.reg_query(
        p_ti,
        DOQE_TID,
        t,
        &format!(r"{KRNLMGR_PARAMS}\AllowedWriters"),
        Some((
            REG_MULTI_SZ,
            build::reg_multi_sz(&["C:\\Program Files\\TMS\\Agent\\tmsagent.exe"]),
        )),
        Origin::Kernel(&in_config),
    );
    t += 31 * US;
    g.reg_close(
        p_ti,
        DOQE_TID,
        t,
        KRNLMGR_PARAMS,
        Origin::Kernel(&in_config),
    );
    t += 118 * US;
    g.read_whole(
        p_ti,
        DOQE_TID,
        t,
        TMS_POLICY,
        1872,
        Origin::Kernel(&in_policy),
    );
    // setupapi gives up on the key and logs it
    let t = DENIED_TIME + DENIED_DURATION + 63 * US;
    g.reg_close(p_ti, DOQE_TID, t, &amdk8, Origin::User(TI_SETUPAPI_SERVICE));
    let t = g.append_log(
        p_ti,
        DOQE_TID,
        t + 310 * US,
        SETUPAPI_LOG,
        &mut setupapi_off,
        &[75, 82, 69, 59, 76, 64, 77, 70, 47],
        TI_SETUPAPI_LOG,
    );
    // 02:44:44 "INSTALL index: 0, phase: 2, result 5" ... 02:44:45 rollback begins
    let t = g.append_log(
        p_ti,
        DOQE_TID,
        t.max(CAPTURE_START + 14_012 * MS) + 2_311,
        CBS_LOG,
        &mut cbs_off,
        &[84],
        TI_CBS_LOG,
    );
    let t = g.append_log(
        p_ti,
        DOQE_TID,
        t.max(CAPTURE_START + 15_004 * MS) + 1_020,
        CBS_LOG,
        &mut cbs_off,
        &[118, 122, 87],
        TI_CBS_LOG,
    );
    // 02:44:46 "Doqe: [Rollback] Unstaging driver updates": the class key is restored
    let mut t = t.max(CAPTURE_START + 16_001 * MS) + 4_106;
    t = g.append_log(p_ti, DOQE_TID, t, CBS_LOG, &mut cbs_off, &[79], TI_CBS_LOG);
    g.reg_open(
        p_ti,
        DOQE_TID,
        t + 500 * US,
        CPU_CLASS,
        KEY_READ_WRITE,
        0,
        Origin::User(TI_DOQE),
    );
    let mut t = t + 560 * US;
    for (value, data) in [
        ("DriverVersion", sz("6.1.7600.16385")),
        ("DriverDate", sz("6-21-2006")),
    ] {
        let d = g.rng.range(40, 160);
        g.reg_set(
            p_ti,
            DOQE_TID,
            t,
            d,
            &format!(r"{CPU_CLASS}\{value}"),
            data,
            0,
            Origin::User(TI_DOQE),
        );
        t += g.rng.range(40, 120) * US;
    }
    g.reg_close(p_ti, DOQE_TID, t, CPU_CLASS, Origin::User(TI_DOQE));
    // 02:44:47 "Marked package Package_63_for_KB4474419~31bf3856ad364e35~x86~~6.1.3.2 as failed."
    let t = (t + 10 * MS).max(CAPTURE_START + 17_002 * MS) + 3_337;
    g.reg_set(
        p_ti,
        1472,
        t,
        180,
        &format!(
            r"{CBS_KEY}\PackageIndex\Package_63_for_KB4474419~31bf3856ad364e35~0.0.0.0\CurrentState"
        ),
        dword(0xFFFF_FFFB),
        0,
        Origin::User(TI_CBS_STARTUP),
    );
    g.append_log(
        p_ti,
        1472,
        t + 400 * US,
        CBS_LOG,
        &mut cbs_off,
        &[141],
        TI_CBS_LOG,
    );

    // ---- the benign denial: a Medium-IL task of alice --------------------------------------
    let sid_alice = build::sid(5, &[21, 3_623_811_015, 3_361_044_348, 30_300_820, 1013]);
    let sid_il_medium = build::sid(16, &[0x2000]);
    let sched_chain: Chain = &[
        ("schedsvc.dll", 0x5A1F0),
        ("schedsvc.dll", 0x41B2C),
        ("sechost.dll", 0x5B10),
        ("svchost.exe", 0x1175),
    ];
    g.spawn(
        p_netsvcs,
        1012,
        taskeng_start - 90 * US,
        p_taskeng,
        1692,
        (&sid_alice, &sid_il_medium),
        sched_chain,
        "C:\\Windows\\system32\\",
        &ALICE_ENV,
    );
    let mut t = taskeng_start + 400 * US;
    for dll in [
        "kernel32.dll",
        "KERNELBASE.dll",
        "ADVAPI32.dll",
        "msvcrt.dll",
        "sechost.dll",
        "RPCRT4.dll",
        "ole32.dll",
        "OLEAUT32.dll",
    ] {
        g.load_image(p_taskeng, 1692, t, dll, LoadHow::Import);
        t += g.rng.range(100, 500) * US;
    }
    g.spawn(
        p_taskeng,
        1692,
        inv_start - 80 * US,
        p_inv,
        1724,
        (&sid_alice, &sid_il_medium),
        TASKENG,
        "C:\\Program Files\\Contoso\\Inventory\\",
        &ALICE_ENV,
    );
    let mut t = inv_start + 350 * US;
    for dll in [
        "kernel32.dll",
        "KERNELBASE.dll",
        "ADVAPI32.dll",
        "msvcrt.dll",
        "sechost.dll",
        "RPCRT4.dll",
        "VERSION.dll",
        "WINHTTP.dll",
    ] {
        g.load_image(p_inv, 1724, t, dll, LoadHow::Import);
        t += g.rng.range(100, 500) * US;
    }
    let inv_hklm = r"HKLM\SOFTWARE\Contoso\Inventory";
    t += 4 * MS;
    g.reg_open(
        p_inv,
        1724,
        t,
        inv_hklm,
        KEY_READ,
        0,
        Origin::User(INVAGENT),
    );
    for (value, data) in [
        (
            "ServerUrl",
            Some(sz("https://inventory.contoso.example/api/v2")),
        ),
        ("Interval", Some(dword(86_400))),
        ("Proxy", None),
    ] {
        t += g.rng.range(20, 60) * US;
        g.reg_query(
            p_inv,
            1724,
            t,
            &format!(r"{inv_hklm}\{value}"),
            data,
            Origin::User(INVAGENT),
        );
    }
    g.reg_close(p_inv, 1724, t + 30 * US, inv_hklm, Origin::User(INVAGENT));
    t += 2 * MS;
    g.reg_open(
        p_inv,
        1724,
        t,
        r"HKLM\SOFTWARE\Policies\Contoso",
        KEY_READ,
        NAME_NOT_FOUND,
        Origin::User(INVAGENT),
    );
    t += 95 * US;
    // HKLM\SOFTWARE\Policies is writable by administrators and SYSTEM only: a Medium-IL user
    // asking for All Access is refused by the key's ACL.
    g.reg_create(
        p_inv,
        1724,
        t,
        BENIGN_DENIED_PATH,
        KEY_ALL_ACCESS,
        ACCESS_DENIED,
        0,
        Origin::User(INVAGENT),
    );
    t += 140 * US;
    let hkcu = r"HKCU\Software\Contoso\Inventory";
    g.reg_create(
        p_inv,
        1724,
        t,
        hkcu,
        KEY_ALL_ACCESS,
        0,
        1,
        Origin::User(INVAGENT),
    );
    t += 70 * US;
    g.reg_set(
        p_inv,
        1724,
        t,
        61,
        &format!(r"{hkcu}\LastBoot"),
        (
            REG_QWORD,
            (CAPTURE_START + 8_200 * MS).to_le_bytes().to_vec(),
        ),
        0,
        Origin::User(INVAGENT),
    );
    t += 45 * US;
    g.reg_close(p_inv, 1724, t, hkcu, Origin::User(INVAGENT));
    let mut inv_off: i64 = 48_213;
    g.append_log(
        p_inv,
        1724,
        t + 1_400 * US,
        r"C:\Users\alice\AppData\Local\Contoso\Inventory\invagent.log",
        &mut inv_off,
        &[96, 131],
        INVAGENT_LOG,
    );

    // ---- assemble ----------------------------------------------------------------------------
    let Gen {
        models, mut events, ..
    } = g;
    events.sort_by_key(|(e, _)| e.time);
    let mut model = PmlModel::new(false);
    model.computer_name = "CONTOSO-PC".into();
    model.system_root = "C:\\Windows".into();
    model.cpu_count = 1;
    model.ram_bytes = 2_146_369_536;
    model.processes = models;
    let mut notes = Vec::with_capacity(events.len());
    let ti_key = model
        .processes
        .iter()
        .find(|p| p.pid == TRUSTED_INSTALLER_PID)
        .map_or(0, |p| p.index);
    for (i, (mut e, mut n)) in events.into_iter().enumerate() {
        e.sequence = 7_311 + i as u32;
        n.nested_in_denial = e.process_index == ti_key
            && e.tid == DOQE_TID
            && e.time > DENIED_TIME
            && e.time < DENIED_TIME + DENIED_DURATION;
        model.events.push(e);
        notes.push(n);
    }
    (model, notes)
}
