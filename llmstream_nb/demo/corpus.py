"""The packaged corpus: original verse and prose, parsed into passages.

Each passage starts with a header line ``# <form> | <title> | <keywords, comma-separated>`` and runs
until the next header. The model trains on the passage text; retrieval also uses title and keywords.
Files are read in name order so that everything learned from them is the same in every process.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
FORMS = ("verse", "prose")


@dataclass(slots=True, frozen=True)
class Passage:
    """One poem or one short prose piece, with the header that describes it."""

    form: str
    title: str
    keywords: tuple[str, ...]
    text: str
    source: str


def corpus_files(directory: Path | None = None) -> list[Path]:
    """The ``*.txt`` files of the corpus, sorted by name (the order matters for determinism)."""
    return sorted((directory or CORPUS_DIR).glob("*.txt"))


def parse_passages(text: str, source: str = "") -> list[Passage]:
    """Split one corpus file into passages; lines before the first header are ignored."""
    passages: list[Passage] = []
    header: str | None = None
    body: list[str] = []

    def flush() -> None:
        if header is None:
            return
        passage = _make_passage(header, "\n".join(body), source)
        if passage is not None:
            passages.append(passage)

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.startswith("# ") and line.count("|") >= 1:
            flush()
            header, body = line[2:], []
        elif header is not None:
            body.append(line.rstrip())
    flush()
    return passages


def _make_passage(header: str, body: str, source: str) -> Passage | None:
    parts = [part.strip() for part in header.split("|")]
    form = parts[0].lower()
    if form not in FORMS:
        form = "verse" if form in ("poem", "song", "poetry") else "prose"
    title = parts[1] if len(parts) > 1 else ""
    keywords = tuple(k.strip() for k in parts[2].split(",") if k.strip()) if len(parts) > 2 else ()
    text = _normalise_body(body)
    if not text:
        return None
    return Passage(form, title, keywords, text, source)


def _normalise_body(body: str) -> str:
    """Trim the passage and collapse runs of blank lines to one, so stanza breaks are always ``\\n\\n``."""
    lines = body.strip("\n").split("\n")
    kept: list[str] = []
    for line in lines:
        if not line.strip():
            if kept and kept[-1] != "":
                kept.append("")
        else:
            kept.append(line)
    return "\n".join(kept).strip()


def load_passages(directory: Path | None = None) -> list[Passage]:
    """Every passage of every corpus file, in file then position order."""
    passages: list[Passage] = []
    for path in corpus_files(directory):
        passages.extend(parse_passages(path.read_text(encoding="utf-8"), path.name))
    return passages


def corpus_fingerprint(directory: Path | None = None) -> str:
    """A short hash of the corpus files' names and bytes (to key caches of anything trained on them)."""
    digest = hashlib.sha256()
    for path in corpus_files(directory):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
