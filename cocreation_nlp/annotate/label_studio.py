"""Label Studio interchange: read genuine Label Studio exports, write exports Label Studio reads.

Our own exports carry passage ids in each task's ``data``; a genuine Label
Studio project does not. Its tasks hold only the text (``data.text``, or
whatever the ``<Text value="$...">`` of the project names), its Choices
control has the project's own name (``label``, ``sentiment``, ...), a
single-task export is one JSON object instead of a list, and imported
pre-annotations have no ``created_at`` or ``completed_by``. This module maps
such a file onto the project's passages and refuses, loudly and naming the
task, everything it cannot map; it never drops a label silently.

Mapping, per task:

1. ``data.passage_id`` (our own export): taken as is.
2. Otherwise the task's text is matched to a known passage by its
   fingerprint (case and whitespace ignored; :func:`~cocreation_nlp.types.fingerprint`).
   Text found in several passages is ambiguous and refused, unless exactly
   one of them is in ``document``.
3. Otherwise, with ``document`` given, a passage is created under that
   document: id ``{document}:{fingerprint[:10]}``, as the segmenter names passages.
4. Otherwise the task is refused.

Per annotation: the labels are the ``choices`` of the one Choices control
(any name; with several, ``from_name`` picks one and the others are left
out on purpose), a ``textarea`` result becomes the comment, and any other
result type (spans, ratings, boxes) is refused. The annotator is
``meta.annotator`` (our export), else ``completed_by`` (an email, else the
user id), else ``annotator`` if given; two unattributed annotations of one
task that disagree are refused, since they cannot be told apart. The time is
``updated_at``/``created_at`` of the annotation, else of the task, else
:data:`UNKNOWN_TIME` (so re-importing the same file is idempotent).
Predictions are model output, not annotations, and are never imported; a
file of tasks none of which has an annotation is refused.

Exports follow Label Studio's JSON format, with ``completed_by`` (an integer
user id per annotator, 1..n in name order; the name itself rides in
``meta.annotator``) and ``lead_time`` (seconds; null where not measured).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..codebook import load_codebook
from ..errors import AnnotationError
from ..types import fingerprint

__all__ = [
    "FROM_NAME",
    "TO_NAME",
    "UNKNOWN_TIME",
    "KnownPassage",
    "LabelStudioMapping",
    "PassageMatcher",
    "dumps_label_studio",
    "label_studio_config",
    "map_tasks",
    "project_passages",
]

FROM_NAME = "labels"
"""Name of the Choices control in the config this toolkit writes (any name is read)."""
TO_NAME = "text"
UNKNOWN_TIME = "1970-01-01T00:00:00Z"
"""Time given to an annotation whose export says nothing about when it was made."""


@dataclass(frozen=True, slots=True)
class KnownPassage:
    """A passage the project (or corpus) already has, for matching tasks by text."""

    passage_id: str
    doc_id: str
    text: str
    start_char: int | None = None
    end_char: int | None = None


class PassageMatcher:
    """Find the passages whose text a task shows, by fingerprint (case and spacing ignored).

    Example:
        >>> m = PassageMatcher([KnownPassage("d:1", "d", "Residents  decide.")])
        >>> [p.passage_id for p in m.match("residents decide.")]
        ['d:1']
    """

    def __init__(self, passages: Iterable[KnownPassage]) -> None:
        self._by_fp: dict[str, list[KnownPassage]] = {}
        for p in passages:
            self._by_fp.setdefault(fingerprint(p.text), []).append(p)

    def match(self, text: str) -> list[KnownPassage]:
        """Every known passage with this text (empty when none)."""
        return list(self._by_fp.get(fingerprint(text), ()))

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_fp.values())


def project_passages(store: Any) -> PassageMatcher:
    """The passages of an annotation project (an :class:`~.store.AnnotationStore`), to match tasks against."""
    with store.read() as conn:
        rows = conn.execute("SELECT passage_id, doc_id, text, start_char, end_char FROM passages").fetchall()
    return PassageMatcher(KnownPassage(*tuple(r)) for r in rows)


@dataclass(frozen=True, slots=True)
class LabelStudioMapping:
    """How to map tasks without passage ids (see the module docstring); every field optional.

    Attributes:
        passages: the known passages that tasks are matched to by text.
        document: the document to create passages under when a task's text matches none.
        from_name: the Choices control to read when a project has several.
        text_field: the ``data`` field holding the text (default: ``text``, or the only text field).
        annotator: the name for annotations without ``completed_by``.
    """

    passages: PassageMatcher | None = None
    document: str | None = None
    from_name: str | None = None
    text_field: str | None = None
    annotator: str | None = None


# --------------------------------------------------------------------------- config and export


def label_studio_config() -> str:
    """Return the Label Studio labelling config that matches the exported tasks.

    Paste it into a Label Studio project's "Labeling Interface" (code view)
    before importing the JSON, so the choices line up with the codebook.
    """
    codebook = load_codebook()
    choices = "\n".join(
        f'    <Choice value="{label.name}" hotkey="{label.key}" hint="{label.title}"/>'
        for label in codebook.labels
    )
    return (
        "<View>\n"
        '  <Header value="$title"/>\n'
        f'  <Text name="{TO_NAME}" value="$text"/>\n'
        f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="multiple" showInLine="false">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )


def dumps_label_studio(records: Iterable[Any]) -> str:
    """Serialise records as a Label Studio task list (JSON), one task per passage.

    Decisions on the same passage become the task's ``annotations``. The
    annotation ``id`` is a running number, as Label Studio expects integers;
    ``was_cancelled`` marks a skip, ``ground_truth`` a gold label,
    ``completed_by`` the annotator's user id and ``lead_time`` the seconds the
    decision took (``null`` where not measured). ``records`` are
    :class:`~.records.AnnotationRecord` objects.
    """
    records = list(records)
    user_ids = {name: i for i, name in enumerate(sorted({r.annotator for r in records}), start=1)}
    tasks: dict[str, dict[str, Any]] = {}
    next_id = 1
    for rec in records:
        task = tasks.get(rec.passage_id)
        if task is None:
            task = {
                "id": len(tasks) + 1,
                "data": {
                    "passage_id": rec.passage_id,
                    "doc_id": rec.doc_id,
                    "fingerprint": rec.fingerprint,
                    "start_char": rec.start_char,
                    "end_char": rec.end_char,
                    "text": rec.text,
                },
                "annotations": [],
            }
            tasks[rec.passage_id] = task
        if task["data"]["text"] is None and rec.text is not None:
            task["data"]["text"] = rec.text  # Label Studio needs text to show the task
        # Records of one passage normally agree on its fields; where one does not
        # (e.g. merged from two segmentations), its own values ride in meta.
        own = {
            "doc_id": rec.doc_id,
            "fingerprint": rec.fingerprint,
            "start_char": rec.start_char,
            "end_char": rec.end_char,
            "text": rec.text,
        }
        differs = {k: v for k, v in own.items() if task["data"][k] != v and not (k == "text" and v is None)}
        annotation: dict[str, Any] = {
            "id": next_id,
            "completed_by": user_ids[rec.annotator],
            "result": [
                {
                    "from_name": FROM_NAME,
                    "to_name": TO_NAME,
                    "type": "choices",
                    "value": {"choices": list(rec.labels)},
                }
            ],
            "was_cancelled": rec.skipped,
            "ground_truth": rec.gold,
            "created_at": rec.created_at,
            "updated_at": rec.created_at,
            "lead_time": rec.lead_time,  # seconds, as Label Studio records them (null: not measured)
        }
        annotation["meta"] = {
            "annotator": rec.annotator,
            "codebook_version": rec.codebook_version,
            "comment": rec.comment,
            "flagged": rec.flagged,
            "schema_version": rec.schema_version,
            "has_text": rec.text is not None,
            "history": [h.model_dump(mode="json", exclude_none=True) for h in rec.history],
            **({"passage": differs} if differs else {}),
        }
        task["annotations"].append(annotation)
        next_id += 1
    return json.dumps(list(tasks.values()), ensure_ascii=False, indent=1) + "\n"


# --------------------------------------------------------------------------- import


def map_tasks(
    payload: Any, *, source: str = "Label Studio export", mapping: LabelStudioMapping | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Map parsed Label Studio JSON onto annotation record fields, one ``(where, fields)`` per annotation.

    The fields are validated by :func:`.records.parse_record`, which names
    ``where`` (the file, task and annotation) in any error.

    Args:
        payload: the parsed file: a list of tasks, or one task object.
        source: the file name, for messages.
        mapping: how to map tasks without passage ids (default: refuse them).

    Raises:
        AnnotationError: naming ``source`` and the task (and annotation) of
            anything that cannot be mapped.
    """
    mapping = mapping or LabelStudioMapping()
    tasks = _task_list(payload, source)
    chosen = mapping.from_name or _only_choices_control(tasks, source)
    version = load_codebook().version
    out: list[tuple[str, dict[str, Any]]] = []
    n_annotations = n_predictions = 0
    for t_index, task in enumerate(tasks):
        where_task = f"{source}: task {t_index + 1}" + (f" (id {task['id']})" if "id" in task else "")
        data = task.get("data") if isinstance(task.get("data"), dict) else None
        if data is None:
            if task.get("annotations"):
                raise AnnotationError(f"{where_task}: has annotations but no 'data' object")
            data = task  # a bare import task, e.g. {"text": "..."}: nothing annotated
        annotations = task.get("annotations") or []
        if not isinstance(annotations, list):
            raise AnnotationError(f"{where_task}: 'annotations' must be a list")
        predictions = task.get("predictions") or []
        n_predictions += len(predictions) if isinstance(predictions, list) else 1
        if not annotations:
            continue
        passage = _passage_of(data, where_task, mapping)
        unattributed: set[tuple[str, ...]] = set()
        for a_index, ann in enumerate(annotations):
            where = f"{where_task}, annotation {a_index + 1}"
            if not isinstance(ann, dict):
                raise AnnotationError(f"{where}: expected an object")
            if "id" in ann:
                where += f" (id {ann['id']})"
            n_annotations += 1
            labels, comment = _result_of(ann, chosen, where)
            meta = ann.get("meta") if isinstance(ann.get("meta"), dict) else {}
            name = _annotator_of(ann, meta, mapping.annotator, where)
            if meta.get("annotator") is None and ann.get("completed_by") is None:
                unattributed.add(tuple(sorted(labels)))
                if len(unattributed) > 1:
                    raise AnnotationError(
                        f"{where}: two annotations of this task without 'completed_by' disagree; "
                        "they cannot be told apart under one --annotator name"
                    )
            own = {**passage, **(meta.get("passage") or {})}
            has_text = meta.get("has_text", own.get("text") is not None)
            fields: dict[str, Any] = {
                "schema_version": meta.get("schema_version", 1),
                "doc_id": own.get("doc_id") or "",
                "passage_id": passage.get("passage_id") or "",
                "fingerprint": own.get("fingerprint") or "",
                "start_char": own.get("start_char"),
                "end_char": own.get("end_char"),
                "labels": labels,
                "annotator": name,
                "created_at": _time_of(ann, task),
                "codebook_version": meta.get("codebook_version", version),
                "comment": meta.get("comment", comment),
                "flagged": bool(meta.get("flagged", False)),
                "skipped": bool(ann.get("was_cancelled", False)),
                "gold": bool(ann.get("ground_truth", False)),
                "history": meta.get("history", []),
                "text": own.get("text") if has_text else None,
            }
            if ann.get("lead_time") is not None:
                fields["lead_time"] = ann["lead_time"]
            out.append((where, fields))
    if tasks and n_annotations == 0:  # an empty list is an empty export; tasks with nothing are not
        ignored = (
            f"; its {n_predictions} prediction(s) are model output and are not imported"
            if n_predictions
            else ""
        )
        raise AnnotationError(f"{source}: no annotations in {len(tasks)} task(s){ignored}")
    return out


