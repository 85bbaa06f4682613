//! The ETL writer (`src/etl/writer.rs`): every record it writes reads back with our reader (raw
//! bytes and typed fields), plain and Xpress-compressed, in the merge order of format-etl.md
//! §3.8; and dissect.etl (a Python peer, run when `FLTBLAME_PYTHON` names a Python that has it)
//! reads the same files with the same event counts and the same decoded fields, the committed
//! case-B samples included.

use fltblame::etl::kernel::{self, KernelEvent, MinifilterLayout};
use fltblame::etl::writer::payload::{self, group, perf, Flt, FltLayout};
use fltblame::etl::writer::{self, EtlModel, EventModel, LogfileModel};
use fltblame::etl::Etl;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What a written record must decode to.
#[derive(Clone, Debug)]
enum Want {
    GroupMask([u32; 8], u32),
    Process(payload::Process),
    Thread(payload::Thread),
    Image(payload::Image),
    FileName(u64, String),
    Create {
        irp: u64,
        fo: u64,
        ttid: u32,
        options: u32,
        path: String,
    },
    Simple {
        irp: u64,
        fo: u64,
        key: u64,
        ttid: u32,
    },
    ReadWrite {
        offset: u64,
        irp: u64,
        fo: u64,
        key: u64,
        ttid: u32,
        size: u32,
    },
    Info {
        irp: u64,
        fo: u64,
        key: u64,
        ttid: u32,
        class: u32,
    },
    OpEnd {
        irp: u64,
        status: u32,
    },
    Registry {
        initial: u64,
        status: u32,
        kcb: u64,
        name: String,
    },
    Flt(Flt, FltLayout),
    Stack {
        ts: u64,
        pid: u32,
        tid: u32,
        frames: Vec<u64>,
    },
    StackKey {
        ts: u64,
        pid: u32,
        tid: u32,
        key: u64,
    },
    KeyDef {
        key: u64,
        frames: Vec<u64>,
    },
}

struct Trace {
    model: EtlModel,
    wants: Vec<Want>,
}

const P: usize = 8;
const START: u64 = 133_051_539_290_000_000; // 2022-08-16 03:52:09 UTC

impl Trace {
    fn new() -> Self {
        let mut h = LogfileModel::windows10(17763, 4, START);
        h.time_zone.bias_minutes = -480;
        h.time_zone.standard_name = "China Standard Time".into();
        h.logger_name = "NT Kernel Logger".into();
        h.log_file_name = "C:\\Windows\\TEMP\\trace.etl".into();
        let mut model = EtlModel::new(h);
        model.buffer_size = 8192;
        Trace {
            model,
            wants: Vec::new(),
        }
    }

    fn push(&mut self, e: EventModel, w: Want) {
        self.model.events.push(e);
        self.wants.push(w);
    }

    #[allow(clippy::too_many_arguments)]
    fn sys(
        &mut self,
        cpu: u16,
        g: u8,
        op: u8,
        v: u8,
        pid: u32,
        tid: u32,
        ts: u64,
        p: Vec<u8>,
        w: Want,
    ) {
        self.push(EventModel::system(cpu, g, op, v, pid, tid, ts, p), w);
    }

    #[allow(clippy::too_many_arguments)]
    fn perf(&mut self, cpu: u16, g: u8, op: u8, v: u8, ts: u64, p: Vec<u8>, w: Want) {
        self.push(EventModel::perfinfo(cpu, g, op, v, ts, p), w);
    }
}

fn proc(pid: u32, ppid: u32, image: &str, cmd: &str, sid: &str) -> payload::Process {
    payload::Process {
        key: 0xFFFF_A000_0000_0000 | (u64::from(pid) << 12),
        pid,
        ppid,
        session: if pid < 100 { 0 } else { 1 },
        exit_status: 259,
        dtb: 0x1AA000 + u64::from(pid) * 0x1000,
        flags: 0,
        sid: payload::sid_from_str(sid).unwrap(),
        image: image.into(),
        command_line: cmd.into(),
        package: String::new(),
        application_id: String::new(),
    }
}

