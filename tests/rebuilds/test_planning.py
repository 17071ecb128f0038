"""Planning: a rebuild gives every tracking project a complete build; chains run in order."""

import pytest

from capomastro_changes.rebuilds.planning import (
    CycleError,
    Member,
    ProjectView,
    downstream_order,
    plan_rebuilds,
)


def test_each_tracking_project_gets_a_build_with_the_others_linked_to_their_current_builds():
    projects = [
        ProjectView(1, 0, (Member(10, 100), Member(11, 110), Member(12, None))),
        ProjectView(2, 5, (Member(10, 100), Member(13, 130))),
        ProjectView(3, 9, (Member(11, 110),)),
    ]
    plans = plan_rebuilds(10, projects)
    assert [p.project_id for p in plans] == [2, 1]  # priority first; project 3 is untouched
    links = {link.dependency_id: link for link in plans[1].links}
    assert links[10].rebuilt and links[10].build_id is None
    assert (links[11].rebuilt, links[11].build_id) == (False, 110)
    assert (links[12].rebuilt, links[12].build_id) == (False, None)


def test_a_project_that_does_not_auto_track_the_dependency_gets_no_build():
    projects = [ProjectView(1, 0, (Member(10, 100, auto_track=False), Member(11, 110)))]
    assert plan_rebuilds(10, projects) == []


def test_a_chain_is_ordered_so_each_dependency_follows_all_its_upstreams():
    # compiler -> libc -> pkgmgr, and compiler -> pkgmgr directly
    downstreams = {1: [2, 3], 2: [3]}
    assert downstream_order(1, downstreams) == [2, 3]


def test_a_cycle_is_refused_with_its_members_instead_of_looping():
    with pytest.raises(CycleError) as caught:
        downstream_order(1, {1: [2], 2: [3], 3: [1]})
    assert caught.value.members == [1, 2, 3, 1]
