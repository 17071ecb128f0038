"""The admin in a real browser (headless Chromium over Selenium), as an operator uses it:
log in, read a source's badge and lock, check a source now, read a project build.

Screenshots of each step go to ``artifacts/screenshots/`` at the repository root.
Skipped, with the reason, when Chromium, chromedriver or Selenium is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from capomastro_changes.testing.factories import make_dependency, make_source
from capomastro_changes.testing.repos import make_git

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1920,1080",
)  # fmt: skip
PASSWORD = "operator-pw-9f2c"

NO_BROWSER = (
    f"headless browser tests need {CHROMIUM} and {CHROMEDRIVER} "
    "(apt-get install chromium chromium-driver)"
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()), reason=NO_BROWSER
    ),
]
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
By = pytest.importorskip("selenium.webdriver.common.by").By
Select = pytest.importorskip("selenium.webdriver.support.select").Select


@pytest.fixture
def browser(tmp_path):
    """A fresh headless Chromium with a profile of its own (a test in another module
    that borrows this fixture skips too when there is none)."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(NO_BROWSER)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


class Operator:
    """The browser, at the live server, logged in as a superuser; shoots each step."""

    def __init__(self, driver, base: str, name: str):
        self.driver, self.base, self.name, self.step = driver, base, name, 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def open(self, url: str) -> None:
        self.driver.get(self.base + url)

    def shoot(self, what: str) -> Path:
        self.step += 1
        path = SCREENSHOTS / f"{self.name}-{self.step:02d}-{what}.png"
        assert self.driver.save_screenshot(str(path)), path
        return path

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def log_in(self, username: str) -> None:
        self.open(reverse("admin:login"))
        self.find("#id_username").send_keys(username)
        self.find("#id_password").send_keys(PASSWORD)
        self.find("input[type=submit]").click()
        assert self.find("#user-tools").text.startswith("WELCOME, ") or self.find("#user-tools")

    def run_action(self, action: str, pks) -> None:
        for pk in pks:
            self.find(f"input[name=_selected_action][value='{pk}']").click()
        Select(self.find("select[name=action]")).select_by_value(action)
        self.find("button[name=index]").click()


@pytest.fixture
def operator(browser, live_server, django_user_model, request):
    django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)
    person = Operator(browser, live_server.url, request.node.name)
    person.log_in("operator")
    return person


@pytest.fixture
def repo_source(tmp_path, settings, world):
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("file", "https", "bzr")
    repo = make_git(tmp_path)
    source = make_source(url=f"file://{repo.bare}", branch="main")
    make_dependency(name="from-repo", source=source)
    return repo, source


def test_an_operator_sees_the_error_badge_and_who_holds_the_lock(operator, world):
    operator.open(reverse("admin:capomastro_changes_source_changelist"))
    badge = operator.find(".cc-badge.cc-error")
    assert badge.text == "error"
    assert badge.get_attribute("title") == "connection refused by host"
    held = operator.find(".cc-lock-held")
    assert f"held by request #{world.holder.pk} (fence {world.holder.fence})" in held.text
    assert f"waiting: request #{world.waiter.pk}" in operator.find(".cc-lock-waiter").text
    assert operator.shoot("sources-list").stat().st_size > 0


def test_check_now_in_the_browser_adds_a_row_to_the_check_history(
    operator, repo_source, eager_celery
):
    """The check goes to Celery (run eagerly here, as a worker would run it at once)."""
    repo, source = repo_source
    operator.open(reverse("admin:capomastro_changes_source_changelist"))
    operator.run_action("check_now", [source.pk])
    message = operator.find(".messagelist li").get_attribute("textContent").strip()
    assert message.startswith(f"Check of {source} sent to the workers")
    operator.shoot("checked-now")
    operator.open(reverse("admin:capomastro_changes_source_change", args=[source.pk]))
    history = operator.find_all(".field-checks_panel table.cc-panel tbody tr")
    assert len(history) == 1
    assert history[0].find_element(By.CSS_SELECTOR, ".cc-badge").text == "baseline"
    assert repo.rev_parse("main")[:12] in history[0].text
    operator.shoot("source-history")


def test_a_project_build_shows_its_rebuilt_and_linked_dependencies(operator, world):
    operator.open(
        reverse("admin:capomastro_changes_projectbuild_change", args=[world.project_build.pk])
    )
    rows = {
        row.find_element(By.CSS_SELECTOR, ".field-dependency").text: row
        for row in operator.find_all("tr.form-row")
    }
    assert set(rows) == {"libbar", "libfoo"}
    assert rows["libbar"].find_element(By.CSS_SELECTOR, ".cc-badge").text == "rebuilt"
    assert rows["libfoo"].find_element(By.CSS_SELECTOR, ".cc-badge").text == "linked"
    assert rows["libbar"].find_element(By.CSS_SELECTOR, ".cc-artifact").text == "pkg-rebuilt.deb"
    assert rows["libfoo"].find_element(By.CSS_SELECTOR, ".cc-artifact").text == "pkg-linked.deb"
    operator.shoot("project-build")
