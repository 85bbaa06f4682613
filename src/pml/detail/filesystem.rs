//! Detail decoding for this event class (stub; see `procmon-text.md`).

use super::Decoded;
use crate::pml::reader::{Pml, RawEvent};
use std::borrow::Cow;

/// Decode Operation, Path, Detail and Category of an event of this class.
pub fn decode(_pml: &Pml, ev: &RawEvent) -> Decoded {
    Decoded {
        operation: Cow::Owned(format!("op{}", ev.operation)),
        ..Decoded::default()
    }
}
