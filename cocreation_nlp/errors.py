"""Exception hierarchy. The CLI turns any :class:`CocreationError` into ``Error: ...`` on stderr."""

from __future__ import annotations


class CocreationError(Exception):
    """Base class of every error the toolkit raises on purpose."""


class InputError(CocreationError):
    """An unreadable or unsupported corpus file, or a malformed table."""

    def __init__(self, source: str, cause: str, *, kind: str = "unreadable") -> None:
        self.source = source
        self.cause = cause
        self.kind = kind
        super().__init__(f"{source}: {cause}")


class EmptyDocumentError(InputError):
    """The file was read but holds no text (empty file, or a scanned PDF with no text layer)."""

    def __init__(self, source: str, cause: str) -> None:
        super().__init__(source, cause, kind="empty")


class ConfigError(CocreationError):
    """A bad setting or config file."""


class ModelLoadError(CocreationError):
    """A model folder that cannot be loaded."""


class UntrustedModelError(ModelLoadError):
    """A saved model contains types outside the allow-list."""


class SchemaVersionError(ModelLoadError):
    """A file format version this release cannot read."""


class AnnotationError(CocreationError):
    """Bad annotation records: unknown labels, missing passages, malformed rows."""


class OutputError(CocreationError):
    """An output path that cannot be written (a folder where a file goes, a file where a folder goes)."""


class CacheEntryError(CocreationError):
    """A cached result that cannot be read (truncated or damaged); a run treats it as a cache miss."""
