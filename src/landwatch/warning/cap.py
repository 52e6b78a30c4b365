"""Common Alerting Protocol (CAP) 1.2 messages: build, check and read.

Every message landwatch writes is validated against the OASIS CAP 1.2 schema
(``data/cap/CAP-v1.2.xsd``, Copyright OASIS Open 2010, redistributed unchanged) and
against the rules of the CAP 1.2 standard that the schema cannot express: times with
a numeric time zone (UTC as ``-00:00``), closed polygons of at least four
``lat,lon`` points, ``references`` as ``sender,identifier,sent`` for updates and
cancellations, identifiers and sender without spaces, commas, ``&`` or ``<``.

References
----------
OASIS (2010), *Common Alerting Protocol Version 1.2*, OASIS Standard,
http://docs.oasis-open.org/emergency/cap/v1.2/CAP-v1.2-os.html (sections 3.2, 3.3).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

from landwatch.errors import InputError

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP11_NS = "urn:oasis:names:tc:emergency:cap:1.1"
CAP_MIME = "application/cap+xml"

_STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
_MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
_BAD_ID = re.compile(r"[\s,&<]")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")


@dataclass
class CapArea:
    """One ``<area>``: description, polygons (``"lat,lon lat,lon ..."``) and geocodes."""

    description: str
    polygons: list[str] = field(default_factory=list)
    geocodes: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class CapMessage:
    """The content of one CAP 1.2 alert message with one ``<info>`` block.

    Times are aware datetimes. ``references`` holds ``(sender, identifier, sent)`` of
    earlier messages (required for ``Update`` and ``Cancel``).
    """

    identifier: str
    sender: str
    sent: dt.datetime
    msg_type: str
    urgency: str
    severity: str
    certainty: str
    headline: str
    description: str
    areas: list[CapArea]
    event: str = "Drought"
    category: str = "Env"
    status: str = "Actual"
    scope: str = "Public"
    source: str | None = None
    note: str | None = None
    references: list[tuple[str, str, dt.datetime]] = field(default_factory=list)
    language: str = "en"
    response_types: list[str] = field(default_factory=list)
    effective: dt.datetime | None = None
    onset: dt.datetime | None = None
    expires: dt.datetime | None = None
    sender_name: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: list[tuple[str, str]] = field(default_factory=list)


def cap_datetime(value: dt.datetime) -> str:
    """A CAP time: ``YYYY-MM-DDThh:mm:ss+hh:mm``, UTC written ``-00:00`` as CAP 1.2 requires.

    Raises
    ------
    InputError
        ``value`` has no time zone.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(
            f"CAP time {value.isoformat()} has no time zone; CAP 1.2 requires one. "
            "Pass an aware datetime."
        )
    text = value.replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def cap_polygons(
    geometry: Any, *, tolerance: float = 0.01, decimals: int = 4, max_points: int = 256
) -> list[str]:
    """CAP ``<polygon>`` strings of a (multi)polygon in WGS84 longitude/latitude.

    Parameters
    ----------
    geometry : shapely geometry
        Polygon or MultiPolygon in EPSG:4326 (x = longitude, y = latitude).
    tolerance : float
        Simplification tolerance in degrees (Douglas-Peucker, topology preserved);
        doubled until each ring has at most ``max_points`` points.
    decimals : int
        Decimals kept (4 is about 11 m).
    max_points : int
        Most points per polygon (receivers often limit them).

    Returns
    -------
    list of str
        One ``"lat,lon lat,lon ..."`` per part (exterior ring; CAP has no holes),
        closed, at least four points; parts that vanish when simplified are dropped,
        and a geometry that vanishes entirely gives its bounding box (at least one
        ``10**-decimals`` degree wide).

    Raises
    ------
    InputError
        Not a polygon, or coordinates outside latitude/longitude ranges (the geometry
        is not in EPSG:4326).
    """
    from shapely.geometry import MultiPolygon, Polygon, box

    if geometry is None or geometry.is_empty:
        return []
    if not isinstance(geometry, Polygon | MultiPolygon):
        raise InputError(f"admin unit geometry is a {geometry.geom_type}; CAP areas need polygons.")
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError(
            f"admin unit geometry bounds {geometry.bounds} are not longitude/latitude; "
            "reproject the units to EPSG:4326 before building CAP polygons."
        )

    def rings(geom: Any) -> list[list[tuple[float, float]]]:
        parts = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
        out = []
        for part in sorted(parts, key=lambda g: -g.area):
            if not isinstance(part, Polygon) or part.is_empty:
                continue
            pts: list[tuple[float, float]] = []
            for x, y in part.exterior.coords:
                p = (round(y, decimals), round(x, decimals))
                if not pts or pts[-1] != p:
                    pts.append(p)
            if pts and pts[0] != pts[-1]:
                pts.append(pts[0])
            if len(set(pts)) >= 3 and len(pts) >= 4:
                out.append(pts)
        return out

    tol = tolerance
    for _ in range(30):
        simplified = geometry.simplify(tol, preserve_topology=True) if tol > 0 else geometry
        found = rings(simplified)
        if all(len(r) <= max_points for r in found):
            break
        tol = tol * 2 if tol > 0 else 1e-4
    if not found:  # smaller than the tolerance: its bounding box, at least one step wide
        step = 10.0**-decimals
        x0, y0 = math.floor(minx / step) * step, math.floor(miny / step) * step
        x1 = max(math.ceil(maxx / step) * step, x0 + step)
        y1 = max(math.ceil(maxy / step) * step, y0 + step)
        found = rings(box(x0, y0, min(x1, 180.0), min(y1, 90.0)))
    return [" ".join(f"{lat:.{decimals}f},{lon:.{decimals}f}" for lat, lon in r) for r in found]


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _pair(parent: etree._Element, tag: str, name: str, value: str) -> None:
    el = _sub(parent, tag)
    _sub(el, "valueName", name)
    _sub(el, "value", value)


