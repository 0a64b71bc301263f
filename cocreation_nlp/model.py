"""The learned passage classifier: features, prediction, and a safe model folder.

A model is a folder::

    meta.json   schema version, model id, labels, codebook and lexicon versions,
                embedder name and file hashes, thresholds, training-data
                fingerprint, library versions, cross-validated metrics
    head.skops  the scikit-learn parts (per-label logistic regressions and
                their Platt calibrators), saved with skops, never pickle
    README.md   the model card

Loading checks the types skops reports against an allow-list and refuses
anything else, and warns when the versions of the libraries the model
actually uses differ from those recorded. The other kinds of model folder:

- ``finetuned`` (:mod:`cocreation_nlp.finetuned`): a fine-tuned transformer
  exported to ONNX, run with onnxruntime and tokenizers (no torch);
- ``cascade``: two models (``primary``, ``secondary``) and a band: the cheap
  primary scores every passage, the secondary re-scores only passages whose
  probability lies within the band around a threshold, and each passage is
  decided with the thresholds of the model that scored it;
- ``by-language`` (:mod:`cocreation_nlp.language_router`): a model per
  language where one beat the rules, a default model for the rest.

Loading also re-hashes every file the predictions come from (``head.skops``,
the embedder's files; a fine-tuned model's ONNX and tokenizer files) against the
hashes ``meta.json`` records and refuses, naming the file, a model whose files
changed (:mod:`.model_files`); and it rebuilds the TF-IDF vectoriser from its
vocabulary and weights alone (:func:`rebuild_tfidf`), so that a saved
vectoriser cannot change how text is read.

Choosing and loading a classifier happens here too, in one place:
:func:`load_classifier` takes ``"rules"`` or a model folder and dispatches on
``meta.json``'s ``kind`` (:data:`LOADERS`: a new kind of model is one entry),
:func:`model_id_of` gives a model's id with its verified file hashes folded in,
without loading it (for cache keys),
and :func:`default_model` names the shipped default.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ._version import __version__
from .classify import PassageClassifier, Predictions, RuleClassifier, match_rules, predict_with_scope
from .codebook import LABELS
from .errors import ModelLoadError, SchemaVersionError, UntrustedModelError
from .finetuned import KIND as FINETUNED
from .finetuned import FinetunedModel
from .language_router import KIND as BY_LANGUAGE
from .language_router import LanguageRouter
from .metrics import label_metrics
from .model_files import verify_model_files
from .resources import default_model_dir
from .rules import RULE_FEATURE_NAMES, rule_features
from .util import file_sha256, language_code

log = logging.getLogger(__name__)
META_SCHEMA_VERSION = 1
RULES = "rules"
"""The model name that selects rule-only classification (no model folder)."""

# Every type head.skops may contain. The check reads the archive's own schema,
# so it covers the types skops trusts by default too, not only the ones it flags.
ALLOWED_TYPES: frozenset[str] = frozenset(
    {
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.feature_extraction.text.TfidfVectorizer",
        "sklearn.feature_extraction.text.TfidfTransformer",
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.float32",
        "numpy.float64",
        "numpy.int64",
        "builtins.dict",
        "builtins.list",
        "builtins.str",
        "builtins.float",
        "builtins.int",
        "builtins.tuple",
        "builtins.NoneType",
        "builtins.bool",
    }
)


def skops_types(file: Path) -> set[str]:
    """Every ``module.Class`` named in a skops archive's schema."""
    import zipfile

    with zipfile.ZipFile(file) as zf:
        schema = json.loads(zf.read("schema.json"))
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__class__" in node and "__module__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def library_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Versions that matter for reproducing a model's predictions, plus any ``extra`` packages."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"cocreation_nlp": __version__}
    for pkg in (
        "scikit-learn",
        "skops",
        "numpy",
        "spacy",
        "model2vec",
        "onnxruntime",
        "tokenizers",
        "sentence-transformers",
        "torch",
        *extra,
    ):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out


