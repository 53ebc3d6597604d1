"""Deterministic sample log generators for tests, the demo and benchmarks."""
