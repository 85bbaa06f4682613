//! `analyze` on ETL traces: the case-B samples (gscfmgr.sys named decisively from its failure
//! event; the control concluded `no_filter`), a PML and an ETL of one incident combined, a trace
//! without minifilter tracing, a trace with minifilter events only, ETL sniffing over the whole
//! corpus, and reader problems surfacing as input warnings.

mod common;

use fltblame::etl::writer::payload::{self, group, perf, Flt, FltLayout};
use fltblame::etl::writer::{self, EtlModel, EventModel, LogfileModel};
use fltblame::evidence::{self, candidates, denials, Context};
use fltblame::input::{self, Kind};
use fltblame::samples::case_b;
use fltblame::tables::Tables;
use fltblame::verdict::{analyze, Conclusion, Verdict};
use polars::prelude::*;
use std::path::PathBuf;

const NOTE: &str = "minifilter payload layout inferred, unconfirmed by a real trace";

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("analyze_etl");
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// The committed sample, or the generator's bytes when it is not there yet.
fn sample(rel: &str) -> PathBuf {
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(rel);
    if committed.exists() {
        return committed;
    }
    let (_, bytes) = fltblame::samples::generate_all()
        .into_iter()
        .find(|(r, _)| r == rel)
        .expect("generator");
    let p = tmp(&rel.replace('/', "_"));
    std::fs::write(&p, bytes).unwrap();
    p
}

fn load(paths: &[PathBuf]) -> (Tables, Verdict) {
    let t = input::load(paths).unwrap_or_else(|e| panic!("{e:#}"));
    let v = analyze(&t).unwrap();
    eprintln!("{}", fltblame::report::summary_text(&v));
    (t, v)
}

fn items(t: &Tables) -> Vec<evidence::Evidence> {
    let ds = denials::find(t).unwrap();
    let drivers = candidates::find(t).unwrap();
    evidence::collect(&Context {
        tables: t,
        denials: &ds,
        drivers: &drivers,
    })
    .unwrap()
}

#[test]
fn case_b_names_gscfmgr_decisively() {
    let (t, v) = load(&[sample("case-b-softwaredistribution/trace.etl")]);
    assert_eq!(v.conclusion, Conclusion::Filter, "{}", v.reason);
    assert_eq!(v.driver.as_deref(), Some("gscfmgr.sys"));
    let s = v.named().unwrap();
    let failure = s
        .evidence
        .iter()
        .find(|e| e.kind == "flt_failure_event")
        .expect("the decisive failure event");
    assert_eq!(failure.strength, evidence::Strength::Decisive);
    for want in [
        NOTE,
        "Operation, OperationStatus, TimeFirst",
        "PreOpFailure",
        "gscfmgr.sys+0x1A5C0",
        "STATUS_ACCESS_DENIED",
        "IRP_MJ_CREATE",
        "before it the request passed PROCMON24.SYS",
        "TiWorker.exe (pid 3100, tid 3104)",
    ] {
        assert!(failure.detail.contains(want), "{want}: {}", failure.detail);
    }
    let stop = s
        .evidence
        .iter()
        .find(|e| e.kind == "flt_chain_stop")
        .expect("the chain stop");
    assert!(stop.detail.contains("TmPreFlt.sys, fileinfo.sys") && stop.detail.contains(NOTE));
    // The other filters of the chain are no suspects: the trace shows the request never reached
    // them (TmPreFlt.sys) or they only observe (PROCMON24.SYS, fileinfo.sys).
    assert_eq!(v.suspects.len(), 1, "{:?}", v.suspects);
    let all = items(&t);
    let unreached: Vec<&str> = all
        .iter()
        .filter(|e| e.key == "flt_chain_unreached")
        .filter_map(|e| e.driver.as_deref())
        .collect();
    assert_eq!(unreached, ["TmPreFlt.sys", "fileinfo.sys"]);
    // The denial.
    assert_eq!(v.denials.len(), 1);
    let d = &v.denials[0];
    assert_eq!(
        (d.process.as_str(), d.pid, d.tid),
        ("TiWorker.exe", 3100, 3104)
    );
    assert_eq!(
        (d.operation.as_str(), d.status.as_str()),
        ("CreateFile", "0xC0000022")
    );
    assert_eq!(d.path, case_b::denied_path());
    assert_eq!(d.user, "NT AUTHORITY\\SYSTEM");
    assert!(d.servicing_relevant && !d.acl_plausible);
    assert_eq!(d.suspects, ["gscfmgr.sys"]);
    assert_eq!(s.denials, [d.event_id]);
    assert!(
        d.time_utc.starts_with("2022-08-16T04:05:29.1172"),
        "{}",
        d.time_utc
    );
    // The report shows the decisive evidence and the layout caveat.
    let text = fltblame::report::summary_text(&v);
    assert!(text.contains("FILTER: gscfmgr.sys denied it"), "{text}");
    assert!(text.contains("flt_failure_event") && text.contains(NOTE));
    assert!(text.contains("variants matched: Operation, OperationStatus, TimeFirst"));
    let html = fltblame::report::render_html(&v, &t).unwrap();
    assert!(html.contains("flt_failure_event") && html.contains(NOTE));
    assert!(html.contains("gscfmgr.sys+0x1A5C0"));
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["traces"][0]["layouts"][1], "OperationStatus");
    assert!(v.advice[0].contains("minifilter trace names the callback"));
}

