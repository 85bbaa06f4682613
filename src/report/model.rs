//! What the report and its figures show, computed once from the verdict and the tables:
//! the incident timeline, the filter stack, the vendor's to-do rows.
//!
//! Hooks for sources still to come: [`Lane`]s from log readers (servicing-log failures) are
//! appended to the timeline through [`ReportExtras::log_lanes`], and the machine's `fltmc`
//! listing ([`FltmcFilter`]) replaces Microsoft's list as the source of the filter stack.

use crate::evidence::candidates::cmp_altitude;
use crate::evidence::{cols, data};
use crate::knowledge;
use crate::tables::Tables;
use crate::verdict::{DenialRow, Suspect, Verdict};
use polars::prelude::*;
use serde::Serialize;
use std::cmp::Ordering;

/// Suspects whose activity gets a timeline lane.
pub const TIMELINE_SUSPECTS: usize = 3;

/// One filter of `fltmc filters` output (the fields of `logs::fltmc`'s filter rows).
#[derive(Clone, Debug, Serialize)]
pub struct FltmcFilter {
    /// Filter name as fltmc prints it (`TmPreFlt`).
    pub name: String,
    /// Altitude text (`328500`); `None` for a legacy filter.
    pub altitude: Option<String>,
    /// Number of instances, when printed.
    pub instances: Option<u32>,
}

/// Data the report takes besides the verdict and the tables.
#[derive(Clone, Debug, Default)]
pub struct ReportExtras {
    /// The machine's `fltmc filters` listing; when given, it is the filter stack.
    pub fltmc: Vec<FltmcFilter>,
    /// Extra timeline lanes (servicing-log failures ...), drawn below the capture's lanes.
    pub log_lanes: Vec<Lane>,
}

/// How a timeline mark is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkStyle {
    /// A span (a capture's window, a denied operation's duration).
    Span,
    /// A denial ordinary ACLs do not explain.
    Denied,
    /// An ACL-plausible denial.
    AclDenied,
    /// An event with the named driver's frames.
    NamedActivity,
    /// An event with a suspect's frames.
    SuspectActivity,
    /// Another event (context).
    Other,
    /// A failure reported by a log.
    LogFailure,
}

/// One mark on a lane.
#[derive(Clone, Debug, Serialize)]
pub struct Mark {
    /// Time, ns since 1970 UTC.
    pub t_ns: i64,
    /// End of a span, ns since 1970 UTC.
    pub end_ns: Option<i64>,
    /// How to draw it.
    pub style: MarkStyle,
    /// Text written beside it (a few marks only).
    pub label: Option<String>,
}

/// One row of the timeline.
#[derive(Clone, Debug, Serialize)]
pub struct Lane {
    /// Row label (English).
    pub label: String,
    /// The marks.
    pub marks: Vec<Mark>,
}

/// How a panel's time axis is labelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Axis {
    /// Clock time UTC.
    Clock,
    /// Milliseconds from the given instant (ns since 1970 UTC).
    MsFrom(i64),
}

/// One timeline panel.
#[derive(Clone, Debug, Serialize)]
pub struct Panel {
    /// Title (English).
    pub title: String,
    /// Window start, ns since 1970 UTC.
    pub start_ns: i64,
    /// Window end, ns since 1970 UTC.
    pub end_ns: i64,
    /// Axis labelling.
    pub axis: Axis,
    /// The rows, top first.
    pub lanes: Vec<Lane>,
    /// Vertical guides across every lane (denials ordinary ACLs do not explain).
    pub guides: Vec<i64>,
}

/// The incident timeline: the whole capture, then a zoom on the denial the verdict rests on.
#[derive(Clone, Debug, Serialize)]
pub struct Timeline {
    /// Panels, top first.
    pub panels: Vec<Panel>,
}

/// `a…z` shortened to at most `max` characters, keeping the end (paths) with a leading `…`.
pub fn tail(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let keep: String = s.chars().skip(n - (max - 1)).collect();
    format!("…{keep}")
}

/// ISO 8601 UTC text (7 fractional digits) of ns since 1970 UTC.
pub fn iso_ns(ns: i64) -> String {
    const UNIX_EPOCH_FILETIME: i64 = 116_444_736_000_000_000;
    crate::pml::text::iso_utc((ns.div_euclid(100) + UNIX_EPOCH_FILETIME).max(0) as u64)
}

fn ids_series(ids: &[u64]) -> Expr {
    lit(Series::new("ids".into(), ids.to_vec())).implode(false)
}

