"""Jenkins' ``tree=`` query parameter: keep only the named fields of an API answer.

``tree=name,builds[number,url]`` keeps ``name`` and, inside every element of
``builds``, ``number`` and ``url``. ``_class`` is always kept, as Jenkins does.
Ranges such as ``builds[number]{0,5}`` are accepted and their range ignored.
"""

from __future__ import annotations

import re

Tree = dict[str, "Tree | None"]


class TreeSyntaxError(ValueError):
    """The ``tree`` value is not balanced (Jenkins answers 400)."""


def parse_tree(text: str) -> Tree:
    """Parse ``a,b[c,d]`` into ``{"a": None, "b": {"c": None, "d": None}}``."""
    text = re.sub(r"\{[^}]*\}", "", text)
    tree, rest = _parse(text, 0)
    if rest != len(text):
        raise TreeSyntaxError(f"unbalanced tree near position {rest}: {text!r}")
    return tree


def _parse(text: str, pos: int) -> tuple[Tree, int]:
    tree: Tree = {}
    name = ""
    while pos < len(text):
        char = text[pos]
        if char == "[":
            sub, pos = _parse(text, pos + 1)
            if pos >= len(text) or text[pos] != "]":
                raise TreeSyntaxError(f"missing ] in tree {text!r}")
            tree[name.strip()] = sub
            name = ""
        elif char == "]":
            break
        elif char == ",":
            if name.strip():
                tree[name.strip()] = None
            name = ""
        else:
            name += char
        pos += 1
    if name.strip():
        tree[name.strip()] = None
    return tree, pos


def apply_tree(data, tree: Tree | None):
    """Keep only what ``tree`` names in ``data`` (lists are filtered element-wise)."""
    if tree is None:
        return data
    if isinstance(data, list):
        return [apply_tree(element, tree) for element in data]
    if not isinstance(data, dict):
        return data
    kept = {"_class": data["_class"]} if "_class" in data else {}
    for key, subtree in tree.items():
        if key in data:
            kept[key] = apply_tree(data[key], subtree)
    return kept
