"""Rule lexicon: per-label phrase matching that keeps its evidence.

The rules are the **baseline** that the learned classifier must beat, and the
source of evidence spans and features. They never produce gold labels: the
codebook asks what a passage *says* about an actor or practice, and a word
list only sees which words it uses.

Design, and why:

* **Speed.** Rule-only scoring has to run at no less than 0.3x the speed of
  spaCy's bare tokenizer. A token ``Matcher`` with a few hundred LEMMA
  patterns runs at ~40 k words/s and the lookup lemmatizer at ~300 k words/s
  (``shared/notes/environment.md``), both far too slow. So the only spaCy
  work per passage is the tokenizer plus one ``PhraseMatcher`` on ``LOWER``
  (~11 M words/s, nearly free). Lemma-awareness moves into the data: each
  term lists its inflected forms with brace expansion (``nurse{,s}``,
  ``consult{,s,ed,ing}``), and hyphen and apostrophe variants are generated
  at load time (``co-design`` also matches ``co design``, ``codesign`` and
  ``co‑design`` with a non-breaking hyphen; ``citizens' panel`` also matches
  ``citizens’ panel``). ``benchmarks/rules_speed.py`` measured rule-only
  scoring at about 0.6x the bare tokenizer on the open-policy corpus.
* **Compounds.** German and Dutch glue words together
  (``Bürgerbeteiligungsverfahren``), which whole-token phrases cannot see.
  Each label may list ``word_patterns`` (``*beteiligung``, ``verstetig*``)
  matched as whole words by one compiled regular expression per language.
* **Traps.** The codebook names words that look like a label and are not
  ("ask a member of staff", "environmental sustainability", "the public
  sector", "stakeholders" with no organisation in view). Those checks run in
  Python, only on the few matched spans, over a window of neighbouring
  tokens, so they cost almost nothing. They are data too (``exclusions``).
* **Languages as data.** One TOML file per language in
  ``cocreation_nlp/lexicon/``; adding a language means adding a file.
  An unknown language raises :class:`~cocreation_nlp.errors.ConfigError`
  instead of silently using English terms.
* **Offsets.** Hits carry character offsets into the passage text as given,
  so ``text[h.start_char:h.end_char] == h.text`` always holds, even when the
  text has line breaks or runs of spaces that are normalised before
  tokenizing.

Lexicon file format (see ``lexicon/en.toml`` for the commented original)::

    language = "en"
    version = 1                       # bump on any change of what matches
    [labels.professionals]
    terms = ["nurse{,s}", "front-line staff"]
    word_patterns = []                # whole-word wildcards, "*" at either end
    [[labels.professionals.exclusions]]
    terms = ["front-line staff"]      # canonical forms; omit for every term
    window = 3                        # tokens on each side
    not_before = ["ask a", "contact"] # veto if found just before the hit
    not_after = []                    # veto if found just after
    not_near = []                     # veto if found on either side
    only_near = []                    # keep only if found on either side
    note = "staff named as a contact point"

A term's *canonical* form is its first brace expansion (``nurse{,s}`` ->
``nurse``); hits report it in :attr:`RuleHit.term`.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import tomllib
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from .codebook import LABELS, load_codebook
from .errors import ConfigError
from .util import language_code

if TYPE_CHECKING:
    from spacy.tokens import Doc

__all__ = [
    "RULE_FEATURE_NAMES",
    "RuleHit",
    "RuleMatcher",
    "rule_features",
    "rule_probabilities",
    "supported_languages",
]

# Every character ``str.isspace`` accepts, except the plain space. spaCy only
# splits on " ", so a line break inside "frontline\nstaff" would otherwise
# become a token of its own and hide the phrase. Replacing one character with
# one character keeps all offsets valid. (``re.sub`` measured 5x faster than
# ``str.translate`` here.)
_OTHER_SPACE = re.compile("[\t\n\v\f\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_SPACE_RUN = re.compile(" {2,}")
_WORD_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")
# Non-breaking and Unicode hyphens are not split by the tokenizer, so each
# hyphenated term also gets a variant spelled with them.
_UNICODE_HYPHENS = ("\u2010", "\u2011")
_WORD_PATTERN_SHAPE = re.compile(r"^\*?[^\s*]+\*?$")

_TOP_KEYS = frozenset({"language", "version", "spacy_lang", "description", "labels"})
_LABEL_KEYS = frozenset({"terms", "word_patterns", "exclusions"})
_EXCLUSION_KEYS = frozenset({"terms", "window", "not_before", "not_after", "not_near", "only_near", "note"})
_CONTEXT_KEYS = ("not_before", "not_after", "not_near", "only_near")
_DEFAULT_WINDOW = 4

RULE_FEATURE_NAMES: tuple[str, ...] = tuple(
    f"rules_{label}_{kind}" for label in LABELS for kind in ("present", "log1p_hits", "log1p_terms")
)
"""Names of :func:`rule_features` columns, in order: for each label in
codebook order, ``present`` (0/1), ``log1p_hits`` (log(1 + number of hits))
and ``log1p_terms`` (log(1 + number of distinct terms))."""


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One lexicon match: the evidence behind a rule decision.

    Attributes:
        label: The codebook label the term belongs to.
        start_char: Offset of the first matched character in the passage text.
        end_char: Offset just past the last matched character.
        text: The matched text exactly as it appears in the passage.
        term: The canonical lexicon term that matched (first brace expansion).
    """

    label: str
    start_char: int
    end_char: int
    text: str
    term: str


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class _ExclusionSpec:
    terms: frozenset[str] | None
    window: int
    not_before: tuple[str, ...]
    not_after: tuple[str, ...]
    not_near: tuple[str, ...]
    only_near: tuple[str, ...]
    note: str


