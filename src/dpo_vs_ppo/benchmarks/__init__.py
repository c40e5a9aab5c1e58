"""Benchmarks: scripts that measure and print figures (speed is measured here, never in timed tests)."""
