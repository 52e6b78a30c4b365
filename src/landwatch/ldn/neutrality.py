"""LDN neutrality: gains and losses counterbalanced like for like, within land types.

Rules (Orr et al. 2017, Scientific Conceptual Framework for LDN, ch. 4-5; Cowie et
al. 2018; UNCCD glossary "Gain (monitored)", "Loss (monitored)"):

* a pixel's **gain** or **loss** comes from the 7-class status of a reporting period
  against the baseline (GPG Addendum 2025): gains are classes 6 *recent improvement*
  and 7 *persistent improvement*, losses 1 *persistent degradation* and 2 *recent
  degradation*; 3 *baseline degradation*, 4 *stability* and 5 *baseline improvement*
  are neutral (no change relative to the baseline). This is Trends.Earth's
  counterbalancing rule (``trends_earth_algorithms.md`` 2.12).
* for each land type k: ``net_k = area(gains_k) - area(losses_k)``; the LDN target is
  the baseline (no net loss), so k has **net gain** if net_k > 0, is **achieved** if
  net_k = 0 and **not achieved** if net_k < 0 (a ``target_km2`` per land type can raise
  the bar).
* a gain in one land type never offsets a loss in another: a unit (or the territory)
  achieves neutrality only when *every* land type in it does; the aggregate net over
  all land types is reported beside it for information, never as the verdict.

The *degree* of a gain or loss is given by how many sub-indicators (land cover,
productivity, SOC) changed in the period (1, 2 or 3) when those layers are passed.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from landwatch.errors import InputError
from landwatch.indices.land.codes import NODATA, isin_codes

__all__ = [
    "GAIN",
    "LOSS",
    "NEUTRAL",
    "ACTIONS",
    "gains_losses",
    "neutrality_balance",
    "neutrality_summary",
    "planned_balance",
]

GAIN: int = 1
LOSS: int = -1
NEUTRAL: int = 0
GAIN_STATUS: tuple[int, ...] = (6, 7)
LOSS_STATUS: tuple[int, ...] = (1, 2)
#: Status classes an intervention of each action acts on, and what it does there.
ACTIONS: dict[int, str] = {1: "avoid", 2: "reduce", 3: "reverse"}
ACTION_CODES: dict[str, int] = {v: k for k, v in ACTIONS.items()}
#: Tolerance (km^2) under which a net balance counts as zero (float summation noise).
NET_TOLERANCE_KM2 = 1e-9

_STATUS_NAMES = {
    "net gain": "net gain (gains exceed losses)",
    "achieved": "achieved (gains equal losses)",
    "not achieved": "not achieved (losses exceed gains)",
}


def gains_losses(status7: xr.DataArray) -> xr.DataArray:
    """Gain (+1), loss (-1) or neutral (0) of each pixel from the 7-class status.

    Parameters
    ----------
    status7 : xarray.DataArray
        Expanded status of a reporting period against the baseline, codes 1-7,
        ``NODATA`` (-32768) where unknown.

    Returns
    -------
    xarray.DataArray
        int16: 1 gain (status 6, 7), -1 loss (1, 2), 0 neutral (3, 4, 5), ``NODATA``.
    """
    a = np.asarray(status7.values)
    bad = ~isin_codes(a, (1, 2, 3, 4, 5, 6, 7, NODATA))
    if bad.any():
        shown = ", ".join(str(v) for v in np.unique(a[bad])[:10])
        raise InputError(
            f"status7 has values {shown}; expected the 7-class status 1-7 or {NODATA}. "
            "Pass the status7 map of a landwatch sdg1531 run."
        )
    out = np.full(a.shape, NODATA, np.int16)
    out[isin_codes(a, (3, 4, 5))] = NEUTRAL
    out[isin_codes(a, GAIN_STATUS)] = GAIN
    out[isin_codes(a, LOSS_STATUS)] = LOSS
    return xr.DataArray(
        out,
        dims=status7.dims,
        coords=status7.coords,
        name="gains_losses",
        attrs={
            "long_name": "LDN gains and losses against the baseline",
            "units": "1",
            "nodata": NODATA,
            "flag_values": [LOSS, NEUTRAL, GAIN],
            "flag_meanings": "loss neutral gain",
        },
    )


def _area_grid(area_km2: xr.DataArray | np.ndarray | float, shape: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(area_km2.values if isinstance(area_km2, xr.DataArray) else area_km2, float)
    if a.ndim == 1:
        if a.shape[0] != shape[0]:
            raise InputError(
                f"area_km2 has {a.shape[0]} rows but the maps have {shape[0]}; pass the "
                "pixel areas of the same grid (indices.land.area.pixel_area_km2)."
            )
        a = a[:, None]
    return np.broadcast_to(a, shape)


def _status_of(net: np.ndarray, target: np.ndarray) -> np.ndarray:
    d = net - target
    return np.where(
        d > NET_TOLERANCE_KM2,
        "net gain",
        np.where(d < -NET_TOLERANCE_KM2, "not achieved", "achieved"),
    )


def neutrality_balance(
    land_type: xr.DataArray | np.ndarray,
    gains_losses: xr.DataArray | np.ndarray,
    area_km2: xr.DataArray | np.ndarray | float,
    *,
    zones: xr.DataArray | np.ndarray | None = None,
    zone_names: Mapping[int, str] | None = None,
    land_type_names: Mapping[int, str] | None = None,
    degree: xr.DataArray | np.ndarray | None = None,
    target_km2: Mapping[int, float] | None = None,
) -> pd.DataFrame:
    """Gains, losses and net balance per land type (and per zone).

    Parameters
    ----------
    land_type : xarray.DataArray
        Land type codes (``> 0``; 0 = no land type), see :func:`~landwatch.ldn.land_types`.
    gains_losses : xarray.DataArray
        +1 gain, -1 loss, 0 neutral, ``NODATA`` (:func:`gains_losses`).
    area_km2 : array-like
        Pixel area in km^2: a scalar, one value per row ``(y,)`` or a full grid.
    zones : array of int, optional
        Admin unit of each pixel (1..n, 0 = outside every unit). Without it, one zone
        ``0`` named "Territory" covers the grid.
    zone_names, land_type_names : mapping, optional
        Labels for the table.
    degree : array of int, optional
        Number of sub-indicators (1-3) behind each gain or loss; adds
        ``gain_km2_<d>`` / ``loss_km2_<d>`` columns.
    target_km2 : mapping, optional
        Net area each land type must reach (default 0: no net loss).

    Returns
    -------
    pandas.DataFrame
        One row per (zone, land type) that has land: ``zone_id``, ``zone``,
        ``land_type``, ``land_type_name``, ``area_km2`` (land of the type with a known
        status), ``nodata_km2``, ``gain_km2``, ``loss_km2``, ``net_km2``, ``net_pct``
        (net as % of the type's area), ``target_km2``, ``status``.
    """
    lt = np.asarray(land_type.values if isinstance(land_type, xr.DataArray) else land_type)
    gl = np.asarray(gains_losses.values if isinstance(gains_losses, xr.DataArray) else gains_losses)
    if lt.shape != gl.shape:
        raise InputError(
            f"land_type {lt.shape} and gains_losses {gl.shape} differ in shape; put them on "
            "one grid."
        )
    area = _area_grid(area_km2, lt.shape)
    if zones is None:
        z = np.zeros(lt.shape, np.int64)
        zone_names = {0: "Territory"}
    else:
        z = np.asarray(zones.values if isinstance(zones, xr.DataArray) else zones).astype(np.int64)
        if z.shape != lt.shape:
            raise InputError(f"zones {z.shape} and land_type {lt.shape} differ in shape.")
    inside = (lt > 0) & (z >= 0) & ((zones is None) | (z > 0))
    n_lt = int(lt.max()) + 1 if lt.size else 1
    n_z = int(z.max()) + 1 if z.size else 1
    key = (z * n_lt + lt.astype(np.int64))[inside]
    w = area[inside]
    g = gl[inside]
    size = n_z * n_lt

    def tot(mask: np.ndarray) -> np.ndarray:
        return np.bincount(key[mask], weights=w[mask], minlength=size)

    known = g != NODATA
    cols: dict[str, np.ndarray] = {
        "area_km2": tot(known),
        "nodata_km2": tot(~known),
        "gain_km2": tot(g == GAIN),
        "loss_km2": tot(g == LOSS),
    }
    extra_cols: list[str] = []
    if degree is not None:
        d = np.asarray(degree.values if isinstance(degree, xr.DataArray) else degree)[inside]
        for k in (1, 2, 3):
            cols[f"gain_km2_{k}"] = tot((g == GAIN) & (d == k))
            cols[f"loss_km2_{k}"] = tot((g == LOSS) & (d == k))
            extra_cols += [f"gain_km2_{k}", f"loss_km2_{k}"]
    present = np.flatnonzero(np.bincount(key, minlength=size) > 0)
    zi, ti = np.divmod(present, n_lt)
    df = pd.DataFrame(
        {
            "zone_id": zi,
            "zone": [(zone_names or {}).get(int(i), str(int(i))) for i in zi],
            "land_type": ti,
            "land_type_name": [(land_type_names or {}).get(int(t), str(int(t))) for t in ti],
        }
    )
    for col, v in cols.items():
        df[col] = v[present]
    df["net_km2"] = df["gain_km2"] - df["loss_km2"]
    df["net_pct"] = np.where(
        df["area_km2"] > 0, 100.0 * df["net_km2"] / df["area_km2"].where(df["area_km2"] > 0), 0.0
    )
    df["target_km2"] = [float((target_km2 or {}).get(int(t), 0.0)) for t in df["land_type"]]
    df["status"] = _status_of(df["net_km2"].to_numpy(), df["target_km2"].to_numpy())
    order = [
        "zone_id",
        "zone",
        "land_type",
        "land_type_name",
        "area_km2",
        "nodata_km2",
        "gain_km2",
        "loss_km2",
        "net_km2",
        "net_pct",
        "target_km2",
        "status",
        *extra_cols,
    ]
    return df[order].reset_index(drop=True)


def neutrality_summary(balance: pd.DataFrame) -> pd.DataFrame:
    """Verdict per zone from a :func:`neutrality_balance` table.

    A zone achieves neutrality only when every land type in it has net >= its target
    (gains in one land type never offset losses in another). ``status`` is
    ``net gain`` when that holds and at least one land type gains, ``achieved`` when all
    are exactly balanced, ``not achieved`` otherwise; ``aggregate_net_km2`` (all types
    summed) is reported for information only.
    """
    rows = []
    for (zid, zone), grp in balance.groupby(["zone_id", "zone"], sort=True):
        short = grp[grp["status"] == "not achieved"]
        gaining = grp[grp["status"] == "net gain"]
        status = "not achieved" if len(short) else ("net gain" if len(gaining) else "achieved")
        rows.append(
            {
                "zone_id": int(zid),
                "zone": zone,
                "land_types": len(grp),
                "land_types_net_gain": len(gaining),
                "land_types_achieved": int((grp["status"] == "achieved").sum()),
                "land_types_not_achieved": len(short),
                "gain_km2": float(grp["gain_km2"].sum()),
                "loss_km2": float(grp["loss_km2"].sum()),
                "aggregate_net_km2": float(grp["net_km2"].sum()),
                "shortfall_km2": float((grp["target_km2"] - grp["net_km2"]).clip(lower=0).sum()),
                "status": status,
                "worst_land_type": (
                    str(short.sort_values("net_km2").iloc[0]["land_type_name"])
                    if len(short)
                    else ""
                ),
            }
        )
    return pd.DataFrame(rows)


def planned_balance(
    land_type: xr.DataArray,
    status7: xr.DataArray,
    area_km2: xr.DataArray | np.ndarray | float,
    action: np.ndarray,
    effect: np.ndarray,
    *,
    intervention: np.ndarray | None = None,
    land_type_names: Mapping[int, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What-if balance: the current balance plus the expected effect of interventions.

    An expected-value model (as Trends.Earth's LDN planning tool): each pixel under an
    intervention changes with probability ``effect`` (0-1, the share of the targeted
    area where the intervention is expected to work):

    * **avoid** (1) acts on *recent degradation* (status 2: land that was not degraded
      at baseline and is degrading now): the loss is avoided (becomes neutral);
    * **reduce** (2) acts on every loss (status 1, 2): the loss is halted (neutral);
    * **reverse** (3) acts on degraded land (status 1, 2 and 3 *baseline
      degradation*): restored land becomes a gain, and a loss there disappears.

    Land the action does not act on is unchanged (e.g. avoid on stable land protects it
    against future losses, which a balance of the current period cannot count: its
    area is reported as ``protected_km2``).

    Parameters
    ----------
    land_type, status7 : xarray.DataArray
        Land types and the 7-class status of the reporting period.
    area_km2 : array-like
        Pixel areas (scalar, per row, or grid).
    action : int array
        0 none, 1 avoid, 2 reduce, 3 reverse (rasterised intervention polygons).
    effect : float array
        Expected effect 0-1 where ``action`` > 0.
    intervention : int array, optional
        1-based id of the intervention polygon of each pixel, for the per-intervention
        table.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Per land type: the current ``gain_km2``, ``loss_km2``, ``net_km2``, ``status``,
        then ``expected_gain_km2`` (added), ``expected_loss_avoided_km2``,
        ``planned_net_km2`` and ``planned_status``. Per intervention (when
        ``intervention`` is given): ``intervention``, ``action``, ``effect``,
        ``area_km2``, ``targeted_km2``, ``expected_gain_km2``,
        ``expected_loss_avoided_km2``, ``protected_km2``, ``land_types``.
    """
    st = np.asarray(status7.values)
    lt = np.asarray(land_type.values)
    act = np.asarray(action).astype(np.int64)
    eff = np.asarray(effect, float)
    if not (act.shape == eff.shape == st.shape == lt.shape):
        raise InputError("planned balance: land type, status, action and effect grids differ.")
    if np.any(~np.isin(act, (0, 1, 2, 3))):
        raise InputError(
            "planned balance: action codes must be 0 none, 1 avoid, 2 reduce, 3 reverse."
        )
    on = act > 0
    if np.any(on & ~((eff >= 0) & (eff <= 1))):
        raise InputError(
            "planned balance: an intervention's expected effect is outside 0-1; give the "
            "share of the targeted area where it is expected to work (e.g. 0.6)."
        )
    area = _area_grid(area_km2, lt.shape)
    gl = np.asarray(gains_losses(status7).values)
    loss = gl == LOSS
    targeted = np.zeros(st.shape, bool)
    gain_added = np.zeros(st.shape)
    loss_avoided = np.zeros(st.shape)
    a_avoid, a_reduce, a_reverse = act == 1, act == 2, act == 3
    t = a_avoid & (st == 2)
    loss_avoided[t] = eff[t] * area[t]
    targeted |= t
    t = a_reduce & loss
    loss_avoided[t] = eff[t] * area[t]
    targeted |= t
    t = a_reverse & isin_codes(st, (1, 2, 3))
    gain_added[t] = eff[t] * area[t]
    t_loss = t & loss
    loss_avoided[t_loss] = eff[t_loss] * area[t_loss]
    targeted |= t
    protected = a_avoid & isin_codes(st, (3, 4, 5, 6, 7))

    base = neutrality_balance(land_type, gl, area, land_type_names=land_type_names)
    inside = lt > 0
    n_lt = int(lt.max()) + 1 if lt.size else 1
    add = np.bincount(lt[inside], weights=gain_added[inside], minlength=n_lt)
    avoided = np.bincount(lt[inside], weights=loss_avoided[inside], minlength=n_lt)
    base = base.drop(columns=["zone_id", "zone"])
    idx = base["land_type"].to_numpy()
    base["expected_gain_km2"] = add[idx]
    base["expected_loss_avoided_km2"] = avoided[idx]
    base["planned_net_km2"] = (
        base["net_km2"] + base["expected_gain_km2"] + base["expected_loss_avoided_km2"]
    )
    base["planned_status"] = _status_of(
        base["planned_net_km2"].to_numpy(), base["target_km2"].to_numpy()
    )
    per = pd.DataFrame(
        columns=[
            "intervention",
            "action",
            "effect",
            "area_km2",
            "targeted_km2",
            "expected_gain_km2",
            "expected_loss_avoided_km2",
            "protected_km2",
            "land_types",
        ]
    )
    if intervention is not None:
        iv = np.asarray(intervention).astype(np.int64)
        rows = []
        for i in np.unique(iv[iv > 0]):
            m = (iv == i) & inside
            if not m.any():
                rows.append(
                    {
                        "intervention": int(i),
                        "action": "",
                        "effect": np.nan,
                        "area_km2": 0.0,
                        "targeted_km2": 0.0,
                        "expected_gain_km2": 0.0,
                        "expected_loss_avoided_km2": 0.0,
                        "protected_km2": 0.0,
                        "land_types": "",
                    }
                )
                continue
            codes = act[m]
            rows.append(
                {
                    "intervention": int(i),
                    "action": ACTIONS.get(int(np.bincount(codes).argmax()), ""),
                    "effect": float(np.median(eff[m])),
                    "area_km2": float(area[m].sum()),
                    "targeted_km2": float(area[m & targeted].sum()),
                    "expected_gain_km2": float(gain_added[m].sum()),
                    "expected_loss_avoided_km2": float(loss_avoided[m].sum()),
                    "protected_km2": float(area[m & protected].sum()),
                    "land_types": ";".join(str(int(v)) for v in np.unique(lt[m])),
                }
            )
        per = pd.DataFrame(rows, columns=per.columns)
    return base, per
