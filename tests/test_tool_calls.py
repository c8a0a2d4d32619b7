"""Streamed tool calls: each protocol's deltas -> tool-call chunks -> assembled calls, the local server's
demo calls (deterministic, matching the schema, in small fragments) read by our client and the official SDKs."""

from __future__ import annotations

import json
import random
import warnings
from typing import Any

import anthropic
import ollama
import openai
import pytest
from provider_contract import clear_env

from llmstream_nb import ConfigurationError, get_model
from llmstream_nb.chunks import TEXT, TOOL_CALL, Chunk
from llmstream_nb.providers import _anthropic_wire, _ollama_wire, _responses_wire
from llmstream_nb.providers._openai_wire import decode_stream
from llmstream_nb.server.tool_answers import arguments_for, plan
from llmstream_nb.tool_calls import Tool, ToolCallChunk, anthropic_tool_choice, assemble, parse_tools

no_env = clear_env("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OLLAMA_HOST")

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "hourly": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
    },
    "required": ["city", "unit", "days"],
}
TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather for a city", "parameters": SCHEMA},
    },
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
]
PROMPT = "What is the weather in Paris tomorrow?"


def calls_of(pieces: list[Any]) -> list[ToolCallChunk]:
    return [p for p in pieces if isinstance(p, ToolCallChunk)]


def assert_matches_schema(arguments: dict[str, Any]) -> None:
    assert {"city", "unit", "days"} <= set(arguments) <= set(SCHEMA["properties"])
    assert isinstance(arguments["city"], str) and arguments["city"]
    assert arguments["unit"] in ("celsius", "fahrenheit") and 1 <= arguments["days"] <= 7


# -- each wire, without HTTP ------------------------------------------------------------------


def test_chat_tool_call_deltas_assemble_into_calls() -> None:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    first = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
    second = {"index": 1, "id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
    wire = "".join(
        f"data: {line}\n\n"
        for line in [
            chunk({"role": "assistant", "content": None, "tool_calls": [first]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Pa'}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ris"}'}}, second]}),
            chunk({}, "tool_calls"),
            "[DONE]",
        ]
    ).encode()
    pieces = decode_stream([wire])
    assert [(c.call, c.name, c.text) for c in calls_of(pieces)] == [
        (0, "get_weather", ""),
        (0, None, '{"city": "Pa'),
        (0, None, 'ris"}'),
        (1, "get_time", "{}"),
    ]
    assert all(c.kind == TOOL_CALL for c in calls_of(pieces))
    assert "".join(p.text for p in pieces if isinstance(p, Chunk) and p.kind == TEXT) == ""
    calls = assemble(pieces)
    assert [(c.id, c.name, c.arguments, c.error) for c in calls] == [
        ("call_1", "get_weather", {"city": "Paris"}, None),
        ("call_2", "get_time", {}, None),
    ]


def test_invalid_json_arguments_keep_the_raw_text_and_say_why() -> None:
    calls = assemble([ToolCallChunk('{"city": ', call_id="c", name="f"), ToolCallChunk("Par", call=0)])
    assert calls[0].arguments is None and calls[0].raw_arguments == '{"city": Par'
    assert calls[0].error is not None and calls[0].error.startswith("the arguments of f are not valid JSON")


def test_responses_function_call_events() -> None:
    item = {"id": "fc_1", "type": "function_call", "call_id": "call_9", "name": "get_time", "arguments": ""}
    events = [
        {"type": "response.output_item.added", "output_index": 1, "item": item},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 1, "delta": '{"tz"'},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 1, "delta": ': "UTC"}'},
        {"type": "response.completed", "response": {"status": "completed", "output": [item], "usage": None}},
    ]
    wire = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
    pieces = _responses_wire.decode_stream([wire])
    assert [(c.id, c.name, c.arguments) for c in assemble(pieces)] == [("call_9", "get_time", {"tz": "UTC"})]
    assert [p.finish_reason for p in pieces if isinstance(p, Chunk) and p.finish_reason] == ["tool_calls"]


