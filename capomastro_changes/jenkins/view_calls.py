"""Jenkins list views, one per project (see :mod:`capomastro_changes.builds.dashboards`).

A part of :class:`~capomastro_changes.jenkins.client.JenkinsClient`, kept apart
because views are a concern of their own: creating, comparing, replacing and
deleting them. It calls Jenkins only through the client's python-jenkins object
and its ``_calling`` guard, so its errors read as every other call's.
"""

from __future__ import annotations

from collections.abc import Callable

from capomastro_changes.jenkins.errors import JenkinsError, JenkinsNotFound


class ListViewCalls:
    """The client's list-view calls; ``_jenkins`` and ``_calling`` are the client's."""

    def upsert_view(
        self, name: str, config_xml: str, unchanged: Callable[[str], bool] | None = None
    ) -> bool:
        """Create the view from ``config_xml``, or replace the config of the existing one.

        Jenkins stores a view as it rewrites it (declaration, element order, sorted
        job names), so equal text is rare: ``unchanged`` tells from the stored
        config whether it already says what matters; by default the text must match.
        A view that another worker created meanwhile is updated, not an error.

        Returns:
            True when Jenkins was changed, False when the view was left as it was.
        """
        unchanged = unchanged or config_xml.__eq__
        current = self._view_config(name)
        if current is None:
            current = self._create_view(name, config_xml)
            if current is None:
                return True
        if unchanged(current):
            return False
        with self._calling(f"updating view {name!r}"):
            self._jenkins.reconfig_view(name, config_xml)
        return True

    def delete_view(self, name: str) -> bool:
        """Delete the view; True if there was one."""
        with self._calling(f"deleting view {name!r}"):
            if not self._jenkins.view_exists(name):
                return False
            self._jenkins.delete_view(name)
            return True

    def _view_config(self, name: str) -> str | None:
        """The view's config.xml as Jenkins rewrote it, None when there is no such view."""
        try:
            with self._calling(f"reading view {name!r}"):
                return self._jenkins.get_view_config(name)
        except JenkinsNotFound:
            return None

    def _create_view(self, name: str, config_xml: str) -> str | None:
        """Create the view; None when done, the config of a view that beat us to it."""
        try:
            with self._calling(f"creating view {name!r}"):
                self._jenkins.create_view(name, config_xml)
            return None
        except JenkinsError:
            current = self._view_config(name)
            if current is None:
                raise
            return current
