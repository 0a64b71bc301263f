"""Distillation data: train documents only, never a reserved one; soft labels from the right fold's teacher."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cocreation_nlp.annotations import LabelledSet
from cocreation_nlp.codebook import LABELS
from cocreation_nlp.distil import distil_cross_validate, soft_rows, unlabelled_passages
from cocreation_nlp.errors import AnnotationError

TRAIN_TEXT = """# Aims

Residents told us in interviews that the housing form was confusing.

The tenants' association will help run the housing programme.

Nurses will be trained to work with families.
"""
RESERVED_TEXT = """# Secret

The reserved document says residents co-designed the service.

A second reserved paragraph about charities.
"""


def _corpus(tmp_path: Path, *, with_split: bool = True) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "train-doc.md").write_text(TRAIN_TEXT, encoding="utf-8")
    (root / "reserved-doc.md").write_text(RESERVED_TEXT, encoding="utf-8")
    if with_split:
        rows = "doc_id,file,split\ntrain-doc,train-doc.md,train\nreserved-doc,reserved-doc.md,reserved\n"
    else:
        rows = "doc_id,file\ntrain-doc,train-doc.md\nreserved-doc,reserved-doc.md\n"
    (root / "manifest.csv").write_text(rows, encoding="utf-8")
    return root


def _labelled_first_passage(corpus: Path) -> LabelledSet:
    from cocreation_nlp.ingest import discover, read_one
    from cocreation_nlp.segment import labelling_units, segment_document

    src = next(s for s in discover([corpus]) if s.doc_id == "train-doc")
    passages = segment_document(read_one(src))
    p = passages[labelling_units(passages)[0]]  # the "Aims" heading is a passage, not a labelling unit
    return LabelledSet([p.passage_id], [p.doc_id], [p.text], ["en"], np.zeros((1, len(LABELS)), dtype=int))


def test_unlabelled_passages_come_from_train_documents_only(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    labelled = _labelled_first_passage(corpus)
    unl = unlabelled_passages(labelled, [corpus])
    assert len(unl) == 2  # the train document's other two passages
    assert set(unl.doc_ids) == {"train-doc"}
    assert labelled.passage_ids[0] not in unl.passage_ids
    assert not any("reserved" in t for t in unl.texts)
    assert all(c == "Aims" for c in unl.contexts)  # the heading travels as context


def test_a_corpus_without_split_is_refused(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, with_split=False)
    with pytest.raises(AnnotationError, match="split"):
        unlabelled_passages(_labelled_first_passage(corpus), [corpus])


def test_soft_rows_are_the_cross_entropy_to_the_soft_target() -> None:
    X = np.arange(6, dtype=float).reshape(3, 2)
    soft = np.array([[0.9] * len(LABELS), [0.2] * len(LABELS), [0.5] * len(LABELS)])
    X2, ys, ws = soft_rows(X, soft, 0.5)
    assert X2.shape == (6, 2)
    assert ys[0].tolist() == [1, 1, 1, 0, 0, 0]
    np.testing.assert_allclose(ws[0], [0.45, 0.1, 0.25, 0.05, 0.4, 0.25])


def test_fold_students_never_see_soft_rows_of_their_test_documents(monkeypatch) -> None:
    import cocreation_nlp.distil as distil
    from cocreation_nlp.train import TrainConfig

    seen: list[tuple[set, set, np.ndarray]] = []
    real = distil.fit_student

    def spy(X_lab, Y, groups, X_unl, soft, unl_groups, cfg, weight):  # noqa: ANN001
        seen.append((set(groups.tolist()), set(unl_groups.tolist()), soft.copy()))
        return real(X_lab, Y, groups, X_unl, soft, unl_groups, cfg, weight)

    monkeypatch.setattr(distil, "fit_student", spy)
    rng = np.random.default_rng(0)
    n_docs, per = 6, 10
    groups = np.repeat([f"d{i}" for i in range(n_docs)], per)
    Y = (rng.uniform(size=(len(groups), len(LABELS))) < 0.3).astype(int)
    Y[:2] = 1
    X = rng.normal(size=(len(groups), 4)) + Y[:, :4]
    folds = np.repeat(np.arange(3), 2 * per)
    unl_groups = np.repeat([f"d{i}" for i in range(n_docs)], 3)
    Xu = rng.normal(size=(len(unl_groups), 4))
    # Fold k's teacher marks its soft labels with the value k / 10, so the test can tell them apart.
    soft_by_fold = np.stack([np.full((len(unl_groups), len(LABELS)), k / 10) for k in range(3)])
    cfg = TrainConfig(embedder="none", tfidf=False, outer_folds=3, inner_folds=2, c_grid=(1.0,), n_jobs=1)
    texts = [f"t{i}" for i in range(len(groups))]
    probs, _, thresholds = distil_cross_validate(
        X,
        texts,
        Y,
        groups,
        folds,
        Xu,
        [f"u{i}" for i in range(len(unl_groups))],
        unl_groups,
        soft_by_fold,
        cfg,
        0.5,
    )
    assert probs.shape == Y.shape and thresholds.shape == Y.shape and len(seen) == 3
    for k, (lab_docs, soft_docs, soft) in enumerate(seen):
        test_docs = set(groups[folds == k].tolist())
        assert not soft_docs & test_docs  # no soft row from the held-out documents
        assert soft_docs == lab_docs  # and every other train document's
        assert np.allclose(soft, k / 10)  # labelled by fold k's teacher


def test_distil_end_to_end_from_a_tiny_teacher(tmp_path: Path) -> None:
    """Teacher fine-tuned on standoff annotations; the student learns its soft labels on unlabelled train passages."""
    import random

    pytest.importorskip("transformers")
    from cocreation_nlp.annotate.records import AnnotationRecord, write_records
    from cocreation_nlp.distil import distil_from_annotations
    from cocreation_nlp.finetune import FinetuneConfig, train_from_annotations
    from cocreation_nlp.ingest import discover, read_one
    from cocreation_nlp.model import load_model
    from cocreation_nlp.segment import segment_document
    from cocreation_nlp.train import TrainConfig
    from cocreation_nlp.types import is_labelling_unit

    from .synthetic import NEUTRAL, TEMPLATES, TOPICS, assert_same_rates
    from .test_finetune import _tiny_base

    rng = random.Random(0)
    root = tmp_path / "corpus"
    root.mkdir()
    rows = ["doc_id,file,split"]
    truth: dict[str, str | None] = {}
    for d in range(6):
        paras = []
        for i in range(10):
            label = rng.choice([*TEMPLATES, None])
            text = (rng.choice(TEMPLATES[label]) if label else rng.choice(NEUTRAL)).format(
                x=rng.choice(TOPICS)
            )
            text += f" Item {d}-{i}."
            truth[text] = label
            paras.append(text)
        (root / f"d{d}.md").write_text("# Plan\n\n" + "\n\n".join(paras) + "\n", encoding="utf-8")
        rows.append(f"d{d},d{d}.md,train")
    (root / "r.md").write_text("# R\n\nReserved residents told us things.\n", encoding="utf-8")
    rows.append("r,r.md,reserved")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    records = []
    for src in discover([root]):
        if src.doc_id == "r":
            continue
        units = [p for p in segment_document(read_one(src)) if is_labelling_unit(p.kind)]
        for p in units[:7]:  # 3 passages per document stay unlabelled (the "Plan" heading is no unit)
            label = truth[p.text]
            records.append(
                AnnotationRecord(
                    doc_id=p.doc_id,
                    passage_id=p.passage_id,
                    fingerprint=p.fingerprint,
                    start_char=p.start_char,
                    end_char=p.end_char,
                    labels=[label] if label else [],
                    annotator="t",
                    created_at="2026-01-01T00:00:00Z",
                    codebook_version="1.1",
                )
            )
    ann = tmp_path / "a.jsonl"
    write_records(records, ann)
    base = _tiny_base(tmp_path / "base")
    cfg = FinetuneConfig(
        base=str(base),
        max_length=32,
        train_layers=1,
        epochs=3,
        batch_size=8,
        folds=3,
        threads=1,
        quantize="fp32",
    )
    train_from_annotations([ann], tmp_path / "teacher", cfg, corpus=[root])
    with np.load(tmp_path / "teacher" / "oof.npz", allow_pickle=False) as z:
        assert z["extra_logits"].shape == (3, 18, len(LABELS))
        assert "r" not in set(z["extra_doc_ids"].tolist()) and "r" not in set(z["doc_ids"].tolist())
    meta = distil_from_annotations(
        [ann],
        tmp_path / "student",
        tmp_path / "teacher",
        TrainConfig(embedder="static", outer_folds=3, inner_folds=2, n_jobs=1),
        corpus=[root],
    )
    d = meta["distillation"]
    assert d["soft_passages"] == 18 and d["soft_documents"] == 6
    assert set(meta["metrics"]) >= {"cross_validated", "without_distillation", "analysis"}
    assert "With and without distillation" in (tmp_path / "student" / "README.md").read_text()
    pred = load_model(tmp_path / "student").predict_texts(
        ["Voluntary sector organisations sit on the school board."], ["en"]
    )
    assert pred.probs.shape == (1, len(LABELS))
    # Teacher and student each carry the count estimators' rates of their own out-of-fold predictions.
    from cocreation_nlp.oof import oof_predictions, quantification_from_oof
    from cocreation_nlp.quantify import estimator_for

    for folder in (tmp_path / "teacher", tmp_path / "student"):
        q = json.loads((folder / "meta.json").read_text())["quantification"]
        assert q["model"]["n_passages"] == 42 and q["model"]["n_documents"] == 6
        again = quantification_from_oof(oof_predictions(folder), ["en"], rules=q["rules"])
        assert_same_rates(again["model"], q["model"])
        assert set(estimator_for(load_model(folder), "pacc").parameters) == {"model", "rules"}
    student_oof = oof_predictions(tmp_path / "student")
    assert student_oof["probs"].shape == (42, len(LABELS))
    assert meta["oof"]["format"] == 2 and "distilled student" in meta["oof"]["source"]