@dataclass(frozen=True, slots=True)
class _LabelSpec:
    terms: tuple[tuple[str, tuple[str, ...]], ...]  # (canonical, surface variants)
    word_patterns: tuple[tuple[str, tuple[str, ...]], ...]  # (canonical, pattern variants)
    exclusions: tuple[_ExclusionSpec, ...]


@dataclass(frozen=True, slots=True)
class _LexiconData:
    language: str
    version: int
    spacy_lang: str
    sha256: str
    labels: Mapping[str, _LabelSpec]


def _expand_braces(pattern: str) -> list[str]:
    """Expand ``{a,b}`` alternatives (nested allowed), keeping order, like the shell.

    ``"nurse{,s}"`` gives ``["nurse", "nurses"]``;
    ``"{front-line,delivery} staff"`` gives ``["front-line staff", "delivery staff"]``.

    Raises:
        ValueError: on unbalanced braces.
    """
    start = pattern.find("{")
    if start < 0:
        if "}" in pattern:
            raise ValueError(f"unbalanced '}}' in {pattern!r}")
        return [pattern]
    depth = 0
    options: list[str] = []
    last = start + 1
    for i in range(start, len(pattern)):
        ch = pattern[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                options.append(pattern[last:i])
                head, tail = pattern[:start], pattern[i + 1 :]
                out: list[str] = []
                for option in options:
                    for expanded in _expand_braces(head + option + tail):
                        if expanded not in out:
                            out.append(expanded)
                return out
        elif ch == "," and depth == 1:
            options.append(pattern[last:i])
            last = i + 1
    raise ValueError(f"unbalanced '{{' in {pattern!r}")


def _surface_variants(phrase: str) -> list[str]:
    """Spellings of one phrase that the tokenizer splits differently.

    A hyphen between letters also matches a space, nothing, and the Unicode
    hyphens; a straight apostrophe also matches a curly one and vice versa.
    """
    out = [phrase]
    if _WORD_HYPHEN.search(phrase):
        out.append(_WORD_HYPHEN.sub(" ", phrase))
        out.append(_WORD_HYPHEN.sub("", phrase))
        out.extend(_WORD_HYPHEN.sub(h, phrase) for h in _UNICODE_HYPHENS)
    for p in list(out):
        if "'" in p:
            out.append(p.replace("'", "\u2019"))
        if "\u2019" in p:
            out.append(p.replace("\u2019", "'"))
    seen: list[str] = []
    for p in out:
        if p not in seen:
            seen.append(p)
    return seen


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings; got {value!r}.")
    return tuple(value)


def _expand_entry(entry: str, where: str) -> list[str]:
    try:
        # An empty option ("with {,real} users") leaves a double space: normalise.
        expanded = [" ".join(e.split()) for e in _expand_braces(entry)]
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}. Fix the braces in the lexicon file.") from exc
    if not all(expanded):
        raise ConfigError(f"{where}: entry {entry!r} expands to an empty string.")
    return expanded


