"""Tests of the cerulean package."""
