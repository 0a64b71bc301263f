"""Fine-tuning loop, ONNX export and torch-free inference, on a tiny transformer built here (no weights fetched)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cocreation_nlp.codebook import LABELS
from cocreation_nlp.errors import ModelLoadError
from cocreation_nlp.model import load_model

from .synthetic import NEUTRAL, TEMPLATES, TOPICS, assert_same_rates
from .synthetic import dataset as _dataset

pytest.importorskip("transformers")
pytest.importorskip("onnx")


def _tiny_base(folder: Path) -> Path:
    """A 2-layer, 32-wide BERT with random weights and a word-level WordPiece vocabulary of the test texts."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel

    texts = [t for ts in TEMPLATES.values() for t in ts] + NEUTRAL + TOPICS + ["item", "heading", "aims"]
    words = sorted({w for t in texts for w in re.findall(r"\w+|[^\w\s]", t.lower())} | set("0123456789-"))
    vocab = {tok: i for i, tok in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    import torch

    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        type_vocab_size=2,
    )
    BertModel(cfg).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_base(tmp_path_factory.mktemp("tiny") / "base")


@pytest.fixture(scope="module")
def finetuned(tiny: Path, tmp_path_factory: pytest.TempPathFactory):
    from cocreation_nlp.finetune import FinetuneConfig, finetune, save_finetuned

    data = _dataset(n_docs=8, per_doc=20)
    data.contexts = ["Aims" if i % 3 == 0 else "" for i in range(len(data))]
    cfg = FinetuneConfig(
        base=str(tiny),
        max_length=48,
        train_layers=1,
        epochs=12,
        batch_size=8,
        lr=3e-3,
        head_lr=1e-2,
        folds=3,
        quantize="fp32",
        threads=1,
    )
    result = finetune(
        data,
        cfg,
        contexts=data.contexts,
        extra_texts=["Nurses and social workers will be trained on housing.", "Table 3."],
        extra_contexts=["", ""],
        extra_doc_ids=["doc0", "doc5"],
        extra_passage_ids=["doc0:x1", "doc5:x2"],
    )
    out = tmp_path_factory.mktemp("ft") / "model"
    meta = save_finetuned(result, out)
    return data, result, out, meta


def test_training_learns_the_signal_on_grouped_folds(finetuned) -> None:
    data, result, _, meta = finetuned
    cv = meta["metrics"]["cross_validated"]
    # Four clearly separable labels in templates; a loop that does not learn stays near 0 F1 on them.
    for label in ("individual", "collective", "professionals", "equity"):
        assert cv["labels"][label]["f1"] > 0.8, (label, cv["labels"][label])
    # Out-of-fold rows are scored by a network that never saw their document.
    assert result.folds.min() == 0 and len(set(result.folds.tolist())) == 3
    for k in range(3):
        docs_k = {d for d, f in zip(data.doc_ids, result.folds, strict=True) if f == k}
        docs_other = {d for d, f in zip(data.doc_ids, result.folds, strict=True) if f != k}
        assert not docs_k & docs_other


def test_folder_is_safe_and_onnx_matches_torch(finetuned) -> None:
    from cocreation_nlp.finetune import predict_logits
    from cocreation_nlp.finetuned import FinetunedModel

    data, result, out, meta = finetuned
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "meta.json",
        "model.onnx",
        "oof.npz",
        "tokenizer.json",
    ]
    assert meta["kind"] == "finetuned" and set(meta["files"]) == {"model.onnx", "tokenizer.json", "oof.npz"}
    with np.load(out / "oof.npz", allow_pickle=False) as z:
        assert z["logits"].shape == (len(data), len(LABELS))
        assert z["extra_logits"].shape == (3, 2, len(LABELS))
    model = load_model(out)
    assert isinstance(model, FinetunedModel)
    # The exported graph (fp32 here) gives the torch network's logits, input by input.
    from cocreation_nlp.finetune import EncodedSet
    from cocreation_nlp.finetuned import encode_inputs

    texts, ctx = data.texts[:12], data.contexts[:12]
    import torch

    enc = EncodedSet(encode_inputs(model._tokenizer, texts, ctx, use_context=True))
    with torch.no_grad():
        full = np.stack([result.fitted.net(*_one(enc, i)).numpy()[0] for i in range(len(texts))])
    np.testing.assert_allclose(model.logits(texts, ctx), full, atol=1e-4)
    # Training reads the frozen layers' output from a float16 cache: within rounding of the graph.
    enc.fill_cache(result.fitted.net, result.fitted.start)
    np.testing.assert_allclose(model.logits(texts, ctx), predict_logits(result.fitted, enc), atol=2e-2)
    # The card names what was trained and how it was evaluated.
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "finetuned" in card and "Platt" in card and "interval over documents" in card


