"""`llmlab ui` serves our assets: GraphQL answers, and a real browser sees the leaderboard."""

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
from pathlib import Path

import pytest

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.runner import run_lab

pytestmark = pytest.mark.slow
pytest.importorskip("llama_cpp", reason="the 'local' extra is not installed")

ROOT = Path(__file__).resolve().parents[2]
QUERY = '{"query": "{ assetNodes { assetKey { path } partitionDefinition { description } } }"}'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def graphql(port: int) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=QUERY.encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def start_ui(lab: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llmlab_pipelines.cli",
            "ui",
            "--lab",
            str(lab),
            "--port",
            str(port),
        ],
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for_assets(process: subprocess.Popen[bytes], port: int) -> dict[str, object]:
    deadline, answer = time.monotonic() + 180, None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            answer = graphql(port)
            if answer.get("data", {}).get("assetNodes"):  # type: ignore[union-attr]
                return answer
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"the UI never answered (exit code {process.poll()})")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def dismiss_welcome(page: object) -> None:
    """Dagster's first-visit dialog (once per instance) covers the page: skip it if it shows."""
    skip = page.get_by_role("button", name="Skip")  # type: ignore[attr-defined]
    try:
        skip.wait_for(state="visible", timeout=5_000)
    except Exception:
        return
    skip.click()
    skip.wait_for(state="hidden", timeout=10_000)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make env does)")
def test_the_browser_sees_the_graph_and_the_leaderboard(
    sample_lab: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("LLMLAB_MODELS", str(models_dir))
    run_lab(load_lab(sample_lab), experiments=["arithmetic"], limit=8, echo=lambda _: None)
    port = free_port()
    process = start_ui(sample_lab, port)
    try:
        answer = wait_for_assets(process, port)
        nodes = answer["data"]["assetNodes"]  # type: ignore[index]
        keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
        assert keys == {
            "eval_datasets",
            "generations",
            "scores",
            "comparisons",
            "leaderboard",
            "promoted",
            "nightly_scores",
            "judge_scores",
            "judge_agreement",
            "pairwise",
            "costs",
            "adaptive_runs",
            "prompt_optimization",
        }
        unpartitioned = {
            "/".join(n["assetKey"]["path"]) for n in nodes if not n["partitionDefinition"]
        }
        assert unpartitioned == {"costs"}  # everything else by dataset, candidate or day

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            base = f"http://127.0.0.1:{port}"
            group = f"{base}/locations/llmlab_pipelines.definitions/asset-groups/evaluation"
            page.goto(group, wait_until="networkidle")
            dismiss_welcome(page)
            for name in ("eval_datasets", "generations", "scores", "comparisons", "leaderboard"):
                expect(page.get_by_text(name, exact=True).first).to_be_visible(timeout=60_000)
            page.screenshot(path=str(tmp_path / "graph.png"))

            page.goto(f"{base}/assets/leaderboard?partition=arithmetic", wait_until="networkidle")
            dismiss_welcome(page)
            row = page.locator("tr", has_text="arithmetic").first
            row.get_by_text("[Show Markdown]").click()  # the experiment's Markdown report
            dialog = page.get_by_role("dialog")
            # the leaderboard table, rendered (cells, not Markdown source) ...
            expect(dialog.locator("td", has_text="few_shot@local").first).to_be_visible(
                timeout=30_000
            )
            expect(dialog.locator("td", has_text="zero_shot@local").first).to_be_visible()
            assert "|" not in dialog.locator("table").first.inner_text()
            # ... and its plot, decoded by the browser
            plot = dialog.locator("img[src^='data:image/png']").first
            expect(plot).to_be_visible(timeout=30_000)
            assert plot.evaluate("img => img.naturalWidth") > 100
            page.screenshot(path=str(tmp_path / "leaderboard.png"))
            if os.environ.get("LLMLAB_UPDATE_SCREENSHOTS"):
                shutil.copyfile(tmp_path / "graph.png", ROOT / "docs" / "ui-graph.png")
                shutil.copyfile(tmp_path / "leaderboard.png", ROOT / "docs" / "ui-leaderboard.png")
            browser.close()
    finally:
        stop(process)
