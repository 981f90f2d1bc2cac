"""``llmlab view``: first-page latency over 100,000 items x 2 candidates, against a baseline.

Writes the generated artifact set of the explorer's tests (``tests/web/view_sample.py``:
the pipeline's Parquet layout, 100,000 items, two candidates, judge verdicts), then, each in
a fresh Python process (imports done before the clock starts):

- baseline: polars reading both candidates' ``scores`` Parquet files once, every column;
- cold: the first matrix page through the guarded ASGI app, nothing read or cached before;
- warm: the same page again, then a filter, a search, a sort by score, an item page and a diff.

Each is repeated ``--repeats`` times (fresh process each) and the median reported. The aim is
a cold first page under 1 s.

    python benchmarks/view_first_page.py [--n 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BASELINE = """
import json, sys, time
from pathlib import Path
import polars as pl
files = sorted(Path(sys.argv[1]).glob("scores/*/capitals.parquet"))
start = time.perf_counter()
frames = [pl.read_parquet(f) for f in files]
print(json.dumps({"baseline": time.perf_counter() - start, "rows": sum(f.height for f in frames)}))
"""

VIEWER = """
import asyncio, json, sys, time
import httpx
from upath import UPath
from llmlab_pipelines.web import Catalog, Guard, GuardConfig, ViewerConfig, create_app

app = Guard(create_app(ViewerConfig(Catalog(UPath(sys.argv[1])))), GuardConfig("127.0.0.1", 8080))
PAGES = {
    "cold": "/x/all/capitals",
    "warm": "/x/all/capitals",
    "filter": "/x/all/capitals?filter=judge_metric",
    "search": "/x/all/capitals?q=town+12",
    "sort": "/x/all/capitals?sort=c1&desc=1&page=7",
    "item": "/x/all/capitals/item/cap-054321",
    "diff": "/x/all/capitals/diff/cap-054321?a=0&b=1",
}

async def main() -> dict[str, float]:
    transport = httpx.ASGITransport(app=app)
    out = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as web:
        for name, url in PAGES.items():
            start = time.perf_counter()
            response = await web.get(url)
            out[name] = time.perf_counter() - start
            assert response.status_code == 200, (url, response.status_code)
    return out

print(json.dumps(asyncio.run(main())))
"""


def write_artifacts(folder: Path, n: int) -> Path:
    """The explorer tests' generated artifact set (one definition for tests and benchmark)."""
    spec = importlib.util.spec_from_file_location("view_sample", ROOT / "tests/web/view_sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_artifacts(folder, n)  # type: ignore[no-any-return]


def run(script: str, artifacts: Path) -> dict[str, float]:
    """``script`` in a fresh interpreter; its one JSON line."""
    done = subprocess.run(
        [sys.executable, "-c", script, str(artifacts)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    """Measure and print the table; exit 1 when the cold first page takes 1 s or more."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmlab-view-bench-") as folder:
        artifacts = write_artifacts(Path(folder), args.n)
        baselines = [run(BASELINE, artifacts)["baseline"] for _ in range(args.repeats)]
        viewer = [run(VIEWER, artifacts) for _ in range(args.repeats)]
    baseline = statistics.median(baselines)
    print(f"{args.n:,} items x 2 candidates, median of {args.repeats} fresh processes\n")
    print(f"{'measure':<34}{'seconds':>10}{'x baseline':>12}")
    print(f"{'baseline: polars reads both files':<34}{baseline:>10.3f}{1:>12.1f}")
    for name in viewer[0]:
        value = statistics.median(v[name] for v in viewer)
        label = {"cold": "first page, cold", "warm": "first page, warm"}.get(name, f"{name}, warm")
        print(f"{label:<34}{value:>10.3f}{value / baseline:>12.1f}")
    cold = statistics.median(v["cold"] for v in viewer)
    verdict = "under" if cold < 1 else "OVER"
    print(f"\ncold first page {cold:.3f} s: {verdict} the 1 s aim")
    return 0 if cold < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
