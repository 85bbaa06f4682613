//! `flt_chain_stop` (strong): the pre-operation chain of the denied request ended at driver X's
//! callback — the lower-altitude filters that every other request of the same kind on the same
//! volume passes through never saw it, so X completed the request itself.
//!
//! The chain of a request is its pre-operation callbacks in time order (`callbacks` rows joined
//! to the request's `events` row). The reference chain is the longest one other requests of the
//! same major function on the same volume show in the same trace (filters attach per volume and
//! register per operation). Three outcomes for a denied request:
//!
//! - its chain is a strict prefix of the reference: `flt_chain_stop` for the last driver it
//!   reached, `flt_chain_unreached` (against) for each driver below that never saw it;
//! - its chain is the whole reference and the trace records failure events (FLT_IO_FAILURE on)
//!   yet none names a filter for it: every filter passed it down and the status came back from
//!   the file system (or a driver below the filter manager) — `flt_chain_passed` (against) for
//!   each filter, and one `flt_chain_complete` item about no driver, which lets the verdict call
//!   an ACL-plausible denial ordinary even when it touches servicing;
//! - otherwise (no reference, a different order, no failure tracing): nothing.
//!
//! The same operation recorded by another input (a PML beside the ETL) is aligned and listed with
//! it ([`super::flt_align`]). Every item states that the minifilter payload layouts are inferred.

use super::flt_align::{self, Callback};
use super::{Context, Evidence};
use std::collections::HashMap;

/// One request's pre-operation chain.
struct Request<'a> {
    source: &'a str,
    event_id: u64,
    major_function: &'a str,
    volume: String,
    chain: Vec<&'a Callback>,
    /// Every callback of the request (both phases).
    all: Vec<&'a Callback>,
}

impl Request<'_> {
    fn drivers(&self) -> Vec<String> {
        self.chain.iter().map(|c| c.who()).collect()
    }
}

/// `\device\harddiskvolume2` or `c:` of a path, lower-case; empty when neither.
fn volume(path: &str) -> String {
    let lower = path.to_lowercase();
    if let Some(rest) = lower.strip_prefix("\\device\\") {
        let dev = rest.split('\\').next().unwrap_or("");
        return format!("\\device\\{dev}");
    }
    let b = lower.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return lower[..2].to_string();
    }
    String::new()
}

fn requests(cbs: &[Callback]) -> Vec<Request<'_>> {
    let mut by: HashMap<(&str, u64), Request<'_>> = HashMap::new();
    for c in cbs {
        let Some(id) = c.event_id else { continue };
        let r = by
            .entry((c.source.as_str(), id))
            .or_insert_with(|| Request {
                source: &c.source,
                event_id: id,
                major_function: &c.major_function,
                volume: volume(&c.path),
                chain: Vec::new(),
                all: Vec::new(),
            });
        if c.phase == "pre" {
            r.chain.push(c);
        }
        r.all.push(c);
    }
    let mut v: Vec<Request<'_>> = by.into_values().collect();
    v.sort_by_key(|r| (r.source, r.event_id));
    v
}

/// The reference chain for `r`: the longest chain of the other requests of the same trace,
/// major function and volume (ties: the most frequent), with how many requests show it and one
/// of them.
fn reference<'a>(r: &Request<'_>, all: &'a [Request<'a>]) -> Option<(Vec<String>, usize, u64)> {
    let mut counts: HashMap<Vec<String>, (usize, u64)> = HashMap::new();
    for o in all {
        if o.event_id == r.event_id
            || o.source != r.source
            || o.major_function != r.major_function
            || o.volume != r.volume
            || o.chain.is_empty()
        {
            continue;
        }
        let e = counts.entry(o.drivers()).or_insert((0, o.event_id));
        e.0 += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| {
            (a.0.len(), a.1 .0)
                .cmp(&(b.0.len(), b.1 .0))
                .then(b.1 .1.cmp(&a.1 .1))
        })
        .map(|(chain, (n, example))| (chain, n, example))
}

