//! `nested_io` (medium): while the denied request was in flight, the same thread issued I/O
//! whose stack holds a candidate driver's frames — the driver was processing that request.
//!
//! Tables: denials joined with `events` on (`source`, `tid`), kept where the event starts
//! within `[denial start, denial start + duration]` (both inclusive, ns); joined with `frames`
//! on `stack_id`, kept where the frame's module is a candidate — unless that driver's frames are
//! on the denied operation's own stack too: then it issued the denied request (its frames sit in
//! the outer part of every nested stack) rather than processed it. A driver whose frames are on at
//! least half of all stacked events of the capture (of at least 100) gets the weak
//! `nested_io_ubiquitous` weight instead: being there during a denial then says little.

use super::{cols, denials, Context, Evidence};
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Nested operations listed by name in an item's detail before "and N more".
const LISTED: usize = 3;
/// Supporting event ids kept per item.
const MAX_EVENTS: usize = 50;
/// Stacked events a capture needs before a driver's share of stacks is judged.
const MIN_STACKS_FOR_SPREAD: f64 = 100.0;

struct Nested {
    denial: u64,
    event: u64,
    operation: String,
    path: String,
}

/// Find `nested_io` evidence.
pub fn find(ctx: &Context) -> anyhow::Result<Vec<Evidence>> {
    let t = ctx.tables;
    if ctx.denials.is_empty() || ctx.drivers.candidates.is_empty() || t.frames.height() == 0 {
        return Ok(Vec::new());
    }
    let names: Vec<String> = ctx
        .drivers
        .candidates
        .iter()
        .map(|c| c.driver.to_lowercase())
        .collect();
    let names = Series::new("names".into(), names);
    let candidate_frames = t
        .frames
        .clone()
        .lazy()
        .select([
            col("stack_id"),
            col("module").str().to_lowercase().alias("module_lc"),
        ])
        .filter(col("module_lc").is_in(lit(names).implode(false), false))
        .unique(None, UniqueKeepStrategy::Any);
    let d = denials::frame(ctx.denials)?
        .lazy()
        .select([col("event_id").alias("denial_id")]);
    // Candidates on the denied operation's own stack: the requesters.
    let requesters = t
        .events
        .clone()
        .lazy()
        .select([col("event_id").alias("denial_id"), col("stack_id")])
        .join(
            d,
            [col("denial_id")],
            [col("denial_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            candidate_frames.clone(),
            [col("stack_id")],
            [col("stack_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .select([
            col("denial_id"),
            col("module_lc"),
            lit(true).alias("requester"),
        ])
        .unique(None, UniqueKeepStrategy::Any);
    let pairs = window_pairs(ctx)?;
    let nested = pairs
        .lazy()
        .join(
            candidate_frames.clone(),
            [col("stack_id")],
            [col("stack_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            requesters,
            [col("denial_id"), col("module_lc")],
            [col("denial_id"), col("module_lc")],
            JoinArgs::new(JoinType::Left),
        )
        .filter(col("requester").is_null())
        .collect()?;
    let ids = Series::new("ids".into(), cols::u64s(&nested, "event_id")?);
    let text = t
        .events
        .clone()
        .lazy()
        .filter(col("event_id").is_in(lit(ids).implode(false), false))
        .select([col("event_id"), col("operation"), col("path")]);
    let nested = nested
        .lazy()
        .join(
            text,
            [col("event_id")],
            [col("event_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .sort(["denial_id", "event_id"], Default::default())
        .collect()?;
    if nested.height() == 0 {
        return Ok(Vec::new());
    }
    // Share of stacked events that carry each candidate's frames.
    let stacked = t
        .events
        .column("stack_id")?
        .as_materialized_series()
        .is_not_null()
        .sum()
        .unwrap_or(0)
        .max(1) as f64;
    let spread = candidate_frames
        .group_by([col("module_lc")])
        .agg([col("stack_id").n_unique().alias("stacks")])
        .collect()?;
    let spread: HashMap<String, u64> = cols::strs(&spread, "module_lc")?
        .into_iter()
        .zip(cols::u64s(&spread, "stacks")?)
        .collect();

    let module = cols::strs(&nested, "module_lc")?;
    let denial = cols::u64s(&nested, "denial_id")?;
    let event = cols::u64s(&nested, "event_id")?;
    let operation = cols::strs(&nested, "operation")?;
    let path = cols::strs(&nested, "path")?;
    let mut by_driver: BTreeMap<String, Vec<Nested>> = BTreeMap::new();
    for i in 0..nested.height() {
        by_driver
            .entry(module[i].clone())
            .or_default()
            .push(Nested {
                denial: denial[i],
                event: event[i],
                operation: operation[i].clone(),
                path: path[i].clone(),
            });
    }
    let mut out = Vec::new();
    for c in &ctx.drivers.candidates {
        let Some(rows) = by_driver.get(&c.driver.to_lowercase()) else {
            continue;
        };
        let mut denial_ids: Vec<u64> = rows.iter().map(|r| r.denial).collect();
        denial_ids.dedup();
        let share = *spread.get(&c.driver.to_lowercase()).unwrap_or(&0) as f64 / stacked;
        let key = if share >= 0.5 && stacked >= MIN_STACKS_FOR_SPREAD {
            "nested_io_ubiquitous"
        } else {
            "nested_io"
        };
        let first = ctx
            .denials
            .iter()
            .find(|d| d.event_id == denial_ids[0])
            .expect("denial of a join row");
        let listed: Vec<String> = rows
            .iter()
            .filter(|r| r.denial == first.event_id)
            .take(LISTED)
            .map(|r| format!("{} {} (event {})", r.operation, r.path, r.event))
            .collect();
        let n_first = rows.iter().filter(|r| r.denial == first.event_id).count();
        let more = if n_first > LISTED {
            format!(" and {} more", n_first - LISTED)
        } else {
            String::new()
        };
        let others = if denial_ids.len() > 1 {
            format!("; the same during {} other denial(s)", denial_ids.len() - 1)
        } else {
            String::new()
        };
        let detail = format!(
            "During the denied {op} of {obj} by {proc} (event {id}, thread {tid}, {dur} µs), the same thread issued {n_first} operation(s) with {drv} frames on their stacks: {list}{more}{others}. {drv} frames are on {pct:.1}% of the capture's stacks.",
            op = first.operation,
            obj = first.object,
            proc = first.process,
            id = first.event_id,
            tid = first.tid,
            dur = first.duration_ns as f64 / 1000.0,
            drv = c.driver,
            list = listed.join("; "),
            pct = share * 100.0,
        );
        let supporting: Vec<u64> = rows.iter().map(|r| r.event).take(MAX_EVENTS).collect();
        out.push(Evidence::new(
            key,
            Some(&c.driver),
            detail,
            denial_ids,
            supporting,
        ));
    }
    Ok(out)
}

/// `(denial_id, event_id, stack_id)` of every stacked event of a denial's thread (same
/// `source` and `tid`) that started inside the denial's window `[start, start + duration]`
/// (ns, both inclusive), the denial itself excluded. One pass over the narrow `events`
/// columns: a join on (`source`, `tid`) would pair every denial with every event of its thread
/// (tens of millions of rows on a multi-GB capture with many denials on one thread).
fn window_pairs(ctx: &Context) -> PolarsResult<DataFrame> {
    let mut windows: HashMap<u32, Vec<(i64, i64, u64, &str)>> = HashMap::new();
    for d in ctx.denials {
        let end = d.time_ns.saturating_add(d.duration_ns.max(0));
        windows
            .entry(d.tid)
            .or_default()
            .push((d.time_ns, end, d.event_id, d.source.as_str()));
    }
    for w in windows.values_mut() {
        w.sort_unstable();
    }
    let ev = &ctx.tables.events;
    let tid = ev.column("tid")?.u32()?;
    let time = ev.column("time_utc")?.cast(&DataType::Int64)?;
    let time = time.i64()?;
    let event_id = ev.column("event_id")?.u64()?;
    let stack_id = ev.column("stack_id")?.u64()?;
    let source = ev.column("source")?.str()?;
    let (mut d_out, mut e_out, mut s_out) = (Vec::new(), Vec::new(), Vec::new());
    let rows = tid
        .iter()
        .zip(time.iter())
        .zip(stack_id.iter())
        .zip(event_id.iter())
        .zip(source.iter());
    for ((((tid, t), sid), id), src) in rows {
        let (Some(tid), Some(t), Some(sid), Some(id)) = (tid, t, sid, id) else {
            continue;
        };
        let Some(w) = windows.get(&tid) else {
            continue;
        };
        let open = &w[..w.partition_point(|x| x.0 <= t)];
        for &(_, end, denial, d_src) in open {
            if t <= end && id != denial && src == Some(d_src) {
                d_out.push(denial);
                e_out.push(id);
                s_out.push(sid);
            }
        }
    }
    DataFrame::new(
        d_out.len(),
        vec![
            Column::new("denial_id".into(), d_out),
            Column::new("event_id".into(), e_out),
            Column::new("stack_id".into(), s_out),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::synthetic::{run, Builder};

    #[test]
    fn nested_inside_the_denial_window_only() {
        let mut b = Builder::new();
        b.kernel_module("krnlmgr.sys", "", "1.0");
        b.kernel_module("other.sys", "Other Inc.", "1.0");
        let ti = b.system_process(700, "TrustedInstaller.exe", 500);
        let d = b.event(
            ti,
            7,
            "RegSetValue",
            "HKLM\\System\\CurrentControlSet\\Services\\AmdK8\\Start",
            0xC000_0022,
            1000,
            400,
        );
        b.stack(d, &["PROCMON23.SYS", "ntoskrnl.exe"]);
        let n1 = b.event(
            ti,
            7,
            "RegQueryValue",
            "HKLM\\Software\\Vendor\\Policy",
            0,
            1100,
            20,
        );
        b.stack(
            n1,
            &[
                "PROCMON23.SYS",
                "ntoskrnl.exe",
                "krnlmgr.sys",
                "ntoskrnl.exe",
            ],
        );
        // Same thread, after the window: not nested.
        let late = b.event(ti, 7, "RegQueryValue", "HKLM\\Software\\X", 0, 2000, 20);
        b.stack(late, &["ntoskrnl.exe", "other.sys"]);
        // Other thread inside the window: not nested.
        let other = b.event(ti, 8, "RegQueryValue", "HKLM\\Software\\Y", 0, 1200, 20);
        b.stack(other, &["ntoskrnl.exe", "other.sys"]);
        // A driver that issued the denied request itself is on the outer part of every nested
        // stack: not evidence that it processed the request.
        b.kernel_module("issuer.sys", "Issuer Inc.", "1.0");
        let d2 = b.event(
            ti,
            10,
            "RegSetValue",
            "HKLM\\Software\\Z",
            0xC000_0022,
            3000,
            400,
        );
        b.stack(d2, &["ntoskrnl.exe", "issuer.sys"]);
        let n2 = b.event(
            ti,
            10,
            "RegQueryValue",
            "HKLM\\Software\\Vendor\\Policy",
            0,
            3100,
            20,
        );
        b.stack(
            n2,
            &["ntoskrnl.exe", "krnlmgr.sys", "ntoskrnl.exe", "issuer.sys"],
        );
        for i in 0..6 {
            let e = b.event(ti, 9, "ReadFile", "C:\\x", 0, 5000 + i, 1);
            b.stack(e, &["ntoskrnl.exe"]);
        }
        let ev = run(&b, find);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].driver.as_deref(), Some("krnlmgr.sys"));
        assert_eq!(ev[0].key, "nested_io");
        assert_eq!(ev[0].denials, [d, d2]);
        assert_eq!(ev[0].events, [d, d2, n1, n2]);
        assert!(ev[0]
            .detail
            .contains("RegQueryValue HKLM\\Software\\Vendor\\Policy"));
    }

    #[test]
    fn a_driver_on_most_stacks_is_weak_evidence() {
        let mut b = Builder::new();
        b.kernel_module("everywhere.sys", "Hooks Inc.", "1.0");
        let p = b.system_process(700, "TrustedInstaller.exe", 500);
        let d = b.event(
            p,
            7,
            "RegSetValue",
            "HKLM\\Software\\X",
            0xC000_0022,
            1000,
            400,
        );
        let n = b.event(p, 7, "RegQueryValue", "HKLM\\Software\\Y", 0, 1100, 20);
        b.stack(n, &["ntoskrnl.exe", "everywhere.sys"]);
        for i in 0..120 {
            let e = b.event(p, 8, "ReadFile", "C:\\x", 0, 5000 + i, 1);
            let m = if i % 4 == 0 {
                "ntoskrnl.exe"
            } else {
                "everywhere.sys"
            };
            b.stack(e, &["ntoskrnl.exe", m]);
        }
        let ev = run(&b, find);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].key, "nested_io_ubiquitous");
        assert_eq!(ev[0].denials, [d]);
    }
}
