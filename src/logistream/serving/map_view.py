"""The pydeck map of Kenya (layers only; Streamlit shows it). Offline by default.

Without ``LOGISTREAM_MAP_STYLE_URL`` the map is only the shipped Kenya outline, lakes, roads
and towns, and the browser asks no tile server: the deck keeps pydeck's "no style" marker
with no map provider, which Streamlit honours. (An explicit ``map_style=None`` is not the same:
Streamlit then falls back to Carto's internet basemap.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pydeck as pdk

from logistream.serving import map_data

_TOOLTIP = {
    "html": "<b>{truck}</b> — {status}<br/>{temp} · {cargo}<br/>{route}<br/>{shipment}",
    "style": {"fontSize": "12px"},
}


def _base_layers() -> list[Any]:
    return [
        pdk.Layer(
            "GeoJsonLayer",
            map_data.basemap_part("country"),
            id="kenya",
            stroked=True,
            filled=True,
            get_fill_color=[34, 49, 63, 255],
            get_line_color=[189, 195, 199, 200],
            line_width_min_pixels=1.5,
        ),
        pdk.Layer(
            "GeoJsonLayer",
            map_data.basemap_part("water"),
            id="lakes",
            filled=True,
            stroked=False,
            get_fill_color=[41, 128, 185, 160],
        ),
        pdk.Layer(
            "GeoJsonLayer",
            map_data.basemap_part("road"),
            id="roads",
            get_line_color=[127, 140, 141, 200],
            line_width_min_pixels=1,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            map_data.towns(),
            id="towns",
            get_position="position",
            get_fill_color=[236, 240, 241, 200],
            radius_min_pixels=2,
            radius_max_pixels=4,
        ),
        pdk.Layer(
            "TextLayer",
            map_data.towns(),
            id="town-names",
            get_position="position",
            get_text="name",
            get_size=12,
            get_color=[236, 240, 241, 220],
            get_pixel_offset=[0, -12],
        ),
    ]


def basemap(style_url: str | None) -> dict[str, Any]:
    """The deck's basemap arguments: a configured style, else none at all (offline)."""
    if style_url:
        return {"map_provider": "carto", "map_style": style_url}
    return {"map_provider": None}  # and pydeck's default map_style: no basemap


def kenya_deck(
    routes: Sequence[dict[str, Any]],
    trucks: Sequence[dict[str, Any]],
    trail: Sequence[dict[str, Any]] = (),
    view: dict[str, float] | None = None,
    style_url: str | None = None,
    fences: Sequence[dict[str, Any]] = (),
) -> pdk.Deck:
    """Kenya with the routes, an optional trail and the trucks on top (``style_url``: a
    basemap under them; none by default); ``fences``: geofences drawn as polygons (rows with
    ``polygon``, a ring of [lon, lat], and ``position``, the stop's point)."""
    layers = _base_layers()
    if fences:
        layers.append(
            pdk.Layer(
                "PolygonLayer",
                list(fences),
                id="geofences",
                get_polygon="polygon",
                get_fill_color=[155, 89, 182, 90],
                get_line_color=[155, 89, 182, 230],
                stroked=True,
                filled=True,
                line_width_min_pixels=2,
            )
        )
        # A fence of a few hundred metres is a speck at a country's zoom: mark each stop too.
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                list(fences),
                id="stops",
                get_position="position",
                get_fill_color=[155, 89, 182, 230],
                get_line_color=[255, 255, 255, 255],
                stroked=True,
                radius_min_pixels=5,
                radius_max_pixels=9,
            )
        )
    layers.append(
        pdk.Layer(
            "PathLayer",
            list(routes),
            id="routes",
            get_path="path",
            get_color=map_data.ROUTE_COLOUR,
            width_min_pixels=3,
        )
    )
    if trail:
        layers.append(
            pdk.Layer(
                "PathLayer",
                list(trail),
                id="trail",
                get_path="path",
                get_color=map_data.TRAIL_COLOUR,
                width_min_pixels=4,
            )
        )
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            list(trucks),
            id="trucks",
            get_position="position",
            get_fill_color="colour",
            get_line_color=[255, 255, 255, 255],
            stroked=True,
            line_width_min_pixels=1,
            radius_min_pixels=6,
            radius_max_pixels=14,
            pickable=True,
        )
    )
    return pdk.Deck(
        layers=layers,
        initial_view_state=pdk.ViewState(**(view or map_data.KENYA_VIEW)),
        tooltip=_TOOLTIP,
        **basemap(style_url),
    )
