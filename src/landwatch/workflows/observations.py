"""Community observations: add, import, export, validate, check against a run, and
write SDG 15.3.1 correction polygons.

The CLI (``landwatch observe``) and the API call these functions; they open the
database (``url``, else ``LANDWATCH_DATABASE_URL``, else SQLite in the data
directory), join the rules of :mod:`landwatch.observations` with the files of
:mod:`landwatch.io.observations`, and commit everything or nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, select

from landwatch.errors import DataSourceError, InputError
from landwatch.io import observations as obs_io
from landwatch.observations import checks, corrections, records
from landwatch.store import init_db, session_scope
from landwatch.store.db import data_dir as default_data_dir
from landwatch.store.observations import Observation

#: Columns of an export: the observation fields, with the internal ``photo_path``
#: replaced by ``photo``, the photo file relative to the exported file.
EXPORT_COLUMNS: tuple[str, ...] = tuple("photo" if f == "photo_path" else f for f in records.FIELDS)
_PHOTO_META = ("photo_sha256", "photo_media_type", "photo_bytes")


def _engine(url: str | None) -> Engine:
    return init_db(url)


def _data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    return Path(data_dir) if data_dir else default_data_dir()


# --------------------------------------------------------------------------- add


def add_observation(
    fields: Mapping[str, Any],
    *,
    photo: str | os.PathLike[str] | None = None,
    url: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    photo_max_bytes: int = obs_io.PHOTO_MAX_BYTES,
    today: dt.date | None = None,
) -> Observation:
    """Validate and store one observation, with its photo if given.

    Parameters
    ----------
    fields : mapping
        Observation fields (see :func:`landwatch.observations.records.validate_observation_fields`).
    photo : path-like, optional
        A JPEG, PNG or WebP file; copied under ``<data dir>/observations/photos``.
    url : str, optional
        Database URL.
    data_dir : path-like, optional
        Where photos are stored (default ``LANDWATCH_DATA_DIR``).
    photo_max_bytes : int
        Photo size limit.
    today : datetime.date, optional
        Reference date for "not in the future".

    Returns
    -------
    Observation
        The stored row (detached).
    """
    fields = dict(fields)
    bad = [k for k in ("photo_path", *_PHOTO_META) if k in fields]
    if bad:
        raise InputError(f"{bad[0]}: set by the photo file; pass the photo instead.")
    records.validate_observation_fields(fields, today=today)  # fail before copying a photo
    info = obs_io.inspect_photo(photo, max_bytes=photo_max_bytes) if photo else None
    ddir = _data_dir(data_dir)
    created = False
    if info is not None:
        fields.update(
            photo_path=info.stored_path,
            photo_sha256=info.sha256,
            photo_media_type=info.media_type,
            photo_bytes=info.size,
        )
    engine = _engine(url)
    try:
        if info is not None:
            _, created = obs_io.store_photo(info, ddir)
        with session_scope(engine) as session:
            return records.create_observation(session, fields, today=today)
    except BaseException:
        if created and info is not None:
            obs_io.remove_stored_photo(ddir, info.stored_path)
        raise


# --------------------------------------------------------------------------- import


@dataclass
class ImportResult:
    """What an import did: uuids inserted and uuids skipped as already present."""

    path: Path
    inserted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def import_observations(
    path: str | os.PathLike[str],
    *,
    url: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    on_duplicate: Literal["error", "skip"] = "error",
    photo_max_bytes: int = obs_io.PHOTO_MAX_BYTES,
    today: dt.date | None = None,
) -> ImportResult:
    """Import observations from CSV or GeoJSON, all or nothing.

    Every row is validated (and every photo checked) before anything is written; the
    first bad row stops the import with a message naming the file, the row (or
    feature) and the column, and nothing is inserted.

    Parameters
    ----------
    path : path-like
        ``.csv`` or ``.geojson`` with the columns of :data:`EXPORT_COLUMNS` (only
        ``lon``, ``lat``, ``observed_on``, ``observer_role`` and ``category`` are
        required). ``photo`` is a file path relative to the imported file. Without a
        ``source`` column, ``source`` is set to ``"import <file name>"``.
    url : str, optional
        Database URL.
    data_dir : path-like, optional
        Where photos are stored.
    on_duplicate : {"error", "skip"}
        What to do with a uuid already in the database.
    photo_max_bytes : int
        Photo size limit.
    today : datetime.date, optional
        Reference date for "not in the future".

    Returns
    -------
    ImportResult

    Raises
    ------
    InputError
        A bad header, row or photo; nothing was imported.
    """
    if on_duplicate not in ("error", "skip"):
        raise InputError(f"on_duplicate: {on_duplicate!r}; expected 'error' or 'skip'.")
    table = obs_io.read_observation_file(path)
    name = table.path.name
    allowed = set(EXPORT_COLUMNS)
    for col in table.columns:
        if col == "photo_path":
            raise InputError(
                f"{name}: column photo_path is internal to the database; give the photo file "
                "(relative to this file) in column 'photo'. Nothing was imported."
            )
        if col not in allowed:
            raise InputError(
                f"{name}: unknown column {col!r}. Known columns: {', '.join(EXPORT_COLUMNS)}. "
                "Rename or remove it; nothing was imported."
            )
    engine = _engine(url)
    with session_scope(engine) as session:
        existing = set(session.scalars(select(Observation.uuid)))
    values_list: list[tuple[int, dict[str, Any], obs_io.PhotoFile | None]] = []
    seen: dict[str, int] = {}
    result = ImportResult(path=table.path)
    for number, cells in table.rows:
        where = f"{name}, {table.unit} {number}"
        fields = dict(cells)
        photo_cell = fields.pop("photo", None)
        info = None
        try:
            if photo_cell not in (None, ""):
                info = _import_photo(str(photo_cell), fields, table.base_dir, photo_max_bytes)
            elif any(fields.get(k) not in (None, "") for k in _PHOTO_META):
                raise records.ObservationFieldError(
                    "photo",
                    "is empty but photo_sha256/photo_media_type/photo_bytes are given; "
                    "give the photo file or clear those columns.",
                )
            if "source" not in table.columns:
                fields["source"] = f"import {name}"
            values = records.validate_observation_fields(fields, today=today)
        except records.ObservationFieldError as exc:
            raise InputError(
                f"{where}, column {exc.field}: {exc.reason} Nothing was imported."
            ) from exc
        except (InputError, DataSourceError) as exc:  # photo checks
            reason = str(exc).removeprefix("photo: ")
            raise InputError(f"{where}, column photo: {reason} Nothing was imported.") from exc
        uid = values["uuid"]
        if uid in seen:
            raise InputError(
                f"{where}, column uuid: {uid} repeats {table.unit} {seen[uid]}. Remove one of "
                "them; nothing was imported."
            )
        seen[uid] = number
        if uid in existing:
            if on_duplicate == "skip":
                result.skipped.append(uid)
                continue
            raise InputError(
                f"{where}, column uuid: observation {uid} is already in the database. Pass "
                "--skip-existing to import only the new ones; nothing was imported."
            )
        values_list.append((number, values, info))

    ddir = _data_dir(data_dir)
    stored: list[str] = []
    try:
        for _, _, info in values_list:
            if info is not None:
                rel, created = obs_io.store_photo(info, ddir)
                if created:
                    stored.append(rel)
        with session_scope(engine) as session:
            for _, values, _ in values_list:
                session.add(Observation(**values))
            session.flush()
    except BaseException:
        for rel in stored:
            obs_io.remove_stored_photo(ddir, rel)
        raise
    result.inserted = [v["uuid"] for _, v, _ in values_list]
    return result


def _import_photo(
    cell: str, fields: dict[str, Any], base_dir: Path, max_bytes: int
) -> obs_io.PhotoFile:
    p = Path(cell)
    info = obs_io.inspect_photo(p if p.is_absolute() else base_dir / p, max_bytes=max_bytes)
    sha = fields.get("photo_sha256")
    if sha not in (None, "") and str(sha).strip().lower() != info.sha256:
        raise records.ObservationFieldError(
            "photo_sha256",
            f"does not match the file {p.name} (its SHA-256 is {info.sha256}); "
            "the photo was changed or the wrong file is referenced.",
        )
    fields.update(
        photo_path=info.stored_path,
        photo_sha256=info.sha256,
        photo_media_type=info.media_type,
        photo_bytes=info.size,
    )
    return info


# --------------------------------------------------------------------------- export


@dataclass
class ExportResult:
    path: Path
    count: int
    photos: int


def _json_fields(obs: Observation) -> dict[str, Any]:
    text = records.observation_text_fields(obs)
    out: dict[str, Any] = {k: (v if v != "" else None) for k, v in text.items()}
    out["lon"], out["lat"] = obs.lon, obs.lat
    out["lik_indicator"] = bool(obs.lik_indicator)
    out["photo_bytes"] = obs.photo_bytes
    out["map_value"] = obs.map_value
    return out


def export_observations(
    path: str | os.PathLike[str],
    *,
    url: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    **filters: Any,
) -> ExportResult:
    """Export observations as CSV or GeoJSON (by the suffix), with their photos.

    Photos are copied into ``<file stem>_photos/`` beside the file and referenced in
    column ``photo`` relative to it, so the pair can be moved and imported elsewhere.

    Parameters
    ----------
    path : path-like
        ``.csv`` or ``.geojson``.
    url : str, optional
        Database URL.
    data_dir : path-like, optional
        Where the photos are stored.
    **filters
        Passed to :func:`landwatch.observations.records.query_observations`
        (``status``, ``category``, ``admin_id``, ``since``, ``until``, ``lik_only``,
        ``flag``, ``bbox``).

    Returns
    -------
    ExportResult
        The file, the number of observations and of photos written.
    """
    out = Path(path)
    fmt = "csv" if out.suffix.lower() == ".csv" else "geojson"
    ddir = _data_dir(data_dir)
    with session_scope(_engine(url)) as session:
        rows = records.query_observations(session, **filters)
        recs: list[dict[str, Any]] = []
        photos: list[tuple[Path, str]] = []
        photo_folder = f"{out.stem}_photos"
        for obs in rows:
            rec: dict[str, Any] = (
                records.observation_text_fields(obs) if fmt == "csv" else _json_fields(obs)
            )
            rel = rec.pop("photo_path")
            rec["photo"] = "" if fmt == "csv" else None
            if rel:
                src = obs_io.stored_photo(ddir, rel, name=f"observation {obs.uuid}")
                rec["photo"] = f"{photo_folder}/{src.name}"
                photos.append((src, rec["photo"]))
            recs.append(rec)
    if photos:
        import shutil

        (out.parent / photo_folder).mkdir(parents=True, exist_ok=True)
        for src, rel in photos:
            shutil.copyfile(src, out.parent / rel)
    obs_io.write_observation_file(recs, EXPORT_COLUMNS, out)
    return ExportResult(path=out, count=len(recs), photos=len(photos))


def list_observations(*, url: str | None = None, **filters: Any) -> list[Observation]:
    """Observations matching the filters of
    :func:`~landwatch.observations.records.query_observations` (detached rows)."""
    with session_scope(_engine(url)) as session:
        return records.query_observations(session, **filters)


# --------------------------------------------------------------------------- validate


def set_validation(
    key: str,
    status: str,
    *,
    by: str,
    note: str | None = None,
    url: str | None = None,
) -> Observation:
    """Confirm, reject or return an observation for review (see
    :func:`~landwatch.observations.records.set_validation_status`)."""
    with session_scope(_engine(url)) as session:
        return records.set_validation_status(session, key, status, by=by, note=note)


# --------------------------------------------------------------------------- check


@dataclass
class CheckSummary:
    """Result of checking the observations against a run."""

    run: Path
    layer: str
    counts: dict[str, int]
    results: list[dict[str, Any]]
    admin_assigned: int = 0
    notes: list[str] = field(default_factory=list)


def _assign_admin(
    run: obs_io.RunFolder, observations: Sequence[Observation]
) -> tuple[int, str | None]:
    """Set ``admin_id`` from the run's admin polygons where the observer gave none."""
    todo = [o for o in observations if not o.admin_id]
    if not todo or run.admin_path is None:
        return 0, None
    if not run.admin_path.is_file():
        return 0, f"admin units not assigned: {run.admin_path} no longer exists"
    import geopandas as gpd

    from landwatch.io import vectors as vec_io

    admin = vec_io.read_vector(run.admin_path, name="admin", layer=run.admin_layer).to_crs(4326)
    if run.admin_id_field not in admin.columns:
        return 0, f"admin units not assigned: {run.admin_path.name} has no {run.admin_id_field!r}"
    pts = gpd.GeoDataFrame(
        {"i": range(len(todo))},
        geometry=gpd.points_from_xy([o.lon for o in todo], [o.lat for o in todo]),
        crs=4326,
    )
    joined = gpd.sjoin(
        pts, admin[[run.admin_id_field, "geometry"]], how="left", predicate="intersects"
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    n = 0
    for i, value in zip(joined["i"], joined[run.admin_id_field], strict=True):
        if isinstance(value, str) or (value is not None and value == value):  # not NaN
            todo[int(i)].admin_id = str(value)
            n += 1
    return n, None


def check_observations(
    run_dir: str | os.PathLike[str],
    *,
    url: str | None = None,
    layer: str = "sdg",
    period: str | None = None,
    assign_admin: bool = True,
) -> CheckSummary:
    """Check every observation (except rejected ones) against the maps of a run.

    Each observation is read against ``maps/<period>/<layer>.tif`` of the period it
    speaks to (:func:`~landwatch.observations.checks.choose_period`, or ``period``).
    For ``layer="sdg"`` the uncorrected map is used when the run applied corrections,
    so that a confirmed correction keeps being recognised as one on later runs. The
    flag, map value, layer and run are stored on each observation.

    Parameters
    ----------
    run_dir : path-like
        Output folder of ``landwatch sdg1531``.
    url : str, optional
        Database URL.
    layer : {"sdg", "lpd3", "lpd5"}
        The map to compare with.
    period : str, optional
        Compare every observation with this period instead.
    assign_admin : bool
        Fill in missing ``admin_id`` from the run's admin units.

    Returns
    -------
    CheckSummary
        Counts per flag and one result per observation.
    """
    if layer not in checks.LAYER_CLASSES:
        raise InputError(f"layer: {layer!r}; expected one of {', '.join(checks.LAYER_CLASSES)}.")
    run = obs_io.read_run_folder(run_dir)
    if period is not None and period not in run.periods:
        raise InputError(
            f"period: {period!r} is not in the run {run.path.name}; its periods are "
            f"{list(run.periods)}."
        )
    now = dt.datetime.now(dt.UTC)
    summary = CheckSummary(run=run.path, layer=layer, counts={}, results=[])
    with session_scope(_engine(url)) as session:
        rows = records.query_observations(
            session, status=("submitted", "confirmed", "needs_review")
        )
        if assign_admin:
            summary.admin_assigned, note = _assign_admin(run, rows)
            if note:
                summary.notes.append(note)
        groups: dict[str, list[Observation]] = {}
        for obs in rows:
            groups.setdefault(
                period or checks.choose_period(obs.observed_on, run.periods), []
            ).append(obs)
        for per, group in groups.items():
            file_layer = layer
            if layer == "sdg" and (run.path / "maps" / per / "sdg_uncorrected.tif").is_file():
                file_layer = "sdg_uncorrected"
            sample = obs_io.sample_raster_at_points(
                run.map_path(per, file_layer), [o.lon for o in group], [o.lat for o in group]
            )
            for obs, value, inside in zip(group, sample.values, sample.inside, strict=True):
                result = checks.check_observation(
                    obs, float(value), inside=bool(inside), period=per, layer=file_layer
                )
                checks.record_check(obs, result, run=str(run.path.resolve()), when=now)
                summary.results.append(
                    {
                        "uuid": obs.uuid,
                        "flag": result.flag,
                        "map_layer": result.layer,
                        "map_value": result.map_value,
                        "observed_state": checks.observed_land_state(obs),
                        "validation_status": obs.validation_status,
                    }
                )
    summary.counts = dict(Counter(r["flag"] for r in summary.results))
    return summary


# --------------------------------------------------------------------------- corrections


@dataclass
class CorrectionsResult:
    path: Path
    used: list[str]
    skipped: list[tuple[str, str]]
    overlaps: list[tuple[str, str]]
    periods: list[str]


def write_corrections(
    out: str | os.PathLike[str],
    *,
    url: str | None = None,
    radius_m: float = corrections.DEFAULT_RADIUS_M,
    periods: Sequence[str] | None = None,
) -> CorrectionsResult:
    """Write the SDG 15.3.1 correction polygons of confirmed contradicting observations.

    The GeoJSON is what ``corrections:`` in a run configuration reads; the next
    ``landwatch sdg1531`` run recodes the indicator inside the polygons and lists
    them in ``tables/corrections.csv``.

    Parameters
    ----------
    out : path-like
        ``.geojson`` file to write (replaced only when complete).
    url : str, optional
        Database URL.
    radius_m : float
        Circle radius around observations without a drawn area, metres.
    periods : sequence of str, optional
        Periods to correct (default: the period each observation was checked against).

    Raises
    ------
    InputError
        No confirmed observation contradicts the map: an empty corrections file would
        fail the next run, so nothing is written.
    """
    with session_scope(_engine(url)) as session:
        rows = records.query_observations(session, status="confirmed")
        cs = corrections.build_corrections(rows, radius_m=radius_m, periods=periods)
    if not cs.features:
        why = "; ".join(f"{u[:8]} {r}" for u, r in cs.skipped[:5]) or "no confirmed observations"
        raise InputError(
            f"corrections: no confirmed observation contradicts the map ({why}). Nothing was "
            "written; check observations against a run first, and drop corrections: from the "
            "run configuration if it points to an older file."
        )
    path = obs_io.write_feature_collection(cs.features, out, name="sdg1531_corrections")
    used_periods: dict[str, None] = {}
    for f in cs.features:
        for p in str(f["properties"]["periods_affected"]).split(","):
            used_periods.setdefault(p, None)
    return CorrectionsResult(
        path=path,
        used=cs.used,
        skipped=cs.skipped,
        overlaps=cs.overlaps,
        periods=list(used_periods),
    )
