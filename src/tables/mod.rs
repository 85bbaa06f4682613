//! The polars DataFrames every reader maps into (`shared/docs/DESIGN.md`, "Tables").
//!
//! Column names and types are stable API: queries and users depend on them.
//!
//! `frames` is complete in `query`, `check` and `export`. `analyze` reads a focused `frames`
//! ([`build::FrameScope::Focused`]): every frame of the denied operations and of the operations
//! their threads started while they ran, and every frame of a candidate driver on any stack —
//! the rows the evidence and the report read, without a row per return address of a multi-GB
//! capture (`tests/frames_scope.rs` holds it to the same verdict as the full table).
//!
//! | table | columns (type) |
//! |---|---|
//! | `events` | `event_id` (UInt64, unique over all inputs), `source` (String, input file name), `time_utc` (Datetime ns UTC), `pid` (UInt32), `tid` (UInt32), `process_name` (String), `user` (String, `DOMAIN\name`), `integrity` (String), `class` (String: Process, Registry, File System, Network, Profiling), `operation` (String, Procmon's name), `path` (String), `status` (UInt32 NTSTATUS), `status_name` (String, Procmon's Result text), `duration_ns` (Int64), `detail` (String, Procmon's Detail), `category` (String), `stack_id` (UInt64, null when the event has no stack; equals `event_id` otherwise) |
//! | `frames` | `stack_id` (UInt64), `depth` (UInt32, 0 = innermost), `address` (UInt64), `module` (String, null when unresolved), `offset` (UInt64, address - module base; null when unresolved), `kernel` (Boolean) |
//! | `modules` | `source` (String), `pid` (UInt32; kernel modules under 4), `base` (UInt64), `size` (UInt64), `path` (String), `name` (String, file name), `company` (String), `version` (String), `description` (String) |
//! | `callbacks` | `time_utc` (Datetime ns UTC, the callback's start), `source` (String), `irp` (UInt64), `callback_data` (UInt64), `file_object` (UInt64), `path` (String), `major_function` (String, `IRP_MJ_*`), `phase` (String: `pre` / `post`), `driver` (String, null when the routine resolves to no module), `routine` (UInt64), `status` (UInt32, null when unknown: the failure event's status, else a status the payload variant carried), `status_name` (String), `duration_ns` (Int64, null without a completion event), `pid` (UInt32), `tid` (UInt32), `layout` (String: which inferred payload layout(s) matched, `+`-joined), `event_id` (UInt64, the `events` row of the request, null when none), `failure` (Boolean: a FltIoFailure event 100/101 reported this callback) — one row per callback invocation from ETL minifilter events 96-101 ([`etl`]) |
//! | `log_lines` | `time_utc` (Datetime ns UTC, null when the line has no time), `source` (String, file name), `line` (UInt64, 1-based), `component` (String, e.g. `CBS`, `CSI`, `sto`), `level` (String), `text` (String), `hresult` (UInt32, null when none), `signature` (String, failure signature or null), `object` (String, the inf / service / key / file / package named, or null) |
//! | `processes` | `source` (String), `pid` (UInt32), `ppid` (UInt32), `name` (String), `image` (String), `command_line` (String), `user` (String), `integrity` (String), `session` (UInt32), `start_utc` (Datetime ns UTC, null when 0), `end_utc` (Datetime ns UTC, null while running) |

pub mod build;
mod cols;
pub mod etl;
pub mod logs;

pub use build::{from_pml, from_pml_with_base, InputInfo, Tables};
