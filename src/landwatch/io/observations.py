"""Files of community observations: CSV and GeoJSON tables, photos, run maps to check
them against, and correction polygons.

Readers return raw cells with their row numbers, so that the caller can validate
every row first and insert nothing when one is wrong (the rules are in
:mod:`landwatch.observations.records`). Writers replace their target only when the
whole file is written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from landwatch.errors import DataSourceError, InputError
from landwatch.io.outputs import atomic_path

# --------------------------------------------------------------------------- photos

#: Largest photo accepted, in bytes (a phone photo resized to ~2000 px is 0.5-2 MB).
PHOTO_MAX_BYTES = 10 * 1024 * 1024
#: Folder of stored photos under the data directory.
PHOTO_DIR = "observations/photos"
_PHOTO_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


def sniff_image_type(head: bytes) -> str | None:
    """The media type of an image from its first bytes, or None for anything else.

    Only JPEG, PNG and WebP are recognised: they display in every browser and carry
    no scripts (unlike SVG). The file name is never trusted.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _describe_unknown(head: bytes) -> str:
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        return "a HEIC/HEIF image"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF image"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "a TIFF image"
    if head.lstrip().startswith((b"<svg", b"<?xml")):
        return "an SVG/XML file"
    return "not a recognised image"


@dataclass(frozen=True)
class PhotoFile:
    """A photo checked at the door: type from its content, size, SHA-256."""

    source: Path
    sha256: str
    media_type: str
    size: int

    @property
    def stored_path(self) -> str:
        """Where the photo lives under the data directory (content-addressed)."""
        ext = _PHOTO_EXTENSIONS[self.media_type]
        return f"{PHOTO_DIR}/{self.sha256[:2]}/{self.sha256}{ext}"


def inspect_photo(path: str | os.PathLike[str], *, max_bytes: int = PHOTO_MAX_BYTES) -> PhotoFile:
    """Check a photo file and hash it, without copying it anywhere.

    Parameters
    ----------
    path : path-like
        The photo.
    max_bytes : int
        Size limit in bytes (default :data:`PHOTO_MAX_BYTES`, 10 MiB).

    Returns
    -------
    PhotoFile
        Its media type (sniffed from the content), size and SHA-256.

    Raises
    ------
    DataSourceError
        The file does not exist or cannot be read.
    InputError
        It is empty, larger than ``max_bytes``, or not a JPEG, PNG or WebP image.
    """
    p = Path(path)
    if not p.is_file():
        raise DataSourceError(f"photo: file {str(p)!r} does not exist. Check the path.")
    size = p.stat().st_size
    if size == 0:
        raise InputError(f"photo: {p.name} is empty (0 bytes). Attach the photo file itself.")
    if size > max_bytes:
        raise InputError(
            f"photo: {p.name} is {size / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB. "
            "Resize it (about 2000 pixels on the long side is plenty) or save it as JPEG."
        )
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        head = fh.read(64)
        h.update(head)
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    media_type = sniff_image_type(head)
    if media_type is None:
        raise InputError(
            f"photo: {p.name} is {_describe_unknown(head)}; only JPEG, PNG and WebP images are "
            "accepted. Convert it to JPEG."
        )
    return PhotoFile(source=p, sha256=h.hexdigest(), media_type=media_type, size=size)


def store_photo(photo: PhotoFile, data_dir: str | os.PathLike[str]) -> tuple[str, bool]:
    """Copy a checked photo into the data directory.

    Returns
    -------
    (str, bool)
        The path relative to ``data_dir`` and whether the file was new (an identical
        photo is stored once).
    """
    rel = photo.stored_path
    target = Path(data_dir) / rel
    if target.is_file() and target.stat().st_size == photo.size:
        return rel, False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            shutil.copyfile(photo.source, tmp)
    except OSError as exc:
        raise DataSourceError(
            f"photo: cannot store {photo.source.name} under {str(Path(data_dir))!r} "
            f"({exc.strerror}). Set LANDWATCH_DATA_DIR to a writable folder."
        ) from exc
    return rel, True


