"""cocreation_nlp: measure how public-policy documents treat citizen participation.

Stages: :mod:`ingest` -> :mod:`segment` -> :mod:`classify` -> :mod:`score` -> :mod:`export`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
