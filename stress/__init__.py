"""Stress and fault harnesses: the chaos run and the bad-input corpus (issue 8)."""
