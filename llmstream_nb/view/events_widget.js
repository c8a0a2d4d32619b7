// The live events of EventsView (events_view.py; what a row holds: events_rows.py).
//
// Rows arrive as custom messages {start, rows: [[#, event, name, run, text, ms, depth, parent, run id], ...]}
// holding only rows this view may not have; `start` lets a view skip what it already shows and
// ask for what it missed ({action: "sync", have}) if it rendered after the first rows were sent.
// The `rows` trait is set once, at the end, for saved notebooks. Every cell is written with
// textContent: model text is never parsed as HTML.
//
// The same rows, two ways (the buttons switch this page only):
// - "in order": a table in arrival order, nested runs indented under their parent, where a
//   chain's chunks are seen rippling up from the model through the parser to the chain;
// - "by run": a tree of collapsible runs, each with its start, its chunks folded into a count
//   (open it to see them) and its end, and the runs it started inside it.
// The "show" boxes hide a kind of event in both (CSS only: nothing is redrawn).

const ROW = { index: 0, event: 1, name: 2, run: 3, text: 4, ms: 5, depth: 6, parent: 7, runId: 8 };
const KINDS = ["start", "stream", "end", "error", "other"];
const HIDEABLE = ["start", "stream", "end"]; // an error always shows
const LAYOUTS = [
  ["time", "in order", "every event as it arrived"],
  ["tree", "by run", "each run with its start, chunks and end, nested runs inside it"],
];
const PREVIEW = 80; // characters of chunks shown on a folded chunk list

function kindOf(event) {
  for (const kind of KINDS) {
    if (event.endsWith("_" + kind)) return kind;
  }
  return "other";
}

