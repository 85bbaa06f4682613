//! `log_corroboration`: the servicing logs report a failure on the same object as a trace
//! denial, within [`TOLERANCE_NS`] of it. It corroborates the denial (this is the failure the
//! machine reported), not any driver: its items have no driver and weight 0 (`weights.csv`).
//!
//! Objects are compared by their normalised names ([`crate::tables::logs::normalize_object`],
//! DESIGN.md "Naming the same object across sources"), case-insensitively, and match when
//! equal or when one lies under the other (a setupapi `{Add Service: AmdK8}` names the key
//! `...\Services\AmdK8`, the denial its `Start` value; a CBS cab path names a folder the denied
//! file creates lie under). An inf (`cpu.inf`) matches a denied path whose file name it is.

use super::{Context, Evidence};
use crate::tables::logs::{normalize_object, LogFailure};
use serde::Serialize;

/// Largest time difference between a log failure and the trace denial it corroborates (logs
/// write whole seconds, setupapi the time its block opened, CBS the time it noticed): 2 minutes.
pub const TOLERANCE_NS: i64 = 120_000_000_000;

/// One log failure matched to one trace denial.
#[derive(Clone, Debug, Serialize)]
pub struct Corroboration {
    /// The denial (`events.event_id`).
    pub event_id: u64,
    /// The denied path, as the trace names it.
    pub path: String,
    /// The log file.
    pub file: String,
    /// Its line.
    pub line: usize,
    /// The log line.
    pub text: String,
    /// The failure's signature.
    pub signature: String,
    /// The object the log names.
    pub object: String,
    /// The log time, UTC ISO 8601.
    pub time_utc: String,
    /// Log time minus denial time, milliseconds.
    pub delta_ms: f64,
    /// `log_corroboration`.
    pub kind: String,
    /// Its weight (0: it corroborates the denial, not a driver).
    pub weight: f64,
    /// The evidence item's text.
    pub detail: String,
}

/// Whether a log object and a trace path (both normalised) name the same object.
pub fn same_object(log_kind: Option<&str>, log_key: &str, trace_key: &str) -> bool {
    if log_key.is_empty() || trace_key.is_empty() {
        return false;
    }
    if log_kind == Some("inf") && !log_key.contains('\\') {
        return trace_key.rsplit('\\').next() == Some(log_key);
    }
    let under =
        |a: &str, b: &str| a.len() > b.len() && a.starts_with(b) && a.as_bytes()[b.len()] == b'\\';
    log_key == trace_key || under(trace_key, log_key) || under(log_key, trace_key)
}

fn matches_one(f: &LogFailure, d: &super::Denial) -> Option<Corroboration> {
    let t = f.time_ns?;
    let obj = f.object.as_deref()?;
    let key = f
        .object_key
        .clone()
        .unwrap_or_else(|| normalize_object(None, obj));
    let trace = normalize_object(None, &d.path);
    if !same_object(f.object_kind.as_deref(), &key, &trace) {
        return None;
    }
    let delta = t - d.time_ns;
    if delta.abs() > TOLERANCE_NS {
        return None;
    }
    Some(Corroboration {
        event_id: d.event_id,
        path: d.path.clone(),
        file: f.file.clone(),
        line: f.line,
        text: f.text.trim().to_string(),
        signature: f.signature.clone(),
        object: obj.to_string(),
        time_utc: f.time_utc.clone().unwrap_or_default(),
        delta_ms: delta as f64 / 1e6,
        kind: "log_corroboration".into(),
        weight: 0.0,
        detail: String::new(),
    })
}

/// Every (log failure, denial) pair on the same object within the tolerance, in denial order.
pub fn matches(ctx: &Context) -> Vec<Corroboration> {
    let mut out = Vec::new();
    for d in ctx.denials {
        for f in &ctx.tables.logs.failures {
            if let Some(mut c) = matches_one(f, d) {
                c.detail = detail(&c, d);
                c.weight = super::data::weight("log_corroboration").weight;
                out.push(c);
            }
        }
    }
    out
}

fn detail(c: &Corroboration, d: &super::Denial) -> String {
    format!(
        "{} line {} ({}, {}) reports the failure on {}, {:+.0} ms from the denied {} of {} by {} (event {}): \"{}\". It confirms this denial is the failure the machine reported; it says nothing about which driver denied it.",
        crate::tables::logs::file_name(&c.file),
        c.line,
        c.signature,
        c.time_utc,
        c.object,
        c.delta_ms,
        d.operation,
        d.path,
        d.process,
        d.event_id,
        c.text
    )
}

/// Find `log_corroboration` evidence: one item per matched log line.
pub fn find(ctx: &Context) -> anyhow::Result<Vec<Evidence>> {
    Ok(matches(ctx)
        .into_iter()
        .map(|c| {
            Evidence::new(
                "log_corroboration",
                None,
                c.detail,
                vec![c.event_id],
                Vec::new(),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects() {
        let svc = normalize_object(Some("service"), "AmdK8");
        let val = normalize_object(
            None,
            r"\REGISTRY\MACHINE\SYSTEM\ControlSet001\Services\AmdK8\Start",
        );
        assert!(same_object(Some("service"), &svc, &val));
        assert!(!same_object(
            Some("service"),
            &normalize_object(Some("service"), "AmdK"),
            &val
        ));
        let cab = normalize_object(
            Some("file"),
            r"\\?\C:\WINDOWS\SoftwareDistribution\Download\x\inst\a.cab_",
        );
        let f = normalize_object(
            None,
            r"C:\Windows\SoftwareDistribution\Download\x\inst\a.cab_\amd64_y\r\wpdmtp.dll",
        );
        assert!(same_object(Some("file"), &cab, &f));
        assert!(same_object(
            Some("inf"),
            "cpu.inf",
            r"c:\windows\inf\cpu.inf"
        ));
        assert!(!same_object(
            Some("inf"),
            "cpu.inf",
            r"c:\windows\inf\xcpu.inf"
        ));
    }
}