#[test]
fn case_b_tables() {
    let t = input::load(&[sample("case-b-softwaredistribution/trace.etl")]).unwrap();
    assert_eq!(t.inputs[0].kind, "etl");
    assert!(
        t.inputs[0].warnings.is_empty(),
        "{:?}",
        t.inputs[0].warnings
    );
    assert_eq!(t.inputs[0].os, "Windows 10.0 (build 17763)");
    let tr = &t.traces[0];
    assert!(tr.can_name_filter && tr.minifilter_failure && tr.operations);
    // Every callback names its driver, and the chain order of ordinary I/O is cases.md's.
    let cb = &t.callbacks;
    assert!(cb.height() > 100);
    assert_eq!(cb.column("driver").unwrap().null_count(), 0);
    let pre = cb
        .clone()
        .lazy()
        .filter(
            col("phase")
                .eq(lit("pre"))
                .and(col("major_function").eq(lit("IRP_MJ_CLOSE"))),
        )
        .collect()
        .unwrap();
    let drivers: Vec<String> = pre
        .column("driver")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .take(4)
        .map(|s| s.unwrap().to_string())
        .collect();
    assert_eq!(drivers, case_b::CHAIN);
    // WPA's view of the close path in cases.md, to the 100 ns: start times and durations.
    let close = cb
        .clone()
        .lazy()
        .filter(
            col("phase")
                .eq(lit("pre"))
                .and(col("major_function").eq(lit("IRP_MJ_CLOSE")))
                .and(
                    col("time_utc")
                        .cast(DataType::Int64)
                        .gt(lit(1_660_622_729_116_000_000i64)),
                ),
        )
        .collect()
        .unwrap();
    let times: Vec<i64> = close
        .column("time_utc")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .take(4)
        .map(|x| (x.unwrap() - 1_660_622_729_000_000_000) / 100)
        .collect();
    assert_eq!(times, [1_167_978, 1_167_995, 1_168_013, 1_168_028]);
    let durations: Vec<i64> = close
        .column("duration_ns")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .take(4)
        .map(|x| x.unwrap())
        .collect();
    assert_eq!(durations, [1_500, 1_600, 1_300, 2_800]);
    // The failure row.
    let fail = cb.clone().lazy().filter(col("failure")).collect().unwrap();
    assert_eq!(fail.height(), 1);
    let get = |c: &str| fail.column(c).unwrap().get(0).unwrap().to_string();
    assert_eq!(get("driver"), "\"gscfmgr.sys\"");
    assert_eq!(get("status_name"), "\"ACCESS DENIED\"");
    assert_eq!(get("major_function"), "\"IRP_MJ_CREATE\"");
    assert_eq!(get("layout"), "\"Operation+OperationStatus+TimeFirst\"");
    // Registry paths as Procmon shows them; file operations with Procmon's names.
    let ops: Vec<(String, String)> = {
        let e = &t.events;
        let op = e.column("operation").unwrap().str().unwrap();
        let path = e.column("path").unwrap().str().unwrap();
        op.iter()
            .zip(path.iter())
            .map(|(o, p)| (o.unwrap().to_string(), p.unwrap().to_string()))
            .collect()
    };
    assert!(ops.iter().any(|(o, p)| o == "RegQueryValue"
        && p.starts_with("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages\\Package_for_RollupFix")
        && p.ends_with("\\CurrentState")));
    for op in [
        "CreateFile",
        "ReadFile",
        "WriteFile",
        "CloseFile",
        "IRP_MJ_CLOSE",
        "RegOpenKey",
        "RegCloseKey",
    ] {
        assert!(ops.iter().any(|(o, _)| o == op), "{op}");
    }
    // Kernel modules under the System process, Windows-signed ones as Microsoft's.
    let m = &t.modules;
    let gs = m
        .clone()
        .lazy()
        .filter(col("name").eq(lit("gscfmgr.sys")))
        .collect()
        .unwrap();
    assert_eq!(gs.column("pid").unwrap().u32().unwrap().get(0), Some(4));
    assert_eq!(
        gs.column("company").unwrap().str().unwrap().get(0),
        Some("")
    );
    let fi = m
        .clone()
        .lazy()
        .filter(col("name").eq(lit("fileinfo.sys")))
        .collect()
        .unwrap();
    assert_eq!(
        fi.column("company").unwrap().str().unwrap().get(0),
        Some("Microsoft Corporation")
    );
    // Stacks resolve to modules, kernel frames first.
    let f = &t.frames;
    assert!(f.height() > 0);
    assert_eq!(f.column("module").unwrap().null_count(), 0);
    // Processes.
    let p = &t.processes;
    let ti = p
        .clone()
        .lazy()
        .filter(col("pid").eq(lit(3100u32)))
        .collect()
        .unwrap();
    assert_eq!(
        ti.column("name").unwrap().str().unwrap().get(0),
        Some("TiWorker.exe")
    );
    assert!(ti
        .column("image")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .unwrap()
        .ends_with("\\TiWorker.exe"));
    // The query catalog exposes the callbacks table.
    let c = fltblame::query::Catalog::from_tables(&t).unwrap();
    let df = c
        .run("SELECT driver, count(*) AS n FROM callbacks WHERE failure GROUP BY driver")
        .unwrap();
    assert_eq!(df.height(), 1);
}

