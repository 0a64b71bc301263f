"""Model cards: the README.md of a model folder, generated from its meta.json."""

from __future__ import annotations

from .codebook import LABELS


def _metrics_table(metrics: dict, baseline: dict | None = None) -> str:
    head = "| label | precision | recall | F1 | support |" + (" rules F1 |" if baseline else "") + "\n"
    head += "| --- | --- | --- | --- | --- |" + (" --- |" if baseline else "") + "\n"
    rows = []
    for label in LABELS:
        m = metrics["labels"][label]
        row = f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
        if baseline:
            row += f" {baseline['labels'][label]['f1']:.3f} |"
        rows.append(row)
    macro = f"| **macro** | | | **{metrics['macro_f1']:.3f}** | |" + (
        f" {baseline['macro_f1']:.3f} |" if baseline else ""
    )
    return head + "\n".join(rows) + "\n" + macro + "\n"


def _document_scores_section(meta: dict) -> list[str]:
    """Quantification rates and the document-level validity table (``cocreation evaluate --documents --record``)."""
    from .validity_tables import validity_markdown

    q = meta.get("quantification")
    v = meta.get("document_validity")
    if not q and not v:
        return []
    lines = ["", "## Document scores", ""]
    if q and q.get("model"):
        m = q["model"]
        lines += [
            "Document counts are estimated by quantification (the `basis` setting): the classifier's grouped "
            f"out-of-fold rates on {m['n_passages']} passages from {m['n_documents']} documents are saved in "
            '`meta.json["quantification"]` (`model`: passages in the model\'s languages; `rules`: the rule '
            "fallback). Rates pooled over passages; sd across documents (random effects) in brackets.",
            "",
            "| count | positives | tpr | fpr | mean p (positives) | mean p (negatives) |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name, r in m["variables"].items():

            def f(x: dict) -> str:
                return f"{x['mean']:.3f} ({x['between_doc_var'] ** 0.5:.3f})"

            lines.append(
                f"| {name} | {r['n_positive']} | {f(r['tpr'])} | {f(r['fpr'])} "
                f"| {f(r['mean_prob_positive']['max'])} | {f(r['mean_prob_negative']['max'])} |"
            )
    if v:
        lines += [
            "",
            validity_markdown(v, title="Validity against complete-document gold").replace("# ", "### ", 1),
        ]
    return lines


def render_model_card(meta: dict) -> str:
    """Render a model card (SetFit's sections, cut down) from a model's meta.json."""
    tr = meta.get("training", {})
    cv = meta.get("metrics", {}).get("cross_validated")
    base = meta.get("metrics", {}).get("rules_baseline")
    emb = meta.get("embedder", {})
    files = "\n".join(f"  - `{k}`: sha256 `{v}`" for k, v in sorted(emb.get("files", {}).items()))
    lines = [
        f"# Passage classifier `{meta['model_id']}`",
        "",
        "## Model details",
        f"- Task: {meta.get('task', '')}; labels (codebook {meta.get('codebook_version')}): {', '.join(meta['labels'])}.",
        f"- Kind: {meta.get('kind', 'single')}. Features: sentence embeddings from `{emb.get('name', '')}` ({emb.get('kind', '')}, {emb.get('dim', '')} dimensions) plus rule-lexicon features ({meta.get('rules', {}).get('lexicon_version', '')}).",
        "- Head: one logistic regression per label (class-balanced), regularisation chosen per label on inner grouped folds, Platt-calibrated on inner out-of-fold logits, decision threshold per label tuned for F1 on the same inner folds.",
        f"- Embedder source: {emb.get('source', 'n/a')}",
        f"- Embedder files:\n{files}" if files else "- Embedder files: n/a",
        f"- Created: {meta.get('created_at', '')}; cocreation_nlp {meta.get('versions', {}).get('cocreation_nlp', '')}.",
        "",
        "## Intended use",
        "Scoring passages of public-policy documents and programme reports for how they treat citizen participation "
        "(Bassi 2022): individual and collective actors, front-line professionals, co-creation versus consultation, "
        "equity and lasting organisational change. Probabilities feed the document blind-spot scores.",
        "",
        "## Out-of-scope use",
        f"- Languages other than {', '.join(meta.get('languages', []))}: such passages get rule-only predictions, marked in the output, never a silent model guess.",
        "- Individual-level decisions about people or organisations; texts that are not policy or programme documents.",
        "",
        "## Training data",
        f"- {tr.get('n_examples', '?')} hand-labelled passages from {tr.get('n_documents', '?')} `train`-split documents of the open-policy corpus "
        "(annotations in `annotations/`, standoff references resolved against the corpus at run time; `reserved` documents never used).",
        f"- Positive passages per label: {', '.join(f'{k} {v}' for k, v in tr.get('label_counts', {}).items())}.",
        f"- Languages: {', '.join(f'{k} {v}' for k, v in tr.get('languages', {}).items())}.",
        f"- Training-data fingerprint: `{tr.get('sha256', '')}`; stale annotation records skipped: {tr.get('n_stale_records', 0)}.",
        "",
        "## Evaluation",
    ]
    if cv:
        lines += [
            "Nested cross-validation grouped by document (outer folds report, inner folds tune), so no document's "
            "passages sit on both sides of a fold and no threshold is tuned on the passages that score it.",
            "",
            _metrics_table(cv, base),
            "Brier scores: "
            + ", ".join(f"{k} {v.get('brier', float('nan')):.3f}" for k, v in cv["labels"].items())
            + ".",
        ]
    lines += _document_scores_section(meta)
    extra = meta.get("comparison")
    if extra:
        lines += ["", "### Embedder comparison (same grouped folds)", "", extra]
    lines += [
        "",
        "## Limitations",
        "- Few positive examples for `professionals`, `cocreation` and `systemic` in the training corpus: their figures carry wide uncertainty.",
        "- Trained on English government digital-service, open-government and participation documents; other genres may shift the labels' base rates.",
        "- Labels are one annotator's reading per passage (300 passages double-coded, disagreements adjudicated); see `annotations/README.md` for agreement.",
        "",
        "## Framework versions",
        "\n".join(f"- {k}: {v}" for k, v in sorted(meta.get("versions", {}).items())),
        "",
    ]
    return "\n".join(lines)
