"""SO1-1 land cover sub-indicator: legend nesting, transitions and degradation.

Code tables (``landwatch/data``):

* ``lc_transition_matrix_unccd.csv`` - default UNCCD 7x7 transition meanings
  (-1 degradation, 0 stable, +1 improvement; rows = initial class).
* ``lc_nesting_esa_cci.csv`` - ESA CCI-LC legend nested into the 7 UNCCD classes.

All categorical outputs are int16 with ``NODATA = -32768``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from pathlib import Path

import numpy as np
import xarray as xr

from landwatch.errors import DataSourceError, InputError
from landwatch.indices.land.codes import (
    CLASS3_NAMES,
    DEGRADED,
    IMPROVED,
    LC_CLASSES,
    NODATA,
    STABLE,
    isin_codes,
)

__all__ = [
    "TransitionMatrix",
    "land_cover_degradation",
    "land_cover_transition",
    "load_nesting",
    "load_transition_matrix",
    "reclassify_land_cover",
]

_DEFAULT_MATRIX = "lc_transition_matrix_unccd.csv"
_MAX_UNKNOWN_SHOWN = 10


def _read_text(path: str | PathLike[str] | None, default: str, what: str) -> tuple[str, str]:
    """Return (text, label) of a CSV table: a user file or a packaged default."""
    if path is None:
        ref = resources.files("landwatch") / "data" / default
        return ref.read_text(encoding="utf-8"), f"packaged table {default}"
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8-sig"), str(p)
    except OSError as exc:
        raise DataSourceError(
            f"{what} file {str(p)!r} could not be read ({exc.strerror or exc}). "
            "Check the path, or pass None to use the packaged UNCCD default."
        ) from exc


def _csv_rows(text: str) -> list[list[str]]:
    """Rows of a CSV text without blank lines and '#' comment lines."""
    rows = []
    for row in csv.reader(io.StringIO(text)):
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        rows.append([c.strip() for c in row])
    return rows


# --------------------------------------------------------------------------------------
# transition matrix
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransitionMatrix:
    """Meaning of every land-cover transition (rows = initial class, columns = final).

    Attributes
    ----------
    codes : tuple of int
        Class codes, in row/column order.
    names : tuple of str
        Class names, same order.
    meaning : numpy.ndarray
        ``(k, k)`` int8 array of -1 (degradation), 0 (stable), +1 (improvement).
    """

    codes: tuple[int, ...]
    names: tuple[str, ...]
    meaning: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        m = np.asarray(self.meaning)
        k = len(self.codes)
        if m.shape != (k, k) or len(self.names) != k:
            raise InputError(
                f"transition matrix must be square with one row and one column per class; "
                f"got {len(self.codes)} codes, {len(self.names)} names and a {m.shape} "
                "matrix. Give one row per class and one column per class, in the same order."
            )
        if len(set(self.codes)) != k:
            raise InputError(
                f"transition matrix class codes must be unique; got {list(self.codes)}. "
                "Remove the duplicated row/column."
            )
        bad = ~np.isin(m, (DEGRADED, STABLE, IMPROVED))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise InputError(
                f"transition matrix cell {self.names[i]!r} -> code {self.codes[j]} is {m[i, j]}; "
                "expected -1 (degradation), 0 (stable) or 1 (improvement). Fix that cell."
            )
        object.__setattr__(self, "meaning", m.astype(np.int8))

    def lookup_table(self) -> np.ndarray:
        """Dense ``(max_code + 1, max_code + 1)`` int16 table ``[initial, final] -> meaning``.

        Cells for codes that are not classes of the matrix hold ``NODATA``.
        """
        if min(self.codes) < 0:
            raise InputError(
                f"transition matrix class codes must be non-negative; got {list(self.codes)}."
                " Renumber the classes from 1."
            )
        n = max(self.codes) + 1
        lut = np.full((n, n), NODATA, dtype=np.int16)
        idx = np.asarray(self.codes)
        lut[np.ix_(idx, idx)] = self.meaning
        return lut

    def as_dict(self) -> dict[tuple[int, int], int]:
        """``{(initial, final): meaning}`` for every pair of classes."""
        return {
            (a, b): int(self.meaning[i, j])
            for i, a in enumerate(self.codes)
            for j, b in enumerate(self.codes)
        }


def _parse_int(text: str, where: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where} is {text!r}; expected an integer. Fix the CSV cell.") from None
    if not value.is_integer():
        raise InputError(f"{where} is {text!r}; expected an integer. Fix the CSV cell.")
    return int(value)


def load_transition_matrix(path: str | PathLike[str] | None = None) -> TransitionMatrix:
    """Load a land-cover transition matrix (default: the UNCCD 7-class matrix).

    Parameters
    ----------
    path : path-like, optional
        CSV in the landwatch layout: header ``initial_code,initial_name,<code>,...``, then
        one row per initial class: ``<code>,<name>,<meaning>,...`` with meanings -1, 0 or 1.
        Lines starting with ``#`` are comments. The Trends.Earth export layout (header
        ``initial\\final,<name>,...``; rows ``<name>,<meaning>,...``; codes 1..k by
        position) is also accepted. ``None`` loads the packaged UNCCD default.

    Returns
    -------
    TransitionMatrix

    Raises
    ------
    InputError
        The table is not square, its column codes differ from its row codes, a class
        name is missing, or a cell is not -1, 0 or 1.
    DataSourceError
        The file cannot be read.
    """
    text, label = _read_text(path, _DEFAULT_MATRIX, "transition matrix")
    rows = _csv_rows(text)
    if len(rows) < 2:
        raise InputError(
            f"transition matrix {label} has {len(rows)} line(s); expected a header and one "
            "row per class. See landwatch/data/lc_transition_matrix_unccd.csv for the layout."
        )
    header, body = rows[0], rows[1:]
    te_layout = "\\" in header[0] or "/" in header[0]
    n_lead = 1 if te_layout else 2
    col_labels = header[n_lead:]
    k = len(body)
    if len(col_labels) != k:
        raise InputError(
            f"transition matrix {label} has {k} rows but {len(col_labels)} columns; "
            "expected a square matrix (one row and one column per class). "
            "Add or remove rows/columns so that both list the same classes."
        )
    if te_layout:
        codes = list(range(1, k + 1))
        names = [r[0] for r in body]
    else:
        codes = [
            _parse_int(r[0], f"transition matrix {label} row {i + 2} code")
            for i, r in enumerate(body)
        ]
        names = [r[1] if len(r) > 1 else "" for r in body]
        col_codes = [
            _parse_int(c, f"transition matrix {label} header column {c!r}") for c in col_labels
        ]
        if col_codes != codes:
            raise InputError(
                f"transition matrix {label}: column codes {col_codes} differ from row codes "
                f"{codes}; expected the same classes in the same order. Reorder the columns."
            )
    missing = [c for c, n in zip(codes, names, strict=True) if not n]
    if missing:
        raise InputError(
            f"transition matrix {label}: classes {missing} have no name; expected a class "
            "name in the second column of every row. Add the names."
        )
    meaning = np.zeros((k, k), dtype=np.int64)
    for i, row in enumerate(body):
        cells = row[n_lead:]
        if len(cells) != k:
            raise InputError(
                f"transition matrix {label}: row {names[i]!r} has {len(cells)} values; "
                f"expected {k} (one per class). Fix that row."
            )
        for j, c in enumerate(cells):
            meaning[i, j] = _parse_int(
                c, f"transition matrix {label} cell {names[i]!r} -> {codes[j]}"
            )
    try:
        return TransitionMatrix(tuple(codes), tuple(names), meaning)
    except InputError as exc:
        raise InputError(f"{label}: {exc}") from None


# --------------------------------------------------------------------------------------
# nesting
# --------------------------------------------------------------------------------------


def load_nesting(
    path_or_mapping: str | PathLike[str] | Mapping[int, int],
) -> dict[int, int]:
    """Load how a user legend nests into the 7 UNCCD classes.

    Parameters
    ----------
    path_or_mapping : path-like or mapping
        A CSV with columns ``code, unccd_code[, name]`` (header required; extra columns
        ignored), or a mapping ``{user_code: unccd_code}``. The packaged ESA CCI-LC
        nesting is ``landwatch/data/lc_nesting_esa_cci.csv`` (pass the string
        ``"esa_cci"`` to load it).

    Returns
    -------
    dict of int to int
        ``{user_code: unccd_code}``; targets are 1..7 or ``NODATA``.

    Raises
    ------
    InputError
        A column is missing, a code is not an integer, a user code is listed twice, or a
        target is not a UNCCD class.
    """
    if isinstance(path_or_mapping, Mapping):
        items = list(path_or_mapping.items())
        label = "nesting mapping"
    else:
        if str(path_or_mapping) == "esa_cci":
            text, label = _read_text(None, "lc_nesting_esa_cci.csv", "nesting")
        else:
            text, label = _read_text(path_or_mapping, "lc_nesting_esa_cci.csv", "nesting")
        rows = _csv_rows(text)
        header = [h.lower() for h in rows[0]] if rows else []
        if "code" not in header or "unccd_code" not in header:
            raise InputError(
                f"nesting table {label} has columns {rows[0] if rows else []}; expected "
                "'code' and 'unccd_code' (and optionally 'name'). Rename the header."
            )
        ic, iu = header.index("code"), header.index("unccd_code")
        items = []
        for n, r in enumerate(rows[1:], start=2):
            items.append(
                (
                    _parse_int(r[ic], f"nesting table {label} line {n} 'code'"),
                    _parse_int(r[iu], f"nesting table {label} line {n} 'unccd_code'"),
                )
            )
    out: dict[int, int] = {}
    for code, target in items:
        try:
            code_i, target_i = int(code), int(target)
        except (TypeError, ValueError):
            raise InputError(
                f"{label}: entry {code!r} -> {target!r} is not a pair of integers. "
                "Give integer legend codes."
            ) from None
        if code_i in out and out[code_i] != target_i:
            raise InputError(
                f"{label}: code {code_i} is nested into both {out[code_i]} and {target_i}; "
                "expected one UNCCD class per code. Keep one of the rows."
            )
        if target_i not in LC_CLASSES and target_i != NODATA:
            raise InputError(
                f"{label}: code {code_i} is nested into {target_i}; expected a UNCCD class "
                f"1..7 ({', '.join(f'{k} {v}' for k, v in LC_CLASSES.items())}) or "
                f"{NODATA} for no data. Fix the target."
            )
        out[code_i] = target_i
    if not out:
        raise InputError(f"{label} is empty; expected at least one code. Add the legend rows.")
    return out


# --------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------


def _missing(a: np.ndarray, nodata: float | None = None) -> np.ndarray:
    """Boolean mask of missing pixels: NaN, NODATA or the given nodata value."""
    miss = a == NODATA
    if np.issubdtype(a.dtype, np.floating):
        miss |= np.isnan(a)
    if nodata is not None:
        miss |= np.isnan(a) if np.isnan(nodata) else a == nodata
    return miss


def _reclassify_core(
    lc: np.ndarray, keys: np.ndarray, values: np.ndarray, nodata: float | None, name: str
) -> np.ndarray:
    miss = _missing(lc, nodata)
    flat = np.where(miss, keys[0], lc).astype(np.float64)
    idx = np.clip(np.searchsorted(keys, flat), 0, len(keys) - 1)
    known = keys[idx] == flat
    unknown = ~known & ~miss
    if unknown.any():
        bad = np.unique(lc[unknown])
        shown = ", ".join(
            str(int(v)) if float(v).is_integer() else str(v) for v in bad[:_MAX_UNKNOWN_SHOWN]
        )
        more = f" and {bad.size - _MAX_UNKNOWN_SHOWN} more" if bad.size > _MAX_UNKNOWN_SHOWN else ""
        raise InputError(
            f"{name} has codes not in the nesting table: {shown}{more}; expected only the "
            f"{keys.size} codes of the legend. Add them to the nesting table (or pass "
            "nodata= if one of them is the no-data value)."
        )
    out = values[idx].astype(np.int16)
    out[miss] = NODATA
    return out


def _cat_attrs(long_name: str, flags: Mapping[int, str]) -> dict[str, object]:
    return {
        "long_name": long_name,
        "units": "1",
        "nodata": NODATA,
        "flag_values": list(flags),
        "flag_meanings": " ".join(
            v.lower().replace(" ", "_").replace("-", "_") for v in flags.values()
        ),
    }


def reclassify_land_cover(
    lc: xr.DataArray, nesting: Mapping[int, int], *, nodata: float | None = None
) -> xr.DataArray:
    """Reclassify a land-cover map from its own legend into the 7 UNCCD classes.

    Parameters
    ----------
    lc : xarray.DataArray
        Land cover in the user legend (any integer or float dtype; NaN is no data).
    nesting : mapping of int to int
        ``{user_code: unccd_code}``, e.g. from :func:`load_nesting`.
    nodata : number, optional
        No-data value of ``lc`` (besides NaN and -32768), e.g. 0 or 255.

    Returns
    -------
    xarray.DataArray
        int16, 1..7 or ``NODATA``.

    Raises
    ------
    InputError
        ``lc`` holds codes absent from ``nesting`` (up to 10 are named). With dask
        input the error is raised when the result is computed.
    """
    nest = load_nesting(nesting)
    keys = np.array(sorted(nest), dtype=np.float64)
    values = np.array([nest[int(k)] for k in keys], dtype=np.int16)
    name = f"land cover {lc.name!r}" if lc.name is not None else "land cover"
    out = xr.apply_ufunc(
        _reclassify_core,
        lc,
        kwargs={"keys": keys, "values": values, "nodata": nodata, "name": name},
        dask="parallelized",
        output_dtypes=[np.int16],
        keep_attrs=False,
    )
    out.attrs = _cat_attrs("land cover (UNCCD 7 classes)", LC_CLASSES)
    return out.rename(lc.name)


def _check_classes(a: np.ndarray, valid: np.ndarray, name: str, fix: str) -> None:
    bad = ~isin_codes(a, valid) & (a != NODATA)
    if np.issubdtype(a.dtype, np.floating):
        bad &= ~np.isnan(a)
    if bad.any():
        codes = np.unique(a[bad])[:_MAX_UNKNOWN_SHOWN]
        raise InputError(
            f"{name} has codes {', '.join(str(c) for c in codes)}; expected land-cover "
            f"classes {', '.join(str(int(v)) for v in valid)} or {NODATA}. {fix}"
        )


def _transition_core(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    valid = np.arange(1, 10)
    fix = "Reclassify it with reclassify_land_cover() first."
    _check_classes(a, valid, "lc_initial", fix)
    _check_classes(b, valid, "lc_final", fix)
    miss = _missing(a) | _missing(b)
    ai = np.where(miss, 0, a).astype(np.int16)
    bi = np.where(miss, 0, b).astype(np.int16)
    out = (ai * 10 + bi).astype(np.int16)
    out[miss] = NODATA
    return out


def land_cover_transition(lc_initial: xr.DataArray, lc_final: xr.DataArray) -> xr.DataArray:
    """Transition code ``10 * initial + final`` between two land-cover maps.

    Parameters
    ----------
    lc_initial, lc_final : xarray.DataArray
        Land cover (classes 1..9, ``NODATA``) at the start and end of the period.

    Returns
    -------
    xarray.DataArray
        int16 transition code (11..99), ``NODATA`` where either input is missing.

    Raises
    ------
    InputError
        A class outside 1..9 (reclassify first). Raised at compute time for dask.

    Notes
    -----
    As Trends.Earth ``calc_lc_trans(lc_bl, lc_tg, 10)``.
    """
    out = xr.apply_ufunc(
        _transition_core,
        lc_initial,
        lc_final,
        dask="parallelized",
        output_dtypes=[np.int16],
    )
    out.attrs = {
        "long_name": "land cover transition (10 x initial + final class)",
        "units": "1",
        "nodata": NODATA,
    }
    return out.rename("lc_transition")


def _degradation_core(
    a: np.ndarray, b: np.ndarray, lut: np.ndarray, codes: np.ndarray
) -> np.ndarray:
    fix = "Reclassify it to the matrix legend, or pass a matrix= covering these classes."
    _check_classes(a, codes, "lc_initial", fix)
    _check_classes(b, codes, "lc_final", fix)
    miss = _missing(a) | _missing(b)
    ai = np.where(miss, 0, a).astype(np.intp)
    bi = np.where(miss, 0, b).astype(np.intp)
    out = lut[ai, bi]
    out[miss] = NODATA
    return out


def land_cover_degradation(
    lc_initial: xr.DataArray,
    lc_final: xr.DataArray,
    *,
    matrix: TransitionMatrix | str | PathLike[str] | None = None,
) -> xr.DataArray:
    """Land-cover degradation (-1/0/+1) from the initial and final land cover.

    Parameters
    ----------
    lc_initial, lc_final : xarray.DataArray
        Land cover at the start and end of the period, in the matrix legend
        (UNCCD 1..7 by default), ``NODATA`` or NaN where missing.
    matrix : TransitionMatrix or path-like, optional
        Transition meanings; default the UNCCD matrix (:func:`load_transition_matrix`).

    Returns
    -------
    xarray.DataArray
        int16: -1 degradation, 0 stable, +1 improvement, ``NODATA`` where either input
        is missing.

    Raises
    ------
    InputError
        A class absent from the matrix (raised at compute time for dask).

    Notes
    -----
    Only the initial and final years are compared (PRAIS4-M SO1-1; Trends.Earth
    ``gee/land_cover.py`` remaps the transition code through the matrix). Implemented
    as a 2-D lookup table ``lut[initial, final]``.

    References
    ----------
    UNCCD (2021) Good Practice Guidance for SDG 15.3.1, v2, sec. 4.2.1; PRAIS4-M Table 9.
    """
    if matrix is None or not isinstance(matrix, TransitionMatrix):
        matrix = load_transition_matrix(matrix)
    lut = matrix.lookup_table()
    codes = np.asarray(matrix.codes)
    out = xr.apply_ufunc(
        _degradation_core,
        lc_initial,
        lc_final,
        kwargs={"lut": lut, "codes": codes},
        dask="parallelized",
        output_dtypes=[np.int16],
    )
    out.attrs = _cat_attrs("land cover degradation", CLASS3_NAMES)
    return out.rename("lc_degradation")
