//! Candidate drivers: the kernel modules of the System process (`modules` rows with pid 4 whose
//! base is a kernel address: top bit set in a 64-bit capture, at or above 0x80000000 in a 32-bit
//! one; the System process also lists smss.exe and ntdll.dll), enriched from Microsoft's
//! allocated altitudes (altitude, load order group, company) and the load-order-group roles of
//! `data/group_roles.csv`.
//!
//! Never candidates (each kept in [`DriverSet::excluded`] with the reason): pure observers and
//! the kernel (`data/observers.csv`: Procmon's own driver, fltmgr.sys, fileinfo.sys,
//! ntoskrnl.exe ...), and Microsoft modules that are not registered filters (HAL, bus, storage
//! and network drivers: Windows itself, whose access checks are the "ordinary ACL" side of the
//! question). Being third-party makes no driver a suspect: candidates only become suspects
//! through evidence.

use super::cols;
use super::data::{self, Role};
use crate::knowledge;
use crate::tables::Tables;
use polars::prelude::*;
use std::cmp::Ordering;

/// A driver that could have denied a request.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Candidate {
    /// File name as the capture spells it, e.g. `krnlmgr.sys`.
    pub driver: String,
    /// Image path as the capture recorded it.
    pub path: String,
    /// Company of the version resource (empty when none).
    pub company: String,
    /// File version.
    pub version: String,
    /// File description.
    pub description: String,
    /// The company is Microsoft.
    pub microsoft: bool,
    /// Allocated altitudes from Microsoft's list (empty: "not in Microsoft's list").
    pub altitudes: Vec<String>,
    /// Load order group(s) from Microsoft's list, distinct, joined with ` / `.
    pub load_order_group: Option<String>,
    /// Company as Microsoft's list spells it, when listed.
    pub listed_company: Option<String>,
    /// Role of the load order group.
    pub role: Role,
    /// Why that role.
    pub role_reason: String,
}

impl Candidate {
    /// Registered minifilter (has an allocated altitude).
    pub fn is_minifilter(&self) -> bool {
        !self.altitudes.is_empty()
    }

    /// Vendor to show: the version resource's company, else the altitude list's.
    pub fn vendor(&self) -> String {
        if !self.company.trim().is_empty() {
            self.company.clone()
        } else {
            self.listed_company.clone().unwrap_or_default()
        }
    }

    /// File stem, lower-case (`krnlmgr` for `krnlmgr.sys`): the usual service name.
    pub fn stem(&self) -> String {
        file_stem(&self.driver)
    }
}

/// Lower-case file name without its extension.
pub fn file_stem(name: &str) -> String {
    let n = name.to_lowercase();
    match n.rfind('.') {
        Some(i) if i > 0 => n[..i].to_string(),
        _ => n,
    }
}

/// A kernel module that is never a suspect, and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Excluded {
    /// File name.
    pub driver: String,
    /// Company.
    pub company: String,
    /// `observer` (observers.csv) or `windows` (a Microsoft module that is not a registered filter).
    pub kind: &'static str,
    /// Why it is not a candidate.
    pub reason: String,
}

/// The drivers of an incident.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DriverSet {
    /// Candidates, registered minifilters first by altitude (top of the stack first), then the
    /// other drivers by name.
    pub candidates: Vec<Candidate>,
    /// Modules that are never suspects, with the reason.
    pub excluded: Vec<Excluded>,
    /// Procmon's driver in the capture (`PROCMON23.SYS` ...), when loaded.
    pub procmon_driver: Option<String>,
    /// Procmon's instance altitude (`observers.csv`), when its driver is loaded.
    pub procmon_altitude: Option<String>,
    /// Kernel modules seen (System process, distinct names).
    pub kernel_modules: usize,
}

impl DriverSet {
    /// The candidate named `driver` (case-insensitive).
    pub fn get(&self, driver: &str) -> Option<&Candidate> {
        self.candidates
            .iter()
            .find(|c| c.driver.eq_ignore_ascii_case(driver))
    }
}

