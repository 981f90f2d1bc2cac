"""An object store that refuses a chunk: the rows wait in a local spill folder, are read back
like any chunk, and go up once the store answers again."""

from __future__ import annotations

from pathlib import Path

import pytest
from upath import UPath

from llmlab_pipelines.engine import ResponseCache


def test_rows_a_down_store_refused_are_kept_read_back_and_uploaded_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = UPath(f"memory://cache-{tmp_path.name}")  # an object store, not a local folder
    spill = tmp_path / "spill"
    cache = ResponseCache(root, flush_every=2, spill=spill)
    real_write = type(root).write_text
    down = {"on": True}

    def write_text(self: UPath, data: str, *args: object, **kwargs: object) -> int:
        if down["on"]:
            raise OSError("Could not connect to the endpoint URL")
        return real_write(self, data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(type(root), "write_text", write_text)
    cache.put("a" * 64, {"output": "1"})
    cache.put("b" * 64, {"output": "2"})  # the chunk is due: the store refuses it
    assert cache.spilled == 2 and len(list(spill.glob("*.jsonl"))) == 1
    found = ResponseCache(root, spill=spill).load({"a" * 64, "b" * 64})
    assert {k: v["output"] for k, v in found.items()} == {"a" * 64: "1", "b" * 64: "2"}

    down["on"] = False  # the store is back: the next chunk takes the spilled rows up too
    cache.put("c" * 64, {"output": "3"})
    cache.close()
    assert list(spill.glob("*.jsonl")) == []
    fresh = ResponseCache(root).load({"a" * 64, "b" * 64, "c" * 64})
    assert sorted(v["output"] for v in fresh.values()) == ["1", "2", "3"]


def test_without_a_spill_folder_the_failure_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    root = UPath("memory://nowhere")

    def refuse(self: UPath, *args: object, **kwargs: object) -> int:
        raise OSError("down")

    monkeypatch.setattr(type(root), "write_text", refuse)
    cache = ResponseCache(root, flush_every=1)
    with pytest.raises(OSError, match="down"):
        cache.put("d" * 64, {"output": "4"})