def remove_stored_photo(data_dir: str | os.PathLike[str], rel: str) -> None:
    """Delete a stored photo (used to undo a failed import)."""
    (Path(data_dir) / rel).unlink(missing_ok=True)


def stored_photo(data_dir: str | os.PathLike[str], rel: str, *, name: str) -> Path:
    """The file of a stored photo; an error names the observation when it is missing."""
    p = Path(data_dir) / rel
    if not p.is_file():
        raise DataSourceError(
            f"photo of {name}: {str(p)!r} is missing from the data directory. Restore it from "
            "a backup, or check LANDWATCH_DATA_DIR."
        )
    return p


# --------------------------------------------------------------------------- tables


@dataclass
class ObservationRows:
    """Raw rows of an observation file.

    ``rows`` holds ``(number, cells)`` with numbers counted from 1 over the data rows
    (CSV) or features (GeoJSON); ``unit`` is ``"row"`` or ``"feature"`` for messages.
    Relative photo paths in the cells are relative to ``base_dir``.
    """

    path: Path
    format: str
    columns: list[str]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @property
    def unit(self) -> str:
        return "row" if self.format == "csv" else "feature"

    @property
    def base_dir(self) -> Path:
        return self.path.parent


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".geojson", ".json"):
        return "geojson"
    raise InputError(
        f"observations: {path.name} has suffix {suffix or '(none)'!r}; expected .csv or .geojson."
    )


def read_observation_file(path: str | os.PathLike[str]) -> ObservationRows:
    """Read the rows of an observation CSV or GeoJSON file as raw cells.

    CSV: UTF-8 (with or without the BOM Excel writes), comma, semicolon or tab
    separated, one header row; ``lon`` and ``lat`` columns. GeoJSON: a
    FeatureCollection of Point features in WGS84 (RFC 7946); the point gives ``lon``
    and ``lat``, the properties the other fields.

    Raises
    ------
    DataSourceError
        The file does not exist or is not readable text.
    InputError
        Malformed CSV or GeoJSON; the message names the row or feature.
    """
    p = Path(path)
    fmt = _format_of(p)
    if not p.is_file():
        raise DataSourceError(f"observations: file {str(p)!r} does not exist. Check the path.")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataSourceError(
            f"observations: {p.name} is not UTF-8 text ({exc.reason} at byte {exc.start}). "
            "Save it as 'CSV UTF-8'."
        ) from exc
    return _read_csv(p, text) if fmt == "csv" else _read_geojson(p, text)


def _read_csv(p: Path, text: str) -> ObservationRows:
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"observations: {p.name} is empty; it needs a header row.") from None
    columns = [c.strip() for c in header]
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes or "" in columns:
        what = f"repeats {dupes}" if dupes else "has an empty column name"
        raise InputError(f"observations: the header of {p.name} {what}. Fix the header row.")
    out = ObservationRows(path=p, format="csv", columns=columns)
    number = 0
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            number += 1
            if len(cells) > len(columns):
                raise InputError(
                    f"observations: {p.name}, row {number} (line {reader.line_num}) has "
                    f"{len(cells)} cells but the header has {len(columns)} columns. "
                    "Quote cells that contain the separator."
                )
            row = {c: (cells[i] if i < len(cells) else "") for i, c in enumerate(columns)}
            out.rows.append((number, row))
    except csv.Error as exc:
        raise InputError(
            f"observations: {p.name}, line {reader.line_num}: malformed CSV ({exc})."
        ) from exc
    return out


