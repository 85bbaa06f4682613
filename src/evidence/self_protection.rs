//! `self_protection` (medium): the denied object belongs to the driver itself — its service key
//! (`HKLM\System\CurrentControlSet\Services\<driver name without extension>`), its image file,
//! or its own vendor folder — or to another component of the same product (a module of any
//! process whose version resource names the same, non-Microsoft company) — or is named by the
//! driver's own configuration: a value under its (or its product's) service key, as read in the
//! capture (`RegQueryValue` / `RegEnumValue` Detail `Data: ...`), lists the denied key or file
//! (a protection list). Endpoint products guard exactly these; ordinary ACLs do not keep SYSTEM or
//! TrustedInstaller off them.

use super::candidates::{file_stem, Candidate};
use super::classify::object_name;
use super::{cols, Context, Denial, Evidence};
use polars::prelude::*;

const SERVICES: &str = "hklm\\system\\currentcontrolset\\services\\";

/// One component's names: service-key name, file name, vendor folder (when not under Windows).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Component {
    file: String,
    stem: String,
    folder: Option<String>,
}

/// Lower-case volume-relative form of a module path (`\SystemRoot\...` and bare `system32\...`
/// become `\windows\...`).
fn module_key(path: &str) -> String {
    let k = object_name(path).key;
    if let Some(rest) = k.strip_prefix("\\systemroot\\") {
        format!("\\windows\\{rest}")
    } else if k.starts_with("system32\\") {
        format!("\\windows\\{k}")
    } else {
        k
    }
}

fn component(name: &str, path: &str) -> Component {
    let key = module_key(path);
    let folder = key
        .rsplit_once('\\')
        .map(|(dir, _)| dir.to_string())
        .filter(|dir| !dir.starts_with("\\windows") && dir.matches('\\').count() >= 2);
    Component {
        file: name.to_lowercase(),
        stem: file_stem(name),
        folder,
    }
}

/// How a denial's object belongs to a component, if it does.
fn belongs(d: &Denial, c: &Component) -> Option<String> {
    if d.registry {
        let rest = d.object_key.strip_prefix(SERVICES)?;
        let svc = rest.split('\\').next().unwrap_or("");
        return (svc == c.stem).then(|| format!("its service key Services\\{svc}"));
    }
    let file = d.object_key.rsplit('\\').next().unwrap_or("");
    if file == c.file {
        return Some(format!("its image file {}", c.file));
    }
    let folder = c.folder.as_deref()?;
    d.object_key
        .starts_with(&format!("{folder}\\"))
        .then(|| format!("its folder {folder}"))
}

/// A value read under a service key: `(service name, value path, data text, event id)`.
struct ConfigValue {
    service: String,
    path: String,
    data: String,
    event: u64,
}

/// Every value with data read under `HKLM\System\CurrentControlSet\Services\<service>\...`.
fn config_values(ctx: &Context) -> PolarsResult<Vec<ConfigValue>> {
    let ops = Series::new("ops".into(), ["RegQueryValue", "RegEnumValue"]);
    let df = ctx
        .tables
        .events
        .clone()
        .lazy()
        .filter(col("operation").is_in(lit(ops).implode(false), false))
        // Cheap pre-filters before any text is copied out (a multi-GB capture reads millions
        // of values): data was printed, and the path passes through a `Services` key.
        .filter(col("detail").str().contains_literal(lit("Data:")))
        .filter(
            col("path")
                .str()
                .to_lowercase()
                .str()
                .contains_literal(lit("\\services\\")),
        )
        .select([col("event_id"), col("path"), col("detail")])
        .collect()?;
    let mut out = Vec::new();
    if df.height() == 0 {
        return Ok(out);
    }
    let ids = cols::u64s(&df, "event_id")?;
    let paths = cols::strs(&df, "path")?;
    let details = cols::strs(&df, "detail")?;
    for i in 0..df.height() {
        let Some((_, data)) = details[i].split_once("Data:") else {
            continue;
        };
        let key = object_name(&paths[i]).key;
        let Some(rest) = key.strip_prefix(SERVICES) else {
            continue;
        };
        let data = data.trim();
        if !data.is_empty() {
            out.push(ConfigValue {
                service: rest.split('\\').next().unwrap_or("").to_string(),
                path: paths[i].clone(),
                data: data.to_string(),
                event: ids[i],
            });
        }
    }
    Ok(out)
}

/// Lower-case names a protection list would use for a denial's object: the key name (for value
/// operations the key holding the value), or the file name and its stem; three characters at
/// least.
fn object_names(d: &Denial) -> Vec<String> {
    let comps: Vec<&str> = d.object_key.split('\\').filter(|c| !c.is_empty()).collect();
    let mut names = Vec::new();
    if d.registry {
        let value_op = d.operation.starts_with("Reg") && d.operation.ends_with("Value");
        let i = comps.len().saturating_sub(if value_op { 2 } else { 1 });
        if let Some(c) = comps.get(i) {
            names.push(c.to_string());
        }
    } else if let Some(file) = comps.last() {
        names.push(file.to_string());
        names.push(file_stem(file));
    }
    names.retain(|n| n.len() >= 3);
    names.dedup();
    names
}

