// The page side of StreamWidget (widget.py documents the wire format).
//
// Model output is text, never markup: the answer, the reasoning, the model name, the error
// and the stats are only ever written with text nodes / textContent, never innerHTML. The
// one exception is markdown=True, rendered by JupyterLab's sanitiser and then stripped of
// everything that would fetch something (stream_markdown.js). The reasoning never is.
//
// One "live" record per widget model holds what the deltas have brought; every view of the
// model draws from it, so a view rendered late (or twice) still shows the whole answer.
// anywidget holds comm messages until `initialize` has run, so no delta is missed before it;
// a model re-created mid-stream (page reload) asks the kernel for the text so far ("sync").

import { markdownFlow } from "./stream_markdown.js";
import { watchOffscreen } from "./stream_offscreen.js";

const ACTIVE = new Set(["waiting", "streaming"]);

// A blocking cell keeps the kernel busy, and ipykernel handles no button click until it
// ends: such a view offers no Stop button (it could not work) but this hint in its place.
const STOP_TIP = "Stop the stream (keeps the text so far)";
// A reasoning model's thinking sits above the answer, dimmed, in a <details> of its own.
const THINKING = "Thinking\u2026";
const THOUGHT = "Thinking";
const INTERRUPT_HINT = "Interrupt the kernel (\u25a0) to stop";
const COPY_TIP = "Copy the answer's text";
const COPY_CHAT_TIP = "Copy the whole conversation as Markdown";
const COPIED = "Copied";
const EXPAND = "Show all";
const COLLAPSE = "Show less";
const INTERRUPT_TIP =
  "This cell keeps the kernel busy until the stream ends, so a button could not stop it: " +
  "Kernel \u2192 Interrupt (\u25a0) stops it and keeps the text so far";

// -- the live record ----------------------------------------------------------------------

// The teaching features (inspector, probability colour, timeline) need each token's metadata.
function metadataOn(model) {
  return Boolean(model.get("inspect")) || Boolean(model.get("color")) || Boolean(model.get("timeline"));
}

function usesBoundaries(model) {
  return Boolean(model.get("sep")) || Boolean(model.get("tint")) || metadataOn(model);
}

// Split the final text into its tokens with the UTF-16 end offsets the kernel saved.
function piecesFromState(model) {
  const text = model.get("text") || "";
  const offsets = model.get("offsets") || [];
  if (!usesBoundaries(model) || offsets.length === 0) return text ? [text] : [];
  const pieces = [];
  let start = 0;
  for (const end of offsets) {
    pieces.push(text.slice(start, end));
    start = end;
  }
  if (start < text.length) pieces.push(text.slice(start));
  return pieces;
}

function createLive(model) {
  return {
    text: model.get("text") || "",
    pieces: piecesFromState(model), // kept in boundary mode only
    meta: (model.get("meta") || []).slice(), // [t, lp, top?] per piece, when a teaching feature is on
    anyProbability: (model.get("meta") || []).some(hasLogprob), // whether any token has a logprob
    reasoning: model.get("reasoning") || "",
    stats: null, // [chunks, ttft, tokens_per_second, elapsed] from the last delta
    keys: { index: 0, handOver: 0 }, // the tokens' tab stop, shared by the views (TokenKeys)
    scroll: { stick: true, top: 0, followed: 0, expanded: false }, // where the reader is in the answer's box
    views: new Set(),
  };
}

// Apply one delta message; returns false for messages that are not ours.
function applyDelta(live, msg, boundaries) {
  const hasText = typeof msg.d === "string";
  const hasChunks = Array.isArray(msg.c);
  const hasReasoning = typeof msg.r === "string";
  if (!hasText && !hasChunks && !hasReasoning) return false;
  if (msg.reset) {
    live.text = "";
    live.pieces = [];
    live.meta = [];
    live.reasoning = "";
    live.anyProbability = false;
  }
  if (Array.isArray(msg.m)) {
    for (const entry of msg.m) {
      live.meta.push(entry);
      if (hasLogprob(entry)) live.anyProbability = true;
    }
  }
  if (hasReasoning) live.reasoning += msg.r;
  if (hasText) live.text += msg.d;
  if (hasChunks) {
    const chunks = msg.c.map(String);
    live.text += chunks.join("");
    if (boundaries) for (const chunk of chunks) live.pieces.push(chunk);
  }
  if (Array.isArray(msg.s)) live.stats = msg.s;
  return true;
}

// The final `text` and `reasoning` state is authoritative: redraw only if the deltas did not add up to it.
// A long text still being inflated from `text_z` leaves what the deltas built.
function adoptState(live, model) {
  const text = model.get("text") || (hasPackedText(model) ? live.text : "");
  const reasoning = model.get("reasoning") || "";
  const meta = model.get("meta") || [];
  const metaNews = meta.length > 0 && meta.length !== live.meta.length;
  if (text === live.text && reasoning === live.reasoning && !metaNews) return false;
  live.text = text;
  live.pieces = piecesFromState(model);
  live.reasoning = reasoning;
  if (meta.length > 0) live.meta = meta.slice();
  live.anyProbability = live.meta.some(hasLogprob);
  return true;
}

// A long final text comes zlib-compressed in `text_z` (widget.py): inflated into `text`, on this page only.
function hasPackedText(model) {
  const packed = model.get("text_z");
  return Boolean(packed && packed.byteLength);
}

async function inflateText(model) {
  if (!hasPackedText(model) || model.get("text")) return;
  const packed = model.get("text_z");
  const bytes = ArrayBuffer.isView(packed)
    ? new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength)
    : new Uint8Array(packed);
  const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  model.set("text", await new Response(inflated).text());
}

// -- drawing ------------------------------------------------------------------------------

function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

let inspectorIds = 0;

