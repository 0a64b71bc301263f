"""A model's grouped out-of-fold predictions: stored with every model folder, read back for any kind.

Everything that must not be tuned on the passages it judges needs to know how
a model behaves on documents it was not trained on: the count estimators'
rates (``meta.json["quantification"]``, :mod:`cocreation_nlp.quantify`), the
cascade band, document-level validity (:mod:`cocreation_nlp.validity`), label
audits. Every model folder that ``cocreation train`` writes therefore keeps
its grouped out-of-fold numbers (no document on both sides of a fold) in
``oof.npz`` (numbers and ids, no text; read with ``allow_pickle=False``)::

    passage_ids, doc_ids, languages, folds, y    one row per labelled passage
    probs, row_thresholds                        linear models and routers: calibrated
                                                 out-of-fold probabilities and the thresholds
                                                 of each row's own fold
    logits (logits_int8), fold_platt,            finetuned models: out-of-fold logits, calibrated
    extra_*                                      here per fold (cross-fitted); the teacher's
                                                 logits on unlabelled passages (distillation)

and ``meta.json["oof"]`` says how they were made (:func:`oof_record`). The
rates themselves live in ``meta.json["quantification"]`` only, computed from
the same arrays by :func:`cocreation_nlp.quantify.model_quantification`.

:func:`oof_predictions` reads any model folder's out-of-fold predictions as
probabilities with per-row thresholds: a cascade's are its two models'
combined at its band, each row decided with the thresholds of the model that
scored it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .errors import ModelLoadError
from .finetuned import calibrate
from .metrics import best_threshold
from .model import cascade_decide, choose_band
from .quantify import model_quantification

OOF_ARRAYS = "oof.npz"
"""The file name of a model folder's out-of-fold arrays."""
OOF_FORMAT = 2
"""Format of ``meta.json["oof"]``: 1 held per-label rates (now in ``quantification``); 2 describes ``oof.npz``."""


def grouped_folds(doc_ids: Sequence[str] | np.ndarray, n_folds: int) -> np.ndarray:
    """Fold number per row: GroupKFold on document (the split ``cocreation train`` uses for every model)."""
    from sklearn.model_selection import GroupKFold

    groups = np.asarray(doc_ids)
    k = min(n_folds, len(set(groups.tolist())))
    folds = np.full(len(groups), -1)
    for f, (_, te) in enumerate(GroupKFold(n_splits=k).split(groups, groups=groups)):
        folds[te] = f
    return folds


def oof_record(*, source: str, doc_ids: Sequence[str], folds: np.ndarray) -> dict:
    """``meta.json["oof"]``: how the folder's ``oof.npz`` was made (the rates are in ``quantification``).

    Example:
        >>> oof_record(source="nested CV", doc_ids=["a", "a", "b"], folds=np.array([0, 0, 1]))["n_documents"]
        2
    """
    return {
        "format": OOF_FORMAT,
        "file": OOF_ARRAYS,
        "source": source,
        "n": len(doc_ids),
        "n_documents": len(set(doc_ids)),
        "n_folds": int(len(np.unique(np.asarray(folds)))),
    }


