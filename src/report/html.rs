//! `report.html`: one self-contained page (inline CSS, no scripts, nothing fetched) rendered
//! from `reports/report.html.j2` with minijinja: conclusion, suspect, denied operations,
//! evidence chain, the denied operation's stack with suspect frames marked, the filter stack,
//! advice and provenance.

use super::{denial_groups, DenialGroup};
use crate::evidence::candidates::cmp_altitude;
use crate::evidence::{self, cols, data};
use crate::knowledge;
use crate::tables::Tables;
use crate::verdict::{Conclusion, Verdict};
use anyhow::Context;
use polars::prelude::*;
use serde::Serialize;
use std::cmp::Ordering;
use std::path::{Path, PathBuf};

const TEMPLATE: &str = include_str!("../../reports/report.html.j2");
/// Denial groups shown in the table.
const MAX_GROUPS: usize = 50;
/// Denied operations whose stacks are shown.
const DENIAL_STACKS: usize = 3;
/// Supporting events (nested I/O) whose stacks are shown.
const EVIDENCE_STACKS: usize = 2;

#[derive(Serialize)]
struct FrameView {
    depth: u32,
    module: String,
    offset: String,
    address: String,
    kernel: bool,
    mark: &'static str,
}

#[derive(Serialize)]
struct StackView {
    title: String,
    event_id: u64,
    frames: Vec<FrameView>,
    marked: usize,
}

#[derive(Serialize)]
struct StackRow {
    driver: String,
    altitude: String,
    group: String,
    company: String,
    version: String,
    note: String,
    mark: &'static str,
}

#[derive(Serialize)]
struct Page<'a> {
    v: &'a Verdict,
    conclusion: &'static str,
    headline: String,
    named: Option<&'a crate::verdict::Suspect>,
    groups: Vec<DenialGroup>,
    more_groups: usize,
    stacks: Vec<StackView>,
    filter_stack: Vec<StackRow>,
    other_drivers: Vec<StackRow>,
    attribution: &'static str,
    weights: &'static [data::Weight],
}

fn mark_of(v: &Verdict, module: &str) -> &'static str {
    if module.is_empty() {
        return "";
    }
    if v.named()
        .is_some_and(|s| s.driver.eq_ignore_ascii_case(module))
    {
        "named"
    } else if v
        .suspects
        .iter()
        .any(|s| s.driver.eq_ignore_ascii_case(module))
    {
        "suspect"
    } else if v.drivers.get(module).is_some() {
        "candidate"
    } else if data::observer(module).is_some() {
        "observer"
    } else {
        ""
    }
}

fn stack_views(
    v: &Verdict,
    tables: &Tables,
    groups: &[DenialGroup],
) -> anyhow::Result<Vec<StackView>> {
    let mut wanted: Vec<(u64, u64, String)> = Vec::new(); // (stack_id, event_id, title)
    for g in groups
        .iter()
        .filter(|g| g.first.stack_id.is_some())
        .take(DENIAL_STACKS)
    {
        let d = &g.first;
        wanted.push((
            d.stack_id.unwrap_or_default(),
            d.event_id,
            format!(
                "Denied: {} {} by {} (event {}, {})",
                d.operation, d.object, d.process, d.event_id, d.status_name
            ),
        ));
    }
    let denial_ids: Vec<u64> = v.denials.iter().map(|d| d.event_id).collect();
    if let Some(s) = v.named().or(v.suspects.first()) {
        let supporting: Vec<u64> = s
            .evidence
            .iter()
            .flat_map(|e| e.events.iter().copied())
            .filter(|id| !denial_ids.contains(id))
            .take(EVIDENCE_STACKS)
            .collect();
        let what = event_texts(tables, &supporting)?;
        for (id, text) in supporting.iter().zip(what) {
            wanted.push((
                *id,
                *id,
                format!("Evidence for {}: {text} (event {id})", s.driver),
            ));
        }
    }
    let ids: Vec<u64> = wanted.iter().map(|w| w.0).collect();
    let frames = evidence::stacks(tables, &ids)?;
    Ok(wanted
        .into_iter()
        .filter_map(|(sid, eid, title)| {
            let fs = frames.get(&sid)?;
            let frames: Vec<FrameView> = fs
                .iter()
                .map(|f| FrameView {
                    depth: f.depth,
                    module: if f.module.is_empty() {
                        "<unresolved>".into()
                    } else {
                        f.module.clone()
                    },
                    offset: f.offset.map(|o| format!("+0x{o:x}")).unwrap_or_default(),
                    address: format!("0x{:x}", f.address),
                    kernel: f.kernel,
                    mark: mark_of(v, &f.module),
                })
                .collect();
            let marked = frames
                .iter()
                .filter(|f| f.mark == "named" || f.mark == "suspect")
                .count();
            Some(StackView {
                title,
                event_id: eid,
                frames,
                marked,
            })
        })
        .collect())
}

