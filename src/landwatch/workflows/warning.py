"""Drought early warning: CDI classes -> unit alert levels -> alerts in the database ->
CAP 1.2 messages, Atom feed, GeoJSON, CSV and an HTML bulletin.

``landwatch warn run`` calls :func:`run_alerts`; it computes nothing itself.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import landwatch
from landwatch.errors import InputError
from landwatch.indices.land.area import pixel_area_km2
from landwatch.io import outputs as out_io
from landwatch.io import rasters as rio_io
from landwatch.io import vectors as vec_io
from landwatch.store import init_db, session_scope
from landwatch.store.alerts import DroughtAlert
from landwatch.warning.alerts import (
    active_alerts,
    messages_in_months,
    month_label,
    prior_consecutive,
    unit_month_table,
    update_alerts,
)
from landwatch.warning.cap import validate_cap, write_cap
from landwatch.warning.feed import atom_feed
from landwatch.warning.messages import compose_message, unit_area
from landwatch.warning.situation import (
    alerts_table,
    messages_table,
    situation_geojson,
    situation_table,
)
from landwatch.warning.thresholds import assess_units, load_alert_rules, unit_drought_statistics
from landwatch.workflows.cluster import spatial_chunks
from landwatch.workflows.progress import NullProgress, Progress

#: CAP sender when none is given; set it to the warning service's address or domain
DEFAULT_SENDER = "landwatch@localhost"


@dataclass
class WarningResult:
    """What :func:`run_alerts` did and wrote.

    Attributes
    ----------
    out_dir : Path
        The output folder.
    months : list of str
        Months of the CDI (``YYYY-MM``).
    bulletin_month : str
        Month of the bulletin, GeoJSON and situation table.
    new_messages : int
        Messages created by this run (0 when every month was already processed).
    started, ended : int
        Alerts started and ended by this run.
    skipped : int
        Unit-months already in the database (left unchanged).
    situation : pandas.DataFrame
        The situation per unit in ``bulletin_month``.
    files : list of Path
        Files written.
    """

    out_dir: Path
    months: list[str]
    bulletin_month: str
    new_messages: int
    started: int
    ended: int
    skipped: int
    situation: pd.DataFrame
    files: list[Path] = field(default_factory=list)


def _read_units(admin: Path, layer: str | None, id_field: str, name_field: str) -> Any:
    gdf = vec_io.read_vector(admin, name="admin", layer=layer)
    for fld in (id_field, name_field):
        if fld not in gdf.columns:
            raise InputError(
                f"admin: {admin.name} has no field {fld!r}; fields are "
                f"{[c for c in gdf.columns if c != 'geometry']}. "
                "Pass --admin-id-field/--admin-name-field."
            )
    ids = gdf[id_field].astype(str)
    dup = sorted(set(ids[ids.duplicated()]))
    if dup:
        raise InputError(
            f"admin: {admin.name} has repeated {id_field} values {dup[:5]}; every unit needs "
            "its own code (alerts are kept per code)."
        )
    if len(ids.str.len()) and int(ids.str.len().max()) > 64:
        raise InputError(f"admin: {id_field} values longer than 64 characters are not supported.")
    return gdf.assign(unit_id=ids, unit_name=gdf[name_field].astype(str))


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL fails later in init_db with its own message
        return "<unparsable>"


def run_alerts(
    cdi: str | Path,
    out_dir: str | Path,
    *,
    admin: str | Path,
    land_cover: str | Path,
    population: str | Path,
    admin_layer: str | None = None,
    admin_id_field: str = "admin_id",
    admin_name_field: str = "name",
    cdi_variable: str | None = None,
    rules: str | Path | None = None,
    database_url: str | None = None,
    is_forecast: bool = False,
    certainty: str | None = None,
    sender: str = DEFAULT_SENDER,
    status: str = "Actual",
    bulletin_month: str | None = None,
    title: str = "Drought bulletin",
    polygon_tolerance: float = 0.01,
    base_url: str | None = None,
    align: bool = False,
    overwrite: bool = False,
    sent: dt.datetime | None = None,
    progress: Progress | None = None,
    chunks: int | None = None,
) -> WarningResult:
    """Drought alerts per admin unit from a monthly CDI class cube, with every output.

    Parameters
    ----------
    cdi : path
        Monthly Combined Drought Indicator classes (time, y, x), NetCDF/Zarr or a
        multi-band GeoTIFF with dated bands; codes of ``data/cdi_classes.csv``.
    out_dir : path
        Output folder, written atomically (nothing is left half-written).
    admin : path
        Admin unit polygons (GeoPackage, GeoJSON, Shapefile) with a code and a name field.
    land_cover : path
        UNCCD 7-class land cover (y, x) on the CDI grid.
    population : path
        Persons per pixel (y, x) on the CDI grid.
    admin_layer, admin_id_field, admin_name_field : str
        Layer and fields of ``admin``.
    cdi_variable : str, optional
        Variable of a NetCDF/Zarr holding several.
    rules : path, optional
        Regional alert rules (YAML); default ``landwatch/data/alert_rules.yaml``.
    database_url : str, optional
        Database (default ``LANDWATCH_DATABASE_URL`` or SQLite in the data folder).
    is_forecast : bool
        The CDI is a forecast: alerts go to the forecast stream.
    certainty : str, optional
        CAP certainty of forecast alerts (``Likely`` default, or ``Possible``).
    sender : str
        CAP sender (the warning service's address or domain).
    status : str
        CAP status (``Actual``; ``Exercise``/``Test``/``Draft`` for trials).
    bulletin_month : str, optional
        ``YYYY-MM`` of the bulletin and GeoJSON (default the last CDI month).
    title : str
        Bulletin and feed title.
    polygon_tolerance : float
        Simplification of CAP polygons, degrees.
    base_url : str, optional
        URL the output folder is published at; feed links become absolute.
    align : bool
        Resample land cover (nearest) and population (sum) onto the CDI grid.
    overwrite : bool
        Replace an existing output folder.
    sent : datetime, optional
        Time of the new messages (aware; default now).
    progress : Progress, optional
        Receives step messages.
    chunks : int, optional
        Spatial dask chunks of the CDI cube (None: in memory); each month is then read
        and counted chunk by chunk on the active Dask scheduler.

    Returns
    -------
    WarningResult

    Raises
    ------
    InputError, CRSMismatchError, DataSourceError
        Bad inputs, grids that do not align (without ``align``), bad rules.

    Notes
    -----
    Output folder: ``cap/<identifier>.xml`` (every message of the CDI months, each
    validated against the OASIS CAP 1.2 schema), ``alerts.atom``,
    ``situation_<month>.geojson``, ``tables/unit_months.csv``,
    ``tables/alert_messages.csv``, ``tables/alerts.csv``, ``bulletin_<month>.html``
    and ``manifest.json``. Months already in the database are not processed again;
    their stored messages are written again unchanged.
    """
    progress = progress or NullProgress()
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise InputError(
            f"output folder {str(out_dir)!r} already exists. Choose another --out or pass --overwrite."
        )
    if status not in ("Actual", "Exercise", "System", "Test", "Draft"):
        raise InputError(
            f"status {status!r} is not a CAP status; expected Actual, Exercise, System, Test or Draft."
        )
    progress.start(6)
    alert_rules = load_alert_rules(rules)
    cube = rio_io.open_raster(
        Path(cdi), name="cdi", variable=cdi_variable, chunks=spatial_chunks(chunks)
    )
    if "time" not in cube.dims:
        raise InputError(
            f"cdi: {Path(cdi).name} has no time dimension; expected monthly classes (time, y, x)."
        )
    ref = cube.isel(time=0, drop=True)
    lc = rio_io.open_on_grid(
        ref, Path(land_cover), "land_cover", align=align, categorical=True, ref_name="cdi"
    )
    pop = rio_io.open_on_grid(
        ref,
        Path(population),
        "population",
        align=align,
        categorical=False,
        ref_name="cdi",
        sum_preserving=True,
    )
    units = _read_units(Path(admin), admin_layer, admin_id_field, admin_name_field)
    zones = vec_io.rasterize_ids(units, ref)
    res_x, res_y = (abs(v) for v in ref.rio.resolution())
    area = pixel_area_km2(np.asarray(ref.y), res_x, res_y, ref.rio.crs)
    progress.step("read CDI, land cover, population and admin units")

    stats = unit_drought_statistics(
        cube, zones, lc.values, pop.values, area.values, rules=alert_rules
    )
    pos = stats["unit"].to_numpy() - 1
    stats = stats.assign(unit=units["unit_id"].to_numpy()[pos])
    names = dict(zip(units["unit_id"], units["unit_name"], strict=True))
    months = sorted(set(stats["month"])) if not stats.empty else []
    if not months:
        raise InputError(
            "admin: no admin unit covers a pixel of the CDI grid; check that the units and "
            "the CDI cover the same region (and the CRS of both)."
        )
    month = bulletin_month or months[-1]
    if month not in months:
        raise InputError(
            f"bulletin month {month} is not in the CDI months {months[0]}..{months[-1]}."
        )
    progress.step("shares and exposure per unit and month")

    engine = init_db(database_url)
    geoms = units.to_crs(4326)
    geom_of = dict(zip(geoms["unit_id"], geoms.geometry, strict=True))
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        prior = prior_consecutive(session, months[0], is_forecast=is_forecast)
        assessed = assess_units(stats, alert_rules, prior=prior).rename(columns={"unit": "unit_id"})
        assessed["unit_name"] = assessed["unit_id"].map(names)
        life = update_alerts(
            session, assessed, alert_rules, is_forecast=is_forecast, certainty=certainty, sent=sent
        )
        progress.step("alert lifecycle in the database")

        unit_months = unit_month_table(session, months, is_forecast=is_forecast)
        stored = messages_in_months(session, months, is_forecast=is_forecast)
        alerts: dict[int, DroughtAlert] = {m.alert.id: m.alert for m in stored}
        for a in active_alerts(session, is_forecast=is_forecast):
            alerts.setdefault(a.id, a)
        cap_msgs = [
            compose_message(
                m,
                rules=alert_rules,
                sender=sender,
                status=status,
                area=unit_area(
                    m.alert.unit_id,
                    m.alert.unit_name,
                    geom_of.get(m.alert.unit_id),
                    geocode_name=admin_id_field,
                    tolerance=polygon_tolerance,
                ),
            )
            for m in stored
        ]
        level_of = {m.identifier: m.level for m in stored}
        situation = situation_table(
            unit_months, month, units[["unit_id", "unit_name"]], alert_rules, stored
        )
        msg_table = messages_table(stored)
        alert_table = alerts_table(sorted(alerts.values(), key=lambda a: a.identifier))
        progress.step("CAP messages composed")

        from landwatch.reports.drought_bulletin import render_bulletin

        prefix = base_url.rstrip("/") + "/" if base_url else ""
        with out_io.atomic_output_dir(out_dir, overwrite=overwrite) as tmp:
            files: list[Path] = []
            (tmp / "cap").mkdir()
            for msg in cap_msgs:
                files.append(write_cap(msg, tmp / "cap" / f"{msg.identifier}.xml"))
            for f in files:  # every file as written, once more from disk
                report = validate_cap(f)
                if not report.valid:
                    raise InputError(f"{f.name}: not valid CAP 1.2: {report.errors}")
            feed = tmp / "alerts.atom"
            feed.write_bytes(
                atom_feed(
                    cap_msgs,
                    title=f"{title} - drought alerts" + (" (forecast)" if is_forecast else ""),
                    updated=sent or now,
                    cap_href=lambda m: f"{prefix}cap/{m.identifier}.xml",
                    self_href=f"{prefix}alerts.atom",
                    author=alert_rules.sender_name,
                    subtitle="CAP 1.2 drought alerts per admin unit from the Combined "
                    "Drought Indicator",
                    levels=level_of,
                )
            )
            files.append(feed)
            gj = tmp / f"situation_{month}.geojson"
            gj.write_text(
                json.dumps(situation_geojson(geoms, situation), indent=1, allow_nan=False)
            )
            files.append(gj)
            tables = tmp / "tables"
            tables.mkdir()
            for name, df in (
                ("unit_months", unit_months),
                ("alert_messages", msg_table),
                ("alerts", alert_table),
            ):
                df.to_csv(tables / f"{name}.csv", index=False)
                files.append(tables / f"{name}.csv")
            month_msgs = [
                c for c, m in zip(cap_msgs, stored, strict=True) if month_label(m.month) == month
            ]
            html = tmp / f"bulletin_{month}.html"
            html.write_text(
                render_bulletin(
                    situation,
                    geoms,
                    alert_rules,
                    month=month,
                    messages=month_msgs,
                    levels_of=level_of,
                    title=title,
                    is_forecast=is_forecast,
                    issued=sent or now,
                ),
                encoding="utf-8",
            )
            files.append(html)
            manifest = {
                "tool": "landwatch",
                "version": landwatch.__version__,
                "workflow": "warning",
                "finished": dt.datetime.now(dt.UTC).isoformat(),
                "inputs": {
                    "cdi": str(cdi),
                    "admin": str(admin),
                    "land_cover": str(land_cover),
                    "population": str(population),
                    "rules": alert_rules.source,
                    "database": _safe_url(str(engine.url)),
                },
                "parameters": {
                    "is_forecast": is_forecast,
                    "certainty": certainty,
                    "sender": sender,
                    "status": status,
                    "align": align,
                    "polygon_tolerance_deg": polygon_tolerance,
                    "end_after_months": alert_rules.end_after_months,
                },
                "months": months,
                "bulletin_month": month,
                "run": {
                    "new_messages": len(life.messages),
                    "alerts_started": life.count("start"),
                    "alerts_ended": life.count("end"),
                    "unit_months_recorded": life.recorded,
                    "unit_months_already_processed": len(life.skipped),
                },
                "units_without_pixels": sorted(set(units["unit_id"]) - set(stats["unit"])),
                "outputs": sorted(str(f.relative_to(tmp)) for f in files),
            }
            out_io.write_json(manifest, tmp / "manifest.json")
            files.append(tmp / "manifest.json")
            rel = [f.relative_to(tmp) for f in files]
        progress.step("wrote CAP, feed, GeoJSON, tables and bulletin")
    progress.step("done")
    return WarningResult(
        out_dir=out_dir,
        months=months,
        bulletin_month=month,
        new_messages=len(life.messages),
        started=life.count("start"),
        ended=life.count("end"),
        skipped=len(life.skipped),
        situation=situation,
        files=[out_dir / r for r in rel],
    )


def alert_status(
    database_url: str | None = None, *, is_forecast: bool | None = None
) -> pd.DataFrame:
    """Active alerts in the database, one row each (for ``landwatch warn status``)."""
    engine = init_db(database_url)
    with session_scope(engine) as session:
        return alerts_table(active_alerts(session, is_forecast=is_forecast))
