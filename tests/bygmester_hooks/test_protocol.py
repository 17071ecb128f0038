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


@pytest.mark.parametrize(
    ("line", "descends"),
    [
        ('{"revision": "b", "descends": false}', False),
        ('{"revision": "b", "descends": true}', True),
        ('{"revision": "b", "outcome": "rewritten"}', False),
        ('{"revision": "b", "outcome": "rewritten", "descends": false}', False),
        ('{"revision": "b", "outcome": "changed"}', None),
        ('{"revision": "b"}', None),
    ],
)
def test_a_probe_with_history_can_say_the_branch_was_rewritten(line, descends):
    result = parse_line(line)
    assert result.descends is descends
    assert result.ancestry("a") == (() if descends is None else (("a", descends),))
    assert result.ancestry(None) == ()  # nothing to judge without a last revision


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"revision": "b", "descends": "no"}', "'descends' must be"),
        ('{"revision": "b", "outcome": "exploded"}', "'outcome' must be one of"),
        ('{"revision": "b", "outcome": 3}', "'outcome' must be one of"),
        ('{"revision": "b", "outcome": "rewritten", "descends": true}', "rewritten but"),
    ],
)
def test_an_ancestry_verdict_that_makes_no_sense_is_refused(line, message):
    with pytest.raises(ProtocolError, match=message):
        parse_line(line)


def test_the_ancestry_verdict_round_trips():
    result = ProbeResult("b", None, descends=False)
    assert '"descends": false' in format_result(result)
    assert parse_line(format_result(result)) == result
