//! Pre-flight for the Neural Engine: per-chip lints for silent failures and a calibrated cost model
