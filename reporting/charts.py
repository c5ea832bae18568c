"""Server-side SVG bar charts: no JavaScript, a title and description for screen readers.

Every chart is drawn beside a data table holding the same figures (the template's job), so the
SVG is a picture of the table, never the only place a number appears.
"""
from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
LABEL_WIDTH = 190
BAR_HEIGHT = 16
GROUP_GAP = 10
LEGEND_HEIGHT = 24


@dataclass(frozen=True)
class Series:
    """One set of bars: a name for the legend and one value per label."""

    name: str
    values: tuple[int, ...]


def _fmt(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(labels: list[str], series: list[Series]) -> str:
    """A plain-text reading of the chart ("Police: open 3, done 1; Council: …")."""
    if len(series) == 1:
        return "; ".join(f"{label}: {value}" for label, value in zip(labels, series[0].values))
    parts = []
    for i, label in enumerate(labels):
        parts.append(f"{label}: " + ", ".join(f"{s.name.lower()} {s.values[i]}" for s in series))
    return "; ".join(parts)


def bar_chart(chart_id: str, title: str, labels: list[str], series: list[Series],
              width: int = 640) -> Markup:
    """A horizontal (grouped) bar chart as inline SVG; empty Markup when there is nothing to draw."""
    if not labels or not series or not any(v for s in series for v in s.values):
        return Markup("")
    peak = max(v for s in series for v in s.values)
    plot = width - LABEL_WIDTH - 50
    legend = LEGEND_HEIGHT if len(series) > 1 else 0
    group = BAR_HEIGHT * len(series) + GROUP_GAP
    height = legend + group * len(labels) + 4
    cid = escape(chart_id)
    out = [Markup('<svg xmlns="http://www.w3.org/2000/svg" class="cb-chart" role="img" width="100%" '
                  'viewBox="0 0 {w} {h}" preserveAspectRatio="xMinYMin meet" '
                  'aria-labelledby="{id}-title {id}-desc" data-chart="{id}">').format(
        w=width, h=height, id=cid),
           Markup('<title id="{}-title">{}</title>').format(cid, title),
           Markup('<desc id="{}-desc">{}</desc>').format(cid, describe(labels, series))]
    if legend:
        x = LABEL_WIDTH
        for n, s in enumerate(series):
            out.append(Markup('<rect x="{}" y="4" width="12" height="12" fill="{}"></rect>'
                              '<text x="{}" y="14" font-size="12">{}</text>').format(
                x, PALETTE[n % len(PALETTE)], x + 16, s.name))
            x += 24 + 8 * len(s.name)
    for i, label in enumerate(labels):
        top = legend + i * group
        out.append(Markup('<text x="{}" y="{}" font-size="12" text-anchor="end">{}</text>').format(
            LABEL_WIDTH - 8, top + group / 2, _fmt(label)))
        for n, s in enumerate(series):
            value = s.values[i]
            length = round(plot * value / peak, 1) if peak else 0
            y = top + n * BAR_HEIGHT
            out.append(Markup('<rect x="{x}" y="{y}" width="{len}" height="{h}" fill="{fill}">'
                              '<title>{label} · {name}: {value}</title></rect>'
                              '<text x="{tx}" y="{ty}" font-size="11">{value}</text>').format(
                x=LABEL_WIDTH, y=y, len=length, h=BAR_HEIGHT - 2, fill=PALETTE[n % len(PALETTE)],
                label=label, name=s.name, value=value, tx=LABEL_WIDTH + length + 4, ty=y + BAR_HEIGHT - 4))
    out.append(Markup("</svg>"))
    return Markup("").join(out)
