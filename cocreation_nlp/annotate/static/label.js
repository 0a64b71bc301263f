/* Labelling view: keyboard-first.
 *
 * 1-7 toggle labels, Enter saves and goes on, u/Backspace reopens the last
 * answer, ←/→ move through this annotator's answers, s skips, f flags,
 * c focuses the comment, Space/PageDown scroll a long passage, h shows or
 * hides the rule terms, / searches the codebook, ? shows or hides it.
 *
 * The label bar (toggles, comment, Save) is sticky at the bottom of the
 * window, so it stays in view whatever the passage's length.
 */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const { api, toast, highlight, evidenceLegend } = CC;
  const $ = (id) => document.getElementById(id);
  const toggles = Array.from(document.querySelectorAll("#toggles .toggle"));
  const byKey = new Map(toggles.map((b) => [b.dataset.key, b]));
  const order = new Map(toggles.map((b, i) => [b.dataset.label, i]));

  const state = {
    passage: null,      // the passage on screen
    selected: new Set(),
    flagged: false,
    trail: [],          // passage ids this annotator answered, oldest first
    nav: 0,             // index into trail; trail.length = the queue's passage
    lastSaved: null,    // passage id of the most recent save (what "undo" reopens)
  };

  // lead_time: the time this version of the answer took, from the passage
  // appearing to the save (visible tab only, idle gaps capped; see CC.activeTimer).
  const timer = CC.activeTimer();

  // ------------------------------------------------------------ rendering

  function setContext(node, text, empty) {
    node.textContent = text || empty;
    node.classList.toggle("empty", !text);
  }

  function overlapBadge(passage) {
    const badge = $("badge-overlap");
    const coders = passage ? passage.coders || 1 : 1;
    badge.hidden = coders < 2;
    badge.textContent = `double-coded: ${coders} annotators`;
    badge.title = `This passage is in the agreement sample: ${coders} annotators label it independently. ` +
      "Label it on your own reading; the reviewer settles any difference.";
  }

  function render(passage, decision) {
    state.passage = passage;
    state.selected = new Set(decision && !decision.skipped ? decision.labels : []);
    state.flagged = Boolean(decision && decision.flagged);
    $("comment").value = decision ? decision.comment : "";
    $("badge-review").hidden = !decision;
    $("badge-skipped").hidden = !(decision && decision.skipped);
    overlapBadge(passage);
    $("evidence-legend").replaceChildren();
    const card = $("passage-card");
    window.scrollTo(0, 0);
    timer.take();  // a new item: start counting from zero
    if (!passage) {
      card.classList.add("finished");
      card.dataset.passageId = "";
      $("done").hidden = false;
      $("doc-title").textContent = "All done";
      for (const id of ["heading", "page", "position", "before", "passage-text", "after"]) $(id).textContent = "";
      paint();
      return;
    }
    card.classList.remove("finished");
    card.dataset.passageId = passage.passage_id;
    card.dataset.evidence = "pending";
    $("done").hidden = true;
    $("doc-title").textContent = passage.title || passage.doc_id;
    $("heading").textContent = passage.heading ? "§ " + passage.heading : "";
    $("page").textContent = passage.page !== null && passage.page !== undefined ? "page " + passage.page : "";
    $("position").textContent = passage.doc_passages ? `passage ${passage.doc_position} of ${passage.doc_passages}` : "";
    setContext($("before"), passage.before, "(start of document)");
    $("passage-text").textContent = passage.text;
    setContext($("after"), passage.after, "(end of document)");
    paint();
    loadEvidence(passage);
  }

  // Rule evidence comes in a request of its own, so the passage is never
  // held back by the rule matcher; it is applied only if the same passage is
  // still on screen.
  async function loadEvidence(passage) {
    const card = $("passage-card");
    try {
      const d = await api("GET", "/api/evidence?id=" + encodeURIComponent(passage.passage_id));
      if (state.passage !== passage) return;
      const spans = d.evidence.spans;
      highlight($("passage-text"), passage.text, spans, order);
      const legend = $("evidence-legend");
      if (spans.length) {
        legend.replaceChildren("Rule terms in this passage (h hides): ", ...evidenceLegend(spans, order));
      } else {
        legend.replaceChildren(d.evidence.note ? `No rule terms (${d.evidence.note}).` : "No rule terms in this passage.");
      }
      card.dataset.evidence = String(spans.length);
      CB.refresh();
    } catch (err) {
      if (state.passage === passage) card.dataset.evidence = "error";
    }
  }

  function paint() {
    for (const b of toggles) {
      const on = state.selected.has(b.dataset.label);
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.classList.toggle("on", on);
    }
    $("btn-flag").setAttribute("aria-pressed", state.flagged ? "true" : "false");
    $("badge-flag").hidden = !state.flagged;
    $("btn-back").disabled = state.nav <= 0;
    $("btn-forward").disabled = state.nav >= state.trail.length;
  }

  function showProgress(p) {
    if (!p) return;
    const pct = Math.round(100 * p.share);
    $("progress-bar").style.width = pct + "%";
    $("progressbar").setAttribute("aria-valuenow", String(pct));
    $("progress-text").textContent =
      `${p.done} labelled · ${p.skipped} skipped · ${p.remaining} left for you (project: ${p.project_labelled}/${p.project_passages} passages labelled)`;
  }

  async function loadQueue() {
    state.nav = state.trail.length;
    const d = await api("GET", "/api/next");
    render(d.passage, null);
    showProgress(d.progress);
  }

  async function loadAnswered(index) {
    state.nav = index;
    const d = await api("GET", "/api/passage?id=" + encodeURIComponent(state.trail[index]));
    render(d.passage, d.decision);
    showProgress(d.progress);
  }

  /** Open one passage by id (from the passage search), in place of the queue's. */
  async function loadOne(passageId) {
    const at = state.trail.indexOf(passageId);
    if (at !== -1) {
      await loadAnswered(at);
      return;
    }
    state.nav = state.trail.length;
    const d = await api("GET", "/api/passage?id=" + encodeURIComponent(passageId));
    render(d.passage, d.decision);
    showProgress(d.progress);
  }

  // Every action runs after the previous one has finished, so an annotator who
  // types ahead (Enter, then 3 at once) never loses a keystroke to a pending save.
  let chain = Promise.resolve();
  let pending = 0;
  function guarded(action) {
    pending += 1;
    document.body.dataset.pending = String(pending);
    chain = chain
      .then(action)
      .catch((err) => toast(err.message, "error"))
      .finally(() => {
        pending -= 1;
        document.body.dataset.pending = String(pending);
        paint();
      });
    return chain;
  }

  const back = () => guarded(async () => { if (state.nav > 0) await loadAnswered(state.nav - 1); });
  const forward = () => guarded(async () => {
    if (state.nav < state.trail.length - 1) await loadAnswered(state.nav + 1);
    else if (state.nav === state.trail.length - 1) await loadQueue();
  });
  const undo = () => guarded(async () => {
    if (!state.lastSaved) {
      if (state.trail.length) await loadAnswered(state.trail.length - 1);
      else toast("Nothing to undo yet.");
      return;
    }
    await loadAnswered(state.trail.indexOf(state.lastSaved));
    $("save-status").textContent = "Reopened your last answer: change it and press Enter (the earlier answer is kept in the history).";
  });

  const save = (skipped) => guarded(async () => {
    if (!state.passage) return;
    const passageId = state.passage.passage_id;
    const d = await api("POST", "/api/decisions", {
      passage_id: passageId,
      labels: skipped ? [] : Array.from(state.selected),
      comment: $("comment").value,
      flagged: state.flagged,
      skipped: Boolean(skipped),
      lead_time: timer.take(),
    });
    showProgress(d.progress);
    const labels = d.decision.labels;
    $("save-status").textContent = skipped
      ? "Skipped."
      : (d.decision.changed ? "Saved: " : "Unchanged: ") + (labels.length ? labels.join(", ") : "none applies");
    state.lastSaved = passageId;
    const at = state.trail.indexOf(passageId);
    if (at === -1) {
      state.trail.push(passageId);
      await loadQueue();
    } else if (at < state.trail.length - 1) {
      await loadAnswered(at + 1);
    } else {
      await loadQueue();
    }
  });

  const toggle = (button) => guarded(() => {
    if (!state.passage) return;
    const name = button.dataset.label;
    if (state.selected.has(name)) state.selected.delete(name);
    else state.selected.add(name);
    CB.pin(name);
  });

  const flag = () => guarded(() => {
    if (state.passage) state.flagged = !state.flagged;
  });

  /** Scroll a long passage by what is visible above the label bar (Space / PageDown). */
  function scrollPassage(direction) {
    const top = document.querySelector(".topbar").getBoundingClientRect().bottom;
    const bar = $("answer-bar").getBoundingClientRect().top;
    window.scrollBy({ top: direction * Math.max(60, bar - top - 40), behavior: "instant" });
  }

  function toggleEvidence() {
    const hidden = document.body.classList.toggle("hide-evidence");
    try { localStorage.setItem("cc-hide-evidence", hidden ? "1" : "0"); } catch (err) { /* private mode */ }
  }
  try {
    if (localStorage.getItem("cc-hide-evidence") === "1") document.body.classList.add("hide-evidence");
  } catch (err) { /* private mode */ }

  for (const b of toggles) {
    b.addEventListener("click", () => toggle(b));
    b.addEventListener("mouseenter", () => CB.hover(b.dataset.label));
    b.addEventListener("mouseleave", () => CB.hover(null));
    b.addEventListener("focus", () => CB.hover(b.dataset.label));
    b.addEventListener("blur", () => CB.hover(null));
  }
  $("btn-save").addEventListener("click", () => save(false));
  $("btn-skip").addEventListener("click", () => save(true));
  $("btn-flag").addEventListener("click", flag);
  $("btn-undo").addEventListener("click", undo);
  $("btn-back").addEventListener("click", back);
  $("btn-forward").addEventListener("click", forward);

  document.addEventListener("keydown", (ev) => {
    const target = ev.target;
    const typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
    if (typing) {
      if (ev.key === "Escape") { target.blur(); ev.preventDefault(); }
      else if (ev.key === "Enter" && target.id === "comment") { ev.preventDefault(); target.blur(); save(false); }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    const key = ev.key;
    let handled = true;
    if (byKey.has(key)) toggle(byKey.get(key));
    else if (key === "Enter") save(false);
    else if (key === "Backspace" || key === "u" || key === "U") undo();
    else if (key === "ArrowLeft") back();
    else if (key === "ArrowRight") forward();
    else if (key === "s" || key === "S") save(true);
    else if (key === "f" || key === "F") flag();
    else if (key === "c" || key === "C") $("comment").focus();
    else if (key === "h" || key === "H") toggleEvidence();
    else if (key === " " || key === "PageDown") scrollPassage(ev.shiftKey ? -1 : 1);
    else if (key === "PageUp") scrollPassage(-1);
    else if (key === "?") document.body.classList.toggle("hide-codebook");
    else handled = false;
    if (handled) ev.preventDefault();
  });

  guarded(async () => {
    const recent = await api("GET", "/api/decisions/recent?limit=200");
    state.trail = recent.decisions.map((d) => d.passage_id).reverse();
    const wanted = new URLSearchParams(window.location.search).get("passage");
    if (wanted) {
      // Opened from the passage search: show that passage first, then the queue.
      window.history.replaceState(null, "", window.location.pathname);
      await loadOne(wanted);
    } else {
      await loadQueue();
    }
    document.body.dataset.ready = "true";
  });
});
