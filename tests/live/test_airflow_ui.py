"""The web UI, in a real browser: log in, open sparkify_etl, trigger one hour through the params form.

Screenshots of every step go to test-artifacts/ui-*.png.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.expected import expected_star
from tests.live.conftest import CALL_FAILED, DAG_ID
from tests.support import assert_star_matches, busy_hours

pytestmark = pytest.mark.integration
UI_TIMEOUT_MS = 60_000


@pytest.fixture
def page(chromium, artifacts, request):
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    (artifacts / "ui-failure.png").unlink(missing_ok=True)
    context = chromium.new_context(viewport={"width": 1400, "height": 1100})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    yield page
    if request.node.stash.get(CALL_FAILED, False):
        page.screenshot(path=artifacts / "ui-failure.png", full_page=True)
    context.close()


def test_trigger_an_hour_from_the_params_form(page, sparkify_dag_live, airflow_api, sample_data, db, artifacts):
    from playwright.sync_api import expect

    services = sparkify_dag_live
    hour = busy_hours(sample_data, 1)[0]
    start, end = f"{hour:%Y-%m-%dT%H:00:00}Z", f"{hour + timedelta(hours=1):%Y-%m-%dT%H:00:00}Z"

    # Log in with the .env credentials.
    page.goto(services.base_url)
    expect(page.get_by_role("heading", name="Sign into Airflow")).to_be_visible()
    page.screenshot(path=artifacts / "ui-1-login.png")
    page.get_by_label("Username").fill(services.login.username)
    page.get_by_label("Password").fill(services.login.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Dags").first).to_be_visible()

    # Open the DAG from the DAG list; its doc_md is one click away.
    page.get_by_role("link", name="Dags").first.click()
    page.locator(f'a[href="/dags/{DAG_ID}"]').first.click()  # the DAG, not one of its runs' tasks
    expect(page).to_have_url(re.compile(f"/dags/{DAG_ID}"))
    page.get_by_role("button", name="Dag Docs").click()
    expect(page.get_by_role("dialog").get_by_role("heading", name="Sparkify ETL")).to_be_visible()
    page.screenshot(path=artifacts / "ui-2-dag-docs.png")
    page.keyboard.press("Escape")

    # The params form: the window params with their descriptions, and full_refresh.
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Run Parameters")).to_be_visible()
    for title in ("Window start (UTC)", "Window end (UTC, exclusive)"):
        expect(dialog.get_by_text(title)).to_be_visible()
    expect(dialog.get_by_role("checkbox", name="Full refresh of the song catalogue")).not_to_be_checked()
    expect(dialog.get_by_text("UTC when no offset is given")).to_be_visible()
    unpause = dialog.get_by_role("checkbox", name=f"Unpause {DAG_ID} on trigger")
    if unpause.count():  # offered while the DAG is paused, and ticked by default
        expect(unpause).to_be_checked()

    # The chosen hour.
    page.locator("#element_window_start").fill(start)
    page.locator("#element_window_end").fill(end)
    page.locator("#element_window_start").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "ui-3-trigger-form.png")

    # A malformed window is refused by the params' validation, and no run is created.
    runs_before = airflow_api.get(f"/api/v2/dags/{DAG_ID}/dagRuns")["total_entries"]
    page.locator("#element_window_start").fill("15/11/2018 07:00")
    dialog.get_by_role("button", name="Trigger").click()
    expect(dialog.get_by_text("does not match")).to_be_visible()
    page.screenshot(path=artifacts / "ui-4-validation.png")
    assert airflow_api.get(f"/api/v2/dags/{DAG_ID}/dagRuns")["total_entries"] == runs_before
    page.mouse.move(0, 0)  # the error toast covers the Trigger button; it goes once not hovered
    expect(page.get_by_text("Failed to Trigger Dag")).to_have_count(0)
    page.locator("#element_window_start").fill(start)

    with page.expect_response(
        lambda r: r.url.endswith(f"/dags/{DAG_ID}/dagRuns") and r.request.method == "POST"
    ) as posted:
        dialog.get_by_role("button", name="Trigger").click()
    assert posted.value.ok, posted.value.text()
    run = posted.value.json()
    assert run["conf"] == {"window_start": start, "window_end": end, "full_refresh": False}
    expect(page).to_have_url(re.compile(f"/dags/{DAG_ID}/runs/"))

    # Wait for success (the REST API ends the wait early with the error if a task fails),
    # then see it in the UI.
    finished = airflow_api.wait_for_run(DAG_ID, run["dag_run_id"], timeout=600)
    assert finished["state"] == "success"
    page.reload()
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    page.screenshot(path=artifacts / "ui-5-run-succeeded.png", full_page=True)

    # The warehouse holds exactly that hour, as the independent model computes it.
    expected = expected_star(sample_data, [(hour, hour + timedelta(hours=1))])
    assert expected.songplays, "the chosen hour should contain plays"
    assert_star_matches(db, expected)
