//! Shared helpers for weft's side-by-side benchmarks (placeholder until the benchmark suite lands).