function buildDom(el) {
  const root = element("div", "llmstream-view");
  const header = element("div", "llmstream-header");
  const dom = {
    root,
    model: element("span", "llmstream-model"),
    status: element("span", "llmstream-status"),
    stop: element("button", "llmstream-stop", "Stop"),
    hint: element("span", "llmstream-hint"),
    thinking: element("details", "llmstream-thinking"),
    thinkingLabel: element("summary", "llmstream-thinking-label", THINKING),
    reasoning: element("div", "llmstream-reasoning"),
    copy: element("button", "llmstream-copy", "Copy"),
    copyChat: element("button", "llmstream-copy-chat", "Copy chat"),
    body: element("div", "llmstream-body"),
    content: element("div", "llmstream-content"),
    text: element("div", "llmstream-text"),
    markdown: element("div", "llmstream-markdown"),
    expand: element("button", "llmstream-expand", EXPAND),
    error: element("div", "llmstream-error"),
    stats: element("div", "llmstream-stats"),
    legend: element("div", "llmstream-legend"),
    timeline: element("div", "llmstream-timeline"),
    inspector: element("div", "llmstream-inspector"),
  };
  dom.legend.hidden = true;
  dom.timeline.hidden = true;
  dom.inspector.hidden = true;
  dom.inspector.setAttribute("role", "tooltip");
  dom.inspector.id = `llmstream-inspector-${++inspectorIds}`;
  dom.stop.type = "button";
  dom.stop.title = STOP_TIP;
  dom.stop.hidden = true;
  dom.hint.textContent = INTERRUPT_HINT;
  dom.hint.title = INTERRUPT_TIP;
  dom.hint.hidden = true;
  dom.markdown.hidden = true;
  dom.thinking.hidden = true; // until reasoning arrives
  dom.thinking.append(dom.thinkingLabel, dom.reasoning);
  for (const button of [dom.copy, dom.copyChat, dom.expand]) {
    button.type = "button";
    button.hidden = true;
  }
  dom.copy.title = COPY_TIP;
  dom.copyChat.title = COPY_CHAT_TIP;
  dom.expand.setAttribute("aria-expanded", "false");
  dom.error.hidden = true;
  dom.error.setAttribute("role", "alert");
  dom.content.append(dom.text, dom.markdown);
  dom.body.append(dom.content);
  const actions = element("span", "llmstream-actions");
  actions.append(dom.stop, dom.hint, dom.copy, dom.copyChat);
  header.append(dom.model, dom.status, actions);
  // The inspector is not in the view: it is shown on the page's body (see showInspector).
  root.append(header, dom.thinking, dom.legend, dom.body, dom.expand, dom.error, dom.timeline, dom.stats);
  el.appendChild(root);
  return dom;
}

// Token spans only where boundaries are asked for; plain mode appends bare text nodes.
// `features` ({inspect, prob}) and `meta` ([t, lp, top?]) add focusability and a probability tint.
// An inspectable token is focusable but out of the tab order (tabIndex -1): the token area is
// one tab stop whose token holding tabIndex 0 moves with the arrow keys (see TokenKeys).
function tokenNode(text, index, tint, features, meta) {
  const span = element("span", "llmstream-token", text);
  if (tint) span.classList.add(index % 2 ? "llmstream-tint-1" : "llmstream-tint-0");
  if (features && features.inspect) {
    span.dataset.index = String(index);
    span.tabIndex = -1;
  }
  if (features && features.prob && meta && typeof meta[1] === "number") {
    span.classList.add(`llmstream-p${probabilityBin(Math.exp(meta[1]))}`);
  }
  return span;
}

function sepNode(sep) {
  const marker = element("span", "llmstream-sep", sep);
  marker.setAttribute("aria-hidden", "true");
  return marker;
}

// -- text that grows: paragraphs, and token runs drawn near the viewport only ----------------
//
// Measured (bench section 7, Chrome trace): what a long answer costs the page is style, layout
// and paint, not script. Two things keep an update's cost to what it adds:
// - Paragraphs. Appending to one long block lays out all of it again, so the text is split into
//   blocks (div.llmstream-para) after a newline, once a block holds PARAGRAPH characters. A block
//   ending in a newline draws exactly as the same text in one block (white-space: pre-wrap), and
//   its textContent (and a selection's text) is the same.
// - Token runs. Token views draw RUN tokens per span.llmstream-run. A run far from the viewport
//   (an IntersectionObserver's margin away) holds its text as one text node, separators
//   included; coming near, it is drawn as token spans again (hover, keys, colours as ever). The
//   run still being written (while near the viewport), the keyboard's tab stop's and the inspected
//   token's stay drawn.
//   At most EAGER new tokens are drawn as spans at once; more (a redraw) start folded.
const PARAGRAPH = 2000; // characters before a newline closes a paragraph
const RUN = 64; // tokens per run
const EAGER = 1024; // tokens drawn as spans without waiting for the viewport
const NEAR = "400px 0px"; // how far outside the viewport a run is still drawn as tokens

function paragraph() {
  return element("div", "llmstream-para");
}

// Plain text (the answer without boundaries, or the reasoning), appended to in place.
class TextFlow {
  constructor(host) {
    this.host = host;
    this.clear();
  }

  clear() {
    this.host.replaceChildren();
    this.node = null; // the last paragraph's text node
    this.length = 0; // its length
    this.closed = true; // whether the next text starts a new paragraph
  }

  append(text) {
    let from = 0;
    while (from < text.length) {
      if (this.closed) {
        const block = paragraph();
        this.node = document.createTextNode("");
        block.appendChild(this.node);
        this.host.appendChild(block);
        this.length = 0;
        this.closed = false;
      }
      const newline = text.indexOf("\n", from + Math.max(0, PARAGRAPH - this.length - 1));
      const end = newline < 0 ? text.length : newline + 1;
      this.node.appendData(from === 0 && end === text.length ? text : text.slice(from, end));
      this.length += end - from;
      this.closed = newline >= 0;
      from = end;
    }
  }
}

// Token spans (sep, tint, inspect, colour, timeline) in runs, drawn near the viewport only.
class TokenFlow {
  // `draw(index)` makes token `index`'s span; `sep` goes between tokens (sepBefore); `texts()` is every token's text.
  constructor(host, sep, draw, texts) {
    this.host = host;
    this.sep = sep;
    this.draw = draw;
    this.texts = texts;
    this.pinned = () => []; // indexes whose run must stay drawn (the tab stop, the inspected token)
    this.of = new WeakMap(); // run or block element -> its record
    // Two observers: one for the blocks, one for the runs of blocks near the viewport (and the run
    // being written). An observer's work each frame grows with its targets: watching every run of a
    // 100,000-token answer took 2.7 s of the main thread over its 5 s stream (bench section 7's trace).
    const watch = (callback) =>
      typeof IntersectionObserver === "function"
        ? new IntersectionObserver(callback, { rootMargin: NEAR, scrollMargin: NEAR })
        : null;
    this.observer = watch((entries) => this.onView(entries));
    this.blocks = watch((entries) => this.onBlocks(entries));
    this.reset();
  }

  reset() {
    if (this.observer) this.observer.disconnect();
    if (this.blocks) this.blocks.disconnect();
    this.host.replaceChildren();
    this.runs = []; // {el, first, count, spans (null when folded), block}, in order
    this.total = 0;
    this.block = null; // the paragraph being written
    this.blockLength = 0;
    this.open = null; // the run being written
    this.near = true; // whether the run being written is near the viewport (until the observer says)
  }

