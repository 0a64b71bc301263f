/* Agreement table, pairwise kappa, annotators and project settings. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const { api, el, toast, fmt } = CC;

  function band(alpha) {
    if (alpha === null || alpha === undefined) return "undef";
    if (alpha >= 0.8) return "good";
    if (alpha >= 0.667) return "fair";
    return "poor";
  }

  async function loadAgreement() {
    const d = await api("GET", "/api/agreement");
    const a = d.agreement;
    const s = a.summary;
    document.getElementById("agreement-summary").textContent =
      `${a.n_shared_items} passage(s) labelled by two or more annotators, ${a.n_decisions} decisions in all; ` +
      (s.n_labels ? `mean α ${fmt(s.mean_alpha)}, lowest ${fmt(s.min_alpha)} (${s.weakest_label}).` : "no label has a defined α yet.") +
      ` Codebook ${a.codebook_version}; interval from ${a.n_boot} bootstrap resamples of passages.`;
    const body = document.querySelector("#agreement-table tbody");
    body.replaceChildren(...a.labels.map((r) => el("tr", { class: "band-" + band(r.alpha) },
      el("th", { scope: "row" }, r.label),
      el("td", { class: "num" }, fmt(r.alpha)),
      el("td", { class: "num" }, r.alpha_low === null ? "–" : `${fmt(r.alpha_low)} – ${fmt(r.alpha_high)}`),
      el("td", { class: "num" }, String(r.n_items)),
      el("td", { class: "num" }, r.percent_agreement === null ? "–" : fmt(100 * r.percent_agreement, 1) + "%"),
      el("td", { class: "num" }, String(r.n_positive)))));

    const pairs = a.labels.length ? a.labels[0].pairwise.map((p) => [p.annotator_a, p.annotator_b, p.n_items]) : [];
    const kHead = document.querySelector("#kappa-table thead");
    const kBody = document.querySelector("#kappa-table tbody");
    kHead.replaceChildren(el("tr", {}, el("th", { scope: "col" }, "Pair"), el("th", { scope: "col" }, "Shared passages"),
      a.labels.map((r) => el("th", { scope: "col" }, r.label))));
    kBody.replaceChildren(...pairs.map(([x, y, n], i) => el("tr", {},
      el("th", { scope: "row" }, `${x} × ${y}`), el("td", { class: "num" }, String(n)),
      a.labels.map((r) => el("td", { class: "num band-" + band(r.pairwise[i].kappa) }, fmt(r.pairwise[i].kappa))))));
    if (!pairs.length) kBody.replaceChildren(el("tr", {}, el("td", { colspan: 2 + a.labels.length }, "No two annotators share a passage yet.")));

    document.querySelector("#annotator-table tbody").replaceChildren(...d.annotators.map((x) => el("tr", {},
      el("th", { scope: "row" }, x.name), el("td", { class: "num" }, String(x.n_decisions)),
      el("td", { class: "num" }, String(x.n_skipped)), el("td", {}, x.last_seen_at.replace("T", " ").slice(0, 19)))));
  }

  async function loadSettings() {
    const d = await api("GET", "/api/settings");
    for (const [name, value] of Object.entries(d.settings)) {
      const input = document.getElementById("set-" + name);
      if (input) input.value = Array.isArray(value) ? value.join(", ") : String(value);
    }
  }

  const form = document.getElementById("settings-form");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    // Every field of the form is a declared setting; the server validates and converts the values.
    const changes = {};
    for (const [name, value] of new FormData(form)) changes[name] = String(value).trim();
    try {
      await api("POST", "/api/settings", changes);
      toast("Settings saved.");
      await loadSettings();
    } catch (err) {
      toast(err.message + (err.data && err.data.errors ? " " + err.data.errors.join("; ") : ""), "error");
    }
  });

  Promise.all([loadAgreement(), loadSettings()])
    .then(() => { document.body.dataset.ready = "true"; })
    .catch((err) => toast(err.message, "error"));
});