/// The entry of a configuration value's data that names the denied object, if any: an entry
/// equal to one of its names (or whose last path component or stem is), or a path the object
/// lies under.
fn listed_entry(data: &str, d: &Denial) -> Option<String> {
    let names = object_names(d);
    data.split([',', ';', '|'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .find(|t| {
            let lower = t.to_lowercase();
            let last = lower.rsplit(['\\', '/']).next().unwrap_or(&lower);
            if names.iter().any(|n| n == last || *n == file_stem(last)) {
                return true;
            }
            lower.contains('\\') && {
                let k = object_name(t).key;
                d.object_key == k || d.object_key.starts_with(&format!("{k}\\"))
            }
        })
        .map(str::to_string)
}

/// Modules of every process whose company equals `company`, as components (distinct files).
fn product_components(ctx: &Context, company: &str) -> PolarsResult<Vec<Component>> {
    let df = ctx
        .tables
        .modules
        .clone()
        .lazy()
        .filter(
            col("company")
                .str()
                .to_lowercase()
                .eq(lit(company.to_lowercase())),
        )
        .select([col("name"), col("path")])
        .unique(None, UniqueKeepStrategy::First)
        .collect()?;
    let mut out: Vec<Component> = Vec::new();
    for (n, p) in cols::strs(&df, "name")?
        .into_iter()
        .zip(cols::strs(&df, "path")?)
    {
        if !n.is_empty() && !out.iter().any(|c| c.file == n.to_lowercase()) {
            out.push(component(&n, &p));
        }
    }
    Ok(out)
}

fn item(key: &str, c: &Candidate, hits: Vec<(&Denial, String)>, whose: &str) -> Evidence {
    let (d, how) = &hits[0];
    let more = if hits.len() > 1 {
        format!(" ({} denials in all)", hits.len())
    } else {
        String::new()
    };
    Evidence::new(
        key,
        Some(&c.driver),
        format!(
            "{} of {} by {} (event {}) was denied; the object is {whose} {how}{more}.",
            d.operation, d.object, d.process, d.event_id
        ),
        hits.iter().map(|(d, _)| d.event_id).collect(),
        Vec::new(),
    )
}

/// `self_protection_listed` for `c`: values under its own or its product's service keys that
/// name denied objects.
fn listed(
    c: &Candidate,
    own: &Component,
    product: &[Component],
    config: &[ConfigValue],
    denials: &[Denial],
) -> Option<Evidence> {
    let mut hits: Vec<(&Denial, &ConfigValue, String)> = Vec::new();
    for d in denials {
        let found = config
            .iter()
            .filter(|v| v.service == own.stem || product.iter().any(|p| p.stem == v.service))
            .find_map(|v| listed_entry(&v.data, d).map(|entry| (d, v, entry)));
        hits.extend(found);
    }
    let (d, v, entry) = hits.first()?;
    let whose = if v.service == own.stem {
        format!("{}'s own service key", c.driver)
    } else {
        format!(
            "the service key of {}, same vendor as {}",
            v.service, c.driver
        )
    };
    let more = if hits.len() > 1 {
        format!(" ({} denials named in all)", hits.len())
    } else {
        String::new()
    };
    let mut supporting: Vec<u64> = hits.iter().map(|h| h.1.event).collect();
    supporting.dedup();
    Some(Evidence::new(
        "self_protection_listed",
        Some(&c.driver),
        format!(
            "{} (event {}, under {whose}) lists \"{entry}\", which names {} denied to {} ({}, event {}){more}.",
            v.path, v.event, d.object, d.process, d.operation, d.event_id
        ),
        hits.iter().map(|h| h.0.event_id).collect(),
        supporting,
    ))
}

/// Find `self_protection` evidence.
pub fn find(ctx: &Context) -> anyhow::Result<Vec<Evidence>> {
    let mut out = Vec::new();
    if ctx.denials.is_empty() {
        return Ok(out);
    }
    let config = config_values(ctx)?;
    for c in &ctx.drivers.candidates {
        let own = component(&c.driver, &c.path);
        let own_hits: Vec<(&Denial, String)> = ctx
            .denials
            .iter()
            .filter_map(|d| belongs(d, &own).map(|how| (d, how)))
            .collect();
        if !own_hits.is_empty() {
            out.push(item(
                "self_protection_own",
                c,
                own_hits,
                &format!("{}'s own:", c.driver),
            ));
        }
        let product: Vec<Component> = if c.microsoft || c.company.trim().is_empty() {
            Vec::new()
        } else {
            product_components(ctx, c.company.trim())?
                .into_iter()
                .filter(|p| p.file != own.file)
                .collect()
        };
        if let Some(e) = listed(c, &own, &product, &config, ctx.denials) {
            out.push(e);
        }
        let hits: Vec<(&Denial, String)> = ctx
            .denials
            .iter()
            .filter(|d| belongs(d, &own).is_none())
            .filter_map(|d| {
                product
                    .iter()
                    .find_map(|p| belongs(d, p).map(|how| (d, format!("{how} ({})", p.file))))
            })
            .collect();
        if !hits.is_empty() {
            out.push(item(
                "self_protection_product",
                c,
                hits,
                &format!(
                    "a component of the same vendor as {} ({}):",
                    c.driver,
                    c.company.trim()
                ),
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
    fn own_and_product() {
        let mut b = Builder::new();
        b.kernel_module("krnlmgr.sys", "Acme Endpoint", "1.0");
        b.kernel_module("other.sys", "Other Inc.", "1.0");
        b.module(
            1200,
            "devmgr.exe",
            "C:\\Program Files\\Acme\\devmgr.exe",
            "Acme Endpoint",
            "1.0",
        );
        let ti = b.system_process(700, "TrustedInstaller.exe", 500);
        let own = b.event(
            ti,
            1,
            "RegSetValue",
            "HKLM\\System\\ControlSet001\\Services\\krnlmgr\\Start",
            0xC000_0022,
            10,
            5,
        );
        let prod = b.event(
            ti,
            1,
            "RegSetValue",
            "HKLM\\System\\CurrentControlSet\\Services\\devmgr\\Start",
            0xC000_0022,
            20,
            5,
        );
        let folder = b.event(
            ti,
            1,
            "WriteFile",
            "C:\\Program Files\\Acme\\conf.dat",
            0xC000_0022,
            30,
            5,
        );
        let file = b.event(
            ti,
            1,
            "WriteFile",
            "C:\\Windows\\System32\\drivers\\krnlmgr.sys",
            0xC000_0022,
            40,
            5,
        );
        b.event(
            ti,
            1,
            "RegSetValue",
            "HKLM\\System\\CurrentControlSet\\Services\\AmdK8\\Start",
            0xC000_0022,
            50,
            5,
        );
        b.event(
            ti,
            1,
            "RegSetValue",
            "HKLM\\System\\CurrentControlSet\\Services\\krnlmgrx",
            0xC000_0022,
            60,
            5,
        );
        let ev = run(&b, find);
        assert_eq!(ev.len(), 2, "{ev:#?}");
        assert_eq!(ev[0].key, "self_protection_own");
        assert_eq!(ev[0].denials, [own, file]);
        assert_eq!(ev[1].key, "self_protection_product");
        assert_eq!(ev[1].denials, [prod, folder]);
        assert!(ev.iter().all(|e| e.is_about("krnlmgr.sys")));
    }

    #[test]
    fn listed_in_its_own_configuration() {
        let mut b = Builder::new();
        b.kernel_module("guard.sys", "Acme", "1.0");
        b.kernel_module("other.sys", "Other Inc.", "1.0");
        let sys = 0; // the System process Builder::new() adds
        let cfg = b.event(
            sys,
            56,
            "RegQueryValue",
            "HKLM\\System\\ControlSet001\\Services\\guard\\Parameters\\Protected",
            0,
            1,
            5,
        );
        b.detail(
            cfg,
            "Type: REG_MULTI_SZ, Length: 40, Data: foo, AmdK8, C:\\Program Files\\Shared",
        );
        let other = b.event(
            sys,
            56,
            "RegQueryValue",
            "HKLM\\System\\CurrentControlSet\\Services\\other\\List",
            0,
            2,
            5,
        );
        b.detail(other, "Type: REG_SZ, Length: 8, Data: unrelated");
        let ti = b.system_process(700, "TrustedInstaller.exe", 500);
        let d1 = b.event(
            ti,
            1,
            "RegSetValue",
            "HKLM\\System\\CurrentControlSet\\Services\\AmdK8\\Start",
            0xC000_0022,
            10,
            5,
        );
        let d2 = b.event(
            ti,
            1,
            "WriteFile",
            "C:\\Program Files\\Shared\\x.dll",
            0xC000_0022,
            20,
            5,
        );
        b.event(
            ti,
            1,
            "RegSetValue",
            "HKLM\\System\\CurrentControlSet\\Services\\AmdPPM\\Start",
            0xC000_0022,
            30,
            5,
        );
        let ev = run(&b, find);
        assert_eq!(ev.len(), 1, "{ev:#?}");
        assert_eq!(ev[0].key, "self_protection_listed");
        assert!(ev[0].is_about("guard.sys"));
        assert_eq!(ev[0].denials, [d1, d2]);
        assert_eq!(ev[0].events, [d1, d2, cfg]);
        assert!(ev[0].detail.contains("\"AmdK8\""));
    }
}
