"""Carry annotation records across a change of segmentation.

Annotation records are standoff: they name a passage by document, id,
fingerprint and offsets, and the text is found again by parsing the corpus.
When the parser or the segmenter changes, passages change with it, and the
records that pointed at them go stale. This module maps them onto the new
passages with two rules that cannot change what an annotator decided:

1. **exact**: a new passage whose text is the old passage's text (the same
   after white space, letter case, ligatures and invisible characters are
   normalised, as the fingerprint does) keeps the record, with the new id,
   fingerprint and offsets;
2. **union**: a new passage that is exactly the old passages ``P1 .. Pk``
   joined in order (k >= 2, e.g. a lead-in and its list items), where every
   piece has a final decision (gold over ordinary, as training reads them)
   and all of them have the same labels, gets those labels: in each file, the
   pieces' records become one record (the latest one, keeping its annotator,
   time, comment and gold flag), if that file has a record for every piece
   with those labels.

Every record that moves gets a history entry noting where it came from.
Everything else is reported, never guessed: the new labelling units that
overlap an old labelled passage without having received its labels are the
**relabel queue** (with the old pieces' labels for reference); records whose
passage is now inside a heading or a table, or whose text is no longer found,
are counted by reason. Records that cannot be carried stay in their file as
they were, so nothing already decided is lost (training reports them as
stale).

The old passages come from a **snapshot** taken with the old code
(:func:`write_snapshot`): one JSON line per document with its cleaned text
and passages. Passage texts stay outside the repository.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .annotate.records import AnnotationRecord, HistoryEntry
from .types import Passage, fingerprint, is_labelling_unit

_WS = re.compile(r"\s+")


_ENUMERATOR = re.compile(r"^\s*(?:\(?\d{1,3}(?:\.\d{1,2})*[.)]|\(?[a-z][.)]|\(?[ivx]{1,4}[.)])\s+", re.I)


def _norm(text: str) -> str:
    """The form texts are compared in: cleaned like a parsed block, spaces single, lower case.

    A list item's number ("2.", "b)") at the start of a block is left out: the
    parser now keeps the numbers a list shows, which the old one dropped, and
    a number does not change what an annotator decided about the item.
    """
    from .ingest import clean_text

    blocks = [_ENUMERATOR.sub("", block) for block in text.split("\n")]
    return _WS.sub(" ", clean_text(" ".join(blocks))).strip().lower()


@dataclass(frozen=True, slots=True)
class OldPassage:
    """A passage as the old code produced it."""

    passage_id: str
    fingerprint: str
    start_char: int
    end_char: int
    text: str
    kind: str = "paragraph"


@dataclass(slots=True)
class OldDocument:
    """A document as the old code parsed it: its cleaned text and passages, in order."""

    doc_id: str
    text: str
    passages: list[OldPassage]


# --------------------------------------------------------------------------- snapshots


def snapshot_documents(corpus: Sequence[str | Path]) -> Iterator[dict]:
    """Parse and segment ``corpus`` with the code installed now; one JSON-able dict per document."""
    from .ingest import discover, read_one
    from .segment import segment_document
    from .types import ParseFailure

    for src in discover(corpus):
        doc = read_one(src)
        if isinstance(doc, ParseFailure):
            continue
        yield {
            "doc_id": doc.doc_id,
            "content_sha256": doc.content_sha256,
            "text": doc.text,
            "passages": [
                {
                    "passage_id": p.passage_id,
                    "fingerprint": p.fingerprint,
                    "start_char": p.start_char,
                    "end_char": p.end_char,
                    "kind": p.kind,
                    "text": p.text,
                }
                for p in segment_document(doc)
            ],
        }


def write_snapshot(path: Path, corpus: Sequence[str | Path]) -> int:
    """Write the snapshot of ``corpus`` (JSONL); return the number of documents.

    Take it *before* changing the parser, with the old code, and keep it
    outside the repository: it holds the documents' text.
    """
    n = 0
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in snapshot_documents(corpus):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


def read_snapshot(path: Path) -> dict[str, OldDocument]:
    """Read a snapshot written by :func:`write_snapshot`."""
    out: dict[str, OldDocument] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            passages = [
                OldPassage(
                    p["passage_id"],
                    p["fingerprint"],
                    p["start_char"],
                    p["end_char"],
                    p["text"],
                    p.get("kind", ""),
                )
                for p in row["passages"]
            ]
            out[row["doc_id"]] = OldDocument(row["doc_id"], row.get("text", ""), passages)
    return out


# --------------------------------------------------------------------------- the mapping


@dataclass(slots=True)
class RelabelItem:
    """A new passage that needs labels, with what the old pieces had (for reference, not to copy)."""

    doc_id: str
    passage_id: str
    fingerprint: str
    start_char: int
    end_char: int
    heading: str
    text: str
    old_pieces: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """One line of the relabel queue (JSON-able)."""
        return {
            "doc_id": self.doc_id,
            "passage_id": self.passage_id,
            "fingerprint": self.fingerprint,
            "start_char": self.start_char,
            "end_char": self.end_char,
            "heading": self.heading,
            "text": self.text,
            "old_pieces": self.old_pieces,
        }


@dataclass(slots=True)
class CarryOver:
    """The outcome: the rewritten records of each file, the relabel queue and the counts."""

    records: dict[str, list[AnnotationRecord]]
    relabel: list[RelabelItem]
    counts: dict[str, Counter]
    label_counts: dict[str, Counter]

    def summary(self) -> dict:
        """Counts per file and reason, and labels per outcome (JSON-able)."""
        return {
            "files": {name: dict(c) for name, c in self.counts.items()},
            "labels": {name: dict(c) for name, c in self.label_counts.items()},
            "relabel_passages": len(self.relabel),
        }


def _resolve_old(
    rec: AnnotationRecord, old: OldDocument, by_fp: dict[str, list[int]]
) -> tuple[int | None, str | None]:
    """The old passage a record meant (its index), or the text of a span that was never a passage.

    (None, None) for a record that was already stale under the old code.
    """
    cands = by_fp.get(rec.fingerprint, [])
    if cands:
        return min(cands, key=lambda i: abs(old.passages[i].start_char - (rec.start_char or 0))), None
    if rec.start_char is not None and rec.end_char is not None:
        span = old.text[rec.start_char : rec.end_char]
        if span and fingerprint(span) == rec.fingerprint:
            return None, span
    return None, None


def _moved(rec: AnnotationRecord, p: Passage, note: str) -> AnnotationRecord:
    entry = HistoryEntry(
        labels=rec.labels,
        created_at=rec.created_at,
        codebook_version=rec.codebook_version,
        comment=f"{note}: was {rec.passage_id} (fingerprint {rec.fingerprint}, "
        f"characters {rec.start_char}-{rec.end_char})",
        flagged=rec.flagged,
        skipped=rec.skipped,
        reviewer=rec.annotator if rec.gold else None,
    )
    return rec.model_copy(
        update={
            "passage_id": p.passage_id,
            "fingerprint": p.fingerprint,
            "start_char": p.start_char,
            "end_char": p.end_char,
            "history": [*rec.history, entry],
        }
    )


def carry_over(
    files: Mapping[str, Sequence[AnnotationRecord]],
    old_docs: Mapping[str, OldDocument],
    new_passages: Mapping[str, Sequence[Passage]],
    *,
    final_files: Iterable[str] = ("pass1", "adjudicated"),
    note: str = "carried over after a change of segmentation",
) -> CarryOver:
    """Map every record of ``files`` (name -> records) from the old passages to the new ones.

    Args:
        files: The annotation files' records, by a short name ("pass1", ...).
        old_docs: The snapshot taken with the old code (:func:`read_snapshot`).
        new_passages: The new code's passages of the same documents, by doc_id.
        final_files: The files whose records make the final decisions (what
            training reads); the union rule checks the pieces' final labels.
        note: Written into the history entry of every record that moves.

    Returns:
        The rewritten records (in the files' order; a union's merged record
        takes the place of its first piece's record), the relabel queue and
        the counts.
    """
    counts: dict[str, Counter] = {name: Counter() for name in files}
    label_counts: dict[str, Counter] = defaultdict(Counter)
    # Resolve every record to an old passage index (or a free span of old text).
    resolved: dict[str, list[tuple[int | None, str | None]]] = {}
    by_fp_doc: dict[str, dict[str, list[int]]] = {}
    for doc_id, old in old_docs.items():
        idx: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(old.passages):
            idx[p.fingerprint].append(i)
        by_fp_doc[doc_id] = idx
    for name, recs in files.items():
        out = []
        for r in recs:
            old = old_docs.get(r.doc_id)
            out.append(_resolve_old(r, old, by_fp_doc[r.doc_id]) if old is not None else (None, None))
        resolved[name] = out

    # Final decisions per old passage (gold over ordinary, then latest), for the union rule.
    final: dict[tuple[str, int], AnnotationRecord] = {}
    for name in final_files:
        for r, (i, _) in zip(files.get(name, ()), resolved.get(name, ()), strict=False):
            if i is None or r.skipped:
                continue
            key = (r.doc_id, i)
            cur = final.get(key)
            if cur is None or (r.gold, r.created_at) > (cur.gold, cur.created_at):
                final[key] = r

    # New passages, normalised, per document.
    exact_map: dict[str, dict[str, list[Passage]]] = {}
    union_map: dict[
        tuple[str, int], tuple[Passage, list[int]]
    ] = {}  # (doc, first old index) -> passage, pieces
    piece_of_union: dict[tuple[str, int], tuple[Passage, list[int]]] = {}
    for doc_id, passages in new_passages.items():
        old = old_docs.get(doc_id)
        units = [p for p in passages if is_labelling_unit(p.kind)]
        exact_map[doc_id] = defaultdict(list)
        for p in units:
            exact_map[doc_id][_norm(p.text)].append(p)
        if old is None:
            continue
        old_norm = [_norm(p.text) for p in old.passages]
        starts: dict[str, list[int]] = defaultdict(list)
        for i, t in enumerate(old_norm):
            starts[t[:24]].append(i)
        for p in units:
            target = _norm(p.text)
            if target in {old_norm[i] for i in starts.get(target[:24], [])}:
                continue  # an exact match, handled above
            for i in starts.get(target[:24], []):
                joined = old_norm[i]
                pieces = [i]
                j = i + 1
                while len(joined) < len(target) and j < len(old_norm) and target.startswith(joined + " "):
                    joined = f"{joined} {old_norm[j]}"
                    pieces.append(j)
                    j += 1
                if joined == target and len(pieces) >= 2:
                    union_map[(doc_id, i)] = (p, pieces)
                    for k in pieces:
                        piece_of_union[(doc_id, k)] = (p, pieces)
                    break

    # Which unions may carry: every piece has a final decision, all with the same labels.
    union_ok: dict[tuple[str, int], tuple[str, ...]] = {}
    for (doc_id, first), (_, pieces) in union_map.items():
        labels = {tuple(final[(doc_id, k)].labels) if (doc_id, k) in final else None for k in pieces}
        if len(labels) == 1 and None not in labels:
            union_ok[(doc_id, first)] = next(iter(labels))  # type: ignore[arg-type]

    carried_new: set[tuple[str, str]] = set()  # (doc_id, new passage id) that received labels
    merged_positions: dict[str, set[int]] = {}
    out_records: dict[str, list[AnnotationRecord]] = {}
    for name, recs in files.items():
        kept: list[AnnotationRecord] = []
        # Group this file's records by union, to merge them.
        union_recs: dict[tuple[str, int], list[tuple[int, AnnotationRecord]]] = defaultdict(list)
        for pos, (r, (i, _span)) in enumerate(zip(recs, resolved[name], strict=True)):
            if i is not None and (r.doc_id, i) in piece_of_union:
                p, pieces = piece_of_union[(r.doc_id, i)]
                union_recs[(r.doc_id, pieces[0])].append((pos, r))
        placed: dict[int, AnnotationRecord | None] = {}
        for key, items in union_recs.items():
            p, pieces = union_map[key]
            labels = union_ok.get(key)
            by_piece: dict[int, AnnotationRecord] = {}
            for pos, r in items:
                i = resolved[name][pos][0]
                if i is not None and not r.skipped:
                    by_piece[i] = r
            complete = labels is not None and set(by_piece) == set(pieces)
            same = complete and all(tuple(r.labels) == labels for r in by_piece.values())
            if same:
                base = max(by_piece.values(), key=lambda r: r.created_at)
                merged_from = ", ".join(by_piece[k].passage_id for k in pieces)
                new = _moved(base, p, f"{note}; union of {len(pieces)} passages ({merged_from})")
                placed[items[0][0]] = new
                for pos, _ in items[1:]:
                    placed[pos] = None
                counts[name]["union_records_merged"] += len(items)
                counts[name]["union_records_written"] += 1
                for lab in base.labels:
                    label_counts["union"][lab] += 1
                carried_new.add((p.doc_id, p.passage_id))
        for pos, (r, (i, span)) in enumerate(zip(recs, resolved[name], strict=True)):
            if pos in placed:
                if placed[pos] is not None:
                    kept.append(placed[pos])  # type: ignore[arg-type]
                continue
            if i is None and span is None:
                # Stale under the old code; the new segmentation may have brought its text back.
                revived = next(
                    (
                        p
                        for p in new_passages.get(r.doc_id, ())
                        if p.fingerprint == r.fingerprint and is_labelling_unit(p.kind)
                    ),
                    None,
                )
                if revived is not None:
                    kept.append(_moved(r, revived, note) if revived.passage_id != r.passage_id else r)
                    counts[name]["stale_before_matches_again"] += 1
                    carried_new.add((r.doc_id, revived.passage_id))
                    continue
                counts[name]["already_stale_kept"] += 1
                kept.append(r)
                continue
            target = _exact_target(r.doc_id, i, span, old_docs, exact_map)
            if target is not None:
                moved = target.passage_id != r.passage_id or target.start_char != r.start_char
                kept.append(_moved(r, target, note) if moved else r)
                counts[name]["exact_moved" if moved else "exact_unchanged"] += 1
                if r.gold or name in final_files:
                    for lab in r.labels:
                        label_counts["exact"][lab] += 1
                carried_new.add((r.doc_id, target.passage_id))
                continue
            counts[name]["not_carried_kept"] += 1
            kept.append(r)
        out_records[name] = kept
        merged_positions[name] = set(placed)

    # Report what could not be carried: the relabel queue and the other reasons.
    relabel: dict[tuple[str, str], RelabelItem] = {}
    for name, recs in files.items():
        for pos, (r, (i, span)) in enumerate(zip(recs, resolved[name], strict=True)):
            if (i is None and span is None) or pos in merged_positions[name]:
                continue
            text = old_docs[r.doc_id].passages[i].text if i is not None else span
            norm = _norm(text or "")
            target = _exact_target(r.doc_id, i, span, old_docs, exact_map)
            if target is not None and (r.doc_id, target.passage_id) in carried_new:
                continue
            if i is not None and (r.doc_id, i) in piece_of_union:
                p, _ = piece_of_union[(r.doc_id, i)]
                if (r.doc_id, p.passage_id) in carried_new:
                    # The union carried from the final decisions, but this file lacks some of its pieces.
                    counts[name]["reported_union_incomplete_in_this_file"] += 1
                    continue
            hits = _overlapping(norm, new_passages.get(r.doc_id, ()))
            # (a new passage that received labels from another record needs none)
            units = [
                p for p in hits if is_labelling_unit(p.kind) and (r.doc_id, p.passage_id) not in carried_new
            ]
            if not units and any(is_labelling_unit(p.kind) for p in hits):
                counts[name]["reported_covered_by_other_carried_records"] += 1
                continue
            if units:
                reason = "relabel"
                for p in units:
                    item = relabel.get((r.doc_id, p.passage_id))
                    if item is None:
                        item = RelabelItem(
                            r.doc_id, p.passage_id, p.fingerprint, p.start_char, p.end_char, p.heading, p.text
                        )
                        relabel[(r.doc_id, p.passage_id)] = item
                    item.old_pieces.append(
                        {
                            "file": name,
                            "old_passage_id": r.passage_id,
                            "annotator": r.annotator,
                            "labels": list(r.labels),
                            "gold": r.gold,
                            "skipped": r.skipped,
                        }
                    )
            elif hits:
                reason = "now_heading_or_table"
            else:
                reason = "text_not_found"
            counts[name][f"reported_{reason}"] += 1
            if name in final_files and not r.skipped:
                for lab in r.labels or ["(none)"]:
                    label_counts[f"reported_{reason}"][lab] += 1
    items = sorted(relabel.values(), key=lambda it: (it.doc_id, it.start_char))
    return CarryOver(out_records, items, counts, dict(label_counts))


def _exact_target(
    doc_id: str,
    i: int | None,
    span: str | None,
    old_docs: Mapping[str, OldDocument],
    exact_map: Mapping[str, Mapping[str, list[Passage]]],
) -> Passage | None:
    """The new passage with the old passage's text; the n-th of repeated texts maps to the n-th."""
    old = old_docs.get(doc_id)
    if old is None:
        return None
    text = old.passages[i].text if i is not None else (span or "")
    norm = _norm(text)
    cands = exact_map.get(doc_id, {}).get(norm)
    if not cands:
        return None
    if i is None:
        return cands[0]
    ordinal = sum(1 for p in old.passages[:i] if _norm(p.text) == norm)
    return cands[min(ordinal, len(cands) - 1)]


def _overlapping(norm: str, passages: Iterable[Passage]) -> list[Passage]:
    """New passages that share text with an old one.

    Its head or its tail (60 characters) occurs in them, or they lie inside it.
    """
    if not norm:
        return []
    head, tail = norm[:60], norm[-60:]
    out = []
    for p in passages:
        t = _norm(p.text)
        if head in t or tail in t or (len(t) >= 20 and t in norm):
            out.append(p)
    if out:
        return out
    # The text changed (a word repaired, spaces inside words removed, lines re-ordered):
    # passages sharing a good part of its letter sequences, spaces ignored.
    old_sh = _shingles(norm)
    if not old_sh:
        return []
    scored = []
    for p in passages:
        sh = _shingles(_norm(p.text))
        common = len(old_sh & sh)
        if common and common >= 0.3 * min(len(old_sh), len(sh)):
            scored.append(p)
    return scored


def _shingles(text: str, n: int = 12) -> set[str]:
    letters = re.sub(r"\W+", "", text)
    if len(letters) < n:
        return {letters} if letters else set()
    return {letters[i : i + n] for i in range(len(letters) - n + 1)}


_UNION_NOTE = re.compile(r"union of \d+ passages \(([^)]*)\)")
_WAS_NOTE = re.compile(r": was (\S+) \(fingerprint")


def record_origins(record: AnnotationRecord) -> list[str]:
    """The passage ids a record had when its decision was made, before any carry-over.

    A record carried exactly names its old passage in its history; a union
    names every piece. Agreement between annotators is a property of those
    original decisions, so it is computed on these ids.

    Example:
        >>> from cocreation_nlp.annotate.records import AnnotationRecord, HistoryEntry
        >>> h = HistoryEntry(labels=[], created_at="2026-01-01T00:00:00Z", codebook_version="1.1",
        ...     comment="carried over; union of 2 passages (d:a, d:b): was d:b (fingerprint f, characters 1-2)")
        >>> r = AnnotationRecord(doc_id="d", passage_id="d:c", fingerprint="c", labels=[], annotator="x",
        ...     created_at="2026-01-01T00:00:00Z", codebook_version="1.1", history=[h])
        >>> record_origins(r)
        ['d:a', 'd:b']
    """
    for entry in record.history:
        if not entry.comment.startswith("carried over"):
            continue
        union = _UNION_NOTE.search(entry.comment)
        if union:
            return [x.strip() for x in union.group(1).split(",") if x.strip()]
        was = _WAS_NOTE.search(entry.comment)
        if was:
            return [was.group(1)]
    return [record.passage_id]
