"""Date formats of the standalone site (``FORMAT_MODULE_PATH``): one format, with the zone."""
