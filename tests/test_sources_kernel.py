"""The LangChain fakes and SDK streams display live in the widget, in a real kernel.

What crosses iopub is what a browser would draw: the deltas of each foreign source must
add up to the text the view holds, and `%%llmstream --llm NAME` must run a LangChain fake
and one of our own models from the notebook's variables, or say in one line why not.
Helpers come from tests/test_magic_kernel.py; one kernel serves the module.
"""

from __future__ import annotations

import ast
from typing import Any, Iterator

import pytest
from kernel_harness import KernelHarness
from test_magic_kernel import EVENTS_WIDGET, STREAM_WIDGET, deltas, errors_and_stderr, final_state, opened_widget

pytestmark = pytest.mark.kernel

ANSWER = "Tea is a calm drink, brewed slowly."
SETUP = f"""
import itertools
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from llmstream_nb import Chunk, Model, StreamView, show

chat_model = GenericFakeChatModel(messages=itertools.cycle([{ANSWER!r}]))
chain = ChatPromptTemplate.from_template("Tell me about {{topic}}") | chat_model | StrOutputParser()

class Echo(Model):
    '''One of our own models, with no SDK behind it: the prompt back, word by word.'''
    provider = "echo"
    default_model = "words"

    def _stream_chunks(self, request):
        for word in request.last_user_text.split():
            yield Chunk(word + " ")

echo = Echo()
not_a_model = 42
"""


@pytest.fixture(scope="module")
def kernel() -> Iterator[KernelHarness]:
    with KernelHarness.start() as k:
        k.run("%load_ext llmstream_nb")
        k.run(SETUP)
        yield k


def shown(kernel: KernelHarness, code: str) -> tuple[str, dict[str, Any]]:
    """Run a cell that shows one stream; its widget's comm and final state once done."""
    since = len(kernel.iopub)
    kernel.run(code)
    comm = opened_widget(kernel, STREAM_WIDGET, since)
    return comm, final_state(kernel, comm, "done")


def test_a_langchain_chat_models_stream(kernel: KernelHarness) -> None:
    comm, state = shown(kernel, 'view = show(chat_model.stream("Tell me about tea."))')
    assert "".join(deltas(kernel, comm)) == kernel.value("view.text") == state["text"] == ANSWER


def test_an_openai_sdk_stream_from_the_local_server(kernel: KernelHarness, llm_server: Any) -> None:
    comm, state = shown(
        kernel,
        f"""
import openai
client = openai.OpenAI(base_url={llm_server.base_url!r}, api_key="sk-test", max_retries=0)
view = show(client.chat.completions.create(
    model="demo", messages=[{{"role": "user", "content": "Tell me about tea."}}], stream=True, max_tokens=20, seed=1))
""",
    )
    text = kernel.value("view.text")
    assert text and "".join(deltas(kernel, comm)) == text == state["text"]
    assert kernel.value("view.model_name") == "demo"  # the SDK's chunks name the model


def test_an_unentered_anthropic_message_stream_with_thinking_runs_async(kernel: KernelHarness, llm_server: Any) -> None:
    """`client.messages.stream(...)` is a context manager, not an iterable: start() once called
    iter() on it. Its thinking arrives as reasoning beside the answer, and its usage reaches the view."""
    pytest.importorskip("llmstream_nb.server.anthropic_routes")
    base_url = llm_server.base_url.removesuffix("/v1")
    comm, state = shown(
        kernel,
        f"""
import anthropic
client = anthropic.Anthropic(base_url={base_url!r}, api_key="sk-ant-test", max_retries=0)
view = show(client.messages.stream(
    model="demo", max_tokens=2048, thinking={{"type": "enabled", "budget_tokens": 1024}},
    messages=[{{"role": "user", "content": "Tell me about tea."}}]), async_=True)
""",
    )
    mode, text, reasoning, usage = kernel.value("[view.mode, view.text, view.reasoning, view.result().usage.to_dict()]")
    assert mode == "async" and text and reasoning
    assert "".join(deltas(kernel, comm)) == text == state["text"]
    assert "".join(m.get("r", "") for m in kernel.custom_messages(comm)) == reasoning == state["reasoning"]
    assert usage["prompt_tokens"] and usage["completion_tokens"]


