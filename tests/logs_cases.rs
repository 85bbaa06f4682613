//! The classifier on the log lines of the four real cases (`shared/docs/cases.md`), quoted as the
//! engineers pasted them (irregular spacing included). Where a case quotes only a fragment, the
//! fragment is put in an entry line of the log it came from.

use fltblame::logs::signatures::{Classifier, LineInput};
use fltblame::logs::{classify, classify_all, read_bytes, Finding, LogFile, LogKind, ReadOptions};
use std::borrow::Cow;

fn log(name: &str, text: &str) -> LogFile {
    let l = read_bytes(name, text.as_bytes(), &ReadOptions::default())
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(l.stats().accounted(), "{name}: {:?}", l.stats());
    assert!(
        l.stats().unparsed.is_empty(),
        "{name}: {:?}",
        l.stats().unparsed
    );
    l
}

fn at(f: &[Finding], line: usize) -> &Finding {
    f.iter()
        .find(|x| x.line == line)
        .unwrap_or_else(|| panic!("no finding at line {line}: {f:#?}"))
}

fn no_finding(f: &[Finding], line: usize) {
    assert!(
        f.iter().all(|x| x.line != line),
        "unexpected finding at line {line}: {f:#?}"
    );
}

fn event(text: &str) -> Option<Finding> {
    let input = LineInput {
        source_kind: LogKind::EventLog,
        line: 1,
        time_local: None,
        time_utc: None,
        failed: false,
        severity: None,
        text: Cow::Borrowed(text),
        context: Vec::new(),
    };
    Classifier::builtin().classify_line("System.evtx", &input)
}

const CASE_A_CBS: &str = "\
2024-09-10 10:44:35, Info  CBS  Doqe: [Forward] Installing driver updates, Count 1
2024-09-10 10:44:36, Info  CBS  INSTALL index: 0, phase: 1, result 0, inf: cpu.inf
2024-09-10 10:44:44, Info  CBS  INSTALL index: 0, phase: 2, result 5, inf: cpu.inf
2024-09-10 10:44:45, Info  CBS  DriverUpdateInstallUpdates failed [HRESULT = 0x80070005 - E_ACCESSDENIED]
2024-09-10 10:44:45, Error CBS  Doqe: Failed installing driver updates [HRESULT = 0x80070005 - E_ACCESSDENIED]
2024-09-10 10:44:45, Info  CBS  Startup: Rolling back KTM, because drivers failed.
2024-09-10 10:44:46, Info  CBS  Doqe: [Rollback] Unstaging driver updates, Count 1
2024-09-10 10:44:47, Error CBS  Doqe: Marked package Package_63_for_KB4474419~31bf3856ad364e35~x86~~6.1.3.2 as failed.
";

const CASE_A_SETUPAPI: &str = "     sto:      {Reflect Driver: AMD K8 Processor}
     sto:           Section Name = AmdK8_Inst.NT
     sto:           Hardware Id  = ACPI\\AuthenticAMD_-_x86_Family_15_Model_4
     sto:           {Add Service: AmdK8}
     sto:                Updating existing service 'AmdK8'.
!!!  sto:                Failed to set Start Type. Error = 0x00000005
     sto:           {Add Service: exit(0x00000005)}
     sto:      {Reflect Driver: exit(0x00000005)}
!!!  sto: Failed to reflect driver package. Time = 6926 ms, Error = 0x00000005
!!!  sto: Failed to reflect all driver updates. Error = 0x00000005
<<<  [Exit status: FAILURE(0x00000005)]
";

#[test]
fn case_a_driver_queue_denied_on_cpu_inf() {
    let f = classify(&log("CBS.log", CASE_A_CBS));
    for l in [1, 2, 6, 7] {
        no_finding(&f, l);
    }
    let install = at(&f, 3);
    assert_eq!(install.signature, "driver_queue_denied");
    assert_eq!(install.kind, "access_denied");
    let obj = install.object.as_ref().unwrap();
    assert_eq!((obj.kind.as_str(), obj.name.as_str()), ("inf", "cpu.inf"));
    assert_eq!(install.code, Some(0x8007_0005));
    assert!(install.filter_possible);
    assert_eq!(install.detail.as_deref(), Some("INSTALL index 0, phase 2"));
    assert_eq!(
        install.time_local.unwrap().to_string(),
        "2024-09-10 10:44:44"
    );
    assert_eq!((install.file.as_str(), install.line), ("CBS.log", 3));
    assert!(
        install.fix.contains("boot log") && install.fix.contains("Registry I/O"),
        "{}",
        install.fix
    );
    for l in [4, 5] {
        let d = at(&f, l);
        assert_eq!(d.signature, "driver_queue_denied", "line {l}");
        assert_eq!(d.code_name.as_deref(), Some("E_ACCESSDENIED"));
        assert_eq!(
            d.object.as_ref().unwrap().name,
            "cpu.inf",
            "line {l}: object from the INSTALL line"
        );
        assert!(d.related.contains(&3));
    }
    let marked = at(&f, 8);
    assert_eq!(marked.signature, "package_failed");
    assert_eq!(
        marked.object.as_ref().unwrap().name,
        "Package_63_for_KB4474419~31bf3856ad364e35~x86~~6.1.3.2"
    );
    assert!(
        marked.related.contains(&3) && marked.filter_possible,
        "{marked:#?}"
    );
}

