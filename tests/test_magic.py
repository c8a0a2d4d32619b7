"""The %%llmstream / %llmstream magics, in-process (IPython's test shell, no kernel, no widgets).

Outside a kernel the views print to the terminal, so these tests read stdout and stderr:
what matters here is parsing, templating, configuration, where results are stored, and
that every mistake is one line on stderr with no traceback.
"""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest
from IPython import get_ipython
from IPython.core.interactiveshell import InteractiveShell
from IPython.testing.globalipapp import start_ipython

from llmstream_nb import Chunk, Model
from llmstream_nb.magic.arguments import MagicUsageError, parse_cell_line
from llmstream_nb.magic.help import help_text
from llmstream_nb.magic.template import TemplateError, render_prompt

INSTANT = "--opt ttft=0 --opt tokens_per_second=0"
FAKE_KEY = "sk-THIS-IS-A-FAKE-KEY-0123456789abcdef"
UNKNOWN_FLAG = "unknown option --temprature (did you mean --temperature?). See %%llmstream?"


@pytest.fixture
def ip(monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """The shared test shell with the extension loaded and default settings."""
    monkeypatch.delenv("LLMSTREAM_MODEL", raising=False)
    shell = start_ipython() or get_ipython()  # start_ipython answers only its first call
    shell.run_line_magic("load_ext", "llmstream_nb")
    shell.run_line_magic("llmstream", "config reset")
    yield shell
    shell.run_line_magic("llmstream", "config reset")
    for name in ("_llmstream", "answer", "topic", "doc", "width"):
        shell.user_ns.pop(name, None)


def magics(shell: InteractiveShell) -> Any:
    return next(c for c in shell.configurables if type(c).__name__ == "LLMStreamMagics")


def run(shell: InteractiveShell, code: str) -> Any:
    """Run a cell; the cell itself must never fail, whatever the magic reports."""
    result = shell.run_cell(code)
    assert result.error_before_exec is None
    assert result.error_in_exec is None, repr(result.error_in_exec)
    return result


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("llmstream: ")
    assert "Traceback" not in captured.out + captured.err
    return lines[0]


# -- arguments ---------------------------------------------------------------------------


def test_parse_all_flags() -> None:
    args = parse_cell_line(
        '-m demo --opt ttft=0 --opt base_url=http://localhost:1/v1 --async --sep " | " --markdown --tint '
        "--events -o answer --system 'Be brief.' --temperature 0.2 --max-tokens 12 --seed 7 --raw"
    )
    assert args.model == "demo"
    assert args.model_options == {"ttft": 0, "base_url": "http://localhost:1/v1"}
    assert (args.async_, args.sep, args.markdown, args.tint, args.events) == (True, " | ", True, True, True)
    assert (args.output, args.system, args.temperature) == ("answer", "Be brief.", 0.2)
    assert (args.max_tokens, args.seed) == (12, 7)
    assert args.stream and args.raw


def test_unset_flags_defer_to_configuration() -> None:
    args = parse_cell_line("")
    assert args.model is None and args.async_ is None and args.markdown is None and args.sep is None
    assert parse_cell_line("--no-async --no-markdown").async_ is False
    assert parse_cell_line("--no-stream").stream is False


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("--temprature 0.2", "unknown option --temprature (did you mean --temperature?)"),
        ("--temp 0.2", "unknown option --temp (did you mean --temperature?)"),
        ("--max-token=3", "unknown option --max-token (did you mean --max-tokens?)"),
        ("--temperature hot", "invalid float value: 'hot'"),
        ("-m", "expected one argument"),
        ("hello there", "the prompt goes in the cell body"),
        ('--sep "|', "No closing quotation"),
        ("-o 2x", "-o needs a Python variable name"),
        ("-o class", "-o needs a Python variable name"),
        ("--opt ttft", "expected key=value"),
        ("--events --no-stream", "cannot be combined"),
    ],
)
def test_parse_mistakes_are_one_line(line: str, expected: str) -> None:
    with pytest.raises(MagicUsageError) as info:
        parse_cell_line(line)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


# -- templating --------------------------------------------------------------------------


