"""``llmlab view`` in headless Chromium over 100,000 generated items: matrix, filter, item, diff.

Set ``LLMLAB_VIEW_SCREENSHOTS=docs`` to refresh the screenshots in ``docs/``.
"""

from __future__ import annotations

import os
import re
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
from view_sample import DATASET, write_artifacts

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
N = 100_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(process: subprocess.Popen[bytes], port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "llmlab view exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("llmlab view did not start")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("view")
    artifacts = write_artifacts(root / "artifacts", N)
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "llmlab_pipelines.cli", "view"),
            *("--artifacts", str(artifacts), "--lab", str(root / "no-lab")),
            *("--port", str(port)),
        ],
        env={**os.environ},
        start_new_session=True,
    )
    try:
        wait_until_up(process, port)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def shoot(page: object, tmp_path: Path, name: str, *, full: bool = False) -> None:
    target = tmp_path / name
    page.screenshot(path=str(target), full_page=full)  # type: ignore[attr-defined]
    assert target.stat().st_size > 10_000
    folder = os.environ.get("LLMLAB_VIEW_SCREENSHOTS")
    if folder:
        shutil.copy(target, Path(folder) / name)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make env does)")
def test_matrix_filter_item_and_diff_in_chromium(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    started = time.perf_counter()
    with urllib.request.urlopen(f"{server}/x/all/{DATASET}", timeout=30) as response:
        assert response.status == 200  # the first page, cold: nothing read before it
    cold = time.perf_counter() - started
    assert cold < 5, f"first page took {cold:.2f}s (the benchmark measures it quietly)"

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"{server}/x/all/{DATASET}")
        expect(page.locator("#total")).to_contain_text(f"{N} matching")
        expect(page.locator("#matrix a.item-link")).to_have_count(50)
        expect(page.locator("#leaderboard")).to_contain_text("few_shot@sim")
        shoot(page, tmp_path, "view-matrix.png")

        page.locator('#filters a[data-filter="judge_metric"]').click()
        expect(page).to_have_url(re.compile(r"filter=judge_metric"))
        total = int(page.locator("#total").inner_text().split()[0])
        assert 0 < total < N
        page.locator('#pairs a[data-pair="grader|exact_match"]').click()
        expect(page).to_have_url(re.compile(r"filter=judge_metric&pair=grader%7Cexact_match"))
        expect(page.locator("#total")).to_contain_text(f"{total} matching")  # the only pair
        page.locator('input[name="q"]').fill("<script>")
        page.locator('input[name="q"]').press("Enter")
        expect(page).to_have_url(re.compile(r"q=%3Cscript%3E"))
        page.goto(f"{server}/x/all/{DATASET}?q=%3Cscript%3E")
        expect(page.locator("#matrix a.item-link")).to_have_count(1)
        expect(page.locator("#matrix")).to_contain_text("<script>document.title=")
        assert page.title() != "owned"  # shown as text, never run

        page.locator("#matrix a.item-link").first.click()
        expect(page.locator("#item-id")).to_have_text("cap-000007")
        expect(page.locator("table.verdicts").first).to_contain_text("The answer names")
        expect(page.locator("pre.prompt").first).to_contain_text("capital of Country 7")
        assert page.title() != "owned"
        shoot(page, tmp_path, "view-item.png", full=True)

        page.locator("form.diff-form button").click()
        expect(page).to_have_url(re.compile(r"/diff/cap-000007\?a=0&b=1"))
        expect(page.locator("#diff ins")).not_to_have_count(0)
        shoot(page, tmp_path, "view-diff.png")
        browser.close()
