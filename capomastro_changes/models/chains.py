"""Chain builds: a dependency built after the dependencies it depends on."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from capomastro_changes.models.capomastro import Dependency


class ChainLink(models.Model):
    """``dependency`` is rebuilt after ``upstream`` is rebuilt successfully."""

    dependency = models.ForeignKey(Dependency, on_delete=models.CASCADE, related_name="+")
    upstream = models.ForeignKey(Dependency, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dependency", "upstream"], name="chainlink_unique"),
            models.CheckConstraint(
                condition=~Q(dependency=F("upstream")), name="chainlink_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.upstream} → {self.dependency}"

    def clean(self) -> None:
        """Refuse a link that would close a cycle, naming every member of it."""
        if not (self.dependency_id and self.upstream_id):
            return
        if self.dependency_id == self.upstream_id:
            raise ValidationError(f"{self.dependency} cannot depend on itself.")
        cycle = find_path(self.dependency_id, self.upstream_id, exclude_link=self.pk)
        if cycle:
            names = dict(Dependency.objects.filter(pk__in=cycle).values_list("pk", "name"))
            members = " → ".join(names[pk] for pk in [*cycle, self.dependency_id])
            raise ValidationError(f"This link would make a cycle: {members}.")


def find_path(start: int, goal: int, exclude_link: int | None = None) -> list[int]:
    """Dependency ids on a path ``start`` → … → ``goal`` following downstream links, or []."""
    edges: dict[int, list[int]] = {}
    links = ChainLink.objects.exclude(pk=exclude_link) if exclude_link else ChainLink.objects
    for upstream, downstream in links.values_list("upstream_id", "dependency_id"):
        edges.setdefault(upstream, []).append(downstream)
    parents: dict[int, int | None] = {start: None}
    frontier = [start]
    while frontier:
        node = frontier.pop()
        if node == goal:
            path = [node]
            while parents[path[-1]] is not None:
                path.append(parents[path[-1]])
            return list(reversed(path))
        for nxt in edges.get(node, ()):
            if nxt not in parents:
                parents[nxt] = node
                frontier.append(nxt)
    return []
