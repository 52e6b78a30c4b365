"""Published runs and their map layers: run folders -> runs, layers, legends and colours.

A *run* is an output folder of a landwatch workflow: a folder listed in
``Settings.runs`` (run id = the folder's name) or the output folder of a successful
job, ``<data_dir>/jobs/<id>/`` with a ``manifest.json`` (run id ``job-<id>``). Its
``manifest.json`` names the workflow and the inputs.

Every raster of a run is a *layer*: top-level ``*.tif``, ``maps/**/*.tif`` (layer id
``<run>/<relative path without .tif>``) and every gridded variable of a top-level
NetCDF file (``<run>/<file without .nc>/<variable>``, e.g. the monthly ``cdi`` of a
``warn cdi`` run). A layer is *categorical* when the colour rules give it a colour
table, or when it is an integer raster with class names (``class_names`` tag or CF
``flag_meanings``); otherwise it is *continuous*. Bands of a multi-band file are its
``times`` (band ``time`` tag, band description or the NetCDF time coordinate).

Colours, groups and colormaps are data: ``landwatch/data/map_colours.yaml``.

The catalog is cached per run folder and rescanned when the modification time of
the folder, of one of its sub-folders or of its manifest changes.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import logging
import math
import os
import re
import threading
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from matplotlib.colors import to_hex
from rasterio.enums import Resampling
from rasterio.warp import transform_bounds

from landwatch.errors import DataSourceError, InputError, NotFoundError
from landwatch.indices.land.codes import NODATA

__all__ = [
    "Catalog",
    "ColourRamp",
    "ColourTable",
    "Layer",
    "LegendClass",
    "MapColours",
    "RampLegend",
    "Run",
    "iso_time",
    "load_map_colours",
    "parse_map_colours",
    "read_table",
    "run_input",
    "run_parameter",
    "scan_run",
    "unit_geometries",
]

log = logging.getLogger("landwatch.api.catalog")

#: Workflow -> human name (run titles).
WORKFLOW_TITLES: dict[str, str] = {
    "sdg1531": "SDG 15.3.1",
    "ldn": "LDN",
    "so3": "Drought (SO3)",
    "drought": "Drought indices",
    "cdi": "Combined Drought Indicator",
    "warning": "Drought alerts",
    "forecast": "Drought forecast",
    "unknown": "Run",
}

#: Process id of a job (``job.json``) -> workflow, for job folders without a manifest.
JOB_PROCESS_WORKFLOWS: dict[str, str] = {
    "sdg1531": "sdg1531",
    "ldn": "ldn",
    "drought-spi": "drought",
    "drought-so3": "so3",
    "warn-cdi": "cdi",
    "warn-run": "warning",
    "forecast": "forecast",
    "match": "match",
    "sample-create": "sample",
}

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_SPATIAL_DIMS = {"x", "y", "lon", "lat", "longitude", "latitude"}
_TIME_DIMS = {"time", "year", "years", "month", "date", "band"}
_RASTER_SUFFIXES = (".tif", ".tiff")


# --------------------------------------------------------------------------------------
# colours (data/map_colours.yaml)
# --------------------------------------------------------------------------------------


def _rgba(color: str) -> tuple[int, int, int, int]:
    c = color.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), 255)


@dataclass(frozen=True)
class ColourTable:
    """Colours of a categorical layer.

    Attributes
    ----------
    name : str
        Table name in ``map_colours.yaml``.
    classes : dict
        value -> (colour ``#rrggbb``, fallback label).
    default_color, default_label : str or None
        Colour of every valid value not in ``classes`` and its label format
        (``{value}`` is replaced), e.g. the patch ids of hotspots.
    palette : str or None
        Matplotlib qualitative colormap cycled over the class codes not in ``classes``.
    """

    name: str
    classes: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    default_color: str | None = None
    default_label: str | None = None
    palette: str | None = None


@dataclass(frozen=True)
class ColourRamp:
    """A matplotlib colormap with an optional fixed range (continuous layers)."""

    name: str
    colormap: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class LayerRule:
    """Group, colour table and ramp of the layers whose name matches ``pattern``."""

    pattern: str
    group: str
    table: str | None = None
    ramp: str | None = None


@dataclass(frozen=True)
class MapColours:
    """The parsed ``map_colours.yaml``."""

    tables: dict[str, ColourTable]
    ramps: dict[str, ColourRamp]
    rules: tuple[LayerRule, ...]
    source: str

    def rule_for(self, name: str) -> LayerRule:
        """The first rule matching the layer name (group ``Other`` when none does)."""
        low = name.lower()
        for rule in self.rules:
            if fnmatch.fnmatchcase(low, rule.pattern.lower()):
                return rule
        return LayerRule(pattern="*", group="Other")


def _colour_error(source: str, where: str, msg: str) -> InputError:
    return InputError(f"map colours ({source}): {where}: {msg}. Fix the file.")


def parse_map_colours(doc: Mapping[str, Any], source: str = "map_colours.yaml") -> MapColours:
    """Check and parse the mapping of ``map_colours.yaml``.

    Raises
    ------
    InputError
        A colour is not ``#rrggbb``, a colormap is unknown to matplotlib, or a rule
        names a table or ramp that does not exist.
    """
    import matplotlib

    def colour(value: Any, where: str) -> str:
        if not isinstance(value, str) or not _HEX.match(value):
            raise _colour_error(source, where, f"colour {value!r} is not #rrggbb")
        return value.lower()

    def cmap(value: Any, where: str) -> str:
        if not isinstance(value, str) or value not in matplotlib.colormaps:
            raise _colour_error(source, where, f"{value!r} is not a matplotlib colormap")
        return value

    tables: dict[str, ColourTable] = {}
    for name, spec in (doc.get("tables") or {}).items():
        if not isinstance(spec, Mapping):
            raise _colour_error(source, f"tables.{name}", "expected a mapping")
        classes: dict[int, tuple[str, str | None]] = {}
        for value, item in (spec.get("classes") or {}).items():
            where = f"tables.{name}.classes.{value}"
            if not isinstance(item, Mapping):
                raise _colour_error(source, where, "expected {color, label}")
            label = item.get("label")
            classes[int(value)] = (
                colour(item.get("color"), where),
                None if label is None else str(label),
            )
        default = spec.get("default")
        tables[str(name)] = ColourTable(
            name=str(name),
            classes=classes,
            default_color=colour(default["color"], f"tables.{name}.default") if default else None,
            default_label=str(default.get("label", "{value}")) if default else None,
            palette=cmap(spec["palette"], f"tables.{name}.palette")
            if spec.get("palette")
            else None,
        )
    ramps: dict[str, ColourRamp] = {}
    for name, spec in (doc.get("ramps") or {}).items():
        where = f"ramps.{name}"
        lo, hi = spec.get("min"), spec.get("max")
        if (lo is None) != (hi is None) or (lo is not None and float(lo) >= float(hi)):
            raise _colour_error(source, where, f"min {lo} and max {hi}: give both, min < max")
        ramps[str(name)] = ColourRamp(
            name=str(name),
            colormap=cmap(spec.get("colormap"), where),
            min=None if lo is None else float(lo),
            max=None if hi is None else float(hi),
        )
    if "default" not in ramps:
        ramps["default"] = ColourRamp(name="default", colormap="viridis")
    rules = []
    for i, spec in enumerate(doc.get("layers") or []):
        where = f"layers[{i}]"
        if not isinstance(spec, Mapping) or "match" not in spec or "group" not in spec:
            raise _colour_error(source, where, "expected {match, group, table or ramp}")
        table, ramp = spec.get("table"), spec.get("ramp")
        if table is not None and table not in tables:
            raise _colour_error(source, where, f"no table {table!r}")
        if ramp is not None and ramp not in ramps:
            raise _colour_error(source, where, f"no ramp {ramp!r}")
        rules.append(LayerRule(str(spec["match"]), str(spec["group"]), table, ramp))
    return MapColours(tables=tables, ramps=ramps, rules=tuple(rules), source=source)


@cache
def load_map_colours() -> MapColours:
    """The colour tables, ramps and layer rules shipped in ``landwatch/data``."""
    text = (resources.files("landwatch") / "data" / "map_colours.yaml").read_text("utf-8")
    return parse_map_colours(yaml.safe_load(text), "landwatch/data/map_colours.yaml")


def _palette_colour(palette: str, index: int) -> str:
    import matplotlib

    cmap = matplotlib.colormaps[palette]
    n = getattr(cmap, "N", 256)
    return str(to_hex(cmap((index % n) / max(n - 1, 1) if n > 20 else index % n)))


def ramp_stops(colormap: str, n: int = 9) -> list[str]:
    """``n`` evenly spaced colours of a matplotlib colormap (for drawing a colour bar)."""
    return list(_ramp_stops(colormap, n))


@cache
def _ramp_stops(colormap: str, n: int) -> tuple[str, ...]:
    # matplotlib.colormaps[...] hands out a copy that builds its lookup table on first
    # use: 1 ms a ramp, paid by every GET /layers before this was cached
    import matplotlib

    cmap = matplotlib.colormaps[colormap]
    return tuple(str(to_hex(cmap(i / (n - 1)))) for i in range(n))


# --------------------------------------------------------------------------------------
# runs and layers
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LegendClass:
    """One class of a categorical legend (``value`` None: every value, e.g. patch ids)."""

    value: int | None
    label: str
    color: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "label": self.label, "color": self.color}


@dataclass(frozen=True)
class RampLegend:
    """Legend of a continuous layer."""

    min: float
    max: float
    colormap: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "min": self.min,
            "max": self.max,
            "colormap": self.colormap,
            "colors": ramp_stops(self.colormap),
        }


@dataclass
class Layer:
    """One map layer (a raster, or one variable of a NetCDF file) of a run.

    ``path`` and ``variable`` say where the data is; they are never shown to clients.
    """

    id: str
    run: str
    name: str
    title: str
    group: str
    period: str | None
    kind: str
    units: str | None
    bounds: tuple[float, float, float, float]
    times: list[str] | None
    classes: list[LegendClass]
    ramp: RampLegend | None
    path: Path
    variable: str | None
    nodata: float | None
    dtype: str
    table: ColourTable | None = None

    @property
    def categorical(self) -> bool:
        return self.kind == "categorical"

    @property
    def source(self) -> str:
        """What rasterio opens: the file, or ``NETCDF:"file":variable``."""
        if self.variable is None:
            return str(self.path)
        return f'NETCDF:"{self.path}":{self.variable}'

    def legend(self) -> list[dict[str, Any]] | dict[str, Any]:
        if self.ramp is not None:
            return self.ramp.to_dict()
        return [c.to_dict() for c in self.classes]

    def to_dict(self) -> dict[str, Any]:
        """The layer as ``GET /layers`` lists it."""
        return {
            "id": self.id,
            "run": self.run,
            "title": self.title,
            "group": self.group,
            "period": self.period,
            "kind": self.kind,
            "units": self.units,
            "bounds": [round(v, 8) for v in self.bounds],
            "times": self.times,
            "legend": self.legend(),
        }

    def band(self, when: str | None) -> int:
        """The 1-based band of ``when`` (a time of :attr:`times` or a unique prefix of one,
        e.g. ``2017-03`` for ``2017-03-01``); the last band when ``when`` is None.

        Raises
        ------
        InputError
            ``when`` matches no time or several, or the layer has a single band.
        """
        if not self.times:
            if when:
                raise InputError(
                    f"layer {self.id!r} has a single band, no times; drop time={when!r}."
                )
            return 1
        if not when:
            return len(self.times)
        if when in self.times:
            return self.times.index(when) + 1
        hits = [i for i, t in enumerate(self.times) if t.startswith(when)]
        if len(hits) == 1:
            return hits[0] + 1
        what = "matches several times" if hits else "is not one of its times"
        raise InputError(
            f"time {when!r} {what} of layer {self.id!r} ({len(self.times)} times, "
            f"{self.times[0]} .. {self.times[-1]}). Pass one of them, e.g. time={self.times[-1]}."
        )

    def label_of(self, value: float | int | None) -> str | None:
        """Class label of a value (None for continuous layers and missing values)."""
        if value is None or not self.categorical:
            return None
        v = int(value)
        for c in self.classes:
            if c.value == v:
                return c.label
        if self.table is not None:
            if v in self.table.classes and self.table.classes[v][1]:
                return self.table.classes[v][1]
            if self.table.default_label:
                return self.table.default_label.format(value=v)
        return str(v)

    def colour_lut(self) -> tuple[dict[int, tuple[int, int, int, int]], tuple[int, int, int, int]]:
        """value -> RGBA of the legend, and the RGBA of any other valid value."""
        lut = {c.value: _rgba(c.color) for c in self.classes if c.value is not None}
        other = (128, 128, 128, 255)
        if self.table is not None and self.table.default_color:
            other = _rgba(self.table.default_color)
        return lut, other


@dataclass
class Run:
    """One published run folder."""

    id: str
    workflow: str
    title: str
    path: Path
    periods: list[str]
    manifest: dict[str, Any]
    layers: list[Layer]
    tables: dict[str, Path]
    finished: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The run as ``GET /runs`` lists it."""
        return {
            "id": self.id,
            "workflow": self.workflow,
            "title": self.title,
            "path_name": self.path.name,
            "periods": self.periods,
        }

    def input_path(self, name: str) -> Path | None:
        """An input file named in the manifest (``inputs.<name>`` or ``inputs.<name>.path``),
        relative paths read from the run folder; None when absent."""
        value = (self.manifest.get("inputs") or {}).get(name)
        if isinstance(value, Mapping):
            value = value.get("path")
        if not isinstance(value, str) or not value:
            return None
        p = Path(value)
        return p if p.is_absolute() else (self.path / p)


def _read_manifest(folder: Path) -> dict[str, Any]:
    p = folder / "manifest.json"
    if not p.is_file():
        return {}
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s: %s", p, exc)
        return {}
    return doc if isinstance(doc, dict) else {}


def _upstream_manifest(run: Run) -> tuple[dict[str, Any], Path] | None:
    """The manifest of the SDG run an LDN run was made from."""
    sdg = run.input_path("sdg_run")
    if sdg is None or not (sdg / "manifest.json").is_file():
        return None
    return _read_manifest(sdg), sdg


def run_input(run: Run, name: str) -> Path | None:
    """An input of the run, or of the SDG run an LDN run was made from (e.g. the NDVI or
    population of an ``ldn`` run)."""
    p = run.input_path(name)
    if p is not None:
        return p
    up = _upstream_manifest(run)
    if up is None:
        return None
    manifest, folder = up
    proxy = Run("", "", "", folder, [], manifest, [], {})
    return proxy.input_path(name)


def run_parameter(run: Run, name: str) -> Any:
    """A parameter of the run's manifest, or of its upstream SDG run."""
    params = run.manifest.get("parameters") or {}
    if name in params:
        return params[name]
    up = _upstream_manifest(run)
    return None if up is None else (up[0].get("parameters") or {}).get(name)


def iso_time(value: Any) -> str:
    """A band time as ISO 8601: datetimes -> ``YYYY-MM-DD``, years -> ``YYYY``, ``YYYY-MM``
    -> ``YYYY-MM-01``; anything else as given."""
    if isinstance(value, np.datetime64):
        return str(np.datetime_as_string(value, unit="D"))
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, np.integer | int) and not isinstance(value, bool):
        return f"{int(value):04d}"
    text = str(value).strip()
    if hasattr(value, "strftime"):  # cftime dates
        return str(value.strftime("%Y-%m-%d"))
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return text + "-01"
    m = re.match(r"^(\d{4}-\d{2}-\d{2})(?:[T ]00:00(?::00(?:\.0+)?)?)?$", text)
    return m.group(1) if m else text


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _class_names(tags: Mapping[str, str]) -> dict[int, str]:
    raw = tags.get("class_names")
    if raw:
        try:
            return {int(k): str(v) for k, v in json.loads(raw).items()}
        except (ValueError, TypeError, AttributeError):
            return {}
    values, meanings = tags.get("flag_values"), tags.get("flag_meanings")
    if values and meanings:
        nums = re.findall(r"-?\d+", values)
        words = meanings.split()
        if len(nums) == len(words):
            return {int(n): w for n, w in zip(nums, words, strict=True)}
    return {}


