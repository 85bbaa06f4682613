//! fltblame: batch analyzer for Windows servicing failures.
//!
//! Data flows one way (`shared/docs/DESIGN.md`): readers (`pml`) -> tables (`tables`, polars
//! DataFrames) -> evidence (`evidence`) -> verdict (`verdict`) -> outputs (`report`, `export`).

pub mod knowledge;
pub mod pml;
pub mod tables;
pub mod evidence;
pub mod report;
pub mod samples;
pub mod verdict;