def build_cap(msg: CapMessage) -> bytes:
    """Serialise ``msg`` as CAP 1.2 XML (UTF-8), validated by :func:`check_cap`.

    Raises
    ------
    InputError
        The message breaks the CAP 1.2 schema or its rules; the message lists why.
    """
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _sub(root, "identifier", msg.identifier)
    _sub(root, "sender", msg.sender)
    _sub(root, "sent", cap_datetime(msg.sent))
    _sub(root, "status", msg.status)
    _sub(root, "msgType", msg.msg_type)
    if msg.source:
        _sub(root, "source", msg.source)
    _sub(root, "scope", msg.scope)
    if msg.note:
        _sub(root, "note", msg.note)
    if msg.references:
        _sub(root, "references", reference_list(msg.references))
    info = _sub(root, "info")
    _sub(info, "language", msg.language)
    _sub(info, "category", msg.category)
    _sub(info, "event", msg.event)
    for rt in msg.response_types:
        _sub(info, "responseType", rt)
    _sub(info, "urgency", msg.urgency)
    _sub(info, "severity", msg.severity)
    _sub(info, "certainty", msg.certainty)
    for tag, when in (("effective", msg.effective), ("onset", msg.onset), ("expires", msg.expires)):
        if when is not None:
            _sub(info, tag, cap_datetime(when))
    for tag, text in (
        ("senderName", msg.sender_name),
        ("headline", msg.headline),
        ("description", msg.description),
        ("instruction", msg.instruction),
        ("web", msg.web),
        ("contact", msg.contact),
    ):
        if text:
            _sub(info, tag, text)
    for name, value in msg.parameters:
        _pair(info, "parameter", name, value)
    for area in msg.areas:
        el = _sub(info, "area")
        _sub(el, "areaDesc", area.description)
        for poly in area.polygons:
            _sub(el, "polygon", poly)
        for name, value in area.geocodes:
            _pair(el, "geocode", name, value)
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    report = validate_cap(data)
    problems = report.errors + report.semantic_errors
    if problems:
        raise InputError(
            f"CAP message {msg.identifier!r} is not valid CAP 1.2: {'; '.join(problems)}"
        )
    return data


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


@cache
def cap_schema() -> etree.XMLSchema:
    """The OASIS CAP 1.2 XML schema shipped in ``landwatch/data/cap``."""
    data = (resources.files("landwatch") / "data" / "cap" / "CAP-v1.2.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(data, _parser()))


def _parser() -> etree.XMLParser:
    # never fetch DTDs or expand external entities of files from elsewhere
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass
class CapValidation:
    """Result of :func:`validate_cap`.

    Attributes
    ----------
    well_formed : bool
        The bytes parse as XML.
    cap_version : str or None
        ``"1.2"``, ``"1.1"`` or None (another root).
    valid : bool
        Well-formed CAP 1.2 that the OASIS schema accepts.
    errors : list of str
        Parse or schema errors (``"line N: message"``, libxml2 wording).
    semantic_errors : list of str
        Breaches of CAP 1.2 rules the schema does not check (not part of ``valid``).
    fields : dict
        identifier, sender, sent, status, msgType, scope, references and n_info.
    """

    well_formed: bool
    cap_version: str | None
    valid: bool
    errors: list[str] = field(default_factory=list)
    semantic_errors: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)


def _read(source: bytes | str | os.PathLike[str]) -> tuple[etree._ElementTree | None, list[str]]:
    try:
        if isinstance(source, bytes):
            return etree.ElementTree(etree.fromstring(source, _parser())), []
        return etree.parse(str(Path(source)), _parser()), []
    except etree.XMLSyntaxError as exc:
        return None, [f"not well-formed XML: {exc}"]
    except OSError as exc:  # lxml reports bad encodings of files as OSError
        if not Path(source).is_file():  # type: ignore[arg-type]
            return None, [f"cannot read {str(source)!r}: no such file"]
        return None, [f"not well-formed XML: {exc}"]