/// (event_id, time ns) of the given events.
fn event_times(tables: &Tables, ids: &[u64]) -> anyhow::Result<Vec<(u64, i64)>> {
    if ids.is_empty() || tables.events.height() == 0 {
        return Ok(Vec::new());
    }
    let df = tables
        .events
        .clone()
        .lazy()
        .filter(col("event_id").is_in(ids_series(ids), false))
        .select([col("event_id"), col("time_utc")])
        .collect()?;
    let id = cols::u64s(&df, "event_id")?;
    let t = cols::i64s(&df, "time_utc")?;
    Ok(id.into_iter().zip(t).collect())
}

/// An event with a driver's frames on its stack.
#[derive(Clone, Debug)]
pub struct Activity {
    /// `event_id`.
    pub event_id: u64,
    /// Time, ns since 1970 UTC.
    pub t_ns: i64,
    /// Thread id.
    pub tid: u32,
}

/// Events whose stacks hold a frame of `driver` (case-insensitive), in time order.
pub fn driver_activity(tables: &Tables, driver: &str) -> anyhow::Result<Vec<Activity>> {
    if tables.frames.height() == 0 || tables.events.height() == 0 {
        return Ok(Vec::new());
    }
    let modules = tables.frames.column("module")?.unique()?;
    let names: Vec<String> = modules
        .str()?
        .iter()
        .flatten()
        .filter(|m| m.eq_ignore_ascii_case(driver))
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let stacks = tables
        .frames
        .clone()
        .lazy()
        .filter(col("module").is_in(lit(Series::new("m".into(), names)).implode(false), false))
        .select([col("stack_id")])
        .unique(None, UniqueKeepStrategy::First)
        .collect()?;
    let ids = cols::u64s(&stacks, "stack_id")?;
    let df = tables
        .events
        .clone()
        .lazy()
        .filter(col("stack_id").is_in(ids_series(&ids), false))
        .select([col("event_id"), col("time_utc"), col("tid")])
        .sort(["time_utc", "event_id"], Default::default())
        .collect()?;
    let id = cols::u64s(&df, "event_id")?;
    let t = cols::i64s(&df, "time_utc")?;
    let tid = cols::u32s(&df, "tid")?;
    Ok((0..df.height())
        .map(|i| Activity {
            event_id: id[i],
            t_ns: t[i],
            tid: tid[i],
        })
        .collect())
}

/// Per input (`source`): first and last event time, ns since 1970 UTC, earliest first.
pub fn capture_spans(tables: &Tables) -> anyhow::Result<Vec<(String, i64, i64)>> {
    Ok(crate::evidence::diagnostics::capture_spans(tables)?)
}

/// The suspects given a lane: the named one first, then by score.
fn lane_suspects(v: &Verdict) -> Vec<&Suspect> {
    let mut out: Vec<&Suspect> = v.named().into_iter().collect();
    out.extend(v.suspects.iter().filter(|s| !s.named));
    out.truncate(TIMELINE_SUSPECTS);
    out
}

/// The denial the zoom panel shows: the first the named driver's evidence concerns, else the
/// first a suspect's evidence concerns, else the first ordinary ACLs do not explain.
pub fn focus_denial(v: &Verdict) -> Option<&DenialRow> {
    let tied = |s: &Suspect| {
        v.denials
            .iter()
            .find(|d| s.denials.contains(&d.event_id) && !d.acl_plausible)
    };
    v.named()
        .and_then(tied)
        .or_else(|| v.suspects.iter().find_map(tied))
        .or_else(|| v.denials.iter().find(|d| !d.acl_plausible))
}

fn denial_label(d: &DenialRow) -> String {
    format!("#{} {} {}", d.event_id, d.operation, tail(&d.object, 34))
}

/// One timeline lane per log file with timed failures (servicing-log failures drawn as
/// `LogFailure` marks; the first failure corroborating a denial is labelled).
pub fn log_lanes(v: &Verdict) -> Vec<Lane> {
    let mut lanes: Vec<Lane> = Vec::new();
    for f in &v.log_failures {
        let Some(t) = f.time_ns else { continue };
        let label = crate::tables::logs::file_name(&f.file);
        let corroborates = v
            .log_corroboration
            .iter()
            .any(|c| c.file == f.file && c.line == f.line);
        let mark = Mark {
            t_ns: t,
            end_ns: None,
            style: MarkStyle::LogFailure,
            label: None,
        };
        let lane = match lanes.iter_mut().find(|l| l.label == label) {
            Some(l) => l,
            None => {
                lanes.push(Lane {
                    label: label.clone(),
                    marks: Vec::new(),
                });
                lanes.last_mut().expect("pushed")
            }
        };
        let labelled = lane.marks.iter().any(|m| m.label.is_some());
        lane.marks.push(Mark {
            label: (corroborates && !labelled).then(|| format!("{}:{}", label, f.line)),
            ..mark
        });
    }
    lanes
}

