"""Mistakes and hostile inputs outside HTTP: each ends as one line from our hierarchy, bounded, with no key shown.

(The HTTP side is tests/hostile/, against a raw misbehaving server.)
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from llmstream_nb import get_model
from llmstream_nb.cli import main
from llmstream_nb.demo.tokenizer import tokenize
from llmstream_nb.errors import ConfigurationError, LLMStreamError, NotFoundError
from llmstream_nb.http.retry import parse_retry_after
from llmstream_nb.magic.template import TemplateError, render_prompt
from llmstream_nb.recording import read
from llmstream_nb.redact import redact, redact_mapping, remember_secret

KEY = "sk-hardening-abcdefghijklmnop0123"
USER_KEY = "s3cr3tpassw0rdXYZ"  # not shaped like a key: only known by value, or by where it sits


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's own mistakes exit from inside the parser
            code = exc.code  # type: ignore[assignment]
    return code, out.getvalue(), err.getvalue()


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


# -- options: wrong types and values fail at once, in one line ----------------------------------


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"max_tokens": "abc"}, "max_tokens must be a whole number"),
        ({"max_tokens": -1}, "max_tokens must be a whole number"),
        ({"stop": 123}, "stop must be text or a list of texts"),
        ({"stop": ["ok", 5]}, "stop must be text"),
        ({"system": 123}, "system must be text"),
        ({"temperature": math.nan}, "temperature must be a number"),
        ({"temperature": math.inf}, "temperature must be a number"),
        ({"temperature": "hot"}, "temperature must be a number"),
        ({"seed": "x"}, "seed must be a whole number"),
        ({"seed": 1.5}, "seed must be a whole number"),
        ({"top_logprobs": 10**6}, "top_logprobs must be a whole number"),
        ({"logprobs": "yes"}, "logprobs must be True or False"),
        ({"ttft": "abc"}, "ttft must be a number"),
        ({"ttft": -1}, "ttft must be a number from 0"),
        ({"ttft": 1e308}, "ttft must be a number from 0"),
        ({"tokens_per_second": math.nan}, "tokens_per_second must be a number"),
    ],
)
def test_bad_option_values_are_one_configuration_error(options: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words) as caught:
        get_model("demo", **options)
    assert "\n" not in str(caught.value)
    generation = {k: v for k, v in options.items() if k not in ("ttft", "tokens_per_second")}
    if generation:  # per call too, before anything is generated
        with pytest.raises(ConfigurationError, match=words):
            get_model("demo", ttft=0, tokens_per_second=0).stream("hi", **generation)


def test_get_model_of_a_number_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="cannot make a model from a int"):
        get_model(123)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["abc", "-1", "1e308", "nan"])
def test_cli_bad_opt_value_is_one_line(value: str) -> None:
    code, _, err = cli("run", "-m", "demo", "--opt", f"ttft={value}", "hi")
    assert code == 2
    assert "ttft must be a number" in one_line(err)


def test_cli_opt_without_equals_never_echoes_the_value() -> None:
    code, out, err = cli(
        "run", "-m", "openai:x", "--opt", "api_key", USER_KEY, "--opt", "base_url=http://127.0.0.1:9/v1"
    )
    assert code == 2 and "expected key=value" in one_line(err)
    assert USER_KEY not in out + err
    code, out, err = cli("run", "-m", "demo", "--opt", USER_KEY + "-more", "hi")
    assert code == 2 and USER_KEY not in out + err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "--bogus", USER_KEY, "hi"], "unrecognized arguments: --bogus"),
        (["run", "--temperature", "hot", "hi"], "argument --temperature: invalid float value"),
        (["run", "--temperature", "nan", "hi"], "temperature must be a number"),
        (["run", "--max-tokens", "-5", "hi"], "max_tokens must be a whole number"),
        (["run", "--opt"], "argument --opt: expected one argument"),
        ([], "arguments are required: command"),
    ],
)
def test_cli_usage_mistakes_are_one_line_without_the_values(argv: list[str], words: str) -> None:
    code, out, err = cli(*argv)
    assert code == 2 and words in one_line(err) and USER_KEY not in out + err


@pytest.mark.parametrize("retries", [10**9, -1, 2.5, True])
def test_max_retries_is_bounded(retries: object) -> None:
    with pytest.raises(ConfigurationError, match="max_retries must be a whole number from 0 to 10"):
        get_model("openai:x", base_url="http://127.0.0.1:9/v1", max_retries=retries)


@pytest.mark.parametrize("value", [0, -3, math.nan, math.inf, "soon", True])
def test_overall_timeout_and_limits_are_checked(value: object) -> None:
    with pytest.raises(ConfigurationError, match="timeout must be more than 0"):
        get_model("openai:x", base_url="http://127.0.0.1:9/v1", timeout=value)
    with pytest.raises(ConfigurationError, match="max_line_bytes must be a whole number of bytes"):
        get_model("ollama:x", max_line_bytes=value if value != 0 else -1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("-5", None), ("nan", None), ("inf", None), ("1e308", None), ("2", 2.0), ("0", 0.0)],
)
def test_retry_after_out_of_range_is_ignored(header: str, expected: float | None) -> None:
    """A negative, infinite or unreadable Retry-After is no instruction: the usual backoff applies."""
    assert parse_retry_after({"retry-after": header}) == expected


# -- redaction ------------------------------------------------------------------------------------


def test_redact_keys_by_value_even_split_across_lines() -> None:
    remember_secret(USER_KEY)
    text = f"bad key {USER_KEY[:7]}\n  {USER_KEY[7:]} (and again: {USER_KEY})"
    cleaned = redact(text)
    assert USER_KEY[:7] not in cleaned and USER_KEY[7:] not in cleaned


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {USER_KEY}",
        f"x-api-key: {USER_KEY}",
        f"x-goog-api-key: {USER_KEY}",
        f"'api-key': '{USER_KEY}'",
        f"http://user:{USER_KEY}@example.com/v1",
        f"https://example.com/v1?key={USER_KEY}&x=1",
        f"{{'api_key': '{USER_KEY}'}}",
        f"access_token={USER_KEY}",
    ],
)
def test_redact_secrets_by_where_they_sit(text: str) -> None:
    assert USER_KEY not in redact(text)


def test_redact_keeps_ordinary_words() -> None:
    text = "max_tokens=5 is too large; expected key=value; temperature: 0.7"
    assert redact(text) == text


def test_redact_mapping_masks_secret_named_settings() -> None:
    shown = redact_mapping({"api_key": USER_KEY, "max_tokens": 5, "headers": {"Authorization": "Bearer x"}, "ttft": 0})
    assert shown == {"api_key": "[redacted]", "max_tokens": 5, "headers": {"Authorization": "[redacted]"}, "ttft": 0}


CREDENTIAL_URL = f"http://user:{USER_KEY}@127.0.0.1:9/v1"


def test_credentials_in_a_url_never_show() -> None:
    model = get_model("openai:x", base_url=CREDENTIAL_URL)
    assert USER_KEY not in repr(model)
    anthropic = get_model("anthropic:x", base_url=CREDENTIAL_URL.removesuffix("/v1"))
    assert USER_KEY not in repr(anthropic)
    with pytest.raises(ConfigurationError) as refused:  # Ollama's host= takes no credentials: it says so, unseen
        get_model("ollama:x", host=CREDENTIAL_URL.removesuffix("/v1"))
    assert USER_KEY not in str(refused.value)
    error = NotFoundError("no such model", hint=f"check the model name and base_url {CREDENTIAL_URL}", status=404)
    assert USER_KEY not in str(error)


def test_models_listing_hides_url_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", CREDENTIAL_URL)
    monkeypatch.setenv("OLLAMA_HOST", CREDENTIAL_URL.removesuffix("/v1"))
    code, out, err = cli("models", "--offline")
    assert code == 0 and "127.0.0.1:9" in out
    assert USER_KEY not in out + err


def test_httpx_info_line_hides_url_credentials() -> None:
    """httpx logs every request's URL at INFO, with user:password@ in it."""
    from hostile.capture import captured_logs
    from hostile.server import HostileServer

    with captured_logs() as records, HostileServer() as server:
        url = server.url.replace("http://", f"http://user:{USER_KEY}@") + "/v1"
        model = get_model("openai:x", base_url=url, max_retries=0, read_timeout=5)
        with pytest.raises(LLMStreamError):
            model.invoke("hi")
        model.close()
    assert any("HTTP Request" in line for line in records)
    assert not any(USER_KEY in line for line in records)


