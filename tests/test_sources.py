"""Source adapters in-process: each family's stream items to our chunks (kinds, order, usage),
foreign model objects behind our Model interface, and the answer inside astream_events.

LangChain is exercised with langchain-core's own fake models, the OpenAI and Anthropic SDKs
with their real stream objects over HTTP to the local server (tests/server_fixture.py), and
with SDK event objects built from the SDKs' own types where a case is hard to provoke.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import subprocess
import sys
from typing import Any, AsyncIterator, Iterator

import anthropic
import openai
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake import FakeListLLM, FakeStreamingListLLM
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.prompts import ChatPromptTemplate

from llmstream_nb import Chunk, ConfigurationError, ProviderStreamError, Usage, get_model
from llmstream_nb.chunks import REASONING, TEXT
from llmstream_nb.sources import (
    AsyncChunkIterator,
    ChunkIterator,
    EventAnswer,
    ForeignModel,
    ItemReader,
    UsageDelta,
    answers_whole,
    as_model,
    read_item,
    to_chunk,
)
from llmstream_nb.view.events_view import EventsView, short_run_id

ANSWER = "Tea is a calm drink."
WORDS = ["Tea", " ", "is", " ", "a", " ", "calm", " ", "drink."]


def chat_model(answer: str = ANSWER, **fields: Any) -> GenericFakeChatModel:
    """LangChain's fake chat model, answering `answer` every time (it streams word by word)."""
    return GenericFakeChatModel(messages=itertools.cycle([answer]), **fields)


def chain(answer: str = ANSWER) -> Any:
    return ChatPromptTemplate.from_template("Tell me about {topic}") | chat_model(answer) | StrOutputParser()


def pieces_of(chunks: list[Chunk]) -> list[tuple[str, str]]:
    return [(c.kind, c.text) for c in chunks]