/// Build the timeline.
pub fn timeline(v: &Verdict, tables: &Tables, extras: &ReportExtras) -> anyhow::Result<Timeline> {
    let spans = capture_spans(tables)?;
    let denial_ids: Vec<u64> = v.denials.iter().map(|d| d.event_id).collect();
    let times: std::collections::HashMap<u64, i64> =
        event_times(tables, &denial_ids)?.into_iter().collect();
    let suspects = lane_suspects(v);
    let mut activity: Vec<(&Suspect, Vec<Activity>)> = Vec::new();
    for s in &suspects {
        activity.push((s, driver_activity(tables, &s.driver)?));
    }

    let mut t_min = spans.iter().map(|s| s.1).min();
    let mut t_max = spans.iter().map(|s| s.2).max();
    for l in &extras.log_lanes {
        for m in &l.marks {
            t_min = Some(t_min.map_or(m.t_ns, |t| t.min(m.t_ns)));
            let end = m.end_ns.unwrap_or(m.t_ns);
            t_max = Some(t_max.map_or(end, |t| t.max(end)));
        }
    }
    let (Some(start), Some(end)) = (t_min, t_max) else {
        return Ok(Timeline { panels: Vec::new() });
    };

    let mut lanes = Vec::new();
    lanes.push(Lane {
        label: if spans.len() == 1 {
            "Capture".into()
        } else {
            format!("Captures ({})", spans.len())
        },
        marks: spans
            .iter()
            .map(|(src, a, b)| Mark {
                t_ns: *a,
                end_ns: Some(*b),
                style: MarkStyle::Span,
                label: Some(src.clone()),
            })
            .collect(),
    });
    let mut labelled = 0;
    let denial_marks: Vec<Mark> = v
        .denials
        .iter()
        .filter_map(|d| {
            let t = *times.get(&d.event_id)?;
            let label = (!d.acl_plausible && labelled < 2).then(|| {
                labelled += 1;
                denial_label(d)
            });
            Some(Mark {
                t_ns: t,
                end_ns: None,
                style: if d.acl_plausible {
                    MarkStyle::AclDenied
                } else {
                    MarkStyle::Denied
                },
                label,
            })
        })
        .collect();
    lanes.push(Lane {
        label: format!("Denials ({})", v.denials.len()),
        marks: denial_marks,
    });
    for (s, acts) in &activity {
        lanes.push(Lane {
            label: format!("{} frames ({} events)", tail(&s.driver, 22), acts.len()),
            marks: acts
                .iter()
                .map(|a| Mark {
                    t_ns: a.t_ns,
                    end_ns: None,
                    style: if s.named {
                        MarkStyle::NamedActivity
                    } else {
                        MarkStyle::SuspectActivity
                    },
                    label: None,
                })
                .collect(),
        });
    }
    lanes.extend(extras.log_lanes.iter().cloned());
    let guides: Vec<i64> = v
        .denials
        .iter()
        .filter(|d| !d.acl_plausible)
        .filter_map(|d| times.get(&d.event_id).copied())
        .take(20)
        .collect();
    let mut panels = vec![Panel {
        title: "Incident timeline (UTC)".into(),
        start_ns: start,
        end_ns: end,
        axis: Axis::Clock,
        lanes,
        guides,
    }];

    if let Some(d) = focus_denial(v) {
        if let Some(&t0) = times.get(&d.event_id) {
            panels.push(zoom_panel(tables, d, t0, &activity)?);
        }
    }
    Ok(Timeline { panels })
}