#[test]
fn case_b_control_is_no_filter() {
    let (t, v) = load(&[sample("case-b-control/trace.etl")]);
    assert_eq!(v.conclusion, Conclusion::NoFilter, "{}", v.reason);
    assert!(v.driver.is_none() && v.suspects.is_empty());
    assert!(
        v.reason.contains("passed every filter") && v.reason.contains(NOTE),
        "{}",
        v.reason
    );
    assert_eq!(v.denials.len(), 1);
    let d = &v.denials[0];
    assert_eq!(d.process, "expand.exe");
    assert_eq!(d.user, case_b::CONTROL_USER_SID);
    assert!(d.acl_plausible && d.servicing_relevant);
    assert_eq!(d.path, case_b::control_denied_path());
    let all = items(&t);
    let complete = all
        .iter()
        .find(|e| e.key == "flt_chain_complete")
        .expect("flt_chain_complete");
    assert!(complete.driver.is_none() && complete.weight == 0.0);
    for want in [
        "PROCMON24.SYS (",
        "→ fileinfo.sys (",
        "ACCESS DENIED",
        "post-operation callbacks",
        NOTE,
    ] {
        assert!(
            complete.detail.contains(want),
            "{want}: {}",
            complete.detail
        );
    }
    let passed: Vec<&str> = all
        .iter()
        .filter(|e| e.key == "flt_chain_passed")
        .filter_map(|e| e.driver.as_deref())
        .collect();
    assert_eq!(passed, case_b::CHAIN);
    assert!(!all
        .iter()
        .any(|e| e.kind == "flt_failure_event" || e.key == "flt_chain_stop"));
}

