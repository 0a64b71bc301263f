/* Shared helpers for the annotation pages. No framework, no build step.
 *
 * Safety rule for every script here: text that comes from documents or users
 * (passages, titles, headings, comments, names) is put on the page with
 * textContent / createTextNode only, never parsed as HTML, so markup inside
 * a policy document is shown, not run.
 */
"use strict";

const CC = (() => {
  const csrfToken = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  };

  /** Call the JSON API; throw an Error carrying the server's error shape. */
  async function api(method, url, body) {
    const opts = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    if (method !== "GET") opts.headers["X-CSRF-Token"] = csrfToken();
    let res;
    try {
      res = await fetch(url, opts);
    } catch (err) {
      throw new Error("The server cannot be reached. Is `cocreation annotate serve` still running?");
    }
    let data;
    try {
      data = await res.json();
    } catch (err) {
      data = { ok: false, error: `HTTP ${res.status}`, errors: [], status: res.status };
    }
    if (!res.ok || data.ok === false) {
      if (res.status === 401 && !url.endsWith("/api/login")) {
        window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      }
      const error = new Error(data.error || `HTTP ${res.status}`);
      error.data = data;
      throw error;
    }
    return data;
  }

  /** Build an element; string children become text nodes (never parsed as HTML). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  let toastTimer = null;
  /** Show a short message; errors stay longer. */
  function toast(message, kind) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.className = "toast " + (kind || "info");
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 8000 : 2500);
  }

  function fmt(x, digits) {
    if (x === null || x === undefined || Number.isNaN(x)) return "–";
    return Number(x).toFixed(digits === undefined ? 3 : digits);
  }

  /**
   * Put ``text`` into ``node`` with the rule-evidence spans wrapped in <mark>.
   *
   * Spans are character offsets into ``text`` (from /api/evidence) and may
   * overlap across labels, so the text is cut at every span edge and each
   * piece is marked with every label that covers it. Pieces are text nodes:
   * nothing here is parsed as HTML. ``order`` maps a label to its codebook
   * position, which picks the mark's colour class.
   */
  function highlight(node, text, spans, order) {
    const valid = (spans || []).filter((s) => s.start >= 0 && s.end <= text.length && s.start < s.end);
    const cuts = new Set([0, text.length]);
    for (const s of valid) { cuts.add(s.start); cuts.add(s.end); }
    const points = Array.from(cuts).sort((a, b) => a - b);
    const parts = [];
    for (let i = 0; i + 1 < points.length; i += 1) {
      const from = points[i];
      const to = points[i + 1];
      const piece = text.slice(from, to);
      const covering = valid.filter((s) => s.start <= from && s.end >= to);
      if (!covering.length) {
        parts.push(document.createTextNode(piece));
        continue;
      }
      const labels = Array.from(new Set(covering.map((s) => s.label)));
      const colour = order && order.has(labels[0]) ? order.get(labels[0]) % 7 : 0;
      parts.push(el("mark", {
        class: `ev ev-c${colour}` + (labels.length > 1 ? " ev-multi" : ""),
        dataset: { labels: labels.join(" ") },
        title: "Rule term: " + covering.map((s) => `${s.label} (${s.term})`).join(", "),
      }, piece));
    }
    node.replaceChildren(...parts);
    return valid.length;
  }

  /** A one-line legend of the rule terms found: label, then the distinct matched words. */
  function evidenceLegend(spans, order) {
    const byLabel = new Map();
    for (const s of spans || []) {
      if (!byLabel.has(s.label)) byLabel.set(s.label, new Set());
      byLabel.get(s.label).add(s.text.toLowerCase());
    }
    const labels = Array.from(byLabel.keys()).sort((a, b) => (order.get(a) ?? 99) - (order.get(b) ?? 99));
    return labels.map((name) => el("span", { class: "ev-chip", dataset: { label: name } },
      el("mark", { class: `ev ev-c${(order.get(name) ?? 0) % 7}`, dataset: { labels: name } }, name),
      " " + Array.from(byLabel.get(name)).join(", ")));
  }

  /**
   * Time spent on the item in front of the user, for ``lead_time`` (seconds,
   * as Label Studio calls it). Counts only while the tab is visible, and at
   * most ``idleMs`` between two signs of life (a key, a click, a scroll, the
   * pointer moving), so a break with the tab open is not counted as work.
   * ``take()`` returns the seconds since the last take and starts again.
   */
  function activeTimer(idleMs = 5 * 60 * 1000) {
    let ms = 0;
    let mark = document.hidden ? null : performance.now();
    function credit() {
      if (mark === null) return;
      const now = performance.now();
      ms += Math.min(now - mark, idleMs);
      mark = now;
    }
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) { credit(); mark = null; } else { mark = performance.now(); }
    });
    for (const name of ["keydown", "pointerdown", "pointermove", "wheel", "scroll"]) {
      window.addEventListener(name, credit, { passive: true, capture: true });
    }
    return {
      take() {
        credit();
        const seconds = Math.round(ms) / 1000;
        ms = 0;
        return seconds;
      },
    };
  }

  document.addEventListener("DOMContentLoaded", () => {
    const logout = document.getElementById("logout");
    if (logout) {
      logout.addEventListener("click", async () => {
        try { await api("POST", "/api/logout", {}); } catch (err) { /* signed out anyway */ }
        window.location.assign("/login");
      });
    }
  });

  return { api, el, toast, fmt, highlight, evidenceLegend, activeTimer };
})();