  count() {
    return this.total;
  }

  // The separator drawn before token `index`: between tokens only, so it never ends the answer, and
  // not after a line break, so it never starts a line ("" where there is none).
  sepBefore(index, texts = this.texts()) {
    if (!this.sep || index === 0) return "";
    return texts[index - 1].endsWith("\n") ? "" : this.sep;
  }

  // `pieces` are the texts of tokens this.total, this.total + 1, ...; `eager` draws them as spans
  // (new runs only where the run being written is near the viewport: a long answer's end out of
  // sight costs a text node's append, until it comes into view).
  append(pieces, eager = true) {
    // What the run being written gets, written to the page once per run: spans, or its folded text.
    let fragment = null;
    let folded = "";
    const flush = () => {
      if (this.open && fragment) this.open.el.appendChild(fragment);
      if (this.open && folded) this.open.el.firstChild.appendData(folded);
      fragment = null;
      folded = "";
    };
    for (const text of pieces) {
      if (!this.open) {
        flush();
        this.start(eager && this.near);
      }
      const run = this.open;
      const sep = this.sepBefore(this.total);
      if (run.spans) {
        fragment = fragment || document.createDocumentFragment();
        const span = this.draw(this.total);
        run.spans.push(span);
        if (sep) fragment.appendChild(sepNode(sep));
        fragment.appendChild(span);
      } else {
        folded += sep + text;
      }
      run.count++;
      this.total++;
      this.blockLength += text.length;
      const endsBlock = this.blockLength >= PARAGRAPH && text.endsWith("\n");
      if (endsBlock) this.block = null; // (its runs stay watched while it is near)
      if (endsBlock || run.count >= RUN) {
        flush();
        this.close();
      }
    }
    flush();
  }

  start(eager) {
    if (!this.block) {
      this.block = { el: paragraph(), runs: [], near: true };
      this.of.set(this.block.el, this.block);
      this.blockLength = 0;
      this.host.appendChild(this.block.el);
      if (this.blocks) this.blocks.observe(this.block.el);
    }
    const el = element("span", "llmstream-run");
    if (!eager) el.appendChild(document.createTextNode(""));
    const run = { el, first: this.total, count: 0, spans: eager ? [] : null, block: this.block };
    this.of.set(el, run);
    this.runs.push(run);
    this.block.runs.push(run);
    this.block.el.appendChild(el);
    this.open = run;
    if (this.observer) this.observer.observe(el);
  }

  close() {
    const run = this.open;
    this.open = null;
    if (run && !run.block.near) this.forget(run);
  }

  // A run of a block away from the viewport: folded, and no longer watched (its block is).
  forget(run) {
    if (this.observer) this.observer.unobserve(run.el);
    this.fold(run, this.texts());
  }

  // The run holding token `index` (binary search: runs are in order).
  find(index) {
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.runs[mid].first <= index) lo = mid;
      else hi = mid - 1;
    }
    const run = this.runs[lo];
    return run && index >= run.first && index < run.first + run.count ? run : null;
  }

  // Token `index`'s span if it is drawn, else null.
  drawn(index) {
    const run = this.find(index);
    return run && run.spans ? run.spans[index - run.first] || null : null;
  }

  // Token `index`'s span, drawing its run if need be.
  span(index) {
    const run = this.find(index);
    if (!run) return null;
    this.unfold(run);
    return run.spans[index - run.first];
  }

  unfold(run) {
    if (run.spans) return;
    const fragment = document.createDocumentFragment();
    run.spans = [];
    for (let i = run.first; i < run.first + run.count; i++) {
      const span = this.draw(i);
      run.spans.push(span);
      const sep = this.sepBefore(i);
      if (sep) fragment.appendChild(sepNode(sep));
      fragment.appendChild(span);
    }
    run.el.replaceChildren(fragment);
  }

  fold(run, texts) {
    if (!run.spans || run === this.open) return;
    const keep = this.pinned();
    if (keep.some((index) => index >= run.first && index < run.first + run.count)) return;
    run.spans = null;
    let text = "";
    for (let i = run.first; i < run.first + run.count; i++) text += this.sepBefore(i, texts) + texts[i];
    run.el.replaceChildren(document.createTextNode(text));
  }

  onBlocks(entries) {
    for (const entry of entries) {
      const block = this.of.get(entry.target);
      if (!block || !entry.target.isConnected) continue;
      block.near = entry.isIntersecting;
      for (const run of block.runs) {
        if (run === this.open || !this.observer) continue;
        if (block.near) this.observer.observe(run.el);
        else this.forget(run);
      }
    }
  }

  onView(entries) {
    for (const entry of entries) {
      const run = this.of.get(entry.target);
      if (!run || !entry.target.isConnected) continue;
      if (run === this.open) this.near = entry.isIntersecting;
      if (entry.isIntersecting) this.unfold(run);
      else this.fold(run, this.texts());
    }
  }

  dispose() {
    if (this.observer) this.observer.disconnect();
    if (this.blocks) this.blocks.disconnect();
  }
}

// -- keyboard: one tab stop for the tokens, arrows between them ------------------------------

// The WAI-ARIA "roving tabindex" of a composite widget: a 2,000-token answer is one Tab stop,
// not 2,000. Left/Right move one token, Home/End to the first/last; the focused token shows
// the inspector (through focusin). The token that last had the focus keeps tabIndex 0, so Tab
// comes back to it, and it keeps the focus while new tokens are appended behind it.
const TOKEN_KEYS_LABEL =
  "Answer tokens. Left and Right arrows move between tokens, Home and End go to the first and last; " +
  "the focused token's details are shown. Escape hides them.";

function tokenKeyTarget(key, here, count) {
  switch (key) {
    case "ArrowRight":
      return Math.min(count - 1, here + 1);
    case "ArrowLeft":
      return Math.max(0, here - 1);
    case "Home":
      return 0;
    case "End":
      return count - 1;
    default:
      return null;
  }
}

// How long a token's focus may wait for the view that replaces its own (see TokenKeys.lost).
const HAND_OVER_MS = 2000;

class TokenKeys {
  // `shared` ({index, handOver}) lives on the model's live record, so every view of the model
  // has the same tab stop, and a view drawn in place of another can take over its focus.
  // `tokens` (a TokenFlow) draws the spans: a token far from the viewport may have none until asked.
  constructor(container, shared, tokens) {
    this.container = container;
    this.shared = shared;
    this.tokens = tokens;
    container.setAttribute("role", "group");
    container.setAttribute("aria-label", TOKEN_KEYS_LABEL);
  }

  get current() {
    return this.shared.index; // the index of the token in the tab order
  }

