//! The PML writer (`src/pml/writer.rs`) against the reader, the corpus and procmon-parser.
//!
//! - Round trip: each corpus PML -> `PmlModel::from_pml` -> `write` equals the original file
//!   byte for byte (`format-pml.md` §15).
//! - An empty capture and a capture that was not closed cleanly (§12) read back as such.
//! - procmon-parser (a Python peer, run when `FLTBLAME_PYTHON` names a Python that has it)
//!   reads what the writer makes and sees the same events as our reader.

mod common;

use fltblame::pml::reader::walk_events;
use fltblame::pml::writer::{self, build, EventModel, PmlModel, ProcessModel};
use fltblame::pml::Pml;
use std::path::{Path, PathBuf};

fn open(path: &Path) -> Pml {
    Pml::open(path).unwrap_or_else(|e| panic!("{e}"))
}

/// First differing byte of two buffers, for the failure message.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or(if a.len() == b.len() {
            None
        } else {
            Some(a.len().min(b.len()))
        })
}

fn round_trip(stem: &str) {
    let path = common::corpus_pml(stem);
    let original = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let pml = open(&path);
    let model = PmlModel::from_pml(&pml).unwrap_or_else(|e| panic!("{stem}: {e}"));
    let written = writer::write(&model);
    match first_difference(&original, &written) {
        None => println!("{stem}: {} bytes, {} events: byte-exact round trip", original.len(), model.events.len()),
        Some(at) => panic!(
            "{stem}: the re-written file differs from the original at byte 0x{at:X} (original {} bytes, written {} bytes)",
            original.len(),
            written.len()
        ),
    }
}

#[test]
fn round_trip_utc32_filesystem() {
    round_trip("CompressedLogFileUTC32Filesystem");
}

#[test]
fn round_trip_utc64_process() {
    round_trip("CompressedLogFileUTC64Process");
}

#[test]
fn round_trip_utc64_registry() {
    round_trip("CompressedLogFileUTC64Registry");
}

#[test]
fn round_trip_tests32() {
    round_trip("CompressedLogfileTests32bitUTC");
}

#[test]
fn round_trip_tests64() {
    round_trip("CompressedLogfileTests64bitUTC");
}

