"""Document-level validity: how close each document score comes to the score of its complete hand labels.

A training document whose every passage (of 8 words or more) carries a hand
decision is a *complete-document gold*: the codebook's formulas applied to its
labels give the score an analyst would get by reading it. The question an
analyst asks is how far a score computed from a classifier's predictions can
be trusted, so this module measures, on folds grouped by document:

- the mean absolute error against the gold-derived score, and the share of
  (document, score) pairs within 0.10;
- agreement on *undefined* (a ratio whose denominator is below the minimum);
- the coverage of the 90% intervals;
- saturation (one value for most documents), for each count method.

Nothing is tuned on the documents being scored. The held-out documents of
each outer fold are predicted by a model trained on the other folds
(``train.cross_validate``), and the quantification parameters come from the
out-of-fold predictions of an inner grouped cross-validation *within* the
other folds (``nested``). The cheaper ``cross-fitted`` scheme takes them from
the outer out-of-fold predictions of the other folds instead (the models that
produced those saw the held-out documents, but the rates are measured on
other documents); it serves models too costly to train 25 times.

:func:`document_validity` needs only out-of-fold material
(:class:`OutOfFold`), so any model kind can be validated by producing that.
Linear models trained by ``cocreation train`` re-run their recipe (nested or
cross-fitted, above); the other kinds (fine-tuned, distilled, cascades,
per-language routers) are too costly to retrain 5-25 times, so they are
validated on the grouped out-of-fold predictions stored with them
(``oof.npz``, :func:`cocreation_nlp.oof.oof_predictions`), cross-fitted: the
scheme is then ``cross-fitted (stored out-of-fold predictions)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .config import ScoreConfig
from .quantify import METHODS, CountEstimator, covers, model_quantification
from .score import SCORES, score_document
from .validity_tables import SATURATION_BAND, validity_markdown, validity_table  # noqa: F401 - re-exported

log = logging.getLogger(__name__)
TOLERANCE = 0.10
"""A score within this of the gold-derived score counts as right (the issue's target unit)."""
COVERAGE_RANGE = (0.85, 0.95)
"""Nominal 90% intervals whose coverage falls outside this range are too narrow or needlessly wide."""


@dataclass(slots=True)
class OutOfFold:
    """Grouped out-of-fold material: what document validity needs from any classifier.

    Attributes:
        y: ``(n, 7)`` hand labels.
        groups: document id per passage.
        probs: ``(n, 7)`` probabilities from a model that never saw the
            passage's document (rule probabilities where ``sources`` is ``rules``).
        decisions: ``(n, 7)`` decisions at that model's thresholds.
        sources: ``model`` or ``rules`` per passage (as in production).
        folds: outer fold index per passage.
        parameters: per fold, the ``quantification`` dict (``model``/``rules``
            parameters) estimated without the fold's documents.
        scheme: ``nested`` or ``cross-fitted``.
        complete: the documents whose every passage is labelled (the gold).
    """

    y: np.ndarray
    groups: np.ndarray
    probs: np.ndarray
    decisions: np.ndarray
    sources: np.ndarray
    folds: np.ndarray
    parameters: list[dict]
    scheme: str
    complete: frozenset[str]


def complete_documents(
    doc_ids: Sequence[str], texts: Sequence[str], corpus: Sequence[str | Path], *, min_words: int = 8
) -> tuple[frozenset[str], dict[str, str]]:
    """The documents whose every passage of ``min_words`` words or more has a hand decision.

    Returns:
        (complete doc ids, reason per incomplete document).
    """
    from .ingest import discover, read_one
    from .segment import segment_document
    from .types import ParseFailure, fingerprint, is_labelling_unit

    labelled: dict[str, set[str]] = {}
    for d, t in zip(doc_ids, texts, strict=True):
        labelled.setdefault(d, set()).add(fingerprint(t))
    sources = {s.doc_id: s for s in discover(corpus)}
    complete: set[str] = set()
    why: dict[str, str] = {}
    for doc_id, fps in sorted(labelled.items()):
        src = sources.get(doc_id)
        if src is None:
            why[doc_id] = "not in the corpus"
            continue
        doc = read_one(src)
        if isinstance(doc, ParseFailure):
            why[doc_id] = f"does not parse: {doc.message}"
            continue
        wanted = [
            p.fingerprint
            for p in segment_document(doc)
            if p.n_words >= min_words and is_labelling_unit(p.kind)
        ]
        missing = sum(1 for f in wanted if f not in fps)
        if missing:
            why[doc_id] = f"{missing} of {len(wanted)} passages of {min_words}+ words unlabelled"
        else:
            complete.add(doc_id)
    return frozenset(complete), why


def collect_out_of_fold(
    data,  # noqa: ANN001 - annotations.LabelledSet
    cfg,  # noqa: ANN001 - train.TrainConfig
    model_languages: Sequence[str],
    *,
    complete: frozenset[str],
    nested: bool = True,
    features: np.ndarray | None = None,
    progress: Callable[[str], None] | None = None,
) -> OutOfFold:
    """Out-of-fold predictions and per-fold quantification parameters for the single-model recipe of ``train``.

    The outer folds are ``train.cross_validate``'s (GroupKFold on doc_id), so
    the held-out predictions are exactly the cross-validated ones of the model
    card. ``nested`` runs one more grouped cross-validation inside each outer
    training split (about ``outer_folds`` times the cost of training).
    """
    from sklearn.model_selection import GroupKFold

    from .classify import RuleClassifier
    from .model import featurize
    from .train import cross_validate

    say = progress or (lambda msg: log.info(msg))
    groups = np.asarray(data.doc_ids)
    texts = list(data.texts)
    y = np.asarray(data.y)
    X = features if features is not None else featurize(texts, data.languages, cfg.embedder)
    rule_probs = RuleClassifier().predict_texts(texts, data.languages).probs
    say("outer folds: held-out predictions")
    probs, _, thresholds = cross_validate(X, y, groups, cfg, texts)
    k = min(cfg.outer_folds, len(set(groups.tolist())))
    folds = np.zeros(len(y), dtype=int)
    splits = list(GroupKFold(n_splits=k).split(X, y, groups))
    for f, (_, te) in enumerate(splits):
        folds[te] = f
    parameters: list[dict] | None = None
    if nested:
        langs = np.asarray(data.languages, dtype=object)
        parameters = []
        for f, (tr, _) in enumerate(splits):
            say(f"fold {f + 1}/{k}: inner grouped cross-validation for the quantification parameters")
            p_in, _, t_in = cross_validate(X[tr], y[tr], groups[tr], cfg, [texts[i] for i in tr])
            parameters.append(
                model_quantification(
                    y[tr], p_in, t_in, groups[tr], langs[tr], model_languages, rule_probs[tr]
                )
            )
    return out_of_fold_from_predictions(
        y,
        groups,
        data.languages,
        probs,
        thresholds,
        folds,
        model_languages,
        rule_probs,
        complete=complete,
        parameters=parameters,
    )


def out_of_fold_from_predictions(
    y: np.ndarray,
    groups: Sequence[str],
    languages: Sequence[str],
    probs: np.ndarray,
    thresholds: np.ndarray | float,
    folds: np.ndarray,
    model_languages: Sequence[str],
    rule_probs: np.ndarray,
    *,
    complete: frozenset[str],
    parameters: list[dict] | None = None,
) -> OutOfFold:
    """:class:`OutOfFold` from any model's grouped out-of-fold predictions (other model kinds plug in here).

    Args:
        y: ``(n, 7)`` hand labels.
        groups: document id per passage.
        languages: language per passage.
        probs: held-out probabilities of each passage (from the model of its outer fold).
        thresholds: the thresholds that model used (``(n, 7)``, ``(7,)`` or a scalar).
        folds: outer fold index per passage (folds grouped by document).
        model_languages: the model's languages; other passages get the rule
            lexicon's predictions, as in production.
        rule_probs: ``(n, 7)`` rule-lexicon probabilities
            (``RuleClassifier().predict_texts(texts, languages).probs``).
        complete: the complete-document gold (:func:`complete_documents`).
        parameters: per fold, quantification parameters from an inner grouped
            cross-validation (``nested``); ``None`` cross-fits them from the
            other folds' out-of-fold predictions (``cross-fitted``, ``--fast``).
    """
    y = np.asarray(y)
    groups = np.asarray(groups)
    langs = np.asarray(list(languages), dtype=object)
    probs = np.asarray(probs, dtype=float)
    thr = np.broadcast_to(np.asarray(thresholds, dtype=float), probs.shape)
    folds = np.asarray(folds)
    rule_probs = np.asarray(rule_probs, dtype=float)
    scheme = "nested" if parameters is not None else "cross-fitted"
    if parameters is None:
        parameters = []
        for f in sorted(set(folds.tolist())):
            tr = folds != f
            parameters.append(
                model_quantification(
                    y[tr], probs[tr], thr[tr], groups[tr], langs[tr], model_languages, rule_probs[tr]
                )
            )
    inside = np.array([covers(lang, model_languages) for lang in langs], dtype=bool)
    return OutOfFold(
        y=y,
        groups=groups,
        probs=np.where(inside[:, None], probs, rule_probs),
        decisions=np.where(inside[:, None], probs >= thr, rule_probs >= 0.5),
        sources=np.where(inside, "model", "rules"),
        folds=folds,
        parameters=parameters,
        scheme=scheme,
        complete=complete,
    )


def _saturation(values: np.ndarray) -> float:
    """The largest share of documents whose values lie within ±0.02 of one value."""
    v = values[~np.isnan(values)]
    if not len(v):
        return 0.0
    return float(max(np.sum(np.abs(v - x) <= SATURATION_BAND) for x in v) / len(v))


def _summary(rows: list[dict]) -> dict:
    gold = np.array([r["gold"] for r in rows], dtype=float)
    est = np.array([r["estimate"] for r in rows], dtype=float)
    lo = np.array([r["low"] for r in rows], dtype=float)
    hi = np.array([r["high"] for r in rows], dtype=float)
    both = ~np.isnan(gold) & ~np.isnan(est)
    same_def = np.isnan(gold) == np.isnan(est)
    err = np.abs(gold - est)
    within = both & (err <= TOLERANCE + 1e-9)
    agree = within | (np.isnan(gold) & np.isnan(est))
    covered = both & (gold >= lo - 1e-9) & (gold <= hi + 1e-9)
    nb = int(both.sum())
    return {
        "n_pairs": len(rows),
        "n_gold_defined": int((~np.isnan(gold)).sum()),
        "n_both_defined": nb,
        "mae": float(err[both].mean()) if nb else None,
        "within_0.10": float(within.sum() / nb) if nb else None,
        "agreement": float(agree.mean()) if len(rows) else None,
        "undefined_agreement": float(same_def.mean()) if len(rows) else None,
        "coverage": float(covered.sum() / nb) if nb else None,
        "n_without_interval": int((both & np.isnan(lo)).sum()),
        "saturation": _saturation(est),
        "gold_saturation": _saturation(gold),
    }


def document_validity(
    oof: OutOfFold, methods: Sequence[str] = METHODS, score_cfg: ScoreConfig | None = None
) -> dict:
    """Score every complete-document gold with each count method; compare with its hand-labelled scores.

    Returns:
        ``{"summary": {method: {"overall": {...}, score: {...}}}, "pairs": [...],
        "chosen": method, "choice_rule": str, ...}``. ``within_0.10``, MAE and
        coverage are over pairs defined on both sides; ``agreement`` is over
        all pairs, a pair undefined on both sides counting as agreement.
    """
    cfg = score_cfg or ScoreConfig()
    gold_cfg = cfg.model_copy(update={"n_bootstrap": 0})
    docs = sorted(d for d in set(oof.groups.tolist()) if d in oof.complete)
    pairs: list[dict] = []
    for doc in docs:
        idx = np.flatnonzero(oof.groups == doc)
        gold = score_document(doc, oof.y[idx].astype(float), gold_cfg)
        fold = int(oof.folds[idx[0]])
        for method in methods:
            est = CountEstimator(method, cfg.union, oof.parameters[fold])
            s = score_document(
                doc,
                oof.probs[idx],
                cfg,
                decisions=oof.decisions[idx],
                sources=oof.sources[idx].tolist(),
                estimator=est,
            )
            for name in SCORES:
                g, e = gold.values[name], s.values[name]
                pairs.append(
                    {
                        "doc_id": doc,
                        "n_passages": len(idx),
                        "method": method,
                        "score": name,
                        "gold": np.nan if g is None else g,
                        "estimate": np.nan if e is None else e,
                        "low": np.nan if s.low[name] is None else s.low[name],
                        "high": np.nan if s.high[name] is None else s.high[name],
                    }
                )
    summary: dict[str, dict] = {}
    for method in methods:
        rows = [p for p in pairs if p["method"] == method]
        summary[method] = {"overall": _summary(rows)}
        for name in SCORES:
            summary[method][name] = _summary([p for p in rows if p["score"] == name])
    chosen, rule = choose_method(summary)
    return {
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scheme": oof.scheme,
        "n_documents": len(docs),
        "n_passages": int(sum(1 for g in oof.groups if g in oof.complete)),
        "ci": cfg.ci,
        "n_bootstrap": cfg.n_bootstrap,
        "min_denominator": cfg.min_denominator,
        "union": cfg.union,
        "tolerance": TOLERANCE,
        "methods": list(methods),
        "summary": summary,
        "chosen": chosen,
        "choice_rule": rule,
        "pairs": pairs,
    }


def choose_method(summary: Mapping[str, Mapping]) -> tuple[str, str]:
    """The count method to use: calibrated intervals first, then agreement with the gold, then MAE."""
    rule = (
        f"among methods whose {int(100 * 0.9)}% intervals cover the gold in "
        f"{COVERAGE_RANGE[0]:.0%}-{COVERAGE_RANGE[1]:.0%} of pairs, the highest agreement "
        f"(both undefined, or within {TOLERANCE:.2f}); ties: lower MAE"
    )

    def key(m: str) -> tuple[float, float]:
        o = summary[m]["overall"]
        return (o["agreement"] or 0.0, -(o["mae"] if o["mae"] is not None else 1.0))

    ok = [
        m
        for m, s in summary.items()
        if s["overall"]["coverage"] is not None
        and COVERAGE_RANGE[0] <= s["overall"]["coverage"] <= COVERAGE_RANGE[1]
    ]
    if ok:
        return max(ok, key=key), rule
    return max(summary, key=key), rule + " (no method met the coverage range: highest agreement)"


def write_validity(result: Mapping, output: Path) -> tuple[Path, Path, Path]:
    """Write ``<output>.json`` (everything), ``<output>.md`` (the table) and ``<output>.csv`` (one row per pair)."""
    import csv
    import io
    import json

    from .atomic import write_text_atomic

    base = output.with_suffix("") if output.suffix in (".csv", ".md", ".json") else output
    paths = base.with_suffix(".json"), base.with_suffix(".md"), base.with_suffix(".csv")
    write_text_atomic(paths[0], json.dumps(_jsonable(result), indent=1) + "\n")
    write_text_atomic(paths[1], validity_markdown(result))
    buf = io.StringIO()
    w = csv.DictWriter(
        buf, fieldnames=["doc_id", "n_passages", "method", "score", "gold", "estimate", "low", "high"]
    )
    w.writeheader()
    for p in result["pairs"]:
        w.writerow({k: ("" if isinstance(v, float) and v != v else v) for k, v in p.items()})
    write_text_atomic(paths[2], buf.getvalue())
    return paths


def _jsonable(obj: object) -> object:
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    return obj


def record_validity(model_dir: Path, result: Mapping, *, data_sha256: str = "") -> dict:
    """Store the summary (no per-document pairs) in the model's meta.json and regenerate its model card."""
    import json

    from .atomic import write_text_atomic
    from .bylanguage import render_report
    from .language_router import KIND as BY_LANGUAGE
    from .model import cascade_card, read_meta
    from .modelcard import render_model_card

    meta = read_meta(model_dir)
    entry = _jsonable({k: v for k, v in result.items() if k != "pairs"})
    assert isinstance(entry, dict)
    entry["data_sha256"] = data_sha256
    meta["document_validity"] = entry
    write_text_atomic(model_dir / "meta.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    kind = meta.get("kind", "single")
    card = (
        cascade_card(model_dir, meta)
        if kind == "cascade"
        else render_report(meta)
        if kind == BY_LANGUAGE
        else render_model_card(meta)
    )
    write_text_atomic(model_dir / "README.md", card)
    return entry


def reruns_recipe(meta: Mapping) -> bool:
    """Whether document validity re-runs the model's training recipe (linear models of ``cocreation train``)."""
    return meta.get("kind", "single") == "single" and "train_config" in meta and "distillation" not in meta


def model_languages(model_dir: Path, meta: Mapping) -> list[str]:
    """The languages a model folder scores itself (others get the rule lexicon), for any kind."""
    from .language_router import KIND as BY_LANGUAGE
    from .model import read_meta

    kind = meta.get("kind", "single")
    if kind == "cascade":
        return list(read_meta(model_dir / meta["primary"])["languages"])
    if kind == BY_LANGUAGE:
        default = read_meta(model_dir / meta["default"])
        return sorted(set(default["languages"]) | set(meta.get("models", {})))
    return list(meta["languages"])


def stored_out_of_fold(
    model_dir: Path,
    data,  # noqa: ANN001 - annotations.LabelledSet
    complete: frozenset[str],
) -> OutOfFold:
    """:class:`OutOfFold` from a model folder's stored out-of-fold predictions, matched to ``data`` by passage id.

    A gold document with a passage the model never predicted out of fold (not in its training
    data) cannot be compared and leaves the complete-document gold, with a warning.
    """
    from .classify import RuleClassifier
    from .model import read_meta
    from .oof import oof_predictions, rows_of

    meta = read_meta(model_dir)
    oof = oof_predictions(model_dir)
    rows = rows_of(oof, data.passage_ids)
    unseen = sorted({d for d, r in zip(data.doc_ids, rows, strict=True) if r < 0} & set(complete))
    for doc_id in unseen:
        log.warning(
            "%s is not a complete-document gold here: %s has no out-of-fold prediction for some of its "
            "passages (trained on other annotations)",
            doc_id,
            model_dir,
        )
    keep = np.flatnonzero(rows >= 0)
    r = rows[keep]
    texts = [data.texts[i] for i in keep]
    languages = [data.languages[i] for i in keep]
    result = out_of_fold_from_predictions(
        np.asarray(data.y)[keep],
        [data.doc_ids[i] for i in keep],
        languages,
        oof["probs"][r],
        oof["thresholds"][r],
        oof["folds"][r],
        model_languages(model_dir, meta),
        RuleClassifier().predict_texts(texts, languages).probs,
        complete=frozenset(set(complete) - set(unseen)),
    )
    result.scheme = STORED_SCHEME
    return result


STORED_SCHEME = "cross-fitted (stored out-of-fold predictions)"


def run_document_validity(
    model: str | Path,
    gold: Sequence[str | Path],
    *,
    corpus: Sequence[str | Path] | None = None,
    nested: bool = True,
    score_cfg: ScoreConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict, str]:
    """``cocreation evaluate --documents``: validity of a model's document scores on complete-document gold.

    Linear models trained by ``cocreation train`` re-run their training recipe on grouped folds
    (``nested``, or cross-fitted). Every other kind a model folder can hold (finetuned, distilled,
    cascade, by-language) is validated on its stored out-of-fold predictions, cross-fitted.

    Returns:
        (result, training-data fingerprint).

    Raises:
        ModelLoadError: ``rules`` or a folder that is not a model (no meta.json); a model with no stored
            out-of-fold predictions (``oof.npz``, written by this release) that cannot re-run its recipe.
        AnnotationError: no gold resolves, or no document is completely labelled.
    """
    from .annotations import default_corpus, load_records, resolve_records
    from .errors import AnnotationError, ModelLoadError
    from .model import read_meta
    from .train import TrainConfig

    meta = read_meta(Path(model))
    corpus = list(corpus) if corpus else default_corpus()
    data = resolve_records(load_records(gold), corpus)
    if not len(data):
        raise AnnotationError("no gold passages could be resolved")
    complete, why = complete_documents(data.doc_ids, data.texts, corpus)
    for doc_id, reason in why.items():
        log.warning("%s is not a complete-document gold: %s", doc_id, reason)
    if not complete:
        raise AnnotationError("no document has every passage labelled: no complete-document gold")
    if not reruns_recipe(meta):
        say = progress or (lambda msg: log.info(msg))
        say(
            f"{model}: a {meta.get('kind', 'single')}{' (distilled)' if 'distillation' in meta else ''} model is "
            "validated on its stored out-of-fold predictions (cross-fitted parameters)"
        )
        try:
            oof = stored_out_of_fold(Path(model), data, complete)
        except FileNotFoundError as err:
            raise ModelLoadError(
                f"{model}: document validity of a {meta.get('kind', 'single')} model needs its stored out-of-fold "
                f"predictions ({err})"
            ) from err
        if not oof.complete:
            raise AnnotationError(
                f"{model} has no out-of-fold prediction for any complete-document gold (trained on other annotations)"
            )
        say("scoring the held-out documents with every count method")
        return document_validity(oof, METHODS, score_cfg), data.fingerprint()
    tc = meta["train_config"]
    cfg = TrainConfig(
        embedder=tc["embedder"],
        tfidf=tc["tfidf"],
        outer_folds=tc["outer_folds"],
        inner_folds=tc["inner_folds"],
        c_grid=tuple(tc["c_grid"]),
        class_weight=tc["class_weight"],
    )
    oof = collect_out_of_fold(
        data, cfg, meta["languages"], complete=complete, nested=nested, progress=progress
    )
    if progress:
        progress("scoring the held-out documents with every count method")
    return document_validity(oof, METHODS, score_cfg), data.fingerprint()
