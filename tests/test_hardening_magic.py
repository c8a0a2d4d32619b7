"""The magic's mistakes are one line naming the flag or option, and never show a key (IPython's test shell)."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from test_magic import ip, magics, one_error_line, run  # noqa: F401  (the shared shell fixture)

SECRET = "s3cr3t-magic-VALUE-0042"


@pytest.mark.parametrize("value", ["abc", "-1", "1e308"])
def test_bad_opt_value_is_one_line(ip: InteractiveShell, capsys: pytest.CaptureFixture[str], value: str) -> None:  # noqa: F811
    run(ip, f"%%llmstream -m demo --opt ttft={value}\nhi")
    assert "ttft must be a number" in one_error_line(capsys)


def test_opt_without_equals_does_not_echo_the_value(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    run(ip, f"%%llmstream -m openai:x --opt api_key {SECRET}\nhi")
    line = one_error_line(capsys)
    assert "--opt expected key=value" in line and SECRET not in line


def test_config_listing_masks_keys(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    run(ip, f"""%llmstream config model_options='{{"api_key": "{SECRET}", "ttft": 0}}'""")
    run(ip, "%llmstream config")
    listing = capsys.readouterr().out
    assert "'ttft': 0" in listing and "'api_key': '[redacted]'" in listing
    assert SECRET not in listing


def test_config_error_does_not_echo_the_key(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    run(ip, f"""%llmstream config model_options='["api_key", "{SECRET}"]'""")  # a list, not a dict: refused
    line = one_error_line(capsys)
    assert "model_options" in line and SECRET not in line


def test_error_line_hides_a_key_the_server_echoed(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    from hostile.server import Conn, HostileServer, Request

    async def echo_key(request: Request, conn: Conn) -> None:
        body = f"Incorrect API key provided: {request.headers.get('authorization', '')[7:]}".encode()
        await conn.head(401, {"Content-Length": str(len(body)), "Connection": "close"})
        await conn.write(body)

    with HostileServer() as server:
        server.behaviour = echo_key
        options: dict[str, Any] = {"base_url": f"{server.url}/v1", "api_key": SECRET, "max_retries": 0}
        ip.user_ns["opts"] = options
        run(
            ip, f"%%llmstream -m openai:x --opt base_url={server.url}/v1 --opt api_key={SECRET} --opt max_retries=0\nhi"
        )
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err
    assert "AuthenticationError" in captured.out + captured.err
