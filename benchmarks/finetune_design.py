"""Design search for the fine-tuned tier on ONE document-grouped split (chooses settings, reports nothing final).

Usage:
    .venv/bin/python benchmarks/finetune_design.py annotations/pass1.jsonl annotations/adjudicated.jsonl \
        [--grid "context=heading,none;train_layers=2;loss=bce,focal;epochs=2"] [--holdout-fold 0]

Every combination of the grid is trained on the documents outside one GroupKFold fold (the same
5-fold split as everywhere else) and scored on that fold's documents, with calibration and
thresholds fitted on the training documents' own predictions (optimistic for thresholds, equal for
every configuration, so fine for ranking). The full grouped CV of the chosen setting is
`cocreation train --method finetune`; record the chosen settings and this table in the README.
Runs are long on CPU (minutes per configuration per epoch): run in the background with nice.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cocreation_nlp.annotations import default_corpus, load_records, resolve_records  # noqa: E402
from cocreation_nlp.finetune import (  # noqa: E402
    EncodedSet,
    FinetuneConfig,
    base_folder,
    fit_calibration,
    fit_network,
    predict_logits,
)
from cocreation_nlp.finetuned import calibrate, encode_inputs, load_tokenizer  # noqa: E402
from cocreation_nlp.oof import grouped_folds  # noqa: E402
from cocreation_nlp.train import label_metrics  # noqa: E402


def parse_grid(spec: str) -> list[dict]:
    axes = []
    for part in [p for p in spec.split(";") if p]:
        key, _, values = part.partition("=")
        typed = [
            int(v) if v.lstrip("-").isdigit() else (float(v) if v.replace(".", "", 1).isdigit() else v)
            for v in values.split(",")
        ]
        axes.append([(key, v) for v in typed])
    return [dict(c) for c in itertools.product(*axes)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("annotations", nargs="+")
    ap.add_argument("--grid", default="context=heading,none;train_layers=2;loss=bce;epochs=2")
    ap.add_argument("--holdout-fold", type=int, default=0)
    args = ap.parse_args()
    data = resolve_records(load_records(args.annotations), default_corpus())
    folds = grouped_folds(data.doc_ids, 5)
    tr, te = np.flatnonzero(folds != args.holdout_fold), np.flatnonzero(folds == args.holdout_fold)
    print(
        f"train {len(tr)} passages, test {len(te)} passages ({len(set(np.asarray(data.doc_ids)[te]))} documents)"
    )
    encoded: dict[tuple, EncodedSet] = {}
    for combo in parse_grid(args.grid):
        cfg = replace(FinetuneConfig(), **combo)
        key = (cfg.context, cfg.max_length, cfg.train_layers)
        if key not in encoded:  # the frozen layers' cache is shared by configurations with the same inputs
            tok = load_tokenizer(base_folder(cfg.base) / "tokenizer.json", cfg.max_length)
            encoded[key] = EncodedSet(
                encode_inputs(tok, data.texts, data.contexts, use_context=cfg.context != "none")
            )
        enc = encoded[key]
        t0 = time.perf_counter()
        fitted = fit_network(enc, data.y.astype(np.float32), cfg, rows=tr)
        platt, thr = fit_calibration(predict_logits(fitted, enc, tr), data.y[tr])
        p = calibrate(predict_logits(fitted, enc, te), platt)
        m = label_metrics(data.y[te], p >= thr, p)
        f1 = " ".join(f"{k}={v['f1']:.3f}" for k, v in m["labels"].items())
        print(
            f"{combo}: macro_f1={m['macro_f1']:.3f} ({f1}) seconds={time.perf_counter() - t0:.0f}", flush=True
        )


if __name__ == "__main__":
    main()