#[test]
fn case_a_setupapi_names_the_amdk8_start_value() {
    let l = log("setupapi.dev.log", CASE_A_SETUPAPI);
    assert_eq!(l.kind, LogKind::SetupApi);
    let f = classify(&l);
    let st = at(&f, 6);
    assert_eq!(st.signature, "driver_queue_denied");
    let obj = st.object.as_ref().unwrap();
    assert_eq!(obj.kind, "value");
    assert_eq!(
        obj.name,
        "HKLM\\SYSTEM\\CurrentControlSet\\Services\\AmdK8\\Start"
    );
    assert_eq!(st.code, Some(0x8007_0005));
    assert!(st.filter_possible);
    // the same lines inside their section: the section's exit is a finding too
    let wrapped = format!(
        ">>>  [Install Driver Updates]\n>>>  Section start 2024/09/10 10:44:37.000\n{}<<<  Section end 2024/09/10 10:44:44.000\n<<<  [Exit status: FAILURE(0x00000005)]\n",
        CASE_A_SETUPAPI.replace("<<<  [Exit status: FAILURE(0x00000005)]\n", "")
    );
    let f = classify(&log("setupapi.dev.log", &wrapped));
    assert_eq!(
        at(&f, 8).object.as_ref().unwrap().name,
        "HKLM\\SYSTEM\\CurrentControlSet\\Services\\AmdK8\\Start"
    );
    for l in [11, 12, 14] {
        assert_eq!(at(&f, l).signature, "driver_queue_denied", "line {l}");
        assert!(at(&f, l).filter_possible);
    }
    assert_eq!(
        at(&f, 8).time_local.unwrap().to_string(),
        "2024-09-10 10:44:37"
    );
    // the Setup event of case A
    let e = event(
        "Microsoft-Windows-Servicing/3 | Client=WindowsUpdateAgent | ErrorCode=0x80070005 | IntendedPackageState=Installed | PackageIdentifier=KB4474419 |",
    )
    .unwrap();
    assert_eq!(e.signature, "package_failed");
    assert_eq!(e.object.as_ref().unwrap().name, "KB4474419");
    assert_eq!(e.code, Some(0x8007_0005));
    assert!(e.filter_possible);
    assert_eq!(e.detail.as_deref(), Some("intended state Installed"));
}

const CASE_B_CBS: &str = "\
2022-08-16 12:05:29, Info  DPX  DpxException hr=0x80070005 code=0x020217
2022-08-16 12:05:29, Info  CBS  Failed to Resume job in DpxThreadResumeJobProc [HRESULT = 0x80070005 - E_ACCESSDENIED]
2022-08-16 12:05:29, Info  CBS  Failed to extract files from cabinet \\\\?\\C:\\WINDOWS\\SoftwareDistribution\\Download\\0d0a8a4c61ea8935e1c01bdac8bbb7d1\\inst\\_Windows10.0-KB5015811-x64.cab_\\Cab_3_for_KB5015811_PSFX.cab [HRESULT = 0x80070005 - E_ACCESSDENIED]
2022-08-16 12:05:29, Info  CBS  Failed to add package: Package_for_RollupFix~31bf3856ad364e35~amd64~~17763.3165.1.8 [HRESULT = 0x80070005 - E_ACCESSDENIED]
2022-08-16 12:05:29, Error CBS  Failed to process single phase execution. [HRESULT = 0x80070005 - E_ACCESSDENIED]
";

