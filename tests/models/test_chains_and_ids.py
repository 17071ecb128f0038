"""Chain links refuse cycles by name; project build ids count per day, capomastro style."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from capomastro_changes.models import ChainLink, DailyCounter, ProjectBuild
from capomastro_changes.testing.factories import make_dependency

pytestmark = pytest.mark.django_db


def test_a_link_that_closes_a_cycle_is_refused_naming_its_members():
    compiler, libc, pkgmgr = (make_dependency(name=n) for n in ("compiler", "libc", "pkgmgr"))
    ChainLink.objects.create(upstream=compiler, dependency=libc)
    ChainLink.objects.create(upstream=libc, dependency=pkgmgr)
    closing = ChainLink(upstream=pkgmgr, dependency=compiler)
    with pytest.raises(ValidationError) as caught:
        closing.full_clean()
    message = " ".join(caught.value.messages)
    assert "cycle" in message
    for name in ("compiler", "libc", "pkgmgr"):
        assert name in message


def test_a_dependency_cannot_depend_on_itself():
    dep = make_dependency(name="loner")
    with pytest.raises(ValidationError, match="loner cannot depend on itself"):
        ChainLink(upstream=dep, dependency=dep).full_clean()


def test_a_chain_without_a_cycle_is_accepted():
    a, b, c = (make_dependency() for _ in range(3))
    ChainLink.objects.create(upstream=a, dependency=b)
    link = ChainLink(upstream=a, dependency=c)
    link.full_clean()
    link.save()
    assert set(a.downstreams.all()) == {b, c}


def test_project_build_ids_are_daily_and_consecutive():
    day = datetime.date(2026, 11, 21)
    assert ProjectBuild.allocate_keys(2, day) == ["20261121.1", "20261121.2"]
    assert ProjectBuild.allocate_keys(3, day) == ["20261121.3", "20261121.4", "20261121.5"]
    assert ProjectBuild.allocate_keys(1, day + datetime.timedelta(days=1)) == ["20261122.1"]
    assert DailyCounter.objects.get(day=day).value == 5