// "on_chat_model_start" -> "chat_model": what kind of runnable the run is.
function runType(event) {
  const match = /^on_(.+)_(start|stream|end|error)$/.exec(event);
  return match ? match[1] : event;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function msText(ms) {
  return typeof ms === "number" ? ms.toFixed(1) : "";
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

// Whole run ids, sent on each run's first row only: kept here for the tooltips.
function runIds() {
  const full = new Map();
  return {
    note(row) {
      if (row[ROW.runId]) full.set(String(row[ROW.run]), String(row[ROW.runId]));
    },
    title(row) {
      const run = String(row[ROW.run] ?? "");
      const parent = String(row[ROW.parent] ?? "");
      const lines = [`run ${full.get(run) || run}`];
      if (parent) lines.push(`parent ${full.get(parent) || parent}`);
      return lines.join("\n");
    },
  };
}

// -- "in order": the table --------------------------------------------------------------------

function tableLayout(columns, ids) {
  const table = element("table", "llmstream-events-table");
  const head = table.createTHead().insertRow();
  for (const name of columns) head.appendChild(element("th", "", name));
  const body = table.createTBody();

  function cell(tr, className, text) {
    const td = element("td", className, text);
    tr.appendChild(td);
    return td;
  }

  function tableRow(row) {
    const event = String(row[ROW.event] ?? "");
    const tr = element("tr", `llmstream-events-${kindOf(event)}`);
    cell(tr, "llmstream-events-index", String(row[ROW.index] ?? ""));
    cell(tr, "llmstream-events-event", event);
    // Indented with spaces, two per ancestor, as the terminal prints it (events_rows.indented_name).
    const depth = Math.max(0, Number(row[ROW.depth]) || 0);
    cell(tr, "llmstream-events-name", "  ".repeat(depth) + String(row[ROW.name] ?? ""));
    const run = cell(tr, "llmstream-events-run-cell", String(row[ROW.run] ?? ""));
    if (row[ROW.parent]) run.appendChild(element("span", "llmstream-events-parent", ` (${row[ROW.parent]})`));
    run.title = ids.title(row);
    cell(tr, "llmstream-events-ms", msText(row[ROW.ms]));
    cell(tr, "llmstream-events-text", String(row[ROW.text] ?? ""));
    return tr;
  }

  return {
    node: table,
    clear: () => body.replaceChildren(),
    add(rows) {
      const fragment = document.createDocumentFragment();
      for (const row of rows) fragment.appendChild(tableRow(row));
      body.appendChild(fragment);
    },
  };
}

// -- "by run": the tree -----------------------------------------------------------------------

function treeLayout(ids) {
  const root = element("div", "llmstream-events-tree");
  let runs = new Map(); // short run id -> its node

  function line(row, withEvent) {
    const event = String(row[ROW.event] ?? "");
    const div = element("div", `llmstream-events-line llmstream-events-${kindOf(event)}`);
    div.append(
      element("span", "llmstream-events-index", `#${row[ROW.index]}`),
      element("span", "llmstream-events-ms", `${msText(row[ROW.ms])} ms`)
    );
    if (withEvent) div.appendChild(element("span", "llmstream-events-event", event));
    div.appendChild(element("span", "llmstream-events-text", String(row[ROW.text] ?? "")));
    return div;
  }

  function runNode(row) {
    const id = String(row[ROW.run] ?? "");
    const known = runs.get(id);
    if (known) return known;
    const details = element("details", "llmstream-events-run");
    details.open = true;
    const summary = element("summary", "llmstream-events-run-head");
    const state = element("span", "llmstream-events-run-state", "running");
    const output = element("span", "llmstream-events-run-output");
    const short = element("span", "llmstream-events-run-id", id);
    short.title = ids.title(row);
    summary.append(
      element("span", "llmstream-events-run-type", runType(String(row[ROW.event] ?? ""))),
      element("span", "llmstream-events-run-name", String(row[ROW.name] ?? "")),
      short,
      state,
      output
    );
    const body = element("div", "llmstream-events-run-body");
    details.append(summary, body);
    const parent = runs.get(String(row[ROW.parent] ?? ""));
    (parent ? parent.body : root).appendChild(details);
    const node = { details, body, state, output, start: row[ROW.ms], chunks: null };
    runs.set(id, node);
    return node;
  }

  // A run's chunks, folded: "42 chunks: 'Tea' ' ' 'is' …"; opened, one line per chunk.
  function chunkList(node) {
    if (node.chunks) return node.chunks;
    const details = element("details", "llmstream-events-chunks llmstream-events-stream");
    const summary = element("summary", "llmstream-events-chunks-head");
    const list = element("div", "llmstream-events-chunk-lines");
    details.append(summary, list);
    node.body.appendChild(details);
    node.chunks = { summary, list, count: 0, preview: "", full: false };
    return node.chunks;
  }

  function addChunk(node, row) {
    const chunks = chunkList(node);
    chunks.count += 1;
    if (!chunks.full) {
      const next = chunks.preview ? `${chunks.preview} ${row[ROW.text]}` : String(row[ROW.text] ?? "");
      chunks.full = next.length > PREVIEW;
      chunks.preview = chunks.full ? `${next.slice(0, PREVIEW - 1)}\u2026` : next;
    }
    chunks.summary.textContent = `${plural(chunks.count, "chunk")}: ${chunks.preview}`;
    chunks.list.appendChild(line(row, false));
    if (node.details.dataset.state === undefined) node.state.textContent = "streaming";
  }

  return {
    node: root,
    clear() {
      root.replaceChildren();
      runs = new Map();
    },
    add(rows) {
      for (const row of rows) {
        const node = runNode(row);
        const kind = kindOf(String(row[ROW.event] ?? ""));
        if (kind === "stream") {
          addChunk(node, row);
          continue;
        }
        node.body.appendChild(line(row, true));
        if (kind === "end") {
          node.details.dataset.state = "end";
          const took = typeof row[ROW.ms] === "number" && typeof node.start === "number" ? row[ROW.ms] - node.start : null;
          node.state.textContent = took === null ? "ended" : `${took.toFixed(1)} ms`;
          node.output.textContent = String(row[ROW.text] ?? "");
        } else if (kind === "error") {
          node.details.dataset.state = "error";
          node.state.textContent = "error";
          node.output.textContent = String(row[ROW.text] ?? "");
        }
      }
    },
  };
}

// -- the widget -------------------------------------------------------------------------------

function toolbar(onHide, onLayout) {
  const bar = element("div", "llmstream-events-bar");
  const status = element("span", "llmstream-events-status");
  const show = element("span", "llmstream-events-show");
  show.appendChild(element("span", "llmstream-events-label", "show"));
  for (const kind of HIDEABLE) {
    const label = element("label", "llmstream-events-toggle");
    const box = element("input");
    box.type = "checkbox";
    box.checked = true;
    box.addEventListener("change", () => onHide(kind, !box.checked));
    label.append(box, document.createTextNode(kind));
    show.appendChild(label);
  }
  const layouts = element("span", "llmstream-events-layouts");
  layouts.setAttribute("role", "group");
  layouts.setAttribute("aria-label", "layout");
  const buttons = new Map();
  for (const [name, text, tip] of LAYOUTS) {
    const button = element("button", "llmstream-events-layout", text);
    button.type = "button";
    button.title = tip;
    button.dataset.layout = name;
    button.addEventListener("click", () => onLayout(name));
    layouts.appendChild(button);
    buttons.set(name, button);
  }
  bar.append(status, show, layouts);
  return { bar, status, buttons };
}

function render({ model, el }) {
  const rows = []; // every row this view has, in order
  const counts = Object.fromEntries(KINDS.map((kind) => [kind, 0]));
  const hidden = new Set();
  const ids = runIds();

  const root = element("div", "llmstream-events");
  const scroller = element("div", "llmstream-events-scroll");
  const layouts = { time: tableLayout(model.get("columns") || [], ids), tree: treeLayout(ids) };
  let layout = layouts[model.get("start_layout")] ? model.get("start_layout") : "time";
  const bar = toolbar(
    (kind, hide) => {
      if (hide) hidden.add(kind);
      else hidden.delete(kind);
      root.dataset.hide = [...hidden].join(" ");
    },
    (name) => showLayout(name)
  );
  root.append(bar.bar, scroller);
  el.appendChild(root);

  function showStatus() {
    const state = model.get("status") || "";
    const error = model.get("error") || "";
    const summary = KINDS.filter((kind) => counts[kind]).map((kind) => `${counts[kind]} ${kind}`);
    const parts = [state, plural(rows.length, "event") + (summary.length ? `: ${summary.join(" \u00b7 ")}` : "")];
    if (error) parts.push(error);
    bar.status.textContent = parts.join(" \u00b7 ");
    root.dataset.status = state;
    root.dataset.count = String(rows.length);
  }

  function showLayout(name) {
    if (pending.frame) cancelAnimationFrame(pending.frame);
    pending.frame = 0;
    pending.rows = [];
    layout = name;
    root.dataset.layout = name;
    for (const [other, button] of bar.buttons) button.setAttribute("aria-pressed", String(other === name));
    for (const other of Object.values(layouts)) other.clear();
    scroller.replaceChildren(layouts[name].node);
    layouts[name].add(rows);
  }

  // Rows are drawn once per animation frame, however many messages brought them. Whether to
  // follow the newest row is known from the person's scrolling (a scroll event), so drawing
  // never reads layout before writing it; following costs one scroll per frame.
  let follow = true;
  scroller.addEventListener("scroll", () => {
    follow = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 8;
  });
  const pending = { rows: [], frame: 0 };
  function drawPending() {
    pending.frame = 0;
    const fresh = pending.rows.splice(0);
    if (fresh.length === 0) return;
    layouts[layout].add(fresh);
    showStatus();
    if (follow) scroller.scrollTop = scroller.scrollHeight;
  }

  function append(start, incoming) {
    if (!Array.isArray(incoming)) return;
    if (start > rows.length) {
      model.send({ action: "sync", have: rows.length });
      return;
    }
    const fresh = incoming.slice(rows.length - start);
    if (fresh.length === 0) return;
    for (const row of fresh) {
      rows.push(row);
      counts[kindOf(String(row[ROW.event] ?? ""))] += 1;
      ids.note(row);
      pending.rows.push(row);
    }
    if (!pending.frame) pending.frame = requestAnimationFrame(drawPending);
  }

  const onMessage = (msg) => {
    if (msg && Array.isArray(msg.rows)) append(msg.start | 0, msg.rows);
  };
  const onRows = () => append(0, model.get("rows"));
  model.on("msg:custom", onMessage);
  model.on("change:rows", onRows);
  model.on("change:status", showStatus);
  model.on("change:error", showStatus);

  showLayout(layout);
  showStatus();
  onRows();
  if (model.get("status") !== "done") model.send({ action: "sync", have: rows.length });

  return () => {
    if (pending.frame) cancelAnimationFrame(pending.frame);
    model.off("msg:custom", onMessage);
    model.off("change:rows", onRows);
    model.off("change:status", showStatus);
    model.off("change:error", showStatus);
  };
}

export default { render };
