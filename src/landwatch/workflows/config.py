"""Run configuration of the SDG 15.3.1 assessment (YAML file or flags)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from landwatch.errors import DataSourceError, InputError

YearRange = tuple[int, int]


class PeriodConfig(BaseModel):
    """One assessment period: the baseline or a reporting period."""

    model_config = ConfigDict(extra="forbid")

    productivity: YearRange = Field(description="first and last year of the productivity window")
    land_cover: YearRange = Field(description="initial and final land cover (and SOC) years")
    state_baseline: YearRange | None = Field(
        None, description="historical years of the state metric (default: window start to end-3)"
    )
    state_recent: YearRange | None = Field(
        None, description="recent years of the state metric (default: last 3 years)"
    )
    performance: YearRange | None = Field(
        None, description="years averaged for performance (default: the productivity window)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> PeriodConfig:
        for label, rng in (
            ("productivity", self.productivity),
            ("land_cover", self.land_cover),
            ("state_baseline", self.state_baseline),
            ("state_recent", self.state_recent),
            ("performance", self.performance),
        ):
            if rng is not None and rng[0] > rng[1]:
                raise ValueError(f"{label} years {list(rng)} are reversed; write [first, last]")
        return self


class ProductivityOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trajectory_method: Literal["ndvi", "restrend", "rue"] = "ndvi"
    mode: Literal["landwatch", "trends_earth"] = "landwatch"
    significance: float = Field(0.05, gt=0, lt=0.5)
    min_slope: float = Field(
        0.001,
        ge=0,
        description="|OLS slope| per year a significant trend must exceed (landwatch mode)",
    )
    state_method: Literal["percentile", "zscore"] = "percentile"
    lpd_table: Literal["trends_earth", "gpg_v2", "gpg_v1"] = "trends_earth"
    performance_threshold: float = Field(0.5, gt=0, lt=1)
    performance_percentile: float = Field(90, gt=0, le=100)
    min_years: int = Field(10, ge=4)


class SocOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(10.0, gt=0, description="percent change counted as degradation")
    cropland_factor: float | str = Field(
        "per_pixel",
        description="'per_pixel' (IPCC climate zones raster), a regime name such as "
        "'tropical dry', or a number",
    )
    transition_years: int = Field(20, ge=1)


DEFAULT_PERIODS: dict[str, dict[str, Any]] = {
    "baseline": {"productivity": (2000, 2015), "land_cover": (2000, 2015)},
    "report_1": {"productivity": (2004, 2019), "land_cover": (2015, 2019)},
    "report_2": {"productivity": (2008, 2023), "land_cover": (2015, 2023)},
}


class Sdg1531Config(BaseModel):
    """Inputs and parameters of an SDG 15.3.1 run. Relative paths are read from ``base_dir``."""

    model_config = ConfigDict(extra="forbid")

    ndvi: Path
    ndvi_variable: str | None = None
    ndvi_years: list[int] | None = None
    precipitation: Path | None = None
    precipitation_variable: str | None = None
    land_cover: dict[int, Path]
    land_cover_nesting: Path | None = None
    transition_matrix: Path | None = None
    soc: Path
    climate_zones: Path | None = None
    soil_units: Path | None = None
    ecological_units: Path | None = None
    population: Path | None = None
    admin: Path | None = None
    admin_layer: str | None = None
    admin_id_field: str = "admin_id"
    admin_name_field: str = "name"
    lpd: dict[str, Path] | None = None
    corrections: Path | None = None
    periods: dict[str, PeriodConfig] = Field(
        default_factory=lambda: {k: PeriodConfig(**v) for k, v in DEFAULT_PERIODS.items()}
    )
    productivity: ProductivityOptions = Field(
        default_factory=lambda: ProductivityOptions.model_validate({})
    )
    soc_options: SocOptions = Field(default_factory=lambda: SocOptions.model_validate({}))
    align: bool = False
    all_layers: bool = Field(
        False, description="also write diagnostic maps (slopes, p-values, ratios, % SOC change)"
    )
    chunks: int | None = Field(
        None, ge=64, description="spatial chunk size for dask (None: in memory)"
    )
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    @field_validator("periods")
    @classmethod
    def _at_least_one(cls, v: dict[str, PeriodConfig]) -> dict[str, PeriodConfig]:
        if not v:
            raise ValueError("periods is empty; give at least the baseline period")
        return v

    @property
    def baseline_name(self) -> str:
        return next(iter(self.periods))

    def path(self, p: Path | None) -> Path | None:
        if p is None:
            return None
        return p if p.is_absolute() else (self.base_dir / p)


def _format_validation(exc: ValidationError, source: str) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"])
        parts.append(f"{loc}: {err['msg']}")
    return f"{source}: invalid configuration - " + "; ".join(parts)


def load_config(path: str | os.PathLike[str], **overrides: Any) -> Sdg1531Config:
    """Read a YAML run configuration; keyword overrides (CLI flags) win over the file."""
    p = Path(path)
    if not p.exists():
        raise DataSourceError(f"config: file {str(p)!r} does not exist. Pass --config run.yaml.")
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"config: {p.name} is not valid YAML ({exc}).") from exc
    if not isinstance(raw, dict):
        raise InputError(f"config: {p.name} must hold a mapping of keys, got {type(raw).__name__}.")
    for k, v in overrides.items():
        if v is None:
            continue
        if isinstance(v, dict) and isinstance(raw.get(k), dict):
            raw[k] = {**raw[k], **v}
        else:
            raw[k] = v
    return config_from_dict(raw, base_dir=p.parent.resolve(), source=p.name)


def config_from_dict(
    raw: dict[str, Any], *, base_dir: Path | None = None, source: str = "config"
) -> Sdg1531Config:
    try:
        cfg = Sdg1531Config(**raw, base_dir=base_dir or Path.cwd())
    except ValidationError as exc:
        raise InputError(_format_validation(exc, source)) from exc
    return cfg
