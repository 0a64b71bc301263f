/* Codebook panel: the label in focus shown in full at the top, the rest
 * collapsed, and a search over every definition, exclusion, example and
 * hard case.
 *
 * The panel's content is rendered by the server from the package's own
 * codebook; this script only clones and hides those nodes, and wraps search
 * hits in <mark> by splitting text nodes (never by parsing HTML).
 */
"use strict";

const CB = (() => {
  let pinned = null;   // the label last toggled or pressed
  let hovered = null;  // the label under the pointer or keyboard focus
  let shown = null;

  const $ = (id) => document.getElementById(id);

  function render() {
    const focus = $("cb-focus");
    if (!focus) return;
    const name = hovered || pinned;
    if (name === shown) return;
    shown = name;
    for (const d of document.querySelectorAll(".codebook .def")) d.classList.toggle("focus", d.dataset.label === name);
    markEvidence(name);
    const def = name ? $("def-" + name) : null;
    if (!def) {
      focus.replaceChildren($("cb-hint"));
      focus.dataset.label = "";
      return;
    }
    const title = document.createElement("h3");
    for (const node of def.querySelector("summary").childNodes) title.append(node.cloneNode(true));
    const body = def.querySelector(".def-body").cloneNode(true);
    const examples = body.querySelector("details.examples");
    if (examples) examples.open = false;
    const hint = $("cb-hint");
    focus.replaceChildren(title, body);
    focus.append(hint);  // kept in the document (hidden by CSS) for the next reset
    focus.dataset.label = name;
  }

  /** Emphasise the rule-evidence marks of the label in focus (see label.js). */
  function markEvidence(name) {
    for (const m of document.querySelectorAll("mark.ev")) {
      m.classList.toggle("ev-focus", Boolean(name) && (m.dataset.labels || "").split(" ").includes(name));
    }
  }

  /** Re-apply the emphasis after the passage (and its marks) changed. */
  function refresh() {
    markEvidence(hovered || pinned);
  }

  /** Show ``name`` while the pointer (or keyboard focus) is on its control; null to let go. */
  function hover(name) {
    hovered = name || null;
    render();
  }

  /** Keep ``name`` in focus until another label is pinned (a toggle, a key press). */
  function pin(name) {
    pinned = name || null;
    render();
  }

  // ------------------------------------------------------------------ search

  function clearMarks(root) {
    for (const m of root.querySelectorAll("mark.cb-hit")) m.replaceWith(document.createTextNode(m.textContent));
    root.normalize();
  }

  function markText(root, needle) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    for (const node of nodes) {
      const text = node.nodeValue;
      const lower = text.toLowerCase();
      let at = lower.indexOf(needle);
      if (at === -1) continue;
      const frag = document.createDocumentFragment();
      let from = 0;
      while (at !== -1) {
        frag.append(document.createTextNode(text.slice(from, at)));
        const mark = document.createElement("mark");
        mark.className = "cb-hit";
        mark.textContent = text.slice(at, at + needle.length);
        frag.append(mark);
        from = at + needle.length;
        at = lower.indexOf(needle, from);
      }
      frag.append(document.createTextNode(text.slice(from)));
      node.replaceWith(frag);
    }
  }

  function search(query) {
    const list = $("cb-list");
    if (!list) return;
    const needle = query.trim().toLowerCase();
    clearMarks(list);
    let hits = 0;
    for (const det of list.querySelectorAll(":scope > details")) {
      if (det.classList.contains("hard-cases")) {
        let any = false;
        for (const li of det.querySelectorAll("li.hard-case")) {
          const match = !needle || li.textContent.toLowerCase().includes(needle);
          li.hidden = !match;
          any = any || match;
        }
        det.hidden = !any;
        det.open = Boolean(needle) && any;
        if (needle && any) hits += 1;
        continue;
      }
      const match = !needle || det.textContent.toLowerCase().includes(needle);
      det.hidden = !match;
      det.open = Boolean(needle) && match;
      if (needle && match) {
        hits += 1;
        const examples = det.querySelector("details.examples");
        if (examples) examples.open = examples.textContent.toLowerCase().includes(needle);
      }
    }
    if (needle) markText(list, needle);
    $("cb-nohits").hidden = !needle || hits > 0;
    document.body.dataset.cbHits = String(hits);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const input = $("cb-search");
    if (!input) return;
    input.addEventListener("input", () => search(input.value));
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        ev.preventDefault();
        ev.stopPropagation();
        if (input.value) { input.value = ""; search(""); }
        input.blur();
      }
    });
    // Opening one definition by hand puts it in focus too.
    for (const det of document.querySelectorAll(".codebook .def")) {
      det.querySelector("summary").addEventListener("click", () => pin(det.dataset.label));
    }
    // "/" jumps to the search box from anywhere on the page (not while typing).
    document.addEventListener("keydown", (ev) => {
      const t = ev.target;
      const typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT");
      if (!typing && ev.key === "/" && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
        ev.preventDefault();
        document.body.classList.remove("hide-codebook");
        input.focus();
        input.select();
      }
    });
  });

  return { hover, pin, search, refresh };
})();
