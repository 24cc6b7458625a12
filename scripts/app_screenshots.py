"""Make docs/app.png and docs/report.png: the web app after restoring scikit-image's cat photo
degraded with noise then JPEG, and the top of the report of ``irpilot demo``.

Needs Chromium (scripts/install_browser.sh) and playwright.  Run from the repository root:

    python scripts/app_screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _small_png(src: Path, dst: Path, width: int, height: int | None = None) -> None:
    """Crop the top ``height`` px, scale to ``width`` and store with a 256-colour palette."""
    im = Image.open(src).convert("RGB")
    if height:
        im = im.crop((0, 0, im.width, min(im.height, height)))
    im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
    im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(dst, optimize=True)
    print(f"{dst}: {im.width}x{im.height}, {dst.stat().st_size / 1e3:.0f} kB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "src"))
    from irpilot.imaging.photos import bundled_photo
    from irpilot.degrade import degrade
    from irpilot.io import write_image

    out = Path(args.out)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("no Chromium: run scripts/install_browser.sh", file=sys.stderr)
        return 1
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        degraded, _ = degrade(bundled_photo("chelsea"), ["noise", "jpeg"], seed=0)
        photo = write_image(tmp / "cat_noise_jpeg.png", degraded)
        subprocess.run([sys.executable, "-m", "irpilot", "demo", "-o", str(tmp / "demo")], env=env, check=True,
                       cwd=tmp)
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "irpilot", "app", "--port", str(port)], env=env, cwd=tmp,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/"
            while True:
                try:
                    urllib.request.urlopen(url, timeout=2)
                    break
                except OSError:
                    time.sleep(0.3)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS,
                                            headless=True)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url)
                page.locator("#irp-files input[type=file]").set_input_files(str(photo))
                page.wait_for_function(
                    r"([id, name]) => document.querySelector(id).textContent.replace(/\s+/g, '').includes(name)",
                    arg=["#irp-files", photo.name])
                page.locator("#irp-go").click()
                page.wait_for_selector("#irp-status .msg.ok", timeout=300_000)
                page.screenshot(path=str(tmp / "app_full.png"), full_page=True)
                page.goto((tmp / "demo" / "report.html").as_uri())
                page.screenshot(path=str(tmp / "report_full.png"), full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(30)
        out.mkdir(parents=True, exist_ok=True)
        _small_png(tmp / "app_full.png", out / "app.png", 1000, 1500)
        _small_png(tmp / "report_full.png", out / "report.png", 900, 1500)
    return 0


if __name__ == "__main__":
    sys.exit(main())
