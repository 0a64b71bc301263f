/* Adjudication: disagreements side by side, the reviewer's decision becomes gold.
 *
 * Keyboard-first like the labelling view: j/k move between passages, 1-7
 * toggle a gold label of the passage in focus, Enter saves it, r resets it
 * to the preselection, c writes the reason. A resolved passage leaves the
 * list at once (unless "show resolved" is on) and the next one takes focus.
 */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const { api, el, toast, highlight } = CC;
  const container = document.getElementById("items");
  const isReviewer = container.dataset.reviewer === "yes";
  const showResolved = document.getElementById("show-resolved");
  const countText = document.getElementById("adj-count");
  const ruleText = document.getElementById("adj-rule");

  let labels = [];
  let keys = new Map();     // key -> label name (from the codebook panel)
  let order = new Map();    // label name -> codebook position
  let cards = [];           // [{item, node, chosen, buttons, comment, status, save}]
  let current = -1;
  // lead_time of a gold label: the time its card was the one in focus (summed).
  const timer = CC.activeTimer();

  for (const def of document.querySelectorAll(".codebook .def")) {
    const key = def.querySelector("summary kbd");
    if (key) keys.set(key.textContent.trim(), def.dataset.label);
  }
  const keyOf = (name) => Array.from(keys.entries()).find(([, n]) => n === name)?.[0] || "";

  function when(stamp) {
    return (stamp || "").replace("T", " ").slice(0, 16) + " UTC";
  }

  function decisionTable(item) {
    const disputed = new Set(item.disputed_labels);
    const head = el("tr", {}, el("th", { scope: "col" }, "Annotator"),
      labels.map((name) => el("th", { scope: "col", class: disputed.has(name) ? "disputed" : null, title: name }, name)));
    const rows = item.decisions.map((d) => el("tr", {},
      el("th", { scope: "row" }, d.annotator, d.flagged ? el("span", { class: "badge flag" }, "flagged") : null,
        el("small", { class: "when" }, when(d.updated_at || d.created_at))),
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

  function paintCard(card) {
    for (const b of card.buttons) {
      const on = card.chosen.has(b.dataset.label);
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.classList.toggle("on", on);
    }
  }

  function toggleGold(card, name) {
    if (!isReviewer) return;
    if (card.chosen.has(name)) card.chosen.delete(name); else card.chosen.add(name);
    paintCard(card);
    CB.pin(name);
  }

  function resetGold(card) {
    if (!isReviewer) return;
    card.chosen = new Set(card.item.suggestion);
    paintCard(card);
    card.status.textContent = "Back to the preselection.";
  }

  function goldForm(card) {
    const item = card.item;
    const disputed = new Set(item.disputed_labels);
    card.buttons = labels.map((name) => {
      const key = keyOf(name);
      const b = el("button", {
        type: "button", class: "toggle small" + (disputed.has(name) ? " disputed" : ""),
        "aria-pressed": "false", disabled: !isReviewer, dataset: { label: name },
        title: disputed.has(name) ? "Disputed: the annotators differ on this label" : null,
      }, key ? el("kbd", {}, key) : null, " " + name);
      b.addEventListener("click", () => { focusCard(cards.indexOf(card), false); toggleGold(card, name); });
      b.addEventListener("mouseenter", () => CB.hover(name));
      b.addEventListener("mouseleave", () => CB.hover(null));
      return b;
    });
    paintCard(card);
    card.comment = el("input", { class: "gold-comment", placeholder: "Reason (optional; c): which hard-case rule decides it?", maxlength: 5000, disabled: !isReviewer, "aria-label": "Reason for the gold label" });
    if (item.gold) card.comment.value = item.gold.comment;
    card.comment.addEventListener("focus", () => focusCard(cards.indexOf(card), false));
    card.save = el("button", { type: "button", class: "primary", disabled: !isReviewer }, item.gold ? "Update gold label ⏎" : "Save gold label ⏎");
    card.save.addEventListener("click", () => saveGold(card));
    const preselected = item.suggestion.length ? item.suggestion.join(", ") : "none applies";
    card.status = el("p", { class: "muted", role: "status" },
      item.gold
        ? `Resolved by ${item.gold.reviewer} at ${when(item.gold.updated_at)}: ${item.gold.labels.join(", ") || "none applies"}`
        : `Preselected: ${preselected}.`);
    return el("div", { class: "gold" }, el("h4", {}, "Gold label"), el("div", { class: "toggles small" }, card.buttons),
      el("div", { class: "gold-row" }, card.comment, card.save), card.status);
  }

  function buildCard(item) {
    const p = item.passage;
    const where = [p.heading ? "§ " + p.heading : "", p.page !== null && p.page !== undefined ? "page " + p.page : "", p.passage_id].filter(Boolean).join(" · ");
    const card = { item, chosen: new Set(item.gold ? item.gold.labels : item.suggestion), evidence: false, spent: 0 };
    card.text = el("p", { class: "passage" }, p.text);
    card.node = el("article", { class: "adj-card" + (item.gold ? " resolved" : ""), dataset: { passageId: p.passage_id }, tabindex: "-1" },
      el("header", {}, el("h3", {}, p.title || p.doc_id), el("p", { class: "muted" }, where)),
      el("p", { class: "context before" }, p.before || "(start of document)"),
      card.text,
      el("p", { class: "context after" }, p.after || "(end of document)"),
      decisionTable(item),
      goldForm(card));
    card.node.addEventListener("click", () => focusCard(cards.indexOf(card), false));
    return card;
  }

  async function loadEvidence(card) {
    if (card.evidence) return;
    card.evidence = true;
    try {
      const d = await api("GET", "/api/evidence?id=" + encodeURIComponent(card.item.passage.passage_id));
      highlight(card.text, card.item.passage.text, d.evidence.spans, order);
      CB.refresh();
    } catch (err) { /* the passage stays readable without highlights */ }
  }

  function focusCard(index, scroll = true) {
    if (index < 0 || index >= cards.length || index === current) return;
    const before = current >= 0 ? cards[current] : null;
    const spent = timer.take();
    if (before) before.spent += spent;
    if (current >= 0 && current < cards.length && cards[current]) {
      cards[current].node.classList.remove("current");
      cards[current].node.removeAttribute("aria-current");
    }
    current = index;
    const card = cards[current];
    card.node.classList.add("current");
    card.node.setAttribute("aria-current", "true");
    document.body.dataset.current = card.item.passage.passage_id;
    if (scroll) card.node.scrollIntoView({ block: "start" });
    loadEvidence(card);
  }

  function updateCount() {
    const open = cards.filter((c) => !c.item.gold).length;
    countText.textContent = showResolved.checked
      ? `${cards.length} passage(s), ${open} unresolved`
      : `${cards.length} passage(s) to resolve`;
    document.getElementById("adj-empty").hidden = cards.length > 0;
  }

  let saving = Promise.resolve();
  let pending = 0;
  function saveGold(card) {
    if (!isReviewer) return Promise.resolve();
    pending += 1;
    document.body.dataset.pending = String(pending);
    saving = saving.then(async () => {
      if (!cards.includes(card)) return;
      try {
        if (cards[current] === card) card.spent += timer.take();
        const d = await api("POST", "/api/gold", {
          passage_id: card.item.passage.passage_id, labels: Array.from(card.chosen), comment: card.comment.value,
          lead_time: Math.round(card.spent * 1000) / 1000,
        });
        card.spent = 0;
        const text = d.gold.labels.join(", ") || "none applies";
        card.item.gold = d.gold;
        toast(`Gold label saved: ${text}.`);
        const at = cards.indexOf(card);
        if (showResolved.checked) {
          card.node.classList.add("resolved");
          card.status.textContent = `Gold saved by ${d.gold.reviewer}: ${text}`;
          card.save.textContent = "Update gold label ⏎";
          focusCard(Math.min(at + 1, cards.length - 1));
        } else {
          // Resolved: the card leaves the list now, no reload needed; the next one takes focus.
          cards.splice(at, 1);
          card.node.remove();
          current = -1;
          if (cards.length) focusCard(Math.min(at, cards.length - 1));
          else document.body.dataset.current = "";
        }
        updateCount();
      } catch (err) {
        toast(err.message, "error");
      }
    }).finally(() => {
      pending -= 1;
      document.body.dataset.pending = String(pending);
    });
    return saving;
  }

  let latest = 0;
  async function load() {
    const ticket = ++latest;
    try {
      const d = await api("GET", "/api/disagreements?include_resolved=" + (showResolved.checked ? "1" : "0"));
      if (ticket !== latest) return;  // the box was toggled again meanwhile
      labels = d.labels;
      order = new Map(labels.map((name, i) => [name, i]));
      if (d.preselect_rule) ruleText.textContent = d.preselect_rule;
      const keep = current >= 0 && cards[current] ? cards[current].item.passage.passage_id : null;
      cards = d.items.map(buildCard);
      container.replaceChildren(...cards.map((c) => c.node));
      current = -1;
      const again = keep ? cards.findIndex((c) => c.item.passage.passage_id === keep) : -1;
      if (cards.length) focusCard(again >= 0 ? again : 0, false);
      updateCount();
      document.body.dataset.ready = "true";
    } catch (err) {
      toast(err.message, "error");
    }
  }

  document.addEventListener("keydown", (ev) => {
    const target = ev.target;
    const typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
    const card = current >= 0 ? cards[current] : null;
    if (typing) {
      if (ev.key === "Escape") { target.blur(); ev.preventDefault(); }
      else if (ev.key === "Enter" && card && target === card.comment) { ev.preventDefault(); target.blur(); saveGold(card); }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    const key = ev.key;
    let handled = true;
    if (key === "j" || key === "J") focusCard(current + 1);
    else if (key === "k" || key === "K") focusCard(current - 1);
    else if (key === "?") document.body.classList.toggle("hide-codebook");
    else if (!card) handled = false;
    else if (keys.has(key)) toggleGold(card, keys.get(key));
    else if (key === "Enter") saveGold(card);
    else if (key === "r" || key === "R") resetGold(card);
    else if ((key === "c" || key === "C") && isReviewer) card.comment.focus();
    else handled = false;
    if (handled) ev.preventDefault();
  });

  showResolved.addEventListener("change", load);
  load();
});
