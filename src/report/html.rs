//! `report.html`: the vendor report, one self-contained page (inline CSS, figures as `data:`
//! URIs, no script, nothing fetched, print CSS) rendered from `reports/report.html.j2` with
//! minijinja, in English or Chinese (`reports/i18n/`): conclusion and named driver, denied
//! operations and the timeline, each suspect's evidence chain and weights, the denied
//! operation's stack with the suspect's frames marked, the filter stack, capture diagnostics
//! and advice, the vendor's to-do list, provenance. The three figures are also written beside
//! the report (`timeline.png`, `filter_stack.png`, `evidence.png`).

use super::figures::{self, Figure};
use super::i18n::{fill, Lang};
use super::model::{self, FilterStack, ReportExtras, TodoRow};
use super::{denial_groups, DenialGroup};
use crate::evidence::{self, cols, data};
use crate::knowledge;
use crate::tables::Tables;
use crate::verdict::{Conclusion, Verdict};
use anyhow::Context;
use minijinja::value::Kwargs;
use polars::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const TEMPLATE: &str = include_str!("../../reports/report.html.j2");
/// Denial groups shown in the table.
const MAX_GROUPS: usize = 50;
/// Denied operations whose stacks are shown.
const DENIAL_STACKS: usize = 3;
/// Supporting events (nested I/O) whose stacks are shown.
const EVIDENCE_STACKS: usize = 2;

/// How to write the report.
#[derive(Clone, Debug, Default)]
pub struct ReportOptions {
    /// Language of the report text.
    pub lang: Lang,
    /// Sources beyond the verdict (fltmc, log lanes).
    pub extras: ReportExtras,
}

/// A rendered report: the page and its figures (embedded in the page, also written beside it).
pub struct Report {
    /// The HTML text.
    pub html: String,
    /// The figures, in the order the page shows them.
    pub figures: Vec<Figure>,
}

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
    /// `denied` or `evidence`.
    kind: &'static str,
    event_id: u64,
    operation: String,
    object: String,
    process: String,
    status_name: String,
    /// For `evidence`: the driver whose frames it shows.
    driver: String,
    /// A denial the named driver's evidence concerns, or evidence for it.
    tied: bool,
    frames: Vec<FrameView>,
    marked: usize,
}

#[derive(Serialize)]
struct FigView {
    file: &'static str,
    src: String,
    alt: String,
    width: u32,
    height: u32,
}

#[derive(Serialize)]
struct Diag {
    /// `ok`, `warn` or `info`.
    level: &'static str,
    text: String,
}

#[derive(Serialize)]
struct KnowledgeTable {
    file: &'static str,
    what: &'static str,
}

#[derive(Serialize)]
struct Page<'a> {
    lang: &'static str,
    t: &'static BTreeMap<String, String>,
    english_note: bool,
    v: &'a Verdict,
    conclusion: &'static str,
    headline: String,
    phrase: String,
    named: Option<&'a crate::verdict::Suspect>,
    groups: Vec<DenialGroup>,
    more_groups: usize,
    stacks: Vec<StackView>,
    fs: FilterStack,
    todo: Vec<TodoRow>,
    diagnostics: Vec<Diag>,
    figures: BTreeMap<&'static str, FigView>,
    knowledge_tables: Vec<KnowledgeTable>,
    attribution: &'static str,
    font_attribution: &'static str,
    weights: &'static [data::Weight],
}

