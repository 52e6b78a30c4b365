"""Processes and jobs of the web service: the process registry and the job manager.

**Registry** (:data:`PROCESSES`): one :class:`ProcessSpec` per process id of
``docs/api.md``, with a pydantic model of its inputs and a ``run`` function that calls
the existing workflow (nothing is computed here). File inputs are strings: paths
relative to the data folder under ``uploads/``, ``jobs/`` or ``samples/``, or paths
inside a published run folder (``Settings.runs``); run-folder inputs also take a run id
(``job-<id>`` or a published folder's name). Anything else, ``..`` tricks and symbolic
links included, is refused with a message naming the input (HTTP 422).

**Jobs** run each in its own OS process, ``python -m landwatch.api.worker JOB_ID``
(:mod:`landwatch.api.worker`), in its own process group, with the database URL and
data folder in its environment. The worker claims the job (``accepted`` ->
``running``), reports progress, message and log lines to the database (at most every
0.5 s) and a heartbeat (every 2 s), writes the outputs atomically into
``<data>/<output_dir>`` (``jobs/<id>``; ``samples/<name>`` for ``sample-create``) and
marks the job ``successful`` or ``failed``.

The :class:`JobManager` (a thread of the server) starts ``accepted`` jobs first come,
first served, at most ``Settings.job_workers`` at a time, reaps finished workers
(a worker that died without a word fails its job), and enforces cancellation: the
worker's process group is terminated and partial outputs are removed. On start it
recovers: ``running`` jobs whose worker is gone, or whose heartbeat is older than
:data:`STALE_AFTER` seconds, fail with :data:`RESTART_MESSAGE`; the others are adopted
(a worker outlives a killed server and finishes normally; the manager keeps watching
its heartbeat); ``accepted`` jobs are queued again. A server stopped gracefully
(SIGTERM, Ctrl-C) stops the workers it started and fails their jobs with the same
message; queued jobs wait for the next start. No job stays ``running`` forever.

With ``Settings.dask_scheduler`` set, each worker first connects a
``dask.distributed.Client`` to that address, so the workflows' Dask computations run on
that cluster; its workers must see the data folder at the same path. With
``Settings.dask_cluster`` (``local:N``) instead, each job's worker process starts its
own local cluster of N processes for the job and closes it at the end (jobs do not
share a cluster, so a job that fails or is cancelled takes nothing else with it).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Annotated, Any, Literal

import psutil
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

import landwatch
from landwatch.api.settings import Settings
from landwatch.errors import InputError, LandwatchError, NotFoundError
from landwatch.store import session_scope
from landwatch.store.jobs import Job, append_log, as_utc, log_line, utcnow

__all__ = [
    "JOB_END_HOOKS",
    "PROCESSES",
    "RESTART_MESSAGE",
    "STALE_AFTER",
    "InputPaths",
    "InputsInvalid",
    "JobCancelled",
    "JobContext",
    "JobManager",
    "JobProgress",
    "ProcessSpec",
    "UploadTooLarge",
    "list_results",
    "media_type",
    "result_file",
    "safe_filename",
    "save_upload",
    "submit_job",
]

log = logging.getLogger("landwatch.api.jobs")

#: A running job whose heartbeat is older than this (seconds) has lost its worker.
STALE_AFTER = 30.0
#: Message of a job whose worker did not survive a server stop.
RESTART_MESSAGE = "the server stopped while this job ran; run it again"
#: Module run by each worker process.
WORKER_MODULE = "landwatch.api.worker"
#: Folders of the data folder that job inputs may name.
INPUT_FOLDERS: tuple[str, ...] = ("uploads", "jobs", "samples")
#: Progress shown while a job runs; 100 only once it succeeded.
PROGRESS_CAP = 99.0

_JOB_RUN_ID = re.compile(r"job-([0-9a-fA-F-]{36})")
_CAP_NAMESPACE = b"urn:oasis:names:tc:emergency:cap:1.2"


# --------------------------------------------------------------------------- input paths


class InputPaths:
    """Where job inputs may be read from: ``uploads/``, ``jobs/`` and ``samples/`` of the
    data folder, and the published run folders."""

    def __init__(self, data_dir: Path, runs: Sequence[Path] = ()) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.runs = [Path(r).resolve() for r in runs]

    @classmethod
    def from_settings(cls, settings: Settings) -> InputPaths:
        return cls(settings.data_dir, settings.runs)

    def allowed(self, full: Path) -> bool:
        """Whether an absolute, resolved path lies where inputs may be read."""
        if any(full == run or full.is_relative_to(run) for run in self.runs):
            return True
        if not full.is_relative_to(self.data_dir):
            return False
        parts = full.relative_to(self.data_dir).parts
        # not the folders themselves, nor hidden files (partial outputs, worker logs)
        return (
            len(parts) >= 2
            and parts[0] in INPUT_FOLDERS
            and not any(p.startswith(".") for p in parts)
        )

    def resolve(self, value: str, kind: Literal["file", "folder", "any"] = "file") -> Path:
        """The absolute path of an input; ValueError (with the fix) when it may not be read
        or does not exist."""
        text = str(value).strip()
        if not text or "\x00" in text:
            raise ValueError(
                "expected a path such as uploads/<id>/<name>, got an empty string or a NUL"
            )
        full = self._run_id(text) if kind == "folder" else None
        if full is None:
            p = Path(text)
            try:
                full = (p if p.is_absolute() else self.data_dir / p).resolve()
            except (OSError, RuntimeError) as exc:  # a symbolic link loop
                raise ValueError(f"{text[:80]!r}: not a usable path ({exc})") from None
        if not self.allowed(full):
            raise ValueError(
                f"{text!r} is not a place the service reads inputs from: expected a path "
                "relative to the data folder under uploads/, jobs/ or samples/ (e.g. "
                "uploads/<id>/<name> from POST /uploads, jobs/<id>/<file> of an earlier job, "
                "samples/<name>/run.yaml), or a path inside a published run folder"
            )
        try:
            is_file, is_dir = full.is_file(), full.is_dir()
        except OSError as exc:  # e.g. a name too long for the file system
            raise ValueError(f"{text[:80]!r}...: not a usable path ({exc.strerror})") from None
        if kind == "file" and not is_file:
            raise ValueError(
                f"{text!r} is not a file of the data folder; expected an existing file. Upload "
                "it with POST /uploads, or wait until the job that writes it has finished"
            )
        if kind == "folder" and not is_dir:
            raise ValueError(
                f"{text!r} is not an output folder; expected jobs/<id> (or job-<id>) of a "
                "successful job, or a published run. See GET /jobs and GET /runs"
            )
        if kind == "any" and not (is_file or is_dir):
            raise ValueError(
                f"{text!r} does not exist in the data folder; upload it with POST /uploads"
            )
        return full

    def _run_id(self, text: str) -> Path | None:
        m = _JOB_RUN_ID.fullmatch(text)
        if m:
            return self.data_dir / "jobs" / m.group(1).lower()
        for run in self.runs:
            if run.name == text:
                return run
        return None


def _check_path(value: str, info: ValidationInfo, kind: Literal["file", "folder", "any"]) -> str:
    ctx = info.context if isinstance(info.context, dict) else {}
    paths = ctx.get("paths")
    if not isinstance(paths, InputPaths):
        return value  # schema-only validation
    full = paths.resolve(value, kind)
    return str(full) if ctx.get("resolve") else value.strip()


def _file(value: str, info: ValidationInfo) -> str:
    return _check_path(value, info, "file")


def _file_or_folder(value: str, info: ValidationInfo) -> str:
    return _check_path(value, info, "any")


def _folder(value: str, info: ValidationInfo) -> str:
    return _check_path(value, info, "folder")


_PATH_HELP = (
    "Path relative to the data folder (uploads/<id>/<name>, jobs/<id>/..., samples/...) "
    "or inside a published run folder."
)
#: A file input.
DataFile = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_file)]
#: A file input that may also be a folder (a Zarr store).
DataSource = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_file_or_folder)]
#: An output folder of a run: jobs/<id>, job-<id>, or a published run (its name or a path).
RunFolder = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_folder)]

Calibration = Annotated[
    str,
    Field(
        pattern=r"^(full|\d{4}-\d{4})$",
        description="Reference years FIRST-LAST (e.g. 1981-2010), or 'full'.",
    ),
]
YearSpan = Annotated[str, Field(pattern=r"^\d{4}-\d{4}$")]
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Name = Annotated[str, Field(min_length=1, max_length=120)]


def _years(text: str) -> tuple[int, int] | None:
    if text == "full":
        return None
    a, b = (int(v) for v in text.split("-"))
    return (a, b)


# --------------------------------------------------------------------------- inputs


class _Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SampleCreateInputs(_Inputs):
    """Inputs of ``sample-create``."""

    name: str = Field(
        "region",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Folder name under samples/ (letters, digits, '.', '_', '-'); the run "
        "configuration is then samples/<name>/run.yaml.",
    )
    size: int = Field(
        400,
        ge=60,
        le=1000,
        description="Pixels per side (about 250 m each; 60 to 1000; larger with the CLI).",
    )
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Random seed (same seed, same region).")

    @field_validator("name")
    @classmethod
    def _free(cls, value: str, info: ValidationInfo) -> str:
        ctx = info.context if isinstance(info.context, dict) else {}
        paths = ctx.get("paths")
        if isinstance(paths, InputPaths) and (paths.data_dir / "samples" / value).exists():
            raise ValueError(
                f"sample {value!r} already exists (samples/{value}); choose another name, or "
                f"use it as it is: config samples/{value}/run.yaml"
            )
        return value


class Sdg1531Inputs(_Inputs):
    """Inputs of ``sdg1531``."""

    config: DataFile = Field(
        description="Run configuration (YAML), e.g. samples/region/run.yaml written by "
        "sample-create, or an uploaded one. Every file it names must lie in the data folder "
        "(uploads/, jobs/, samples/) or in a published run; relative names are read next to "
        "the configuration.",
        examples=["samples/region/run.yaml"],
    )
    significance: float | None = Field(
        None, gt=0, lt=0.5, description="Trajectory significance level (default 0.05)."
    )
    mode: Literal["landwatch", "trends_earth"] | None = Field(
        None, description="Trajectory test (default: the configuration's)."
    )
    state_method: Literal["percentile", "zscore"] | None = Field(
        None, description="State: percentile (Trends.Earth) or zscore (GPG v2)."
    )
    lpd_table: Literal["trends_earth", "gpg_v2", "gpg_v1"] | None = Field(
        None, description="LPD look-up table."
    )
    align: bool | None = Field(
        None, description="Reproject inputs that do not align to the NDVI grid."
    )
    all_layers: bool | None = Field(
        None, description="Also write diagnostic maps (slopes, p-values, ratios)."
    )

    @field_validator("config")
    @classmethod
    def _config_files(cls, value: str, info: ValidationInfo) -> str:
        ctx = info.context if isinstance(info.context, dict) else {}
        paths = ctx.get("paths")
        if not isinstance(paths, InputPaths):
            return value
        from landwatch.workflows.config import load_config

        path = paths.resolve(value, "file")
        try:
            cfg = load_config(path)  # InputError (a ValueError) names the problem
        except (LandwatchError, OSError) as exc:
            raise ValueError(str(exc)) from None
        for key, full in _config_files(cfg).items():
            try:
                paths.resolve(str(full), "any")
            except ValueError as exc:
                raise ValueError(f"{path.name} names {key} = {str(full)!r}: {exc}") from None
        return value


def _config_files(cfg: Any) -> dict[str, Path]:
    """Every file an SDG 15.3.1 configuration names, by key, as absolute paths."""
    out: dict[str, Path] = {}
    for name in type(cfg).model_fields:
        if name == "base_dir":
            continue
        value = getattr(cfg, name)
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for key, item in items:
            if isinstance(item, Path) and str(item) != "esa_cci":  # esa_cci: packaged table
                out[name if key is None else f"{name}.{key}"] = cfg.path(item)
    return out


class DroughtSpiInputs(_Inputs):
    """Inputs of ``drought-spi``."""

    source: DataSource = Field(
        description="Monthly precipitation (mm): a station CSV (time + one column per "
        "station) or a NetCDF/Zarr grid. " + _PATH_HELP,
        examples=["samples/region/climate_monthly.nc"],
    )
    scales: list[Annotated[int, Field(ge=1, le=72)]] = Field(
        default_factory=lambda: [3],
        min_length=1,
        max_length=12,
        description="Accumulation periods in months; one output per scale.",
    )
    variable: Name | None = Field(None, description="Variable of a grid file (e.g. pr).")
    method: Literal["thom", "mle", "lmoments"] = Field("thom", description="Gamma fit.")
    distribution: Literal["gamma", "pearson3"] = Field(
        "gamma", description="gamma, or pearson3 (with lmoments)."
    )
    calibration: Calibration = "1981-2010"
    format: Literal["tif", "nc"] = Field(
        "tif",
        description="Output of a grid: tif (Cloud-Optimized GeoTIFF, a band per month) or "
        "nc (CF-NetCDF). A CSV source always gives CSV.",
    )
    crs: Name | None = Field(None, description="CRS of a grid whose file has none.")


class DroughtSo3Inputs(_Inputs):
    """Inputs of ``drought-so3``."""

    climate: DataSource = Field(
        description="Monthly precipitation NetCDF/Zarr (pr, mm/month). " + _PATH_HELP,
        examples=["samples/region/climate_monthly.nc"],
    )
    population: DataFile = Field(
        description="Population count raster.", examples=["samples/region/population.tif"]
    )
    population_female: DataFile | None = Field(None, description="Female population raster.")
    population_male: DataFile | None = Field(None, description="Male population raster.")
    admin: DataFile | None = Field(None, description="Admin units (GeoPackage/GeoJSON).")
    admin_layer: Name | None = Field(None, description="Layer of the admin file.")
    admin_id_field: Name = "admin_id"
    admin_name_field: Name = "name"
    pr_variable: Name = "pr"
    scheme: Literal["prais", "trends_earth"] = Field("prais", description="Hazard class edges.")
    land_cover: DataFile | None = Field(
        None, description="Land cover raster; its water classes are left out of every area."
    )
    water_codes: list[int] = Field(
        default_factory=lambda: [7], max_length=20, description="Water classes of land_cover."
    )
    water_mask: DataFile | None = Field(None, description="Water mask raster (non-zero = water).")
    map_periods: list[YearSpan] | None = Field(
        None,
        max_length=30,
        description="Periods of the most-severe-class maps, FIRST-LAST (default: the PRAIS "
        "4-year periods).",
    )
    align: bool = Field(
        False, description="Resample land cover / water mask to the population grid."
    )


class WarnCdiInputs(_Inputs):
    """Inputs of ``warn-cdi``."""

    climate: DataSource = Field(
        description="Monthly climate NetCDF/Zarr with pr (mm/month) and tas (degC). " + _PATH_HELP,
        examples=["samples/region/climate_monthly.nc"],
    )
    ndvi: DataSource | None = Field(
        None, description="Monthly NDVI on the climate grid (needed for the Alert class)."
    )
    ndvi_variable: Name = "ndvi"
    soil_moisture: DataSource | None = Field(
        None, description="Monthly soil moisture on the climate grid (default: bucket model)."
    )
    soil_moisture_variable: Name = "soil_moisture"
    land_cover: DataFile | None = Field(
        None, description="UNCCD land cover on the climate grid, for per-land-type rules."
    )
    rules: DataFile | None = Field(None, description="CDI rules YAML (default: the shipped one).")
    calibration: Calibration = "1981-2010"
    capacity: float = Field(150.0, gt=0, le=2000, description="Bucket water capacity (mm).")


class WarnRunInputs(_Inputs):
    """Inputs of ``warn-run``."""

    cdi: DataSource = Field(
        description="Monthly CDI classes (time, y, x), e.g. jobs/<id>/cdi.nc of a warn-cdi job.",
        examples=["jobs/<id>/cdi.nc"],
    )
    cdi_variable: Name | None = Field(
        None, description="Variable of a file holding several (cdi for warn-cdi output)."
    )
    admin: DataFile = Field(description="Admin units (GeoPackage/GeoJSON/Shapefile).")
    land_cover: DataFile = Field(description="UNCCD 7-class land cover on the CDI grid.")
    population: DataFile = Field(description="Population (persons per pixel).")
    admin_layer: Name | None = None
    admin_id_field: Name = "admin_id"
    admin_name_field: Name = "name"
    rules: DataFile | None = Field(None, description="Alert rules YAML (default: the shipped one).")
    forecast: bool = Field(False, description="The CDI is a forecast (separate alert stream).")
    certainty: Literal["Likely", "Possible"] | None = Field(
        None, description="CAP certainty of forecast alerts."
    )
    sender: Name = Field("landwatch@localhost", description="CAP sender (address or domain).")
    status: Literal["Actual", "Exercise", "System", "Test", "Draft"] = "Actual"
    month: Month | None = Field(None, description="Bulletin month YYYY-MM (default: the last).")
    title: Name = "Drought bulletin"
    align: bool = Field(
        False, description="Resample land cover (nearest) and population (sum) to the CDI grid."
    )


class ForecastInputs(_Inputs):
    """Inputs of ``forecast``."""

    source: DataSource = Field(
        description="Monthly precipitation (mm): unit CSV (time + one column per unit) or "
        "NetCDF/Zarr grid. " + _PATH_HELP,
        examples=["samples/region/climate_monthly.nc"],
    )
    variable: Name | None = Field(None, description="Variable of a grid file.")
    leads: list[Annotated[int, Field(ge=1, le=12)]] = Field(
        default_factory=lambda: [1, 2, 3], min_length=1, max_length=12, description="Months."
    )
    model: Literal["linear", "gbm"] = "gbm"
    max_iter: int | None = Field(None, ge=10, le=5000, description="gbm boosting iterations.")
    threads: int | None = Field(None, ge=1, le=64, description="gbm OpenMP threads.")
    drivers: DataFile | None = Field(None, description="Climate drivers CSV (time + columns).")
    driver_columns: list[Name] | None = Field(None, max_length=50)
    driver_lag: int = Field(1, ge=0, le=12, description="Months until a driver is published.")
    issue: Month | None = Field(None, description="Issue month YYYY-MM (default: the last).")
    calibration: Calibration = "1981-2010"
    hindcast: bool = Field(True, description="Measure the skill first.")
    block_years: int = Field(10, ge=1, le=50)
    gap_years: int = Field(1, ge=0, le=10)
    scheme: Literal["blocked", "rolling"] = "blocked"
    crs: Name | None = None


LandTypeComponent = Literal["land_cover", "soil_units", "climate_zones"]


def _all_components() -> list[LandTypeComponent]:
    return ["land_cover", "soil_units", "climate_zones"]


class LdnInputs(_Inputs):
    """Inputs of ``ldn``."""

    sdg_run: RunFolder = Field(
        description="An SDG 15.3.1 output: jobs/<id> (or job-<id>) of an sdg1531 job, or a "
        "published run (its name).",
        examples=["jobs/<id>"],
    )
    components: list[LandTypeComponent] = Field(
        default_factory=_all_components,
        max_length=3,
        description="Land type = intersection of these inputs of the run.",
    )
    land_types: DataFile | None = Field(
        None, description="Your own land types (raster, or polygons with land_type_field)."
    )
    land_type_field: Name | None = None
    land_type_year: int | None = Field(None, ge=1900, le=2100)
    interventions: DataFile | None = Field(
        None, description="Planned interventions (polygons: action, effect) for the what-if."
    )
    drought_hazard: DataFile | None = Field(None, description="Drought hazard class raster.")
    hazard_min_class: int = Field(2, ge=0, le=4)
    risk: DataFile | None = Field(None, description="Risk raster (> 0 = at risk).")
    rules: DataFile | None = Field(None, description="Response rule table (YAML).")
    min_area_km2: float = Field(1.0, ge=0, description="Smallest hotspot or brightspot, km2.")
    periods: list[Name] | None = Field(None, max_length=20, description="Reporting periods.")
    align: bool = False

    @field_validator("sdg_run")
    @classmethod
    def _is_sdg_run(cls, value: str, info: ValidationInfo) -> str:
        _check_workflow(value, info, "sdg1531")
        return value


class MatchInputs(_Inputs):
    """Inputs of ``match``."""

    ldn_run: RunFolder = Field(
        description="An LDN output: jobs/<id> (or job-<id>) of an ldn job, or a published run.",
        examples=["jobs/<id>"],
    )
    period: Name | None = Field(None, description="Reporting period (default: the last).")
    hotspots: list[Annotated[int, Field(ge=1)]] | None = Field(
        None, max_length=100, description="Priority ranks to match (default: the top ones)."
    )
    top_hotspots: int = Field(5, ge=1, le=100, description="How many hotspots, by priority.")
    brightspots: bool = Field(False, description="Match brightspots instead of hotspots.")
    area: DataFile | None = Field(None, description="A polygon to match instead.")
    top: int = Field(3, ge=1, le=20, description="Practices per place.")

    @field_validator("ldn_run")
    @classmethod
    def _is_ldn_run(cls, value: str, info: ValidationInfo) -> str:
        _check_workflow(value, info, "ldn")
        return value


BriefTopic = Literal["land_degradation", "drought", "ldn", "hotspots_practices"]
AdminId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
#: Run inputs of ``brief`` -> the workflow whose output each must be.
BRIEF_RUNS: dict[str, str] = {
    "sdg_run": "sdg1531",
    "ldn_run": "ldn",
    "so3_run": "so3",
    "warning_run": "warning",
}


class BriefInputs(_Inputs):
    """Inputs of ``brief``."""

    topic: BriefTopic = Field(
        description="land_degradation (SDG 15.3.1), drought, ldn or hotspots_practices."
    )
    admin_id: AdminId | None = Field(
        None, description="Admin unit id the brief is about (e.g. KE-S01).", examples=["KE-S01"]
    )
    area: DataFile | None = Field(
        None,
        description="A polygon (GeoJSON) the brief is about, instead of admin_id. " + _PATH_HELP,
    )
    sdg_run: RunFolder | None = Field(
        None, description="An sdg1531 output: jobs/<id>, job-<id> or a published run."
    )
    ldn_run: RunFolder | None = Field(None, description="An ldn output (jobs/<id>, job-<id>, run).")
    so3_run: RunFolder | None = Field(
        None, description="A drought-so3 output (jobs/<id>, job-<id>, run)."
    )
    warning_run: RunFolder | None = Field(
        None, description="A warn-run output (jobs/<id>, job-<id>, run)."
    )
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="Title of the brief (default: from the topic and the area)."
    )

    @field_validator("sdg_run", "ldn_run", "so3_run", "warning_run")
    @classmethod
    def _run_of(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.field_name is not None:
            _check_workflow(value, info, BRIEF_RUNS[info.field_name])
        return value

    @model_validator(mode="after")
    def _one_area(self) -> BriefInputs:
        if self.admin_id is not None and self.area is not None:
            raise ValueError("give admin_id or area, not both.")
        return self


def _check_workflow(value: str, info: ValidationInfo, workflow: str) -> None:
    ctx = info.context if isinstance(info.context, dict) else {}
    paths = ctx.get("paths")
    if not isinstance(paths, InputPaths):
        return
    folder = paths.resolve(value, "folder")
    try:
        got = json.loads((folder / "manifest.json").read_text()).get("workflow")
    except (OSError, ValueError, AttributeError):
        got = None
    if got != workflow:
        raise ValueError(
            f"{value!r} is not an output of {workflow} (its manifest.json names "
            f"{got!r}); pass the output folder of a {workflow} job or run"
        )


# --------------------------------------------------------------------------- run functions


@dataclass(frozen=True)
class JobContext:
    """What a process may need besides its inputs."""

    job_id: str
    settings: Settings

    @property
    def database_url(self) -> str:
        return self.settings.db_url()


def _run_sample_create(
    inputs: SampleCreateInputs, out_dir: Path, progress: JobProgress, ctx: JobContext
) -> None:
    from landwatch.sample import create_sample_region

    create_sample_region(out_dir, size=inputs.size, seed=inputs.seed, progress=progress.fraction)
    progress.log(f"sample region written; run sdg1531 with config samples/{inputs.name}/run.yaml")


def _run_sdg1531(
    inputs: Sdg1531Inputs, out_dir: Path, progress: JobProgress, ctx: JobContext
) -> None:
    from landwatch.workflows.config import load_config
    from landwatch.workflows.sdg1531 import run_sdg1531

    prod = {
        k: getattr(inputs, k)
        for k in ("significance", "mode", "state_method", "lpd_table")
        if getattr(inputs, k) is not None
    }
    cfg = load_config(
        inputs.config, align=inputs.align, all_layers=inputs.all_layers, productivity=prod or None
    )
    run_sdg1531(cfg, out_dir, overwrite=True, progress=progress)


def _run_drought_spi(
    inputs: DroughtSpiInputs, out_dir: Path, progress: JobProgress, ctx: JobContext
) -> None:
    from landwatch.workflows.drought import run_index

    suffix = "csv" if inputs.source.lower().endswith(".csv") else inputs.format
    progress.start(len(inputs.scales))
    for scale in inputs.scales:
        run_index(
            "spi",
            inputs.source,
            out_dir / f"spi_{scale}.{suffix}",
            scale=scale,
            variable=inputs.variable,
            method=inputs.method,
            distribution=inputs.distribution,
            calibration=_years(inputs.calibration),
            crs=inputs.crs,
        )
        progress.step(f"SPI-{scale} written")


def _run_drought_so3(
    inputs: DroughtSo3Inputs, out_dir: Path, progress: JobProgress, ctx: JobContext
) -> None:
    from landwatch.workflows.so3 import run_so3

    periods = None
    if inputs.map_periods:
        periods = {p: (int(p[:4]), int(p[5:])) for p in inputs.map_periods}
    run_so3(
        inputs.climate,
        out_dir,
        population=inputs.population,
        population_female=inputs.population_female,
        population_male=inputs.population_male,
        admin=inputs.admin,
        admin_layer=inputs.admin_layer,
        admin_id_field=inputs.admin_id_field,
        admin_name_field=inputs.admin_name_field,
        pr_variable=inputs.pr_variable,
        scheme=inputs.scheme,
        land_cover=inputs.land_cover,
        water_mask=inputs.water_mask,
        water_codes=tuple(inputs.water_codes),
        map_periods=periods,
        align=inputs.align,
        overwrite=True,
        progress=progress,
    )


def _run_warn_cdi(
    inputs: WarnCdiInputs, out_dir: Path, progress: JobProgress, ctx: JobContext
) -> None:
    from landwatch.workflows.cdi import run_cdi

    run_cdi(
        inputs.climate,
        out_dir,
        ndvi=inputs.ndvi,
        ndvi_variable=inputs.ndvi_variable,
        soil_moisture=inputs.soil_moisture,
        soil_moisture_variable=inputs.soil_moisture_variable,
        land_cover=inputs.land_cover,
        rules=inputs.rules,
        calibration=_years(inputs.calibration),
        capacity=inputs.capacity,
        overwrite=True,
        progress=progress,
    )


def _run_warn_run(
    inputs: WarnRunInputs, out_dir: Path, progress: JobProgress, ctx: JobContext
) -> None:
    from landwatch.workflows.warning import run_alerts

    run_alerts(
        inputs.cdi,
        out_dir,
        admin=inputs.admin,
        land_cover=inputs.land_cover,
        population=inputs.population,
        admin_layer=inputs.admin_layer,
        admin_id_field=inputs.admin_id_field,
        admin_name_field=inputs.admin_name_field,
        cdi_variable=inputs.cdi_variable,
        rules=inputs.rules,
        database_url=ctx.database_url,
        is_forecast=inputs.forecast,
        certainty=inputs.certainty,
        sender=inputs.sender,
        status=inputs.status,
        bulletin_month=inputs.month,
        title=inputs.title,
        align=inputs.align,
        overwrite=True,
        progress=progress,
    )


def _run_forecast(
    inputs: ForecastInputs, out_dir: Path, progress: JobProgress, ctx: JobContext
) -> None:
    from landwatch.workflows.forecast import run_forecast

    if inputs.model != "gbm" and (inputs.max_iter is not None or inputs.threads is not None):
        raise InputError("max_iter and threads apply to model gbm only; remove them.")
    params: dict[str, Any] = {}
    if inputs.max_iter is not None:
        params["max_iter"] = inputs.max_iter
    if inputs.threads is not None:
        params["threads"] = inputs.threads
    run_forecast(
        inputs.source,
        out_dir,
        variable=inputs.variable,
        leads=inputs.leads,
        model=inputs.model,
        model_params=params,
        drivers=inputs.drivers,
        driver_columns=inputs.driver_columns,
        publication_lag=inputs.driver_lag,
        issue=inputs.issue,
        calibration=_years(inputs.calibration),
        hindcast=inputs.hindcast,
        block_years=inputs.block_years,
        gap_years=inputs.gap_years,
        scheme=inputs.scheme,
        crs=inputs.crs,
        overwrite=True,
        progress=progress.note,
    )


def _run_ldn(inputs: LdnInputs, out_dir: Path, progress: JobProgress, ctx: JobContext) -> None:
    from landwatch.workflows.ldn import run_ldn

    if not inputs.components and inputs.land_types is None:
        raise InputError("components is empty; name at least one, or give land_types.")
    run_ldn(
        inputs.sdg_run,
        out_dir,
        components=tuple(inputs.components),
        land_types_path=inputs.land_types,
        land_type_field=inputs.land_type_field,
        land_type_year=inputs.land_type_year,
        interventions=inputs.interventions,
        drought_hazard=inputs.drought_hazard,
        hazard_min_class=inputs.hazard_min_class,
        risk=inputs.risk,
        rules=inputs.rules,
        min_area_km2=inputs.min_area_km2,
        periods=inputs.periods,
        align=inputs.align,
        overwrite=True,
        progress=progress,
    )


def _run_match(inputs: MatchInputs, out_dir: Path, progress: JobProgress, ctx: JobContext) -> None:
    from landwatch.knowledge.practices import approved_records
    from landwatch.store import make_engine
    from landwatch.workflows.match import run_match

    progress.start(2)
    engine = make_engine(ctx.database_url)
    try:
        with session_scope(engine) as session:
            records = approved_records(session)
    finally:
        engine.dispose()
    progress.step(f"{len(records)} approved practices read")
    result = run_match(
        records,
        ldn_run=inputs.ldn_run,
        period=inputs.period,
        kind="brightspot" if inputs.brightspots else "hotspot",
        ranks=inputs.hotspots,
        top_hotspots=inputs.top_hotspots,
        area=inputs.area,
        top=inputs.top,
        out=out_dir,
    )
    progress.step(f"{len(result.table)} matches for {len(result.profiles)} places")


def _run_brief(inputs: BriefInputs, out_dir: Path, progress: JobProgress, ctx: JobContext) -> None:
    from landwatch.workflows.brief import run_brief

    run_brief(
        out_dir,
        topic=inputs.topic,
        sdg_run=inputs.sdg_run,
        ldn_run=inputs.ldn_run,
        so3_run=inputs.so3_run,
        warning_run=inputs.warning_run,
        admin_id=inputs.admin_id,
        area=inputs.area,
        database_url=ctx.database_url,
        title=inputs.title,
        overwrite=True,
        progress=progress,
    )


# --------------------------------------------------------------------------- registry


class InputsInvalid(InputError):
    """Inputs of a process that do not validate; ``errors`` name each field."""

    def __init__(self, process_id: str, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        text = "; ".join(f"inputs.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        super().__init__(f"process {process_id}: {text}")


def _clean_message(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def _job_folder(inputs: Any, job_id: str) -> str:
    return f"jobs/{job_id}"


def _sample_folder(inputs: Any, job_id: str) -> str:
    return f"samples/{inputs.name}"


@dataclass(frozen=True)
class ProcessSpec:
    """A process of the service: its description, inputs model, outputs and runner."""

    id: str
    title: str
    description: str
    inputs: type[BaseModel]
    outputs: Mapping[str, Mapping[str, Any]]
    run: Callable[[Any, Path, JobProgress, JobContext], None]
    output_dir: Callable[[Any, str], str] = _job_folder
    keywords: tuple[str, ...] = field(default=())

    def validate(
        self, raw: Mapping[str, Any], paths: InputPaths | None, *, resolve: bool = False
    ) -> BaseModel:
        """The inputs as the model; with ``paths``, file inputs are checked (and with
        ``resolve``, replaced by absolute paths). InputsInvalid names every bad field."""
        try:
            return self.inputs.model_validate(
                dict(raw), context={"paths": paths, "resolve": resolve}
            )
        except ValidationError as exc:
            errors = [
                {"loc": tuple(e["loc"]), "msg": _clean_message(e["msg"]), "type": e["type"]}
                for e in exc.errors(include_url=False, include_context=False)
            ]
            raise InputsInvalid(self.id, errors) from None

    def input_descriptions(self) -> dict[str, dict[str, Any]]:
        """OGC process description ``inputs``: name -> title, description, schema."""
        schema = self.inputs.model_json_schema()
        required = set(schema.get("required", []))
        out: dict[str, dict[str, Any]] = {}
        for name, prop in schema.get("properties", {}).items():
            prop = dict(prop)
            title = prop.pop("title", name)
            description = prop.pop("description", "")
            out[name] = {
                "title": title,
                "description": description,
                "schema": prop,
                "minOccurs": 1 if name in required else 0,
                "maxOccurs": 1,
            }
        return out


def _out(title: str, description: str, media: str) -> dict[str, Any]:
    return {
        "title": title,
        "description": description,
        "schema": {"type": "string", "contentMediaType": media},
    }


_COG = "image/tiff; application=geotiff; profile=cloud-optimized"
_TABLES = _out("Tables", "Area tables: CSV per table, one XLSX, tables.json.", "text/csv")
_MANIFEST = _out(
    "Manifest", "manifest.json: inputs with checksums, parameters, versions.", "application/json"
)

PROCESSES: dict[str, ProcessSpec] = {
    spec.id: spec
    for spec in (
        ProcessSpec(
            id="sample-create",
            title="Create the sample region",
            description="Write the built-in synthetic region with planted truth (NDVI, land "
            "cover, SOC, climate, population, admin units, truth.json and run.yaml) into "
            "samples/<name>; then run sdg1531 with config samples/<name>/run.yaml.",
            inputs=SampleCreateInputs,
            outputs={
                "rasters": _out("Rasters", "Land cover, SOC, climate zones, population.", _COG),
                "cubes": _out(
                    "Cubes", "NDVI and climate NetCDF (annual and monthly).", "application/x-netcdf"
                ),
                "config": _out("Run configuration", "run.yaml for sdg1531.", "application/yaml"),
                "truth": _out("Planted truth", "truth.json.", "application/json"),
            },
            run=_run_sample_create,
            output_dir=_sample_folder,
            keywords=("sample", "demo"),
        ),
        ProcessSpec(
            id="sdg1531",
            title="SDG 15.3.1 land degradation",
            description="Land productivity, land cover and SOC sub-indicators, one-out-all-out "
            "and status per period, with area tables (landwatch sdg1531).",
            inputs=Sdg1531Inputs,
            outputs={
                "maps": _out(
                    "Maps", "COG per sub-indicator, indicator and status, per period.", _COG
                ),
                "tables": _TABLES,
                "summary": _out("Summary", "summary.json.", "application/json"),
                "map": _out("Map", "sdg1531_map.png.", "image/png"),
                "manifest": _MANIFEST,
            },
            run=_run_sdg1531,
            keywords=("SDG 15.3.1", "land degradation"),
        ),
        ProcessSpec(
            id="drought-spi",
            title="Standardized Precipitation Index",
            description="SPI at one or more scales for a station table or a grid "
            "(landwatch drought spi).",
            inputs=DroughtSpiInputs,
            outputs={
                "spi": _out("SPI", "spi_<scale>.tif (COG, a band per month), .nc or .csv.", _COG)
            },
            run=_run_drought_spi,
            keywords=("drought", "SPI"),
        ),
        ProcessSpec(
            id="drought-so3",
            title="UNCCD SO3 drought reporting",
            description="Drought hazard (SO3-1), exposure (SO3-2), vulnerability (SO3-3) and "
            "drought events, with most-severe-class maps (landwatch drought so3).",
            inputs=DroughtSo3Inputs,
            outputs={
                "maps": _out("Maps", "maps/most_severe_<period>.tif.", _COG),
                "tables": _TABLES,
                "events": _out("Events", "GeoJSON drought event catalog.", "application/geo+json"),
                "manifest": _MANIFEST,
            },
            run=_run_drought_so3,
            keywords=("drought", "SO3", "UNCCD"),
        ),
        ProcessSpec(
            id="warn-cdi",
            title="Combined Drought Indicator",
            description="Monthly Combined Drought Indicator (Watch, Warning, Alert, recovery) "
            "from climate, soil moisture and NDVI (landwatch warn cdi).",
            inputs=WarnCdiInputs,
            outputs={
                "cdi": _out(
                    "CDI", "cdi.nc: monthly CDI classes and their inputs.", "application/x-netcdf"
                ),
                "shares": _out("Class shares", "cdi_area_fraction.csv.", "text/csv"),
                "map": _out("Map", "cdi_latest.png.", "image/png"),
            },
            run=_run_warn_cdi,
            keywords=("drought", "early warning", "CDI"),
        ),
        ProcessSpec(
            id="warn-run",
            title="Drought alerts",
            description="Drought alerts per admin unit from monthly CDI classes: lifecycle in "
            "the service's database (GET /alerts), CAP 1.2 messages, Atom feed, GeoJSON, CSV "
            "and an HTML bulletin (landwatch warn run).",
            inputs=WarnRunInputs,
            outputs={
                "cap": _out("CAP messages", "cap/*.xml (CAP 1.2).", "application/cap+xml"),
                "feed": _out("Atom feed", "alerts.atom.", "application/atom+xml"),
                "situation": _out(
                    "Situation", "situation_<month>.geojson.", "application/geo+json"
                ),
                "tables": _out("Tables", "tables/*.csv.", "text/csv"),
                "bulletin": _out("Bulletin", "bulletin_<month>.html.", "text/html"),
            },
            run=_run_warn_run,
            keywords=("drought", "early warning", "CAP"),
        ),
        ProcessSpec(
            id="forecast",
            title="Drought forecast",
            description="SPI-3 and CDI-watch forecasts 1-3 months ahead with their hindcast "
            "skill against persistence and climatology (landwatch forecast run).",
            inputs=ForecastInputs,
            outputs={
                "forecasts": _out("Forecasts", "forecasts.csv (and .nc for grids).", "text/csv"),
                "skill": _out("Skill", "skill.json, skill.csv, skill.md.", "application/json"),
                "manifest": _MANIFEST,
            },
            run=_run_forecast,
            keywords=("drought", "forecast"),
        ),
        ProcessSpec(
            id="ldn",
            title="Land Degradation Neutrality",
            description="Land types, like-for-like neutrality balance, hotspots and brightspots "
            "and the response hierarchy from an sdg1531 output (landwatch ldn).",
            inputs=LdnInputs,
            outputs={
                "maps": _out("Maps", "land types, gains/losses, response, hotspots.", _COG),
                "tables": _TABLES,
                "hotspots": _out(
                    "Hotspots",
                    "hotspots.gpkg and GeoJSON per kind and period.",
                    "application/geo+json",
                ),
                "map": _out("Map", "ldn_map.png.", "image/png"),
                "manifest": _MANIFEST,
            },
            run=_run_ldn,
            keywords=("LDN", "hotspots"),
        ),
        ProcessSpec(
            id="match",
            title="Match SLM practices",
            description="Recommend approved practices of the knowledge base for the hotspots "
            "(or brightspots, or a polygon) of an ldn output (landwatch match).",
            inputs=MatchInputs,
            outputs={
                "matches": _out("Matches", "matches.csv and matches.json.", "text/csv"),
            },
            run=_run_match,
            keywords=("SLM", "practices"),
        ),
        ProcessSpec(
            id="brief",
            title="Information brief",
            description="A brief on one topic (land_degradation, drought, ldn, "
            "hotspots_practices) for an admin unit or a polygon, from the linked runs and the "
            "current alerts: PDF and HTML with maps and tables (landwatch.workflows.brief). "
            "Started by accepting a request for information (POST /requests/{id}/accept).",
            inputs=BriefInputs,
            outputs={
                "brief": _out("Brief", "brief.pdf (and brief.html).", "application/pdf"),
            },
            run=_run_brief,
            keywords=("brief", "requests"),
        ),
    )
}


def get_process(process_id: str) -> ProcessSpec:
    spec = PROCESSES.get(process_id)
    if spec is None:
        raise NotFoundError(
            f"process {process_id!r} does not exist; expected one of "
            f"{', '.join(PROCESSES)} (see GET /processes)."
        )
    return spec


def submit_job(
    session: Session,
    process_id: str,
    raw_inputs: Mapping[str, Any],
    *,
    owner: str,
    paths: InputPaths,
    note: str = "",
) -> Job:
    """Queue a process as an ``accepted`` job: inputs validated (files checked against
    ``paths``), the row added and flushed. The caller commits, then wakes the manager
    (:meth:`JobManager.wake`). InputsInvalid names every bad input; NotFoundError an
    unknown process."""
    spec = get_process(process_id)
    inputs = spec.validate(raw_inputs, paths)
    job_id = str(uuid.uuid4())
    output_dir = spec.output_dir(inputs, job_id)
    busy = session.scalar(
        select(Job.id).where(Job.output_dir == output_dir, Job.status.in_(("accepted", "running")))
    )
    if busy is not None:
        msg = f"job {busy} already writes {output_dir}; wait for it or choose another name"
        raise InputsInvalid(spec.id, [{"loc": (), "msg": msg, "type": "value_error"}])
    now = utcnow()
    job = Job(
        id=job_id,
        process_id=spec.id,
        status="accepted",
        progress=0.0,
        message="accepted; waiting for a worker",
        inputs=inputs.model_dump(mode="json"),
        owner=owner,
        output_dir=output_dir,
        created_at=now,
        updated_at=now,
        log=log_line(f"accepted from {owner}" + (f" ({note})" if note else "")),
    )
    session.add(job)
    session.flush()
    return job


# --------------------------------------------------------------------------- progress


class JobCancelled(BaseException):  # noqa: N818 - not an error: the job was dismissed
    """The job was dismissed while it ran (a BaseException, so workflows let it pass)."""


ProgressSink = Callable[[float, str, list[str]], None]


class JobProgress:
    """Workflow progress -> job progress (0-99 %), message and log lines.

    Accepts the workflows' three styles: the :class:`~landwatch.workflows.progress.Progress`
    protocol (``start``/``step``), a ``(step, fraction)`` callback (:meth:`fraction`, the
    sample region) and a message callback (:meth:`note`, the forecast). Every message
    becomes a timestamped log line; ``sink(progress, message, new_lines)`` is called at
    most every ``interval`` seconds (and by :meth:`flush`). Progress never goes down.
    """

    def __init__(
        self,
        sink: ProgressSink,
        *,
        interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = sink
        self._interval = interval
        self._clock = clock
        self._last = -float("inf")
        self._pending: list[str] = []
        self._notes = 0
        self.total = 0
        self.done = 0
        self.value = 0.0
        self.message = ""

    def start(self, total: int) -> None:
        self.total = max(int(total), 1)
        self.done = 0

    def step(self, message: str) -> None:
        self.done += 1
        self._set(100.0 * self.done / self.total if self.total else None, message)

    def fraction(self, step: str, fraction: float) -> None:
        self._set(100.0 * float(fraction), step)

    def note(self, message: str) -> None:
        """A message without a known number of steps: progress creeps towards 95 %."""
        self._notes += 1
        self._set(95.0 * (1.0 - 0.85**self._notes), message)

    def log(self, message: str) -> None:
        """A log line that changes neither the progress nor the message."""
        self._pending.append(log_line(message))
        self.flush(force=False)

    def take_pending(self) -> list[str]:
        lines, self._pending = self._pending, []
        return lines

    def _set(self, value: float | None, message: str) -> None:
        if value is not None:
            self.value = max(self.value, min(PROGRESS_CAP, max(0.0, value)))
        self.message = str(message)
        self._pending.append(log_line(message))
        self.flush(force=False)

    def flush(self, force: bool = True) -> None:
        now = self._clock()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        self._sink(round(self.value, 1), self.message, self.take_pending())


# --------------------------------------------------------------------------- results


MEDIA_TYPES: dict[str, str] = {
    ".tif": _COG,
    ".tiff": _COG,
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".geojson": "application/geo+json",
    ".json": "application/json",
    ".xml": "application/xml",
    ".png": "image/png",
    ".nc": "application/x-netcdf",
    ".gpkg": "application/geopackage+sqlite3",
    ".html": "text/html",
    ".pdf": "application/pdf",
    ".atom": "application/atom+xml",
    ".md": "text/markdown",
    ".txt": "text/plain",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
}


def media_type(path: Path) -> str:
    """Media type of an output file by its suffix; XML holding a CAP 1.2 alert is
    ``application/cap+xml``."""
    suffix = path.suffix.lower()
    if suffix == ".xml":
        try:
            with open(path, "rb") as fh:
                head = fh.read(4096)
        except OSError:
            head = b""
        if _CAP_NAMESPACE in head:
            return "application/cap+xml"
    return MEDIA_TYPES.get(suffix, "application/octet-stream")


def list_results(folder: Path, *, limit: int = 10_000) -> list[tuple[str, Path]]:
    """Files of an output folder as (relative POSIX name, path), sorted; hidden files and
    folders (partial outputs) are left out."""
    out: list[tuple[str, Path]] = []
    if not folder.is_dir():
        return out
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            p = Path(root) / name
            out.append((p.relative_to(folder).as_posix(), p))
            if len(out) >= limit:
                return out
    return out


def result_file(folder: Path, name: str) -> Path:
    """The file ``name`` of an output folder; InputError when ``name`` leaves the folder,
    NotFoundError when there is no such file."""
    parts = PurePosixPath(name).parts
    base = folder.resolve()
    try:
        inside = (base / name).resolve().is_relative_to(base) if "\x00" not in name else False
    except (OSError, RuntimeError):  # a symbolic link loop
        inside = False
    if not name or "\\" in name or name.startswith("/") or ".." in parts or not inside:
        raise InputError(
            f"result {name!r}: expected the name of a file of the job's results (as listed "
            "by GET /jobs/{id}/results); paths that leave the results folder are refused."
        )
    full = (base / name).resolve()
    try:
        found = full.is_file()
    except OSError:  # e.g. a name too long for the file system
        found = False
    if any(p.startswith(".") for p in parts) or not found:
        raise NotFoundError(
            f"result {name!r} does not exist; see GET /jobs/{{id}}/results for the files."
        )
    return full


# --------------------------------------------------------------------------- uploads


class UploadTooLarge(LandwatchError):
    """An uploaded file is over the size limit (HTTP 413)."""


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str | None, *, max_length: int = 120) -> str:
    """A file name safe to store: the last path part, ASCII letters, digits, ``._-``;
    no leading dot; the suffix kept when shortened."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = _UNSAFE.sub("_", base).lstrip("._-")
    if len(base) > max_length:
        suffix = Path(base).suffix[:16]
        base = base[: max_length - len(suffix)] + suffix
    return base or "upload"


