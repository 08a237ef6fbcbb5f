"""The sweep's HTML report as a person sees it: rendered by headless Chromium (Playwright
driving the system's browser) at a wide and a narrow window, it loads with no console error
and no failed request, every figure is drawn, the figures sit side by side on the wide window,
times read as dates, and the activity-by-mode matrix marks the combination that failed.

Skipped where Playwright or Chromium is absent (``pip install -e '.[browser]'`` and Debian's
``chromium``); CI installs both and sets ``TRIAD_REQUIRE_BROWSER=1``, which turns the skip into
a failure."""

from __future__ import annotations

import os
import shutil

import pytest

from adtriad.agents.sweep.ledger import Ledger
from adtriad.sweep_report import summarize, write_report

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
REQUIRED = os.environ.get("TRIAD_REQUIRE_BROWSER") == "1"
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the browser extra is not installed
    sync_playwright = None

if (sync_playwright is None or CHROMIUM is None) and not REQUIRED:
    pytest.skip("needs Playwright and Chromium (the browser extra and Debian's chromium)",
                allow_module_level=True)

# Chromium's own start-up requests go nowhere on a closed network; these flags keep it quiet
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
MODES = ("Forward", "Reverse")
ACTIVITIES = ("x:Active,y:Const", "x:Active,y:Active")


def _check(name, rel_err, rtol, passed=True):
    return {"name": name, "passed": passed, "max_rel_err": rel_err,
            "tolerance": {"rtol": rtol, "atol": 1e-12}}


def _ledger(path):
    """A ledger of 40 units (two modes, two activity combinations, ten seeds) whose Reverse
    units with both arguments active fail at one seed."""
    led = Ledger(path)
    led.set_meta(name="browser", planned=40)
    led.start_run(planned=40, todo=40)
    for mode in MODES:
        for activities in ACTIVITIES:
            for i in range(10):
                bad = mode == "Reverse" and activities.endswith("y:Active") and i == 3
                err = 3e-3 if bad else 1e-9 * (i + 1)
                checks = [_check("finite_differences", err, 1e-6, not bad),
                          _check("dot_product", 1e-13, 1e-10)]
                led.record({"unit_id": f"{mode}-{activities}-{i}", "scenario": "cubic",
                            "kernel": "cubic", "mode": mode, "activities": activities,
                            "seed_index": i, "seed": str(1000 + i),
                            "status": "failed" if bad else "passed", "coherent": True,
                            "seconds": 0.05 * (i + 1), "max_rel_err": err,
                            "detail": {"checks": checks}})
    led.finish_run()
    return led


@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    with _ledger(out / "b.sweep.db") as led:
        return write_report(led, summarize(led), out / "html")


@pytest.fixture(scope="module")
def browser():
    assert sync_playwright is not None and CHROMIUM is not None, \
        "TRIAD_REQUIRE_BROWSER=1 but Playwright or Chromium is missing"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _open(browser, path, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, problems


def test_the_report_renders_cleanly_with_figures_side_by_side(browser, page_path, tmp_path):
    page, problems = _open(browser, page_path, 1800)
    shot = tmp_path / "wide.png"
    page.screenshot(path=str(shot), full_page=True)
    png = shot.read_bytes()
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert png[:4] == b"\x89PNG" and width == 1800 and height > 900
    images = page.eval_on_selector_all(
        "figure img", "els => els.map(e => [e.naturalWidth, e.getBoundingClientRect().top])")
    assert len(images) == 3 and all(w > 0 for w, _ in images), images
    tops = [round(top) for _, top in images]
    assert len(set(tops)) < len(tops), f"no two figures share a row at 1800 px: {tops}"
    assert problems == []
    page.close()


def test_the_report_stacks_its_figures_on_a_narrow_window(browser, page_path):
    page, problems = _open(browser, page_path, 700)
    tops = page.eval_on_selector_all("figure img", "els => els.map(e => "
                                     "e.getBoundingClientRect().top)")
    assert len(set(round(t) for t in tops)) == 3 and problems == []
    page.close()


def test_the_report_reads_as_a_verdict_a_matrix_and_dates(browser, page_path):
    page, _ = _open(browser, page_path, 1400)
    text = page.inner_text("body")
    assert "NOT VERIFIED" in text and "e+09" not in text
    assert page.locator("text=/\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC/").count() >= 2
    bad = page.eval_on_selector_all("td.bad", "els => els.map(e => [e.parentElement"
                                    ".cells[0].innerText, e.cellIndex, e.innerText])")
    header = page.eval_on_selector_all("tr th", "els => els.map(e => e.innerText)")
    assert [(row, header[col]) for row, col, _ in bad] == [("x:Active,y:Active", "Reverse")]
    assert "9 of 10 passed" in bad[0][2]
    page.close()