/// The denied operation's duration and what its thread and the suspects did meanwhile.
fn zoom_panel(
    tables: &Tables,
    d: &DenialRow,
    t0: i64,
    activity: &[(&Suspect, Vec<Activity>)],
) -> anyhow::Result<Panel> {
    let dur = (d.duration_us * 1000.0).round() as i64;
    let pad = (dur / 4).max(50_000);
    let (a, b) = (t0 - pad, t0 + dur + pad);
    let mut lanes = vec![Lane {
        label: format!("Denied #{} ({:.2} ms)", d.event_id, dur as f64 / 1e6),
        marks: vec![Mark {
            t_ns: t0,
            end_ns: Some(t0 + dur.max(1)),
            style: MarkStyle::Denied,
            label: Some(format!("{} {}", d.operation, tail(&d.object, 40))),
        }],
    }];
    let mut shown: Vec<u64> = vec![d.event_id];
    for (s, acts) in activity {
        let inside: Vec<&Activity> = acts.iter().filter(|x| x.t_ns >= a && x.t_ns <= b).collect();
        let same_thread = inside.iter().filter(|x| x.tid == d.tid).count();
        shown.extend(inside.iter().map(|x| x.event_id));
        lanes.push(Lane {
            label: format!(
                "{} frames: {} ({} on thread {})",
                tail(&s.driver, 16),
                inside.len(),
                same_thread,
                d.tid
            ),
            marks: inside
                .iter()
                .map(|x| Mark {
                    t_ns: x.t_ns,
                    end_ns: None,
                    style: if s.named {
                        MarkStyle::NamedActivity
                    } else {
                        MarkStyle::SuspectActivity
                    },
                    label: None,
                })
                .collect(),
        });
    }
    // The thread's other events in the window: the ordinary context.
    let df = tables
        .events
        .clone()
        .lazy()
        .filter(
            col("tid")
                .eq(lit(d.tid))
                .and(col("pid").eq(lit(d.pid)))
                .and(col("source").eq(lit(d.source.clone())))
                .and(col("time_utc").cast(DataType::Int64).gt_eq(lit(a)))
                .and(col("time_utc").cast(DataType::Int64).lt_eq(lit(b))),
        )
        .select([col("event_id"), col("time_utc")])
        .collect()?;
    let id = cols::u64s(&df, "event_id")?;
    let t = cols::i64s(&df, "time_utc")?;
    let others: Vec<Mark> = (0..df.height())
        .filter(|&i| !shown.contains(&id[i]))
        .map(|i| Mark {
            t_ns: t[i],
            end_ns: None,
            style: MarkStyle::Other,
            label: None,
        })
        .collect();
    lanes.push(Lane {
        label: format!("Other events of thread {} ({})", d.tid, others.len()),
        marks: others,
    });
    Ok(Panel {
        title: format!(
            "Zoom: inside denied event #{} ({} by {}, thread {})",
            d.event_id, d.operation, d.process, d.tid
        ),
        start_ns: a,
        end_ns: b,
        axis: Axis::MsFrom(t0),
        lanes,
        guides: Vec::new(),
    })
}

/// Where a filter-stack row comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StackSource {
    /// The capture's kernel modules, placed by Microsoft's list of allocated altitudes.
    List,
    /// Procmon's own instance altitude.
    Procmon,
    /// The machine's `fltmc` output.
    Fltmc,
}

/// One driver of the filter stack.
#[derive(Clone, Debug, Serialize)]
pub struct StackEntry {
    /// Driver file name (or fltmc filter name).
    pub driver: String,
    /// Altitude; `None`: no allocated altitude (registry callback, legacy filter, no filter).
    pub altitude: Option<String>,
    /// Load order group.
    pub group: String,
    /// Company.
    pub company: String,
    /// File version.
    pub version: String,
    /// Instances (fltmc only).
    pub instances: Option<u32>,
    /// Where the row comes from.
    pub source: StackSource,
    /// Why it is here / what it does (English, from the tables).
    pub note: String,
    /// `named`, `suspect`, `candidate`, `observer` or empty.
    pub mark: &'static str,
    /// In the capture's kernel modules.
    pub loaded: bool,
}

/// The filter stack of the machine.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FilterStack {
    /// Drivers with an altitude, top of the stack (highest altitude) first.
    pub minifilters: Vec<StackEntry>,
    /// Candidate drivers without an allocated altitude.
    pub others: Vec<StackEntry>,
    /// The minifilter rows come from `fltmc`.
    pub from_fltmc: bool,
}

/// `named`, `suspect`, `candidate`, `observer` or empty, for a module name.
pub fn mark_of(v: &Verdict, module: &str) -> &'static str {
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

/// The load order group whose range holds an altitude (integer part compared).
pub fn group_of_altitude(altitude: &str) -> Option<String> {
    let whole: u32 = altitude.split('.').next()?.trim().parse().ok()?;
    knowledge::load_order_groups()
        .iter()
        .find(|g| g.low <= whole && whole <= g.high)
        .map(|g| g.group.clone())
}

const NO_ALTITUDE_NOTE: &str =
    "not in Microsoft's list of allocated altitudes: a registry callback, a legacy filter or no filter at all";