#[test]
fn case_b_file_extract_denied_on_the_cab() {
    let f = classify(&log("CBS.log", CASE_B_CBS));
    let x = at(&f, 3);
    assert_eq!(x.signature, "file_extract_denied");
    assert_eq!(x.kind, "access_denied");
    let obj = x.object.as_ref().unwrap();
    assert_eq!(obj.kind, "file");
    assert_eq!(
        obj.name,
        "C:\\WINDOWS\\SoftwareDistribution\\Download\\0d0a8a4c61ea8935e1c01bdac8bbb7d1\\inst\\_Windows10.0-KB5015811-x64.cab_\\Cab_3_for_KB5015811_PSFX.cab"
    );
    assert!(x.filter_possible);
    assert!(
        x.fix.contains("SoftwareDistribution") && x.fix.contains("Minifilter"),
        "{}",
        x.fix
    );
    assert_eq!(
        at(&f, 4).object.as_ref().unwrap().name,
        "Package_for_RollupFix~31bf3856ad364e35~amd64~~17763.3165.1.8"
    );
    // every line of the case is an access denial; none is classified as anything else
    assert_eq!(f.len(), 5);
    assert!(
        f.iter()
            .all(|x| x.kind == "access_denied" && x.filter_possible),
        "{f:#?}"
    );
}

const CASE_C_CBS: &str = "\
2024-07-30 07:58:10, Info CBS INSTALL index: 0, phase: 2, result 5, inf: cpu.inf
2024-07-30 07:58:11, Error CBS Doqe: Failed installing driver updates [HRESULT = 0x80070005 - E_ACCESSDENIED]
2024-07-30 08:17:03, Info CBS Progress: UI message updated. Operation type: Update. Stage: 1 out of 1. Percent progress: 32.
2024-07-30 08:17:03, Info CBS Startup: Changing logon timeout to a sliding window timeout: 900000
2024-07-30 08:32:05, Info CBS Startup: Timed out waiting for startup processing to complete
2024-07-30 08:32:05, Info CBS Current global progress. Current: 0, Limit: 1, ExecuteState: CbsExecuteStateUnstageDrivers
2024-07-30 08:32:05, Info CBS Startup: restarting the computer to attempt to continue or recover.
2024-07-30 08:32:39, Info CBS Failed a critical portion of startup processing. [HRESULT = 0x800705b4 - ERROR_TIMEOUT]
2024-07-30 08:32:39, Info CBS Failed to unload the COMPONENTS hive. [HRESULT = 0x80070005 - E_ACCESSDENIED]
";

#[test]
fn case_c_servicing_hang_after_driver_queue_denied() {
    let f = classify(&log("CBS.log", CASE_C_CBS));
    assert_eq!(at(&f, 1).signature, "driver_queue_denied");
    for l in [3, 4, 6, 7] {
        no_finding(&f, l);
    }
    let hang = at(&f, 5);
    assert_eq!(hang.signature, "servicing_hang");
    assert_eq!(hang.kind, "timeout");
    assert_eq!(hang.code, Some(0x8007_05b4));
    assert!(hang.related.contains(&1), "{hang:#?}");
    assert!(
        hang.filter_possible,
        "a hang after a denied driver install can be the same filter"
    );
    let note = hang.note.as_deref().unwrap();
    assert!(
        note.contains("900000 ms")
            && note.contains("CbsExecuteStateUnstageDrivers")
            && note.contains("cpu.inf"),
        "{note}"
    );
    let crit = at(&f, 8);
    assert_eq!(crit.signature, "servicing_hang");
    assert_eq!(crit.code_name.as_deref(), Some("ERROR_TIMEOUT"));
    let hive = at(&f, 9);
    assert_eq!(hive.signature, "access_denied");
    assert_eq!(hive.object.as_ref().unwrap().name, "HKLM\\COMPONENTS");

    // the hang alone is no filter case ...
    let alone: String = CASE_C_CBS
        .lines()
        .skip(2)
        .map(|l| format!("{l}\n"))
        .collect();
    let f = classify(&log("CBS.log", &alone));
    let hang = at(&f, 3);
    assert_eq!(hang.signature, "servicing_hang");
    assert!(!hang.filter_possible && hang.related.is_empty());
    assert!(hang.fix.contains("procmon.pmb"), "{}", hang.fix);
    // ... until the machine's setupapi log shows the denied driver install before it
    let sa = format!(
        ">>>  [Install Driver Updates]\n>>>  Section start 2024/07/30 07:58:09.000\n{}<<<  Section end 2024/07/30 07:58:12.000\n<<<  [Exit status: FAILURE(0x00000005)]\n",
        CASE_A_SETUPAPI.replace("<<<  [Exit status: FAILURE(0x00000005)]\n", "")
    );
    let all = classify_all(&[log("CBS.log", &alone), log("setupapi.dev.log", &sa)]);
    let hang = all
        .iter()
        .find(|x| x.file == "CBS.log" && x.line == 3)
        .unwrap();
    assert!(hang.filter_possible);
    assert!(
        hang.note
            .as_deref()
            .unwrap()
            .contains("setupapi.dev.log line 8"),
        "{hang:#?}"
    );
}

