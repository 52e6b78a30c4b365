"""Monthly drought bulletin: one self-contained HTML page (map, table, messages).

The map of unit alert levels is drawn with matplotlib and embedded as a base64 PNG;
styles are inline, so the file opens offline and can be e-mailed as it is.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

import landwatch
from landwatch.warning.cap import CapMessage
from landwatch.warning.messages import month_name
from landwatch.warning.situation import NO_DATA_COLOR, NO_LEVEL_COLOR
from landwatch.warning.thresholds import NO_LEVEL, AlertRules


def level_map_png(units: Any, situation: pd.DataFrame, rules: AlertRules, *, title: str) -> bytes:
    """PNG map of the units coloured by alert level, with a legend.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Admin units with ``unit_id`` and geometry (EPSG:4326).
    situation : pandas.DataFrame
        :func:`landwatch.warning.situation.situation_table` (``unit_id``, ``color``).
    rules : AlertRules
        Level names and colours for the legend.
    title : str
        Map title.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    colors = dict(zip(situation["unit_id"].astype(str), situation["color"], strict=True))
    fig = Figure(figsize=(7.5, 6.0), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    gdf = units.assign(_color=[colors.get(str(u), NO_DATA_COLOR) for u in units["unit_id"]])
    gdf.plot(ax=ax, color=gdf["_color"], edgecolor="#444444", linewidth=0.6)
    if len(gdf) <= 40:
        for name, geom in zip(gdf["unit_name"], gdf.geometry, strict=True):
            if geom is None or geom.is_empty:
                continue
            p = geom.representative_point()
            ax.annotate(str(name), (p.x, p.y), ha="center", va="center", fontsize=7)
    handles = [Patch(facecolor=NO_LEVEL_COLOR, edgecolor="#444444", label="no alert")]
    handles += [
        Patch(facecolor=lv.color, edgecolor="#444444", label=f"{lv.name} ({lv.severity})")
        for lv in rules.levels
    ]
    handles.append(
        Patch(facecolor=NO_DATA_COLOR, edgecolor="#444444", label="insufficient data / no pixels")
    )
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
    )
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect("equal")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def _pct(v: Any) -> str:
    return (
        "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{100 * v:.0f} %"
    )


def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else str(v)


def _count(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:,.0f}"


def render_bulletin(
    situation: pd.DataFrame,
    units: Any,
    rules: AlertRules,
    *,
    month: str,
    messages: Sequence[CapMessage] = (),
    levels_of: dict[str, str] | None = None,
    title: str = "Drought bulletin",
    is_forecast: bool = False,
    issued: dt.datetime | None = None,
) -> str:
    """The HTML bulletin of one month.

    Parameters
    ----------
    situation : pandas.DataFrame
        :func:`landwatch.warning.situation.situation_table` of ``month``.
    units : geopandas.GeoDataFrame
        Admin units (``unit_id``, ``unit_name``, geometry in EPSG:4326) for the map.
    rules : AlertRules
        Levels, colours and the rule settings quoted in the method note.
    month : str
        ``YYYY-MM``.
    messages : sequence of CapMessage
        CAP messages of the month, listed under the table.
    levels_of : dict, optional
        CAP identifier -> level name (colours the message boxes).
    title : str
        Page title.
    is_forecast : bool
        Says "forecast" in the header.
    issued : datetime, optional
        Issue time shown in the header (default now, UTC).

    Returns
    -------
    str
        A complete HTML document with no external resources.
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("landwatch.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    d = dt.date(int(month[:4]), int(month[5:7]), 1)
    mname = month_name(d)
    png = level_map_png(units, situation, rules, title=f"Drought alert level, {mname}")
    level_color = {lv.name: lv.color for lv in rules.levels}
    rows = []
    for r in situation.to_dict("records"):
        label = {
            "insufficient_data": "insufficient data",
            "no_pixels": "no pixels",
        }.get(r["status"], r["level"] if r["level"] != NO_LEVEL else "none")
        if r["level"] != NO_LEVEL and r.get("severity"):
            label = f"{r['level']} ({r['severity']})"
        rows.append(
            {
                "unit_id": r["unit_id"],
                "unit_name": r["unit_name"],
                "level": r["level"],
                "level_label": label,
                "color": r["color"],
                "alert_change": _text(r.get("alert_change")),
                "cropland_warning": _pct(r.get("cropland_warning_share")),
                "cropland_alert": _pct(r.get("cropland_alert_share")),
                "grazing_warning": _pct(r.get("grazing_warning_share")),
                "grazing_alert": _pct(r.get("grazing_alert_share")),
                "population_exposed": _count(r.get("population_exposed")),
                "consecutive_months": _text(r.get("consecutive_months")),
                "valid": _pct(r.get("valid_share")),
            }
        )
    counts = situation["level"].value_counts().to_dict() if not situation.empty else {}
    summary = [{"label": "no alert", "color": NO_LEVEL_COLOR, "count": counts.get(NO_LEVEL, 0)}]
    summary += [
        {"label": lv.name, "color": lv.color, "count": counts.get(lv.name, 0)}
        for lv in rules.levels
    ]
    msgs = [
        {
            "headline": m.headline,
            "description": m.description,
            "instruction": m.instruction,
            "msg_type": m.msg_type,
            "severity": m.severity,
            "certainty": m.certainty,
            "identifier": m.identifier,
            "color": level_color.get((levels_of or {}).get(m.identifier, ""), "#999999"),
        }
        for m in messages
    ]
    issued = issued or dt.datetime.now(dt.UTC)
    return env.get_template("drought_bulletin.html.j2").render(
        title=title,
        month_name=mname,
        stream="forecast" if is_forecast else "observed",
        issued=issued.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        n_units=len(situation),
        rules_source=rules.source,
        summary=summary,
        map_png=base64.b64encode(png).decode("ascii"),
        rows=rows,
        messages=msgs,
        end_after_months=rules.end_after_months,
        min_valid_pct=f"{100 * rules.min_valid_share:.0f} %",
        version=landwatch.__version__,
    )
