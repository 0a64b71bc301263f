/* Passage search: text, document, label, annotator, flagged; open a hit in the labelling view. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const { api, el, toast } = CC;
  const $ = (id) => document.getElementById(id);
  const form = $("search-form");
  const isReviewer = form.dataset.reviewer === "yes";
  const results = $("results");
  const more = $("more");
  let offset = 0;
  let filled = false;

  function params(from) {
    const p = new URLSearchParams();
    for (const id of ["q", "doc", "label", "annotator"]) if ($(id).value) p.set(id, $(id).value);
    for (const id of ["flagged", "all"]) if ($(id).checked) p.set(id, "1");
    p.set("offset", String(from));
    return p;
  }

  /** The passage text around the first hit, with every hit marked (text nodes only). */
  function snippet(text, query) {
    const needle = query.trim().toLowerCase();
    const lower = text.toLowerCase();
    let start = 0;
    let end = text.length;
    const first = needle ? lower.indexOf(needle) : -1;
    if (text.length > 600) {
      start = Math.max(0, (first === -1 ? 0 : first) - 200);
      end = Math.min(text.length, start + 600);
    }
    const parts = [start > 0 ? "… " : ""];
    let at = start;
    while (needle) {
      const hit = lower.indexOf(needle, at);
      if (hit === -1 || hit + needle.length > end) break;
      parts.push(text.slice(at, hit), el("mark", { class: "hit" }, text.slice(hit, hit + needle.length)));
      at = hit + needle.length;
    }
    parts.push(text.slice(at, end), end < text.length ? " …" : "");
    return parts;
  }

  function item(r, query) {
    const where = [r.heading ? "§ " + r.heading : "", r.page !== null && r.page !== undefined ? "page " + r.page : "",
      `passage ${r.index + 1}`, r.kind !== "paragraph" ? r.kind : "", `${r.n_words} words`].filter(Boolean).join(" · ");
    const decisions = r.decisions.map((d) => el("span", { class: "r-decision" },
      el("strong", {}, d.annotator + ": "), d.skipped ? "skipped" : (d.labels.join(", ") || "none applies"),
      d.flagged ? el("span", { class: "badge flag" }, "flagged") : null));
    const coders = r.n_coders > 1 ? el("span", { class: "badge overlap" }, `${r.n_coders} coders`) : null;
    const gold = r.gold ? el("span", { class: "r-gold" }, el("strong", {}, "gold: "), r.gold.labels.join(", ") || "none applies") : null;
    return el("li", { class: "result", dataset: { passageId: r.passage_id } },
      el("div", { class: "r-head" }, el("strong", {}, r.title || r.doc_id), el("span", { class: "muted" }, " · " + where), coders),
      el("p", { class: "r-text" }, snippet(r.text, query)),
      el("div", { class: "r-meta" }, decisions.length ? decisions : el("span", { class: "muted" }, isReviewer ? "not labelled yet" : "not labelled by you"), gold,
        el("a", { class: "r-open", href: "/label?passage=" + encodeURIComponent(r.passage_id) }, "Open in the labelling view →")));
  }

  function fillChoices(d) {
    if (filled) return;
    filled = true;
    $("doc").append(...d.documents.map((x) => el("option", { value: x.doc_id }, `${x.title || x.doc_id} (${x.n_passages})`)));
    $("annotator").append(...d.annotators.map((name) => el("option", { value: name }, isReviewer ? name : `My decisions (${name})`)));
  }

  // Filters fire a search on every change; only the newest search's answer is shown,
  // whatever order the answers arrive in.
  let latest = 0;
  async function run(append) {
    const from = append ? offset : 0;
    const query = $("q").value;
    const ticket = ++latest;
    try {
      const d = await api("GET", "/api/passages?" + params(from).toString());
      if (ticket !== latest) return;
      fillChoices(d);
      const nodes = d.items.map((r) => item(r, query));
      if (append) results.append(...nodes); else results.replaceChildren(...nodes);
      offset = from + d.items.length;
      $("search-summary").textContent = d.total
        ? `${d.total} passage(s); showing ${offset}.`
        : "No passage matches.";
      more.hidden = offset >= d.total;
      document.body.dataset.ready = "true";
      document.body.dataset.searched = String(ticket);
    } catch (err) {
      if (ticket === latest) toast(err.message, "error");
    }
  }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); run(false); });
  for (const id of ["doc", "label", "annotator", "flagged", "all"]) $(id).addEventListener("change", () => run(false));
  more.addEventListener("click", () => run(true));
  run(false);
});
