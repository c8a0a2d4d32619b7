"""The bytes of a demo tool call in each protocol the server speaks, streamed (a `ToolCallEncoder` each) and whole.

- OpenAI Chat Completions: `delta.tool_calls[0]` with the id, name and "" first, then argument fragments,
  then `finish_reason: "tool_calls"`; whole: `message.tool_calls`.
- Responses API: a `function_call` output item, `response.function_call_arguments.delta` events, its
  `.done` events, then `response.completed`; whole: the item in `output`.
- Anthropic Messages: a `tool_use` content block, `input_json_delta` fragments, `stop_reason: "tool_use"`;
  whole: the block with its parsed `input`.
- Ollama: `message.tool_calls` with the arguments as an object, in one line (Ollama sends calls whole),
  then the `"done": true` line.
"""

from __future__ import annotations

import json
import time
from typing import Any

from . import anthropic_wire, ollama_wire, openai_wire, responses_wire
from .tool_answers import ToolAnswer

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def chat_usage(answer: ToolAnswer) -> dict[str, int]:
    prompt, output = answer.prompt_tokens, answer.output_tokens
    return {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output}


class ChatToolFrames:
    """A tool call as `chat.completion.chunk` events."""

    def __init__(self, id: str, created: int, model: str, *, include_usage: bool) -> None:
        self.envelope = {"id": id, "object": "chat.completion.chunk", "created": created, "model": model}
        self.include_usage = include_usage

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        usage = {"usage": None} if self.include_usage else {}
        return f"data: {_dumps({**self.envelope, 'choices': [choice], **usage})}\n\n".encode()

    def tool_opening(self, answer: ToolAnswer) -> tuple[bytes, ...]:
        call = {
            "index": 0,
            "id": answer.call_id,
            "type": "function",
            "function": {"name": answer.name, "arguments": ""},
        }
        return (self._chunk({"role": "assistant", "content": None, "tool_calls": [call]}),)

    def tool_fragment(self, answer: ToolAnswer, text: str) -> bytes:
        return self._chunk({"tool_calls": [{"index": 0, "function": {"arguments": text}}]})

    def tool_closing(self, answer: ToolAnswer) -> tuple[bytes, ...]:
        finish = self._chunk({}, "tool_calls")
        if not self.include_usage:
            return finish, openai_wire.DONE
        usage = chat_usage(answer)
        last = f"data: {_dumps({**self.envelope, 'choices': [], 'usage': usage})}\n\n".encode()
        return finish, last, openai_wire.DONE


def chat_completion(id: str, created: int, model: str, answer: ToolAnswer) -> bytes:
    """A whole `chat.completion` whose message is the tool call."""
    call = {"id": answer.call_id, "type": "function", "function": {"name": answer.name, "arguments": answer.arguments}}
    message = {"role": "assistant", "content": None, "tool_calls": [call], "refusal": None}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls"}
    usage = chat_usage(answer)
    body = {"id": id, "object": "chat.completion", "created": created, "model": model, "choices": [choice]}
    return _dumps({**body, "usage": usage}).encode()


def function_call_item(answer: ToolAnswer, item_id: str, status: str = "completed") -> dict[str, Any]:
    arguments = answer.arguments if status == "completed" else ""
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": answer.call_id,
        "name": answer.name,
    }


class ResponseToolFrames(responses_wire.ResponseFrames):
    """A tool call as Responses API events: one `function_call` output item."""

    def __init__(self, id: str, created: int, model: str, echo: dict[str, Any]) -> None:
        super().__init__(id, created, model, echo, logprobs=False)
        self.item_id = responses_wire.new_id("fc")

    def tool_opening(self, answer: ToolAnswer) -> tuple[bytes, ...]:
        item = function_call_item(answer, self.item_id, "in_progress")
        return (
            self.event({"type": "response.created", "response": self._response()}),
            self.event({"type": "response.in_progress", "response": self._response()}),
            self.event({"type": "response.output_item.added", "output_index": 0, "item": item}),
        )

    def tool_fragment(self, answer: ToolAnswer, text: str) -> bytes:
        where = {"item_id": self.item_id, "output_index": 0}
        return self.event({"type": "response.function_call_arguments.delta", **where, "delta": text})

    def tool_closing(self, answer: ToolAnswer) -> tuple[bytes, ...]:
        where = {"item_id": self.item_id, "output_index": 0}
        item = function_call_item(answer, self.item_id)
        usage = responses_wire.usage(answer.prompt_tokens, answer.output_tokens)
        response = self._response(status="completed", output=[item], usage=usage)
        return (
            self.event({"type": "response.function_call_arguments.done", **where, "arguments": answer.arguments}),
            self.event({"type": "response.output_item.done", "output_index": 0, "item": item}),
            self.event({"type": "response.completed", "response": response}),
        )


