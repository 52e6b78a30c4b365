"""The dashboard in a real browser against a real server (see conftest.py).

Scenarios: the map loads tiles, switches layers (tile URL and legend change), answers a
click with a value and a time-series chart, shows areas by admin unit; the observation
form shows the API's field error next to the field and then accepts a good report; the
practice form lists every field error at once; the knowledge base finds "zai" and shows
its page; jobs and alerts pages render; every page fits a 375 px phone without a
horizontal scrollbar; with nothing published, pages show empty states with a hint.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote

import pytest

try:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select
except ImportError:  # pragma: no cover - the conftest says how to install it
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("selenium is not installed: pip install -e '.[test]'", allow_module_level=True)


pytestmark = pytest.mark.slow

TILE = "img.leaflet-tile-loaded"


def _css(driver: Any, selector: str) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, selector)


def _visible_text(driver: Any, selector: str) -> str:
    found = [e for e in _css(driver, selector) if e.is_displayed()]
    return found[0].text.strip() if found else ""


def _texts(driver: Any, selector: str) -> list[str]:
    """Inner texts of the matching elements, read in one script call: the page
    re-renders tables and tiles, so element handles found earlier may go stale."""
    return list(
        driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText)",
            selector,
        )
    )


def _loaded_tile_srcs(driver: Any) -> list[str]:
    srcs = driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), e => e.getAttribute('src') || '')",
        TILE,
    )
    return [unquote(s) for s in srcs]


def _open_map(driver: Any, wait: Any, url: str) -> None:
    driver.get(url)
    wait(
        lambda d: _css(d, TILE) or _visible_text(d, "#map-empty"),
        timeout=60,
        message="no map tile loaded and no empty state shown",
    )
    assert _css(driver, TILE), "map shows its empty state: " + _visible_text(driver, "#map-empty")


def _save_token(driver: Any, wait: Any, token: str, who: str) -> None:
    box = driver.find_element(By.ID, "token-input")
    box.clear()
    box.send_keys(token)
    driver.find_element(By.ID, "token-save").click()
    wait(
        lambda d: who in d.find_element(By.ID, "token-status").text,
        message="the token box did not confirm the user (GET /users/me)",
    )
    assert driver.execute_script("return sessionStorage.getItem('landwatch.token')") == token


def _layer_options(driver: Any) -> list[tuple[str, str]]:
    """(value, optgroup label) of every option of the layer switcher."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#layer-select option'))"
        ".map(o => [o.value, o.parentElement.label || ''])"
    )


# --------------------------------------------------------------------------- map


def test_map__loads_tiles_offline_and_switches_layers(browser, wait, ui, server) -> None:
    _open_map(browser, wait, server.url + "/")
    options = _layer_options(browser)
    groups = {g for _, g in options}
    assert len(options) > 1 and len(groups) > 1, f"layers not grouped: {options[:5]}"
    first = Select(browser.find_element(By.ID, "layer-select")).first_selected_option
    first_id = first.get_attribute("value")
    assert any(f"/layers/{first_id}/tiles/" in s for s in _loaded_tile_srcs(browser))
    first_legend = browser.find_element(By.ID, "legend").text
    assert first_legend.strip()

    # another group's layer: new tile URLs and a new legend
    first_group = dict(options)[first_id]
    other_id = next(v for v, g in options if g != first_group)
    Select(browser.find_element(By.ID, "layer-select")).select_by_value(other_id)
    wait(
        lambda d: any(f"/layers/{other_id}/tiles/" in s for s in _loaded_tile_srcs(d)),
        timeout=60,
        message=f"no tile of {other_id} loaded",
    )
    wait(lambda d: d.find_element(By.ID, "legend").get_attribute("data-layer") == other_id)
    assert browser.find_element(By.ID, "legend").text != first_legend
    assert f"layer={other_id}" in unquote(browser.current_url)

    # offline: every resource the page fetched came from this server
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    foreign = [u for u in urls if not u.startswith(server.url)]
    assert not foreign, f"requests to other hosts: {foreign[:5]}"
    assert not ui.js_errors()
    ui.screenshot("map_switched_layer")


