"""The evaluation report: one JSON-able dict, a small text table, a PNG chart.

The chart is drawn with Pillow (already a dependency for image data) rather
than matplotlib: three bar panels need rectangles, lines and text, nothing
more, and matplotlib would add ~40 MB and a slow import to the CLI.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

from PIL import Image, ImageDraw, ImageFont

from dirvae.io.atomic import atomic_write
from dirvae.evaluation.latents import ACTIVE_THRESHOLD

ACTIVE_COLOUR = (46, 110, 180)
INACTIVE_COLOUR = (175, 175, 175)
THRESHOLD_COLOUR = (200, 40, 40)


# ---------------------------------------------------------------------- text
def _number(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:,.{digits}f}" if isinstance(value, float) else str(value)


def format_table(report: dict[str, Any]) -> str:
    """A small human-readable table of a report made by :func:`dirvae.evaluation.evaluate_model`."""
    kl_names = {"gamma": "multi-Gamma KL (training)", "dirichlet": "exact Dirichlet KL (training)"}
    latent = report["latent"]
    training_kl = "Gaussian KL" if latent == "gaussian" else kl_names.get(report.get("kl_kind", ""), "model KL")
    likelihood = report["likelihood"]
    rows: list[tuple[str, str]] = []
    nll_label = f"NLL, importance sampled ({report['nll_samples']} draws)"
    nll_value = f"{_number(report['nll'])} ± {_number(report['nll_sem'])} nats"
    if not likelihood["normalised"]:
        nll_value += "  (a score, not a density)"
    rows.append((nll_label, nll_value))
    rows.append(
        (
            f"-ELBO with {training_kl}",
            f"{_number(-report['elbo'])} = {_number(report['reconstruction'])} reconstruction + {_number(report['kl'])} KL",
        )
    )
    if latent == "dirichlet":
        rows.append(
            (
                "-ELBO with exact Dirichlet KL",
                f"{_number(-report['elbo_exact_kl'])} = {_number(report['reconstruction'])} + {_number(report['kl_exact'])} KL",
            )
        )
    if report.get("reconstruction_model_sampler") is not None:
        rows.append((f"reconstruction with the {report['sampler']} sampler", _number(report["reconstruction_model_sampler"])))
    knn = report["knn"]
    rows.append((f"kNN-{knn['k']} accuracy", _number(knn["accuracy"], 3) if knn["accuracy"] is not None else f"- ({knn['reason']})"))
    rows.append(
        (
            f"active units (Var E[z|x] > {report['active_threshold']:g})",
            f"{report['active_units']} / {report['model_size']}",
        )
    )
    if "active_units_prior_scaled" in report:
        rows.append(
            (
                f"active units, prior-scaled (> {report['active_threshold']:g}·Var_p z_d)",
                f"{report['active_units_prior_scaled']} / {report['model_size']}",
            )
        )
    if "used_components" in report:
        rows.append(("used components (std E[z|x]·‖W‖ ≥ 10% of max)", f"{report['used_components']} / {report['model_size']}"))
    components = report["components"]
    rows.append(("mean latent per component (min..max)", _span(components["mean"])))
    rows.append(("decoder weight norm (min..max)", _span(components["decoder_weight_norm"])))
    for name, value in (report.get("modality_metrics") or {}).items():  # what the run's modality adds (text: topics)
        rows.append((name, _number(value, 4) if isinstance(value, float) else str(value)))
    if report.get("chart"):
        rows.append(("chart", str(report["chart"])))
    width = max(len(name) for name, _ in rows)
    header = (
        f"{report['run']} on {report['data']}: {report['items']} items"
        + (f" ({report['skipped']} unreadable skipped)" if report.get("skipped") else "")
        + f", {latent} latent K={report['model_size']}"
        + (f", {report['sampler']} sampler" if latent == "dirichlet" else "")
    )
    lines = [header, f"{'metric':<{width}}  value", f"{'-' * width}  {'-' * 5}"]
    lines += [f"{name:<{width}}  {value}" for name, value in rows]
    lines.append(f"likelihood: {likelihood['note']}")
    if report.get("nll_warning"):
        lines.append(f"warning: {report['nll_warning']}")
    if knn["accuracy"] is not None:
        lines.append(f"kNN: {knn['method']} on {knn['labelled']} labelled items, {knn['classes']} classes")
    return "\n".join(lines)


def _span(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{min(values):.4g} .. {max(values):.4g}"


def _finite(value: Any) -> Any:
    """NaN and infinities become None, so the output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def to_json(report: dict[str, Any]) -> str:
    """One strict JSON object (non-finite numbers become null)."""
    return json.dumps(_finite(report), indent=2, sort_keys=True, allow_nan=False)


