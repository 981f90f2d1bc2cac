"""Keys never go in a lab: a secret in a model's ``extra``, ``api_base`` or ``params``, or a key
where ``api_key_env`` wants a variable's name, is refused naming models.yaml and the key, and the
message never repeats the secret. And every configured secret is redacted where it is written."""

from __future__ import annotations

import base64
import io
import json
import logging
import random
import string
import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

import pandas as pd
import pytest

from llmlab_pipelines import secrets
from llmlab_pipelines.assets._metadata import redact_metadata
from llmlab_pipelines.engine import Completion, ResponseCache
from llmlab_pipelines.lab import LabError, load_lab
from llmlab_pipelines.resources.tracking import _redacted_file

pytestmark = [pytest.mark.reliability]

MODELS = "m:\n  model: openai/gpt-4o-mini\n  max_tokens: 8\n"
DATA = '{"id": "a", "question": "1+1?", "expected": "2"}\n'
EXPERIMENT = "dataset: d\nprompts: [p]\nmodels: [m]\nmetrics: [exact_match]\n"


def random_part(n: int = 32) -> str:
    return (uuid.uuid4().hex + uuid.uuid4().hex)[:n]


def lab_with(write_lab, models: str, experiment: str = EXPERIMENT) -> Path:  # type: ignore[no-untyped-def]
    return write_lab(  # type: ignore[no-any-return]
        {
            "models.yaml": models,
            "prompts/p.jinja": "Q: {{ question }}\nA:",
            "datasets/d.jsonl": DATA,
            "experiments/e.yaml": experiment,
        }
    )


def refusal(root: Path) -> str:
    with pytest.raises(LabError) as info:
        load_lab(root)
    return str(info.value)


SECRET = f"Zq{random_part(30)}"  # no known shape: only its key's name says it is secret


@pytest.mark.parametrize(
    ("yaml_extra", "key"),
    [
        (f"  extra: {{api_key: {SECRET}}}\n", "m.extra"),
        (f"  extra: {{token: {SECRET}}}\n", "m.extra"),
        (f"  extra: {{password: {SECRET}}}\n", "m.extra"),
        (f"  extra: {{aws_secret_access_key: {SECRET}}}\n", "m.extra"),
        (f"  extra: {{aws_access_key_id: {SECRET}}}\n", "m.extra"),
        (f"  extra: {{client_secret: {SECRET}}}\n", "m.extra"),
        (f"  extra: {{extra_headers: {{Authorization: 'Bearer {SECRET}'}}}}\n", "m.extra"),
        (f"  extra: {{extra_headers: {{x-api-key: {SECRET}}}}}\n", "m.extra"),
        (f"  extra: {{vertex_credentials: {SECRET}}}\n", "m.extra"),
        (f"  extra: {{some_option: hf_{SECRET}}}\n", "m.extra"),
        (f"  api_base: 'https://user:{SECRET}@proxy.example.com/v1'\n", "m.api_base"),
        (f"  api_base: 'https://proxy.example.com/v1?key={SECRET}'\n", "m.api_base"),
        (f"  api_key: sk-{SECRET}\n", "m.api_key"),
    ],
)
def test_a_secret_in_a_model_entry_is_refused_without_echo(
    write_lab,  # type: ignore[no-untyped-def]
    yaml_extra: str,
    key: str,
) -> None:
    message = refusal(lab_with(write_lab, MODELS + yaml_extra))
    assert "models.yaml" in message and key in message
    assert SECRET not in message and SECRET[:12] not in message


@pytest.mark.parametrize(
    "value",
    [
        f"hf_{random_part(34)}",
        f"AIzaSy{random_part(33)}",
        f"ghp_{random_part(36)}",
        f"github_pat_{random_part(40)}",
        f"sk-proj-{random_part(40)}",
        f"xoxb-{random_part(12)}-{random_part(24)}",
        f"AKIA{random_part(16).upper()}",
        random_part(40),  # a long random run, no known shape
    ],
)
def test_a_key_shaped_api_key_env_is_refused_without_echo(write_lab, value: str) -> None:  # type: ignore[no-untyped-def]
    message = refusal(lab_with(write_lab, MODELS + f"  api_key_env: {value}\n"))
    assert "models.yaml" in message and "m.api_key_env" in message
    assert "looks like a key" in message
    assert value not in message and value[-12:] not in message


