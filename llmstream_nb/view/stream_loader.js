// Saved with every view: takes the code and styles from the kernel's one StreamCode model (code.py).
const CACHE = (globalThis.__llmstreamCode ??= new Map());

async function importText(source) {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  try {
    return await import(/* webpackIgnore: true */ url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

function load(model) {
  const id = String(model.get("code") || "").replace(/^IPY_MODEL_/, "");
  if (!CACHE.has(id))
    CACHE.set(id, (async () => {
      const code = await model.widget_manager.get_model(id);
      let style = document.getElementById("llmstream-css");
      if (!style) style = Object.assign(document.head.appendChild(document.createElement("style")), { id: "llmstream-css" });
      if (style.textContent !== code.get("css")) style.textContent = code.get("css");
      const [widget, restore] = await Promise.all([importText(code.get("esm")), importText(code.get("restore_esm"))]);
      return { widget: widget.default, restore: restore.default };
    })());
  return CACHE.get(id);
}

export default () => {
  let widget = null;
  const get = (model) =>
    (widget ??= load(model).then((code) => {
      code.restore(model.widget_manager);
      return typeof code.widget === "function" ? code.widget() : code.widget;
    }));
  return {
    initialize: async (context) => (await get(context.model)).initialize?.(context),
    render: async (context) => (await get(context.model)).render(context),
  };
};
