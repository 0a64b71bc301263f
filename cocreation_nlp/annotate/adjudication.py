"""The reviewer's starting point in adjudication: which labels are preselected.

A strict majority ("more than half of the coders") is the obvious rule and
the wrong one for the common case: most disputed passages have exactly two
coders, and two coders who disagree have no majority, so every disputed
label started switched off and the reviewer's Enter silently meant "no".
The rule used instead counts a tie as a yes: a label is preselected when at
least half of the coders chose it. With two coders that is every label
either of them chose, so each disputed label is on and outlined, and the
reviewer removes the ones the codebook does not support; with three or more
coders it is the ordinary majority (2 of 3, 2 of 4).

The rule decides only what is preselected. The gold label is what the
reviewer saves; nothing is written without the reviewer's action.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence

__all__ = ["PRESELECT_RULE", "preselect"]

PRESELECT_RULE = (
    "every label that at least half of the annotators chose (a tie counts as yes, "
    "so with two annotators who disagree, the labels of both are on)."
)
"""The rule in words, as the adjudication page shows it."""


def preselect(label_sets: Sequence[Collection[str]], labels: Sequence[str]) -> list[str]:
    """The labels preselected for the gold label, in codebook order.

    Args:
        label_sets: each coder's labels on the passage (skips left out).
        labels: the codebook's label names, in order.

    Example:
        >>> names = ["individual", "collective", "equity"]
        >>> preselect([{"individual"}, {"collective"}], names)
        ['individual', 'collective']
        >>> preselect([{"equity"}, set(), set()], names)
        []
        >>> preselect([{"equity"}, {"equity", "individual"}, set()], names)
        ['equity']
    """
    if not label_sets:
        return []
    counts = Counter(label for chosen in label_sets for label in set(chosen))
    return [name for name in labels if 2 * counts[name] >= len(label_sets)]
