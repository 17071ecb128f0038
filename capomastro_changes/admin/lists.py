"""Lists that fit 1,280 px: a long revision, URL, name or error breaks inside its cell."""


class ListsFit:
    """Mixed into the app's admins: its one stylesheet, on every list and page of theirs."""

    class Media:
        css = {"all": ["capomastro_changes/lists.css"]}