def read_oof_arrays(file: Path) -> dict[str, np.ndarray]:
    """Read an ``oof.npz`` without pickle."""
    with np.load(file, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# ----------------------------------------------------------------------------- cross-fitted calibration


def fit_platt(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling of one label's logits: (a, b) with p = sigmoid(a * logit + b)."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y).astype(int)
    if y.min() == y.max():
        return 0.0, (20.0 if y[0] == 1 else -20.0)
    cal = LogisticRegression(C=1e4, max_iter=1000).fit(logits.reshape(-1, 1), y)
    return float(cal.coef_[0, 0]), float(cal.intercept_[0])


def fit_calibration(logits: np.ndarray, Y: np.ndarray) -> tuple[list[list[float]], np.ndarray]:
    """Per-label Platt parameters and F1-maximising thresholds on the calibrated probabilities."""
    platt = [list(fit_platt(logits[:, j], Y[:, j])) for j in range(Y.shape[1])]
    probs = calibrate(logits, platt)
    thresholds = np.array([best_threshold(Y[:, j], probs[:, j])[0] for j in range(Y.shape[1])])
    return platt, thresholds


def cross_fit_decisions(
    logits: np.ndarray, Y: np.ndarray, folds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calibrated probabilities, decisions and row thresholds, each fold's from the other folds only."""
    probs = np.zeros_like(logits, dtype=float)
    thr = np.zeros_like(logits, dtype=float)
    for k in np.unique(folds):
        te, tr = folds == k, folds != k
        platt, t = fit_calibration(logits[tr], Y[tr])
        probs[te] = calibrate(logits[te], platt)
        thr[te] = t[None, :]
    return probs, probs >= thr, thr


# ----------------------------------------------------------------------------- any model folder


def _meta(folder: Path) -> dict:
    file = Path(folder) / "meta.json"
    if not file.exists():
        raise ModelLoadError(f"{folder}: not a model folder (no meta.json)")
    return json.loads(file.read_text(encoding="utf-8"))


def _stored(folder: Path, meta: Mapping) -> dict[str, np.ndarray]:
    file = Path(folder) / OOF_ARRAYS
    if not file.exists():
        raise FileNotFoundError(
            f"{file}: no out-of-fold predictions here; retrain the model with this release"
        )
    arr = read_oof_arrays(file)
    out = {k: arr[k] for k in ("passage_ids", "doc_ids", "folds", "y", "languages") if k in arr}
    if "probs" in arr:
        out["probs"] = arr["probs"].astype(float)
        out["thresholds"] = arr["row_thresholds"].astype(float)
        return out
    # A finetuned model stores logits: calibrate and threshold each fold with parameters fitted on the
    # other folds (never on its own passages), for the variant that ships (int8 or fp32).
    key = "logits_int8" if meta.get("quantization") == "int8" and "logits_int8" in arr else "logits"
    probs, _, thr = cross_fit_decisions(arr[key], arr["y"], arr["folds"])
    out["probs"], out["thresholds"] = probs, thr
    return out


def oof_predictions(folder: str | Path) -> dict[str, np.ndarray]:
    """Out-of-fold probabilities with each row's thresholds, for any model folder.

    Returns:
        ``passage_ids``, ``doc_ids``, ``folds``, ``y``, ``probs``, ``thresholds``
        (one row per labelled passage), and ``languages`` where the folder stored
        them. A cascade's rows are its two models' combined at its band (passages
        both hold).

    Raises:
        FileNotFoundError: the folder (or a cascade's part) has no ``oof.npz``.
    """
    folder = Path(folder)
    meta = _meta(folder)
    if meta.get("kind") == "cascade":
        a = oof_predictions(folder / meta["primary"])
        b = oof_predictions(folder / meta["secondary"])
        return combine_cascade(a, b, float(meta["band"]))
    return _stored(folder, meta)


def _aligned(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> tuple[list[int], list[int]]:
    pos = {pid: i for i, pid in enumerate(b["passage_ids"].tolist())}
    ia = [i for i, pid in enumerate(a["passage_ids"].tolist()) if pid in pos]
    ib = [pos[pid] for pid in a["passage_ids"][ia].tolist()]
    if len(ia) < 20:
        raise ValueError(
            "the two models share fewer than 20 out-of-fold passages: train them on the same annotations"
        )
    return ia, ib


def combine_cascade(
    primary: Mapping[str, np.ndarray], secondary: Mapping[str, np.ndarray], band: float
) -> dict[str, np.ndarray]:
    """A cascade's out-of-fold predictions from its two models' (passages both hold, primary's order)."""
    ia, ib = _aligned(primary, secondary)
    probs, _, redo = cascade_decide(
        primary["probs"][ia],
        primary["thresholds"][ia],
        secondary["probs"][ib],
        secondary["thresholds"][ib],
        band,
    )
    thr = np.where(redo[:, None], secondary["thresholds"][ib], primary["thresholds"][ia])
    out = {k: v[ia] for k, v in primary.items() if k not in ("probs", "thresholds")}
    out["probs"], out["thresholds"] = probs, thr
    return out


def band_from_folds(
    primary: str | Path,
    secondary: str | Path,
    bands: Sequence[float] = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3),
    tolerance: float = 0.01,
) -> tuple[float, list[dict]]:
    """Choose a cascade band on the two models' out-of-fold predictions (passages both hold).

    Returns (band, rows) from :func:`cocreation_nlp.model.choose_band`.
    """
    a, b = oof_predictions(primary), oof_predictions(secondary)
    ia, ib = _aligned(a, b)
    return choose_band(
        a["y"][ia], a["probs"][ia], a["thresholds"][ia], b["probs"][ib], b["thresholds"][ib], bands, tolerance
    )


# ----------------------------------------------------------------------------- quantification


def quantification_from_oof(
    oof: Mapping[str, np.ndarray],
    model_languages: Sequence[str],
    *,
    rule_probs: np.ndarray | None = None,
    rules: Mapping | None = None,
) -> dict:
    """``meta.json["quantification"]`` from stored out-of-fold predictions (:func:`oof_predictions`).

    The ``model`` rates come from the rows in ``model_languages``
    (:func:`cocreation_nlp.quantify.model_quantification`); the ``rules`` rates
    from ``rule_probs`` (the rule lexicon on the same passages) or, without the
    passages' texts, from ``rules``: parameters already measured on the same
    labelled passages (the lexicon is not fitted, so any model trained on them
    measured the same rates).

    Raises:
        ValueError: the arrays hold no ``languages`` (folders written before they were stored).
    """
    if "languages" not in oof:
        raise ValueError("the out-of-fold arrays hold no languages: retrain the model with this release")
    q = model_quantification(
        oof["y"],
        oof["probs"],
        oof["thresholds"],
        oof["doc_ids"],
        oof["languages"].tolist(),
        model_languages,
        rule_probs,
    )
    if rule_probs is None and rules:
        q["rules"] = dict(rules)
    return q


def cascade_from_folds(
    primary: str | Path, secondary: str | Path, band: float | str = "auto", *, tolerance: float = 0.01
) -> tuple[float, dict | None, dict | None]:
    """What ``cocreation cascade`` needs from the folds: the band, how it was chosen, the cascade's own rates.

    ``band="auto"`` picks the narrowest band whose out-of-fold macro-F1 is
    within ``tolerance`` of the best on offer (``0.0`` when the cascade does
    not beat the primary alone). The quantification parameters describe the
    cascade itself: both models' out-of-fold predictions combined at the band,
    each passage decided by the model that scored it. Without both models'
    ``oof.npz`` a numeric band still works (no parameters: the count
    estimators then fall back to the primary's).

    Returns:
        (band, band_choice or None, quantification or None).
    """
    chosen = None
    if band == "auto":
        value, rows = band_from_folds(primary, secondary, tolerance=tolerance)
        chosen = {
            "method": f"narrowest band within {tolerance} macro-F1 of the best on offer (primary alone, each band, "
            "secondary alone), grouped out-of-fold predictions",
            "rows": rows,
        }
    else:
        value = float(band)
    if value <= 0.0:
        return value, chosen, None
    try:
        a, b = oof_predictions(primary), oof_predictions(secondary)
        combined = combine_cascade(a, b, value)
        p_meta = _meta(Path(primary))
        rules = (p_meta.get("quantification") or {}).get("rules")
        return value, chosen, quantification_from_oof(combined, p_meta["languages"], rules=rules)
    except (FileNotFoundError, ValueError):
        return value, chosen, None


def rows_of(oof: Mapping[str, np.ndarray], passage_ids: Sequence[str]) -> np.ndarray:
    """Row of each of ``passage_ids`` in ``oof`` (``-1`` where the model has no out-of-fold prediction)."""
    pos = {pid: i for i, pid in enumerate(oof["passage_ids"].tolist())}
    return np.asarray([pos.get(pid, -1) for pid in passage_ids], dtype=int)
