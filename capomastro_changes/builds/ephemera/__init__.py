"""Ephemera on the server: staging an upload, committing it on SUCCESS, finding, evicting.

The builder's side is :mod:`bygmester_hooks.ephemera`; docs/ephemera.md tells both.
"""