# -- unbounded work ---------------------------------------------------------------------------------


@pytest.mark.parametrize("template", ["{x:>999999999}", "{x:{w}}", "{y:.99999f}", "{x:0>1000000}"])
def test_template_refuses_huge_widths(template: str) -> None:
    with pytest.raises(TemplateError, match="more than 10,000 characters"):
        render_prompt(template, {"x": "a", "w": 10**9, "y": 1.0})


def test_template_keeps_ordinary_widths() -> None:
    assert render_prompt("{x:>5}|{y:.2f}|{x:{w}}", {"x": "a", "y": 1.234, "w": 3}) == "    a|1.23|a  "


def test_demo_tokenizer_takes_a_10000_letter_word() -> None:
    word = " " + "a" * 10_000
    assert "".join(tokenize(word)) == word


def test_demo_model_answers_a_10000_letter_word() -> None:
    answer = get_model("demo", ttft=0, tokens_per_second=0).invoke("x" * 10_000, max_tokens=5)
    assert answer.text


def _recording(tmp_path: Path, chunk: str) -> Path:
    path = tmp_path / "run.jsonl"
    path.write_text(
        '{"llmstream": 1, "model": "demo", "prompt": "hi", "options": {}, "recorded_at": "2026-01-01"}\n'
        + chunk
        + "\n"
        + '{"end": 0.2}\n'
    )
    return path