def whole_response(id: str, created: int, model: str, echo: dict[str, Any], answer: ToolAnswer) -> bytes:
    """A whole `response` whose output is the function call."""
    usage = responses_wire.usage(answer.prompt_tokens, answer.output_tokens)
    item = function_call_item(answer, responses_wire.new_id("fc"))
    body = responses_wire.response_object(id, created, model, echo, status="completed", output=[item], usage=usage)
    return _dumps(body).encode()


def anthropic_id(answer: ToolAnswer) -> str:
    return "toolu_" + answer.call_id.removeprefix("call_")


class MessageToolFrames(anthropic_wire.MessageFrames):
    """A tool call as Messages events: one `tool_use` block."""

    def tool_opening(self, answer: ToolAnswer) -> tuple[bytes, ...]:
        self.index = 0
        block = {"type": "tool_use", "id": anthropic_id(answer), "name": answer.name, "input": {}}
        start = anthropic_wire.event({"type": "content_block_start", "index": 0, "content_block": block})
        return self.start(), start, anthropic_wire.PING_EVENT

    def tool_fragment(self, answer: ToolAnswer, text: str) -> bytes:
        return self._delta({"type": "input_json_delta", "partial_json": text})

    def tool_closing(self, answer: ToolAnswer) -> tuple[bytes, ...]:
        delta = {"stop_reason": "tool_use", "stop_sequence": None}
        usage = anthropic_wire.usage(answer.prompt_tokens, answer.output_tokens)
        end = anthropic_wire.event({"type": "message_delta", "delta": delta, "usage": usage})
        return self.block_stop(), end, anthropic_wire.STOP_EVENT


def anthropic_message(id: str, model: str, answer: ToolAnswer) -> bytes:
    """A whole `message` whose content is the `tool_use` block."""
    block = {"type": "tool_use", "id": anthropic_id(answer), "name": answer.name, "input": json.loads(answer.arguments)}
    body = {
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [block],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": anthropic_wire.usage(answer.prompt_tokens, answer.output_tokens),
    }
    return _dumps(body).encode()


class OllamaToolLines:
    """A tool call as Ollama's NDJSON: the call whole in one line (fragments are not Ollama's way), then
    the `"done": true` line."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.started = time.perf_counter_ns()

    def tool_opening(self, answer: ToolAnswer) -> tuple[bytes, ...]:
        return ()

    def tool_fragment(self, answer: ToolAnswer, text: str) -> bytes:
        return b""

    def tool_closing(self, answer: ToolAnswer) -> tuple[bytes, ...]:
        return self.line(answer, done=False), self.last(answer, with_call=False)

    def line(self, answer: ToolAnswer, done: bool) -> bytes:
        call = {"function": {"name": answer.name, "arguments": json.loads(answer.arguments)}}
        message = {"role": "assistant", "content": "", "tool_calls": [call]}
        body = {"model": self.model, "created_at": ollama_wire.now(), "message": message, "done": done}
        return (_dumps(body) + "\n").encode()

    def last(self, answer: ToolAnswer, with_call: bool) -> bytes:
        """The `"done": true` line; with the call in it for a whole (non-streamed) answer."""
        message: dict[str, Any] = {"role": "assistant", "content": ""}
        if with_call:
            message["tool_calls"] = [{"function": {"name": answer.name, "arguments": json.loads(answer.arguments)}}]
        total = time.perf_counter_ns() - self.started
        stats = {
            "total_duration": total,
            "load_duration": 0,
            "prompt_eval_count": answer.prompt_tokens,
            "prompt_eval_duration": 0,
            "eval_count": answer.output_tokens,
            "eval_duration": total,
        }
        body = {"model": self.model, "created_at": ollama_wire.now(), "message": message, "done": True}
        return (_dumps({**body, "done_reason": "stop", **stats}) + "\n").encode()
