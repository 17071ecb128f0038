"""``bygmester-ephemera``: a build's expensive state, kept after success and unfurled next time.

Runs on the builder, where only this package is installed, so nothing here
imports Django. The server side (staging, committing on SUCCESS, eviction)
lives in :mod:`capomastro_changes.builds.ephemera`.
"""
