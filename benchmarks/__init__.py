"""Benchmarks that measure our hot paths against the plain-DuckDB limit (docs/benchmarks.md)."""