def _parse_lexicon(raw: dict[str, Any], *, language: str, sha256: str, source: str) -> _LexiconData:
    """Validate a parsed lexicon file and turn it into immutable specs.

    Validation is strict (unknown keys, unknown labels, duplicate terms and
    exclusions naming terms that do not exist are errors) because a typo in a
    data file would otherwise silently switch a rule off.
    """
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown}. Allowed: {sorted(_TOP_KEYS)}.")
    if raw.get("language") != language:
        raise ConfigError(
            f"{source}: 'language' must be {language!r} (the file name); got {raw.get('language')!r}."
        )
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"{source}: 'version' must be a positive integer; got {version!r}.")
    spacy_lang = raw.get("spacy_lang", language)
    labels_raw = raw.get("labels", {})
    if not isinstance(labels_raw, dict):
        raise ConfigError(f"{source}: [labels] must be a table of label tables.")
    bad_labels = sorted(set(labels_raw) - set(LABELS))
    if bad_labels:
        raise ConfigError(f"{source}: unknown label(s) {bad_labels}. Codebook labels: {', '.join(LABELS)}.")

    labels: dict[str, _LabelSpec] = {}
    for label in LABELS:
        table = labels_raw.get(label, {})
        where = f"{source} [labels.{label}]"
        bad_keys = sorted(set(table) - _LABEL_KEYS)
        if bad_keys:
            raise ConfigError(f"{where}: unknown key(s) {bad_keys}. Allowed: {sorted(_LABEL_KEYS)}.")
        terms: dict[str, tuple[str, ...]] = {}
        for entry in _str_list(table.get("terms", []), f"{where} terms"):
            expanded = _expand_entry(entry, where)
            canonical = expanded[0]
            if canonical in terms:
                raise ConfigError(f"{where}: duplicate term {canonical!r}. Merge the entries.")
            variants: list[str] = []
            for phrase in expanded:
                for v in _surface_variants(phrase):
                    if v not in variants:
                        variants.append(v)
            terms[canonical] = tuple(variants)
        patterns: dict[str, tuple[str, ...]] = {}
        for entry in _str_list(table.get("word_patterns", []), f"{where} word_patterns"):
            expanded = _expand_entry(entry, where)
            for p in expanded:
                if not _WORD_PATTERN_SHAPE.match(p) or len(p.strip("*")) < 3:
                    raise ConfigError(
                        f"{where}: word pattern {p!r} must be one word of 3+ characters with '*' "
                        "only at its start or end, e.g. '*beteiligung' or 'verstetig*'."
                    )
            if entry in patterns or entry in terms:
                raise ConfigError(f"{where}: duplicate word pattern {entry!r}.")
            patterns[entry] = tuple(expanded)
        exclusions: list[_ExclusionSpec] = []
        exclusion_tables = table.get("exclusions", [])
        if not isinstance(exclusion_tables, list):
            raise ConfigError(
                f"{where}: 'exclusions' must be an array of tables ([[labels.{label}.exclusions]])."
            )
        for n, ex in enumerate(exclusion_tables):
            ex_where = f"{where} exclusion #{n + 1}"
            bad = sorted(set(ex) - _EXCLUSION_KEYS)
            if bad:
                raise ConfigError(f"{ex_where}: unknown key(s) {bad}. Allowed: {sorted(_EXCLUSION_KEYS)}.")
            applies: frozenset[str] | None = None
            if "terms" in ex:
                applies = frozenset(_str_list(ex["terms"], f"{ex_where} terms"))
                missing = sorted(applies - set(terms) - set(patterns))
                if missing:
                    raise ConfigError(
                        f"{ex_where}: names term(s) {missing} that label {label!r} does not have. "
                        "Use the canonical form (the first brace expansion)."
                    )
            window = ex.get("window", _DEFAULT_WINDOW)
            if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 50:
                raise ConfigError(f"{ex_where}: 'window' must be an integer in [1, 50]; got {window!r}.")
            contexts: dict[str, tuple[str, ...]] = {}
            for key in _CONTEXT_KEYS:
                phrases: list[str] = []
                for entry in _str_list(ex.get(key, []), f"{ex_where} {key}"):
                    phrases.extend(_expand_entry(entry, ex_where))
                contexts[key] = tuple(phrases)
            if not any(contexts.values()):
                raise ConfigError(f"{ex_where}: give at least one of {', '.join(_CONTEXT_KEYS)}.")
            exclusions.append(
                _ExclusionSpec(terms=applies, window=window, note=str(ex.get("note", "")), **contexts)
            )
        labels[label] = _LabelSpec(
            terms=tuple(terms.items()), word_patterns=tuple(patterns.items()), exclusions=tuple(exclusions)
        )
    return _LexiconData(
        language=language, version=version, spacy_lang=spacy_lang, sha256=sha256, labels=labels
    )