/// The filter stack: from `fltmc` when given, else the capture's kernel modules placed by
/// Microsoft's list (Procmon at its instance altitude).
pub fn filter_stack(v: &Verdict, fltmc: &[FltmcFilter]) -> FilterStack {
    let mut st = FilterStack {
        from_fltmc: !fltmc.is_empty(),
        ..Default::default()
    };
    let same = |driver: &str, filter: &str| {
        crate::evidence::candidates::file_stem(driver) == filter.to_lowercase()
            || driver.eq_ignore_ascii_case(filter)
    };
    if st.from_fltmc {
        for f in fltmc.iter().filter(|f| f.altitude.is_none()) {
            let cand = v
                .drivers
                .candidates
                .iter()
                .find(|c| same(&c.driver, &f.name));
            st.others.push(StackEntry {
                driver: cand.map_or_else(|| f.name.clone(), |c| c.driver.clone()),
                altitude: None,
                group: String::new(),
                company: cand.map(|c| c.vendor()).unwrap_or_default(),
                version: cand.map(|c| c.version.clone()).unwrap_or_default(),
                instances: f.instances,
                source: StackSource::Fltmc,
                note: "a legacy filter according to fltmc (no altitude)".into(),
                mark: mark_of(v, cand.map_or(f.name.as_str(), |c| c.driver.as_str())),
                loaded: cand.is_some(),
            });
        }
        for f in fltmc.iter().filter(|f| f.altitude.is_some()) {
            let altitude = f.altitude.clone().unwrap_or_default();
            let cand = v
                .drivers
                .candidates
                .iter()
                .find(|c| same(&c.driver, &f.name));
            let excl = v.drivers.excluded.iter().find(|e| same(&e.driver, &f.name));
            let driver = cand
                .map(|c| c.driver.clone())
                .or_else(|| excl.map(|e| e.driver.clone()))
                .unwrap_or_else(|| f.name.clone());
            st.minifilters.push(StackEntry {
                mark: mark_of(v, &driver),
                group: cand
                    .and_then(|c| c.load_order_group.clone())
                    .or_else(|| group_of_altitude(&altitude))
                    .unwrap_or_default(),
                company: cand
                    .map(|c| c.vendor())
                    .or_else(|| excl.map(|e| e.company.clone()))
                    .unwrap_or_default(),
                version: cand.map(|c| c.version.clone()).unwrap_or_default(),
                note: cand
                    .map(|c| c.role_reason.clone())
                    .or_else(|| excl.map(|e| e.reason.clone()))
                    .unwrap_or_default(),
                loaded: cand.is_some() || excl.is_some(),
                driver,
                altitude: Some(altitude),
                instances: f.instances,
                source: StackSource::Fltmc,
            });
        }
        for c in &v.drivers.candidates {
            if !fltmc.iter().any(|f| same(&c.driver, &f.name)) {
                st.others.push(StackEntry {
                    driver: c.driver.clone(),
                    altitude: None,
                    group: c.load_order_group.clone().unwrap_or_default(),
                    company: c.vendor(),
                    version: c.version.clone(),
                    instances: None,
                    source: StackSource::List,
                    note: "not listed by fltmc: a registry callback, a legacy filter or no filter at all".into(),
                    mark: mark_of(v, &c.driver),
                    loaded: true,
                });
            }
        }
    } else {
        for c in &v.drivers.candidates {
            let row = |altitude: Option<String>, note: String| StackEntry {
                driver: c.driver.clone(),
                altitude,
                group: c.load_order_group.clone().unwrap_or_default(),
                company: c.vendor(),
                version: c.version.clone(),
                instances: None,
                source: StackSource::List,
                note,
                mark: mark_of(v, &c.driver),
                loaded: true,
            };
            if c.altitudes.is_empty() {
                st.others.push(row(None, NO_ALTITUDE_NOTE.into()));
            } else {
                for a in &c.altitudes {
                    st.minifilters
                        .push(row(Some(a.clone()), c.role_reason.clone()));
                }
            }
        }
        for e in &v.drivers.excluded {
            let procmon = v.drivers.procmon_driver.as_deref() == Some(e.driver.as_str());
            let altitudes: Vec<String> = if procmon {
                v.drivers.procmon_altitude.clone().into_iter().collect()
            } else {
                knowledge::altitudes(&e.driver)
                    .iter()
                    .map(|r| r.altitude.clone())
                    .collect()
            };
            for a in altitudes {
                st.minifilters.push(StackEntry {
                    driver: e.driver.clone(),
                    group: group_of_altitude(&a).unwrap_or_default(),
                    altitude: Some(a),
                    company: e.company.clone(),
                    version: String::new(),
                    instances: None,
                    source: if procmon {
                        StackSource::Procmon
                    } else {
                        StackSource::List
                    },
                    note: e.reason.clone(),
                    mark: "observer",
                    loaded: true,
                });
            }
        }
    }
    st.minifilters.sort_by(|a, b| {
        let (x, y) = (
            a.altitude.as_deref().unwrap_or("0"),
            b.altitude.as_deref().unwrap_or("0"),
        );
        cmp_altitude(y, x).unwrap_or(Ordering::Equal)
    });
    st
}

