//! fltblame: batch analyzer for Windows servicing failures.
//!
//! Data flows one way (`shared/docs/DESIGN.md`): readers (`pml`) -> tables (`tables`, polars
//! DataFrames) -> evidence (`evidence`) -> verdict (`verdict`) -> outputs (`report`, `export`).

pub mod bench;
pub mod check;
pub mod etl;
pub mod evidence;
pub mod export;
pub mod fleet;
pub mod info;
pub mod input;
pub mod knowledge;
pub mod logs;
pub mod pml;
pub mod query;
pub mod report;
pub mod samples;
pub mod tables;
pub mod verdict;