def _wgs84_bounds(src: Any) -> tuple[float, float, float, float]:

    b = src.bounds
    if src.crs.to_epsg() == 4326:
        return (float(b.left), float(b.bottom), float(b.right), float(b.top))
    w, s, e, n = transform_bounds(src.crs, "EPSG:4326", *b, densify_pts=21)
    return (float(w), float(s), float(e), float(n))


def _data_range(src: Any, bands: Sequence[int], nodata: float | None) -> tuple[float, float]:
    """Minimum and maximum of the bands, read at most 256 px wide (the overviews)."""

    step = max(1, math.ceil(len(bands) / 24))
    pick = list(bands)[::step]
    scale = max(src.width, src.height) / 256.0
    shape = (
        len(pick),
        max(1, round(src.height / max(scale, 1.0))),
        max(1, round(src.width / max(scale, 1.0))),
    )
    arr = src.read(pick, out_shape=shape, resampling=Resampling.nearest).astype("float64")
    ok = np.isfinite(arr)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        ok &= arr != nodata
    if not ok.any():
        return (0.0, 1.0)
    lo, hi = float(arr[ok].min()), float(arr[ok].max())
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def _legend_classes(
    names: Mapping[int, str], table: ColourTable | None, nodata: float | None
) -> list[LegendClass]:
    skip = {NODATA}
    if nodata is not None and not math.isnan(float(nodata)):
        skip.add(int(nodata))
    values = sorted(v for v in names if v not in skip)
    if not values and table is not None:
        values = sorted(table.classes)
    if not values and table is not None and table.default_color:
        label = (table.default_label or "{value}").replace(" {value}", "").replace("{value}", "")
        return [LegendClass(None, label or table.name, table.default_color)]
    out = []
    for i, v in enumerate(values):
        entry = table.classes.get(v) if table is not None else None
        label = names.get(v) or (entry[1] if entry else None) or str(v)
        if entry is not None:
            color = entry[0]
        elif table is not None and table.default_color:
            color = table.default_color
        else:
            palette = table.palette if table is not None and table.palette else "tab20"
            color = _palette_colour(palette, i)
        out.append(LegendClass(v, label, color))
    return out


