// "Streaming above": under Run All the answer may stream in a view the reader has scrolled past.
// One small button for the page says so while any streaming view is out of sight (above or below
// the middle of the window), and a click brings the first such view into view. It goes away when
// every streaming view is in sight or has ended.

const MARKS = { above: "\u25b2 streaming above", below: "\u25bc streaming below" };
const FAR = new Map(); // a view's root -> whether it is above the reader

function indicator() {
  let node = document.getElementById("llmstream-offscreen");
  if (!node) {
    node = document.createElement("button");
    node.id = "llmstream-offscreen";
    node.className = "llmstream-offscreen";
    node.type = "button";
    node.title = "An answer is streaming out of sight: click to see it";
    node.addEventListener("click", () => {
      const [root] = FAR.keys();
      if (root) root.scrollIntoView({ block: "nearest" });
    });
    document.body.appendChild(node);
  }
  return node;
}

function draw() {
  for (const root of [...FAR.keys()]) if (!root.isConnected) FAR.delete(root);
  const node = FAR.size ? indicator() : document.getElementById("llmstream-offscreen");
  if (!node) return;
  node.hidden = FAR.size === 0;
  const above = [...FAR.values()].some(Boolean);
  node.textContent = above ? MARKS.above : MARKS.below;
}

// Watches one view's `root`; `streaming()` says whether it streams now. Returns {update, dispose}:
// `update()` after a status change, `dispose()` when the view goes.
export function watchOffscreen(root, streaming) {
  let seen = true;
  let above = false;
  const update = () => {
    if (streaming() && !seen && root.isConnected) FAR.set(root, above);
    else FAR.delete(root);
    draw();
  };
  const observer =
    typeof IntersectionObserver === "function"
      ? new IntersectionObserver(([entry]) => {
          seen = entry.isIntersecting;
          above = entry.boundingClientRect.top < window.innerHeight / 2;
          update();
        })
      : null;
  if (observer) observer.observe(root);
  return {
    update,
    dispose() {
      if (observer) observer.disconnect();
      FAR.delete(root);
      draw();
    },
  };
}