def _lexicon_dir() -> Any:
    return resources.files(__package__).joinpath("lexicon")


@lru_cache(maxsize=1)
def supported_languages() -> tuple[str, ...]:
    """Return the language codes that have a rule lexicon, sorted.

    A language is supported when ``cocreation_nlp/lexicon/<code>.toml`` exists.

    Example:
        >>> "en" in supported_languages()
        True
    """
    return tuple(
        sorted(p.name[: -len(".toml")] for p in _lexicon_dir().iterdir() if p.name.endswith(".toml"))
    )


def _normalise_language(language: str) -> str:
    """Map ``"en-GB"``, ``"EN_us"`` or ``"en"`` to the lexicon code ``"en"``.

    Raises:
        ConfigError: if no lexicon exists for the language.
    """
    if not isinstance(language, str):
        raise ConfigError(f"language must be a string such as 'en'; got {language!r}.")
    code = language_code(language)
    available = supported_languages()
    if code not in available:
        raise ConfigError(
            f"No rule lexicon for language {language!r}. Available: {', '.join(available)}. "
            "Pass one of these, or add cocreation_nlp/lexicon/<code>.toml."
        )
    return code


@cache
def _load_lexicon_data(language: str) -> _LexiconData:
    path = _lexicon_dir().joinpath(f"{language}.toml")
    data = path.read_bytes()
    source = f"lexicon/{language}.toml"
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source} is not valid UTF-8 TOML: {exc}.") from exc
    return _parse_lexicon(raw, language=language, sha256=hashlib.sha256(data).hexdigest(), source=source)


# ---------------------------------------------------------------------- compiled


@dataclass(frozen=True, slots=True)
class _Exclusion:
    window: int
    not_before: re.Pattern[str] | None
    not_after: re.Pattern[str] | None
    not_near: re.Pattern[str] | None
    only_near: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class _Term:
    label: str
    term: str
    exclusions: tuple[_Exclusion, ...]
    # How many tokens the exclusions need on each side (0: that side is
    # never looked at), so each hit collects its neighbours once.
    n_before: int = 0
    n_after: int = 0


def _make_term(label: str, term: str, exclusions: tuple[_Exclusion, ...]) -> _Term:
    n_before = max(
        (ex.window for ex in exclusions if ex.not_before or ex.not_near or ex.only_near), default=0
    )
    n_after = max((ex.window for ex in exclusions if ex.not_after or ex.not_near or ex.only_near), default=0)
    return _Term(label, term, exclusions, n_before, n_after)


def _context_regex(phrases: Sequence[str], tokenize: Any) -> re.Pattern[str] | None:
    """Compile context phrases into one regex over space-joined lowercased tokens.

    Phrases are tokenized with the same tokenizer as the text, so "member of"
    and "co-design" line up with the window string token for token. A word
    ending in ``*`` matches any token that starts with it, one starting with
    ``*`` any token that ends with it.
    """
    if not phrases:
        return None
    alternatives: list[str] = []
    for phrase in phrases:
        parts: list[str] = []
        for word in phrase.split():
            core = word.strip("*") or word
            tokens = [t.lower_ for t in tokenize(core) if not t.is_space]
            piece = " ".join(re.escape(t) for t in tokens)
            lead = r"\S*" if word.startswith("*") and core != word else ""
            trail = r"\S*" if word.endswith("*") and core != word else ""
            parts.append(lead + piece + trail)
        alternatives.append(" ".join(parts))
    alternatives.sort(key=len, reverse=True)
    return re.compile(r"(?:^| )(?:" + "|".join(alternatives) + r")(?= |$)")


def _tokens_before(doc: Doc, start: int, size: int) -> list[str]:
    """Return up to ``size`` lowercased non-space tokens just before token ``start``, in text order."""
    tokens: list[str] = []
    i = start - 1
    while i >= 0 and len(tokens) < size:
        tok = doc[i]
        if not tok.is_space:
            tokens.append(tok.lower_)
        i -= 1
    tokens.reverse()
    return tokens