#[test]
fn case_d_each_code() {
    let cbs = "\
2023-12-13 10:00:01, Error                 CBS    Failed to resolve package [HRESULT = 0x80073712 - ERROR_SXS_COMPONENT_STORE_CORRUPT]
2023-12-13 10:00:02, Error                 CSI    00000123 (F) Status = STATUS_LOG_GROWTH_FAILED, Operation = HardLinkFile[gle=0x80004005]
2023-12-13 10:00:03, Error                 CSI    00000124 (F) Hydration failed for component Microsoft-Windows-Shell32, version 10.0.17763.1, arch amd64, nonSxS, pkt {l:8 b:31bf3856ad364e35} on file shell32.dll with NTSTATUS -1073283059.[gle=0x80004005]
2023-12-13 10:00:03, Info                  CSI    00000125 Hashes for file member [l:11]'shell32.dll' do not match.
2023-12-13 10:00:04, Error                 CBS    Failed to stage [HRESULT = 0x800f0985 - PSFX_E_APPLY_REVERSE_DELTA_FAILED]
2023-12-13 10:00:05, Error                 CSI    00000126 (F) STATUS_SXS_ASSEMBLY_MISSING #12345# from Windows::ServicingAPI::CCSITransaction::ICSITransaction_PinDeployment
2023-12-13 10:00:05, Error                 CSI    00000127 (F) Failed to pin deployment while resolving Update: Package_1_for_KB5033371[gle=0x80004005]
2023-12-13 10:00:06, Error                 CSI    00000128 (F) Hydration failed for component Microsoft-Windows-Lxss-Optional, version 10.0.19041.1, arch amd64, nonSxS, pkt {l:8 b:31bf3856ad364e35}: Matching binary LxssManager.dll missing [HRESULT = 0x8007000d - ERROR_INVALID_DATA]
2023-12-13 10:00:07, Error                 CSI    00000129 (F) Installer: Boot File Servicing (BFSVC) Binary Name: bfsvc.dll ErrorCode: 0x800f0922
2023-12-13 10:00:08, Info                  CBS    UNSTAGE index: 265, phase: 1, result 5, inf: cpu.inf
2023-12-13 10:00:09, Info                  CBS    Failed unstaging drivers (unstage), rebooting and trying again
2023-12-13 10:00:10, Info                  CBS    Client aborted the install.
2023-12-13 10:00:11, Info                  CSI    0000012a SLpUpdateComponentTokens completed with hr=0x8007000d
2023-12-13 10:00:12, Info                  CBS    Exec: Processing complete. [HRESULT = 0x80071ab1 - ERROR_LOG_GROWTH_FAILED]
";
    let f = classify(&log("CBS.log", cbs));
    assert_eq!(f.len(), 14, "{f:#?}");
    let check = |line: usize, sig: &str, code: Option<u32>, filter: bool, fix: &str| {
        let x = at(&f, line);
        assert_eq!(x.signature, sig, "line {line}: {x:#?}");
        assert_eq!(x.code, code, "line {line}");
        assert_eq!(x.filter_possible, filter, "line {line}");
        assert!(x.fix.contains(fix), "line {line}: {}", x.fix);
        assert!(x.time_local.is_some() && !x.meaning.is_empty());
    };
    check(1, "store_corruption", Some(0x8007_3712), false, "chkdsk /f");
    check(
        2,
        "ntfs_log_full",
        Some(0x8007_1ab1),
        false,
        "fsutil resource setautoreset true c:\\",
    );
    assert_eq!(at(&f, 2).detail.as_deref(), Some("operation HardLinkFile"));
    check(
        3,
        "store_corruption",
        Some(0xC007_000D),
        false,
        "RestoreHealth",
    );
    assert_eq!(at(&f, 3).object.as_ref().unwrap().name, "shell32.dll");
    assert_eq!(at(&f, 4).object.as_ref().unwrap().name, "shell32.dll");
    check(
        5,
        "store_corruption",
        Some(0x800f_0985),
        false,
        "healthy device",
    );
    check(6, "store_corruption", Some(0x8007_3701), false, "reinstall");
    check(7, "store_corruption", Some(0x8007_3701), false, "reinstall");
    check(
        8,
        "store_corruption",
        Some(0x8007_000d),
        false,
        "sfc /scannow",
    );
    assert_eq!(at(&f, 8).object.as_ref().unwrap().name, "LxssManager.dll");
    check(
        9,
        "efi_boot_files",
        Some(0x800f_0922),
        false,
        "EFI system partition",
    );
    assert_eq!(
        at(&f, 9).object.as_ref().unwrap().name,
        "Boot File Servicing (BFSVC)"
    );
    check(
        10,
        "driver_queue_denied",
        Some(0x8007_0005),
        true,
        "Minifilter I/O",
    );
    assert_eq!(
        at(&f, 10).detail.as_deref(),
        Some("UNSTAGE index 265, phase 1")
    );
    let unstage = at(&f, 11);
    assert_eq!(unstage.signature, "driver_queue_failed");
    assert!(unstage.related.contains(&10) && unstage.filter_possible);
    assert_eq!(unstage.object.as_ref().unwrap().name, "cpu.inf");
    check(12, "uso_timeout", Some(0x800f_0821), false, "wusa");
    check(
        13,
        "installer_failed",
        Some(0x8007_000d),
        false,
        "sfc /scannow",
    );
    check(14, "ntfs_log_full", Some(0x8007_1ab1), false, "chkdsk");
    // only the access-denied kind can involve a filter
    for x in &f {
        assert_eq!(
            x.filter_possible,
            x.line == 10 || x.line == 11,
            "line {}",
            x.line
        );
    }

    // System log evidence of case D
    let ntfs =
        event("Microsoft-Windows-Ntfs/55 | DeviceName=\\Device\\HarddiskVolume3 | DriveName=C: |")
            .unwrap();
    assert_eq!(ntfs.signature, "ntfs_corruption");
    assert_eq!(ntfs.object.as_ref().unwrap().name, "C:");
    assert!(ntfs.fix.contains("chkdsk /f"));
    let ntfs = event("Ntfs/135 | Data=C: |").unwrap();
    assert_eq!(
        (ntfs.signature.as_str(), ntfs.code),
        ("ntfs_log_full", Some(0x8007_1ab1))
    );
    let scm = event("Service Control Manager/7000 | Binary=6400650076006D0067007200000000 | ServiceKey=devmgr | param1=devmgr | param2=%%5 |").unwrap();
    assert_eq!(scm.signature, "service_failed");
    assert_eq!(scm.object.as_ref().unwrap().name, "devmgr");
    assert!(
        scm.filter_possible,
        "a service denied access to start: a denial"
    );
    let scm = event("Service Control Manager/7000 | param1=CldFlt | param2=%%50 |").unwrap();
    assert!(!scm.filter_possible);
    assert_eq!(scm.code, Some(0x8007_0032));
    assert!(event("Service Control Manager/7040 | param1=BITS | param2=demand start | param3=auto start | param4=BITS |").is_none());
}

