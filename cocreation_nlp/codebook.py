"""The codebook in code: labels, definitions and version, read from ``codebook.toml``.

One file feeds the rules, the classifiers, the annotation app and the exports,
so that a change of meaning (and its version bump) reaches all of them at once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .errors import AnnotationError


@dataclass(frozen=True, slots=True)
class Label:
    """One codebook label with the text an annotator needs to apply it."""

    name: str
    key: str
    title: str
    definition: str
    exclude: str
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HardCase:
    """A decision on a case the definitions leave open."""

    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Codebook:
    """The versioned coding scheme."""

    version: str
    title: str
    source: str
    unit: str
    labels: tuple[Label, ...]
    hard_cases: tuple[HardCase, ...]

    @property
    def label_names(self) -> tuple[str, ...]:
        """Label names in codebook order (the column order of every export)."""
        return tuple(label.name for label in self.labels)

    def label(self, name: str) -> Label:
        """Return the label called ``name``.

        Raises:
            AnnotationError: if the codebook has no such label.
        """
        for label in self.labels:
            if label.name == name:
                return label
        raise AnnotationError(
            f"Unknown label {name!r}. Codebook {self.version} labels: {', '.join(self.label_names)}."
        )

    def validate_labels(
        self, names: list[str] | tuple[str, ...] | set[str], *, source: str = ""
    ) -> tuple[str, ...]:
        """Check that every name is a codebook label; return them in codebook order.

        Raises:
            AnnotationError: naming the unknown labels and ``source``.
        """
        unknown = sorted(set(names) - set(self.label_names))
        if unknown:
            where = f"{source}: " if source else ""
            raise AnnotationError(
                f"{where}unknown label(s) {', '.join(map(repr, unknown))}. "
                f"Codebook {self.version} labels: {', '.join(self.label_names)}."
            )
        return tuple(n for n in self.label_names if n in set(names))


@lru_cache(maxsize=1)
def load_codebook() -> Codebook:
    """Load the codebook shipped with the package.

    Example:
        >>> load_codebook().label_names[:2]
        ('individual', 'collective')
    """
    raw = tomllib.loads(resources.files(__package__).joinpath("codebook.toml").read_text("utf-8"))
    labels = tuple(
        Label(
            name=item["name"],
            key=item["key"],
            title=item["title"],
            definition=item["definition"],
            exclude=item.get("exclude", ""),
            examples=tuple(item.get("examples", ())),
        )
        for item in raw["labels"]
    )
    hard = tuple(HardCase(title=h["title"], text=h["text"]) for h in raw.get("hard_cases", ()))
    return Codebook(
        version=raw["version"],
        title=raw["title"],
        source=raw["source"],
        unit=raw["unit"],
        labels=labels,
        hard_cases=hard,
    )


LABELS: tuple[str, ...] = (
    "individual",
    "collective",
    "professionals",
    "cocreation",
    "consultation",
    "equity",
    "systemic",
)
"""The label names, in codebook order. A test keeps this equal to ``load_codebook().label_names``."""