def _read_geojson(p: Path, text: str) -> ObservationRows:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"observations: {p.name} is not valid JSON ({exc.msg} at line {exc.lineno})."
        ) from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InputError(f"observations: {p.name} must be a GeoJSON FeatureCollection.")
    crs = (doc.get("crs") or {}).get("properties", {}).get("name", "")
    if crs and not any(k in crs.upper() for k in ("CRS84", "EPSG::4326", "EPSG:4326")):
        raise InputError(
            f"observations: {p.name} declares CRS {crs!r}; GeoJSON must be WGS84 longitude/"
            "latitude (RFC 7946). Reproject it to EPSG:4326."
        )
    features = doc.get("features")
    if not isinstance(features, list):
        raise InputError(f"observations: {p.name} has no 'features' list.")
    columns: list[str] = ["lon", "lat"]
    out = ObservationRows(path=p, format="geojson", columns=columns)
    for number, feat in enumerate(features, start=1):
        where = f"observations: {p.name}, feature {number}"
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            raise InputError(f"{where} is not a GeoJSON Feature.")
        props = feat.get("properties") or {}
        if not isinstance(props, dict):
            raise InputError(f"{where}: properties must be an object.")
        row = {k: v for k, v in props.items() if k not in ("lon", "lat")}
        geom = feat.get("geometry")
        if geom is None:
            raise InputError(f"{where} has no geometry; expected a Point at the observation.")
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        if geom.get("type") != "Point" or not isinstance(coords, list) or len(coords) not in (2, 3):
            raise InputError(
                f"{where}: geometry is {geom.get('type')!r}; expected a Point [lon, lat]. "
                "Put a polygon the observation is about in the area_wkt property."
            )
        row["lon"], row["lat"] = coords[0], coords[1]
        for k in row:
            if k not in columns:
                columns.append(k)
        out.rows.append((number, row))
    return out


def _json_ready(v: Any) -> Any:
    return None if v == "" else v


