//! `vendor_role` (weak): what the driver's load order group does with requests
//! (`data/group_roles.csv`): anti-virus, content screener / DLP and security enhancer members
//! deny by design; activity monitor, backup, replication and undelete members do not. A driver
//! no table knows gets an `unknown` item of weight 0 — there is no list of driver names.
//!
//! The item is a property of the driver, not of a denial (its `denials` list is empty).

use super::data::Role;
use super::{Context, Evidence};

/// Find `vendor_role` evidence: one item per candidate.
pub fn find(ctx: &Context) -> anyhow::Result<Vec<Evidence>> {
    Ok(ctx
        .drivers
        .candidates
        .iter()
        .map(|c| {
            let key = match c.role {
                Role::Deny => "vendor_role_deny",
                Role::NoDeny => "vendor_role_no_deny",
                Role::Neutral => "vendor_role_neutral",
                Role::Unknown => "vendor_role_unknown",
            };
            let detail = match c.role {
                Role::Unknown => format!(
                    "{} is not in Microsoft's list of allocated altitudes and no table knows its role.",
                    c.driver
                ),
                _ => format!("{} is in {}.", c.driver, c.role_reason),
            };
            Evidence::new(key, Some(&c.driver), detail, Vec::new(), Vec::new())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::synthetic::{run, Builder};

    #[test]
    fn roles() {
        let mut b = Builder::new();
        b.kernel_module("TmPreFlt.sys", "Trend Micro Inc.", "7.0");
        b.kernel_module("krnlmgr.sys", "", "1.0");
        let ev = run(&b, find); // no events: no denials
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].key, "vendor_role_deny");
        assert!(ev[0].weight > 0.0 && ev[0].detail.contains("FSFilter Anti-Virus"));
        assert_eq!(ev[1].key, "vendor_role_unknown");
        assert_eq!(ev[1].weight, 0.0);
    }
}
