"""Document-level validity: complete-document gold, the metrics, the method choice, the CLI and the report section."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cocreation_nlp.annotate.records import AnnotationRecord, write_records
from cocreation_nlp.cli import app
from cocreation_nlp.config import ScoreConfig
from cocreation_nlp.quantify import model_quantification
from cocreation_nlp.validity import OutOfFold, choose_method, complete_documents, document_validity


def _oof(rng: np.random.Generator, *, noise: bool, n_docs: int = 12, n: int = 60) -> OutOfFold:
    """Documents with very different prevalences; a classifier whose probabilities are shrunk toward 10%."""
    ys, ps, gs = [], [], []
    for d in range(n_docs):
        prev = rng.uniform(0.0, 0.8, size=7)
        y = (rng.random((n, 7)) < prev).astype(int)
        if noise:
            p = np.where(y == 1, rng.beta(4, 4, size=y.shape), rng.beta(1, 12, size=y.shape))
        else:
            p = y.astype(float)
        ys.append(y)
        ps.append(p)
        gs += [f"doc{d:02d}"] * n
    y, p, g = np.vstack(ys), np.vstack(ps), np.asarray(gs)
    folds = np.array([int(d[3:]) % 3 for d in g])
    params = [
        model_quantification(
            y[folds != f], p[folds != f], 0.3, g[folds != f], ["en"] * int((folds != f).sum()), ["en"]
        )
        for f in range(3)
    ]
    return OutOfFold(
        y=y,
        groups=g,
        probs=p,
        decisions=p >= 0.3,
        sources=np.array(["model"] * len(g)),
        folds=folds,
        parameters=params,
        scheme="cross-fitted",
        complete=frozenset(g.tolist()),
    )


def test_perfect_predictions_reproduce_the_gold_scores() -> None:
    res = document_validity(
        _oof(np.random.default_rng(0), noise=False), score_cfg=ScoreConfig(n_bootstrap=50)
    )
    for method in ("probabilities", "decisions", "pacc"):
        o = res["summary"][method]["overall"]
        assert o["mae"] == pytest.approx(0.0, abs=1e-9)
        assert o["within_0.10"] == 1.0 and o["undefined_agreement"] == 1.0 and o["agreement"] == 1.0
    assert len(res["pairs"]) == 12 * 6 * len(res["methods"])


def test_quantification_beats_summed_probabilities_under_label_shift() -> None:
    res = document_validity(
        _oof(np.random.default_rng(1), noise=True), score_cfg=ScoreConfig(n_bootstrap=200)
    )
    s = res["summary"]
    assert s["pacc"]["overall"]["mae"] < s["probabilities"]["overall"]["mae"]
    assert s["pacc"]["overall"]["coverage"] > s["probabilities"]["overall"]["coverage"]
    assert res["chosen"] in res["methods"]
    pairs = [p for p in res["pairs"] if p["method"] == "pacc"]
    assert {p["doc_id"] for p in pairs} == {f"doc{d:02d}" for d in range(12)}


def test_only_complete_documents_are_gold() -> None:
    oof = _oof(np.random.default_rng(2), noise=True)
    oof.complete = frozenset({"doc00", "doc05"})
    res = document_validity(oof, methods=("pacc",), score_cfg=ScoreConfig(n_bootstrap=0))
    assert res["n_documents"] == 2 and {p["doc_id"] for p in res["pairs"]} == {"doc00", "doc05"}


def test_choice_requires_calibrated_intervals_then_agreement() -> None:
    def summ(agreement: float, coverage: float, mae: float) -> dict:
        return {"overall": {"agreement": agreement, "coverage": coverage, "mae": mae}}

    summary = {
        "decisions": summ(0.70, 0.70, 0.09),
        "acc": summ(0.60, 0.88, 0.12),
        "pacc": summ(0.65, 0.91, 0.10),
    }
    assert choose_method(summary)[0] == "pacc"
    summary["pacc"]["overall"]["coverage"] = 0.99  # needlessly wide: out of range
    assert choose_method(summary)[0] == "acc"
    chosen, rule = choose_method({"decisions": summ(0.7, 0.5, 0.1), "pacc": summ(0.6, 0.6, 0.1)})
    assert chosen == "decisions" and "no method met" in rule


def _write_corpus(root: Path, n_docs: int = 6, per_doc: int = 10, seed: int = 0) -> dict[str, list[str]]:
    """A folder of text documents, one paragraph per passage; returns each paragraph's label (or none)."""
    from tests.synthetic import NEUTRAL, TEMPLATES, TOPICS

    rng = random.Random(seed)
    labels: dict[str, list[str]] = {}
    root.mkdir(parents=True, exist_ok=True)
    for d in range(n_docs):
        paras = []
        for i in range(per_doc):
            label = rng.choice([*TEMPLATES, None])
            tpl = rng.choice(TEMPLATES[label] if label else NEUTRAL)
            text = tpl.format(x=rng.choice(TOPICS)) + f" This is paragraph {i} of report {d}."
            paras.append(text)
            labels[text] = [label] if label else []
        (root / f"report-{d}.txt").write_text("\n\n".join(paras) + "\n", encoding="utf-8")
    return labels


