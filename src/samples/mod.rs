//! Generators of the committed samples under `samples/` (stub; being written).
