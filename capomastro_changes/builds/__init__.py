"""Stage 3, builds: what Jenkins says of a build, recorded and settled.

Notifications are parsed (:mod:`.notifications`, pure) and applied
(:mod:`.events`); the reaper asks Jenkins about builds that fell silent
(:mod:`.settling`). Ending a build lets go of its request's lock through
:mod:`capomastro_changes.rebuilds.dispatch`.
"""
