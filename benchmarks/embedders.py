"""Speed, start-up, memory and agreement of the three built-in embedders, measured in one run.

For each of ``minilm`` (torch), ``minilm-onnx-int8`` and ``static`` a fresh subprocess (so that
peak RSS and import time are its own) pinned to ``--cores`` cores:

- imports ``cocreation_nlp.embed`` and loads the embedder (``import_load_s``; interpreter start-up
  excluded), then embeds one passage (``first_encode_s``);
- embeds the same passages ``--repeat`` times and reports the best round as passages per second,
  and the CPU seconds per 1,000 passages (less sensitive than wall time to other load on the
  machine);
- records resident memory after loading and the peak over the whole run.

The parent then compares the vectors: mean cosine of int8 ONNX to torch MiniLM, and the Spearman
correlation between the pairwise cosine similarities of the static model and of torch MiniLM on a
sample of passages.

Input: passages of the open-policy corpus, parsed and segmented at run time with
``cocreation_nlp.ingest`` and ``cocreation_nlp.segment``; distinct passages, shuffled with a fixed
seed. Nothing from the corpus is stored in the repository.

Usage::

    .venv/bin/python benchmarks/embedders.py [--n 1200] [--cores 2] [--repeat 2] [--sample 500]

Prints progress to stderr and ``name=value`` lines at the end on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "open-policy"
NAMES = ("minilm", "minilm-onnx-int8", "static")


def load_passages(corpus: Path, n: int, *, seed: int = 0) -> list[str]:
    from cocreation_nlp.ingest import read_documents
    from cocreation_nlp.segment import segment_document
    from cocreation_nlp.types import Document

    seen: dict[str, None] = {}
    for doc in read_documents([corpus]):
        if isinstance(doc, Document):
            for passage in segment_document(doc):
                seen.setdefault(passage.text, None)
    texts = sorted(seen)
    random.Random(seed).shuffle(texts)
    return texts[:n]


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc), 0 where unavailable."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        return 0.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB.

    Read from VmHWM, not ``getrusage``: Linux carries ``ru_maxrss`` across ``exec``, so a worker
    would report at least its parent's size at fork time.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1e3  # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def worker(name: str, passages_file: Path, out_file: Path, cores: int, repeat: int) -> None:
    """Run in a subprocess: load one embedder, time it, save its vectors, print a JSON line."""
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if available and cores < len(available):
        os.sched_setaffinity(0, available[:cores])  # before any import, so thread pools see it
    start = time.perf_counter()
    from cocreation_nlp.embed import get_embedder

    embedder = get_embedder(name)
    load_s = time.perf_counter() - start
    rss_loaded = rss_mb()
    import numpy as np

    texts = json.loads(passages_file.read_text(encoding="utf-8"))
    start = time.perf_counter()
    embedder.encode(texts[:1])
    first_s = time.perf_counter() - start
    embedder.encode(texts[1:33])  # warm-up: lazy kernels, allocator
    rounds: list[tuple[float, float]] = []
    for _ in range(repeat):
        cpu0, wall0 = os.times(), time.perf_counter()
        vectors = embedder.encode(texts)
        cpu1, wall1 = os.times(), time.perf_counter()
        rounds.append((wall1 - wall0, (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)))
    np.save(out_file, vectors)
    wall, cpu = min(rounds)
    result = {
        "name": name,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "dim": embedder.dim,
        "import_load_s": round(load_s, 2),
        "first_encode_s": round(first_s, 3),
        "passages_per_s": round(len(texts) / wall, 1),
        "passages_per_s_rounds": [round(len(texts) / w, 1) for w, _ in rounds],
        "cpu_s_per_1000": round(cpu / len(texts) * 1000, 2),
        "rss_after_load_mb": round(rss_loaded),
        "peak_rss_mb": round(peak_rss_mb()),
    }
    print(json.dumps(result))


def run_worker(name: str, passages_file: Path, out_file: Path, cores: int, repeat: int) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TQDM_DISABLE": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        name,
        "--passages",
        str(passages_file),
        "--out",
        str(out_file),
    ]
    cmd += ["--cores", str(cores), "--repeat", str(repeat)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder (default: %(default)s)"
    )
    parser.add_argument("--n", type=int, default=1200, help="passages to embed (default: %(default)s)")
    parser.add_argument(
        "--cores", type=int, default=2, help="cores each embedder may use (default: %(default)s)"
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="timed rounds per embedder (default: %(default)s)"
    )
    parser.add_argument(
        "--sample", type=int, default=500, help="passages for the pairwise Spearman (default: %(default)s)"
    )
    parser.add_argument("--embedders", nargs="+", default=list(NAMES), choices=NAMES, help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--passages", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.passages, args.out, args.cores, args.repeat)
        return 0

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    texts = load_passages(args.corpus, args.n)
    if not texts:
        print(f"error: no passages in {args.corpus}", file=sys.stderr)
        return 2
    n_words = sum(len(t.split()) for t in texts)
    print(
        f"{len(texts)} passages ({n_words} words) parsed in {time.perf_counter() - t0:.1f} s", file=sys.stderr
    )

    import numpy as np

    results: dict[str, dict] = {}
    vectors: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        passages_file = Path(tmp) / "passages.json"
        passages_file.write_text(json.dumps(texts), encoding="utf-8")
        for name in args.embedders:
            out = Path(tmp) / f"{name}.npy"
            results[name] = run_worker(name, passages_file, out, args.cores, args.repeat)
            vectors[name] = np.load(out)
            print(json.dumps(results[name]), file=sys.stderr)

    lines = [("passages", len(texts)), ("words", n_words), ("cores", args.cores), ("repeat", args.repeat)]
    for name, r in results.items():
        for key in (
            "passages_per_s",
            "cpu_s_per_1000",
            "import_load_s",
            "first_encode_s",
            "rss_after_load_mb",
            "peak_rss_mb",
        ):
            lines.append((f"{name}.{key}", r[key]))
    if "minilm" in vectors and "minilm-onnx-int8" in vectors:
        cos = (vectors["minilm"] * vectors["minilm-onnx-int8"]).sum(axis=1)
        lines += [
            ("int8_vs_torch.mean_cosine", round(float(cos.mean()), 4)),
            ("int8_vs_torch.p01_cosine", round(float(np.quantile(cos, 0.01)), 4)),
            ("int8_vs_torch.min_cosine", round(float(cos.min()), 4)),
        ]
    if "minilm" in vectors and "static" in vectors:
        from scipy.stats import spearmanr

        k = min(args.sample, len(texts))
        iu = np.triu_indices(k, k=1)
        ref, stat = vectors["minilm"][:k], vectors["static"][:k]
        rho = spearmanr((ref @ ref.T)[iu], (stat @ stat.T)[iu]).statistic
        lines += [
            ("static_vs_torch.pairs", len(iu[0])),
            ("static_vs_torch.spearman_pairwise_cosine", round(float(rho), 4)),
        ]
    for name in ("minilm-onnx-int8", "static"):
        if "minilm" in results and name in results:
            ratio = results[name]["passages_per_s"] / results["minilm"]["passages_per_s"]
            lines.append((f"{name}.speedup_vs_torch", round(ratio, 1)))
    for key, value in lines:
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