class BlockChatModel(BaseChatModel):
    """A chat model streaming given message chunks as they are: content blocks, reasoning, usage."""

    chunks: list[AIMessageChunk]

    @property
    def _llm_type(self) -> str:
        return "blocks"

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="unused"))])

    def _stream(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self.chunks:
            yield ChatGenerationChunk(message=chunk)


REASONING_CHUNKS = [
    AIMessageChunk(
        content=[{"type": "reasoning", "reasoning": "The user "}, {"type": "reasoning", "reasoning": "asks."}],
        usage_metadata={"input_tokens": 9, "output_tokens": 0, "total_tokens": 9},
    ),
    AIMessageChunk(content=[{"type": "thinking", "thinking": " Short."}, {"type": "text", "text": "Tea"}]),
    AIMessageChunk(content="", additional_kwargs={"reasoning_content": "(DeepSeek style)"}),
    AIMessageChunk(
        content=[{"type": "text", "text": " is calm."}, {"type": "tool_use", "id": "t1"}],
        usage_metadata={"input_tokens": 0, "output_tokens": 5, "total_tokens": 5},
        response_metadata={"finish_reason": "stop", "model_name": "blocks-1"},
    ),
]


# -- nothing optional is imported ------------------------------------------------------------


def test_importing_the_package_imports_no_optional_library() -> None:
    code = (
        "import sys, llmstream_nb, llmstream_nb.sources, llmstream_nb.view, llmstream_nb.magic\n"
        "from llmstream_nb.sources import ChunkIterator, as_model\n"
        "list(ChunkIterator(iter(['a', {'choices': [{'delta': {'content': 'b'}}]}])))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'langchain_core', 'langchain', 'openai', 'anthropic'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- plain generators --------------------------------------------------------------------------


def test_plain_generators_sync_and_async() -> None:
    def words() -> Iterator[str]:
        yield from ["one", " two"]

    async def awords() -> AsyncIterator[Any]:
        yield "one"
        yield Chunk(" two", kind=REASONING)

    async def collect() -> list[Chunk]:
        return [c async for c in AsyncChunkIterator(awords())]

    assert [c.text for c in ChunkIterator(words())] == ["one", " two"]
    assert pieces_of(asyncio.run(collect())) == [(TEXT, "one"), (REASONING, " two")]


# -- LangChain ----------------------------------------------------------------------------------


def test_generic_fake_chat_model_streams_word_by_word() -> None:
    chunks = list(ChunkIterator(chat_model().stream("hi")))
    assert [c.text for c in chunks] == WORDS
    assert [c.index for c in chunks] == list(range(len(WORDS))) and not any(c.fallback for c in chunks)


def test_content_blocks_reasoning_and_usage_in_order() -> None:
    model = BlockChatModel(chunks=REASONING_CHUNKS)
    chunks = ChunkIterator(model.stream("hi"))
    assert pieces_of([c for c in chunks if c.text]) == [
        (REASONING, "The user asks."),  # neighbouring blocks of one kind make one chunk
        (REASONING, " Short."),
        (TEXT, "Tea"),
        (REASONING, "(DeepSeek style)"),
        (TEXT, " is calm."),  # the tool_use block carries no text
    ]
    assert chunks.stamper.usage == Usage(9, 5)  # per-chunk usage_metadata adds up, as LangChain adds it
    assert chunks.stamper.model == "blocks-1"


def test_a_langchain_item_read_directly() -> None:
    item = REASONING_CHUNKS[-1]
    assert read_item(item) == [Chunk(" is calm."), UsageDelta(0, 5)]
    assert read_item(item)[0].finish_reason == "stop"
    assert to_chunk(REASONING_CHUNKS[1]).text == "Tea"  # one-chunk view: the text, not the thinking


def test_llms_yield_strings_and_the_non_streaming_one_is_marked() -> None:
    streaming = as_model(FakeStreamingListLLM(responses=["abc"]))
    assert [c.text for c in streaming.stream("x")] == ["a", "b", "c"] and streaming.can_stream
    whole = as_model(FakeListLLM(responses=["the whole answer"]))
    stream = whole.stream("x")
    assert [(c.text, c.fallback) for c in stream] == [("the whole answer", True)]
    assert stream.completion.streamed is False and not whole.can_stream


def test_which_models_answer_whole() -> None:
    assert answers_whole(FakeListLLM(responses=["x"]), async_api=False)
    assert answers_whole(FakeListLLM(responses=["x"]), async_api=True)
    assert not answers_whole(FakeStreamingListLLM(responses=["x"]), async_api=False)  # overrides stream()
    assert not answers_whole(chat_model(), async_api=False)
    assert answers_whole(chat_model(disable_streaming=True), async_api=False)
    assert not answers_whole(chain(), async_api=False)  # a chain: we cannot tell, so we never mark
    assert not answers_whole(object(), async_api=False)


def test_a_chat_model_with_streaming_disabled_is_marked() -> None:
    stream = as_model(chat_model(disable_streaming=True)).stream("hi")
    assert [(c.text, c.fallback) for c in stream] == [(ANSWER, True)]


def test_a_runnable_chain_sync_and_async() -> None:
    model = as_model(chain())
    assert model.name == "langchain:RunnableSequence"
    assert [c.text for c in model.stream("tea")] == WORDS and model.invoke("tea").text == ANSWER

    async def collect() -> list[str]:
        return [c.text async for c in model.astream("tea")]

    assert "".join(asyncio.run(collect())) == ANSWER


def test_usage_reaches_the_completion_of_a_foreign_model() -> None:
    completion = as_model(BlockChatModel(chunks=REASONING_CHUNKS)).invoke("hi")
    assert completion.usage == Usage(9, 5)
    assert completion.text == "Tea is calm." and completion.reasoning == "The user asks. Short.(DeepSeek style)"


# -- foreign models in general ------------------------------------------------------------------


class OnlyAsync:
    """Anything with just `astream`: the sync side is bridged through a thread."""

    model = "mine-1"

    async def astream(self, prompt: str) -> AsyncIterator[str]:
        for word in prompt.split():
            await asyncio.sleep(0)
            yield word


class OnlySync:
    def stream(self, prompt: str) -> Iterator[str]:
        yield from prompt.split()


def test_objects_with_only_astream_or_only_stream() -> None:
    assert [c.text for c in as_model(OnlyAsync()).stream("a b c")] == ["a", "b", "c"]
    assert as_model(OnlyAsync()).name == "object:mine-1" and as_model(OnlySync()).name == "object:OnlySync"

    async def collect() -> list[str]:
        return [c.text async for c in as_model(OnlySync()).astream("a b")]

    assert asyncio.run(collect()) == ["a", "b"]


def test_what_is_not_a_model() -> None:
    ours = get_model("demo")
    assert as_model(ours) is ours
    with pytest.raises(TypeError, match=r"^a int is not a model: expected a Model, a LangChain"):
        as_model(42)
    with pytest.raises(TypeError, match=r"the class GenericFakeChatModel \(make an instance\)"):
        as_model(GenericFakeChatModel)
    with pytest.raises(ConfigurationError, match="takes no call options"):
        as_model(OnlySync()).stream("x", temperature=0)


# -- events ------------------------------------------------------------------------------------


async def _events(model: Any, prompt: str) -> list[dict[str, Any]]:
    return [e async for e in model.astream_events(prompt, version="v2")]


def test_the_answer_inside_a_chains_events_is_the_roots() -> None:
    """Every level streams the same words; only the root's count, once."""
    events = asyncio.run(_events(as_model(chain()), "tea"))
    assert {e["event"] for e in events} >= {"on_chat_model_stream", "on_parser_stream", "on_chain_stream"}
    answer = EventAnswer()
    chunks = [p for e in events for p in answer(e) if isinstance(p, Chunk)]
    assert [c.text for c in chunks] == WORDS and not any(c.fallback for c in chunks)


def test_a_non_streaming_llms_events_give_the_whole_answer_marked() -> None:
    events = asyncio.run(_events(FakeListLLM(responses=["whole"]), "x"))
    assert [e["event"] for e in events] == ["on_llm_start", "on_llm_end"]
    answer = EventAnswer()
    assert [(c.text, c.fallback) for e in events for c in answer(e)] == [("whole", True)]


def test_our_own_events_read_the_same_way() -> None:
    demo = get_model("demo", ttft=0, tokens_per_second=0)
    events = asyncio.run(_events(demo, "tea"))
    answer = EventAnswer()
    pieces = [p for e in events for p in answer(e)]
    text = "".join(p.text for p in pieces if isinstance(p, Chunk))
    assert text == events[-1]["data"]["output"].text and answer.usage == events[-1]["data"]["output"].usage


def test_the_events_table_shows_nesting_readably() -> None:
    view = EventsView(chain(), "tea", file=io.StringIO())
    view.run()
    rows = {(row[1], row[2].strip()): row for row in view.rows}
    root = rows["on_chain_start", "RunnableSequence"]
    model_start = rows["on_chat_model_start", "GenericFakeChatModel"]
    assert root[2] == "RunnableSequence" and (root[6], model_start[6]) == (0, 1)  # one level under the chain
    assert model_start[3] == short_run_id(view.events[3]["run_id"]) and model_start[7] == root[3]  # its parent
    assert model_start[4] == "human: Tell me about tea"
    assert rows["on_prompt_end", "ChatPromptTemplate"][4] == "Human: Tell me about tea"
    assert rows["on_chain_end", "RunnableSequence"][4] == ANSWER
    assert len({row[3].split()[0] for row in view.rows}) == 4  # chain, prompt, model, parser: told apart


def test_reasoning_and_usage_are_labelled_in_the_table() -> None:
    view = EventsView(BlockChatModel(chunks=REASONING_CHUNKS), "hi", file=io.StringIO())
    view.run()
    streamed = [row[4] for row in view.rows if row[1] == "on_chat_model_stream"]
    assert streamed[0] == "reasoning: 'The user asks.' · usage: 9 in, 0 out"
    assert streamed[1] == "reasoning: ' Short.' · 'Tea'"


# -- the OpenAI SDK -----------------------------------------------------------------------------


def openai_client(server: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)


def test_openai_chat_stream_with_usage(llm_server: Any) -> None:
    stream = openai_client(llm_server).chat.completions.create(
        model="demo",
        messages=[{"role": "user", "content": "Tell me about tea."}],
        stream=True,
        max_tokens=12,
        seed=1,
        stream_options={"include_usage": True},
    )
    chunks = ChunkIterator(stream)
    received = list(chunks)
    text = "".join(c.text for c in received)
    assert text and sum(1 for c in received if c.text) == 12
    assert [c.finish_reason for c in received if c.finish_reason] == ["length"]
    assert chunks.stamper.usage is not None and chunks.stamper.usage.completion_tokens == 12
    assert chunks.stamper.model == "demo"


def test_openai_legacy_completions(llm_server: Any) -> None:
    stream = openai_client(llm_server).completions.create(model="demo", prompt="tea", stream=True, max_tokens=8)
    received = list(ChunkIterator(stream))
    assert sum(1 for c in received if c.text) == 8


def test_openai_async_stream_is_closed_when_we_stop(llm_server: Any) -> None:
    async def main() -> tuple[list[str], bool]:
        client = openai.AsyncOpenAI(base_url=llm_server.base_url, api_key="sk-test", max_retries=0)
        stream = await client.chat.completions.create(
            model="demo", messages=[{"role": "user", "content": "tea"}], stream=True, max_tokens=50
        )
        chunks = AsyncChunkIterator(stream)
        first = [(await chunks.__anext__()).text for _ in range(3)]
        await chunks.aclose()  # AsyncStream has only an async close(): it must still be called
        closed = stream.response.is_closed
        await client.close()
        return first, closed

    first, closed = asyncio.run(main())
    assert len(first) == 3 and closed


def test_openai_responses_streams_created_and_managed(llm_server: Any) -> None:
    """`responses.create(stream=True)` and `responses.stream(...)` (entered or not) read alike, usage and model included."""
    client = openai_client(llm_server)
    request = {"model": "demo", "input": "Tell me about tea.", "max_output_tokens": 12, "extra_body": {"seed": 1}}
    created = ChunkIterator(client.responses.create(**request, stream=True))
    received = list(created)
    text = "".join(c.text for c in received)
    assert text and sum(1 for c in received if c.text) == 12
    assert [c.finish_reason for c in received if c.finish_reason] == ["length"]
    assert created.stamper.usage is not None and created.stamper.usage.completion_tokens == 12
    assert created.stamper.model == "demo"
    with client.responses.stream(**request) as stream:
        assert "".join(c.text for c in ChunkIterator(stream)) == text
    manager = ChunkIterator(client.responses.stream(**request))
    try:
        assert "".join(c.text for c in manager) == text
    finally:
        manager.close()


def test_openai_responses_reasoning_and_failure(llm_server: Any) -> None:
    client = openai_client(llm_server)
    stream = client.responses.create(
        model="demo", input="tea", max_output_tokens=6, reasoning={"summary": "auto"}, stream=True,
        extra_body={"seed": 1},
    )  # fmt: skip
    kinds = [c.kind for c in ChunkIterator(stream) if c.text]
    assert kinds[0] == REASONING and kinds[-1] == TEXT and kinds == sorted(kinds)
    failing = client.responses.create(model="demo+error_after=2", input="tea", stream=True)
    seen = []
    with pytest.raises(ProviderStreamError, match="server_error"):
        for chunk in ChunkIterator(failing):
            seen.append(chunk.text)
    assert sum(1 for text in seen if text) == 2


def test_openai_reasoning_content_and_usage_chunks() -> None:
    from openai.types.chat import ChatCompletionChunk

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> ChatCompletionChunk:
        choices = [{"index": 0, "delta": delta, "finish_reason": finish}] if delta is not None else []
        return ChatCompletionChunk.model_validate(
            {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "r1", "choices": choices, **extra}
        )

    items = [
        chunk({"role": "assistant", "content": None, "reasoning_content": "Think.", "reasoning": "Think."}),
        chunk({"content": None, "reasoning": " More."}),  # OpenRouter's name for it
        chunk({"content": "Answer"}),
        chunk({"content": ""}, finish="stop"),
        chunk(None, usage={"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}),
    ]
    reader = ItemReader()
    pieces = [p for item in items for p in reader(item)]
    chunks = [p for p in pieces if isinstance(p, Chunk)]
    assert pieces_of(chunks) == [(REASONING, "Think."), (REASONING, " More."), (TEXT, "Answer"), (TEXT, ""), (TEXT, "")]
    assert chunks[3].finish_reason == "stop"  # the last one is the usage chunk's: no choices, no text
    assert reader.usage == Usage(4, 2) and reader.model == "r1"


# -- the Anthropic SDK --------------------------------------------------------------------------


def anthropic_events() -> list[Any]:
    """A thinking block, then a text block, as the SDK's own event types."""
    from anthropic.types import (
        RawContentBlockDeltaEvent,
        RawContentBlockStartEvent,
        RawContentBlockStopEvent,
        RawMessageDeltaEvent,
        RawMessageStartEvent,
        RawMessageStopEvent,
    )

    usage = {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 2}
    message = {
        "id": "m",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    delta = RawContentBlockDeltaEvent.model_validate
    return [
        RawMessageStartEvent.model_validate({"type": "message_start", "message": message}),
        RawContentBlockStartEvent.model_validate(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            }
        ),
        delta({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hmm."}}),
        delta({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "s"}}),
        RawContentBlockStopEvent.model_validate({"type": "content_block_stop", "index": 0}),
        delta({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Tea"}}),
        delta({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": " is calm."}}),
        RawMessageDeltaEvent.model_validate(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 7},
            }
        ),
        RawMessageStopEvent.model_validate({"type": "message_stop"}),
    ]


def test_anthropic_raw_events() -> None:
    chunks = ChunkIterator(iter(anthropic_events()))
    received = list(chunks)
    assert pieces_of(received) == [(REASONING, "Hmm."), (TEXT, "Tea"), (TEXT, " is calm."), (TEXT, "")]
    assert received[-1].finish_reason == "end_turn"
    assert chunks.stamper.usage == Usage(12, 7)  # input counts cached tokens too; output is cumulative
    assert chunks.stamper.model == "claude-test"


def test_anthropic_helper_events_are_not_counted_twice_but_text_blocks_are_text() -> None:
    from anthropic.lib.streaming._types import TextEvent, ThinkingEvent

    assert read_item(TextEvent(type="text", text="Tea", snapshot="Tea")) == []
    assert read_item(ThinkingEvent(type="thinking", thinking="Hmm", snapshot="Hmm")) == []
    assert read_item({"type": "text", "text": "a bare block"}) == [Chunk("a bare block")]


def anthropic_client(server: Any) -> anthropic.Anthropic:
    """The SDK pointed at the local server's Messages routes (skips in a tree without them)."""
    pytest.importorskip("llmstream_nb.server.anthropic_routes")
    return anthropic.Anthropic(base_url=server.base_url.removesuffix("/v1"), api_key="sk-ant-test", max_retries=0)


MESSAGES: dict[str, Any] = {
    "model": "demo",
    "max_tokens": 12,
    "messages": [{"role": "user", "content": "Tell me about tea."}],
    "extra_body": {"seed": 1},  # the local server's demo takes a seed, so two requests answer alike
}


def test_anthropic_message_stream_and_its_text_stream(llm_server: Any) -> None:
    client = anthropic_client(llm_server)
    with client.messages.stream(**MESSAGES) as stream:
        chunks = ChunkIterator(stream)
        received = list(chunks)
        final = stream.get_final_message()
    assert "".join(c.text for c in received) == final.content[0].text
    assert chunks.stamper.usage == Usage(final.usage.input_tokens, final.usage.output_tokens)
    with client.messages.stream(**MESSAGES) as stream:
        assert "".join(c.text for c in ChunkIterator(stream.text_stream)) == final.content[0].text


def test_anthropic_raw_stream_and_unentered_manager(llm_server: Any) -> None:
    client = anthropic_client(llm_server)
    raw = "".join(c.text for c in ChunkIterator(client.messages.create(**MESSAGES, stream=True)))
    manager = ChunkIterator(client.messages.stream(**MESSAGES))  # entered on the first chunk, exited on close
    try:
        entered = "".join(c.text for c in manager)
    finally:
        manager.close()
    assert raw and raw == entered


def test_anthropic_thinking_over_http(llm_server: Any) -> None:
    stream = anthropic_client(llm_server).messages.create(
        **{**MESSAGES, "max_tokens": 2048}, thinking={"type": "enabled", "budget_tokens": 1024}, stream=True
    )
    received = list(ChunkIterator(stream))
    kinds = [c.kind for c in received if c.text]
    assert kinds[0] == REASONING and kinds[-1] == TEXT and kinds == sorted(kinds)  # thinking first, then the answer


def test_anthropic_async_manager(llm_server: Any) -> None:
    pytest.importorskip("llmstream_nb.server.anthropic_routes")

    async def main() -> str:
        client = anthropic.AsyncAnthropic(
            base_url=llm_server.base_url.removesuffix("/v1"), api_key="sk-ant-test", max_retries=0
        )
        chunks = AsyncChunkIterator(client.messages.stream(**MESSAGES))
        try:
            return "".join([c.text async for c in chunks])
        finally:
            await chunks.aclose()
            await client.close()

    assert asyncio.run(main())


def test_unknown_items_and_non_iterables_are_errors() -> None:
    with pytest.raises(TypeError, match="cannot read text from a int"):
        read_item(42)
    with pytest.raises(TypeError, match=r"a GenericFakeChatModel is a model, not a stream: pass its .stream\(prompt\)"):
        ChunkIterator(chat_model())  # a pydantic object: it would iterate over its fields
    with pytest.raises(TypeError, match="cannot stream from a int: it is not iterable"):
        AsyncChunkIterator(42)  # type: ignore[arg-type]
    assert isinstance(as_model(chat_model()), ForeignModel)
