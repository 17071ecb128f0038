"""Django admin: why each build ran, why each source did not build, and the levers to act.

Staff-only, as every admin page. Secrets are never rendered: tokens show as
"set" or "not set", passwords in URLs as ``***``, lock tokens not at all.
Importing the package registers every model (Django's admin autodiscovery
imports it).
"""

from capomastro_changes.admin import builds, ephemera, records, servers, sources  # noqa: F401