def _describe(
    *,
    run_id: str,
    layer_id: str,
    name: str,
    src: Any,
    tags: Mapping[str, str],
    times: list[str] | None,
    title: str,
    path: Path,
    variable: str | None,
    colours: MapColours,
) -> Layer:
    dtype = np.dtype(src.dtypes[0])
    nodata = src.nodata
    rule = colours.rule_for(name)
    names = _class_names(tags)
    table = colours.tables.get(rule.table) if rule.table else None
    categorical = table is not None or (bool(names) and dtype.kind in "iu")
    if categorical and table is None:
        table = colours.tables.get("qualitative")
    ramp = None
    classes: list[LegendClass] = []
    if categorical:
        classes = _legend_classes(names, table, nodata)
    else:
        spec = colours.ramps.get(rule.ramp or "default") or colours.ramps["default"]
        if spec.min is not None and spec.max is not None:
            lo, hi = spec.min, spec.max
        else:
            lo, hi = _data_range(src, range(1, src.count + 1), nodata)
        ramp = RampLegend(min=lo, max=hi, colormap=spec.colormap)
    units = tags.get("units")
    return Layer(
        id=layer_id,
        run=run_id,
        name=name,
        title=_capitalise(title),
        group=rule.group,
        period=tags.get("period") or tags.get("year") or None,
        kind="categorical" if categorical else "continuous",
        units=units if units else None,
        bounds=_wgs84_bounds(src),
        times=times,
        classes=classes,
        ramp=ramp,
        path=path,
        variable=variable,
        nodata=None if nodata is None else float(nodata),
        dtype=dtype.name,
        table=table if categorical else None,
    )


