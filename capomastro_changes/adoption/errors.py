"""Why an import could not start: said in one line, with nothing created anywhere."""


class AdoptionError(Exception):
    """The capomastro database cannot be read as capomastro's."""


class Unreadable(AdoptionError):
    """The database does not exist, or cannot be opened read-only."""


class NotCapomastro(AdoptionError):
    """The database opens, but lacks capomastro's tables."""
