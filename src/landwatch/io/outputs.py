"""Output folders written atomically, table files, and the run manifest."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from landwatch.errors import InputError


@contextlib.contextmanager
def atomic_output_dir(
    out_dir: str | os.PathLike[str], *, overwrite: bool = False
) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``out_dir`` only if the block succeeds.

    A failure removes the temporary folder, so no half-written outputs are left;
    an existing ``out_dir`` is kept untouched until the new one is complete.
    """
    target = Path(out_dir).resolve()
    if target.exists() and not overwrite:
        raise InputError(
            f"output folder {str(target)!r} already exists. Choose another --out or pass --overwrite."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(target)


def sha256_of(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, or of all files of a folder (e.g. a Zarr store) in sorted order."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def write_tables(
    tables: Mapping[str, pd.DataFrame], folder: Path, *, xlsx_name: str = "tables.xlsx"
) -> list[Path]:
    """Write each table as CSV, all of them as one XLSX (a sheet per table) and as JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, df in tables.items():
        p = folder / f"{name}.csv"
        df.to_csv(p, index=False)
        written.append(p)
    xlsx = folder / xlsx_name
    with pd.ExcelWriter(xlsx, engine="openpyxl") as xw:
        for name, df in tables.items():
            df.to_excel(xw, sheet_name=name[:31], index=False)
    written.append(xlsx)
    js = folder / "tables.json"
    js.write_text(
        json.dumps(
            {n: json.loads(df.to_json(orient="records")) for n, df in tables.items()}, indent=1
        )
    )
    written.append(js)
    return written


def write_json(obj: Any, path: Path) -> Path:
    path.write_text(json.dumps(obj, indent=2, default=str))
    return path


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` (file or folder, e.g. a Zarr store) that
    replaces ``path`` only if the block succeeds; a failure leaves nothing behind."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.partial")
    _remove(tmp)
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    _remove(target)
    tmp.rename(target)
