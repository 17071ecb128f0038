"""A capomastro database as capomastro's public schema leaves it, for importing.

The DDL is ours, written from the facts in shared/reference/capomastro-schema.md
(read against capomastro's public jenkins/models.py and projects/models.py):
names of tables and columns, nullability, no unique (job, number) on builds,
no uniqueness on artifacts or project dependencies. The rows hold every case
an import must get right.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

DDL = """
CREATE TABLE auth_user (id integer PRIMARY KEY, username varchar(30) NOT NULL UNIQUE);
CREATE TABLE south_migrationhistory (id integer PRIMARY KEY, app_name varchar(255),
    migration varchar(255), applied datetime);
CREATE TABLE jenkins_jenkinsserver (id integer PRIMARY KEY, name varchar(255) NOT NULL UNIQUE,
    url varchar(255) NOT NULL UNIQUE, username varchar(255) NOT NULL,
    password varchar(255) NOT NULL);
CREATE TABLE jenkins_jobtype (id integer PRIMARY KEY, name varchar(255) NOT NULL,
    description text NULL, config_xml text NOT NULL);
CREATE TABLE jenkins_job (id integer PRIMARY KEY,
    server_id integer NOT NULL REFERENCES jenkins_jenkinsserver (id),
    jobtype_id integer NOT NULL REFERENCES jenkins_jobtype (id), name varchar(255) NOT NULL,
    UNIQUE (server_id, name));
CREATE TABLE jenkins_build (id integer PRIMARY KEY,
    job_id integer NOT NULL REFERENCES jenkins_job (id), build_id varchar(255) NOT NULL,
    number integer NOT NULL, duration integer NULL, url varchar(255) NOT NULL,
    phase varchar(25) NOT NULL, status varchar(255) NOT NULL, console_log text NULL,
    created_at datetime NOT NULL, parameters text NULL,
    requested_by_id integer NULL REFERENCES auth_user (id));
CREATE TABLE jenkins_artifact (id integer PRIMARY KEY,
    build_id integer NOT NULL REFERENCES jenkins_build (id), filename varchar(255) NOT NULL,
    url varchar(255) NOT NULL);
CREATE TABLE projects_dependency (id integer PRIMARY KEY, name varchar(255) NOT NULL UNIQUE,
    job_id integer NULL REFERENCES jenkins_job (id), description text NULL, parameters text NULL);
CREATE TABLE projects_project (id integer PRIMARY KEY, name varchar(255) NOT NULL UNIQUE,
    description text NULL);
CREATE TABLE projects_projectdependency (id integer PRIMARY KEY,
    dependency_id integer NOT NULL REFERENCES projects_dependency (id),
    project_id integer NOT NULL REFERENCES projects_project (id), auto_track bool NOT NULL,
    current_build_id integer NULL REFERENCES jenkins_build (id));
CREATE TABLE projects_projectbuild (id integer PRIMARY KEY,
    project_id integer NOT NULL REFERENCES projects_project (id),
    requested_by_id integer NULL REFERENCES auth_user (id), requested_at datetime NOT NULL,
    ended_at datetime NULL, status varchar(10) NOT NULL, phase varchar(25) NOT NULL,
    build_id varchar(20) NOT NULL, archived datetime NULL, build_key varchar(32) NOT NULL);
CREATE TABLE credentials_sshkeypair (id integer PRIMARY KEY, label varchar(128) NOT NULL,
    public_key text NOT NULL, private_key text NOT NULL);
