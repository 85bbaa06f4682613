//! Building the tables from readers. (stub, being written by the lead)

use polars::prelude::*;

/// What one input contributed, for provenance and diagnostics.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct InputInfo {
    /// Path as given.
    pub path: String,
    /// Input kind (`pml`).
    pub kind: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Computer name from the capture header.
    pub computer: String,
    /// OS text, e.g. `Windows 7 (build 7601, Service Pack 1)`.
    pub os: String,
    /// 64-bit capture.
    pub is_64bit: bool,
    /// Events read.
    pub events: u64,
    /// First event time, ISO 8601 UTC.
    pub first_utc: Option<String>,
    /// Last event time, ISO 8601 UTC.
    pub last_utc: Option<String>,
    /// Problems met while reading (file, offset, what was done).
    pub warnings: Vec<String>,
}

/// The tables of one incident (one or more inputs).
pub struct Tables {
    /// One row per operation.
    pub events: DataFrame,
    /// One row per stack frame.
    pub frames: DataFrame,
    /// One row per module per process.
    pub modules: DataFrame,
    /// One row per process.
    pub processes: DataFrame,
    /// The inputs read.
    pub inputs: Vec<InputInfo>,
}

/// Build the tables of one PML. (stub)
pub fn from_pml(_pml: &crate::pml::Pml) -> PolarsResult<Tables> {
    todo!()
}
