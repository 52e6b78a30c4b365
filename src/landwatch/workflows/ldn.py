"""Land Degradation Neutrality from an SDG 15.3.1 run: land types, the neutrality
balance per land type and admin unit, a what-if balance for planned interventions,
hotspots and brightspots, and the response hierarchy.

``landwatch ldn`` calls :func:`run_ldn`; it computes nothing itself. Inputs are the
maps of a ``landwatch sdg1531`` output folder and the inputs its manifest names (soil
units, climate zones, population, admin units), plus optional user layers.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

import landwatch
from landwatch.errors import DataSourceError, InputError
from landwatch.indices.land.area import pixel_area_km2
from landwatch.indices.land.codes import LC_CLASSES, LC_WATER, NODATA
from landwatch.indices.land.soc import climate_zone_names
from landwatch.io import outputs as out_io
from landwatch.io import rasters as rio_io
from landwatch.io import vectors as vec_io
from landwatch.ldn import (
    gains_losses,
    label_patches,
    land_types,
    load_response_rules,
    neutrality_balance,
    neutrality_summary,
    patch_polygons,
    patch_table,
    planned_balance,
    response_class,
    response_table,
)
from landwatch.ldn.neutrality import ACTION_CODES
from landwatch.ldn.response import RESPONSE_NODATA
from landwatch.workflows.progress import NullProgress, Progress

__all__ = ["COMPONENTS", "LdnResult", "run_ldn"]

#: Land type components that can be taken from an SDG run's inputs.
COMPONENTS: tuple[str, ...] = ("land_cover", "soil_units", "climate_zones")


@dataclass
class LdnResult:
    out_dir: Path
    tables: dict[str, pd.DataFrame]
    files: list[Path]
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Run:
    path: Path
    baseline: str
    periods: dict[str, dict[str, Any]]
    inputs: dict[str, Path]
    params: dict[str, Any]

    def map(self, *parts: str) -> Path:
        p = self.path.joinpath("maps", *parts)
        if not p.is_file():
            raise DataSourceError(
                f"sdg run: {str(p)!r} is missing; pass a complete `landwatch sdg1531` output "
                "folder (run it again if it was moved or cut short)."
            )
        return p


def _read_run(path: Path) -> _Run:
    summary_p, manifest_p = path / "summary.json", path / "manifest.json"
    if not summary_p.is_file() or not manifest_p.is_file():
        raise DataSourceError(
            f"sdg run: {str(path)!r} has no summary.json/manifest.json. Pass the output folder "
            "of `landwatch sdg1531` with --sdg-run (run that first)."
        )
    try:
        summary = json.loads(summary_p.read_text())
        manifest = json.loads(manifest_p.read_text())
        periods = dict(summary["periods"])
        baseline = str(summary.get("baseline") or next(iter(periods)))
    except (ValueError, KeyError, StopIteration) as exc:
        raise DataSourceError(
            f"sdg run: {str(path)!r} has an unreadable summary ({exc!r})."
        ) from exc
    inputs = {
        k: Path(v["path"])
        for k, v in (manifest.get("inputs") or {}).items()
        if isinstance(v, dict) and v.get("path")
    }
    return _Run(path, baseline, periods, inputs, manifest.get("parameters") or {})


def _class_names(path: Path) -> dict[int, str]:
    tags = rio_io.read_tags(path)
    if "class_names" in tags:
        try:
            return {int(k): str(v) for k, v in json.loads(tags["class_names"]).items()}
        except (ValueError, AttributeError):
            pass
    return {int(k[6:]): v for k, v in tags.items() if k.startswith("class_") and k[6:].isdigit()}


def _read_int(path: Path, name: str) -> xr.DataArray:
    return rio_io.open_raster(path, name=name).load()


def _user_land_types(
    path: Path, ref: xr.DataArray, field_name: str | None, align: bool
) -> tuple[xr.DataArray, dict[int, str]]:
    """A user land type layer: raster codes, or polygons with a code/name field."""
    if path.suffix.lower() in (".tif", ".tiff", ".nc", ".zarr", ".vrt"):
        da = rio_io.open_on_grid(
            ref, path, "land_types", align=align, categorical=True, ref_name="sdg maps"
        )
        return da, _class_names(path) if path.suffix.lower() in (".tif", ".tiff") else {}
    gdf = vec_io.read_vector(path, name="land_types")
    if not field_name:
        raise InputError(
            f"land_types: {path.name} is a vector file; name the field that holds the land "
            f"type with --land-type-field (fields: {[c for c in gdf.columns if c != 'geometry']})."
        )
    if field_name not in gdf.columns:
        raise InputError(
            f"land_types: {path.name} has no field {field_name!r}; fields are "
            f"{[c for c in gdf.columns if c != 'geometry']}."
        )
    values = gdf[field_name]
    if values.isna().any():
        raise InputError(
            f"land_types: {values.isna().sum()} polygon(s) of {path.name} have no {field_name!r}; "
            "give every polygon a land type."
        )
    codes, uniques = pd.factorize(values.astype(str), sort=True)
    pos = vec_io.rasterize_ids(gdf, ref)
    lut = np.concatenate([[0], codes + 1]).astype(np.int32)
    arr = lut[pos]
    da = xr.DataArray(arr, dims=("y", "x"), coords={"y": ref.y, "x": ref.x}, attrs={"nodata": 0})
    return da, {i + 1: str(u) for i, u in enumerate(uniques)}


def _interventions(
    path: Path, ref: xr.DataArray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """Rasterised intervention polygons: action code, effect, 1-based id, attribute table."""
    gdf = vec_io.read_vector(path, name="interventions")
    fields = [c for c in gdf.columns if c != "geometry"]
    for need in ("action", "effect"):
        if need not in gdf.columns:
            raise InputError(
                f"interventions: {path.name} has no field {need!r} (fields: {fields}). Each polygon "
                "needs action (avoid, reduce or reverse) and effect (0-1, the expected share of "
                "the targeted area where it works)."
            )
    actions = gdf["action"].astype(str).str.strip().str.lower()
    bad = sorted(set(actions) - set(ACTION_CODES))
    if bad:
        raise InputError(
            f"interventions: {path.name} has action(s) {bad}; expected avoid, reduce or reverse."
        )
    effect = pd.to_numeric(gdf["effect"], errors="coerce")
    wrong = effect.isna() | (effect < 0) | (effect > 1)
    if wrong.any():
        rows = [int(i) + 1 for i in np.flatnonzero(wrong.to_numpy())][:5]
        raise InputError(
            f"interventions: {path.name} feature(s) {rows} have an effect outside 0-1 (or none); "
            "give the expected share of the targeted area where the intervention works, e.g. 0.6."
        )
    pos = vec_io.rasterize_ids(gdf, ref)
    act = np.concatenate([[0], actions.map(ACTION_CODES).to_numpy()]).astype(np.int64)[pos]
    eff = np.concatenate([[0.0], effect.to_numpy(float)])[pos]
    names = (
        gdf["name"].astype(str).tolist()
        if "name" in gdf.columns
        else [f"intervention {i + 1}" for i in range(len(gdf))]
    )
    table = pd.DataFrame(
        {
            "intervention": np.arange(1, len(gdf) + 1),
            "name": names,
            "action_given": actions,
            "effect_given": effect,
        }
    )
    return act, eff, pos, table


def run_ldn(
    sdg_run: str | Path,
    out_dir: str | Path,
    *,
    components: tuple[str, ...] = COMPONENTS,
    land_types_path: str | Path | None = None,
    land_type_field: str | None = None,
    land_type_year: int | None = None,
    interventions: str | Path | None = None,
    drought_hazard: str | Path | None = None,
    hazard_min_class: int = 2,
    risk: str | Path | None = None,
    rules: str | Path | None = None,
    min_area_km2: float = 1.0,
    periods: list[str] | None = None,
    align: bool = False,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> LdnResult:
    """Land Degradation Neutrality assessment of each reporting period of an SDG run.

    Steps: land types (``components`` of the run's inputs: land cover of
    ``land_type_year``, default the baseline's first land cover year, x soil units x
    IPCC climate zones; or a user raster/vector ``land_types_path``); gains and losses
    from each period's 7-class status; the neutrality balance per land type, per admin
    unit x land type, and the verdict per unit (achieved only when every land type is);
    hotspots and brightspots (patches >= ``min_area_km2``) with attributes and priority;
    the response class of every pixel (rule table ``rules``, default the shipped one);
    and, with ``interventions`` (polygons with ``action`` avoid/reduce/reverse and
    ``effect`` 0-1), the what-if balance.

    Outputs in ``out_dir``: ``maps/land_types.tif``, ``maps/<period>/gains_losses.tif``,
    ``response.tif``, ``hotspots.tif``, ``brightspots.tif``; ``tables/`` (CSV and one
    XLSX); ``hotspots.gpkg`` (a layer per kind and period) and GeoJSON per kind and
    period; ``ldn_map.png``; ``summary.json``; ``manifest.json``.
    """
    progress = progress or NullProgress()
    run = _read_run(Path(sdg_run))
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise InputError(
            f"output folder {str(out_dir)!r} already exists. Choose another --out or pass --overwrite."
        )
    reporting = [p for p in run.periods if p != run.baseline]
    if periods:
        unknown = [p for p in periods if p not in reporting]
        if unknown:
            raise InputError(
                f"period(s) {unknown} are not reporting periods of the run; choose from {reporting}."
            )
        reporting = list(periods)
    if not reporting:
        raise InputError(
            "sdg run: it has only a baseline; LDN compares reporting periods with the baseline. "
            "Add a reporting period to the sdg1531 config."
        )
    unknown_c = [c for c in components if c not in COMPONENTS]
    if unknown_c:
        raise InputError(
            f"land type components {unknown_c} are unknown; choose from {list(COMPONENTS)} or pass "
            "--land-types FILE."
        )
    if min_area_km2 < 0:
        raise InputError(f"--min-area must be >= 0 km2, got {min_area_km2}.")
    rule_table = load_response_rules(rules)
    progress.start(3 + 2 * len(reporting))

    ref = _read_int(run.map(reporting[0], "status7.tif"), "status7")
    res_x, res_y = (abs(v) for v in ref.rio.resolution())
    area_row = pixel_area_km2(ref.y.values, res_x, res_y, ref.rio.crs)
    area = np.broadcast_to(np.asarray(area_row.values)[:, None], ref.shape)
    lc_years = sorted(
        int(p.stem.split("_")[-1])
        for p in (run.path / "maps" / "land_cover").glob("land_cover_*.tif")
    )
    if not lc_years:
        raise DataSourceError(
            f"sdg run: {str(run.path)!r} has no maps/land_cover/; run sdg1531 again."
        )
    base_lc_year = int(run.periods[run.baseline]["land_cover"][0])
    lt_year = land_type_year or base_lc_year
    if lt_year not in lc_years:
        raise InputError(f"--land-type-year {lt_year}: the run has land cover for {lc_years}.")
    lc_type = _read_int(run.map("land_cover", f"land_cover_{lt_year}.tif"), "land_cover")
    water = np.asarray(lc_type.values) == LC_WATER

    # --- land types
    if land_types_path:
        lt_da, lt_names_user = _user_land_types(Path(land_types_path), ref, land_type_field, align)
        lt, legend = land_types(
            {"user_class": lt_da}, names={"user_class": lt_names_user}, exclude=water
        )
        lt_source = f"user layer {Path(land_types_path).name}" + (
            f" (field {land_type_field})" if land_type_field else ""
        )
    else:
        comps: dict[str, xr.DataArray] = {}
        names: dict[str, dict[int, str]] = {}
        for c in components:
            if c == "land_cover":
                comps[c] = lc_type
                names[c] = dict(LC_CLASSES)
            else:
                p = run.inputs.get(c)
                if p is None:
                    raise InputError(
                        f"land type component {c!r}: the sdg run had no {c} input. Drop it with "
                        f"--components, or pass --land-types FILE."
                    )
                comps[c] = rio_io.open_on_grid(
                    ref, p, c, align=align, categorical=True, ref_name="sdg maps"
                )
                names[c] = _class_names(p) if p.suffix.lower() in (".tif", ".tiff") else {}
                if c == "climate_zones":
                    names[c] = {**climate_zone_names(), **names[c]}
        lt, legend = land_types(
            comps, names=names, exclude=water, ignore_codes={"land_cover": [LC_WATER]}
        )
        lt_source = " x ".join(
            f"{c} {lt_year}" if c == "land_cover" else f"{c} ({run.inputs[c].name})"
            for c in components
        )
    lt_arr = np.asarray(lt.values)
    lt_names = {int(r.land_type): str(r.label) for r in legend.itertuples()}
    legend["area_km2"] = np.bincount(
        lt_arr.ravel(), weights=area.ravel(), minlength=len(legend) + 1
    )[legend["land_type"].to_numpy()]
    progress.step(f"{len(legend)} land types")

    # --- admin units, population, optional layers
    zones = None
    zone_names: dict[int, str] = {}
    admin_path = run.inputs.get("admin")
    if admin_path is not None:
        gdf = vec_io.read_vector(admin_path, name="admin", layer=run.params.get("admin_layer"))
        id_f = run.params.get("admin_id_field") or "admin_id"
        name_f = run.params.get("admin_name_field") or "name"
        zones = vec_io.rasterize_ids(gdf, ref)
        zone_names = {
            i + 1: f"{gdf[id_f].iloc[i]} {gdf[name_f].iloc[i]}"
            if name_f in gdf.columns
            else str(gdf[id_f].iloc[i])
            for i in range(len(gdf))
        }
    population = None
    if run.inputs.get("population") is not None:
        pop = rio_io.open_on_grid(
            ref,
            run.inputs["population"],
            "population",
            align=align,
            categorical=False,
            ref_name="sdg maps",
        )
        population = np.where(np.asarray(pop.values) >= 0, np.asarray(pop.values, float), 0.0)
    hazard = None
    if drought_hazard:
        hz = rio_io.open_on_grid(
            ref,
            Path(drought_hazard),
            "drought_hazard",
            align=True,
            categorical=True,
            ref_name="sdg maps",
        )
        hazard = np.asarray(hz.values)
    risk_arr = None
    if risk:
        rk = rio_io.open_on_grid(
            ref, Path(risk), "risk", align=align, categorical=False, ref_name="sdg maps"
        )
        risk_arr = np.asarray(rk.values, float)
    plan = _interventions(Path(interventions), ref) if interventions else None
    progress.step("admin units, population and optional layers")

    tables: dict[str, pd.DataFrame] = {"land_types": legend}
    maps: dict[str, dict[str, np.ndarray]] = {}
    patches: dict[str, Any] = {}
    summary: dict[str, Any] = {"periods": {}}
    notes: list[str] = []
    for period in reporting:
        st = _read_int(run.map(period, "status7.tif"), "status7")
        gl = gains_losses(st)
        gl_arr = np.asarray(gl.values)
        gl_arr = np.where(lt_arr > 0, gl_arr, NODATA).astype(np.int16)
        sub = {
            k: np.asarray(_read_int(run.map(period, f"{f}.tif"), k).values)
            for k, f in (
                ("land_cover", "land_cover_degradation"),
                ("soc", "soc_degradation"),
                ("productivity", "lpd3"),
                ("lpd5", "lpd5"),
                ("performance", "performance"),
            )
        }
        changed = sum(
            (np.where(gl_arr == 1, sub[k] == 1, sub[k] == -1)).astype(np.int8)
            for k in ("land_cover", "soc", "productivity")
        )
        degree = np.where(gl_arr != 0, changed, 0)
        bal = neutrality_balance(lt, gl_arr, area, land_type_names=lt_names, degree=degree)
        tables[f"neutrality_{period}"] = bal
        parts = [bal]
        if zones is not None:
            bal_z = neutrality_balance(
                lt,
                gl_arr,
                area,
                zones=zones,
                zone_names=zone_names,
                land_type_names=lt_names,
                degree=degree,
            )
            tables[f"neutrality_by_admin_{period}"] = bal_z
            parts.append(bal_z)
        summ = neutrality_summary(pd.concat(parts, ignore_index=True))
        summ.insert(0, "period", period)
        tables[f"neutrality_summary_{period}"] = summ

        # response hierarchy
        layers: dict[str, np.ndarray] = {
            "status7": np.asarray(st.values),
            "lpd5": sub["lpd5"],
            "performance": sub["performance"],
            "land_cover": sub["land_cover"],
            "soc": sub["soc"],
        }
        if hazard is not None:
            layers["drought_hazard"] = hazard
        if risk_arr is not None:
            layers["risk"] = risk_arr
        valid = (lt_arr > 0) & (gl_arr != NODATA)
        resp, _, missing = response_class(layers, valid=valid, rules=rule_table)
        if missing:
            notes.append(
                f"{period}: response rules on {missing} matched nothing (layer not given: "
                + ", ".join(f"--{m.replace('_', '-')}" for m in missing)
                + ")"
            )
        tables[f"response_{period}"] = response_table(
            resp, area, zones=zones, zone_names=zone_names, rules=rule_table
        )
        progress.step(f"{period}: neutrality balance and response hierarchy")

        # hotspots and brightspots
        y0, y1 = (int(v) for v in run.periods[period]["land_cover"])
        lc0 = np.asarray(_read_int(run.map("land_cover", f"land_cover_{y0}.tif"), "lc").values)
        lc1 = np.asarray(_read_int(run.map("land_cover", f"land_cover_{y1}.tif"), "lc").values)
        maps[period] = {"gains_losses": gl_arr, "response": resp}
        for kind, sign in (("hotspot", -1), ("brightspot", 1)):
            labels, n = label_patches(gl_arr == sign, area, min_area_km2=min_area_km2)
            tab = patch_table(
                labels,
                n,
                kind,
                area_km2=area,
                land_cover_change=sub["land_cover"],
                productivity=sub["productivity"],
                soc_change=sub["soc"],
                lpd5=sub["lpd5"],
                lc_initial=lc0,
                lc_final=lc1,
                population=population,
                drought_hazard=hazard,
                hazard_min_class=hazard_min_class,
                land_type=lt_arr,
                land_type_names=lt_names,
                zones=zones,
                zone_names=zone_names or None,
                extra={
                    # response code + 1, so 0 stays "none" for unclassified pixels
                    "response": np.where(resp == RESPONSE_NODATA, 0, resp.astype(np.int64) + 1),
                    "land_cover_now": lc1,
                },
            )
            if "response" in tab:
                tab["response"] = [
                    rule_table.name(int(v) - 1) if v > 0 else "" for v in tab["response"]
                ]
            for c in ("land_cover", "climate_zones", "soil_units"):
                if c in legend.columns:
                    m = legend.set_index("land_type")[c]
                    tab[c] = [int(m.get(v, 0)) if v else 0 for v in tab["land_type"]]
            tab.insert(2, "period", period)
            tables[f"{kind}s_{period}"] = tab
            maps[period][f"{kind}s"] = labels
            patches[f"{kind}s_{period}"] = (labels, tab)
        if plan is not None:
            act, eff, pos, attrs = plan
            per_lt, per_iv = planned_balance(
                lt, st, area, act, eff, intervention=pos, land_type_names=lt_names
            )
            tables[f"whatif_{period}"] = per_lt
            tables[f"whatif_interventions_{period}"] = attrs.merge(
                per_iv, on="intervention", how="left"
            )
        nat = summ[summ["zone_id"] == 0].iloc[0]
        summary["periods"][period] = {
            "status": str(nat["status"]),
            "land_types": int(nat["land_types"]),
            "land_types_not_achieved": int(nat["land_types_not_achieved"]),
            "gain_km2": round(float(nat["gain_km2"]), 3),
            "loss_km2": round(float(nat["loss_km2"]), 3),
            "aggregate_net_km2": round(float(nat["aggregate_net_km2"]), 3),
            "shortfall_km2": round(float(nat["shortfall_km2"]), 3),
            "hotspots": int(len(tables[f"hotspots_{period}"])),
            "brightspots": int(len(tables[f"brightspots_{period}"])),
        }
        progress.step(f"{period}: hotspots and brightspots")

    summary.update(
        {
            "landwatch_version": landwatch.__version__,
            "sdg_run": str(run.path),
            "baseline": run.baseline,
            "land_types": {"source": lt_source, "count": int(len(legend))},
            "rules": {
                "gains": "status 6-7 (recent, persistent improvement)",
                "losses": "status 1-2 (persistent, recent degradation)",
                "neutral": "status 3-5",
                "verdict": "achieved only when every land type has net >= 0 (like for like)",
                "response_rules": rule_table.source,
                "hotspots": f"8-connected loss (gain) patches >= {min_area_km2} km2",
            },
            "notes": notes,
        }
    )
    with out_io.atomic_output_dir(out_dir, overwrite=overwrite) as tmp:
        files = _write_outputs(
            tmp, ref, lt, legend, maps, patches, tables, summary, rule_table, run
        )
        manifest = {
            "tool": "landwatch",
            "version": landwatch.__version__,
            "workflow": "ldn",
            "finished": dt.datetime.now(dt.UTC).isoformat(),
            "inputs": {
                "sdg_run": str(run.path),
                "land_types": str(land_types_path) if land_types_path else None,
                "interventions": str(interventions) if interventions else None,
                "drought_hazard": str(drought_hazard) if drought_hazard else None,
                "risk": str(risk) if risk else None,
                "rules": rule_table.source,
            },
            "parameters": {
                "components": list(components) if not land_types_path else None,
                "land_type_field": land_type_field,
                "land_type_year": lt_year,
                "hazard_min_class": hazard_min_class,
                "min_area_km2": min_area_km2,
                "periods": reporting,
                "align": align,
            },
            "outputs": sorted(str(f.relative_to(tmp)) for f in files),
        }
        out_io.write_json(manifest, tmp / "manifest.json")
    progress.step("wrote maps, tables and hotspot polygons")
    return LdnResult(
        out_dir=out_dir,
        tables=tables,
        files=[out_dir / f.relative_to(tmp) for f in files],
        summary=summary,
    )


def _write_outputs(
    tmp: Path,
    ref: xr.DataArray,
    lt: xr.DataArray,
    legend: pd.DataFrame,
    maps: dict[str, dict[str, np.ndarray]],
    patches: dict[str, Any],
    tables: dict[str, pd.DataFrame],
    summary: dict[str, Any],
    rules: Any,
    run: _Run,
) -> list[Path]:
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    history = f"{stamp} landwatch {landwatch.__version__} ldn (sdg run {run.path.name})"
    (tmp / "maps").mkdir()
    files = [
        rio_io.write_cog(
            lt.rio.write_crs(ref.rio.crs),
            tmp / "maps" / "land_types.tif",
            nodata=0,
            class_names={int(r.land_type): str(r.label) for r in legend.itertuples()},
            tags={"history": history},
        )
    ]
    crs, transform = ref.rio.crs, ref.rio.transform()
    for period, layers in maps.items():
        folder = tmp / "maps" / period
        folder.mkdir()
        specs = {
            "gains_losses": (
                "LDN gains (1) and losses (-1) against the baseline",
                NODATA,
                {-1: "Loss", 0: "Neutral", 1: "Gain"},
                np.int16,
            ),
            "response": (
                "LDN response hierarchy",
                RESPONSE_NODATA,
                {k: v["name"] for k, v in rules.classes.items()},
                np.uint8,
            ),
            "hotspots": ("hotspot patch id (1 = largest)", 0, None, np.int32),
            "brightspots": ("brightspot patch id (1 = largest)", 0, None, np.int32),
        }
        for name, (long_name, nodata, classes, dtype) in specs.items():
            da = xr.DataArray(
                layers[name].astype(dtype),
                dims=("y", "x"),
                coords={"y": ref.y, "x": ref.x},
                attrs={"long_name": long_name, "units": "1"},
            ).rio.write_crs(crs)
            files.append(
                rio_io.write_cog(
                    da,
                    folder / f"{name}.tif",
                    nodata=nodata,
                    class_names=classes,
                    tags={"history": history, "period": period},
                )
            )
    files += out_io.write_tables(tables, tmp / "tables")
    gpkg = tmp / "hotspots.gpkg"
    for key, (labels, tab) in patches.items():
        poly = patch_polygons(labels, transform, crs)
        gdf = poly.merge(tab, on="patch", how="right").set_geometry("geometry")
        gdf = gdf.set_crs(crs, allow_override=True)
        if gdf.empty:
            gdf = gdf.astype({"geometry": "geometry"})
        gdf.to_file(gpkg, layer=key, driver="GPKG")
        gj = tmp / f"{key}.geojson"
        gdf.to_crs(4326).to_file(gj, driver="GeoJSON")
        files.append(gj)
    files.append(gpkg)
    files.append(_map_png(tmp / "ldn_map.png", maps, patches, ref, rules))
    files.append(out_io.write_json(summary, tmp / "summary.json"))
    return files


def _map_png(
    path: Path,
    maps: dict[str, dict[str, np.ndarray]],
    patches: dict[str, Any],
    ref: xr.DataArray,
    rules: Any,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    periods = list(maps)
    fig, axes = plt.subplots(2, len(periods), figsize=(5.2 * len(periods), 9.6), squeeze=False)
    b = ref.rio.bounds()
    extent = (b[0], b[2], b[1], b[3])
    gl_cmap = ListedColormap(["#c0392b", "#f2eadf", "#1e8449"])
    resp_colors = {0: "#d5e8d4", 1: "#f9d976", 2: "#f39c12", 3: "#922b21"}
    codes = sorted(rules.classes)
    rc = ListedColormap([resp_colors.get(c, "#999999") for c in codes])
    for j, period in enumerate(periods):
        gl = maps[period]["gains_losses"].astype(float)
        gl[gl == NODATA] = np.nan
        ax = axes[0, j]
        ax.imshow(
            gl,
            cmap=gl_cmap,
            norm=BoundaryNorm([-1.5, -0.5, 0.5, 1.5], 3),
            extent=extent,
            interpolation="nearest",
        )
        hs = maps[period]["hotspots"]
        if hs.max() > 0:
            ax.contour(
                np.linspace(b[0], b[2], hs.shape[1]),
                np.linspace(b[3], b[1], hs.shape[0]),
                (hs > 0).astype(float),
                levels=[0.5],
                colors="black",
                linewidths=0.6,
            )
        ax.set_title(f"Gains and losses, {period}\n(hotspots outlined)")
        ax.legend(
            handles=[
                Patch(color="#c0392b", label="loss"),
                Patch(color="#f2eadf", label="neutral"),
                Patch(color="#1e8449", label="gain"),
            ],
            loc="lower left",
            fontsize=8,
        )
        r = maps[period]["response"].astype(float)
        r[r == RESPONSE_NODATA] = np.nan
        ax = axes[1, j]
        ax.imshow(
            r,
            cmap=rc,
            norm=BoundaryNorm([c - 0.5 for c in codes] + [codes[-1] + 0.5], len(codes)),
            extent=extent,
            interpolation="nearest",
        )
        ax.set_title(f"Response hierarchy, {period}")
        ax.legend(
            handles=[
                Patch(color=resp_colors.get(c, "#999999"), label=rules.name(c)) for c in codes
            ],
            loc="lower left",
            fontsize=8,
        )
    for ax in axes.ravel():
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
        ax.annotate(
            "N",
            xy=(0.95, 0.95),
            xytext=(0.95, 0.85),
            xycoords="axes fraction",
            ha="center",
            arrowprops={"arrowstyle": "-|>", "color": "black"},
        )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
