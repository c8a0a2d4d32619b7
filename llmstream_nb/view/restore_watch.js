// Repairs views that JupyterLab gave up on while restoring a notebook's saved widget state.
//
// @jupyter-widgets/jupyterlab-manager 3.0's renderer polls 2 s for its model, sleeping 100 ms
// between looks, and on timeout shows "model not found" for good if the restore is over by
// then. When the restore ends during its last sleep (timers fire late on a busy page), the
// model exists but the output stays an error. Once the restore is over, each such output of
// this manager's notebook is set again, so JupyterLab renders it anew and finds its model.
const FAILED = "Error displaying widget: model not found";
const WIDGET_MIME = "application/vnd.jupyter.widget-view+json";
const CHECK_AFTER_MS = [250, 1000, 2500, 5000, 10000, 20000];
const WATCHED = new WeakSet();

export default function watchRestore(manager) {
  if (!manager || WATCHED.has(manager) || !manager.restored || !manager.context) return;
  WATCHED.add(manager);
  const start = () => CHECK_AFTER_MS.forEach((ms) => setTimeout(() => repairOutputs(manager), ms));
  if (manager.restoredStatus) return start();
  const once = () => {
    manager.restored.disconnect(once);
    start();
  };
  manager.restored.connect(once);
}

function repairOutputs(manager) {
  const cells = manager.context && manager.context.model && manager.context.model.cells;
  if (!cells) return;
  for (const node of document.querySelectorAll(".jp-OutputArea-output.jupyter-widgets")) {
    if (node.textContent !== FAILED) continue;
    const cellIndex = Number(node.closest(".jp-Cell")?.dataset.windowedListIndex);
    const child = node.closest(".jp-OutputArea-child");
    if (!child || !Number.isInteger(cellIndex) || cellIndex >= cells.length) continue;
    const outputs = cells.get(cellIndex).outputs;
    const index = Array.prototype.indexOf.call(child.parentElement.children, child);
    if (!outputs || index < 0 || index >= outputs.length) continue;
    const output = outputs.get(index);
    const view = output.data && output.data[WIDGET_MIME];
    if (!view || !manager.has_model(view.model_id)) continue; // another notebook's, or truly missing
    outputs.set(index, output.toJSON());
  }
}
