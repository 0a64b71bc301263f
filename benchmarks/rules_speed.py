"""Throughput of rule-only scoring against spaCy's bare tokenizer.

The performance target is that rule-only scoring runs at >= 0.3x the speed
of ``spacy.blank("en").tokenizer`` on the same texts. Absolute speeds vary
10-20% between runs and machines, so the figure to read is the ratio, which
is measured in one process with the two timings interleaved.

Input: the Markdown documents of the open-policy corpus, read at run time
and split into passages on blank lines (roughly what the segmenter makes).
Nothing from the corpus is stored in the repository.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/rules_speed.py [--docs GLOB] [--repeat 7]

Prints ``key=value`` lines, ending with ``rules_vs_tokenizer=<ratio>``.
"""

from __future__ import annotations

import argparse
import glob
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

DEFAULT_DOCS = str(Path(__file__).resolve().parents[1] / "corpora" / "open-policy" / "docs" / "*.md")


def read_passages(pattern: str) -> list[str]:
    passages: list[str] = []
    for path in sorted(glob.glob(pattern)):
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        passages.extend(p.strip() for p in text.split("\n\n") if p.strip())
    return passages


def time_once(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", default=DEFAULT_DOCS, help="glob of input documents (default: %(default)s)")
    parser.add_argument(
        "--repeat", type=int, default=7, help="timed rounds per contender (default: %(default)s)"
    )
    parser.add_argument("--language", default="en", help="lexicon language (default: %(default)s)")
    args = parser.parse_args(argv)

    passages = read_passages(args.docs)
    if not passages:
        print(f"error: no documents match {args.docs!r}", file=sys.stderr)
        return 2
    n_words = sum(len(p.split()) for p in passages)

    import spacy

    from cocreation_nlp.rules import RuleMatcher, rule_probabilities

    tokenizer = spacy.blank("en").tokenizer
    matcher = RuleMatcher(args.language)

    def run_tokenizer() -> None:
        for p in passages:
            tokenizer(p)

    def run_match() -> None:
        for _ in matcher.match_many(passages):
            pass

    def run_scoring() -> None:
        # Rule-only scoring: matching plus the per-label scores.
        for hits in matcher.match_many(passages):
            rule_probabilities(hits)

    contenders = {"tokenizer": run_tokenizer, "rules_match": run_match, "rules_scoring": run_scoring}
    # Warm-up: builds the phrase matcher and fills both tokenizers' caches.
    for fn in contenders.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.repeat):
        for name, fn in contenders.items():  # interleaved, so drift hits all alike
            times[name].append(time_once(fn))

    speed = {name: n_words / statistics.median(ts) for name, ts in times.items()}
    n_hits = sum(len(h) for hits in matcher.match_many(passages) for h in hits.values())
    print(f"passages={len(passages)}")
    print(f"words={n_words}")
    print(f"hits={n_hits}")
    print(f"lexicon_version={matcher.lexicon_version}")
    for name, value in speed.items():
        print(f"{name}_words_per_s={value:,.0f}")
    print(f"rules_match_vs_tokenizer={speed['rules_match'] / speed['tokenizer']:.3f}")
    print(f"rules_vs_tokenizer={speed['rules_scoring'] / speed['tokenizer']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