def save_upload(data_dir: Path, filename: str | None, stream: IO[bytes], max_bytes: int) -> str:
    """Copy an uploaded file to ``<data>/uploads/<uuid>/<safe name>``; return that path
    relative to the data folder. UploadTooLarge (nothing kept) over ``max_bytes``."""
    name = safe_filename(filename)
    upload_id = str(uuid.uuid4())
    folder = data_dir / "uploads" / upload_id
    folder.mkdir(parents=True)
    tmp = folder / f".{name}.partial"
    size = 0
    try:
        with open(tmp, "wb") as out:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLarge(
                        f"file {name!r} is over the upload limit of {max_bytes} bytes; send a "
                        "smaller file or raise LANDWATCH_MAX_UPLOAD_BYTES."
                    )
                out.write(chunk)
        tmp.rename(folder / name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return f"uploads/{upload_id}/{name}"


# --------------------------------------------------------------------------- job manager


def worker_alive(pid: int | None, job_id: str) -> bool:
    """Whether ``pid`` is a live worker process of ``job_id`` (not a reused pid)."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmd = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return WORKER_MODULE in cmd and job_id in cmd


def _signal_group(pid: int, sig: int) -> None:
    try:
        if os.getpgid(pid) == pid:  # workers lead their own process group
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_worker(pid: int, job_id: str, *, grace: float = 5.0) -> None:
    """Terminate a worker's process group (SIGTERM, then SIGKILL after ``grace`` s); only
    if ``pid`` is still that job's worker."""
    if not worker_alive(pid, job_id):
        return
    _signal_group(pid, signal.SIGTERM)
    try:
        psutil.Process(pid).wait(timeout=grace)
    except psutil.TimeoutExpired:
        _signal_group(pid, signal.SIGKILL)
    except psutil.NoSuchProcess:
        pass
    _signal_group(pid, signal.SIGKILL)  # children left in the group


def remove_partial_outputs(data_dir: Path, output_dir: str, *, final_too: bool = False) -> None:
    """Remove the temporary folders of a job's output (``.<name>.partial-*`` and the
    workflows' own temporaries next to it), and with ``final_too`` the output itself."""
    target = data_dir / output_dir
    parent = target.parent
    if parent.is_dir():
        for entry in parent.iterdir():
            if entry.name.startswith(".") and f"{target.name}.partial" in entry.name:
                shutil.rmtree(entry, ignore_errors=True)
    if final_too and target.is_dir():
        shutil.rmtree(target, ignore_errors=True)


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return f"killed by signal {name}" + (" (out of memory?)" if -code == 9 else "")
    return f"exit code {code}"


#: Seconds between two runs of the job-end hooks when no worker ended meanwhile.
HOOK_INTERVAL = 5.0


def _deliver_requests(session: Session, data_dir: Path) -> object:
    from landwatch.intake.records import deliver_finished_jobs

    return deliver_finished_jobs(session, data_dir)


#: Run by the job manager, each in its own transaction, with a session and the data
#: folder: when a worker it started ended, on start, and every HOOK_INTERVAL seconds
#: (jobs that ended unseen: adopted workers, another server). Each acts on jobs that
#: have ended and must be idempotent: the intake delivers the requests whose brief job
#: succeeded (``landwatch.intake.records.on_job_finished``).
JOB_END_HOOKS: list[Callable[[Session, Path], object]] = [_deliver_requests]


@dataclass
class _Launched:
    proc: subprocess.Popen[bytes]
    output_dir: str


class JobManager:
    """Starts, watches, cancels and recovers jobs (one thread of the server).

    Parameters
    ----------
    settings : Settings
        ``data_dir``, ``job_workers``, ``runs``, ``dask_scheduler`` and the database URL.
    engine : sqlalchemy.Engine
        The server's database engine.
    poll_interval : float
        Seconds between two rounds when nothing wakes the thread.
    stale_after : float
        Heartbeat age (s) after which a worker not started by this server counts as gone.
    kill_grace : float
        Seconds between SIGTERM and SIGKILL when a worker is stopped.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        poll_interval: float = 0.5,
        stale_after: float = STALE_AFTER,
        kill_grace: float = 5.0,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.data_dir = settings.data_dir.resolve()
        self.poll_interval = poll_interval
        self.stale_after = stale_after
        self.kill_grace = kill_grace
        self._launched: dict[str, _Launched] = {}
        self._cancel: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hooks_due = 0.0

    # -- lifecycle

    def start(self) -> None:
        """Recover jobs left by an earlier server, then start the manager thread."""
        self.recover()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="landwatch-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0, *, stop_workers: bool = True) -> None:
        """Stop the thread and, with ``stop_workers``, the workers this manager started
        (their jobs fail with :data:`RESTART_MESSAGE`; queued jobs wait for the next
        start). Workers adopted from an earlier server are left to finish."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if stop_workers:
            self.stop_workers()

    def stop_workers(self) -> None:
        """Fail the jobs of the workers this manager started, then stop those workers
        (SIGTERM to each group, SIGKILL after the grace period) and remove partial
        outputs."""
        launched, self._launched = self._launched, {}
        if not launched:
            return
        now = utcnow()
        with session_scope(self.engine) as s:
            rows = s.execute(
                select(Job.id, Job.log).where(Job.id.in_(list(launched)), Job.status == "running")
            ).all()
            for job_id, text in rows:  # accepted ones were not claimed yet: they stay queued
                s.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "running")
                    .values(
                        status="failed",
                        message=RESTART_MESSAGE,
                        error=RESTART_MESSAGE,
                        finished_at=now,
                        updated_at=now,
                        log=append_log(text, log_line(f"failed: {RESTART_MESSAGE}")),
                    )
                )
        for item in launched.values():
            if item.proc.poll() is None:
                _signal_group(item.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.kill_grace
        for item in launched.values():
            try:
                item.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(item.proc.pid, signal.SIGKILL)
                item.proc.wait()
            _signal_group(item.proc.pid, signal.SIGKILL)  # children left in the group
            remove_partial_outputs(self.data_dir, item.output_dir)
        log.info("job manager: stopped %d worker(s)", len(launched))

    def wake(self) -> None:
        """Look at the queue now (a job was submitted or dismissed)."""
        self._wake.set()

    def request_cancel(self, job_id: str, *, remove_output: bool = True) -> None:
        """Stop the worker of a dismissed job and remove its partial outputs, and with
        ``remove_output`` its finished ones (in the thread)."""
        with self._lock:
            self._cancel[job_id] = remove_output
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # keep managing jobs through a passing error (e.g. a locked db)
                log.exception("job manager: a round failed")
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def tick(self) -> None:
        """One round: cancellations, finished workers, adopted workers, the queue, and
        the job-end hooks (at once when a worker ended, else every HOOK_INTERVAL s)."""
        self._cancellations()
        reaped = self._reap()
        self._watch_adopted()
        self._start_queued()
        self._job_end_hooks(force=reaped)

    def _job_end_hooks(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._hooks_due:
            return
        self._hooks_due = now + HOOK_INTERVAL
        for hook in JOB_END_HOOKS:
            try:
                with session_scope(self.engine) as s:
                    hook(s, self.data_dir)
            except Exception:  # one failing hook must not stop the jobs or the others
                log.exception(
                    "job manager: job-end hook %s failed", getattr(hook, "__name__", hook)
                )

    # -- recovery

    def recover(self) -> None:
        """Jobs left by an earlier server: fail the running ones whose worker is gone or
        silent, adopt the others, queue the accepted ones again."""
        now = utcnow()
        with session_scope(self.engine) as s:
            for job in s.scalars(select(Job).where(Job.status == "running")):
                if self._lost(job, now):
                    self._fail_lost(job, now)
                else:
                    job.log = append_log(
                        job.log,
                        log_line(f"server restarted; worker {job.worker_pid} still runs (adopted)"),
                    )
            for job in s.scalars(select(Job).where(Job.status == "accepted")):
                job.log = append_log(job.log, log_line("server restarted; queued again"))
                job.updated_at = now

    def _lost(self, job: Job, now: dt.datetime) -> bool:
        beat = as_utc(job.heartbeat_at) or as_utc(job.started_at) or as_utc(job.created_at)
        stale = beat is None or (now - beat).total_seconds() > self.stale_after
        return stale or not worker_alive(job.worker_pid, job.id)

    def _fail_lost(self, job: Job, now: dt.datetime) -> None:
        if job.worker_pid:
            stop_worker(job.worker_pid, job.id, grace=self.kill_grace)
        job.status = "failed"
        job.message = RESTART_MESSAGE
        job.error = RESTART_MESSAGE
        job.finished_at = job.updated_at = now
        job.log = append_log(job.log, log_line(f"failed: {RESTART_MESSAGE}"))
        remove_partial_outputs(self.data_dir, job.output_dir)

    # -- one round

    def _cancellations(self) -> None:
        with self._lock:
            wanted, self._cancel = self._cancel, {}
        # a job may also have been dismissed through another server process
        with session_scope(self.engine) as s:
            for job_id, started in self._launched.items():
                if s.scalar(select(Job.status).where(Job.id == job_id)) in ("dismissed", None):
                    wanted.setdefault(job_id, started.output_dir.startswith("jobs/"))
            rows = s.execute(
                select(Job.id, Job.worker_pid, Job.output_dir, Job.status).where(Job.id.in_(wanted))
            ).all()
        for job_id, pid, output_dir, status in rows:
            if status != "dismissed":
                continue
            launched = self._launched.pop(job_id, None)
            if launched is not None:
                self._stop_launched(job_id, launched)
            elif pid:
                stop_worker(pid, job_id, grace=self.kill_grace)
            remove_partial_outputs(self.data_dir, output_dir, final_too=wanted[job_id])
            log.info("job %s dismissed: worker stopped, outputs removed", job_id)

    def _stop_launched(self, job_id: str, launched: _Launched) -> None:
        proc = launched.proc
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(self.kill_grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        _signal_group(proc.pid, signal.SIGKILL)  # children left in the group

    def _reap(self) -> bool:
        reaped = False
        for job_id, launched in list(self._launched.items()):
            code = launched.proc.poll()
            if code is None:
                continue
            del self._launched[job_id]
            reaped = True
            now = utcnow()
            with session_scope(self.engine) as s:
                job = s.get(Job, job_id)
                if job is None:
                    continue
                ours = job.status == "accepted" or (
                    job.status == "running" and job.worker_pid == launched.proc.pid
                )
                if not ours:
                    continue  # finished, dismissed, or claimed by another worker
                what = "could not start" if job.status == "accepted" else "ended unexpectedly"
                message = f"the worker process {what} ({_exit_text(code)}); run the job again"
                tail = self._worker_log_tail(job_id)
                job.status = "failed"
                job.message = message
                job.error = "\n".join([message, *tail])
                job.finished_at = job.updated_at = now
                job.log = append_log(job.log, *(log_line(t) for t in tail), log_line(message))
            remove_partial_outputs(self.data_dir, launched.output_dir)
        return reaped

    def _watch_adopted(self) -> None:
        now = utcnow()
        with session_scope(self.engine) as s:
            for job in s.scalars(select(Job).where(Job.status == "running")):
                if job.id not in self._launched and self._lost(job, now):
                    self._fail_lost(job, now)

    def _start_queued(self) -> None:
        with session_scope(self.engine) as s:
            running_elsewhere = s.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.status == "running", Job.id.not_in(list(self._launched) or [""]))
            )
            free = self.settings.job_workers - len(self._launched) - int(running_elsewhere or 0)
            if free <= 0:
                return
            queued = s.execute(
                select(Job.id, Job.output_dir)
                .where(Job.status == "accepted", Job.id.not_in(list(self._launched) or [""]))
                .order_by(Job.created_at, Job.id)
                .limit(free)
            ).all()
        for job_id, output_dir in queued:
            self._launch(job_id, output_dir)

    # -- workers

    def worker_env(self) -> dict[str, str]:
        """Environment of a worker: the server's, with its data folder, database, runs
        and Dask scheduler."""
        env = dict(os.environ)
        env["LANDWATCH_DATA_DIR"] = str(self.data_dir)
        env["LANDWATCH_DATABASE_URL"] = self.settings.db_url()
        env["LANDWATCH_RUNS"] = json.dumps([str(Path(r).resolve()) for r in self.settings.runs])
        for key, value in (
            ("LANDWATCH_DASK_SCHEDULER", self.settings.dask_scheduler),
            ("LANDWATCH_DASK_CLUSTER", self.settings.dask_cluster),
            ("LANDWATCH_DASK_MEMORY_LIMIT", self.settings.dask_memory_limit),
        ):
            if value:
                env[key] = value
            else:
                env.pop(key, None)
        return env

    def _worker_log(self, job_id: str) -> Path:
        return self.data_dir / "jobs" / ".workers" / f"{job_id}.log"

    def _worker_log_tail(self, job_id: str, lines: int = 20) -> list[str]:
        try:
            text = self._worker_log(job_id).read_text(errors="replace")
        except OSError:
            return []
        return [t for t in text.splitlines() if t.strip()][-lines:]

    def _launch(self, job_id: str, output_dir: str) -> None:
        now = utcnow()
        path = self._worker_log(job_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", WORKER_MODULE, job_id],
                    env=self.worker_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group: cancel stops its children too
                    close_fds=True,
                )
        except OSError as exc:
            with session_scope(self.engine) as s:
                s.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "accepted")
                    .values(
                        status="failed",
                        message=f"could not start a worker process: {exc}",
                        error=str(exc),
                        finished_at=now,
                        updated_at=now,
                    )
                )
            return
        self._launched[job_id] = _Launched(proc, output_dir)
        with session_scope(self.engine) as s:
            text = s.scalar(select(Job.log).where(Job.id == job_id)) or ""
            # only while it waits: once claimed, the worker owns the row (and the log)
            s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "accepted")
                .values(
                    worker_pid=proc.pid,
                    updated_at=now,
                    log=append_log(text, log_line(f"worker process {proc.pid} started")),
                )
            )
        log.info("job %s: worker %s started", job_id, proc.pid)

    def launched(self) -> dict[str, int]:
        """Job id -> pid of the workers this manager started and has not reaped."""
        return {k: v.proc.pid for k, v in self._launched.items()}


def iter_active_workers(engine: Engine) -> Iterator[tuple[str, int]]:
    """(job id, pid) of every live worker process named in the database."""
    with session_scope(engine) as s:
        rows = s.execute(select(Job.id, Job.worker_pid).where(Job.worker_pid.is_not(None))).all()
    for job_id, pid in rows:
        if pid is not None and worker_alive(pid, job_id):
            yield job_id, int(pid)


def provenance(job_id: str, process_id: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Contents of ``job.json`` written into every job's outputs."""
    return {
        "job": job_id,
        "process": process_id,
        "inputs": dict(inputs),
        "landwatch_version": landwatch.__version__,
        "written": utcnow().isoformat(timespec="seconds"),
    }
