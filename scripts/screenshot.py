"""Take a screenshot of a running dashboard page with Debian's Chromium (no browser download).

Usage: python scripts/screenshot.py URL OUTPUT.png [TEXT_TO_WAIT_FOR]
"""

from __future__ import annotations

import sys

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-unsafe-swiftshader",
]


def main() -> None:
    url, output = sys.argv[1], sys.argv[2]
    wait_for = sys.argv[3] if len(sys.argv) > 3 else None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        if wait_for:
            page.get_by_text(wait_for).first.wait_for(timeout=60_000)
        page.wait_for_timeout(3000)
        page.screenshot(path=output, full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