/// One line of the vendor's to-do list, structured.
#[derive(Clone, Debug, Serialize)]
pub struct TodoRow {
    /// Process image path (name when the path is unknown).
    pub actor: String,
    /// `DOMAIN\user`.
    pub user: String,
    /// Integrity level.
    pub integrity: String,
    /// Procmon's operation.
    pub operation: String,
    /// The access right the operation needs.
    pub access: String,
    /// `registry` or `file`.
    pub object_kind: &'static str,
    /// The object.
    pub object: String,
    /// Result text and NTSTATUS.
    pub status: String,
    /// Denials of this kind (event ids).
    pub events: Vec<u64>,
    /// The named driver's evidence concerns it.
    pub tied: bool,
}

/// The access right an operation needs: the Detail's `Desired Access` when Procmon printed one,
/// else the right the operation implies.
pub fn access_needed(operation: &str, detail: &str) -> String {
    if let Some(i) = detail.find("Desired Access: ") {
        let rest = &detail[i + "Desired Access: ".len()..];
        let end = rest
            .find(", Disposition")
            .or_else(|| rest.find(", Options"))
            .or_else(|| rest.find(", Attributes"))
            .unwrap_or(rest.len());
        return rest[..end].trim().to_string();
    }
    match operation {
        "RegSetValue" | "RegDeleteValue" => "Set Value (KEY_SET_VALUE)",
        "RegCreateKey" => "Create Subkey (KEY_CREATE_SUB_KEY)",
        "RegDeleteKey" => "Delete (DELETE)",
        "RegSetInfoKey" => "Set Value (KEY_SET_VALUE)",
        "RegLoadKey" | "RegUnloadKey" | "RegRestoreKey" | "RegSaveKey" => {
            "SeRestorePrivilege / SeBackupPrivilege on the hive"
        }
        "WriteFile" => "Write Data (FILE_WRITE_DATA)",
        "SetDispositionInformationFile" | "SetDispositionInformationEx" => "Delete (DELETE)",
        "SetRenameInformationFile" | "SetRenameInformationEx" => {
            "Delete (DELETE) on the file, Add File in the target folder"
        }
        "SetBasicInformationFile" => "Write Attributes (FILE_WRITE_ATTRIBUTES)",
        "SetEndOfFileInformationFile" | "SetAllocationInformationFile" => {
            "Write Data (FILE_WRITE_DATA)"
        }
        "SetSecurityFile" => "Write DAC (WRITE_DAC)",
        "ReadFile" => "Read Data (FILE_READ_DATA)",
        _ => operation,
    }
    .to_string()
}

