"""The OpenAI Responses API wire format going out: response objects and their SSE events. Only bytes here.

Shapes follow https://platform.openai.com/docs/api-reference/responses closely enough for the official
`openai` SDK (`client.responses.create(stream=True)` and `client.responses.stream(...)`, which rebuilds
the response from the events and checks their indexes) and our own client. Each event is
`event: <type>` then `data: <json>` whose `type` repeats the name and whose `sequence_number` counts from 0.
The text delta, sent once per token, is built from a template, as on the other routes.
"""

from __future__ import annotations

import json
import secrets
from json.encoder import encode_basestring as _quote  # str -> JSON string literal, non-ASCII kept as is
from typing import Any

from ..chunks import Chunk
from .openai_wire import SERVER_ERROR_MESSAGE, chat_logprob

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def usage(input_tokens: int, output_tokens: int, reasoning_tokens: int = 0) -> dict[str, Any]:
    """The Responses API's usage object: reasoning tokens are counted in `output_tokens` too."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


#: One token's logprob with its alternatives: `output_text` parts and deltas carry them as chat's `logprobs.content`.
logprob_entry = chat_logprob


def message_item(item_id: str, text: str, logprobs: list[dict[str, Any]], status: str = "completed") -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": logprobs}
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": [part]}


def reasoning_item(item_id: str, summary: str | None) -> dict[str, Any]:
    parts = [] if summary is None else [{"type": "summary_text", "text": summary}]
    return {"id": item_id, "type": "reasoning", "summary": parts}


def finish_fields(finish_reason: str | None) -> dict[str, Any]:
    """A response's `status` and `incomplete_details`: cut by the token limit is `incomplete`."""
    if finish_reason == "length":
        return {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}
    return {"status": "completed", "incomplete_details": None}


