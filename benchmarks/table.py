"""The printed table of a run: one row per figure, ours, the anchor, the ratio, the goal."""

from __future__ import annotations


def _number(value) -> str:
    """A figure's number, short: four significant digits."""
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def rows(results: dict) -> list[tuple[str, ...]]:
    """The table's rows, the header first."""
    table = [("figure", "ours", "anchor", "unit", "ratio", "goal", "met")]
    for key, fig in results.items():
        if key == "meta":
            continue
        if fig.get("status") != "measured":
            table.append((key, fig.get("status", "?"), "", "", "", "", ""))
            continue
        table.append(
            (
                key,
                _number(fig["value"]),
                _number(fig["anchor"]),
                fig["unit"],
                _number(fig["ratio"]),
                fig["goal"],
                "yes" if fig["met"] else "NO",
            )
        )
    return table


def render(results: dict) -> str:
    """The table as Markdown, so a run can be pasted into docs/performance.md as is."""
    table = rows(results)
    widths = [max(len(row[i]) for row in table if len(row) > i) for i in range(len(table[0]))]
    lines = []
    for n, row in enumerate(table):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    meta = results.get("meta", {})
    if meta:
        lines.append("")
        lines.append(
            f"sizes={meta['sizes']}, {meta['seconds']} s, Python {meta['python']}, "
            f"{meta['machine']}, {meta['cpus']} CPUs"
        )
        lines += [f"- {note}" for note in meta["notes"]]
    return "\n".join(lines)