def _tif_layers(run_id: str, folder: Path, path: Path, colours: MapColours) -> list[Layer]:
    import rasterio

    rel = path.relative_to(folder).with_suffix("").as_posix()
    with rasterio.open(path) as src:
        if src.crs is None:
            log.warning("%s has no CRS; not published as a layer", path)
            return []
        tags = dict(src.tags())
        times = None
        if src.count > 1:
            raw = [src.tags(i + 1).get("time") or src.descriptions[i] for i in range(src.count)]
            times = [iso_time(t) if t else f"band {i + 1}" for i, t in enumerate(raw)]
        name = tags.get("layer") or tags.get("variable") or path.stem
        title = tags.get("long_name") or (src.descriptions[0] if src.count == 1 else None)
        return [
            _describe(
                run_id=run_id,
                layer_id=f"{run_id}/{rel}",
                name=name,
                src=src,
                tags=tags,
                times=times,
                title=title or path.stem.replace("_", " "),
                path=path,
                variable=None,
                colours=colours,
            )
        ]


def _netcdf_layers(run_id: str, folder: Path, path: Path, colours: MapColours) -> list[Layer]:
    import rasterio
    import xarray as xr

    rel = path.relative_to(folder).with_suffix("").as_posix()
    out: list[Layer] = []
    with xr.open_dataset(path, decode_coords="all") as ds:
        for var in sorted(map(str, ds.data_vars)):
            da = ds[var]
            dims = [str(d) for d in da.dims]
            spatial = [d for d in dims if d.lower() in _SPATIAL_DIMS]
            extra = [d for d in dims if d.lower() not in _SPATIAL_DIMS]
            if len(spatial) != 2 or len(extra) > 1:
                continue
            times = None
            if extra:
                dim = extra[0]
                coord = da[dim].values if dim in da.coords else None
                is_time = dim.lower() in _TIME_DIMS or (
                    coord is not None and np.issubdtype(coord.dtype, np.datetime64)
                )
                if coord is None or not is_time:
                    continue
                times = [iso_time(v) for v in coord]
            try:
                src_name = f'NETCDF:"{path}":{var}'
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
                    src = rasterio.open(src_name)
                with src:
                    if src.crs is None or src.transform.is_identity:
                        # GDAL needs CF coordinate attributes (units, standard_name) on x/y
                        log.warning("%s:%s has no CRS or grid; not a layer", path, var)
                        continue
                    tags = {str(k): str(v) for k, v in da.attrs.items()}
                    layer = _describe(
                        run_id=run_id,
                        layer_id=f"{run_id}/{rel}/{var}",
                        name=var,
                        src=src,
                        tags=tags,
                        times=times if times and len(times) == src.count else None,
                        title=str(da.attrs.get("long_name") or var.replace("_", " ")),
                        path=path,
                        variable=var,
                        colours=colours,
                    )
                    if times and len(times) != src.count:
                        log.warning(
                            "%s:%s: %d times for %d bands", path, var, len(times), src.count
                        )
                        continue
                    out.append(layer)
            except rasterio.errors.RasterioIOError as exc:
                log.warning("cannot open %s:%s as a raster: %s", path, var, exc)
    return out


