//! Verdict (stub; being written).
