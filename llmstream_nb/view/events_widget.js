// The live events table of EventsView (events_view.py).
//
// Rows arrive as custom messages {start, rows: [[#, event, name, run, text], ...]}
// holding only rows this view may not have; `start` lets a view skip what it already shows and
// ask for what it missed ({action: "sync", have}) if it rendered after the first rows were sent.
// The `rows` trait is set once, at the end, for saved notebooks. Every cell is written with
// textContent: model text is never parsed as HTML.

function kindOf(event) {
  for (const kind of ["start", "stream", "end", "error"]) {
    if (event.endsWith("_" + kind)) return kind;
  }
  return "other";
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "llmstream-events";
  const status = document.createElement("div");
  status.className = "llmstream-events-status";
  const scroller = document.createElement("div");
  scroller.className = "llmstream-events-scroll";
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  for (const name of model.get("columns") || []) {
    const th = document.createElement("th");
    th.textContent = name;
    head.appendChild(th);
  }
  const body = table.createTBody();
  scroller.appendChild(table);
  root.append(status, scroller);
  el.appendChild(root);

  let count = 0;

  function showStatus() {
    const state = model.get("status") || "";
    const error = model.get("error") || "";
    status.textContent = `${state} · ${count} event${count === 1 ? "" : "s"}${error ? " · " + error : ""}`;
    root.dataset.status = state;
  }

  function append(start, rows) {
    if (!Array.isArray(rows)) return;
    if (start > count) {
      model.send({ action: "sync", have: count });
      return;
    }
    const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 8;
    const fragment = document.createDocumentFragment();
    for (let i = count - start; i < rows.length; i++) {
      const row = rows[i];
      const tr = document.createElement("tr");
      tr.className = "llmstream-events-" + kindOf(String(row[1] ?? ""));
      for (const value of row) {
        const td = document.createElement("td");
        td.textContent = String(value ?? "");
        tr.appendChild(td);
      }
      fragment.appendChild(tr);
    }
    if (start + rows.length > count) {
      count = start + rows.length;
      body.appendChild(fragment);
      if (atBottom) scroller.scrollTop = scroller.scrollHeight;
      showStatus();
    }
  }

  const onMessage = (msg) => {
    if (msg && Array.isArray(msg.rows)) append(msg.start | 0, msg.rows);
  };
  const onRows = () => append(0, model.get("rows"));
  model.on("msg:custom", onMessage);
  model.on("change:rows", onRows);
  model.on("change:status", showStatus);
  model.on("change:error", showStatus);

  showStatus();
  onRows();
  if (model.get("status") !== "done") model.send({ action: "sync", have: count });

  return () => {
    model.off("msg:custom", onMessage);
    model.off("change:rows", onRows);
    model.off("change:status", showStatus);
    model.off("change:error", showStatus);
  };
}

export default { render };