def _job_process(folder: Path) -> str | None:
    """The process id in the ``job.json`` of a job's output folder."""
    p = folder / "job.json"
    if not p.is_file():
        return None
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(doc.get("process")) if isinstance(doc, dict) and doc.get("process") else None


def _infer_workflow(folder: Path) -> str:
    names = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    if "cdi.nc" in names:
        return "cdi"
    if any(n.startswith(("spi", "spei", "drought")) for n in names):
        return "drought"
    return "unknown"


def scan_run(run_id: str, folder: Path, colours: MapColours | None = None) -> Run:
    """Read one run folder: manifest, layers and tables.

    Files that cannot be read are left out (and logged), so that one broken file does
    not hide the rest of the run.
    """
    colours = colours or load_map_colours()
    manifest = _read_manifest(folder)
    workflow = manifest.get("workflow") or JOB_PROCESS_WORKFLOWS.get(_job_process(folder) or "")
    workflow = str(workflow or _infer_workflow(folder))
    layers: list[Layer] = []
    rasters = sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in _RASTER_SUFFIXES and not p.name.startswith(".")
    )
    maps = folder / "maps"
    if maps.is_dir():
        rasters += sorted(
            p
            for p in maps.rglob("*")
            if p.suffix.lower() in _RASTER_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        )
    for p in rasters:
        try:
            layers += _tif_layers(run_id, folder, p, colours)
        except Exception as exc:  # a broken file must not hide the run
            log.warning("cannot read %s as a layer: %s", p, exc)
    for p in sorted(q for q in folder.glob("*.nc") if not q.name.startswith(".")):
        try:
            layers += _netcdf_layers(run_id, folder, p, colours)
        except Exception as exc:
            log.warning("cannot read %s as layers: %s", p, exc)
    tables_dir = folder / "tables"
    tables = {p.stem: p for p in sorted(tables_dir.glob("*.csv"))} if tables_dir.is_dir() else {}
    params = manifest.get("parameters") or {}
    declared = params.get("periods") if isinstance(params, Mapping) else None
    if isinstance(declared, Mapping):
        periods = [str(k) for k in declared]
    elif isinstance(declared, list):
        periods = [str(p) for p in declared]
    else:
        periods = []
    for lyr in layers:  # and those of the layers; years of yearly maps are not periods
        if lyr.period and not lyr.period.isdigit() and lyr.period not in periods:
            periods.append(lyr.period)
    label = WORKFLOW_TITLES.get(workflow, workflow)
    title = str(manifest.get("title") or f"{label} ({run_id})")
    return Run(
        id=run_id,
        workflow=workflow,
        title=title,
        path=folder,
        periods=periods,
        manifest=manifest,
        layers=layers,
        tables=tables,
        finished=str(manifest.get("finished")) if manifest.get("finished") else None,
    )


