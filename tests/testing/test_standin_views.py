"""List views on the stand-in, driven by python-jenkins as a real Jenkins would be."""

from __future__ import annotations

import jenkins
import pytest
import requests

from capomastro_changes.testing.jenkins.jobs import freestyle_job_xml

VIEW = """<?xml version="1.0" encoding="UTF-8"?>
<hudson.model.ListView>
  <name>{name}</name>
  <jobNames>
    <comparator class="hudson.util.CaseInsensitiveComparator"/>{strings}
  </jobNames>
</hudson.model.ListView>"""


def list_view(*jobs: str, name: str = "ignored") -> str:
    return VIEW.format(name=name, strings="".join(f"<string>{job}</string>" for job in jobs))


def listed(server, view: str) -> list[str]:
    return [job["name"] for job in server._get_view_jobs(view)]


def raw_post(server, path: str, body: str) -> requests.Response:
    """A POST through python-jenkins' own session (auth and crumb), its answer unwrapped."""
    request = requests.Request(
        "POST", server._build_url(path), data=body.encode(), headers={"Content-Type": "text/xml"}
    )
    try:
        return server.jenkins_request(request)
    except requests.HTTPError as exc:
        return exc.response


def test_a_created_view_shows_the_jobs_it_names_that_exist(server):
    for job in ("libfoo", "Bar"):
        server.create_job(job, freestyle_job_xml("true"))
    server.create_view("My project", list_view("libfoo", "Bar", "gone"))

    assert server.view_exists("My project")
    assert listed(server, "My project") == ["Bar", "libfoo"]
    assert [v["name"] for v in server.get_views()] == ["all", "My project"]


def test_jenkins_rewrites_the_stored_config_as_it_keeps_it(server):
    server.create_view("proj", list_view("zeta", "Alpha", "beta", "Alpha", name="other"))

    stored = server.get_view_config("proj")
    assert stored.startswith("<?xml version='1.1' encoding='UTF-8'?>")
    assert "<name>proj</name>" in stored
    assert stored.index("Alpha") < stored.index("beta") < stored.index("zeta")
    assert stored.count("<string>Alpha</string>") == 1


def test_reconfiguring_replaces_the_job_list_and_keeps_the_name(server):
    server.create_view("proj", list_view("a", "b"))
    server.reconfig_view("proj", list_view("b", name="renamed?"))

    stored = server.get_view_config("proj")
    assert "<string>a</string>" not in stored and "<name>proj</name>" in stored


def test_creating_a_view_that_exists_is_answered_400_with_the_reason(server):
    server.create_view("proj", list_view())
    answer = raw_post(server, "createView?name=proj", list_view())

    assert answer.status_code == 400
    assert answer.headers["X-Error"] == 'A view already exists with the name "proj"'
    with pytest.raises(jenkins.JenkinsException, match="already exists"):
        server.create_view("proj", list_view())


@pytest.mark.parametrize("name", ["a/b", "a:b", "semi;colon", "."])
def test_a_name_jenkins_calls_unsafe_is_refused_with_400(server, name):
    answer = raw_post(server, f"createView?name={requests.utils.quote(name, safe='')}", list_view())
    assert answer.status_code == 400
    assert answer.headers["X-Error"]


def test_a_missing_view_is_404_everywhere(server):
    assert server.view_exists("nope") is None
    with pytest.raises(jenkins.NotFoundException):
        server.get_view_config("nope")
    with pytest.raises(jenkins.NotFoundException):
        server.reconfig_view("nope", list_view())


def test_a_config_of_another_view_type_is_refused_with_500(server):
    server.create_view("proj", list_view("a"))
    with pytest.raises(jenkins.JenkinsException, match=r"\[500\]"):
        server.reconfig_view("proj", "<hudson.model.AllView/>")
    with pytest.raises(jenkins.JenkinsException, match=r"\[500\]"):
        server.create_view("other", "<not-a-view/>")
    assert "<string>a</string>" in server.get_view_config("proj")


def test_a_deleted_view_is_gone_and_the_all_view_stays(server):
    server.create_view("proj", list_view())
    server.delete_view("proj")

    assert server.view_exists("proj") is None
    assert server.view_exists("all") and server.view_exists("All")
    assert raw_post(server, "view/all/doDelete", "").status_code == 400


def test_injected_faults_hit_the_view_endpoints_too(server, jenkins_standin):
    server.create_view("proj", list_view("a"))
    jenkins_standin.faults.update(error_rate=1.0)
    with pytest.raises(jenkins.JenkinsException, match=r"\[500\]"):
        server.get_view_config("proj")