def test_map__time_slider_hidden_for_layers_without_times(browser, wait, server) -> None:
    _open_map(browser, wait, server.url + "/")
    status, layers = server.api("GET", "/layers")
    assert status == 200, layers
    plain = [layer for layer in layers if not layer.get("times")]
    assert plain
    Select(browser.find_element(By.ID, "layer-select")).select_by_value(plain[0]["id"])
    assert not browser.find_element(By.ID, "time-control").is_displayed()
    # layers with times: test_jobs__launch_spi_follow_progress_then_map_it_over_time


def test_map__click_shows_value_popup_and_time_series_chart(browser, wait, ui, server) -> None:
    _open_map(browser, wait, server.url + "/")
    ActionChains(browser).move_to_element(browser.find_element(By.ID, "map")).click().perform()
    wait(lambda d: _css(d, ".leaflet-popup .popup-value"), message="no popup")
    wait(
        lambda d: _visible_text(d, ".leaflet-popup .popup-value") not in ("", "Loading value…"),
        message="the popup shows no value (GET /layers/{id}/value)",
    )
    value = browser.find_element(By.CSS_SELECTOR, ".leaflet-popup .popup-value")
    assert "error-text" not in (value.get_attribute("class") or ""), value.text
    wait(
        lambda d: d.execute_script(
            "const c = document.querySelector('.leaflet-popup canvas');"
            "return c && c.offsetParent !== null && c.width > 0 && Chart.getChart(c) !== undefined"
        ),
        message="no time-series chart in the popup (GET /timeseries): "
        + _visible_text(browser, ".leaflet-popup .popup-body"),
    )
    points = browser.execute_script(
        "return Chart.getChart(document.querySelector('.leaflet-popup canvas')).data.labels.length"
    )
    assert points >= 2
    assert browser.find_element(By.CSS_SELECTOR, "#point-panel .popup-value").text == value.text
    assert not ui.js_errors()
    ui.screenshot("map_click_popup")
    path = ui.readme_screenshot()
    assert 0 < path.stat().st_size < ui.README_SCREENSHOT_MAX_BYTES
    assert path.name == "readme_dashboard.png"


def test_map__admin_unit_areas_table_and_chart(browser, wait, ui, server) -> None:
    _open_map(browser, wait, server.url + "/")
    wait(
        lambda d: (
            d.find_element(By.ID, "admin-controls").is_displayed()
            or d.find_element(By.ID, "admin-empty").is_displayed()
        ),
        message="the admin panel neither loaded nor showed its empty state",
    )
    assert browser.find_element(By.ID, "admin-controls").is_displayed(), _visible_text(
        browser, "#admin-empty"
    )
    units = Select(browser.find_element(By.ID, "admin-select"))
    unit = next(
        o.get_attribute("value") for o in units.options if o.get_attribute("value") != "ALL"
    )
    units.select_by_value(unit)
    wait(lambda d: len(_css(d, "#admin-table tbody tr")) >= 2, message="no area rows")
    rows = _texts(browser, "#admin-table tbody tr")
    assert any("Degraded" in r for r in rows), rows
    assert browser.find_element(By.ID, "admin-chart").is_displayed()
    assert browser.execute_script(
        "return Chart.getChart(document.getElementById('admin-chart')) !== undefined"
    )
    browser.execute_script("document.getElementById('admin-panel').scrollIntoView()")
    ui.screenshot("map_admin_panel")


def test_map__alert_list_renders(browser, wait, server) -> None:
    browser.get(server.url + "/")
    wait(
        lambda d: (
            _css(d, "#alert-list li:not(.muted)")
            or d.find_element(By.ID, "alerts-empty").is_displayed()
        ),
        message="the alert list neither loaded nor showed its empty state",
    )
    detail = _visible_text(browser, "#alerts-empty-detail")
    assert "Could not read" not in detail, detail


