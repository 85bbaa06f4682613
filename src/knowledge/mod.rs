//! Embedded reference tables (`data/*.csv`, copied from `shared/knowledge/`).
//!
//! Attribution (shipped with the binary, printed by `fltblame --version --verbose` and in reports):
//! see [`ATTRIBUTION`]. Tables are parsed once, on first use.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The attribution the embedded tables must carry (`shared/knowledge/README.md`, "Licences").
pub const ATTRIBUTION: &str = include_str!("data/ATTRIBUTION.txt");

const NTSTATUS_CSV: &str = include_str!("data/ntstatus.csv");
const ALTITUDES_CSV: &str = include_str!("data/altitudes.csv");
const GROUPS_CSV: &str = include_str!("data/load_order_groups.csv");
const HRESULTS_CSV: &str = include_str!("data/hresults.csv");

/// How an NTSTATUS is classed for denial finding (`ntstatus.csv` column `class`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusClass {
    /// NT_SUCCESS codes.
    Success,
    /// Warnings and errors a healthy system returns constantly (NAME NOT FOUND ...).
    Everyday,
    /// Refused on security grounds (ACCESS DENIED, PRIVILEGE NOT HELD ...).
    Denial,
    /// Produced only by filters (cloud files 0xC000CFxx, VIRUS INFECTED ...).
    FilterOnly,
    /// Any other error.
    Error,
}

/// One row of `ntstatus.csv`.
#[derive(Clone, Debug)]
pub struct StatusInfo {
    /// The NTSTATUS value.
    pub code: u32,
    /// Preferred `STATUS_*` symbol.
    pub symbol: String,
    /// Exactly what Procmon prints in Result (empty for 0x103).
    pub procmon_text: String,
    /// Class used by denial finding.
    pub class: StatusClass,
}

fn parse_hex(s: &str) -> Option<u32> {
    u32::from_str_radix(
        s.trim().trim_start_matches("0x").trim_start_matches("0X"),
        16,
    )
    .ok()
}

fn rows(csv_text: &'static str) -> impl Iterator<Item = csv::StringRecord> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv_text.as_bytes())
        .into_records()
        .filter_map(Result::ok)
}

fn ntstatus_table() -> &'static HashMap<u32, StatusInfo> {
    static T: OnceLock<HashMap<u32, StatusInfo>> = OnceLock::new();
    T.get_or_init(|| {
        rows(NTSTATUS_CSV)
            .filter_map(|r| {
                let code = parse_hex(r.get(0)?)?;
                let class = match r.get(3)? {
                    "success" => StatusClass::Success,
                    "everyday" => StatusClass::Everyday,
                    "denial" => StatusClass::Denial,
                    "filter_only" => StatusClass::FilterOnly,
                    _ => StatusClass::Error,
                };
                Some((
                    code,
                    StatusInfo {
                        code,
                        symbol: r.get(1)?.to_string(),
                        procmon_text: r.get(2)?.to_string(),
                        class,
                    },
                ))
            })
            .collect()
    })
}

/// Look an NTSTATUS up in the embedded table; `None` when the table does not list it.
pub fn ntstatus(code: u32) -> Option<&'static StatusInfo> {
    ntstatus_table().get(&code)
}

/// The class of an NTSTATUS. Codes the table lacks are classed by severity: NT_SUCCESS and
/// informational codes are `Success`, customer-bit (bit 29) errors `FilterOnly` (only
/// third-party code defines them), anything else `Error`.
pub fn status_class(code: u32) -> StatusClass {
    if let Some(s) = ntstatus(code) {
        return s.class;
    }
    if code < 0x8000_0000 {
        StatusClass::Success
    } else if code & 0x2000_0000 != 0 {
        StatusClass::FilterOnly
    } else {
        StatusClass::Error
    }
}

/// The `STATUS_*` symbol of a code, or `0xXXXXXXXX` when unknown.
pub fn status_symbol(code: u32) -> String {
    ntstatus(code)
        .map(|s| s.symbol.clone())
        .unwrap_or_else(|| format!("0x{code:08X}"))
}

