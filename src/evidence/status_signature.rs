//! `status_signature` (medium): a status only filters produce, tied to the role that returns it.
//!
//! - VIRUS INFECTED / VIRUS DELETED (0xC0000906 / 0xC0000907): anti-virus filters; evidence for
//!   every candidate of an anti-virus load order group.
//! - Customer-bit statuses (bit 29 set): defined only by third-party code; evidence for every
//!   non-Microsoft candidate (shared, so it names no one on its own when several are loaded).
//! - Cloud-file statuses (0xC000CFxx): Microsoft's cldflt.sys returns them routinely for a sync
//!   provider; recorded against cldflt.sys with weight 0, no third-party denial by themselves.
//!
//! Other `filter_only` statuses (offload not supported ...) name no role and give nothing.

use super::{Context, Denial, Evidence};

const VIRUS_INFECTED: u32 = 0xC000_0906;
const VIRUS_DELETED: u32 = 0xC000_0907;
const CUSTOMER_BIT: u32 = 0x2000_0000;
const CLOUD_FILTER: &str = "cldflt.sys";

/// A cloud-files status (facility 0xCF of the NTSTATUS error space).
pub fn is_cloud_status(code: u32) -> bool {
    code & 0xFFFF_FF00 == 0xC000_CF00
}

fn describe(ds: &[&Denial]) -> String {
    let d = ds[0];
    let more = if ds.len() > 1 {
        format!(" and {} more", ds.len() - 1)
    } else {
        String::new()
    };
    format!(
        "{} ({}) on {} by {} (event {}){more}",
        d.status_name,
        d.status_hex(),
        d.object,
        d.process,
        d.event_id
    )
}

fn ids(ds: &[&Denial]) -> Vec<u64> {
    ds.iter().map(|d| d.event_id).collect()
}

/// Find `status_signature` evidence.
pub fn find(ctx: &Context) -> anyhow::Result<Vec<Evidence>> {
    let virus: Vec<&Denial> = ctx
        .denials
        .iter()
        .filter(|d| d.status == VIRUS_INFECTED || d.status == VIRUS_DELETED)
        .collect();
    let customer: Vec<&Denial> = ctx
        .denials
        .iter()
        .filter(|d| d.status & CUSTOMER_BIT != 0 && d.status >= 0x8000_0000)
        .collect();
    let cloud: Vec<&Denial> = ctx
        .denials
        .iter()
        .filter(|d| is_cloud_status(d.status))
        .collect();
    let mut out = Vec::new();
    for c in &ctx.drivers.candidates {
        let group = c.load_order_group.as_deref().unwrap_or("");
        if !virus.is_empty() && group.to_lowercase().contains("anti-virus") {
            out.push(Evidence::new(
                "status_signature_virus",
                Some(&c.driver),
                format!(
                    "{}: only anti-virus filters return it, and {} is in {group}.",
                    describe(&virus),
                    c.driver
                ),
                ids(&virus),
                Vec::new(),
            ));
        }
        if !customer.is_empty() && !c.microsoft {
            out.push(Evidence::new(
                "status_signature_customer",
                Some(&c.driver),
                format!(
                    "{}: a customer-bit status is defined only by third-party code, and {} ({}) is a third-party kernel driver.",
                    describe(&customer),
                    c.driver,
                    if c.vendor().is_empty() { "no company in its version resource".to_string() } else { c.vendor() }
                ),
                ids(&customer),
                Vec::new(),
            ));
        }
        if !cloud.is_empty() && c.driver.eq_ignore_ascii_case(CLOUD_FILTER) {
            out.push(Evidence::new(
                "status_signature_cloud",
                Some(&c.driver),
                format!(
                    "{}: a cloud-files status, returned routinely by Microsoft's {} for a sync provider; not a third-party denial by itself.",
                    describe(&cloud),
                    c.driver
                ),
                ids(&cloud),
                Vec::new(),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::synthetic::{run, Builder};

    #[test]
    fn signatures() {
        assert!(is_cloud_status(0xC000_CF18) && !is_cloud_status(0xC000_0022));
        let mut b = Builder::new();
        b.kernel_module("TmPreFlt.sys", "Trend Micro Inc.", "7.0");
        b.kernel_module("cldflt.sys", "Microsoft Corporation", "10.0");
        b.kernel_module("mydrv.sys", "Acme", "1.0");
        let p = b.process(900, "app.exe", "PC\\bob", "Medium", 4);
        let v = b.event(
            p,
            1,
            "CreateFile",
            "C:\\Users\\bob\\x.exe",
            VIRUS_INFECTED,
            10,
            5,
        );
        let cu = b.event(p, 1, "CreateFile", "C:\\Users\\bob\\y", 0xE000_0010, 20, 5);
        b.event(
            p,
            1,
            "CreateFile",
            "C:\\Users\\bob\\OneDrive\\z",
            0xC000_CF18,
            30,
            5,
        );
        let ev = run(&b, find);
        let get = |d: &str, k: &str| ev.iter().find(|e| e.is_about(d) && e.key == k);
        assert_eq!(
            get("TmPreFlt.sys", "status_signature_virus")
                .unwrap()
                .denials,
            [v]
        );
        assert!(get("mydrv.sys", "status_signature_virus").is_none());
        assert_eq!(
            get("mydrv.sys", "status_signature_customer")
                .unwrap()
                .denials,
            [cu]
        );
        assert!(get("cldflt.sys", "status_signature_customer").is_none());
        assert_eq!(
            get("cldflt.sys", "status_signature_cloud").unwrap().weight,
            0.0
        );
    }
}
