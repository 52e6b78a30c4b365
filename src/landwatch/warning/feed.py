"""Atom feed (RFC 4287) of CAP alert messages, one entry per message.

Each entry links to its CAP file (``rel="alternate"``, ``type="application/cap+xml"``),
carries the headline as title, the description as summary, the CAP ``sent`` time
as ``published`` and ``updated``, and the CAP severity and landwatch level as
categories, as CAP index feeds of warning services do.

References
----------
Nottingham, M. and Sayre, R. (2005), *The Atom Syndication Format*, RFC 4287,
https://www.rfc-editor.org/rfc/rfc4287.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence

from lxml import etree

import landwatch
from landwatch.errors import InputError
from landwatch.warning.cap import CAP_MIME, CapMessage

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_MIME = "application/atom+xml"


def _atom_time(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise InputError(f"feed time {value.isoformat()} has no time zone; pass an aware datetime.")
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def entry_id(msg: CapMessage) -> str:
    """A stable ``urn:uuid:`` for the entry of a CAP message (from sender and identifier)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"cap:{msg.sender},{msg.identifier}").urn


def atom_feed(
    messages: Sequence[CapMessage],
    *,
    title: str,
    updated: dt.datetime,
    cap_href: Callable[[CapMessage], str],
    self_href: str = "alerts.atom",
    feed_id: str | None = None,
    author: str = "landwatch",
    subtitle: str | None = None,
    levels: dict[str, str] | None = None,
) -> bytes:
    """The Atom feed of ``messages`` (newest first), as UTF-8 bytes.

    Parameters
    ----------
    messages : sequence of CapMessage
        The CAP messages to list.
    title : str
        Feed title.
    updated : datetime
        Feed time when there are no messages (otherwise the newest ``sent`` or this,
        whichever is later); aware.
    cap_href : callable
        Link of each message's CAP file (relative links resolve against the feed).
    self_href : str
        Link of the feed itself.
    feed_id : str, optional
        Permanent IRI of the feed; default a ``urn:uuid:`` derived from ``title``.
    author : str
        Feed author name.
    subtitle : str, optional
        Feed subtitle.
    levels : dict, optional
        message identifier -> landwatch level, added as a category.
    """
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})

    def sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> None:
        el = etree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", **attrs)
        if text is not None:
            el.text = text

    ordered = sorted(messages, key=lambda m: (m.sent, m.identifier), reverse=True)
    newest = max([updated, *(m.sent for m in ordered)], key=lambda t: t.astimezone(dt.UTC))
    sub(feed, "id", feed_id or uuid.uuid5(uuid.NAMESPACE_URL, f"landwatch-feed:{title}").urn)
    sub(feed, "title", title)
    if subtitle:
        sub(feed, "subtitle", subtitle)
    sub(feed, "updated", _atom_time(newest))
    a = etree.SubElement(feed, f"{{{ATOM_NS}}}author")
    sub(a, "name", author)
    sub(feed, "link", rel="self", type=ATOM_MIME, href=self_href)
    sub(feed, "generator", "landwatch", version=landwatch.__version__)
    for msg in ordered:
        e = etree.SubElement(feed, f"{{{ATOM_NS}}}entry")
        sub(e, "id", entry_id(msg))
        sub(e, "title", msg.headline)
        sub(e, "updated", _atom_time(msg.sent))
        sub(e, "published", _atom_time(msg.sent))
        sub(e, "link", rel="alternate", type=CAP_MIME, href=cap_href(msg))
        sub(e, "category", term=msg.severity, label=f"CAP severity {msg.severity}")
        if levels and msg.identifier in levels:
            sub(e, "category", term=levels[msg.identifier], label="alert level")
        sub(e, "category", term=msg.msg_type, label="CAP msgType")
        sub(e, "summary", msg.description, type="text")
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)
