"""Run settings, validated with pydantic (``extra="forbid"``: a typo is an error, not ignored).

Every setting has a documented default and is written into each run's
``run.json``, so a figure in an export can always be traced to the settings
that produced it.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError
from .limits import ReadLimits


class ScoreConfig(BaseModel):
    """Settings of the document scores (codebook, section "Document scores")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_denominator: float = Field(
        2.0, ge=0, description="A ratio is undefined when its denominator (expected passages) is below this."
    )
    union: Literal["max", "noisy_or"] = Field(
        "max",
        description="How p(l1 or l2) is formed from per-label probabilities: 'max' (the codebook's default "
        "where the model gives no union probability) or 'noisy_or' (1 - prod(1 - p), assumes independence).",
    )
    basis: Literal["probabilities", "decisions", "acc", "pacc", "sld"] = Field(
        "pacc",
        description="How N(l), a document's number of passages with label l (or a union of labels), is estimated. "
        "'probabilities' sums calibrated probabilities (the codebook's literal definition): calibrated to the "
        "training corpus's base rates, it pulls every document toward them. 'decisions' counts the decisions at "
        "the tuned thresholds, carrying the classifier's errors at full weight. The quantification methods correct "
        "the counts with the classifier's grouped out-of-fold error rates (saved with the model): 'acc' adjusted "
        "classify-and-count, 'pacc' its probabilistic form, 'sld' EM re-estimation of the prior "
        "(Saerens-Latinne-Decaestecker). The intervals of 'acc' and 'pacc' carry the rates' spread across "
        "documents as well as the sampling of passages; the others resample passages only. A model without those rates falls back to 'decisions', and the "
        "count_method column says so. The default was chosen on grouped cross-validation against "
        "complete-document gold (`cocreation evaluate --documents`; see the model card).",
    )
    blind_spot_high: float = Field(
        0.67, ge=0, le=1, description="A blind-spot score at or above this counts as high for the risk flags."
    )
    coverage_low: float = Field(
        0.2, ge=0, le=1, description="A coverage score at or below this counts as low for the risk flags."
    )
    top_k: int = Field(3, ge=1, le=50, description="Evidence passages kept per score.")
    n_bootstrap: int = Field(
        500,
        ge=0,
        le=100_000,
        description="Bootstrap draws per interval (passages resampled; with 'acc' or 'pacc', the classifier's "
        "error rates drawn from their spread across documents too); 0 = none.",
    )
    ci: float = Field(0.9, gt=0, lt=1, description="Coverage of the bootstrap intervals.")
    seed: int = Field(0, description="Seed of the bootstrap; with the doc_id it fixes each document's draws.")


class RunConfig(BaseModel):
    """Settings of a ``cocreation score`` run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    score: ScoreConfig = Field(default_factory=ScoreConfig, description="Document score settings.")
    max_words: int = Field(250, ge=20, description="Blocks longer than this are cut at sentence boundaries.")
    max_file_mb: float = Field(200.0, gt=0, description="Files larger than this are refused with a reason.")
    max_member_mb: float = Field(
        100.0, gt=0, description="An archive (DOCX) member that unpacks to more than this many MB is refused."
    )
    max_unpacked_mb: float = Field(
        300.0,
        gt=0,
        description="An archive (DOCX) whose members unpack to more than this many MB is refused.",
    )
    max_compression_ratio: float = Field(
        100.0,
        gt=1,
        description="An archive member over 1 MB that unpacks to more than this many times its packed size "
        "is refused (a decompression bomb).",
    )
    max_passages: int = Field(
        50_000, ge=1, description="A document that yields more passages than this is refused."
    )
    allow_outside_corpus: bool = Field(
        False,
        description="Read manifest rows and links that resolve outside the corpus folder (refused by default).",
    )
    ocr: Literal["auto", "never", "always"] = Field(
        "auto",
        description="Which PDF pages are read by OCR (Tesseract): 'auto' the pages without a usable text layer "
        "(scans), 'always' every page (for a garbled text layer), 'never' none (scanned pages are skipped "
        "with a warning).",
    )

    def read_limits(self) -> ReadLimits:
        """The per-document caps of these settings, for :func:`~cocreation_nlp.ingest.read_one`."""
        return ReadLimits.from_mb(
            max_member_mb=self.max_member_mb,
            max_unpacked_mb=self.max_unpacked_mb,
            max_compression_ratio=self.max_compression_ratio,
            max_passages=self.max_passages,
        )

    def digest(self) -> str:
        """A short hash of the settings, part of every cache key."""
        return hashlib.sha256(json.dumps(self.model_dump(), sort_keys=True).encode()).hexdigest()[:12]


def load_config(path: Path | None = None, **overrides: object) -> RunConfig:
    """Load a TOML config (sections ``[score]`` etc.) and apply keyword overrides.

    Raises:
        ConfigError: naming the file and the offending key.
    """
    data: dict[str, object] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(f"{path}: cannot read config: {err}") from err
    for key, value in overrides.items():
        if value is None:
            continue
        if "." in key:
            section, sub = key.split(".", 1)
            data.setdefault(section, {})[sub] = value  # type: ignore[index]
        else:
            data[key] = value
    try:
        return RunConfig.model_validate(data)
    except ValidationError as err:
        where = f" in {path}" if path else ""
        msgs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise ConfigError(f"invalid settings{where}: {msgs}") from err


def default_config_toml() -> str:
    """The default settings as a commented TOML file (what ``cocreation init-config`` writes)."""
    lines = ["# cocreation_nlp settings. Every key is optional; these are the defaults.", ""]
    for name, field in RunConfig.model_fields.items():
        if name == "score":
            continue
        lines.append(f"# {field.description}")
        lines.append(f"{name} = {_toml_value(field.default)}")
        lines.append("")
    lines.append("[score]")
    for name, field in ScoreConfig.model_fields.items():
        lines.append(f"# {field.description}")
        lines.append(f"{name} = {_toml_value(field.default)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
