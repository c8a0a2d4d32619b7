"""The magic's help: one text for `%%llmstream?`, `%llmstream?` and `%llmstream help`.

The flags' part is generated from the parser, so the help cannot drift from what is parsed.
"""

from __future__ import annotations

from .arguments import PARSER

_INTRO = """\
%%llmstream: stream a language model's answer into the notebook, token by token.

    %%llmstream -m demo --sep "|"
    Tell me about {topic} in two sentences.

The cell body is the prompt. {name}, {name.attr} and {name[key]} (with !r and :format specs)
are filled from the notebook's variables; nothing else is evaluated, so {len(x)} or
{__import__('os')} are refused. {{ and }} are literal braces; --raw sends the cell as it is.
"""

_DETAILS = """
The model: -m, else the configured default (%llmstream config model=...), else
$LLMSTREAM_MODEL, else the offline demo. `%llmstream models` lists providers and models.

Model options say how a model is built (the demo's ttft, tokens_per_second and jitter; an
HTTP provider's base_url, ...): --opt KEY=VALUE on the cell, on top of the configured
model_options. For an instant demo in every cell:

    %llmstream config model=demo model_options='{"ttft": 0, "tokens_per_second": 0}'

Models are kept between cells, one per (model, options), so HTTP connections are reused.

Several -m (-m demo -m openai:gpt-4o-mini) stream the same prompt from each model at once,
in columns, each with its own stats, and a summary table (first token, finish, tokens/s,
chunks) once all have ended; the result is a Comparison (.views, .summary()). --speed 0.25
shows any stream, live or replayed, four times slower (the view's times are the slowed ones).

The result is the view itself: `_llmstream` always holds the last cell's view, and -o NAME
stores it in NAME too. It has .text, .chunks, .stats, .error, .result() (a Completion) and
.stop(). Blocking or --async alike: with --async the cell returns at once and .text keeps
growing while the answer streams; `await _llmstream` waits for the end. --no-stream waits
for the whole answer (invoke) and shows it as one chunk: "waiting" next to "streaming".
Stop a blocking cell with the kernel's interrupt (a running cell handles no button click),
an --async one with the view's Stop button: either way the text so far stays. A terminal
IPython runs no event loop between cells, so there --async runs blocking.

Conversations: --chat (-c NAME) sends the cell with the earlier exchanges of the conversation
(NAME, default "default"), made on first use with the cell's model and --system; a later -m
or --system changes them from that turn on. Re-running a cell replaces its own exchange
(answered with the ones before it), so the conversation reads as the notebook shows it.
Answers render as Markdown (--text: plain); the header says which conversation and turn.
`_llmstream.chat` is the Chat (.messages, .undo(), .save(path)); a stopped or failed answer
is kept as far as it got, marked so. `%config LLMStreamMagics.max_history = N` sends only
the last N exchanges (the header says how many were left out).

Line magic:
  %llmstream chats                 the conversations: name, model, turns
  %llmstream reset [NAME]          forget a conversation (default: default)
  %llmstream models [--offline]    providers, whether each has its key (never the key
                                   itself), and their models (--offline: ask no server)
  %llmstream config                the current defaults
  %llmstream config key=value ...  set defaults: model, model_options, sep, markdown, tint,
                                   async, system, temperature, max_tokens, seed,
                                   max_history;
                                   key=none clears one, `config reset` clears all
  %llmstream help                  this text

The defaults are traitlets too: %config LLMStreamMagics.temperature = 0.2
(or c.LLMStreamMagics.temperature = 0.2 in ipython_config.py).
"""


def help_text() -> str:
    """Intro, the generated usage and flags, then models, results and the line magic."""
    return _INTRO + "\n" + PARSER.format_help() + _DETAILS
