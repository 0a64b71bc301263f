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

  document.addEventListener("DOMContentLoaded", () => {
    const logout = document.getElementById("logout");
    if (logout) {
      logout.addEventListener("click", async () => {
        try { await api("POST", "/api/logout", {}); } catch (err) { /* signed out anyway */ }
        window.location.assign("/login");
      });
    }
  });

  return { api, el, toast, fmt };
})();
