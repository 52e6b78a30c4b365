"""Recommend SLM practices for hotspots or any area of an LDN run.

``landwatch match`` calls :func:`run_match`; it computes nothing itself. Practices
come from the knowledge base (approved records only); places from an LDN output
folder: its ranked hotspots (or brightspots), or a polygon whose profile is read from
the LDN and SDG maps under it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from landwatch.errors import DataSourceError, InputError
from landwatch.io import outputs as out_io
from landwatch.io import rasters as rio_io
from landwatch.io import vectors as vec_io
from landwatch.knowledge.matching import (
    _ZONE_CODES,
    AreaProfile,
    Match,
    match_practices,
    profile_from_hotspot,
)
from landwatch.ldn.response import load_response_rules

__all__ = ["MatchResult", "hotspot_profiles", "polygon_profile", "run_match"]


@dataclass
class MatchResult:
    table: pd.DataFrame
    profiles: list[AreaProfile]
    matches: list[list[Match]]
    files: list[Path]


def _ldn_summary(ldn_run: Path) -> dict[str, Any]:
    p = ldn_run / "summary.json"
    if not p.is_file() or not (ldn_run / "tables").is_dir():
        raise DataSourceError(
            f"ldn run: {str(ldn_run)!r} is not an output folder of `landwatch ldn` (no "
            "summary.json or tables/). Run `landwatch ldn` first and pass its --out folder."
        )
    try:
        return dict(json.loads(p.read_text()))
    except ValueError as exc:
        raise DataSourceError(f"ldn run: {str(p)!r} is not valid JSON ({exc}).") from exc


def _period(summary: Mapping[str, Any], period: str | None) -> str:
    periods = list(summary.get("periods") or {})
    if not periods:
        raise DataSourceError("ldn run: its summary lists no reporting period.")
    if period is None:
        return periods[-1]
    if period not in periods:
        raise InputError(f"period {period!r} is not in the LDN run; it has {periods}.")
    return period


def hotspot_profiles(
    ldn_run: str | Path,
    *,
    period: str | None = None,
    kind: str = "hotspot",
    ranks: Sequence[int] | None = None,
    top: int | None = 5,
) -> list[tuple[dict[str, Any], AreaProfile]]:
    """Profiles of an LDN run's hotspots (by priority rank: ``ranks`` or the first
    ``top``)."""
    run = Path(ldn_run)
    summary = _ldn_summary(run)
    period = _period(summary, period)
    if kind not in ("hotspot", "brightspot"):
        raise InputError(f"kind must be hotspot or brightspot, got {kind!r}.")
    table_path = run / "tables" / f"{kind}s_{period}.csv"
    if not table_path.is_file():
        raise DataSourceError(
            f"ldn run: {str(table_path)!r} is missing; run `landwatch ldn` again."
        )
    tab = pd.read_csv(table_path)
    if tab.empty:
        raise InputError(
            f"the LDN run has no {kind}s in {period}; match an area with --area instead."
        )
    if ranks:
        missing = sorted(set(ranks) - set(tab["rank"]))
        if missing:
            raise InputError(
                f"{kind} rank(s) {missing} do not exist in {period}; ranks go from 1 to {len(tab)}."
            )
        tab = tab[tab["rank"].isin(ranks)]
    elif top:
        tab = tab[tab["rank"] <= top]
    out = []
    for row in tab.sort_values("rank").to_dict("records"):
        out.append((row, profile_from_hotspot(row)))
    return out


def polygon_profile(
    ldn_run: str | Path, area: str | Path, *, period: str | None = None
) -> tuple[dict[str, Any], AreaProfile]:
    """Profile of the union of the polygons in ``area`` from the maps under it: land
    cover of its land types, the share of its land losing productivity, SOC or land
    cover (by transition), its dominant climate zone and response class."""
    run = Path(ldn_run)
    summary = _ldn_summary(run)
    period = _period(summary, period)
    lt = rio_io.open_raster(run / "maps" / "land_types.tif", name="land_types").load()
    gdf = vec_io.read_vector(area, name="area")
    inside = vec_io.rasterize_ids(gdf, lt) > 0
    lt_arr = np.asarray(lt.values)
    land = inside & (lt_arr > 0)
    if not land.any():
        raise InputError(
            f"area: {Path(area).name} covers no land pixel of the LDN run; check its CRS and "
            "that it lies inside the assessed territory."
        )
    legend = pd.read_csv(run / "tables" / "land_types.csv").set_index("land_type")
    sdg = Path(summary["sdg_run"])
    sdg_summary = json.loads((sdg / "summary.json").read_text())
    y0, y1 = (int(v) for v in sdg_summary["periods"][period]["land_cover"])

    def read(*parts: str) -> np.ndarray:
        p = sdg.joinpath("maps", *parts)
        if not p.is_file():
            raise DataSourceError(f"sdg run: {str(p)!r} is missing (the LDN run points there).")
        return np.asarray(rio_io.open_raster(p, name=parts[-1]).values)

    n = int(land.sum())
    processes: dict[str, float] = {}
    prod = read(period, "lpd3.tif")[land]
    soc = read(period, "soc_degradation.tif")[land]
    lcd = read(period, "land_cover_degradation.tif")[land]
    if (prod == -1).any():
        processes["productivity_decline"] = float((prod == -1).sum() / n)
    if (soc == -1).any():
        processes["soc_loss"] = float((soc == -1).sum() / n)
    if (lcd == -1).any():
        a = read("land_cover", f"land_cover_{y0}.tif")[land][lcd == -1].astype(int)
        b = read("land_cover", f"land_cover_{y1}.tif")[land][lcd == -1].astype(int)
        for (f, t), cnt in pd.Series(list(zip(a, b, strict=True))).value_counts().items():
            processes[f"land_cover_{f}_{t}"] = float(cnt / n)
    types = pd.Series(lt_arr[land]).value_counts()
    lc_share: dict[int, float] = {}
    zone_w: dict[int, float] = {}
    for code, cnt in types.items():
        row = legend.loc[int(code)]
        if "land_cover" in legend.columns:
            lc_share[int(row["land_cover"])] = lc_share.get(int(row["land_cover"]), 0) + cnt / n
        if "climate_zones" in legend.columns:
            zone_w[int(row["climate_zones"])] = zone_w.get(int(row["climate_zones"]), 0) + cnt / n
    if not zone_w:
        raise InputError(
            "the LDN run's land types have no climate_zones component; matching needs the "
            "climate zone. Run `landwatch ldn` with the default components."
        )
    zone = max(zone_w, key=lambda z: zone_w[z])
    if zone not in _ZONE_CODES:
        raise InputError(
            f"area: its dominant climate zone code {zone} is not an IPCC zone 1-12; "
            "check the climate zone input of the SDG run."
        )
    resp = rio_io.open_raster(run / "maps" / period / "response.tif", name="response").values
    resp_vals = np.asarray(resp)[land]
    resp_vals = resp_vals[resp_vals != 255]
    rules = load_response_rules()
    response = rules.name(int(np.bincount(resp_vals).argmax())) if resp_vals.size else "reverse"
    profile = AreaProfile(
        land_cover=lc_share,
        processes=processes,
        climate_zone=_ZONE_CODES[zone],
        response=response,
        name=Path(area).stem,
    )
    row = {
        "target": Path(area).stem,
        "period": period,
        "area_pixels": n,
        "process_codes": ";".join(f"{k}:{v:.3f}" for k, v in processes.items()),
        "response": response,
    }
    return row, profile


def run_match(
    practices: Iterable[Mapping[str, Any]],
    *,
    ldn_run: str | Path | None = None,
    period: str | None = None,
    kind: str = "hotspot",
    ranks: Sequence[int] | None = None,
    top_hotspots: int | None = 5,
    area: str | Path | None = None,
    profile: AreaProfile | None = None,
    top: int = 3,
    out: str | Path | None = None,
) -> MatchResult:
    """Rank ``practices`` for each target: the hotspots of ``ldn_run``, a polygon
    ``area`` (with ``ldn_run``), or an explicit ``profile``. With ``out``, writes
    ``matches.csv`` and ``matches.json`` there (atomically)."""
    records = list(practices)
    if not records:
        raise InputError(
            "the knowledge base has no approved practice; load the curated records with "
            "`landwatch practices seed` (or import your own)."
        )
    targets: list[tuple[dict[str, Any], AreaProfile]] = []
    if profile is not None:
        targets.append(({"target": profile.name}, profile))
    elif ldn_run is not None and area is not None:
        targets.append(polygon_profile(ldn_run, area, period=period))
    elif ldn_run is not None:
        for row, prof in hotspot_profiles(
            ldn_run, period=period, kind=kind, ranks=ranks, top=top_hotspots
        ):
            label = {
                "target": f"{kind} {row['rank']}",
                "period": row.get("period"),
                "area_km2": row.get("area_km2"),
                "process": row.get("process"),
                "zone": row.get("zone_name"),
                "land_type": row.get("land_type_name"),
                "response": row.get("response"),
            }
            targets.append((label, prof))
    else:
        raise InputError(
            "say what to match: an LDN run (--ldn-run), with --area for a polygon, or a profile."
        )
    rows = []
    all_matches = []
    for label, prof in targets:
        matches = match_practices(prof, records, top=top)
        all_matches.append(matches)
        for m in matches:
            rows.append({**{k: v for k, v in label.items() if k != "process_codes"}, **m.as_row()})
    table = pd.DataFrame(rows)
    files: list[Path] = []
    if out is not None:
        out_dir = Path(out)
        with out_io.atomic_output_dir(out_dir, overwrite=True) as tmp:
            table.to_csv(tmp / "matches.csv", index=False)
            doc = [
                {
                    "target": label,
                    "profile": {
                        "land_cover": {str(k): v for k, v in prof.land_cover.items()},
                        "processes": dict(prof.processes),
                        "climate_zone": prof.climate_zone,
                        "aridity": list(prof.aridity),
                        "aridity_inferred": prof.aridity_inferred,
                        "response": prof.response,
                    },
                    "matches": [
                        {**m.as_row(), "components": m.components, "reasons": m.reasons} for m in ms
                    ],
                }
                for (label, prof), ms in zip(targets, all_matches, strict=True)
            ]
            out_io.write_json(doc, tmp / "matches.json")
        files = [out_dir / "matches.csv", out_dir / "matches.json"]
    return MatchResult(
        table=table, profiles=[t[1] for t in targets], matches=all_matches, files=files
    )
