"""Benchmarks that print figures and assert nothing: `python -m bench.search`, `bench.dialogue`, `bench.channels`."""