#[test]
fn ocr_mangled_and_spacing_variants_still_classify() {
    // `Doge` for `Doqe` (OCR): the INSTALL line carries the denial either way
    let t = "2024-09-10 10:44:44, Info CBS INSTALL index: 0, phase: 2, result 5, inf: cpu.inf\n\
             2024-09-10 10:44:45, Error CBS Doge: Failed installing driver updates [HRESULT = 0x80070005 - E_ACCESSDENIED]\n";
    let f = classify(&log("CBS.log", t));
    assert_eq!(at(&f, 1).signature, "driver_queue_denied");
    assert_eq!(at(&f, 2).signature, "driver_queue_denied");
    // result 2 (file not found, the Microsoft article's flpydisk.inf) is no denial
    let t = "2024-09-10 10:44:44, Info                  CBS    INSTALL index: 55, phase: 2, result 2, inf: flpydisk.inf\n\
             2024-09-10 10:44:45, Error                 CBS    Doqe: Failed installing driver updates [HRESULT = 0x80070002 - ERROR_FILE_NOT_FOUND]\n";
    let f = classify(&log("CBS.log", t));
    assert_eq!(at(&f, 1).signature, "driver_queue_failed");
    assert_eq!(at(&f, 1).code, Some(0x8007_0002));
    assert_eq!(at(&f, 2).signature, "driver_queue_failed");
    assert!(f.iter().all(|x| !x.filter_possible));
}