"""

PASSWORDS = ("jenkins-pass-Alpha-7f3e", "lxc-pass-Bravo-9c1d")
URL_TOKEN = "ghp_AdoptTokenZulu0123456789abcdef"
PRIVATE_KEY = "PRIVATE-KEY-MATERIAL-Echo-5b2a"
SECRETS = (*PASSWORDS, URL_TOKEN, PRIVATE_KEY)

GIT_CONFIG = "<project><scm class='hudson.plugins.git.GitSCM'/></project>"
BZR_CONFIG = "<project><scm class='hudson.plugins.bazaar.BzrSCM'/></project>"
PLAIN_CONFIG = "<project><builders/></project>"


LIBS_BUILD_1 = "http://jenkins.example:8080/job/libs_1400000000/1/"


def build_params(**values) -> str:
    items = ", ".join(f'{{"name": "{k}", "value": "{v}"}}' for k, v in values.items())
    return f"[{items}]"


ROWS = {
    "auth_user": [(1, "releng"), (2, "alice")],
    "jenkins_jenkinsserver": [
        (1, "main", "http://jenkins.example:8080/", "builder", PASSWORDS[0]),
        (2, "lxc", "http://lxc.example/", "bot", PASSWORDS[1]),
    ],
    "jenkins_jobtype": [
        (1, "libs", "library builds", GIT_CONFIG),
        (2, "debs", None, BZR_CONFIG),
        (3, "libs", "the other team's libs", PLAIN_CONFIG),
        (4, "generic", None, PLAIN_CONFIG),
    ],
    "jenkins_job": [
        (1, 1, 1, "libs_1400000000"),
        (2, 1, 2, "debs_1400000001"),
        (3, 2, 3, "libs_1400000002"),
        (4, 1, 4, "generic_1400000003"),
    ],
    "projects_dependency": [
        (
            1,
            "libfoo",
            1,
            "foo library",
            "SOURCE_URL=https://git.example/libfoo.git\r\n"
            "SOURCE_BRANCH=main\r\n\r\n EXTRA = x \r\n",
        ),
        (2, "foo-debs", 2, None, "SOURCE_URL=lp:foo-debs\r\n"),
        (3, "bar", 3, None, "SOURCE_URL=bzr://bzr.example/bar\n"),
        (4, "orphan", None, "a dependency without a job", "SOURCE_URL=git://x.example/y.git"),
        (5, "mystery", 4, None, "SOURCE_URL=https://code.example/mystery"),
        (6, "noparams", 4, None, None),
        (7, "private", 1, None, f"SOURCE_URL=https://{URL_TOKEN}@git.example/private.git"),
    ],
    "jenkins_build": [
        (
            1,
            1,
            "20140501.1",
            1,
            60000,
            "http://jenkins.example:8080/job/libs_1400000000/1/",
            "FINISHED",
            "SUCCESS",
            "log",
            "2014-05-01 10:00:00",
            build_params(SOURCE_URL="https://git.example/libfoo.git", BUILD_ID="20140501.1"),
            1,
        ),
        (
            2,
            1,
            "20140502.1",
            2,
            61000,
            "http://jenkins.example:8080/job/libs_1400000000/2/",
            "FINALIZED",
            "SUCCESS",
            None,
            "2014-05-02 10:00:00",
            None,
            2,
        ),
        (
            3,
            2,
            "20140501.1",
            1,
            120000,
            "http://jenkins.example:8080/job/debs_1400000001/1/",
            "FINISHED",
            "SUCCESS",
            None,
            "2014-05-01 11:00:00",
            "[]",
            None,
        ),
        (
            4,
            1,
            "20140502.1",
            2,
            61000,
            "http://jenkins.example:8080/job/libs_1400000000/2/",
            "FINISHED",
            "SUCCESS",
            None,
            "2014-05-02 10:00:01",
            None,
            2,
        ),
        (
            5,
            3,
            "20140503.1",
            1,
            None,
            "http://lxc.example/job/libs_1400000002/1/",
            "COMPLETED",
            "FAILURE",
            None,
            "2014-05-03 09:00:00",
            None,
            None,
        ),
    ],  # fmt: skip
    "jenkins_artifact": [
        (
            1,
            1,
            "libfoo.tar.gz",
            "http://jenkins.example:8080/job/libs_1400000000/1/a/libfoo.tar.gz",
        ),
        (
            2,
            1,
            "libfoo.tar.gz",
            "http://jenkins.example:8080/job/libs_1400000000/1/a/libfoo.tar.gz",
        ),
        (3, 3, "foo.deb", "http://jenkins.example:8080/job/debs_1400000001/1/a/foo.deb"),
    ],
    "projects_project": [(1, "alpha", "tracks everything"), (2, "beta", None)],
    "projects_projectdependency": [
        (1, 1, 1, 1, 2),  # alpha: libfoo, tracking, at #2
        (2, 1, 2, 0, 1),  # beta: libfoo, not tracking: pinned to the old #1
        (3, 2, 1, 1, 3),
        (4, 3, 2, 1, 5),
        (5, 4, 1, 1, None),  # orphan: left alone with its dependency
    ],
    "projects_projectbuild": [
        (1, 1, 1, "2014-05-01 10:00:00", None, "SUCCESS", "FINISHED", "20140501.1", None, "a" * 32),
        (2, 2, 1, "2014-05-01 10:05:00", None, "SUCCESS", "FINISHED", "20140501.1", None, "b" * 32),
    ],
    "credentials_sshkeypair": [(1, "deploy", "ssh-rsa AAAA", PRIVATE_KEY)],
}


def make_capomastro(path: Path) -> Path:
    """Write the capomastro database to ``path``; returns it."""
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript(DDL)
        for table, rows in ROWS.items():
            marks = ", ".join("?" * len(rows[0]))
            conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    conn.close()
    return path


def change(path: Path, sql: str, *params) -> None:
    """Change capomastro's data as its web UI would between two imports."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(sql, params)
    conn.close()
