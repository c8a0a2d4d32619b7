// Markdown while it streams (markdown=True): rendered by JupyterLab's own Markdown renderer,
// sanitised, stripped of everything that would fetch, in blocks.
//
// Incremental: the text is cut into blocks where Markdown starts afresh -- after a blank line
// outside a code fence or a $$ formula, when the next line is not indented (an indented line may
// continue a list item). A block is rendered once, when it is complete, and never touched again;
// only the last, still open block is rendered anew at each flush, so a flush costs what the open
// block holds, not what the answer holds (bench section 7, "Markdown"). The cut depends on the text
// only, never on how it arrived in tokens, so a view drawn from saved state looks the same.
// An open block that grows long (a long code fence) is rendered anew only when it has grown by a
// quarter since; what came since shows as text in the meantime.
//
// Math: `$...$` and `$$...$$` pass through JupyterLab's renderer as TeX, and `\(...\)` / `\[...\]`
// are kept from Markdown's backslash escapes, so the host's typesetter (MathJax in JupyterLab)
// typesets a block once it is complete (and the last block at the end). Without a typesetter the
// TeX stays as source. A reference definition (`[x]: url`) can change blocks above it: an answer
// with one is rendered again whole, once, at the end.
//
// Nothing runs and nothing is fetched: the model is marked untrusted so the host's sanitiser drops
// scripts, event handlers and javascript: links; then withoutFetches turns media into text and
// drops fetching attributes. Each block is parsed whole, so markup split across tokens
// (`<img src=x on` + `error=...>`) is sanitised as the whole tag. The typesetter's output is
// scrubbed the same way (a TeX \style{} could carry a url()).