/// `operation path by process` of each event id (in the order given; empty when not found).
fn event_texts(tables: &Tables, ids: &[u64]) -> anyhow::Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let df = tables
        .events
        .clone()
        .lazy()
        .filter(col("event_id").is_in(
            lit(Series::new("ids".into(), ids.to_vec())).implode(false),
            false,
        ))
        .select([
            col("event_id"),
            col("operation"),
            col("path"),
            col("process_name"),
        ])
        .collect()?;
    let id = cols::u64s(&df, "event_id")?;
    let op = cols::strs(&df, "operation")?;
    let path = cols::strs(&df, "path")?;
    let proc = cols::strs(&df, "process_name")?;
    Ok(ids
        .iter()
        .map(|want| {
            id.iter()
                .position(|i| i == want)
                .map(|i| format!("{} {} by {}", op[i], path[i], proc[i]))
                .unwrap_or_default()
        })
        .collect())
}

/// The load order group whose range holds an altitude (integer part compared).
fn group_of_altitude(altitude: &str) -> Option<String> {
    let whole: u32 = altitude.split('.').next()?.trim().parse().ok()?;
    knowledge::load_order_groups()
        .iter()
        .find(|g| g.low <= whole && whole <= g.high)
        .map(|g| g.group.clone())
}

/// Minifilters known from the capture and Microsoft's list, top of the stack first (Procmon
/// and other observers included at their altitude), and the other candidate drivers.
fn filter_stack(v: &Verdict) -> (Vec<StackRow>, Vec<StackRow>) {
    let mut stack: Vec<StackRow> = Vec::new();
    let mut others: Vec<StackRow> = Vec::new();
    for c in &v.drivers.candidates {
        let row = |altitude: String, note: String| StackRow {
            driver: c.driver.clone(),
            altitude,
            group: c.load_order_group.clone().unwrap_or_default(),
            company: c.vendor(),
            version: c.version.clone(),
            note,
            mark: mark_of(v, &c.driver),
        };
        if c.altitudes.is_empty() {
            others.push(row(
                String::new(),
                "not in Microsoft's list: a legacy filter, a registry callback or no filter at all"
                    .into(),
            ));
        } else {
            for a in &c.altitudes {
                stack.push(row(a.clone(), c.role_reason.clone()));
            }
        }
    }
    for e in &v.drivers.excluded {
        let altitudes: Vec<String> =
            if v.drivers.procmon_driver.as_deref() == Some(e.driver.as_str()) {
                v.drivers.procmon_altitude.clone().into_iter().collect()
            } else {
                knowledge::altitudes(&e.driver)
                    .iter()
                    .map(|r| r.altitude.clone())
                    .collect()
            };
        for a in altitudes {
            stack.push(StackRow {
                driver: e.driver.clone(),
                group: group_of_altitude(&a).unwrap_or_default(),
                altitude: a,
                company: e.company.clone(),
                version: String::new(),
                note: e.reason.clone(),
                mark: "observer",
            });
        }
    }
    stack.sort_by(|a, b| cmp_altitude(&b.altitude, &a.altitude).unwrap_or(Ordering::Equal));
    (stack, others)
}

/// Render the report page.
pub fn render_html(v: &Verdict, tables: &Tables) -> anyhow::Result<String> {
    let mut groups = denial_groups(&v.denials);
    let stacks = stack_views(v, tables, &groups)?;
    let more_groups = groups.len().saturating_sub(MAX_GROUPS);
    groups.truncate(MAX_GROUPS);
    let (filter_stack, other_drivers) = filter_stack(v);
    let headline = match v.conclusion {
        Conclusion::Filter => {
            let s = v.named().expect("named suspect");
            format!(
                "A filter driver denied it: {} (confidence {:.2})",
                s.driver, s.confidence
            )
        }
        Conclusion::NoFilter => "No filter: the denials are ordinary ACL refusals".into(),
        Conclusion::Undetermined => "Undetermined: this capture cannot decide".into(),
    };
    let page = Page {
        v,
        conclusion: v.conclusion.as_str(),
        headline,
        named: v.named(),
        groups,
        more_groups,
        stacks,
        filter_stack,
        other_drivers,
        attribution: knowledge::ATTRIBUTION,
        weights: data::weights(),
    };
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let tmpl = env.template_from_named_str("report.html", TEMPLATE)?;
    Ok(tmpl.render(&page)?)
}

/// Write `dir/report.html`; returns its path. `dir` must exist.
pub fn write_html(v: &Verdict, tables: &Tables, dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join("report.html");
    let html = render_html(v, tables)?;
    std::fs::write(&path, html).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(path)
}