  set current(index) {
    this.shared.index = index;
  }

  // A token span was drawn (new, or again): out of the tab order, unless it is the tab stop (at
  // first, token 0: the area is reachable as soon as it holds a token).
  added(span, index) {
    if (index === this.current) span.tabIndex = 0;
  }

  // Before a redraw: remember whether a token had the focus.
  clear() {
    return this.container.contains(document.activeElement);
  }

  // After a redraw: the same token (or the last one, if the text got shorter) is the tab stop again.
  restore(hadFocus) {
    const count = this.tokens.count();
    if (count === 0) {
      this.current = 0; // the answer starts again: its first token will be the tab stop
      return;
    }
    this.current = Math.min(this.current, count - 1);
    const span = this.tokens.span(this.current);
    span.tabIndex = 0;
    if (hadFocus) span.focus({ preventScroll: true });
  }

  // A token got the focus (arrow key, click or Tab): it becomes the area's tab stop.
  focused(span) {
    this.shared.handOver = 0;
    const index = Number(span.dataset.index);
    if (!Number.isInteger(index) || this.tokens.drawn(index) !== span) return;
    const before = index !== this.current ? this.tokens.drawn(this.current) : null;
    if (before) before.tabIndex = -1;
    this.current = index;
    span.tabIndex = 0;
  }

  // Returns true when the key moved (or would have moved) the focus, so the caller eats the key.
  keydown(event, span) {
    const count = this.tokens.count();
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || count === 0) return false;
    const here = Number(span.dataset.index);
    const next = tokenKeyTarget(event.key, Number.isInteger(here) ? here : this.current, count);
    if (next === null) return false;
    if (next !== here) this.tokens.span(next).focus(); // focusin moves the tab stop and shows the inspector
    return true;
  }

  // The focus left for nowhere. When that is because this view was taken off the page (JupyterLab
  // draws the output anew when the stream ends, see widget_sink.end), the view drawn in its place
  // takes the focus back (`take`), so a keyboard user keeps their token.
  lost(handOver) {
    setTimeout(() => {
      if (this.container.isConnected) return;
      this.shared.handOver = performance.now();
      handOver();
    }, 0);
  }

  // Take over a focus lost by a removed view, if nothing else has had the focus since.
  take() {
    const since = this.shared.handOver;
    if (!since || performance.now() - since > HAND_OVER_MS) return false;
    const active = document.activeElement;
    if (!this.container.isConnected || this.tokens.count() === 0 || (active && active !== document.body)) return false;
    this.shared.handOver = 0;
    this.restore(true);
    return true;
  }
}

function formatStats(stats) {
  if (!stats) return "";
  const [chunks, ttft, rate, elapsed, note, load, input, output] = stats;
  // A whole answer is one chunk, not a fast stream: say so instead of a tokens/s figure.
  const parts = [note || `${chunks} chunk${chunks === 1 ? "" : "s"}`];
  if (typeof ttft === "number") parts.push(`first token ${Math.round(ttft * 1000)} ms`);
  // Loading the model (first use) is kept out of the first-token time and said apart (view/stats.py).
  if (typeof load === "number") parts.push(`loaded in ${load.toFixed(1)} s`);
  if (typeof rate === "number" && !note) parts.push(`${rate.toFixed(1)} tokens/s`);
  if (typeof elapsed === "number") parts.push(`${elapsed.toFixed(2)} s`);
  // Token counts only when the provider reported them.
  const counts = [];
  if (typeof input === "number") counts.push(`${input} in`);
  if (typeof output === "number") counts.push(`${output} out`);
  if (counts.length) parts.push(`tokens ${counts.join(", ")}`);
  return parts.join(" \u00b7 ");
}

function finalStats(model) {
  const s = model.get("stats") || {};
  if (!("chunks" in s)) return null;
  return [s.chunks, s.ttft, s.tokens_per_second, s.elapsed, s.note, s.load, s.input_tokens, s.output_tokens];
}

function drawHeader(dom, model) {
  const status = model.get("status") || "waiting";
  const error = model.get("error") || "";
  dom.root.dataset.status = status;
  dom.status.dataset.status = status;
  dom.model.textContent = model.get("model_name") || "stream";
  // The badge says only what state the stream is in; an error's message is a line of its own under the text.
  dom.status.textContent = status;
  dom.error.textContent = status === "error" ? error : "";
  dom.error.title = dom.error.textContent;
  dom.error.hidden = !dom.error.textContent;
  dom.root.setAttribute("aria-busy", String(ACTIVE.has(status)));
  // The mode is "" until the view runs: neither control then, nor once it has ended
  // (a view restored from saved state after its end shows neither).
  const active = ACTIVE.has(status);
  const mode = model.get("mode");
  dom.stop.hidden = !(active && mode === "async");
  dom.hint.hidden = !(active && mode === "blocking");
}

// -- teaching features: probability colour, token inspector, timing plot --------------------

// Five probability bins: <20%, 20-40%, 40-60%, 60-80%, >=80% (classes llmstream-p0 .. p4).
const BIN_LABELS = ["<20%", "20\u201340%", "40\u201360%", "60\u201380%", ">80%"];
const NO_PROBABILITIES = "no probabilities from this model: ask with --logprobs";

function probabilityBin(p) {
  return Math.max(0, Math.min(4, Math.floor(p * 5)));
}

function hasLogprob(entry) {
  return Array.isArray(entry) && typeof entry[1] === "number";
}

// The legend, or the note that there is nothing to colour by (once tokens have arrived without).
function drawLegend(dom, live) {
  if (live.anyProbability) {
    if (dom.legend.dataset.kind !== "legend") {
      dom.legend.replaceChildren(element("span", "llmstream-legend-title", "probability"));
      BIN_LABELS.forEach((label, bin) => {
        const swatch = element("span", `llmstream-legend-bin llmstream-p${bin}`, label);
        dom.legend.appendChild(swatch);
      });
      dom.legend.dataset.kind = "legend";
    }
    dom.legend.hidden = false;
  } else if (live.pieces.length > 0) {
    if (dom.legend.dataset.kind !== "none") {
      dom.legend.replaceChildren(element("span", "llmstream-legend-none", NO_PROBABILITIES));
      dom.legend.dataset.kind = "none";
    }
    dom.legend.hidden = false;
  } else {
    dom.legend.hidden = true;
  }
}

// Whitespace made visible: space as a middle dot, newline as a return arrow, tab as an arrow.
function visibleWhitespace(text) {
  return String(text).replace(/ /g, "\u00b7").replace(/\n/g, "\u21b5").replace(/\t/g, "\u2192");
}

