"""Kept for docs/probes.md's ``from capomastro_changes.compare import decide``.

The compare rules live in :mod:`capomastro_changes.detection.compare`.
"""

from capomastro_changes.detection.compare import decide

__all__ = ["decide"]
