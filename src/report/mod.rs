//! Outputs: terminal summary, verdict.json, report.html (stub; being written).
