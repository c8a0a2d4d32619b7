"""Conversations (`Chat`): what each turn sends, what is kept, re-runs, limits, files, and every provider.

A recording model (below) keeps every request it gets and answers "answer N" word by word, so
these tests check exactly which messages went out; the provider tests at the end send real
conversations over loopback to our local server (OpenAI, Anthropic and Ollama wire formats),
whose request log says what arrived.
"""

from __future__ import annotations

import asyncio
import io
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmstream_nb import Chat, Chunk, ConfigurationError, Model, ProviderStreamError, Usage, get_model
from llmstream_nb.models.streams import Piece
from llmstream_nb.options import Request
from llmstream_nb.redact import public_options
from llmstream_nb.recording import save

FAKE_KEY = "sk-THIS-IS-A-FAKE-KEY-0123456789abcdef"
INSTANT = {"ttft": 0, "tokens_per_second": 0}


class Recorder(Model):
    """Keeps each request's messages; answers "answer N, ..." in `words` chunks; may fail after `fail_after`."""

    provider = "recorder"
    default_model = "r1"

    def __init__(self, words: int = 3, fail_after: int | None = None) -> None:
        super().__init__()
        self.requests: list[tuple[dict[str, str], ...]] = []
        self.words, self.fail_after = words, fail_after

    def _stream_chunks(self, request: Request) -> Iterator[Piece]:
        self.requests.append(request.messages)
        n = len(self.requests)
        for i in range(self.words):
            if self.fail_after is not None and i == self.fail_after:
                raise ProviderStreamError("the test server fell over")
            yield Chunk(f"answer{n}" if i == 0 else f" w{i}")
        yield Usage(prompt_tokens=len(request.messages), completion_tokens=self.words)


def drain(stream: Any) -> Any:
    for _ in stream:
        pass
    return stream


def test_each_turn_sends_the_kept_exchanges_then_keeps_its_own() -> None:
    model = Recorder()
    chat = model.chat(system="Be brief.")
    assert chat.invoke("first?").text == "answer1 w1 w2"
    stream = drain(chat.stream("second?"))
    assert model.requests[0] == ({"role": "system", "content": "Be brief."}, {"role": "user", "content": "first?"})
    assert model.requests[1] == (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first?"},
        {"role": "assistant", "content": "answer1 w1 w2"},
        {"role": "user", "content": "second?"},
    )
    assert chat.messages == [
        {"role": "user", "content": "first?"},
        {"role": "assistant", "content": "answer1 w1 w2"},
        {"role": "user", "content": "second?"},
        {"role": "assistant", "content": "answer2 w1 w2"},
    ]
    assert chat.turns == 2 and stream.chat_turn.number == 2 and stream.chat_turn.label == "chat default \u00b7 turn 2"
    assert stream.usage.prompt_tokens == 4  # the model's usage reaches the chat's stream
    assert stream.prompt == list(model.requests[1])  # a recording of the stream keeps what was sent


def test_a_fresh_chat_without_system_sends_the_bare_prompt() -> None:
    model = Recorder()
    drain(model.chat().stream("hello"))
    assert model.requests == [({"role": "user", "content": "hello"},)]


def test_asking_again_from_a_cell_replaces_its_exchange_in_place() -> None:
    model = Recorder()
    chat = model.chat()
    chat.invoke("one", cell="a")
    chat.invoke("two", cell="b")
    rerun = drain(chat.stream("two, again", cell="b"))
    assert len(chat.messages) == 4 and [e.prompt for e in chat.exchanges] == ["one", "two, again"]
    assert rerun.chat_turn.number == 2
    assert model.requests[2][:-1] == model.requests[1][:-1]  # answered with what came before it, not with itself
    chat.invoke("one, edited", cell="a")  # an earlier cell run again: the notebook's order stands
    assert [e.prompt for e in chat.exchanges] == ["one, edited", "two, again"]
    assert model.requests[3] == ({"role": "user", "content": "one, edited"},)