@pytest.mark.parametrize(
    ("chunk", "words"),
    [
        ('{"t": 1e9, "text": "late"}', '"t" must be a time in seconds from 0 to'),
        ('{"t": 0.1, "text": "x", "logprob": ' + "9" * 5000 + "}", "not readable JSON"),
        ('{"t": 0.1, "text": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ],
)
def test_replay_rejects_insane_lines(tmp_path: Path, chunk: str, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words) as caught:
        read(_recording(tmp_path, chunk))
    assert "line 2" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(), reason="needs a POSIX system")
def test_replay_reads_only_regular_files_of_sane_size(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(ConfigurationError, match="not a regular file"):
        read(fifo)  # would block forever on open()
    with pytest.raises(ConfigurationError, match="not a regular file"):
        read("/dev/zero")  # would read until MemoryError
    big = tmp_path / "big.jsonl"
    with big.open("wb") as handle:
        handle.truncate(65 * 1024 * 1024)  # sparse: costs no disk
    with pytest.raises(ConfigurationError, match="more than a recording can be"):
        read(big)


def test_no_key_in_any_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        get_model("openai:x", api_key=KEY, base_url="ftp://nowhere", connect_timeout=1)
    assert KEY not in str(caught.value)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))


def test_retry_waits_stop_at_the_overall_timeout() -> None:
    """A Retry-After of 20 s within the 30 s cap, but `timeout=1`: no wait goes past the request's deadline."""
    from hostile.server import Conn, HostileServer, Request

    async def busy(request: Request, conn: Conn) -> None:
        await conn.head(429, {"Retry-After": "20", "Content-Length": "4", "Connection": "close"})
        await conn.write(b"busy")

    waits: list[float] = []
    with HostileServer() as server:
        server.behaviour = busy
        model = get_model("openai:x", base_url=f"{server.url}/v1", max_retries=2, timeout=1)
        model.http.sleep = waits.append  # type: ignore[attr-defined]
        with pytest.raises(LLMStreamError, match="busy"):
            model.invoke("hi")
        model.close()
    assert len(waits) == 2 and all(0 <= wait <= 1 for wait in waits)
