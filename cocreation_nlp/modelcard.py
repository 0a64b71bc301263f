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


def document_scores_section(meta: dict) -> list[str]:
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
    if meta.get("kind") == "finetuned":
        tc = meta.get("train_config", {})
        layers = (
            "every layer and the embeddings (end to end)"
            if tc.get("train_layers", 0) <= 0
            else f"the top {tc.get('train_layers')} encoder layers (lower layers frozen)"
        )
        base_files = "\n".join(f"  - `{k}`: sha256 `{v}`" for k, v in sorted(meta.get("files", {}).items()))
        details = [
            f"- Kind: finetuned. all-MiniLM-L6-v2 ({meta.get('base', {}).get('source', {})}) with a linear multi-label head on mean-pooled token states; "
            f"trained: {layers}, {tc.get('epochs')} epochs, {tc.get('loss')} loss"
            + (
                f" with per-label positive weights ((neg/pos)^{tc.get('pos_weight_power')}, capped at {tc.get('max_pos_weight')})"
                if tc.get("loss") == "bce"
                else ""
            )
            + f", length-bucketed batches of {tc.get('batch_size')}, max {tc.get('max_length')} word pieces.",
            f"- Input: the passage, and {'its heading and list lead-in as the second segment of a sentence pair' if tc.get('context') != 'none' else 'nothing else (no context)'}.",
            f"- Calibration: Platt scaling per label on grouped out-of-fold logits; decision thresholds per label tuned for F1 on the same out-of-fold predictions. Runtime: ONNX ({meta.get('quantization')}), onnxruntime + tokenizers, no torch.",
            f"- Files:\n{base_files}",
        ]
    else:
        details = [
            f"- Kind: {meta.get('kind', 'single')}. Features: sentence embeddings from `{emb.get('name', '')}` ({emb.get('kind', '')}, {emb.get('dim', '')} dimensions) plus rule-lexicon features ({meta.get('rules', {}).get('lexicon_version', '')}).",
            "- Head: one logistic regression per label (class-balanced), regularisation chosen per label on inner grouped folds, Platt-calibrated on inner out-of-fold logits, decision threshold per label tuned for F1 on the same inner folds.",
            f"- Embedder source: {emb.get('source', 'n/a')}",
            f"- Embedder files:\n{files}" if files else "- Embedder files: n/a",
        ]
        if meta.get("distillation"):
            d = meta["distillation"]
            details.append(
                f"- Distilled: also learns the soft labels of teacher `{d['teacher']}` ({d['teacher_kind']}) on {d['soft_passages']} passages "
                f"without a human label from {d['soft_documents']} train documents (weight {d['weight']}); never a reserved document."
            )
    lines = [
        f"# Passage classifier `{meta['model_id']}`",
        "",
        "## Model details",
        f"- Task: {meta.get('task', '')}; labels (codebook {meta.get('codebook_version')}): {', '.join(meta['labels'])}.",
        *details,
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
        f"- {tr.get('n_examples', '?')} hand-labelled passages from {tr.get('n_documents', '?')} `train`-split documents "
        "(annotations in `annotations/`, standoff references resolved at run time against the corpora they name, "
        "`corpora/open-policy` and `corpora/public-services` for the shipped models; `reserved` documents never used).",
        f"- Positive passages per label: {', '.join(f'{k} {v}' for k, v in tr.get('label_counts', {}).items())}.",
        f"- Languages: {', '.join(f'{k} {v}' for k, v in tr.get('languages', {}).items())}.",
        f"- Training-data fingerprint: `{tr.get('sha256', '')}`; stale annotation records skipped: {tr.get('n_stale_records', 0)}.",
        "",
        "## Evaluation",
    ]
    if cv:
        intro = (
            "Cross-validation grouped by document (5-fold GroupKFold), so no document's passages sit on both sides "
            "of a fold; the Platt scaling and thresholds applied to each fold are fitted on the other folds' "
            "out-of-fold logits (cross-fitted), never on the passages they score."
            if meta.get("kind") == "finetuned"
            else "Nested cross-validation grouped by document (outer folds report, inner folds tune), so no document's "
            "passages sit on both sides of a fold and no threshold is tuned on the passages that score it."
        )
        lines += [
            intro,
            "",
            _metrics_table(cv, base),
            "Brier scores: "
            + ", ".join(f"{k} {v.get('brier', float('nan')):.3f}" for k, v in cv["labels"].items())
            + ".",
        ]
    scored = meta.get("metrics", {}).get("as_scored")
    if scored and cv:
        lines += [
            "",
            f"As `score` uses it (the model inside its languages, {', '.join(meta.get('languages', []))}; the rule "
            f"lexicon for the other {scored.get('n_rules', 0)} passages): macro-F1 **{scored['macro_f1']:.3f}** "
            "on the same out-of-fold predictions ("
            + ", ".join(f"{k} {v['f1']:.3f}" for k, v in scored["labels"].items())
            + ").",
        ]
    scope = meta.get("language_scope")
    if scope:
        lines += [
            "",
            "### Languages beyond the embedder's",
            "",
            "The embedder is English, but TF-IDF and rule features learn from every labelled passage; a language joins "
            "the model's scope where its grouped out-of-fold macro-F1 beats the rule lexicon's on the same passages, "
            "otherwise its passages get rule-only predictions.",
            "",
            "| language | passages | documents | model macro-F1 | rules macro-F1 | in scope | note |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for lang, r in scope.items():
            m = f"{r['model_macro_f1']:.3f}" if "model_macro_f1" in r else ""
            b = f"{r['rules_macro_f1']:.3f}" if "rules_macro_f1" in r else ""
            lines.append(
                f"| {lang} | {r['passages']} | {r['documents']} | {m} | {b} | {'yes' if r['in_scope'] else 'no'} | {r.get('reason', '')} |"
            )
    if meta.get("metrics", {}).get("protocol"):
        lines += ["", f"Protocol: {meta['metrics']['protocol']}."]
    wo = meta.get("metrics", {}).get("without_distillation")
    if wo and cv:
        lines += [
            "",
            "### With and without distillation (same folds)",
            "",
            "| label | F1 without | F1 with |",
            "| --- | --- | --- |",
            *[f"| {lab} | {wo['labels'][lab]['f1']:.3f} | {cv['labels'][lab]['f1']:.3f} |" for lab in LABELS],
            f"| **macro** | {wo['macro_f1']:.3f} | {cv['macro_f1']:.3f} |",
        ]
    an = meta.get("metrics", {}).get("analysis")
    if an:
        from .evalstats import analysis_markdown

        lines += [
            "",
            "### Intervals, calibration and languages",
            "",
            "Out-of-fold predictions; intervals are percentile bootstrap intervals resampling documents; "
            "ECE = expected calibration error (10 equal-width bins).",
            "",
            analysis_markdown(an, title_level="####"),
        ]
    if meta.get("int8_check"):
        c = meta["int8_check"]
        lines += [
            "",
            f"int8 check on the folds: macro-F1 {c['int8_macro_f1']:.3f} int8 vs {c['fp32_macro_f1']:.3f} fp32 (tolerance {c['tolerance']}): shipped {c['chosen']}.",
        ]
    extra = meta.get("comparison")
    if extra:
        lines += ["", "### Embedder comparison (same grouped folds)", "", extra]
    lines += document_scores_section(meta)
    lines += [
        "",
        "## Limitations",
        "- Few positive examples for `professionals`, `cocreation` and `systemic` in the training corpus: their figures carry wide uncertainty.",
        "- Trained on the documents listed under Training data (for the shipped models: open-government and digital-service guidance, and health, social care, education, housing and welfare programme documents in six languages); other genres may shift the labels' base rates.",
        "- Labels are one annotator's reading per passage, a share of them double-coded with disagreements adjudicated; see `annotations/README.md` for agreement.",
        "",
        "## Framework versions",
        "\n".join(f"- {k}: {v}" for k, v in sorted(meta.get("versions", {}).items())),
        "",
    ]
    return "\n".join(lines)