def validate_cap(source: bytes | str | os.PathLike[str]) -> CapValidation:
    """Check a CAP message (bytes or a file) against the OASIS CAP 1.2 schema.

    Parameters
    ----------
    source : bytes or path-like
        The XML.

    Returns
    -------
    CapValidation
        ``valid`` is True only for a well-formed document whose root is
        ``{urn:oasis:names:tc:emergency:cap:1.2}alert`` and that the schema accepts;
        CAP 1.1 and other namespaces are reported, not valid.
    """
    tree, errors = _read(source)
    if tree is None:
        return CapValidation(well_formed=False, cap_version=None, valid=False, errors=errors)
    root = tree.getroot()
    qname = etree.QName(root)
    version = {CAP_NS: "1.2", CAP11_NS: "1.1"}.get(qname.namespace or "")
    fields = _fields(root, qname.namespace)
    if version != "1.2" or qname.localname != "alert":
        return CapValidation(
            well_formed=True,
            cap_version=version,
            valid=False,
            errors=[
                f"root element is {root.tag}; expected {{{CAP_NS}}}alert (CAP 1.2)"
                + (" - this is CAP 1.1" if version == "1.1" else "")
            ],
            fields=fields,
        )
    schema = cap_schema()
    ok = bool(schema.validate(tree))
    errors = [f"line {e.line}: {e.message}" for e in schema.error_log] if not ok else []
    return CapValidation(
        well_formed=True,
        cap_version="1.2",
        valid=ok,
        errors=errors,
        semantic_errors=_semantic_errors(root),
        fields=fields,
    )


def _fields(root: etree._Element, ns: str | None) -> dict[str, Any]:
    nsmap = {"c": ns} if ns else {}
    pre = "c:" if ns else ""

    def text(tag: str) -> str | None:
        found = root.find(f"{pre}{tag}", nsmap)
        return found.text if found is not None else None

    out: dict[str, Any] = {
        k: text(k)
        for k in ("identifier", "sender", "sent", "status", "msgType", "scope", "references")
    }
    out["n_info"] = len(root.findall(f"{pre}info", nsmap))
    return out


def _semantic_errors(root: etree._Element) -> list[str]:
    ns = {"c": CAP_NS}
    out: list[str] = []

    def texts(path: str) -> list[str]:
        return [(e.text or "").strip() for e in root.findall(path, ns)]

    for tag in ("identifier", "sender"):
        for value in texts(f"c:{tag}"):
            if not value or _BAD_ID.search(value):
                out.append(f"<{tag}> {value!r} must not be empty or hold spaces, commas, & or <")
    for path in ("c:sent", "c:info/c:effective", "c:info/c:onset", "c:info/c:expires"):
        for value in texts(path):
            if not _TIME.match(value) or value.endswith("+00:00"):
                out.append(
                    f"<{path.split(':')[-1]}> {value!r} must be YYYY-MM-DDThh:mm:ss with a "
                    "numeric time zone, UTC as -00:00"
                )
    msg_type = (texts("c:msgType") or [""])[0]
    refs = (texts("c:references") or [""])[0]
    if msg_type in ("Update", "Cancel", "Ack", "Error") and not refs:
        out.append(f"a {msg_type} message needs <references> to the earlier message(s)")
    for ref in refs.split():
        parts = ref.split(",")
        if len(parts) != 3 or not all(parts) or not _TIME.match(parts[2]):
            out.append(f"<references> entry {ref!r} is not sender,identifier,sent")
    for poly in texts("c:info/c:area/c:polygon"):
        pairs = poly.split()
        try:
            pts = [tuple(float(v) for v in p.split(",")) for p in pairs]
        except ValueError:
            out.append(f"<polygon> {poly[:40]!r}... holds a non-numeric pair")
            continue
        if any(len(p) != 2 for p in pts):
            out.append(f"<polygon> {poly[:40]!r}... must be space-separated lat,lon pairs")
            continue
        if len(pts) < 4 or pts[0] != pts[-1]:
            out.append(f"<polygon> {poly[:40]!r}... must be closed with at least 4 points")
        if any(not (-90 <= lat <= 90 and -180 <= lon <= 180) for lat, lon in pts):
            out.append(f"<polygon> {poly[:40]!r}... has points outside lat,lon ranges")
    return out


def write_cap(msg: CapMessage, path: str | os.PathLike[str]) -> Path:
    """Write ``msg`` to ``path`` and validate the written file; return the path.

    Raises
    ------
    InputError
        The message, or the file as written, is not valid CAP 1.2.
    """
    p = Path(path)
    p.write_bytes(build_cap(msg))
    report = validate_cap(p)
    if not report.valid or report.semantic_errors:
        raise InputError(
            f"{p.name}: written CAP file is not valid: "
            f"{'; '.join(report.errors + report.semantic_errors)}"
        )
    return p


def reference_list(messages: Sequence[tuple[str, str, dt.datetime]]) -> str:
    """The ``<references>`` text of ``(sender, identifier, sent)`` triples."""
    return " ".join(f"{s},{i},{cap_datetime(t)}" for s, i, t in messages)
