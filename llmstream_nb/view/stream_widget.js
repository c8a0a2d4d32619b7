// The page side of StreamWidget (widget.py documents the wire format).
//
// Model output is text, never markup: the answer, the reasoning, the model name, the error
// and the stats are only ever written with text nodes / textContent, never innerHTML. The
// one exception is markdown=True, rendered by JupyterLab's sanitiser and then stripped of
// everything that would fetch something (see "Markdown" below). The reasoning never is.
//
// One "live" record per widget model holds what the deltas have brought; every view of the
// model draws from it, so a view rendered late (or twice) still shows the whole answer.
// anywidget holds comm messages until `initialize` has run, so no delta is missed before it;
// a model re-created mid-stream (page reload) asks the kernel for the text so far ("sync").

const ACTIVE = new Set(["waiting", "streaming"]);
const MARKDOWN_AFTER = new Set(["done", "stopped"]);

// A blocking cell keeps the kernel busy, and ipykernel handles no button click until it
// ends: such a view offers no Stop button (it could not work) but this hint in its place.
const STOP_TIP = "Stop the stream (keeps the text so far)";
// A reasoning model's thinking sits above the answer, dimmed, in a <details> of its own.
const THINKING = "Thinking\u2026";
const THOUGHT = "Thinking";
const INTERRUPT_HINT = "Interrupt the kernel (\u25a0) to stop";
const INTERRUPT_TIP =
  "This cell keeps the kernel busy until the stream ends, so a button could not stop it: " +
  "Kernel \u2192 Interrupt (\u25a0) stops it and keeps the text so far";

// -- the live record ----------------------------------------------------------------------

function usesBoundaries(model) {
  return Boolean(model.get("sep")) || Boolean(model.get("tint"));
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
    reasoning: model.get("reasoning") || "",
    stats: null, // [chunks, ttft, tokens_per_second, elapsed] from the last delta
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
    live.reasoning = "";
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
function adoptState(live, model) {
  const text = model.get("text") || "";
  const reasoning = model.get("reasoning") || "";
  if (text === live.text && reasoning === live.reasoning) return false;
  live.text = text;
  live.pieces = piecesFromState(model);
  live.reasoning = reasoning;
  return true;
}

// -- drawing ------------------------------------------------------------------------------

function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

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
    text: element("div", "llmstream-text"),
    markdown: element("div", "llmstream-markdown"),
    stats: element("div", "llmstream-stats"),
  };
  dom.stop.type = "button";
  dom.stop.title = STOP_TIP;
  dom.stop.hidden = true;
  dom.hint.textContent = INTERRUPT_HINT;
  dom.hint.title = INTERRUPT_TIP;
  dom.hint.hidden = true;
  dom.markdown.hidden = true;
  dom.thinking.hidden = true; // until reasoning arrives
  dom.thinking.append(dom.thinkingLabel, dom.reasoning);
  header.append(dom.model, dom.status, dom.stop, dom.hint);
  root.append(header, dom.thinking, dom.text, dom.markdown, dom.stats);
  el.appendChild(root);
  return dom;
}

// Token spans only where boundaries are asked for; plain mode appends bare text nodes.
function tokenNode(text, index, sep, tint) {
  const span = element("span", "llmstream-token", text);
  if (tint) span.classList.add(index % 2 ? "llmstream-tint-1" : "llmstream-tint-0");
  if (!sep) return span;
  const marker = element("span", "llmstream-sep", sep);
  marker.setAttribute("aria-hidden", "true");
  const pair = document.createDocumentFragment();
  pair.append(span, marker);
  return pair;
}

function formatStats(stats) {
  if (!stats) return "";
  const [chunks, ttft, rate, elapsed] = stats;
  const parts = [`${chunks} chunk${chunks === 1 ? "" : "s"}`];
  if (typeof ttft === "number") parts.push(`first token ${Math.round(ttft * 1000)} ms`);
  if (typeof rate === "number") parts.push(`${rate.toFixed(1)} tokens/s`);
  if (typeof elapsed === "number") parts.push(`${elapsed.toFixed(2)} s`);
  return parts.join(" \u00b7 ");
}

