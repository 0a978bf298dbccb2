"""The map, written as JSON without Plotly's objects, is the figure Plotly itself would write."""

from __future__ import annotations

import json

import plotly.graph_objects as go

from pipelines.report import figures
from pipelines.report.data import Row


def sentra(sentra_id: str, score: float | None, position: tuple[float, float] | None) -> Row:
    lintang, bujur = position or (None, None)
    return {
        "sentra_id": sentra_id,
        "nama_sentra": f"Sentra {sentra_id}",
        "kabupaten_name": "Kabupaten Malang",
        "rank_national": 1 if score is not None else None,
        "score": score,
        "ineligible_reason": None if score is not None else "below_min_units",
        "lintang": lintang,
        "bujur": bujur,
    }


SENTRA = [
    sentra("A", 71.5, (-7.98, 112.63)),
    sentra("B", None, (-7.8, 110.36)),
    sentra("C", 40.0, None),  # no coordinates: not drawn
]
PROVINCES = [
    {"province_name": "Jawa Timur", "sentra_total": 2, "sentra_eligible": 1, "lintang": -7.9,
     "bujur": 112.6},
    {"province_name": "Papua", "sentra_total": 1, "sentra_eligible": 0, "lintang": None,
     "bujur": None},
]  # fmt: skip


def test_the_map_is_a_valid_plotly_figure_and_plotly_writes_it_unchanged() -> None:
    written = json.loads(figures.sentra_map(SENTRA, PROVINCES))

    # Plotly validates every property as it builds the figure: an unknown one raises.
    rebuilt = json.loads(go.Figure(written).to_json())

    assert rebuilt["data"] == written["data"]
    # The theme aside, which Plotly writes out in full when handed one as JSON, and an empty
    # title, which it drops.
    layout = {key: value for key, value in written["layout"].items() if value != {}}
    assert {**rebuilt["layout"], "template": None} == {**layout, "template": None}
    layers = {layer["name"]: layer for layer in written["data"]}
    assert layers["sentra ranked (colour: score)"]["lat"] == [-7.98]
    assert layers["sentra not ranked"]["text"] == ["Sentra B: below_min_units"]
    assert layers["provinsi: eligible sentra"]["marker"]["size"] == [50.0]
    assert written["layout"]["geo"]["scope"] == "asia"