class Doc:
    title = "Tides"
    _private = "p"


def test_fields_attributes_items_and_specs() -> None:
    ns = {"topic": "tea", "doc": Doc(), "d": {"k": "v"}, "xs": ["a", "b"], "n": 3.14159, "w": 6}
    template = "{topic} {doc.title} {doc._private} {d[k]} {xs[1]} {n:.2f} {topic!r} [{topic:>{w}}]"
    assert render_prompt(template, ns) == "tea Tides p v b 3.14 'tea' [   tea]"


def test_double_braces_are_literal() -> None:
    assert render_prompt('JSON like {{"a": {x}}}', {"x": 1}) == 'JSON like {"a": 1}'


def test_missing_name_is_one_clear_line() -> None:
    with pytest.raises(TemplateError) as info:
        render_prompt("Tell me about {x}.", {})
    assert str(info.value) == "the prompt uses {x}, which is not defined in this notebook"
    with pytest.raises(TemplateError, match=r"uses \{x\} and \{y\}, which are not defined"):
        render_prompt("{x} {y} {x}", {})


@pytest.mark.parametrize(
    "template",
    [
        "{__import__('os')}",
        "{__import__('os').system('echo pwned')}",
        "{len(x)}",
        "{x + 1}",
        "{x.__class__}",
        "{x[0]()}",
        "{}",
        "{0}",
        '{"a": 1}',
    ],
)
def test_no_code_execution(template: str) -> None:
    called = []

    class Spy:
        def __getattr__(self, name: str) -> Any:
            called.append(name)
            return self

    ns = {"x": Spy(), "__import__": lambda *a: called.append("import")}
    with pytest.raises(TemplateError):
        render_prompt(template, ns)
    assert called == []


@pytest.mark.parametrize("template", ["a { b", "a } b", "{x"])
def test_unmatched_braces(template: str) -> None:
    with pytest.raises(TemplateError, match="unmatched brace"):
        render_prompt(template, {"x": 1})


def test_failed_lookup_and_bad_spec_are_one_line() -> None:
    with pytest.raises(TemplateError, match=r"\{d\[nope\]\} failed: KeyError"):
        render_prompt("{d[nope]}", {"d": {}})
    with pytest.raises(TemplateError, match="could not be filled"):
        render_prompt("{x:%Q}", {"x": 1})


# -- the cell magic ----------------------------------------------------------------------


