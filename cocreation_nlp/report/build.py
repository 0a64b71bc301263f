"""``cocreation report``: one self-contained HTML file an analyst can send to a colleague.

Charts are matplotlib PNGs embedded as data URIs, so the file opens anywhere
without a server or network. All document text goes through Jinja2's
autoescaping: a passage containing HTML shows as text.
"""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from ..atomic import write_text_atomic
from ..errors import InputError
from ..score import SCORES
from ..tables import restore_frame

BLIND_SPOTS = ("professional_blind_spot", "collective_blind_spot")


def _fmt(v: object, digits: int = 2) -> str:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if f != f:  # NaN
        return ""
    return f"{f:.{digits}f}"


def _png(fig) -> str:  # noqa: ANN001 - matplotlib Figure
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _distribution_chart(docs) -> str:  # noqa: ANN001 - DataFrame
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(11, 5.5))
    for ax, name in zip(axes.flat, SCORES, strict=True):
        vals = docs[name].dropna()
        ax.hist(
            vals,
            bins=[i / 10 for i in range(11)] if name != "participation" else 10,
            color="#1f3a5f",
            edgecolor="white",
        )
        ax.set_title(f"{name}\n({len(vals)} defined, {docs[name].isna().sum()} undefined)", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylabel("documents", fontsize=8)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    return _png(fig)


def _ranking_chart(rows, name: str) -> str:  # noqa: ANN001 - DataFrame
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(rows)
    fig, ax = plt.subplots(figsize=(9, max(1.8, 0.28 * n + 0.8)))
    y = list(range(n))[::-1]
    vals = rows[name].astype(float).tolist()
    lo = rows[f"{name}_low"].astype(float).fillna(rows[name]).tolist()
    hi = rows[f"{name}_high"].astype(float).fillna(rows[name]).tolist()
    ax.errorbar(
        vals,
        y,
        xerr=[[v - a for v, a in zip(vals, lo, strict=True)], [b - v for v, b in zip(vals, hi, strict=True)]],
        fmt="o",
        color="#1f3a5f",
        ecolor="#8aa2c0",
        capsize=3,
    )
    ax.set_yticks(y)
    ax.set_yticklabels([t[:60] for t in rows["label"].tolist()], fontsize=8)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel(name)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def _validity(run: dict, docs) -> dict:  # noqa: ANN001 - DataFrame
    """The short "how far to trust each score" section, from the model's latest document-level evaluation."""
    method = run.get("count_method") or run.get("settings", {}).get("score", {}).get("basis", "probabilities")
    used = sorted(set(docs["count_method"].dropna().astype(str))) if "count_method" in docs else [method]
    v = run.get("document_validity")
    out: dict = {"method": method, "used": ", ".join(used), "available": False}
    if not v or method not in v.get("summary", {}):
        return out
    rows = []
    for name in ("overall", *SCORES):
        r = v["summary"][method][name]
        rows.append(
            {
                "score": "all scores" if name == "overall" else name,
                "mae": _fmt(r.get("mae")),
                "within": _pct(r.get("within_0.10")),
                "coverage": _pct(r.get("coverage")),
                "undefined": _pct(r.get("undefined_agreement")),
            }
        )
    out.update(
        available=True,
        rows=rows,
        n_documents=v.get("n_documents"),
        n_passages=v.get("n_passages"),
        evaluated=str(v.get("evaluated_at", ""))[:10],
        scheme=v.get("scheme", ""),
        chosen=v.get("chosen", ""),
    )
    return out


def _pct(v: object) -> str:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if f != f else f"{100 * f:.0f}%"


def build_report(run_dir: Path) -> str:
    """Render the HTML report of a score run folder.

    Raises:
        InputError: when ``run_dir`` is not a finished score run.
    """
    import jinja2
    import pandas as pd

    docs_path = run_dir / "documents.csv"
    if not docs_path.exists() or not (run_dir / "run.json").exists():
        raise InputError(
            str(run_dir),
            "not a finished score run (documents.csv and run.json expected): run `cocreation score` first",
            kind="missing",
        )
    # The CSVs mark text a spreadsheet would run as a formula; the report shows the text itself.
    docs = restore_frame(
        pd.read_csv(
            docs_path,
            dtype={"doc_id": "string", "year": "string", "title": "string", "publisher": "string"},
            keep_default_na=True,
        )
    )
    evidence = restore_frame(
        pd.read_csv(
            run_dir / "evidence.csv",
            dtype={"doc_id": "string", "text": "string", "heading": "string"},
            keep_default_na=False,
        )
    )
    errors = (
        restore_frame(pd.read_csv(run_dir / "errors.csv", dtype="string", keep_default_na=False))
        if (run_dir / "errors.csv").exists()
        else pd.DataFrame()
    )
    # errors.csv holds failed documents and (severity "warning") page problems of kept documents.
    is_warning = (
        errors["severity"] == "warning" if "severity" in errors else pd.Series(False, index=errors.index)
    )
    warnings, errors = errors[is_warning], errors[~is_warning]
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    docs["label"] = docs["title"].fillna(docs["doc_id"]).where(docs["title"].fillna("") != "", docs["doc_id"])
    docs["anchor"] = [re.sub(r"[^A-Za-z0-9_-]", "-", str(d)) for d in docs["doc_id"]]

    score_stats = []
    for name in SCORES:
        v = docs[name].dropna()
        score_stats.append(
            {
                "score": name,
                "n_defined": len(v),
                "n_undefined": int(docs[name].isna().sum()),
                "mean": _fmt(v.mean()),
                "median": _fmt(v.median()),
                "min": _fmt(v.min()),
                "max": _fmt(v.max()),
            }
        )

    rankings = []
    for name in BLIND_SPOTS:
        defined = docs[docs[name].notna()].sort_values([name, "doc_id"], ascending=[False, True])
        rows = []
        for _, d in defined.iterrows():
            flags = [
                f
                for f in ("inequality_risk", "sustainability_risk")
                if str(d.get(f, "")) in ("1", "1.0", "True")
            ]
            rows.append(
                {
                    "title": d["label"],
                    "anchor": d["anchor"],
                    "publisher": d.get("publisher", "") if pd.notna(d.get("publisher", "")) else "",
                    "year": d.get("year", "") if pd.notna(d.get("year", "")) else "",
                    "value": _fmt(d[name]),
                    "interval": f"{_fmt(d[name + '_low'])} to {_fmt(d[name + '_high'])}"
                    if pd.notna(d[name + "_low"])
                    else "",
                    "flags": [f.replace("_", " ") for f in flags],
                }
            )
        undefined = ", ".join(docs[docs[name].isna()]["label"].astype(str).tolist())
        rankings.append(
            {
                "score": name,
                "rows": rows,
                "undefined": undefined,
                "png": _ranking_chart(defined, name) if len(defined) else "",
            }
        )

    documents = []
    for _, d in docs.sort_values("doc_id").iterrows():
        scores = []
        for name in SCORES:
            scores.append(
                {
                    "name": name,
                    "value": _fmt(d[name]),
                    "interval": f"{_fmt(d[name + '_low'])} to {_fmt(d[name + '_high'])}"
                    if pd.notna(d[name + "_low"])
                    else "",
                    "reason": d[name + "_reason"] if pd.notna(d[name + "_reason"]) else "",
                }
            )
        ev = evidence[evidence["doc_id"] == d["doc_id"]]
        groups = []
        for (score, role), g in ev.groupby(["score", "role"], sort=False):
            if score not in (*BLIND_SPOTS, "participation"):
                continue
            groups.append(
                {
                    "score": score,
                    "role": role,
                    "passages": [
                        {
                            "text": r["text"],
                            "page": r["page"] or "n/a",
                            "heading": r["heading"] or "(no heading)",
                            "probability": _fmt(r["probability"]),
                        }
                        for _, r in g.iterrows()
                    ],
                }
            )
        documents.append(
            {
                "doc_id": d["doc_id"],
                "anchor": d["anchor"],
                "title": d["label"],
                "language": d["language"],
                "covered": str(d["model_covers_language"]) in ("True", "1", "true"),
                "scores": scores,
                "evidence": groups,
            }
        )

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(resources.files(__package__).joinpath("template.html").read_text("utf-8"))
    settings = {
        k: run.get(k)
        for k in (
            "model",
            "model_id",
            "codebook_version",
            "settings",
            "union_probability",
            "count_method",
            "execution",
            "counts",
            "versions",
        )
    }
    return template.render(
        title="Co-creation blind spots: corpus report",
        n_docs=len(docs),
        n_failed=len(errors),
        model_id=run.get("model_id", ""),
        codebook_version=run.get("codebook_version", ""),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        ci_pct=int(round(100 * run.get("settings", {}).get("score", {}).get("ci", 0.9))),
        dist_png=_distribution_chart(docs),
        validity=_validity(run, docs),
        score_stats=score_stats,
        rankings=rankings,
        documents=documents,
        settings=json.dumps(settings, indent=2),
        errors=errors.to_dict("records") if len(errors) else [],
        warnings=warnings.to_dict("records") if len(warnings) else [],
    )


def write_report(run_dir: Path, output: Path) -> None:
    """Write the report atomically."""
    write_text_atomic(output, build_report(run_dir))