def _signature(folder: Path) -> tuple[Any, ...]:
    """Modification times of the folder, its sub-folders and its manifest."""
    sig: list[Any] = []
    for root, dirs, _files in os.walk(folder):
        dirs.sort()
        sig.append((root, os.stat(root).st_mtime_ns))
    manifest = folder / "manifest.json"
    sig.append(manifest.stat().st_mtime_ns if manifest.exists() else None)
    return tuple(sig)


class Catalog:
    """The runs and layers published by the service (cached; see the module notes).

    Parameters
    ----------
    run_dirs : sequence of path
        Published run folders (``Settings.runs``); run id = folder name (``-2``,
        ``-3`` ... appended when two folders share a name).
    jobs_dir : path, optional
        ``<data_dir>/jobs``: every ``<id>/manifest.json`` under it is the output folder
        of a successful job, run id ``job-<id>``.
    rescan_interval : float
        Seconds during which the folders are not checked again for changes.
    colours : MapColours, optional
        Colour rules (default the shipped ``map_colours.yaml``).
    """

    def __init__(
        self,
        run_dirs: Iterable[str | os.PathLike[str]] = (),
        jobs_dir: str | os.PathLike[str] | None = None,
        *,
        rescan_interval: float = 2.0,
        colours: MapColours | None = None,
    ) -> None:
        self.run_dirs = [Path(p) for p in run_dirs]
        self.jobs_dir = Path(jobs_dir) if jobs_dir is not None else None
        self.rescan_interval = rescan_interval
        self.colours = colours or load_map_colours()
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[tuple[Any, ...], Run]] = {}
        self._runs: list[Run] = []
        self._checked = -math.inf

    def _folders(self) -> list[tuple[str, Path]]:
        out: list[tuple[str, Path]] = []
        seen: dict[str, int] = {}
        for folder in self.run_dirs:
            if not folder.is_dir():
                log.warning("published run folder %s does not exist", folder)
                continue
            rid = folder.name
            seen[rid] = seen.get(rid, 0) + 1
            out.append((rid if seen[rid] == 1 else f"{rid}-{seen[rid]}", folder))
        if self.jobs_dir is not None and self.jobs_dir.is_dir():
            for folder in sorted(self.jobs_dir.iterdir()):
                # a finished job's folder holds the workflow's manifest.json and/or the
                # job.json the worker writes (drought-spi writes no manifest); folders
                # being written are hidden (".<id>.partial-...")
                if folder.name.startswith(".") or not folder.is_dir():
                    continue
                if (folder / "manifest.json").is_file() or (folder / "job.json").is_file():
                    out.append((f"job-{folder.name}", folder))
        return out

    def refresh(self, *, force: bool = False) -> list[Run]:
        """Rescan the folders whose modification times changed; return every run."""
        with self._lock:
            now = time.monotonic()
            if not force and now - self._checked < self.rescan_interval:
                return list(self._runs)
            runs = []
            live = set()
            for rid, folder in self._folders():
                key = folder.resolve()
                live.add(key)
                try:
                    sig = _signature(folder)
                except OSError:
                    continue
                cached = self._cache.get(key)
                if cached is None or cached[0] != sig or cached[1].id != rid:
                    cached = (sig, scan_run(rid, folder, self.colours))
                    self._cache[key] = cached
                runs.append(cached[1])
            for key in set(self._cache) - live:
                del self._cache[key]
            self._runs = runs
            self._checked = time.monotonic()
            return list(runs)

    def runs(self) -> list[Run]:
        """Every published run."""
        return self.refresh()

    def run(self, run_id: str) -> Run:
        """One run by id.

        Raises
        ------
        NotFoundError
            No run has that id.
        """
        runs = self.refresh()
        for r in runs:
            if r.id == run_id:
                return r
        known = ", ".join(r.id for r in runs[:20]) or "none"
        raise NotFoundError(f"run {run_id!r} does not exist; runs are: {known}. See GET /runs.")

    def layers(self, run_id: str | None = None) -> list[Layer]:
        """Every layer (of one run when ``run_id`` is given)."""
        if run_id is not None:
            return list(self.run(run_id).layers)
        return [lyr for r in self.refresh() for lyr in r.layers]

    def layer(self, layer_id: str) -> Layer:
        """One layer by id (``<run>/<path>``).

        Raises
        ------
        NotFoundError
            No layer has that id.
        """
        run_id = layer_id.split("/", 1)[0]
        try:
            run = self.run(run_id)
        except NotFoundError:
            raise NotFoundError(
                f"layer {layer_id!r} does not exist: no run {run_id!r}. See GET /layers."
            ) from None
        for lyr in run.layers:
            if lyr.id == layer_id:
                return lyr
        raise NotFoundError(
            f"layer {layer_id!r} does not exist in run {run_id!r} ({len(run.layers)} layers). "
            "See GET /layers?run=" + run_id + "."
        )

    def table(self, run_id: str, name: str) -> Path:
        """The CSV file of table ``name`` of a run.

        Raises
        ------
        NotFoundError
            No such run or table.
        """
        run = self.run(run_id)
        if name not in run.tables:
            raise NotFoundError(
                f"run {run_id!r} has no table {name!r}; tables are {sorted(run.tables)}."
            )
        return run.tables[name]

    def warning_runs(self) -> list[Run]:
        """Runs of the warning workflow, newest first."""
        runs = [r for r in self.refresh() if r.workflow == "warning"]
        return sorted(runs, key=lambda r: r.finished or "", reverse=True)


