//! Benchmarks and the load generator live here (see BENCHMARKS.md once issue 7 lands).
