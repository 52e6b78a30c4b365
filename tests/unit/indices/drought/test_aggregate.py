"""Unit tests of daily_to_monthly on hand-made daily series in each calendar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from landwatch.errors import InputError, UnitsError
from landwatch.indices.drought.aggregate import daily_to_monthly

CALENDARS = ["standard", "noleap", "360_day", "all_leap"]
# February length in 2000 (a Gregorian leap year) per calendar
FEB_DAYS = {"standard": 29, "noleap": 28, "360_day": 30, "all_leap": 29}


def _days(start: str, end: str, calendar: str) -> xr.CFTimeIndex | pd.DatetimeIndex:
    return xr.date_range(start, end, freq="D", calendar=calendar, use_cftime=calendar != "standard")


def _daily(
    calendar: str, start: str = "2000-01-01", end: str = "2000-03-30", units: str = "mm/day"
) -> xr.DataArray:
    t = _days(start, end, calendar)
    # value = day of month, so every sum is known in closed form
    vals = np.asarray(t.day, dtype=float)
    return xr.DataArray(vals, dims=("time",), coords={"time": t}, attrs={"units": units}, name="pr")


def _feb(da: xr.DataArray) -> xr.DataArray:
    return da.sel(time=da.time.dt.month == 2)


def _feb_out(out: xr.DataArray) -> float:
    return float(out.sel(time=out.time.dt.month == 2).item())


# ----------------------------------------------------------------------------- calendars


@pytest.mark.parametrize("calendar", CALENDARS)
def test_daily_to_monthly__month_lengths_and_sums_per_calendar(calendar: str) -> None:
    da = _daily(calendar)
    out = daily_to_monthly(da, how="sum", max_missing_days=0)
    n_feb = FEB_DAYS[calendar]
    assert len(_feb(da)) == n_feb
    # complete months: sum of 1..n, exact
    assert out.values[0] == sum(range(1, 32 if calendar != "360_day" else 31))
    assert _feb_out(out) == n_feb * (n_feb + 1) / 2
    # output time: first of each month, same calendar and time type as the input
    assert out.time.dt.day.values.tolist() == [1, 1, 1]
    assert out.time.dt.month.values.tolist() == [1, 2, 3]
    if calendar == "standard":
        assert isinstance(out.indexes["time"], pd.DatetimeIndex)
    else:
        assert out.indexes["time"].calendar == da.indexes["time"].calendar
    # March ends on the 30th: 31-day months lose a day, 360_day March is complete
    march = out.values[2]
    assert np.isnan(march) if calendar != "360_day" else march == 465.0


@pytest.mark.parametrize("calendar", CALENDARS)
def test_daily_to_monthly__three_missing_valid_four_missing_nan(calendar: str) -> None:
    da = _daily(calendar)
    feb = da.time.dt.month == 2
    three = da.where(~(feb & da.time.dt.day.isin([3, 10, 20])))
    four = da.where(~(feb & da.time.dt.day.isin([3, 10, 20, 25])))
    n_feb = FEB_DAYS[calendar]
    out3 = daily_to_monthly(three, how="sum")
    out4 = daily_to_monthly(four, how="sum")
    # sum of the valid days, not scaled up for the missing ones
    assert _feb_out(out3) == n_feb * (n_feb + 1) / 2 - 33
    assert np.isnan(_feb_out(out4))
    # January untouched in both
    assert out3.values[0] == out4.values[0] == (465.0 if calendar == "360_day" else 496.0)


@pytest.mark.parametrize("calendar", CALENDARS)
def test_daily_to_monthly__absent_days_count_as_missing(calendar: str) -> None:
    da = _daily(calendar)
    feb = (da.time.dt.month == 2).values
    day = da.time.dt.day.values
    n_feb = FEB_DAYS[calendar]
    # 2 absent from the index + 1 NaN = 3 missing -> valid
    dropped = da.isel(time=~(feb & np.isin(day, [5, 6])))
    dropped = dropped.where(~((dropped.time.dt.month == 2) & (dropped.time.dt.day == 9)))
    out = daily_to_monthly(dropped, how="sum")
    assert _feb_out(out) == n_feb * (n_feb + 1) / 2 - 20
    # 3 absent + 1 NaN = 4 missing -> NaN
    dropped4 = da.isel(time=~(feb & np.isin(day, [5, 6, 7])))
    dropped4 = dropped4.where(~((dropped4.time.dt.month == 2) & (dropped4.time.dt.day == 9)))
    assert np.isnan(_feb_out(daily_to_monthly(dropped4, how="sum")))


def test_daily_to_monthly__standard_feb_needs_29_days_in_leap_year() -> None:
    # a leap-year February with only 28 days present misses the 29th
    t = pd.date_range("2000-02-01", "2000-02-28", freq="D")
    da = xr.DataArray(np.ones(28), dims="time", coords={"time": t}, attrs={"units": "mm/day"})
    assert np.isnan(daily_to_monthly(da, how="sum", max_missing_days=0).item())
    assert daily_to_monthly(da, how="sum", max_missing_days=1).item() == 28.0
    # in 2001 (not leap) the same 28 days are complete
    t1 = pd.date_range("2001-02-01", "2001-02-28", freq="D")
    da1 = da.assign_coords(time=t1)
    assert daily_to_monthly(da1, how="sum", max_missing_days=0).item() == 28.0


def test_daily_to_monthly__360_day_feb_30_absent_is_missing() -> None:
    da = _daily("360_day")
    no30 = da.isel(time=~((da.time.dt.month == 2) & (da.time.dt.day >= 29)).values)
    assert _feb_out(daily_to_monthly(no30, how="sum", max_missing_days=2)) == 28 * 29 / 2
    assert np.isnan(_feb_out(daily_to_monthly(no30, how="sum", max_missing_days=1)))


def test_daily_to_monthly__partial_first_and_missing_whole_months() -> None:
    t = pd.date_range("2001-01-10", "2001-04-30", freq="D")
    da = xr.DataArray(np.ones(len(t)), dims="time", coords={"time": t}, attrs={"units": "mm/day"})
    da = da.isel(time=~(da.time.dt.month == 3).values)  # March absent entirely
    out = daily_to_monthly(da, how="sum")
    assert out.time.dt.month.values.tolist() == [1, 2, 3, 4]
    np.testing.assert_array_equal(out.values, [np.nan, 28.0, np.nan, 30.0])


# ----------------------------------------------------------------------------- rules


def test_daily_to_monthly__consecutive_rule() -> None:
    da = _daily("noleap")
    jan_day = da.time.dt.day.where(da.time.dt.month == 1, 0)
    split = da.where(~jan_day.isin([2, 3, 4, 20, 21]))  # 5 missing, longest run 3
    run4 = da.where(~jan_day.isin([2, 3, 4, 5]))  # 4 missing, run of 4
    wmo = {"max_missing_days": 5, "max_consecutive_missing": 3}
    assert daily_to_monthly(split, how="sum", **wmo).values[0] == 496 - (9 + 41)
    assert np.isnan(daily_to_monthly(run4, how="sum", **wmo).values[0])
    # without the run rule the same 4 missing days pass a total of 5
    assert daily_to_monthly(run4, how="sum", max_missing_days=5).values[0] == 496 - 14
    # 6 missing fails the total even though runs are short
    six = da.where(~jan_day.isin([1, 3, 5, 7, 9, 11]))
    assert np.isnan(daily_to_monthly(six, how="sum", **wmo).values[0])


def test_daily_to_monthly__run_of_absent_days_spans_month_end() -> None:
    # days 29-31 absent plus day 1 of Feb NaN: January run 3, February run 1
    da = _daily("noleap")
    da = da.isel(time=~((da.time.dt.month == 1) & (da.time.dt.day >= 29)).values)
    da = da.where(~((da.time.dt.month == 2) & (da.time.dt.day == 1)))
    out = daily_to_monthly(da, how="sum", max_missing_days=5, max_consecutive_missing=2)
    assert np.isnan(out.values[0])
    assert out.values[1] == 28 * 29 / 2 - 1


def test_daily_to_monthly__min_valid_fraction() -> None:
    da = _daily("360_day")
    jan_day = da.time.dt.day.where(da.time.dt.month == 1, 0)
    three = da.where(~jan_day.isin([1, 2, 3]))  # 27/30 = 0.9 valid
    kw = {"max_missing_days": 30}
    assert daily_to_monthly(three, how="sum", min_valid_fraction=0.9, **kw).values[0] == 459.0
    assert np.isnan(daily_to_monthly(three, how="sum", min_valid_fraction=0.91, **kw).values[0])


@pytest.mark.parametrize(
    ("how", "expected"),
    [("sum", 400.0), ("mean", 400.0 / 28), ("min", 2.0), ("max", 27.0)],
)
def test_daily_to_monthly__reductions_exact(how: str, expected: float) -> None:
    da = _daily("noleap", units="degC")
    feb_day = da.time.dt.day.where(da.time.dt.month == 2, 0)
    da = da.where(~feb_day.isin([1, 28]))  # 26 valid days 2..27
    if how == "sum":
        da.attrs["units"] = "mm/day"
        expected = float(sum(range(2, 28)))
    elif how == "mean":
        expected = float(np.mean(np.arange(2, 28)))
    out = daily_to_monthly(da, how=how)
    assert _feb_out(out) == expected
    if how != "sum":
        assert out.attrs["units"] == "degC"


def test_daily_to_monthly__matches_resample_on_complete_data() -> None:
    rng = np.random.default_rng(0)
    t = pd.date_range("1999-01-01", "2002-12-31", freq="D")
    da = xr.DataArray(
        rng.gamma(0.5, 4.0, size=(len(t), 2)),
        dims=("time", "x"),
        coords={"time": t, "x": [10.0, 20.0]},
        attrs={"units": "mm/day"},
    )
    for how in ("sum", "mean", "min", "max"):
        if how != "sum":
            da.attrs["units"] = "degC"
        out = daily_to_monthly(da, how=how)
        ref = getattr(da.resample(time="MS"), how)()
        assert out.dims == ("time", "x")
        np.testing.assert_allclose(out.values, ref.transpose("time", "x").values, rtol=1e-13)
        np.testing.assert_array_equal(out.time.values, ref.time.values)


# ----------------------------------------------------------------------------- units


def test_daily_to_monthly__flux_converted_with_86400() -> None:
    t = pd.date_range("2001-04-01", "2001-04-30", freq="D")
    flux = 2.0 / 86400.0  # 2 mm/day in kg m-2 s-1
    da = xr.DataArray(
        np.full(30, flux),
        dims="time",
        coords={"time": t},
        attrs={"units": "kg m-2 s-1", "standard_name": "precipitation_flux"},
    )
    out = daily_to_monthly(da, how="sum")
    np.testing.assert_allclose(out.item(), 60.0, rtol=1e-12)
    assert out.attrs["units"] == "mm/month"
    assert "standard_name" not in out.attrs
    assert "sum" in out.attrs["cell_methods"]


def test_daily_to_monthly__sum_of_temperature_is_units_error() -> None:
    da = _daily("standard", units="degC")
    with pytest.raises(UnitsError, match="pr has units 'degC'; how='sum' expects daily"):
        daily_to_monthly(da, how="sum")
    da.attrs.pop("units")
    with pytest.raises(UnitsError, match="units None"):
        daily_to_monthly(da, how="sum")


# ----------------------------------------------------------------------------- dask


@pytest.mark.parametrize("calendar", ["standard", "noleap", "360_day"])
def test_daily_to_monthly__dask_equals_numpy(calendar: str) -> None:
    pytest.importorskip("dask")
    rng = np.random.default_rng(1)
    t = _days("2000-01-01", "2001-12-30", calendar)
    vals = rng.gamma(0.6, 5.0, size=(4, 3, len(t)))
    vals[rng.random(vals.shape) < 0.05] = np.nan
    da = xr.DataArray(
        vals,
        dims=("y", "x", "time"),
        coords={"time": t, "y": np.arange(4.0), "x": np.arange(3.0)},
        attrs={"units": "mm/day"},
        name="pr",
    )
    kw = {"how": "sum", "max_missing_days": 5, "max_consecutive_missing": 2}
    eager = daily_to_monthly(da, **kw)
    lazy = daily_to_monthly(da.chunk({"y": 2, "x": 1, "time": 100}), **kw)
    assert lazy.chunks is not None
    assert eager.dims == ("y", "x", "time")
    xr.testing.assert_identical(eager, lazy.compute())
    assert 0 < int(eager.isnull().sum()) < eager.size  # the rule did blank some months


# ----------------------------------------------------------------------------- errors


def test_daily_to_monthly__rejects_monthly_and_subdaily_steps() -> None:
    monthly = xr.DataArray(
        np.ones(12),
        dims="time",
        coords={"time": pd.date_range("2000-01-01", periods=12, freq="MS")},
        attrs={"units": "mm/day"},
    )
    with pytest.raises(InputError, match="time step of 29 days .*expected daily data"):
        daily_to_monthly(monthly, how="sum")
    hourly = monthly.assign_coords(time=pd.date_range("2000-01-01", periods=12, freq="6h"))
    with pytest.raises(InputError, match="time step of 0 days 06:00:00"):
        daily_to_monthly(hourly, how="sum")
    offset = _daily("noleap")
    t = offset.indexes["time"].to_list()
    t[5] = t[5] + pd.Timedelta(hours=12)
    with pytest.raises(InputError, match="time step of 0 days 12:00:00"):
        daily_to_monthly(offset.assign_coords(time=t), how="sum")


def test_daily_to_monthly__rejects_unsorted_and_duplicated_time() -> None:
    da = _daily("standard")
    with pytest.raises(InputError, match="unsorted time index.*da.sortby"):
        daily_to_monthly(da.isel(time=[1, 0, 2, 3]), how="sum")
    with pytest.raises(InputError, match="1 duplicated time step.*drop_duplicates"):
        daily_to_monthly(da.isel(time=[0, 1, 1, 2]), how="sum")


def test_daily_to_monthly__rejects_bad_options_and_dims() -> None:
    da = _daily("standard")
    with pytest.raises(InputError, match="how is 'total'; expected one of"):
        daily_to_monthly(da, how="total")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="max_missing_days is -1"):
        daily_to_monthly(da, how="sum", max_missing_days=-1)
    with pytest.raises(InputError, match="max_consecutive_missing is 2.5"):
        daily_to_monthly(da, how="sum", max_consecutive_missing=2.5)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="min_valid_fraction is 1.5"):
        daily_to_monthly(da, how="sum", min_valid_fraction=1.5)
    with pytest.raises(InputError, match="expected a 'time' dimension"):
        daily_to_monthly(da.rename(time="t"), how="sum")
    with pytest.raises(InputError, match="expected datetime64 or cftime"):
        daily_to_monthly(da.assign_coords(time=np.arange(da.sizes["time"])), how="sum")
