"""Tests of the neuro_compat package."""
