//! The readable terminal summary of a verdict.

use super::denial_groups;
use crate::verdict::{Conclusion, Suspect, Verdict};
use std::fmt::Write;

/// Denial groups listed in the summary.
const TOP_DENIALS: usize = 8;
/// Other suspects listed after the first.
const OTHER_SUSPECTS: usize = 4;

fn headline(v: &Verdict) -> String {
    match v.conclusion {
        Conclusion::Filter => {
            let s = v.named().expect("named suspect");
            format!(
                "FILTER: {} denied it (confidence {:.2})",
                s.driver, s.confidence
            )
        }
        Conclusion::NoFilter if v.counts.denials == 0 && !v.log_failures.is_empty() => {
            "NO FILTER: the logs report no failure a filter driver causes".into()
        }
        Conclusion::NoFilter => "NO FILTER: ordinary ACL denials".into(),
        Conclusion::Undetermined if v.inputs.is_empty() && !v.log_failures.is_empty() => {
            "UNDETERMINED: logs only, no trace to name a driver".into()
        }
        Conclusion::Undetermined => "UNDETERMINED: this capture cannot decide".into(),
    }
}

/// What an ETL trace can show, for the input list.
pub fn trace_line(t: &crate::tables::etl::TraceInfo) -> String {
    if !t.minifilter {
        return "no minifilter tracing: this trace cannot name a filter".into();
    }
    format!(
        "{} minifilter events, failure events {}, {}; {} (variants matched: {})",
        t.minifilter_events,
        if t.minifilter_failure {
            "recorded"
        } else {
            "not recorded"
        },
        if t.can_name_filter {
            "callback addresses map to drivers"
        } else {
            "no driver list to map callback addresses"
        },
        crate::tables::etl::LAYOUT_NOTE,
        if t.layouts.is_empty() {
            "none".to_string()
        } else {
            t.layouts.join(", ")
        }
    )
}

/// The line saying a verdict was redacted (`--redact`), with how many names of each kind.
pub fn redaction_line(v: &Verdict) -> String {
    let n = v.redaction.unwrap_or_default();
    format!(
        "redacted: tokens replace names ({} user/profile USER-n, {} computer HOST-n, {} domain DOMAIN-n, {} account SID SID-n); well-known accounts and SIDs are kept",
        n.users, n.hosts, n.domains, n.sids
    )
}

fn driver_line(s: &Suspect) -> String {
    format!(
        "{} — vendor {}, version {}, altitude {}, group {}",
        s.driver,
        if s.vendor.is_empty() {
            "unknown"
        } else {
            &s.vendor
        },
        if s.version.is_empty() {
            "unknown"
        } else {
            &s.version
        },
        s.altitude.as_deref().unwrap_or("not in Microsoft's list"),
        s.load_order_group.as_deref().unwrap_or("unknown"),
    )
}

fn chain(out: &mut String, s: &Suspect) {
    let _ = writeln!(
        out,
        "  {} (score {:+.1} -> confidence {:.2})",
        s.driver, s.score, s.confidence
    );
    for e in &s.evidence {
        let ev = if e.events.is_empty() {
            String::new()
        } else {
            let shown: Vec<String> = e.events.iter().take(6).map(u64::to_string).collect();
            let more = if e.events.len() > 6 { ", ..." } else { "" };
            format!(" [events {}{more}]", shown.join(", "))
        };
        let _ = writeln!(
            out,
            "    {:+5.1}  {:<17} {}{ev}",
            e.weight, e.kind, e.detail
        );
    }
}

