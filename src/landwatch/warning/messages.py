"""The words and fields of each drought alert message (English), ready for CAP 1.2.

:func:`compose_message` turns one stored message
(:class:`~landwatch.store.alerts.DroughtAlertUpdate`) and its alert into a
:class:`~landwatch.warning.cap.CapMessage`: headline, description with the unit's
numbers, instruction from the rules, CAP urgency / severity / certainty, onset and
expiry, references to the earlier messages of the same alert, parameters and area.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import landwatch
from landwatch.errors import InputError
from landwatch.store.alerts import DroughtAlert, DroughtAlertUpdate
from landwatch.warning.alerts import month_label, utc
from landwatch.warning.cap import CapArea, CapMessage, cap_polygons
from landwatch.warning.thresholds import AlertRules

#: prefix of CAP parameter names
PARAM_PREFIX = "landwatch:"
_PARAMS = (
    "cropland_warning_share",
    "cropland_alert_share",
    "grazing_warning_share",
    "grazing_alert_share",
    "land_warning_share",
    "land_alert_share",
    "population_exposed",
    "population_exposed_share",
    "valid_share",
)


def month_name(d: dt.date) -> str:
    """``March 2024``."""
    return d.strftime("%B %Y")


def _first_of(d: dt.date, add_months: int) -> dt.datetime:
    m = d.month - 1 + add_months
    return dt.datetime(d.year + m // 12, m % 12 + 1, 1, tzinfo=dt.UTC)


def _pct(v: Any) -> str | None:
    return None if v is None else f"{100 * float(v):.0f} %"


def unit_area(
    unit_id: str,
    unit_name: str,
    geometry: Any = None,
    *,
    geocode_name: str = "admin_id",
    tolerance: float = 0.01,
) -> CapArea:
    """The CAP area of an admin unit: its name, simplified polygons and its code.

    Parameters
    ----------
    unit_id, unit_name : str
        The unit's code (the geocode value) and name (``areaDesc``).
    geometry : shapely geometry, optional
        The unit in EPSG:4326; None gives an area without polygon.
    geocode_name : str
        ``valueName`` of the geocode (the admin code field).
    tolerance : float
        Polygon simplification in degrees (see :func:`~landwatch.warning.cap.cap_polygons`).
    """
    polygons = cap_polygons(geometry, tolerance=tolerance) if geometry is not None else []
    return CapArea(
        description=unit_name, polygons=polygons, geocodes=[(geocode_name, str(unit_id))]
    )


def _headline(upd: DroughtAlertUpdate, alert: DroughtAlert) -> str:
    unit, month = alert.unit_name, month_name(upd.month)
    level = upd.level.capitalize()
    forecast = "Forecast: " if alert.is_forecast else ""
    text = {
        "start": f"{level} drought alert for {unit} ({month})",
        "continue": f"{level} drought alert continues for {unit} ({month})",
        "escalate": f"Drought alert for {unit} raised to {upd.level} ({month})",
        "deescalate": f"Drought alert for {unit} lowered to {upd.level} ({month})",
        "below": f"Drought easing in {unit}; {upd.level} alert stays in force ({month})",
        "end": f"Drought alert for {unit} ended ({month})",
    }[upd.kind]
    return (forecast + text)[:160]


def _description(upd: DroughtAlertUpdate, alert: DroughtAlert, rules: AlertRules) -> str:
    m = upd.metrics or {}
    month = month_name(upd.month)
    seen = "are forecast to be" if alert.is_forecast else "were"
    parts = []
    crop_w, crop_a = _pct(m.get("cropland_warning_share")), _pct(m.get("cropland_alert_share"))
    graz_w, graz_a = _pct(m.get("grazing_warning_share")), _pct(m.get("grazing_alert_share"))
    if crop_w is not None:
        parts.append(f"{crop_w} of cropland ({crop_a} at Alert)")
    if graz_w is not None:
        parts.append(f"{graz_w} of grazing land ({graz_a} at Alert)")
    if not parts and m.get("land_warning_share") is not None:
        parts.append(f"{_pct(m.get('land_warning_share'))} of the land")
    lines = []
    if parts:
        lines.append(
            f"In {month}, {' and '.join(parts)} in {alert.unit_name} {seen} at Warning or "
            "Alert level of the Combined Drought Indicator."
        )
    pop = m.get("population_exposed")
    if pop is not None and float(pop) > 0:
        lines.append(f"About {float(pop):,.0f} people live in the affected areas.")
    if upd.consecutive_months:
        lines.append(f"Drought conditions have lasted {upd.consecutive_months} month(s) in a row.")
    level_text = {
        "start": f"The unit has reached the {upd.level} alert level.",
        "continue": f"The {upd.level} alert continues (event since {month_name(alert.start_month)}).",
        "escalate": f"The alert is raised to {upd.level}.",
        "deescalate": f"The alert is lowered to {upd.level}.",
        "below": (
            f"Conditions were below every alert level this month ({upd.months_below} of "
            f"{rules.end_after_months} months needed to end the event); the {upd.level} "
            "alert stays in force."
        ),
        "end": (
            f"Conditions have stayed below every alert level for {upd.months_below} months; "
            f"the drought event that started in {month_name(alert.start_month)} has ended."
        ),
    }[upd.kind]
    lines.append(level_text)
    if alert.is_forecast:
        lines.append(f"This alert is based on a forecast (certainty: {upd.certainty}).")
    return " ".join(lines)


def community_parameters(upd: DroughtAlertUpdate, alert: DroughtAlert) -> list[tuple[str, str]]:
    """CAP parameters weighing confirmed community observations of drought impacts.

    The alert's confidence starts at ``medium`` (observed, or a forecast with
    certainty Likely) or ``low`` (a forecast rated Possible) and moves one step per
    the evidence of the unit and month in the same database
    (:func:`landwatch.observations.confidence.alert_evidence`): two net confirming
    reports raise it, two net contradicting ones lower it; one report alone does not.
    Nothing is added to an end (Cancel) message or when no session is attached.
    """
    from sqlalchemy.orm import object_session

    from landwatch.observations.confidence import adjust_confidence_level, alert_evidence

    session = object_session(upd)
    if session is None or upd.kind == "end":
        return []
    ev = alert_evidence(session, alert.unit_id, upd.month)
    base = "low" if alert.is_forecast and upd.certainty == "Possible" else "medium"
    return [
        (f"{PARAM_PREFIX}community_confirming", str(ev.confirming)),
        (f"{PARAM_PREFIX}community_contradicting", str(ev.contradicting)),
        (f"{PARAM_PREFIX}confidence", adjust_confidence_level(base, ev)),
    ]


def compose_message(
    upd: DroughtAlertUpdate,
    *,
    rules: AlertRules,
    sender: str,
    area: CapArea,
    status: str = "Actual",
) -> CapMessage:
    """The CAP message of one stored alert message.

    Parameters
    ----------
    upd : DroughtAlertUpdate
        A stored message with its alert (and the alert's earlier messages) loaded.
    rules : AlertRules
        Instructions per level, ``end_after_months`` and the CAP settings.
    sender : str
        CAP sender (e.g. an e-mail address or URN of the warning service).
    area : CapArea
        The unit's area (:func:`unit_area`).
    status : str
        CAP status (``Actual``; ``Exercise``, ``Test`` or ``Draft`` for trials).

    Returns
    -------
    CapMessage

    Notes
    -----
    msgType: ``Alert`` for the first message, ``Update`` for the next ones, ``Cancel``
    for the end; ``references`` lists the alert's first message and the one just
    before. Urgency: ``Expected`` for observed drought, ``Future`` for forecasts,
    ``Past`` for the end. Response: ``Monitor`` at the lowest level, ``Prepare``
    above, ``AllClear`` at the end. Onset: the first day of the event's first month
    (for a forecast, of the forecast month). Expiry: the first day of the month
    ``rules.expires_months`` after the message's month, 00:00 UTC.
    """
    alert = upd.alert
    if alert is None:
        raise InputError(f"message {upd.identifier!r} has no alert loaded.")
    earlier = [u for u in alert.updates if u.seq < upd.seq]
    refs = []
    if earlier:
        for u in {earlier[0].seq: earlier[0], earlier[-1].seq: earlier[-1]}.values():
            refs.append((sender, u.identifier, utc(u.sent)))
    level = rules.level(upd.level) if upd.kind != "end" else None
    if upd.kind == "end":
        response, urgency = ["AllClear"], "Past"
        instruction = "The drought event has ended. Continue routine monitoring."
    else:
        response = ["Monitor"] if upd.level_rank <= 1 else ["Prepare"]
        urgency = "Future" if alert.is_forecast else "Expected"
        instruction = level.instruction if level is not None else ""
    params = [
        (f"{PARAM_PREFIX}month", month_label(upd.month)),
        (f"{PARAM_PREFIX}level", upd.level),
        (f"{PARAM_PREFIX}update", upd.kind),
        (f"{PARAM_PREFIX}alert", alert.identifier),
        (f"{PARAM_PREFIX}event_start", month_label(alert.start_month)),
        (f"{PARAM_PREFIX}is_forecast", "true" if alert.is_forecast else "false"),
        (f"{PARAM_PREFIX}consecutive_months", str(upd.consecutive_months)),
    ]
    for key in _PARAMS:
        v = (upd.metrics or {}).get(key)
        if v is not None:
            params.append((f"{PARAM_PREFIX}{key}", f"{float(v):.4g}"))
    params += community_parameters(upd, alert)
    onset_month = upd.month if alert.is_forecast else alert.start_month
    return CapMessage(
        identifier=upd.identifier,
        sender=sender,
        sent=utc(upd.sent),
        msg_type=upd.msg_type,
        status=status,
        source=f"landwatch {landwatch.__version__}",
        references=refs,
        urgency=urgency,
        severity=upd.severity,
        certainty=upd.certainty,
        response_types=response,
        effective=utc(upd.sent),
        onset=_first_of(onset_month, 0),
        expires=_first_of(upd.month, rules.expires_months),
        sender_name=rules.sender_name,
        headline=_headline(upd, alert),
        description=_description(upd, alert, rules),
        instruction=instruction or None,
        web=rules.web,
        contact=rules.contact,
        parameters=params,
        areas=[area],
    )