// -- what an answer may not do -------------------------------------------------------------

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
// A typesetter's inline styles (sizes, offsets) stay, unless they could load or escape something.
const UNSAFE_URL = /^\s*(javascript|data|vbscript):/i;
const RISKY_STYLE = /url\s*\(|image-set|image\s*\(|@import|expression\s*\(|\\/i;

function mediaText(node) {
  const tag = node.localName;
  const kind = tag === "img" || tag === "image" || tag === "input" ? "image" : tag;
  const label = node.getAttribute("alt") || node.getAttribute("title") || "";
  const url = node.getAttribute("src") || "";
  return `[${kind}${label ? `: ${label}` : ""}]${url ? `(${url})` : ""}`;
}

function isMedia(node) {
  const tag = node.localName;
  return MEDIA.has(tag) || (tag === "input" && (node.getAttribute("type") || "").toLowerCase() === "image");
}

// Removes what would fetch from `root`'s elements. `typeset`: the typesetter's output, whose own
// elements (MathML, safe inline styles) stay.
function scrub(root, typeset) {
  const doc = root.ownerDocument;
  for (const node of [...root.querySelectorAll("*")]) {
    const tag = node.localName;
    if (!typeset && DROPPED.has(tag)) node.remove();
    else if (isMedia(node)) node.replaceWith(doc.createTextNode(mediaText(node)));
    else {
      for (const { name, value } of [...node.attributes]) {
        const keepStyle = typeset && name === "style" && !RISKY_STYLE.test(value);
        const fetches = FETCHING_ATTRIBUTES.has(name) && !keepStyle;
        const badLink = name === "href" && (!LINKS.has(tag) || UNSAFE_URL.test(value));
        if (fetches || badLink) node.removeAttribute(name);
      }
    }
  }
}

function withoutFetches(html) {
  const inert = document.implementation.createHTMLDocument("");
  const box = inert.createElement("div");
  box.innerHTML = html;
  scrub(box, false);
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

// -- where blocks end ----------------------------------------------------------------------

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

// The code fence `line` opens ({mark, size}), or null. A backtick fence's info string holds no backtick.
function opensFence(line) {
  const found = FENCE.exec(line);
  if (!found || (found[1][0] === "`" && line.slice(found[0].length).includes("`"))) return null;
  return { mark: found[1][0], size: found[1].length };
}

// Whether `line` closes `fence`: the same mark, at least as long, nothing after it.
function closesFence(line, fence) {
  const found = FENCE.exec(line);
  return Boolean(found) && found[1][0] === fence.mark && found[1].length >= fence.size && !line.slice(found[0].length).trim();
}

// The offsets where complete blocks end, found line by line as the text grows.
export class MarkdownBlocks {
  constructor() {
    this.ends = []; // end offset of each complete block, in order
    this.scanned = 0; // the text before this offset has been read, whole lines only
    this.fence = null; // {mark, size} of the open code fence
    this.math = false; // inside a $$ formula spanning lines
    this.cut = -1; // where the block ends if the next line starts a new one
    this.content = false; // whether the open block holds anything but blank lines
  }

  // Reads the lines `text` completed since the last call (`text` only ever grows).
  scan(text) {
    let start = this.scanned;
    for (let newline = text.indexOf("\n", start); newline >= 0; newline = text.indexOf("\n", start)) {
      this.line(text.slice(start, newline), newline + 1);
      start = newline + 1;
    }
    this.scanned = start;
    // A line being written that is not indented already starts the next block.
    const rest = text.slice(start, start + 1);
    if (this.cut >= 0 && rest && !/[ \t]/.test(rest)) {
      this.ends.push(this.cut);
      this.cut = -1;
      this.content = false;
    }
  }

  line(line, end) {
    if (this.fence) {
      if (closesFence(line, this.fence)) {
        this.fence = null;
        this.cut = end; // a closed fence is complete
      }
      return;
    }
    if (!line.trim()) {
      if (!this.math && this.content) this.cut = end;
      return;
    }
    if (this.cut >= 0 && !/^[ \t]/.test(line)) {
      this.ends.push(this.cut);
      this.content = false;
    }
    this.cut = -1;
    this.content = true;
    this.fence = opensFence(line);
    if (!this.fence && (line.split("$$").length - 1) % 2 === 1) this.math = !this.math;
  }
}

// `\(` `\)` `\[` `\]` doubled outside code, so Markdown's escapes leave them for the typesetter.
export function keepMathDelimiters(markdown) {
  let fence = null;
  return markdown
    .split("\n")
    .map((line) => {
      if (fence) {
        if (closesFence(line, fence)) fence = null;
        return line;
      }
      fence = opensFence(line);
      if (fence) return line;
      // Odd pieces between backticks are inline code: left as written.
      return line
        .split("`")
        .map((piece, index) => (index % 2 ? piece : piece.replace(/\\([()[\]])/g, "\\\\$1")))
        .join("`");
    })
    .join("\n");
}

const GROUP = 64; // rendered nodes per group of complete blocks

// A box for rendered Markdown, styled by JupyterLab's rules for rendered Markdown.
function markdownBox(className) {
  const box = document.createElement("div");
  box.className = `${className} jp-RenderedHTMLCommon jp-RenderedMarkdown`;
  return box;
}

const REFERENCE = /^ {0,3}\[[^\]\n]+\]:\s*\S/m;
const LONG_BLOCK = 4000; // characters: an open block longer than this is rendered anew less often
const GROWTH = 1.25; // ... when it has grown by this factor since it was last rendered

// -- drawing -------------------------------------------------------------------------------

// Typesetting is one at a time on the page: JupyterLab's MathJax typesetter renders one element
// per call through one shared document, and two calls at once lose the first one's math.
let typesetting = Promise.resolve();

// The answer as Markdown in `host`: complete blocks once, the open block anew per update.
// The rendered elements go into groups of GROUP (complete blocks) and one box for the open block,
// each with JupyterLab's classes for rendered Markdown (its styles select their children). Measured
// (bench section 7, Markdown row): with every element a child of one box, each layout after an
// update walked all of them, and a flush at the end of a 20,000-token answer cost ~3x one at the
// start (with formulas, whose typesetting forces a layout each, 100x). In groups a layout walks
// one group and the list of groups, and a group out of sight is skipped (content-visibility).
// `rendermime` is the host's registry (JupyterLab's); `onFailed` is called if rendering fails (the
// view then shows the text).
export class MarkdownFlow {
  constructor(host, rendermime, onFailed = () => {}) {
    this.host = host;
    this.onFailed = onFailed;
    this.safe = rendermime.clone({ sanitizer: fetchFreeSanitizer(rendermime.sanitizer) });
    this.typesetter = rendermime.latexTypesetter || null;
    this.generation = 0;
    this.failed = false;
    // A pass at a time (pump): a reset mid-pass leaves these alone, so the running pump, which sees the
    // new generation, goes on with the new text rather than a second pump starting beside it.
    this.busy = false;
    this.again = false;
    this.reset();
  }

  reset() {
    this.generation++;
    this.blocks = new MarkdownBlocks();
    this.drawn = 0; // complete blocks on the page
    this.text = "";
    this.final = false;
    this.whole = false; // rendered again whole at the end (a reference definition)
    this.tail = { text: null, rendered: 0, raw: null }; // the open block as drawn
    this.group = null; // the group complete blocks go into
    this.open = markdownBox("llmstream-md-open"); // the open block's box, last in `host`
    this.host.replaceChildren(this.open);
  }

  // The text so far; `final` once the answer has ended. Draws in the background, a pass at a time.
  update(text, final) {
    if (!text.startsWith(this.text) || (this.final && !final)) this.reset();
    if (text === this.text && final === this.final) return;
    this.text = text;
    this.final = final;
    this.blocks.scan(text);
    this.pump();
  }

  async pump() {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        const started = performance.now();
        await this.pass(this.generation);
        // The bench's hook (bench/page_markdown.py): [answer length, ms] per pass, when it asks.
        const timing = globalThis.__llmstreamMarkdownTiming;
        if (Array.isArray(timing)) timing.push([this.text.length, performance.now() - started]);
      } while (this.again);
    } catch (error) {
      this.failed = true;
      console.warn("[llmstream] Markdown rendering failed; the raw text stays", error);
      this.onFailed();
    } finally {
      this.busy = false;
    }
  }

  // The text and the block ends grow while a render is awaited: each step reads them anew.
  async pass(generation) {
    if (this.final && !this.whole && REFERENCE.test(this.text)) return this.drawWhole(this.text, generation);
    const ends = this.blocks.ends;
    while (this.drawn < ends.length) {
      const start = this.drawn ? ends[this.drawn - 1] : 0;
      const nodes = await this.render(this.text.slice(start, ends[this.drawn]), true);
      if (generation !== this.generation) return;
      this.keep(nodes);
      this.drawn++;
      // The open block starts later now: what it showed is the block just kept (and a little more,
      // drawn again below), never twice.
      this.open.replaceChildren();
      this.tail = { text: null, rendered: 0, raw: null };
    }
    const { text, final } = this;
    const start = this.drawn ? ends[this.drawn - 1] : 0;
    const open = text.slice(start);
    if (open === this.tail.text && !final) return;
    const long = open.length > LONG_BLOCK && this.tail.text !== null;
    if (!final && long && open.length < this.tail.rendered * GROWTH) return this.showRaw(open);
    const nodes = await this.render(open, final);
    // Blocks completed meanwhile: the next pass draws them, then the open block after them.
    if (generation !== this.generation || this.drawn !== ends.length) return;
    this.open.replaceChildren(...nodes);
    this.tail = { text: open, rendered: open.length, raw: null };
  }

  // A complete block's nodes, into the last group (a new one when it is full).
  keep(nodes) {
    if (this.group && this.group.childNodes.length < GROUP) return this.group.append(...nodes);
    this.group = markdownBox("llmstream-md-group");
    this.group.append(...nodes);
    this.open.before(this.group); // filled first: one change to the page
  }

  // A long open block between renders: what came since its last render, as text.
  showRaw(open) {
    const since = open.slice(this.tail.rendered);
    if (!this.tail.raw) {
      this.tail.raw = document.createElement("div");
      this.tail.raw.className = "llmstream-md-raw";
      this.tail.raw.appendChild(document.createTextNode(""));
      this.open.appendChild(this.tail.raw);
    }
    const node = this.tail.raw.firstChild;
    if (since.startsWith(node.data)) node.appendData(since.slice(node.data.length));
    else node.data = since;
    this.tail.text = open;
  }

  async drawWhole(text, generation) {
    const nodes = await this.render(text, true);
    if (generation !== this.generation) return;
    this.whole = true;
    this.group = null;
    this.open.replaceChildren();
    this.host.replaceChildren(this.open);
    this.keep(nodes);
  }

  // One block through the host's Markdown renderer (untrusted, fetch-free): its new nodes.
  // `typeset`: a complete block's TeX is typeset too, before the nodes reach the page. Measured
  // (bench section 7, Markdown row): typesetting blocks already on the page made each flush cost
  // more as the answer grew (6 ms at the start, 11 ms at the end of 20,000 tokens); typeset while
  // still detached, a flush costs the same at the end as at the start.
  async render(markdown, typeset = false) {
    const renderer = this.safe.createRenderer("text/markdown");
    const model = { trusted: false, data: { "text/markdown": keepMathDelimiters(markdown) }, metadata: {}, setData() {} };
    await renderer.renderModel(model);
    if (typeset && this.typesetter && /[$\\]/.test(renderer.node.textContent)) await this.typeset(renderer.node);
    const nodes = [...renderer.node.childNodes];
    renderer.node.replaceChildren();
    renderer.dispose();
    return nodes;
  }

  // Typesets `node`'s TeX, one call at a time on the page (see `typesetting`); then scrubs the output.
  typeset(node) {
    const done = typesetting.then(async () => {
      try {
        await this.typesetter.typeset(node);
        scrub(node, true);
      } catch (error) {
        console.warn("[llmstream] the typesetter failed; the formula stays as TeX", error);
      }
    });
    typesetting = done;
    return done;
  }
}

// A MarkdownFlow in `host` where the page has JupyterLab's rendermime, else null (the text stays).
export function markdownFlow(model, host, onFailed) {
  const rendermime = model.widget_manager && model.widget_manager.rendermime;
  if (!rendermime || typeof rendermime.clone !== "function" || !rendermime.sanitizer) return null;
  return new MarkdownFlow(host, rendermime, onFailed);
}
