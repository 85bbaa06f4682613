//! The verdict: combine the evidence per driver, conclude, and say what would decide it.
//!
//! Each candidate driver's score is the sum of its listed evidence weights (log-odds), the
//! `prior` row included, and its confidence the logistic of that sum — so every confidence is
//! the sum of listed items. When every denial a driver's evidence concerns is ACL-plausible, the
//! `acl_plausible` weight is charged once (listed as an item too); when none is, the weak
//! `acl_implausible` weight is.
//!
//! Conclusions:
//! - `filter`: the top suspect has at least one medium-or-stronger positive item, a confidence of
//!   at least [`NAME_CONFIDENCE`], and leads the next suspect by at least [`NAME_MARGIN`]
//!   log-odds. A driver is never named from weak evidence alone.
//! - `no_filter`: every denial is ACL-plausible, none is servicing-relevant (or the minifilter
//!   trace shows every filter passed it and the file system itself refused it:
//!   `flt_chain_complete`), and no driver's confidence reaches [`EVIDENCE_CONFIDENCE`].
//! - `undetermined` otherwise (no denial in the capture, only weak evidence, a tie), with the
//!   capture advice that would decide it.

use crate::evidence::{self, data, Candidate, Context, Denial, DriverSet, Evidence, Strength};
use crate::knowledge::StatusClass;
use crate::tables::{InputInfo, Tables};
use serde::Serialize;
use std::collections::BTreeMap;

/// `schema` of `verdict.json`.
pub const SCHEMA: &str = "fltblame.verdict/1";
/// Confidence a suspect needs to be named (with medium-or-stronger evidence).
pub const NAME_CONFIDENCE: f64 = 0.75;
/// Log-odds lead the named suspect needs over the next one.
pub const NAME_MARGIN: f64 = 1.0;
/// Confidence from which a driver counts as filter evidence against `no_filter`.
pub const EVIDENCE_CONFIDENCE: f64 = 0.5;
/// Suspects listed at most.
const MAX_SUSPECTS: usize = 10;

/// What the evidence concludes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// A filter driver denied, and it is named.
    Filter,
    /// The denials are ordinary ACL refusals.
    NoFilter,
    /// The capture cannot decide.
    Undetermined,
}

impl Conclusion {
    /// `filter`, `no_filter`, `undetermined`.
    pub fn as_str(self) -> &'static str {
        match self {
            Conclusion::Filter => "filter",
            Conclusion::NoFilter => "no_filter",
            Conclusion::Undetermined => "undetermined",
        }
    }
}

/// One evidence item as `verdict.json` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct EvidenceItem {
    /// Evidence kind (`prior`, `nested_io`, `altitude_bracket` ...).
    pub kind: String,
    /// Weight row used (`weights.csv` key).
    pub key: String,
    /// Strength class.
    pub strength: Strength,
    /// Log-odds added.
    pub weight: f64,
    /// What was seen.
    pub detail: String,
    /// Event ids that show it (at most 100: the denials first, then supporting events).
    pub events: Vec<u64>,
}

/// Event ids listed per evidence item at most (the first ones, denials first).
const MAX_ITEM_EVENTS: usize = 100;

impl From<&Evidence> for EvidenceItem {
    fn from(e: &Evidence) -> Self {
        EvidenceItem {
            kind: e.kind.clone(),
            key: e.key.clone(),
            strength: e.strength,
            weight: e.weight,
            detail: e.detail.clone(),
            events: e.events.iter().take(MAX_ITEM_EVENTS).copied().collect(),
        }
    }
}

/// A driver with evidence.
#[derive(Clone, Debug, Serialize)]
pub struct Suspect {
    /// Driver file name as the capture spells it.
    pub driver: String,
    /// Vendor (company of the version resource, else of Microsoft's altitude list).
    pub vendor: String,
    /// File version.
    pub version: String,
    /// Image path.
    pub path: String,
    /// Allocated altitude(s), ` / `-joined; `None`: not in Microsoft's list.
    pub altitude: Option<String>,
    /// Load order group(s); `None`: not in Microsoft's list.
    pub load_order_group: Option<String>,
    /// Role of the group (`deny`, `no_deny`, `neutral`, `unknown`).
    pub role: data::Role,
    /// Sum of the evidence weights (log-odds).
    pub score: f64,
    /// Logistic of `score`, 0..1.
    pub confidence: f64,
    /// This is the driver the conclusion names.
    pub named: bool,
    /// Denials (event ids) its evidence concerns.
    pub denials: Vec<u64>,
    /// The items whose weights sum to `score`.
    pub evidence: Vec<EvidenceItem>,
}

/// A denial as `verdict.json` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct DenialRow {
    /// `events.event_id`.
    pub event_id: u64,
    /// Input file name.
    pub source: String,
    /// Start, ISO 8601 UTC (7 fractional digits).
    pub time_utc: String,
    /// Duration in microseconds.
    pub duration_us: f64,
    /// Process name.
    pub process: String,
    /// Process image path (empty when unknown).
    pub image: String,
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// `DOMAIN\user`.
    pub user: String,
    /// Integrity level.
    pub integrity: String,
    /// Procmon's operation name.
    pub operation: String,
    /// Path as Procmon printed it.
    pub path: String,
    /// Procmon's Detail.
    pub detail: String,
    /// NTSTATUS as `0xC0000022`.
    pub status: String,
    /// Procmon's Result text.
    pub status_name: String,
    /// `denial` or `filter_only`.
    pub status_class: StatusClass,
    /// Servicing actor or object.
    pub servicing_relevant: bool,
    /// Why servicing-relevant.
    pub servicing_reason: String,
    /// An ordinary ACL plausibly produced it.
    pub acl_plausible: bool,
    /// Why (or why not).
    pub acl_reason: String,
    /// Actor class.
    pub actor: evidence::classify::ActorClass,
    /// Target class.
    pub target: evidence::classify::TargetClass,
    /// The operation asks to change its target.
    pub write: bool,
    /// Normalised object name.
    pub object: String,
    /// `stack_id` (null without stack).
    pub stack_id: Option<u64>,
    /// Drivers whose evidence concerns this denial.
    pub suspects: Vec<String>,
}

