"""Hindcast of SPI-3 forecasts on the 344 NOAA climate divisions, 1895-2022.

Data: NOAA nClimDiv monthly precipitation (../shared/data/climate_indices_ref/nclimdiv_ncei,
344 divisions x 1536 months, inches -> mm), the same table the SPI regression tests read.

What runs (landwatch.forecast.run_hindcast): leave-10-years-out cross-validation with a
1-year gap on each side of each block (13 folds). In each fold the gamma fits of
SPI-1/2/3/6/12 and the monthly normals use the training years only, the features and
targets of the whole record are rebuilt with those fits, the models are trained on
training cases whose whole footprint (11 months before the issue month to the
target month) lies in training years, and the held-out block is forecast. Leads 1, 2, 3.
Baselines: persistence (SPI-3 at the issue month) and climatology (training mean of
SPI-3; training frequency of SPI-3 < -1). 95 % intervals: 1000 year-resampling bootstraps.

With --control, the same hindcast is run again with the training targets shuffled
inside each fold (a negative control: a leak-free evaluation must show no skill).

Usage: python benchmarks/hindcast_nclimdiv.py [--models linear,gbm] [--max-iter 150]
       [--scheme blocked|rolling] [--control] [--out DIR]

On a shared 2-core machine OpenMP is limited to one thread (OMP_NUM_THREADS=1 unless set):
with more threads than free cores gradient boosting runs several times slower.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
import xarray as xr  # noqa: E402

import landwatch  # noqa: E402
from landwatch.forecast import run_hindcast  # noqa: E402

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("LANDWATCH_SHARED", HERE.parent.parent / "shared"))
if not (SHARED / "data").is_dir():
    SHARED = Path("/work/shared")


def load_nclimdiv() -> xr.DataArray:
    path = SHARED / "data/climate_indices_ref/nclimdiv_ncei/division_precip_inches_1895_2022.csv"
    df = pd.read_csv(path, dtype={"month": str})
    t = pd.to_datetime(df["month"] + "-01")
    return xr.DataArray(
        df.iloc[:, 1:].to_numpy(float) * 25.4,
        dims=("time", "division"),
        coords={"time": t.values, "division": list(df.columns[1:])},
        attrs={"units": "mm"},
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="linear,gbm")
    ap.add_argument("--leads", default="1,2,3")
    ap.add_argument("--max-iter", type=int, default=150, help="gbm boosting iterations")
    ap.add_argument("--block-years", type=int, default=10)
    ap.add_argument("--gap-years", type=int, default=1)
    ap.add_argument("--scheme", default="blocked", choices=("blocked", "rolling"))
    ap.add_argument("--control", action="store_true", help="shuffled-target negative control")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "hindcast_nclimdiv")
    args = ap.parse_args()

    pr = load_nclimdiv()
    models = tuple(m for m in args.models.split(",") if m)
    leads = tuple(int(h) for h in args.leads.split(","))
    control = "shuffled_target" if args.control else None
    print(
        f"nClimDiv {pr.sizes['division']} divisions x {pr.sizes['time']} months "
        f"({str(pr.time.values[0])[:7]} to {str(pr.time.values[-1])[:7]}); models {models}, "
        f"leads {leads}, scheme {args.scheme}, control {control}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}",
        flush=True,
    )
    t0 = time.perf_counter()
    result = run_hindcast(
        pr,
        leads=leads,
        models=models,
        model_params={"gbm": {"max_iter": args.max_iter}},
        block_years=args.block_years,
        gap_years=args.gap_years,
        scheme=args.scheme,
        control=control,
        n_boot=args.n_boot,
        progress=lambda msg: print("  " + msg, flush=True),
    )
    seconds = time.perf_counter() - t0
    tag = f"{args.scheme}" + ("_shuffled_target" if control else "")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    result.skill.to_csv(out / f"skill_{tag}.csv", index=False, float_format="%.5f")
    result.reliability.to_csv(out / f"reliability_{tag}.csv", index=False, float_format="%.5f")
    when = dt.date.today().isoformat()
    header = (
        f"Hindcast of SPI-3, NOAA nClimDiv {pr.sizes['division']} divisions 1895-2022, "
        f"{args.scheme} cross-validation ({len(result.folds)} folds of {args.block_years} "
        f"years, {args.gap_years}-year gaps){', SHUFFLED-TARGET CONTROL' if control else ''}; "
        f"landwatch {landwatch.__version__}, scikit-learn {sklearn.__version__}, "
        f"gbm max_iter={args.max_iter}; {seconds / 60:.1f} min on {os.cpu_count()} cores "
        f"({platform.machine()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}); {when}.\n\n"
    )
    md = header + result.to_markdown()
    rel = result.reliability
    md += "\nReliability of P(SPI-3 < -1) (n / mean forecast probability / observed frequency):\n\n"
    for (lead, name), g in rel.groupby(["lead", "forecast"]):
        cells = " ".join(
            f"[{r.bin_lower:.1f},{r.bin_upper:.1f}) {r.n}/{r.mean_probability:.2f}/{r.observed_frequency:.2f}"
            for r in g.itertuples()
            if r.n > 0
        )
        md += f"- lead {lead} {name}: {cells}\n"
    (out / f"skill_{tag}.md").write_text(md)
    doc = result.to_dict()
    doc["settings"]["seconds"] = round(seconds, 1)
    (out / f"skill_{tag}.json").write_text(json.dumps(doc, indent=1, default=str))
    print()
    print(md)
    for key, text in result.verdicts().items():
        print(f"{key}: {text}")
    print(f"\nwall time {seconds:.0f} s; written to {out}")


if __name__ == "__main__":
    main()
