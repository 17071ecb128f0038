"""Where the compare rules were before the layout: ``from capomastro_changes.compare import
decide``, as docs/probes.md showed it, keeps working.

They live in :mod:`capomastro_changes.detection.compare`.
"""

from capomastro_changes.detection.compare import decide

__all__ = ["decide"]