def test_cell_streams_and_stores_the_view(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ip.user_ns["topic"] = "tea"
    run(ip, f"%%llmstream -m demo {INSTANT} --seed 1 --max-tokens 8 -o answer\nTell me about {{topic}}.")
    view = ip.user_ns["_llmstream"]
    assert ip.user_ns["answer"] is view
    assert view.text and view.text.strip() in capsys.readouterr().out
    assert view.result().text == view.text
    assert [c.text for c in view.chunks if c.text] and "".join(c.text for c in view.chunks) == view.text


def test_no_stream_answers_in_one_chunk(ip: InteractiveShell) -> None:
    run(ip, f"%%llmstream -m demo {INSTANT} --seed 1 --max-tokens 8 --no-stream\nTell me about tea.")
    view = ip.user_ns["_llmstream"]
    texts = [c.text for c in view.chunks if c.text]
    assert len(texts) == 1 and texts[0] == view.text
    assert not view.result().streamed


def test_same_seed_same_answer_whole_or_streamed(ip: InteractiveShell) -> None:
    run(ip, f"%%llmstream -m demo {INSTANT} --seed 3 --max-tokens 10\nrain")
    streamed = ip.user_ns["_llmstream"].text
    run(ip, f"%%llmstream -m demo {INSTANT} --seed 3 --max-tokens 10 --no-stream\nrain")
    assert ip.user_ns["_llmstream"].text == streamed


def test_models_are_cached_per_spec_and_options(ip: InteractiveShell) -> None:
    m = magics(ip)
    first = m.get_model("demo", {"ttft": 0})
    assert m.get_model("demo", {"ttft": 0}) is first
    assert m.get_model("demo", {"ttft": 0.5}) is not first
    assert m.get_model("demo:ngram", {"ttft": 0}) is not first  # another spelling: another entry, same behaviour


def test_events_in_the_terminal(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    run(ip, f"%%llmstream -m demo {INSTANT} --seed 2 --max-tokens 5 --events\nbirds")
    out = capsys.readouterr().out
    assert out.index("on_llm_start") < out.index("on_llm_stream") < out.index("on_llm_end")
    assert ip.user_ns["_llmstream"].text


def test_async_cell_returns_before_the_stream(ip: InteractiveShell) -> None:
    """In a kernel the cell runs while the loop is running; asyncio.run stands in for that loop here."""

    async def cell_then_wait() -> tuple[str, Any]:
        ip.run_cell_magic("llmstream", f"-m demo {INSTANT} --seed 4 --max-tokens 6 --async", "snow")
        view = ip.user_ns["_llmstream"]
        status_when_the_cell_returned = view.status  # the task has not had a turn yet
        return status_when_the_cell_returned, await view

    status, completion = asyncio.run(cell_then_wait())
    view = ip.user_ns["_llmstream"]
    assert status == "waiting"
    assert view.status == "done" and completion.text == view.text and view.text


class InterruptedModel(Model):
    """One token, then what Jupyter's interrupt raises in the cell's thread."""

    provider = "interrupted"
    default_model = "after-one-token"

    def _stream_chunks(self, request: Any) -> Iterator[Any]:
        yield Chunk("partial ")
        raise KeyboardInterrupt


def test_an_interrupted_cell_fails_with_one_line(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(magics(ip), "get_model", lambda spec, options: InterruptedModel())
    result = ip.run_cell("%%llmstream\nTell me about trains.")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)  # the cell fails, so "Run all" stops
    view = ip.user_ns["_llmstream"]
    assert view.status == "stopped" and view.text == "partial "
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert "KeyboardInterrupt: stream stopped by interrupt; the partial answer is kept in the view" in shown
    assert "Traceback" not in shown and ".py" not in shown  # no frames of ours (or anyone's)


def test_async_without_a_loop_blocks(ip: InteractiveShell) -> None:
    """A terminal IPython runs no loop between cells: --async falls back to blocking, like show()."""
    run(ip, f"%%llmstream -m demo {INSTANT} --seed 4 --max-tokens 6 --async\nsnow")
    assert ip.user_ns["_llmstream"].status == "done"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("%%llmstream --temprature 0.2\nhi", f"llmstream: {UNKNOWN_FLAG}"),
        ("%%llmstream -m opnai:gpt-4o-mini\nhi", "unknown provider 'opnai'"),
        ("%%llmstream -m demo:nope\nhi", "unknown demo model 'nope'"),
        ("%%llmstream -m demo --opt temprature=0\nhi", "unknown option 'temprature'"),
        ("%%llmstream -m demo\nTell me about {nowhere}.", "llmstream: the prompt uses {nowhere}, which is not defined"),
        ("%%llmstream -m demo\n{__import__('os').getcwd()}", "is not a name"),
        ("%%llmstream -m demo\n   \n", "the cell is empty"),
        ("%%llmstream --llm nowhere\nhi", "llmstream: --llm nowhere: there is no variable 'nowhere' in this notebook"),
        ("%%llmstream --llm In\nhi", "llmstream: --llm In: a list is not a model: expected a Model, a LangChain"),
    ],
)
def test_mistakes_are_one_line_without_traceback(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], cell: str, expected: str
) -> None:
    ip.user_ns.pop("_llmstream", None)
    run(ip, cell)
    line = one_error_line(capsys)
    assert expected in line
    assert "_llmstream" not in ip.user_ns  # nothing ran, nothing stored


def test_the_last_answer_feeds_the_next_prompt(ip: InteractiveShell) -> None:
    """`_llmstream` is an ordinary variable, so a prompt can quote the previous answer."""
    run(ip, f"%%llmstream -m demo {INSTANT} --seed 6 --max-tokens 5\nTell me about tea.")
    first = ip.user_ns["_llmstream"]
    run(ip, f"%%llmstream -m demo {INSTANT} --seed 6 --max-tokens 5 -o second\nShorter: {{_llmstream.text}}")
    assert ip.user_ns["second"] is not first and ip.user_ns["_llmstream"] is ip.user_ns["second"]
    ip.user_ns.pop("second")


