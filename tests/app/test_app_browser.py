"""``irpilot app`` in a real headless Chromium: upload a small degraded photo, wait for the
result, and check that the perception bars, every step of the trace and the downloads appear;
upload a non-image and check the message; no request leaves 127.0.0.1, nothing is written
outside the app's temporary folder, and that folder is gone when the app stops.

Needs Chromium (``scripts/install_browser.sh``) and the ``playwright`` package; the test is
skipped, saying which is missing, where they are not.  The screenshot is saved as
``app.png`` in the test's temporary folder (or in ``IRPILOT_SCREENSHOT_DIR`` when set).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from irpilot.io import write_image

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
#: How long the page may take for one restoration (a tiny photo takes a few seconds).
RESULT_TIMEOUT_MS = 90_000


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chromium() -> str:
    pytest.importorskip("gradio", reason="the app needs the 'app' extra (Gradio)")
    pytest.importorskip("playwright.sync_api", reason="the browser test needs the 'playwright' package (test extra)")
    path = _chromium()
    if path is None:
        pytest.skip("no Chromium installed: run scripts/install_browser.sh (apt-get install chromium chromium-driver)")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[dict[str, object]]:
    root = tmp_path_factory.mktemp("app")
    tmp, cwd, home = root / "tmp", root / "cwd", root / "home"
    for d in (tmp, cwd, home):
        d.mkdir()
    port = _free_port()
    src = Path(__file__).resolve().parents[1] / "src"
    env = dict(os.environ, TMPDIR=str(tmp), HOME=str(home),
               PYTHONPATH=os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    env.pop("GRADIO_TEMP_DIR", None)
    log = (root / "app.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "irpilot", "app", "--port", str(port), "--max-upload-mb", "1"],
                            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            pytest.fail(f"irpilot app exited with {proc.returncode}:\n{(root / 'app.log').read_text()}")
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("irpilot app did not answer within 120 s")
            time.sleep(0.3)
    info: dict[str, object] = {"url": url, "tmp": tmp, "cwd": cwd, "home": home, "proc": proc, "root": root}
    try:
        yield info
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=chromium, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


def _upload(page: object, element: str, path: Path) -> None:
    """Give ``path`` to the file component ``element`` and wait until the page lists it."""
    page.locator(f"{element} input[type=file]").set_input_files(str(path))
    page.wait_for_function(
        r"([id, name]) => document.querySelector(id).textContent.replace(/\s+/g, '').includes(name)",
        arg=[element, path.name],
    )


def _open(page: object, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#irp-go")


def _photo(path: Path) -> Path:
    from irpilot.degrade import degrade
    from irpilot.imaging.photos import bundled_photo

    clean = bundled_photo("astronaut")[:, 60:124, 180:244]  # 64x64: a face, quick to restore
    degraded, _ = degrade(clean, ["noise", "jpeg"], seed=0)
    return write_image(path, degraded)


def test_page_restores_a_photo_and_explains_bad_input(server: dict, browser: object, tmp_path: Path) -> None:
    outside: list[str] = []
    page = browser.new_page()
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((server["url"], "data:", "blob:")) else None)
    _open(page, str(server["url"]))
    _upload(page, "#irp-files", _photo(tmp_path / "face.png"))
    page.locator("#irp-go").click()
    page.wait_for_selector("#irp-status .msg.info", timeout=30_000)  # progress while tools run
    page.wait_for_selector("#irp-status .msg.ok", timeout=RESULT_TIMEOUT_MS)
    assert "Done: 1 photo(s)" in page.locator("#irp-status").inner_text()

    story = page.locator("#irp-story")
    assert story.locator(".bars").first.is_visible()
    assert "What perception sees" in story.inner_text()
    assert story.locator(".bar i").count() >= 9  # one bar per degradation perception rates

    links = page.locator("#irp-downloads a")
    names = {links.nth(i).get_attribute("href").rsplit("/", 1)[-1]: links.nth(i).get_attribute("href")
             for i in range(links.count())}
    assert {"face.restored.png", "face.trace.json", "report.html"} <= set(names)
    with urllib.request.urlopen(names["face.trace.json"], timeout=10) as r:
        trace = json.loads(r.read())
    tools = [s["action"]["name"] for s in trace["steps"] if s["action"]["name"] != "stop"]
    cards = story.locator(".card:not(.stop) .tool")
    assert [cards.nth(i).inner_text() for i in range(cards.count())] == tools  # every step, in order
    assert story.locator(".card .cmp").count() == len(tools)
    for s in trace["steps"]:
        if s["choices"]:  # the learned policy's alternatives are drawn
            assert story.locator(".bar.pick").count() >= 1
    assert page.locator("#irp-slider img").count() >= 1
    # the story's before/after slider follows the hand
    slider = story.locator(".cmp input").first
    slider.fill("20")
    assert "--pos: 20%" in story.locator(".cmp").first.get_attribute("style")

    shots = Path(os.environ.get("IRPILOT_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "app.png"), full_page=True)
    assert (shots / "app.png").stat().st_size > 10_000

    # a non-image, in a fresh page
    _open(page, str(server["url"]))
    (tmp_path / "notes.txt").write_text("not a photo")
    _upload(page, "#irp-files", tmp_path / "notes.txt")
    page.locator("#irp-go").click()
    page.wait_for_selector("#irp-status .msg.error", timeout=30_000)
    text = page.locator("#irp-status").inner_text()
    assert "notes.txt: not a recognised image file" in text and "Traceback" not in page.content()

    # above the upload limit (1 MB here): refused with a message before it reaches irpilot
    _open(page, str(server["url"]))
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(1_200_000))
    page.locator("#irp-files input[type=file]").set_input_files(str(big))
    page.get_by_text("exceed the maximum allowed size").first.wait_for(timeout=30_000)
    page.close()

    assert outside == [], f"the page asked for outside resources: {outside}"
    assert list(Path(server["cwd"]).iterdir()) == []  # nothing written where it was started
    # nor in the home folder, but for matplotlib's font cache (Gradio imports matplotlib)
    written = [p for p in Path(server["home"]).rglob("*") if p.is_file()]
    assert all("matplotlib" in p.parts for p in written), written


def test_app_removes_its_temporary_folder_when_stopped(server: dict) -> None:
    proc = server["proc"]
    tmp = Path(server["tmp"])
    assert any(p.name.startswith("irpilot-app-") for p in tmp.iterdir())
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    assert list(tmp.iterdir()) == []  # uploads and results were all in its temporary folder