function percent(lp) {
  const p = Math.exp(lp) * 100;
  return p >= 99.95 ? "100%" : p < 0.1 ? "<0.1%" : `${p.toFixed(1)}%`;
}

function ms(seconds) {
  return `${Math.round(seconds * 1000)} ms`;
}

// The inspector's content for token `index`: every value written as text.
function fillInspector(box, live, index) {
  const text = live.pieces[index] ?? "";
  const entry = live.meta[index];
  const rows = [element("div", "llmstream-inspector-title", `token #${index}`)];
  const shown = element("code", "llmstream-inspector-text", visibleWhitespace(text));
  const textRow = element("div", "llmstream-inspector-row");
  textRow.append(element("span", "llmstream-inspector-key", "text "), shown);
  rows.push(textRow);
  if (Array.isArray(entry) && typeof entry[0] === "number") {
    const previous = live.meta[index - 1];
    const gap = index > 0 && Array.isArray(previous) && typeof previous[0] === "number" ? entry[0] - previous[0] : null;
    const timing = [`arrived ${ms(entry[0])}`];
    timing.push(gap === null ? "first token" : `gap ${ms(gap)}`);
    rows.push(element("div", "llmstream-inspector-row", timing.join(" \u00b7 ")));
  }
  if (hasLogprob(entry)) {
    rows.push(element("div", "llmstream-inspector-row", `logprob ${entry[1].toFixed(3)} \u00b7 p ${percent(entry[1])}`));
  } else {
    rows.push(element("div", "llmstream-inspector-row llmstream-inspector-dim", "no logprob (ask with --logprobs)"));
  }
  if (Array.isArray(entry) && Array.isArray(entry[2]) && entry[2].length > 0) {
    const list = element("ol", "llmstream-inspector-top");
    for (const alternative of entry[2]) {
      if (!Array.isArray(alternative)) continue;
      const item = element("li", "llmstream-inspector-alt");
      const chosen = String(alternative[0]) === text;
      item.append(
        element("code", "llmstream-inspector-text", visibleWhitespace(alternative[0])),
        element("span", "llmstream-inspector-p", ` ${typeof alternative[1] === "number" ? percent(alternative[1]) : "?"}`)
      );
      if (chosen) item.classList.add("llmstream-inspector-chosen");
      list.appendChild(item);
    }
    rows.push(element("div", "llmstream-inspector-key", "top alternatives"), list);
  }
  box.replaceChildren(...rows);
}

// The timing plot: bars for the gap before each token (left scale), a line for the tokens so
// far (right scale), a dashed mark at the first token. Redrawn whole, at most every TIMELINE_MS.
const SVG = "http://www.w3.org/2000/svg";
const PLOT = { width: 600, height: 130, left: 44, right: 40, top: 10, bottom: 22, maxBars: 300 };
const TIMELINE_MS = 250; // the plot is redrawn at most this often while the answer streams