function finalStats(model) {
  const s = model.get("stats") || {};
  if (!("chunks" in s)) return null;
  return [s.chunks, s.ttft, s.tokens_per_second, s.elapsed];
}

function drawHeader(dom, model) {
  const status = model.get("status") || "waiting";
  const error = model.get("error") || "";
  dom.root.dataset.status = status;
  dom.status.dataset.status = status;
  dom.model.textContent = model.get("model_name") || "stream";
  dom.status.textContent = status === "error" && error ? `error: ${error}` : status;
  // The mode is "" until the view runs: neither control then, nor once it has ended
  // (a view restored from saved state after its end shows neither).
  const active = ACTIVE.has(status);
  const mode = model.get("mode");
  dom.stop.hidden = !(active && mode === "async");
  dom.hint.hidden = !(active && mode === "blocking");
}

// -- Markdown, once the stream has ended ---------------------------------------------------

// JupyterLab's sanitiser lets through markup that loads things from anywhere: <img src>,
// Markdown's ![](url), <video src|poster>, <audio src>, <input type=image src>, and style
// attributes with url() (measured, JupyterLab 4.6). An answer must not make the page fetch
// (an image URL can carry data out), so after the sanitiser: media become text such as
// "[image: alt](url)", fetching attributes and every style attribute go, and elements with
// no place in an answer are dropped with their content. The HTML is parsed in a document
// of its own, which loads nothing, and only the result reaches the page.
const MEDIA = new Set(["img", "image", "picture", "video", "audio", "source", "track"]);
const DROPPED = new Set([
  "script", "style", "link", "meta", "base", "noscript", "template", "iframe", "frame",
  "frameset", "object", "embed", "applet", "svg", "math", "portal",
]);
const FETCHING_ATTRIBUTES = new Set([
  "src", "srcset", "poster", "background", "data", "style", "lowsrc", "dynsrc", "longdesc",
  "ping", "action", "formaction", "manifest", "codebase", "archive", "classid", "icon",
  "imagesrcset", "xlink:href",
]);
const LINKS = new Set(["a", "area"]); // an href that loads only when clicked

function mediaText(node) {
  const tag = node.localName;
  const kind = tag === "img" || tag === "image" || tag === "input" ? "image" : tag;
  const label = node.getAttribute("alt") || node.getAttribute("title") || "";
  const url = node.getAttribute("src") || "";
  return `[${kind}${label ? `: ${label}` : ""}]${url ? `(${url})` : ""}`;
}

function withoutFetches(html) {
  const inert = document.implementation.createHTMLDocument("");
  const box = inert.createElement("div");
  box.innerHTML = html;
  for (const node of [...box.querySelectorAll("*")]) {
    const tag = node.localName;
    if (DROPPED.has(tag)) node.remove();
    else if (MEDIA.has(tag) || (tag === "input" && (node.getAttribute("type") || "").toLowerCase() === "image")) {
      node.replaceWith(inert.createTextNode(mediaText(node)));
    } else {
      for (const { name } of [...node.attributes]) {
        if (FETCHING_ATTRIBUTES.has(name) || (name === "href" && !LINKS.has(tag))) node.removeAttribute(name);
      }
    }
  }
  return box.innerHTML;
}

// The host's sanitiser, followed by withoutFetches.
function fetchFreeSanitizer(base) {
  return {
    sanitize: (dirty, options) => withoutFetches(base.sanitize(dirty, options)),
    getAutolink: typeof base.getAutolink === "function" ? () => base.getAutolink() : undefined,
    allowNamedProperties: base.allowNamedProperties,
  };
}

// JupyterLab's own Markdown renderer, with the model marked untrusted so its sanitiser
// strips scripts, event handlers and javascript: links, and then withoutFetches runs. The
// renderer's node goes into `host` before rendering, so math can be typeset in the page
// (JupyterLab 4.6 measured: it is not, the widget's Markdown shows math as TeX; a typesetter's
// output would not pass through withoutFetches). Returns the renderer, or null where the host
// has no rendermime to build that on (the raw text then stays, which is always safe).
async function renderMarkdown(model, text, host) {
  const rendermime = model.widget_manager && model.widget_manager.rendermime;
  if (!rendermime || typeof rendermime.clone !== "function" || !rendermime.sanitizer) return null;
  const safe = rendermime.clone({ sanitizer: fetchFreeSanitizer(rendermime.sanitizer) });
  const renderer = safe.createRenderer("text/markdown");
  host.replaceChildren(renderer.node);
  const mimeModel = { trusted: false, data: { "text/markdown": text }, metadata: {}, setData() {} };
  await renderer.renderModel(mimeModel);
  return renderer;
}