fn stack_views(
    v: &Verdict,
    tables: &Tables,
    groups: &[DenialGroup],
) -> anyhow::Result<Vec<StackView>> {
    struct Want {
        stack_id: u64,
        kind: &'static str,
        event_id: u64,
        operation: String,
        object: String,
        process: String,
        status_name: String,
        driver: String,
        tied: bool,
    }
    let mut wanted: Vec<Want> = Vec::new();
    // The stacks of the denials ordinary ACLs do not explain (else of the first denial).
    let stacked: Vec<&DenialGroup> = groups
        .iter()
        .filter(|g| g.first.stack_id.is_some())
        .collect();
    let unexplained: Vec<&DenialGroup> = stacked
        .iter()
        .copied()
        .filter(|g| !g.first.acl_plausible)
        .collect();
    let shown = if unexplained.is_empty() {
        stacked.into_iter().take(1).collect::<Vec<_>>()
    } else {
        unexplained
    };
    for g in shown.into_iter().take(DENIAL_STACKS) {
        let d = &g.first;
        wanted.push(Want {
            stack_id: d.stack_id.unwrap_or_default(),
            kind: "denied",
            event_id: d.event_id,
            operation: d.operation.clone(),
            object: d.object.clone(),
            process: d.process.clone(),
            status_name: d.status_name.clone(),
            driver: String::new(),
            tied: v.named().is_some_and(|s| s.denials.contains(&d.event_id)),
        });
    }
    let denial_ids: Vec<u64> = v.denials.iter().map(|d| d.event_id).collect();
    if let Some(s) = v.named().or(v.suspects.first()) {
        let supporting: Vec<u64> = s
            .evidence
            .iter()
            .flat_map(|e| e.events.iter().copied())
            .filter(|id| !denial_ids.contains(id))
            .collect::<Vec<u64>>();
        // Prefer supporting events whose stacks hold the driver's frames.
        let active: Vec<u64> = model::driver_activity(tables, &s.driver)?
            .into_iter()
            .map(|a| a.event_id)
            .collect();
        let mut ordered: Vec<u64> = supporting
            .iter()
            .copied()
            .filter(|id| active.contains(id))
            .collect();
        ordered.extend(supporting.iter().copied().filter(|id| !active.contains(id)));
        ordered.dedup();
        ordered.truncate(EVIDENCE_STACKS);
        for (id, (op, path, proc_)) in ordered.iter().zip(event_texts(tables, &ordered)?) {
            wanted.push(Want {
                stack_id: *id,
                kind: "evidence",
                event_id: *id,
                operation: op,
                object: path,
                process: proc_,
                status_name: String::new(),
                driver: s.driver.clone(),
                tied: true,
            });
        }
    }
    let ids: Vec<u64> = wanted.iter().map(|w| w.stack_id).collect();
    let frames = evidence::stacks(tables, &ids)?;
    Ok(wanted
        .into_iter()
        .filter_map(|w| {
            let fs = frames.get(&w.stack_id)?;
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
                    mark: model::mark_of(v, &f.module),
                })
                .collect();
            let marked = frames
                .iter()
                .filter(|f| f.mark == "named" || f.mark == "suspect")
                .count();
            Some(StackView {
                kind: w.kind,
                event_id: w.event_id,
                operation: w.operation,
                object: w.object,
                process: w.process,
                status_name: w.status_name,
                driver: w.driver,
                tied: w.tied,
                frames,
                marked,
            })
        })
        .collect())
}

/// (operation, path, process) of each event id, in the order given (empty when not found).
fn event_texts(tables: &Tables, ids: &[u64]) -> anyhow::Result<Vec<(String, String, String)>> {
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
    let proc_ = cols::strs(&df, "process_name")?;
    Ok(ids
        .iter()
        .map(|want| {
            id.iter()
                .position(|i| i == want)
                .map(|i| (op[i].clone(), path[i].clone(), proc_[i].clone()))
                .unwrap_or_default()
        })
        .collect())
}

fn headline(v: &Verdict, lang: Lang) -> (String, String) {
    match v.conclusion {
        Conclusion::Filter => {
            let s = v.named().expect("named suspect");
            let vendor = if s.vendor.is_empty() {
                lang.get("vendor_unknown").to_string()
            } else {
                s.vendor.clone()
            };
            (
                fill(lang.get("headline_filter"), &[("driver", s.driver.clone())]),
                fill(
                    lang.get("phrase_filter"),
                    &[
                        ("driver", s.driver.clone()),
                        ("vendor", vendor),
                        ("n", s.denials.len().to_string()),
                        ("confidence", format!("{:.2}", s.confidence)),
                    ],
                ),
            )
        }
        // From the logs alone: the phrase is the verdict's reason (English, like evidence).
        Conclusion::NoFilter if v.counts.denials == 0 && !v.log_failures.is_empty() => (
            lang.get("headline_no_filter_logs").to_string(),
            v.reason.clone(),
        ),
        Conclusion::Undetermined if v.inputs.is_empty() && !v.log_failures.is_empty() => (
            lang.get("headline_undetermined").to_string(),
            lang.get("phrase_undetermined_logs").to_string(),
        ),
        Conclusion::NoFilter => (
            lang.get("headline_no_filter").to_string(),
            fill(
                lang.get("phrase_no_filter"),
                &[("n", v.counts.denials.to_string())],
            ),
        ),
        Conclusion::Undetermined => (
            lang.get("headline_undetermined").to_string(),
            if v.counts.denials == 0 {
                lang.get("phrase_undetermined_none").to_string()
            } else {
                lang.get("phrase_undetermined").to_string()
            },
        ),
    }
}

