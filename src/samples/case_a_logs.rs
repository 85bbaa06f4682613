//! The servicing logs of case A (`shared/docs/cases.md`): `CBS.log` and `setupapi.dev.log` of the
//! reboot that `capture.pml` ([`super::case_a`]) records, written as Windows 7 writes them
//! (`shared/docs/format-logs.md`): CBS.log with a UTF-8 BOM, fixed columns and CRLF;
//! setupapi.dev.log in the ANSI code page with CRLF, 5-character markers and `{block}` nesting.
//!
//! The machine's clock is UTC+8, so local 10:44 is 02:44 UTC. The lines the engineers quoted
//! are kept word for word, surrounded by the ordinary traffic of a Windows 7 servicing run: the
//! staging of KB4474419 before the reboot (with CSI `@` UTC stamps, from which the offset is
//! inferred) and the TrustedInstaller start after it. setupapi's `{Add Service: AmdK8}` opens
//! at 10:44:43.949 local and its `Failed to set Start Type. Error = 0x00000005` lies at the
//! denied `RegSetValue ...\Services\AmdK8\Start` of the capture (02:44:43.951 UTC).

/// Local minus UTC of the machine, minutes.
pub const UTC_OFFSET_MINUTES: i32 = 8 * 60;

fn cbs_line(time: &str, severity: &str, component: &str, text: &str) -> String {
    format!("{time}, {severity:<22}{component:<7}{text}")
}

