"""The provider simulator speaks OpenAI's HTTP API, with faults on purpose."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from llmlab_pipelines.testing import (
    Simulator,
    SimulatorConfig,
    arithmetic_responder,
    echo_responder,
)


def post(
    sim: Simulator, path: str, body: dict[str, object], key: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(
        sim.base_url + path, data=json.dumps(body).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def chat(text: str) -> dict[str, object]:
    return {"model": "sim", "messages": [{"role": "user", "content": text}]}


def test_chat_and_text_replies_have_openai_shape() -> None:
    with Simulator(SimulatorConfig(responder=arithmetic_responder)) as sim:
        status, _, body = post(sim, "/chat/completions", chat("What is 6 + 7?"))
        reply = json.loads(body)
        assert status == 200 and reply["choices"][0]["message"]["content"] == "13"
        assert reply["usage"]["total_tokens"] == reply["usage"]["prompt_tokens"] + 1
        status, _, body = post(
            sim, "/completions", {"model": "sim", "prompt": "2 - 5 =", "max_tokens": 4}
        )
        assert json.loads(body)["choices"][0]["text"] == "-3"
        assert sim.calls("What is 6 + 7?") == 1 and sim.successes("2 - 5 =") == 1


def test_max_tokens_and_stop_truncate() -> None:
    with Simulator(SimulatorConfig(responder=lambda p: "one two three\nfour")) as sim:
        _, _, body = post(sim, "/completions", {"prompt": "x", "max_tokens": 2})
        assert json.loads(body)["choices"][0]["text"] == "one two"
        _, _, body = post(sim, "/completions", {"prompt": "x", "stop": ["\n"]})
        assert json.loads(body)["choices"][0]["text"] == "one two three"


def test_429_carries_retry_after_and_faults_are_seeded() -> None:
    config = SimulatorConfig(rate_429=0.3, rate_5xx=0.2, retry_after_s=1.5, seed=11)

    def pattern() -> list[int]:
        with Simulator(config) as sim:
            found = []
            for i in range(60):
                status, headers, _ = post(sim, "/chat/completions", chat(f"p{i}"))
                if status == 429:
                    assert headers["Retry-After"] == "1.5"
                found.append(status)
            return found

    first, second = pattern(), pattern()
    assert first == second
    assert 8 <= first.count(429) <= 30 and any(s >= 500 for s in first)


def test_rpm_window_is_enforced() -> None:
    with Simulator(SimulatorConfig(rpm=5)) as sim:
        statuses = [post(sim, "/chat/completions", chat(f"r{i}"))[0] for i in range(8)]
        assert statuses == [200] * 5 + [429] * 3
        _, headers, _ = post(sim, "/chat/completions", chat("again"))
        assert 50 < float(headers["Retry-After"]) <= 60


def test_malformed_empty_auth_and_warmup() -> None:
    with Simulator(SimulatorConfig(rate_malformed=1.0)) as sim:
        status, _, body = post(sim, "/chat/completions", chat("x"))
        assert status == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(body)
    with Simulator(SimulatorConfig(rate_empty=1.0)) as sim:
        _, _, body = post(sim, "/chat/completions", chat("x"))
        assert json.loads(body)["choices"][0]["message"]["content"] == ""
    with Simulator(SimulatorConfig(api_key="sk-right")) as sim:
        assert post(sim, "/chat/completions", chat("x"), key="sk-wrong")[0] == 401
        assert post(sim, "/chat/completions", chat("x"), key="sk-right")[0] == 200
    with Simulator(SimulatorConfig(fail_first_n=2)) as sim:
        assert [post(sim, "/chat/completions", chat("w"))[0] for _ in range(3)] == [503, 503, 200]


def test_timeouts_make_a_short_client_fail() -> None:
    with Simulator(SimulatorConfig(rate_timeout=1.0, timeout_s=1.0)) as sim:
        request = urllib.request.Request(
            sim.base_url + "/chat/completions",
            data=json.dumps(chat("slow")).encode(),
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(OSError):
            urllib.request.urlopen(request, timeout=0.3)


def test_concurrency_is_measured_and_the_server_stops_cleanly() -> None:
    sim = Simulator(SimulatorConfig(latency_s=0.2))
    with sim:
        threads = [
            threading.Thread(target=post, args=(sim, "/chat/completions", chat(f"c{i}")))
            for i in range(10)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sim.max_in_flight == 10
    assert sim._thread is not None and not sim._thread.is_alive()
    assert echo_responder("a\nb\n") == "b"


def test_rate_limit_first_n_sends_the_configured_retry_after() -> None:
    config = SimulatorConfig(rate_limit_first_n=2, retry_after_s=3600)
    with Simulator(config) as sim:
        replies = [post(sim, "/chat/completions", chat("hi")) for _ in range(3)]
    assert [status for status, _, _ in replies] == [429, 429, 200]
    assert replies[0][1]["Retry-After"] == "3600"


def test_reply_chars_ignores_max_tokens() -> None:
    with Simulator(SimulatorConfig(reply_chars=50_000)) as sim:
        _, _, body = post(sim, "/completions", {"prompt": "x", "max_tokens": 16})
    assert len(json.loads(body)["choices"][0]["text"]) == 50_000


def test_a_trickled_reply_sends_headers_at_once_and_the_body_slowly() -> None:
    import http.client
    import time

    with Simulator(SimulatorConfig(rate_trickle=1.0, trickle_interval_s=0.01)) as sim:
        conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
        started = time.monotonic()
        conn.request("POST", "/v1/completions", json.dumps({"prompt": "hi"}))
        response = conn.getresponse()
        headers_after = time.monotonic() - started
        body = response.read()
        body_after = time.monotonic() - started
    assert response.status == 200 and json.loads(body)["choices"][0]["text"] == "hi"
    assert headers_after < 0.5 and body_after >= len(body) * 0.01 * 0.8


def test_stats_gives_the_arrival_times_from_a_request_on() -> None:
    with Simulator() as sim:
        for i in range(3):
            assert post(sim, "/chat/completions", chat(f"q{i}"))[0] == 200
        with urllib.request.urlopen(sim.url + "/stats?arrivals=1", timeout=10) as reply:
            stats = json.loads(reply.read())
        with urllib.request.urlopen(sim.url + "/stats", timeout=10) as reply:
            plain = json.loads(reply.read())
    assert stats["requests"] == 3
    assert stats["arrivals"] == sim.request_times[1:]  # requests 1 and 2, in arrival order
    assert len(stats["arrivals"]) == 2 and stats["arrivals"][0] <= stats["arrivals"][1]
    assert "arrivals" not in plain  # only when asked for