fn diagnostics(v: &Verdict, lang: Lang, spans: &[(String, i64, i64)]) -> Vec<Diag> {
    let t = |k: &str, args: &[(&str, String)]| fill(lang.get(k), args);
    let mut out = Vec::new();
    let kinds: Vec<String> = {
        let mut k: Vec<String> = v.inputs.iter().map(|i| i.kind.to_uppercase()).collect();
        k.dedup();
        k
    };
    out.push(Diag {
        level: "info",
        text: t(
            "diag_sources",
            &[
                ("n", v.inputs.len().to_string()),
                ("kinds", kinds.join(", ")),
            ],
        ),
    });
    for (src, a, b) in spans {
        out.push(Diag {
            level: "info",
            text: t(
                "diag_window",
                &[
                    ("source", src.clone()),
                    ("first", model::iso_ns(*a)),
                    ("last", model::iso_ns(*b)),
                    ("seconds", format!("{:.1}", (b - a) as f64 / 1e9)),
                ],
            ),
        });
    }
    let c = &v.counts;
    let pct = if c.events == 0 {
        0.0
    } else {
        100.0 * c.stacked_events as f64 / c.events as f64
    };
    out.push(Diag {
        level: if c.events > 0 && pct < 50.0 {
            "warn"
        } else {
            "ok"
        },
        text: t(
            if c.events > 0 && pct < 50.0 {
                "diag_stacks_few"
            } else {
                "diag_stacks"
            },
            &[
                ("events", c.events.to_string()),
                ("stacked", c.stacked_events.to_string()),
                ("pct", format!("{pct:.0}")),
            ],
        ),
    });
    match (&v.drivers.procmon_driver, &v.drivers.procmon_altitude) {
        (Some(d), alt) => out.push(Diag {
            level: "ok",
            text: t(
                "diag_procmon",
                &[
                    ("driver", d.clone()),
                    ("altitude", alt.clone().unwrap_or_else(|| "?".into())),
                ],
            ),
        }),
        (None, _) => out.push(Diag {
            level: "warn",
            text: t("diag_procmon_missing", &[]),
        }),
    }
    out.push(Diag {
        level: "info",
        text: t(
            "diag_drivers",
            &[
                ("modules", v.drivers.kernel_modules.to_string()),
                ("candidates", v.drivers.candidates.len().to_string()),
                (
                    "third_party",
                    v.drivers
                        .candidates
                        .iter()
                        .filter(|c| !c.microsoft)
                        .count()
                        .to_string(),
                ),
            ],
        ),
    });
    if c.denials == 0 {
        out.push(Diag {
            level: "warn",
            text: t("diag_no_denial", &[]),
        });
    } else {
        out.push(Diag {
            level: "ok",
            text: t(
                "diag_denials",
                &[
                    ("n", c.denials.to_string()),
                    ("servicing", c.servicing_relevant.to_string()),
                    ("acl", c.acl_plausible.to_string()),
                ],
            ),
        });
    }
    let unstacked = v
        .denials
        .iter()
        .filter(|d| d.stack_id.is_none() && !d.acl_plausible)
        .count();
    if unstacked > 0 {
        out.push(Diag {
            level: "warn",
            text: t("diag_denials_unstacked", &[("n", unstacked.to_string())]),
        });
    }
    out.push(Diag {
        level: "info",
        text: t(
            if v.log_files.is_empty() {
                "diag_not_given"
            } else {
                "diag_not_given_logs"
            },
            &[],
        ),
    });
    for i in &v.inputs {
        for w in &i.warnings {
            out.push(Diag {
                level: "warn",
                text: t("diag_reader_warning", &[("text", w.clone())]),
            });
        }
    }
    // Capture diagnostics from the logs (English, like evidence details).
    for d in &v.diagnostics {
        out.push(Diag {
            level: "warn",
            text: format!("{} {}", d.message, d.advice),
        });
    }
    for n in &v.intake_notes {
        out.push(Diag {
            level: "info",
            text: n.clone(),
        });
    }
    out
}