# --------------------------------------------------------------------------- forms


def test_observation_form__field_error_next_to_field_then_accepted(
    browser, wait, ui, server
) -> None:
    browser.get(server.url + "/observations/new")
    _save_token(browser, wait, server.tokens["contributor"], "carl")
    form = browser.find_element(By.ID, "observation-form")
    form.find_element(By.NAME, "lon").send_keys("37.1")
    form.find_element(By.NAME, "lat").send_keys("123")
    Select(form.find_element(By.NAME, "observer_role")).select_by_value("farmer")
    Select(form.find_element(By.NAME, "category")).select_by_value("crop_failure")
    form.find_element(By.NAME, "description").send_keys("Maize wilted on most fields.")
    browser.find_element(By.ID, "observation-submit").click()

    wait(
        lambda d: (
            _visible_text(d, '[data-error-for="lat"]')
            or _visible_text(d, "#observation-form .form-errors")
        ),
        message="no error shown for the bad latitude",
    )
    error = _visible_text(browser, '[data-error-for="lat"]')
    assert error, "the error is not next to the field: " + _visible_text(
        browser, "#observation-form .form-errors"
    )
    assert "90" in error, error
    lat = form.find_element(By.NAME, "lat")
    assert lat.get_attribute("aria-invalid") == "true"
    assert not browser.find_element(By.ID, "observation-result").is_displayed()
    ui.screenshot("observation_error")

    lat.clear()
    lat.send_keys("-1.2")
    browser.find_element(By.ID, "observation-submit").click()
    wait(
        lambda d: (
            d.find_element(By.ID, "observation-result").is_displayed()
            or _visible_text(d, "#observation-form .form-errors")
        ),
        message="no answer to the good observation",
    )
    result = browser.find_element(By.ID, "observation-result")
    assert result.is_displayed(), _visible_text(browser, "#observation-form .form-errors")
    assert "accepted" in result.text.lower() and "submitted" in result.text
    assert not _visible_text(browser, '[data-error-for="lat"]')
    ui.screenshot("observation_accepted")


def test_observation_form__without_token_says_what_is_missing(browser, wait, server) -> None:
    browser.get(server.url + "/observations/new")
    browser.find_element(By.ID, "token-clear").click()
    form = browser.find_element(By.ID, "observation-form")
    form.find_element(By.NAME, "lon").send_keys("37.1")
    form.find_element(By.NAME, "lat").send_keys("-1.2")
    browser.find_element(By.ID, "observation-submit").click()
    wait(lambda d: _visible_text(d, "#observation-form .form-errors"))
    text = _visible_text(browser, "#observation-form .form-errors")
    assert "401" in text and "token" in text.lower(), text


def test_practice_form__lists_every_field_error(browser, wait, ui, server) -> None:
    browser.get(server.url + "/practices/new")
    _save_token(browser, wait, server.tokens["contributor"], "carl")
    form = browser.find_element(By.ID, "practice-form")
    form.find_element(By.NAME, "name").send_keys("Stone lines on a test slope")
    form.find_element(By.NAME, "summary").send_keys("too short")
    browser.find_element(By.ID, "practice-submit").click()
    wait(lambda d: _visible_text(d, '[data-error-for="summary"]'), message="no summary error")
    shown = [
        e.get_attribute("data-error-for")
        for e in _css(browser, "#practice-form [data-error-for]")
        if e.is_displayed() and e.text.strip()
    ]
    assert "summary" in shown and "description" in shown and "land_use" in shown, shown
    assert "name" not in shown, shown
    assert any(s.startswith("sources") for s in shown), shown
    ui.screenshot("practice_form_errors")


# --------------------------------------------------------------------------- knowledge base


