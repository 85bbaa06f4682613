//! Evidence: what the tables say about who denied what (DESIGN.md, "Evidence kinds").
//!
//! [`denials::find`] picks the denied operations out of `events`, [`candidates::find`] the
//! drivers that could have denied them out of `modules` (kernel modules of the System process,
//! enriched from the knowledge tables). Each evidence kind is one module with a pure function
//! `fn(&Context) -> Result<Vec<Evidence>>`, listed once in [`KINDS`]. Every weight comes from the
//! data table `data/weights.csv` ([`data::weights`]) with its reason; the verdict only adds them.

pub mod acl_plausible;
pub mod altitude_bracket;
pub mod candidates;
pub mod classify;
pub mod data;
pub mod denials;
pub mod diagnostics;
pub mod flt_align;
pub mod flt_chain_stop;
pub mod flt_failure_event;
pub mod log_corroboration;
pub mod nested_io;
pub mod self_protection;
pub mod status_signature;
pub mod synthetic;
pub mod vendor_role;

use crate::tables::Tables;
use polars::prelude::*;

pub use candidates::{Candidate, DriverSet};
pub use data::Strength;
pub use denials::Denial;

/// What every evidence kind reads.
pub struct Context<'a> {
    /// The incident's tables.
    pub tables: &'a Tables,
    /// Denials found in `tables.events` ([`denials::find`]).
    pub denials: &'a [Denial],
    /// Candidate and excluded drivers ([`candidates::find`]).
    pub drivers: &'a DriverSet,
}

/// One evidence item: `{kind, driver, weight, detail, events[]}` (DESIGN.md).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Evidence {
    /// Evidence kind, e.g. `nested_io`.
    pub kind: String,
    /// Key of the weight row used (`weights.csv`), e.g. `nested_io_ubiquitous`.
    pub key: String,
    /// Driver file name the item is about (as the capture spells it); `None` for items about a
    /// denial rather than a driver (`acl_plausible`).
    pub driver: Option<String>,
    /// Strength class of the weight row.
    pub strength: Strength,
    /// Log-odds the item adds to the driver's score.
    pub weight: f64,
    /// What was seen, in words a vendor can check.
    pub detail: String,
    /// Event ids (`events.event_id`) that show it: the denials first, then supporting events.
    pub events: Vec<u64>,
    /// The denials (event ids) the item is about; empty for properties of the driver.
    pub denials: Vec<u64>,
}

impl Evidence {
    /// An item weighted by the row `key` of `weights.csv`.
    pub fn new(
        key: &str,
        driver: Option<&str>,
        detail: String,
        denials: Vec<u64>,
        supporting: Vec<u64>,
    ) -> Evidence {
        let w = data::weight(key);
        let mut events = denials.clone();
        for e in supporting {
            if !events.contains(&e) {
                events.push(e);
            }
        }
        Evidence {
            kind: w.kind.clone(),
            key: w.key.clone(),
            driver: driver.map(str::to_string),
            strength: w.strength,
            weight: w.weight,
            detail,
            events,
            denials,
        }
    }

    /// Whether the item is about `driver` (file names compare case-insensitively).
    pub fn is_about(&self, driver: &str) -> bool {
        self.driver
            .as_deref()
            .is_some_and(|d| d.eq_ignore_ascii_case(driver))
    }
}

/// An evidence kind: a pure function of the context.
pub type KindFn = fn(&Context) -> anyhow::Result<Vec<Evidence>>;

/// The registry of evidence kinds, in the order their items are listed.
pub const KINDS: &[(&str, KindFn)] = &[
    ("flt_failure_event", flt_failure_event::find),
    ("flt_chain_stop", flt_chain_stop::find),
    ("nested_io", nested_io::find),
    ("self_protection", self_protection::find),
    ("status_signature", status_signature::find),
    ("altitude_bracket", altitude_bracket::find),
    ("vendor_role", vendor_role::find),
    ("acl_plausible", acl_plausible::find),
    ("log_corroboration", log_corroboration::find),
];