def featurize(
    texts: Sequence[str], languages: Sequence[str], embedder_name: str, *, hits: list | None = None
) -> np.ndarray:
    """Embeddings of ``texts`` followed by the rule features of each passage's lexicon."""
    from .embed import get_embedder

    emb = get_embedder(embedder_name).encode(list(texts))
    hits = hits if hits is not None else match_rules(texts, languages)
    rf = np.asarray(
        [rule_features(h) if h is not None else [0.0] * len(RULE_FEATURE_NAMES) for h in hits],
        dtype=np.float32,
    )
    return np.hstack([emb.astype(np.float32), rf])


def make_tfidf():  # noqa: ANN201 - sklearn TfidfVectorizer
    """Word uni- and bigram TF-IDF: the policy vocabulary a 256-d static embedding blurs."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        ngram_range=(1, 2), min_df=2, max_features=50000, sublinear_tf=True, dtype=np.float32
    )


def slim_tfidf(vec):  # noqa: ANN001, ANN201
    """Make a fitted vectoriser small on disk without changing what it does.

    ``stop_words_`` (every term cut by min_df/max_features) only serves
    introspection and takes megabytes.
    """
    if vec is not None and hasattr(vec, "stop_words_"):
        vec.stop_words_ = None
    if vec is not None and hasattr(vec, "vocabulary_"):
        # numpy int64 values would each become a separate array in the skops archive.
        vec.vocabulary_ = {term: int(i) for term, i in vec.vocabulary_.items()}
    return vec


# The vectoriser settings that decide how text becomes features; a saved vectoriser must match
# make_tfidf() on every one (only its vocabulary and idf weights are taken from the file).
TFIDF_READING_PARAMS: tuple[str, ...] = (
    "input",
    "encoding",
    "decode_error",
    "strip_accents",
    "lowercase",
    "preprocessor",
    "tokenizer",
    "analyzer",
    "stop_words",
    "token_pattern",
    "ngram_range",
    "binary",
    "dtype",
    "norm",
    "use_idf",
    "smooth_idf",
    "sublinear_tf",
    "vocabulary",
)


def rebuild_tfidf(saved, source: str = "head.skops"):  # noqa: ANN001, ANN201 - sklearn TfidfVectorizer
    """A fresh :func:`make_tfidf` vectoriser holding only ``saved``'s vocabulary and idf weights.

    The skops allow-list checks types, not values: a ``TfidfVectorizer`` with
    ``input='filename'`` would open files named by passage text, and a
    catastrophic ``token_pattern`` would hang ``classify``. A saved vectoriser
    whose reading settings differ from :func:`make_tfidf`'s is refused, and
    the one used is built here from validated data, never the loaded object.

    Raises:
        UntrustedModelError: naming the setting or the malformed data.
    """
    if saved is None:
        return None
    fresh = make_tfidf()
    try:
        params = saved.get_params()
        vocabulary = saved.vocabulary_
        idf = np.asarray(saved.idf_, dtype=np.float64)
    except Exception as err:  # noqa: BLE001 - anything odd in a loaded object
        raise UntrustedModelError(
            f"{source}: the TF-IDF vectoriser is not a fitted vectoriser ({err})"
        ) from err
    expected = fresh.get_params()
    for name in TFIDF_READING_PARAMS:
        if params.get(name) != expected[name]:
            raise UntrustedModelError(
                f"{source}: the TF-IDF vectoriser sets {name}={params.get(name)!r}, not {expected[name]!r}; "
                "only a saved vectoriser's vocabulary and weights are used, so one that changes how text "
                "is read is refused"
            )
    n = len(vocabulary) if isinstance(vocabulary, dict) else -1
    if (
        n < 1
        or not all(isinstance(k, str) and len(k) <= 1000 for k in vocabulary)
        or not all(isinstance(v, int | np.integer) for v in vocabulary.values())
        or sorted(int(v) for v in vocabulary.values()) != list(range(n))
    ):
        raise UntrustedModelError(f"{source}: the TF-IDF vocabulary is not a map of terms onto 0..n-1")
    if idf.shape != (n,) or not np.all(np.isfinite(idf)) or np.any(idf < 1.0):
        raise UntrustedModelError(f"{source}: the TF-IDF idf weights do not match the vocabulary")
    fresh.vocabulary_ = {str(k): int(v) for k, v in vocabulary.items()}
    fresh.idf_ = idf
    return fresh


def combine(dense: np.ndarray, texts: Sequence[str], tfidf) -> np.ndarray:  # noqa: ANN001
    """Dense features, plus the TF-IDF of the texts when the model has a vectoriser (sparse result)."""
    if tfidf is None:
        return dense
    import scipy.sparse as sp

    return sp.hstack([sp.csr_matrix(dense), tfidf.transform(list(texts))]).tocsr()


@dataclass(slots=True)
class Head:
    """Per-label logistic regressions, Platt calibrators, decision thresholds and the optional TF-IDF vectoriser."""

    heads: list  # LogisticRegression per label
    calibrators: list  # LogisticRegression on the head's logit, per label
    thresholds: np.ndarray
    tfidf: object | None = None

    def predict_proba(self, X) -> np.ndarray:  # noqa: ANN001 - dense array or CSR matrix
        """Calibrated probability per label, shape (n, 7)."""
        out = np.zeros((X.shape[0], len(self.heads)))
        for j, (head, cal) in enumerate(zip(self.heads, self.calibrators, strict=True)):
            logit = head.decision_function(X).reshape(-1, 1)
            out[:, j] = cal.predict_proba(logit)[:, 1]
        return out


class SingleModel:
    """One embedder + rule features + a trained :class:`Head`."""

    def __init__(self, path: Path, meta: dict, head: Head) -> None:
        self.path = path
        self.meta = meta
        self.head = head
        self.labels: tuple[str, ...] = tuple(meta["labels"])
        self.model_id: str = meta["model_id"]
        self.embedder_name: str = meta["embedder"]["name"]
        self.languages: tuple[str, ...] = tuple(meta["languages"])
        self.out_of_scope: str = meta.get("out_of_scope", "rules")

    def covers(self, language: str) -> bool:
        """Whether passages in ``language`` are inside the model's scope."""
        return "und" in self.languages or language_code(language) in self.languages

    @property
    def thresholds(self) -> np.ndarray:
        """Per-label decision thresholds (tuned on grouped folds)."""
        return self.head.thresholds

    def probabilities(
        self,
        texts: Sequence[str],
        languages: Sequence[str],
        hits: list,
        contexts: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Calibrated probabilities for in-scope passages (no scope handling; ``contexts`` unused)."""
        X = combine(featurize(texts, languages, self.embedder_name, hits=hits), texts, self.head.tfidf)
        return self.head.predict_proba(X)

    def predict_texts(
        self, texts: Sequence[str], languages: Sequence[str], contexts: Sequence[str] | None = None
    ) -> Predictions:
        """Classify passages; passages outside the model's languages get rule-only predictions, marked as such."""

        def probs_fn(idx: list[int], hits: list) -> tuple[np.ndarray, np.ndarray]:
            p = self.probabilities([texts[i] for i in idx], [languages[i] for i in idx], hits)
            return p, np.broadcast_to(self.thresholds, p.shape)

        return predict_with_scope(self, texts, languages, probs_fn, out_of_scope=self.out_of_scope)


class CascadeModel:
    """A cheap primary model for every passage; the secondary re-scores the uncertain ones.

    A passage is *uncertain* when the primary's probability for some label lies within ``band``
    of the primary's threshold for that label. Each passage is then decided with the thresholds
    of the model that scored it: the two models are calibrated and tuned separately, so the
    primary's probabilities are never compared with the secondary's thresholds, nor the reverse.
    Passages in languages the secondary does not cover keep the primary's answer.
    """

    def __init__(self, path: Path, meta: dict, primary, secondary) -> None:  # noqa: ANN001
        self.path = path
        self.meta = meta
        self.primary = primary
        self.secondary = secondary
        self.band: float = float(meta["band"])
        self.labels = primary.labels
        self.model_id: str = meta["model_id"]
        self.languages = tuple(primary.languages)
        self.out_of_scope = primary.out_of_scope
        self.last_rescored_share = 0.0

    def covers(self, language: str) -> bool:
        """In scope wherever the primary is (the secondary only refines what it covers)."""
        return self.primary.covers(language)

    def score(
        self,
        texts: Sequence[str],
        languages: Sequence[str],
        hits: list,
        contexts: Sequence[str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and, per row, the thresholds of the model that produced them."""
        probs = np.array(self.primary.probabilities(texts, languages, hits, contexts), dtype=float)
        thr = np.array(np.broadcast_to(self.primary.thresholds, probs.shape), dtype=float)
        near = cascade_uncertain(probs, self.primary.thresholds, self.band)
        redo = [i for i in np.flatnonzero(near) if self.secondary.covers(languages[i])]
        self.last_rescored_share = len(redo) / max(len(texts), 1)
        if redo:
            probs[redo] = self.secondary.probabilities(
                [texts[i] for i in redo],
                [languages[i] for i in redo],
                [hits[i] for i in redo],
                [contexts[i] for i in redo] if contexts is not None else None,
            )
            thr[redo] = self.secondary.thresholds[None, :]
        return probs, thr

    def probabilities(
        self,
        texts: Sequence[str],
        languages: Sequence[str],
        hits: list,
        contexts: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Probabilities of the model that scored each passage (see :meth:`score` for its thresholds)."""
        return self.score(texts, languages, hits, contexts)[0]

    def predict_texts(
        self, texts: Sequence[str], languages: Sequence[str], contexts: Sequence[str] | None = None
    ) -> Predictions:
        """Classify passages with the cascade."""
        return predict_with_scope(
            self,
            texts,
            languages,
            lambda idx, hits: self.score(
                [texts[i] for i in idx],
                [languages[i] for i in idx],
                hits,
                [contexts[i] for i in idx] if contexts is not None else None,
            ),
            out_of_scope=self.out_of_scope,
        )


def cascade_uncertain(probs: np.ndarray, thresholds: np.ndarray, band: float) -> np.ndarray:
    """The cascade's routing rule: True where any label's probability is within ``band`` of its threshold."""
    return (np.abs(np.asarray(probs) - np.asarray(thresholds)) < band).any(axis=1)


def cascade_decide(
    p_primary: np.ndarray,
    t_primary: np.ndarray,
    p_secondary: np.ndarray,
    t_secondary: np.ndarray,
    band: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cascade on precomputed scores (used on out-of-fold predictions to choose the band).

    ``t_*`` may be one threshold row or one row per passage (each row's own fold thresholds).
    Returns (probabilities, decisions, re-scored mask); every row is decided with the thresholds
    of the model whose probabilities it keeps.
    """
    tp = np.broadcast_to(t_primary, p_primary.shape)
    ts = np.broadcast_to(t_secondary, p_secondary.shape)
    redo = cascade_uncertain(p_primary, tp, band)
    probs = np.where(redo[:, None], p_secondary, p_primary)
    thr = np.where(redo[:, None], ts, tp)
    return probs, probs >= thr, redo


def choose_band(
    y: np.ndarray,
    p_primary: np.ndarray,
    t_primary: np.ndarray,
    p_secondary: np.ndarray,
    t_secondary: np.ndarray,
    bands: Sequence[float] = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3),
    tolerance: float = 0.01,
) -> tuple[float, list[dict]]:
    """The narrowest band whose out-of-fold macro-F1 is within ``tolerance`` of the best on offer.

    The candidates are the primary alone (band 0), each band, and the secondary alone; narrower
    bands re-score fewer passages (faster). Band 0 means the cascade does not pay on these folds
    (the secondary is no better than the primary). Returns the band and one row per band tried.
    """
    alone = label_metrics(y, p_secondary >= np.broadcast_to(t_secondary, p_secondary.shape))["macro_f1"]
    rows = []
    for band in [0.0, *sorted(b for b in bands if b > 0)]:
        _, dec, redo = cascade_decide(p_primary, t_primary, p_secondary, t_secondary, band)
        rows.append(
            {"band": band, "share": float(redo.mean()), "macro_f1": label_metrics(y, dec)["macro_f1"]}
        )
    best = max(alone, *(r["macro_f1"] for r in rows))
    chosen = next(r for r in rows if r["macro_f1"] >= best - tolerance)
    return float(chosen["band"]), rows


# ----------------------------------------------------------------------------- persistence


def save_single(path: Path, meta: dict, head: Head) -> None:
    """Write a single model folder atomically (``<path>.tmp`` then rename)."""
    import skops.io as sio

    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    import zipfile

    from .model_files import HEAD_FILE

    sio.dump(
        {"heads": head.heads, "calibrators": head.calibrators, "tfidf": head.tfidf},
        tmp / HEAD_FILE,
        compression=zipfile.ZIP_DEFLATED,
    )
    meta = {
        **meta,
        "thresholds": [float(t) for t in head.thresholds],
        # Checked on every load (model_files.verify_model_files).
        "files": {**(meta.get("files") or {}), HEAD_FILE: file_sha256(tmp / HEAD_FILE)},
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _replace_dir(tmp, path)


def _replace_dir(tmp: Path, path: Path) -> None:
    if path.exists():
        old = path.with_name(path.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old)
    else:
        tmp.rename(path)


def save_cascade(
    path: Path,
    primary: Path,
    secondary: Path,
    *,
    band: float = 0.05,
    chosen_on_folds: dict | None = None,
    quantification: dict | None = None,
) -> dict:
    """Write a cascade model folder that points at two single-model folders.

    The primary (cheap) model scores every passage; passages whose probability
    for some label lies within ``band`` of that label's threshold are
    re-scored by the secondary model. The folders are referenced by relative
    path, so the cascade moves with them. ``quantification`` holds the count
    estimators' parameters of the cascade itself, from both models'
    out-of-fold predictions combined at ``band``
    (:func:`cocreation_nlp.oof.cascade_from_folds`).
    """
    import hashlib
    import os
    from datetime import UTC, datetime

    p_meta, s_meta = read_meta(Path(primary)), read_meta(Path(secondary))
    if {p_meta.get("kind"), s_meta.get("kind")} & {"cascade", BY_LANGUAGE}:
        raise ModelLoadError(
            "a cascade is built from two single models (linear or fine-tuned), not from another cascade or a router"
        )
    if not 0 < band < 0.5:
        raise ModelLoadError(f"band must be in (0, 0.5); got {band}")
    path.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(f"{p_meta['model_id']}|{s_meta['model_id']}|{band}".encode()).hexdigest()[:8]
    meta = {
        "schema_version": META_SCHEMA_VERSION,
        "kind": "cascade",
        "model_id": f"{datetime.now(UTC):%Y%m%d}-{digest}",
        "labels": list(LABELS),
        "codebook_version": p_meta.get("codebook_version"),
        "primary": os.path.relpath(Path(primary).resolve(), path.resolve()),
        "secondary": os.path.relpath(Path(secondary).resolve(), path.resolve()),
        "band": band,
        "band_choice": chosen_on_folds,
        "versions": library_versions(),
    }
    if quantification is not None:
        meta["quantification"] = quantification
    (path / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (path / "README.md").write_text(cascade_card(path, meta), encoding="utf-8")
    return meta


def cascade_card(path: Path, meta: dict) -> str:
    """A cascade folder's README: its two models, how the band was chosen, its document-score rates."""
    from .modelcard import document_scores_section

    p_meta, s_meta = read_meta(path / meta["primary"]), read_meta(path / meta["secondary"])
    band, chosen = meta["band"], meta.get("band_choice")
    card = [
        f"# Cascade `{meta['model_id']}`",
        "",
        f"Primary `{p_meta['model_id']}` ({meta['primary']}) scores every passage; "
        f"secondary `{s_meta['model_id']}` ({meta['secondary']}) re-scores passages within {band} of a threshold, "
        "and each passage is decided with the thresholds of the model that scored it. "
        "See the two model cards for training data and metrics.",
    ]
    if chosen:
        card += [
            "",
            f"Band chosen on the grouped out-of-fold predictions of both models ({chosen['method']}):",
            "",
            "| band | share re-scored | macro-F1 |",
            "| --- | --- | --- |",
            *(f"| {r['band']} | {r['share']:.3f} | {r['macro_f1']:.3f} |" for r in chosen["rows"]),
        ]
    card += document_scores_section(meta)
    return "\n".join(card) + "\n"


CORE_LIBRARIES: tuple[str, ...] = ("scikit-learn", "skops", "numpy")
"""Libraries every linear model uses (the head); the embedder's runtime libraries come on top."""
FINETUNED_LIBRARIES: tuple[str, ...] = ("numpy", "onnxruntime", "tokenizers")
"""What a fine-tuned model runs on: the exported graph and its tokenizer (never torch)."""


def used_libraries(meta: dict) -> tuple[str, ...]:
    """The libraries whose versions can change a single model's predictions.

    The head's libraries plus the runtime the model's embedder records
    (``meta["embedder"]["runtime"]``: model2vec for the static embedder,
    onnxruntime and tokenizers for the ONNX one, sentence-transformers and
    torch for the torch one), so that a model is never checked against a
    library it does not load. A fine-tuned model runs on onnxruntime and
    tokenizers alone.

    Example:
        >>> used_libraries({"embedder": {"runtime": {"model2vec": "0.10.0"}}})
        ('scikit-learn', 'skops', 'numpy', 'model2vec')
        >>> used_libraries({"kind": "finetuned"})
        ('numpy', 'onnxruntime', 'tokenizers')
    """
    if meta.get("kind") == FINETUNED:
        return FINETUNED_LIBRARIES
    runtime = (meta.get("embedder") or {}).get("runtime") or {}
    return (*CORE_LIBRARIES, *(k for k in runtime if k not in CORE_LIBRARIES and k != "device"))


def check_versions(meta: dict, path: Path) -> None:
    """Warn when a library the model uses is installed in another version than the one it was saved with."""
    recorded = meta.get("versions", {})
    current = library_versions(used_libraries(meta))
    diffs = [
        f"{k} {recorded[k]} (installed {current[k]})"
        for k in used_libraries(meta)
        if k in recorded and k in current and current[k] != recorded[k]
    ]
    if diffs:
        warnings.warn(
            f"Model {path} was saved with {', '.join(diffs)}: predictions may differ slightly.",
            UserWarning,
            stacklevel=3,
        )


def _load_head(path: Path) -> Head:
    import skops.io as sio

    file = path / "head.skops"
    try:
        present = skops_types(file)
        untrusted = set(sio.get_untrusted_types(file=file))
    except Exception as err:  # noqa: BLE001 - a corrupt or foreign archive
        raise ModelLoadError(f"{file}: not a readable skops file ({err})") from err
    refused = sorted((present | untrusted) - ALLOWED_TYPES)
    if refused:
        raise UntrustedModelError(
            f"{file} contains types outside the allow-list, refusing to load: {', '.join(refused)}"
        )
    obj = sio.load(file, trusted=sorted(untrusted))
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    return Head(
        obj["heads"],
        obj["calibrators"],
        np.asarray(meta["thresholds"], dtype=float),
        rebuild_tfidf(obj.get("tfidf"), str(file)),
    )


def read_meta(path: Path) -> dict:
    """Read and check a model folder's ``meta.json``.

    Raises:
        ModelLoadError: no model there.
        SchemaVersionError: a meta format this release cannot read.
    """
    file = path / "meta.json"
    if not file.exists():
        raise ModelLoadError(f"{path}: not a model folder (no meta.json). Train one with `cocreation train`.")
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ModelLoadError(f"{file}: invalid JSON ({err})") from err
    if meta.get("schema_version") != META_SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{file}: schema_version {meta.get('schema_version')!r}; this release reads {META_SCHEMA_VERSION}"
        )
    if tuple(meta.get("labels", ())) != LABELS:
        raise ModelLoadError(
            f"{file}: labels {meta.get('labels')} do not match the codebook's {list(LABELS)}"
        )
    return meta


def _load_single(path: Path, meta: dict) -> SingleModel:
    check_versions(meta, path)
    return SingleModel(path, meta, _load_head(path))


def _load_finetuned(path: Path, meta: dict) -> FinetunedModel:
    # onnxruntime + tokenizers only: loading (and scoring with) a fine-tuned model never imports torch.
    check_versions(meta, path)
    return FinetunedModel(path, meta)


def _load_cascade(path: Path, meta: dict) -> CascadeModel:
    # Each part checks the versions of what it uses; the cascade adds no library of its own.
    primary = load_model(path / meta["primary"])
    secondary = load_model(path / meta["secondary"])
    for part in (primary, secondary):
        if not isinstance(part, SCORING_KINDS):
            raise ModelLoadError(
                f"{path}: a cascade is built from two single models (linear or fine-tuned), "
                f"not from another cascade or a router ({part.path})"
            )
    return CascadeModel(path, meta, primary, secondary)


def _load_by_language(path: Path, meta: dict) -> LanguageRouter:
    default = load_model(path / meta["default"])
    if isinstance(default, LanguageRouter):
        raise ModelLoadError(f"{path}: the default model of a router cannot be another router")
    models = {}
    for lang, rel in meta.get("models", {}).items():
        part = load_model(path / rel)
        if isinstance(part, LanguageRouter):
            raise ModelLoadError(f"{path / rel}: a per-language model cannot be another router")
        models[lang] = part
    return LanguageRouter(path, meta, default, models)


COMPOSITE_KINDS = frozenset({"cascade", BY_LANGUAGE})
"""Kinds whose folder holds no model files of its own, only references to other model folders."""

SCORING_KINDS = (SingleModel, FinetunedModel)
"""Models that give probabilities with their own thresholds, the parts a cascade is built from."""

LOADERS: dict[str, Callable[[Path, dict], PassageClassifier]] = {
    "single": _load_single,
    "cascade": _load_cascade,
    FINETUNED: _load_finetuned,
    BY_LANGUAGE: _load_by_language,
}
"""Model loaders by ``meta.json`` ``kind`` (absent: ``single``). A new kind of model is one entry here."""


def load_model(path: Path) -> PassageClassifier:
    """Load a model folder safely, dispatching on its ``meta.json`` ``kind``.

    Every kind but a cascade or a router (whose parts are models of their own,
    checked as they load) has its recorded file hashes checked before anything
    is unpacked.

    Raises:
        ModelLoadError: no model there, an unknown kind, or unreadable files.
        ModelIntegrityError: a file differs from its recorded hash (named), or cannot be checked.
        SchemaVersionError: a meta format this release cannot read.
        UntrustedModelError: a saved head holds types outside the allow-list, or a
            vectoriser that changes how text is read.
    """
    path = Path(path)
    meta = read_meta(path)
    kind = meta.get("kind", "single")
    try:
        loader = LOADERS[kind]
    except KeyError:
        raise ModelLoadError(
            f"{path / 'meta.json'}: unknown model kind {kind!r}; this release loads {', '.join(LOADERS)}"
        ) from None
    if kind not in COMPOSITE_KINDS:
        verify_model_files(path, meta)  # a cascade's or a router's parts are checked as they load
    return loader(path, meta)


# ----------------------------------------------------------------------------- choosing a model


def default_model() -> str:
    """The model used when none is given: the shipped default model folder.

    Raises:
        ModelLoadError: when the installation lacks it (a broken install), rather
            than silently scoring with rules only.

    Example:
        >>> Path(default_model()).name
        'default'
    """
    path = default_model_dir()
    if not (path / "meta.json").exists():
        raise ModelLoadError(
            f"The default model is missing from this installation (looked in {path}). "
            "Reinstall cocreation_nlp, pass --model with a model folder, or --model rules for rule-only scoring."
        )
    return str(path)


def load_classifier(model: str) -> PassageClassifier:
    """Load (once per process) the classifier named by ``model``: ``"rules"`` or a model folder.

    The loaded model is kept while the files of its folder stay as they were
    (same sizes and modification times): a model whose files change is
    loaded, and so checked, again, never served from memory under a new id.
    """
    return _load_classifier(model, _folder_signature(model))


@lru_cache(maxsize=4)
def _load_classifier(model: str, signature: tuple) -> PassageClassifier:
    if model == RULES:
        return RuleClassifier()
    return load_model(Path(model))


def _folder_signature(model: str) -> tuple:
    """Cheap fingerprint of a model's folders: every file's path, size and modification time."""
    if model == RULES:
        return ()
    path = Path(model)
    folders = [path]
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        if meta.get("kind") == "cascade":
            folders += [path / str(meta.get(part, "")) for part in ("primary", "secondary")]
    except (OSError, ValueError):
        pass  # load_model reports it
    out = []
    for folder in folders:
        for file in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if file.is_file():
                st = file.stat()
                out.append((str(file), st.st_size, st.st_mtime_ns))
    return tuple(out)


def model_id_of(model: str) -> str:
    """The id cache keys use: ``meta.json``'s id with the verified file hashes folded in, ``{model_id}@{digest}``.

    Nothing is loaded (hashing takes well under a second), so a cached re-run
    stays cheap; and a model whose files changed gets another id even if its
    ``meta.json`` was edited to match, so no result computed with other files
    is reused. A cascade's or a router's id folds in its parts' ids.

    Raises:
        ModelIntegrityError: as :func:`~cocreation_nlp.model_files.verify_model_files`.

    Example:
        >>> model_id_of("rules").startswith("rules-")
        True
    """
    if model == RULES:
        return str(load_classifier(RULES).model_id)
    path = Path(model)
    meta = read_meta(path)
    if meta.get("kind") in COMPOSITE_KINDS:
        parts = [model_id_of(str(part)) for part in parts_of(path, meta)]
        digest = hashlib.sha256(
            "|".join(
                [*parts, str(meta.get("band")), json.dumps(meta.get("models", {}), sort_keys=True)]
            ).encode()
        ).hexdigest()
    else:
        digest = verify_model_files(path, meta)
    return f"{meta['model_id']}@{digest[:12]}"


def check_model_versions(model: str) -> None:
    """Warn (once, from the calling process) about library versions that differ from a model's record.

    Worker processes load the model with these warnings silenced, so a run
    warns once, not once per worker.
    """
    if model == RULES:
        return
    path = Path(model)
    meta = read_meta(path)
    parts = parts_of(path, meta)
    for sub in parts:
        check_model_versions(str(sub))
    if not parts:
        check_versions(meta, path)


def parts_of(path: Path, meta: dict) -> list[Path]:
    """The model folders a cascade or a router is built from (``[]`` for a model of its own)."""
    if meta.get("kind") == "cascade":
        return [path / meta["primary"], path / meta["secondary"]]
    if meta.get("kind") == BY_LANGUAGE:
        return [path / meta["default"], *(path / rel for rel in meta.get("models", {}).values())]
    return []