def _task_list(payload: Any, source: str) -> list[dict[str, Any]]:
    if isinstance(payload, dict):
        payload = [payload]  # a single-task export is the task object itself
    if not isinstance(payload, list):
        raise AnnotationError(
            f"{source}: a Label Studio export is a JSON list of tasks (or one task object), "
            f"got {type(payload).__name__}"
        )
    for i, task in enumerate(payload):
        if not isinstance(task, dict):
            raise AnnotationError(f"{source}: task {i + 1}: expected an object, got {type(task).__name__}")
    return payload


def _results(task: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for ann in task.get("annotations") or []:
        if isinstance(ann, dict):
            for result in ann.get("result") or []:
                if isinstance(result, dict):
                    yield result


def _only_choices_control(tasks: Sequence[dict[str, Any]], source: str) -> str | None:
    """The name of the one Choices control the file's annotations use (``None``: none used)."""
    names = sorted(
        {str(r.get("from_name", "")) for t in tasks for r in _results(t) if r.get("type") == "choices"}
    )
    if len(names) > 1:
        raise AnnotationError(
            f"{source}: the annotations use several Choices controls ({', '.join(map(repr, names))}); "
            "choose the one holding the codebook labels with --from-name"
        )
    return names[0] if names else None


def _result_of(ann: dict[str, Any], chosen: str | None, where: str) -> tuple[list[str], str]:
    """The labels and comment of one annotation's results."""
    results = ann.get("result") or []
    if not isinstance(results, list):
        raise AnnotationError(f"{where}: 'result' must be a list")
    labels: list[str] = []
    comments: list[str] = []
    for result in results:
        if not isinstance(result, dict):
            raise AnnotationError(f"{where}: a result must be an object")
        kind = result.get("type")
        value = result.get("value") if isinstance(result.get("value"), dict) else {}
        if kind == "choices":
            if result.get("from_name") != chosen:
                continue  # another Choices control, left out on purpose (--from-name)
            choices = value.get("choices", [])
            if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
                raise AnnotationError(f"{where}: 'choices' must be a list of label names")
            labels.extend(choices)
        elif kind == "textarea":
            text = value.get("text", [])
            comments.extend([text] if isinstance(text, str) else [str(t) for t in text])
        else:
            raise AnnotationError(
                f"{where}: a {kind!r} result (from {result.get('from_name')!r}) cannot be mapped to passage "
                "labels: this toolkit labels whole passages with one Choices control"
            )
    return labels, "\n".join(c for c in comments if c)


def _passage_of(data: dict[str, Any], where: str, mapping: LabelStudioMapping) -> dict[str, Any]:
    """The passage fields of a task: its own ids, a matched passage, or a new one under ``document``."""
    if data.get("passage_id"):
        return data
    passages, document = mapping.passages, mapping.document
    text = _text_of(data, where, mapping.text_field)
    if passages is not None:
        found = passages.match(text)
        if len(found) > 1 and document is not None:
            found = [p for p in found if p.doc_id == document] or found
        if len(found) > 1:
            ids = ", ".join(p.passage_id for p in found[:5])
            raise AnnotationError(
                f"{where}: its text matches {len(found)} passages ({ids}); "
                "name the document it comes from with --document, or add data.passage_id"
            )
        if found:
            p = found[0]
            return {
                "passage_id": p.passage_id,
                "doc_id": p.doc_id,
                "fingerprint": fingerprint(p.text),
                "start_char": p.start_char,
                "end_char": p.end_char,
                "text": p.text,
            }
    if document:
        fp = fingerprint(text)
        return {"passage_id": f"{document}:{fp[:10]}", "doc_id": document, "fingerprint": fp, "text": text}
    known = (
        f"none of the project's {len(passages)} passages has this text"
        if passages is not None
        else "no passages to match against"
    )
    raise AnnotationError(
        f"{where}: cannot be mapped to a passage: no data.passage_id, and {known}. "
        "Pass --document NAME (`cocreation annotate import`) to create its passages under that document."
    )


def _text_of(data: dict[str, Any], where: str, text_field: str | None) -> str:
    if text_field is not None:
        text = data.get(text_field)
        if not isinstance(text, str) or not text.strip():
            raise AnnotationError(f"{where}: data has no text in field {text_field!r}")
        return text
    if isinstance(data.get("text"), str) and data["text"].strip():
        return data["text"]
    strings = {k: v for k, v in data.items() if isinstance(v, str) and v.strip() and not _looks_like_url(v)}
    if len(strings) == 1:
        return next(iter(strings.values()))
    fields = ", ".join(sorted(map(str, data))) or "none"
    raise AnnotationError(
        f"{where}: cannot tell which data field holds the passage text (fields: {fields}); "
        "this toolkit labels text passages: pass --text-field NAME"
    )


def _looks_like_url(value: str) -> bool:
    return value.startswith(("http://", "https://", "s3://", "gs://", "/data/", "data:"))


def _annotator_of(ann: dict[str, Any], meta: dict[str, Any], default: str | None, where: str) -> str:
    if meta.get("annotator") is not None:
        return str(meta["annotator"])
    who = ann.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    if who is not None and str(who).strip():
        return str(who)
    if default:
        return default
    raise AnnotationError(
        f"{where}: no 'completed_by' says who made this annotation; pass --annotator NAME to attribute it"
    )


def _time_of(ann: dict[str, Any], task: dict[str, Any]) -> str:
    for holder in (ann, task):
        for key in ("updated_at", "created_at"):
            value = holder.get(key)
            if isinstance(value, str) and value.strip():
                return value
    return UNKNOWN_TIME
