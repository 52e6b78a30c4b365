"""LDN response hierarchy (avoid > reduce > reverse) by a documented rule table.

The rules live in ``landwatch/data/ldn_response_rules.yaml`` (or a user file of the
same form): an ordered list, the first rule whose conditions all hold gives the
pixel's class. See that file for the rules and how they differ from Trends.Earth's
LDN planning tool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from landwatch.errors import InputError

__all__ = ["ResponseRules", "load_response_rules", "response_class", "response_table"]

#: Layers a rule may name.
RULE_LAYERS: tuple[str, ...] = (
    "status7",
    "lpd5",
    "performance",
    "land_cover",
    "soc",
    "drought_hazard",
    "risk",
)
RESPONSE_NODATA: int = 255


@dataclass(frozen=True)
class ResponseRule:
    code: int
    why: str
    when: dict[str, Any]


@dataclass(frozen=True)
class ResponseRules:
    classes: dict[int, dict[str, str]]
    default: int
    rules: tuple[ResponseRule, ...]
    source: str

    def name(self, code: int) -> str:
        return self.classes[code]["name"]

    def layers(self) -> set[str]:
        return {k for r in self.rules for k in r.when}


def load_response_rules(path: str | Path | None = None) -> ResponseRules:
    """Read and check a response rule table (default: the shipped one)."""
    if path is None:
        text = resources.files("landwatch.data").joinpath("ldn_response_rules.yaml").read_text()
        source = "landwatch/data/ldn_response_rules.yaml"
    else:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"response rules: file {str(p)!r} does not exist.")
        text, source = p.read_text(), str(p)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"response rules: {source} is not valid YAML ({exc}).") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list):
        raise InputError(f"response rules: {source} needs 'classes', 'default' and a list 'rules'.")
    classes = {int(k): dict(v) for k, v in (raw.get("classes") or {}).items()}
    if not classes:
        raise InputError(f"response rules: {source} has no 'classes'.")
    default = int(raw.get("default", 0))
    rules = []
    for i, r in enumerate(raw["rules"]):
        where = f"response rules: {source} rule {i + 1}"
        if not isinstance(r, dict) or "class" not in r or "when" not in r:
            raise InputError(f"{where} needs 'class' and 'when'.")
        code = int(r["class"])
        if code not in classes:
            raise InputError(f"{where}: class {code} is not one of {sorted(classes)}.")
        when = dict(r["when"])
        for layer, cond in when.items():
            if layer not in RULE_LAYERS:
                raise InputError(
                    f"{where}: unknown layer {layer!r}; layers are {', '.join(RULE_LAYERS)}."
                )
            if not (
                isinstance(cond, list) or (isinstance(cond, dict) and set(cond) <= {"min", "max"})
            ):
                raise InputError(
                    f"{where}: condition on {layer!r} must be a list of codes or "
                    "{{min: a, max: b}}."
                )
        rules.append(ResponseRule(code=code, why=str(r.get("why", "")), when=when))
    if default not in classes:
        raise InputError(f"response rules: {source} default {default} is not a class.")
    return ResponseRules(classes=classes, default=default, rules=tuple(rules), source=source)


def _holds(a: np.ndarray, cond: Any) -> np.ndarray:
    if isinstance(cond, list):
        return np.isin(a, cond)
    ok = np.ones(a.shape, bool)
    with np.errstate(invalid="ignore"):
        if cond.get("min") is not None:
            ok &= a >= cond["min"]
        if cond.get("max") is not None:
            ok &= a <= cond["max"]
    return ok


def response_class(
    layers: Mapping[str, xr.DataArray | np.ndarray],
    *,
    valid: np.ndarray,
    rules: ResponseRules | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Response class of every pixel.

    Parameters
    ----------
    layers : mapping
        Arrays by rule layer name (see :data:`RULE_LAYERS`); missing layers make the
        rules that need them match nothing.
    valid : bool array
        Pixels to classify (land with a known status); others get
        :data:`RESPONSE_NODATA`.
    rules : ResponseRules, optional
        Default: the shipped table.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, list of str)
        uint8 class codes, int16 index (1-based) of the rule that decided each pixel
        (0 = default, -1 = not classified), and the names of the rule layers that were
        missing.
    """
    rules = rules or load_response_rules()
    arrays = {
        k: np.asarray(v.values if isinstance(v, xr.DataArray) else v) for k, v in layers.items()
    }
    out = np.full(valid.shape, RESPONSE_NODATA, np.uint8)
    which = np.full(valid.shape, -1, np.int16)
    todo = np.asarray(valid, bool).copy()
    missing = sorted(rules.layers() - set(arrays))
    for i, rule in enumerate(rules.rules, start=1):
        if any(layer not in arrays for layer in rule.when):
            continue
        hit = todo.copy()
        for layer, cond in rule.when.items():
            hit &= _holds(arrays[layer], cond)
        out[hit] = rule.code
        which[hit] = i
        todo &= ~hit
    out[todo] = rules.default
    which[todo] = 0
    return out, which, missing


def response_table(
    classes: np.ndarray,
    area_km2: np.ndarray,
    *,
    zones: np.ndarray | None = None,
    zone_names: Mapping[int, str] | None = None,
    rules: ResponseRules | None = None,
) -> pd.DataFrame:
    """Area (km^2 and % of the classified land) per response class and zone; zone 0
    "Territory" is the whole grid."""
    rules = rules or load_response_rules()
    c = np.asarray(classes)
    area = np.broadcast_to(np.asarray(area_km2, float), c.shape)
    zone_list: list[tuple[int, str, np.ndarray]] = [(0, "Territory", np.ones(c.shape, bool))]
    if zones is not None:
        z = np.asarray(zones)
        for zid in sorted(int(v) for v in np.unique(z) if v > 0):
            zone_list.append((zid, (zone_names or {}).get(zid, str(zid)), z == zid))
    rows = []
    for zid, zname, m in zone_list:
        classified = m & (c != RESPONSE_NODATA)
        total = float(area[classified].sum())
        for code, meta in sorted(rules.classes.items()):
            a = float(area[m & (c == code)].sum())
            rows.append(
                {
                    "zone_id": zid,
                    "zone": zname,
                    "class_code": code,
                    "response": meta["name"],
                    "area_km2": a,
                    "percent": 100.0 * a / total if total > 0 else 0.0,
                }
            )
    return pd.DataFrame(rows)
