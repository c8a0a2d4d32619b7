"""Where streaming Markdown cuts an answer into blocks (stream_markdown.js, run in Node): a complete
block is rendered once and never again, so a cut must never fall inside something Markdown reads as
one (a code fence, a $$ formula, a list item's indented continuation), and must not depend on how the
text arrived in tokens (a view drawn from saved state looks the same as the live one).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

MODULE = Path(__file__).resolve().parents[1] / "llmstream_nb" / "view" / "stream_markdown.js"

# Feeds each text to MarkdownBlocks in the given pieces; prints the blocks it cut and the open rest.
SCRIPT = """
import { MarkdownBlocks, keepMathDelimiters } from %s;
const cases = JSON.parse(process.argv[1]);
const out = cases.map(({ pieces, math }) => {
  if (math !== undefined) return keepMathDelimiters(math);
  const blocks = new MarkdownBlocks();
  let text = "";
  for (const piece of pieces) {
    text += piece;
    blocks.scan(text);
  }
  let start = 0;
  const cut = blocks.ends.map((end) => text.slice(start, (start = end)));
  return { cut, open: text.slice(start) };
});
console.log(JSON.stringify(out));
"""

ANSWER = (
    "# Title\n\nA paragraph\nof two lines.\n\n"
    "```python\ndef f():\n\n    return 1\n```\n\n"
    "- an item\n\n  its indented continuation\n- another\n\n"
    "$$\na = b\n\nc = d\n$$\n\n"
    "~~~\n``` not a close\n~~~\n"
    "After the fence.\n\n"
    "The last line, still open"
)
BLOCKS = [
    "# Title\n\n",
    "A paragraph\nof two lines.\n\n",
    "```python\ndef f():\n\n    return 1\n```\n\n",
    "- an item\n\n  its indented continuation\n- another\n\n",
    "$$\na = b\n\nc = d\n$$\n\n",
    "~~~\n``` not a close\n~~~\n",
    "After the fence.\n\n",
]


def node() -> str:
    """Node.js, or a skip (a failure in CI, as for the browser: the check must run there)."""
    found = shutil.which("node")
    if found is None:
        reason = "these tests run the page's module in Node.js (apt-get install nodejs)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and node is missing: {reason}", pytrace=False)
        pytest.skip(reason)
    return found


def run(cases: list[dict[str, object]]) -> list[object]:
    script = SCRIPT % json.dumps(MODULE.as_uri())
    done = subprocess.run(
        [node(), "--input-type=module", "-e", script, json.dumps(cases)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def pieces_of(text: str, seed: int) -> list[str]:
    """`text` cut at random places (a token stream's chunks are arbitrary)."""
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, len(text) // 3)))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]


def test_blocks_end_where_markdown_starts_afresh_and_never_inside_one() -> None:
    [result] = run([{"pieces": [ANSWER]}])
    assert result == {"cut": BLOCKS, "open": "The last line, still open"}


def test_the_cut_is_the_same_however_the_text_arrived() -> None:
    chunkings = [list(ANSWER)] + [pieces_of(ANSWER, seed) for seed in range(30)]
    results = run([{"pieces": pieces} for pieces in chunkings])
    for pieces, result in zip(chunkings, results):
        assert result == {"cut": BLOCKS, "open": "The last line, still open"}, pieces


def test_a_block_is_complete_once_the_next_line_begins_unindented() -> None:
    """The block before a line still being written is complete as soon as that line's first
    character shows it starts a new block; an indented first character keeps it open."""
    complete, open_item = run([{"pieces": ["Para.\n\n", "N"]}, {"pieces": ["- item\n\n", " "]}])
    assert complete == {"cut": ["Para.\n\n"], "open": "N"}
    assert open_item == {"cut": [], "open": "- item\n\n "}


def test_math_delimiters_survive_markdown_escapes_outside_code_only() -> None:
    text = "Inline \\(x\\) and \\[y\\], code `\\(z\\)`\n```\n\\(w\\)\n```\nafter \\(v\\)"
    [kept] = run([{"math": text}])
    assert kept == "Inline \\\\(x\\\\) and \\\\[y\\\\], code `\\(z\\)`\n```\n\\(w\\)\n```\nafter \\\\(v\\\\)"