def test_a_secret_in_experiment_params_is_refused_without_echo(write_lab) -> None:  # type: ignore[no-untyped-def]
    experiment = EXPERIMENT + f"params: {{api_key: {SECRET}}}\n"
    message = refusal(lab_with(write_lab, MODELS, experiment))
    assert "experiments/e.yaml" in message and "params.api_key" in message
    assert SECRET not in message


def test_ordinary_model_entries_still_load(write_lab) -> None:  # type: ignore[no-untyped-def]
    models = MODELS + (
        "  api_key_env: AZURE_OPENAI_API_KEY_2024\n  api_base: https://proxy.example.com/v1\n"
        "  extra: {aws_region_name: us-east-1, api_version: 2024-02-15-preview,"
        " max_completion_tokens: 5, extra_headers: {X-Team: evals}}\n"
    )
    lab = load_lab(lab_with(write_lab, models))
    assert lab.models["m"].extra["aws_region_name"] == "us-east-1"


# -- every configured secret, at every writer -------------------------------------------------


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A key named by api_key_env, an AWS secret and an MLflow password in the environment."""
    values = {
        "PROVIDER_CREDS": f"pc{random_part(30)}",
        "AWS_SECRET_ACCESS_KEY": f"aws{random_part(37)}",
        "MLFLOW_TRACKING_PASSWORD": f"mlf{random_part(20)}",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    db_password = f"pg{random_part(20)}"
    monkeypatch.setenv("LLMLAB_DAGSTER_PG_URL", f"postgresql://dagster:{db_password}@db/dagster")
    values["db password"] = db_password
    secrets.watch_env("PROVIDER_CREDS")  # what validating `api_key_env: PROVIDER_CREDS` does
    return values


def test_replies_are_redacted_where_they_enter(configured: dict[str, str]) -> None:
    for secret in configured.values():
        completion = Completion(text=f"the answer, and {secret}", model=f"gpt-{secret}")
        assert secret not in completion.text and secret not in completion.model
        assert completion.text == "the answer, and ***"


def test_cache_rows_are_redacted(configured: dict[str, str], tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    key = "0" * 64
    cache.put(key, {"output": " ".join(configured.values()), "model": "m", "prompt_tokens": 3})
    cache.close()
    written = "".join(p.read_text() for p in (tmp_path / "cache").glob("*.jsonl"))
    assert all(secret not in written for secret in configured.values())
    assert cache.load({key})[key]["prompt_tokens"] == 3  # still valid JSON


def test_frames_metadata_mlflow_files_and_logs_are_redacted(
    configured: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    import dagster as dg

    secret = configured["PROVIDER_CREDS"]
    frame = pd.DataFrame({"output": [f"x {secret}", "clean", None], "n": [1, 2, 3]})
    redacted = secrets.redact_frame(frame)
    assert redacted["output"].tolist() == ["x ***", "clean", None]
    assert frame["output"][0] == f"x {secret}"  # the caller's frame is untouched
    clean = frame.iloc[1:]
    assert secrets.redact_frame(clean) is clean  # nothing to hide: no copy

    meta = redact_metadata(
        {"preview": dg.MetadataValue.md(secret), "j": dg.MetadataValue.json({"a": [secret]})}
    )
    assert secret not in str(meta["preview"].value) and secret not in str(meta["j"].value)

    parquet = frame.to_parquet(index=False)
    assert secret not in pd.read_parquet(io.BytesIO(_redacted_file(parquet))).to_csv()
    assert secret.encode() not in _redacted_file(json.dumps([secret]).encode())
    png = b"\x89PNG\r\n\x1a\n\xff\xfe" + secret.encode()
    assert _redacted_file(png) == png  # not text: left alone

    with caplog.at_level(logging.INFO):
        logging.getLogger("llmlab.test").info("reply was %s", secret)
    assert secret not in caplog.text and "reply was ***" in caplog.text


def test_short_or_unrelated_environment_values_are_not_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PWD", "/home/lab")  # not a secret's name
    monkeypatch.setenv("SOME_TOKEN", "1")  # too short to be a secret
    assert secrets.redact_values("/home/lab 1") == "/home/lab 1"


# -- data keeps what is not a key; messages and logs lose every configured secret -------------

REPLY = "The default superuser is postgres; never use password1."


def test_words_in_secret_named_variables_leave_outputs_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("POSTGRES_PASSWORD", "postgres")  # docker-compose's default
    monkeypatch.setenv("APP_SECRET_KEY", "password1")
    assert Completion(text=REPLY).text == REPLY
    frame = pd.DataFrame({"output": [REPLY]})
    assert secrets.redact_frame(frame) is frame
    cache = ResponseCache(tmp_path / "cache")
    cache.put("0" * 64, {"output": REPLY, "model": "m"})
    cache.close()
    assert cache.load({"0" * 64})["0" * 64]["output"] == REPLY
    assert secrets.redact_values(REPLY) == REPLY
    # an error message or a log line still loses them
    assert secrets.redact(REPLY) == "The default superuser is ***; never use ***."
    with caplog.at_level(logging.INFO):
        logging.getLogger("llmlab.test").info("connecting with %s", "password1")
    assert "password1" not in caplog.text and "connecting with ***" in caplog.text


def test_keys_echoed_in_outputs_are_still_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    alphabet = string.ascii_letters + string.digits
    openai = "sk-" + "".join(random.choices(alphabet, k=40))
    token = random_part(32)  # hex, no known shape: a long random run
    configured = "opensesame"  # any shape, because api_key_env names it
    monkeypatch.setenv("OPENAI_API_KEY", openai)
    monkeypatch.setenv("HF_TOKEN", token)
    monkeypatch.setenv("LLMLAB_TEST_WORD_CREDS", configured)
    secrets.watch_env("LLMLAB_TEST_WORD_CREDS")
    for secret in (openai, token, configured):
        assert Completion(text=f"echo: {secret}.").text == "echo: ***."
        frame = secrets.redact_frame(pd.DataFrame({"output": [f"echo: {secret}."]}))
        assert frame["output"].tolist() == ["echo: ***."]


KEY = f"Ab+/{random_part(24)}/c+=="  # a key with characters that URLs and base64 change


@pytest.mark.parametrize(
    "spelled",
    [
        quote(KEY, safe=""),
        quote(KEY),
        quote_plus(KEY),
        base64.b64encode(KEY.encode()).decode(),
        base64.urlsafe_b64encode(KEY.encode()).decode(),
        base64.b64encode(f":{KEY}".encode()).decode(),
    ],
    ids=["quote", "quote-keeping-slash", "quote_plus", "base64", "urlsafe-base64", "base64-colon"],
)
def test_a_key_url_encoded_or_in_base64_is_masked(
    monkeypatch: pytest.MonkeyPatch, spelled: str
) -> None:
    monkeypatch.setenv("LLMLAB_TEST_ENCODED_CREDS", KEY)
    secrets.watch_env("LLMLAB_TEST_ENCODED_CREDS")
    assert spelled != KEY
    message = f"POST https://api.example.com/v1?key={spelled} failed: 401"
    assert secrets.redact(message) == "POST https://api.example.com/v1?key=*** failed: 401"
    assert Completion(text=f"echo {spelled}").text == "echo ***"


@pytest.mark.parametrize("user", ["u", "bob", "apikey", "account-42"])
def test_a_key_in_basic_auth_after_any_user_is_masked(
    monkeypatch: pytest.MonkeyPatch, user: str
) -> None:
    monkeypatch.setenv("LLMLAB_TEST_ENCODED_CREDS", KEY)
    secrets.watch_env("LLMLAB_TEST_ENCODED_CREDS")
    encoded = base64.b64encode(f"{user}:{KEY}".encode()).decode()
    redacted = secrets.redact(f"Authorization: Basic {encoded}")
    # what is left: at most the characters that encode the user, ':' and 2 bytes of the key
    kept = -(-(len(user) + 1) // 3) * 4
    left = redacted.removeprefix("Authorization: Basic ").removesuffix("***")
    assert redacted == f"Authorization: Basic {left}***" and encoded.startswith(left)
    assert len(left) <= kept
