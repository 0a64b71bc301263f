/* Labelling view: keyboard-first.
 *
 * 1-7 toggle labels, Enter saves and goes on, u/Backspace reopens the last
 * answer, ←/→ move through this annotator's answers, s skips, f flags,
 * c focuses the comment, ? shows or hides the codebook.
 */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const { api, toast } = CC;
  const $ = (id) => document.getElementById(id);
  const toggles = Array.from(document.querySelectorAll("#toggles .toggle"));
  const byKey = new Map(toggles.map((b) => [b.dataset.key, b]));

  const state = {
    passage: null,      // the passage on screen
    selected: new Set(),
    flagged: false,
    trail: [],          // passage ids this annotator answered, oldest first
    nav: 0,             // index into trail; trail.length = the queue's passage
    lastSaved: null,    // passage id of the most recent save (what "undo" reopens)
  };

  function setContext(node, text, empty) {
    node.textContent = text || empty;
    node.classList.toggle("empty", !text);
  }

  function render(passage, decision) {
    state.passage = passage;
    state.selected = new Set(decision && !decision.skipped ? decision.labels : []);
    state.flagged = Boolean(decision && decision.flagged);
    $("comment").value = decision ? decision.comment : "";
    $("badge-review").hidden = !decision;
    $("badge-skipped").hidden = !(decision && decision.skipped);
    const card = $("passage-card");
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
    $("done").hidden = true;
    $("doc-title").textContent = passage.title || passage.doc_id;
    $("heading").textContent = passage.heading ? "§ " + passage.heading : "";
    $("page").textContent = passage.page !== null && passage.page !== undefined ? "page " + passage.page : "";
    $("position").textContent = passage.doc_passages ? `passage ${passage.doc_position} of ${passage.doc_passages}` : "";
    setContext($("before"), passage.before, "(start of document)");
    $("passage-text").textContent = passage.text;
    setContext($("after"), passage.after, "(end of document)");
    paint();
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

  function highlightDefinition(name) {
    for (const d of document.querySelectorAll(".codebook .def")) d.classList.toggle("focus", d.dataset.label === name);
    const def = document.getElementById("def-" + name);
    if (def) def.scrollIntoView({ block: "nearest" });
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
    highlightDefinition(name);
  });

  const flag = () => guarded(() => {
    if (state.passage) state.flagged = !state.flagged;
  });

  for (const b of toggles) b.addEventListener("click", () => toggle(b));
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
    else if (key === "?") document.body.classList.toggle("hide-codebook");
    else handled = false;
    if (handled) ev.preventDefault();
  });

  guarded(async () => {
    const recent = await api("GET", "/api/decisions/recent?limit=200");
    state.trail = recent.decisions.map((d) => d.passage_id).reverse();
    await loadQueue();
    document.body.dataset.ready = "true";
  });
});
