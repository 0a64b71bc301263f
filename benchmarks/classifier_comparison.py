"""Compare embedders for the passage classifier on the same grouped folds: macro-F1 and passages/s.

Usage:
    .venv/bin/python benchmarks/classifier_comparison.py annotations/pass1.jsonl annotations/adjudicated.jsonl \
        [--configs static+tfidf,minilm-onnx-int8+tfidf] [--bands 0.02,0.05,0.1,0.15,0.2,0.3] \
        [--finetuned models/finetuned] [--distilled models/default] [--out benchmarks/results/classifier_comparison.md]

``--finetuned`` adds the fine-tuned model's rows from its ``oof.npz`` (grouped out-of-fold logits
on the same GroupKFold folds; calibration and thresholds of each fold cross-fitted on the other
folds), its measured throughput (ONNX, one process), and the cascade from ``--cascade-primary`` to
it for each band, marking the band chosen on the folds (``cocreation_nlp.model.choose_band``).

For each embedder: features (embedding + rule features) for every gold
passage, then the same nested, document-grouped cross-validation that
``cocreation train`` runs (outer folds report, inner folds tune C, Platt
calibration and thresholds). Throughput is measured on the same passages:
encoding plus rules plus the head, per passage, in one process.

The cascade: the static model scores every passage; passages whose
probability lies within ``band`` of a label's threshold are re-scored by the
transformer (the ONNX int8 model). Its out-of-fold predictions combine the
two models' out-of-fold predictions on identical folds, and its throughput is
static cost + (re-scored share x transformer cost).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cocreation_nlp.annotations import default_corpus, load_records, resolve_records  # noqa: E402
from cocreation_nlp.classify import match_rules  # noqa: E402
from cocreation_nlp.codebook import LABELS  # noqa: E402
from cocreation_nlp.embed import get_embedder  # noqa: E402
from cocreation_nlp.model import featurize  # noqa: E402
from cocreation_nlp.train import TrainConfig, cross_validate, label_metrics, rules_baseline  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("annotations", nargs="+")
    ap.add_argument(
        "--configs",
        default="static,static+tfidf,minilm-onnx-int8,minilm-onnx-int8+tfidf,minilm",
        help="embedder[+tfidf] list",
    )
    ap.add_argument("--bands", default="0.05,0.1,0.15,0.2,0.3")
    ap.add_argument("--cascade-primary", default="static+tfidf")
    ap.add_argument("--cascade-secondary", default="minilm-onnx-int8+tfidf")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/classifier_comparison.md"))
    ap.add_argument("--cache", type=Path, default=Path("/tmp/cocreation-features"))
    ap.add_argument(
        "--finetuned",
        type=Path,
        default=None,
        help="a finetuned model folder: adds its out-of-fold rows (from oof.npz, same folds) and the cascade "
        "--cascade-primary -> finetuned with the band chosen on the folds",
    )
    ap.add_argument("--distilled", type=Path, default=None, help="a distilled model folder: adds its CV rows")
    ap.add_argument(
        "--primary-model",
        type=Path,
        default=None,
        help="take the cascade primary's out-of-fold predictions from this model folder's oof.npz instead of "
        "re-running its CV (its throughput is measured here on the same passages)",
    )
    args = ap.parse_args()
    data = resolve_records(load_records(args.annotations), default_corpus())
    groups = np.asarray(data.doc_ids)
    print(f"passages={len(data)} documents={len(set(data.doc_ids))} stale={len(data.stale)}", flush=True)
    cfg = TrainConfig()
    results: dict[str, dict] = {}
    oof: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    thresholds_by: dict[str, np.ndarray] = {}
    cascade_rows: list[dict] = []
    t0 = time.perf_counter()
    hits = match_rules(data.texts, data.languages)
    rules_seconds = time.perf_counter() - t0
    args.cache.mkdir(parents=True, exist_ok=True)
    import dataclasses

    for name in [c for c in args.configs.split(",") if c]:
        emb_name, _, extra = name.partition("+")
        run_cfg = dataclasses.replace(cfg, embedder=emb_name, tfidf=extra == "tfidf")
        emb = get_embedder(emb_name)
        emb.encode(["warm-up passage"])
        t0 = time.perf_counter()
        X = featurize(data.texts, data.languages, emb_name, hits=hits)
        if run_cfg.tfidf:
            from cocreation_nlp.model import make_tfidf

            make_tfidf().fit(data.texts).transform(data.texts)  # timed as part of featurising
        enc_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        probs, decisions, thr = cross_validate(X, data.y, groups, run_cfg, data.texts)
        cv_seconds = time.perf_counter() - t0
        m = label_metrics(data.y, decisions, probs)
        # Thresholds used per row are the fold's; recover them for the cascade band from decisions is not possible,
        # so store the probabilities and decisions themselves.
        oof[name] = (probs, decisions)
        thresholds_by[name] = thr
        results[name] = {
            "macro_f1": m["macro_f1"],
            "f1": {label: m["labels"][label]["f1"] for label in LABELS},
            "passages_per_s": len(data) / (enc_seconds + rules_seconds),
            "encode_seconds": enc_seconds,
            "cv_seconds": cv_seconds,
        }
        print(
            f"{name}: macro_f1={m['macro_f1']:.3f} passages_per_s={results[name]['passages_per_s']:.0f} cv_seconds={cv_seconds:.0f}",
            flush=True,
        )
        np.save(args.cache / f"oof_{name}.npy", probs)
        np.save(args.cache / f"dec_{name}.npy", decisions)
    ft_rows: list[dict] = []
    primary_name = None
    primary_seconds = float("nan")
    ft_cascade: list[dict] = []
    chosen_band = None
    if args.finetuned is not None:
        from cocreation_nlp.finetune import OOF_ARRAYS, cross_fit_decisions, read_oof_arrays
        from cocreation_nlp.model import cascade_decide, choose_band, load_model

        arr = read_oof_arrays(args.finetuned / OOF_ARRAYS)
        pos = {pid: i for i, pid in enumerate(arr["passage_ids"].tolist())}
        rows = np.array([pos[p] for p in data.passage_ids])
        model = load_model(args.finetuned)
        sample = list(range(0, len(data), max(1, len(data) // 600)))
        model.probabilities(["warm-up passage"], ["en"], [None], [""])
        t0 = time.perf_counter()
        model.probabilities(
            [data.texts[i] for i in sample],
            [data.languages[i] for i in sample],
            [None] * len(sample),
            [data.contexts[i] for i in sample],
        )
        ft_pps = len(sample) / (time.perf_counter() - t0)
        ft_probs = {}
        for name, key in (("fp32", "logits"), ("int8", "logits_int8")):
            if key not in arr:
                continue
            p, d, thr = cross_fit_decisions(arr[key][rows], data.y, arr["folds"][rows])
            m = label_metrics(data.y, d, p)
            ft_probs[name] = (p, thr)
            ft_rows.append(
                {
                    "name": f"finetuned MiniLM, {name} ONNX (heading context)",
                    "macro_f1": m["macro_f1"],
                    "f1": {label: m["labels"][label]["f1"] for label in LABELS},
                    "passages_per_s": ft_pps if name == model.meta.get("quantization") else float("nan"),
                }
            )
            print(f"finetuned {name}: macro_f1={m['macro_f1']:.3f}", flush=True)
        shipped = model.meta.get("quantization", "fp32")
        primary_name = args.cascade_primary if args.cascade_primary in oof else None
        if primary_name is None and args.primary_model is not None:
            from cocreation_nlp.oof import oof_predictions

            po = oof_predictions(args.primary_model)
            ppos = {pid: i for i, pid in enumerate(po["passage_ids"].tolist())}
            prow = np.array([ppos[p] for p in data.passage_ids])
            pm = load_model(args.primary_model)
            pm.predict_texts(["warm-up passage"], ["en"])
            t0 = time.perf_counter()
            pm.predict_texts(data.texts, data.languages)
            primary_name = f"{args.primary_model.name} model"
            oof[primary_name] = (po["probs"][prow], None)
            thresholds_by[primary_name] = po["thresholds"][prow]
            primary_seconds = time.perf_counter() - t0  # the whole model on every passage, rules included
        if primary_name:
            sp, _ = oof[primary_name]
            tp = thresholds_by[primary_name]
            fp, fthr = ft_probs[shipped]
            chosen_band, band_rows = choose_band(
                data.y, sp, tp, fp, fthr, bands=[float(b) for b in args.bands.split(",")]
            )
            t_static = (
                results[primary_name]["encode_seconds"] + rules_seconds
                if primary_name in results
                else primary_seconds
            )
            for r in band_rows:
                _, dec, redo = cascade_decide(sp, tp, fp, fthr, r["band"])
                m = label_metrics(data.y, dec)
                pps = len(data) / (t_static + redo.mean() * len(data) / ft_pps)
                ft_cascade.append(
                    {**r, "passages_per_s": pps, "f1": {label: m["labels"][label]["f1"] for label in LABELS}}
                )
                print(
                    f"cascade -> finetuned band={r['band']}: rescored={r['share']:.3f} macro_f1={r['macro_f1']:.3f} passages_per_s={pps:.0f}",
                    flush=True,
                )
    primary = args.cascade_primary
    if primary in oof and args.cascade_secondary in oof:
        sp, sd = oof[primary]
        tp, td = oof[args.cascade_secondary]
        thr = thresholds_by[primary]  # each row's thresholds, from its own outer fold
        t_static = results[primary]["encode_seconds"] + rules_seconds
        t_sec = results[args.cascade_secondary]["encode_seconds"]
        for band in [float(b) for b in args.bands.split(",")]:
            near = (np.abs(sp - thr) < band).any(axis=1)
            dec = sd.copy()
            dec[near] = td[near]
            probs = sp.copy()
            probs[near] = tp[near]
            m = label_metrics(data.y, dec, probs)
            share = float(near.mean())
            pps = len(data) / (t_static + share * t_sec)
            cascade_rows.append(
                {
                    "band": band,
                    "share": share,
                    "macro_f1": m["macro_f1"],
                    "passages_per_s": pps,
                    "f1": {label: m["labels"][label]["f1"] for label in LABELS},
                }
            )
            print(
                f"cascade band={band}: rescored={share:.3f} macro_f1={m['macro_f1']:.3f} passages_per_s={pps:.0f}",
                flush=True,
            )
    base = rules_baseline(data)
    lines = [
        f"Same nested grouped folds (5 outer, 4 inner; GroupKFold on document) over {len(data)} gold passages from "
        f"{len(set(data.doc_ids))} documents; throughput = passages / (encoding + rules), one process, 2 cores.",
        "",
        "| configuration | macro-F1 | passages/s | " + " | ".join(LABELS) + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in LABELS) + " |",
        f"| rules only | {base['macro_f1']:.3f} | {len(data) / rules_seconds:.0f} | "
        + " | ".join(f"{base['labels'][label]['f1']:.3f}" for label in LABELS)
        + " |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name.replace('+', ' + ')} + rules | {r['macro_f1']:.3f} | {r['passages_per_s']:.0f} | "
            + " | ".join(f"{r['f1'][label]:.3f}" for label in LABELS)
            + " |"
        )
    for c in cascade_rows:
        lines.append(
            f"| cascade {args.cascade_primary} -> {args.cascade_secondary}, band {c['band']} ({c['share']:.0%} re-scored) | {c['macro_f1']:.3f} | {c['passages_per_s']:.0f} | "
            + " | ".join(f"{c['f1'][label]:.3f}" for label in LABELS)
            + " |"
        )
    for r in ft_rows:
        lines.append(
            f"| {r['name']} | {r['macro_f1']:.3f} | {r['passages_per_s']:.0f} | "
            + " | ".join(f"{r['f1'][label]:.3f}" for label in LABELS)
            + " |"
        )
    for c in ft_cascade:
        mark = " **(chosen on the folds)**" if c["band"] == chosen_band else ""
        lines.append(
            f"| cascade {primary_name} -> finetuned, band {c['band']} ({c['share']:.0%} re-scored){mark} | {c['macro_f1']:.3f} | {c['passages_per_s']:.0f} | "
            + " | ".join(f"{c['f1'][label]:.3f}" for label in LABELS)
            + " |"
        )
    if args.distilled is not None:
        dmeta = json.loads((args.distilled / "meta.json").read_text(encoding="utf-8"))
        for key, name in (("without_distillation", "without"), ("cross_validated", "with")):
            m = dmeta["metrics"][key]
            lines.append(
                f"| {dmeta['embedder']['name']} + tfidf + rules, {name} distillation (teacher's folds) | {m['macro_f1']:.3f} | "
                f"{results.get(args.cascade_primary, {}).get('passages_per_s', len(data) / primary_seconds):.0f} | "
                + " | ".join(f"{m['labels'][label]['f1']:.3f}" for label in LABELS)
                + " |"
            )
    table = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table, encoding="utf-8")
    (args.out.with_suffix(".json")).write_text(
        json.dumps(
            {
                "results": results,
                "cascade": cascade_rows,
                "finetuned": ft_rows,
                "cascade_finetuned": ft_cascade,
                "chosen_band": chosen_band,
                "rules": {"macro_f1": base["macro_f1"]},
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    print(table)


if __name__ == "__main__":
    main()