def _tokens_after(doc: Doc, end: int, size: int) -> list[str]:
    """Return up to ``size`` lowercased non-space tokens from token ``end`` on."""
    tokens: list[str] = []
    i, n = end, len(doc)
    while i < n and len(tokens) < size:
        tok = doc[i]
        if not tok.is_space:
            tokens.append(tok.lower_)
        i += 1
    return tokens


def _is_excluded(doc: Doc, start: int, end: int, term: _Term) -> bool:
    """Apply ``term``'s exclusions to the hit at tokens ``start:end``."""
    before = _tokens_before(doc, start, term.n_before) if term.n_before else []
    after = _tokens_after(doc, end, term.n_after) if term.n_after else []
    for ex in term.exclusions:
        w = ex.window
        left = " ".join(before[-w:]) if before else ""
        right = " ".join(after[:w]) if after else ""
        if ex.not_before is not None and ex.not_before.search(left):
            return True
        if ex.not_after is not None and ex.not_after.search(right):
            return True
        if ex.not_near is not None and (ex.not_near.search(left) or ex.not_near.search(right)):
            return True
        if ex.only_near is not None and not (ex.only_near.search(left) or ex.only_near.search(right)):
            return True
    return False


def _collapse_spaces(text: str) -> tuple[str, list[int], list[int]]:
    """Collapse runs of spaces to one, returning a map back to the original offsets.

    Returns:
        The collapsed text, and two parallel lists: positions in the collapsed
        text from which on the original offset is larger by the matching shift.
    """
    pieces: list[str] = []
    starts: list[int] = []
    shifts: list[int] = []
    pos = new_len = removed = 0
    for m in _SPACE_RUN.finditer(text):
        keep_end = m.start() + 1
        pieces.append(text[pos:keep_end])
        new_len += keep_end - pos
        removed += m.end() - keep_end
        starts.append(new_len)
        shifts.append(removed)
        pos = m.end()
    pieces.append(text[pos:])
    return "".join(pieces), starts, shifts


def _longest_first(candidate: tuple[int, int, _Term]) -> tuple[int, int]:
    return (candidate[0] - candidate[1], candidate[0])


