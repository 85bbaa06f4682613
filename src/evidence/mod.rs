//! Evidence kinds (stub; being written).