def response_object(
    id: str,
    created: int,
    model: str,
    echo: dict[str, Any],
    *,
    status: str = "in_progress",
    output: list[dict[str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    incomplete_details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `response` object, with the request's settings echoed as the real API does."""
    return {
        "id": id,
        "object": "response",
        "created_at": created,
        "status": status,
        "error": error,
        "incomplete_details": incomplete_details,
        "instructions": echo.get("instructions"),
        "max_output_tokens": echo.get("max_output_tokens"),
        "model": model,
        "output": output or [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": echo.get("reasoning") or {"effort": None, "summary": None},
        "store": False,
        "temperature": echo.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": echo.get("tool_choice", "auto"),
        "tools": echo.get("tools", []),
        "top_logprobs": echo.get("top_logprobs", 0),
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "metadata": {},
    }


def whole_response(
    id: str,
    created: int,
    model: str,
    echo: dict[str, Any],
    thinking: str | None,
    text: str,
    finish_reason: str | None,
    usage: dict[str, Any],
    logprobs: list[Chunk] | None,
) -> bytes:
    """A whole (non-streamed) `response`: a reasoning item if there was thinking, then the message."""
    output = [] if thinking is None else [reasoning_item(new_id("rs"), thinking)]
    entries = [logprob_entry(c) for c in logprobs or ()]
    output.append(message_item(new_id("msg"), text, entries))
    body = response_object(id, created, model, echo, output=output, usage=usage, **finish_fields(finish_reason))
    return _dumps(body).encode()


class ResponseFrames:
    """The SSE events of one streamed response: the `StreamEncoder` (and `ThinkingEncoder`) of
    `/v1/responses`. With `thinking`, a reasoning item with a summary comes before the message."""

    def __init__(
        self, id: str, created: int, model: str, echo: dict[str, Any], *, logprobs: bool, thinking: bool = False
    ) -> None:
        self.id, self.created, self.model, self.echo = id, created, model, echo
        self.logprobs = logprobs
        self.thinking = thinking
        self.sequence = 0
        self.output: list[dict[str, Any]] = []
        self._texts: list[str] = []
        self._entries: list[dict[str, Any]] = []
        self._thoughts: list[str] = []
        self._reasoning_id = new_id("rs")
        self._message_id = new_id("msg")
        self._delta_head = ""

    def event(self, payload: dict[str, Any]) -> bytes:
        """One SSE event: its `type` as the event name, the payload (numbered) as its data."""
        payload["sequence_number"] = self.sequence
        self.sequence += 1
        return f"event: {payload['type']}\ndata: {_dumps(payload)}\n\n".encode()

    def _response(self, **fields: Any) -> dict[str, Any]:
        return response_object(self.id, self.created, self.model, self.echo, **fields)

    def opening(self) -> tuple[bytes, ...]:
        created = self.event({"type": "response.created", "response": self._response()})
        progress = self.event({"type": "response.in_progress", "response": self._response()})
        if not self.thinking:
            return (created, progress, *self._open_message())
        item = reasoning_item(self._reasoning_id, None)
        added = self.event({"type": "response.output_item.added", "output_index": 0, "item": item})
        part = self.event(
            {
                "type": "response.reasoning_summary_part.added",
                "item_id": self._reasoning_id,
                "output_index": 0,
                "summary_index": 0,
                "part": {"type": "summary_text", "text": ""},
            }
        )
        return created, progress, added, part

    def _open_message(self) -> tuple[bytes, ...]:
        index = len(self.output)
        item = message_item(self._message_id, "", [], status="in_progress")
        item["content"] = []
        added = self.event({"type": "response.output_item.added", "output_index": index, "item": item})
        part = self.event(
            {
                "type": "response.content_part.added",
                "item_id": self._message_id,
                "output_index": index,
                "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
            }
        )
        self._delta_head = (
            'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
            f'"item_id":"{self._message_id}","output_index":{index},"content_index":0,"delta":'
        )
        return added, part

    def token(self, chunk: Chunk) -> bytes:
        self._texts.append(chunk.text)
        entries = "[]"
        if self.logprobs:
            entry = logprob_entry(chunk)
            self._entries.append(entry)
            entries = "[" + _dumps(entry) + "]"
        sequence = self.sequence
        self.sequence += 1
        return (
            f'{self._delta_head}{_quote(chunk.text)},"logprobs":{entries},"sequence_number":{sequence}}}\n\n'.encode()
        )

    def finish(self, reason: str) -> bytes:
        return b""  # the status goes in the terminal event, at the end

    def reasoning(self, text: str) -> bytes:
        self._thoughts.append(text)
        return self.event(
            {
                "type": "response.reasoning_summary_text.delta",
                "item_id": self._reasoning_id,
                "output_index": 0,
                "summary_index": 0,
                "delta": text,
            }
        )

    def end_reasoning(self) -> tuple[bytes, ...]:
        """The summary's end, the reasoning item's end, and the message item's start."""
        summary = "".join(self._thoughts)
        where = {"item_id": self._reasoning_id, "output_index": 0, "summary_index": 0}
        text_done = self.event({"type": "response.reasoning_summary_text.done", **where, "text": summary})
        part = {"type": "summary_text", "text": summary}
        part_done = self.event({"type": "response.reasoning_summary_part.done", **where, "part": part})
        item = reasoning_item(self._reasoning_id, summary)
        self.output.append(item)
        item_done = self.event({"type": "response.output_item.done", "output_index": 0, "item": item})
        return (text_done, part_done, item_done, *self._open_message())

    def closing(self, finish_reason: str | None, usage: dict[str, Any]) -> tuple[bytes, ...]:
        """The text's, part's and item's ends, then `response.completed` (or `response.incomplete`) with usage."""
        text = "".join(self._texts)
        index = len(self.output)
        where = {"item_id": self._message_id, "output_index": index, "content_index": 0}
        text_done = self.event({"type": "response.output_text.done", **where, "text": text, "logprobs": self._entries})
        item = message_item(self._message_id, text, self._entries)
        part_done = self.event({"type": "response.content_part.done", **where, "part": item["content"][0]})
        self.output.append(item)
        item_done = self.event({"type": "response.output_item.done", "output_index": index, "item": item})
        fields = finish_fields(finish_reason)
        kind = "response.completed" if fields["status"] == "completed" else "response.incomplete"
        response = self._response(output=self.output, usage=usage, **fields)
        return text_done, part_done, item_done, self.event({"type": kind, "response": response})

    def malformed(self) -> bytes:
        """A delta cut off mid-JSON, as a broken proxy or a truncated write would leave it."""
        return (self._delta_head + '"\n\n').encode()

    def error(self, injected: bool) -> bytes:
        """`response.failed`, as the API reports a response that broke down midway."""
        error = {"code": "server_error", "message": SERVER_ERROR_MESSAGE}
        return self.event({"type": "response.failed", "response": self._response(status="failed", error=error)})
