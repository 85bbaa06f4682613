//! GUIDs as Windows stores them, and the kernel group → provider GUID table (`format-etl.md` §4.1).

use serde::{Serialize, Serializer};
use std::fmt;

/// A GUID in Windows memory layout (Data1..Data3 little-endian, Data4 as bytes), i.e. the
/// bytes exactly as they appear in an ETL file. Displays in the usual `8-4-4-4-12` form.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// The all-zero GUID (kernel groups without a known GUID).
    pub const NULL: Guid = Guid([0; 16]);

    /// Build from the four textual fields.
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Guid {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }

    /// Read 16 bytes at `o` of `b` (Windows layout).
    pub fn read(b: &[u8], o: usize) -> Option<Guid> {
        let s = b.get(o..o.checked_add(16)?)?;
        let mut g = [0u8; 16];
        g.copy_from_slice(s);
        Some(Guid(g))
    }

    /// Parse `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (braces optional, any case).
    pub fn parse(s: &str) -> Option<Guid> {
        let s = s.trim().trim_start_matches('{').trim_end_matches('}');
        let parts: Vec<&str> = s.split('-').collect();
        if parts.len() != 5 || parts.iter().map(|p| p.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12]
        {
            return None;
        }
        let d1 = u32::from_str_radix(parts[0], 16).ok()?;
        let d2 = u16::from_str_radix(parts[1], 16).ok()?;
        let d3 = u16::from_str_radix(parts[2], 16).ok()?;
        let tail = format!("{}{}", parts[3], parts[4]);
        let mut d4 = [0u8; 8];
        for (i, d) in d4.iter_mut().enumerate() {
            *d = u8::from_str_radix(tail.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Guid::from_fields(d1, d2, d3, d4))
    }

    /// True for the all-zero GUID.
    pub fn is_null(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = &self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
            u16::from_le_bytes([g[4], g[5]]),
            u16::from_le_bytes([g[6], g[7]]),
            g[8],
            g[9],
            g[10],
            g[11],
            g[12],
            g[13],
            g[14],
            g[15]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl Serialize for Guid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

macro_rules! guid {
    ($d1:expr, $d2:expr, $d3:expr, $d4:expr) => {
        Guid::from_fields($d1, $d2, $d3, $d4)
    };
}

/// EventTrace (group 0x00): logfile header, group masks.
pub const EVENT_TRACE: Guid = guid!(
    0x68fdd900,
    0x4a3e,
    0x11d1,
    [0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3]
);
/// DiskIo (group 0x01).
pub const DISK_IO: Guid = guid!(
    0x3d6fa8d4,
    0xfe05,
    0x11d0,
    [0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c]
);
/// PageFault (group 0x02).
pub const PAGE_FAULT: Guid = guid!(
    0x3d6fa8d3,
    0xfe05,
    0x11d0,
    [0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c]
);
/// Process (group 0x03).
pub const PROCESS: Guid = guid!(
    0x3d6fa8d0,
    0xfe05,
    0x11d0,
    [0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c]
);
/// FileIo (group 0x04), including the minifilter events 96–101.
pub const FILE_IO: Guid = guid!(
    0x90cbdc39,
    0x4a3e,
    0x11d1,
    [0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3]
);
/// Thread (group 0x05).
pub const THREAD: Guid = guid!(
    0x3d6fa8d1,
    0xfe05,
    0x11d0,
    [0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c]
);
/// TcpIp (group 0x06).
pub const TCP_IP: Guid = guid!(
    0x9a280ac0,
    0xc8e0,
    0x11d1,
    [0x84, 0xe2, 0x00, 0xc0, 0x4f, 0xb9, 0x98, 0xa2]
);
/// Job (group 0x07).
pub const JOB: Guid = guid!(
    0x3282fc76,
    0xfeed,
    0x498e,
    [0x8a, 0xa7, 0xe7, 0x0f, 0x45, 0x9d, 0x43, 0x0e]
);
/// UdpIp (group 0x08).
pub const UDP_IP: Guid = guid!(
    0xbf3a50c5,
    0xa9c9,
    0x4988,
    [0xa0, 0x05, 0x2d, 0xf0, 0xb7, 0xc8, 0x0f, 0x80]
);
/// Registry (group 0x09).
pub const REGISTRY: Guid = guid!(
    0xae53722e,
    0xc863,
    0x11d2,
    [0x86, 0x59, 0x00, 0xc0, 0x4f, 0xa3, 0x21, 0xa1]
);
/// DbgPrint (group 0x0A).
pub const DBG_PRINT: Guid = guid!(
    0x13976d09,
    0xa327,
    0x438c,
    [0x95, 0x0b, 0x7f, 0x03, 0x19, 0x28, 0x15, 0xc7]
);
/// SysConfig (group 0x0B).
pub const SYS_CONFIG: Guid = guid!(
    0x01853a65,
    0x418f,
    0x4f36,
    [0xae, 0xfc, 0xdc, 0x0f, 0x1d, 0x2f, 0xd2, 0x35]
);
/// EventTrace spare (group 0x0C).
pub const SPARE1: Guid = guid!(
    0x99134383,
    0x5248,
    0x43fc,
    [0x83, 0x4b, 0x52, 0x94, 0x54, 0xe7, 0x5d, 0xf3]
);
/// Wnf (group 0x0D).
pub const WNF: Guid = guid!(
    0x42695762,
    0xea50,
    0x497a,
    [0x90, 0x68, 0x5c, 0xbb, 0xb3, 0x5e, 0x0b, 0x95]
);
/// Pool (group 0x0E).
pub const POOL: Guid = guid!(
    0x0268a8b6,
    0x74fd,
    0x4302,
    [0x9d, 0xd0, 0x6e, 0x8f, 0x17, 0x95, 0xc0, 0xcf]
);
/// PerfInfo (group 0x0F).
pub const PERF_INFO: Guid = guid!(
    0xce1dbfb4,
    0x137e,
    0x4da6,
    [0x87, 0xb0, 0x3f, 0x59, 0xaa, 0x10, 0x2c, 0xbc]
);
/// Heap (group 0x10).
pub const HEAP: Guid = guid!(
    0x222962ab,
    0x6180,
    0x4b88,
    [0xa8, 0x25, 0x34, 0x6b, 0x75, 0xf2, 0xa2, 0x4a]
);
/// Object (group 0x11).
pub const OBJECT: Guid = guid!(
    0x89497f50,
    0xeffe,
    0x4440,
    [0x8c, 0xf2, 0xce, 0x6b, 0x1c, 0xdc, 0xac, 0xa7]
);
/// Power (group 0x12).
pub const POWER: Guid = guid!(
    0xe43445e0,
    0x0903,
    0x48c3,
    [0xb8, 0x78, 0xff, 0x0f, 0xcc, 0xeb, 0xdd, 0x04]
);
/// ModBound (group 0x13).
pub const MOD_BOUND: Guid = guid!(
    0xa9152f00,
    0x3f58,
    0x4bee,
    [0x92, 0xa1, 0x70, 0xc7, 0xd0, 0x79, 0xd5, 0xdd]
);
/// Image (group 0x14; Image Load is logged as group 0x03 type 10).
pub const IMAGE: Guid = guid!(
    0x2cb15d1d,
    0x5fc1,
    0x11d2,
    [0xab, 0xe1, 0x00, 0xa0, 0xc9, 0x11, 0xf5, 0x18]
);
/// Dpc (group 0x15).
pub const DPC: Guid = guid!(
    0xb2d14872,
    0x7c5b,
    0x463d,
    [0x84, 0x19, 0xee, 0x9b, 0xf7, 0xd2, 0x3e, 0x04]
);
/// Cc (group 0x16).
pub const CC: Guid = guid!(
    0x7687a439,
    0xf752,
    0x45b8,
    [0xb7, 0x41, 0x32, 0x1a, 0xec, 0x0f, 0x8d, 0xf9]
);
/// CritSec (group 0x17).
pub const CRIT_SEC: Guid = guid!(
    0x3ac66736,
    0xcc59,
    0x4cff,
    [0x81, 0x15, 0x8d, 0xf5, 0x0e, 0x39, 0x81, 0x6b]
);
/// StackWalk (group 0x18).
pub const STACK_WALK: Guid = guid!(
    0xdef2fe46,
    0x7bd6,
    0x4b80,
    [0xbd, 0x94, 0xf5, 0x7f, 0xe2, 0x0d, 0x0c, 0xe3]
);
/// Ums (group 0x19).
pub const UMS: Guid = guid!(
    0x9aec974b,
    0x5b8e,
    0x4118,
    [0x9b, 0x92, 0x31, 0x86, 0xd8, 0x00, 0x2c, 0xe5]
);
/// ALPC (group 0x1A).
pub const ALPC: Guid = guid!(
    0x45d8cccd,
    0x539f,
    0x4b72,
    [0xa8, 0xb7, 0x5c, 0x68, 0x31, 0x42, 0x60, 0x9a]
);
/// SplitIo (group 0x1B).
pub const SPLIT_IO: Guid = guid!(
    0xd837ca92,
    0x12b9,
    0x44a5,
    [0xad, 0x6a, 0x3a, 0x65, 0xb3, 0x57, 0x8a, 0xa8]
);
/// ThreadPool (group 0x1C).
pub const THREAD_POOL: Guid = guid!(
    0xc861d0e2,
    0xa2c1,
    0x4d36,
    [0x9f, 0x9c, 0x97, 0x0b, 0xab, 0x94, 0x3a, 0x12]
);
/// Hypervisor (group 0x1D).
pub const HYPERVISOR: Guid = guid!(
    0x7f2a405c,
    0x69b5,
    0x4bf9,
    [0xa1, 0xf5, 0x30, 0xe8, 0xf1, 0xaf, 0xab, 0x5e]
);
/// HypervisorX (group 0x1E).
pub const HYPERVISOR_X: Guid = guid!(
    0x2ce9a149,
    0xeffe,
    0x42f0,
    [0xa6, 0x35, 0xa1, 0xd3, 0x9e, 0x26, 0xc8, 0xf2]
);

/// Group byte → (GUID, name). Groups ≥ 0x1F have no known GUID (null).
const GROUPS: [(Guid, &str); 31] = [
    (EVENT_TRACE, "EventTrace"),
    (DISK_IO, "DiskIo"),
    (PAGE_FAULT, "PageFault"),
    (PROCESS, "Process"),
    (FILE_IO, "FileIo"),
    (THREAD, "Thread"),
    (TCP_IP, "TcpIp"),
    (JOB, "Job"),
    (UDP_IP, "UdpIp"),
    (REGISTRY, "Registry"),
    (DBG_PRINT, "DbgPrint"),
    (SYS_CONFIG, "SysConfig"),
    (SPARE1, "EventTraceSpare1"),
    (WNF, "Wnf"),
    (POOL, "Pool"),
    (PERF_INFO, "PerfInfo"),
    (HEAP, "Heap"),
    (OBJECT, "Object"),
    (POWER, "Power"),
    (MOD_BOUND, "ModBound"),
    (IMAGE, "Image"),
    (DPC, "Dpc"),
    (CC, "Cc"),
    (CRIT_SEC, "CritSec"),
    (STACK_WALK, "StackWalk"),
    (UMS, "Ums"),
    (ALPC, "ALPC"),
    (SPLIT_IO, "SplitIo"),
    (THREAD_POOL, "ThreadPool"),
    (HYPERVISOR, "Hypervisor"),
    (HYPERVISOR_X, "HypervisorX"),
];

/// Group byte of the Image provider.
pub const GROUP_IMAGE: u8 = 0x14;

/// Group that a kernel event really belongs to: Image Load is logged as group 3 type 10 and
/// belongs to Image (§3.7).
#[inline]
pub fn effective_group(group: u8, opcode: u8) -> u8 {
    if group == 3 && opcode == 10 {
        GROUP_IMAGE
    } else {
        group
    }
}

/// Provider GUID of a kernel (SYSTEM/COMPACT/PERFINFO) event (§4.1, with the Image Load rule).
#[inline]
pub fn kernel_guid(group: u8, opcode: u8) -> Guid {
    GROUPS
        .get(effective_group(group, opcode) as usize)
        .map(|g| g.0)
        .unwrap_or(Guid::NULL)
}

/// Name of a kernel group byte (`"Group0x2A"` when unknown).
pub fn group_name(group: u8) -> String {
    GROUPS
        .get(group as usize)
        .map(|g| g.1.to_string())
        .unwrap_or_else(|| format!("Group{group:#04x}"))
}

/// Name of a provider GUID when it is a kernel group's or a well-known one.
pub fn provider_name(g: &Guid) -> Option<&'static str> {
    if let Some((_, n)) = GROUPS.iter().find(|(k, _)| k == g) {
        return Some(n);
    }
    let known: [(Guid, &str); 8] = [
        (
            guid!(
                0xb3e675d7,
                0x2554,
                0x4f18,
                [0x83, 0x0b, 0x27, 0x62, 0x73, 0x25, 0x60, 0xde]
            ),
            "KernelTraceControl",
        ),
        (
            guid!(
                0x9b79ee91,
                0xb5fd,
                0x41c0,
                [0xa2, 0x43, 0x42, 0x48, 0xe2, 0x66, 0xe9, 0xd0]
            ),
            "SysConfigEx",
        ),
        (
            guid!(
                0xe13c0d23,
                0xccbc,
                0x4e12,
                [0x93, 0x1b, 0xd9, 0xcc, 0x2e, 0xee, 0x27, 0xe4]
            ),
            "Microsoft-Windows-DotNETRuntime",
        ),
        (
            guid!(
                0xa669021c,
                0xc450,
                0x4609,
                [0xa0, 0x35, 0x5a, 0xf5, 0x9a, 0xf4, 0xdf, 0x18]
            ),
            "Microsoft-Windows-DotNETRuntimeRundown",
        ),
        (
            guid!(
                0x763fd754,
                0x7086,
                0x4dfe,
                [0x95, 0xeb, 0xc0, 0x1a, 0x46, 0xfa, 0xf4, 0xca]
            ),
            "Microsoft-Windows-DotNETRuntimePrivate",
        ),
        (
            guid!(
                0xedd08927,
                0x9cc4,
                0x4e65,
                [0xb9, 0x70, 0xc2, 0x56, 0x0f, 0xb5, 0xc2, 0x89]
            ),
            "Microsoft-Windows-Kernel-File",
        ),
        (
            guid!(
                0x22fb2cd6,
                0x0e7b,
                0x422b,
                [0xa0, 0xc7, 0x2f, 0xad, 0x1f, 0xd0, 0xe7, 0x16]
            ),
            "Microsoft-Windows-Kernel-Process",
        ),
        (
            guid!(
                0x70eb4f03,
                0xc1de,
                0x4f73,
                [0xa0, 0x51, 0x33, 0xd1, 0x3d, 0x54, 0x13, 0xbd]
            ),
            "Microsoft-Windows-Kernel-Registry",
        ),
    ];
    known.iter().find(|(k, _)| k == g).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse() {
        assert_eq!(FILE_IO.to_string(), "90cbdc39-4a3e-11d1-84f4-0000f80464e3");
        assert_eq!(
            Guid::parse("{90CBDC39-4A3E-11D1-84F4-0000F80464E3}"),
            Some(FILE_IO)
        );
        assert_eq!(kernel_guid(3, 10), IMAGE);
        assert_eq!(kernel_guid(3, 1), PROCESS);
        assert_eq!(kernel_guid(0x40, 1), Guid::NULL);
    }

    #[test]
    fn group_table_matches_format_doc() {
        // format-etl.md §4.1, groups 0x00..0x1E (0x0C from dissect.etl's table).
        let doc = [
            "68fdd900-4a3e-11d1-84f4-0000f80464e3",
            "3d6fa8d4-fe05-11d0-9dda-00c04fd7ba7c",
            "3d6fa8d3-fe05-11d0-9dda-00c04fd7ba7c",
            "3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c",
            "90cbdc39-4a3e-11d1-84f4-0000f80464e3",
            "3d6fa8d1-fe05-11d0-9dda-00c04fd7ba7c",
            "9a280ac0-c8e0-11d1-84e2-00c04fb998a2",
            "3282fc76-feed-498e-8aa7-e70f459d430e",
            "bf3a50c5-a9c9-4988-a005-2df0b7c80f80",
            "ae53722e-c863-11d2-8659-00c04fa321a1",
            "13976d09-a327-438c-950b-7f03192815c7",
            "01853a65-418f-4f36-aefc-dc0f1d2fd235",
            "99134383-5248-43fc-834b-529454e75df3",
            "42695762-ea50-497a-9068-5cbbb35e0b95",
            "0268a8b6-74fd-4302-9dd0-6e8f1795c0cf",
            "ce1dbfb4-137e-4da6-87b0-3f59aa102cbc",
            "222962ab-6180-4b88-a825-346b75f2a24a",
            "89497f50-effe-4440-8cf2-ce6b1cdcaca7",
            "e43445e0-0903-48c3-b878-ff0fccebdd04",
            "a9152f00-3f58-4bee-92a1-70c7d079d5dd",
            "2cb15d1d-5fc1-11d2-abe1-00a0c911f518",
            "b2d14872-7c5b-463d-8419-ee9bf7d23e04",
            "7687a439-f752-45b8-b741-321aec0f8df9",
            "3ac66736-cc59-4cff-8115-8df50e39816b",
            "def2fe46-7bd6-4b80-bd94-f57fe20d0ce3",
            "9aec974b-5b8e-4118-9b92-3186d8002ce5",
            "45d8cccd-539f-4b72-a8b7-5c683142609a",
            "d837ca92-12b9-44a5-ad6a-3a65b3578aa8",
            "c861d0e2-a2c1-4d36-9f9c-970bab943a12",
            "7f2a405c-69b5-4bf9-a1f5-30e8f1afab5e",
            "2ce9a149-effe-42f0-a635-a1d39e26c8f2",
        ];
        for (g, s) in doc.iter().enumerate() {
            assert_eq!(kernel_guid(g as u8, 0).to_string(), *s, "group {g:#x}");
        }
    }
}