impl DenialRow {
    fn new(d: &Denial, suspects: Vec<String>) -> Self {
        DenialRow {
            event_id: d.event_id,
            source: d.source.clone(),
            time_utc: d.time_utc.clone(),
            duration_us: d.duration_ns as f64 / 1000.0,
            process: d.process.clone(),
            image: d.image.clone(),
            pid: d.pid,
            tid: d.tid,
            user: d.user.clone(),
            integrity: d.integrity.clone(),
            operation: d.operation.clone(),
            path: d.path.clone(),
            detail: d.detail.clone(),
            status: d.status_hex(),
            status_name: d.status_name.clone(),
            status_class: d.status_class,
            servicing_relevant: d.servicing_relevant,
            servicing_reason: d.servicing_reason.clone(),
            acl_plausible: d.acl_plausible,
            acl_reason: d.acl_reason.clone(),
            actor: d.actor,
            target: d.target,
            write: d.write,
            object: d.object.clone(),
            stack_id: d.stack_id,
            suspects,
        }
    }
}

/// Counts of what was read and found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    /// Events read.
    pub events: usize,
    /// Events with a stack.
    pub stacked_events: usize,
    /// Kernel modules (System process, distinct names).
    pub kernel_modules: usize,
    /// Candidate drivers.
    pub candidates: usize,
    /// Denials.
    pub denials: usize,
    /// Denials by status class (`denial`, `filter_only`).
    pub denials_by_class: BTreeMap<String, usize>,
    /// Denials by Procmon's Result text.
    pub denials_by_status: BTreeMap<String, usize>,
    /// Denials by event class (`Registry`, `File System` ...).
    pub denials_by_event_class: BTreeMap<String, usize>,
    /// Servicing-relevant denials.
    pub servicing_relevant: usize,
    /// ACL-plausible denials.
    pub acl_plausible: usize,
    /// Evidence items found (all kinds, all drivers).
    pub evidence_items: usize,
}

/// The whole verdict (`verdict.json`).
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// fltblame version that wrote it.
    pub fltblame_version: &'static str,
    /// The inputs read.
    pub inputs: Vec<InputInfo>,
    /// `filter`, `no_filter` or `undetermined`.
    pub conclusion: Conclusion,
    /// The named driver (conclusion `filter`).
    pub driver: Option<String>,
    /// Why this conclusion, in one or two sentences.
    pub reason: String,
    /// Drivers with evidence, most likely first.
    pub suspects: Vec<Suspect>,
    /// Every denial found, in event order.
    pub denials: Vec<DenialRow>,
    /// Candidate and excluded drivers, Procmon's altitude.
    pub drivers: DriverSet,
    /// What capture or check would decide (or confirm) it.
    pub advice: Vec<String>,
    /// For a named filter: what its vendor must allow, from the servicing denials it explains.
    pub vendor_todo: Vec<String>,
    /// Counts.
    pub counts: Counts,
    /// The weight table used (`weights.csv`).
    pub weights: &'static [data::Weight],
    /// Thresholds used: name confidence, name margin, evidence confidence.
    pub thresholds: BTreeMap<&'static str, f64>,
    /// Log files read (servicing logs, event logs, fltmc output).
    pub log_files: Vec<crate::tables::logs::LogFileInfo>,
    /// The UTC offset applied to local log times, and where it came from.
    pub log_utc_offset: Option<crate::tables::logs::UtcOffset>,
    /// Every failure the logs report, classified, in time order.
    pub log_failures: Vec<crate::tables::logs::LogFailure>,
    /// Log failures on the same object as a trace denial, within the tolerance
    /// (`log_corroboration` evidence: corroborates the denial, not a driver).
    pub log_corroboration: Vec<evidence::log_corroboration::Corroboration>,
    /// Why a capture cannot contain the failure the logs report, and what to capture instead.
    pub diagnostics: Vec<evidence::diagnostics::Diagnostic>,
    /// Inputs skipped while expanding folders and archives, with reasons.
    pub intake_notes: Vec<String>,
    /// What each ETL trace can show (minifilter tracing, failure events, the payload layout
    /// variants matched: inferred, unconfirmed by a real trace).
    pub traces: Vec<crate::tables::etl::TraceInfo>,
    /// `--redact`: user, computer and domain names, account SIDs and user-profile folders were
    /// replaced by tokens (`USER-1`, `HOST-1`, `DOMAIN-1`, `SID-1`) in every output. Written
    /// only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
    /// With `redacted`: how many distinct names of each kind were replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redaction: Option<crate::redact::Summary>,
}

impl Verdict {
    /// The named suspect, if any.
    pub fn named(&self) -> Option<&Suspect> {
        self.suspects.iter().find(|s| s.named)
    }
}

