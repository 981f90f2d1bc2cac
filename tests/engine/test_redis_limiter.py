"""An rpm limit shared by two engines (as two Dagster runs would) through the machine's Redis."""

from __future__ import annotations

import threading
import uuid

import pytest

from llmlab_pipelines.engine import Engine, GenerationRequest
from llmlab_pipelines.lab import GenerationParams, ModelConfig
from llmlab_pipelines.testing import Simulator, SimulatorConfig

REDIS = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_url() -> str:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS).ping()
    except Exception:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return REDIS


def test_two_engines_share_one_rpm_limit(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-sim-not-a-real-key-000")
    rpm = 1200  # 20 a second, for both engines together
    with Simulator(SimulatorConfig()) as sim:
        # a unique api_base path part keeps this test's Redis key its own
        base = f"{sim.base_url}?run={uuid.uuid4().hex}"
        model = ModelConfig(
            model="openai/sim",
            api_base=sim.base_url,
            rpm=rpm,
            concurrency=16,
            extra={"metadata": {"k": base}},
        )

        def run(tag: str) -> None:
            requests = [
                GenerationRequest(
                    f"{tag}{i}", 0, f"{tag} {i}", "sim", model, GenerationParams(max_tokens=4)
                )
                for i in range(40)
            ]
            results = Engine(cache=None, redis_url=redis_url).run(requests)
            assert all(r.ok for r in results)

        threads = [threading.Thread(target=run, args=(t,)) for t in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        times = sim.request_times
    assert len(times) == 80
    worst = max(sum(1 for t in times if s <= t < s + 1.0) for s in times)
    # one shared limit (20/s; arrivals jitter a little), not two (which would be 40/s)
    assert worst <= rpm / 60 * 1.25
    assert max(times) - min(times) >= 79 * 60 / rpm * 0.9


@pytest.mark.parametrize(
    ("limit", "count", "period"), [(0.5, 1, 120.0), (2.5, 2, 48.0), (1200, 1200, 60.0)]
)
def test_a_fractional_limit_keeps_its_rate(
    redis_url: str, limit: float, count: int, period: float
) -> None:
    from llmlab_pipelines.engine._limits import RedisWindowLimiter

    limiter = RedisWindowLimiter(redis_url, f"frac-{uuid.uuid4().hex}", limit)
    assert (limiter.limit, limiter.period) == (count, pytest.approx(period))
    assert limiter.limit / limiter.period * 60 == pytest.approx(limit)  # the rate per minute


def test_a_zero_limit_is_refused(redis_url: str) -> None:
    from llmlab_pipelines.engine._limits import RedisWindowLimiter

    with pytest.raises(ValueError, match="above 0"):
        RedisWindowLimiter(redis_url, "zero", 0)