/// A Procmon capture of the case-B machine at the same time: TiWorker's denied CreateFile as
/// Procmon records it (DOS path, 2 ms after the trace's start of the operation).
fn case_b_pml() -> Vec<u8> {
    use fltblame::pml::writer::build::{self, CreateFile};
    use fltblame::pml::writer::{
        self as pw, EventModel as Pe, ModuleModel, PmlModel, ProcessModel,
    };
    let mut m = PmlModel::new(true);
    m.computer_name = "BRANCH-PC042".into();
    m.os.major = 10;
    m.os.minor = 0;
    m.os.build = 17763;
    m.os.service_pack = String::new();
    m.os.sp_major = 0;
    let kmod = |path: &str, base: u64, company: &str| ModuleModel {
        base,
        size: 0x4_0000,
        path: path.into(),
        company: company.into(),
        ..Default::default()
    };
    m.processes.push(ProcessModel {
        index: 1,
        pid: 4,
        integrity: "System".into(),
        user: "NT AUTHORITY\\SYSTEM".into(),
        name: "System".into(),
        is_64bit: true,
        modules: vec![
            kmod(
                "C:\\Windows\\system32\\ntoskrnl.exe",
                0xFFFF_F803_7A20_0000,
                "Microsoft Corporation",
            ),
            kmod(
                "C:\\Windows\\System32\\drivers\\FLTMGR.SYS",
                0xFFFF_F80B_1B40_0000,
                "Microsoft Corporation",
            ),
            kmod(
                "C:\\Windows\\System32\\drivers\\PROCMON24.SYS",
                0xFFFF_F80B_1F6C_0000,
                "Sysinternals - www.sysinternals.com",
            ),
            kmod(
                "C:\\Windows\\System32\\drivers\\gscfmgr.sys",
                0xFFFF_F80B_1E80_0000,
                "TMS",
            ),
            kmod(
                "C:\\Windows\\System32\\drivers\\TmPreFlt.sys",
                0xFFFF_F80B_1E86_0000,
                "Trend Micro Inc.",
            ),
            kmod(
                "C:\\Windows\\System32\\drivers\\fileinfo.sys",
                0xFFFF_F80B_1B50_0000,
                "Microsoft Corporation",
            ),
        ],
        ..Default::default()
    });
    m.processes.push(ProcessModel {
        index: 2,
        pid: 3100,
        ppid: 760,
        auth_id: 0x3E7,
        integrity: "System".into(),
        user: "NT AUTHORITY\\SYSTEM".into(),
        name: "TiWorker.exe".into(),
        image_path: "C:\\Windows\\WinSxS\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.17763.3160_none_7e9c8ab9e4c2b9f5\\TiWorker.exe".into(),
        command_line: "C:\\Windows\\winsxs\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.17763.3160_none_7e9c8ab9e4c2b9f5\\TiWorker.exe -Embedding".into(),
        is_64bit: true,
        ..Default::default()
    });
    let dos = case_b::denied_path().replace("\\Device\\HarddiskVolume2", "C:");
    let at = case_b::TRACE_START + case_b::DENIED_RAW + 20_000; // 2 ms later than the trace
    m.events.push(Pe {
        process_index: 2,
        tid: case_b::TIWORKER_TID,
        class: 3,
        operation: 20,
        time: at,
        duration: 150,
        result: 0xC000_0022,
        stack: vec![
            0xFFFF_F80B_1B40_0000 + 0x4_B1D6,
            0xFFFF_F803_7A20_0000 + 0x3_1A9C9,
        ],
        detail: build::fs_create_file(
            true,
            &dos,
            &CreateFile {
                desired_access: 0x0012_019F,
                disposition: 5,
                options: 0x60,
                ..Default::default()
            },
        ),
        ..Default::default()
    });
    pw::write(&m)
}

#[test]
fn pml_and_etl_of_one_incident_are_aligned() {
    let pml = tmp("case-b.pml");
    std::fs::write(&pml, case_b_pml()).unwrap();
    let etl = sample("case-b-softwaredistribution/trace.etl");
    let (t, v) = load(&[pml, etl]);
    // One timeline, unique ids.
    assert_eq!(t.inputs.len(), 2);
    let ids = t.events.column("event_id").unwrap();
    assert_eq!(ids.n_unique().unwrap(), t.events.height());
    assert_eq!(v.conclusion, Conclusion::Filter, "{}", v.reason);
    assert_eq!(v.driver.as_deref(), Some("gscfmgr.sys"));
    assert_eq!(v.denials.len(), 2, "the same operation seen by both inputs");
    let pml_denial = v.denials.iter().find(|d| d.source == "case-b.pml").unwrap();
    let etl_denial = v.denials.iter().find(|d| d.source != "case-b.pml").unwrap();
    assert_eq!(
        pml_denial.object.to_lowercase().replace("c:", ""),
        etl_denial
            .object
            .to_lowercase()
            .replace("\\device\\harddiskvolume2", "")
    );
    // Both are tied to gscfmgr.sys by the minifilter evidence, which names the alignment.
    assert_eq!(pml_denial.suspects, ["gscfmgr.sys"]);
    assert_eq!(etl_denial.suspects, ["gscfmgr.sys"]);
    let s = v.named().unwrap();
    let f = s
        .evidence
        .iter()
        .find(|e| e.kind == "flt_failure_event")
        .unwrap();
    assert_eq!(f.events, [etl_denial.event_id, pml_denial.event_id]);
    assert!(
        f.detail.contains(&format!(
            "the same operation is case-b.pml event #{}",
            pml_denial.event_id
        )),
        "{}",
        f.detail
    );
    assert!(f.detail.contains("2.000 ms later"), "{}", f.detail);
}

