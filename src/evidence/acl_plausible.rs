//! `acl_plausible` (against `filter`): the actor/target pair of a denial is one ordinary ACLs
//! deny (a Medium integrity user on a system path, NETWORK SERVICE on SYSTEM-only keys ...), as
//! judged by [`super::classify::acl_plausible`] when the denials were found.
//!
//! One item per ACL-plausible denial, about no driver; the verdict charges a suspect with these
//! items when every denial its evidence concerns is ACL-plausible.

use super::{Context, Evidence};

/// Find `acl_plausible` evidence: one item per ACL-plausible denial.
pub fn find(ctx: &Context) -> anyhow::Result<Vec<Evidence>> {
    Ok(ctx
        .denials
        .iter()
        .filter(|d| d.acl_plausible)
        .map(|d| {
            Evidence::new(
                "acl_plausible",
                None,
                format!(
                    "{} {} by {} ({}, {} integrity) was denied ({}); {}.",
                    d.operation,
                    d.object,
                    d.process,
                    if d.user.is_empty() {
                        "unknown user"
                    } else {
                        &d.user
                    },
                    if d.integrity.is_empty() {
                        "unknown"
                    } else {
                        &d.integrity
                    },
                    d.status_name,
                    d.acl_reason
                ),
                vec![d.event_id],
                Vec::new(),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::synthetic::{run, Builder};

    #[test]
    fn one_item_per_plausible_denial() {
        let mut b = Builder::new();
        let u = b.process(900, "SearchProtocolHost.exe", "PC\\test", "Medium", 4);
        let ns = b.process(
            888,
            "svchost.exe",
            "NT AUTHORITY\\NETWORK SERVICE",
            "System",
            4,
        );
        let ti = b.system_process(700, "TrustedInstaller.exe", 4);
        let a = b.event(
            u,
            1,
            "RegOpenKey",
            "HKLM\\Software\\Microsoft\\Windows Search",
            0xC000_0022,
            10,
            5,
        );
        let c = b.event(
            ns,
            2,
            "RegCreateKey",
            "HKLM\\Software\\Microsoft\\SecurityManager\\CapAuthz",
            0xC000_0022,
            20,
            5,
        );
        b.event(
            ti,
            3,
            "RegSetValue",
            "HKLM\\System\\CurrentControlSet\\Services\\AmdK8\\Start",
            0xC000_0022,
            30,
            5,
        );
        let ev = run(&b, find);
        let ids: Vec<u64> = ev.iter().flat_map(|e| e.denials.clone()).collect();
        assert_eq!(ids, [a, c]);
        assert!(ev.iter().all(|e| e.driver.is_none() && e.weight < 0.0));
    }
}