def test_max_history_sends_only_the_latest_exchanges_and_says_how_many_were_left_out() -> None:
    model = Recorder()
    chat = model.chat(max_history=1)
    for prompt in ("a", "b", "c"):
        chat.invoke(prompt)
    stream = drain(chat.stream("d"))
    assert [m["content"] for m in model.requests[-1]] == ["c", "answer3 w1 w2", "d"]
    assert stream.chat_turn.left_out == 2 and stream.chat_turn.label.endswith("2 earlier turns not sent")
    assert len(chat.messages) == 8  # all are kept; only the request is bounded
    chat.max_history = 0
    drain(chat.stream("e"))
    assert model.requests[-1] == ({"role": "user", "content": "e"},)
    chat.max_history = 50  # more than there are: all of them
    stream = drain(chat.stream("f"))
    assert len(model.requests[-1]) == 11 and stream.chat_turn.left_out == 0
    for wrong in (-1, 1.5, True):
        with pytest.raises(ConfigurationError, match="max_history must be a whole number"):
            Recorder().chat(max_history=wrong)  # type: ignore[arg-type]


def test_a_stopped_answer_is_kept_as_far_as_it_got_and_undo_drops_it() -> None:
    model = Recorder(words=10)
    chat = model.chat()
    chat.invoke("first")
    stream = chat.stream("second")
    for i, _ in enumerate(stream):
        if i == 1:
            break
    stream.close()
    last = chat.exchanges[-1]
    assert (last.prompt, last.answer, last.status) == ("second", "answer2 w1", "stopped")
    assert chat.messages[-1] == {"role": "assistant", "content": "answer2 w1", "status": "stopped"}
    drain(chat.stream("third"))
    assert {"role": "assistant", "content": "answer2 w1"} in model.requests[-1]  # what the person saw is sent
    assert chat.undo().prompt == "third" and chat.undo().prompt == "second"  # type: ignore[union-attr]
    assert [e.prompt for e in chat.exchanges] == ["first"]
    chat.reset()
    assert chat.messages == [] and chat.undo() is None


def test_a_failed_answer_is_kept_with_its_error_and_an_empty_one_is_not_sent() -> None:
    chat = Recorder(fail_after=2).chat()
    with pytest.raises(ProviderStreamError) as caught:
        chat.invoke("first")
    assert caught.value.partial_text == "answer1 w1"
    failed = chat.exchanges[0]
    assert (failed.answer, failed.status) == ("answer1 w1", "error")
    assert failed.error.startswith("ProviderStreamError: the test server fell over")
    model = Recorder(fail_after=0)
    chat = model.chat()
    with pytest.raises(ProviderStreamError):
        chat.invoke("nothing came")
    model.fail_after = None
    drain(chat.stream("again"))
    assert model.requests[-1] == ({"role": "user", "content": "again"},)  # no empty assistant turn goes out
    assert chat.messages[1] == {"role": "assistant", "content": "", "status": "error"}


def test_a_chat_prompt_is_a_non_empty_string() -> None:
    chat = Recorder().chat()
    for wrong in ("", "  ", [{"role": "user", "content": "x"}]):
        with pytest.raises(ConfigurationError, match="a chat prompt is a non-empty string"):
            chat.stream(wrong)  # type: ignore[arg-type]
    assert chat.turns == 0


def test_async_turns_are_kept_too_and_a_cancelled_one_is_stopped() -> None:
    model = Recorder(words=6)
    chat = model.chat()

    async def main() -> None:
        assert (await chat.ainvoke("one")).text.startswith("answer1")
        stream = chat.astream("two")
        async for chunk in stream:
            if chunk.text == " w2":
                break
        await stream.aclose()

    asyncio.run(main())
    assert [(e.answer, e.status) for e in chat.exchanges] == [
        ("answer1 w1 w2 w3 w4 w5", "done"),
        ("answer2 w1 w2", "stopped"),
    ]
    assert model.requests[1][0] == {"role": "user", "content": "one"}