/// Compare two altitudes given as decimal text (`360500.5`), never as floats: integer parts by
/// value, then fractional digits. `None` when either is not a decimal number.
pub fn cmp_altitude(a: &str, b: &str) -> Option<Ordering> {
    fn split(s: &str) -> Option<(u64, String)> {
        let s = s.trim();
        let (i, f) = s.split_once('.').unwrap_or((s, ""));
        if !f.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        Some((i.parse().ok()?, f.trim_end_matches('0').to_string()))
    }
    let (ai, af) = split(a)?;
    let (bi, bf) = split(b)?;
    Some(ai.cmp(&bi).then_with(|| {
        let w = af.len().max(bf.len());
        format!("{af:0<w$}").cmp(&format!("{bf:0<w$}"))
    }))
}

/// (source, driver) of every resolved minifilter callback (`callbacks` table), distinct.
fn callback_drivers(tables: &Tables) -> PolarsResult<Vec<(String, String)>> {
    let cb = &tables.callbacks;
    if cb.height() == 0 {
        return Ok(Vec::new());
    }
    let source = cols::strs(cb, "source")?;
    let driver = cols::strs(cb, "driver")?;
    let mut out: Vec<(String, String)> = Vec::new();
    for (s, d) in source.into_iter().zip(driver) {
        if !d.is_empty() && !out.iter().any(|(_, o)| o.eq_ignore_ascii_case(&d)) {
            out.push((s, d));
        }
    }
    Ok(out)
}

