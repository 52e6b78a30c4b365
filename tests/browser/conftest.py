"""A real ``landwatch serve`` and a headless Chromium driven through selenium.

The server publishes the sample region's SDG 15.3.1 run and an LDN run on it (400 x 400
px, seed 0), has a contributor and a moderator with tokens, and the curated SLM
practices. A second, empty server shows the empty states.

Chromium and chromedriver (Debian: ``apt-get install chromium chromium-driver``) must be
on PATH: without them the tests skip on a developer machine but FAIL in CI (CI=true),
where a skip would hide that nothing was tested.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from landwatch.sample import SampleRegion, create_sample_region
from landwatch.workflows import ldn as ldn_workflow
from landwatch.workflows import sdg1531 as sdg_workflow
from landwatch.workflows.config import load_config

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
README_SCREENSHOT = REPO / "docs" / "img" / "dashboard.png"
README_SCREENSHOT_MAX_BYTES = 300 * 1024
DESKTOP = (1280, 900)
PHONE = (375, 800)


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: browser tests may not be skipped)")
    pytest.skip(message)


# --------------------------------------------------------------------------- data


@pytest.fixture(scope="session")
def sample_region(tmp_path_factory: pytest.TempPathFactory) -> SampleRegion:
    """The documented sample region: 400 x 400 px, seed 0."""
    return create_sample_region(tmp_path_factory.mktemp("sample") / "region", size=400, seed=0)


@pytest.fixture(scope="session")
def run_sdg1531(sample_region: SampleRegion, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output folder of the default SDG 15.3.1 assessment of the sample region."""
    cfg = load_config(sample_region.out_dir / "run.yaml")
    return sdg_workflow.run_sdg1531(cfg, tmp_path_factory.mktemp("run") / "sdg1531").out_dir


@pytest.fixture(scope="session")
def run_ldn(run_sdg1531: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output folder of the LDN run on the SDG 15.3.1 run."""
    return ldn_workflow.run_ldn(run_sdg1531, tmp_path_factory.mktemp("ldn") / "ldn").out_dir


# --------------------------------------------------------------------------- server


@dataclass
class Server:
    url: str
    data_dir: Path
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def api(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """Call the JSON API: (status, decoded body)."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                raw, status = r.read(), r.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def run_job(self, process: str, inputs: dict[str, Any], timeout: float = 300) -> str:
        """Run a process as the contributor and wait until it succeeded: its job id."""
        token = self.tokens["contributor"]
        status, job = self.api("POST", f"/processes/{process}/execution", {"inputs": inputs}, token)
        assert status == 201, f"{process}: {status} {job}"
        job_id = str(job["jobID"])
        deadline = time.monotonic() + timeout
        while job.get("status") not in ("successful", "failed", "dismissed"):
            if time.monotonic() > deadline:
                pytest.fail(f"job {process} {job_id} still {job.get('status')} after {timeout} s")
            time.sleep(0.5)
            status, job = self.api("GET", f"/jobs/{job_id}", token=token)
            assert status == 200, job
        if job["status"] != "successful":
            log = "\n".join(job.get("log") or [])
            pytest.fail(f"job {process} {job_id} {job['status']}: {job.get('message')}\n{log}")
        return job_id


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare_data(data_dir: Path, seed_practices: bool) -> dict[str, str]:
    """Users with tokens (and the curated practices) in the server's database."""
    from landwatch.api import Settings
    from landwatch.store import init_db, session_scope
    from landwatch.store.auth import create_user, issue_token

    data_dir.mkdir(parents=True, exist_ok=True)
    engine = init_db(Settings(data_dir=data_dir).db_url())
    tokens = {}
    with session_scope(engine) as s:
        for name, role in (("carl", "contributor"), ("mona", "moderator")):
            create_user(s, name, role)
            tokens[role] = issue_token(s, name)
        if seed_practices:
            from landwatch.knowledge.practices import load_builtin_practices

            load_builtin_practices(s)
    engine.dispose()
    return tokens


def _start_server(tmp: Path, runs: list[Path], seed_practices: bool) -> Iterator[Server]:
    data_dir = tmp / "data"
    tokens = _prepare_data(data_dir, seed_practices)
    port = _free_port()
    log = tmp / "server.log"
    exe = Path(sys.executable).with_name("landwatch")
    cmd = (
        [str(exe)]
        if exe.exists()
        else [sys.executable, "-c", "from landwatch.cli import run; run()"]
    )
    cmd += ["serve", "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning"]
    for run in runs:
        cmd += ["--run", str(run)]
    env = dict(os.environ)
    env.update(
        {
            "LANDWATCH_DATA_DIR": str(data_dir),
            # a map view asks for dozens of tiles at a time
            "LANDWATCH_RATE_LIMIT_PER_MINUTE": "100000",
            "LANDWATCH_WRITE_RATE_LIMIT_PER_MINUTE": "10000",
        }
    )
    env.pop("LANDWATCH_DATABASE_URL", None)
    env.pop("LANDWATCH_RUNS", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    server = Server(url=f"http://127.0.0.1:{port}", data_dir=data_dir, log=log, tokens=tokens)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"landwatch serve exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(server.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"landwatch serve did not answer /health in 90 s:\n{server.log_tail()}")
            time.sleep(0.3)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="session")
def server(
    run_sdg1531: Path, run_ldn: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """``landwatch serve`` with the SDG and LDN runs, users and the curated practices."""
    yield from _start_server(tmp_path_factory.mktemp("server"), [run_sdg1531, run_ldn], True)


@pytest.fixture(scope="session")
def job_sample(server: Server) -> str:
    """A small sample region made by a ``sample-create`` job: its folder in the data dir."""
    server.run_job("sample-create", {"name": "tiny", "size": 60, "seed": 0})
    return "samples/tiny"


@pytest.fixture(scope="session")
def warn_alerts(server: Server, job_sample: str) -> list[dict[str, Any]]:
    """Drought alerts in the server's database from ``warn-cdi`` and ``warn-run`` jobs on the
    small sample: the features of GET /alerts."""
    s = job_sample
    cdi = server.run_job(
        "warn-cdi", {"climate": f"{s}/climate_monthly.nc", "ndvi": f"{s}/ndvi_monthly.nc"}
    )
    server.run_job(
        "warn-run",
        {
            "cdi": f"jobs/{cdi}/cdi.nc",
            "cdi_variable": "cdi",
            "admin": f"{s}/admin.gpkg",
            "admin_layer": "admin1",
            "land_cover": f"{s}/land_cover_2015.tif",
            "population": f"{s}/population.tif",
            "align": True,
        },
    )
    status, alerts = server.api("GET", "/alerts")
    assert status == 200, alerts
    return list(alerts["features"])


@pytest.fixture(scope="session")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``landwatch serve`` with nothing published: no runs, practices or alerts."""
    yield from _start_server(tmp_path_factory.mktemp("empty-server"), [], False)


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def chrome() -> Iterator[Any]:
    """Headless Chromium (session); each test gets it through ``browser``."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        _unavailable(
            "chromium and chromedriver are needed for the browser tests: "
            "apt-get install chromium chromium-driver (make test does it as root)"
        )
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed: pip install -e '.[test]'")
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-extensions",
        "--no-first-run",
        "--lang=en-US",
        "--force-device-scale-factor=1",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(chromedriver)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def set_viewport(driver: Any, size: tuple[int, int], mobile: bool = False) -> None:
    """Emulate a viewport of ``size`` CSS pixels (a phone with ``mobile``)."""
    width, height = size
    driver.set_window_size(max(width, 500), height + 120)
    if mobile:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True},
        )
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.set_window_size(width, height)


