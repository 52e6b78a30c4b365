"""Rapid-response briefs: key numbers, maps, charts, interpretation text and the page.

The content of a brief for one area (an admin unit, a polygon or the whole
territory), made from numbers and arrays the workflow
(:func:`landwatch.workflows.brief.run_brief`) has read from the runs:

* :class:`KeyNumbers`: the key numbers, each rounded once, so the page, the
  sentences and ``numbers.json`` all say the same thing;
* interpretation text from templates (:func:`land_degradation_text`,
  :func:`drought_text`, :func:`ldn_text`, :func:`practices_text`) and what the
  indicators do not show (:func:`limits_text`); no network service is involved;
* maps of the area (:func:`area_map_png`: classes, outline, legend, a scale bar in km
  for the latitude and a north arrow) and charts (:func:`lpd_chart_png`,
  :func:`spi_chart_png`, :func:`alert_timeline_png`, :func:`ldn_balance_chart_png`);
* the page: :func:`render_brief_html` (self-contained HTML, images as data URIs, the
  print CSS inline) and :func:`write_pdf` (WeasyPrint, A4, page numbers).
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import landwatch

__all__ = [
    "TOPIC_TITLES",
    "KeyNumber",
    "KeyNumbers",
    "MapPanel",
    "alert_timeline_png",
    "area_map_png",
    "change_phrase",
    "colour_table",
    "data_uri",
    "drought_text",
    "fmt_count",
    "fmt_km2",
    "fmt_pct",
    "fmt_signed",
    "land_degradation_text",
    "ldn_balance_chart_png",
    "ldn_text",
    "limits_text",
    "lpd_chart_png",
    "nice_scale_length",
    "practices_text",
    "render_brief_html",
    "spi_category",
    "spi_chart_png",
    "write_pdf",
]

#: Title of each topic.
TOPIC_TITLES: dict[str, str] = {
    "land_degradation": "Land degradation (SDG 15.3.1)",
    "drought": "Drought",
    "ldn": "Land Degradation Neutrality",
    "hotspots_practices": "Degradation hotspots and recommended practices",
}

#: Colour of pixels inside the area without data (water, no data).
NO_DATA_COLOUR = "#d9d9d9"

# --------------------------------------------------------------------------- formatting


def _finite(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and math.isfinite(float(v))


def fmt_km2(v: float) -> str:
    """``1,234.5 km²`` (one decimal, thousands separated)."""
    return f"{v:,.1f} km²"


def fmt_pct(v: float) -> str:
    """``12.3 %`` (one decimal)."""
    return f"{v:.1f} %"


def fmt_count(v: float) -> str:
    """``12,345`` (people, counts)."""
    return f"{v:,.0f}"


def fmt_signed(v: float, unit: str, decimals: int = 1) -> str:
    """A change with its sign: ``+1.9 percentage points``, ``-12.0 km²``, ``0.0 %``."""
    r = round(float(v), decimals)
    sign = "+" if r > 0 else ("-" if r < 0 else "")
    return f"{sign}{abs(r):,.{decimals}f} {unit}".rstrip()


@dataclass
class KeyNumber:
    """One key number as printed: ``value`` is rounded as ``text`` shows it."""

    key: str
    label: str
    value: float | str
    text: str
    section: str = ""


@dataclass
class KeyNumbers:
    """The key numbers of a brief, in print order.

    Each number is rounded once when added (:meth:`km2`, :meth:`pct`, ...), so the
    key number table, the interpretation text and ``numbers.json`` agree.
    """

    items: list[KeyNumber] = field(default_factory=list)

    def _add(self, key: str, label: str, value: float | str, text: str, section: str) -> None:
        self.items = [i for i in self.items if i.key != key]
        self.items.append(KeyNumber(key, label, value, text, section))

    def km2(self, key: str, label: str, v: float | None, section: str = "") -> None:
        if v is not None and _finite(v):
            self._add(key, label, round(float(v), 1), fmt_km2(float(v)), section)

    def pct(self, key: str, label: str, v: float | None, section: str = "") -> None:
        if v is not None and _finite(v):
            self._add(key, label, round(float(v), 1), fmt_pct(float(v)), section)

    def pct_km2(
        self, key: str, label: str, pct: float | None, km2: float | None, section: str = ""
    ) -> None:
        """A share with its area: ``key_pct`` and ``key_km2``, printed ``12.3 % (456.7 km²)``."""
        if pct is None or km2 is None or not (_finite(pct) and _finite(km2)):
            return
        self.items = [i for i in self.items if i.key not in (f"{key}_pct", f"{key}_km2")]
        self.items.append(
            KeyNumber(
                f"{key}_pct",
                label,
                round(float(pct), 1),
                f"{fmt_pct(float(pct))} ({fmt_km2(float(km2))})",
                section,
            )
        )
        # the area rides along in numbers.json, printed in the same row
        self.items.append(KeyNumber(f"{key}_km2", "", round(float(km2), 1), "", section))

    def change(
        self, key: str, label: str, v: float | None, unit: str, section: str = "", decimals: int = 1
    ) -> None:
        if v is not None and _finite(v):
            self._add(key, label, round(float(v), decimals), fmt_signed(v, unit, decimals), section)

    def count(self, key: str, label: str, v: float | None, section: str = "") -> None:
        if v is not None and _finite(v):
            self._add(key, label, float(round(float(v))), fmt_count(float(v)), section)

    def number(
        self,
        key: str,
        label: str,
        v: float | None,
        decimals: int,
        unit: str = "",
        section: str = "",
    ) -> None:
        if v is not None and _finite(v):
            text = f"{float(v):,.{decimals}f}" + (f" {unit}" if unit else "")
            self._add(key, label, round(float(v), decimals), text, section)

    def text(self, key: str, label: str, v: str | None, section: str = "") -> None:
        if v is not None and str(v) != "":
            self._add(key, label, str(v), str(v), section)

    def get(self, key: str, default: Any = None) -> Any:
        for i in self.items:
            if i.key == key:
                return i.value
        return default

    def as_dict(self) -> dict[str, float | str]:
        """``{key: value}`` as printed (``numbers.json``)."""
        return {i.key: i.value for i in self.items}

    def rows(self, sections: Iterable[str] | None = None) -> list[KeyNumber]:
        """The printed rows (those with a label), optionally of some sections only."""
        wanted = None if sections is None else set(sections)
        return [i for i in self.items if i.label and (wanted is None or i.section in wanted)]


# --------------------------------------------------------------------------- text


def _n(numbers: Mapping[str, Any], key: str) -> float | None:
    v = numbers.get(key)
    return float(v) if v is not None and _finite(v) else None


def _s(numbers: Mapping[str, Any], key: str) -> str | None:
    v = numbers.get(key)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def change_phrase(latest: float, earlier: float, *, unit: str = "%", decimals: int = 1) -> str:
    """``"up from 11.4 %"``, ``"down from 11.4 %"`` or ``"the same as the 11.4 %"``,
    comparing the two values as printed (rounded to ``decimals``)."""
    a, b = round(latest, decimals), round(earlier, decimals)
    shown = f"{b:,.{decimals}f}{' ' + unit if unit else ''}"
    if a > b:
        return f"up from {shown}"
    if a < b:
        return f"down from {shown}"
    return f"the same as the {shown}"


def spi_category(v: float) -> str:
    """McKee et al. (1993) wording of an SPI value."""
    if not math.isfinite(v):
        return "no data"
    if v >= 2.0:
        return "extremely wet"
    if v >= 1.5:
        return "very wet"
    if v >= 1.0:
        return "moderately wet"
    if v > -1.0:
        return "near normal"
    if v > -1.5:
        return "moderately dry"
    if v > -2.0:
        return "severely dry"
    return "extremely dry"


def _period(numbers: Mapping[str, Any], which: str) -> str:
    name = _s(numbers, f"{which}_period") or which
    years = _s(numbers, f"{which}_years")
    return f"{name} ({years})" if years else name


def _baseline(numbers: Mapping[str, Any]) -> str:
    """``"the baseline (2000-2015)"``, or ``"the baseline base_2015 (2000-2015)"``."""
    name = _s(numbers, "baseline_period") or "baseline"
    years = _s(numbers, "baseline_years")
    label = "the baseline" if name == "baseline" else f"the baseline {name}"
    return f"{label} ({years})" if years else label


def land_degradation_text(numbers: Mapping[str, Any]) -> list[str]:
    """Sentences on SDG 15.3.1 from the key numbers (keys of
    :func:`landwatch.workflows.brief.run_brief`'s land degradation section).

    A sentence whose numbers are missing is left out.
    """
    out: list[str] = []
    area = _s(numbers, "area") or "the area"
    latest = _n(numbers, "degraded_latest_pct")
    base = _n(numbers, "degraded_baseline_pct")
    km2 = _n(numbers, "degraded_latest_km2")
    if latest is not None and km2 is not None:
        s = (
            f"In {area}, {latest:.1f} % of the land ({km2:,.1f} km²) was degraded in "
            f"{_period(numbers, 'latest')}"
        )
        if base is not None:
            s += f", {change_phrase(latest, base)} in {_baseline(numbers)}"
        out.append(s + ".")
    elif base is not None:
        out.append(
            f"In {area}, {base:.1f} % of the land was degraded in {_baseline(numbers)}; the "
            "run has no reporting period."
        )
    st = _n(numbers, "status_degraded_latest_pct")
    ch = _n(numbers, "status_change_vs_baseline_km2")
    if st is not None:
        s = (
            f"Compared with the baseline (the status of {_s(numbers, 'latest_period')}), "
            f"{st:.1f} % of the land is degraded"
        )
        if ch is not None:
            r = round(ch, 1)
            if r > 0:
                s += f": {r:,.1f} km² more degraded land than in the baseline"
            elif r < 0:
                s += f": {abs(r):,.1f} km² less degraded land than in the baseline"
            else:
                s += ", as much as in the baseline"
        out.append(s + ".")
    imp = _n(numbers, "improved_latest_pct")
    if imp is not None:
        out.append(f"{imp:.1f} % of the land improved in {_s(numbers, 'latest_period')}.")
    dec = _n(numbers, "lpd_declining_pct")
    mod = _n(numbers, "lpd_moderate_decline_pct")
    stressed = _n(numbers, "lpd_stable_but_stressed_pct")
    if dec is not None and mod is not None:
        s = (
            f"Land productivity was declining on {dec:.1f} % of the land and in moderate "
            f"decline on {mod:.1f} %"
        )
        if stressed is not None:
            s += f"; {stressed:.1f} % was stable but stressed (counted as stable in SDG 15.3.1)"
        out.append(s + ".")
    s0, s1 = _n(numbers, "soc_initial_t_ha"), _n(numbers, "soc_final_t_ha")
    if s0 is not None and s1 is not None:
        y0, y1 = _s(numbers, "soc_initial_year"), _s(numbers, "soc_final_year")
        pct = _n(numbers, "soc_change_pct")
        s = (
            f"The mean soil organic carbon stock (0-30 cm) went from {s0:.1f} t C/ha in {y0} "
            f"to {s1:.1f} t C/ha in {y1}"
        )
        if pct is not None:
            s += f" ({fmt_signed(pct, '%')})"
        s += "; it is estimated from land cover change with default factors, not measured"
        out.append(s + ".")
    pop = _n(numbers, "population_degraded_latest")
    if pop is not None:
        share = _n(numbers, "population_degraded_latest_pct")
        s = f"About {pop:,.0f} people live on land degraded in {_s(numbers, 'latest_period')}"
        if share is not None:
            s += f" ({share:.1f} % of the people of the area)"
        out.append(s + ".")
    return out


def drought_text(numbers: Mapping[str, Any]) -> list[str]:
    """Sentences on the drought situation from the key numbers (alert level, duration,
    people exposed, SPI, SO3 hazard); a sentence whose numbers are missing is left out."""
    out: list[str] = []
    area = _s(numbers, "area") or "the area"
    month = _s(numbers, "drought_month")
    level = _s(numbers, "alert_level")
    several = _n(numbers, "units_assessed") is not None  # levels of several units
    if month and level:
        if level == "none":
            s = (
                f"In {month}, no admin unit of {area} was under a drought alert level"
                if several
                else f"In {month}, {area} was under no drought alert level"
            )
        else:
            sev = _s(numbers, "alert_severity")
            what = "the highest drought alert level in" if several else "the drought alert level of"
            s = f"In {month}, {what} {area} was {level}"
            if sev:
                s += f" (severity {sev})"
        months = _n(numbers, "drought_months")
        if months is not None and months > 0:
            if several:
                s += f"; the longest run of drought months was {months:.0f}"
            else:
                s += (
                    f"; it had {months:.0f} drought month{'s' if round(months) != 1 else ''} "
                    "in a row"
                )
        since = _s(numbers, "alert_since")
        if since:
            s += f", with an alert open since {since}"
        out.append(s + ".")
    units = _n(numbers, "units_under_alert")
    n_units = _n(numbers, "units_assessed")
    if units is not None and n_units is not None:
        out.append(
            f"{units:.0f} of {n_units:.0f} admin units were under a drought alert level"
            + (f" in {month}" if month else "")
            + "."
        )
    pop = _n(numbers, "population_exposed")
    if pop is not None:
        s = f"About {pop:,.0f} people lived where the Combined Drought Indicator was at Warning or Alert"
        share = _n(numbers, "population_exposed_pct")
        if share is not None:
            s += f" ({share:.1f} % of the people of the area)"
        out.append(s + ".")
    warn = _n(numbers, "land_warning_pct")
    if warn is not None:
        s = f"{warn:.1f} % of the land was at Warning or Alert"
        alert = _n(numbers, "land_alert_pct")
        if alert is not None:
            s += f" and {alert:.1f} % at Alert"
        out.append(s + ".")
    for scale in ("3", "12"):
        v = _n(numbers, f"spi{scale}_latest")
        if v is not None:
            m = _s(numbers, "spi_month") or month or "the last month"
            out.append(
                f"The {scale}-month Standardized Precipitation Index of the area was {v:.2f} in "
                f"{m} ({spi_category(v)})."
            )
    d = _n(numbers, "drought_land_pct")
    if d is not None:
        year = _s(numbers, "so3_year")
        s = f"In {year}, {d:.1f} % of the land was in drought by the December 12-month SPI"
        dp = _n(numbers, "drought_population")
        if dp is not None:
            s += f", where about {dp:,.0f} people live"
        out.append(s + ".")
        b = _n(numbers, "drought_baseline_mean_pct")
        r = _n(numbers, "drought_recent_mean_pct")
        if b is not None and r is not None:
            out.append(
                f"In an average year of {_s(numbers, 'drought_recent_years')}, {r:.1f} % of the "
                f"land was in drought, {change_phrase(r, b)} in the baseline "
                f"{_s(numbers, 'drought_baseline_years')}."
            )
    return out


def ldn_text(numbers: Mapping[str, Any]) -> list[str]:
    """Sentences on Land Degradation Neutrality and hotspots from the key numbers."""
    out: list[str] = []
    area = _s(numbers, "area") or "the area"
    verdict = _s(numbers, "ldn_verdict")
    period = _s(numbers, "ldn_period")
    n = _n(numbers, "ldn_land_types")
    short = _n(numbers, "ldn_land_types_not_achieved")
    if verdict and n is not None and short is not None:
        if verdict == "not achieved":
            s = (
                f"Land Degradation Neutrality was not achieved in {area} in {period}: "
                f"{short:.0f} of {n:.0f} land types lost more land than they gained"
            )
            sf = _n(numbers, "ldn_shortfall_km2")
            if sf is not None:
                s += f" (a shortfall of {sf:,.1f} km² to make good)"
            worst = _s(numbers, "ldn_worst_land_type")
            if worst:
                s += f"; the largest net loss is in {worst}"
        elif verdict == "net gain":
            s = (
                f"Land Degradation Neutrality was achieved in {area} in {period}, with a net "
                f"gain: no land type lost more land than it gained ({n:.0f} land types)"
            )
        else:
            s = (
                f"Land Degradation Neutrality was achieved in {area} in {period}: gains and "
                f"losses balance in each of its {n:.0f} land types"
            )
        out.append(s + ".")
    g, lo, net = (
        _n(numbers, "ldn_gain_km2"),
        _n(numbers, "ldn_loss_km2"),
        _n(numbers, "ldn_net_km2"),
    )
    if g is not None and lo is not None and net is not None:
        out.append(
            f"Gains add up to {g:,.1f} km² and losses to {lo:,.1f} km² (net {fmt_signed(net, 'km²')}); "
            "the net over all land types is for information only: a gain in one land type "
            "does not make up for a loss in another."
        )
    h = _n(numbers, "hotspots_count")
    if h is not None:
        if h == 0:
            out.append(f"No degradation hotspot of the LDN run lies in {area}.")
        else:
            ha = _n(numbers, "hotspots_km2")
            s = (
                f"{h:.0f} degradation hotspot{'s lie' if h != 1 else ' lies'} at least partly "
                f"in {area}"
            )
            if ha is not None:
                s += f", with {ha:,.1f} km² of losses inside it"
            top = _s(numbers, "top_hotspot")
            if top:
                s += f"; the highest priority one is {top}"
            out.append(s + ".")
    b = _n(numbers, "brightspots_count")
    if b is not None and b > 0:
        out.append(
            f"{b:.0f} brightspot{'s' if b != 1 else ''} (patches of gains) to keep "
            f"{'lie' if b != 1 else 'lies'} there too."
        )
    return out


def practices_text(matches: Sequence[Mapping[str, Any]]) -> list[str]:
    """One sentence per matched hotspot: ``{"hotspot": label, "practices": [{"name",
    "score"}, ...]}``."""
    out = []
    for m in matches:
        ps = list(m.get("practices") or [])
        if not ps:
            continue
        names = [f"{p['name']} (score {float(p['score']):.2f})" for p in ps]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        out.append(f"For {m['hotspot']}, the best-matching practices are {listed}.")
    return out


_LIMITS: dict[str, list[str]] = {
    "land_degradation": [
        "SDG 15.3.1 marks land where productivity, land cover or soil organic carbon "
        "declined (one out, all out); it does not say why (drought, grazing, clearing, "
        "fire), how severe the decline is, or whether it will last.",
        "Productivity comes from satellite NDVI; NDVI also falls in dry years, so a drought "
        "near the end of a period can read as decline (a known false alarm).",
        "Soil organic carbon change is modelled from land cover change with default factors, "
        "not measured in the field.",
        "Areas count whole pixels (about 250 m on the sample region); features smaller than "
        "a pixel, such as gullies or single fields, are not seen.",
    ],
    "drought": [
        "The Standardized Precipitation Index measures rainfall deficits only; it does not "
        "show crop losses, water shortages or other impacts.",
        "Alert levels follow the alert rules of the warning run; they are starting points "
        "to calibrate against past droughts, not an official scheme.",
        "People exposed are people living where the indicator is at Warning or Alert, not "
        "people affected: it says nothing of their needs or coping capacity.",
    ],
    "ldn": [
        "The neutrality balance compares gains and losses of the 7-class status against the "
        "baseline within each land type; it does not weigh how valuable each hectare is.",
        "Land types come from maps (land cover, soil, climate zone); a land type that is "
        "small or badly mapped can swing the verdict.",
        "Hotspots are patches of loss; their process labels come from the sub-indicators "
        "and must be checked on the ground before acting.",
    ],
    "hotspots_practices": [
        "Recommended practices are matched by degradation process, land use, climate and "
        "LDN response from the approved records of the knowledge base; they are suggestions "
        "to discuss with land users, not prescriptions.",
        "Costs and local adoption are rarely known; check each practice's sources.",
        "Hotspots are patches of loss; their process labels come from the sub-indicators "
        "and must be checked on the ground before acting.",
    ],
}


def limits_text(topic: str) -> list[str]:
    """What the topic's indicators do not show (careful wording for the reader)."""
    return list(_LIMITS.get(topic, []))


# --------------------------------------------------------------------------- colours


@lru_cache(maxsize=1)
def _map_colours() -> dict[str, Any]:
    from importlib import resources

    import yaml

    text = (resources.files("landwatch") / "data" / "map_colours.yaml").read_text("utf-8")
    return dict(yaml.safe_load(text))


def colour_table(name: str) -> dict[int, tuple[str, str]]:
    """``{code: (colour, label)}`` of a table of ``data/map_colours.yaml`` (the
    dashboard's colours, e.g. ``class3``, ``lpd5``, ``gains_losses``, ``cdi``)."""
    classes = _map_colours()["tables"][name]["classes"]
    return {int(k): (str(v["color"]), str(v["label"])) for k, v in classes.items()}


# --------------------------------------------------------------------------- maps


@dataclass
class MapPanel:
    """One categorical map of a figure.

    Attributes
    ----------
    values : numpy.ndarray
        ``(y, x)`` class codes (any other value, or NaN, is no data).
    extent : tuple of float
        ``(left, right, bottom, top)`` of the array, in CRS units.
    classes : mapping
        ``{code: (colour, label)}`` in legend order.
    title : str
        Panel title.
    inside : numpy.ndarray, optional
        ``(y, x)`` True inside the area; pixels outside are left blank.
    outline : numpy.ndarray, optional
        ``(y, x)`` booleans whose edges are drawn (e.g. hotspot patches).
    labels : sequence of (x, y, text)
        Text drawn on the map (e.g. hotspot ranks).
    """

    values: np.ndarray
    extent: tuple[float, float, float, float]
    classes: Mapping[int, tuple[str, str]]
    title: str
    inside: np.ndarray | None = None
    outline: np.ndarray | None = None
    outline_label: str = ""
    labels: Sequence[tuple[float, float, str]] = ()


def _rgba(colour: str) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba

    r, g, b, a = to_rgba(colour)
    return (float(r), float(g), float(b), float(a))


def nice_scale_length(width_km: float) -> float:
    """A round scale bar length (1, 2 or 5 x 10^k km) of at most a quarter of ``width_km``."""
    if not (math.isfinite(width_km) and width_km > 0):
        return 1.0
    target = width_km / 4
    k = math.floor(math.log10(target))
    best = 10.0**k
    for m in (1, 2, 5, 10):
        if m * 10.0**k <= target:
            best = m * 10.0**k
    return best


def km_per_unit(crs: Any, latitude: float) -> float:
    """Kilometres per CRS x unit at ``latitude``: along the parallel on the CRS's
    ellipsoid for a geographic CRS, the linear unit for a projected one."""
    from pyproj import CRS, Geod

    c = CRS.from_user_input(crs)
    if c.is_geographic:
        ell = c.ellipsoid
        geod = (
            Geod(a=ell.semi_major_metre, rf=ell.inverse_flattening) if ell else Geod(ellps="WGS84")
        )
        _, _, dist = geod.inv(0.0, latitude, 1.0, latitude)
        return float(dist) / 1000.0
    unit = float(c.axis_info[0].unit_conversion_factor) if c.axis_info else 1.0
    return unit / 1000.0


def _scale_bar(ax: Any, crs: Any, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    from matplotlib.patches import Rectangle

    lat = (ylim[0] + ylim[1]) / 2
    kpu = km_per_unit(crs, lat)
    width_km = (xlim[1] - xlim[0]) * kpu
    length_km = nice_scale_length(width_km)
    length = length_km / kpu
    x0 = xlim[0] + 0.05 * (xlim[1] - xlim[0])
    y0 = ylim[0] + 0.05 * (ylim[1] - ylim[0])
    h = 0.018 * (ylim[1] - ylim[0])
    for i in range(2):
        ax.add_patch(
            Rectangle(
                (x0 + i * length / 2, y0),
                length / 2,
                h,
                facecolor="black" if i == 0 else "white",
                edgecolor="black",
                linewidth=0.8,
                zorder=5,
            )
        )
    label = f"{length_km:g} km"
    ax.text(
        x0 + length / 2,
        y0 + 1.8 * h,
        label,
        ha="center",
        va="bottom",
        fontsize=7,
        zorder=5,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1},
    )


def _north_arrow(ax: Any) -> None:
    ax.annotate(
        "",
        xy=(0.93, 0.95),
        xytext=(0.93, 0.82),
        xycoords="axes fraction",
        arrowprops={"facecolor": "black", "edgecolor": "black", "width": 2.5, "headwidth": 8},
        zorder=6,
    )
    ax.text(
        0.93,
        0.78,
        "N",
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=9,
        fontweight="bold",
        zorder=6,
    )


def _focus(
    panel: MapPanel, bounds: tuple[float, float, float, float] | None
) -> tuple[tuple[float, float], tuple[float, float]]:
    if bounds is not None:
        w, s, e, n = bounds
    else:
        w, e, s, n = panel.extent[0], panel.extent[1], panel.extent[2], panel.extent[3]
    mx, my = 0.04 * (e - w), 0.04 * (n - s)
    return (w - mx, e + mx), (s - my, n + my)


def area_map_png(
    panels: Sequence[MapPanel],
    *,
    crs: Any,
    focus: tuple[float, float, float, float] | None = None,
    outlines: Sequence[tuple[Any, str, float]] = (),
    dpi: int = 150,
) -> bytes:
    """PNG of one or more categorical maps of an area, side by side.

    Each panel has its legend (its classes, "no data / water" and the outline), a
    scale bar in km (for the map's mid latitude on the CRS's ellipsoid, or in the
    projected unit) and a north arrow (north is up on a north-up grid).

    Parameters
    ----------
    panels : sequence of MapPanel
        The maps (2 at most look right on an A4 page).
    crs : CRS-like
        CRS of the arrays and outlines.
    focus : tuple, optional
        ``(west, south, east, north)`` of the area; the map shows it with a margin.
    outlines : sequence of (GeoSeries, colour, line width)
        Boundaries drawn over every panel (admin units, the area).
    dpi : int
        Resolution of the PNG.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    n = max(1, len(panels))
    fig = Figure(figsize=(3.6 * n if n > 1 else 6.4, 5.0 if n > 1 else 5.4), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, n, i + 1) for i in range(n)]
    for ax, p in zip(axes, panels, strict=False):
        vals = np.asarray(p.values)
        rgba = np.zeros((*vals.shape, 4), dtype=np.float32)
        known = np.zeros(vals.shape, dtype=bool)
        for code, (colour, _) in p.classes.items():
            hit = vals == code
            rgba[hit] = _rgba(colour)
            known |= hit
        inside = np.ones(vals.shape, dtype=bool) if p.inside is None else np.asarray(p.inside)
        rgba[inside & ~known] = _rgba(NO_DATA_COLOUR)
        rgba[~inside] = (0.0, 0.0, 0.0, 0.0)
        left, right, bottom, top = p.extent
        ax.imshow(rgba, extent=(left, right, bottom, top), interpolation="nearest", zorder=1)
        if p.outline is not None and np.asarray(p.outline).any():
            o = np.asarray(p.outline, dtype=float)
            ny, nx = o.shape
            xs = left + (np.arange(nx) + 0.5) * (right - left) / nx
            ys = top - (np.arange(ny) + 0.5) * (top - bottom) / ny
            ax.contour(xs, ys, o, levels=[0.5], colors="black", linewidths=0.7, zorder=3)
        for geoms, colour, width in outlines:
            geoms.boundary.plot(ax=ax, color=colour, linewidth=width, zorder=4)
        for x, y, text in p.labels:
            ax.text(
                x,
                y,
                text,
                fontsize=7,
                fontweight="bold",
                ha="center",
                va="center",
                zorder=6,
                bbox={"boxstyle": "circle,pad=0.15", "facecolor": "white", "edgecolor": "black",
                      "linewidth": 0.5},
            )  # fmt: skip
        xlim, ylim = _focus(p, focus)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_aspect("equal" if n == 1 else "auto")
        if n > 1:
            ax.set_aspect("equal", adjustable="box")
        ax.set_title(p.title, fontsize=9)
        ax.tick_params(labelsize=6)
        ax.set_xlabel("")
        ax.set_ylabel("")
        _scale_bar(ax, crs, xlim, ylim)
        _north_arrow(ax)
        handles = [
            Patch(facecolor=c, edgecolor="#555555", linewidth=0.5, label=lbl)
            for c, lbl in p.classes.values()
        ]
        handles.append(
            Patch(
                facecolor=NO_DATA_COLOUR,
                edgecolor="#555555",
                linewidth=0.5,
                label="no data / water",
            )
        )
        if p.outline is not None and p.outline_label:
            handles.append(Patch(facecolor="none", edgecolor="black", label=p.outline_label))
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.07),
            ncol=2 if n > 1 else 3,
            fontsize=6.5,
            frameon=False,
        )
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    return buf.getvalue()


# --------------------------------------------------------------------------- charts


def _fig(width: float, height: float, dpi: int = 150) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    return buf.getvalue()


def lpd_chart_png(areas: pd.DataFrame, *, labels: Sequence[str], colours: Sequence[str]) -> bytes:
    """Horizontal bars of the land productivity dynamics areas.

    Parameters
    ----------
    areas : pandas.DataFrame
        One row per LPD class (in order), one column per period (km²).
    labels, colours : sequence of str
        Class names and colours, one per row.
    """
    fig = _fig(6.4, 2.6)
    ax = fig.add_subplot(1, 1, 1)
    periods = list(areas.columns)
    k = len(periods)
    h = 0.8 / max(k, 1)
    y = np.arange(len(areas))
    top = float(np.nanmax(areas.to_numpy())) if areas.size else 0.0
    for j, period in enumerate(periods):
        vals = areas[period].to_numpy(dtype=float)
        pos = y + (j - (k - 1) / 2) * h
        ax.barh(
            pos,
            vals,
            height=h * 0.95,
            color=list(colours),
            edgecolor="#444444",
            linewidth=0.5,
            alpha=0.45 if j < k - 1 else 1.0,
            hatch="//" if j < k - 1 else None,
        )
        for p, v in zip(pos, vals, strict=True):
            ax.text(v + 0.01 * top, p, f"{v:,.1f} ({period})", va="center", fontsize=6)
    ax.set_yticks(y, list(labels), fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("km²", fontsize=7)
    ax.set_xlim(0, top * 1.35 if top > 0 else 1)
    ax.tick_params(labelsize=7)
    ax.set_title("Land productivity dynamics (hatched: earlier period)", fontsize=9)
    return _png(fig)


def spi_chart_png(series: Mapping[str, pd.Series], *, years: int = 10) -> bytes:
    """Monthly SPI of the area (last ``years`` years), with the drought thresholds.

    Parameters
    ----------
    series : mapping of str to pandas.Series
        Label (``"SPI-3"``) -> values indexed by month start (datetime).
    """
    fig = _fig(6.4, 2.4)
    ax = fig.add_subplot(1, 1, 1)
    end = max(s.index.max() for s in series.values() if len(s))
    start = end - pd.DateOffset(years=years)
    widths = {"SPI-3": 0.8, "SPI-12": 1.6}
    colours = {"SPI-3": "#8c510a", "SPI-12": "#01665e"}
    for label, s in series.items():
        s = s[s.index > start]
        ax.plot(
            s.index,
            s.to_numpy(),
            label=label,
            linewidth=widths.get(label, 1.0),
            color=colours.get(label),
        )
        if label == "SPI-3":
            v = s.to_numpy(dtype=float)
            ax.fill_between(s.index, v, -1.0, where=v < -1.0, color="#dfc27d", alpha=0.8)
    for level, style in ((0.0, "-"), (-1.0, "--"), (-1.5, ":"), (-2.0, ":")):
        ax.axhline(level, color="#777777", linewidth=0.6, linestyle=style)
    ax.set_ylim(-3.2, 3.2)
    ax.set_ylabel("SPI", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper left", ncol=2, frameon=False)
    ax.set_title("Standardized Precipitation Index of the area (dashed: -1, drought)", fontsize=9)
    return _png(fig)


def alert_timeline_png(
    levels: pd.DataFrame, *, colours: Mapping[int, str], names: Mapping[int, str], years: int = 10
) -> bytes:
    """Alert level per unit and month (last ``years`` years) as coloured bands.

    Parameters
    ----------
    levels : pandas.DataFrame
        Rows = units (labels), columns = months (``YYYY-MM``), values = level rank.
    colours, names : mapping
        Level rank -> colour and name (rank 0 = none).
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    months = sorted(levels.columns)[-12 * years :]
    data = levels[months].to_numpy(dtype=float)
    ranks = sorted(colours)
    cmap = ListedColormap([colours[r] for r in ranks])
    norm = BoundaryNorm([r - 0.5 for r in ranks] + [ranks[-1] + 0.5], len(ranks))
    height = 1.2 + 0.28 * len(levels)
    fig = _fig(6.4, height)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(data, aspect="auto", cmap=cmap, norm=norm, interpolation="nearest")
    ax.set_yticks(range(len(levels)), [str(i) for i in levels.index], fontsize=7)
    ticks = [i for i, m in enumerate(months) if m.endswith("-01")]
    ax.set_xticks(ticks, [months[i][:4] for i in ticks], fontsize=7)
    fig.legend(
        handles=[Patch(facecolor=colours[r], edgecolor="#555555", label=names[r]) for r in ranks],
        loc="lower center",
        ncol=len(ranks),
        fontsize=6.5,
        frameon=False,
    )
    ax.set_title("Drought alert level per month", fontsize=9)
    fig.tight_layout(rect=(0, 0.32 / height, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    return buf.getvalue()


def ldn_balance_chart_png(balance: pd.DataFrame, *, top: int = 10) -> bytes:
    """Gains (right) and losses (left) of the largest land types, net as a dot.

    ``balance`` has ``land_type_name``, ``area_km2``, ``gain_km2``, ``loss_km2``,
    ``net_km2``.
    """
    b = balance.sort_values("area_km2", ascending=False).head(top).iloc[::-1]
    fig = _fig(6.4, 0.8 + 0.26 * len(b))
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(b))
    gains = colour_table("gains_losses")
    ax.barh(y, b["gain_km2"], color=gains[1][0], label="gain")
    ax.barh(y, -b["loss_km2"], color=gains[-1][0], label="loss")
    ax.scatter(b["net_km2"], y, color="black", s=10, zorder=3, label="net")
    ax.axvline(0, color="#555555", linewidth=0.6)
    ax.set_yticks(y, [str(v)[:48] for v in b["land_type_name"]], fontsize=6.5)
    ax.set_xlabel("km²", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    ax.set_title(f"Gains and losses of the {len(b)} largest land types", fontsize=9)
    return _png(fig)


# --------------------------------------------------------------------------- page


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` of PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _env() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("landwatch.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )


def render_brief_html(context: Mapping[str, Any]) -> str:
    """The brief as one self-contained HTML document (``templates/brief.html.j2`` with
    ``templates/brief.css`` inline; images must already be data URIs).

    ``context`` keys: ``title``, ``subtitle``, ``topic_title``, ``issued``, ``lead``
    (sentences), ``numbers`` (:class:`KeyNumber` rows), ``maps`` and ``charts``
    (``{"src", "alt", "caption"}``), ``sections`` (``{"title", "paragraphs"}``),
    ``limits``, ``practices``, ``methods``, ``sources``, ``caveats``, ``runs``,
    ``parameters``. ``version`` is added.
    """
    env = _env()
    css = env.loader.get_source(env, "brief.css")[0]  # type: ignore[union-attr]
    return str(
        env.get_template("brief.html.j2").render(
            **{**context, "css": css, "version": landwatch.__version__}
        )
    )


def write_pdf(html: str, path: str | Path) -> Path:
    """Print the brief HTML to an A4 PDF with page numbers (WeasyPrint)."""
    try:
        import weasyprint
    except ImportError as exc:  # pragma: no cover - a dependency of landwatch
        raise ImportError(
            "the PDF brief needs WeasyPrint and its system libraries (Pango): "
            "pip install 'weasyprint>=61' (and apt-get install libpango-1.0-0)."
        ) from exc
    import logging

    # WeasyPrint logs every CSS property it ignores at WARNING; the brief's screen rules
    # are meant for browsers
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    p = Path(path)
    weasyprint.HTML(string=html).write_pdf(p)
    return p