def _records(corpus: Path, labels: dict[str, list[str]], *, drop: int = 0) -> list[AnnotationRecord]:
    from cocreation_nlp.ingest import discover, read_one
    from cocreation_nlp.segment import segment_document

    out = []
    for src in discover([corpus]):
        passages = segment_document(read_one(src))
        for k, p in enumerate(passages):
            if src.doc_id == "report-0" and k < drop:
                continue
            out.append(
                AnnotationRecord(
                    doc_id=p.doc_id,
                    passage_id=p.passage_id,
                    fingerprint=p.fingerprint,
                    start_char=p.start_char,
                    end_char=p.end_char,
                    labels=labels[p.text],
                    annotator="t",
                    created_at="2026-01-01T00:00:00Z",
                    codebook_version="1.1",
                )
            )
    return out


def test_complete_documents_finds_unlabelled_passages(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    labels = _write_corpus(corpus, n_docs=2)
    from cocreation_nlp.annotations import resolve_records

    data = resolve_records(_records(corpus, labels, drop=2), [corpus])
    complete, why = complete_documents(data.doc_ids, data.texts, [corpus])
    assert complete == frozenset({"report-1"})
    assert "2 of 10 passages" in why["report-0"]


def test_cli_evaluate_documents_records_validity_in_model_and_report(
    tmp_path: Path, sample_dir: Path
) -> None:
    corpus = tmp_path / "corpus"
    labels = _write_corpus(corpus)
    ann = tmp_path / "ann.jsonl"
    write_records(_records(corpus, labels), ann)
    model_dir = tmp_path / "m"
    r = CliRunner().invoke(
        app, ["train", str(ann), "-o", str(model_dir), "--corpus", str(corpus), "--no-tfidf"]
    )
    assert r.exit_code == 0, r.output
    meta = json.loads((model_dir / "meta.json").read_text())
    q = meta["quantification"]
    assert q["model"]["n_documents"] == 6 and set(q["model"]["variables"]["professionals"]) >= {"tpr", "fpr"}
    out = tmp_path / "validity"
    r = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(ann),
            "--documents",
            "--fast",
            "--record",
            "--model",
            str(model_dir),
            "--corpus",
            str(corpus),
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    result = json.loads(out.with_suffix(".json").read_text())
    assert result["n_documents"] == 6 and result["scheme"] == "cross-fitted"
    assert set(result["summary"]) == {"probabilities", "decisions", "acc", "pacc", "sld"}
    assert "| pacc | professional_blind_spot |" in out.with_suffix(".md").read_text().replace("**", "")
    meta = json.loads((model_dir / "meta.json").read_text())
    assert (
        meta["document_validity"]["chosen"] == result["chosen"] and "pairs" not in meta["document_validity"]
    )
    assert "Validity against complete-document gold" in (model_dir / "README.md").read_text()

    # The HTML report of a run with this model carries the validity section for the run's count method.
    from cocreation_nlp.pipeline import run_score
    from cocreation_nlp.report.build import build_report

    run_dir = tmp_path / "run"
    run_score(
        [sample_dir / "docs" / "kestrel-feedback-guidance-2019.txt"], run_dir, model=str(model_dir), workers=1
    )
    run = json.loads((run_dir / "run.json").read_text())
    assert run["count_method"] == "pacc" and run["document_validity"]["n_documents"] == 6
    html = build_report(run_dir)
    assert "How far each score can be trusted" in html and "On 6 training documents" in html

    # Without a recorded evaluation the section says so instead of inventing figures.
    run_score(
        [sample_dir / "docs" / "kestrel-feedback-guidance-2019.txt"],
        tmp_path / "rules",
        model="rules",
        workers=1,
    )
    html = build_report(tmp_path / "rules")
    assert "no recorded document-level validation" in html


def test_cli_evaluate_documents_refuses_rules(tmp_path: Path) -> None:
    ann = tmp_path / "a.jsonl"
    write_records([], ann)
    r = CliRunner().invoke(
        app, ["evaluate", str(ann), "--documents", "--model", "rules", "-o", str(tmp_path / "v")]
    )
    assert r.exit_code == 2  # nothing was done
    assert "Error:" in r.stderr


def test_out_of_fold_from_any_model_predictions_cross_fits_parameters() -> None:
    from cocreation_nlp.validity import out_of_fold_from_predictions

    rng = np.random.default_rng(3)
    n = 90
    y = (rng.random((n, 7)) < 0.3).astype(int)
    probs = rng.random((n, 7))
    rules = np.full((n, 7), 0.7)
    groups = [f"d{i // 10}" for i in range(n)]
    langs = ["fr" if g == "d8" else "en" for g in groups]
    folds = np.array([int(g[1:]) % 3 for g in groups])
    oof = out_of_fold_from_predictions(
        y, groups, langs, probs, 0.5, folds, ["en"], rules, complete=frozenset(groups)
    )
    assert oof.scheme == "cross-fitted" and len(oof.parameters) == 3
    # Fold 0 holds d0, d3, d6: its parameters come from the other six documents only.
    assert oof.parameters[0]["model"]["n_documents"] == 5  # d8 (French) is scored by the rules
    assert oof.parameters[0]["rules"]["n_documents"] == 6
    fr = np.asarray(langs) == "fr"
    assert (oof.probs[fr] == 0.7).all() and oof.decisions[fr].all() and set(oof.sources[fr]) == {"rules"}
    np.testing.assert_array_equal(oof.decisions[~fr], probs[~fr] >= 0.5)


def test_document_validity_of_other_kinds_uses_their_stored_out_of_fold_predictions(tmp_path: Path) -> None:
    """Cascades, per-language routers and distilled students are validated without re-running a recipe."""
    import shutil

    from cocreation_nlp.annotations import resolve_records
    from cocreation_nlp.bylanguage import train_language_models
    from cocreation_nlp.model import save_cascade
    from cocreation_nlp.oof import cascade_from_folds, oof_predictions
    from cocreation_nlp.train import TrainConfig, save_trained, train
    from cocreation_nlp.validity import STORED_SCHEME, run_document_validity

    corpus = tmp_path / "corpus"
    labels = _write_corpus(corpus)
    records = _records(corpus, labels)
    ann = tmp_path / "ann.jsonl"
    write_records(records, ann)
    data = resolve_records(records, [corpus])
    cfg = TrainConfig(embedder="static", outer_folds=3, inner_folds=2, n_jobs=1)
    save_trained(train(data, cfg), tmp_path / "a")
    save_trained(
        train(data, TrainConfig(embedder="static", tfidf=False, outer_folds=3, inner_folds=2, n_jobs=1)),
        tmp_path / "b",
    )
    band, _, q = cascade_from_folds(tmp_path / "a", tmp_path / "b", 0.1)
    save_cascade(tmp_path / "c", tmp_path / "a", tmp_path / "b", band=band, quantification=q)
    train_language_models(data, tmp_path / "lang", tmp_path / "a", cfg, languages=("fr",))
    distilled = tmp_path / "d"
    shutil.copytree(tmp_path / "a", distilled)
    meta = json.loads((distilled / "meta.json").read_text())
    meta["distillation"] = {"teacher": "t"}  # a distilled student's recipe is not `train`'s
    (distilled / "meta.json").write_text(json.dumps(meta))
    for folder in ("c", "lang", "d"):
        result, _ = run_document_validity(
            tmp_path / folder, [ann], corpus=[corpus], score_cfg=ScoreConfig(n_bootstrap=20)
        )
        assert result["scheme"] == STORED_SCHEME and result["n_documents"] == 6, folder
    # The cascade's held-out rows are its two models' combined at its band, passage by passage.
    c, a, b = (oof_predictions(tmp_path / x) for x in ("c", "a", "b"))
    redo = (np.abs(a["probs"] - a["thresholds"]) < band).any(axis=1)
    np.testing.assert_allclose(c["probs"], np.where(redo[:, None], b["probs"], a["probs"]))
    # A model trained on other passages has no held-out prediction for these documents: said, not guessed.
    other = tmp_path / "other"
    shutil.copytree(distilled, other)
    arr = dict(np.load(other / "oof.npz"))
    arr["passage_ids"] = np.asarray([f"x{i}" for i in range(len(arr["passage_ids"]))])
    np.savez_compressed(other / "oof.npz", **arr)
    from cocreation_nlp.errors import AnnotationError

    with pytest.raises(AnnotationError, match="no out-of-fold prediction"):
        run_document_validity(other, [ann], corpus=[corpus], score_cfg=ScoreConfig(n_bootstrap=0))