/// Logistic function: log-odds to probability.
pub fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn score_candidate(c: &Candidate, all: &[Evidence], denials: &[Denial]) -> Suspect {
    let mut items: Vec<Evidence> = vec![Evidence::new(
        "prior",
        Some(&c.driver),
        "Base rate before evidence: a loaded kernel driver is assumed not to be the denier.".into(),
        Vec::new(),
        Vec::new(),
    )];
    items.extend(all.iter().filter(|e| e.is_about(&c.driver)).cloned());
    // The denials the evidence is about: those of medium-or-stronger items when there are
    // any (weak items such as a registry bracket concern every denial of a kind).
    let positive: Vec<&Evidence> = items.iter().filter(|e| e.weight > 0.0).collect();
    let naming: Vec<&Evidence> = positive
        .iter()
        .copied()
        .filter(|e| e.strength.can_name())
        .collect();
    let basis = if naming.is_empty() {
        &positive
    } else {
        &naming
    };
    let mut refs: Vec<u64> = basis
        .iter()
        .flat_map(|e| e.denials.iter().copied())
        .collect();
    refs.sort_unstable();
    refs.dedup();
    let concerned: Vec<&Denial> = denials
        .iter()
        .filter(|d| refs.binary_search(&d.event_id).is_ok())
        .collect();
    if let Some(d) = concerned.first() {
        let (key, verb) = if concerned.iter().all(|d| d.acl_plausible) {
            ("acl_plausible", "is")
        } else if concerned.iter().all(|d| !d.acl_plausible) {
            ("acl_implausible", "is not")
        } else {
            ("", "")
        };
        if !key.is_empty() {
            items.push(Evidence::new(
                key,
                Some(&c.driver),
                format!(
                    "Every denial this evidence concerns ({}) {verb} one ordinary ACLs produce, e.g. {} {} by {} ({}, {}): {}.",
                    concerned.len(),
                    d.operation,
                    d.object,
                    d.process,
                    d.user,
                    d.integrity,
                    d.acl_reason
                ),
                refs.clone(),
                Vec::new(),
            ));
        }
    }
    let score: f64 = items.iter().map(|e| e.weight).sum();
    Suspect {
        driver: c.driver.clone(),
        vendor: c.vendor(),
        version: c.version.clone(),
        path: c.path.clone(),
        altitude: (!c.altitudes.is_empty()).then(|| c.altitudes.join(" / ")),
        load_order_group: c.load_order_group.clone(),
        role: c.role,
        score,
        confidence: logistic(score),
        named: false,
        denials: refs,
        evidence: items.iter().map(EvidenceItem::from).collect(),
    }
}

/// Medium-or-stronger item with a positive weight.
fn has_naming_item(s: &Suspect) -> bool {
    s.evidence
        .iter()
        .any(|e| e.weight > 0.0 && e.strength.can_name())
}

/// Listed as a suspect: evidence about some denial that may name it, or a deny-capable role
/// with weak evidence about denials that ordinary ACLs do not explain — unless a minifilter
/// trace shows it let the request through or never saw it (`flt_*` items against it).
fn is_suspect(s: &Suspect) -> bool {
    let acl_explained = s.evidence.iter().any(|e| e.key == "acl_plausible");
    let cleared_by_trace = s
        .evidence
        .iter()
        .any(|e| e.strength == Strength::Against && e.kind.starts_with("flt_"));
    !s.denials.is_empty()
        && (has_naming_item(s)
            || (s.role == data::Role::Deny && !acl_explained && !cleared_by_trace))
}

/// Analyze one incident's tables.
pub fn analyze(tables: &Tables) -> anyhow::Result<Verdict> {
    let t0 = std::time::Instant::now();
    let denials = evidence::denials::find(tables)?;
    let drivers = evidence::candidates::find(tables)?;
    if std::env::var_os("FLTBLAME_TIMINGS").is_some_and(|v| v == "1") {
        eprintln!(
            "fltblame: timing: denials and candidates: {:.2} s",
            t0.elapsed().as_secs_f64()
        );
    }
    let ctx = Context {
        tables,
        denials: &denials,
        drivers: &drivers,
    };
    let items = evidence::collect(&ctx)?;

    let mut scored: Vec<Suspect> = drivers
        .candidates
        .iter()
        .map(|c| score_candidate(c, &items, &denials))
        .collect();
    let max_conf = scored.iter().map(|s| s.confidence).fold(0.0, f64::max);
    scored.retain(is_suspect);
    scored.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.driver.cmp(&b.driver))
    });
    scored.truncate(MAX_SUSPECTS);

    let below_filters = evidence::flt_chain_stop::passed_every_filter(&items);
    let (mut conclusion, mut reason) = conclude(&denials, &mut scored, max_conf, &below_filters);
    let named = scored.iter().find(|s| s.named).cloned();
    let mut advice = advice(conclusion, &denials, &scored, &drivers);
    // Traces that cannot name a filter say so, with the capture that can.
    for t in tables.traces.iter().filter(|t| !t.can_name_filter) {
        advice.push(format!(
            "{}: this trace cannot name a filter: record with Minifilter I/O (`wpr -start GeneralProfile -start Minifilter -start FileIO -filemode`, reproduce, `wpr -stop trace.etl`). {}",
            t.source, t.verdict
        ));
    }
    let log_corroboration = evidence::log_corroboration::matches(&ctx);
    let diagnostics = evidence::diagnostics::find(tables)?;
    if denials.is_empty() {
        if let Some((c, r, a)) = logs_conclusion(tables) {
            conclusion = c;
            reason = r;
            advice = a;
        }
    }
    for d in &diagnostics {
        if !advice.contains(&d.advice) {
            advice.push(d.advice.clone());
        }
    }
    let vendor_todo = named
        .as_ref()
        .map(|s| vendor_todo(s, &denials))
        .unwrap_or_default();

    let mut counts = Counts {
        events: tables.events.height(),
        stacked_events: stacked(tables)?,
        kernel_modules: drivers.kernel_modules,
        candidates: drivers.candidates.len(),
        denials: denials.len(),
        servicing_relevant: denials.iter().filter(|d| d.servicing_relevant).count(),
        acl_plausible: denials.iter().filter(|d| d.acl_plausible).count(),
        evidence_items: items.len(),
        ..Default::default()
    };
    for d in &denials {
        let class = match d.status_class {
            StatusClass::FilterOnly => "filter_only",
            _ => "denial",
        };
        *counts.denials_by_class.entry(class.into()).or_default() += 1;
        *counts
            .denials_by_status
            .entry(d.status_name.clone())
            .or_default() += 1;
        *counts
            .denials_by_event_class
            .entry(d.class.clone())
            .or_default() += 1;
    }
    let rows = denials
        .iter()
        .map(|d| {
            let s = scored
                .iter()
                .filter(|s| s.denials.contains(&d.event_id))
                .map(|s| s.driver.clone())
                .collect();
            DenialRow::new(d, s)
        })
        .collect();
    Ok(Verdict {
        schema: SCHEMA,
        fltblame_version: env!("CARGO_PKG_VERSION"),
        inputs: tables.inputs.clone(),
        conclusion,
        driver: named.map(|s| s.driver),
        reason,
        suspects: scored,
        denials: rows,
        drivers,
        advice,
        vendor_todo,
        counts,
        weights: data::weights(),
        thresholds: BTreeMap::from([
            ("name_confidence", NAME_CONFIDENCE),
            ("name_margin_log_odds", NAME_MARGIN),
            ("evidence_confidence", EVIDENCE_CONFIDENCE),
        ]),
        log_files: tables.logs.files.clone(),
        log_utc_offset: tables.logs.offset.clone(),
        log_failures: tables.logs.failures.clone(),
        log_corroboration,
        diagnostics,
        intake_notes: tables.logs.notes.clone(),
        traces: tables.traces.clone(),
        redacted: false,
        redaction: None,
    })
}

