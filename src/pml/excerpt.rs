//! Evidence-only PML: a small capture a vendor opens in Procmon instead of a multi-GB one.
//!
//! Keeps the chosen events (the denied operations and the events their evidence rests on), every
//! event within a time window around each of them, and only the processes those events name
//! (plus System, PID 4, whose modules resolve kernel stack frames). Written with the project's
//! writer (`format-pml.md` §15), so Procmon and procmon-parser read it like any capture.

use super::reader::Pml;
use super::writer::PmlModel;

/// Build the excerpt of `pml`: events whose index is in `keep`, and every event whose time lies
/// within `window` (100 ns units, e.g. 5,000,000 = 0.5 s) of a kept event's time, in the
/// capture's order. Errors: the capture was not closed cleanly (no tables to copy), or no index
/// in `keep` names an event of this capture.
pub fn excerpt(pml: &Pml, keep: &[usize], window: u64) -> Result<PmlModel, String> {
    let mut model = PmlModel::from_pml(pml)?;
    let mut anchors: Vec<u64> = keep
        .iter()
        .filter_map(|&i| pml.event(i).map(|e| e.time))
        .collect();
    if anchors.is_empty() {
        return Err(format!(
            "{}: none of the {} evidence events is in this capture; give the capture the verdict was made from",
            pml.path.display(),
            keep.len()
        ));
    }
    anchors.sort_unstable();
    let near = |t: u64| {
        // the nearest anchor at or after t - window
        let i = anchors.partition_point(|&a| a < t.saturating_sub(window));
        anchors
            .get(i)
            .is_some_and(|&a| a <= t.saturating_add(window))
    };
    let keep_set: std::collections::HashSet<usize> = keep.iter().copied().collect();
    let events = std::mem::take(&mut model.events);
    model.events = events
        .into_iter()
        .enumerate()
        .filter(|(i, e)| keep_set.contains(i) || near(e.time))
        .map(|(_, mut e)| {
            e.padding.clear();
            e
        })
        .collect();
    let used: std::collections::HashSet<u32> =
        model.events.iter().map(|e| e.process_index).collect();
    model
        .processes
        .retain(|p| used.contains(&p.index) || p.pid == 4);
    // Only the strings the kept records name: the writer interns them afresh.
    model.string_order.clear();
    Ok(model)
}

/// The event indexes of `capture_name` that a `verdict.json` (schema `fltblame.verdict/1`) names:
/// every denial's `event_id` and every evidence item's `events`. Event ids count across the
/// verdict's inputs in order, so the ids of the input named `capture_name` (file name) are
/// shifted back by the events of the inputs before it. Errors: not a verdict, or the capture is
/// not among its inputs.
pub fn evidence_events(
    verdict: &serde_json::Value,
    capture_name: &str,
) -> Result<Vec<usize>, String> {
    if verdict["schema"] != "fltblame.verdict/1" {
        return Err("not a fltblame verdict.json (schema \"fltblame.verdict/1\" expected)".into());
    }
    let inputs = verdict["inputs"].as_array().cloned().unwrap_or_default();
    let mut base = 0u64;
    let mut found = None;
    for inp in &inputs {
        let name = inp["path"]
            .as_str()
            .unwrap_or("")
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("");
        let n = inp["events"].as_u64().unwrap_or(0);
        if name.eq_ignore_ascii_case(capture_name) {
            found = Some((base, base + n));
            break;
        }
        base += n;
    }
    let Some((lo, hi)) = found else {
        return Err(format!("{capture_name} is not among the verdict's inputs"));
    };
    let mut ids: Vec<u64> = verdict["denials"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["event_id"].as_u64())
        .collect();
    for s in verdict["suspects"].as_array().into_iter().flatten() {
        for e in s["evidence"].as_array().into_iter().flatten() {
            ids.extend(
                e["events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_u64()),
            );
        }
    }
    let mut out: Vec<usize> = ids
        .into_iter()
        .filter(|&i| (lo..hi).contains(&i))
        .map(|i| (i - lo) as usize)
        .collect();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}
