"""A small synthetic labelled set with a clear signal, for training tests (static embedder: fast, offline)."""

from __future__ import annotations

import random

import numpy as np

from cocreation_nlp.annotations import LabelledSet
from cocreation_nlp.codebook import LABELS

TEMPLATES = {
    "individual": [
        "Residents told us in interviews that the {x} form was confusing.",
        "Patients shared their experiences of the {x} service in a survey.",
    ],
    "collective": [
        "The tenants' association and local charities will help run the {x} programme.",
        "Voluntary sector organisations sit on the {x} board.",
    ],
    "professionals": [
        "Nurses and social workers will be trained to work with families on {x}.",
        "Teachers get protected time to plan {x} with parents.",
    ],
    "equity": [
        "Interpreters and childcare make the {x} sessions accessible to disadvantaged groups.",
        "Older people with low digital skills get support with {x}.",
    ],
}
NEUTRAL = [
    "The {x} platform will migrate to a new hosting provider by March.",
    "Table 3 lists the {x} budget lines for the next year.",
]
TOPICS = ["housing", "library", "parking", "waste", "school", "transport", "health", "benefits"]


def dataset(n_docs: int = 10, per_doc: int = 24, seed: int = 0) -> LabelledSet:
    rng = random.Random(seed)
    pids, docs, texts, langs, rows = [], [], [], [], []
    for d in range(n_docs):
        for i in range(per_doc):
            label = rng.choice([*TEMPLATES, None, None])
            tpl = rng.choice(TEMPLATES[label] if label else NEUTRAL)
            text = tpl.format(x=rng.choice(TOPICS)) + f" Item {d}-{i}."
            pids.append(f"doc{d}:{i}")
            docs.append(f"doc{d}")
            texts.append(text)
            langs.append("en")
            rows.append([int(lab == label) for lab in LABELS])
    return LabelledSet(pids, docs, texts, langs, np.asarray(rows))


def assert_same_rates(a: object, b: object, path: str = "", rel: float = 1e-5) -> None:
    """Two quantification parameter dicts hold the same values (out-of-fold arrays are stored as float32)."""
    import pytest

    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for k in a:
            assert_same_rates(a[k], b[k], f"{path}.{k}", rel)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_rates(x, y, f"{path}[{i}]", rel)
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=rel, abs=1e-9), path
    else:
        assert a == b, path
