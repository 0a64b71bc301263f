"""Who decided and when: annotator names and timestamps, in one canonical form each.

Every record, history entry and database row names its annotator through
:func:`clean_name` and stamps its time through :func:`format_time`, so that
the same person and the same moment compare equal after any round trip.
This module needs nothing heavier than the standard library, so the CLI can
import it (for setting validation) without paying for pydantic.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from ..errors import AnnotationError


def utc_now() -> str:
    """Return the current time as the ISO 8601 UTC string every record uses.

    Example:
        >>> utc_now().endswith("Z")
        True
    """
    return format_time(datetime.now(UTC))


def format_time(moment: datetime) -> str:
    """Format a datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC.

    One fixed format (microseconds, ``Z``) makes the strings sort in time
    order and compare equal after a round trip.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_time(value: str) -> str:
    """Parse an ISO 8601 timestamp and return it in the canonical UTC form.

    A timestamp without a zone is taken as UTC (Label Studio writes them that
    way).

    Raises:
        ValueError: when the string is not ISO 8601.

    Example:
        >>> normalize_time("2024-05-01T12:00:00+02:00")
        '2024-05-01T10:00:00.000000Z'
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise ValueError(
            f"created_at must be an ISO 8601 timestamp, e.g. 2024-05-01T10:00:00Z. Got {value!r}."
        ) from err
    return format_time(moment)


def clean_name(name: str) -> str:
    """Normalise an annotator or reviewer name: Unicode NFC, surrounding spaces removed.

    A name ties decisions to a person in every export and in agreement
    figures, so "Zoë" typed with a combining accent must be the same person
    as "Zoë" typed with a precomposed letter.

    Raises:
        ValueError: for an empty name, one over 64 characters, or one with control characters.

    Example:
        >>> clean_name("  Zoe\u0308 ") == "Zo\u00eb"
        True
    """
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean or len(clean) > 64 or any(unicodedata.category(ch).startswith("C") for ch in clean):
        raise ValueError(
            f"name {name!r} is not allowed: use 1-64 visible characters, e.g. a first name or initials"
        )
    return clean


def normalize_annotator(name: str) -> str:
    """Return a clean annotator name (see :func:`clean_name`), or raise :class:`AnnotationError`.

    Example:
        >>> normalize_annotator("  Ada ")
        'Ada'
    """
    try:
        return clean_name(name)
    except ValueError as err:
        raise AnnotationError(f"Annotator {err}.") from None
