"""Label audit queue for the rare labels: passages where grouped out-of-fold predictions and labels disagree most.

Usage:
    .venv/bin/python scripts/audit_queue.py annotations/pass1.jsonl annotations/adjudicated.jsonl \
        --model models/finetuned -o /work/coord/audit-queue.jsonl [--per-label 40]

For each of `professionals`, `cocreation`, `systemic` and `collective`, the passages whose current
label is furthest from the model's out-of-fold calibrated probability (|label - p|, from the model
folder's oof.npz: every probability comes from a network that never saw the passage's document)
are written, largest disagreement first, with the passage text, heading, current labels and the
model's probabilities for every label. The file holds corpus text, so it is written outside the
repository. Nothing here changes a label: the queue goes to independent annotators, who record
corrections as adjudicated records with a reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cocreation_nlp.annotations import default_corpus, load_records, resolve_records  # noqa: E402
from cocreation_nlp.codebook import LABELS  # noqa: E402
from cocreation_nlp.finetune import OOF_ARRAYS, read_oof_arrays  # noqa: E402
from cocreation_nlp.finetuned import calibrate  # noqa: E402
from cocreation_nlp.types import fingerprint  # noqa: E402

AUDIT_LABELS = ("professionals", "cocreation", "systemic", "collective")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("annotations", nargs="+")
    ap.add_argument("--model", type=Path, default=Path("models/finetuned"))
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--per-label", type=int, default=40)
    args = ap.parse_args()
    repo = Path(__file__).resolve().parents[1]
    if repo in args.output.resolve().parents:
        raise SystemExit(
            f"{args.output}: the queue holds passage text and must be written outside the repository"
        )
    data = resolve_records(load_records(args.annotations), default_corpus())
    arr = read_oof_arrays(args.model / OOF_ARRAYS)
    pos = {pid: i for i, pid in enumerate(arr["passage_ids"].tolist())}
    rows = np.array([pos[p] for p in data.passage_ids])
    logits = arr.get("logits_int8", arr["logits"])[rows]
    folds = arr["folds"][rows]
    probs = np.zeros_like(logits, dtype=float)
    for k in np.unique(folds):
        probs[folds == k] = calibrate(logits[folds == k], arr["fold_platt"][k])
    meta = json.loads((args.model / "meta.json").read_text(encoding="utf-8"))
    out, counts = [], {}
    for label in AUDIT_LABELS:
        j = LABELS.index(label)
        gap = np.abs(data.y[:, j] - probs[:, j])
        order = np.argsort(-gap, kind="stable")[: args.per_label]
        counts[label] = {"queued": len(order), "labelled_yes_model_no": 0, "labelled_no_model_yes": 0}
        for i in order:
            kind = "labelled_yes_model_no" if data.y[i, j] else "labelled_no_model_yes"
            counts[label][kind] += 1
            out.append(
                {
                    "audit_label": label,
                    "disagreement": round(float(gap[i]), 4),
                    "doc_id": data.doc_ids[i],
                    "passage_id": data.passage_ids[i],
                    "fingerprint": fingerprint(data.texts[i]),
                    "text": data.texts[i],
                    "heading": data.contexts[i] if data.contexts else "",
                    "current_labels": [lab for lab, v in zip(LABELS, data.y[i], strict=True) if v],
                    "model_probabilities": {
                        lab: round(float(p), 4) for lab, p in zip(LABELS, probs[i], strict=True)
                    },
                    "model": meta["model_id"],
                    "fold": int(folds[i]),
                }
            )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    tmp.replace(args.output)
    print(json.dumps({"written": len(out), "file": str(args.output), "by_label": counts}, indent=2))


if __name__ == "__main__":
    main()
