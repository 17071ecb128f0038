"""Input from outside read within bounds: JSON nesting, and whole numbers a database holds.

**JSON.** Deep nesting is refused, not a crash.

Python's decoder recurses once per level, so 5,000 nested brackets raise
RecursionError, which no ``except ValueError`` catches: a notification
answered 500, a probe's console line crashed the check holding its lock.
Every boundary that decodes JSON it did not write (the notification and push
endpoints, a probe's result line) reads it through :func:`loads`, which
counts the nesting first, outside strings, and refuses what is too deep with
a ValueError like any other bad JSON.

**Numbers.** ``str.isdigit`` says yes to "²" and "٣", which ``int`` then
refuses or reads as another number, and Python's ints have no end while a
database column does (2**64 overflows SQLite; a PositiveIntegerField ends
at 2**31 - 1 on PostgreSQL). :func:`whole_number` takes ASCII digits only,
within the column's range, so a bad number is refused before anything is
written. Shared by the server and the probes, so this imports no Django.
"""

from __future__ import annotations

import json
import re

MAX_DEPTH = 32
INT_MAX = 2**31 - 1  # an IntegerField / PositiveIntegerField, on every backend we run on
BIGINT_MAX = 2**63 - 1  # a BigIntegerField: primary keys, queue ids, durations
# The only characters the depth count looks at; everything between is skipped in C.
_MARKS = re.compile(r'[\\"\[\]{}]')


class TooDeep(ValueError):
    """The JSON nests deeper than the limit."""


def loads(text: str | bytes, max_depth: int = MAX_DEPTH):
    """``json.loads(text)``, refusing nesting deeper than ``max_depth`` before decoding.

    Raises:
        TooDeep: the nesting is deeper than ``max_depth``.
        ValueError: the text is not JSON (as ``json.loads`` raises it).
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8")
    depth, in_string, escaped_at = 0, False, -1
    for found in _MARKS.finditer(text):  # one pass: linear in the body, whatever it holds
        mark, at = found.group(), found.start()
        if at == escaped_at:  # the character after a backslash in a string
            continue
        if in_string:
            if mark == "\\":
                escaped_at = at + 1
            elif mark == '"':
                in_string = False
        elif mark == '"':
            in_string = True
        elif mark in "[{":
            depth += 1
            if depth > max_depth:
                raise TooDeep(f"the JSON nests deeper than {max_depth} levels")
        elif mark in "]}":
            depth -= 1
    return json.loads(text)


def whole_number(value: object, maximum: int = INT_MAX) -> int | None:
    """``value`` as a whole number in 0..``maximum``, or None when it is not one.

    Takes an int (not a bool) or a string of ASCII digits (surrounding blanks
    allowed); anything else, and anything out of range, is None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
            return None
        value = int(text)
    if not isinstance(value, int) or not 0 <= value <= maximum:
        return None
    return value