function svgNode(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawTimeline(host, live) {
  const times = [];
  for (const entry of live.meta) if (Array.isArray(entry) && typeof entry[0] === "number") times.push(entry[0]);
  const { width, height, left, right, top, bottom, maxBars } = PLOT;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const svg = svgNode("svg", {
    class: "llmstream-plot",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": "timing plot: gap before each token, and tokens over time",
  });
  svg.appendChild(svgNode("line", { class: "llmstream-axis", x1: left, y1: top + plotH, x2: left + plotW, y2: top + plotH }));
  const caption = element("div", "llmstream-timeline-caption");
  if (times.length === 0) {
    svg.appendChild(svgNode("text", { class: "llmstream-plot-label", x: left + 4, y: top + plotH / 2 }, "waiting for the first token\u2026"));
    caption.textContent = "";
    host.replaceChildren(svg, caption);
    return;
  }
  const tMax = Math.max(times[times.length - 1], 1e-3) * 1.02;
  const x = (t) => left + (t / tMax) * plotW;
  // The gap before each token after the first; many tokens share a bar (the largest gap shows).
  // One pass over the times, no array per token: this runs on every redraw of a long answer.
  const barT = new Float64Array(maxBars);
  const barGap = new Float64Array(maxBars).fill(-1);
  let maxGap = 1e-3;
  for (let i = 1; i < times.length; i++) {
    const gap = Math.max(0, times[i] - times[i - 1]);
    const key = Math.min(maxBars - 1, Math.floor((times[i] / tMax) * maxBars));
    if (gap > barGap[key]) {
      barGap[key] = gap;
      barT[key] = times[i];
    }
    if (gap > maxGap) maxGap = gap;
  }
  const barW = Math.max(1, Math.min(6, plotW / Math.max(times.length - 1, 1) - 1));
  for (let key = 0; key < maxBars; key++) {
    if (barGap[key] < 0) continue;
    const h = (barGap[key] / maxGap) * plotH;
    svg.appendChild(svgNode("rect", { class: "llmstream-gap", x: (x(barT[key]) - barW / 2).toFixed(1), y: (top + plotH - h).toFixed(1), width: barW.toFixed(1), height: Math.max(0.5, h).toFixed(1) }));
  }
  // Tokens so far: a step up at each arrival, decimated to about one point per pixel column.
  const points = [`${left},${top + plotH}`];
  let lastX = -1;
  times.forEach((t, i) => {
    const px = x(t);
    if (px - lastX < 1 && i !== times.length - 1) return;
    lastX = px;
    points.push(`${px.toFixed(1)},${(top + plotH - ((i + 1) / times.length) * plotH).toFixed(1)}`);
  });
  svg.appendChild(svgNode("polyline", { class: "llmstream-cumulative", points: points.join(" ") }));
  // Time to first token.
  const ttft = x(times[0]);
  svg.appendChild(svgNode("line", { class: "llmstream-ttft", x1: ttft, y1: top, x2: ttft, y2: top + plotH }));
  svg.appendChild(svgNode("text", { class: "llmstream-plot-label", x: ttft + 3, y: top + 9 }, `first token ${ms(times[0])}`));
  // Scales: max gap (left), tokens (right), time (below).
  svg.appendChild(svgNode("text", { class: "llmstream-plot-label llmstream-gap-label", x: 2, y: top + 9 }, ms(maxGap)));
  svg.appendChild(svgNode("text", { class: "llmstream-plot-label llmstream-gap-label", x: 2, y: top + plotH }, "0"));
  svg.appendChild(svgNode("text", { class: "llmstream-plot-label llmstream-count-label", x: left + plotW + 4, y: top + 9 }, String(times.length)));
  svg.appendChild(svgNode("text", { class: "llmstream-plot-label", x: left, y: height - 6 }, "0 s"));
  svg.appendChild(svgNode("text", { class: "llmstream-plot-label", x: left + plotW, y: height - 6, "text-anchor": "end" }, `${tMax.toFixed(2)} s`));
  caption.textContent = `bars: gap before each token (max ${ms(maxGap)}) \u00b7 line: tokens so far (${times.length})`;
  host.replaceChildren(svg, caption);
}

// -- the widget ---------------------------------------------------------------------------

// -- tool calls and refusals (branch `wire`) ----------------------------------------------
// Each call the model asks for is a block under the answer: its name at once, its JSON
// arguments growing as the "t" fragments arrive, indented JSON once the synced `tool_calls`
// state says the call is whole (or the raw text and why it is not valid JSON). A refusal ("f",
// synced `refusal`) is a block of its own, never part of the answer. All as text.

function toolCallsFromState(model) {
  return (model.get("tool_calls") || []).map((call) => ({
    id: call.id || "",
    name: call.name || "",
    args: call.arguments || "",
    pretty: typeof call.pretty === "string" ? call.pretty : null,
    error: call.error || "",
  }));
}

// Fold one delta's "t" entries ([call, id, name, fragment]) into `live.tools`, and its refusal ("f").
function applyToolDelta(live, msg) {
  if (msg.reset) {
    live.tools = [];
    live.refusal = "";
  }
  if (typeof msg.f === "string") live.refusal += msg.f;
  if (!Array.isArray(msg.t)) return;
  for (const [index, id, name, fragment] of msg.t) {
    const call = (live.tools[index] ||= { id: "", name: "", args: "", pretty: null, error: "" });
    if (id) call.id = String(id);
    if (name) call.name = String(name);
    call.args += String(fragment || "");
  }
}

// Where a view draws its calls (and a refusal): after the answer (and its Markdown), before the stats line.
function mountToolCalls(dom) {
  const box = element("div", "llmstream-tool-calls");
  const refusal = element("div", "llmstream-refusal");
  box.hidden = refusal.hidden = true;
  dom.root.insertBefore(refusal, dom.timeline);
  dom.root.insertBefore(box, dom.timeline);
  return { box, refusal };
}

function drawToolCalls({ box, refusal }, live) {
  refusal.textContent = live.refusal || "";
  refusal.hidden = !live.refusal;
  const calls = live.tools || [];
  box.hidden = calls.length === 0;
  calls.forEach((call, index) => {
    let block = box.children[index];
    if (!block) {
      block = element("div", "llmstream-tool-call");
      block.append(element("div", "llmstream-tool-name"), element("pre", "llmstream-tool-args"));
      block.append(element("div", "llmstream-tool-error"));
      box.appendChild(block);
    }
    const [name, args, error] = block.children;
    name.textContent = `\u2192 ${call.name || "(tool)"}(\u2026)`;
    if (call.pretty !== null) name.textContent = `\u2192 ${call.name || "(tool)"}`;
    args.textContent = call.pretty !== null ? call.pretty : call.args;
    error.textContent = call.error;
    error.hidden = !call.error;
    block.dataset.done = String(call.pretty !== null || Boolean(call.error));
  });
  while (box.children.length > calls.length) box.lastChild.remove();
}

// -- copy and announcements ---------------------------------------------------------------

const FLASH_MS = 1500;
const CONVERSATION_WAIT_MS = 10000;

// Puts `text` (a promise, so a conversation the kernel is still sending can be copied on the
// click that asked for it) on the clipboard; the button says whether it worked.
async function copyTo(button, text) {
  const label = button.textContent;
  let said = COPIED;
  try {
    if (typeof ClipboardItem === "function" && navigator.clipboard && navigator.clipboard.write) {
      const blob = text.then((value) => new Blob([value], { type: "text/plain" }));
      await navigator.clipboard.write([new ClipboardItem({ "text/plain": blob })]);
    } else {
      await navigator.clipboard.writeText(await text);
    }
  } catch (error) {
    said = "Copy failed";
    console.warn("[llmstream] copy failed", error);
  }
  button.textContent = said;
  setTimeout(() => (button.textContent = label), FLASH_MS);
}

// The conversation as Markdown, from the kernel (the page holds only this view's answer).
function askConversation(model, live) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the kernel did not send the conversation")), CONVERSATION_WAIT_MS);
    live.conversation.push((markdown) => {
      clearTimeout(timer);
      resolve(markdown);
    });
    model.send({ action: "conversation" });
  });
}

function words(text) {
  const found = text.match(/\S+/g);
  return found ? found.length : 0;
}

// One polite live region for the page: a view's region would be gone with the view JupyterLab
// redraws when the answer ends. Says when an answer starts and ends, never a token.
function announce(message) {
  let region = document.getElementById("llmstream-announcer");
  if (!region) {
    region = element("div", "llmstream-announcer");
    region.id = "llmstream-announcer";
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    document.body.appendChild(region);
  }
  region.textContent = message;
}

function announceStatus(model, live) {
  const status = model.get("status");
  const count = words(live.text);
  const said = `${count} word${count === 1 ? "" : "s"}`;
  if (status === "streaming") announce("answer started");
  else if (status === "done") announce(`answer finished, ${said}`);
  else if (status === "stopped") announce(`answer stopped, ${said}`);
  else if (status === "error") announce(`answer failed: ${model.get("error") || "error"}`);
}