/// A small Windows 10 trace: TiWorker's create denied, with or without minifilter tracing and
/// with or without FileIo operation events.
fn synthetic_trace(minifilter: bool, file_io: bool) -> Vec<u8> {
    let mut m = EtlModel::new(LogfileModel::windows10(17763, 1, case_b::TRACE_START));
    let mut bits = vec![perf::PROCESS, perf::THREAD, perf::LOADER, perf::FILENAME];
    if file_io {
        bits.extend([perf::FILE_IO, perf::FILE_IO_INIT]);
    }
    if minifilter {
        bits.extend([perf::FLT_IO_INIT, perf::FLT_IO, perf::FLT_IO_FAILURE]);
    }
    m.events.push(EventModel::perfinfo(
        0,
        group::EVENT_TRACE,
        5,
        2,
        1,
        payload::group_mask(&payload::masks(&bits), 80),
    ));
    let p = payload::Process {
        key: 0xFFFF_A88F_6000_0080,
        pid: 3100,
        ppid: 760,
        exit_status: 259,
        sid: payload::sid_from_str("S-1-5-18").unwrap(),
        image: "TiWorker.exe".into(),
        command_line: "TiWorker.exe -Embedding".into(),
        ..Default::default()
    };
    m.events.push(EventModel::system(
        0,
        group::PROCESS,
        3,
        4,
        3100,
        0,
        2,
        payload::process_v4(&p, 8),
    ));
    let drv = payload::Image {
        base: 0xFFFF_F80B_2000_0000,
        size: 0x2_0000,
        pid: 0,
        file_name: "\\SystemRoot\\System32\\drivers\\xguard.sys".into(),
        signature_level: 0x24,
        ..Default::default()
    };
    m.events.push(EventModel::system(
        0,
        group::IMAGE,
        3,
        3,
        0,
        0,
        3,
        payload::image_v3(&drv, 8),
    ));
    let path = "\\Device\\HarddiskVolume2\\Windows\\WinSxS\\Temp\\PendingRenames\\x.dll";
    let (irp, fo, cbd) = (
        0xFFFF_A88F_0000_1000u64,
        0xFFFF_A88F_0000_2000u64,
        0xFFFF_A88F_0000_3000u64,
    );
    let t = 10_000_000u64;
    if file_io {
        m.events.push(EventModel::system(
            0,
            group::FILE_IO,
            64,
            3,
            3100,
            3104,
            t,
            payload::file_create_v3(irp, fo, 3104, 0x0500_0060, 0x80, 0, path, 8),
        ));
    }
    if minifilter {
        let f = Flt {
            routine: 0xFFFF_F80B_2000_1230,
            file_object: fo,
            file_context: 0,
            irp,
            callback_data: cbd,
            major_function: 0,
            status: 0xC000_0022,
            initial_time: t + 10,
        };
        m.events.push(EventModel::system(
            0,
            group::FILE_IO,
            96,
            3,
            3100,
            3104,
            t + 10,
            payload::minifilter(&f, FltLayout::Operation, 8),
        ));
        m.events.push(EventModel::system(
            0,
            group::FILE_IO,
            100,
            3,
            3100,
            3104,
            t + 25,
            payload::minifilter(&f, FltLayout::OperationStatus, 8),
        ));
        m.events.push(EventModel::system(
            0,
            group::FILE_IO,
            98,
            3,
            3100,
            3104,
            t + 26,
            payload::minifilter(&f, FltLayout::TimeFirst, 8),
        ));
    }
    if file_io {
        m.events.push(EventModel::system(
            0,
            group::FILE_IO,
            76,
            3,
            3100,
            3104,
            t + 40,
            payload::file_op_end(irp, 0, 0xC000_0022, 8),
        ));
        m.events.push(EventModel::system(
            0,
            group::FILE_IO,
            0,
            2,
            3100,
            3104,
            t + 41,
            payload::file_name(0xFFFF_D28F_0000_1000, path, 8),
        ));
    }
    writer::write(&m)
}

