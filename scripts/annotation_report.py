"""Write annotations/README.md: what was labelled, how reliably, and how the rules alone do.

Usage:
    .venv/bin/python scripts/annotation_report.py annotations/ [--corpus M.csv ...] [--n-boot 2000]

Everything in the report is computed here from the committed records and the
corpora (read and segmented at run time; by default every corpus shipped in
``corpora/``, see ``cocreation_nlp.annotations.default_corpus``): passages,
documents, languages and label counts per corpus, stale records, coverage of
the train split, per-label Krippendorff's alpha between the two independent
passes with a bootstrap interval, Cohen's kappa, the reviewer's decisions on
the disagreements, the label audit (the auditor's decisions against the labels
they replaced, from ``audit-*.json`` and the ``auditor`` records), and the rule
lexicon's precision/recall/F1 against the final labels. The only constants are
descriptions of how batches were drawn (annotator rounds, the second pass's
quota), which the records cannot hold.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cocreation_nlp.agreement import bootstrap_alpha, cohen_kappa  # noqa: E402
from cocreation_nlp.annotate.records import AnnotationRecord, read_records  # noqa: E402
from cocreation_nlp.annotations import default_corpus, final_decisions, resolve_records  # noqa: E402
from cocreation_nlp.carry_over import record_origins  # noqa: E402
from cocreation_nlp.codebook import LABELS, load_codebook  # noqa: E402
from cocreation_nlp.ingest import discover, read_one  # noqa: E402
from cocreation_nlp.segment import segment_document  # noqa: E402
from cocreation_nlp.train import rules_baseline  # noqa: E402
from cocreation_nlp.types import ParseFailure, fingerprint, is_labelling_unit  # noqa: E402

# Annotator id prefixes and what each round of batches was. Longer prefixes first
# ("ann-second" before "ann-s"). The counts next to them in the report come from the files.
ROUNDS: dict[str, str] = {
    "ann-b": "first labelling of open-policy, before the re-segmentation of issue 10 (records that still "
    "resolve were carried over, see below; the others are stale)",
    "ann-op": "open-policy passages left without labels by the carry-over, labelled afresh",
    "ann-ps": "public-services, first collection round: every train passage of 8 words or more",
    "ann-r2": "public-services, second (targeted) collection round: every train passage of 8 words or more",
    "ann-ocr": "passages recovered by OCR of scanned pages, labelled when they appeared",
    "ann-second": "blind second pass over first-pass passages of ann-op and ann-ps, drawn by quota (see below)",
    "ann-s": "blind second pass over ann-b passages (before issue 10)",
    "reviewer": "adjudication of the second passes' disagreements",
    "auditor": "label audit of rare labels: passages chosen by model disagreement plus random controls",
}
ROUND_ORDER = sorted(ROUNDS, key=len, reverse=True)
NEW_SECOND_PASS = "ann-second"
# How the new second pass was drawn: this many first-pass positives of each rare label, the rest
# at random. A design figure (from the batch preparation), not recorded in the files; checked below.
SECOND_PASS_QUOTA = {"cocreation": 60, "systemic": 90, "collective": 90, "equity": 70, "professionals": 70}
REVIEWER = "reviewer"  # annotator id of the adjudication of the second passes
AUDITOR = "auditor"  # annotator id of the label audit's decisions (also in adjudicated.jsonl)
AUDIT_SELECTIONS = ("model disagreement", "random control")  # how audited passages were chosen
TARGET = 250  # positive passages wanted per label
MIN_WORDS = 8  # passages under this many words were not drawn for labelling


def round_of(annotator: str) -> str:
    """The round an annotator id belongs to (its prefix in ROUNDS), else the id itself."""
    return next((p for p in ROUND_ORDER if annotator.startswith(p)), annotator)


def id_range(ids: Iterable[str]) -> str:
    """``a`` or ``a ... z`` for a set of annotator ids."""
    ids = sorted(set(ids))
    return ids[0] if len(ids) == 1 else f"{ids[0]} ... {ids[-1]} ({len(ids)})"


def pct(n: float, d: float) -> str:
    """A share as a percentage, "-" when the denominator is 0."""
    return f"{n / d:.1%}" if d else "-"


def read_manifests(corpus: Sequence[Path]) -> dict[str, tuple[str, str]]:
    """doc_id -> (corpus name, split) for every manifest in ``corpus``."""
    out: dict[str, tuple[str, str]] = {}
    for m in corpus:
        m = Path(m)
        if m.name != "manifest.csv":
            continue
        with m.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                out[row["doc_id"]] = (m.parent.name, row.get("split", ""))
    return out


def segment_docs(corpus: Sequence[Path], doc_ids: set[str]) -> dict[str, list]:
    """The current passages (all kinds) of the given documents."""
    out: dict[str, list] = {}
    for src in discover(corpus):
        if src.doc_id not in doc_ids:
            continue
        doc = read_one(src)
        if not isinstance(doc, ParseFailure):
            out[src.doc_id] = segment_document(doc)
    return out


def agreement_table(
    keys: list[str], p1: dict[str, set[str]], p2: dict[str, set[str]], n_boot: int
) -> list[str]:
    """Per-label rows: positives in each pass, raw agreement, alpha with interval, kappa."""
    rows = [
        "| label | positives (pass 1 / pass 2) | agreement | alpha | 95% interval | kappa |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label in LABELS:
        a = [label in p1[k] for k in keys]
        b = [label in p2[k] for k in keys]
        alpha, lo, hi = bootstrap_alpha([[x, y] for x, y in zip(a, b, strict=True)], n_boot=n_boot, seed=0)
        kappa = cohen_kappa(a, b)
        agree = sum(x == y for x, y in zip(a, b, strict=True))
        rows.append(
            f"| {label} | {sum(a)} / {sum(b)} | {pct(agree, len(keys))} | {alpha:.3f} | {lo:.3f} to {hi:.3f} "
            f"| {kappa:.3f} |"
        )
    return rows


def audit_section(
    path: Path,
    pass1: list[AnnotationRecord],
    adjudicated: list[AnnotationRecord],
    reviewed_keys: set[tuple[str, str]],
) -> list[str]:
    """The report section of one label audit (``audit-<date>.json``).

    Before = the final decision from ``pass1`` and every adjudicated record except the auditor's;
    after = the auditor's record of the passage. Figures per selection ("model disagreement",
    "random control") and in total.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = data["passages"]
    date = path.stem.removeprefix("audit-")
    before = {
        (r.doc_id, r.passage_id): set(r.labels)
        for r in final_decisions(pass1 + [r for r in adjudicated if round_of(r.annotator) != AUDITOR])
    }
    after_rec = {(r.doc_id, r.passage_id): r for r in adjudicated if round_of(r.annotator) == AUDITOR}
    selections = [s for s in AUDIT_SELECTIONS if any(r["selection"] == s for r in rows)]
    selections += sorted({r["selection"] for r in rows} - set(selections))
    columns = [*selections, "total"]
    audit_labels = [lb for lb in LABELS if any(r["audit_label"] == lb for r in rows)]

    def key(row: dict) -> tuple[str, str]:
        return row["doc_id"], row["passage_id"]

    missing_before = [r for r in rows if key(r) not in before]
    missing_after = [r for r in rows if key(r) not in after_rec]
    pairs = [r for r in rows if key(r) in before and key(r) in after_rec]  # the rows compared below
    of: dict[str, list[dict]] = {c: [r for r in pairs if c in ("total", r["selection"])] for c in columns}
    unlisted = sorted(set(after_rec) - {key(r) for r in rows})

    def old(r: dict) -> set[str]:
        return before[key(r)]

    def new(r: dict) -> set[str]:
        return set(after_rec[key(r)].labels)

    def changed(rs: list[dict]) -> int:
        return sum(old(r) != new(r) for r in rs)

    def values_changed(rs: list[dict]) -> int:
        return sum(len(old(r) ^ new(r)) for r in rs)

    def flips(rs: list[dict], label: str | None = None) -> tuple[int, int, int, int]:
        """Audited label (or ``label``): yes before, yes -> no, no before, no -> yes."""
        yes = [r for r in rs if (label or r["audit_label"]) in old(r)]
        no = [r for r in rs if (label or r["audit_label"]) not in old(r)]
        return (
            len(yes),
            sum((label or r["audit_label"]) not in new(r) for r in yes),
            len(no),
            sum((label or r["audit_label"]) in new(r) for r in no),
        )

    def flipped(rs: list[dict]) -> int:
        f = flips(rs)
        return f[1] + f[3]

    said_changed = {c: sum(after_rec[key(r)].comment.startswith("changed") for r in of[c]) for c in columns}
    on_reviewed = {c: sum(key(r) in reviewed_keys for r in of[c]) for c in columns}
    batches = sorted({r["batch"] for r in rows})
    final = {(r.doc_id, r.passage_id): r for r in final_decisions(pass1 + adjudicated)}
    not_final = sum(final.get(k) is not after_rec[k] for k in after_rec)
    others = [r.created_at for r in pass1 + adjudicated if round_of(r.annotator) != AUDITOR]
    all_later = bool(after_rec) and min(r.created_at for r in after_rec.values()) > max(others, default="")
    per_label = Counter((r["audit_label"], r["selection"]) for r in rows)

    lines = [
        f"## Label audit ({date})",
        "",
        f"`{path.name}` lists the {len(rows)} audited passages (no text) in {len(batches)} batches "
        f"({', '.join(batches)}): "
        + "; ".join(
            f"{s} {sum(r['selection'] == s for r in rows)} ("
            + ", ".join(f"{lb} {per_label[lb, s]}" for lb in audit_labels if per_label[lb, s])
            + ")"
            for s in selections
        )
        + ". Its description:",
        "",
        f"> {data.get('description', '')}",
        "",
        f"The auditors decided all {len(LABELS)} labels of each passage; their {len(after_rec)} decisions are the "
        f"`{AUDITOR}` records of `adjudicated.jsonl` (gold"
        + (", and later than every other record" if all_later else "")
        + (
            f"; {not_final} of them are not the final decision of their passage"
            if not_final
            else ", so they are the final labels of their passages"
        )
        + f"). Below, *before* is the final decision from `pass1` and `adjudicated` without the `{AUDITOR}` "
        f"records (the labels the auditors saw) and *after* the auditor's record; {on_reviewed['total']} of the "
        "audited passages had been settled by the reviewer before."
        + (
            f" {len(missing_before)} audited passages have no decision before the audit."
            if missing_before
            else ""
        )
        + (f" {len(missing_after)} audited passages have no auditor record." if missing_after else "")
        + (f" {len(unlisted)} auditor records are not on a passage of the audit list." if unlisted else ""),
        "",
        f"| | {' | '.join(columns)} |",
        f"| --- | {' | '.join('---' for _ in columns)} |",
        f"| passages audited | {' | '.join(str(len(of[c])) for c in columns)} |",
        "| label set changed | "
        + " | ".join(f"{changed(of[c])} ({pct(changed(of[c]), len(of[c]))})" for c in columns)
        + " |",
        "| label values changed | "
        + " | ".join(
            f"{values_changed(of[c])} of {len(of[c]) * len(LABELS)} "
            f"({pct(values_changed(of[c]), len(of[c]) * len(LABELS))})"
            for c in columns
        )
        + " |",
        "| audited label flipped | "
        + " | ".join(f"{flipped(of[c])} ({pct(flipped(of[c]), len(of[c]))})" for c in columns)
        + " |",
    ]
    if any(said_changed[c] != changed(of[c]) for c in columns):
        lines.append(f"| comment says `changed` | {' | '.join(str(said_changed[c]) for c in columns)} |")
    lines += [
        "",
        "The audited label of each passage, before and after (yes -> no among the passages labelled yes before, "
        "no -> yes among those labelled no):",
        "",
        "| audit label | "
        + " | ".join(f"{s}: audited | yes -> no | no -> yes | flipped" for s in selections)
        + " |",
        "| --- | " + " | ".join("--- | --- | --- | ---" for _ in selections) + " |",
    ]

    def flip_cells(rs: list[dict]) -> str:
        n_yes, yes_no, n_no, no_yes = flips(rs)
        return f"{len(rs)} | {yes_no} / {n_yes} | {no_yes} / {n_no} | {yes_no + no_yes} ({pct(yes_no + no_yes, len(rs))})"

    for lb in audit_labels:
        cells = [flip_cells([r for r in of[s] if r["audit_label"] == lb]) for s in selections]
        lines.append(f"| {lb} | " + " | ".join(cells) + " |")
    lines += [
        "| **all** | " + " | ".join(flip_cells(of[s]) for s in selections) + " |",
        "",
        "Every label of the audited passages: values added (no -> yes) / removed (yes -> no):",
        "",
        f"| label | {' | '.join(f'{c}: added / removed' for c in columns)} |",
        f"| --- | {' | '.join('---' for _ in columns)} |",
    ]
    tot = {c: [0, 0] for c in columns}
    for lb in LABELS:
        cells = []
        for c in columns:
            _, removed, _, added = flips(of[c], lb)
            tot[c][0] += added
            tot[c][1] += removed
            cells.append(f"{added} / {removed}")
        lines.append(f"| {lb} | {' | '.join(cells)} |")
    lines += [f"| **all** | {' | '.join(f'{a} / {r}' for a, r in tot.values())} |", ""]

    if {"model disagreement", "random control"} <= set(selections):
        md, rc = of["model disagreement"], of["random control"]
        rc_yes, rc_yes_no, rc_no, rc_no_yes = flips(rc)
        lines += [
            "The model chose which passages were looked at, never what label they got: the auditors saw neither the "
            "selection nor the audit label nor any model output, and decided every label against the codebook. But "
            "the model-disagreement passages are those whose label the model disputed most, so a correction found "
            "there moves the label toward the model, while wrong labels the model happens to agree with were not "
            f"looked at; the audited label flipped on {flipped(md)} of {len(md)} such passages "
            f"({pct(flipped(md), len(md))}), so a model scored against the audited labels has its cross-validated "
            "figures flattered: the label errors that counted against it were looked for and corrected, those "
            "that count for it were not. The random controls measure what the model's choice cannot: their "
            f"audited label flipped on {flipped(rc)} of {len(rc)} ({pct(flipped(rc), len(rc))}; yes -> no "
            f"{rc_yes_no} of {rc_yes}, {pct(rc_yes_no, rc_yes)}, no -> yes {rc_no_yes} of {rc_no}, "
            f"{pct(rc_no_yes, rc_no)}), an estimate of the noise left in the labels the audit did not see; "
            "the controls were drawn among passages labelled yes and no for their audit label, not in "
            "proportion to the labels as a whole, so it is the rates by direction that carry over to the labels not audited.",
            "",
        ]
    return lines