def _one(enc, i: int):
    ids, types, mask = enc.batch_inputs(np.array([i]))
    return ids, mask, types


def test_predictions_and_context_change_inputs(finetuned) -> None:
    _, _, out, _ = finetuned
    model = load_model(out)
    texts = ["Teachers get protected time to plan school with parents.", "Le conseil municipal a voté."]
    pred = model.predict_texts(texts, ["en", "fr"], ["Aims", ""])
    assert pred.in_scope == [True, True]
    assert pred.reasons[1].startswith("rule-only")
    assert pred.decisions[0, LABELS.index("professionals")]
    # Decisions are the model's own thresholds applied to its calibrated probabilities.
    np.testing.assert_array_equal(pred.decisions[0], pred.probs[0] >= model.thresholds)
    a = model.logits([texts[0]], ["Aims"])
    b = model.logits([texts[0]], [""])
    assert not np.allclose(a, b)  # the heading is really part of the input


def test_quantification_from_the_cross_fitted_out_of_fold_predictions(finetuned) -> None:
    """meta["quantification"] holds the rates of the stored out-of-fold predictions (each fold cross-fitted)."""
    from cocreation_nlp.oof import oof_predictions, quantification_from_oof
    from cocreation_nlp.quantify import estimator_for

    data, result, out, meta = finetuned
    assert meta["oof"] == {
        "format": 2,
        "file": "oof.npz",
        "source": meta["oof"]["source"],
        "n": len(data),
        "n_documents": 8,
        "n_folds": 3,
    }
    q = meta["quantification"]
    assert q["model"]["n_passages"] == len(data) and q["model"]["n_documents"] == 8
    for j, label in enumerate(LABELS):
        v = q["model"]["variables"][label]
        assert v["n_positive"] == int(data.y[:, j].sum())
        # The rates are those of the decisions the card's cross-validated figures count.
        assert v["tp"] == meta["metrics"]["cross_validated"]["labels"][label]["tp"]
        assert v["fp"] == meta["metrics"]["cross_validated"]["labels"][label]["fp"]
    oof = oof_predictions(out)
    np.testing.assert_allclose(oof["probs"], result.oof_probs, atol=1e-6)
    assert_same_rates(quantification_from_oof(oof, ["en"], rules=q["rules"])["model"], q["model"])
    est = estimator_for(load_model(out), "pacc")
    assert set(est.parameters) == {"model", "rules"} and est.method_for("model") == "pacc"


def test_document_validity_of_a_finetuned_model_uses_its_stored_folds(tiny: Path, tmp_path: Path) -> None:
    """`cocreation evaluate --documents` on a fine-tuned model: cross-fitted from its oof.npz, no retraining."""
    from typer.testing import CliRunner

    from cocreation_nlp.annotate.records import write_records
    from cocreation_nlp.annotations import resolve_records
    from cocreation_nlp.cli import app
    from cocreation_nlp.finetune import FinetuneConfig, finetune, save_finetuned

    from .test_validity import _records, _write_corpus

    corpus = tmp_path / "corpus"
    labels = _write_corpus(corpus)
    records = _records(corpus, labels)
    ann = tmp_path / "ann.jsonl"
    write_records(records, ann)
    data = resolve_records(records, [corpus])
    cfg = FinetuneConfig(
        base=str(tiny),
        max_length=32,
        train_layers=1,
        epochs=2,
        batch_size=8,
        folds=3,
        quantize="fp32",
        threads=1,
    )
    save_finetuned(finetune(data, cfg, contexts=data.contexts), tmp_path / "ft")
    out = tmp_path / "validity"
    r = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(ann),
            "--documents",
            "--model",
            str(tmp_path / "ft"),
            "--corpus",
            str(corpus),
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "stored out-of-fold predictions" in r.stderr
    result = json.loads(out.with_suffix(".json").read_text())
    assert result["n_documents"] == 6 and result["scheme"] == "cross-fitted (stored out-of-fold predictions)"
    assert set(result["summary"]) == {"probabilities", "decisions", "acc", "pacc", "sld"}


def test_tampered_model_file_is_refused(finetuned, tmp_path: Path) -> None:
    import shutil

    _, _, out, _ = finetuned
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    with (bad / "model.onnx").open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelLoadError, match="(?i)sha-?256"):
        load_model(bad)


def test_inference_never_imports_torch(finetuned) -> None:
    _, _, out, _ = finetuned
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None\n"
        "from cocreation_nlp.model import load_model\n"
        f"m = load_model({str(out)!r})\n"
        "p = m.predict_texts(['Residents told us in interviews that the form was confusing.'], ['en'])\n"
        "print(p.probs.shape)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "(1, 7)" in r.stdout