export default () => {
  let live = null;

  function initialize({ model }) {
    if (live) return;
    live = createLive(model);
    live.tools = toolCallsFromState(model);
    live.refusal = model.get("refusal") || "";
    live.conversation = []; // who waits for the kernel's {"conversation": markdown}
    const boundaries = usesBoundaries(model);
    model.on("change:status", () => announceStatus(model, live));
    model.on("msg:custom", (msg) => {
      if (msg && typeof msg.conversation === "string") {
        for (const resolve of live.conversation.splice(0)) resolve(msg.conversation);
        return;
      }
      if (!msg || !applyDelta(live, msg, boundaries)) return;
      applyToolDelta(live, msg);
      for (const view of live.views) view.onDelta(msg);
    });
    const onToolState = () => {
      live.tools = toolCallsFromState(model);
      live.refusal = model.get("refusal") || "";
      for (const view of live.views) view.redraw();
    };
    model.on("change:tool_calls", onToolState);
    model.on("change:refusal", onToolState);
    const onFinalState = () => {
      if (!adoptState(live, model)) return;
      for (const view of live.views) view.redraw();
    };
    model.on("change:text", onFinalState);
    model.on("change:reasoning", onFinalState);
    model.on("change:meta", onFinalState);
    const inflate = () => inflateText(model).catch((error) => console.warn("[llmstream] cannot inflate text_z", error));
    model.on("change:text_z", inflate);
    inflate();
    if (ACTIVE.has(model.get("status"))) model.send({ action: "sync" });
  }

  function render({ model, el }) {
    initialize({ model }); // a no-op where the host ran it already (anywidget >= 0.9 does)
    const dom = buildDom(el);
    const toolBox = mountToolCalls(dom);
    const offscreen = watchOffscreen(dom.root, () => model.get("status") === "streaming");
    const sep = model.get("sep") || "";
    const tint = Boolean(model.get("tint"));
    const boundaries = usesBoundaries(model);
    const features = {
      inspect: Boolean(model.get("inspect")),
      prob: model.get("color") === "prob",
      timeline: Boolean(model.get("timeline")),
    };
    dom.root.classList.toggle("llmstream-inspecting", features.inspect);
    // What this view draws the answer with: token runs in boundary mode, paragraphs of text otherwise.
    const tokens = boundaries ? new TokenFlow(dom.text, sep, (index) => drawToken(index), () => live.pieces) : null;
    const plain = boundaries ? null : new TextFlow(dom.text);
    const thoughts = new TextFlow(dom.reasoning);
    const keys = features.inspect ? new TokenKeys(dom.text, live.keys, tokens) : null;
    if (tokens) {
      tokens.pinned = () => {
        const keep = keys ? [keys.current] : [];
        if (inspected) keep.push(Number(inspected.dataset.index));
        return keep;
      };
    }

    // Many tokens at once (a redraw, a page back from the background) are drawn as folded runs that
    // the viewport unfolds; the run still being written is drawn as tokens.
    function drawTokens(pieces) {
      tokens.append(pieces, pieces.length <= EAGER);
      if (tokens.open && tokens.near) tokens.unfold(tokens.open);
    }

    function drawToken(index) {
      const span = tokenNode(live.pieces[index], index, tint, features, live.meta[index]);
      if (keys) keys.added(span, index);
      return span;
    }

    // Deltas are drawn once per animation frame, however many arrived: only what they add.
    const pending = { text: [], reasoning: [], frame: 0 };
    function schedule() {
      if (!pending.frame) pending.frame = requestAnimationFrame(drawFrame);
    }
    function drawFrame() {
      pending.frame = 0;
      if (pending.reasoning.length) thoughts.append(pending.reasoning.splice(0).join(""));
      if (tokens && tokens.count() < live.pieces.length) drawTokens(live.pieces.slice(tokens.count()));
      if (plain && pending.text.length) plain.append(pending.text.splice(0).join(""));
      drawMarkdown();
      drawThinking();
      drawStats();
      drawCopy();
      drawFeatures(false);
    }

    // The timing plot is the whole stream's: redrawn at most every TIMELINE_MS while it streams.
    const plot = { last: -Infinity, timer: 0 };
    function drawPlot() {
      plot.last = performance.now();
      dom.timeline.hidden = false;
      drawTimeline(dom.timeline, live);
    }
    function drawPlotSoon() {
      if (plot.timer) return;
      const wait = plot.last + TIMELINE_MS - performance.now();
      if (wait <= 0) drawPlot();
      else {
        plot.timer = setTimeout(() => {
          plot.timer = 0;
          drawPlot();
        }, wait);
      }
    }

    // `all`: after a redraw, also the inspector (a delta does not change a shown token's details).
    function drawFeatures(all) {
      if (features.prob) drawLegend(dom, live);
      if (features.timeline) drawPlotSoon();
      if (all && inspected !== null) showInspector(inspected);
    }

    // The inspector: one tooltip per view, for the token under the pointer or with the focus.
    // It lives on document.body while shown, fixed to the viewport: inside the output area
    // (which scrolls its overflow) it would be cut off below the last line.
    let inspected = null; // the token span shown, or null
    // Scrolling moves the token away from the pointer: hide. A focused token (the keyboard's)
    // keeps its inspector, moved along: focusing a token off screen scrolls it into view.
    const onScroll = () => {
      if (inspected && inspected === document.activeElement) placeInspector(inspected);
      else hideInspector();
    };
    function showInspector(span) {
      if (!span.isConnected) return hideInspector();
      const index = Number(span.dataset.index);
      if (!Number.isInteger(index)) return;
      if (inspected && inspected !== span) inspected.removeAttribute("aria-describedby");
      inspected = span;
      fillInspector(dom.inspector, live, index);
      span.setAttribute("aria-describedby", dom.inspector.id);
      if (!dom.inspector.isConnected) {
        document.body.appendChild(dom.inspector);
        window.addEventListener("scroll", onScroll, true);
      }
      dom.inspector.hidden = false;
      placeInspector(span);
    }
    function placeInspector(span) {
      const box = span.getClientRects()[0] || span.getBoundingClientRect();
      const width = dom.inspector.offsetWidth;
      const height = dom.inspector.offsetHeight;
      const left = Math.min(Math.max(4, box.left), Math.max(4, window.innerWidth - width - 4));
      const below = box.bottom + 4;
      const top = below + height > window.innerHeight - 4 ? Math.max(4, box.top - height - 4) : below;
      dom.inspector.style.left = `${left}px`;
      dom.inspector.style.top = `${top}px`;
    }
    function hideInspector() {
      if (inspected) inspected.removeAttribute("aria-describedby");
      inspected = null;
      dom.inspector.hidden = true;
      window.removeEventListener("scroll", onScroll, true);
      dom.inspector.remove();
    }
    const tokenOf = (event) => (event.target instanceof Element ? event.target.closest(".llmstream-token") : null);
    if (features.inspect) {
      dom.text.addEventListener("mouseover", (event) => {
        const span = tokenOf(event);
        if (span) showInspector(span);
      });
      dom.text.addEventListener("mouseleave", () => {
        if (!dom.text.contains(document.activeElement)) hideInspector();
      });
      dom.text.addEventListener("focusin", (event) => {
        const span = tokenOf(event);
        if (!span) return;
        keys.focused(span);
        showInspector(span);
      });
      dom.text.addEventListener("focusout", (event) => {
        if (dom.text.contains(event.relatedTarget)) return;
        hideInspector();
        if (event.relatedTarget === null) keys.lost(() => [...live.views].some((other) => other.takeFocus()));
      });
      dom.text.addEventListener("keydown", (event) => {
        if (event.key === "Escape" && inspected) {
          hideInspector();
          event.stopPropagation(); // JupyterLab would leave edit mode
          return;
        }
        const span = tokenOf(event);
        if (span && keys.keydown(event, span)) {
          event.preventDefault(); // no page scroll on Home/End
          event.stopPropagation(); // nor a JupyterLab shortcut
        }
      });
    }

    function drawStats() {
      const text = formatStats(finalStats(model) || live.stats);
      if (dom.stats.textContent !== text) dom.stats.textContent = text;
    }

    // The thinking section is open while there is no answer to read yet and closes when the
    // answer starts, until the person toggles it (summary click, or Enter/Space on it): from
    // then on it stays as they left it. `opened` is what this code last set, to tell the two apart.
    const thinking = { opened: null, touched: false };
    dom.thinking.addEventListener("toggle", () => {
      if (dom.thinking.open !== thinking.opened) thinking.touched = true;
    });
    function drawThinking() {
      dom.thinking.hidden = !live.reasoning;
      if (!live.reasoning) return;
      const answerless = !live.text;
      const label = answerless && ACTIVE.has(model.get("status")) ? THINKING : THOUGHT;
      if (dom.thinkingLabel.textContent !== label) dom.thinkingLabel.textContent = label;
      if (!thinking.touched && dom.thinking.open !== answerless) {
        thinking.opened = answerless;
        dom.thinking.open = answerless;
      }
    }

    const view = {
      takeFocus: () => Boolean(keys) && keys.take(),
      redraw() {
        if (pending.frame) cancelAnimationFrame(pending.frame);
        pending.frame = 0;
        pending.text = [];
        pending.reasoning = [];
        const hadFocus = keys ? keys.clear() : false;
        if (inspected) hideInspector();
        thoughts.clear();
        thoughts.append(live.reasoning);
        if (tokens) {
          tokens.reset();
          drawTokens(live.pieces);
        } else {
          plain.clear();
          plain.append(live.text);
        }
        if (keys) keys.restore(hadFocus);
        drawMarkdown();
        drawToolCalls(toolBox, live);
        drawCopy();
        drawThinking();
        drawStats();
        drawFeatures(true);
      },
      onDelta(msg) {
        if (msg.reset) {
          view.redraw();
          return;
        }
        if (msg.t || msg.f) drawToolCalls(toolBox, live);
        if (msg.r) pending.reasoning.push(msg.r);
        if (plain && typeof msg.d === "string" && msg.d) pending.text.push(msg.d);
        if (plain && Array.isArray(msg.c)) pending.text.push(msg.c.map(String).join(""));
        schedule();
      },
    };

    // Markdown (markdown=True): rendered as it streams where the page has JupyterLab's renderer;
    // a teaching view (token boundaries) keeps its tokens until the end. Else the text stays.
    const markdown = model.get("markdown") ? markdownFlow(model, dom.markdown, () => drawMarkdown()) : null;
    function drawMarkdown() {
      const final = !ACTIVE.has(model.get("status"));
      const shown = Boolean(markdown) && !markdown.failed && Boolean(live.text) && (final || !boundaries);
      if (shown) markdown.update(live.text, final);
      dom.markdown.hidden = !shown;
      dom.text.hidden = shown;
    }

    // A long answer scrolls in its box, following the stream unless the reader scrolled up;
    // "Show all" lifts the box's limit. Where the reader is lives on the model's live record, so
    // the view JupyterLab draws anew at the end keeps it.
    const scroll = live.scroll;
    // A scroll event comes a frame after the scroll: the answer may have grown meanwhile, so only a
    // scroll up from where following put it (or back to the end) changes whether it follows.
    // A box taken off the page, or with nothing to scroll, says nothing about the reader.
    dom.body.addEventListener("scroll", () => {
      if (!dom.body.isConnected || dom.body.scrollHeight <= dom.body.clientHeight + 1) return;
      const top = dom.body.scrollTop;
      if (dom.body.scrollHeight - top - dom.body.clientHeight < 4) scroll.stick = true;
      else if (top < scroll.followed - 1) scroll.stick = false;
      scroll.top = top;
    });
    function follow() {
      if (scroll.expanded) return void (dom.expand.hidden = false);
      if (scroll.stick) {
        dom.body.scrollTop = dom.body.scrollHeight;
        scroll.followed = dom.body.scrollTop; // (the browser keeps it to what can be scrolled)
      } else if (Math.abs(dom.body.scrollTop - scroll.top) > 1) {
        dom.body.scrollTop = scroll.top; // a view drawn anew keeps where the reader was
      }
      dom.expand.hidden = !(scroll.expanded || dom.body.scrollHeight > dom.body.clientHeight + 1);
    }
    function drawExpanded() {
      dom.root.classList.toggle("llmstream-expanded", scroll.expanded);
      dom.expand.textContent = scroll.expanded ? COLLAPSE : EXPAND;
      dom.expand.setAttribute("aria-expanded", String(scroll.expanded));
    }
    const resized = typeof ResizeObserver === "function" ? new ResizeObserver(() => follow()) : null;
    if (resized) resized.observe(dom.content);
    dom.expand.addEventListener("click", () => {
      scroll.expanded = !scroll.expanded;
      drawExpanded();
      follow();
    });
    drawExpanded();

    // Copy: the answer's text; in a conversation that has ended, also the whole conversation.
    function drawCopy() {
      dom.copy.hidden = !live.text;
      const chat = model.get("chat") || {};
      dom.copyChat.hidden = !chat.name || ACTIVE.has(model.get("status"));
    }
    dom.copy.addEventListener("click", () => copyTo(dom.copy, Promise.resolve(live.text)));
    dom.copyChat.addEventListener("click", () => copyTo(dom.copyChat, askConversation(model, live)));

    const onState = () => {
      drawHeader(dom, model);
      drawThinking();
      drawStats();
      drawMarkdown();
      drawCopy();
      offscreen.update();
    };
    dom.stop.addEventListener("click", () => model.send({ action: "stop" }));
    const events = ["status", "error", "model_name", "mode", "stats", "text", "chat"].map((n) => `change:${n}`);
    for (const event of events) model.on(event, onState);

    live.views.add(view);
    view.redraw();
    onState();
    if (keys && live.keys.handOver) {
      // Drawn in place of a view that had the focus: take it once this view is on the page.
      let tries = 20;
      const take = () => view.takeFocus() || (--tries > 0 && live.keys.handOver && setTimeout(take, 50));
      setTimeout(take, 0);
    }
    return () => {
      live.views.delete(view);
      if (pending.frame) cancelAnimationFrame(pending.frame);
      clearTimeout(plot.timer);
      if (tokens) tokens.dispose();
      hideInspector();
      for (const event of events) model.off(event, onState);
      if (resized) resized.disconnect();
      offscreen.dispose();
    };
  }

  return { initialize, render };
};
