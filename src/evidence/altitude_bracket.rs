//! `altitude_bracket` (weak, narrows): whether a driver sits where it could produce what
//! Procmon saw.
//!
//! - File-system denial, registered minifilter, Procmon's driver loaded: below Procmon's altitude
//!   it could have failed the request after Procmon saw it start (weak, for); above it, a denial
//!   of its own would never have reached Procmon (against).
//! - Registry denial: registry callbacks deny registry operations, and `fltmc` does not list
//!   them. A driver with no allocated altitude (not a minifilter) can still be one; a minifilter
//!   of a deny-capable group often registers one too. Minifilters of passive groups get nothing.
//!
//! Drivers with no allocated altitude get nothing for file denials: legacy filters attach
//! anywhere.

use super::candidates::{cmp_altitude, Candidate};
use super::data::Role;
use super::{Context, Denial, Evidence};
use std::cmp::Ordering;

/// Where a minifilter sits relative to Procmon: `Some(Less)` below, `Some(Greater)` above,
/// `None` when unknown or when its allocated altitudes straddle Procmon's.
fn relative_to_procmon(c: &Candidate, procmon: &str) -> Option<Ordering> {
    let ords: Vec<Ordering> = c
        .altitudes
        .iter()
        .filter_map(|a| cmp_altitude(a, procmon))
        .collect();
    let first = *ords.first()?;
    (first != Ordering::Equal && ords.iter().all(|o| *o == first)).then_some(first)
}

fn ids<'a>(ds: impl Iterator<Item = &'a Denial>) -> Vec<u64> {
    ds.map(|d| d.event_id).collect()
}

/// Find `altitude_bracket` evidence.
pub fn find(ctx: &Context) -> anyhow::Result<Vec<Evidence>> {
    let mut out = Vec::new();
    let file: Vec<&Denial> = ctx
        .denials
        .iter()
        .filter(|d| !d.registry && d.class == "File System")
        .collect();
    let reg: Vec<&Denial> = ctx.denials.iter().filter(|d| d.registry).collect();
    for c in &ctx.drivers.candidates {
        if let (false, Some(pm)) = (file.is_empty(), ctx.drivers.procmon_altitude.as_deref()) {
            let procmon = ctx.drivers.procmon_driver.as_deref().unwrap_or("Procmon");
            match relative_to_procmon(c, pm) {
                Some(Ordering::Less) => out.push(Evidence::new(
                    "altitude_bracket_below_procmon",
                    Some(&c.driver),
                    format!(
                        "{} is a minifilter at altitude {} ({}), below {procmon} at {pm}: it sees file requests after Procmon and could have failed the {} file denial(s) Procmon recorded.",
                        c.driver,
                        c.altitudes.join(" / "),
                        c.load_order_group.as_deref().unwrap_or(""),
                        file.len()
                    ),
                    ids(file.iter().copied()),
                    Vec::new(),
                )),
                Some(Ordering::Greater) => out.push(Evidence::new(
                    "altitude_bracket_above_procmon",
                    Some(&c.driver),
                    format!(
                        "{} is a minifilter at altitude {}, above {procmon} at {pm}: a file request it denied would not have reached Procmon, so it did not produce the {} file denial(s) recorded.",
                        c.driver,
                        c.altitudes.join(" / "),
                        file.len()
                    ),
                    ids(file.iter().copied()),
                    Vec::new(),
                )),
                _ => {}
            }
        }
        if !reg.is_empty() {
            let why = if !c.is_minifilter() {
                Some("has no allocated minifilter altitude, so if it filters the registry it does so as a registry callback (invisible to fltmc)")
            } else if c.role == Role::Deny {
                Some("is a minifilter of a deny-capable group; such products usually register a registry callback as well")
            } else {
                None
            };
            if let Some(why) = why {
                out.push(Evidence::new(
                    "altitude_bracket_registry",
                    Some(&c.driver),
                    format!(
                        "{} {why}; a registry callback can deny the {} registry operation(s) recorded.",
                        c.driver,
                        reg.len()
                    ),
                    ids(reg.iter().copied()),
                    Vec::new(),
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::synthetic::{run, Builder};

    #[test]
    fn brackets() {
        let mut b = Builder::new();
        b.kernel_module("TmPreFlt.sys", "Trend Micro Inc.", "7.0"); // 328500, anti-virus
        b.kernel_module("cldflt.sys", "Microsoft Corporation", "10.0"); // 409500 and 180451
        b.kernel_module("mydrv.sys", "Acme", "1.0"); // not listed
        let p = b.system_process(900, "app.exe", 4);
        let f = b.event(p, 1, "CreateFile", "C:\\Windows\\x.dll", 0xC000_0022, 10, 5);
        let r = b.event(p, 1, "RegSetValue", "HKLM\\Software\\X", 0xC000_0022, 20, 5);
        let ev = run(&b, find);
        let get = |d: &str, k: &str| ev.iter().find(|e| e.is_about(d) && e.key == k);
        assert_eq!(
            get("tmpreflt.sys", "altitude_bracket_below_procmon")
                .unwrap()
                .denials,
            [f]
        );
        assert_eq!(
            get("tmpreflt.sys", "altitude_bracket_registry")
                .unwrap()
                .denials,
            [r]
        );
        // cldflt straddles Procmon's altitude: no file bracket; a neutral minifilter: no registry one.
        assert!(ev.iter().all(|e| !e.is_about("cldflt.sys")));
        assert!(get("mydrv.sys", "altitude_bracket_registry").is_some());
        assert!(get("mydrv.sys", "altitude_bracket_below_procmon").is_none());
    }
}
