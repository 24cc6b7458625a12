#!/usr/bin/env bash
# Install the headless browser that tests/test_app_browser.py drives: Debian/Ubuntu's chromium and
# chromium-driver, with apt-get, when they are missing and this runs as root with apt-get available.
# Idempotent: does nothing when Chromium is already there.  Never fails the caller: without
# Chromium the browser test is skipped and says why.
set -uo pipefail

have_chromium() {
    { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } &&
        command -v chromedriver >/dev/null 2>&1
}

if have_chromium; then
    echo "install_browser: Chromium and chromedriver already installed ($(command -v chromium || command -v chromium-browser)); nothing to do"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: no apt-get here; install Chromium by hand to run the browser test (it is skipped without)"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install_browser: not root; run 'sudo apt-get install chromium chromium-driver' to run the browser test (it is skipped without)"
    exit 0
fi
echo "install_browser: installing chromium and chromium-driver with apt-get"
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; then
    echo "install_browser: installed $(dpkg-query -W -f='${Package} ${Version}, ' chromium chromium-driver 2>/dev/null)"
else
    echo "install_browser: apt-get could not install chromium; the browser test will be skipped"
fi
exit 0
