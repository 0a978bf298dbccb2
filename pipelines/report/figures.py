"""The report's charts as Plotly figures, serialised to JSON for the pages to draw offline.

Each function returns the figure's JSON (``data`` and ``layout``); ``assets/report.js`` hands it
to ``Plotly.newPlot``. The map is a geo projection drawn from the topojson the report ships
(``assets/asia_50m.json``): no tile server, no network.
"""

from __future__ import annotations

import json
from collections import defaultdict
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from pipelines.report.data import Row

COMPONENTS = {
    "cluster_strength": "cluster strength",
    "growth_momentum": "growth momentum",
    "market_traction": "market traction",
    "digital_gap": "digital gap",
    "commodity_priority": "commodity priority",
}
NEUTRAL_COMPONENT = 50  # a typical sentra (docs/scoring.md)
SCORE_SCALE = "Viridis"
# Indonesia, with a margin: Sabang to Merauke, Miangas to Rote.
LONGITUDES, LATITUDES = (94.0, 142.0), (-11.5, 7.0)
MARGINS = {"l": 10, "r": 10, "t": 40, "b": 10}


def serialise(figure: go.Figure) -> str:
    # Without Plotly's default theme, which would repeat some 8 kB in every figure of every page.
    figure.update_layout(
        template="none",
        font_family="system-ui, sans-serif",
        xaxis_automargin=True,
        yaxis_automargin=True,
    )
    return str(figure.to_json())


def sentra_map(sentra: list[Row], provinces: list[Row]) -> str:
    """Every sentra at its coordinates coloured by score, and each province by eligible sentra.

    Written as the figure's JSON directly: built as Plotly objects, which check every one of
    some 7,500 points, it cost ~0.5 s of each report that draws it.
    """
    placed = [row for row in sentra if row["lintang"] is not None and row["bujur"] is not None]
    ranked = [row for row in placed if row["score"] is not None]
    unranked = [row for row in placed if row["score"] is None]
    located = [row for row in provinces if row["lintang"] is not None]
    biggest = max((row["sentra_eligible"] for row in located), default=1) or 1
    layers = [
        points(
            "provinsi: eligible sentra",
            located,
            [
                f"{row['province_name']}: {row['sentra_eligible']} of "
                f"{row['sentra_total']} sentra eligible"
                for row in located
            ],
            {
                "size": [12 + 38 * row["sentra_eligible"] / biggest for row in located],
                "color": "rgba(230, 126, 34, 0.25)",
                "line": {"color": "rgb(211, 84, 0)", "width": 1},
            },
        ),
        points(
            "sentra not ranked",
            unranked,
            [f"{row['nama_sentra']}: {row['ineligible_reason']}" for row in unranked],
            {"size": 5, "color": "rgb(160, 160, 160)", "symbol": "x"},
        ),
        points(
            "sentra ranked (colour: score)",
            ranked,
            [
                f"#{row['rank_national']} {row['nama_sentra']} ({row['kabupaten_name']}): "
                f"score {row['score']}"
                for row in ranked
            ],
            {
                "size": 8,
                "color": [row["score"] for row in ranked],
                "colorscale": score_scale(),
                "colorbar": {"title": {"text": "score"}},
                "line": {"color": "white", "width": 0.5},
            },
        ),
    ]
    return json.dumps({"data": layers, "layout": map_layout()}, separators=(",", ":"))


def points(name: str, rows: list[Row], text: list[str], marker: dict[str, Any]) -> dict[str, Any]:
    """Rows with a position (``lintang``, ``bujur``) as one layer (trace) of the map."""
    return {
        "type": "scattergeo",
        "name": name,
        "lon": [row["bujur"] for row in rows],
        "lat": [row["lintang"] for row in rows],
        "text": text,
        "hoverinfo": "text",
        "marker": marker,
    }


def phase_plan(plan: list[Row], annual_capacity: int) -> str:
    """Sentra planned per phase year, stacked by province, against the annual capacity."""
    import plotly.graph_objects as go

    by_province: dict[str, dict[int, int]] = defaultdict(dict)
    for row in plan:
        by_province[row["province_name"]][row["phase_year"]] = row["sentra"]
    years = sorted({row["phase_year"] for row in plan})
    figure = go.Figure(
        [
            go.Bar(name=province, x=[str(y) for y in years], y=[counts.get(y, 0) for y in years])
            for province, counts in by_province.items()
        ]
    )
    figure.add_hline(
        y=annual_capacity,
        line_dash="dash",
        line_color="rgb(192, 57, 43)",
        annotation_text=f"annual capacity: {annual_capacity:,} sentra",
        annotation_position="top left",
    )
    figure.update_layout(
        barmode="stack",
        height=460,
        margin=MARGINS,
        xaxis_title="phase year",
        yaxis_title="sentra planned",
        legend_title_text="provinsi",
    )
    return serialise(figure)


