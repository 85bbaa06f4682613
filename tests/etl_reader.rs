//! ETL reader on synthetic files: what the public corpus does not contain (format-etl.md §8:
//! COMPACT / INSTANCE / MESSAGE headers, PEBS/PMC extensions, clock types 2 and 3, FileIo
//! operations, Registry, minifilter, Object events), Xpress edge cases, and corrupt input
//! (the reader must never panic).

mod common;

use fltblame::etl::export::{export, ExportFormat, ExportOptions};
use fltblame::etl::kernel::{KernelEvent, KeyName, MinifilterLayout};
use fltblame::etl::{xpress, ClockType, Etl, HeaderKind};

// ---------------------------------------------------------------------------------------
// A minimal ETL writer for the tests.

fn le16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn le32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn le64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn wstr(v: &mut Vec<u8>, s: &str) {
    for u in s.encode_utf16() {
        le16(v, u);
    }
    le16(v, 0);
}
fn ptr(v: &mut Vec<u8>, x: u64, p: usize) {
    if p == 4 {
        le32(v, x as u32)
    } else {
        le64(v, x)
    }
}

/// A kernel event with a SYSTEM (0x02/0x01), COMPACT (0x04/0x03) or PERFINFO (0x11/0x10) header.
#[allow(clippy::too_many_arguments)]
fn kernel_event(
    htype: u8,
    group: u8,
    opcode: u8,
    version: u8,
    ext_flags: u8,
    pid: u32,
    tid: u32,
    ts: u64,
    ext: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let hsize = match htype {
        0x01 | 0x02 => 0x20,
        0x03 | 0x04 => 0x18,
        _ => 0x10,
    };
    let size = hsize + ext.len() + payload.len();
    let mut v = vec![version, ext_flags, htype, 0xC0];
    le16(&mut v, size as u16);
    v.push(opcode);
    v.push(group);
    if hsize == 0x10 {
        le64(&mut v, ts);
    } else {
        le32(&mut v, tid);
        le32(&mut v, pid);
        le64(&mut v, ts);
        if hsize == 0x20 {
            le64(&mut v, 0);
        }
    }
    v.extend_from_slice(ext);
    v.extend_from_slice(payload);
    v
}

fn sys(group: u8, opcode: u8, version: u8, ts: u64, payload: &[u8]) -> Vec<u8> {
    kernel_event(0x02, group, opcode, version, 0, 100, 200, ts, &[], payload)
}

fn logfile_header(ts: u64, clock: u32, freq: u64, mhz: u32, ptr_size: usize) -> Vec<u8> {
    let p = ptr_size;
    let mut v = Vec::new();
    le32(&mut v, 65536); // BufferSize
    v.extend_from_slice(&[10, 0, 1, 5]); // Version
    le32(&mut v, 19041);
    le32(&mut v, 2); // CPUs
    le64(&mut v, 132_404_548_306_935_923); // EndTime
    le32(&mut v, 156_250);
    le32(&mut v, 0);
    le32(&mut v, 0x0000_0001); // LogFileMode
    le32(&mut v, 3);
    le32(&mut v, 1);
    le32(&mut v, p as u32);
    le32(&mut v, 0);
    le32(&mut v, mhz);
    ptr(&mut v, 0, p);
    ptr(&mut v, 0, p);
    // TIME_ZONE_INFORMATION (0xAC)
    let tz_start = v.len();
    le32(&mut v, 480i32 as u32);
    let mut name = Vec::new();
    wstr(&mut name, "Pacific Standard Time");
    name.resize(64, 0);
    v.extend_from_slice(&name);
    v.resize(tz_start + 0xAC, 0);
    while v.len() % 8 != 0 {
        v.push(0);
    }
    le64(&mut v, 132_404_546_264_872_939); // BootTime
    le64(&mut v, freq);
    le64(&mut v, 132_404_548_206_236_167); // StartTime
    le32(&mut v, clock);
    le32(&mut v, 0);
    wstr(&mut v, "Test Logger");
    wstr(&mut v, "C:\\t.etl");
    let htype = if p == 4 { 0x01 } else { 0x02 };
    kernel_event(htype, 0, 0, 2, 0, 0, 0, ts, &[], &v)
}

struct Buf {
    cpu: u16,
    events: Vec<Vec<u8>>,
    compress: bool,
    size: usize,
}

fn buf(cpu: u16, events: Vec<Vec<u8>>) -> Buf {
    Buf {
        cpu,
        events,
        compress: false,
        size: 4096,
    }
}

fn file(bufs: &[Buf]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, b) in bufs.iter().enumerate() {
        let mut body = Vec::new();
        for e in &b.events {
            body.extend_from_slice(e);
            while body.len() % 8 != 0 {
                body.push(0);
            }
        }
        let fill = 0x48 + body.len();
        let (stored, flags) = if b.compress {
            (compress(&body), 0x60u16)
        } else {
            let mut s = body.clone();
            s.resize(b.size.max(fill) - 0x48, 0xFF);
            (s, 0x20u16)
        };
        let mut h = Vec::new();
        le32(&mut h, (0x48 + stored.len()) as u32);
        le32(&mut h, fill as u32);
        le32(&mut h, 0);
        le32(&mut h, 0);
        le64(&mut h, 1000 + i as u64);
        le64(&mut h, i as u64);
        le64(&mut h, 0);
        le16(&mut h, b.cpu);
        le16(&mut h, 1);
        le32(&mut h, 3);
        le32(&mut h, fill as u32);
        le16(&mut h, flags | if i == 0 { 1 } else { 0 });
        le16(&mut h, if i == 0 { 4 } else { 0 });
        h.resize(0x48, 0);
        out.extend_from_slice(&h);
        out.extend_from_slice(&stored);
    }
    out
}

