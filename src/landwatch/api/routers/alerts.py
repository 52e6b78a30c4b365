"""Drought alerts: the current alerts as GeoJSON, one alert with its history, its CAP 1.2
message and the Atom feed (``docs/api.md``, "Alerts").

Thin over :mod:`landwatch.warning`: the alerts are the rows of the database
(:func:`~landwatch.warning.alerts.active_alerts`), every CAP message is composed by
:func:`~landwatch.warning.messages.compose_message` and serialised (and validated)
by :func:`~landwatch.warning.cap.build_cap`, the feed by
:func:`~landwatch.warning.feed.atom_feed`.

Geometry: the polygon of the alert's admin unit as published by the newest warning
run of the catalog (``situation_<month>.geojson`` of a ``landwatch warn run`` output
folder in ``Settings.runs`` or a job); ``null`` when no published warning run holds
the unit. The CAP rules, sender and status are those of that run's manifest (the
shipped rules and ``landwatch@localhost`` without one). Rules and unit polygons are
read once per file version (size and modification time), not on every request.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from landwatch.api.catalog import Catalog, unit_geometries
from landwatch.api.deps import SessionDep
from landwatch.api.routers.layers import get_catalog
from landwatch.errors import InputError, NotFoundError
from landwatch.store.alerts import DroughtAlert, DroughtAlertUpdate
from landwatch.warning.alerts import active_alerts, month_label, utc
from landwatch.warning.cap import CAP_MIME, CapMessage, build_cap
from landwatch.warning.feed import ATOM_MIME, atom_feed
from landwatch.warning.messages import compose_message, unit_area
from landwatch.warning.thresholds import AlertRules, load_alert_rules
from landwatch.workflows.warning import DEFAULT_SENDER

router = APIRouter(tags=["alerts"])

CatalogDep = Annotated[Catalog, Depends(get_catalog)]

#: months before the newest message whose ended alerts still appear in the feed
FEED_ENDED_MONTHS = 3


@dataclass
class _Context:
    """What the CAP messages need besides the database rows."""

    rules: AlertRules
    sender: str
    status: str
    tolerance: float
    geometries: dict[str, dict[str, Any]]

    def area(self, alert: DroughtAlert) -> Any:
        from shapely.geometry import shape

        geom = self.geometries.get(alert.unit_id)
        return unit_area(
            alert.unit_id,
            alert.unit_name,
            shape(geom) if geom else None,
            tolerance=self.tolerance,
        )

    def message(self, upd: DroughtAlertUpdate) -> CapMessage:
        return compose_message(
            upd, rules=self.rules, sender=self.sender, status=self.status, area=self.area(upd.alert)
        )


def _stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path), st.st_size, st.st_mtime_ns


_memo: dict[tuple[Any, ...], Any] = {}
_memo_lock = threading.Lock()


def _memoised(key: tuple[Any, ...], make: Any) -> Any:
    """``make()`` once per key (a file version); the newest few are kept."""
    with _memo_lock:
        if key in _memo:
            return _memo[key]
    value = make()
    with _memo_lock:
        if len(_memo) > 32:
            _memo.clear()
        _memo[key] = value
    return value


def _context(catalog: Catalog) -> _Context:
    runs = catalog.warning_runs()
    rules, sender, status, tolerance = None, DEFAULT_SENDER, "Actual", 0.01
    if runs:
        newest = runs[0]
        params = newest.manifest.get("parameters") or {}
        sender = str(params.get("sender") or DEFAULT_SENDER)
        status = str(params.get("status") or "Actual")
        tolerance = float(params.get("polygon_tolerance_deg") or 0.01)
        rules_path = newest.input_path("rules")
        if rules_path is not None and rules_path.is_file():
            rules = _memoised(("rules", _stamp(rules_path)), lambda: load_alert_rules(rules_path))
    situations = tuple(
        _stamp(f) for run in runs for f in sorted(run.path.glob("situation_*.geojson"))
    )
    return _Context(
        rules=rules or _memoised(("rules", None), load_alert_rules),
        sender=sender,
        status=status,
        tolerance=tolerance,
        geometries=_memoised(
            ("units", tuple(r.path for r in runs), situations), lambda: unit_geometries(runs)
        ),  # fmt: skip
    )


def _alert(session: Any, alert_id: str) -> DroughtAlert:
    q = (
        select(DroughtAlert)
        .where(DroughtAlert.identifier == alert_id)
        .options(selectinload(DroughtAlert.updates))
    )
    found = session.scalars(q).first()
    if found is None:
        raise NotFoundError(
            f"alert {alert_id!r} does not exist; GET /alerts lists the current alerts by id."
        )
    return found  # type: ignore[no-any-return]


def _headline(ctx: _Context, alert: DroughtAlert) -> str | None:
    if not alert.updates:
        return None
    try:
        return ctx.message(alert.updates[-1]).headline
    except InputError:  # rules of another region that lack the stored level
        return None


def _summary(ctx: _Context, alert: DroughtAlert) -> dict[str, Any]:
    return {
        "id": alert.identifier,
        "unit": alert.unit_name,
        "unit_id": alert.unit_id,
        "level": alert.level,
        "severity": alert.severity,
        "certainty": alert.certainty,
        "is_forecast": alert.is_forecast,
        "status": alert.status,
        "started": month_label(alert.start_month),
        "last_month": month_label(alert.last_month),
        "updated": utc(alert.updated_at).isoformat(),
        "headline": _headline(ctx, alert),
    }


@router.get("/alerts", summary="Current drought alerts (GeoJSON FeatureCollection)")
def list_alerts(
    session: SessionDep,
    catalog: CatalogDep,
    forecast: Annotated[
        bool | None, Query(description="only forecast (true) or observed (false) alerts")
    ] = None,
) -> dict[str, Any]:
    """Active alerts (not yet ended), one Feature per alert; properties ``id, unit,
    unit_id, level, severity, certainty, is_forecast, status, started, last_month,
    updated, headline``. The geometry is the admin unit's polygon from the newest
    published warning run that holds it, or null when none does."""
    ctx = _context(catalog)
    features = [
        {
            "type": "Feature",
            "id": a.identifier,
            "geometry": ctx.geometries.get(a.unit_id),
            "properties": _summary(ctx, a),
        }
        for a in active_alerts(session, is_forecast=forecast)
    ]
    return {"type": "FeatureCollection", "features": features}


@router.get(
    "/alerts/feed.atom",
    summary="Atom feed of the alerts' latest CAP messages",
    response_class=Response,
    responses={200: {"content": {ATOM_MIME: {}}}},
)
def alerts_feed(request: Request, session: SessionDep, catalog: CatalogDep) -> Response:
    """The latest message of every active alert and of alerts that ended in the last
    :data:`FEED_ENDED_MONTHS` months (so that readers learn about the end), newest first;
    each entry links to ``/alerts/{id}/cap``."""
    ctx = _context(catalog)
    newest = session.scalars(
        select(DroughtAlert.last_month).order_by(DroughtAlert.last_month.desc()).limit(1)
    ).first()
    q = select(DroughtAlert).options(selectinload(DroughtAlert.updates))
    if newest is not None:
        m = newest.year * 12 + newest.month - 1 - FEED_ENDED_MONTHS
        since = dt.date(m // 12, m % 12 + 1, 1)
        q = q.where(or_(DroughtAlert.status == "active", DroughtAlert.end_month >= since))
    alerts = [a for a in session.scalars(q) if a.updates]
    base = str(request.base_url).rstrip("/")
    messages, alert_of, levels = [], {}, {}
    for a in alerts:
        upd = a.updates[-1]
        msg = ctx.message(upd)
        messages.append(msg)
        alert_of[msg.identifier] = (a.identifier, upd.seq)
        levels[msg.identifier] = upd.level
    feed = atom_feed(
        messages,
        title="landwatch drought alerts",
        updated=max((utc(a.updated_at) for a in alerts), default=dt.datetime.now(dt.UTC)),
        cap_href=lambda m: (
            f"{base}/alerts/{alert_of[m.identifier][0]}/cap?seq={alert_of[m.identifier][1]}"
        ),
        self_href=f"{base}/alerts/feed.atom",
        author=ctx.rules.sender_name,
        subtitle="CAP 1.2 drought alerts per admin unit",
        levels=levels,
    )
    return Response(feed, media_type=ATOM_MIME)


@router.get("/alerts/{alert_id}", summary="One alert with its history (GeoJSON Feature)")
def get_alert(alert_id: str, session: SessionDep, catalog: CatalogDep) -> dict[str, Any]:
    """An alert (active or ended) by id, with ``history``: every message it sent, oldest
    first (kind, CAP msgType and identifier, month, level, metrics, headline)."""
    ctx = _context(catalog)
    a = _alert(session, alert_id)
    history = []
    for u in a.updates:
        try:
            headline: str | None = ctx.message(u).headline
        except InputError:
            headline = None
        history.append(
            {
                "seq": u.seq,
                "identifier": u.identifier,
                "month": month_label(u.month),
                "kind": u.kind,
                "msg_type": u.msg_type,
                "sent": utc(u.sent).isoformat(),
                "level": u.level,
                "severity": u.severity,
                "certainty": u.certainty,
                "consecutive_months": u.consecutive_months,
                "months_below": u.months_below,
                "metrics": u.metrics or {},
                "note": u.note,
                "headline": headline,
            }
        )
    props = _summary(ctx, a) | {
        "peak_level": a.peak_level,
        "end_month": month_label(a.end_month) if a.end_month else None,
        "history": history,
    }
    return {
        "type": "Feature",
        "id": a.identifier,
        "geometry": ctx.geometries.get(a.unit_id),
        "properties": props,
    }


@router.get(
    "/alerts/{alert_id}/cap",
    summary="CAP 1.2 XML of an alert's latest message (or of message `seq`)",
    response_class=Response,
    responses={200: {"content": {CAP_MIME: {}}}},
)
def alert_cap(
    alert_id: str,
    session: SessionDep,
    catalog: CatalogDep,
    seq: Annotated[int | None, Query(ge=0, description="message number (0 = first)")] = None,
) -> Response:
    """The CAP 1.2 message, composed by the warning module and validated against the
    OASIS schema before it is sent."""
    a = _alert(session, alert_id)
    if not a.updates:
        raise NotFoundError(f"alert {alert_id!r} has no messages.")
    if seq is None:
        upd = a.updates[-1]
    else:
        by_seq = {u.seq: u for u in a.updates}
        if seq not in by_seq:
            raise NotFoundError(
                f"alert {alert_id!r} has no message {seq}; it has messages 0-{len(a.updates) - 1}."
            )
        upd = by_seq[seq]
    xml = build_cap(_context(catalog).message(upd))
    name = Path(f"{upd.identifier}.xml").name
    return Response(
        xml, media_type=CAP_MIME, headers={"Content-Disposition": f'inline; filename="{name}"'}
    )