fn knowledge_tables() -> Vec<KnowledgeTable> {
    vec![
        KnowledgeTable {
            file: "altitudes.csv",
            what: "Microsoft: Allocated filter altitudes",
        },
        KnowledgeTable {
            file: "load_order_groups.csv",
            what: "Microsoft: Load order groups and altitudes for minifilter drivers",
        },
        KnowledgeTable {
            file: "ntstatus.csv",
            what: "NTSTATUS symbols; Procmon result texts (procmon-parser)",
        },
        KnowledgeTable {
            file: "hresults.csv",
            what: "Microsoft: System Error Codes, Windows Update error codes",
        },
    ]
}

/// `s` with `&`, `<`, `>`, `"` and `'` escaped for HTML text and attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

/// DejaVu Sans attribution (the figures' font).
const FONT_ATTRIBUTION: &str = "Figures drawn with DejaVu Sans 2.37 (Copyright (c) 2003 Bitstream, Inc.; DejaVu changes in the public domain; Bitstream Vera Fonts licence), embedded in fltblame.";

/// Render the report (figures included) in the given language.
pub fn render_report(v: &Verdict, tables: &Tables, opts: &ReportOptions) -> anyhow::Result<Report> {
    let lang = opts.lang;
    let mut groups = denial_groups(&v.denials);
    let stacks = stack_views(v, tables, &groups)?;
    let more_groups = groups.len().saturating_sub(MAX_GROUPS);
    groups.truncate(MAX_GROUPS);
    let mut extras = opts.extras.clone();
    if extras.log_lanes.is_empty() {
        extras.log_lanes = model::log_lanes(v);
    }
    if extras.fltmc.is_empty() {
        extras.fltmc = tables
            .logs
            .fltmc
            .iter()
            .map(|(name, altitude, instances)| model::FltmcFilter {
                name: name.clone(),
                altitude: altitude.clone(),
                instances: *instances,
            })
            .collect();
    }
    let fs = model::filter_stack(v, &extras.fltmc);
    let timeline = model::timeline(v, tables, &extras)?;
    let spans = model::capture_spans(tables)?;
    let figures = vec![
        figures::timeline(&timeline).context("drawing timeline.png")?,
        figures::filter_stack(&fs).context("drawing filter_stack.png")?,
        figures::evidence(v).context("drawing evidence.png")?,
    ];
    let (headline, phrase) = headline(v, lang);
    let page = Page {
        lang: lang.tag(),
        t: lang.strings(),
        english_note: lang != Lang::En,
        v,
        conclusion: v.conclusion.as_str(),
        headline,
        phrase,
        named: v.named(),
        groups,
        more_groups,
        stacks,
        todo: model::todo_rows(v),
        diagnostics: diagnostics(v, lang, &spans),
        fs,
        figures: figures
            .iter()
            .map(|f| {
                (
                    f.file.trim_end_matches(".png"),
                    FigView {
                        file: f.file,
                        src: f.data_uri(),
                        alt: f.alt.clone(),
                        width: f.width,
                        height: f.height,
                    },
                )
            })
            .collect(),
        knowledge_tables: knowledge_tables(),
        attribution: knowledge::ATTRIBUTION,
        font_attribution: FONT_ATTRIBUTION,
        weights: data::weights(),
    };
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_filter("wbr", |s: String| {
        minijinja::Value::from_safe_string(
            escape_html(&s)
                .replace('\\', "\\<wbr>")
                .replace('/', "/<wbr>"),
        )
    });
    env.add_function(
        "tr",
        move |key: String, kwargs: Kwargs| -> Result<String, minijinja::Error> {
            let args: Vec<(String, String)> = kwargs
                .args()
                .map(|k| {
                    let v: minijinja::Value = kwargs.get(k)?;
                    Ok((k.to_string(), v.to_string()))
                })
                .collect::<Result<_, minijinja::Error>>()?;
            let refs: Vec<(&str, String)> =
                args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            if !lang.strings().contains_key(&key) {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::UndefinedError,
                    format!("no UI string {key:?}"),
                ));
            }
            Ok(fill(lang.get(&key), &refs))
        },
    );
    let tmpl = env.template_from_named_str("report.html", TEMPLATE)?;
    Ok(Report {
        html: tmpl.render(&page)?,
        figures,
    })
}

