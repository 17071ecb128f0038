"""Adopting an existing capomastro: its servers, job types, jobs, builds, dependencies
and projects read from its own database, read-only, and made ours, re-runnably.

The flow: :mod:`.reader` reads capomastro's tables into plain rows;
:mod:`.wanted` turns them into the records we want, keyed by capomastro's
natural keys; :mod:`.importing` compares them with ours and creates or updates
what differs (or only says so, on a dry run); :mod:`.report` tells the
operator, without a secret in it.
"""
