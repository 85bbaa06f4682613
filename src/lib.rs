//! fltblame: batch analyzer for Windows servicing failures.
//!
//! Data flows one way (`shared/docs/DESIGN.md`): readers (`pml`) -> tables (`tables`, polars
//! DataFrames) -> evidence (`evidence`) -> verdict (`verdict`) -> outputs (`report`, `export`).

pub mod bench;
#[cfg(feature = "tables")]
pub mod check;
pub mod etl;
#[cfg(feature = "tables")]
pub mod evidence;
pub mod export;
#[cfg(feature = "tables")]
pub mod fleet;
pub mod info;
#[cfg(feature = "tables")]
pub mod input;
pub mod intake;
pub mod knowledge;
pub mod logs;
pub mod pml;
#[cfg(feature = "tables")]
pub mod query;
#[cfg(feature = "tables")]
pub mod redact;
#[cfg(feature = "tables")]
pub mod report;
pub mod samples;
#[cfg(feature = "tables")]
pub mod tables;
#[cfg(feature = "tables")]
pub mod verdict;
