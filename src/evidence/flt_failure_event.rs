//! `flt_failure_event` (decisive): a minifilter failure event (FltIoFailure, FileIo types
//! 100/101, `format-etl.md` §5.4 step 5) whose callback routine lies in driver X returned the
//! denial status for the denied request. The filter manager logs it when a callback itself fails
//! the operation, so it names the denier directly — given the inferred payload layout, which the
//! detail always states.
//!
//! The failure belongs to a denied operation of `events` when the `callbacks` row was joined to
//! that operation when the tables were built (its IRP / callback data, see
//! `tables/etl.rs`), or, failing that, when the operation has the same path, thread and status
//! and its time window holds the failure. A trace with minifilter failure events but no FileIo
//! operation events gives the failure an `events` row of its own, so the failure itself is the
//! denial. The same operation recorded by another input of the incident (a PML beside the ETL)
//! is aligned by path, process, status and time ([`super::flt_align`]) and listed with it.

use super::flt_align::{self, Callback};
use super::{Context, Denial, Evidence};
use crate::knowledge;

/// Offset of `routine` in `driver`'s image, from `modules` (pid 4 rows of `source`).
fn routine_offset(ctx: &Context, source: &str, driver: &str, routine: u64) -> Option<u64> {
    let m = &ctx.tables.modules;
    if m.height() == 0 {
        return None;
    }
    let src = super::cols::strs(m, "source").ok()?;
    let pid = super::cols::u32s(m, "pid").ok()?;
    let name = super::cols::strs(m, "name").ok()?;
    let base = super::cols::u64s(m, "base").ok()?;
    let size = super::cols::u64s(m, "size").ok()?;
    (0..m.height())
        .find(|&i| {
            src[i] == source
                && pid[i] == 4
                && name[i].eq_ignore_ascii_case(driver)
                && base[i] <= routine
                && routine - base[i] < size[i].max(1)
        })
        .map(|i| routine - base[i])
}

/// The denial a failure callback belongs to.
fn denial_of<'a>(cb: &Callback, denials: &'a [Denial]) -> Option<&'a Denial> {
    if let Some(id) = cb.event_id {
        return denials.iter().find(|d| d.event_id == id);
    }
    let status = cb.status?;
    let key = super::classify::object_name(&cb.path).key;
    denials.iter().find(|d| {
        d.source == cb.source
            && d.status == status
            && d.object_key == key
            && cb.time_ns >= d.time_ns
            && cb.time_ns <= d.time_ns.saturating_add(d.duration_ns.max(0)) + 1_000_000
    })
}

/// Find `flt_failure_event` evidence: one item per (driver, denied operation).
pub fn find(ctx: &Context) -> anyhow::Result<Vec<Evidence>> {
    let cbs = flt_align::callbacks(ctx.tables)?;
    let mut out: Vec<Evidence> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for cb in cbs.iter().filter(|c| c.failure) {
        let Some(status) = cb.status else { continue };
        if cb.driver.is_empty() || !super::denials::is_denial_status(status) {
            continue;
        }
        let Some(d) = denial_of(cb, ctx.denials) else {
            continue;
        };
        if d.status != status || !seen.insert((cb.driver.to_lowercase(), d.event_id)) {
            continue;
        }
        let others = flt_align::aligned(d, ctx.denials);
        let mut ids = vec![d.event_id];
        ids.extend(others.iter().map(|o| o.event_id));
        // What ran before it in the same request (its pre-operation chain).
        let before: Vec<String> = cbs
            .iter()
            .filter(|c| {
                c.source == cb.source
                    && c.phase == "pre"
                    && c.event_id.is_some()
                    && c.event_id == cb.event_id
                    && c.time_ns < cb.time_ns
                    && c.driver != cb.driver
            })
            .map(Callback::who)
            .collect();
        let layouts: Vec<&str> = cbs
            .iter()
            .filter(|c| {
                c.source == cb.source
                    && c.event_id.is_some()
                    && c.event_id == cb.event_id
                    && c.driver == cb.driver
            })
            .map(|c| c.layout.as_str())
            .collect();
        let offset = routine_offset(ctx, &cb.source, &cb.driver, cb.routine)
            .map(|o| format!(" = {}+0x{o:X}", cb.driver))
            .unwrap_or_default();
        let status_name = knowledge::status_symbol(status);
        out.push(Evidence::new(
            "flt_failure_event",
            Some(&cb.driver),
            format!(
                "The minifilter trace {} holds a failure event ({}) for {} {} by {} (pid {}, tid {}) at {} UTC: the {}-operation callback at 0x{:X}{} — inside {} — returned {} (0x{:08X}) for {}, and the request completed {} (event #{}){}{}{} ({}).",
                cb.source,
                if cb.phase == "pre" { "PreOpFailure" } else { "PostOpFailure" },
                d.operation,
                d.object,
                d.process,
                d.pid,
                d.tid,
                flt_align::clock_text(cb.time_ns),
                cb.phase,
                cb.routine,
                offset,
                cb.driver,
                status_name,
                status,
                cb.major_function,
                d.status_name,
                d.event_id,
                if before.is_empty() {
                    String::new()
                } else {
                    format!("; before it the request passed {}", before.join(", "))
                },
                if cb.phase == "pre" {
                    "; no filter below it was called"
                } else {
                    ""
                },
                flt_align::aligned_text(d, &others),
                flt_align::layout_note(&layouts)
            ),
            ids,
            Vec::new(),
        ));
    }
    Ok(out)
}
