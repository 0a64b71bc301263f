"""Project settings: each declared once, with its default, help text and validation.

:data:`SETTINGS` is the only place a setting exists. The store validates and
keeps values (:class:`SettingsMixin`); the web app's settings endpoint and
page, and ``cocreation annotate serve``'s options, take names, defaults and
help from here (datasette-style ``(name, default, help)``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import AnnotationError
from . import sampling
from .provenance import normalize_annotator
from .units import DEFAULT_MIN_WORDS


def _strategy(value: Any) -> str:
    if value not in sampling.STRATEGIES:
        raise AnnotationError(f"Unknown strategy {value!r}. Available: {', '.join(sampling.STRATEGIES)}.")
    return str(value)


def _share(value: Any) -> float:
    try:
        share = float(value)
    except (TypeError, ValueError):
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise AnnotationError(
            f"The 'overlap' setting must be a share between 0 and 1. Got {value!r} instead."
        )
    return share


def _integer(name: str, low: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise AnnotationError(
                f"The {name!r} setting must be an integer. Got {value!r} instead."
            ) from None
        if number < low:
            raise AnnotationError(f"The {name!r} setting must be >= {low}. Got {number} instead.")
        return number

    return check


def _flag(name: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if isinstance(value, str) and value.strip().lower() in {
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
            "",
        }:
            return value.strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(value, bool | int) and value in (0, 1):
            return bool(value)
        raise AnnotationError(f"The {name!r} setting must be true or false. Got {value!r} instead.")

    return check


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list):
        raise AnnotationError(f"The 'reviewers' setting must be a list of names. Got {value!r} instead.")
    return sorted({normalize_annotator(str(v)) for v in value})


@dataclass(frozen=True, slots=True)
class Setting:
    """A project setting: its name, default, the help text shown in the app and CLI, and its validator.

    ``validate`` returns the clean value (it accepts the strings a web form
    sends) or raises :class:`~cocreation_nlp.errors.AnnotationError`;
    ``choices`` lists the allowed values where there is a fixed set (the app
    shows a menu).
    """

    name: str
    default: Any
    help: str
    validate: Callable[[Any], Any]
    choices: tuple[str, ...] = ()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "strategy",
        "random",
        "Queue strategy: random, coverage, uncertainty or rare_label.",
        _strategy,
        tuple(sampling.STRATEGIES),
    ),
    Setting(
        "overlap", 0.2, "Share of passages (0-1) that a second annotator also labels, for agreement.", _share
    ),
    Setting(
        "overlap_coders",
        2,
        "How many annotators label each passage in the overlap share.",
        _integer("overlap_coders", 2),
    ),
    Setting("seed", 0, "Seed of the stable random order, so a queue can be reproduced.", _integer("seed", 0)),
    Setting(
        "lease_minutes",
        30,
        "How long a handed-out passage is held for its annotator before others may get it.",
        _integer("lease_minutes", 1),
    ),
    Setting(
        "reviewers",
        [],
        "Names allowed to adjudicate. 'annotate serve' makes the person who starts it the only reviewer "
        "when none is set; empty means every signed-in annotator may.",
        _names,
    ),
    Setting(
        "min_words",
        DEFAULT_MIN_WORDS,
        "Passages with fewer words are not served (the codebook's minimum for a labelling unit); 0 serves all.",
        _integer("min_words", 0),
    ),
    Setting(
        "include_headings_tables",
        False,
        "Also serve headings and tables, which the codebook gives no label (they are kept for context).",
        _flag("include_headings_tables"),
        ("false", "true"),
    ),
)
"""The declared project settings."""

SETTING_BY_NAME: Mapping[str, Setting] = {s.name: s for s in SETTINGS}


def setting(name: str) -> Setting:
    """The declared setting called ``name``.

    Raises:
        AnnotationError: for an unknown name, listing the known ones.

    Example:
        >>> setting("overlap").default
        0.2
    """
    try:
        return SETTING_BY_NAME[name]
    except KeyError:
        raise AnnotationError(f"Unknown setting {name!r}. Available: {', '.join(SETTING_BY_NAME)}.") from None


def validate_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """Clean values for the settings named in ``values``.

    Raises:
        AnnotationError: for an unknown name or a value out of range.

    Example:
        >>> validate_settings({"overlap": "0.25", "reviewers": "ada, bo"})
        {'overlap': 0.25, 'reviewers': ['ada', 'bo']}
    """
    return {name: setting(name).validate(value) for name, value in values.items()}


def stored_seed(conn: sqlite3.Connection) -> int:
    """The ``seed`` setting as stored (its default when unset), read inside a transaction."""
    row = conn.execute("SELECT value FROM settings WHERE key = 'seed'").fetchone()
    return int(json.loads(row[0])) if row else int(SETTING_BY_NAME["seed"].default)


class SettingsMixin:
    """Reading and changing a project's settings (part of :class:`~.store.AnnotationStore`)."""

    def get_settings(self) -> dict[str, Any]:
        """All settings, defaults filled in."""
        with self.read() as conn:  # type: ignore[attr-defined]
            stored = {
                r["key"]: json.loads(r["value"]) for r in conn.execute("SELECT key, value FROM settings")
            }
        return {s.name: stored.get(s.name, s.default) for s in SETTINGS}

    def get_setting(self, name: str) -> Any:
        """One setting's value."""
        return self.get_settings()[setting(name).name]

    def set_settings(self, **values: Any) -> dict[str, Any]:
        """Validate and store settings; return all settings.

        Raises:
            AnnotationError: for an unknown name or a value out of range.
        """
        clean = validate_settings(values)
        with self.write() as conn:  # type: ignore[attr-defined]
            if "seed" in clean and clean["seed"] != stored_seed(conn):
                # The stable random order depends on the seed: re-key every passage.
                ids = [r[0] for r in conn.execute("SELECT passage_id FROM passages")]
                conn.executemany(
                    "UPDATE passages SET rand_key = ? WHERE passage_id = ?",
                    [(sampling.stable_unit(clean["seed"], pid), pid) for pid in ids],
                )
            for name, value in clean.items():
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (name, json.dumps(value)),
                )
        return self.get_settings()

    def claim_review(self, name: str) -> tuple[list[str], bool]:
        """Make ``name`` the only reviewer when the project has none; return the reviewers and whether it did.

        ``annotate serve`` calls this with the name of the person who starts
        the server, so that a project is never open to adjudication by
        everyone who can sign in unless its owner chose so.
        """
        clean = normalize_annotator(name)
        with self.write() as conn:  # type: ignore[attr-defined]
            row = conn.execute("SELECT value FROM settings WHERE key = 'reviewers'").fetchone()
            current = json.loads(row[0]) if row else []
            if current:
                return list(current), False
            conn.execute(
                "INSERT INTO settings (key, value) VALUES ('reviewers', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (json.dumps([clean]),),
            )
        return [clean], True

    def is_reviewer(self, name: str) -> bool:
        """Whether ``name`` may adjudicate (everyone, when no reviewers are set)."""
        reviewers = self.get_setting("reviewers")
        return not reviewers or name in reviewers
