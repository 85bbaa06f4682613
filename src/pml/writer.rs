//! PML writer (stub; being written).