def test_practices__search_zai_and_open_its_page(browser, wait, ui, server) -> None:
    browser.get(server.url + "/practices")
    box = browser.find_element(By.ID, "q")
    box.send_keys("zai")
    box.submit()
    wait(lambda d: "q=zai" in d.current_url and _css(d, ".hit-name"))
    first = browser.find_element(By.CSS_SELECTOR, ".hit-name")
    assert "zai" in first.text.lower(), first.text
    assert _css(browser, ".facet"), "no facets"
    first.click()
    wait(lambda d: _css(d, "#practice-name"))
    assert "zai" in browser.find_element(By.ID, "practice-name").text.lower()
    assert browser.find_element(By.ID, "practice-status").text == "approved"
    assert int(browser.find_element(By.ID, "practice-version").text) >= 1
    page = browser.find_element(By.TAG_NAME, "main").text
    for heading in ("Description", "Land use", "Degradation types", "Climate zones", "Goals"):
        assert heading in page, heading
    assert "Impacts" in page and "Sources" in page
    assert _css(browser, "#practice-sources li"), "no sources"
    links = [a.get_attribute("href") for a in _css(browser, "#practice-sources a")]
    assert all(h.startswith(("http://", "https://")) for h in links), links
    assert not ui.js_errors()
    ui.screenshot("practice_page")


def test_practices__facet_filters_the_hits(browser, wait, server) -> None:
    browser.get(server.url + "/practices")
    total = browser.find_element(By.ID, "results-title").text
    browser.execute_script("document.querySelectorAll('.facet').forEach(d => d.open = true)")
    box = browser.find_element(By.CSS_SELECTOR, 'input[name="land_use"][value="grazing_land"]')
    box.click()  # the form re-submits on change
    wait(lambda d: "land_use=grazing_land" in d.current_url)
    assert browser.find_element(By.ID, "results-title").text != total
    assert browser.find_element(
        By.CSS_SELECTOR, 'input[name="land_use"][value="grazing_land"]'
    ).is_selected()


# --------------------------------------------------------------------------- jobs, alerts


def test_jobs__page_lists_processes(browser, wait, ui, server) -> None:
    browser.get(server.url + "/jobs")
    wait(
        lambda d: (
            _css(d, "#process-select option[value]")
            or d.find_element(By.ID, "processes-empty").is_displayed()
        ),
        message="the jobs page neither listed processes nor showed its empty state",
    )
    detail = _visible_text(browser, "#processes-empty")
    assert not detail, detail
    values = [o.get_attribute("value") for o in _css(browser, "#process-select option")]
    assert {"sample-create", "sdg1531", "drought-spi", "warn-run"} <= set(values), values
    wait(lambda d: d.find_element(By.ID, "process-inputs").text, message="no input list")
    assert not ui.js_errors()


def _launch(browser: Any, wait: Any, process: str, inputs: str) -> None:
    Select(browser.find_element(By.ID, "process-select")).select_by_value(process)
    wait(lambda d: d.find_element(By.ID, "job-inputs").get_attribute("value").strip() != "{}")
    box = browser.find_element(By.ID, "job-inputs")
    box.clear()
    box.send_keys(inputs)
    browser.find_element(By.ID, "job-submit").click()


def test_jobs__bad_inputs_show_the_api_error_at_the_inputs(
    browser, wait, ui, server, job_sample
) -> None:
    browser.get(server.url + "/jobs")
    _save_token(browser, wait, server.tokens["contributor"], "carl")
    wait(lambda d: _css(d, "#process-select option[value]"))
    name = job_sample.split("/")[-1]
    _launch(browser, wait, "sample-create", f'{{"name": "{name}", "size": 60}}')
    wait(lambda d: _visible_text(d, '[data-error-for="inputs"]'), message="no error at the inputs")
    assert "already exists" in _visible_text(browser, '[data-error-for="inputs"]')
    assert not browser.find_element(By.ID, "job-panel").is_displayed()
    box = browser.find_element(By.ID, "job-inputs")
    box.clear()
    box.send_keys("{not json")
    browser.find_element(By.ID, "job-submit").click()
    wait(lambda d: "not valid JSON" in _visible_text(d, '[data-error-for="inputs"]'))