@pytest.fixture()
def browser(chrome: Any) -> Iterator[Any]:
    """The browser at 1280 x 900, with an empty sessionStorage and console."""
    set_viewport(chrome, DESKTOP)
    chrome.get("about:blank")
    chrome.get_log("browser")  # drop what earlier tests left
    yield chrome
    try:
        set_viewport(chrome, DESKTOP)
    except Exception:  # noqa: BLE001 - the next test starts from a fresh page anyway
        pass


def js_errors(driver: Any) -> list[str]:
    """Uncaught script errors in the console since the last call (failed requests are
    not script errors: an answer of 404 is the page's business)."""
    out = []
    for entry in driver.get_log("browser"):
        message = str(entry.get("message", ""))
        if entry.get("level") != "SEVERE" or "Failed to load resource" in message:
            continue
        out.append(message)
    return out


def screenshot(driver: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def readme_screenshot(driver: Any) -> Path:
    """The README's picture of the dashboard, as a palette PNG under 300 KB (copied to
    docs/img/dashboard.png when LANDWATCH_UPDATE_DOCS_IMG=1)."""
    from PIL import Image

    image = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    colors = 256
    while True:
        buf = io.BytesIO()
        image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(
            buf, format="PNG", optimize=True
        )
        if buf.tell() < README_SCREENSHOT_MAX_BYTES or colors <= 32:
            break
        colors //= 2
    out = SCREENSHOTS / "readme_dashboard.png"
    out.write_bytes(buf.getvalue())
    # docs/img/dashboard.png is refreshed only on request, so a test run does not
    # leave the working tree modified
    if os.environ.get("LANDWATCH_UPDATE_DOCS_IMG") == "1":
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        README_SCREENSHOT.write_bytes(buf.getvalue())
    return out


@pytest.fixture()
def wait(browser: Any) -> Callable[..., Any]:
    """``wait(condition, timeout=20, message=...)`` with a WebDriverWait on the browser."""
    from selenium.webdriver.support.ui import WebDriverWait

    def _wait(condition: Callable[[Any], Any], timeout: float = 20, message: str = "") -> Any:
        return WebDriverWait(browser, timeout, poll_frequency=0.2).until(condition, message)

    return _wait


class Ui:
    """Helpers for the tests (a fixture, so test modules need not import this file)."""

    PHONE = PHONE
    DESKTOP = DESKTOP
    README_SCREENSHOT = README_SCREENSHOT
    README_SCREENSHOT_MAX_BYTES = README_SCREENSHOT_MAX_BYTES

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def js_errors(self) -> list[str]:
        return js_errors(self.driver)

    def screenshot(self, name: str) -> Path:
        return screenshot(self.driver, name)

    def readme_screenshot(self) -> Path:
        return readme_screenshot(self.driver)

    def set_viewport(self, size: tuple[int, int], mobile: bool = False) -> None:
        set_viewport(self.driver, size, mobile)


@pytest.fixture()
def ui(browser: Any) -> Ui:
    return Ui(browser)
