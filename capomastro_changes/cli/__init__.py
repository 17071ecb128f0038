"""The ``capomastro-changes`` command line: run the site, the demo, checks and status."""
