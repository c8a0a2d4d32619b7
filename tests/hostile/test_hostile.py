"""Every hostile case x every protocol x (sync stream, async astream, the CLI).

A run passes when a user would be satisfied: the answer arrives whole, or the failure is one line
from our own hierarchy, naming the provider and host (and the status where there is one), carrying
the provider's own words where it sent some, keeping in `partial_text` exactly the text that was
shown, and never showing the key (in the error, its repr, the terminal, or any log record down to
DEBUG). Time is bounded by the client's own small timeouts and limits (`cases.LIMITS`); pytest's
timeout is only a backstop.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from llmstream_nb import errors, get_model
from llmstream_nb.cli import main

from .capture import captured_logs
from .cases import CASES, LIMITS, Case
from .protocols import KEY, PROTOCOLS, Protocol
from .server import HostileServer

MODES = ("sync", "async", "cli")
RUNS = [(case, protocol, mode) for case in CASES for protocol in PROTOCOLS if case.applies(protocol) for mode in MODES]
TALLY: dict[str, Any] = {
    "cases": len(CASES),
    "protocols": len(PROTOCOLS),
    "modes": len(MODES),
    "runs": len(RUNS),
    "passed": 0,
}


@dataclass
class Outcome:
    texts: list[str] = field(default_factory=list)  # the answer's text chunks, as yielded
    error: BaseException | None = None
    output: str = ""  # what the CLI printed (stdout + stderr)
    stderr: str = ""
    exit_code: int | None = None
    logs: list[str] = field(default_factory=list)


def _options(case: Case, protocol: Protocol, url: str) -> dict[str, Any]:
    return {**protocol.options(url), **LIMITS, **case.limits}


def _run_sync(case: Case, protocol: Protocol, url: str, outcome: Outcome) -> None:
    model = get_model(protocol.spec, **_options(case, protocol, url))
    try:
        for chunk in model.stream("Say hello."):
            if chunk.kind == "text":
                outcome.texts.append(chunk.text)
    except errors.LLMStreamError as exc:
        outcome.error = exc
    finally:
        model.close()


def _run_async(case: Case, protocol: Protocol, url: str, outcome: Outcome) -> None:
    async def consume() -> None:
        model = get_model(protocol.spec, **_options(case, protocol, url))
        try:
            async for chunk in model.astream("Say hello."):
                if chunk.kind == "text":
                    outcome.texts.append(chunk.text)
        except errors.LLMStreamError as exc:
            outcome.error = exc
        finally:
            await model.aclose()

    asyncio.run(consume())


def _run_cli(case: Case, protocol: Protocol, url: str, outcome: Outcome) -> None:
    out, err = io.StringIO(), io.StringIO()
    argv = ["run", *protocol.cli_args(url, {**LIMITS, **case.limits}), "Say hello."]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        outcome.exit_code = main(argv)
    outcome.stderr = err.getvalue()
    outcome.output = out.getvalue() + outcome.stderr


RUNNERS = {"sync": _run_sync, "async": _run_async, "cli": _run_cli}


def _leaks(text: str) -> bool:
    """Any 10 characters of the key in a row, anywhere (a key cut in two must not survive either)."""
    return any(KEY[i : i + 10] in text for i in range(len(KEY) - 9))


@pytest.fixture(scope="module")
def hostile() -> Any:
    with HostileServer() as server:
        yield server


@pytest.mark.parametrize(("case", "protocol", "mode"), RUNS, ids=[f"{c.name}-{p.name}-{m}" for c, p, m in RUNS])
def test_hostile(hostile: HostileServer, case: Case, protocol: Protocol, mode: str) -> None:
    hostile.behaviour = _Dispatch(case, protocol)
    outcome = Outcome()
    with captured_logs() as logs:
        RUNNERS[mode](case, protocol, hostile.url, outcome)
    outcome.logs = logs
    host = hostile.url.removeprefix("http://")

    for text in (outcome.output, *outcome.logs, str(outcome.error), repr(outcome.error)):
        assert not _leaks(text), f"the key shows in {text[:300]!r}"

    if mode == "cli":
        _check_cli(case, outcome, host)
    else:
        _check_library(case, protocol, outcome, host)
    TALLY["passed"] += 1


def _check_library(case: Case, protocol: Protocol, outcome: Outcome, host: str) -> None:
    shown = "".join(outcome.texts)
    if case.expect is None:
        assert outcome.error is None, f"expected the whole answer, got {outcome.error!r}"
        assert shown == case.text
        return
    error = outcome.error
    assert isinstance(error, case.expect), f"expected {case.expect.__name__}, got {error!r} after {shown!r}"
    message = str(error)
    assert "\n" not in message and message.strip()
    assert protocol.provider in message and host in message, message
    if case.status is not None:
        assert error.status == case.status and f"HTTP {case.status}" in message, message
    if case.words is not None:
        assert case.words in message, message
    assert error.partial_text == shown == case.partial


def _check_cli(case: Case, outcome: Outcome, host: str) -> None:
    if case.expect is None:
        assert outcome.exit_code == 0, outcome.output
        assert case.text in outcome.output
        return
    assert outcome.exit_code not in (0, None), outcome.output
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {outcome.stderr!r}"
    named = re.match(r"error: (\w+): ", lines[0])
    assert named, lines[0]
    assert issubclass(getattr(errors, named.group(1)), case.expect), lines[0]
    assert host in lines[0]
    if case.words is not None:
        assert case.words in lines[0]
    assert outcome.output.startswith(case.partial)


class _Dispatch:
    """The case's behaviour for the protocol's own path; anything else (a redirect followed, a model
    list) gets a 404, so a client that wanders off is seen."""

    def __init__(self, case: Case, protocol: Protocol) -> None:
        self.protocol = protocol
        self.behave = case.behave(protocol)

    async def __call__(self, request: Any, conn: Any) -> None:
        if request.path == self.protocol.path:
            await self.behave(request, conn)
        else:
            await conn.head(404, {"Content-Length": "9", "Connection": "close"})
            await conn.write(b"not here!")