def main() -> None:
    """Compute the report and write it to ``<folder>/README.md`` (and print it)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--corpus", type=Path, action="append", help="a corpus manifest (repeatable)")
    ap.add_argument("--n-boot", type=int, default=2000, help="bootstrap draws for the alpha intervals")
    args = ap.parse_args()
    corpus = [Path(c) for c in (args.corpus or default_corpus())]
    pass1 = read_records(args.folder / "pass1.jsonl")
    pass2 = read_records(args.folder / "pass2.jsonl")
    adjudicated = read_records(args.folder / "adjudicated.jsonl")
    # adjudicated.jsonl holds two kinds of gold record: the reviewer's adjudication of the passes'
    # disagreements and the label audit's decisions. Only the former are adjudications of the passes.
    reviewed = [r for r in adjudicated if round_of(r.annotator) == REVIEWER]
    audited = [r for r in adjudicated if round_of(r.annotator) == AUDITOR]
    other_adj = [r for r in adjudicated if round_of(r.annotator) not in (REVIEWER, AUDITOR)]
    audit_keys = {(r.doc_id, r.passage_id) for r in audited}
    audit_later = bool(audited) and min(r.created_at for r in audited) > max(
        (r.created_at for r in reviewed), default=""
    )
    gold = resolve_records(pass1 + adjudicated, corpus)
    manifest = read_manifests(corpus)
    corpora = sorted({c for c, _ in manifest.values()})

    def corpus_of(doc_id: str) -> str:
        return manifest.get(doc_id, ("(not in a manifest)", ""))[0]

    train_docs = {c: {d for d, (cc, s) in manifest.items() if cc == c and s == "train"} for c in corpora}
    reserved_used = sorted(
        {r.doc_id for r in pass1 + pass2 + adjudicated if manifest.get(r.doc_id, ("", ""))[1] == "reserved"}
    )

    # Which final decisions resolve, which are stale (resolve_records keys decisions by passage).
    decisions = final_decisions(pass1 + adjudicated)
    stale_keys = {(r.doc_id, r.passage_id) for r, _ in gold.stale}
    resolved = [r for r in decisions if (r.doc_id, r.passage_id) not in stale_keys]

    # Current passages of every train document, for the coverage check and the offset-resolved rows.
    passages = segment_docs(corpus, set().union(*train_docs.values()) | {r.doc_id for r in resolved})
    unit_fps = {d: {p.fingerprint for p in ps if is_labelling_unit(p.kind)} for d, ps in passages.items()}
    labelled_fps: dict[str, set[str]] = defaultdict(set)
    for d, text in zip(gold.doc_ids, gold.texts, strict=True):
        labelled_fps[d].add(fingerprint(text))
    unlabelled_long: Counter[str] = Counter()
    unlabelled_short: Counter[str] = Counter()
    for c in corpora:
        for d in train_docs[c]:
            for p in passages.get(d, []):
                if is_labelling_unit(p.kind) and p.fingerprint not in labelled_fps[d]:
                    (unlabelled_long if len(p.text.split()) >= MIN_WORDS else unlabelled_short)[c] += 1
    by_offsets = [r for r in resolved if r.fingerprint not in unit_fps.get(r.doc_id, set())]
    inside_labelled = 0
    offset_kinds: Counter[str] = Counter()  # what the text is part of now
    for r in by_offsets:
        same = [p for p in passages.get(r.doc_id, []) if p.fingerprint == r.fingerprint]
        if same:
            offset_kinds[f"now a {same[0].kind} itself"] += 1
            continue
        holders = [
            p
            for p in passages.get(r.doc_id, [])
            if r.start_char is not None
            and r.end_char is not None
            and p.start_char <= r.start_char
            and r.end_char <= p.end_char
        ]
        if not holders:
            offset_kinds["spans several passages"] += 1
            continue
        offset_kinds[f"part of a {holders[0].kind}"] += 1
        inside_labelled += any(
            is_labelling_unit(p.kind) and p.fingerprint in labelled_fps[r.doc_id] for p in holders
        )

    # Per corpus: passages, documents, languages, labels.
    rows_of: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(gold.doc_ids):
        rows_of[corpus_of(d)].append(i)
    columns = [*corpora, "total"]
    rows_of["total"] = list(range(len(gold)))

    def label_count(col: str, j: int) -> int:
        return int(gold.y[rows_of[col], j].sum())

    def none_count(col: str) -> int:
        return int((gold.y[rows_of[col]].sum(axis=1) == 0).sum())

    docs_of = {col: {gold.doc_ids[i] for i in rows_of[col]} for col in columns}
    langs_of = {col: Counter(gold.languages[i] for i in rows_of[col]) for col in columns}
    stale_of = {col: Counter() for col in columns}
    for r, why in gold.stale:
        for col in (corpus_of(r.doc_id), "total"):
            stale_of.setdefault(col, Counter())[why.split(" (")[0]] += 1
    stale_round = Counter(round_of(r.annotator) for r, _ in gold.stale)
    # Stale records whose span is now covered by passages recovered (and labelled) by OCR.
    ocr_spans = defaultdict(list)
    for r in resolved:
        if round_of(r.annotator) == "ann-ocr" and r.start_char is not None and r.end_char is not None:
            ocr_spans[r.doc_id].append((r.start_char, r.end_char))
    stale_by_ocr = Counter(
        round_of(r.annotator)
        for r, _ in gold.stale
        if round_of(r.annotator) not in ("ann-b", "ann-s")
        and any(a < (r.end_char or 0) and (r.start_char or 0) < b for a, b in ocr_spans.get(r.doc_id, []))
    )
    all_train = set().union(*train_docs.values())

    # Rounds of the files.
    def round_rows(records: list[AnnotationRecord], with_resolve: bool) -> list[str]:
        out = []
        resolved_keys = {(r.doc_id, r.passage_id) for r in resolved}
        groups: dict[str, list[AnnotationRecord]] = defaultdict(list)
        for r in records:
            groups[round_of(r.annotator)].append(r)
        for name in sorted(groups, key=lambda g: min(r.created_at for r in groups[g])):
            rs = groups[name]
            by_corpus = Counter(corpus_of(r.doc_id) for r in rs)
            cell = ", ".join(f"{c} {n}" for c, n in sorted(by_corpus.items()))
            res = ""
            if with_resolve:
                n_res = sum((r.doc_id, r.passage_id) in resolved_keys for r in rs)
                res = f" | {n_res}"
            out.append(
                f"| {name} | {id_range(r.annotator for r in rs)} | {ROUNDS.get(name, '')} | {len(rs)} | {cell}{res} |"
            )
        return out

    lines = [
        "# Annotations",
        "",
        f"Hand labels of passages from the `train` split of the project's two corpora, `open-policy` and "
        f"`public-services` (`../corpora/`), coded against codebook {load_codebook().version} (`../shared/codebook.md`). "
        "Every label was decided by an annotator (one annotation session per batch) reading the passage against the "
        "codebook; no label was derived from the project's rules or models. The hard cases and how they were decided "
        "are in [GUIDE.md](GUIDE.md).",
        "",
        "## Files",
        "",
        "Standoff records (the `AnnotationRecord` JSONL schema of `cocreation_nlp/annotate/records.py`): `doc_id`, "
        "`passage_id`, passage `fingerprint`, character offsets, `labels`, `annotator`, `created_at`, "
        "`codebook_version`, an optional comment. The passage text is **not** stored: it is resolved against the "
        "corpora at run time, and a record whose fingerprint no longer matches is reported as stale.",
        "",
        f"- `pass1.jsonl`: first-pass labels, {len(pass1)} records.",
        f"- `pass2.jsonl`: an independent second pass, {len(pass2)} records, each by a different annotator than the "
        "first pass of its passage and made without seeing it.",
        f"- `adjudicated.jsonl`: {len(adjudicated)} gold records (`gold: true`): {len(reviewed)} reviewer "
        "adjudications (`reviewer`) of passages where the passes disagreed, each `comment` naming the rule that "
        f"settles it, and {len(audited)} auditor decisions (`auditor`) of the label audit (see *Label audit* below), "
        "each `comment` giving the reason (`kept: ...` / `changed: ...`)"
        + (f", and {len(other_adj)} records by other annotators" if other_adj else "")
        + ". They override the first pass"
        + ("; where a passage has both, the later record (the auditor's) wins." if audit_later else "."),
        "- Final labels = `pass1` with `adjudicated` overriding (what `cocreation train annotations/pass1.jsonl "
        "annotations/adjudicated.jsonl` reads; a gold record always wins over an ordinary one).",
        "",
        "The annotator ids tell the rounds:",
        "",
        "| round | annotators | what | records | by corpus | records whose passage resolves now |",
        "| --- | --- | --- | --- | --- | --- |",
        *round_rows(pass1, True),
        *[r + " - |" for r in round_rows(pass2, False)],
        *round_rows(adjudicated, True),
        "",
        "## What was labelled",
        "",
        f"| | {' | '.join(columns)} |",
        f"| --- | {' | '.join('---' for _ in columns)} |",
        f"| train documents | {' | '.join(str(len(train_docs[c])) for c in corpora)} | {len(all_train)} |",
        f"| documents with labels | {' | '.join(str(len(docs_of[c])) for c in columns)} |",
        f"| passages with final labels | {' | '.join(str(len(rows_of[c])) for c in columns)} |",
        f"| train passages of {MIN_WORDS}+ words without labels | "
        f"{' | '.join(str(unlabelled_long[c]) for c in corpora)} | {sum(unlabelled_long.values())} |",
        f"| stale records (do not resolve) | {' | '.join(str(sum(stale_of[c].values())) for c in columns)} |",
        "| languages | "
        + " | ".join(", ".join(f"{k} {v}" for k, v in langs_of[c].most_common()) for c in columns)
        + " |",
        "",
        f"- Selection: every train passage of {MIN_WORDS} words or more has a final label (count above: "
        f"{sum(unlabelled_long.values())} without); the {sum(unlabelled_short.values())} shorter passages that were "
        "not drawn earlier (table cells, headings, fragments) were not labelled. The open-policy labels before issue "
        "10 were drawn in steps (15 random passages per document, keyword-screened oversampling of the rarer labels "
        "with a list written for sampling only, not the rule lexicon, a random fill, a rare-label batch, then every "
        "remaining passage); after the re-segmentation the passages left without labels were labelled afresh "
        "(`ann-op`). Public-services was read whole from the start (`ann-ps`, `ann-r2`).",
        f"- Reserved documents labelled (either pass, or adjudicated; `split` of both manifests): {len(reserved_used)} "
        "(must be 0)." + (f" **{', '.join(reserved_used)}**" if reserved_used else ""),
        f"- Stale records: {len(gold.stale)} final decisions do not resolve ("
        + ", ".join(f"{n} {why}" for why, n in stale_of["total"].most_common())
        + "; by round: "
        + ", ".join(f"{name} {n}" for name, n in stale_round.most_common())
        + "). They are superseded, not lost: a re-segmentation changed the text of their passage (the parsing-"
        "fidelity change of issue 10, see *Carried over* below"
        + (
            "; then OCR of scanned pages recovered text inside the passages of "
            + ", ".join(f"{n} {g} record{'s' if n > 1 else ''}" for g, n in stale_by_ocr.most_common())
            + ", which ann-ocr labelled again"
            if stale_by_ocr
            else ""
        )
        + f"), and every current train passage of {MIN_WORDS}+ words has labels (above), so wherever their text "
        "is still in a passage of that size it was labelled again. They stay in the files unchanged and are "
        "reported, not dropped silently.",
        f"- {len(by_offsets)} of the passages with final labels resolve only by their character offsets (the "
        "fallback of `resolve_records`): their text is no longer a labelling unit of its own ("
        + ", ".join(f"{k}: {n}" for k, n in offset_kinds.most_common())
        + f"). {inside_labelled} of them lie inside a passage that has final labels of its own, so that text "
        "is counted twice in training.",
        "",
        "| label | " + " | ".join(f"{c} positives | share" for c in columns) + " |",
        "| --- | " + " | ".join("--- | ---" for _ in columns) + " |",
    ]
    for j, label in enumerate(LABELS):
        cells = [f"{label_count(c, j)} | {pct(label_count(c, j), len(rows_of[c]))}" for c in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(
        "| (no label) | "
        + " | ".join(f"{none_count(c)} | {pct(none_count(c), len(rows_of[c]))}" for c in columns)
        + " |"
    )
    lines.append("")
    counts = gold.label_counts()
    short = [label for label in LABELS if counts[label] < TARGET]
    if short:
        lines += [
            f"**Below the {TARGET}-positive target: {', '.join(f'{lb} ({counts[lb]})' for lb in short)}.** "
            "Every train passage of both corpora that could carry a label was read, so this is what the documents "
            "hold, not a sampling shortfall. Co-creation as described practice (citizens or organisations shaping "
            "a service or policy with the administration, not merely being consulted or informed) is rare in "
            "openly licensed public documents: open-government action plans and digital-service guidance mostly "
            "consult, and the public-services corpus, collected in two rounds, the second targeted at co-creation "
            "processes, multi-stakeholder forums and shared care of commons, raised the count but not to the "
            "target. More positives need more documents that report such practice, which openly licensed "
            "collections rarely contain.",
            "",
        ]
        per_round = Counter(round_of(r.annotator) for r in resolved)
        for lb in short:
            pos_round = Counter(round_of(r.annotator) for r in resolved if lb in r.labels)
            lines += [
                f"`{lb}` positives by the round that made the final decision (positives / passages): "
                + ", ".join(
                    f"{g} {pos_round[g]} / {per_round[g]} ({pct(pos_round[g], per_round[g])})"
                    for g in sorted(per_round, key=lambda g: -per_round[g])
                )
                + ".",
                "",
            ]

    carried = args.folder / "carry-over-issue10.json"
    old_p2 = [r for r in pass2 if round_of(r.annotator) != NEW_SECOND_PASS]
    p2_round = {o: round_of(r.annotator) for r in pass2 for o in record_origins(r)}
    old_adj = [r for r in reviewed if all(p2_round.get(o) != NEW_SECOND_PASS for o in record_origins(r))]
    if carried.exists():
        data = json.loads(carried.read_text(encoding="utf-8"))
        f1 = data["files"]["pass1"]

        def exact(part: dict) -> int:
            return part.get("exact_moved", 0) + part.get("exact_unchanged", 0)

        relabel_op = sum(round_of(r.annotator) == "ann-op" for r in pass1)
        lines += [
            "## Carried over after the parsing-fidelity change (issue 10)",
            "",
            "The parser now keeps headings and tables as rows of their own (not labelling units) and groups list items "
            "and short lines with the paragraph they belong to, so most open-policy passages changed. Records were "
            "mapped with `scripts/carry_over_annotations.py` (library: `cocreation_nlp/carry_over.py`) from a snapshot "
            "of the passages taken with the old code: a new passage whose text is an old passage's text keeps its "
            "labels; a new passage that is exactly the union of old passages whose final labels were all the same "
            "gets those labels; everything else is reported, never guessed. Every moved record keeps its annotator, "
            "time, comment and gold flag, and notes the move in its history.",
            "",
            "| pass 1 records (ann-b) | count |",
            "| --- | --- |",
            f"| carried exactly (same text; {f1.get('exact_unchanged', 0)} with unchanged ids) "
            f"| {exact(f1) + f1.get('stale_before_matches_again', 0)} |",
            f"| merged into union passages | {f1.get('union_records_merged', 0)} records into "
            f"{f1.get('union_records_written', 0)} |",
            f"| not carried: the new passage needs labels (relabel queue) | {f1.get('reported_relabel', 0)} |",
            f"| not carried: the text is now a heading or a table (not labelled) "
            f"| {f1.get('reported_now_heading_or_table', 0)} |",
            f"| not carried: the text is gone (site-generator page data, garbled chart labels) "
            f"| {f1.get('reported_text_not_found', 0)} |",
            f"| not carried: the new passage got labels from other records "
            f"| {f1.get('reported_covered_by_other_carried_records', 0)} |",
            f"| stale already before the change (kept) | {f1.get('already_stale_kept', 0)} |",
            "",
            f"Second pass (ann-s): {exact(data['files']['pass2'])} of {len(old_p2)} carried exactly; adjudicated "
            f"before issue 10: {exact(data['files']['adjudicated'])} of {len(old_adj)}. Records not carried stay in "
            "the files unchanged (as stale records), so no decision is lost; agreement below is computed on the "
            f"passages as they were labelled. The {data['relabel_passages']} new passages of the relabel queue were "
            f"then labelled afresh (round ann-op, {relabel_op} records; the queue, which holds passage text, is kept "
            "outside the repository).",
            "",
        ]

    # Agreement: pairs are matched on the passages as they were labelled. A record carried over to a
    # new segmentation (or merged into a union) still names its original passage(s).
    p1 = {o: set(r.labels) for r in pass1 for o in record_origins(r)}
    p2 = {o: set(r.labels) for r in pass2 for o in record_origins(r)}
    p1_round = {o: round_of(r.annotator) for r in pass1 for o in record_origins(r)}
    p1_doc = {o: r.doc_id for r in pass1 for o in record_origins(r)}
    both = sorted(set(p1) & set(p2))
    new = [k for k in both if p2_round[k] == NEW_SECOND_PASS]
    old = [k for k in both if p2_round[k] != NEW_SECOND_PASS]
    unpaired = len(set(p2) - set(p1))
    new_from = Counter(p1_round[k] for k in new)
    new_corpus = Counter(corpus_of(p1_doc[k]) for k in new)
    lines += [
        "## Agreement between the two independent passes",
        "",
        f"{len(both)} passages were labelled twice, by different annotators, the second pass blind to the first "
        f"({len(new)} in the new second pass {NEW_SECOND_PASS}*, first passes by "
        + ", ".join(f"{g} {n}" for g, n in new_from.most_common())
        + "; "
        + ", ".join(f"{c} {n}" for c, n in sorted(new_corpus.items()))
        + f"; and {len(old)} in the old one over ann-b passages)"
        + (f"; {unpaired} second-pass records have no first pass" if unpaired else "")
        + ". Krippendorff's alpha (nominal, each label a yes/no decision; implemented in "
        "`cocreation_nlp/agreement.py`, not the GPL `krippendorff` package) with a 95% bootstrap interval over "
        f"passages ({args.n_boot} draws, seed 0), and Cohen's kappa between the passes.",
        "",
        "**The doubly coded set is not a random sample.** The new second pass drew first-pass positives of the "
        "rare labels by quota and the rest at random, so positives of those labels are over-represented in it "
        "compared with the labelled passages as a whole. Alpha and kappa are therefore measured on more positives "
        "than a random sample would give (narrower intervals for the rare labels), and raw agreement is lower "
        "than it would be on a random sample, where most passages are easy negatives. Agreement on these labels describes passages "
        "that at least one annotator found positive, the harder case.",
        "",
        f"| label | quota | first-pass positives in the {len(new)} | share there | share among all passages with "
        "final labels |",
        "| --- | --- | --- | --- | --- |",
    ]
    for lb, quota in SECOND_PASS_QUOTA.items():
        n = sum(lb in p1[k] for k in new)
        lines.append(
            f"| {lb} | {quota} | {n}{' (below the quota)' if n < quota else ''} | {pct(n, len(new))} "
            f"| {pct(counts[lb], len(gold))} |"
        )
    pool_rounds = set(new_from)
    pool = [r for r in pass1 if round_of(r.annotator) in pool_rounds]
    below = {lb: q for lb, q in SECOND_PASS_QUOTA.items() if sum(lb in p1[k] for k in new) < q}
    if below:
        lines += [
            "",
            "Below the quota: "
            + ", ".join(
                f"{lb} ({sum(lb in r.labels for r in pool)} first-pass positives in the rounds drawn from, "
                f"{', '.join(sorted(pool_rounds))})"
                for lb in below
            )
            + "; the first-pass labels in the files do not show why fewer were drawn.",
        ]
    lines += [
        "",
        f"### New second pass ({NEW_SECOND_PASS}*, {len(new)} passages)",
        "",
        *agreement_table(new, p1, p2, args.n_boot),
        "",
        f"### All doubly coded passages ({len(both)}: the new second pass and the old ann-s pass)",
        "",
        *agreement_table(both, p1, p2, args.n_boot),
        "",
    ]

    # Adjudication: where did the reviewer side, per disputed label value.
    n_dis_new = sum(1 for k in new if p1[k] != p2[k])
    n_dis_old = sum(1 for k in old if p1[k] != p2[k])
    adj_by_origin = {o: r for r in reviewed for o in record_origins(r)}
    disputed_unsettled = [k for k in both if p1[k] != p2[k] and k not in adj_by_origin]
    adj_keys = [o for o in adj_by_origin if o in p1 and o in p2]
    no_dispute = sum(1 for k in adj_keys if p1[k] == p2[k])
    reviewed_audited = [r for r in reviewed if (r.doc_id, r.passage_id) in audit_keys]
    lines += [
        "## Adjudication",
        "",
        f"The passes disagreed on at least one label for {n_dis_new} of the {len(new)} passages of the new second "
        f"pass and {n_dis_old} of the {len(old)} of the old one. The reviewer settled {len(reviewed)} passages "
        f"({len(reviewed) - len(old_adj)} after the new second pass, {len(old_adj)} after the old one) against "
        "the codebook, each with the rule applied in its `comment`; the rules are collected in GUIDE.md."
        + (f" {len(disputed_unsettled)} disagreements have no decision." if disputed_unsettled else "")
        + (f" {no_dispute} decisions are on passages where the passes agreed." if no_dispute else "")
        + (
            f" {len(reviewed_audited)} of the passages the reviewer settled were audited later (see *Label audit* "
            "below); the figures here are the reviewer's decisions."
            if reviewed_audited
            else ""
        )
        + (
            f" {len(reviewed) - len(adj_keys)} decisions could not be matched to both passes."
            if len(reviewed) != len(adj_keys)
            else ""
        ),
        "",
        f"Per label, on the passages where the two passes gave that label different values, which pass the "
        f"reviewer's final labels matched (all {len(adj_keys)} decisions matched to both passes):",
        "",
        "| label | disputed | pass 1 yes, pass 2 no: final yes / no | pass 1 no, pass 2 yes: final yes / no "
        "| matched pass 1 | matched pass 2 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    changed_agreed = 0
    tot1 = tot2 = totd = 0
    for label in LABELS:
        y_n = [0, 0]  # pass 1 yes, pass 2 no: final yes, final no
        n_y = [0, 0]
        for k in adj_keys:
            a, b, f = label in p1[k], label in p2[k], label in adj_by_origin[k].labels
            if a == b:
                changed_agreed += f != a
            elif a:
                y_n[0 if f else 1] += 1
            else:
                n_y[0 if f else 1] += 1
        d = sum(y_n) + sum(n_y)
        m1, m2 = y_n[0] + n_y[1], y_n[1] + n_y[0]
        tot1, tot2, totd = tot1 + m1, tot2 + m2, totd + d
        lines.append(
            f"| {label} | {d} | {y_n[0]} / {y_n[1]} | {n_y[0]} / {n_y[1]} | {m1} ({pct(m1, d)}) | {m2} ({pct(m2, d)}) |"
        )
    lines += [
        f"| **all** | {totd} | | | {tot1} ({pct(tot1, totd)}) | {tot2} ({pct(tot2, totd)}) |",
        "",
        f"On label values where the two passes agreed the reviewer changed {changed_agreed} of "
        f"{len(adj_keys) * len(LABELS) - totd}.",
        "",
    ]
    reviewed_keys = {(r.doc_id, r.passage_id) for r in reviewed}
    for audit_file in sorted(args.folder.glob("audit-*.json")):
        lines += audit_section(audit_file, pass1, adjudicated, reviewed_keys)
    lines += [
        "## Baseline: the rule lexicon alone",
        "",
        "The rule lexicon (`cocreation_nlp/lexicon/`, one distinct term is enough for a label) against the final "
        "labels of both corpora. This is the baseline the learned classifiers must beat on every label.",
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
        "Reproduce: `.venv/bin/python scripts/annotation_report.py annotations/` (resolves against the corpora in "
        "`corpora/`).",
        "",
    ]
    (args.folder / "README.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
