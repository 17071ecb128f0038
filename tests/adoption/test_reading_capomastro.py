"""What capomastro left unrecorded, told apart: parameters, VCS, and a PostgreSQL capomastro."""

from __future__ import annotations

import os
import uuid

import pytest
from capomastro_db import DDL, ROWS

from capomastro_changes.adoption.parameters import build_parameters, dependency_parameters
from capomastro_changes.adoption.reader import read
from capomastro_changes.adoption.vcs_guess import guess


def test_dependency_parameters_read_as_capomastro_split_them():
    text = "A=1\r\n\r\n  B = two words \r\nnot a pair\r\nC=x=y\n"
    assert dependency_parameters(text) == {"A": "1", "B": "two words", "C": "x=y"}
    assert dependency_parameters(None) == {}


def test_build_parameters_list_becomes_a_mapping_and_junk_becomes_nothing():
    assert build_parameters('[{"name": "A", "value": 1}, {"name": "B", "value": null}]') == {
        "A": "1", "B": ""}  # fmt: skip
    assert build_parameters("[" * 5000) == {}
    assert build_parameters("not json") == {} and build_parameters(None) == {}


@pytest.mark.parametrize(
    ("url", "vcs", "readable"),
    [
        ("lp:foo", "bzr", "https://bazaar.launchpad.net/+branch/foo"),
        ("lp:~team/foo/trunk", "bzr", "https://bazaar.launchpad.net/+branch/~team/foo/trunk"),
        ("bzr://host/b", "bzr", "bzr://host/b"),
        ("bzr+ssh://host/b", "bzr", "bzr+ssh://host/b"),
        ("git://host/r", "git", "git://host/r"),
        ("ssh://git@host/r", "git", "ssh://git@host/r"),
        ("git@host:r", "git", "git@host:r"),
        ("https://host/r.git", "git", "https://host/r.git"),
        ("https://host/r", None, "https://host/r"),
    ],
)
def test_the_vcs_comes_from_the_url_where_the_url_tells(url, vcs, readable):
    found = guess(url, "t", {}, "")
    assert (found.vcs, found.url) == (vcs, readable)


def test_where_the_url_cannot_tell_vcs_for_then_config_xml_decide_and_nothing_else():
    assert guess("https://h/r", "t", {"t": "bzr"}, "GitSCM").vcs == "bzr"
    assert guess("https://h/r", "t", {}, "<scm class='hudson.plugins.git.GitSCM'/>").vcs == "git"
    assert guess("https://h/r", "t", {}, "GitSCM BzrSCM").vcs is None  # two plugins: no guess


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="reads a capomastro on PostgreSQL only when DATABASE_URL points at one",
)
def test_a_capomastro_on_postgresql_reads_as_on_sqlite(tmp_path):
    import psycopg

    base = os.environ["DATABASE_URL"]
    schema = f"capomastro_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(DDL.replace("datetime", "timestamp"))
        for table, rows in ROWS.items():
            marks = ", ".join(["%s"] * len(rows[0]))
            for row in rows:
                if table == "projects_projectdependency":
                    row = (*row[:3], bool(row[3]), row[4])
                conn.execute(f"INSERT INTO {table} VALUES ({marks})", row)
    try:
        sep = "&" if "?" in base else "?"
        found = read(f"{base}{sep}options=-csearch_path%3D{schema}")
        assert [r["name"] for r in found.rows("projects_dependency")][:2] == ["libfoo", "foo-debs"]
        assert len(found.rows("jenkins_artifact")) == 3 and found.usernames[1] == "releng"
        assert found.left_alone["projects_projectbuild"] == 2
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