def test_alerts__warning_jobs_raise_alerts_on_the_map_and_alerts_page(
    browser, wait, ui, server, warn_alerts
) -> None:
    assert warn_alerts, "the warning jobs on the sample raised no current alert"
    browser.get(server.url + "/")
    wait(lambda d: _css(d, "#alert-list li .badge"), message="no alert in the map's list")
    assert len(_css(browser, "#alert-list li")) == min(20, len(warn_alerts))
    browser.get(server.url + "/alerts")
    wait(lambda d: d.find_element(By.ID, "alerts-table").is_displayed())
    rows = _css(browser, "#alerts-table tbody tr")
    assert len(rows) == len(warn_alerts)
    first = warn_alerts[0]["properties"]
    assert first["unit"] in rows[0].text
    cap = rows[0].find_element(By.LINK_TEXT, "CAP").get_attribute("href")
    assert cap.endswith(f"/alerts/{first['id']}/cap")
    rows[0].find_element(By.LINK_TEXT, "history").click()
    wait(lambda d: d.find_element(By.ID, "alert-detail").is_displayed())
    wait(lambda d: _css(d, "#alert-detail-body tbody tr"), message="no alert history")
    assert not ui.js_errors()
    ui.screenshot("alerts_history")


def test_alerts__page_renders(browser, wait, ui, server) -> None:
    browser.get(server.url + "/alerts")
    wait(
        lambda d: (
            d.find_element(By.ID, "alerts-table").is_displayed()
            or d.find_element(By.ID, "alerts-empty").is_displayed()
        )
    )
    detail = _visible_text(browser, "#alerts-empty-detail")
    assert "Could not read" not in detail, detail
    assert not ui.js_errors()
    ui.screenshot("alerts")


# --------------------------------------------------------------------------- phone width


PAGES = [
    "/",
    "/practices",
    "/practices?q=zai",
    "/practices/new",
    "/observations/new",
    "/jobs",
    "/alerts",
]


def test_phone_width__no_horizontal_scrollbar_and_full_width_map(browser, wait, ui, server) -> None:
    ui.set_viewport(ui.PHONE, mobile=True)
    problems = []
    for path in PAGES:
        browser.get(server.url + path)
        wait(lambda d: d.execute_script("return document.readyState") == "complete")
        # the page's viewport meta tag makes the layout viewport the phone's width
        assert browser.execute_script("return window.innerWidth") == ui.PHONE[0], path
        if path == "/":
            wait(lambda d: _css(d, TILE) or _visible_text(d, "#map-empty"), timeout=60)
            map_width = browser.execute_script(
                "return document.getElementById('map').getBoundingClientRect().width"
            )
            assert map_width >= ui.PHONE[0] - 24, f"map is {map_width} px wide on a phone"
            ui.screenshot("phone_map")
        sizes = browser.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        if sizes[0] > sizes[1]:
            wide = browser.execute_script(
                "return Array.from(document.querySelectorAll('body *'))"
                ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
                ".slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)"
            )
            problems.append(f"{path}: scrollWidth {sizes[0]} > {sizes[1]} ({wide})")
    ui.screenshot("phone_alerts")
    browser.get(server.url + "/practices?q=zai")
    browser.find_element(By.CSS_SELECTOR, ".hit-name").click()
    wait(lambda d: _css(d, "#practice-name"))
    sizes = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    if sizes[0] > sizes[1]:
        problems.append(f"practice page: scrollWidth {sizes[0]} > {sizes[1]}")
    ui.screenshot("phone_practice_page")
    assert not problems, problems


# --------------------------------------------------------------------------- empty server