def test_save_and_load_keep_the_conversation_and_never_a_key(tmp_path: Path, llm_server: Any) -> None:
    model = get_model("openai:ngram", base_url=llm_server.base_url, api_key=FAKE_KEY, headers={"Authorization": "x"})
    chat = model.chat(system="Be brief.", max_history=3)
    chat.invoke("Tell me about tea.", max_tokens=8, seed=1)
    chat.exchanges.append(type(chat.exchanges[0])("cut short", "Tea", "stopped", model=model.name))
    path = chat.save(tmp_path / "chat.json")
    text = path.read_text()
    assert FAKE_KEY not in text and "Authorization" not in text and "api_key" not in text
    saved = json.loads(text)
    assert saved["model"] == "openai:ngram" and saved["model_options"] == {
        "base_url": llm_server.base_url,
        "headers": {},
    }
    loaded = Chat.load(path)
    assert loaded.messages == chat.messages and loaded.system == "Be brief." and loaded.max_history == 3
    assert loaded.model.name == "openai:ngram" and loaded.exchanges[1].status == "stopped"
    loaded.invoke("And coffee?", max_tokens=8, seed=1)  # the rebuilt model continues the conversation
    asked = llm_server.requests()[-1]["messages"]
    assert [m["content"] for m in asked[:3]] == ["Be brief.", "Tell me about tea.", chat.exchanges[0].answer]
    other = Chat.load(path, model=Recorder())
    assert other.model.name == "recorder:r1" and other.turns == 2


def test_load_mistakes_are_one_line(tmp_path: Path) -> None:
    missing, bad, foreign = tmp_path / "none.json", tmp_path / "bad.json", tmp_path / "foreign.json"
    bad.write_text("{not json")
    foreign.write_text(json.dumps({"format": "llmstream-chat/1", "model": "langchain:Fake", "exchanges": []}))
    for path, expected in [
        (missing, "cannot read the chat file"),
        (bad, "is not a saved chat"),
        (foreign, r"cannot build its model 'langchain:Fake'.*pass Chat.load\(path, model=...\)"),
    ]:
        with pytest.raises(ConfigurationError, match=expected) as caught:
            Chat.load(path)
        assert "\n" not in str(caught.value)


def test_public_options_drop_every_secret_named_option() -> None:
    options = {
        "api_key": FAKE_KEY,
        "base_url": "http://127.0.0.1:1/v1",
        "max_tokens": 5,
        "headers": {"Authorization": "Bearer x", "X-API-Key": "y", "OpenAI-Organization": "org"},
        "access_token": "t",
    }
    assert public_options(options) == {
        "base_url": "http://127.0.0.1:1/v1",
        "max_tokens": 5,
        "headers": {"OpenAI-Organization": "org"},
    }
    assert get_model("demo", ttft=0).public_options == {"ttft": 0}


def test_show_and_stream_view_take_a_chat_like_a_model() -> None:
    from llmstream_nb.view import StreamView, show

    chat = Recorder().chat()
    out = io.StringIO()
    view = show(chat, "hi", file=out)
    assert view.chat is chat and view.chat_turn is not None and view.chat_turn.number == 1
    assert chat.messages[1]["content"] == view.text == "answer1 w1 w2"
    view = StreamView(chat.stream("more"), file=out).run()
    assert view.chat is chat and chat.turns == 2 and view.stats["input_tokens"] == 3
    with pytest.raises(TypeError, match=r"pass chat.stream\(prompt\), or use show\(chat, prompt\)"):
        StreamView(chat)


# -- every provider takes the conversation ---------------------------------------------------


def test_demo_answers_the_last_question_of_a_conversation() -> None:
    chat = get_model("demo", **INSTANT).chat(system="Answer briefly.")
    first = chat.invoke("How do I brew tea?", max_tokens=30, seed=3).text
    second = chat.invoke("Tell me about night trains.", max_tokens=30, seed=3).text
    alone = get_model("demo", **INSTANT).invoke("Tell me about night trains.", max_tokens=30, seed=3).text
    assert "tea" in first.lower() and "train" in second.lower()
    assert second == alone  # the demo answers the last user message, whatever came before


