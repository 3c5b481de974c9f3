"""Helpers shared by the test files (no tests here). See tests/README.md for the conventions."""