/// Greedy MS-XCA plain LZ77 encoder (written for these tests from [MS-XCA] §2.3), exercising
/// literal runs, short matches, the shared half-byte, and the 8/16/32-bit length escapes.
fn compress(input: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 4];
    let mut flag_pos = 0usize;
    let mut flags: u32 = 0;
    let mut nflags = 0u32;
    let mut half: Option<usize> = None;
    let mut i = 0;
    let push_flag =
        |out: &mut Vec<u8>, flags: &mut u32, nflags: &mut u32, flag_pos: &mut usize, bit: u32| {
            *flags = (*flags << 1) | bit;
            *nflags += 1;
            if *nflags == 32 {
                out[*flag_pos..*flag_pos + 4].copy_from_slice(&flags.to_le_bytes());
                *flag_pos = out.len();
                out.extend_from_slice(&[0; 4]);
                *flags = 0;
                *nflags = 0;
            }
        };
    while i < input.len() {
        // Longest match within 8 KiB back (min length 3).
        let (mut best_len, mut best_off) = (0, 0);
        let start = i.saturating_sub(8191);
        for j in start..i {
            let mut l = 0;
            while i + l < input.len() && input[j + l] == input[i + l] && l < 70_000 {
                l += 1;
            }
            if l > best_len {
                best_len = l;
                best_off = i - j;
            }
        }
        if best_len >= 3 {
            let len = best_len - 3;
            let off = (best_off - 1) << 3;
            if len < 7 {
                le16(&mut out, (off | len) as u16);
            } else {
                le16(&mut out, (off | 7) as u16);
                let rest = len - 7;
                let nib = rest.min(15);
                match half.take() {
                    None => {
                        half = Some(out.len());
                        out.push(nib as u8);
                    }
                    Some(p) => out[p] |= (nib as u8) << 4,
                }
                if rest >= 15 {
                    let rest = rest - 15;
                    if rest < 255 {
                        out.push(rest as u8);
                    } else {
                        out.push(255);
                        let total = best_len - 3;
                        if total < 65536 {
                            le16(&mut out, total as u16);
                        } else {
                            le16(&mut out, 0);
                            le32(&mut out, total as u32);
                        }
                    }
                }
            }
            push_flag(&mut out, &mut flags, &mut nflags, &mut flag_pos, 1);
            i += best_len;
        } else {
            out.push(input[i]);
            push_flag(&mut out, &mut flags, &mut nflags, &mut flag_pos, 0);
            i += 1;
        }
    }
    // Terminate: remaining flag bits set to 1.
    let rem = 32 - nflags;
    flags = (flags << rem) | ((1u64 << rem) - 1) as u32;
    out[flag_pos..flag_pos + 4].copy_from_slice(&flags.to_le_bytes());
    out
}

fn open(bytes: Vec<u8>) -> Etl {
    Etl::open_bytes(bytes)
}

trait OpenBytes {
    fn open_bytes(bytes: Vec<u8>) -> Etl;
}
impl OpenBytes for Etl {
    fn open_bytes(bytes: Vec<u8>) -> Etl {
        Etl::from_bytes("synthetic.etl", bytes).unwrap()
    }
}

fn all_events(etl: &Etl) -> Vec<(HeaderKind, u64, Option<u32>, Vec<u8>)> {
    let mut v = Vec::new();
    let problems =
        etl.for_each_merged(|e| v.push((e.kind(), e.timestamp(), e.pid(), e.payload().to_vec())));
    assert!(problems.is_empty(), "{problems:?}");
    v
}

// ---------------------------------------------------------------------------------------