class _CompiledLexicon:
    """The spaCy side of one language: tokenizer, phrase matcher and word regex."""

    def __init__(self, data: _LexiconData) -> None:
        import spacy
        from spacy.matcher import PhraseMatcher

        nlp = spacy.blank(data.spacy_lang)
        self.tokenizer = nlp.tokenizer
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.terms_by_key: dict[int, _Term] = {}
        word_terms: list[_Term] = []
        word_pieces: list[str] = []
        make_doc = nlp.make_doc
        for label, spec in data.labels.items():
            compiled_ex = [
                (
                    ex.terms,
                    _Exclusion(
                        window=ex.window,
                        not_before=_context_regex(ex.not_before, make_doc),
                        not_after=_context_regex(ex.not_after, make_doc),
                        not_near=_context_regex(ex.not_near, make_doc),
                        only_near=_context_regex(ex.only_near, make_doc),
                    ),
                )
                for ex in spec.exclusions
            ]

            def exclusions_for(term: str, compiled_ex: list[Any] = compiled_ex) -> tuple[_Exclusion, ...]:
                return tuple(ex for applies, ex in compiled_ex if applies is None or term in applies)

            for canonical, variants in spec.terms:
                key = f"{label}|{canonical}"
                self.matcher.add(key, [make_doc(v) for v in variants])
                self.terms_by_key[nlp.vocab.strings[key]] = _make_term(
                    label, canonical, exclusions_for(canonical)
                )
            for canonical, patterns in spec.word_patterns:
                term = _make_term(label, canonical, exclusions_for(canonical))
                for p in patterns:
                    core = re.escape(p.strip("*"))
                    word_pieces.append(
                        "("
                        + (r"\w*" if p.startswith("*") else "")
                        + core
                        + (r"\w*" if p.endswith("*") else "")
                        + ")"
                    )
                    word_terms.append(term)
        self.word_terms = tuple(word_terms)
        self.word_regex = (
            re.compile(r"(?<!\w)(?:" + "|".join(word_pieces) + r")(?!\w)", re.IGNORECASE)
            if word_pieces
            else None
        )

    def match(self, text: str) -> dict[str, list[RuleHit]]:
        """Match one text; see :meth:`RuleMatcher.match`."""
        norm = _OTHER_SPACE.sub(" ", text)
        starts: list[int] = []
        shifts: list[int] = []
        if "  " in norm:
            norm, starts, shifts = _collapse_spaces(norm)
        doc = self.tokenizer(norm)
        # label -> [(start token, end token, term)], exclusions applied
        found: dict[str, list[tuple[int, int, _Term]]] = {}
        terms_by_key = self.terms_by_key
        for key, s, e in self.matcher(doc):
            term = terms_by_key[key]
            if term.exclusions and _is_excluded(doc, s, e, term):
                continue
            found.setdefault(term.label, []).append((s, e, term))
        if self.word_regex is not None:
            for m in self.word_regex.finditer(norm):
                span = doc.char_span(m.start(), m.end(), alignment_mode="expand")
                if span is None:
                    continue
                term = self.word_terms[(m.lastindex or 1) - 1]
                if term.exclusions and _is_excluded(doc, span.start, span.end, term):
                    continue
                found.setdefault(term.label, []).append((span.start, span.end, term))
        out: dict[str, list[RuleHit]] = {label: [] for label in LABELS}
        for label, candidates in found.items():
            if len(candidates) > 1:
                # Longest match first, then leftmost; drop hits that overlap one
                # already kept, so "citizens' panel" is one hit, not also a
                # "citizens" hit, and distinct-term counts are not inflated.
                candidates.sort(key=_longest_first)
                kept: list[tuple[int, int, _Term]] = []
                for cand in candidates:
                    s, e = cand[0], cand[1]
                    for ks, ke, _ in kept:
                        if s < ke and ks < e:
                            break
                    else:
                        kept.append(cand)
                kept.sort(key=itemgetter(0))  # kept spans never share a start
                candidates = kept
            hits = out[label]
            for s, e, term in candidates:
                last = doc[e - 1]
                start_char, end_char = doc[s].idx, last.idx + len(last)
                if starts:
                    k = bisect_right(starts, start_char)
                    start_char += shifts[k - 1] if k else 0
                    k = bisect_right(starts, end_char - 1)
                    end_char += shifts[k - 1] if k else 0
                hits.append(RuleHit(label, start_char, end_char, text[start_char:end_char], term.term))
        return out


_COMPILED: dict[str, _CompiledLexicon] = {}
_COMPILE_LOCK = threading.Lock()


def _compiled_lexicon(language: str) -> _CompiledLexicon:
    compiled = _COMPILED.get(language)
    if compiled is None:
        with _COMPILE_LOCK:
            compiled = _COMPILED.get(language)
            if compiled is None:
                compiled = _CompiledLexicon(_load_lexicon_data(language))
                _COMPILED[language] = compiled
    return compiled


# -------------------------------------------------------------------------- API