/// The conclusion from the logs when the trace holds no denial (or there is no trace): a
/// failure of the access-denied kind leaves it `undetermined` with the capture that decides it;
/// failures only of other kinds (store corruption, disk, EFI, timeouts) are `no_filter` with
/// their known fixes. `None` when the logs report no failure.
fn logs_conclusion(tables: &Tables) -> Option<(Conclusion, String, Vec<String>)> {
    let failures = &tables.logs.failures;
    if failures.is_empty() {
        return None;
    }
    let trace = tables.events.height() > 0;
    let mut fixes: Vec<String> = Vec::new();
    // The denial to cite: one that names its object, else the first.
    let denial = failures
        .iter()
        .find(|f| f.filter_possible && f.object.is_some())
        .or_else(|| failures.iter().find(|f| f.filter_possible));
    for f in failures
        .iter()
        .filter(|f| f.filter_possible == denial.is_some())
    {
        if !f.fix.is_empty() && !fixes.contains(&f.fix) {
            fixes.push(f.fix.clone());
        }
    }
    let at = |f: &crate::tables::logs::LogFailure| {
        format!(
            "{} ({}{}) in {} line {}",
            f.signature,
            f.code.as_deref().unwrap_or("no code"),
            f.object
                .as_deref()
                .map(|o| format!(", on {o}"))
                .unwrap_or_default(),
            crate::tables::logs::file_name(&f.file),
            f.line
        )
    };
    match denial {
        Some(f) => Some((
            Conclusion::Undetermined,
            format!(
                "The logs report an access denial a filter driver can cause: {}. {} so no driver can be named yet; the capture below decides it.",
                at(f),
                if trace {
                    "The capture holds no denied operation,"
                } else {
                    "No trace was given,"
                }
            ),
            fixes,
        )),
        None => {
            let kinds: Vec<String> = failures
                .iter()
                .map(|f| f.signature.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            Some((
                Conclusion::NoFilter,
                format!(
                    "Not a filter problem: every failure the logs report is of a kind no filter driver causes ({}), e.g. {}. Apply the known fix.",
                    kinds.join(", "),
                    at(&failures[0])
                ),
                fixes,
            ))
        }
    }
}

fn stacked(tables: &Tables) -> anyhow::Result<usize> {
    if tables.events.height() == 0 {
        return Ok(0);
    }
    let c = tables.events.column("stack_id")?;
    Ok(c.len() - c.null_count())
}

/// `below_filters`: denials (event ids) the minifilter trace shows passing every filter and
/// refused by the file system itself (`flt_chain_complete`).
fn conclude(
    denials: &[Denial],
    suspects: &mut [Suspect],
    max_conf: f64,
    below_filters: &[u64],
) -> (Conclusion, String) {
    if denials.is_empty() {
        return (
            Conclusion::Undetermined,
            "The capture holds no denied operation (no ACCESS DENIED, PRIVILEGE NOT HELD or filter-only status), so it cannot say who denied the failing step: it may have started too late, stopped too early, or missed a step that did not repeat.".into(),
        );
    }
    if let Some(top) = suspects.first() {
        let lead = suspects.get(1).map(|s| top.score - s.score);
        let nameable = has_naming_item(top)
            && top.confidence >= NAME_CONFIDENCE
            && lead.is_none_or(|l| l >= NAME_MARGIN);
        if nameable {
            let top = &mut suspects[0];
            top.named = true;
            let parts: Vec<String> = top
                .evidence
                .iter()
                .filter(|e| e.weight != 0.0)
                .map(|e| format!("{} {:+.1}", e.kind, e.weight))
                .collect();
            return (
                Conclusion::Filter,
                format!(
                    "{} ({}) denied {} operation(s): confidence {:.2} = logistic({}) = logistic({:+.1}).",
                    top.driver,
                    if top.vendor.is_empty() { "vendor unknown" } else { &top.vendor },
                    top.denials.len(),
                    top.confidence,
                    parts.join(", "),
                    top.score
                ),
            );
        }
        if has_naming_item(top) && top.confidence >= NAME_CONFIDENCE {
            let second = &suspects[1];
            return (
                Conclusion::Undetermined,
                format!(
                    "{} and {} have evidence of nearly the same weight (scores {:+.1} and {:+.1}, a lead of less than {NAME_MARGIN} is needed to name one); the capture cannot tell them apart.",
                    top.driver, second.driver, top.score, second.score
                ),
            );
        }
    }
    let all_acl = denials.iter().all(|d| d.acl_plausible);
    let servicing = denials.iter().filter(|d| d.servicing_relevant).count();
    if all_acl && servicing == 0 && max_conf < EVIDENCE_CONFIDENCE {
        return (
            Conclusion::NoFilter,
            format!(
                "All {} denial(s) are ones ordinary ACLs produce (the actor's account or integrity level is refused that class of object), none touches servicing, and no driver has evidence of its own.",
                denials.len()
            ),
        );
    }
    // A servicing-relevant denial is still ordinary when the minifilter trace shows every filter
    // passed it and the file system itself refused it.
    let cleared = |d: &Denial| below_filters.binary_search(&d.event_id).is_ok();
    if all_acl
        && denials.iter().all(|d| !d.servicing_relevant || cleared(d))
        && max_conf < EVIDENCE_CONFIDENCE
    {
        let d = denials
            .iter()
            .find(|d| d.servicing_relevant)
            .unwrap_or(&denials[0]);
        return (
            Conclusion::NoFilter,
            format!(
                "All {} denial(s) are ones ordinary ACLs produce, and the minifilter trace shows the servicing-relevant one(s) passed every filter and were refused by the file system itself (no filter's callback failed them; {}): e.g. {} {} by {} ({}, {}) = {}. No driver has evidence of its own.",
                denials.len(),
                crate::tables::etl::LAYOUT_NOTE,
                d.operation,
                d.object,
                d.process,
                if d.user.is_empty() { "unknown user" } else { &d.user },
                if d.integrity.is_empty() { "integrity not recorded" } else { &d.integrity },
                d.status_name
            ),
        );
    }
    let unexplained: Vec<&Denial> = denials.iter().filter(|d| !d.acl_plausible).collect();
    let what = match unexplained.first() {
        Some(d) => format!(
            "{} {} by {} ({}, {}) is not a denial ordinary ACLs produce",
            d.operation, d.object, d.process, d.user, d.integrity
        ),
        None => format!(
            "{servicing} servicing-relevant denial(s) are ACL-plausible but matter to servicing"
        ),
    };
    let evidence = match suspects.first() {
        Some(s) if has_naming_item(s) => format!(
            "the best-supported driver, {}, reaches only confidence {:.2} (at least {NAME_CONFIDENCE} is needed)",
            s.driver, s.confidence
        ),
        Some(s) => format!(
            "only weak evidence points at a driver ({} at most, confidence {:.2}), and weak evidence names no driver",
            s.driver, s.confidence
        ),
        None => "the capture holds no evidence tying it to any driver".into(),
    };
    (Conclusion::Undetermined, format!("{what}, but {evidence}."))
}

const WPR_ADVICE: &str = "Capture a WPR trace with Minifilter I/O and Registry I/O while the step fails: `wpr -start GeneralProfile -start Minifilter -start Registry -filemode`, reproduce, `wpr -stop trace.etl` (for a failure during reboot: `wpr -addboot GeneralProfile -addboot Minifilter -addboot Registry -filemode`, reboot, `wpr -stopboot trace.etl`). Its minifilter events name the filter whose callback returned the status, and its registry events show callbacks that fltmc does not list.";
const BOOTLOG_ADVICE: &str = "Capture a Procmon boot log with stacks and symbols: Options > Enable Boot Logging, reboot and let the servicing step fail, then convert with `Procmon.exe /ConvertBootLog C:\\Windows\\procmon.pmb boot.pml` (copy the .pmb from WinPE if the machine does not come back); set Options > Configure Symbols so third-party frames resolve. Servicing at reboot (driver operations, pending file renames) is only visible this way.";

fn advice(
    conclusion: Conclusion,
    denials: &[Denial],
    suspects: &[Suspect],
    drivers: &DriverSet,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    let third_party: Vec<&Candidate> = drivers.candidates.iter().filter(|c| !c.microsoft).collect();
    let removal = |names: &[&str]| {
        format!(
            "Capture again with {} removed: boot WinPE, rename {} under \\Windows\\System32\\drivers (or set the service's Start to 4) so it does not load, repeat the failing step with Procmon running, and compare. If the denial is gone, that driver did it; if it stays, look elsewhere.",
            names.join(", "),
            if names.len() == 1 { "it" } else { "them" }
        )
    };
    match conclusion {
        Conclusion::Filter => {
            let s = suspects.iter().find(|s| s.named).expect("named suspect");
            let vendor = if s.vendor.is_empty() {
                "the vendor"
            } else {
                &s.vendor
            };
            if s.evidence
                .iter()
                .any(|e| e.kind == "flt_failure_event" || e.kind == "flt_chain_stop")
            {
                push(format!(
                    "For {vendor} ({}): the minifilter trace names the callback that refused the request (routine address, operation, status, time): send them that evidence item and the trace; they can check it against their driver's symbols and policy log.",
                    s.driver
                ));
            } else {
                push(format!(
                    "To confirm for {vendor} ({}): {}",
                    s.driver, WPR_ADVICE
                ));
            }
            push(removal(&[s.driver.as_str()]));
        }
        Conclusion::NoFilter => {
            let d = &denials[0];
            push(format!(
                "The denials are ordinary ACL refusals: if one matters, compare the object's ACL with the actor (e.g. `icacls` / `Get-Acl` for files, the key's Permissions in regedit for {}), or run the step with the right account or elevation. No filter capture is needed for them.",
                d.object
            ));
            push("If the failure you are chasing is not among these denials, the capture missed it: start Procmon before the failing step and keep it running until the error is reported.".into());
        }
        Conclusion::Undetermined => {
            if denials.is_empty() {
                push("Capture again so the failure is inside the capture: start Procmon (File System and Registry, stacks on) before the failing step and stop after the error is reported. If Windows Update had already downloaded or expanded the files, rename C:\\Windows\\SoftwareDistribution first so the step really runs again.".into());
                push(BOOTLOG_ADVICE.into());
                push(WPR_ADVICE.into());
                return out;
            }
            push(WPR_ADVICE.into());
            if denials.iter().any(|d| d.servicing_relevant) {
                push(BOOTLOG_ADVICE.into());
            }
            if denials
                .iter()
                .any(|d| !d.acl_plausible && d.stack_id.is_none())
            {
                push("Some denials have no stack: capture with stacks (Procmon records them unless the capture was saved without; give the .pml, not a CSV export).".into());
            }
            // Suspects first, then the other third-party drivers, five at most.
            let mut named: Vec<&str> = suspects.iter().map(|s| s.driver.as_str()).collect();
            for c in &third_party {
                if !named.iter().any(|n| n.eq_ignore_ascii_case(&c.driver)) {
                    named.push(c.driver.as_str());
                }
            }
            named.truncate(5);
            if !named.is_empty() {
                push(removal(&named));
            }
        }
    }
    out
}

/// What the named driver's vendor must allow: every denial its evidence concerns that ordinary
/// ACLs do not explain, then the other servicing-relevant denials of that kind, marked as not
/// tied to the driver by this capture's evidence.
fn vendor_todo(s: &Suspect, denials: &[Denial]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let tied = |d: &Denial| s.denials.contains(&d.event_id);
    let wanted = denials
        .iter()
        .filter(|d| !d.acl_plausible && tied(d))
        .chain(
            denials
                .iter()
                .filter(|d| !d.acl_plausible && d.servicing_relevant && !tied(d)),
        );
    for d in wanted {
        let actor = if d.image.is_empty() {
            &d.process
        } else {
            &d.image
        };
        // Keyed on the process name and the volume-relative object, so the same denial seen
        // by a PML (drive letters) and an ETL (device paths) is listed once.
        if !seen.insert((
            d.process.to_lowercase(),
            d.operation.clone(),
            d.object_key.clone(),
        )) {
            continue;
        }
        let note = if tied(d) {
            String::new()
        } else {
            format!("; not tied to {} by this capture's evidence", s.driver)
        };
        out.push(format!(
            "Allow {actor} ({}) to {} {} (denied {} {}, e.g. event {}{note}).",
            if d.user.is_empty() {
                "unknown user"
            } else {
                &d.user
            },
            d.operation,
            d.object,
            d.status_name,
            d.status_hex(),
            d.event_id
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::synthetic::Builder;

    const DENIED: u32 = 0xC000_0022;
    const AMDK8: &str = "HKLM\\System\\CurrentControlSet\\Services\\AmdK8\\Start";

    /// Case A in miniature: TrustedInstaller's RegSetValue denied while krnlmgr.sys issues
    /// nested registry I/O on the same thread; plus a benign Medium-IL denial.
    fn case_a(with_nested: bool) -> Builder {
        let mut b = Builder::new();
        b.kernel_module("krnlmgr.sys", "TMS", "2.1.0.3");
        b.kernel_module("amdxata.sys", "Advanced Micro Devices", "1.1.2.5");
        let ti = b.system_process(1432, "TrustedInstaller.exe", 496);
        let user = b.process(1720, "invagent.exe", "CONTOSO-PC\\alice", "Medium", 1600);
        let d = b.event(ti, 1508, "RegSetValue", AMDK8, DENIED, 1000, 4000);
        b.stack(d, &["PROCMON23.SYS", "ntkrnlpa.exe"]);
        if with_nested {
            for (i, p) in [
                "HKLM\\Software\\TMS\\Protect",
                "C:\\Program Files\\TMS\\policy.dat",
            ]
            .iter()
            .enumerate()
            {
                let op = if p.starts_with("HKLM") {
                    "RegQueryValue"
                } else {
                    "ReadFile"
                };
                let n = b.event(ti, 1508, op, p, 0, 1500 + i as i64 * 500, 50);
                b.stack(
                    n,
                    &[
                        "PROCMON23.SYS",
                        "ntkrnlpa.exe",
                        "krnlmgr.sys",
                        "ntkrnlpa.exe",
                    ],
                );
            }
        }
        let benign = b.event(
            user,
            1730,
            "RegCreateKey",
            "HKLM\\SOFTWARE\\Policies\\Contoso\\Inventory",
            DENIED,
            9000,
            30,
        );
        b.stack(benign, &["PROCMON23.SYS", "ntkrnlpa.exe"]);
        for i in 0..20 {
            let e = b.event(
                ti,
                1508,
                "RegQueryValue",
                "HKLM\\System\\Setup",
                0,
                20_000 + i,
                5,
            );
            b.stack(e, &["PROCMON23.SYS", "ntkrnlpa.exe"]);
        }
        b
    }

    #[test]
    fn names_the_driver_doing_nested_io() {
        let v = analyze(&case_a(true).build()).unwrap();
        assert_eq!(v.conclusion, Conclusion::Filter, "{}", v.reason);
        assert_eq!(v.driver.as_deref(), Some("krnlmgr.sys"));
        let s = v.named().unwrap();
        assert!(s.confidence >= NAME_CONFIDENCE);
        let sum: f64 = s.evidence.iter().map(|e| e.weight).sum();
        assert!((sum - s.score).abs() < 1e-9 && (logistic(sum) - s.confidence).abs() < 1e-12);
        let kinds: Vec<&str> = s.evidence.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "prior",
                "nested_io",
                "altitude_bracket",
                "vendor_role",
                "acl_implausible"
            ]
        );
        assert_eq!(s.evidence[4].key, "acl_implausible");
        assert_eq!(s.denials, [0]);
        assert_eq!(v.suspects.len(), 1, "amdxata.sys has only weak evidence");
        assert_eq!(v.counts.denials, 2);
        assert_eq!(v.counts.acl_plausible, 1);
        assert_eq!(v.counts.servicing_relevant, 1);
        assert!(v.denials[1].acl_plausible && !v.denials[0].acl_plausible);
        assert_eq!(v.vendor_todo.len(), 1);
        assert!(
            v.vendor_todo[0].contains("TrustedInstaller.exe") && v.vendor_todo[0].contains(AMDK8)
        );
    }

    #[test]
    fn without_evidence_it_is_undetermined() {
        let v = analyze(&case_a(false).build()).unwrap();
        assert_eq!(v.conclusion, Conclusion::Undetermined);
        assert!(v.driver.is_none() && v.suspects.is_empty());
        assert!(v
            .advice
            .iter()
            .any(|a| a.contains("Minifilter") && a.contains("Registry")));
        assert!(v.advice.iter().any(|a| a.contains("/ConvertBootLog")));
        assert!(v
            .advice
            .iter()
            .any(|a| a.contains("WinPE") && a.contains("krnlmgr.sys")));
    }

    #[test]
    fn acl_only_is_no_filter() {
        let mut b = Builder::new();
        b.kernel_module("vmhgfs.sys", "VMware, Inc.", "11.0");
        let u = b.process(192, "SearchProtocolHost.exe", "PC\\test", "Medium", 4);
        let ns = b.process(
            888,
            "svchost.exe",
            "NT AUTHORITY\\NETWORK SERVICE",
            "System",
            4,
        );
        for i in 0..3 {
            b.event(
                u,
                5,
                "RegOpenKey",
                "HKLM\\Software\\Microsoft\\Windows Search",
                DENIED,
                100 + i,
                5,
            );
            b.event(
                ns,
                6,
                "RegCreateKey",
                "HKLM\\SOFTWARE\\Microsoft\\SecurityManager\\CapAuthz",
                DENIED,
                200 + i,
                5,
            );
        }
        let v = analyze(&b.build()).unwrap();
        assert_eq!(v.conclusion, Conclusion::NoFilter, "{}", v.reason);
        assert_eq!(v.counts.acl_plausible, 6);
        assert!(v.suspects.is_empty());
    }

    #[test]
    fn acl_plausible_denial_outweighs_nested_io() {
        // A Medium-IL user denied on HKLM while an AV filter scans on the same thread.
        let mut b = Builder::new();
        b.kernel_module("tmpreflt.sys", "Trend Micro Inc.", "7.0");
        let u = b.process(300, "reg.exe", "PC\\bob", "Medium", 4);
        let d = b.event(
            u,
            9,
            "RegSetValue",
            "HKLM\\Software\\Vendor\\X",
            DENIED,
            100,
            100,
        );
        let n = b.event(
            u,
            9,
            "ReadFile",
            "C:\\Windows\\System32\\reg.exe",
            0,
            120,
            5,
        );
        b.stack(n, &["ntkrnlpa.exe", "tmpreflt.sys"]);
        let v = analyze(&b.build()).unwrap();
        assert_ne!(v.conclusion, Conclusion::Filter);
        let s = &v.suspects[0];
        assert!(s.evidence.iter().any(|e| e.kind == "acl_plausible"));
        assert!(s.confidence < EVIDENCE_CONFIDENCE, "{}", s.confidence);
        assert_eq!(v.conclusion, Conclusion::NoFilter, "{}", v.reason);
        assert_eq!(s.denials, [d]);
    }

    #[test]
    fn two_drivers_with_equal_evidence_tie() {
        let mut b = case_a(false);
        b.kernel_module("other.sys", "Other Inc.", "1.0");
        let ti = 1; // TrustedInstaller.exe's builder index
        let n1 = b.event(ti, 1508, "RegQueryValue", "HKLM\\Software\\A", 0, 1500, 5);
        b.stack(n1, &["ntkrnlpa.exe", "krnlmgr.sys"]);
        let n2 = b.event(ti, 1508, "RegQueryValue", "HKLM\\Software\\B", 0, 1600, 5);
        b.stack(n2, &["ntkrnlpa.exe", "other.sys"]);
        let v = analyze(&b.build()).unwrap();
        assert_eq!(v.conclusion, Conclusion::Undetermined, "{}", v.reason);
        assert_eq!(v.suspects.len(), 2);
        assert!(v.reason.contains("krnlmgr.sys") && v.reason.contains("other.sys"));
    }

    #[test]
    fn virus_status_names_the_antivirus_filter() {
        let mut b = Builder::new();
        b.kernel_module("tmpreflt.sys", "Trend Micro Inc.", "7.0");
        b.kernel_module("vmhgfs.sys", "VMware, Inc.", "11.0");
        let p = b.system_process(2000, "TiWorker.exe", 600);
        b.event(
            p,
            3,
            "CreateFile",
            "C:\\Windows\\WinSxS\\Temp\\x.dll",
            0xC000_0906,
            100,
            10,
        );
        let v = analyze(&b.build()).unwrap();
        assert_eq!(v.conclusion, Conclusion::Filter, "{}", v.reason);
        assert_eq!(v.driver.as_deref(), Some("tmpreflt.sys"));
    }

    #[test]
    fn customer_status_shared_by_two_third_party_drivers_names_none() {
        let mut b = Builder::new();
        b.kernel_module("a.sys", "A Inc.", "1.0");
        b.kernel_module("b.sys", "B Inc.", "1.0");
        let p = b.system_process(2000, "TiWorker.exe", 600);
        b.event(
            p,
            3,
            "CreateFile",
            "C:\\Windows\\WinSxS\\x.dll",
            0xE000_0042,
            100,
            10,
        );
        let v = analyze(&b.build()).unwrap();
        assert_eq!(v.conclusion, Conclusion::Undetermined, "{}", v.reason);
        assert_eq!(v.counts.denials_by_class.get("filter_only"), Some(&1));
    }

    #[test]
    fn self_protection_of_its_own_service_key_names_it() {
        let mut b = Builder::new();
        b.kernel_module("guard.sys", "Acme", "1.0");
        b.kernel_module("other.sys", "Other Inc.", "1.0");
        let p = b.system_process(1432, "TrustedInstaller.exe", 496);
        b.event(
            p,
            3,
            "RegSetValue",
            "HKLM\\System\\CurrentControlSet\\Services\\guard\\Start",
            DENIED,
            100,
            10,
        );
        let v = analyze(&b.build()).unwrap();
        assert_eq!(v.conclusion, Conclusion::Filter, "{}", v.reason);
        assert_eq!(v.driver.as_deref(), Some("guard.sys"));
    }

    #[test]
    fn no_denial_is_undetermined() {
        let mut b = Builder::new();
        let p = b.process(100, "a.exe", "PC\\bob", "Medium", 4);
        b.event(p, 1, "CreateFile", "C:\\x", 0xC000_0034, 1, 1);
        let v = analyze(&b.build()).unwrap();
        assert_eq!(v.conclusion, Conclusion::Undetermined);
        assert_eq!(v.counts.denials, 0);
        assert!(v.advice[0].contains("SoftwareDistribution"));
    }

    #[test]
    fn vendor_todo_lists_untied_servicing_denials_apart() {
        let mut b = case_a(true);
        let ti = 1; // TrustedInstaller.exe's builder index
        b.event(
            ti,
            1508,
            "RegSetValue",
            "HKLM\\System\\CurrentControlSet\\Services\\AmdPPM\\Start",
            DENIED,
            30_000,
            100,
        );
        let v = analyze(&b.build()).unwrap();
        assert_eq!(v.driver.as_deref(), Some("krnlmgr.sys"));
        assert_eq!(v.vendor_todo.len(), 2);
        assert!(v.vendor_todo[0].contains("AmdK8") && !v.vendor_todo[0].contains("not tied"));
        assert!(
            v.vendor_todo[1].contains("AmdPPM")
                && v.vendor_todo[1].contains("not tied to krnlmgr.sys")
        );
    }

    /// Case B in miniature: TiWorker's create in SoftwareDistribution denied below Procmon, an
    /// anti-virus minifilter and an unlisted driver loaded, no nested I/O: only weak evidence.
    fn case_b(nested_from: Option<&str>) -> Builder {
        let mut b = Builder::new();
        b.kernel_module("TmPreFlt.sys", "Trend Micro Inc.", "7.0");
        b.kernel_module("gscfmgr.sys", "TMS", "1.0");
        let p = b.system_process(3100, "TiWorker.exe", 600);
        let path = "C:\\Windows\\SoftwareDistribution\\Download\\126a\\inst\\amd64_dual_wpdmtp.inf\\r\\wpdmtp.dll";
        let d = b.event(p, 3104, "CreateFile", path, DENIED, 1000, 300);
        b.detail(
            d,
            "Desired Access: Generic Write, Read Attributes, Disposition: OverwriteIf",
        );
        b.stack(d, &["FLTMGR.SYS", "ntoskrnl.exe"]);
        if let Some(drv) = nested_from {
            let n = b.event(p, 3104, "QueryNameInformationFile", path, 0, 1100, 10);
            b.stack(
                n,
                &[
                    "FLTMGR.SYS",
                    "ntoskrnl.exe",
                    drv,
                    "FLTMGR.SYS",
                    "ntoskrnl.exe",
                ],
            );
        }
        b
    }

    #[test]
    fn file_denial_with_weak_evidence_only_is_undetermined() {
        let v = analyze(&case_b(None).build()).unwrap();
        assert_eq!(v.conclusion, Conclusion::Undetermined, "{}", v.reason);
        assert!(v.driver.is_none());
        // The anti-virus minifilter below Procmon is listed (weak), never named.
        assert_eq!(v.suspects.len(), 1);
        let s = &v.suspects[0];
        assert_eq!(s.driver, "TmPreFlt.sys");
        assert!(s.evidence.iter().all(|e| !e.strength.can_name()));
        assert!(s
            .evidence
            .iter()
            .any(|e| e.key == "altitude_bracket_below_procmon"));
        assert!(v.denials[0].servicing_relevant && !v.denials[0].acl_plausible);
        assert!(v.advice.iter().any(|a| a.contains("Minifilter")));
        assert!(v
            .advice
            .iter()
            .any(|a| a.contains("TmPreFlt.sys, gscfmgr.sys removed")));
    }

    #[test]
    fn file_denial_with_nested_io_names_the_minifilter() {
        let v = analyze(&case_b(Some("gscfmgr.sys")).build()).unwrap();
        assert_eq!(v.conclusion, Conclusion::Filter, "{}", v.reason);
        assert_eq!(v.driver.as_deref(), Some("gscfmgr.sys"));
        // The requester-side FLTMGR / kernel frames name nobody.
        assert!(v.suspects.iter().all(|s| s.driver != "FLTMGR.SYS"));
    }
}
