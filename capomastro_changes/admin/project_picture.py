"""A project's dependencies as a picture: what its latest project build rebuilt and linked.

One box per dependency, placed in columns by chain depth (an upstream to the
left of what it triggers), with an arrow per chain link. A box is blue when
the dependency was rebuilt for the latest project build, grey when that build
links to an older build, and hatched red when there is no build for it yet;
each box says the build and its revision. Drawn here as SVG: no script and
nothing fetched from outside.
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from capomastro_changes.models import ChainLink, ProjectBuild, ProjectDependency
from capomastro_changes.revisions import short_revision

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 190, 48, 60, 16, 10
REBUILT, LINKED, MISSING = "#205493", "#8a8a8a", "#ba2121"


def picture(project) -> SafeString:
    """The project's dependency picture, or a sentence when it has no dependency."""
    names = dict(
        ProjectDependency.objects.filter(project=project).values_list(
            "dependency_id", "dependency__name"
        )
    )
    if not names:
        return format_html("{}", "no dependencies")
    latest = ProjectBuild.objects.filter(project=project).order_by("-pk").first()
    used = {}
    if latest is not None:
        for link in latest.dependency_builds.select_related("build"):
            used[link.dependency_id] = link
    chains = list(
        ChainLink.objects.filter(dependency_id__in=names, upstream_id__in=names).values_list(
            "upstream_id", "dependency_id"
        )
    )
    places = _places(list(names), chains)
    boxes = format_html_join("", "{}", ((_box(pk, names[pk], used.get(pk), places[pk]),)
                                        for pk in sorted(names, key=names.get)))  # fmt: skip
    arrows = format_html_join("", "{}", ((_arrow(places[u], places[d]),) for u, d in chains))
    width = PAD * 2 + (max(x for x, _ in places.values()) + 1) * (BOX_W + GAP_X) - GAP_X
    height = PAD * 2 + (max(y for _, y in places.values()) + 1) * (BOX_H + GAP_Y) - GAP_Y
    title = f"latest project build {latest.build_key}" if latest else "no project build yet"
    return format_html(
        '<svg class="cc-project-picture" xmlns="http://www.w3.org/2000/svg" width="{}" '
        'height="{}" viewBox="0 0 {} {}" role="img" aria-label="{}"><defs><marker id="cc-head" '
        'viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#444"/></marker>'
        "</defs>{}{}</svg>",
        width, height, width, height, title, arrows, boxes,
    )  # fmt: skip


def _places(ids: list[int], chains: list[tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """(column, row) per dependency: its column is the length of its longest upstream chain."""
    upstreams: dict[int, list[int]] = {pk: [] for pk in ids}
    for up, down in chains:
        upstreams[down].append(up)
    depth: dict[int, int] = {}

    def column(pk: int, seen: frozenset = frozenset()) -> int:
        if pk not in depth:
            ups = [u for u in upstreams[pk] if u not in seen]  # a cycle is refused, but be safe
            depth[pk] = 1 + max((column(u, seen | {pk}) for u in ups), default=-1)
        return depth[pk]

    rows: dict[int, int] = {}
    places = {}
    for pk in sorted(ids):
        x = column(pk)
        places[pk] = (x, rows.get(x, 0))
        rows[x] = rows.get(x, 0) + 1
    return places


def _box(pk: int, name: str, link, place: tuple[int, int]) -> SafeString:
    x, y = PAD + place[0] * (BOX_W + GAP_X), PAD + place[1] * (BOX_H + GAP_Y)
    if link is None or link.build is None:
        colour, how, detail = MISSING, "not built yet", ""
    else:
        colour, how = (REBUILT, "rebuilt") if link.rebuilt else (LINKED, "linked")
        detail = f"#{link.build.number} {short_revision(link.build.revision, link.build.revno)}"
    return format_html(
        '<g class="cc-dep" data-dependency="{}" data-how="{}"><title>{}: {} {}</title>'
        '<rect x="{}" y="{}" width="{}" height="{}" rx="6" fill="{}" fill-opacity="0.12" '
        'stroke="{}" stroke-width="2"/>'
        '<text x="{}" y="{}" font-size="13" font-weight="bold" fill="#222">{}</text>'
        '<text x="{}" y="{}" font-size="12" fill="{}">{} {}</text></g>',
        pk, how, name, how, detail, x, y, BOX_W, BOX_H, colour, colour,
        x + 8, y + 19, name[:26], x + 8, y + 38, colour, how, detail,
    )  # fmt: skip


def _arrow(start: tuple[int, int], end: tuple[int, int]) -> SafeString:
    x1 = PAD + start[0] * (BOX_W + GAP_X) + BOX_W
    y1 = PAD + start[1] * (BOX_H + GAP_Y) + BOX_H / 2
    x2 = PAD + end[0] * (BOX_W + GAP_X)
    y2 = PAD + end[1] * (BOX_H + GAP_Y) + BOX_H / 2
    return format_html(
        '<line class="cc-chain" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#444" '
        'stroke-width="1.5" marker-end="url(#cc-head)"/>',
        x1, y1, x2, y2,
    )  # fmt: skip