/// The summary printed by `fltblame analyze`: conclusion, named driver with confidence, top
/// denials, evidence chain, vendor to-do, advice.
pub fn summary_text(v: &Verdict) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "fltblame {} — {}", v.fltblame_version, headline(v));
    if v.redacted {
        let _ = writeln!(out, "  {}", redaction_line(v));
    }
    for i in &v.inputs {
        let _ = writeln!(
            out,
            "  input {} ({}, {} events{}{})",
            i.path,
            i.kind,
            i.events,
            if i.computer.is_empty() {
                String::new()
            } else {
                format!(", {}", i.computer)
            },
            if i.os.is_empty() {
                String::new()
            } else {
                format!(", {}", i.os)
            },
        );
        if let Some(first) = i.warnings.first() {
            let _ = writeln!(
                out,
                "    damaged or incomplete: {} reader warning(s) (what was lost is listed in verdict.json and the report); first: {first}",
                i.warnings.len()
            );
        }
    }
    for t in &v.traces {
        let _ = writeln!(out, "  trace {}: {}", t.source, trace_line(t));
    }
    for f in &v.log_files {
        let _ = writeln!(
            out,
            "  log   {} ({}, {} lines, {} to {})",
            f.path,
            f.kind,
            f.lines,
            f.first_utc.as_deref().unwrap_or("?"),
            f.last_utc.as_deref().unwrap_or("?")
        );
    }
    if let Some(o) = &v.log_utc_offset {
        let _ = writeln!(out, "  log times: UTC{} from {}", o.text, o.source);
    }
    for n in &v.intake_notes {
        let _ = writeln!(out, "  note: {n}");
    }
    let _ = writeln!(out, "\n{}", v.reason);
    if let Some(s) = v.named() {
        let _ = writeln!(out, "\nDriver: {}", driver_line(s));
    }

    let c = &v.counts;
    let by_status: Vec<String> = c
        .denials_by_status
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let _ =
        writeln!(
        out,
        "\nDenials: {}{} — {} servicing-relevant, {} ACL-plausible (of {} events, {} with stacks)",
        c.denials,
        if by_status.is_empty() { String::new() } else { format!(" ({})", by_status.join(", ")) },
        c.servicing_relevant,
        c.acl_plausible,
        c.events,
        c.stacked_events
    );
    let groups = denial_groups(&v.denials);
    for g in groups.iter().take(TOP_DENIALS) {
        let d = &g.first;
        let times = if g.count > 1 {
            format!(" x{}", g.count)
        } else {
            String::new()
        };
        let mut flags = Vec::new();
        if d.servicing_relevant {
            flags.push("servicing".to_string());
        }
        flags.push(
            if d.acl_plausible {
                "ACL-plausible"
            } else {
                "not ACL-plausible"
            }
            .to_string(),
        );
        if !d.suspects.is_empty() {
            flags.push(format!("-> {}", d.suspects.join(", ")));
        }
        let _ = writeln!(
            out,
            "  #{} {} {} [{} {}, {}] {} {} = {}{times}  ({})",
            d.event_id,
            d.time_utc,
            d.process,
            d.user,
            d.pid,
            if d.integrity.is_empty() {
                "?"
            } else {
                &d.integrity
            },
            d.operation,
            d.object,
            d.status_name,
            flags.join("; ")
        );
    }
    if groups.len() > TOP_DENIALS {
        let _ = writeln!(
            out,
            "  ... {} more kinds of denial in verdict.json",
            groups.len() - TOP_DENIALS
        );
    }

    log_sections(&mut out, v);

    if !v.suspects.is_empty() {
        let _ = writeln!(
            out,
            "\nEvidence (confidence = logistic of the sum of the listed weights):"
        );
        for s in v.suspects.iter().take(1 + OTHER_SUSPECTS) {
            chain(&mut out, s);
        }
        if v.suspects.len() > 1 + OTHER_SUSPECTS {
            let _ = writeln!(
                out,
                "  ... {} more suspects in verdict.json",
                v.suspects.len() - 1 - OTHER_SUSPECTS
            );
        }
    } else {
        let _ = writeln!(
            out,
            "\nNo driver has evidence ({} candidate driver(s) loaded).",
            v.drivers.candidates.len()
        );
    }
    if !v.vendor_todo.is_empty() {
        let _ = writeln!(out, "\nVendor to-do:");
        for t in &v.vendor_todo {
            let _ = writeln!(out, "  - {t}");
        }
    }
    if !v.advice.is_empty() {
        let _ = writeln!(out, "\nNext:");
        for a in &v.advice {
            let _ = writeln!(out, "  - {a}");
        }
    }
    out
}

/// Log failures shown at most in the summary.
const TOP_LOG_FAILURES: usize = 8;

/// The log failures, the log lines that corroborate a denial, and the capture diagnostics.
fn log_sections(out: &mut String, v: &Verdict) {
    if !v.log_failures.is_empty() {
        let denial = v.log_failures.iter().filter(|f| f.filter_possible).count();
        let _ = writeln!(
            out,
            "\nLog failures: {} ({} of a kind a filter driver can cause)",
            v.log_failures.len(),
            denial
        );
        for f in v.log_failures.iter().take(TOP_LOG_FAILURES) {
            let _ = writeln!(
                out,
                "  {} {}:{} {} {}{} {}  ({})",
                f.time_utc.as_deref().unwrap_or("(no time)"),
                crate::tables::logs::file_name(&f.file),
                f.line,
                f.signature,
                f.code.as_deref().unwrap_or("-"),
                f.object
                    .as_deref()
                    .map(|o| format!(" on {o}"))
                    .unwrap_or_default(),
                f.text.trim(),
                if f.filter_possible {
                    "filter possible"
                } else {
                    "not a filter problem"
                }
            );
        }
        if v.log_failures.len() > TOP_LOG_FAILURES {
            let _ = writeln!(
                out,
                "  ... {} more in verdict.json",
                v.log_failures.len() - TOP_LOG_FAILURES
            );
        }
    }
    if !v.log_corroboration.is_empty() {
        let _ = writeln!(
            out,
            "\nCorroborated by the logs (log_corroboration, weight 0: confirms the denial, not the driver):"
        );
        for c in &v.log_corroboration {
            let _ = writeln!(
                out,
                "  #{} <- {}:{} {} ({:+.0} ms): {}",
                c.event_id,
                crate::tables::logs::file_name(&c.file),
                c.line,
                c.time_utc,
                c.delta_ms,
                c.text
            );
        }
    }
    if !v.diagnostics.is_empty() {
        let _ = writeln!(out, "\nCapture diagnostics:");
        for d in &v.diagnostics {
            let _ = writeln!(out, "  - [{}] {}", d.code, d.message);
        }
    }
}