#[test]
fn header_kinds_and_extensions() {
    let pebs_pmc = {
        let mut e = Vec::new();
        le64(&mut e, 0xAAAA); // PEBS index
        le64(&mut e, 11); // PMC 1
        le64(&mut e, 22); // PMC 2
        e
    };
    // EVENT_HEADER with two extended items (related activity id, STACK_TRACE64).
    let mut eh = Vec::new();
    let mut items = Vec::new();
    {
        le16(&mut items, 8 + 16);
        le16(&mut items, 1);
        le16(&mut items, 1); // linkage
        le16(&mut items, 16);
        items.extend_from_slice(&[7; 16]);
        le16(&mut items, 8 + 24);
        le16(&mut items, 6);
        le16(&mut items, 0);
        le16(&mut items, 24);
        le64(&mut items, 99);
        le64(&mut items, 0xFFFF_F800_0000_1000);
        le64(&mut items, 0x7FF6_0000_2000);
    }
    let payload = b"hello".to_vec();
    {
        let size = 0x50 + items.len() + payload.len();
        le16(&mut eh, size as u16);
        eh.push(0x13);
        eh.push(0xC0);
        le16(&mut eh, 1); // flags: extended info
        le16(&mut eh, 0);
        le32(&mut eh, 7); // tid
        le32(&mut eh, 8); // pid
        le64(&mut eh, 30);
        eh.extend_from_slice(&[0x11; 16]); // provider
        le16(&mut eh, 42); // id
        eh.push(3); // version
        eh.push(0);
        eh.push(4); // level
        eh.push(1); // opcode
        le16(&mut eh, 5);
        le64(&mut eh, 0x8000);
        le64(&mut eh, 0);
        eh.extend_from_slice(&[0; 16]);
        eh.extend_from_slice(&items);
        eh.extend_from_slice(&payload);
    }
    // INSTANCE64 (0x48 header).
    let mut inst = Vec::new();
    {
        le16(&mut inst, 0x48 + 4);
        inst.push(0x15);
        inst.push(0xC0);
        inst.push(9); // type
        inst.push(2); // level
        le16(&mut inst, 1); // version
        le32(&mut inst, 5);
        le32(&mut inst, 6);
        le64(&mut inst, 40);
        inst.extend_from_slice(&[0x22; 16]);
        le64(&mut inst, 0);
        le32(&mut inst, 77);
        le32(&mut inst, 78);
        inst.extend_from_slice(&[0x33; 16]);
        le32(&mut inst, 0xDEAD);
    }
    // MESSAGE with GUID, timestamp and system info.
    let mut msg = Vec::new();
    {
        let size = 8 + 16 + 8 + 8 + 3;
        le16(&mut msg, size as u16);
        msg.push(0);
        msg.push(0x90);
        le16(&mut msg, 17); // message number
        le16(&mut msg, 0x02 | 0x08 | 0x20);
        msg.extend_from_slice(&[0x44; 16]);
        le64(&mut msg, 50);
        le32(&mut msg, 9); // tid
        le32(&mut msg, 10); // pid
        msg.extend_from_slice(b"abc");
    }
    // A message without timestamp takes the previous event's time.
    let mut msg2 = Vec::new();
    {
        le16(&mut msg2, 8 + 1);
        msg2.push(0);
        msg2.push(0x90);
        le16(&mut msg2, 18);
        le16(&mut msg2, 0);
        msg2.push(b'z');
    }
    // Unknown header type 0x0D (ERROR): skipped by size, still counted.
    let mut err = Vec::new();
    le16(&mut err, 16);
    err.push(0x0D);
    err.push(0xC0);
    err.extend_from_slice(&[0; 12]);

    let f = file(&[buf(
        0,
        vec![
            logfile_header(1, 1, 10_000_000, 3000, 8),
            kernel_event(0x11, 0x0F, 46, 2, 0x82, 0, 0, 10, &pebs_pmc, &[1, 2, 3, 4]),
            kernel_event(0x04, 0x05, 36, 3, 0, 55, 66, 20, &[], &[9; 24]),
            eh,
            inst,
            msg,
            msg2,
            err,
        ],
    )]);
    let etl = open(f);
    let mut seen = Vec::new();
    etl.for_each_in_file_order(|e| {
        seen.push(e.kind());
        match e.kind() {
            HeaderKind::PerfInfo64 => {
                assert_eq!(e.pebs_index(), Some(0xAAAA));
                assert_eq!(e.pmc_counters().collect::<Vec<_>>(), vec![11, 22]);
                assert_eq!(e.payload(), &[1, 2, 3, 4]);
                assert_eq!(e.version(), 2);
                assert_eq!(e.pid(), None);
            }
            HeaderKind::Compact64 => {
                assert_eq!((e.pid(), e.tid(), e.timestamp()), (Some(55), Some(66), 20));
                assert_eq!(e.payload().len(), 24);
            }
            HeaderKind::EventHeader64 => {
                assert_eq!(
                    (e.key_id(), e.version(), e.level(), e.opcode()),
                    (42, 3, 4, 1)
                );
                assert_eq!(e.payload(), b"hello");
                let items: Vec<_> = e.extended_items().collect();
                assert_eq!(items.len(), 2);
                let (id, frames) = items[1].stack().unwrap();
                assert_eq!(
                    (id, frames.len(), frames.get(1)),
                    (99, 2, Some(0x7FF6_0000_2000))
                );
            }
            HeaderKind::Instance64 => {
                assert_eq!(e.instance().map(|i| (i.0, i.1)), Some((77, 78)));
                assert_eq!((e.opcode(), e.level(), e.version()), (9, 2, 1));
                assert_eq!(e.payload(), &0xDEADu32.to_le_bytes());
            }
            HeaderKind::Message => {
                if e.key_id() == 17 {
                    assert_eq!((e.timestamp(), e.pid(), e.tid()), (50, Some(10), Some(9)));
                    assert_eq!(e.payload(), b"abc");
                    assert_eq!(e.provider().0, [0x44; 16]);
                } else {
                    assert_eq!((e.timestamp(), e.payload()), (50, &b"z"[..]));
                }
            }
            _ => {}
        }
    });
    use HeaderKind::*;
    assert_eq!(
        seen,
        vec![
            System64,
            PerfInfo64,
            Compact64,
            EventHeader64,
            Instance64,
            Message,
            Message,
            Error
        ]
    );
    let info = fltblame::etl::info(&etl);
    assert_eq!(info.events, 8);
    assert_eq!(info.problem_count, 0);
}

