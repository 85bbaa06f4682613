//! Outputs of `analyze`: the terminal summary ([`summary_text`]), `verdict.json`
//! ([`write_json`]) and the self-contained `report.html` ([`write_report`], rendered from
//! `reports/report.html.j2` with minijinja, in the language of [`Lang`]) with its PNG figures
//! ([`figures`], drawn with plotters, embedded as `data:` URIs and written beside it).

pub mod encode;
pub mod figures;
pub mod html;
pub mod i18n;
pub mod json;
pub mod model;
pub mod summary;

pub use html::{render_html, render_report, write_html, write_report, Report, ReportOptions};
pub use i18n::Lang;
pub use json::write_json;
pub use model::{FltmcFilter, Lane, Mark, MarkStyle, ReportExtras};
pub use summary::summary_text;

use crate::verdict::DenialRow;

/// Denials that look alike (same process, operation, object and status), shown once with a count.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DenialGroup {
    /// The first denial of the group.
    pub first: DenialRow,
    /// How many denials the group holds.
    pub count: usize,
    /// Every event id of the group.
    pub events: Vec<u64>,
}

/// Group denials that look alike, most telling first: not ACL-plausible before ACL-plausible,
/// servicing-relevant before the rest, then by first event.
pub fn denial_groups(rows: &[DenialRow]) -> Vec<DenialGroup> {
    let mut groups: Vec<DenialGroup> = Vec::new();
    for d in rows {
        let same = |g: &&mut DenialGroup| {
            g.first.process.eq_ignore_ascii_case(&d.process)
                && g.first.operation == d.operation
                && g.first.object.eq_ignore_ascii_case(&d.object)
                && g.first.status == d.status
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => {
                g.count += 1;
                g.events.push(d.event_id);
            }
            None => groups.push(DenialGroup {
                first: d.clone(),
                count: 1,
                events: vec![d.event_id],
            }),
        }
    }
    groups.sort_by_key(|g| {
        (
            g.first.acl_plausible,
            !g.first.servicing_relevant,
            g.first.event_id,
        )
    });
    groups
}
