"""`%%llmstream --chat` in-process (IPython's test shell: no kernel, so no cell ids and terminal views).

Without a cell id, a cell is known by its text: running the last cell again replaces its
exchange. The real-kernel test (test_chat_kernel.py) covers cell ids sent by the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from test_magic import INSTANT, ip, magics, one_error_line, run  # noqa: F401  (ip is a fixture)

from llmstream_nb.magic.arguments import MagicUsageError, parse_cell_line
from llmstream_nb.magic.chats import notebook_cell_id

CHAT = f"%%llmstream --chat -m demo {INSTANT} --max-tokens 8 --seed 1"


@pytest.fixture
def shell(ip: InteractiveShell) -> Iterator[InteractiveShell]:  # noqa: F811
    """The test shell with no conversations left from other tests."""
    magics(ip).chats.chats.clear()
    yield ip
    magics(ip).chats.chats.clear()
    ip.run_line_magic("config", "LLMStreamMagics.max_history = None")
    ip.user_ns.pop("drink", None)


def chat_of(shell: InteractiveShell, name: str = "default") -> Any:
    return magics(shell).chats.chats[name]


def test_two_chat_cells_then_the_second_again_hold_four_messages(shell: InteractiveShell) -> None:
    run(shell, f"{CHAT}\nHow do I brew tea?")
    run(shell, f"{CHAT}\nAnd coffee?")
    run(shell, f"{CHAT}\nAnd coffee?")  # the last cell run again: it replaces its own exchange
    view = shell.user_ns["_llmstream"]
    assert view.chat is chat_of(shell) and len(view.chat.messages) == 4
    assert view.chat_turn.number == 2 and view.markdown is True
    run(shell, f"{CHAT}\nHow do I brew tea?")  # asked before, but not last: a new turn
    assert chat_of(shell).turns == 3


def test_no_stream_in_a_chat_is_one_chunk_and_kept(shell: InteractiveShell) -> None:
    run(shell, f"{CHAT}\nHow do I brew tea?")
    run(shell, f"{CHAT} --no-stream\nAnd coffee?")
    view = shell.user_ns["_llmstream"]
    assert view.chat_turn.number == 2 and view.streamed is False
    assert view.chat.messages[3]["content"] == view.text and view.chat.turns == 2


def test_templating_text_and_teaching_views(shell: InteractiveShell) -> None:
    shell.user_ns["drink"] = "lemonade"
    run(shell, f"{CHAT} --text\nTell me about {{drink}}.")
    view = shell.user_ns["_llmstream"]
    assert view.chat.messages[0]["content"] == "Tell me about lemonade." and view.markdown is False
    run(shell, f'{CHAT} --sep "|"\nMore.')
    assert shell.user_ns["_llmstream"].markdown is False  # a teaching view keeps the tokens
    parsed = parse_cell_line("-c work")
    assert parsed.chat == "work"
    for line, expected in [
        ("--chat -m demo -m demo", "--chat continues one conversation; it cannot go with several -m"),
        ("--chat --events", "cannot go with --events"),
        ("--chat 'a b'", "--chat needs a name"),
        ("--text --markdown", "--text and --markdown contradict each other"),
    ]:
        with pytest.raises(MagicUsageError, match=expected):
            parse_cell_line(line)


def test_conversations_by_name_system_and_model(shell: InteractiveShell) -> None:
    run(shell, f"{CHAT} -c work --system 'Answer briefly.'\nHow do I brew tea?")
    run(shell, f"%%llmstream -c work {INSTANT} --max-tokens 8\nAnd coffee?")  # no -m: the chat keeps its model
    work = chat_of(shell, "work")
    assert work.system == "Answer briefly." and work.turns == 2 and work.model.name == "demo:ngram"
    assert "default" not in magics(shell).chats.chats
    shell.run_line_magic("llmstream", "config model=openai:ngram")  # another default: the chat keeps its own
    run(shell, f"%%llmstream -c work {INSTANT} --opt jitter=0 --max-tokens 8\nAnd lemonade?")
    assert work.model.name == "demo:ngram" and work.model.public_options["jitter"] == 0 and work.turns == 3
    run(shell, f"%%llmstream -c work -m demo {INSTANT} --system 'Answer at length.'\nAnd water?")
    assert work.system == "Answer at length." and work.turns == 4


def test_max_history_is_configured_and_shown(shell: InteractiveShell) -> None:
    shell.run_line_magic("config", "LLMStreamMagics.max_history = 1")
    for prompt in ("How do I brew tea?", "And coffee?", "And lemonade?"):
        run(shell, f"{CHAT}\n{prompt}")
    turn = shell.user_ns["_llmstream"].chat_turn
    assert turn.left_out == 1 and turn.label == "chat default \u00b7 turn 3 \u00b7 1 earlier turn not sent"


def test_chats_and_reset(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_line_magic("llmstream", "chats")
    assert "no conversations yet" in capsys.readouterr().out
    run(shell, f"{CHAT}\nHow do I brew tea?")
    run(shell, f"{CHAT} -c other\nAnd coffee?")
    capsys.readouterr()
    shell.run_line_magic("llmstream", "chats")
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows == [["name", "model", "turns"], ["default", "demo:ngram", "1"], ["other", "demo:ngram", "1"]]
    shell.run_line_magic("llmstream", "reset")
    assert "conversation 'default' forgotten (1 turns)" in capsys.readouterr().out
    assert list(magics(shell).chats.chats) == ["other"]
    shell.run_line_magic("llmstream", "reset nope")
    assert one_error_line(capsys) == (
        "llmstream: there is no conversation 'nope' (conversations: other). See %%llmstream?"
    )


def test_a_chat_object_continues_with_llm(shell: InteractiveShell) -> None:
    from llmstream_nb import get_model

    chat = get_model("demo", ttft=0, tokens_per_second=0).chat()
    shell.user_ns["mine"] = chat
    try:
        run(shell, "%%llmstream --llm mine --max-tokens 5\nHow do I brew tea?")
    finally:
        shell.user_ns.pop("mine")
    assert chat.turns == 1 and shell.user_ns["_llmstream"].chat is chat


def test_the_cell_id_comes_from_the_execute_request() -> None:
    def shell_with(parent: Any) -> Any:
        return SimpleNamespace(kernel=SimpleNamespace(get_parent=lambda channel: parent))

    assert notebook_cell_id(shell_with({"metadata": {"cellId": "abc-1"}})) == "abc-1"
    assert notebook_cell_id(shell_with({"metadata": {}})) is None
    assert notebook_cell_id(SimpleNamespace()) is None