#[test]
fn trace_without_minifilter_tracing_cannot_name_a_filter() {
    let p = tmp("no-minifilter.etl");
    std::fs::write(&p, synthetic_trace(false, true)).unwrap();
    let (t, v) = load(&[p]);
    assert!(!t.traces[0].can_name_filter && !t.traces[0].minifilter);
    assert_eq!(v.denials.len(), 1);
    assert_eq!(v.conclusion, Conclusion::Undetermined, "{}", v.reason);
    assert!(
        v.advice.iter().any(|a| a.contains(
            "no-minifilter.etl: this trace cannot name a filter: record with Minifilter I/O"
        )),
        "{:?}",
        v.advice
    );
    assert!(fltblame::report::summary_text(&v)
        .contains("no minifilter tracing: this trace cannot name a filter"));
}

#[test]
fn failure_event_alone_is_the_denial() {
    let p = tmp("minifilter-only.etl");
    std::fs::write(&p, synthetic_trace(true, false)).unwrap();
    let (t, v) = load(&[p]);
    assert_eq!(t.events.height(), 1, "one event made from the failure");
    assert_eq!(v.denials.len(), 1);
    let d = &v.denials[0];
    assert_eq!(
        (d.operation.as_str(), d.process.as_str()),
        ("CreateFile", "TiWorker.exe")
    );
    assert!(d.detail.contains("From minifilter events only") && d.detail.contains(NOTE));
    assert_eq!(v.conclusion, Conclusion::Filter, "{}", v.reason);
    assert_eq!(v.driver.as_deref(), Some("xguard.sys"));
    // A driver seen in callbacks is a candidate even without a module row.
    let mut bare = t;
    bare.modules = bare.modules.head(Some(0));
    let c = candidates::find(&bare).unwrap();
    assert!(c.get("xguard.sys").is_some(), "{:?}", c.candidates);
    // With FileIo events too, the failure joins the operation instead.
    let p = tmp("minifilter-and-fileio.etl");
    std::fs::write(&p, synthetic_trace(true, true)).unwrap();
    let (t, v) = load(&[p]);
    assert_eq!(t.events.height(), 1);
    assert_eq!(v.driver.as_deref(), Some("xguard.sys"));
    assert_eq!(
        t.callbacks
            .column("event_id")
            .unwrap()
            .u64()
            .unwrap()
            .get(0),
        Some(v.denials[0].event_id)
    );
}

#[test]
fn every_corpus_trace_sniffs_as_etl() {
    let dir = common::shared_dir().join("corpus/etl");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "etl") {
            assert_eq!(input::sniff(&p).unwrap(), Kind::Etl, "{}", p.display());
            n += 1;
        }
    }
    assert_eq!(n, 16);
    for stem in common::PML_STEMS {
        assert_eq!(input::sniff(&common::corpus_pml(stem)).unwrap(), Kind::Pml);
    }
    let short = tmp("short.bin");
    std::fs::write(&short, [0u8; 10]).unwrap();
    assert_eq!(input::sniff(&short).unwrap(), Kind::Unknown);
}

#[test]
fn reader_problems_become_input_warnings() {
    let mut bytes = synthetic_trace(true, true);
    // Cut the last buffer short: the reader keeps what it can and reports where it stopped.
    let n = bytes.len();
    bytes.truncate(n - 100);
    let p = tmp("truncated.etl");
    std::fs::write(&p, bytes).unwrap();
    let t = input::load(&[p]).unwrap();
    let w = &t.inputs[0].warnings;
    assert!(
        w.iter()
            .any(|w| w.contains("truncated") || w.contains("claims")),
        "{w:?}"
    );
}