/// A small two-process model with `n` registry events (32-bit).
fn small_model(n: usize) -> PmlModel {
    let mut m = PmlModel::new(false);
    m.computer_name = "TEST-PC".into();
    m.cpu_count = 2;
    m.ram_bytes = 2 << 30;
    m.processes.push(ProcessModel {
        index: 100,
        pid: 4,
        name: "System".into(),
        image_path: "System".into(),
        integrity: "System".into(),
        user: "NT AUTHORITY\\SYSTEM".into(),
        auth_id: 0x3E7,
        modules: vec![writer::ModuleModel {
            base: 0x8280_0000,
            size: 0x40_0000,
            path: "C:\\Windows\\system32\\ntkrnlpa.exe".into(),
            company: "Microsoft Corporation".into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    m.processes.push(ProcessModel {
        index: 101,
        pid: 600,
        ppid: 4,
        parent_index: 100,
        name: "app.exe".into(),
        image_path: "C:\\app.exe".into(),
        integrity: "Medium".into(),
        user: "PC\\bob".into(),
        modules: vec![writer::ModuleModel {
            base: 0x40_0000,
            size: 0x1_0000,
            path: "C:\\app.exe".into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    for i in 0..n {
        m.events.push(EventModel {
            process_index: 101,
            tid: 700 + i as u32,
            class: build::class::REGISTRY,
            operation: build::op::REG_OPEN_KEY,
            sequence: i as u32,
            duration: 10,
            time: 133_704_098_700_000_000 + 1_000 * i as u64,
            result: if i % 2 == 0 { 0 } else { 0xC000_0022 },
            stack: vec![0x8280_1234, 0x40_1000],
            detail: build::reg_open_key(&format!("HKLM\\SOFTWARE\\Key{i}"), 0x20019),
            extra: (i % 2 == 0).then(|| build::reg_open_key_extra(0x20019, 0)),
            ..Default::default()
        });
    }
    m
}

#[test]
fn empty_capture_has_no_events() {
    let bytes = writer::write(&small_model(0));
    let pml = Pml::from_bytes(bytes, Path::new("empty.pml")).expect("the empty capture opens");
    assert!(pml.header.closed_cleanly());
    assert_eq!(pml.header.event_count, 0);
    assert_eq!(pml.event_count(), 0, "warnings: {:?}", pml.warnings);
    assert!(pml.warnings.is_empty(), "{:?}", pml.warnings);
    assert_eq!(pml.processes.len(), 2);
    assert_eq!(pml.processes[1].user, "PC\\bob");
    assert_eq!(pml.header.computer_name, "TEST-PC");
    assert_eq!(pml.header.os_build, 7601);
}

#[test]
fn unclosed_capture_events_are_recovered_by_walking() {
    let model = small_model(5);
    let bytes = writer::write_unclosed(&model);
    let pml = Pml::from_bytes(bytes.clone(), Path::new("unclosed.pml"))
        .expect("the unclosed capture opens");
    assert!(!pml.header.closed_cleanly());
    assert_eq!(pml.header.event_count, 0);
    assert_eq!(pml.event_count(), 5, "warnings: {:?}", pml.warnings);
    assert!(
        pml.warnings
            .iter()
            .any(|w| w.contains("not closed cleanly")),
        "{:?}",
        pml.warnings
    );
    assert!(pml.processes.is_empty());
    for (i, want) in model.events.iter().enumerate() {
        let ev = pml.event(i).expect("recovered event");
        assert_eq!(
            (ev.tid, ev.time, ev.result),
            (want.tid, want.time, want.result)
        );
        assert_eq!(ev.detail, &want.detail[..]);
        assert_eq!(ev.extra.map(<[u8]>::to_vec), want.extra);
    }
    // Cut the last record in half, as a copy taken while Procmon was still writing: the walk
    // keeps the 4 whole records.
    let last = walk_events(&bytes, 0x3A8, false)[4] as usize;
    let cut = last + (bytes.len() - last) / 2;
    let pml = Pml::from_bytes(bytes[..cut].to_vec(), Path::new("cut.pml")).expect("opens");
    assert_eq!(pml.event_count(), 4);
    // The model of such a file cannot be rebuilt: there are no tables.
    assert!(PmlModel::from_pml(&pml).is_err());
}

// ---------------------------------------------------------------------------------------------
// procmon-parser read-back

/// One event as `tests/py/read_pml.py` prints it.
#[derive(Debug, PartialEq, Eq, serde::Deserialize)]
struct PeerEvent {
    process_name: String,
    pid: u32,
    tid: u32,
    operation: String,
    path: String,
    result: u32,
}

#[derive(Debug, serde::Deserialize)]
struct PeerLine {
    file: Option<String>,
    event_count: Option<usize>,
    #[serde(flatten)]
    event: Option<PeerEvent>,
}

/// Run procmon-parser on `files`; per file, its events. `None` when `FLTBLAME_PYTHON` is unset.
fn peer_read(files: &[&Path]) -> Option<Vec<Vec<PeerEvent>>> {
    let python = std::env::var_os("FLTBLAME_PYTHON")?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/read_pml.py");
    let out = std::process::Command::new(&python)
        .arg(&script)
        .args(files)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "FLTBLAME_PYTHON={}: cannot run: {e}",
                python.to_string_lossy()
            )
        });
    assert!(
        out.status.success(),
        "{} failed ({}): {}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut per_file: Vec<(usize, Vec<PeerEvent>)> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let l: PeerLine = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("bad line from read_pml.py ({e}): {line}"));
        match (l.file, l.event_count, l.event) {
            (Some(_), Some(n), _) => per_file.push((n, Vec::new())),
            (None, None, Some(e)) => per_file
                .last_mut()
                .expect("an event line before any file line")
                .1
                .push(e),
            _ => panic!("unexpected line from read_pml.py: {line}"),
        }
    }
    for (n, evs) in &per_file {
        assert_eq!(
            *n,
            evs.len(),
            "read_pml.py printed a count that disagrees with its event lines"
        );
    }
    Some(per_file.into_iter().map(|(_, e)| e).collect())
}

/// Our reader's view of `pml` in the peer's terms.
fn our_view(pml: &Pml) -> Vec<PeerEvent> {
    (0..pml.event_count())
        .map(|i| {
            let ev = pml.event(i).expect("event");
            let p = pml.process(ev.process_index);
            let d = fltblame::pml::detail::decode(pml, &ev);
            PeerEvent {
                process_name: p.map(|p| p.name.clone()).unwrap_or_default(),
                pid: p.map_or(0, |p| p.pid),
                tid: ev.tid,
                operation: d.operation.into_owned(),
                path: d.path,
                result: ev.result,
            }
        })
        .collect()
}

fn temp_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pml_writer");
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn procmon_parser_reads_what_we_write() {
    if std::env::var_os("FLTBLAME_PYTHON").is_none() {
        println!("skipped: set FLTBLAME_PYTHON to a python with procmon-parser (python3 -m venv .venv && .venv/bin/pip install procmon-parser)");
        return;
    }
    let dir = temp_dir();
    // 1. the sample, as the generator writes it
    let sample = dir.join("case-a-amdk8.pml");
    let files = fltblame::samples::generate_all();
    let (_, bytes) = files
        .iter()
        .find(|(p, _)| p.ends_with("case-a-amdk8/capture.pml"))
        .expect("the generator makes case-a-amdk8/capture.pml");
    std::fs::write(&sample, bytes).expect("write sample");
    // 2. a re-written corpus file, and 3. its original
    let stem = "CompressedLogFileUTC64Process";
    let original = common::corpus_pml(stem);
    let rewritten = dir.join(format!("{stem}.rewritten.pml"));
    writer::write_file(
        &PmlModel::from_pml(&open(&original)).expect("model"),
        &rewritten,
    )
    .expect("write");

    let peer = peer_read(&[&sample, &rewritten, &original]).expect("FLTBLAME_PYTHON is set");
    assert_eq!(peer.len(), 3);

    // The sample: procmon-parser sees what the generator meant to write ...
    let notes = fltblame::samples::case_a::expected_events();
    assert_eq!(peer[0].len(), notes.len(), "event count of the sample");
    for (i, (got, want)) in peer[0].iter().zip(&notes).enumerate() {
        assert_eq!(
            (
                got.process_name.as_str(),
                got.pid,
                got.tid,
                got.operation.as_str(),
                got.path.as_str(),
                got.result
            ),
            (
                want.process_name,
                want.pid,
                want.tid,
                want.operation,
                want.path.as_str(),
                want.result
            ),
            "sample event {i}"
        );
    }
    // ... and what our reader sees.
    let ours = our_view(&open(&sample));
    compare_views("sample", &peer[0], &ours);

    // The re-written corpus file reads exactly like the original, in procmon-parser too.
    assert_eq!(
        peer[1], peer[2],
        "procmon-parser's view of the re-written {stem} differs from the original's"
    );
    let ours = our_view(&open(&rewritten));
    compare_views(stem, &peer[1], &ours);
    println!(
        "procmon-parser read-back: sample {} events, re-written {stem} {} events, all agree",
        peer[0].len(),
        peer[1].len()
    );
}

/// Compare event by event; process, pid, tid and result always, operation and path as far as
/// our detail decoders name them.
fn compare_views(what: &str, peer: &[PeerEvent], ours: &[PeerEvent]) {
    assert_eq!(
        peer.len(),
        ours.len(),
        "{what}: event count (procmon-parser vs ours)"
    );
    for (i, (p, o)) in peer.iter().zip(ours).enumerate() {
        assert_eq!(
            (&p.process_name, p.pid, p.tid, p.result),
            (&o.process_name, o.pid, o.tid, o.result),
            "{what}: event {i}"
        );
        assert_eq!(
            (&p.operation, &p.path),
            (&o.operation, &o.path),
            "{what}: event {i} operation/path"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Detail builders, decoded by our reader the way Procmon prints them (procmon-text.md §3)

/// (class, operation, detail, extra, result, Procmon's Operation, Path, Detail)
type BuilderCase<'a> = (
    u32,
    u16,
    Vec<u8>,
    Option<Vec<u8>>,
    u32,
    &'a str,
    &'a str,
    &'a str,
);

#[test]
fn detail_builders_decode_to_procmon_text() {
    use build::{class, op, CreateFile, ProcessCreate};
    for is_64bit in [false, true] {
        let mut m = small_model(0);
        m.is_64bit = is_64bit;
        let ft = 132_052_000_000_000_000; // 6/16/2019 11:06:40 PM UTC
        let sid = build::sid(5, &[18]);
        let create = CreateFile {
            desired_access: 0x120089,
            disposition: 1,
            options: 0x60,
            share: 1,
            ..CreateFile::default()
        };
        let created = CreateFile {
            desired_access: 0x12019F,
            disposition: 3,
            options: 0x60,
            attributes: 0x80,
            share: 3,
            impersonation_sid: Some(&sid),
            ..CreateFile::default()
        };
        let pc = ProcessCreate {
            new_index: 101,
            new_pid: 600,
            parent_index: 100,
            parent_pid: 4,
            image_path: r"C:\app.exe",
            command_line: r"C:\app.exe /x",
            user_sid: &sid,
            integrity_sid: &build::sid(16, &[0x4000]),
            ..ProcessCreate::default()
        };
        #[rustfmt::skip]
        let cases: Vec<BuilderCase> = vec![
            (class::REGISTRY, op::REG_OPEN_KEY, build::reg_open_key(r"HKLM\A", 0x20019), Some(build::reg_open_key_extra(0x20019, 0)), 0,
             "RegOpenKey", r"HKLM\A", "Desired Access: Read"),
            (class::REGISTRY, op::REG_CREATE_KEY, build::reg_open_key(r"HKCU\B", 0xF003F), Some(build::reg_open_key_extra(0xF003F, 1)), 0,
             "RegCreateKey", r"HKCU\B", "Desired Access: All Access, Disposition: REG_CREATED_NEW_KEY"),
            (class::REGISTRY, op::REG_QUERY_KEY, build::reg_query_key(r"HKLM\A", 4, 7), Some(build::reg_handle_tags_extra(0)), 0,
             "RegQueryKey", r"HKLM\A", "Query: HandleTags, HandleTags: 0x0"),
            (class::REGISTRY, op::REG_QUERY_KEY, build::reg_query_key(r"HKLM\A", 256, 3), Some(build::reg_key_name_extra(r"\REGISTRY\MACHINE\A")), 0,
             "RegQueryKey", r"HKLM\A", "Query: Name"),
            (class::REGISTRY, op::REG_QUERY_VALUE, build::reg_query_value(r"HKLM\A\Start", 144, 2), Some(build::reg_value_partial_extra(4, &build::reg_dword(3))), 0,
             "RegQueryValue", r"HKLM\A\Start", "Type: REG_DWORD, Length: 4, Data: 3"),
            (class::REGISTRY, op::REG_QUERY_VALUE, build::reg_query_value(r"HKLM\A\Nope", 144, 2), None, 0xC000_0034,
             "RegQueryValue", r"HKLM\A\Nope", "Length: 144"),
            (class::REGISTRY, op::REG_QUERY_VALUE, build::reg_query_value(r"HKLM\A\M", 144, 2), Some(build::reg_value_partial_extra(7, &build::reg_multi_sz(&["a", "bc"]))), 0,
             "RegQueryValue", r"HKLM\A\M", "Type: REG_MULTI_SZ, Length: 12, Data: a, bc"),
            (class::REGISTRY, op::REG_SET_VALUE, build::reg_set_value(r"HKLM\A\Start", 4, &build::reg_dword(3)), None, 0xC000_0022,
             "RegSetValue", r"HKLM\A\Start", "Type: REG_DWORD, Length: 4, Data: 3"),
            (class::REGISTRY, op::REG_SET_VALUE, build::reg_set_value(r"HKLM\A\S", 1, &build::reg_sz("6-21-2006")), None, 0,
             "RegSetValue", r"HKLM\A\S", "Type: REG_SZ, Length: 20, Data: 6-21-2006"),
            (class::REGISTRY, op::REG_CLOSE_KEY, build::reg_close_key(r"HKLM\A"), None, 0, "RegCloseKey", r"HKLM\A", ""),
            (class::FILE_SYSTEM, op::CREATE_FILE, build::fs_create_file(is_64bit, r"C:\x.dat", &create), Some(build::fs_create_file_extra(1)), 0,
             "CreateFile", r"C:\x.dat",
             "Desired Access: Generic Read, Disposition: Open, Options: Synchronous IO Non-Alert, Non-Directory File, Attributes: n/a, ShareMode: Read, AllocationSize: n/a, OpenResult: Opened"),
            (class::FILE_SYSTEM, op::CREATE_FILE, build::fs_create_file(is_64bit, r"C:\log.txt", &created), Some(build::fs_create_file_extra(2)), 0,
             "CreateFile", r"C:\log.txt",
             r"Desired Access: Generic Read/Write, Disposition: OpenIf, Options: Synchronous IO Non-Alert, Non-Directory File, Attributes: N, ShareMode: Read, Write, AllocationSize: 0, Impersonating: NT AUTHORITY\SYSTEM, OpenResult: Created"),
            (class::FILE_SYSTEM, op::CREATE_FILE, build::fs_create_file(is_64bit, r"C:\Windows\System32\config\SAM", &create), None, 0xC000_0022,
             "CreateFile", r"C:\Windows\System32\config\SAM",
             "Desired Access: Generic Read, Disposition: Open, Options: Synchronous IO Non-Alert, Non-Directory File, Attributes: n/a, ShareMode: Read, AllocationSize: n/a"),
            (class::FILE_SYSTEM, op::READ_FILE, build::fs_read_write(is_64bit, r"C:\x.dat", 4096, 4096, 0x60043), Some(build::fs_transfer_extra(4096)), 0,
             "ReadFile", r"C:\x.dat", "Offset: 4,096, Length: 4,096, I/O Flags: Non-cached, Paging I/O, Synchronous Paging I/O, Priority: Normal"),
            (class::FILE_SYSTEM, op::WRITE_FILE, build::fs_read_write(is_64bit, r"C:\log.txt", 2_411_307, 64, 0), Some(build::fs_transfer_extra(64)), 0,
             "WriteFile", r"C:\log.txt", "Offset: 2,411,307, Length: 64"),
            (class::FILE_SYSTEM, op::QUERY_INFORMATION_FILE, build::fs_query_basic_information(is_64bit, r"C:\x.dat"), Some(build::fs_basic_information_extra(ft, ft, ft, ft, 0x20)), 0,
             "QueryBasicInformationFile", r"C:\x.dat",
             "CreationTime: 6/16/2019 11:06:40 PM, LastAccessTime: 6/16/2019 11:06:40 PM, LastWriteTime: 6/16/2019 11:06:40 PM, ChangeTime: 6/16/2019 11:06:40 PM, FileAttributes: A"),
            (class::FILE_SYSTEM, op::CLOSE_FILE, build::fs_close_file(is_64bit, r"C:\x.dat"), None, 0, "CloseFile", r"C:\x.dat", ""),
            (class::PROCESS, op::LOAD_IMAGE, build::load_image(is_64bit, 0x40_0000, 0x5E000, r"C:\app.exe"), None, 0,
             "Load Image", r"C:\app.exe", "Image Base: 0x400000, Image Size: 0x5e000"),
            (class::PROCESS, op::THREAD_CREATE, build::thread_create(1508), None, 0, "Thread Create", "", "Thread ID: 1508"),
            (class::PROCESS, op::PROCESS_START, build::process_start(4, r"C:\app.exe /x", r"C:\", &["A=1", "B=2"]), None, 0,
             "Process Start", "", "Parent PID: 4, Command line: C:\\app.exe /x, Current directory: C:\\, Environment: \r;\tA=1\r;\tB=2"),
            (class::PROCESS, op::PROCESS_CREATE, build::process_create(&pc), None, 0,
             "Process Create", r"C:\app.exe", r"PID: 600, Command line: C:\app.exe /x"),
        ];
        for (i, (class, operation, detail, extra, result, ..)) in cases.iter().enumerate() {
            m.events.push(EventModel {
                process_index: 101,
                tid: 700,
                class: *class,
                operation: *operation,
                time: 133_704_098_700_000_000 + i as u64,
                result: *result,
                stack: vec![0x8280_1234],
                detail: detail.clone(),
                extra: extra.clone(),
                ..Default::default()
            });
        }
        let pml = Pml::from_bytes(writer::write(&m), Path::new("builders.pml")).expect("opens");
        for (i, (.., want_op, want_path, want_detail)) in cases.iter().enumerate() {
            let ev = pml.event(i).expect("event");
            let d = fltblame::pml::detail::decode(&pml, &ev);
            assert_eq!(
                (d.operation.as_ref(), d.path.as_str(), d.detail.as_str()),
                (*want_op, *want_path, *want_detail),
                "case {i}, 64-bit {is_64bit}"
            );
        }
    }
}
