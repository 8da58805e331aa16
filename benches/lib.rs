//! Shared helpers of the benchmarks (none yet; each bench is a standalone program).
