//! Operation name, Path, Detail and Category of an event, exactly as Process Monitor prints them
//! (`procmon-text.md` §2.5-§3, `format-pml.md` §9, §11). One module per event class.

use super::reader::{Pml, RawEvent};
use std::borrow::Cow;

pub mod filesystem;
pub mod network;
pub mod process;
pub mod registry;

/// Procmon caps Detail at 4,095 characters (`procmon-text.md` §3.1).
pub const DETAIL_MAX_CHARS: usize = 4095;

/// The class-dependent text columns of one event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    /// Operation column, e.g. `RegSetValue`, `QueryBasicInformationFile`, `TCP Send`, `<Unknown>`.
    pub operation: Cow<'static, str>,
    /// Path column.
    pub path: String,
    /// Detail column (already capped at [`DETAIL_MAX_CHARS`]).
    pub detail: String,
    /// Category column (`Read`, `Write`, `Read Metadata`, `Write Metadata` or empty).
    pub category: &'static str,
}

/// Event class names as Procmon's "Event Class" column prints them (`procmon-text.md` §2.3).
pub fn class_name(class: u32) -> &'static str {
    match class {
        1 => "Process",
        2 => "Registry",
        3 | 6 => "File System",
        4 => "Profiling",
        5 => "Network",
        _ => "Unknown",
    }
}

/// Decode the text columns of `ev`. Never panics on short or damaged detail blocks: missing
/// bytes read as zero.
pub fn decode(pml: &Pml, ev: &RawEvent) -> Decoded {
    let mut d = match ev.class {
        1 | 4 => process::decode(pml, ev),
        2 => registry::decode(pml, ev),
        3 | 6 => filesystem::decode(pml, ev),
        5 => network::decode(pml, ev),
        _ => Decoded {
            operation: Cow::Borrowed("<Unknown>"),
            ..Decoded::default()
        },
    };
    if d.detail.len() > DETAIL_MAX_CHARS {
        if let Some((cut, _)) = d.detail.char_indices().nth(DETAIL_MAX_CHARS) {
            d.detail.truncate(cut);
        }
    }
    d
}
