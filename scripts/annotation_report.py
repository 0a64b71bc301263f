"""Write annotations/README.md: what was labelled, how reliably, and how the rules alone do.

Usage:
    .venv/bin/python scripts/annotation_report.py annotations/ [--corpus corpora/open-policy/manifest.csv]

Everything in the report is computed here from the committed records and the
corpus (read at run time): counts, per-label Krippendorff's alpha between
the two independent passes with a bootstrap interval, Cohen's kappa, and
the rule lexicon's precision/recall/F1 against the final labels.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cocreation_nlp.agreement import bootstrap_alpha, cohen_kappa  # noqa: E402
from cocreation_nlp.annotate.records import read_records  # noqa: E402
from cocreation_nlp.annotations import default_corpus, resolve_records  # noqa: E402
from cocreation_nlp.carry_over import record_origins  # noqa: E402
from cocreation_nlp.codebook import LABELS, load_codebook  # noqa: E402
from cocreation_nlp.train import rules_baseline  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--corpus", type=Path, action="append")
    ap.add_argument("--n-boot", type=int, default=2000)
    args = ap.parse_args()
    corpus = args.corpus or default_corpus()
    pass1 = read_records(args.folder / "pass1.jsonl")
    pass2 = read_records(args.folder / "pass2.jsonl")
    adjudicated = read_records(args.folder / "adjudicated.jsonl")
    gold = resolve_records(pass1 + adjudicated, corpus)
    manifest = next((Path(c) for c in corpus if Path(c).name == "manifest.csv"), None)
    split = {}
    if manifest:
        with manifest.open(encoding="utf-8") as fh:
            split = {r["doc_id"]: r["split"] for r in csv.DictReader(fh)}
    train_docs = {d for d, s in split.items() if s == "train"}
    reserved_used = sorted({r.doc_id for r in pass1 + pass2 if split.get(r.doc_id) == "reserved"})

    # Pairs are matched on the passages as they were labelled: a record carried over to a
    # new segmentation (or merged into a union) still names its original passage(s).
    p1 = {origin: set(r.labels) for r in pass1 for origin in record_origins(r)}
    p2 = {origin: set(r.labels) for r in pass2 for origin in record_origins(r)}
    both = sorted(set(p1) & set(p2))
    lines = [
        "# Annotations",
        "",
        f"Hand labels of passages from the `train` split of the open-policy corpus, coded against codebook {load_codebook().version} "
        "(`../shared/codebook.md`). Every label was decided by an annotator (one annotation session per batch) reading the passage against the codebook; no label was derived "
        "from the project's rules or models. The hard cases and how they were decided are in [GUIDE.md](GUIDE.md).",
        "",
        "## Files",
        "",
        "Standoff records (the `AnnotationRecord` JSONL schema of `cocreation_nlp/annotate/records.py`): `doc_id`, `passage_id`, passage "
        "`fingerprint`, character offsets, `labels`, `annotator`, `created_at`, `codebook_version`, an optional comment. The passage text is "
        "**not** stored: it is resolved against the corpus at run time, and a record whose fingerprint no longer matches is reported as stale.",
        "",
        f"- `pass1.jsonl`: first-pass labels, {len(pass1)} passages (annotators ann-b01 ... ann-b20, one batch each).",
        f"- `pass2.jsonl`: an independent second pass over {len(pass2)} of them (ann-s01, ann-s02), made without seeing the first.",
        f"- `adjudicated.jsonl`: {len(adjudicated)} reviewer decisions on the passages where the passes disagreed (`gold: true`); they override the first pass.",
        "- Final labels = `pass1` with `adjudicated` overriding (what `cocreation train annotations/pass1.jsonl annotations/adjudicated.jsonl` reads; "
        "a gold record always wins over an ordinary one).",
        "",
        "## What was labelled",
        "",
        f"- {len(gold)} passages resolve against the corpus, from {len(set(gold.doc_ids))} documents"
        + (
            f" (the train split has {len(train_docs)}"
            + (
                ": every one is covered)"
                if train_docs <= set(gold.doc_ids)
                else f"; {len(train_docs - set(gold.doc_ids))} have none now)"
            )
            if train_docs
            else ""
        )
        + f"; {len(gold.stale)} final decisions do not resolve (stale): their passage text changed with the parser. They are "
        "reported, not dropped silently. See *Carried over* below for the parsing-fidelity change of segmentation.",
        f"- Reserved documents labelled: {len(reserved_used)} (must be 0).",
        "- Selection: 15 random passages per train document, then passages screened by a crude keyword list (written for sampling only, "
        "not the rule lexicon) to oversample the rarer labels, a random fill round-robin over documents, one batch drawn for rare labels, "
        "and finally **every remaining train passage of 8 words or more** (so the rarer labels are as well covered as the corpus allows). "
        "Passages under 8 words not drawn earlier (table cells, headings, fragments) were not labelled.",
        f"- Languages: {', '.join(f'{k} {v}' for k, v in Counter(gold.languages).most_common())}.",
        "",
        "| label | positive passages | share |",
        "| --- | --- | --- |",
    ]
    counts = gold.label_counts()
    for label in LABELS:
        lines.append(f"| {label} | {counts[label]} | {counts[label] / max(len(gold), 1):.1%} |")
    none = int((gold.y.sum(axis=1) == 0).sum())
    lines += [f"| (no label) | {none} | {none / max(len(gold), 1):.1%} |", ""]
    short = [label for label in LABELS if counts[label] < 80]
    if short:
        lines += [
            f"**Below the 80-positive target: {', '.join(short)}.** The whole train split was read (every passage of 8+ words), so this is "
            "what the corpus holds: its documents are mostly digital-service and open-government guidance in which front-line workers "
            "rarely appear. More positives need more documents of the kind the codebook is about (health, education, social care "
            "programme reports), not harder sampling.",
            "",
        ]
    carried = args.folder / "carry-over-issue10.json"
    if carried.exists():
        import json

        data = json.loads(carried.read_text(encoding="utf-8"))
        f1 = data["files"]["pass1"]
        lines += [
            "## Carried over after the parsing-fidelity change (issue 10)",
            "",
            "The parser now keeps headings and tables as rows of their own (not labelling units) and groups list items and short "
            "lines with the paragraph they belong to, so most passages changed. Records were mapped with "
            "`scripts/carry_over_annotations.py` (library: `cocreation_nlp/carry_over.py`) from a snapshot of the passages taken with "
            "the old code: a new passage whose text is an old passage's text keeps its labels; a new passage that is exactly the union "
            "of old passages whose final labels were all the same gets those labels; everything else is reported, never guessed. "
            "Every moved record keeps its annotator, time, comment and gold flag, and notes the move in its history.",
            "",
            "| pass 1 records | count |",
            "| --- | --- |",
            f"| carried exactly (same text; {f1.get('exact_unchanged', 0)} with unchanged ids) "
            f"| {f1.get('exact_moved', 0) + f1.get('exact_unchanged', 0) + f1.get('stale_before_matches_again', 0)} |",
            f"| merged into union passages | {f1.get('union_records_merged', 0)} records into {f1.get('union_records_written', 0)} |",
            f"| not carried: the new passage needs labels (relabel queue) | {f1.get('reported_relabel', 0)} |",
            f"| not carried: the text is now a heading or a table (not labelled) | {f1.get('reported_now_heading_or_table', 0)} |",
            f"| not carried: the text is gone (site-generator page data, garbled chart labels) | {f1.get('reported_text_not_found', 0)} |",
            f"| not carried: the new passage got labels from other records | {f1.get('reported_covered_by_other_carried_records', 0)} |",
            f"| stale already before the change (kept) | {f1.get('already_stale_kept', 0)} |",
            "",
            f"Second pass: {data['files']['pass2'].get('exact_moved', 0) + data['files']['pass2'].get('exact_unchanged', 0)} of "
            f"{len(pass2)} carried exactly; adjudicated: {data['files']['adjudicated'].get('exact_moved', 0) + data['files']['adjudicated'].get('exact_unchanged', 0)} "
            f"of {len(adjudicated)}. Records not carried stay in the files unchanged (as stale records), so no decision is lost; "
            f"agreement below is computed on the passages as they were labelled. **{data['relabel_passages']} new passages need "
            "labels**; the queue (with the old pieces' labels for reference) is kept outside the repository because it holds passage "
            "text. Until they are labelled, the training set is the passages above.",
            "",
        ]
    lines += [
        "## Agreement between the two independent passes",
        "",
        f"{len(both)} passages were labelled twice, by different annotators, the second pass blind to the first. Krippendorff's alpha "
        f"(nominal, each label a yes/no decision; implemented in `cocreation_nlp/agreement.py`, not the GPL `krippendorff` package) with a "
        f"95% bootstrap interval over passages ({args.n_boot} draws, seed 0), and Cohen's kappa between the passes:",
        "",
        "| label | positives (pass 1 / pass 2) | agreement | alpha | 95% interval | kappa |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label in LABELS:
        a = [label in p1[k] for k in both]
        b = [label in p2[k] for k in both]
        units = [[x, y] for x, y in zip(a, b, strict=True)]
        alpha, lo, hi = bootstrap_alpha(units, n_boot=args.n_boot, seed=0)
        kappa = cohen_kappa(a, b)
        agree = sum(x == y for x, y in zip(a, b, strict=True)) / max(len(both), 1)
        lines.append(
            f"| {label} | {sum(a)} / {sum(b)} | {agree:.1%} | {alpha:.3f} | {lo:.3f} to {hi:.3f} | {kappa:.3f} |"
        )
    n_dis = sum(1 for k in both if p1[k] != p2[k])
    lines += [
        "",
        f"The passes disagreed on at least one label for {n_dis} of {len(both)} passages. A reviewer settled each against the codebook "
        "(`adjudicated.jsonl`, one sentence of reasoning per decision in its `comment`); the rules they applied are in GUIDE.md. The "
        f"intervals are wide for the rare labels (few positives in {len(both)} passages).",
        "",
        "## Baseline: the rule lexicon alone",
        "",
        "The rule lexicon (`cocreation_nlp/lexicon/`, one distinct term is enough for a label) against the final labels. This is the "
        "baseline the learned classifiers must beat on every label.",
        "",
        "| label | precision | recall | F1 | support |",
        "| --- | --- | --- | --- | --- |",
    ]
    base = rules_baseline(gold)
    for label in LABELS:
        m = base["labels"][label]
        lines.append(
            f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
        )
    lines += [f"| **macro** | | | **{base['macro_f1']:.3f}** | |", ""]
    lines += [
        "Reproduce: `.venv/bin/python scripts/annotation_report.py annotations/` (resolves against the corpora in `corpora/`).",
        "",
    ]
    (args.folder / "README.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