def unit_geometries(runs: Sequence[Run]) -> dict[str, dict[str, Any]]:
    """Admin unit polygons (GeoJSON geometries in WGS84) by unit id, from the
    ``situation_<month>.geojson`` of warning runs (the first run that has a unit wins)."""
    out: dict[str, dict[str, Any]] = {}
    for run in runs:
        files = sorted(run.path.glob("situation_*.geojson"), reverse=True)
        if not files:
            continue
        try:
            doc = json.loads(files[0].read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s: %s", files[0], exc)
            continue
        for feat in doc.get("features") or []:
            props = feat.get("properties") or {}
            uid = str(props.get("unit_id") or feat.get("id") or "")
            if uid and feat.get("geometry") and uid not in out:
                out[uid] = feat["geometry"]
    return out


def read_table(path: Path, *, admin: str | None = None) -> list[dict[str, Any]]:
    """A CSV table as JSON records (NaN -> null), optionally only the rows of one admin unit
    (``admin`` compared with the ``admin_id``, ``admin_name``, ``zone``, ``unit_id`` or
    ``unit_name`` columns).

    Raises
    ------
    InputError
        ``admin`` is given but the table has none of those columns.
    DataSourceError
        The file cannot be read.
    """
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataSourceError(f"table {path.stem!r} cannot be read ({exc}).") from exc
    if admin is not None:
        cols = [c for c in ("admin_id", "admin_name", "zone", "unit_id", "unit_name") if c in df]
        if not cols:
            raise InputError(
                f"table {path.stem!r} has no admin column (admin_id, admin_name, zone, unit_id "
                f"or unit_name); its columns are {list(map(str, df.columns))}. Drop ?admin=."
            )
        keep = np.zeros(len(df), dtype=bool)
        for c in cols:
            keep |= df[c].astype(str).to_numpy() == str(admin)
        df = df[keep]
    records: list[dict[str, Any]] = json.loads(df.to_json(orient="records", date_format="iso"))
    return records