def test_anthropic_tool_use_blocks_and_input_json_deltas() -> None:
    parser = _anthropic_wire.EventParser()
    block = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    pieces = [
        *parser.feed(json.dumps({"type": "content_block_start", "index": 1, "content_block": block})),
        *parser.feed(json.dumps({"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "input_json_delta", "partial_json": '{"city": "Oslo"'}})),
        *parser.feed(json.dumps({"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "input_json_delta", "partial_json": "}"}})),
    ]  # fmt: skip
    assert [(c.id, c.name, c.arguments) for c in assemble(pieces)] == [("toolu_1", "get_weather", {"city": "Oslo"})]


def test_ollama_whole_tool_calls_in_a_line() -> None:
    line = {"message": {"role": "assistant", "content": "", "tool_calls": [
        {"function": {"name": "get_weather", "arguments": {"city": "Rome"}}},
        {"function": {"name": "get_time", "arguments": {}}},
    ]}, "done": False}  # fmt: skip
    last = {"message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"}
    pieces = _ollama_wire.decode_lines([json.dumps(line), json.dumps(last)])
    assert [c.call for c in calls_of(pieces)] == [0, 1]
    assert [(c.name, c.arguments) for c in assemble(pieces)] == [("get_weather", {"city": "Rome"}), ("get_time", {})]


def test_tools_are_checked_and_translated() -> None:
    assert parse_tools([{"name": "f", "input_schema": {"type": "object"}}]) == [Tool("f", "", {"type": "object"})]
    with pytest.raises(ConfigurationError, match=r"tools\[0\] has no function name"):
        parse_tools([{"type": "function", "function": {}}])
    with pytest.raises(ConfigurationError, match="must be a list"):
        parse_tools("get_weather")
    assert anthropic_tool_choice("required") == {"type": "any"}
    assert anthropic_tool_choice({"type": "function", "function": {"name": "f"}}) == {"type": "tool", "name": "f"}
    options = {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "get_time"}}}
    chat = get_model("openai:m", base_url="http://127.0.0.1:1/v1")
    assert chat._body(chat._request("hi", options), stream=True)["tools"] == TOOLS
    responses = get_model("openai:m", base_url="http://127.0.0.1:1/v1", api="responses")
    body = responses._body(responses._request("hi", options), stream=True)
    assert body["tools"][0] == {"type": "function", "name": "get_weather", "description": "Weather for a city",
                                "parameters": SCHEMA}  # fmt: skip
    assert body["tool_choice"] == {"type": "function", "name": "get_time"}
    claude = _anthropic_wire.request_body("m", chat._request("hi", options), stream=True)
    assert claude["tools"][1] == {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}
    assert claude["tool_choice"] == {"type": "tool", "name": "get_time"}


# -- the demo's calls -------------------------------------------------------------------------


def test_demo_arguments_match_the_schema_and_repeat_for_a_seed() -> None:
    tool = parse_tools(TOOLS)[0]
    first, again = plan(tool, PROMPT, 4), plan(tool, PROMPT, 4)
    assert first == again and first.call_id.startswith("call_")
    assert "".join(first.fragments) == first.arguments and max(len(f) for f in first.fragments) <= 6
    for seed in range(30):
        assert_matches_schema(json.loads(plan(tool, PROMPT, seed).arguments))
    nested = {"type": "object", "properties": {"when": {"type": "string", "format": "date"},
              "where": {"anyOf": [{"type": "null"}, {"type": "number", "minimum": 2, "maximum": 3}]}},
              "required": ["when", "where"]}  # fmt: skip
    value = arguments_for(nested, random.Random(1), ["x"])
    assert len(value["when"]) == 10 and (value["where"] is None or 2 <= value["where"] <= 3)


def models(server: Any) -> dict[str, Any]:
    return {
        "chat": get_model("openai:ngram", base_url=server.base_url),
        "responses": get_model("openai:ngram", base_url=server.base_url, api="responses"),
        "anthropic": get_model("anthropic:ngram", base_url=server.url),
        "ollama": get_model("ollama:ngram", host=server.url),
    }


@pytest.mark.parametrize("protocol", ["chat", "responses", "anthropic", "ollama"])
def test_our_client_streams_the_demo_call_from_every_protocol(llm_server: Any, protocol: str) -> None:
    llm = models(llm_server)[protocol]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Anthropic and Responses take no seed= (the extra_body carries it)
        stream = llm.stream(PROMPT, tools=TOOLS, tool_choice="required", extra_body={"seed": 3})
        chunks = list(stream)
    llm.close()
    fragments = [c for c in chunks if c.kind == TOOL_CALL]
    assert stream.text == "" and len(stream.tool_calls) == 1
    call = stream.tool_calls[0]
    assert call.name == "get_weather" and call.error is None
    assert_matches_schema(call.arguments)
    assert call.raw_arguments == json.dumps(call.arguments)
    if protocol != "ollama":  # Ollama sends a call whole, the others in fragments
        assert len(fragments) > 5 and fragments[0].name == "get_weather" and fragments[1].name is None
        assert stream.finish_reason == "tool_calls"
    assert stream.completion.tool_calls == stream.tool_calls


def test_the_same_seed_gives_the_same_call_everywhere(llm_server: Any) -> None:
    arguments = set()
    for protocol, llm in models(llm_server).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seeded = {"seed": 8} if protocol in ("chat", "ollama") else {"extra_body": {"seed": 8}}
            completion = llm.invoke(PROMPT, tools=TOOLS, tool_choice="required", **seeded)
        arguments.add(completion.tool_calls[0].raw_arguments)
        llm.close()
    assert len(arguments) == 1


def test_a_named_function_is_called_and_auto_answers_in_text(llm_server: Any) -> None:
    with get_model("openai:ngram", base_url=llm_server.base_url) as llm:
        named = llm.invoke(PROMPT, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_time"}})
        auto = llm.invoke(PROMPT, tools=TOOLS, max_tokens=5)
        whole = llm._complete(llm._request(PROMPT, {"tools": TOOLS, "tool_choice": "required"}))
    assert [c.name for c in named.tool_calls] == ["get_time"] and named.tool_calls[0].arguments == {}
    assert auto.text and auto.tool_calls == []
    assert whole.tool_calls[0].name == "get_weather" and whole.finish_reason == "tool_calls"


def test_an_unknown_named_function_is_a_400(llm_server: Any) -> None:
    from llmstream_nb import BadRequestError

    with get_model("openai:ngram", base_url=llm_server.base_url) as llm, pytest.raises(BadRequestError, match="nope"):
        llm.invoke(PROMPT, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "nope"}})


def test_the_official_sdks_parse_the_demo_calls(llm_server: Any) -> None:
    messages = [{"role": "user", "content": PROMPT}]
    client = openai.OpenAI(base_url=llm_server.base_url, api_key="unused")
    whole = client.chat.completions.create(
        model="ngram", messages=messages, tools=TOOLS, tool_choice="required", seed=2
    )
    whole_response = client.responses.create(
        model="ngram", input=PROMPT, tools=[{"type": "function", **tool["function"]} for tool in TOOLS],
        tool_choice="required", extra_body={"seed": 2},
    )  # fmt: skip
    assert whole_response.output[0].type == "function_call" and whole_response.output[0].name == "get_weather"
    with client.chat.completions.stream(
        model="ngram", messages=messages, tools=TOOLS, tool_choice="required", seed=2
    ) as stream:
        for _ in stream:
            pass
        streamed = stream.get_final_completion()
    flat = [{"type": "function", **tool["function"]} for tool in TOOLS]
    with client.responses.stream(
        model="ngram", input=PROMPT, tools=flat, tool_choice="required", extra_body={"seed": 2}
    ) as stream:
        for _ in stream:
            pass
        response = stream.get_final_response()
    client.close()
    chat_call = whole.choices[0].message.tool_calls[0]
    assert chat_call.function.name == "get_weather" and whole.choices[0].finish_reason == "tool_calls"
    assert streamed.choices[0].message.tool_calls[0].function.arguments == chat_call.function.arguments
    function_call = next(item for item in response.output if item.type == "function_call")
    assert function_call.arguments == chat_call.function.arguments and function_call.call_id == chat_call.id

    claude = anthropic.Anthropic(base_url=llm_server.url, api_key="unused")
    anthropic_tools = [{"name": t["function"]["name"], "input_schema": t["function"]["parameters"]} for t in TOOLS]
    with claude.messages.stream(
        model="ngram", max_tokens=100, messages=messages, tools=anthropic_tools, tool_choice={"type": "any"},
        extra_body={"seed": 2},
    ) as stream:  # fmt: skip
        message = stream.get_final_message()
    whole_message = claude.messages.create(
        model="ngram", max_tokens=100, messages=messages, tools=anthropic_tools,
        tool_choice={"type": "tool", "name": "get_weather"}, extra_body={"seed": 2},
    )  # fmt: skip
    claude.close()
    assert whole_message.content == message.content
    tool_use = message.content[0]
    assert tool_use.type == "tool_use" and message.stop_reason == "tool_use"
    assert tool_use.input == json.loads(chat_call.function.arguments)

    parts = list(ollama.Client(host=llm_server.url).chat(model="ngram", messages=messages, tools=TOOLS, stream=True,
                                                         options={"seed": 2}))  # fmt: skip
    whole_reply = ollama.Client(host=llm_server.url).chat(model="ngram", messages=messages, tools=TOOLS,
                                                          options={"seed": 2})  # fmt: skip
    assert [c.function.name for c in whole_reply.message.tool_calls or ()] == ["get_weather"]
    calls = [call for part in parts for call in part.message.tool_calls or ()]
    assert [c.function.name for c in calls] == ["get_weather"] and parts[-1].done
    # The ollama client rebuilds the schema through its own model, dropping bounds such as `maximum`:
    # the call still names the required properties, with the enum's values.
    arguments = dict(calls[0].function.arguments)
    assert {"city", "unit", "days"} <= set(arguments) and arguments["unit"] in ("celsius", "fahrenheit")


# -- LangChain chunks and astream_events ------------------------------------------------------


def test_langchain_tool_call_chunks_map_to_ours() -> None:
    from langchain_core.messages import AIMessage, AIMessageChunk

    from llmstream_nb.sources import read_item

    parts = [
        AIMessageChunk(content="", tool_call_chunks=[{"name": "get_time", "args": "", "id": "call_7", "index": 0}]),
        AIMessageChunk(content="", tool_call_chunks=[{"name": None, "args": '{"tz": ', "id": None, "index": 0}]),
        AIMessageChunk(content="", tool_call_chunks=[{"name": None, "args": '"UTC"}', "id": None, "index": 0}]),
    ]
    pieces = [p for part in parts for p in read_item(part)]
    assert [(c.call_id, c.name, c.text) for c in calls_of(pieces)] == [
        ("call_7", "get_time", ""),
        (None, None, '{"tz": '),
        (None, None, '"UTC"}'),
    ]
    assert [(c.id, c.name, c.arguments) for c in assemble(pieces)] == [("call_7", "get_time", {"tz": "UTC"})]
    whole = AIMessage(content="", tool_calls=[{"name": "get_time", "args": {"tz": "UTC"}, "id": "call_8"}])
    assert [(c.id, c.arguments) for c in assemble(read_item(whole))] == [("call_8", {"tz": "UTC"})]


@pytest.mark.asyncio
async def test_astream_events_carry_the_tool_call_chunks(llm_server: Any) -> None:
    llm = get_model("openai:ngram", base_url=llm_server.base_url)
    events = [e async for e in llm.astream_events(PROMPT, tools=TOOLS, tool_choice="required", seed=1)]
    v1 = [e async for e in llm.astream_events(PROMPT, version="v1", tools=TOOLS, tool_choice="required", seed=1)]
    await llm.aclose()
    fragments = [e["data"]["chunk"] for e in events if e["event"] == "on_llm_stream"]
    calls = [c for c in fragments if isinstance(c, ToolCallChunk)]
    assert calls and calls[0].name == "get_weather"
    end = events[-1]["data"]["output"]
    assert [c.name for c in end.tool_calls] == ["get_weather"]
    assert v1[-1]["data"]["output"]["tool_calls"][0]["arguments"] == end.tool_calls[0].arguments


def test_a_recorded_tool_call_replays_the_same(llm_server: Any, tmp_path: Any) -> None:
    from llmstream_nb.recording import save

    with get_model("openai:ngram", base_url=llm_server.base_url) as llm:
        stream = llm.stream(PROMPT, tools=TOOLS, tool_choice="required", seed=5)
        list(stream)
    path = tmp_path / "call.jsonl"
    save(stream, path)
    replayed = get_model(f"replay:{path}", speed=0).stream(PROMPT)
    chunks = list(replayed)
    assert replayed.tool_calls == stream.tool_calls and replayed.text == ""
    assert [(c.call, c.call_id, c.name) for c in calls_of(chunks)] == [
        (c.call, c.call_id, c.name) for c in calls_of(stream.chunks)
    ]


def test_the_terminal_marks_tool_calls_and_refusals_apart_from_the_answer() -> None:
    import io

    from llmstream_nb.chunks import REFUSAL
    from llmstream_nb.terminal import TerminalPrinter

    out = io.StringIO()
    printer = TerminalPrinter(sep="|", file=out)
    chunks = [Chunk("Let"), Chunk(" me"), ToolCallChunk("", call_id="c1", name="get_time"), ToolCallChunk('{"tz": 1}')]
    chunks += [ToolCallChunk("{}", call=1, name="get_date"), Chunk("No.", REFUSAL)]
    for chunk in chunks:
        printer.feed(chunk)
    printer.finish()
    assert out.getvalue() == 'Let| me\n\n[tool call] get_time {"tz": 1}\n\n[tool call] get_date {}\n\n[refusal] No.\n'
