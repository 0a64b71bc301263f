"""The fine-tuned transformer classifier at inference time: onnxruntime + tokenizers, never torch.

A ``finetuned`` model folder (written by :mod:`cocreation_nlp.finetune`) holds::

    meta.json        kind "finetuned", labels, codebook version, per-label Platt calibration
                     (a, b on the logit) and decision thresholds, input settings (max length,
                     whether the heading is given as context), file hashes, cross-validated
                     metrics, the count estimators' parameters (``quantification``) and how
                     ``oof.npz`` was made (``oof``)
    model.onnx       the encoder and the multi-label head as one graph (int8 or fp32)
    tokenizer.json   the tokenizer the model was trained with
    oof.npz          grouped out-of-fold logits (:mod:`cocreation_nlp.oof`)
    README.md        the model card

Loading goes through :data:`cocreation_nlp.model.LOADERS` (kind ``finetuned``).

Why a separate module: scoring must not need torch (7 s to import, 750 MB installed). Training
lives in :mod:`cocreation_nlp.finetune`, which imports torch; this module only needs the two small
runtime libraries the core package already depends on.

Inputs are the passage text, and, when the model was trained with context, the passage's heading
and list lead-in (:func:`cocreation_nlp.segment.passage_context`) as the second segment of a
sentence pair (``[CLS] text [SEP] context [SEP]``), truncated longest-first to ``max_length`` word pieces. The ``tokenizer.json`` shipped with
all-MiniLM-L6-v2 pads and truncates every input to 128 tokens: both are switched off here and set
explicitly, or the inputs would differ from training.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .classify import Predictions, predict_with_scope
from .codebook import LABELS
from .errors import ModelLoadError
from .util import file_sha256, language_code, usable_cores

KIND = "finetuned"


def load_tokenizer(file: Path, max_length: int):  # noqa: ANN201 - tokenizers.Tokenizer
    """A ``tokenizers`` tokenizer with no padding and longest-first truncation to ``max_length``."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(file))
    tok.no_padding()
    tok.enable_truncation(max_length=max_length, strategy="longest_first")
    return tok


def encode_inputs(
    tokenizer, texts: Sequence[str], contexts: Sequence[str] | None, *, use_context: bool
) -> list[tuple[list[int], list[int]]]:  # noqa: ANN001
    """Token ids and token type ids per passage (the sentence pair when context is used)."""
    out = []
    for i, text in enumerate(texts):
        ctx = contexts[i] if (use_context and contexts is not None) else ""
        enc = tokenizer.encode(text, ctx) if ctx else tokenizer.encode(text)
        out.append((list(enc.ids), list(enc.type_ids)))
    return out


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))


def calibrate(logits: np.ndarray, platt: Sequence[Sequence[float]]) -> np.ndarray:
    """Per-label Platt scaling: ``sigmoid(a * logit + b)`` with one (a, b) per label column."""
    ab = np.asarray(platt, dtype=float).reshape(-1, 2)
    return sigmoid(logits * ab[None, :, 0] + ab[None, :, 1])


class OnnxLogits:
    """Run an exported classifier graph: one passage per run, on a pool of single-threaded sessions.

    One passage per run because dynamic int8 quantisation computes one activation range per
    batch: in a batch a passage's output would depend on its neighbours (see
    :class:`cocreation_nlp.embed.OnnxEmbedder`, where this was measured). It also avoids padding.
    """

    def __init__(self, model_file: Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime raises untyped errors
            raise ModelLoadError(f"{model_file}: onnxruntime cannot load it ({err})") from err
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.threads = max(1, threads or usable_cores())
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = os.getpid()
        self._lock = threading.Lock()

    def _one(self, item: tuple[list[int], list[int]]) -> np.ndarray:
        ids = np.asarray([item[0]], dtype=np.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.asarray([item[1]], dtype=np.int64),
        }
        return self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0][0]

    def __call__(self, encoded: Sequence[tuple[list[int], list[int]]]) -> np.ndarray:
        """Logits, shape (n, n_labels), in the order of ``encoded``."""
        if not encoded:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        if self.threads == 1 or len(encoded) == 1:
            return np.stack([self._one(e) for e in encoded])
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i][0]))
        out = [None] * len(encoded)
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():  # a forked child has no pool threads
                self._pool_pid = os.getpid()
                self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="cocreation-ft")
            pool = self._pool
        for i, row in zip(order, pool.map(self._one, [encoded[i] for i in order]), strict=True):
            out[i] = row
        return np.stack(out)


class FinetunedModel:
    """A fine-tuned transformer passage classifier loaded from its model folder (no torch).

    It follows the same protocol as :class:`cocreation_nlp.model.SingleModel`: ``probabilities``
    for in-scope passages, ``thresholds`` for its own decisions, ``predict_texts`` with the rule
    fallback for languages outside its scope.
    """

    def __init__(self, path: Path, meta: dict) -> None:
        self.path = Path(path)
        self.meta = meta
        self.labels: tuple[str, ...] = tuple(meta["labels"])
        self.model_id: str = meta["model_id"]
        self.languages: tuple[str, ...] = tuple(meta["languages"])
        self.out_of_scope: str = meta.get("out_of_scope", "rules")
        inputs = meta["inputs"]
        self.max_length = int(inputs["max_length"])
        self.use_context = inputs.get("context", "none") != "none"
        self.platt = np.asarray(meta["calibration"]["platt"], dtype=float)
        self.thresholds = np.asarray(meta["thresholds"], dtype=float)
        files = meta.get("files", {})
        for name in ("model.onnx", "tokenizer.json"):
            f = self.path / name
            if not f.is_file():
                raise ModelLoadError(f"{self.path}: {name} is missing (a finetuned model folder needs it)")
            expected = files.get(name)
            if expected and file_sha256(f) != expected:
                raise ModelLoadError(
                    f"{f}: sha256 differs from the one recorded in meta.json: the file was changed or truncated"
                )
        self._tokenizer = load_tokenizer(self.path / "tokenizer.json", self.max_length)
        self._run = OnnxLogits(self.path / "model.onnx")

    def covers(self, language: str) -> bool:
        """Whether passages in ``language`` are inside the model's scope."""
        return "und" in self.languages or language_code(language) in self.languages

    def logits(self, texts: Sequence[str], contexts: Sequence[str] | None = None) -> np.ndarray:
        """Raw head logits, shape (n, n_labels)."""
        return self._run(encode_inputs(self._tokenizer, texts, contexts, use_context=self.use_context))

    def probabilities(
        self,
        texts: Sequence[str],
        languages: Sequence[str],
        hits: list,
        contexts: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Calibrated probabilities for in-scope passages (the rule hits are not features here)."""
        return calibrate(self.logits(texts, contexts), self.platt)

    def predict_texts(
        self, texts: Sequence[str], languages: Sequence[str], contexts: Sequence[str] | None = None
    ) -> Predictions:
        """Classify passages; passages outside the model's languages get rule-only predictions."""

        def probs_fn(idx: list[int], hits: list) -> tuple[np.ndarray, np.ndarray]:
            ctx = [contexts[i] for i in idx] if contexts is not None else None
            p = self.probabilities([texts[i] for i in idx], [languages[i] for i in idx], hits, ctx)
            return p, np.broadcast_to(self.thresholds, p.shape)

        return predict_with_scope(self, texts, languages, probs_fn, out_of_scope=self.out_of_scope)
