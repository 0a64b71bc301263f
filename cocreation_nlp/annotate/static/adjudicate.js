/* Adjudication: disagreements side by side, the reviewer's decision becomes gold. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const { api, el, toast } = CC;
  const container = document.getElementById("items");
  const isReviewer = container.dataset.reviewer === "yes";
  const showResolved = document.getElementById("show-resolved");

  function decisionTable(item, labels) {
    const disputed = new Set(item.disputed_labels);
    const head = el("tr", {}, el("th", { scope: "col" }, "Annotator"),
      labels.map((name) => el("th", { scope: "col", class: disputed.has(name) ? "disputed" : null, title: name }, name)));
    const rows = item.decisions.map((d) => el("tr", {},
      el("th", { scope: "row" }, d.annotator, d.flagged ? el("span", { class: "badge flag" }, "flagged") : null,
        el("small", { class: "when" }, (d.updated_at || d.created_at).replace("T", " ").slice(0, 16) + " UTC")),
      labels.map((name) => {
        const on = d.labels.includes(name);
        return el("td", { class: (on ? "yes" : "no") + (disputed.has(name) ? " disputed" : ""), "aria-label": on ? "yes" : "no" }, on ? "✓" : "·");
      })));
    const comments = item.decisions.filter((d) => d.comment).map((d) =>
      el("li", {}, el("strong", {}, d.annotator + ": "), el("span", { class: "comment" }, d.comment)));
    return el("div", { class: "table-wrap" },
      el("table", { class: "data decisions" }, el("thead", {}, head), el("tbody", {}, rows)),
      comments.length ? el("ul", { class: "comments" }, comments) : null);
  }

  function goldForm(item, labels) {
    const chosen = new Set(item.gold ? item.gold.labels : item.suggestion);
    const status = el("p", { class: "muted", role: "status" },
      item.gold ? `Resolved by ${item.gold.reviewer} at ${item.gold.updated_at.replace("T", " ").slice(0, 19)} UTC: ${item.gold.labels.join(", ") || "none applies"}` : "Preselected: the majority of annotators.");
    const buttons = labels.map((name) => {
      const b = el("button", { type: "button", class: "toggle small", "aria-pressed": chosen.has(name) ? "true" : "false", disabled: !isReviewer }, name);
      b.classList.toggle("on", chosen.has(name));
      b.addEventListener("click", () => {
        if (chosen.has(name)) chosen.delete(name); else chosen.add(name);
        b.setAttribute("aria-pressed", chosen.has(name) ? "true" : "false");
        b.classList.toggle("on", chosen.has(name));
      });
      return b;
    });
    const comment = el("input", { class: "gold-comment", placeholder: "Reason (optional): which hard-case rule decides it?", maxlength: 5000, disabled: !isReviewer });
    if (item.gold) comment.value = item.gold.comment;
    const save = el("button", { type: "button", class: "primary", disabled: !isReviewer }, item.gold ? "Update gold label" : "Save gold label");
    save.addEventListener("click", async () => {
      try {
        const d = await api("POST", "/api/gold", { passage_id: item.passage.passage_id, labels: Array.from(chosen), comment: comment.value });
        status.textContent = `Gold saved by ${d.gold.reviewer}: ${d.gold.labels.join(", ") || "none applies"}`;
        save.textContent = "Update gold label";
        toast("Gold label saved.");
      } catch (err) {
        toast(err.message, "error");
      }
    });
    return el("div", { class: "gold" }, el("h4", {}, "Gold label"), el("div", { class: "toggles small" }, buttons), comment, save, status);
  }

  function card(item, labels) {
    const p = item.passage;
    const where = [p.heading ? "§ " + p.heading : "", p.page !== null && p.page !== undefined ? "page " + p.page : "", p.passage_id].filter(Boolean).join(" · ");
    return el("article", { class: "adj-card" + (item.gold ? " resolved" : ""), dataset: { passageId: p.passage_id } },
      el("header", {}, el("h3", {}, p.title || p.doc_id), el("p", { class: "muted" }, where)),
      el("p", { class: "context before" }, p.before || "(start of document)"),
      el("p", { class: "passage" }, p.text),
      el("p", { class: "context after" }, p.after || "(end of document)"),
      decisionTable(item, labels),
      goldForm(item, labels));
  }

  async function load() {
    try {
      const d = await api("GET", "/api/disagreements?include_resolved=" + (showResolved.checked ? "1" : "0"));
      container.replaceChildren(...d.items.map((item) => card(item, d.labels)));
      document.getElementById("adj-empty").hidden = d.items.length > 0;
      document.getElementById("adj-count").textContent = `${d.items.length} passage(s)`;
      document.body.dataset.ready = "true";
    } catch (err) {
      toast(err.message, "error");
    }
  }
  showResolved.addEventListener("change", load);
  load();
});