def write_observation_file(
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    path: str | os.PathLike[str],
) -> Path:
    """Write observations as CSV or GeoJSON (by the suffix of ``path``).

    Parameters
    ----------
    records : sequence of mapping
        One mapping per observation with at least ``lon`` and ``lat``. For CSV the
        values are written as given (use text cells); for GeoJSON they are JSON values
        (empty strings become null) and ``lon``/``lat`` become the Point.
    columns : sequence of str
        Column order.
    path : path-like
        ``.csv`` or ``.geojson``; replaced only when fully written.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    p = Path(path)
    fmt = _format_of(p)
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(p) as tmp:
        if fmt == "csv":
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(columns)
                for rec in records:
                    w.writerow(["" if rec.get(c) is None else rec.get(c) for c in columns])
        else:
            features = [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [rec["lon"], rec["lat"]]},
                    "properties": {
                        c: _json_ready(rec.get(c)) for c in columns if c not in ("lon", "lat")
                    },
                }
                for rec in records
            ]
            doc = {"type": "FeatureCollection", "name": p.stem, "features": features}
            tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    return p


def write_feature_collection(
    features: Sequence[Mapping[str, Any]], path: str | os.PathLike[str], *, name: str | None = None
) -> Path:
    """Write GeoJSON features (WGS84, RFC 7946) as a FeatureCollection, atomically."""
    p = Path(path)
    if p.suffix.lower() not in (".geojson", ".json"):
        raise InputError(f"{p.name}: expected a .geojson file name.")
    p.parent.mkdir(parents=True, exist_ok=True)
    doc = {"type": "FeatureCollection", "name": name or p.stem, "features": list(features)}
    with atomic_path(p) as tmp:
        tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    return p


# --------------------------------------------------------------------------- run maps


@dataclass(frozen=True)
class RunFolder:
    """What an observation check needs from an SDG 15.3.1 output folder."""

    path: Path
    baseline: str
    periods: dict[str, tuple[int, int]]  # name -> productivity years
    admin_path: Path | None = None
    admin_layer: str | None = None
    admin_id_field: str = "admin_id"

    def map_path(self, period: str, layer: str) -> Path:
        """``maps/<period>/<layer>.tif``; an error lists what the run wrote instead."""
        if period not in self.periods:
            raise InputError(
                f"period {period!r} is not in the run {self.path.name}; its periods are "
                f"{list(self.periods)}."
            )
        p = self.path / "maps" / period / f"{layer}.tif"
        if not p.is_file():
            have = sorted(q.stem for q in (self.path / "maps" / period).glob("*.tif"))
            raise DataSourceError(
                f"map {layer!r} of period {period} is not in {str(self.path)!r}; it has {have}."
            )
        return p


def read_run_folder(run_dir: str | os.PathLike[str]) -> RunFolder:
    """Read the periods and the admin input of a ``landwatch sdg1531`` output folder.

    Raises
    ------
    DataSourceError
        The folder or its ``summary.json`` is missing or unreadable.
    """
    d = Path(run_dir)
    summary_path = d / "summary.json"
    if not summary_path.is_file():
        raise DataSourceError(
            f"run folder {str(d)!r} has no summary.json. Pass a folder written by "
            "`landwatch sdg1531`."
        )
    try:
        summary = json.loads(summary_path.read_text())
        periods = {
            name: (int(p["productivity"][0]), int(p["productivity"][1]))
            for name, p in summary["periods"].items()
        }
        baseline = str(summary.get("baseline") or next(iter(periods)))
    except (ValueError, KeyError, TypeError, StopIteration) as exc:
        raise DataSourceError(
            f"run folder {str(d)!r}: summary.json has no readable periods ({exc!r})."
        ) from exc
    admin_path = None
    layer = None
    id_field = "admin_id"
    manifest_path = d / "manifest.json"
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text())
        except ValueError:
            manifest = {}
        admin = (manifest.get("inputs") or {}).get("admin")
        params = manifest.get("parameters") or {}
        if admin and admin.get("path"):
            admin_path = Path(admin["path"])
            layer = params.get("admin_layer")
            id_field = params.get("admin_id_field") or id_field
    return RunFolder(
        path=d,
        baseline=baseline,
        periods=periods,
        admin_path=admin_path,
        admin_layer=layer,
        admin_id_field=id_field,
    )


@dataclass(frozen=True)
class PointSample:
    """Values of a single-band raster at points.

    ``values`` is float64 with NaN where the pixel is nodata or the point lies
    outside the raster; ``inside`` tells the two apart.
    """

    values: np.ndarray
    inside: np.ndarray


def sample_raster_at_points(
    path: str | os.PathLike[str], lon: Sequence[float], lat: Sequence[float]
) -> PointSample:
    """Read band 1 of a raster at WGS84 points, in the raster's own CRS.

    Parameters
    ----------
    path : path-like
        A GeoTIFF/COG.
    lon, lat : sequence of float
        WGS84 degrees.

    Returns
    -------
    PointSample
        The pixel containing each point (no interpolation, categorical-safe).

    Raises
    ------
    DataSourceError
        The raster cannot be opened.
    """
    import rasterio
    from pyproj import Transformer
    from rasterio.transform import rowcol
    from rasterio.windows import Window

    p = Path(path)
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    values = np.full(lon_a.shape, np.nan)
    inside = np.zeros(lon_a.shape, dtype=bool)
    try:
        src = rasterio.open(p)
    except rasterio.errors.RasterioIOError as exc:
        raise DataSourceError(f"map: cannot open {str(p)!r} ({exc}).") from exc
    with src:
        if src.crs is None:
            raise InputError(f"map: {p.name} has no CRS; cannot place observations on it.")
        xs, ys = Transformer.from_crs("EPSG:4326", src.crs, always_xy=True).transform(lon_a, lat_a)
        rows, cols = rowcol(src.transform, np.atleast_1d(xs), np.atleast_1d(ys), op=np.floor)
        nodata = src.nodata
        for i, (r, c) in enumerate(zip(np.atleast_1d(rows), np.atleast_1d(cols), strict=True)):
            if not (0 <= r < src.height and 0 <= c < src.width):
                continue
            inside[i] = True
            v = float(src.read(1, window=Window(int(c), int(r), 1, 1))[0, 0])
            if nodata is not None and (v == nodata or (np.isnan(nodata) and np.isnan(v))):
                continue
            values[i] = v
    return PointSample(values=values, inside=inside)