function markdownWanted(model) {
  return Boolean(model.get("markdown")) && MARKDOWN_AFTER.has(model.get("status")) && Boolean(model.get("text"));
}

// -- the widget ---------------------------------------------------------------------------

export default () => {
  let live = null;

  function initialize({ model }) {
    if (live) return;
    live = createLive(model);
    const boundaries = usesBoundaries(model);
    model.on("msg:custom", (msg) => {
      if (!msg || !applyDelta(live, msg, boundaries)) return;
      for (const view of live.views) view.onDelta(msg);
    });
    const onFinalState = () => {
      if (!adoptState(live, model)) return;
      for (const view of live.views) view.redraw();
    };
    model.on("change:text", onFinalState);
    model.on("change:reasoning", onFinalState);
    if (ACTIVE.has(model.get("status"))) model.send({ action: "sync" });
  }

  function render({ model, el }) {
    initialize({ model }); // a no-op where the host ran it already (anywidget >= 0.9 does)
    const dom = buildDom(el);
    const sep = model.get("sep") || "";
    const tint = Boolean(model.get("tint"));
    const boundaries = usesBoundaries(model);
    let drawn = 0;

    function append(pieces) {
      if (!boundaries) {
        for (const piece of pieces) if (piece) dom.text.appendChild(document.createTextNode(piece));
        return;
      }
      const fragment = document.createDocumentFragment();
      for (const piece of pieces) fragment.appendChild(tokenNode(piece, drawn++, sep, tint));
      dom.text.appendChild(fragment);
    }

    function drawStats() {
      dom.stats.textContent = formatStats(finalStats(model) || live.stats);
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
      dom.thinkingLabel.textContent = answerless && ACTIVE.has(model.get("status")) ? THINKING : THOUGHT;
      if (!thinking.touched && dom.thinking.open !== answerless) {
        thinking.opened = answerless;
        dom.thinking.open = answerless;
      }
    }

    const view = {
      redraw() {
        dom.text.replaceChildren();
        dom.reasoning.textContent = live.reasoning;
        drawn = 0;
        append(boundaries ? live.pieces : [live.text]);
        drawThinking();
        drawStats();
      },
      onDelta(msg) {
        if (msg.reset) view.redraw();
        else {
          if (msg.r) dom.reasoning.appendChild(document.createTextNode(msg.r));
          append(Array.isArray(msg.c) ? msg.c.map(String) : typeof msg.d === "string" ? [msg.d] : []);
        }
        drawThinking();
        drawStats();
      },
    };

    const markdown = { text: null, renderer: null }; // what is drawn, for this view
    async function drawMarkdown() {
      const text = model.get("text") || "";
      if (!markdownWanted(model) || markdown.text === text) return;
      markdown.text = text;
      if (markdown.renderer) markdown.renderer.dispose();
      markdown.renderer = null;
      try {
        markdown.renderer = await renderMarkdown(model, text, dom.markdown);
      } catch (error) {
        console.warn("[llmstream] Markdown rendering failed; the raw text stays", error);
      }
      const shown = Boolean(markdown.renderer) && markdown.text === text;
      dom.markdown.hidden = !shown;
      dom.text.hidden = shown;
    }

    const onState = () => {
      drawHeader(dom, model);
      drawThinking();
      drawStats();
      drawMarkdown();
    };
    dom.stop.addEventListener("click", () => model.send({ action: "stop" }));
    const events = ["status", "error", "model_name", "mode", "stats", "text"].map((n) => `change:${n}`);
    for (const event of events) model.on(event, onState);

    live.views.add(view);
    view.redraw();
    onState();
    return () => {
      live.views.delete(view);
      for (const event of events) model.off(event, onState);
      if (markdown.renderer) markdown.renderer.dispose();
    };
  }

  return { initialize, render };
};
