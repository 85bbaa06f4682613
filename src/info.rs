//! `fltblame info`: what a capture holds, and whether it can decide a filter question.

use crate::knowledge;
use crate::pml::text::iso_utc;
use crate::pml::Pml;
use serde::Serialize;

/// A kernel module loaded in the capture (System process, PID 4).
#[derive(Clone, Debug, Serialize)]
pub struct KernelModule {
    /// File name, e.g. `krnlmgr.sys`.
    pub name: String,
    /// Path as stored.
    pub path: String,
    /// Company of the version resource (empty when none).
    pub company: String,
    /// File version.
    pub version: String,
    /// Image base (hex text).
    pub base: String,
    /// Image size in bytes.
    pub size: u32,
    /// True when the company is not Microsoft (third-party driver).
    pub third_party: bool,
    /// Allocated altitudes from Microsoft's list (empty when the driver is not in it).
    pub altitudes: Vec<String>,
    /// Load order group(s) from Microsoft's list.
    pub load_order_groups: Vec<String>,
}

/// Summary of one PML capture.
#[derive(Clone, Debug, Serialize)]
pub struct CaptureInfo {
    /// File path.
    pub file: String,
    /// Size in bytes.
    pub bytes: u64,
    /// PML format version.
    pub pml_version: u32,
    /// Computer name.
    pub computer: String,
    /// OS text.
    pub os: String,
    /// OS major.minor.
    pub os_version: String,
    /// OS build number.
    pub os_build: u32,
    /// 32 or 64.
    pub bitness: u32,
    /// Logical processors.
    pub cpus: u32,
    /// Physical memory in bytes.
    pub ram_bytes: u64,
    /// Events.
    pub events: usize,
    /// First event time, ISO 8601 UTC.
    pub first_event_utc: Option<String>,
    /// Last event time, ISO 8601 UTC.
    pub last_event_utc: Option<String>,
    /// Capture span in seconds.
    pub span_seconds: f64,
    /// Processes in the process table.
    pub processes: usize,
    /// Kernel modules (System process).
    pub kernel_modules: usize,
    /// Third-party kernel modules (company not Microsoft), with what the knowledge table knows.
    pub third_party_kernel_modules: Vec<KernelModule>,
    /// Whether the file was closed cleanly by Procmon.
    pub closed_cleanly: bool,
    /// Reader warnings.
    pub warnings: Vec<String>,
}

fn is_microsoft(company: &str) -> bool {
    company.to_ascii_lowercase().contains("microsoft")
}

/// Gather the summary of `pml`.
pub fn capture_info(pml: &Pml) -> CaptureInfo {
    let h = &pml.header;
    let n = pml.event_count();
    let (first, last) = (pml.first_time(), pml.last_time());
    let modules: Vec<KernelModule> = pml
        .system_process()
        .map(|p| {
            p.modules
                .iter()
                .filter(|m| pml.is_kernel_address(m.base))
                .map(|m| {
                    let rows = knowledge::altitudes(m.name());
                    KernelModule {
                        name: m.name().to_string(),
                        path: m.path.clone(),
                        company: m.company.clone(),
                        version: m.version.clone(),
                        base: format!("0x{:x}", m.base),
                        size: m.size,
                        third_party: !is_microsoft(&m.company),
                        altitudes: rows.iter().map(|r| r.altitude.clone()).collect(),
                        load_order_groups: rows
                            .iter()
                            .map(|r| r.load_order_group.clone())
                            .collect(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    CaptureInfo {
        file: pml.path.display().to_string(),
        bytes: pml.bytes().len() as u64,
        pml_version: h.version,
        computer: h.computer_name.clone(),
        os: h.os_name(),
        os_version: format!("{}.{}", h.os_major, h.os_minor),
        os_build: h.os_build,
        bitness: if h.is_64bit { 64 } else { 32 },
        cpus: h.cpu_count,
        ram_bytes: h.ram_bytes,
        events: n,
        first_event_utc: (n > 0).then(|| iso_utc(first)),
        last_event_utc: (n > 0).then(|| iso_utc(last)),
        span_seconds: last.saturating_sub(first) as f64 / 1e7,
        processes: pml.processes.len(),
        kernel_modules: modules.len(),
        third_party_kernel_modules: modules.into_iter().filter(|m| m.third_party).collect(),
        closed_cleanly: h.closed_cleanly(),
        warnings: pml.warnings.clone(),
    }
}

/// Human-readable text of [`CaptureInfo`].
pub fn render_text(i: &CaptureInfo) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "File        {} ({} bytes, PML version {})",
        i.file, i.bytes, i.pml_version
    );
    let _ = writeln!(s, "Computer    {}", i.computer);
    let _ = writeln!(s, "OS          {} ({}-bit)", i.os, i.bitness);
    let _ = writeln!(
        s,
        "CPUs / RAM  {} / {:.2} GB",
        i.cpus,
        i.ram_bytes as f64 / 1_073_741_824.0
    );
    let _ = writeln!(s, "Events      {}", i.events);
    if let (Some(a), Some(b)) = (&i.first_event_utc, &i.last_event_utc) {
        let _ = writeln!(s, "Time span   {a} .. {b} UTC ({:.1} s)", i.span_seconds);
    }
    let _ = writeln!(s, "Processes   {}", i.processes);
    let _ = writeln!(
        s,
        "Kernel modules {} ({} third-party)",
        i.kernel_modules,
        i.third_party_kernel_modules.len()
    );
    for m in &i.third_party_kernel_modules {
        let known = if m.altitudes.is_empty() {
            "not in Microsoft's altitude list".to_string()
        } else {
            format!(
                "altitude {} ({})",
                m.altitudes.join("/"),
                m.load_order_groups.join("/")
            )
        };
        let company = if m.company.is_empty() {
            "(no company)"
        } else {
            &m.company
        };
        let _ = writeln!(
            s,
            "  {:<24} {:<28} {:<18} {known}",
            m.name, company, m.version
        );
    }
    if !i.closed_cleanly {
        let _ = writeln!(s, "WARNING: the capture was not closed cleanly by Procmon");
    }
    for w in &i.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}