# --------------------------------------------------------------------- chart
def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def draw_components_chart(
    path: str | Path,
    variance: Sequence[float],
    mean: Sequence[float],
    weight_norm: Sequence[float],
    *,
    threshold: float = ACTIVE_THRESHOLD,
    title: str = "",
    variance_label: str = "Var_x E[z_d|x] per component",
    note: str = "",
) -> Path:
    """Three bar panels, one bar per component: Var_x E[z|x] (with the threshold), mean latent, decoder weight norm.

    Active components are drawn in blue and inactive ones in grey in every
    panel, so a collapsed component can be followed across the three.
    ``variance_label`` names what the first panel shows (a Dirichlet run shows
    it divided by the prior's variance), and ``note`` adds a line under it.
    """

    k = len(variance)
    if not (len(mean) == len(weight_norm) == k) or k == 0:
        raise ValueError("the three per-component series must be non-empty and of equal length")
    active = [v > threshold for v in variance]
    left, right, top_margin, panel_height, gap = 64, 16, 52, 170, 50
    plot_width = max(600, min(4000, 3 * k))
    bar = plot_width / k
    width = left + right + plot_width
    height = top_margin + 3 * panel_height + 2 * gap + 34 + (16 if note else 0)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    small, big = _font(11), _font(13)
    if title:
        draw.text((left, 8), title, fill="black", font=big)
    panels = [
        (f"{variance_label} (active if > {threshold:g}: dashed red line)", list(map(float, variance)), threshold),
        ("mean latent value per component", list(map(float, mean)), None),
        ("decoder weight norm per component", list(map(float, weight_norm)), None),
    ]
    for index, (name, values, line) in enumerate(panels):
        top = top_margin + index * (panel_height + gap)
        finite = [v for v in values if math.isfinite(v)] or [0.0]
        high = max(max(finite), 0.0, line if line is not None else 0.0)
        low = min(min(finite), 0.0)
        if high == low:
            high = low + 1.0
        high += 0.05 * (high - low)

        def y_of(value: float) -> float:
            return top + panel_height * (high - value) / (high - low)

        draw.text((left, top - 18), name, fill="black", font=small)
        draw.rectangle([left, top, left + plot_width, top + panel_height], outline=(120, 120, 120))
        for label_value in (high, low) if low < 0 else (high, 0.0):
            draw.text((4, y_of(label_value) - 6), f"{label_value:.3g}", fill="black", font=small)
        zero = y_of(0.0)
        draw.line([left, zero, left + plot_width, zero], fill=(120, 120, 120))
        for d, value in enumerate(values):
            if not math.isfinite(value):
                continue
            x0 = left + d * bar
            x1 = max(x0, left + (d + 1) * bar - (1 if bar >= 4 else 0) - 1)
            y = y_of(value)
            draw.rectangle([x0, min(y, zero), x1, max(y, zero)], fill=ACTIVE_COLOUR if active[d] else INACTIVE_COLOUR)
        if line is not None:
            y = y_of(line)
            for x in range(left, left + plot_width, 8):
                draw.line([x, y, min(x + 4, left + plot_width), y], fill=THRESHOLD_COLOUR, width=2)
        step = max(1, math.ceil(k / max(1, plot_width // 30)))
        for d in range(0, k, step):
            draw.text((left + (d + 0.5) * bar - 3, top + panel_height + 3), str(d), fill=(80, 80, 80), font=small)
    footer = f"{sum(active)} of {k} components active (blue); inactive in grey"
    draw.text((left, height - 18 - (16 if note else 0)), footer, fill="black", font=small)
    if note:
        draw.text((left, height - 18), note, fill="black", font=small)
    path = Path(path)
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))
    return path
