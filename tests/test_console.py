"""The control-room console in a real headless browser (Debian's chromium and chromedriver)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from cluster.api.roles import Role
from cluster.config.cameras import CameraConfig
from serve.face_analyzer import FaceAnalyzer
from tests.api_support import Api, face_alert, live_server, log_alerts, make_services, role_keys, wait_for
from tests.camera_counters import camera_stats
from tests.conftest import FACES

pytestmark = pytest.mark.slow


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        raise RuntimeError("chromium and chromedriver are needed: bash scripts/install-test-services.sh")
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    services = make_services(tmp_path, stream_poll_s=0.2)
    keys = role_keys(services)
    photos = tmp_path / "watchlist-photos"
    photos.mkdir()
    shutil.copy(FACES / "person_a_1.jpg", photos / "p1.jpg")
    with live_server(services) as url:
        yield Api(url, services, keys)


def decoded(browser: WebDriver, selector: str) -> bool:
    """Whether the image at ``selector`` was decoded (has a width)."""
    return bool(browser.execute_script(f"return document.querySelector('{selector}').naturalWidth > 0"))


def text(browser: WebDriver, selector: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, selector).text)


def test_an_operator_signs_in_sees_an_alert_arrive_and_rejects_it(api: Api, browser: WebDriver) -> None:
    browser.get(f"{api.url}/")
    browser.find_element(By.ID, "key").send_keys(api.keys[Role.OPERATOR])
    browser.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
    wait_for(lambda: text(browser, "#who") == "operator-1 (operator)", what="sign-in")
    wait_for(lambda: text(browser, "#stream-state") == "(live)", what="the live stream")

    alert = face_alert(evidence_jpeg=(FACES / "person_a_2.jpg").read_bytes())
    log_alerts(api.services.runtime.data_dir, alert)  # as the dispatcher logs a camera's alert
    row = f"#alert-{alert.alert_id}"
    wait_for(lambda: bool(browser.find_elements(By.CSS_SELECTOR, row)), what="the alert in the queue")
    assert "Subject A (subject-a)" in text(browser, row) and "0.612 / 0.50" in text(browser, row)

    browser.find_element(By.CSS_SELECTOR, row).click()
    wait_for(
        lambda: text(browser, "#detail-title") == "Face: Subject A (subject-a)", what="the alert's detail"
    )
    # The camera crop beside the enrolment photo, both decoded by the browser.
    for image in ("#detail-crop", "#detail-photo"):
        wait_for(partial(decoded, browser, image), what=f"{image} to load")
    assert "Gate 1 (fr-gate-1)" in text(browser, "#detail-facts")

    browser.find_element(By.ID, "review-officer").send_keys("PC 4471")
    browser.find_element(By.ID, "review-reason").send_keys("different person on closer look")
    browser.find_element(By.ID, "reject").click()
    wait_for(lambda: api.services.reviews.get(alert.alert_id) is not None, what="the review to be stored")
    review = api.services.reviews.get(alert.alert_id)
    assert review is not None
    assert (review.decision, review.reason, review.officer, review.reviewed_by) == (
        "rejected",
        "different person on closer look",
        "PC 4471",
        "operator-1 (operator)",
    )
    wait_for(lambda: "rejected" in text(browser, "#review-done"), what="the review shown")
    assert "rejected" in str(browser.find_element(By.CSS_SELECTOR, row).get_attribute("class"))
    actions = api.audit_actions()
    assert "alert.view" in actions and actions[-1] == "alert.view"  # the detail reloaded after review
    assert "alert.review" in actions


def test_an_operator_confirms_an_alert_to_keep_beyond_retention_but_cannot_keep_a_rejection(
    api: Api, browser: WebDriver
) -> None:
    alert = face_alert(evidence_jpeg=(FACES / "person_a_2.jpg").read_bytes())
    log_alerts(api.services.runtime.data_dir, alert)
    browser.get(f"{api.url}/")
    browser.find_element(By.ID, "key").send_keys(api.keys[Role.OPERATOR])
    browser.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
    row = f"#alert-{alert.alert_id}"
    wait_for(lambda: bool(browser.find_elements(By.CSS_SELECTOR, row)), what="the alert in the queue")
    browser.find_element(By.CSS_SELECTOR, row).click()
    wait_for(lambda: browser.find_element(By.ID, "review-form").is_displayed(), what="the review form")

    browser.find_element(By.ID, "review-officer").send_keys("PC 4471")
    browser.find_element(By.ID, "review-reason").send_keys("seen at the gate, arrested")
    browser.find_element(By.ID, "review-keep").click()
    browser.find_element(By.ID, "reject").click()
    wait_for(lambda: "keep is only for a confirmed alert" in text(browser, "#message"), what="the refusal")
    assert api.services.reviews.get(alert.alert_id) is None
    browser.find_element(By.ID, "confirm").click()
    wait_for(lambda: "(kept beyond retention)" in text(browser, "#review-done"), what="the kept review")
    review = api.services.reviews.get(alert.alert_id)
    assert review is not None and review.decision == "confirmed" and review.kept


@pytest.mark.models
def test_a_supervisor_enrols_a_subject_and_hotlists_a_plate(
    tmp_path: Path, browser: WebDriver, face_analyzer: FaceAnalyzer
) -> None:
    services = make_services(tmp_path, faces=lambda: face_analyzer)
    keys = role_keys(services)
    with live_server(services) as url:
        browser.get(f"{url}/")
        browser.find_element(By.ID, "key").send_keys(keys[Role.SUPERVISOR])
        browser.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
        wait_for(lambda: text(browser, "#who") == "supervisor-1 (supervisor)", what="sign-in")

        browser.find_element(By.CSS_SELECTOR, "#nav button[data-page=watchlist]").click()
        form = browser.find_element(By.ID, "enrol-form")
        form.find_element(By.NAME, "id").send_keys("subject-a")
        form.find_element(By.NAME, "label").send_keys("Subject A")
        form.find_element(By.NAME, "photos").send_keys(str(FACES / "person_a_1.jpg"))
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(
            lambda: "subject-a" in text(browser, "#subjects tbody"), timeout_s=30, what="the subject listed"
        )
        [subject] = services.watchlist.list()
        assert (subject.subject_id, subject.label, subject.added_by) == (
            "subject-a",
            "Subject A",
            "supervisor-1 (supervisor)",
        )

        browser.find_element(By.CSS_SELECTOR, "#nav button[data-page=hotlist]").click()
        form = browser.find_element(By.ID, "plate-form")
        form.find_element(By.NAME, "plate").send_keys("MLB-803")
        form.find_element(By.NAME, "reason").send_keys("demo: reported stolen")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(lambda: "MLB803" in text(browser, "#plates tbody"), what="the plate listed")
        [entry] = services.hotlist.list()
        assert (entry.plate, entry.reason, entry.expires_at) == ("MLB803", "demo: reported stolen", None)
        # A supervisor's console has no audit page; an auditor's key is needed for that.
        assert not browser.find_element(By.CSS_SELECTOR, "#nav button[data-page=audit]").is_displayed()


def test_an_operator_sees_the_cameras_with_their_state_and_counters(
    tmp_path: Path, browser: WebDriver
) -> None:
    cameras = [
        CameraConfig(id="gate", name="Gate 1", url="gate.mp4", kind="fr", zone="south"),
        CameraConfig(id="road", name="Road 1", url="road.mp4", kind="anpr"),
    ]
    counters = camera_stats(
        "gate",
        state="backoff",
        frames_read=120,
        frames_analysed=40,
        frames_dropped=2,
        reconnects=3,
        last_frame_age_s=12.5,
        stream_error="connection refused",
    )
    services = make_services(tmp_path, cameras=cameras, camera_stats=lambda: [counters])
    keys = role_keys(services)
    with live_server(services) as url:
        browser.get(f"{url}/")
        browser.find_element(By.ID, "key").send_keys(keys[Role.OPERATOR])
        browser.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
        wait_for(lambda: text(browser, "#who") == "operator-1 (operator)", what="sign-in")
        browser.find_element(By.CSS_SELECTOR, "#nav button[data-page=cameras]").click()
        wait_for(lambda: bool(browser.find_elements(By.ID, "camera-road")), what="the cameras table")
        gate = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#camera-gate td")]
        assert gate == [
            "gate",
            "Gate 1",
            "fr",
            "south",
            "backoff",
            "120",
            "40",
            "2",
            "0",
            "3",
            "12.5 s ago",
            "connection refused",
        ]
        assert [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#camera-road td")][
            4
        ] == "not running"


def test_an_auditor_sees_the_audit_log_and_a_broken_chain(tmp_path: Path, browser: WebDriver) -> None:
    services = make_services(tmp_path)
    keys = role_keys(services)
    with live_server(services) as url:
        browser.get(f"{url}/")
        browser.find_element(By.ID, "key").send_keys(keys[Role.AUDITOR])
        browser.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
        wait_for(lambda: text(browser, "#chain") == "4 entries; hash chain intact", what="the audit page")
        assert text(browser, "#audit tbody").count("key.create") == 4
        assert not browser.find_element(By.CSS_SELECTOR, "#nav button[data-page=alerts]").is_displayed()
        lines = services.audit.path.read_text().splitlines()
        services.audit.path.write_text("\n".join([lines[0].replace("admin-1", "admin-9"), *lines[1:]]) + "\n")
        browser.find_element(By.CSS_SELECTOR, "#nav button[data-page=audit]").click()
        wait_for(
            lambda: text(browser, "#chain").startswith("HASH CHAIN BROKEN"), what="the broken chain shown"
        )
        assert "line 2" in text(browser, "#chain")