@pytest.mark.parametrize("provider", ["openai", "anthropic", "ollama"])
def test_http_providers_send_the_whole_conversation(provider: str, llm_server: Any) -> None:
    options = {
        "openai": {"base_url": llm_server.base_url},
        "anthropic": {"base_url": llm_server.url},
        "ollama": {"host": llm_server.url},
    }[provider]
    model = get_model(f"{provider}:ngram", **options)
    chat = model.chat(system="Answer briefly.")
    one = chat.invoke("How do I brew tea?", max_tokens=12, temperature=0).text
    two = chat.invoke("Tell me about night trains.", max_tokens=12, temperature=0).text
    asked = llm_server.requests()[-1]["messages"]
    assert [(m["role"], m["content"]) for m in asked if m["role"] != "system"] == [
        ("user", "How do I brew tea?"),
        ("assistant", one),
        ("user", "Tell me about night trains."),
    ]
    assert two and len(chat.messages) == 4
    model.close()


def test_replay_takes_a_conversation(tmp_path: Path) -> None:
    demo = get_model("demo", **INSTANT).chat()
    demo.invoke("How do I brew tea?", max_tokens=8, seed=1)
    second = drain(demo.stream("And coffee?", max_tokens=8, seed=1))
    path = save(second, tmp_path / "turn2.jsonl")
    chat = get_model("replay:" + str(path), speed=0).chat()
    chat.exchanges = list(demo.exchanges[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # asked what was recorded: no "replays its answer to" warning
        answer = chat.invoke("And coffee?")
    assert answer.text == second.text and len(chat.messages) == 4


def test_a_langchain_chat_model_gets_the_messages() -> None:
    chat_models = pytest.importorskip("langchain_core.language_models.chat_models")
    messages_module = pytest.importorskip("langchain_core.messages")
    outputs = pytest.importorskip("langchain_core.outputs")

    class Counting(chat_models.BaseChatModel):  # type: ignore[misc, name-defined]
        """Answers with what it was given: how many messages, and their types."""

        @property
        def _llm_type(self) -> str:
            return "counting"

        def _generate(self, messages: list[Any], stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
            text = f"{len(messages)}:" + ",".join(m.type for m in messages)
            return outputs.ChatResult(generations=[outputs.ChatGeneration(message=messages_module.AIMessage(text))])

    from llmstream_nb.sources import as_model

    chat = as_model(Counting()).chat(system="Be brief.")
    assert chat.invoke("one").text == "2:system,human"
    assert chat.invoke("two").text == "4:system,human,ai,human"
    assert chat.model.name == "langchain:Counting" and chat.turns == 2


def test_the_stats_show_tokens_only_when_the_provider_reported_them() -> None:
    from llmstream_nb.view import StreamView

    plain = StreamView(iter(["a", "b"]), file=io.StringIO()).run()
    assert "input_tokens" not in plain.stats and "tokens" not in plain.stats_line.replace("tokens/s", "")
    reported = StreamView(Recorder().stream("hi"), file=io.StringIO()).run()
    assert (reported.stats["input_tokens"], reported.stats["output_tokens"]) == (1, 3)
    assert reported.stats_line.endswith(" \u00b7 tokens 1 in, 3 out")


def test_markdown_is_the_whole_conversation_for_a_person_to_paste() -> None:
    chat = Chat(Recorder(), system="Be brief.", name="tea")
    drain(chat.stream("Hi"))
    chat.invoke("And coffee?")
    text = chat.markdown()
    assert text.startswith("# Conversation tea\n\n**System:** Be brief.\n\n## Turn 1\n\n**You:** Hi\n\n")
    assert "**recorder:r1:**\n\nanswer1 w1 w2" in text and "## Turn 2\n\n**You:** And coffee?" in text
    assert text.count("## Turn") == 2