def test_raw_keeps_braces(ip: InteractiveShell) -> None:
    run(ip, f"%%llmstream -m demo {INSTANT} --max-tokens 3 --raw\nExplain {{'a': 1}} and {{undefined}}.")
    assert ip.user_ns["_llmstream"].text is not None


# -- --llm: a model object from the notebook ----------------------------------------------


def fake_chat_model(answer: str = "Tea is calm.") -> Any:
    """langchain-core's own fake chat model (word by word), answering `answer` every time."""
    import itertools

    fakes = pytest.importorskip("langchain_core.language_models.fake_chat_models")
    return fakes.GenericFakeChatModel(messages=itertools.cycle([answer]))


def test_llm_parses_and_refuses_what_builds_a_model() -> None:
    assert parse_cell_line("--llm chat --events").llm == "chat"
    for line, expected in [
        ("--llm 2x", "--llm needs a Python variable name"),
        ("-m demo --llm chat", "use -m or --llm, not both"),
        ("--llm chat --opt ttft=0", "--opt builds a model for -m"),
    ]:
        with pytest.raises(MagicUsageError, match=expected):
            parse_cell_line(line)


def test_llm_streams_a_langchain_chat_model(ip: InteractiveShell) -> None:
    ip.user_ns["chat"] = fake_chat_model()
    try:
        run(ip, "%%llmstream --llm chat\nTell me about tea.")
    finally:
        ip.user_ns.pop("chat")
    view = ip.user_ns["_llmstream"]
    assert view.model_name == "langchain:GenericFakeChatModel" and view.status == "done"
    assert view.text_pieces() == ["Tea", " ", "is", " ", "calm."]


def test_llm_takes_our_own_model_with_its_options(ip: InteractiveShell) -> None:
    from llmstream_nb import get_model

    ip.user_ns["mine"] = get_model("demo", ttft=0, tokens_per_second=0)
    try:
        run(ip, "%%llmstream --llm mine --seed 2 --max-tokens 5\nrain")
        by_name = ip.user_ns["_llmstream"].text
        run(ip, f"%%llmstream -m demo {INSTANT} --seed 2 --max-tokens 5\nrain")
    finally:
        ip.user_ns.pop("mine")
    assert by_name and by_name == ip.user_ns["_llmstream"].text