/// Run every kind of [`KINDS`] over the context.
pub fn collect(ctx: &Context) -> anyhow::Result<Vec<Evidence>> {
    let mut all = Vec::new();
    let timings = std::env::var_os("FLTBLAME_TIMINGS").is_some_and(|v| v == "1");
    for (name, f) in KINDS {
        let t0 = std::time::Instant::now();
        let items = f(ctx).map_err(|e| e.context(format!("evidence kind {name}")))?;
        if timings {
            eprintln!(
                "fltblame: timing: evidence {name}: {:.2} s",
                t0.elapsed().as_secs_f64()
            );
        }
        all.extend(items);
    }
    Ok(all)
}

/// Column readers for collected DataFrames (a missing column or a wrong type is an error).
pub(crate) mod cols {
    use polars::prelude::*;

    /// A String column; nulls become empty strings.
    pub fn strs(df: &DataFrame, name: &str) -> PolarsResult<Vec<String>> {
        Ok(df
            .column(name)?
            .cast(&DataType::String)?
            .str()?
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    }

    /// A UInt32 column; nulls become 0.
    pub fn u32s(df: &DataFrame, name: &str) -> PolarsResult<Vec<u32>> {
        Ok(df
            .column(name)?
            .cast(&DataType::UInt32)?
            .u32()?
            .iter()
            .map(Option::unwrap_or_default)
            .collect())
    }

    /// A UInt64 column, nulls kept.
    pub fn u64s_opt(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<u64>>> {
        Ok(df
            .column(name)?
            .cast(&DataType::UInt64)?
            .u64()?
            .iter()
            .collect())
    }

    /// A UInt64 column; nulls become 0.
    pub fn u64s(df: &DataFrame, name: &str) -> PolarsResult<Vec<u64>> {
        Ok(u64s_opt(df, name)?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect())
    }

    /// An Int64 column (Datetime columns give their nanoseconds); nulls become 0.
    pub fn i64s(df: &DataFrame, name: &str) -> PolarsResult<Vec<i64>> {
        Ok(df
            .column(name)?
            .cast(&DataType::Int64)?
            .i64()?
            .iter()
            .map(Option::unwrap_or_default)
            .collect())
    }

    /// A Boolean column; nulls become false.
    pub fn bools(df: &DataFrame, name: &str) -> PolarsResult<Vec<bool>> {
        Ok(df
            .column(name)?
            .bool()?
            .iter()
            .map(Option::unwrap_or_default)
            .collect())
    }
}

/// One resolved stack frame of `frames`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Frame {
    /// 0 = innermost.
    pub depth: u32,
    /// Return address.
    pub address: u64,
    /// Module file name; empty when unresolved.
    pub module: String,
    /// Address minus module base; `None` when unresolved.
    pub offset: Option<u64>,
    /// Kernel-mode frame.
    pub kernel: bool,
}

/// The frames of the given stacks (innermost first), keyed by `stack_id`.
pub fn stacks(
    tables: &Tables,
    stack_ids: &[u64],
) -> PolarsResult<std::collections::BTreeMap<u64, Vec<Frame>>> {
    let mut out: std::collections::BTreeMap<u64, Vec<Frame>> = Default::default();
    if stack_ids.is_empty() || tables.frames.height() == 0 {
        return Ok(out);
    }
    let ids = Series::new("ids".into(), stack_ids.to_vec());
    let df = tables
        .frames
        .clone()
        .lazy()
        .filter(col("stack_id").is_in(lit(ids).implode(false), false))
        .sort(["stack_id", "depth"], Default::default())
        .collect()?;
    let sid = cols::u64s(&df, "stack_id")?;
    let depth = cols::u32s(&df, "depth")?;
    let addr = cols::u64s(&df, "address")?;
    let module = cols::strs(&df, "module")?;
    let offset = cols::u64s_opt(&df, "offset")?;
    let kernel = cols::bools(&df, "kernel")?;
    for i in 0..df.height() {
        out.entry(sid[i]).or_default().push(Frame {
            depth: depth[i],
            address: addr[i],
            module: module[i].clone(),
            offset: offset[i],
            kernel: kernel[i],
        });
    }
    Ok(out)
}
