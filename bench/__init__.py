"""Benchmarks: ours against PyPI cerulean 1.0.0 and OpenSSH (`make bench`)."""