/// The vendor's to-do list, one row per (actor, operation, object): the denials the named
/// driver's evidence concerns that ordinary ACLs do not explain, then the other
/// servicing-relevant ones (not tied to it by the evidence). The same selection as the
/// verdict's `vendor_todo` sentences.
pub fn todo_rows(v: &Verdict) -> Vec<TodoRow> {
    let Some(s) = v.named() else {
        return Vec::new();
    };
    let tied = |d: &DenialRow| s.denials.contains(&d.event_id);
    let wanted = v
        .denials
        .iter()
        .filter(|d| !d.acl_plausible && tied(d))
        .chain(
            v.denials
                .iter()
                .filter(|d| !d.acl_plausible && d.servicing_relevant && !tied(d)),
        );
    let mut out: Vec<TodoRow> = Vec::new();
    for d in wanted {
        let actor = if d.image.is_empty() {
            d.process.clone()
        } else {
            d.image.clone()
        };
        if let Some(r) = out.iter_mut().find(|r| {
            r.actor.eq_ignore_ascii_case(&actor)
                && r.operation == d.operation
                && r.object.eq_ignore_ascii_case(&d.object)
        }) {
            if !r.events.contains(&d.event_id) {
                r.events.push(d.event_id);
            }
            continue;
        }
        let upper = d.object.to_uppercase();
        out.push(TodoRow {
            actor,
            user: d.user.clone(),
            integrity: d.integrity.clone(),
            operation: d.operation.clone(),
            access: access_needed(&d.operation, &d.detail),
            object_kind: if upper.starts_with("HK") || upper.starts_with("\\REGISTRY") {
                "registry"
            } else {
                "file"
            },
            object: d.object.clone(),
            status: format!("{} {}", d.status_name, d.status),
            events: vec![d.event_id],
            tied: tied(d),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::synthetic::Builder;
    use crate::verdict::analyze;

    const DENIED: u32 = 0xC000_0022;

    /// Case A in miniature: TrustedInstaller's RegSetValue denied (at 50 ms, lasting 4 ms)
    /// while guard.sys reads its policy on the same thread; an ACL-plausible denial; an
    /// anti-virus minifilter loaded.
    fn case() -> (Verdict, Tables) {
        let mut b = Builder::new();
        b.kernel_module("guard.sys", "Acme", "2.0");
        b.kernel_module("TmPreFlt.sys", "Trend Micro Inc.", "7.0");
        let ti = b.system_process(1432, "TrustedInstaller.exe", 496);
        let user = b.process(1720, "reg.exe", "PC\\alice", "Medium", 1600);
        let d = b.event(
            ti,
            1508,
            "RegSetValue",
            "HKLM\\System\\CurrentControlSet\\Services\\AmdK8\\Start",
            DENIED,
            50_000,
            4000,
        );
        b.stack(d, &["ntkrnlpa.exe"]);
        for i in 0..3 {
            let n = b.event(
                ti,
                1508,
                "RegQueryValue",
                "HKLM\\Software\\Acme\\Policy",
                0,
                50_500 + i * 100,
                10,
            );
            b.stack(n, &["ntkrnlpa.exe", "guard.sys", "ntkrnlpa.exe"]);
        }
        // guard.sys at driver start, long before; and an unrelated event of the thread.
        let early = b.event(ti, 1508, "RegOpenKey", "HKLM\\Software\\Acme", 0, 10, 5);
        b.stack(early, &["guard.sys"]);
        b.event(ti, 1508, "RegCloseKey", "HKLM\\System", 0, 49_900, 5);
        let benign = b.event(
            user,
            1730,
            "RegCreateKey",
            "HKLM\\SOFTWARE\\Policies\\X",
            DENIED,
            59_000,
            30,
        );
        b.stack(benign, &["ntkrnlpa.exe"]);
        let t = b.build();
        (analyze(&t).unwrap(), t)
    }

    #[test]
    fn timeline_lanes_and_zoom() {
        let (v, t) = case();
        assert_eq!(v.driver.as_deref(), Some("guard.sys"), "{}", v.reason);
        let extras = ReportExtras {
            log_lanes: vec![Lane {
                label: "CBS.log failures".into(),
                marks: vec![Mark {
                    t_ns: crate::evidence::synthetic::BASE_NS + 80_000_000,
                    end_ns: None,
                    style: MarkStyle::LogFailure,
                    label: Some("0x80070005".into()),
                }],
            }],
            ..Default::default()
        };
        let tl = timeline(&v, &t, &extras).unwrap();
        assert_eq!(tl.panels.len(), 2);
        let main = &tl.panels[0];
        let labels: Vec<&str> = main.lanes.iter().map(|l| l.label.as_str()).collect();
        // The anti-virus filter is a (weak) suspect: its lane shows it did nothing here.
        assert_eq!(
            labels,
            [
                "Capture",
                "Denials (2)",
                "guard.sys frames (4 events)",
                "TmPreFlt.sys frames (0 events)",
                "CBS.log failures"
            ]
        );
        // The log lane widens the window to its mark.
        assert_eq!(
            main.end_ns,
            crate::evidence::synthetic::BASE_NS + 80_000_000
        );
        let styles: Vec<MarkStyle> = main.lanes[1].marks.iter().map(|m| m.style).collect();
        assert_eq!(styles, [MarkStyle::Denied, MarkStyle::AclDenied]);
        assert!(main.lanes[1].marks[0]
            .label
            .as_deref()
            .unwrap()
            .starts_with("#0 RegSetValue"));
        assert_eq!(main.guides.len(), 1);
        // The zoom: the denied operation's 4 ms, the 3 nested events, the thread's other event.
        let zoom = &tl.panels[1];
        assert_eq!(
            zoom.axis,
            Axis::MsFrom(crate::evidence::synthetic::BASE_NS + 50_000_000)
        );
        assert_eq!(
            zoom.lanes[0].marks[0].end_ns,
            Some(crate::evidence::synthetic::BASE_NS + 54_000_000)
        );
        assert_eq!(zoom.lanes[1].marks.len(), 3, "{:?}", zoom.lanes[1]);
        assert_eq!(
            zoom.lanes[1].label,
            "guard.sys frames: 3 (3 on thread 1508)"
        );
        let other = zoom.lanes.last().unwrap();
        assert_eq!(other.label, "Other events of thread 1508 (1)");
        assert_eq!(other.marks.len(), 1, "the RegCloseKey 100 us before");
    }

    #[test]
    fn filter_stack_from_the_list_and_from_fltmc() {
        let (v, _) = case();
        let st = filter_stack(&v, &[]);
        assert!(!st.from_fltmc);
        let tm = st
            .minifilters
            .iter()
            .find(|e| e.driver == "TmPreFlt.sys")
            .unwrap();
        assert_eq!(tm.altitude.as_deref(), Some("328500"));
        assert_eq!(tm.mark, "suspect", "a deny-role filter with weak evidence");
        // Sorted top first; Procmon at its instance altitude above the anti-virus filter.
        let alts: Vec<&str> = st
            .minifilters
            .iter()
            .filter_map(|e| e.altitude.as_deref())
            .collect();
        let mut sorted = alts.clone();
        sorted.sort_by(|a, b| cmp_altitude(b, a).unwrap());
        assert_eq!(alts, sorted);
        let guard = st.others.iter().find(|e| e.driver == "guard.sys").unwrap();
        assert_eq!(guard.mark, "named");
        assert!(guard.altitude.is_none());

        let fltmc = [
            FltmcFilter {
                name: "PROCMON24".into(),
                altitude: Some("385200".into()),
                instances: Some(3),
            },
            FltmcFilter {
                name: "TmPreFlt".into(),
                altitude: Some("328520".into()),
                instances: Some(4),
            },
            FltmcFilter {
                name: "FileInfo".into(),
                altitude: Some("45000".into()),
                instances: Some(5),
            },
            FltmcFilter {
                name: "oldflt".into(),
                altitude: None,
                instances: None,
            },
        ];
        let st = filter_stack(&v, &fltmc);
        assert!(st.from_fltmc);
        let names: Vec<&str> = st.minifilters.iter().map(|e| e.driver.as_str()).collect();
        // Names are the capture's when fltmc's filter name matches a loaded driver.
        assert_eq!(names, ["PROCMON24", "TmPreFlt.sys", "fileinfo.sys"]);
        // fltmc's altitude wins over Microsoft's list, with its instance count.
        assert_eq!(st.minifilters[1].altitude.as_deref(), Some("328520"));
        assert_eq!(st.minifilters[1].instances, Some(4));
        assert_eq!(st.minifilters[1].company, "Trend Micro Inc.");
        // guard.sys is not listed by fltmc: a registry callback or no filter; the legacy one apart.
        let others: Vec<&str> = st.others.iter().map(|e| e.driver.as_str()).collect();
        assert_eq!(others, ["oldflt", "guard.sys"]);
        assert!(st.others[1].note.contains("not listed by fltmc"));
    }

    #[test]
    fn todo_rows_follow_the_verdicts_list() {
        let (v, _) = case();
        let rows = todo_rows(&v);
        assert_eq!(rows.len(), v.vendor_todo.len());
        let r = &rows[0];
        assert!(r.actor.ends_with("\\TrustedInstaller.exe"), "{}", r.actor);
        assert_eq!(r.user, "NT AUTHORITY\\SYSTEM");
        assert_eq!(r.access, "Set Value (KEY_SET_VALUE)");
        assert_eq!(r.object_kind, "registry");
        assert!(r.tied && r.events == [0]);
        assert!(v.vendor_todo[0].contains(&r.object));
    }

    #[test]
    fn access_from_detail_or_operation() {
        assert_eq!(
            access_needed(
                "CreateFile",
                "Desired Access: Generic Write, Read Attributes, Disposition: OverwriteIf, Options: x"
            ),
            "Generic Write, Read Attributes"
        );
        assert_eq!(
            access_needed("RegCreateKey", "Desired Access: All Access"),
            "All Access"
        );
        assert_eq!(
            access_needed("RegSetValue", "Type: REG_DWORD, Length: 4, Data: 3"),
            "Set Value (KEY_SET_VALUE)"
        );
        assert_eq!(access_needed("Odd", ""), "Odd");
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("abc", 5), "abc");
        assert_eq!(tail("HKLM\\System\\AmdK8", 8), "…m\\AmdK8");
        assert_eq!(tail("HKLM\\System\\AmdK8", 8).chars().count(), 8);
    }
}