#[test]
fn clock_types() {
    for (clock, freq, mhz, raw, expect) in [
        (1u32, 3_000_000u64, 0u32, 3_000_000u64 + 1000, 10_000_000u64),
        (2, 0, 0, 1000 + 12_345, 12_345),
        (3, 0, 2000, 1000 + 2_000_000_000, 10_000_000),
    ] {
        let f = file(&[buf(
            0,
            vec![
                logfile_header(1000, clock, freq, mhz, 8),
                sys(5, 1, 3, raw, &[0; 8]),
            ],
        )]);
        let etl = open(f);
        assert_eq!(
            etl.header().clock_type,
            match clock {
                1 => ClockType::Qpc,
                2 => ClockType::SystemTime,
                _ => ClockType::CpuCycles,
            }
        );
        let ft = etl.clock().filetime(raw);
        assert_eq!(ft - etl.header().start_time, expect, "clock {clock}");
    }
}

#[test]
fn thirty_two_bit_logfile_header_and_pointers() {
    // Image DCStart with 4-byte pointers (SYSTEM32 header).
    let mut img = Vec::new();
    ptr(&mut img, 0x8000_1000, 4);
    ptr(&mut img, 0x2000, 4);
    le32(&mut img, 0);
    le32(&mut img, 0);
    le32(&mut img, 0x5000_0000);
    le32(&mut img, 0);
    ptr(&mut img, 0, 4);
    img.extend_from_slice(&[0; 16]);
    wstr(&mut img, "\\SystemRoot\\System32\\drivers\\krnlflt.sys");
    let f = file(&[buf(
        0,
        vec![
            logfile_header(1, 1, 10_000_000, 0, 4),
            kernel_event(0x01, 0x14, 3, 2, 0, 0, 0, 5, &[], &img),
        ],
    )]);
    let etl = open(f);
    assert_eq!(
        (etl.header().pointer_size, etl.header().header_bits),
        (4, 32)
    );
    assert_eq!(etl.header().logger_name, "Test Logger");
    assert_eq!(
        etl.header().time_zone.standard_name,
        "Pacific Standard Time"
    );
    let mut n = 0;
    etl.for_each_in_file_order(|e| {
        if let Ok(Some(KernelEvent::Image(i))) = etl.decode(e) {
            n += 1;
            assert_eq!(
                (i.image_base.0, i.image_size, i.pid),
                (0x8000_1000, 0x2000, 0)
            );
            assert_eq!(
                i.file_name.to_string(),
                "\\SystemRoot\\System32\\drivers\\krnlflt.sys"
            );
        }
    });
    assert_eq!(n, 1);
}

fn flt(ps: usize, initial: Option<(u64, bool)>, status: Option<u32>, routine: u64) -> Vec<u8> {
    let mut v = Vec::new();
    if let Some((t, true)) = initial {
        le64(&mut v, t);
    }
    ptr(&mut v, routine, ps);
    ptr(
        &mut v,
        0xFFFF_C000_0000_2000 & if ps == 4 { 0xFFFF_FFFF } else { u64::MAX },
        ps,
    );
    ptr(&mut v, 0x3000, ps);
    ptr(&mut v, 0x4000, ps);
    ptr(&mut v, 0x5000, ps);
    le32(&mut v, 0xFFFF_FFF3); // -13: FAST_IO_CHECK_IF_POSSIBLE
    if let Some(s) = status {
        le32(&mut v, s);
    }
    if let Some((t, false)) = initial {
        le64(&mut v, t);
    }
    v
}

#[test]
fn minifilter_layouts_by_length() {
    let k = 0xFFFF_F801_2345_6789u64;
    let evs = vec![
        logfile_header(1000, 1, 10_000_000, 0, 8),
        sys(4, 96, 3, 2000, &flt(8, None, None, k)),
        sys(4, 97, 3, 2001, &flt(8, None, Some(0), k)),
        sys(4, 98, 3, 2002, &flt(8, Some((1500, true)), None, k)),
        sys(4, 99, 3, 2003, &flt(8, Some((1600, false)), None, k)),
        sys(4, 100, 3, 2004, &flt(8, None, Some(0xC000_0022), k)),
        // A completion whose RoutineAddr is not a kernel address: flagged implausible.
        sys(4, 98, 3, 2005, &flt(8, Some((1500, true)), None, 0x1234)),
        kernel_event(
            0x01,
            4,
            101,
            3,
            0,
            1,
            2,
            2006,
            &[],
            &flt(4, None, Some(0xC000_0022), 0x8012_3456),
        ),
        kernel_event(
            0x01,
            4,
            99,
            3,
            0,
            1,
            2,
            2007,
            &[],
            &flt(4, Some((1700, true)), None, 0x8012_3456),
        ),
        kernel_event(
            0x11,
            4,
            100,
            3,
            0,
            0,
            0,
            2008,
            &[],
            &flt(8, None, Some(1), k)[..40],
        ),
    ];
    let etl = open(file(&[buf(0, evs)]));
    let mut got = Vec::new();
    let mut errors = 0;
    etl.for_each_in_file_order(|e| match etl.decode(e) {
        Ok(Some(KernelEvent::Minifilter(m))) => got.push(m),
        Err(_) => errors += 1,
        _ => {}
    });
    assert_eq!(errors, 1, "the 40-byte failure payload is short");
    let layouts: Vec<_> = got
        .iter()
        .map(|m| (m.opcode, m.layout, m.plausible))
        .collect();
    use MinifilterLayout::*;
    assert_eq!(
        layouts,
        vec![
            (96, Operation, true),
            (97, OperationStatus, true),
            (98, TimeFirst, true),
            (99, TimeLast, true),
            (100, OperationStatus, true),
            (98, TimeFirst, false),
            (101, OperationStatus, true),
            (99, TimeFirst, true),
        ]
    );
    for m in &got {
        assert_eq!(m.major_function, -13);
        assert_eq!(
            (m.file_context.0, m.irp.0, m.callback_data.0),
            (0x3000, 0x4000, 0x5000)
        );
    }
    assert_eq!(got[2].initial_time, Some(1500));
    assert_eq!(got[3].initial_time, Some(1600));
    assert_eq!(got[4].status, Some(0xC000_0022));
    assert_eq!(got[6].routine.0, 0x8012_3456);
    assert_eq!(got[7].initial_time, Some(1700));
}

