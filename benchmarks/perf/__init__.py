"""wmplan benchmarks/perf."""
