"""Counterbalancing like for like: hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from landwatch.errors import InputError
from landwatch.indices.land.codes import NODATA
from landwatch.ldn import gains_losses, land_types, neutrality_balance, neutrality_summary
from landwatch.ldn.neutrality import planned_balance


def _da(a: list[list[int]] | np.ndarray) -> xr.DataArray:
    return xr.DataArray(np.asarray(a), dims=("y", "x"))


def test_gains_losses__status_classes() -> None:
    st = _da([[1, 2, 3, 4, 5, 6, 7, NODATA]])
    gl = gains_losses(st).values.tolist()[0]
    assert gl == [-1, -1, 0, 0, 0, 1, 1, NODATA]


def test_gains_losses__unknown_code_is_an_error() -> None:
    with pytest.raises(InputError, match="status7 has values 9"):
        gains_losses(_da([[1, 9]]))


def test_neutrality_balance__gain_in_a_never_offsets_loss_in_b() -> None:
    # Land type 1 (left half) has 3 km2 of gains, land type 2 (right half) 2 km2 of losses.
    # Aggregate net is +1 km2, yet the territory does NOT achieve neutrality: land type 2
    # lost and nothing in land type 2 made up for it.
    lt = _da([[1, 1, 1, 2, 2, 2]])
    gl = _da([[1, 1, 1, -1, -1, 0]])
    bal = neutrality_balance(lt, gl, 1.0, land_type_names={1: "A", 2: "B"})
    a = bal.set_index("land_type_name")
    assert a.loc["A", "gain_km2"] == 3 and a.loc["A", "loss_km2"] == 0
    assert a.loc["B", "loss_km2"] == 2 and a.loc["B", "net_km2"] == -2
    assert a.loc["A", "status"] == "net gain"
    assert a.loc["B", "status"] == "not achieved"
    assert a.loc["B", "net_pct"] == pytest.approx(-200 / 3)
    s = neutrality_summary(bal).iloc[0]
    assert s["aggregate_net_km2"] == 1.0
    assert s["status"] == "not achieved"
    assert s["worst_land_type"] == "B"
    assert s["shortfall_km2"] == 2.0


def test_neutrality_balance__balanced_type_is_achieved_and_all_achieved_territory() -> None:
    lt = _da([[1, 1, 2, 2]])
    gl = _da([[1, -1, 0, 0]])
    bal = neutrality_balance(lt, gl, 0.5)
    assert bal["status"].tolist() == ["achieved", "achieved"]
    assert neutrality_summary(bal).iloc[0]["status"] == "achieved"
    bal = neutrality_balance(lt, _da([[1, -1, 1, 0]]), 0.5)
    assert neutrality_summary(bal).iloc[0]["status"] == "net gain"


def test_neutrality_balance__area_weights_by_row_and_nodata() -> None:
    # Row areas differ (as on a geographic grid): a gain on a small row does not
    # balance a loss on a big row.
    lt = _da([[1, 1], [1, 1]])
    gl = _da([[1, NODATA], [-1, 0]])
    bal = neutrality_balance(lt, gl, np.array([0.9, 1.1]))
    r = bal.iloc[0]
    assert r["gain_km2"] == pytest.approx(0.9)
    assert r["loss_km2"] == pytest.approx(1.1)
    assert r["nodata_km2"] == pytest.approx(0.9)
    assert r["area_km2"] == pytest.approx(0.9 + 2.2)
    assert r["status"] == "not achieved"


def test_neutrality_balance__per_zone_and_degree_and_target() -> None:
    lt = _da([[1, 1, 1, 1]])
    gl = _da([[1, -1, -1, 1]])
    zones = np.array([[1, 1, 2, 2]])
    degree = np.array([[1, 2, 3, 1]])
    bal = neutrality_balance(
        lt,
        gl,
        1.0,
        zones=zones,
        zone_names={1: "North", 2: "South"},
        degree=degree,
        target_km2={1: 0.5},
    )
    assert bal["zone"].tolist() == ["North", "South"]
    assert bal["net_km2"].tolist() == [0.0, 0.0]
    # with a target of +0.5 km2 a balanced land type falls short
    assert bal["status"].tolist() == ["not achieved", "not achieved"]
    assert bal.loc[0, "loss_km2_2"] == 1.0 and bal.loc[1, "loss_km2_3"] == 1.0
    assert bal.loc[0, "gain_km2_1"] == 1.0


def test_neutrality_balance__shape_mismatch_is_an_error() -> None:
    with pytest.raises(InputError, match="differ in shape"):
        neutrality_balance(_da([[1, 1]]), _da([[1]]), 1.0)


def test_land_types__intersection_legend_and_exclusion() -> None:
    lc = _da([[1, 1, 2, 2, 7]])
    soil = _da([[1, 2, 1, 1, 1]])
    lt, legend = land_types(
        {"land_cover": lc, "soil": soil},
        names={"land_cover": {1: "Tree", 2: "Grass"}},
        ignore_codes={"land_cover": [7]},
    )
    assert lt.values.tolist() == [[1, 2, 3, 3, 0]]
    assert legend["label"].tolist() == ["Tree / soil 1", "Tree / soil 2", "Grass / soil 1"]
    assert legend["pixels"].tolist() == [1, 1, 2]


def test_land_types__nodata_and_fractional_codes() -> None:
    a = xr.DataArray(np.array([[1.0, np.nan]]), dims=("y", "x"))
    lt, _ = land_types({"a": a})
    assert lt.values.tolist() == [[1, 0]]
    with pytest.raises(InputError, match="fractional"):
        land_types({"a": xr.DataArray(np.array([[1.5]]), dims=("y", "x"))})
    with pytest.raises(InputError, match="shape"):
        land_types({"a": _da([[1, 1]]), "b": _da([[1]])})


def test_planned_balance__reverse_adds_gains_only_in_its_own_land_type() -> None:
    # land type 1: 2 losses (status 1 persistent, 2 recent); land type 2: 1 loss.
    lt = _da([[1, 1, 1, 2, 2]])
    st = _da([[1, 2, 4, 2, 4]])
    act = np.array([[3, 3, 3, 0, 0]])  # reverse on all of land type 1
    eff = np.array([[0.5, 0.5, 0.5, 0, 0]])
    per_lt, per_iv = planned_balance(
        lt, st, 1.0, act, eff, intervention=np.array([[1, 1, 1, 0, 0]])
    )
    a = per_lt.set_index("land_type")
    # two degraded pixels x 0.5: +1 km2 gain expected, and 1 km2 of loss removed
    assert a.loc[1, "expected_gain_km2"] == pytest.approx(1.0)
    assert a.loc[1, "expected_loss_avoided_km2"] == pytest.approx(1.0)
    assert a.loc[1, "planned_net_km2"] == pytest.approx(-2 + 2.0)
    assert a.loc[1, "planned_status"] == "achieved"
    # land type 2 is untouched: still not achieved although the total is now balanced
    assert a.loc[2, "planned_net_km2"] == -1
    assert a.loc[2, "planned_status"] == "not achieved"
    iv = per_iv.iloc[0]
    assert iv["action"] == "reverse"
    assert iv["targeted_km2"] == 2.0 and iv["area_km2"] == 3.0


def test_planned_balance__avoid_acts_on_recent_loss_only_and_reduce_on_any_loss() -> None:
    lt = _da([[1, 1, 1, 1]])
    st = _da([[1, 2, 4, 1]])
    act = np.array([[1, 1, 1, 2]])
    eff = np.array([[1.0, 1.0, 1.0, 0.25]])
    per_lt, per_iv = planned_balance(lt, st, 1.0, act, eff, intervention=np.array([[1, 1, 1, 2]]))
    r = per_lt.iloc[0]
    # avoid removes the recent loss (1 km2), not the persistent one; reduce 0.25 of its loss
    assert r["expected_loss_avoided_km2"] == pytest.approx(1.25)
    assert r["expected_gain_km2"] == 0
    assert per_iv.set_index("intervention").loc[1, "protected_km2"] == 1.0


def test_planned_balance__effect_out_of_range_is_an_error() -> None:
    with pytest.raises(InputError, match="outside 0-1"):
        planned_balance(_da([[1]]), _da([[2]]), 1.0, np.array([[3]]), np.array([[1.5]]))