/// One row of `altitudes.csv` (Microsoft's allocated filter altitudes).
#[derive(Clone, Debug, serde::Serialize)]
pub struct AltitudeRow {
    /// Lower-cased file name, e.g. `tmpreflt.sys`.
    pub driver: String,
    /// Altitude text exactly as listed (compare as decimal strings, never as floats).
    pub altitude: String,
    /// Company as listed.
    pub company: String,
    /// Load order group, e.g. `FSFilter Anti-Virus`.
    pub load_order_group: String,
    /// Annotation (`retired`, `old - to be retired` ...).
    pub note: String,
}

fn altitude_table() -> &'static HashMap<String, Vec<AltitudeRow>> {
    static T: OnceLock<HashMap<String, Vec<AltitudeRow>>> = OnceLock::new();
    T.get_or_init(|| {
        let mut m: HashMap<String, Vec<AltitudeRow>> = HashMap::new();
        for r in rows(ALTITUDES_CSV) {
            let row = AltitudeRow {
                driver: r.get(0).unwrap_or("").to_string(),
                altitude: r.get(1).unwrap_or("").to_string(),
                company: r.get(2).unwrap_or("").to_string(),
                load_order_group: r.get(3).unwrap_or("").to_string(),
                note: r.get(6).unwrap_or("").to_string(),
            };
            m.entry(row.driver.clone()).or_default().push(row);
        }
        m
    })
}

/// Every allocated-altitude row for a driver file name (case-insensitive, e.g. `TmPreFlt.sys`).
/// Empty when Microsoft's list does not have the driver ("not in Microsoft's list", never a guess).
pub fn altitudes(driver: &str) -> &'static [AltitudeRow] {
    altitude_table()
        .get(&driver.to_ascii_lowercase())
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// One row of `load_order_groups.csv`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LoadOrderGroup {
    /// Group name, e.g. `FSFilter Anti-Virus`.
    pub group: String,
    /// Lowest altitude of the range (inclusive).
    pub low: u32,
    /// Highest altitude of the range (inclusive).
    pub high: u32,
    /// Short meaning (our words).
    pub description: String,
}

/// The minifilter load order groups, top of the stack first.
pub fn load_order_groups() -> &'static [LoadOrderGroup] {
    static T: OnceLock<Vec<LoadOrderGroup>> = OnceLock::new();
    T.get_or_init(|| {
        rows(GROUPS_CSV)
            .filter_map(|r| {
                Some(LoadOrderGroup {
                    group: r.get(0)?.to_string(),
                    low: r.get(1)?.trim().parse().ok()?,
                    high: r.get(2)?.trim().parse().ok()?,
                    description: r.get(3).unwrap_or("").to_string(),
                })
            })
            .collect()
    })
}

/// One row of `hresults.csv`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HresultInfo {
    /// The HRESULT.
    pub code: u32,
    /// Symbol, e.g. `E_ACCESSDENIED`.
    pub symbol: String,
    /// Meaning.
    pub meaning: String,
}

/// Look a servicing HRESULT up.
pub fn hresult(code: u32) -> Option<&'static HresultInfo> {
    static T: OnceLock<HashMap<u32, HresultInfo>> = OnceLock::new();
    T.get_or_init(|| {
        rows(HRESULTS_CSV)
            .filter_map(|r| {
                let code = parse_hex(r.get(0)?)?;
                Some((
                    code,
                    HresultInfo {
                        code,
                        symbol: r.get(1)?.to_string(),
                        meaning: r.get(2)?.to_string(),
                    },
                ))
            })
            .collect()
    })
    .get(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_load() {
        assert_eq!(ntstatus(0xC000_0022).unwrap().procmon_text, "ACCESS DENIED");
        assert_eq!(status_class(0xC000_0034), StatusClass::Everyday);
        assert_eq!(status_class(0xC000_CF18), StatusClass::FilterOnly);
        assert_eq!(status_class(0xE000_0001), StatusClass::FilterOnly);
        assert_eq!(altitudes("TmPreFlt.sys")[0].altitude, "328500");
        assert!(altitudes("krnlmgr.sys").is_empty());
        assert_eq!(load_order_groups()[0].group, "Filter");
        assert_eq!(hresult(0x8007_0005).unwrap().symbol, "E_ACCESSDENIED");
    }
}
