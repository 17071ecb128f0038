"""Stage 2, rebuilds: from a request to a build Jenkins has accepted, one at a time.

A request takes a build slot and its dependency's lock, or its busy policy
decides; then complete project builds are planned (:mod:`.planning`, pure)
and Jenkins is asked. Requests nothing else would move on are recovered here
too. It imports no other stage.
"""
