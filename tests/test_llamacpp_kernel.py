"""The real local model (llama.cpp, SmolLM2) streamed into the widget in a real kernel, and interrupted.

What crosses iopub is what the page draws: its token boundaries must be the model's tokens, and an
interrupt (the kernel's Stop) must stop the model itself, not only the view. Needs the `local` extra.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kernel_harness import KernelHarness
from local_model import SONG, require_local_extra
from test_magic_kernel import STREAM_WIDGET, final_state, opened_widget

pytestmark = pytest.mark.kernel

SETUP = """
from llmstream_nb import get_model
real = get_model("llamacpp:smollm2")
engine = real.load()
"""


@pytest.fixture(scope="module")
def kernel() -> Iterator[KernelHarness]:
    require_local_extra()
    with KernelHarness.start() as k:
        k.run("%load_ext llmstream_nb")
        k.run(SETUP)
        yield k


def test_the_widget_shows_the_models_tokens_with_their_probabilities(kernel: KernelHarness) -> None:
    since = len(kernel.iopub)
    kernel.run(
        f'%%llmstream -m llamacpp:smollm2 --sep "|" --color prob --logprobs --temperature 0 --max-tokens 20\n{SONG}'
    )
    comm = opened_widget(kernel, STREAM_WIDGET, since)
    state = final_state(kernel, comm, "done")
    pieces = [p for c in kernel.custom_messages(comm) for p in c.get("c", [])]
    assert len(pieces) >= 10 and "".join(pieces) == state["text"] == kernel.value("_llmstream.text")
    # Each piece the page got is exactly what its token ids decode to in the model's own vocabulary.
    decoded = kernel.value(
        "[engine.llm.detokenize(list(c.token_ids)).decode() for c in _llmstream.result().chunks if c.text]"
    )
    assert pieces == decoded
    assert kernel.value("all(c.logprob is not None for c in _llmstream.result().chunks if c.text)")


def test_an_interrupt_stops_the_model(kernel: KernelHarness) -> None:
    since = len(kernel.iopub)
    before = kernel.value("engine.generated_tokens")
    msg_id = kernel.submit(
        "%%llmstream -m llamacpp:smollm2 --temperature 1 --seed 3 --max-tokens 1000\n"
        "Tell me a very long story about a lighthouse keeper."
    )
    comm = opened_widget(kernel, STREAM_WIDGET, since)
    kernel.wait_for(
        lambda m: (
            m["msg_type"] == "comm_msg"
            and m["content"].get("comm_id") == comm
            and m["content"]["data"].get("method") == "custom"
        ),
        since=since,
    )
    kernel.interrupt()
    assert kernel.reply(msg_id)["content"]["status"] == "error"
    state = final_state(kernel, comm, "stopped")
    assert state["text"]
    # The generation thread lets go of the model once it stops: wait for that, then count its tokens.
    assert kernel.value("engine.lock.acquire(timeout=60) and (engine.lock.release() or True)")
    generated = kernel.value("engine.generated_tokens") - before
    shown = kernel.value("len([c for c in _llmstream.result().chunks if c.text])")
    assert generated <= shown + 8, (generated, shown)  # never the 1000 it was asked for