def imk_growth(rows: list[Row]) -> str:
    """Each province's IMK y-on-y growth as a bar, the national figure as a line across."""
    import plotly.graph_objects as go

    ordered = sorted(rows, key=lambda row: row["yoy_growth_pct"])
    national = ordered[0]["national_yoy_growth_pct"] if ordered else 0
    figure = go.Figure(
        go.Bar(
            orientation="h",
            x=[row["yoy_growth_pct"] for row in ordered],
            y=[row["province_name"] for row in ordered],
            marker_color=[
                "rgb(39, 174, 96)" if row["gap_pts"] >= 0 else "rgb(192, 57, 43)" for row in ordered
            ],
            text=[f"{row['yoy_growth_pct']:.2f}%" for row in ordered],
            textposition="outside",
            hovertemplate="%{y}: %{x:.2f}% y-on-y<extra></extra>",
        )
    )
    figure.add_vline(
        x=national,
        line_dash="dash",
        annotation_text=f"nasional {national:.2f}%",
        annotation_position="top",
    )
    figure.update_layout(
        height=max(320, 22 * len(ordered) + 120),
        margin={**MARGINS, "l": 200},
        xaxis_title="IMK production growth, y-on-y (%)",
        showlegend=False,
    )
    return serialise(figure)


def components(row: Row) -> str:
    """One sentra's five components (0-100) against a typical sentra (50)."""
    values = [row[name] for name in COMPONENTS]
    bars = {
        "type": "bar",
        "orientation": "h",
        "x": values,
        "y": list(COMPONENTS.values()),
        "text": [f"{value:.0f}" if value is not None else "" for value in values],
        "textposition": "outside",
        "marker": {"color": "rgb(41, 128, 185)"},
    }
    return json.dumps({"data": [bars], "layout": components_layout()})


def sales_history(history: list[Row]) -> str:
    """A sentra's net online sales per month, all marketplaces together."""
    bars = {
        "type": "bar",
        "x": [str(row["month"]) for row in history],
        "y": [float(row["net_idr"] or 0) for row in history],
        "customdata": [int(row["orders"] or 0) for row in history],
        "hovertemplate": "%{x|%b %Y}: Rp %{y:,.0f} net, %{customdata} orders<extra></extra>",
        "marker": {"color": "rgb(22, 160, 133)"},
    }
    return json.dumps({"data": [bars], "layout": sales_history_layout()})


# A report has a page per sentra (some 7,500 nationally): their charts share one layout, built
# and checked by Plotly once, and only their few numbers are written per sentra.


@cache
def components_layout() -> dict[str, Any]:
    import plotly.graph_objects as go

    figure = go.Figure()
    figure.add_vline(x=NEUTRAL_COMPONENT, line_dash="dot", annotation_text="typical sentra (50)")
    figure.update_layout(
        height=300,
        margin={**MARGINS, "l": 150},
        xaxis={"range": [0, 105], "title": "component (0-100)"},
        yaxis={"autorange": "reversed"},
    )
    return layout_of(figure)


@cache
def sales_history_layout() -> dict[str, Any]:
    import plotly.graph_objects as go

    figure = go.Figure()
    figure.update_layout(
        height=280, margin=MARGINS, yaxis_title="net sales (Rp)", xaxis_type="date"
    )
    return layout_of(figure)


@cache
def map_layout() -> dict[str, Any]:
    import plotly.graph_objects as go

    figure = go.Figure()
    figure.update_geos(
        scope="asia",
        resolution=50,
        lonaxis_range=LONGITUDES,
        lataxis_range=LATITUDES,
        showcountries=True,
        showland=True,
        landcolor="rgb(243, 243, 238)",
        showocean=True,
        oceancolor="rgb(225, 238, 248)",
    )
    figure.update_layout(
        height=560, margin=MARGINS, legend={"orientation": "h", "y": -0.02}, title=None
    )
    return layout_of(figure)


@cache
def score_scale() -> list[list[Any]]:
    """The score's colour scale as Plotly writes it in a figure (its name's colours)."""
    import plotly.graph_objects as go

    scale: list[list[Any]] = go.scattergeo.Marker(colorscale=SCORE_SCALE).to_plotly_json()[
        "colorscale"
    ]
    return scale


def layout_of(figure: go.Figure) -> dict[str, Any]:
    layout: dict[str, Any] = json.loads(serialise(figure))["layout"]
    return layout