/// `CBS.log`: UTF-8 with BOM, CRLF.
pub fn cbs_log() -> Vec<u8> {
    let stack = "(stack @0x6d3e7b4d @0x6d5f52b8 @0x6d5f4e5c @0x37f7b6 @0x37f512 @0x37ef81)";
    let pkg = "Package_for_KB4474419~31bf3856ad364e35~x86~~6.1.3.2";
    let pkg63 = "Package_63_for_KB4474419~31bf3856ad364e35~x86~~6.1.3.2";
    let ssd = r"C:\Windows\winsxs\x86_microsoft-windows-servicingstack_31bf3856ad364e35_6.1.7601.24537_none_0b5ae7c5a4ea8d8b";
    let rows: Vec<(&str, &str, &str, String)> = vec![
        // Before the reboot: KB4474419 staged by wusa.exe (10:31 local, 02:31 UTC).
        ("2024-09-10 10:31:02", "Info", "CBS", "TI: --- Initializing Trusted Installer ---".into()),
        ("2024-09-10 10:31:02", "Info", "CBS", "TI: Last boot time: 2024-09-10 08:55:17.468".into()),
        ("2024-09-10 10:31:02", "Info", "CBS", "Starting TrustedInstaller initialization.".into()),
        ("2024-09-10 10:31:02", "Info", "CBS", format!("Loaded Servicing Stack v6.1.7601.24537 with Core: {ssd}\\cbscore.dll")),
        ("2024-09-10 10:31:03", "Info", "CSI", format!("00000001@2024/9/10:02:31:03.218 WcpInitialize (wcp.dll version 0.0.0.6) called {stack}")),
        ("2024-09-10 10:31:03", "Info", "CSI", format!("00000002@2024/9/10:02:31:03.221 WcpInitialize (wcp.dll version 0.0.0.6) called {stack}")),
        ("2024-09-10 10:31:03", "Info", "CBS", "Ending TrustedInstaller initialization.".into()),
        ("2024-09-10 10:31:03", "Info", "CBS", "Starting the TrustedInstaller main loop.".into()),
        ("2024-09-10 10:31:03", "Info", "CBS", "TrustedInstaller service starts successfully.".into()),
        ("2024-09-10 10:31:03", "Info", "CBS", "Universal Time is: 2024-09-10 02:31:03.297".into()),
        ("2024-09-10 10:31:04", "Info", "CBS", "Session: 30998212_3810754921 initialized by client WindowsUpdateAgent.".into()),
        ("2024-09-10 10:31:04", "Info", "CBS", format!("Appl: detect Parent, Package: {pkg}, Parent: Microsoft-Windows-Foundation-Package~31bf3856ad364e35~x86~~6.1.7601.17514, Disposition = Detect, VersionComp: EQ, BuildComp: EQ, RevisionComp: GE, Exist: present")),
        ("2024-09-10 10:31:05", "Info", "CBS", format!("Exec: Staging Package: {pkg}, Update: 4474419-1_RTM_GDR")),
        ("2024-09-10 10:31:09", "Info", "CSI", "00000003@2024/9/10:02:31:09.640 CSI Transaction @0x2b5f0a8 initialized for deployment engine {d16d444c-56d8-11d5-882d-0080c847b195} with flags 00000002 and client id [10]\"TI6.0_0:0/\"".into()),
        ("2024-09-10 10:31:12", "Info", "CBS", "Doqe: Recording driver update: cpu.inf, Install, Count 1".into()),
        ("2024-09-10 10:31:12", "Info", "CSI", "00000004@2024/9/10:02:31:12.015 CSI Transaction @0x2b5f0a8 destroyed".into()),
        ("2024-09-10 10:31:13", "Info", "CBS", format!("Exec: Processing complete.  Session: 30998212_3810754921, Package: {pkg} [HRESULT = 0x00000000 - S_OK]")),
        ("2024-09-10 10:31:13", "Info", "CBS", "Exec: Reboot required to complete the operation: KB4474419".into()),
        ("2024-09-10 10:31:14", "Info", "CBS", "Session: 30998212_3810754921 finalized. Reboot required: true [HRESULT = 0x00000000 - S_OK]".into()),
        ("2024-09-10 10:31:14", "Info", "CBS", "TI: Stop: TrustedInstaller service has been stopped.".into()),
        // After the reboot: the driver operations queue (capture.pml starts at 10:44:30 local).
        ("2024-09-10 10:44:30", "Info", "CBS", "TI: --- Initializing Trusted Installer ---".into()),
        ("2024-09-10 10:44:30", "Info", "CBS", "TI: Last boot time: 2024-09-10 10:43:52.498".into()),
        ("2024-09-10 10:44:30", "Info", "CBS", "Starting TrustedInstaller initialization.".into()),
        ("2024-09-10 10:44:30", "Info", "CBS", format!("Loaded Servicing Stack v6.1.7601.24537 with Core: {ssd}\\cbscore.dll")),
        ("2024-09-10 10:44:31", "Info", "CSI", format!("00000001@2024/9/10:02:44:31.406 WcpInitialize (wcp.dll version 0.0.0.6) called {stack}")),
        ("2024-09-10 10:44:31", "Info", "CSI", format!("00000002@2024/9/10:02:44:31.409 WcpInitialize (wcp.dll version 0.0.0.6) called {stack}")),
        ("2024-09-10 10:44:31", "Info", "CBS", "Ending TrustedInstaller initialization.".into()),
        ("2024-09-10 10:44:31", "Info", "CBS", "Starting the TrustedInstaller main loop.".into()),
        ("2024-09-10 10:44:31", "Info", "CBS", "TrustedInstaller service starts successfully.".into()),
        ("2024-09-10 10:44:31", "Info", "CBS", "Startup: Processing driver operations queue".into()),
        // The lines quoted in cases.md.
        ("2024-09-10 10:44:35", "Info", "CBS", "Doqe: [Forward] Installing driver updates, Count 1".into()),
        ("2024-09-10 10:44:36", "Info", "CBS", "INSTALL index: 0, phase: 1, result 0, inf: cpu.inf".into()),
        ("2024-09-10 10:44:44", "Info", "CBS", "INSTALL index: 0, phase: 2, result 5, inf: cpu.inf".into()),
        ("2024-09-10 10:44:45", "Info", "CBS", "DriverUpdateInstallUpdates failed [HRESULT = 0x80070005 - E_ACCESSDENIED]".into()),
        ("2024-09-10 10:44:45", "Error", "CBS", "Doqe: Failed installing driver updates [HRESULT = 0x80070005 - E_ACCESSDENIED]".into()),
        ("2024-09-10 10:44:45", "Info", "CBS", "Startup: Rolling back KTM, because drivers failed.".into()),
        ("2024-09-10 10:44:46", "Info", "CBS", "Doqe: [Rollback] Unstaging driver updates, Count 1".into()),
        ("2024-09-10 10:44:46", "Info", "CSI", "00000003@2024/9/10:02:44:46.522 CSI Transaction @0x2c1d3f0 initialized for deployment engine {d16d444c-56d8-11d5-882d-0080c847b195} with flags 00000002 and client id [10]\"TI6.0_0:0/\"".into()),
        ("2024-09-10 10:44:47", "Error", "CBS", format!("Doqe: Marked package {pkg63} as failed.")),
        ("2024-09-10 10:44:47", "Info", "CSI", "00000004@2024/9/10:02:44:47.301 CSI Transaction @0x2c1d3f0 destroyed".into()),
    ];
    let mut out = vec![0xEF, 0xBB, 0xBF];
    for (t, sev, comp, text) in rows {
        out.extend_from_slice(cbs_line(t, sev, comp, &text).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// `setupapi.dev.log`: ANSI (ASCII only here), CRLF.
pub fn setupapi_log() -> Vec<u8> {
    let store =
        r"C:\Windows\System32\DriverStore\FileRepository\cpu.inf_x86_neutral_6b5d1e6ef2ad4e2c";
    let lines: Vec<String> = vec![
        "[Device Install Log]".into(),
        "     OS Version = 6.1.7601".into(),
        "     Service Pack = 1.0".into(),
        "     Suite = 0x0100".into(),
        "     ProductType = 1".into(),
        "     Architecture = x86".into(),
        String::new(),
        "[BeginLog]".into(),
        String::new(),
        "[Boot Session: 2024/09/10 08:55:17.468]".into(),
        String::new(),
        format!(">>>  [Setup Import Driver Package - {store}\\cpu.inf]"),
        ">>>  Section start 2024/09/10 10:31:10.342".into(),
        "      cmd: C:\\Windows\\servicing\\TrustedInstaller.exe".into(),
        format!("     sto: {{Setup Import Driver Package: {store}\\cpu.inf}} 10:31:10.344"),
        "     sto:      Driver package already imported as 'cpu.inf'.".into(),
        "     sto: {Setup Import Driver Package - exit(0x00000000)} 10:31:10.351".into(),
        "<<<  Section end 2024/09/10 10:31:10.352".into(),
        "<<<  [Exit status: SUCCESS]".into(),
        String::new(),
        String::new(),
        "[Boot Session: 2024/09/10 10:43:52.498]".into(),
        String::new(),
        ">>>  [Install Driver Updates]".into(),
        ">>>  Section start 2024/09/10 10:44:36.018".into(),
        "      cmd: C:\\Windows\\servicing\\TrustedInstaller.exe".into(),
        "     sto: Driver Updates = 1".into(),
        "     sto: Driver Update Operation = Install".into(),
        "     sto:      {Reflect Driver: AMD K8 Processor} 10:44:37.025".into(),
        format!("     sto:           Driver Package = {store}\\cpu.inf"),
        "     sto:           Section Name = AmdK8_Inst.NT".into(),
        "     sto:           Hardware Id  = ACPI\\AuthenticAMD_-_x86_Family_15_Model_4".into(),
        "     sto:           {Configure Driver Configuration: AmdK8_Inst.NT} 10:44:37.031".into(),
        "     sto:                Class Key = {50127dc3-0f36-415e-a6cc-4cb3be910b65}\\0000".into(),
        "     sto:           {Configure Driver Configuration: exit(0x00000000)} 10:44:37.046"
            .into(),
        "     sto:           {Add Service: AmdK8} 10:44:43.949".into(),
        "     sto:                Updating existing service 'AmdK8'.".into(),
        "!!!  sto:                Failed to set Start Type. Error = 0x00000005".into(),
        "     sto:           {Add Service: exit(0x00000005)} 10:44:43.956".into(),
        "     sto:      {Reflect Driver: exit(0x00000005)} 10:44:43.958".into(),
        "!!!  sto: Failed to reflect driver package. Time = 6926 ms, Error = 0x00000005".into(),
        "!!!  sto: Failed to reflect all driver updates. Error = 0x00000005".into(),
        "<<<  Section end 2024/09/10 10:44:43.961".into(),
        "<<<  [Exit status: FAILURE(0x00000005)]".into(),
        String::new(),
        String::new(),
        ">>>  [Unstage Driver Updates]".into(),
        ">>>  Section start 2024/09/10 10:44:46.204".into(),
        "      cmd: C:\\Windows\\servicing\\TrustedInstaller.exe".into(),
        "     sto: Driver Updates = 1".into(),
        "     sto: Driver Update Operation = Unstage".into(),
        format!("     sto:      {{Unstage Driver Package: {store}\\cpu.inf}} 10:44:46.207"),
        "     sto:      {Unstage Driver Package: exit(0x00000000)} 10:44:46.390".into(),
        "<<<  Section end 2024/09/10 10:44:46.391".into(),
        "<<<  [Exit status: SUCCESS]".into(),
        String::new(),
    ];
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::{read_bytes, LogKind, ReadOptions};

    #[test]
    fn logs_parse_completely() {
        for (name, bytes, kind) in [
            ("CBS.log", cbs_log(), LogKind::Cbs),
            ("setupapi.dev.log", setupapi_log(), LogKind::SetupApi),
        ] {
            let l = read_bytes(name, &bytes, &ReadOptions::default()).unwrap();
            assert_eq!(l.kind, kind);
            assert!(l.stats().accounted(), "{name}: {:?}", l.stats());
            assert!(l.stats().unparsed.is_empty(), "{name}: {:?}", l.stats());
        }
    }
}