def test_end_to_end_training_path_and_focal_loss(tiny: Path) -> None:
    """train_layers=0 trains the embeddings and every layer; the focal loss runs too."""
    from cocreation_nlp.finetune import EncodedSet, FinetuneConfig, fit_network, predict_logits
    from cocreation_nlp.finetuned import encode_inputs, load_tokenizer

    data = _dataset(n_docs=4, per_doc=12)
    tok = load_tokenizer(tiny / "tokenizer.json", 32)
    enc = EncodedSet(encode_inputs(tok, data.texts, None, use_context=False))
    cfg = FinetuneConfig(base=str(tiny), train_layers=0, epochs=2, batch_size=8, loss="focal", threads=1)
    fitted = fit_network(enc, data.y.astype(np.float32), cfg)
    assert fitted.start == 0 and enc.cache is None
    before = fitted.net.encoder.embeddings.word_embeddings.weight.detach().clone()
    from transformers import AutoModel

    fresh = AutoModel.from_pretrained(str(tiny)).embeddings.word_embeddings.weight
    assert not np.allclose(before.numpy(), fresh.detach().numpy())  # embeddings were trained
    logits = predict_logits(fitted, enc)
    assert logits.shape == (len(data), len(LABELS)) and np.isfinite(logits).all()
    with pytest.raises(ValueError, match="loss"):
        fit_network(enc, data.y.astype(np.float32), FinetuneConfig(base=str(tiny), loss="hinge", epochs=1))


def test_length_buckets_group_similar_lengths() -> None:
    from cocreation_nlp.finetune import length_buckets

    lengths = [5, 50, 6, 51, 7, 52, 8, 53]
    batches = length_buckets(lengths, 4, None)
    assert [sorted(lengths[i] for i in b) for b in batches] == [[5, 6, 7, 8], [50, 51, 52, 53]]
    rng = np.random.default_rng(0)
    shuffled = length_buckets(lengths, 4, rng)
    assert sorted(i for b in shuffled for i in b) == list(range(8))


def test_cli_train_finetune_writes_a_loadable_model(tiny: Path, tmp_path: Path, monkeypatch) -> None:
    """`cocreation train --method finetune` on records that carry their text (no corpus needed)."""
    from typer.testing import CliRunner

    from cocreation_nlp.annotate.records import AnnotationRecord, write_records
    from cocreation_nlp.cli import app
    from cocreation_nlp.finetune import FinetuneConfig
    from cocreation_nlp.types import fingerprint

    data = _dataset(n_docs=6, per_doc=10)
    recs = [
        AnnotationRecord(
            doc_id=d,
            passage_id=p,
            fingerprint=fingerprint(t),
            labels=[lab for lab, v in zip(LABELS, row, strict=True) if v],
            annotator="t",
            created_at="2026-01-01T00:00:00Z",
            codebook_version="1.1",
            text=t,
        )
        for p, d, t, row in zip(data.passage_ids, data.doc_ids, data.texts, data.y.tolist(), strict=True)
    ]
    ann = tmp_path / "a.jsonl"
    write_records(recs, ann)
    corpus = tmp_path / "corpus"  # empty: the records carry their text, and there is nothing unlabelled
    corpus.mkdir()
    import cocreation_nlp.finetune as ft

    real = ft.FinetuneConfig
    monkeypatch.setattr(
        ft,
        "FinetuneConfig",
        lambda **kw: real(
            **{**kw, "base": str(tiny), "max_length": 32, "batch_size": 8, "folds": 2, "threads": 1}
        ),
    )
    assert isinstance(ft.FinetuneConfig(epochs=1), FinetuneConfig)
    r = CliRunner().invoke(
        app,
        [
            "train",
            str(ann),
            "--method",
            "finetune",
            "--epochs",
            "1",
            "--corpus",
            str(corpus),
            "-o",
            str(tmp_path / "m"),
        ],
    )
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    assert meta["kind"] == "finetuned" and meta["train_config"]["epochs"] == 1
    assert load_model(tmp_path / "m").predict_texts(["Residents were asked."], ["en"]).probs.shape == (1, 7)


def test_refresh_card_recomputes_the_same_figures_from_oof(finetuned, tmp_path: Path) -> None:
    import shutil

    from cocreation_nlp.finetune import refresh_card

    _, _, out, meta = finetuned
    copy = tmp_path / "m"
    shutil.copytree(out, copy)
    again = refresh_card(copy)
    assert again["metrics"]["cross_validated"]["macro_f1"] == pytest.approx(
        meta["metrics"]["cross_validated"]["macro_f1"]
    )
    assert (
        again["metrics"]["cross_validated"]["labels"]["equity"]["tp"]
        == meta["metrics"]["cross_validated"]["labels"]["equity"]["tp"]
    )
    assert again["oof"] == meta["oof"] and again["quantification"] == meta["quantification"]
    assert "en" in again["metrics"]["analysis"]["by_language"]
    load_model(copy)  # hashes of the model files still match