#[test]
fn fileio_operations_v2_and_v3() {
    let p = 8;
    let mut create3 = Vec::new();
    ptr(&mut create3, 0x1111, p); // irp
    ptr(&mut create3, 0x2222, p); // file object
    le32(&mut create3, 4321); // ttid
    le32(&mut create3, 0x0100_0040); // options: disposition 1
    le32(&mut create3, 0x80);
    le32(&mut create3, 7);
    wstr(
        &mut create3,
        "\\Device\\HarddiskVolume2\\Windows\\servicing\\x.dll",
    );
    let mut create2 = Vec::new();
    ptr(&mut create2, 0x1111, p);
    ptr(&mut create2, 4321, p); // ttid (pointer-sized in v2)
    ptr(&mut create2, 0x2222, p);
    le32(&mut create2, 0x0100_0040);
    le32(&mut create2, 0x80);
    le32(&mut create2, 7);
    wstr(
        &mut create2,
        "\\Device\\HarddiskVolume2\\Windows\\servicing\\x.dll",
    );
    let mut opend = Vec::new();
    ptr(&mut opend, 0x1111, p);
    ptr(&mut opend, 0, p);
    le32(&mut opend, 0xC000_0022);
    let mut setinfo3 = Vec::new();
    for x in [0x1111u64, 0x2222, 0x3333, 0x9] {
        ptr(&mut setinfo3, x, p);
    }
    le32(&mut setinfo3, 4321);
    le32(&mut setinfo3, 13); // FileDispositionInformation
    let mut rw3 = Vec::new();
    le64(&mut rw3, 4096);
    for x in [0x1111u64, 0x2222, 0x3333] {
        ptr(&mut rw3, x, p);
    }
    le32(&mut rw3, 4321);
    le32(&mut rw3, 512);
    le32(&mut rw3, 0x60900);
    let mut dir3 = Vec::new();
    for x in [0x1111u64, 0x2222, 0x3333] {
        ptr(&mut dir3, x, p);
    }
    le32(&mut dir3, 4321);
    le32(&mut dir3, 616);
    le32(&mut dir3, 37);
    le32(&mut dir3, 0);
    wstr(&mut dir3, "*.mum");
    let evs = vec![
        logfile_header(1, 1, 10_000_000, 0, 8),
        sys(4, 64, 3, 10, &create3),
        sys(4, 64, 2, 11, &create2),
        sys(4, 76, 3, 12, &opend),
        sys(4, 69, 3, 13, &setinfo3),
        sys(4, 67, 3, 14, &rw3),
        sys(4, 72, 3, 15, &dir3),
        sys(4, 64, 3, 16, &create3[..20]), // short
    ];
    let etl = open(file(&[buf(0, evs)]));
    let mut got = Vec::new();
    let mut errs = Vec::new();
    etl.for_each_in_file_order(|e| match etl.decode(e) {
        Ok(Some(k)) => got.push(serde_json::to_value(k).unwrap()),
        Ok(None) => {}
        Err(err) => errs.push(etl.location(e, &err.to_string()).to_string()),
    });
    assert_eq!(got.len(), 6);
    for c in &got[..2] {
        assert_eq!(c["ttid"], 4321);
        assert_eq!(c["file_object"], "0x2222");
        assert_eq!(
            c["open_path"],
            "\\Device\\HarddiskVolume2\\Windows\\servicing\\x.dll"
        );
        assert_eq!(c["create_options"], 0x0100_0040);
    }
    assert_eq!(got[2]["status"], 0xC000_0022u32);
    assert_eq!(
        (got[3]["info_class"].clone(), got[3]["extra_info"].clone()),
        (13.into(), "0x9".into())
    );
    assert_eq!(
        (got[4]["io_size"].clone(), got[4]["offset"].clone()),
        (512.into(), 4096.into())
    );
    assert_eq!(got[5]["file_name"], "*.mum");
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].contains("synthetic.etl: offset 0x") && errs[0].contains("layout needs"),
        "{}",
        errs[0]
    );
}

fn reg(initial: u64, status: u32, kcb: u64, name: &str) -> Vec<u8> {
    let mut v = Vec::new();
    le64(&mut v, initial);
    le32(&mut v, status);
    le32(&mut v, 0);
    ptr(&mut v, kcb, 8);
    wstr(&mut v, name);
    v
}

