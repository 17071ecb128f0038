"""Stage 1, detection: has a source changed since we last built it?

The sweep picks the due sources; one check of one source runs under its check
lock, asks the source's probe, compares the answer with the stored state
(:mod:`.compare`, pure), writes it down and asks for a rebuild of every
dependency that is behind. It hands on only through
:func:`capomastro_changes.rebuilds.requests.request_rebuild`.
"""