class RuleMatcher:
    """Match the codebook's rule lexicon for one language, keeping evidence spans.

    Creating a matcher is cheap: the lexicon file is parsed once per process
    and the spaCy tokenizer and phrase matcher are built on first use and
    shared by every matcher of the same language. A matcher pickles as its
    language code, so worker processes rebuild (or reuse) their own copy.

    Args:
        language: A lexicon language code such as ``"en"``; region suffixes
            (``"en-GB"``) are ignored.

    Attributes:
        language: The lexicon language code.
        lexicon_version: ``"<language>-<lexicon version>+codebook-<codebook
            version>"``, for run records and exports.
        lexicon_sha256: SHA-256 of the lexicon file, to tell edited lexicons apart.

    Raises:
        ConfigError: if there is no lexicon for ``language`` (see
            :func:`supported_languages`). There is deliberately no fallback to
            English: English terms on French text would report a false zero.

    Example:
        >>> hits = RuleMatcher("en").match("Nurses co-designed the form with patients.")
        >>> sorted(label for label, h in hits.items() if h)
        ['cocreation', 'individual', 'professionals']
    """

    __slots__ = ("language", "lexicon_sha256", "lexicon_version", "_data")

    def __init__(self, language: str = "en") -> None:
        self.language = _normalise_language(language)
        self._data = _load_lexicon_data(self.language)
        self.lexicon_version = f"{self.language}-{self._data.version}+codebook-{load_codebook().version}"
        self.lexicon_sha256 = self._data.sha256

    def __repr__(self) -> str:
        return f"RuleMatcher(language={self.language!r}, lexicon_version={self.lexicon_version!r})"

    def __reduce__(self) -> tuple[type[RuleMatcher], tuple[str]]:
        # Send only the language: spaCy objects are large and the receiving
        # process has its own cache.
        return (RuleMatcher, (self.language,))

    def terms(self, label: str) -> tuple[str, ...]:
        """Return the canonical terms and word patterns of ``label``, in lexicon order.

        Raises:
            ConfigError: if ``label`` is not a codebook label.
        """
        if label not in LABELS:
            raise ConfigError(f"Unknown label {label!r}. Codebook labels: {', '.join(LABELS)}.")
        spec = self._data.labels[label]
        return tuple(t for t, _ in spec.terms) + tuple(p for p, _ in spec.word_patterns)

    def match(self, text: str) -> dict[str, list[RuleHit]]:
        """Find every lexicon term in ``text``.

        Args:
            text: One passage.

        Returns:
            A dict with every codebook label as a key (in codebook order) and
            the list of its hits, ordered by position. Within a label hits do
            not overlap; across labels they may ("user research" is evidence
            for both ``individual`` and ``consultation``).

        Raises:
            TypeError: if ``text`` is not a string.

        Example:
            >>> hits = RuleMatcher().match("Ward nurses and GPs agreed.")["professionals"]
            >>> [(h.text, h.start_char, h.end_char, h.term) for h in hits]
            [('nurses', 5, 11, 'nurse'), ('GPs', 16, 19, 'GP')]
        """
        if not isinstance(text, str):
            raise TypeError(f"RuleMatcher.match expects a str; got {type(text).__name__}.")
        return _compiled_lexicon(self.language).match(text)

    def match_many(self, texts: Iterable[str]) -> Iterator[dict[str, list[RuleHit]]]:
        """Match many passages lazily, in order; the fast path for whole corpora.

        Runs in one process on purpose: spaCy ``n_process`` serialises Docs
        and was 12x slower than one process on this project's machines.

        Yields:
            One :meth:`match` result per text.
        """
        compiled = _compiled_lexicon(self.language)
        match = compiled.match
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"RuleMatcher.match_many expects strs; got {type(text).__name__}.")
            yield match(text)


def _distinct_terms(hits: Sequence[RuleHit]) -> int:
    return len({h.term for h in hits})


def rule_features(hits: Mapping[str, Sequence[RuleHit]]) -> list[float]:
    """Turn one passage's hits into fixed-length numeric features for a classifier.

    Three numbers per label, labels in codebook order (names in
    :data:`RULE_FEATURE_NAMES`): presence (0.0/1.0), ``log1p`` of the number
    of hits, and ``log1p`` of the number of distinct terms. Logs keep a
    passage that repeats a word ten times from dominating a linear model.
    Labels missing from ``hits`` count as having no hits.

    Example:
        >>> feats = rule_features({"individual": [RuleHit("individual", 0, 8, "citizens", "citizen")]})
        >>> len(feats) == len(RULE_FEATURE_NAMES), feats[:3]
        (True, [1.0, 0.6931471805599453, 0.6931471805599453])
    """
    features: list[float] = []
    for label in LABELS:
        label_hits = hits.get(label)
        if label_hits:
            features += (1.0, math.log1p(len(label_hits)), math.log1p(_distinct_terms(label_hits)))
        else:
            features += (0.0, 0.0, 0.0)
    return features


def rule_probabilities(hits: Mapping[str, Sequence[RuleHit]]) -> dict[str, float]:
    """Score each label in [0, 1] from the rule hits alone (rule-only mode).

    The score is 0.0 with no hit and ``1 - 0.4 * 0.6 ** (k - 1)`` for ``k``
    distinct terms, capped at 0.95: one term gives 0.6 (so a default 0.5
    threshold predicts the label), two give 0.76, three 0.86. Repeating the
    same word adds nothing. The numbers are a monotone, hand-set prior, not
    calibrated against annotations: rules never see what a passage *says*
    about a term, which is why the cap stays below 1.

    Example:
        >>> rule_probabilities({})["equity"]
        0.0
    """
    out: dict[str, float] = {}
    for label in LABELS:
        label_hits = hits.get(label)
        out[label] = min(0.95, 1.0 - 0.4 * 0.6 ** (_distinct_terms(label_hits) - 1)) if label_hits else 0.0
    return out