def test_empty_server__pages_show_empty_states_with_hints(browser, wait, ui, empty_server) -> None:
    browser.get(empty_server.url + "/")
    wait(lambda d: d.find_element(By.ID, "map-empty").is_displayed(), message="no map empty state")
    assert "landwatch serve --run" in browser.find_element(By.ID, "map-empty").text
    wait(lambda d: d.find_element(By.ID, "alerts-empty").is_displayed())
    wait(lambda d: d.find_element(By.ID, "admin-empty").is_displayed())
    ui.screenshot("empty_map")

    browser.get(empty_server.url + "/practices")
    assert "landwatch practices seed" in browser.find_element(By.TAG_NAME, "main").text

    browser.get(empty_server.url + "/alerts")
    wait(lambda d: d.find_element(By.ID, "alerts-empty").is_displayed())
    assert "landwatch warn" in browser.find_element(By.ID, "alerts-empty").text

    browser.get(empty_server.url + "/jobs")
    wait(
        lambda d: (
            d.find_element(By.ID, "jobs-empty").is_displayed()
            or d.find_element(By.ID, "processes-empty").is_displayed()
        )
    )
    assert not ui.js_errors()


# --------------------------------------------------------------------------- a job's layer over time


# last: its many-band layer is slow to read, and requests left running slow the server for
# whatever test comes next
def test_jobs__launch_spi_follow_progress_then_map_it_over_time(
    browser, wait, ui, server, job_sample
) -> None:
    browser.get(server.url + "/jobs")
    _save_token(browser, wait, server.tokens["contributor"], "carl")
    wait(lambda d: _css(d, "#process-select option[value]"))
    _launch(
        browser,
        wait,
        "drought-spi",
        f'{{"source": "{job_sample}/climate_monthly.nc", "scales": [3]}}',
    )
    wait(lambda d: d.find_element(By.ID, "job-panel").is_displayed(), message="no job panel")
    wait(
        lambda d: d.find_element(By.ID, "job-status").text in ("successful", "failed", "dismissed"),
        timeout=240,
        message="the job did not finish",
    )
    status = browser.find_element(By.ID, "job-status").text
    assert status == "successful", browser.find_element(By.ID, "job-log").text
    assert browser.find_element(By.ID, "job-progress").get_attribute("value") == "100"
    wait(lambda d: _css(d, "#job-results a"), message="no result links")
    job_id = browser.find_element(By.ID, "job-id").text.split("·")[-1].strip()
    assert f"#job={job_id}" in unquote(browser.current_url)
    ui.screenshot("jobs_spi_done")

    # the job's output is a layer with times: the slider shows, tiles carry ?time=
    layers = server.api("GET", "/layers")[1]
    mine = [layer for layer in layers if layer["run"] == f"job-{job_id}"]
    assert mine, (
        f"GET /layers has no layer of run job-{job_id}: docs/api.md says successful job "
        "output folders are layer sources (the catalog reads jobs/<id>/manifest.json)"
    )
    spi = mine[0]
    assert spi["times"], spi
    _open_map(browser, wait, server.url + "/#layer=" + spi["id"])
    assert browser.find_element(By.ID, "time-control").is_displayed()
    assert browser.find_element(By.ID, "time-label").text == spi["times"][-1][:10]
    browser.find_element(By.ID, "time-slider").send_keys(Keys.HOME)
    first = spi["times"][0]
    wait(
        lambda d: any(f"time={first}" in s for s in _loaded_tile_srcs(d)),
        timeout=60,
        message=f"no tile of time {first}",
    )
    assert f"time={first}" in unquote(browser.current_url)
    ActionChains(browser).move_to_element(browser.find_element(By.ID, "map")).click().perform()
    # a value and the series read every band of the many-band COG: allow for it
    wait(
        lambda d: _visible_text(d, ".leaflet-popup .popup-value") not in ("", "Loading value…"),
        timeout=90,
        message="no value at the point",
    )
    wait(
        lambda d: d.execute_script(
            "const c = document.querySelector('.leaflet-popup canvas');"
            "return c && Chart.getChart(c) !== undefined"
        ),
        timeout=150,
        message="no SPI series: " + _visible_text(browser, ".leaflet-popup .popup-body"),
    )
    ui.screenshot("map_spi_time")
    assert not ui.js_errors()
