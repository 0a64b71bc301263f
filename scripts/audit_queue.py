"""Label audit queue for the rare labels: passages where grouped out-of-fold predictions and labels disagree most.

Usage:
    .venv/bin/python scripts/audit_queue.py annotations/pass1.jsonl annotations/adjudicated.jsonl \
        --model models/finetuned -o /work/coord/audit-queue.jsonl [--per-label 40]

For each of `professionals`, `cocreation`, `systemic` and `collective`, the passages whose current
label is furthest from the out-of-fold calibrated probability (|label - p|; every probability comes
from a model that never saw the passage's document, read from each model folder's oof.npz; with
several --model folders, their mean) are written, largest disagreement first: half of them labelled
yes where the models say no (possible misses in the labels... or in the models), half labelled no
where the models say yes (possible spurious labels), with the passage text, heading and lead-in,
current labels and the probabilities for every label. The file holds corpus text, so it is written outside the
repository. With --controls N, N passages per label drawn at random (not by the models) are queued too,
marked in the file but not for the annotators: corrections found among them measure the label noise
that a model-chosen audit cannot see, and how far such an audit flatters the models. Nothing here changes a label: the queue goes to independent annotators, who record
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
from cocreation_nlp.oof import oof_predictions  # noqa: E402
from cocreation_nlp.types import fingerprint  # noqa: E402

AUDIT_LABELS = ("professionals", "cocreation", "systemic", "collective")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("annotations", nargs="+")
    ap.add_argument("--model", type=Path, action="append", help="model folder(s) with oof.npz (repeatable)")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--per-label", type=int, default=40)
    ap.add_argument(
        "--controls",
        type=int,
        default=0,
        help="also queue this many passages per label drawn at random (half labelled yes, half no), not by "
        "the models: the change rate on them shows how much a model-chosen audit flatters the models",
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    repo = Path(__file__).resolve().parents[1]
    if repo in args.output.resolve().parents:
        raise SystemExit(
            f"{args.output}: the queue holds passage text and must be written outside the repository"
        )
    data = resolve_records(load_records(args.annotations), default_corpus())
    models = args.model or [Path("models/finetuned")]
    probs = np.zeros(data.y.shape)
    for m in models:
        o = oof_predictions(m)
        pos = {pid: i for i, pid in enumerate(o["passage_ids"].tolist())}
        probs += o["probs"][[pos[p] for p in data.passage_ids]] / len(models)
    ids = [json.loads((m / "meta.json").read_text(encoding="utf-8"))["model_id"] for m in models]
    out, counts = [], {}
    rng = np.random.default_rng(args.seed)
    queued: set[int] = set()
    for label in AUDIT_LABELS:
        j = LABELS.index(label)
        gap = np.abs(data.y[:, j] - probs[:, j])
        half = args.per_label // 2
        yes = np.flatnonzero(data.y[:, j] == 1)
        no = np.flatnonzero(data.y[:, j] == 0)
        order = np.r_[
            yes[np.argsort(-gap[yes], kind="stable")][:half], no[np.argsort(-gap[no], kind="stable")][:half]
        ]
        order = order[np.argsort(-gap[order], kind="stable")]
        order = np.asarray([i for i in order if i not in queued], dtype=int)
        queued.update(order.tolist())
        controls = np.asarray([], dtype=int)
        if args.controls:
            ch = args.controls // 2
            pick = []
            for pool in (yes, no):
                pool = np.asarray([i for i in pool if i not in queued])
                pick.extend(rng.choice(pool, size=min(ch, len(pool)), replace=False).tolist())
            controls = np.asarray(pick, dtype=int)
            queued.update(pick)
        counts[label] = {
            "queued": len(order),
            "labelled_yes_model_no": 0,
            "labelled_no_model_yes": 0,
            "random_controls": len(controls),
        }
        for i, selection in [
            *((i, "model disagreement") for i in order),
            *((i, "random control") for i in controls),
        ]:
            if selection == "model disagreement":
                kind = "labelled_yes_model_no" if data.y[i, j] else "labelled_no_model_yes"
                counts[label][kind] += 1
            out.append(
                {
                    "audit_label": label,
                    "selection": selection,
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
                    "models": ids,
                }
            )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    tmp.replace(args.output)
    print(json.dumps({"written": len(out), "file": str(args.output), "by_label": counts}, indent=2))


if __name__ == "__main__":
    main()
