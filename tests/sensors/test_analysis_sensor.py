"""analysis_sensor: a scores update analyses its dataset, once its generations are done."""

from __future__ import annotations

import dagster as dg

from llmlab_pipelines.sensors import analysis_sensor
from llmlab_pipelines.sensors.analysis import _updated


def scored(instance: dg.DagsterInstance, *keys: str) -> None:
    for key in keys:
        instance.report_runless_asset_event(dg.AssetMaterialization("scores", partition=key))


def tick(instance: dg.DagsterInstance, cursor: str | None) -> tuple[object, str | None]:
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    result = analysis_sensor(context)
    return result, (result.cursor if isinstance(result, dg.SensorResult) else context.cursor)


def requested(result: object) -> list[str]:
    assert isinstance(result, dg.SensorResult), result
    return [str(r.partition_key) for r in result.run_requests or []]


def test_each_updated_dataset_is_analysed_once_its_generations_are_done() -> None:
    with dg.instance_for_test() as instance:
        scored(instance, "old|d1")
        first, cursor = tick(instance, None)
        assert isinstance(first, dg.SkipReason)  # what came before is not re-analysed
        assert isinstance(tick(instance, cursor)[0], dg.SkipReason)

        busy = instance.add_run(
            dg.DagsterRun(
                job_name="generations_job",
                run_id="busy-run",
                status=dg.DagsterRunStatus.STARTED,
                tags={"dagster/partition": "c|d2"},
            )
        )
        scored(instance, "a|d1", "b|d1", "b|d2")
        result, cursor = tick(instance, cursor)
        assert requested(result) == ["d1"]  # d2 still generates: it waits
        [request] = result.run_requests or []  # type: ignore[attr-defined]
        assert {k.to_user_string() for k in request.asset_selection or []} == {
            "comparisons",
            "leaderboard",
            "promoted",
            "judge_agreement",
        }
        waiting, cursor = tick(instance, cursor)
        assert isinstance(waiting, dg.SkipReason) and "d2" in str(waiting.skip_message)

        instance.report_run_failed(busy)
        result, cursor = tick(instance, cursor)
        assert requested(result) == ["d2"]
        assert isinstance(tick(instance, cursor)[0], dg.SkipReason)


def test_a_full_page_of_events_continues_where_it_stopped() -> None:
    with dg.instance_for_test() as instance:
        scored(instance, "a|d1", "a|d2", "a|d3")
        datasets, stop = _updated(instance, 0, page=2)
        assert datasets == {"d1", "d2"}
        rest, _ = _updated(instance, stop, page=2)
        assert rest == {"d3"}
