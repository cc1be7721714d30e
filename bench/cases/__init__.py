"""Benchmark cases, one module per area; see bench/framework.py."""