/// Find the candidate drivers of `tables.modules` (kernel modules of the System process) and of
/// `tables.callbacks` (drivers whose minifilter callbacks a trace shows).
pub fn find(tables: &Tables) -> anyhow::Result<DriverSet> {
    let m = &tables.modules;
    let mut set = DriverSet::default();
    let cb_drivers = callback_drivers(tables)?;
    if m.height() == 0 && cb_drivers.is_empty() {
        return Ok(set);
    }
    let df = m
        .clone()
        .lazy()
        .filter(col("pid").eq(lit(4u32)))
        .select([
            col("source"),
            col("base"),
            col("name"),
            col("path"),
            col("company"),
            col("version"),
            col("description"),
        ])
        .collect()?;
    let mut source = cols::strs(&df, "source")?;
    let mut base = cols::u64s(&df, "base")?;
    let mut name = cols::strs(&df, "name")?;
    let mut path = cols::strs(&df, "path")?;
    let mut company = cols::strs(&df, "company")?;
    let mut version = cols::strs(&df, "version")?;
    let mut description = cols::strs(&df, "description")?;
    // Drivers whose minifilter callbacks a trace shows are candidates even when no module row
    // lists them (they are kernel modules by construction).
    let mut from_callbacks = std::collections::HashSet::new();
    for (src, drv) in cb_drivers {
        if !name.iter().any(|n| n.eq_ignore_ascii_case(&drv)) {
            from_callbacks.insert(source.len());
            source.push(src);
            base.push(0);
            name.push(drv);
            path.push(String::new());
            company.push(String::new());
            version.push(String::new());
            description.push(String::new());
        }
    }
    // A source whose System process has a module above 2^63 is a 64-bit capture.
    let is64: std::collections::HashSet<&str> = (0..source.len())
        .filter(|&i| base[i] >> 63 == 1)
        .map(|i| source[i].as_str())
        .collect();
    let mut seen = std::collections::HashSet::new();
    for i in 0..source.len() {
        let kernel = if from_callbacks.contains(&i) {
            true
        } else if is64.contains(source[i].as_str()) {
            base[i] >> 63 == 1
        } else {
            base[i] >= 0x8000_0000
        };
        if !kernel || name[i].is_empty() || !seen.insert(name[i].to_lowercase()) {
            continue;
        }
        set.kernel_modules += 1;
        if let Some(o) = data::observer(&name[i]) {
            if o.altitude.is_some() {
                set.procmon_driver = Some(name[i].clone());
                set.procmon_altitude = o.altitude.clone();
            }
            set.excluded.push(Excluded {
                driver: name[i].clone(),
                company: company[i].clone(),
                kind: "observer",
                reason: o.reason.clone(),
            });
            continue;
        }
        let rows = knowledge::altitudes(&name[i]);
        let microsoft = company[i].to_lowercase().contains("microsoft");
        if microsoft && rows.is_empty() {
            set.excluded.push(Excluded {
                driver: name[i].clone(),
                company: company[i].clone(),
                kind: "windows",
                reason: "Windows component that is not a registered filter: its access checks are the ordinary-ACL side of the question".into(),
            });
            continue;
        }
        let mut groups: Vec<String> = Vec::new();
        for r in rows {
            if !groups.contains(&r.load_order_group) {
                groups.push(r.load_order_group.clone());
            }
        }
        let (role, role_reason) = match groups.as_slice() {
            [] => (
                Role::Unknown,
                "not in Microsoft's list of allocated altitudes; no table knows its role"
                    .to_string(),
            ),
            [g] => {
                let (r, why) = data::group_role(g);
                (r, format!("{g}: {why}"))
            }
            many => {
                // Several groups: deny wins only if every group denies; otherwise neutral.
                let roles: Vec<Role> = many.iter().map(|g| data::group_role(g).0).collect();
                let r = if roles.iter().all(|r| *r == roles[0]) {
                    roles[0]
                } else {
                    Role::Neutral
                };
                (r, format!("listed in several groups: {}", many.join(", ")))
            }
        };
        set.candidates.push(Candidate {
            driver: name[i].clone(),
            path: path[i].clone(),
            company: company[i].clone(),
            version: version[i].clone(),
            description: description[i].clone(),
            microsoft,
            altitudes: rows.iter().map(|r| r.altitude.clone()).collect(),
            load_order_group: (!groups.is_empty()).then(|| groups.join(" / ")),
            listed_company: rows.first().map(|r| r.company.clone()),
            role,
            role_reason,
        });
    }
    set.candidates.sort_by(|a, b| {
        match (a.altitudes.first(), b.altitudes.first()) {
            (Some(x), Some(y)) => cmp_altitude(y, x).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
        .then_with(|| a.driver.to_lowercase().cmp(&b.driver.to_lowercase()))
    });
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::synthetic::Builder;

    #[test]
    fn altitudes_compare_as_decimals() {
        assert_eq!(cmp_altitude("360500.5", "360500"), Some(Ordering::Greater));
        assert_eq!(cmp_altitude("40500", "385200"), Some(Ordering::Less));
        assert_eq!(cmp_altitude("1.50", "1.5"), Some(Ordering::Equal));
        assert_eq!(cmp_altitude("x", "1"), None);
    }

    #[test]
    fn candidates_exclude_observers_and_windows() {
        let mut b = Builder::new();
        b.kernel_module("TmPreFlt.sys", "Trend Micro Inc.", "7.0");
        b.kernel_module("krnlmgr.sys", "", "1.0");
        b.kernel_module("WdFilter.sys", "Microsoft Corporation", "4.18");
        b.kernel_module("dump_dumpfve.sys", "", "");
        let s = find(&b.build()).unwrap();
        let names: Vec<&str> = s.candidates.iter().map(|c| c.driver.as_str()).collect();
        assert_eq!(names, ["TmPreFlt.sys", "WdFilter.sys", "krnlmgr.sys"]);
        assert_eq!(s.procmon_altitude.as_deref(), Some("385200"));
        assert_eq!(s.procmon_driver.as_deref(), Some("PROCMON23.SYS"));
        let excluded: Vec<&str> = s.excluded.iter().map(|e| e.driver.as_str()).collect();
        for x in [
            "ntoskrnl.exe",
            "FLTMGR.SYS",
            "PROCMON23.SYS",
            "fileinfo.sys",
            "dump_dumpfve.sys",
        ] {
            assert!(excluded.contains(&x), "{x} not excluded");
        }
        let tm = s.get("tmpreflt.sys").unwrap();
        assert_eq!(tm.altitudes, ["328500"]);
        assert_eq!(tm.role, Role::Deny);
        assert_eq!(s.get("krnlmgr.sys").unwrap().role, Role::Unknown);
        assert_eq!(s.get("krnlmgr.sys").unwrap().stem(), "krnlmgr");
    }
}
