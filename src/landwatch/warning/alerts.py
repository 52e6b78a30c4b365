"""The lifecycle of drought alerts per admin unit, stored with their history.

A unit that reaches a level of the rules starts an alert (CAP ``Alert``). While the
event lasts, each new month updates the same alert (CAP ``Update``): ``continue`` at
the same level, ``escalate`` / ``deescalate`` when the level changes, ``below`` when
the unit is under every level but not yet long enough to end. After
``rules.end_after_months`` months in a row below the lowest level the event ends
(CAP ``Cancel``); a later rise starts a new alert. Every message is a
:class:`~landwatch.store.alerts.DroughtAlertUpdate` row, and every assessed
unit-month a :class:`~landwatch.store.alerts.DroughtUnitMonth` row, so processing the
same month twice changes nothing.

Observed and forecast alerts are separate streams (``is_forecast``): a forecast never
updates or ends an observed alert. Forecast alerts carry the CAP certainty
``Likely`` or ``Possible`` instead of ``Observed``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from landwatch.errors import InputError
from landwatch.store.alerts import DroughtAlert, DroughtAlertUpdate, DroughtUnitMonth
from landwatch.warning.thresholds import METRICS, NO_LEVEL, AlertRules

#: CAP certainty of observed alerts and the ones allowed for forecasts
OBSERVED = "Observed"
FORECAST_CERTAINTIES = ("Likely", "Possible")
#: CAP severity of the message that ends an event (minimal to no known threat)
END_SEVERITY = "Minor"

_REQUIRED = ("unit_id", "month", "status", "level", "level_rank", "severity", "consecutive_months")
_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]+")


def month_date(label: str) -> dt.date:
    """``YYYY-MM`` -> the first day of that month."""
    try:
        y, m = (int(v) for v in str(label)[:7].split("-"))
        return dt.date(y, m, 1)
    except ValueError:
        raise InputError(f"month {label!r} is not YYYY-MM.") from None


def month_label(d: dt.date) -> str:
    """The first day of a month -> ``YYYY-MM``."""
    return f"{d.year:04d}-{d.month:02d}"


def utc(value: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC datetime (SQLite returns naive datetimes)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def identifier_part(text: str) -> str:
    """``text`` with every run of characters CAP identifiers cannot hold replaced by ``_``."""
    return _UNSAFE.sub("_", str(text)).strip("_") or "unit"


def _clean_metrics(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in METRICS:
        v = row.get(key)
        if v is None:
            continue
        v = float(v)
        out[key] = None if not math.isfinite(v) else (int(v) if key == "consecutive_months" else v)
    return out


@dataclass
class LifecycleResult:
    """What one call of :func:`update_alerts` did.

    Attributes
    ----------
    messages : list of DroughtAlertUpdate
        Messages created by this call, in the order they were made.
    recorded : int
        Unit-months newly recorded.
    skipped : list of (unit_id, month)
        Unit-months already in the database, left unchanged.
    """

    messages: list[DroughtAlertUpdate] = field(default_factory=list)
    recorded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def count(self, kind: str) -> int:
        """Number of new messages of one kind (``start``, ``end``, ...)."""
        return sum(1 for m in self.messages if m.kind == kind)


def _certainty(is_forecast: bool, certainty: str | None) -> str:
    if not is_forecast:
        if certainty not in (None, OBSERVED):
            raise InputError(
                f"certainty {certainty!r} is for forecasts; observed alerts are 'Observed'. "
                "Pass is_forecast=True (--forecast) for forecast-based alerts."
            )
        return OBSERVED
    certainty = certainty or "Likely"
    if certainty not in FORECAST_CERTAINTIES:
        raise InputError(
            f"forecast certainty {certainty!r} is not allowed; expected one of "
            f"{list(FORECAST_CERTAINTIES)} (CAP 1.2 certainty of a forecast)."
        )
    return certainty


def _sent(sent: dt.datetime | None) -> dt.datetime:
    if sent is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    if sent.tzinfo is None:
        raise InputError(
            f"sent {sent.isoformat()} has no time zone; CAP requires one. "
            "Pass an aware datetime, e.g. datetime.now(timezone.utc)."
        )
    return sent.astimezone(dt.UTC).replace(microsecond=0)


def _message(
    a: DroughtAlert,
    kind: str,
    msg_type: str,
    *,
    month: dt.date,
    sent: dt.datetime,
    row: Mapping[str, Any],
    metrics: dict[str, Any],
    level: str | None = None,
    level_rank: int | None = None,
    severity: str | None = None,
    note: str | None = None,
) -> DroughtAlertUpdate:
    """Append the next message to alert ``a`` and return it."""
    seq = len(a.updates)
    upd = DroughtAlertUpdate(
        seq=seq,
        month=month,
        kind=kind,
        msg_type=msg_type,
        identifier=f"{a.identifier}-{seq}",
        sent=sent,
        level=a.level if level is None else level,
        level_rank=a.level_rank if level_rank is None else level_rank,
        severity=a.severity if severity is None else severity,
        certainty=a.certainty,
        months_below=a.months_below,
        consecutive_months=int(row["consecutive_months"]),
        metrics=metrics,
        note=note,
    )
    a.updates.append(upd)
    return upd


def update_alerts(
    session: Session,
    assessment: pd.DataFrame,
    rules: AlertRules,
    *,
    is_forecast: bool = False,
    certainty: str | None = None,
    sent: dt.datetime | None = None,
    id_prefix: str = "landwatch-drought",
) -> LifecycleResult:
    """Start, update and end alerts from assessed unit-months; record everything.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Open session (e.g. :func:`landwatch.store.session_scope`); the caller commits.
    assessment : pandas.DataFrame
        Output of :func:`~landwatch.warning.thresholds.assess_units` with the unit
        column renamed ``unit_id`` (str, the admin code) and optionally ``unit_name``.
    rules : AlertRules
        The rules that made the levels (for ``end_after_months``).
    is_forecast : bool
        Forecast-based alerts (a separate stream from observed ones).
    certainty : str, optional
        CAP certainty: ``Observed`` for observed alerts (default); ``Likely``
        (default) or ``Possible`` for forecasts.
    sent : datetime, optional
        Time the new messages are sent (aware; default now, UTC, whole seconds).
    id_prefix : str
        Start of every alert and message identifier.

    Returns
    -------
    LifecycleResult

    Raises
    ------
    InputError
        Missing columns, a certainty that does not fit the stream, a naive ``sent``,
        or a month older than the last month already recorded for the unit (months
        are processed in time order; a recorded month is skipped, not an error).

    Notes
    -----
    Unit-months with status ``insufficient_data`` are recorded but change no alert
    and do not count towards its end. Alert identifiers are
    ``<prefix>-<unit>-<YYYYMM of start>[-forecast]``; message identifiers add
    ``-<n>`` (0 for the first message).
    """
    missing = [c for c in _REQUIRED if c not in assessment.columns]
    if missing:
        raise InputError(
            f"assessment lacks the columns {missing}; pass the table of assess_units with "
            "the unit column renamed unit_id."
        )
    certainty = _certainty(is_forecast, certainty)
    sent_at = _sent(sent)
    result = LifecycleResult()
    if assessment.empty:
        return result
    rows = assessment.assign(
        unit_id=assessment["unit_id"].astype(str), month=assessment["month"].astype(str)
    ).sort_values(["month", "unit_id"], kind="stable")
    units = sorted(set(rows["unit_id"]))
    months = sorted({month_date(m) for m in rows["month"]})

    recorded = {
        (u, m)
        for u, m in session.execute(
            select(DroughtUnitMonth.unit_id, DroughtUnitMonth.month).where(
                DroughtUnitMonth.is_forecast.is_(is_forecast),
                DroughtUnitMonth.unit_id.in_(units),
                DroughtUnitMonth.month.in_(months),
            )
        )
    }
    last: dict[str, dt.date] = {
        u: m
        for u, m in session.execute(
            select(DroughtUnitMonth.unit_id, func.max(DroughtUnitMonth.month))
            .where(
                DroughtUnitMonth.is_forecast.is_(is_forecast), DroughtUnitMonth.unit_id.in_(units)
            )
            .group_by(DroughtUnitMonth.unit_id)
        )
    }
    active: dict[str, DroughtAlert] = {
        a.unit_id: a
        for a in session.scalars(
            select(DroughtAlert)
            .where(
                DroughtAlert.status == "active",
                DroughtAlert.is_forecast.is_(is_forecast),
                DroughtAlert.unit_id.in_(units),
            )
            .options(selectinload(DroughtAlert.updates))
        )
    }
    suffix = "-forecast" if is_forecast else ""

    for row in rows.to_dict("records"):
        unit, label = row["unit_id"], row["month"]
        month = month_date(label)
        if (unit, month) in recorded:
            result.skipped.append((unit, label))
            continue
        if unit in last and month < last[unit]:
            raise InputError(
                f"unit {unit}: month {label} comes before {month_label(last[unit])}, the last "
                "month already processed; alerts are processed in time order. Process the "
                "months in order, or use a new database to rebuild the history."
            )
        name = str(row.get("unit_name") or unit)
        metrics = _clean_metrics(row)
        rank = int(row["level_rank"])
        alert = active.get(unit)

        ctx: dict[str, Any] = {"month": month, "sent": sent_at, "row": row, "metrics": metrics}

        if row["status"] == "assessed":
            if alert is None and rank > 0:
                alert = DroughtAlert(
                    identifier=f"{id_prefix}-{identifier_part(unit)}-{month:%Y%m}{suffix}",
                    unit_id=unit,
                    unit_name=name,
                    is_forecast=is_forecast,
                    certainty=certainty,
                    status="active",
                    level=str(row["level"]),
                    level_rank=rank,
                    severity=str(row["severity"]),
                    peak_level=str(row["level"]),
                    peak_rank=rank,
                    start_month=month,
                    last_month=month,
                    end_month=None,
                    months_below=0,
                    created_at=sent_at,
                    updated_at=sent_at,
                    updates=[],
                )
                session.add(alert)
                active[unit] = alert
                result.messages.append(_message(alert, "start", "Alert", **ctx))
            elif alert is not None and rank > 0:
                kind = (
                    "escalate"
                    if rank > alert.level_rank
                    else "deescalate"
                    if rank < alert.level_rank
                    else "continue"
                )
                alert.level, alert.level_rank = str(row["level"]), rank
                alert.severity = str(row["severity"])
                if rank > alert.peak_rank:
                    alert.peak_level, alert.peak_rank = alert.level, rank
                alert.months_below = 0
                alert.last_month, alert.updated_at = month, sent_at
                alert.certainty = certainty
                result.messages.append(_message(alert, kind, "Update", **ctx))
            elif alert is not None:
                alert.months_below += 1
                alert.last_month, alert.updated_at = month, sent_at
                if alert.months_below >= rules.end_after_months:
                    alert.status, alert.end_month = "ended", month
                    result.messages.append(
                        _message(
                            alert,
                            "end",
                            "Cancel",
                            level=NO_LEVEL,
                            level_rank=0,
                            severity=END_SEVERITY,
                            note=f"below every level for {alert.months_below} months",
                            **ctx,
                        )
                    )
                    del active[unit]
                else:
                    result.messages.append(
                        _message(
                            alert,
                            "below",
                            "Update",
                            note=f"below every level ({alert.months_below} of "
                            f"{rules.end_after_months} months needed to end)",
                            **ctx,
                        )
                    )
        if alert is not None:
            session.flush()  # the unit-month links to the alert by id
        session.add(
            DroughtUnitMonth(
                unit_id=unit,
                month=month,
                is_forecast=is_forecast,
                unit_name=name,
                status=str(row["status"]),
                level=str(row["level"]),
                level_rank=rank,
                consecutive_months=int(row["consecutive_months"]),
                metrics=metrics,
                alert_id=alert.id if alert is not None else None,
                processed_at=sent_at,
            )
        )
        recorded.add((unit, month))
        last[unit] = max(month, last.get(unit, month))
        result.recorded += 1
    session.flush()
    return result


def prior_consecutive(
    session: Session, first_month: str, *, is_forecast: bool = False
) -> dict[str, tuple[str, int]]:
    """unit_id -> (month, consecutive_months) recorded for the month before ``first_month``.

    Feed this to :func:`~landwatch.warning.thresholds.assess_units` (``prior=``) so
    that runs of drought months continue across processing runs.
    """
    before = month_date(first_month)
    before = (before - dt.timedelta(days=1)).replace(day=1)
    rows = session.execute(
        select(DroughtUnitMonth.unit_id, DroughtUnitMonth.consecutive_months).where(
            DroughtUnitMonth.month == before, DroughtUnitMonth.is_forecast.is_(is_forecast)
        )
    )
    return {u: (month_label(before), int(c)) for u, c in rows}


def active_alerts(session: Session, *, is_forecast: bool | None = None) -> list[DroughtAlert]:
    """Alerts not yet ended (both streams unless ``is_forecast`` is given), by unit."""
    q = select(DroughtAlert).where(DroughtAlert.status == "active")
    if is_forecast is not None:
        q = q.where(DroughtAlert.is_forecast.is_(is_forecast))
    q = q.options(selectinload(DroughtAlert.updates)).order_by(
        DroughtAlert.unit_id, DroughtAlert.is_forecast
    )
    return list(session.scalars(q))


def messages_in_months(
    session: Session, months: Iterable[str], *, is_forecast: bool = False
) -> list[DroughtAlertUpdate]:
    """Messages of the given months (``YYYY-MM``), oldest first, with their alerts loaded."""
    dates = sorted({month_date(m) for m in months})
    q = (
        select(DroughtAlertUpdate)
        .join(DroughtAlertUpdate.alert)
        .where(DroughtAlertUpdate.month.in_(dates), DroughtAlert.is_forecast.is_(is_forecast))
        .options(selectinload(DroughtAlertUpdate.alert).selectinload(DroughtAlert.updates))
        .order_by(DroughtAlertUpdate.month, DroughtAlert.unit_id, DroughtAlertUpdate.seq)
    )
    return list(session.scalars(q))


def unit_month_table(
    session: Session, months: Iterable[str] | None = None, *, is_forecast: bool = False
) -> pd.DataFrame:
    """The recorded unit-months (all, or of ``months``) as a table with one column per metric."""
    q = select(DroughtUnitMonth).where(DroughtUnitMonth.is_forecast.is_(is_forecast))
    if months is not None:
        q = q.where(DroughtUnitMonth.month.in_(sorted({month_date(m) for m in months})))
    recs = list(session.scalars(q.order_by(DroughtUnitMonth.month, DroughtUnitMonth.unit_id)))
    alert_ids = {r.alert_id for r in recs if r.alert_id is not None}
    idents = (
        dict(
            session.execute(
                select(DroughtAlert.id, DroughtAlert.identifier).where(
                    DroughtAlert.id.in_(alert_ids)
                )
            ).all()
        )
        if alert_ids
        else {}
    )
    rows = []
    for r in recs:
        row: dict[str, Any] = {
            "month": month_label(r.month),
            "unit_id": r.unit_id,
            "unit_name": r.unit_name,
            "is_forecast": r.is_forecast,
            "status": r.status,
            "level": r.level,
            "level_rank": r.level_rank,
            "consecutive_months": r.consecutive_months,
            "alert_identifier": idents.get(r.alert_id) if r.alert_id is not None else None,
        }
        for key in METRICS:
            if key != "consecutive_months":
                v = (r.metrics or {}).get(key)
                row[key] = float("nan") if v is None else v
        rows.append(row)
    cols = [
        "month",
        "unit_id",
        "unit_name",
        "is_forecast",
        "status",
        "level",
        "level_rank",
        "consecutive_months",
        "alert_identifier",
        *[m for m in METRICS if m != "consecutive_months"],
    ]
    return pd.DataFrame(rows, columns=cols)