def test_llm_events_of_a_chain_in_the_terminal(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    prompts = pytest.importorskip("langchain_core.prompts")
    parsers = pytest.importorskip("langchain_core.output_parsers")
    ip.user_ns["chain"] = (
        prompts.ChatPromptTemplate.from_template("About {topic}") | fake_chat_model() | parsers.StrOutputParser()
    )
    try:
        run(ip, "%%llmstream --llm chain --events\ntea")
    finally:
        ip.user_ns.pop("chain")
    out = capsys.readouterr().out
    assert out.index("on_chain_start") < out.index("on_chat_model_stream") < out.index("on_chain_end")
    assert ip.user_ns["_llmstream"].text == "Tea is calm."  # the chain's words once, not once per level


def test_llm_objects_take_no_generation_flags(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    """A foreign object is configured by its owner; the configured defaults do not reach it either."""
    ip.user_ns["chat"] = fake_chat_model()
    try:
        run(ip, "%%llmstream --llm chat --temperature 0\nhi")
        expected = "llmstream: --temperature goes with -m models; set it on chat itself. See %%llmstream?"
        assert one_error_line(capsys) == expected
        run(ip, "%llmstream config temperature=0.5 max_tokens=3")
        run(ip, "%%llmstream --llm chat\nhi")
    finally:
        ip.user_ns.pop("chat")
    assert ip.user_ns["_llmstream"].text == "Tea is calm."


# -- configuration -----------------------------------------------------------------------


def test_config_line_sets_traits(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    run(ip, "%llmstream config model=demo temperature=0.3 max-tokens=7 async=false sep=| system='Be brief.'")
    m = magics(ip)
    assert (m.model, m.temperature, m.max_tokens) == ("demo", 0.3, 7)
    assert (m.async_mode, m.sep, m.system) == (False, "|", "Be brief.")
    run(ip, """%llmstream config model_options='{"ttft": 0, "tokens_per_second": 0}'""")
    assert m.model_options == {"ttft": 0, "tokens_per_second": 0}
    run(ip, "%llmstream config")
    listing = capsys.readouterr().out
    assert "model          'demo'" in listing and "temperature    0.3" in listing and "'ttft': 0" in listing
    run(ip, "%llmstream config temperature=none")
    assert m.temperature is None


def test_config_is_all_or_nothing_and_one_line(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    run(ip, "%llmstream config model=demo temperature=hot")
    assert "temperature" in one_error_line(capsys)
    assert magics(ip).model is None
    run(ip, "%llmstream config temprature=0.2")
    assert "unknown setting 'temprature' (did you mean temperature?)" in one_error_line(capsys)
    run(ip, "%llmstream config model")
    assert "expected key=value" in one_error_line(capsys)


def test_percent_config_sets_the_same_traits(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    run(ip, "%config LLMStreamMagics.temperature = 0.1")
    run(ip, "%config LLMStreamMagics.model_options = {'ttft': 0, 'tokens_per_second': 0}")
    run(ip, "%config LLMStreamMagics.model = 'demo'")
    m = magics(ip)
    assert (m.temperature, m.model, m.model_options) == (0.1, "demo", {"ttft": 0, "tokens_per_second": 0})
    run(ip, "%llmstream config")
    assert "temperature    0.1" in capsys.readouterr().out


def test_configured_defaults_reach_the_cell(ip: InteractiveShell) -> None:
    run(ip, """%llmstream config model=demo max_tokens=4 seed=5 model_options='{"ttft": 0, "tokens_per_second": 0}'""")
    run(ip, "%%llmstream\nclocks")
    configured = ip.user_ns["_llmstream"]
    assert configured.model_name == "demo:ngram" and 0 < len(configured.text_pieces()) <= 4
    run(ip, f"%%llmstream -m demo {INSTANT} --max-tokens 4 --seed 5\nclocks")
    assert ip.user_ns["_llmstream"].text == configured.text


def test_reload_keeps_one_configurable(ip: InteractiveShell) -> None:
    run(ip, "%reload_ext llmstream_nb")
    assert sum(type(c).__name__ == "LLMStreamMagics" for c in ip.configurables) == 1


# -- models and help ---------------------------------------------------------------------


def test_models_shows_key_state_never_the_key(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    run(ip, "%llmstream models --offline")
    out = capsys.readouterr().out
    assert "demo:ngram" in out and "no key" in out
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    run(ip, "%llmstream models --offline")
    out = capsys.readouterr().out
    assert "key set" in out and FAKE_KEY not in out
    # Asking a server that is not there: the error is listed, the key still is not.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    run(ip, "%llmstream models")
    captured = capsys.readouterr()
    assert FAKE_KEY not in captured.out + captured.err and "openai" in captured.out


def test_help_everywhere(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text()
    needles = ("usage: %%llmstream", "--temperature T", "--opt KEY=VALUE", "_llmstream", "-o NAME", "%llmstream config")
    for needle in needles:
        assert needle in text
    assert ip.find_cell_magic("llmstream").__doc__ == text
    assert ip.find_line_magic("llmstream").__doc__ == text
    run(ip, "%llmstream help")
    assert "usage: %%llmstream" in capsys.readouterr().out
    run(ip, "%%llmstream --help\nignored")
    assert "usage: %%llmstream" in capsys.readouterr().out
    run(ip, "%llmstream modles")
    assert "unknown command 'modles'" in one_error_line(capsys)


def test_question_mark_shows_the_help(ip: InteractiveShell) -> None:
    """`%%llmstream?` goes through IPython's inspector, which reads the docstring."""
    info = ip.object_inspect("%%llmstream")
    assert info["found"] and "usage: %%llmstream" in info["docstring"]
