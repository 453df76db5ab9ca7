"""wmplan benchmarks."""
