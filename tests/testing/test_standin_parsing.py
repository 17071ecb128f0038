"""The stand-in's readers: config.xml, Ant artifact patterns, the ``tree`` query."""

from __future__ import annotations

import pytest

from capomastro_changes.testing.jenkins.archiver import select
from capomastro_changes.testing.jenkins.config import JobConfigError, parse_job_config
from capomastro_changes.testing.jenkins.tree import TreeSyntaxError, apply_tree, parse_tree

OLD_ENDPOINT = """<project><properties>
<com.tikal.hudson.plugins.notification.HudsonNotificationProperty plugin="notification@1.5">
<endpoints><com.tikal.hudson.plugins.notification.Endpoint><protocol>HTTP</protocol>
<format>JSON</format><url>http://capomastro/jenkins/notifications/?server=1</url>
</com.tikal.hudson.plugins.notification.Endpoint></endpoints>
</com.tikal.hudson.plugins.notification.HudsonNotificationProperty></properties>
<builders><hudson.tasks.Shell><command>make</command><unstableReturn>2</unstableReturn>
</hudson.tasks.Shell></builders></project>"""


def test_a_notification_plugin_1_5_endpoint_is_read_like_a_current_one():
    config = parse_job_config(OLD_ENDPOINT)
    assert [e.url for e in config.endpoints] == [
        "http://capomastro/jenkins/notifications/?server=1"
    ]
    assert config.endpoints[0].event == "all"
    assert config.shell_steps[0].unstable_return == 2
    assert not config.parameterized


@pytest.mark.parametrize(
    "text, message",
    [("<project>", "not well-formed"), ("<flow-definition/>", "not a freestyle")],
)
def test_a_config_that_is_not_a_freestyle_job_is_refused(text, message):
    with pytest.raises(JobConfigError, match=message):
        parse_job_config(text)


def test_ant_patterns_select_files_as_jenkins_does(tmp_path):
    for relative in ["a.txt", "out/b.txt", "out/deep/c.txt", "out/d.log", ".git/e.txt"]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")

    assert select(tmp_path, "*.txt") == ["a.txt"]
    assert select(tmp_path, "out/*.txt") == ["out/b.txt"]
    assert select(tmp_path, "**/*.txt") == ["a.txt", "out/b.txt", "out/deep/c.txt"]
    assert select(tmp_path, "out/", excludes="**/*.log") == ["out/b.txt", "out/deep/c.txt"]
    assert select(tmp_path, "a.txt, out/d.log") == ["a.txt", "out/d.log"]


def test_a_tree_query_keeps_only_the_named_fields():
    data = {
        "_class": "J",
        "name": "app",
        "color": "blue",
        "builds": [{"_class": "B", "number": 1, "url": "u", "result": "SUCCESS"}],
    }
    tree = parse_tree("name,builds[number,url]{0,10}")
    assert apply_tree(data, tree) == {
        "_class": "J",
        "name": "app",
        "builds": [{"_class": "B", "number": 1, "url": "u"}],
    }
    with pytest.raises(TreeSyntaxError):
        parse_tree("builds[number")
