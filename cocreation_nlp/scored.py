"""Typed records of the scoring path: a scored passage and a scored document.

A document walks through ``cocreation score`` in one direction:
:func:`~cocreation_nlp.ingest.read_one` gives a
:class:`~cocreation_nlp.types.Document`,
:func:`~cocreation_nlp.segment.segment_document` its
:class:`~cocreation_nlp.types.Passage` list, a classifier one
:class:`~cocreation_nlp.classify.PassagePrediction` per passage, and
:func:`~cocreation_nlp.score.score_document` its
:class:`~cocreation_nlp.score.DocumentScores`. :class:`ScoredDocument` holds
them together; it is what worker processes send back, what the cache stores
(:meth:`ScoredDocument.to_dict` / :meth:`ScoredDocument.from_dict`, plain
JSON) and what :mod:`~cocreation_nlp.export` turns into table rows. No other
module knows table columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .classify import PassagePrediction
from .score import DocumentScores, Evidence
from .types import PageWarning, Passage

SCORED_SCHEMA_VERSION = 1
"""Version of the :meth:`ScoredDocument.to_dict` layout; the cache key includes it."""


@dataclass(frozen=True, slots=True)
class ScoredPassage:
    """A passage with what the classifier said about it.

    Example:
        >>> p = Passage("d:1", "d", 0, 0, 9, "Residents")
        >>> sp = ScoredPassage(p, PassagePrediction(None, None, reason="empty text"))
        >>> ScoredPassage.from_dict(sp.to_dict()) == sp
        True
    """

    passage: Passage
    prediction: PassagePrediction

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the passage's fields and the prediction's."""
        return {"passage": asdict(self.passage), "prediction": self.prediction.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoredPassage:
        """The inverse of :meth:`to_dict`; the passage's invariants are checked again."""
        known = {f.name for f in fields(Passage)}
        passage = Passage(**{k: v for k, v in data["passage"].items() if k in known})
        return cls(passage, PassagePrediction.from_dict(data["prediction"]))


@dataclass(frozen=True, slots=True)
class ScoredDocument:
    """One document after scoring: its metadata, scored passages and document scores.

    Attributes:
        doc_id: The document's id.
        source: The file it was read from.
        format: ``pdf``, ``docx``, ``html``, ``markdown`` or ``text``.
        language: Detected language of the document.
        model_covers_language: Whether the model's languages include it.
        n_pages: Pages, where the format has pages.
        meta: The manifest's columns for this document.
        content_sha256: SHA-256 of the file's bytes.
        model_id: The model that scored it.
        passages: The scored passages, in reading order.
        scores: The document scores (computed by :mod:`~cocreation_nlp.score`).
        seconds: Time spent on the document.
        warnings: Page problems that did not stop the document (scanned pages
            OCR could not read, or read with low confidence).
        ocr_pages: Pages sent to OCR.
    """

    doc_id: str
    source: str
    format: str
    language: str
    model_covers_language: bool
    n_pages: int | None
    meta: Mapping[str, str]
    content_sha256: str
    model_id: str
    passages: tuple[ScoredPassage, ...]
    scores: DocumentScores
    seconds: float = 0.0
    warnings: tuple[PageWarning, ...] = ()
    ocr_pages: int = 0
    schema_version: int = field(default=SCORED_SCHEMA_VERSION)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what the cache stores)."""
        return {
            "schema_version": self.schema_version,
            "doc_id": self.doc_id,
            "source": self.source,
            "format": self.format,
            "language": self.language,
            "model_covers_language": self.model_covers_language,
            "n_pages": self.n_pages,
            "meta": dict(self.meta),
            "content_sha256": self.content_sha256,
            "model_id": self.model_id,
            "passages": [p.to_dict() for p in self.passages],
            "scores": asdict(self.scores),
            "seconds": self.seconds,
            "warnings": [asdict(w) for w in self.warnings],
            "ocr_pages": self.ocr_pages,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoredDocument:
        """The inverse of :meth:`to_dict`.

        Raises:
            ValueError: for another schema version or a passage whose offsets and text disagree.
        """
        version = data.get("schema_version")
        if version != SCORED_SCHEMA_VERSION:
            raise ValueError(
                f"scored document {data.get('doc_id')!r}: schema_version {version!r}; "
                f"this release reads {SCORED_SCHEMA_VERSION}"
            )
        scores = dict(data["scores"])
        scores["evidence"] = [Evidence(**e) for e in scores.get("evidence", [])]
        return cls(
            doc_id=data["doc_id"],
            source=data["source"],
            format=data["format"],
            language=data["language"],
            model_covers_language=bool(data["model_covers_language"]),
            n_pages=data["n_pages"],
            meta=dict(data["meta"]),
            content_sha256=data["content_sha256"],
            model_id=data["model_id"],
            passages=tuple(ScoredPassage.from_dict(p) for p in data["passages"]),
            scores=DocumentScores(**scores),
            seconds=float(data.get("seconds", 0.0)),
            warnings=tuple(PageWarning(**w) for w in data.get("warnings", ())),
            ocr_pages=int(data.get("ocr_pages", 0)),
        )