def test_show_a_langchain_model_with_a_prompt(kernel: KernelHarness) -> None:
    comm, state = shown(kernel, 'view = show(chat_model, "Tell me about tea.")')
    assert "".join(deltas(kernel, comm)) == state["text"] == ANSWER
    assert kernel.value("view.model_name") == "langchain:GenericFakeChatModel"


@pytest.mark.parametrize("begin", ["run", "start"])
def test_a_model_given_as_a_stream_is_one_line_in_either_mode(kernel: KernelHarness, begin: str) -> None:
    msg_id = kernel.submit(f"StreamView(chat_model).{begin}()")
    reply = kernel.reply(msg_id)["content"]
    assert (reply["status"], reply["ename"]) == ("error", "TypeError")
    assert reply["evalue"] == "a GenericFakeChatModel is a model, not a stream: pass its .stream(prompt)"
    kernel.value("1")  # the cell has ended: everything it sent is in
    assert not [m for m in kernel.messages_of(msg_id) if m["msg_type"] == "comm_open"]  # nothing drawn


@pytest.mark.parametrize("mode", ["", " --async"])
def test_llm_runs_a_langchain_fake(kernel: KernelHarness, mode: str) -> None:
    comm, state = shown(kernel, f"%%llmstream --llm chat_model{mode}\nTell me about tea.")
    assert "".join(deltas(kernel, comm)) == state["text"] == ANSWER
    assert kernel.value("_llmstream.model_name") == "langchain:GenericFakeChatModel"


def test_llm_runs_our_own_sdk_free_model(kernel: KernelHarness) -> None:
    comm, state = shown(kernel, "%%llmstream --llm echo\nsmall steps add up")
    assert "".join(deltas(kernel, comm)) == state["text"] == "small steps add up "
    assert kernel.value("_llmstream.model_name") == "echo:words"


def test_llm_events_of_a_chain_show_nested_runs(kernel: KernelHarness) -> None:
    since = len(kernel.iopub)
    kernel.run("%%llmstream --llm chain --events\ntea")
    answer = opened_widget(kernel, STREAM_WIDGET, since)
    table = opened_widget(kernel, EVENTS_WIDGET, since)
    assert final_state(kernel, answer, "done")["text"] == ANSWER
    rows = final_state(kernel, table, "done")["rows"]
    depth = {row[2]: row[6] for row in rows}  # [#, event, name, run, text, ms, depth, parent, run id]
    assert depth["RunnableSequence"] == 0 and depth["GenericFakeChatModel"] == 1  # the model nested in the chain
    chain_run = next(row[3] for row in rows if row[2] == "RunnableSequence")
    nested = [row for row in rows if row[1] == "on_chat_model_stream"]
    assert nested and all(row[7] == chain_run for row in nested)  # each chunk's run names the chain as parent
    root = "".join(ast.literal_eval(row[4]) for row in rows if row[1] == "on_chain_stream")
    assert root == ANSWER == "".join(deltas(kernel, answer))


@pytest.mark.parametrize(
    ("cell", "line"),
    [
        ("%%llmstream --llm missing_model\nhi", "llmstream: --llm missing_model: there is no variable 'missing_model'"),
        ("%%llmstream --llm not_a_model\nhi", "llmstream: --llm not_a_model: a int is not a model"),
    ],
)
def test_llm_mistakes_are_one_line(kernel: KernelHarness, cell: str, line: str) -> None:
    messages = kernel.run(cell)
    errors, stderr = errors_and_stderr(messages)
    assert errors == []
    assert stderr.count("\n") == 1 and stderr.startswith(line)
    assert not [m for m in messages if m["msg_type"] == "comm_open"]