#[test]
fn registry_names_through_kcbs() {
    let evs = vec![
        logfile_header(1, 1, 10_000_000, 0, 8),
        sys(
            9,
            24,
            2,
            10,
            &reg(0, 0, 0xA, "\\REGISTRY\\MACHINE\\SOFTWARE"),
        ),
        sys(9, 11, 2, 20, &reg(15, 0xC000_0022, 0xA, "Vendor\\Key")),
        sys(9, 16, 2, 30, &reg(25, 0, 0xA, "ValueName")),
        sys(
            9,
            23,
            2,
            40,
            &reg(0, 0, 0xA, "\\REGISTRY\\MACHINE\\SOFTWARE"),
        ),
        sys(9, 22, 2, 50, &reg(0, 0, 0xA, "\\REGISTRY\\MACHINE\\SYSTEM")),
        sys(9, 11, 2, 60, &reg(55, 0, 0xA, "")),
        sys(9, 11, 2, 70, &reg(65, 0, 0xB, "Rel")),
        // Defined only by the end rundown, used before it.
        sys(9, 13, 2, 80, &reg(75, 0, 0xC, "")),
        sys(9, 25, 2, 90, &reg(0, 0, 0xC, "\\REGISTRY\\USER\\S-1-5-18")),
    ];
    let etl = open(file(&[buf(0, evs)]));
    let kcbs = fltblame::etl::export::kcb_map(&etl);
    let mut names = Vec::new();
    etl.for_each_merged(|e| {
        if let Ok(Some(KernelEvent::Registry(r))) = etl.decode(e) {
            if !r.is_kcb_event() {
                names.push((r.status, kcbs.key_name(e.timestamp(), &r)));
            }
        }
    });
    let res = |s: &str| KeyName::Resolved { path: s.into() };
    assert_eq!(
        names,
        vec![
            (
                0xC000_0022,
                res("\\REGISTRY\\MACHINE\\SOFTWARE\\Vendor\\Key")
            ),
            (0, res("\\REGISTRY\\MACHINE\\SOFTWARE")),
            (0, res("\\REGISTRY\\MACHINE\\SYSTEM")),
            (
                0,
                KeyName::Unresolved {
                    kcb: fltblame::etl::bytes::Hex(0xB),
                    relative: "Rel".into()
                }
            ),
            (0, res("\\REGISTRY\\USER\\S-1-5-18")),
        ]
    );
    // Hive events.
    let mut link = Vec::new();
    ptr(&mut link, 0xFFFF_C000_1000_0000, 8);
    wstr(&mut link, "\\REGISTRY\\MACHINE\\COMPONENTS");
    let h = open(file(&[buf(
        0,
        vec![
            logfile_header(1, 1, 10_000_000, 0, 8),
            sys(9, 38, 2, 5, &link),
        ],
    )]));
    let mut hives = 0;
    h.for_each_in_file_order(|e| {
        if let Ok(Some(KernelEvent::RegistryHive(r))) = h.decode(e) {
            hives += 1;
            assert_eq!(
                r.path.unwrap().to_string(),
                "\\REGISTRY\\MACHINE\\COMPONENTS"
            );
            assert_eq!(r.hive.0, 0xFFFF_C000_1000_0000);
        }
    });
    assert_eq!(hives, 1);
    // Export carries the resolved name.
    let mut out = Vec::new();
    export(&etl, &ExportOptions::default(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("\\\\REGISTRY\\\\MACHINE\\\\SOFTWARE\\\\Vendor\\\\Key"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 10);
    assert!(text.contains("\"time\":\"2020-07-29T00:07:00.62"), "{text}");
}

#[test]
fn objects_and_stacks() {
    let mut ch = Vec::new();
    ptr(&mut ch, 0xFFFF_A000_0000_0010, 8);
    le32(&mut ch, 0x44);
    le16(&mut ch, 37);
    le16(&mut ch, 0); // padding (C struct form)
    wstr(&mut ch, "\\BaseNamedObjects\\X");
    let mut dup = Vec::new();
    ptr(&mut dup, 0xFFFF_A000_0000_0010, 8);
    le32(&mut dup, 1);
    le32(&mut dup, 2);
    le32(&mut dup, 3);
    le16(&mut dup, 37);
    let mut ty = Vec::new();
    le16(&mut ty, 37);
    le16(&mut ty, 0);
    wstr(&mut ty, "File");
    let mut stack = Vec::new();
    le64(&mut stack, 10);
    le32(&mut stack, 100);
    le32(&mut stack, 200);
    le64(&mut stack, 0xFFFF_F800_0000_1000);
    le64(&mut stack, 0x7FF6_0000_0000);
    let mut key_use = Vec::new();
    le64(&mut key_use, 10);
    le32(&mut key_use, 100);
    le32(&mut key_use, 200);
    le64(&mut key_use, 0xFFFF_9000_1234_0000);
    let mut key_def = Vec::new();
    le64(&mut key_def, 0xFFFF_9000_1234_0000);
    le64(&mut key_def, 0xFFFF_F800_0000_2000);
    let evs = vec![
        logfile_header(1, 1, 10_000_000, 0, 8),
        sys(0x11, 32, 2, 10, &ch),
        sys(0x11, 34, 2, 11, &dup),
        sys(0x11, 36, 2, 12, &ty),
        kernel_event(0x11, 0x18, 32, 2, 0, 0, 0, 13, &[], &stack),
        kernel_event(0x11, 0x18, 37, 2, 0, 0, 0, 14, &[], &key_use),
        kernel_event(0x11, 0x18, 35, 2, 0, 0, 0, 15, &[], &key_def),
    ];
    let etl = open(file(&[buf(0, evs)]));
    let mut keys = fltblame::etl::kernel::StackKeyMap::default();
    let mut kinds = Vec::new();
    etl.for_each_merged(|e| match etl.decode(e) {
        Ok(Some(KernelEvent::Handle(h))) => {
            assert_eq!((h.handle, h.object_type), (0x44, 37));
            assert_eq!(h.object_name.unwrap().to_string(), "\\BaseNamedObjects\\X");
            kinds.push("handle");
        }
        Ok(Some(KernelEvent::DuplicateHandle(d))) => {
            assert_eq!(
                (d.source_handle, d.target_handle, d.target_pid, d.source_pid),
                (1, 2, 3, None)
            );
            kinds.push("dup");
        }
        Ok(Some(KernelEvent::ObjectType(t))) => {
            assert_eq!(t.name.to_string(), "File");
            kinds.push("type");
        }
        Ok(Some(KernelEvent::Stack(s))) => {
            assert_eq!(
                (s.event_timestamp, s.pid, s.tid, s.frames.len()),
                (10, 100, 200, 2)
            );
            kinds.push("stack");
        }
        Ok(Some(KernelEvent::StackKey(k))) => {
            assert_eq!(k.key.0, 0xFFFF_9000_1234_0000);
            kinds.push("key");
        }
        Ok(Some(KernelEvent::StackKeyDefinition(d))) => {
            keys.add(e.timestamp(), &d);
            kinds.push("def");
        }
        _ => {}
    });
    keys.finish();
    assert_eq!(kinds, ["handle", "dup", "type", "stack", "key", "def"]);
    assert_eq!(
        keys.frames(0xFFFF_9000_1234_0000, 14),
        Some(&[0xFFFF_F800_0000_2000u64][..])
    );
    assert_eq!(keys.frames(0xFFFF_9000_1234_0000, 16), None);
}

#[test]
fn merge_across_cpus_and_compressed_buffers() {
    let t = |cpu: u16, ts: &[u64], compress: bool| Buf {
        cpu,
        events: ts
            .iter()
            .map(|&x| sys(5, 36, 2, x, &(cpu as u32).to_le_bytes()))
            .collect(),
        compress,
        size: 1024,
    };
    let mut b0 = buf(0, vec![logfile_header(5, 1, 10_000_000, 0, 8)]);
    b0.size = 512;
    let f = file(&[
        b0,
        t(1, &[10, 20, 30], true),
        t(0, &[15, 25], false),
        t(1, &[40, 50], true),
        t(2, &[1, 60], true),
        t(0, &[30, 55], true),
    ]);
    let etl = open(f);
    assert_eq!(etl.buffers().iter().filter(|b| b.compressed()).count(), 4);
    let ev = all_events(&etl);
    let order: Vec<(u64, u32)> = ev
        .iter()
        .skip(1)
        .map(|e| (e.1, u32::from_le_bytes(e.3[..4].try_into().unwrap())))
        .collect();
    assert_eq!(
        order,
        vec![
            (1, 2),
            (10, 1),
            (15, 0),
            (20, 1),
            (25, 0),
            (30, 0),
            (30, 1),
            (40, 1),
            (50, 1),
            (55, 0),
            (60, 2)
        ]
    );
    assert_eq!(ev[0].0, HeaderKind::System64);
}

#[test]
fn xpress_round_trip() {
    let mut seed = 7u64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut cases: Vec<Vec<u8>> = vec![
        vec![],
        b"a".to_vec(),
        vec![0; 100_000],                           // 32-bit length escape
        (0..3000).map(|i| (i % 7) as u8).collect(), // 16-bit escape
        (0..600).map(|i| (i % 3) as u8).collect(),  // 8-bit escape
        b"abcabcabcXabcabcabcabcabcabcabcabcabcabcY".to_vec(), // nibble sharing
    ];
    for _ in 0..50 {
        let n = (rnd() % 5000) as usize;
        let alphabet = 1 + rnd() % 8;
        cases.push((0..n).map(|_| (rnd() % alphabet) as u8).collect());
    }
    let mut out = Vec::new();
    for c in &cases {
        let z = compress(c);
        xpress::decompress_into(&z, c.len(), &mut out).unwrap();
        assert_eq!(&out, c);
        if c.len() > 10 {
            assert!(xpress::decompress_into(&z[..z.len() / 2], c.len(), &mut out).is_err());
        }
    }
}

/// Corrupt input never panics: truncations, bit flips and garbage over real and synthetic files.
#[test]
fn corrupt_input_never_panics() {
    let dir = common::shared_dir().join("corpus/etl");
    let mut inputs = vec![];
    for n in [
        "perfview_small_relogged_32bit.etl",
        "perfview_selfdescribing_single_event.etl",
        "perfview_primitive_types.etl",
        "etlparser_lxcore_kernel.etl",
    ] {
        inputs.push(std::fs::read(dir.join(n)).unwrap());
    }
    let big = std::fs::read(dir.join("perfview_net452_x64.etl")).unwrap();
    inputs.push(big[..60_000].to_vec());
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let exercise = |bytes: Vec<u8>| {
        if let Ok(etl) = Etl::from_bytes("fuzz.etl", bytes) {
            let i = fltblame::etl::info(&etl);
            let _ = fltblame::etl::info::render_text(&i);
            let mut out = Vec::new();
            let _ = export(
                &etl,
                &ExportOptions {
                    format: ExportFormat::Csv,
                    all_events: true,
                },
                &mut out,
            );
        }
    };
    exercise(Vec::new());
    exercise(vec![0xFF; 100]);
    exercise(vec![0; 100_000]);
    for base in &inputs {
        for cut in [1, 0x47, 0x48, 0x100, base.len() / 2, base.len() - 1] {
            exercise(base[..cut.min(base.len())].to_vec());
        }
        for _ in 0..150 {
            let mut m = base.clone();
            for _ in 0..(1 + rnd() % 8) {
                let i = (rnd() as usize) % m.len();
                m[i] = rnd() as u8;
            }
            exercise(m);
        }
    }
}

#[test]
fn info_says_whether_a_filter_can_be_named() {
    let mut masks = Vec::new();
    for m in [0x7u32, 0, 0, 0, 0x0048_0000, 0, 0, 0, 80] {
        le32(&mut masks, m);
    }
    let mut img = Vec::new();
    ptr(&mut img, 0xFFFF_F801_2345_0000, 8);
    ptr(&mut img, 0x10000, 8);
    le32(&mut img, 0);
    le32(&mut img, 0);
    le32(&mut img, 0);
    le32(&mut img, 0);
    ptr(&mut img, 0, 8);
    img.extend_from_slice(&[0; 16]);
    wstr(&mut img, "\\SystemRoot\\System32\\drivers\\krnlflt.sys");
    let k = 0xFFFF_F801_2345_6789u64;
    let evs = vec![
        logfile_header(1, 1, 10_000_000, 0, 8),
        kernel_event(0x11, 0, 5, 2, 0, 0, 0, 2, &[], &masks),
        kernel_event(0x11, 0x14, 3, 3, 0, 0, 0, 3, &[], &img),
        sys(4, 100, 3, 4, &flt(8, None, Some(0xC000_0022), k)),
    ];
    let etl = open(file(&[buf(0, evs)]));
    let i = fltblame::etl::info(&etl);
    assert!(i.can_name_filter, "{}", i.verdict);
    let cap = |n: &str| i.capabilities.iter().find(|c| c.name == n).unwrap().clone();
    assert_eq!(
        (
            cap("minifilter_failure").enabled,
            cap("minifilter_failure").events
        ),
        (true, 1)
    );
    assert_eq!(cap("minifilter_init").by_group_mask, Some(true));
    assert_eq!(cap("minifilter_completion").by_group_mask, Some(false));
    assert!(!cap("registry").enabled);
    assert_eq!(i.kernel_event_version, Some(80));
    let text = fltblame::etl::info::render_text(&i);
    assert!(text.contains("can name a filter driver: yes"), "{text}");
    let row = i.counts.iter().find(|c| c.opcode == 100).unwrap();
    assert_eq!(
        (
            row.provider.to_string().as_str(),
            row.version,
            row.n,
            row.name.as_str()
        ),
        (
            "90cbdc39-4a3e-11d1-84f4-0000f80464e3",
            3,
            1,
            "FileIo/PreOpFailure"
        )
    );
    let json = serde_json::to_value(&i).unwrap();
    assert_eq!(json["events"], 4);
    assert_eq!(
        json["counts"][0]["provider"].as_str().map(|s| s.len()),
        Some(36)
    );
}

/// A compressed buffer that does not decode is reported once and skipped; the merge goes on.
#[test]
fn bad_compressed_buffer_is_skipped_once() {
    let mut bufs = vec![buf(0, vec![logfile_header(1, 1, 10_000_000, 0, 8)])];
    for i in 0..60u64 {
        bufs.push(Buf {
            cpu: (i % 3) as u16,
            events: (0..20)
                .map(|k| sys(5, 36, 2, 10 + i * 100 + k, &[7; 40]))
                .collect(),
            compress: true,
            size: 0,
        });
    }
    let mut f = file(&bufs);
    // Buffer 17: claim 8 more uncompressed bytes than the stream holds.
    let mut off = 0usize;
    for i in 0..=17 {
        let size = u32::from_le_bytes(f[off..off + 4].try_into().unwrap()) as usize;
        if i == 17 {
            let fill = u32::from_le_bytes(f[off + 0x30..off + 0x34].try_into().unwrap()) + 8;
            f[off + 0x30..off + 0x34].copy_from_slice(&fill.to_le_bytes());
        } else {
            off += size;
        }
    }
    let etl = open(f);
    for _ in 0..5 {
        let mut n = 0;
        let problems = etl.for_each_merged(|_| n += 1);
        assert_eq!(n, 1 + 59 * 20);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].to_string().contains("buffer 17"),
            "{}",
            problems[0]
        );
    }
    let i = fltblame::etl::info(&etl);
    assert_eq!((i.events, i.problem_count), (1 + 59 * 20, 1));
}
