"""The probe protocol: one JSON object, validated before anything trusts it."""

from __future__ import annotations

import pytest

from bygmester_hooks.protocol import (
    ProbeResult,
    ProtocolError,
    format_result,
    parse_line,
    parse_output,
)


def test_a_result_line_round_trips():
    result = ProbeResult("abc", 4, True)
    line = format_result(result, vcs="bzr", url="bzr://h/trunk")
    assert line.startswith('{"vcs": "bzr"')
    assert parse_line(line) == result
    assert parse_output(f"\n{line}\n\n") == result


@pytest.mark.parametrize(
    "line",
    [
        '{"revision": ""}',
        '{"revision": 12}',
        '{"revision": "a\\nb"}',
        '{"revision": "a", "revno": -1}',
        '{"revision": "a", "revno": true}',
        '{"revision": "a", "revno": 1.5}',
        '{"revision": "' + "x" * 300 + '"}',
        "null",
    ],
)
def test_invalid_results_are_refused(line):
    with pytest.raises(ProtocolError):
        parse_line(line)


def test_messages_quote_only_a_short_safe_excerpt():
    with pytest.raises(ProtocolError) as caught:
        parse_line("\x1b[31mTraceback (most recent call last): " + "x" * 500)
    assert len(str(caught.value)) < 100
    assert "\x1b" not in str(caught.value)