/// Render the report page in English.
pub fn render_html(v: &Verdict, tables: &Tables) -> anyhow::Result<String> {
    Ok(render_report(v, tables, &ReportOptions::default())?.html)
}

/// Write `dir/report.html` and its figures beside it; returns the report's path. `dir` must
/// exist.
pub fn write_report(
    v: &Verdict,
    tables: &Tables,
    dir: &Path,
    opts: &ReportOptions,
) -> anyhow::Result<PathBuf> {
    let r = render_report(v, tables, opts)?;
    for f in &r.figures {
        let p = dir.join(f.file);
        std::fs::write(&p, &f.png).with_context(|| format!("{}: cannot write", p.display()))?;
    }
    let path = dir.join("report.html");
    std::fs::write(&path, r.html).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(path)
}

/// Write `dir/report.html` (English) and its figures; returns the report's path.
pub fn write_html(v: &Verdict, tables: &Tables, dir: &Path) -> anyhow::Result<PathBuf> {
    write_report(v, tables, dir, &ReportOptions::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::synthetic::Builder;
    use crate::verdict::analyze;

    fn tables(named: bool) -> Tables {
        let mut b = Builder::new();
        b.kernel_module("guard.sys", "Acme <Security>", "2.0");
        let ti = b.system_process(1432, "TrustedInstaller.exe", 4);
        let d = b.event(
            ti,
            8,
            "RegSetValue",
            "HKLM\\System\\CurrentControlSet\\Services\\guard\\Start",
            if named { 0xC000_0022 } else { 0 },
            100,
            50,
        );
        b.stack(d, &["ntkrnlpa.exe", "guard.sys"]);
        b.build()
    }

    #[test]
    fn report_in_both_languages() {
        let t = tables(true);
        let v = analyze(&t).unwrap();
        assert_eq!(v.driver.as_deref(), Some("guard.sys"), "{}", v.reason);
        for lang in Lang::ALL {
            let r = render_report(
                &v,
                &t,
                &ReportOptions {
                    lang,
                    ..Default::default()
                },
            )
            .unwrap();
            let h = &r.html;
            assert!(h.contains(&format!("<html lang=\"{}\">", lang.tag())));
            assert_eq!(h.matches("<img src=\"data:image/png;base64,").count(), 3);
            assert_eq!(r.figures.len(), 3);
            // Every UI string was found and filled.
            for k in [
                "headline_filter",
                "sec_todo",
                "sec_provenance",
                "col_access",
            ] {
                let s = lang.get(k);
                let plain = s.split('{').next().unwrap();
                assert!(h.contains(&escape_html(plain)), "{}: {k}", lang.tag());
            }
            assert!(
                !h.contains("{driver}") && !h.contains("{n}"),
                "{}",
                lang.tag()
            );
            // Data is escaped, the vendor's name included.
            assert!(h.contains("Acme &lt;Security&gt;") && !h.contains("Acme <Security>"));
            assert!(h.contains("CC BY 4.0"));
            assert!(h.contains(&v.inputs[0].sha256) || v.inputs[0].sha256.is_empty());
            assert!(h.contains("class=\"named\""), "suspect frames marked");
            assert_eq!(h.contains("保持英文"), lang == Lang::ZhCn);
        }
    }

    #[test]
    fn report_without_denials_or_suspects() {
        let t = tables(false);
        let v = analyze(&t).unwrap();
        assert!(v.suspects.is_empty());
        let html = render_html(&v, &t).unwrap();
        assert!(html.contains(&escape_html(Lang::En.get("no_denials"))));
        assert!(html.contains(&escape_html(Lang::En.get("todo_none"))));
        assert_eq!(
            html.matches("<img src=\"data:").count(),
            2,
            "no evidence figure"
        );
    }

    #[test]
    fn wbr_filter_escapes() {
        assert_eq!(escape_html("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#x27;");
    }
}