/// A trace with every record kind the writer knows, over four CPUs and many small buffers.
fn trace(compress: bool) -> Trace {
    let mut t = Trace::new();
    t.model.compress = compress;
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
    t.perf(
        0,
        group::EVENT_TRACE,
        5,
        2,
        10,
        payload::group_mask(&masks, 80),
        Want::GroupMask(masks, 80),
    );
    for (i, (pid, ppid, image, cmd, sid)) in [
        (4u32, 0u32, "System", "", "S-1-5-18"),
        (
            612,
            4,
            "services.exe",
            "C:\\Windows\\system32\\services.exe",
            "S-1-5-18",
        ),
        (
            3100,
            612,
            "TiWorker.exe",
            "C:\\Windows\\winsxs\\amd64_x\\TiWorker.exe -Embedding",
            "S-1-5-18",
        ),
        (
            5120,
            4800,
            "expand.exe",
            "expand -F:* a.cab C:\\Users\\José\\x",
            "S-1-5-21-1004336348-1177238915-682003330-1001",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let p = proc(pid, ppid, image, cmd, sid);
        t.sys(
            0,
            group::PROCESS,
            3,
            4,
            pid,
            0,
            20 + i as u64,
            payload::process_v4(&p, P),
            Want::Process(p),
        );
        let th = payload::Thread {
            pid,
            tid: pid + 4,
            stack_base: 0xFFFF_D000_0000_0000 + u64::from(pid) * 0x10000,
            stack_limit: 0xFFFF_D000_0000_0000 + u64::from(pid) * 0x10000 - 0x6000,
            start_address: 0x7FFA_0000_1000,
            win32_start_address: 0x7FF6_0000_2000,
            teb_base: 0xA000_0000 + u64::from(pid),
            base_priority: 8,
            page_priority: 5,
            io_priority: 2,
            ..Default::default()
        };
        t.sys(
            0,
            group::THREAD,
            3,
            3,
            pid,
            pid + 4,
            30 + i as u64,
            payload::thread_v3(&th, P),
            Want::Thread(th),
        );
    }
    let drivers = [
        (
            "\\SystemRoot\\system32\\ntoskrnl.exe",
            0xFFFF_F800_1000_0000u64,
            0x0A4_6000u64,
            0x1C,
        ),
        (
            "\\SystemRoot\\System32\\drivers\\FLTMGR.SYS",
            0xFFFF_F800_2000_0000,
            0x7_4000,
            0x1C,
        ),
        (
            "\\SystemRoot\\System32\\drivers\\gscfmgr.sys",
            0xFFFF_F800_3000_0000,
            0x2_8000,
            0x14,
        ),
        (
            "\\SystemRoot\\System32\\drivers\\TmPreFlt.sys",
            0xFFFF_F800_3100_0000,
            0x3_1000,
            0x17,
        ),
    ];
    for (i, (name, base, size, sig)) in drivers.into_iter().enumerate() {
        let img = payload::Image {
            base,
            size,
            pid: 0,
            checksum: 0x10000 + i as u32,
            time_date_stamp: 0x5B9C_0000 + i as u32,
            signature_level: sig,
            signature_type: 1,
            default_base: base,
            file_name: name.into(),
        };
        t.sys(
            1,
            group::IMAGE,
            3,
            3,
            0,
            0,
            40 + i as u64,
            payload::image_v3(&img, P),
            Want::Image(img),
        );
    }
    let user_img = payload::Image {
        base: 0x7FF6_0000_0000,
        size: 0x3_0000,
        pid: 3100,
        file_name: "\\Device\\HarddiskVolume2\\Windows\\WinSxS\\amd64_x\\TiWorker.exe".into(),
        ..Default::default()
    };
    // Image Load is logged under the Process group, type 10.
    t.sys(
        1,
        group::PROCESS,
        10,
        3,
        3100,
        3104,
        60,
        payload::image_v3(&user_img, P),
        Want::Image(user_img),
    );
    t.sys(
        1,
        group::REGISTRY,
        24,
        2,
        4,
        8,
        70,
        payload::registry_v2(
            0,
            0,
            0,
            0xFFFF_C001_0000_1000,
            "\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001\\Services",
            P,
        ),
        Want::Registry {
            initial: 0,
            status: 0,
            kcb: 0xFFFF_C001_0000_1000,
            name: "\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001\\Services".into(),
        },
    );

    // Many operations: creates, reads, writes, set-info, cleanup, registry, minifilter callbacks,
    // stacks — spread over four CPUs, in time order per CPU.
    let routines = [0xFFFF_F800_3000_1230u64, 0xFFFF_F800_3100_4560];
    for k in 0..240u64 {
        let cpu = (k % 4) as u16;
        let ts = 1_000 + k * 97;
        let (pid, tid) = if k % 3 == 0 {
            (5120, 5124)
        } else {
            (3100, 3104)
        };
        let irp = 0xFFFF_B000_0000_0000 + k * 0x100;
        let fo = 0xFFFF_B100_0000_0000 + k * 0x40;
        let key = 0xFFFF_B200_0000_0000 + (k % 17) * 0x80;
        let path = format!(
            "\\Device\\HarddiskVolume2\\Windows\\SoftwareDistribution\\Download\\x\\f{k}.dll"
        );
        t.sys(
            cpu,
            group::FILE_IO,
            32,
            2,
            pid,
            tid,
            ts,
            payload::file_name(key, &path, P),
            Want::FileName(key, path.clone()),
        );
        let options = 0x0500_0060 + (k as u32 & 7);
        t.sys(
            cpu,
            group::FILE_IO,
            64,
            3,
            pid,
            tid,
            ts + 1,
            payload::file_create_v3(irp, fo, tid, options, 0x80, 1, &path, P),
            Want::Create {
                irp,
                fo,
                ttid: tid,
                options,
                path: path.clone(),
            },
        );
        let cbd = 0xFFFF_B300_0000_0000 + k * 0x200;
        for (j, routine) in routines.iter().enumerate() {
            let f = Flt {
                routine: *routine,
                file_object: fo,
                file_context: key,
                irp,
                callback_data: cbd,
                major_function: 0,
                status: 0,
                initial_time: ts + 2 + 2 * j as u64,
            };
            t.sys(
                cpu,
                group::FILE_IO,
                96,
                3,
                pid,
                tid,
                ts + 2 + 2 * j as u64,
                payload::minifilter(&f, FltLayout::Operation, P),
                Want::Flt(f, FltLayout::Operation),
            );
            t.sys(
                cpu,
                group::FILE_IO,
                98,
                3,
                pid,
                tid,
                ts + 3 + 2 * j as u64,
                payload::minifilter(&f, FltLayout::TimeFirst, P),
                Want::Flt(f, FltLayout::TimeFirst),
            );
        }
        let denied = k % 40 == 7;
        if denied {
            let f = Flt {
                routine: routines[0],
                file_object: fo,
                file_context: key,
                irp,
                callback_data: cbd,
                major_function: 0,
                status: 0xC000_0022,
                initial_time: 0,
            };
            t.sys(
                cpu,
                group::FILE_IO,
                100,
                3,
                pid,
                tid,
                ts + 7,
                payload::minifilter(&f, FltLayout::OperationStatus, P),
                Want::Flt(f, FltLayout::OperationStatus),
            );
            let post = Flt {
                major_function: -13,
                status: 0xC000_0022,
                ..f
            };
            t.sys(
                cpu,
                group::FILE_IO,
                101,
                3,
                pid,
                tid,
                ts + 8,
                payload::minifilter(&post, FltLayout::OperationStatus, P),
                Want::Flt(post, FltLayout::OperationStatus),
            );
            let post_init = Flt {
                initial_time: ts + 9,
                ..post
            };
            t.sys(
                cpu,
                group::FILE_IO,
                97,
                3,
                pid,
                tid,
                ts + 9,
                payload::minifilter(&post_init, FltLayout::Operation, P),
                Want::Flt(post_init, FltLayout::Operation),
            );
            t.sys(
                cpu,
                group::FILE_IO,
                99,
                3,
                pid,
                tid,
                ts + 10,
                payload::minifilter(&post_init, FltLayout::TimeFirst, P),
                Want::Flt(post_init, FltLayout::TimeFirst),
            );
        }
        let status = if denied { 0xC000_0022 } else { 0 };
        t.sys(
            cpu,
            group::FILE_IO,
            76,
            3,
            pid,
            tid,
            ts + 11,
            payload::file_op_end(irp, 2, status, P),
            Want::OpEnd { irp, status },
        );
        // A 32-frame stack (dissect's fixed template) and a short one (dissect cannot decode it).
        let n = if k % 2 == 0 { 32 } else { 5 };
        let frames: Vec<u64> = (0..n)
            .map(|f| 0xFFFF_F800_1000_0000 + k * 0x10 + f * 8)
            .collect();
        t.perf(
            cpu,
            group::STACK_WALK,
            32,
            2,
            ts + 1,
            payload::stack(ts + 1, pid, tid, &frames, P),
            Want::Stack {
                ts: ts + 1,
                pid,
                tid,
                frames,
            },
        );
        if denied {
            continue;
        }
        let size = 4096 + k as u32;
        t.sys(
            cpu,
            group::FILE_IO,
            68,
            3,
            pid,
            tid,
            ts + 20,
            payload::file_read_write_v3(k * 4096, irp + 8, fo, key, tid, size, 0x60900, P),
            Want::ReadWrite {
                offset: k * 4096,
                irp: irp + 8,
                fo,
                key,
                ttid: tid,
                size,
            },
        );
        t.sys(
            cpu,
            group::FILE_IO,
            67,
            3,
            pid,
            tid,
            ts + 25,
            payload::file_read_write_v3(0, irp + 16, fo, key, tid, 512, 0, P),
            Want::ReadWrite {
                offset: 0,
                irp: irp + 16,
                fo,
                key,
                ttid: tid,
                size: 512,
            },
        );
        t.sys(
            cpu,
            group::FILE_IO,
            69,
            3,
            pid,
            tid,
            ts + 30,
            payload::file_info_v3(irp + 24, fo, key, 0, tid, 4, P),
            Want::Info {
                irp: irp + 24,
                fo,
                key,
                ttid: tid,
                class: 4,
            },
        );
        t.sys(
            cpu,
            group::FILE_IO,
            65,
            3,
            pid,
            tid,
            ts + 40,
            payload::file_simple_op_v3(irp + 32, fo, key, tid, P),
            Want::Simple {
                irp: irp + 32,
                fo,
                key,
                ttid: tid,
            },
        );
        t.sys(
            cpu,
            group::FILE_IO,
            66,
            3,
            pid,
            tid,
            ts + 45,
            payload::file_simple_op_v3(irp + 40, fo, key, tid, P),
            Want::Simple {
                irp: irp + 40,
                fo,
                key,
                ttid: tid,
            },
        );
        t.sys(
            cpu,
            group::REGISTRY,
            16,
            2,
            pid,
            tid,
            ts + 60,
            payload::registry_v2(ts + 50, 0xC000_0034, 2, 0xFFFF_C001_0000_1000, "Start", P),
            Want::Registry {
                initial: ts + 50,
                status: 0xC000_0034,
                kcb: 0xFFFF_C001_0000_1000,
                name: "Start".into(),
            },
        );
        t.perf(
            cpu,
            group::STACK_WALK,
            37,
            2,
            ts + 60,
            payload::stack_key(ts + 60, pid, tid, 0xFFFF_E000_0000_0000 + k, P),
            Want::StackKey {
                ts: ts + 60,
                pid,
                tid,
                key: 0xFFFF_E000_0000_0000 + k,
            },
        );
    }
    for k in 0..5u64 {
        let frames = vec![0xFFFF_F800_1000_0100 + k, 0xFFFF_F800_2000_0200];
        t.perf(
            3,
            group::STACK_WALK,
            36,
            2,
            40_000 + k,
            payload::stack_key_definition(0xFFFF_E000_0000_0000 + k, &frames, P),
            Want::KeyDef {
                key: 0xFFFF_E000_0000_0000 + k,
                frames,
            },
        );
    }
    t.perf(
        0,
        group::EVENT_TRACE,
        32,
        2,
        50_000,
        payload::group_mask(&masks, 80),
        Want::GroupMask(masks, 80),
    );
    t
}

/// (cpu, timestamp, group, opcode, payload) of a model event.
type Key = (u16, u64, u8, u8, Vec<u8>);

fn key_of(e: &EventModel) -> Key {
    (e.cpu, e.timestamp, e.group, e.opcode, e.payload.clone())
}

/// Check one decoded record against what was written.
fn check_typed(k: &KernelEvent<'_>, w: &Want) {
    match (k, w) {
        (KernelEvent::GroupMask(m), Want::GroupMask(masks, v)) => {
            assert_eq!((m.masks, m.kernel_event_version), (*masks, Some(*v)))
        }
        (KernelEvent::Process(p), Want::Process(want)) => {
            assert_eq!(
                (
                    p.unique_process_key.0,
                    p.pid,
                    p.ppid,
                    p.session_id,
                    p.exit_status,
                    p.flags
                ),
                (
                    want.key,
                    want.pid,
                    want.ppid,
                    want.session,
                    want.exit_status,
                    Some(want.flags)
                )
            );
            assert_eq!(
                p.user_sid.map(|s| s.as_bytes().to_vec()),
                Some(want.sid.clone())
            );
            assert_eq!(p.image_file_name.to_string_lossy(), want.image);
            assert_eq!(p.command_line.to_string_lossy(), want.command_line);
        }
        (KernelEvent::Thread(t), Want::Thread(want)) => {
            assert_eq!((t.pid, t.tid), (want.pid, want.tid));
            assert_eq!(t.stack_base.map(|h| h.0), Some(want.stack_base));
            assert_eq!(t.teb_base.map(|h| h.0), Some(want.teb_base));
            assert_eq!(
                (t.base_priority, t.page_priority, t.io_priority),
                (
                    Some(want.base_priority as i8),
                    Some(want.page_priority),
                    Some(want.io_priority)
                )
            );
            assert!(t.name.is_none());
        }
        (KernelEvent::Image(i), Want::Image(want)) => {
            assert_eq!(
                (
                    i.image_base.0,
                    i.image_size,
                    i.pid,
                    i.checksum,
                    i.time_date_stamp
                ),
                (
                    want.base,
                    want.size,
                    want.pid,
                    Some(want.checksum),
                    Some(want.time_date_stamp)
                )
            );
            assert_eq!(i.signature_level, Some(want.signature_level));
            assert_eq!(i.file_name.to_string_lossy(), want.file_name);
        }
        (KernelEvent::FileName(n), Want::FileName(key, name)) => {
            assert_eq!(
                (n.file_key.0, n.file_name.to_string_lossy()),
                (*key, name.clone())
            )
        }
        (
            KernelEvent::FileCreate(c),
            Want::Create {
                irp,
                fo,
                ttid,
                options,
                path,
            },
        ) => {
            assert_eq!(
                (
                    c.irp.0,
                    c.file_object.0,
                    c.ttid,
                    c.create_options,
                    c.open_path.to_string_lossy()
                ),
                (*irp, *fo, *ttid, *options, path.clone())
            );
            assert_eq!((c.file_attributes, c.share_access), (0x80, 1));
        }
        (KernelEvent::FileSimpleOp(s), Want::Simple { irp, fo, key, ttid }) => {
            assert_eq!(
                (s.irp.0, s.file_object.0, s.file_key.0, s.ttid),
                (*irp, *fo, *key, *ttid)
            )
        }
        (
            KernelEvent::FileReadWrite(r),
            Want::ReadWrite {
                offset,
                irp,
                fo,
                key,
                ttid,
                size,
            },
        ) => {
            assert_eq!(
                (
                    r.offset,
                    r.irp.0,
                    r.file_object.0,
                    r.file_key.0,
                    r.ttid,
                    r.io_size
                ),
                (*offset, *irp, *fo, *key, *ttid, *size)
            )
        }
        (
            KernelEvent::FileInfo(i),
            Want::Info {
                irp,
                fo,
                key,
                ttid,
                class,
            },
        ) => {
            assert_eq!(
                (i.irp.0, i.file_object.0, i.file_key.0, i.ttid, i.info_class),
                (*irp, *fo, *key, *ttid, *class)
            )
        }
        (KernelEvent::FileOpEnd(o), Want::OpEnd { irp, status }) => {
            assert_eq!((o.irp.0, o.status), (*irp, *status))
        }
        (
            KernelEvent::Registry(r),
            Want::Registry {
                initial,
                status,
                kcb,
                name,
            },
        ) => {
            assert_eq!(
                (r.initial_time, r.status, r.kcb.0, r.name.to_string_lossy()),
                (*initial, *status, *kcb, name.clone())
            )
        }
        (KernelEvent::Minifilter(m), Want::Flt(f, layout)) => {
            let want_layout = match layout {
                FltLayout::Operation => MinifilterLayout::Operation,
                FltLayout::OperationStatus => MinifilterLayout::OperationStatus,
                FltLayout::TimeFirst => MinifilterLayout::TimeFirst,
                FltLayout::TimeLast => MinifilterLayout::TimeLast,
            };
            assert_eq!(m.layout, want_layout);
            assert!(m.plausible);
            assert_eq!(
                (
                    m.routine.0,
                    m.file_object.0,
                    m.file_context.0,
                    m.irp.0,
                    m.callback_data.0,
                    m.major_function
                ),
                (
                    f.routine,
                    f.file_object,
                    f.file_context,
                    f.irp,
                    f.callback_data,
                    f.major_function
                )
            );
            match layout {
                FltLayout::OperationStatus => assert_eq!(m.status, Some(f.status)),
                FltLayout::TimeFirst | FltLayout::TimeLast => {
                    assert_eq!(m.initial_time, Some(f.initial_time))
                }
                FltLayout::Operation => assert_eq!((m.status, m.initial_time), (None, None)),
            }
        }
        (
            KernelEvent::Stack(s),
            Want::Stack {
                ts,
                pid,
                tid,
                frames,
            },
        ) => {
            assert_eq!((s.event_timestamp, s.pid, s.tid), (*ts, *pid, *tid));
            assert_eq!(&s.frames.iter().collect::<Vec<_>>(), frames);
        }
        (KernelEvent::StackKey(s), Want::StackKey { ts, pid, tid, key }) => {
            assert_eq!(
                (s.event_timestamp, s.pid, s.tid, s.key.0),
                (*ts, *pid, *tid, *key)
            )
        }
        (KernelEvent::StackKeyDefinition(d), Want::KeyDef { key, frames }) => {
            assert_eq!(d.key.0, *key);
            assert_eq!(&d.frames.iter().collect::<Vec<_>>(), frames);
        }
        (k, w) => panic!("decoded {k:?}, wrote {w:?}"),
    }
}

fn round_trip(compress: bool) {
    let t = trace(compress);
    let w = writer::write_with_stats(&t.model);
    assert_eq!(w.dropped, 0);
    assert_eq!(w.events, t.model.events.len() as u64 + 1);
    assert!(w.buffers > 10, "several buffers per CPU ({})", w.buffers);
    if compress {
        assert_eq!(
            w.compressed_buffers,
            w.buffers - 1,
            "every data buffer shrinks"
        );
    } else {
        assert_eq!(w.compressed_buffers, 0);
    }
    let etl = Etl::from_bytes("written.etl", w.bytes.clone()).expect("our reader opens it");
    assert!(etl.open_problems().is_empty());
    let h = etl.header();
    let m = &t.model.header;
    assert_eq!(
        (
            h.buffers_written,
            h.pointer_size,
            h.cpus,
            h.os_build,
            h.perf_freq,
            h.start_time
        ),
        (w.buffers, 8, 4, 17763, m.perf_freq, m.start_time)
    );
    assert_eq!(h.compressed_mode(), compress);
    assert_eq!(h.time_zone.bias_minutes, -480);
    assert_eq!(h.time_zone.standard_name, "China Standard Time");
    assert_eq!(h.logger_name, "NT Kernel Logger");
    assert_eq!(h.log_file_name, "C:\\Windows\\TEMP\\trace.etl");
    assert_eq!(h.end_time, m.filetime(50_000));
    assert_eq!(etl.buffers().len() as u32, w.buffers);
    assert_eq!(
        etl.buffers().iter().filter(|b| b.compressed()).count() as u32,
        w.compressed_buffers
    );
    assert_eq!(etl.buffers()[0].buffer_type, 4);
    // Buffers of different CPUs interleave in the file.
    let cpus: Vec<u16> = etl.buffers()[1..].iter().map(|b| b.cpu).collect();
    assert!(
        cpus.windows(2).filter(|p| p[0] != p[1]).count() > 4,
        "{cpus:?}"
    );

    // Every record written is read back, once, with its bytes and typed fields.
    let mut want: HashMap<Key, Vec<usize>> = HashMap::new();
    for (i, e) in t.model.events.iter().enumerate() {
        want.entry(key_of(e)).or_default().push(i);
    }
    let mut seen = 0usize;
    let mut header_seen = false;
    let ctx = etl.decode_ctx();
    let problems = etl.for_each_in_file_order(|ev| {
        if ev.group() == Some(0) && ev.opcode() == 0 {
            header_seen = true;
            return;
        }
        let k: Key = (
            ev.cpu,
            ev.timestamp(),
            ev.group().unwrap(),
            ev.opcode(),
            ev.payload().to_vec(),
        );
        let i = want
            .get_mut(&k)
            .and_then(|v| v.pop())
            .unwrap_or_else(|| panic!("unexpected event {k:?}"));
        let e = &t.model.events[i];
        assert_eq!(ev.version(), u16::from(e.version));
        assert!(ev.kind().is_kernel());
        if e.header == writer::Header::System {
            assert_eq!((ev.pid(), ev.tid()), (Some(e.pid), Some(e.tid)));
        } else {
            assert_eq!(ev.pid(), None);
        }
        let decoded = kernel::decode(ev, &ctx)
            .unwrap_or_else(|err| panic!("{k:?}: {err}"))
            .unwrap_or_else(|| panic!("{k:?}: no typed decoder"));
        check_typed(&decoded, &t.wants[i]);
        seen += 1;
    });
    assert!(problems.is_empty(), "{problems:?}");
    assert!(header_seen);
    assert_eq!(seen, t.model.events.len());
    assert!(want.values().all(Vec::is_empty));

    // Global time order (§3.8): the merge yields every event, timestamps never decreasing.
    let mut last = 0u64;
    let mut n = 0;
    let problems = etl.for_each_merged(|ev| {
        assert!(ev.timestamp() >= last, "merge order");
        last = ev.timestamp();
        n += 1;
    });
    assert!(problems.is_empty());
    assert_eq!(n, t.model.events.len() + 1);
}

#[test]
fn round_trip_plain() {
    round_trip(false);
}

#[test]
fn round_trip_compressed() {
    round_trip(true);
    // Compression shrinks this repetitive trace.
    let plain = writer::write(&trace(false).model);
    let packed = writer::write(&trace(true).model);
    assert!(
        packed.len() * 3 < plain.len(),
        "{} vs {}",
        packed.len(),
        plain.len()
    );
}

#[test]
fn thirty_two_bit_trace_and_oversized_events() {
    let mut h = LogfileModel::windows10(7601, 1, START);
    h.pointer_size = 4;
    h.os_major = 6;
    h.os_minor = 1;
    let mut m = EtlModel::new(h);
    m.buffer_size = 1024;
    let img = payload::Image {
        base: 0x8280_0000,
        size: 0x41_0000,
        pid: 0,
        file_name: "\\SystemRoot\\system32\\ntkrnlpa.exe".into(),
        ..Default::default()
    };
    let mut e = EventModel::system(0, group::IMAGE, 3, 3, 0, 0, 5, payload::image_v3(&img, 4));
    e.ptr64 = false;
    m.events.push(e);
    // Larger than a 1 KB buffer: left out, counted.
    m.events.push(EventModel::perfinfo(
        0,
        group::FILE_IO,
        0,
        2,
        6,
        vec![0; 2000],
    ));
    let w = writer::write_with_stats(&m);
    assert_eq!((w.dropped, w.events), (1, 2));
    let etl = Etl::from_bytes("x86.etl", w.bytes).unwrap();
    assert_eq!(
        (etl.header().pointer_size, etl.header().header_bits),
        (4, 32)
    );
    let mut images = Vec::new();
    etl.for_each_in_file_order(|ev| {
        if let Ok(Some(KernelEvent::Image(i))) = etl.decode(ev) {
            images.push((
                ev.pointer_size(),
                i.image_base.0,
                i.image_size,
                i.file_name.to_string_lossy(),
            ));
        }
    });
    assert_eq!(
        images,
        [(
            4,
            0x8280_0000,
            0x41_0000,
            "\\SystemRoot\\system32\\ntkrnlpa.exe".to_string()
        )]
    );
}

// ---------------------------------------------------------------------------------------------
// dissect.etl

fn python() -> Option<std::ffi::OsString> {
    let py = std::env::var_os("FLTBLAME_PYTHON")?;
    let ok = std::process::Command::new(&py)
        .args(["-c", "import dissect.etl"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

/// dissect.etl's view of `files`: per file, its head line and event lines.
fn dissect_read(py: &std::ffi::OsStr, files: &[PathBuf]) -> Vec<(Value, Vec<Value>)> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/read_etl.py");
    let out = std::process::Command::new(py)
        .arg(&script)
        .args(files)
        .output()
        .expect("run read_etl.py");
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut per_file: Vec<(Value, Vec<Value>)> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).expect("JSON line");
        if v.get("file").is_some() {
            per_file.push((v, Vec::new()));
        } else {
            per_file.last_mut().expect("file line first").1.push(v);
        }
    }
    per_file
}

/// (GUID, opcode, version, raw time, pid/tid of SYSTEM headers, expected fields).
type OurEvent = (
    String,
    u8,
    u16,
    u64,
    Option<(u32, u32)>,
    Vec<(String, Value)>,
);

/// Our view of a file in dissect's terms: per event in file order, (GUID, opcode, version, raw
/// time, pid/tid of SYSTEM headers, the expected payload fields by dissect's MOF names).
fn our_events(etl: &Etl) -> Vec<OurEvent> {
    let ctx = etl.decode_ctx();
    let mut out = Vec::new();
    etl.for_each_in_file_order(|ev| {
        let ids = matches!(
            ev.kind(),
            fltblame::etl::HeaderKind::System64 | fltblame::etl::HeaderKind::System32
        )
        .then(|| (ev.pid().unwrap_or(0), ev.tid().unwrap_or(0)));
        let f = |n: &str, v: Value| (n.to_string(), v);
        let fields: Vec<(String, Value)> = match kernel::decode(ev, &ctx) {
            Ok(Some(KernelEvent::Image(i))) => vec![
                f("ImageBase", json!(i.image_base.0)),
                f("ImageSize", json!(i.image_size)),
                f("ProcessId", json!(i.pid)),
                f("FileName", json!(i.file_name.to_string_lossy())),
            ],
            Ok(Some(KernelEvent::Process(p))) => vec![
                f("ProcessId", json!(p.pid)),
                f("ParentId", json!(p.ppid)),
                f("ImageFileName", json!(p.image_file_name.to_string_lossy())),
                f("CommandLine", json!(p.command_line.to_string_lossy())),
                f("UserSID", json!(p.user_sid.map(|s| s.to_string()))),
            ],
            Ok(Some(KernelEvent::Thread(t))) => {
                vec![f("ProcessId", json!(t.pid)), f("TThreadId", json!(t.tid))]
            }
            Ok(Some(KernelEvent::FileName(n))) => vec![
                f("FileObject", json!(n.file_key.0)),
                f("FileName", json!(n.file_name.to_string_lossy())),
            ],
            Ok(Some(KernelEvent::FileCreate(c))) => vec![
                f("IrpPtr", json!(c.irp.0)),
                f("FileObject", json!(c.file_object.0)),
                f("TTID", json!(c.ttid)),
                f("CreateOptions", json!(c.create_options)),
                f("OpenPath", json!(c.open_path.to_string_lossy())),
            ],
            Ok(Some(KernelEvent::FileOpEnd(o))) => {
                vec![f("IrpPtr", json!(o.irp.0)), f("NtStatus", json!(o.status))]
            }
            Ok(Some(KernelEvent::FileSimpleOp(s))) => vec![
                f("IrpPtr", json!(s.irp.0)),
                f("FileObject", json!(s.file_object.0)),
                f("FileKey", json!(s.file_key.0)),
                f("TTID", json!(s.ttid)),
            ],
            Ok(Some(KernelEvent::FileReadWrite(r))) => vec![
                f("Offset", json!(r.offset)),
                f("IrpPtr", json!(r.irp.0)),
                f("FileKey", json!(r.file_key.0)),
                f("IoSize", json!(r.io_size)),
            ],
            Ok(Some(KernelEvent::FileInfo(i))) => vec![
                f("IrpPtr", json!(i.irp.0)),
                f("TTID", json!(i.ttid)),
                f("InfoClass", json!(i.info_class)),
            ],
            Ok(Some(KernelEvent::Registry(r))) => vec![
                f("InitialTime", json!(r.initial_time)),
                f("Status", json!(r.status)),
                f("KeyHandle", json!(r.kcb.0)),
                f("KeyName", json!(r.name.to_string_lossy())),
            ],
            Ok(Some(KernelEvent::Minifilter(m))) => {
                let mut v = vec![
                    f("RoutineAddr", json!(m.routine.0)),
                    f("FileObject", json!(m.file_object.0)),
                    f("FileContext", json!(m.file_context.0)),
                    f("IrpPtr", json!(m.irp.0)),
                    f("CallbackDataPtr", json!(m.callback_data.0)),
                    f("MajorFunction", json!(m.major_function_raw)),
                ];
                if let Some(s) = m.status {
                    v.push(f("Status", json!(s)));
                }
                if let Some(t) = m.initial_time {
                    v.push(f("InitialTime", json!(t)));
                }
                v
            }
            Ok(Some(KernelEvent::Stack(s))) if s.frames.len() == 32 => {
                let mut v = vec![
                    f("EventTimeStamp", json!(s.event_timestamp)),
                    f("StackProcess", json!(s.pid)),
                    f("StackThread", json!(s.tid)),
                ];
                for (i, a) in s.frames.iter().enumerate() {
                    v.push((format!("Stack{}", i + 1), json!(a)));
                }
                v
            }
            Ok(Some(KernelEvent::StackKey(s))) => vec![
                f("EventTimeStamp", json!(s.event_timestamp)),
                f("StackKey", json!(s.key.0)),
            ],
            Ok(Some(KernelEvent::GroupMask(m))) => {
                let mut v: Vec<(String, Value)> = (0..8)
                    .map(|i| (format!("GroupMask{}", i + 1), json!(m.masks[i])))
                    .collect();
                v.push(f("KernelEventVersion", json!(m.kernel_event_version)));
                v
            }
            _ => Vec::new(),
        };
        out.push((
            ev.provider().to_string(),
            ev.opcode(),
            ev.version(),
            ev.timestamp(),
            ids,
            fields,
        ));
    });
    out
}

/// Compare dissect's reading of `path` with ours; returns (events, events whose fields were
/// compared).
fn compare_with_dissect(path: &Path, head: &Value, lines: &[Value]) -> (usize, usize) {
    let etl = Etl::open(path).unwrap();
    let name = path.display();
    assert!(
        head["error"].is_null(),
        "{name}: dissect: {}",
        head["error"]
    );
    let h = etl.header();
    assert_eq!(head["buffers_written"], json!(h.buffers_written), "{name}");
    assert_eq!(head["pointer_size"], json!(h.pointer_size), "{name}");
    assert_eq!(head["start_time"], json!(h.start_time), "{name}");
    assert_eq!(head["end_time"], json!(h.end_time), "{name}");
    assert_eq!(head["perf_freq"], json!(h.perf_freq), "{name}");
    assert_eq!(head["log_file_mode"], json!(h.log_file_mode), "{name}");
    assert_eq!(head["logger_name"], json!(h.logger_name), "{name}");
    let ours = our_events(&etl);
    assert_eq!(
        head["total_events"],
        json!(ours.len()),
        "{name}: event count"
    );
    assert_eq!(lines.len(), ours.len(), "{name}");
    // Counts per (provider, opcode, version), as the corpus oracles compare them.
    let mut theirs_counts: HashMap<(String, u64, u64), usize> = HashMap::new();
    let mut ours_counts: HashMap<(String, u64, u64), usize> = HashMap::new();
    let mut compared = 0;
    for (i, (d, o)) in lines.iter().zip(&ours).enumerate() {
        let (guid, opcode, version, raw, ids, fields) = o;
        *theirs_counts
            .entry((
                d["guid"].as_str().unwrap_or("").to_string(),
                d["opcode"].as_u64().unwrap_or(999),
                d["version"].as_u64().unwrap_or(999),
            ))
            .or_default() += 1;
        *ours_counts
            .entry((guid.clone(), u64::from(*opcode), u64::from(*version)))
            .or_default() += 1;
        assert_eq!(d["raw_time"], json!(raw), "{name}: event {i} time");
        if let Some((pid, tid)) = ids {
            assert_eq!(
                (d["pid"].clone(), d["tid"].clone()),
                (json!(pid), json!(tid)),
                "{name}: event {i}"
            );
        }
        if d["fields"].is_null() {
            // dissect's StackWalk template is a fixed 32 frames: shorter stacks fail there
            // (format-etl.md, "Where dissect.etl itself is not a good oracle").
            let stack = guid == "def2fe46-7bd6-4b80-bd94-f57fe20d0ce3" && *opcode == 32;
            assert!(
                stack || *opcode == 0 && guid.starts_with("68fdd900"),
                "{name}: event {i} ({guid} {opcode} v{version}) not decoded by dissect: {}",
                d["decode_error"]
            );
            continue;
        }
        if fields.is_empty() {
            continue;
        }
        for (k, v) in fields {
            assert_eq!(
                &d["fields"][k.as_str()],
                v,
                "{name}: event {i} ({guid} {opcode} v{version}) field {k}: {}",
                d["fields"]
            );
        }
        compared += 1;
    }
    assert_eq!(theirs_counts, ours_counts, "{name}: counts per key");
    (ours.len(), compared)
}

#[test]
fn dissect_reads_what_we_write() {
    let Some(py) = python() else {
        println!("skipped: set FLTBLAME_PYTHON to a python with dissect.etl (python3 -m venv .venv && .venv/bin/pip install dissect.etl)");
        return;
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("etl_writer");
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for (name, compress) in [("plain.etl", false), ("compressed.etl", true)] {
        let p = dir.join(name);
        writer::write_file(&trace(compress).model, &p).unwrap();
        files.push(p);
    }
    // The committed case-B samples, as the generator makes them now.
    for (rel, bytes) in fltblame::samples::generate_all() {
        if rel.ends_with(".etl") {
            let p = dir.join(rel.replace('/', "_"));
            std::fs::write(&p, bytes).unwrap();
            files.push(p);
        }
    }
    assert!(files.len() >= 4, "the case-B samples are ETL files");
    let peer = dissect_read(&py, &files);
    assert_eq!(peer.len(), files.len());
    for (path, (head, lines)) in files.iter().zip(&peer) {
        let (events, compared) = compare_with_dissect(path, head, lines);
        println!(
            "{}: dissect.etl read {events} events, payload fields equal on {compared}",
            path.display()
        );
        assert!(
            compared * 2 > events,
            "{}: most events compared field by field",
            path.display()
        );
    }
}