fn chain_text(c: &[&Callback]) -> String {
    c.iter()
        .map(|c| match c.duration_ns {
            Some(d) => format!("{} ({:.1} µs)", c.who(), d as f64 / 1000.0),
            None => c.who(),
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

/// Find `flt_chain_stop` evidence (and its `against` companions).
pub fn find(ctx: &Context) -> anyhow::Result<Vec<Evidence>> {
    let cbs = flt_align::callbacks(ctx.tables)?;
    if cbs.is_empty() {
        return Ok(Vec::new());
    }
    let reqs = requests(&cbs);
    let mut out = Vec::new();
    for d in ctx.denials {
        let Some(r) = reqs
            .iter()
            .find(|r| r.source == d.source && r.event_id == d.event_id)
        else {
            continue;
        };
        if r.chain.is_empty() {
            continue;
        }
        let Some((reference, n, example)) = reference(r, &reqs) else {
            continue;
        };
        let chain = r.drivers();
        let others = flt_align::aligned(d, ctx.denials);
        let mut ids = vec![d.event_id];
        ids.extend(others.iter().map(|o| o.event_id));
        let layouts: Vec<&str> = r.all.iter().map(|c| c.layout.as_str()).collect();
        let note = flt_align::layout_note(&layouts);
        let what = format!(
            "{} {} by {} (pid {}, tid {}) at {} UTC",
            d.operation,
            d.object,
            d.process,
            d.pid,
            d.tid,
            flt_align::clock_text(d.time_ns)
        );
        let aligned = flt_align::aligned_text(d, &others);
        if reference.len() > chain.len() && reference.starts_with(&chain) {
            let stop = r.chain[r.chain.len() - 1];
            let below = &reference[chain.len()..];
            if stop.driver.is_empty() {
                continue;
            }
            out.push(Evidence::new(
                "flt_chain_stop",
                Some(&stop.driver),
                format!(
                    "In the minifilter trace {}, the pre-operation callbacks of {what} ran {} and stopped there: {} — called for every other {} request on this volume ({n}, e.g. event #{example}) — never saw it, and it completed {} (event #{}){aligned} ({note}).",
                    d.source,
                    chain_text(&r.chain),
                    below.join(", "),
                    r.major_function,
                    d.status_name,
                    d.event_id,
                ),
                ids.clone(),
                vec![example],
            ));
            for y in below {
                if y.starts_with("unresolved") {
                    continue;
                }
                out.push(Evidence::new(
                    "flt_chain_unreached",
                    Some(y),
                    format!(
                        "{y} never saw {what}: its pre-operation chain stopped above it at {} (trace {}; {} requests of the kind reach {y}){aligned} ({note}).",
                        stop.driver, d.source, n
                    ),
                    ids.clone(),
                    Vec::new(),
                ));
            }
            continue;
        }
        let failure_traced = ctx
            .tables
            .traces
            .iter()
            .any(|t| t.source == d.source && t.minifilter_failure);
        if chain == reference && failure_traced && !r.all.iter().any(|c| c.failure) {
            let post: Vec<&Callback> = r
                .all
                .iter()
                .copied()
                .filter(|c| c.phase == "post")
                .collect();
            out.push(Evidence::new(
                "flt_chain_complete",
                None,
                format!(
                    "In the minifilter trace {}, {what} passed every filter: pre-operation callbacks {} all ran (the whole chain {n} other {} request(s) show, e.g. event #{example}), the file system or a driver below the filter manager completed it {}{}, and no failure event names a filter although the trace records them{aligned} ({note}).",
                    d.source,
                    chain_text(&r.chain),
                    r.major_function,
                    d.status_name,
                    if post.is_empty() {
                        String::new()
                    } else {
                        format!(", which the post-operation callbacks saw come back ({})", chain_text(&post))
                    },
                ),
                ids.clone(),
                vec![example],
            ));
            for c in &r.chain {
                if c.driver.is_empty() {
                    continue;
                }
                out.push(Evidence::new(
                    "flt_chain_passed",
                    Some(&c.driver),
                    format!(
                        "{}'s pre-operation callback passed {what} on to the filters below it, and no failure event shows it refusing the request afterwards (trace {}, failure events recorded){aligned} ({note}).",
                        c.driver, d.source
                    ),
                    ids.clone(),
                    Vec::new(),
                ));
            }
        }
    }
    Ok(out)
}

/// Event ids of denials the minifilter trace shows refused below every filter
/// (`flt_chain_complete` items), for the verdict.
pub fn passed_every_filter(items: &[Evidence]) -> Vec<u64> {
    let mut v: Vec<u64> = items
        .iter()
        .filter(|e| e.key == "flt_chain_complete")
        .flat_map(|e| e.denials.iter().copied())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::volume;

    #[test]
    fn volumes() {
        assert_eq!(
            volume(r"\Device\HarddiskVolume2\Windows\x"),
            r"\device\harddiskvolume2"
        );
        assert_eq!(volume(r"C:\Windows"), "c:");
        assert_eq!(volume("pipe"), "");
    }
}
