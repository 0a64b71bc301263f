"""The learned passage classifier: features, prediction, and a safe model folder.

A model is a folder::

    meta.json   schema version, model id, labels, codebook and lexicon versions,
                embedder name and file hashes, thresholds, training-data
                fingerprint, library versions, cross-validated metrics
    head.skops  the scikit-learn parts (per-label logistic regressions and
                their Platt calibrators), saved with skops, never pickle
    README.md   the model card

Loading checks the types skops reports against an allow-list and refuses
anything else, and warns when library versions differ from those recorded.
A cascade model holds two single models (``primary``, ``secondary``) and a
band: the cheap primary scores every passage, the secondary re-scores only
passages whose probability lies within the band around a threshold.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .classify import Predictions, evidence_strings, match_rules
from .codebook import LABELS
from .errors import ModelLoadError, SchemaVersionError, UntrustedModelError
from .rules import RULE_FEATURE_NAMES, rule_features, rule_probabilities

log = logging.getLogger(__name__)
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "default"
META_SCHEMA_VERSION = 1

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

    from . import __version__

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
        return "und" in self.languages or (language or "und").split("-")[0].lower() in self.languages

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

        return _predict_with_scope(self, texts, languages, probs_fn)


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
        return _predict_with_scope(
            self,
            texts,
            languages,
            lambda idx, hits: self.score(
                [texts[i] for i in idx],
                [languages[i] for i in idx],
                hits,
                [contexts[i] for i in idx] if contexts is not None else None,
            ),
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
    from .train import label_metrics

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


def _predict_with_scope(model, texts: Sequence[str], languages: Sequence[str], probs_fn) -> Predictions:  # noqa: ANN001
    """Shared scope handling: in-scope passages via ``probs_fn(idx, hits) -> (probs, row thresholds)``."""
    n = len(texts)
    hits = match_rules(texts, languages)
    probs = np.zeros((n, len(LABELS)))
    decisions = np.zeros((n, len(LABELS)), dtype=bool)
    in_scope = [False] * n
    reasons = [""] * n
    covered = [i for i in range(n) if model.covers(languages[i]) and texts[i].strip()]
    if covered:
        p, thr = probs_fn(covered, [hits[i] for i in covered])
        probs[covered] = p
        decisions[covered] = p >= thr
        for i in covered:
            in_scope[i] = True
    covered_set = set(covered)
    for i in range(n):
        if i in covered_set:
            continue
        if not texts[i].strip():
            reasons[i] = "empty text: no prediction"
            continue
        lang = languages[i] or "und"
        if model.out_of_scope == "rules" and hits[i] is not None:
            rp = rule_probabilities(hits[i])
            probs[i] = [rp[label] for label in LABELS]
            decisions[i] = probs[i] >= 0.5
            in_scope[i] = True
            reasons[i] = (
                f"rule-only: language '{lang}' is outside the model's languages ({', '.join(model.languages)})"
            )
        else:
            reasons[i] = (
                f"no prediction: language '{lang}' is outside the model's languages ({', '.join(model.languages)}) and has no rule lexicon"
            )
    evidence = [evidence_strings(h) if h is not None else {} for h in hits]
    return Predictions(LABELS, probs, decisions, evidence, in_scope, reasons, model.model_id)


# ----------------------------------------------------------------------------- persistence


def save_single(path: Path, meta: dict, head: Head) -> None:
    """Write a single model folder atomically (``<path>.tmp`` then rename)."""
    import skops.io as sio

    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    import zipfile

    sio.dump(
        {"heads": head.heads, "calibrators": head.calibrators, "tfidf": head.tfidf},
        tmp / "head.skops",
        compression=zipfile.ZIP_DEFLATED,
    )
    meta = {**meta, "thresholds": [float(t) for t in head.thresholds]}
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
    path: Path, primary: Path, secondary: Path, *, band: float = 0.05, chosen_on_folds: dict | None = None
) -> dict:
    """Write a cascade model folder that points at two single-model folders.

    The primary (cheap) model scores every passage; passages whose probability
    for some label lies within ``band`` of that label's threshold are
    re-scored by the secondary model. The folders are referenced by relative
    path, so the cascade moves with them.
    """
    import hashlib
    import os
    from datetime import UTC, datetime

    p_meta, s_meta = read_meta(Path(primary)), read_meta(Path(secondary))
    if p_meta.get("kind") == "cascade" or s_meta.get("kind") == "cascade":
        raise ModelLoadError("a cascade is built from two single models, not from another cascade")
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
    (path / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (path / "README.md").write_text(
        f"# Cascade `{meta['model_id']}`\n\nPrimary `{p_meta['model_id']}` ({meta['primary']}) scores every passage; "
        f"secondary `{s_meta['model_id']}` ({meta['secondary']}) re-scores passages within {band} of a threshold. "
        "See the two model cards for training data and metrics.\n",
        encoding="utf-8",
    )
    return meta


def _check_versions(meta: dict, path: Path) -> None:
    recorded = meta.get("versions", {})
    current = library_versions()
    diffs = [
        f"{k} {v} (installed {current[k]})"
        for k, v in recorded.items()
        if k in current
        and current[k] != v
        and k in ("scikit-learn", "skops", "numpy", "model2vec", "onnxruntime", "sentence-transformers")
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
        obj["heads"], obj["calibrators"], np.asarray(meta["thresholds"], dtype=float), obj.get("tfidf")
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


def load_model(path: Path):  # noqa: ANN201 - SingleModel, CascadeModel, FinetunedModel or LanguageRouter
    """Load a model folder (single or cascade) safely."""
    path = Path(path)
    meta = read_meta(path)
    _check_versions(meta, path)
    kind = meta.get("kind", "single")
    if kind == "cascade":
        primary = load_model(path / meta["primary"])
        secondary = load_model(path / meta["secondary"])
        if isinstance(primary, CascadeModel) or isinstance(secondary, CascadeModel):
            raise ModelLoadError(
                f"{path}: a cascade is built from two single models, not from another cascade"
            )
        return CascadeModel(path, meta, primary, secondary)
    if kind == "finetuned":
        from .finetuned import FinetunedModel

        return FinetunedModel(path, meta)
    if kind == "by-language":
        from .bylanguage import LanguageRouter

        return LanguageRouter.load(path, meta)
    if kind != "single":
        raise ModelLoadError(f"{path}: unknown model kind {kind!r}")
    return SingleModel(path, meta, _load_head(path))
