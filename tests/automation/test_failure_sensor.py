"""A failed run is summed up in plain words, written beside the artifacts and posted."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import dagster as dg
import pytest

from llmlab_pipelines.definitions import defs
from llmlab_pipelines.partitions import register_night
from llmlab_pipelines.resources import ArtifactStore
from llmlab_pipelines.sensors import run_failure_summary
from llmlab_pipelines.settings import get_settings


class Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_failed_run_is_summarized_and_posted(
    write_lab: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = write_lab(  # type: ignore[operator]
        {
            "models.yaml": "m:\n  model: openai/x\n",
            "prompts/p.jinja": "{{ question }}",
            "datasets/d.jsonl": '{"id": "1", "question": "q", "expected": "a"}\n',
            "experiments/e.yaml": "dataset: d\nprompts: [p]\nmodels: [m]\n",  # not nightly
        }
    )
    monkeypatch.setenv("LLMLAB_LAB", str(lab))
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("LLMLAB_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hook")
    try:
        with dg.instance_for_test() as instance:
            register_night(instance, "2026-11-20")
            result = defs.resolve_job_def("nightly_job").execute_in_process(
                partition_key="2026-11-20", instance=instance, raise_on_error=False
            )
            assert not result.success
            failure = next(e for e in result.all_events if e.is_run_failure)
            context = dg.build_run_status_sensor_context(
                sensor_name="run_failure_summary",
                dagster_instance=instance,
                dagster_run=result.dagster_run,
                dagster_event=failure,
                resources={"artifacts": ArtifactStore()},
            ).for_run_failure()
            run_failure_summary(context)
    finally:
        server.shutdown()
    written = Path(get_settings().artifacts) / "failures" / f"{result.run_id}.md"
    text = written.read_text()
    assert f"Dagster run {result.run_id} of job nightly_job failed" in text
    assert "partition: 2026-11-20" in text
    assert "step nightly_scores: no experiment has `nightly: true`" in text
    assert Hook.received == [{"text": text.strip()}]
