"""The SLM knowledge base as a service: submit, edit, review, search, import and export.

Every function takes an open :class:`~sqlalchemy.orm.Session` first (e.g. from
:func:`landwatch.store.session_scope`) and flushes; the caller commits, so a failed
call inside ``session_scope`` leaves nothing behind. Who may do what is checked
here, with the roles of :mod:`landwatch.store.auth`:

* a ``contributor`` submits records (as ``draft`` or ``submitted``) and edits their
  own while they are draft, submitted or rejected;
* a ``moderator`` edits any record and approves or rejects submitted ones (a reason
  is required to reject), but not their own submissions unless they are ``admin``;
* everyone searches and reads approved records; other statuses only moderators.

Each submission and edit makes a version (1, 2, ...) with its author and change
note; every action leaves an event. An approved record that gets a new, not yet
approved version stays visible in its approved version (``approved_version``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from landwatch.errors import DataSourceError, InputError, NotFoundError, PermissionDenied
from landwatch.io.outputs import atomic_path
from landwatch.knowledge import search as ranking
from landwatch.knowledge.records import (
    ADOPTION_FIELDS,
    COST_FIELDS,
    CSV_COLUMNS,
    FACETS,
    FIELDS,
    LOCATION_FIELDS,
    SOURCE_FIELDS,
    PracticeRecord,
    PracticeValidationError,
    check_practice,
    format_field_errors,
    record_from_csv_row,
    record_to_csv_row,
)
from landwatch.knowledge.vocabulary import vocabulary
from landwatch.store.auth import User, has_role, require_role
from landwatch.store.practices import Practice, PracticeEvent, PracticeVersion

#: Contributor (and account name) of the built-in records.
CURATORS = "landwatch curators"
#: Statuses an author may edit their own record in.
AUTHOR_EDITABLE: tuple[str, ...] = ("draft", "submitted", "rejected")
FORMATS: tuple[str, ...] = ("json", "csv")
MAX_LIMIT = 1000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A timezone-aware UTC datetime (SQLite hands back naive datetimes, which are UTC)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _label(practice: Practice) -> str:
    return f"practice {practice.uuid} ({practice.name!r})"


def _statuses() -> tuple[str, ...]:
    return vocabulary().codes("statuses")


def _status(value: str) -> str:
    code = vocabulary().canonical("statuses", str(value))
    if code is None:
        raise InputError(
            f"status {value!r}: expected one of {', '.join(_statuses())}. Pass one of those."
        )
    return code


# --------------------------------------------------------------------------- records


def _ordered(content: Mapping[str, Any], status: str, version: int) -> dict[str, Any]:
    # the schema's field order at every level, whatever order the database keeps (JSONB)
    out = {f: content[f] for f in FIELDS if f in content}
    for name, keys in (
        ("costs", COST_FIELDS),
        ("adoption", ADOPTION_FIELDS),
        ("location", LOCATION_FIELDS),
    ):
        if isinstance(out.get(name), Mapping):
            out[name] = {k: out[name][k] for k in keys if k in out[name]}
    if isinstance(out.get("impacts"), Mapping):
        out["impacts"] = {
            kind: [{"impact": i["impact"], "rating": i["rating"]} for i in items]
            for kind, items in out["impacts"].items()
        }
    if isinstance(out.get("sources"), list):
        out["sources"] = [{k: s[k] for k in SOURCE_FIELDS if k in s} for s in out["sources"]]
    out["status"] = status
    out["version"] = version
    return out


def practice_record(
    session: Session, practice: Practice, *, version: int | None = None
) -> dict[str, Any]:
    """The record of ``practice`` (JSON-ready, schema field order) in a version.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session.
    practice : Practice
        The record's row.
    version : int, optional
        The version to give (default: the latest). ``status`` is the status of that
        version.

    Raises
    ------
    NotFoundError
        The record has no such version.
    """
    if version is None or version == practice.version:
        return _ordered(practice.record, practice.status, practice.version)
    row = session.scalar(
        select(PracticeVersion).where(
            PracticeVersion.practice_id == practice.id, PracticeVersion.version == version
        )
    )
    if row is None:
        raise NotFoundError(
            f"{_label(practice)} has no version {version}; expected 1..{practice.version}. "
            "See its versions with `landwatch practices history`."
        )
    return _ordered(row.record, row.status, row.version)


def get_practice(session: Session, uuid: str) -> Practice:
    """The record with this uuid, or with a unique uuid prefix of at least 6 characters.

    Raises
    ------
    NotFoundError
        No record matches.
    InputError
        The prefix is shorter than 6 characters or matches several records.
    """
    key = str(uuid).strip().lower()
    if len(key) < 6:
        raise InputError(
            f"practice {uuid!r}: expected its uuid or at least its first 6 characters."
        )
    rows = session.scalars(
        select(Practice).where(Practice.uuid.startswith(key, autoescape=True)).limit(2)
    ).all()
    if not rows:
        raise NotFoundError(
            f"practice {uuid!r} does not exist. Find records with `landwatch practices search`."
        )
    if len(rows) > 1:
        raise InputError(f"practice {uuid!r} matches several uuids; give more characters.")
    return rows[0]


def _may_see_all_versions(practice: Practice, actor: User | None) -> bool:
    if actor is None:
        return False
    return has_role(actor, "moderator") or (
        practice.created_by == actor.name and has_role(actor, "viewer")
    )


def visible_record(
    session: Session, uuid: str, actor: User | None = None, *, version: int | None = None
) -> dict[str, Any]:
    """The record as ``actor`` may see it.

    Moderators and the record's author see every version (default: the latest);
    everyone else sees the approved version only.

    Raises
    ------
    NotFoundError
        No such record or version, or one that ``actor`` may not see.
    """
    practice = get_practice(session, uuid)
    if _may_see_all_versions(practice, actor):
        return practice_record(session, practice, version=version)
    if practice.approved_version is None or version not in (None, practice.approved_version):
        what = f"version {version} of practice" if version is not None else "practice"
        raise NotFoundError(
            f"{what} {uuid!r} is not approved; only its author and moderators see it. "
            "Pass their token (--token) to see it."
        )
    return practice_record(session, practice, version=practice.approved_version)


def _last_visible_version(practice: Practice, actor: User | None) -> int:
    """The newest version ``actor`` may see (NotFoundError if none)."""
    if _may_see_all_versions(practice, actor):
        return practice.version
    if practice.approved_version is None:
        raise NotFoundError(
            f"practice {practice.uuid!r} is not approved (yet); only its author and moderators "
            "see it. Pass their token (--token) to see it."
        )
    return practice.approved_version


def list_versions(session: Session, uuid: str, actor: User | None = None) -> list[PracticeVersion]:
    """The versions of a record, oldest first.

    Moderators and the record's author see every version; everyone else the versions up
    to the approved one (NotFoundError if there is none).
    """
    practice = get_practice(session, uuid)
    last = _last_visible_version(practice, actor)
    return list(
        session.scalars(
            select(PracticeVersion)
            .where(PracticeVersion.practice_id == practice.id, PracticeVersion.version <= last)
            .order_by(PracticeVersion.version)
        )
    )


def practice_history(session: Session, uuid: str, actor: User | None = None) -> list[PracticeEvent]:
    """What happened to a record (submit, draft, edit, approve, reject, import, seed),
    oldest first; for others than moderators and the author, up to the approved version."""
    practice = get_practice(session, uuid)
    last = _last_visible_version(practice, actor)
    return list(
        session.scalars(
            select(PracticeEvent)
            .where(PracticeEvent.practice_id == practice.id, PracticeEvent.version <= last)
            .order_by(PracticeEvent.created_at, PracticeEvent.id)
        )
    )


# --------------------------------------------------------------------------- writing


def _validate(data: Mapping[str, Any]) -> PracticeRecord:
    record, errors = check_practice(data)
    if errors:
        name = data.get("name") if isinstance(data, Mapping) else None
        raise PracticeValidationError(errors, label=repr(name) if isinstance(name, str) else "")
    assert record is not None
    return record


def _event(
    session: Session,
    practice: Practice,
    action: str,
    actor: str,
    from_status: str | None,
    note: str = "",
    when: dt.datetime | None = None,
) -> None:
    session.add(
        PracticeEvent(
            practice_id=practice.id,
            version=practice.version,
            action=action,
            actor=actor,
            from_status=from_status,
            to_status=practice.status,
            note=note,
            created_at=when or _now(),
        )
    )


def _create(
    session: Session,
    record: PracticeRecord,
    *,
    status: str,
    author: str,
    action: str,
    note: str,
    version: int = 1,
) -> Practice:
    now = _now()
    content = record.content()
    practice = Practice(
        uuid=record.uuid,
        name=record.name,
        status=status,
        version=version,
        approved_version=version if status == "approved" else None,
        contributor=record.contributor,
        language=record.language,
        record=content,
        created_by=author,
        created_at=now,
        updated_at=now,
    )
    if status in ("approved", "rejected") and action != "submit":
        practice.reviewed_by, practice.reviewed_at, practice.review_reason = author, now, note
    session.add(practice)
    session.flush()
    session.add(
        PracticeVersion(
            practice_id=practice.id,
            version=version,
            record=content,
            status=status,
            author=author,
            created_at=now,
            change_note=note,
        )
    )
    _event(session, practice, action, author, None, note, now)
    session.flush()
    return practice


def _new_version(
    session: Session,
    practice: Practice,
    record: PracticeRecord,
    *,
    status: str,
    author: str,
    action: str,
    note: str,
) -> Practice:
    now = _now()
    before = practice.status
    content = record.content()
    practice.version += 1
    practice.status = status
    practice.record = content
    practice.name = record.name
    practice.contributor = record.contributor
    practice.language = record.language
    practice.updated_at = now
    if status == "approved":
        practice.approved_version = practice.version
        practice.reviewed_by, practice.reviewed_at, practice.review_reason = author, now, note
    session.add(
        PracticeVersion(
            practice_id=practice.id,
            version=practice.version,
            record=content,
            status=status,
            author=author,
            created_at=now,
            change_note=note,
        )
    )
    _event(session, practice, action, author, before, note, now)
    session.flush()
    return practice


def _can_approve(actor: User, practice: Practice) -> bool:
    return has_role(actor, "moderator") and (
        practice.created_by != actor.name or has_role(actor, "admin")
    )


def _check_can_edit(actor: User, practice: Practice) -> None:
    require_role(actor, "contributor", action="edit SLM practices")
    if has_role(actor, "moderator"):
        return
    if practice.created_by != actor.name:
        raise PermissionDenied(
            f"user {actor.name!r} cannot edit {_label(practice)}: it was submitted by "
            f"{practice.created_by!r}; expected its author or a moderator. Ask a moderator, "
            "or submit your version as a new record."
        )
    if practice.status not in AUTHOR_EDITABLE:
        raise PermissionDenied(
            f"user {actor.name!r} cannot edit {_label(practice)}: it is {practice.status}; "
            f"an author edits their record while it is {', '.join(AUTHOR_EDITABLE)}. "
            "Ask a moderator to make the change."
        )


def submit_practice(
    session: Session, data: Mapping[str, Any], actor: User, *, as_draft: bool = False
) -> Practice:
    """Validate and store a new record as version 1, ``submitted`` (or ``draft``).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session; the caller commits.
    data : mapping
        The record (see :func:`landwatch.knowledge.records.validate_practice`).
        ``contributor`` defaults to the actor's name; ``status`` and ``version`` are
        set here, whatever ``data`` says.
    actor : landwatch.store.auth.User
        Who submits; needs the ``contributor`` role.
    as_draft : bool
        Keep it as a draft (not yet for review).

    Returns
    -------
    Practice
        The new, flushed row.

    Raises
    ------
    PermissionDenied
        The actor is not a contributor.
    PracticeValidationError
        The record breaks rules, or its uuid is taken.
    """
    require_role(actor, "contributor", action="submit SLM practices")
    if not isinstance(data, Mapping):
        raise PracticeValidationError(
            [{"field": "", "message": "expected a JSON object (one record).", "value": data}]
        )
    values = {k: v for k, v in data.items() if k not in ("status", "version")}
    values.setdefault("contributor", actor.name)
    record = _validate(values)
    if session.scalar(select(Practice.id).where(Practice.uuid == record.uuid)) is not None:
        raise PracticeValidationError(
            [
                {
                    "field": "uuid",
                    "message": f"a practice {record.uuid} exists already; leave uuid out for a "
                    "new record, or edit the existing one (landwatch practices edit).",
                    "value": record.uuid,
                }
            ],
            label=repr(record.name),
        )
    status = "draft" if as_draft else "submitted"
    return _create(
        session,
        record,
        status=status,
        author=actor.name,
        action="draft" if as_draft else "submit",
        note="",
    )


def update_practice(
    session: Session,
    uuid: str,
    data: Mapping[str, Any],
    actor: User,
    change_note: str,
    *,
    as_draft: bool = False,
) -> Practice:
    """Replace a record's content with a new version.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session; the caller commits.
    uuid : str
        The record (uuid or a unique prefix of 6+ characters).
    data : mapping
        The whole new record; ``uuid`` may be left out but not changed;
        ``contributor`` defaults to the current one; ``status`` and ``version`` are
        ignored.
    actor : landwatch.store.auth.User
        The author (while the record is draft, submitted or rejected) or a moderator.
    change_note : str
        What changed and why (required).
    as_draft : bool
        Keep the new version as a draft instead of submitting it.

    Returns
    -------
    Practice
        The row, now at the new version. Its status is ``submitted`` (``draft``),
        except when a moderator edits an approved record that is not their own (or is
        an admin): then it stays approved in the new version. Otherwise an approved
        record stays visible in its last approved version until the new one is
        approved.

    Raises
    ------
    PermissionDenied
        The actor may not edit this record.
    PracticeValidationError
        The new record breaks rules, or changes the uuid.
    InputError
        No change note, or nothing changed.
    """
    practice = get_practice(session, uuid)
    _check_can_edit(actor, practice)
    note = (change_note or "").strip()
    if not note:
        raise InputError(
            f"editing {_label(practice)}: a change note is required; expected a few words on "
            "what changed and why (--note)."
        )
    if not isinstance(data, Mapping):
        raise PracticeValidationError(
            [{"field": "", "message": "expected a JSON object (one record).", "value": data}]
        )
    values = {k: v for k, v in data.items() if k not in ("status", "version")}
    given = values.get("uuid")
    if given not in (None, "") and str(given).strip().lower() != practice.uuid:
        raise PracticeValidationError(
            [
                {
                    "field": "uuid",
                    "message": f"cannot be changed; expected {practice.uuid} (or leave it out).",
                    "value": given,
                }
            ],
            label=repr(practice.name),
        )
    values["uuid"] = practice.uuid
    values.setdefault("contributor", practice.contributor)
    record = _validate(values)
    if as_draft:
        status = "draft"
    elif practice.status == "approved" and _can_approve(actor, practice):
        status = "approved"
    else:
        status = "submitted"
    if record.content() == practice.record and status == practice.status:
        raise InputError(
            f"editing {_label(practice)}: the new record is the same as version "
            f"{practice.version}; nothing to change."
        )
    return _new_version(
        session, practice, record, status=status, author=actor.name, action="edit", note=note
    )


def review_practice(
    session: Session, uuid: str, actor: User, decision: str, reason: str = ""
) -> Practice:
    """Approve or reject the latest version of a record.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session; the caller commits.
    uuid : str
        The record (uuid or a unique prefix of 6+ characters).
    actor : landwatch.store.auth.User
        A moderator; approving one's own submission needs ``admin``.
    decision : {"approve", "reject"}
        Approve a submitted (or rejected) record; reject a submitted one, or withdraw
        an approved one.
    reason : str
        Why; required to reject, so the author learns what to fix.

    Returns
    -------
    Practice
        The row with its new status, reviewer, review time and reason.

    Raises
    ------
    PermissionDenied
        Not a moderator, or approving one's own record without being admin.
    InputError
        Unknown decision, no reason for a rejection, or a status that cannot take
        this decision (a draft, an already approved record...).
    """
    require_role(actor, "moderator", action="review SLM practices")
    choice = str(decision).strip().lower()
    if choice not in ("approve", "reject"):
        raise InputError(f"decision {decision!r}: expected 'approve' or 'reject'.")
    practice = get_practice(session, uuid)
    why = (reason or "").strip()
    if choice == "reject" and not why:
        raise InputError(
            f"rejecting {_label(practice)}: a reason is required; expected what the author "
            "should fix (--reason)."
        )
    if choice == "approve" and not _can_approve(actor, practice):
        raise PermissionDenied(
            f"user {actor.name!r} cannot approve {_label(practice)}: they submitted it "
            "themselves; expected another moderator (or an admin). Ask another moderator "
            "to review it."
        )
    allowed = {"approve": ("submitted", "rejected"), "reject": ("submitted", "approved")}[choice]
    if practice.status not in allowed:
        hint = (
            " Its author submits it first (edit without --draft)."
            if practice.status == "draft"
            else ""
        )
        raise InputError(
            f"cannot {choice} {_label(practice)}: it is {practice.status}; expected a record "
            f"that is {' or '.join(allowed)}.{hint}"
        )
    now = _now()
    before = practice.status
    new_status = "approved" if choice == "approve" else "rejected"
    practice.status = new_status
    practice.reviewed_by, practice.reviewed_at, practice.review_reason = actor.name, now, why
    if choice == "approve":
        practice.approved_version = practice.version
    elif practice.approved_version == practice.version:
        practice.approved_version = None  # withdrawn: no approved version is shown any more
    row = session.scalar(
        select(PracticeVersion).where(
            PracticeVersion.practice_id == practice.id,
            PracticeVersion.version == practice.version,
        )
    )
    if row is not None:
        row.status = new_status
    _event(session, practice, choice, actor.name, before, why, now)
    session.flush()
    return practice


# --------------------------------------------------------------------------- search


@dataclass(frozen=True)
class SearchHit:
    """A found record: the record (JSON-ready), its score and why it matched.

    ``name_match`` is True when the name contains the whole query as a phrase (those
    rank first); ``matched`` are the record's words that matched the query;
    ``snippet`` is a passage of the summary or description around the first match.
    """

    record: dict[str, Any]
    score: float
    matched: tuple[str, ...]
    snippet: str
    name_match: bool = False

    @property
    def uuid(self) -> str:
        return str(self.record["uuid"])

    @property
    def name(self) -> str:
        return str(self.record["name"])


@dataclass(frozen=True)
class SearchResult:
    """A page of hits, the number of all hits, and facet counts over all hits.

    ``facets`` maps each facet (``land_use``, ``degradation_types``,
    ``climate_zones``, ``aridity``, ``goals``, ``measure_types``) to the number of
    hits per code (every code of the vocabulary, zeros included), counted over the
    filtered set before paging.
    """

    query: str
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]
    total: int
    limit: int
    offset: int
    filters: dict[str, list[str]] = field(default_factory=dict)
    status: str | None = "approved"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for ``--json`` and the API)."""
        return {
            "query": self.query,
            "status": self.status,
            "filters": self.filters,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "hits": [
                {
                    "rank": self.offset + i + 1,
                    "uuid": h.uuid,
                    "name": h.name,
                    "score": round(h.score, 6),
                    "name_match": h.name_match,
                    "matched": list(h.matched),
                    "snippet": h.snippet,
                    "record": h.record,
                }
                for i, h in enumerate(self.hits)
            ],
            "facets": self.facets,
        }


def _facet_filter(facet: str, values: str | Sequence[str] | None) -> list[str]:
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    list_name = facet
    out: list[str] = []
    for value in items:
        code = vocabulary().canonical(list_name, str(value))
        if code is None:
            raise InputError(
                f"{facet} filter {value!r}: expected one of {', '.join(vocabulary().codes(list_name))}."
            )
        if code not in out:
            out.append(code)
    return out


def _visible_records(session: Session, status: str | None) -> list[dict[str, Any]]:
    if status == "approved":
        rows = session.execute(
            select(PracticeVersion.record, PracticeVersion.version).join(
                Practice,
                and_(
                    PracticeVersion.practice_id == Practice.id,
                    PracticeVersion.version == Practice.approved_version,
                ),
            )
        ).all()
        return [_ordered(rec, "approved", ver) for rec, ver in rows]
    query = select(Practice.record, Practice.status, Practice.version)
    if status is not None:
        query = query.where(Practice.status == status)
    return [_ordered(rec, st, ver) for rec, st, ver in session.execute(query).all()]


def approved_records(session: Session) -> list[dict[str, Any]]:
    """Every approved practice, each in its approved version (what matching and the
    public see), ordered by name."""
    return sorted(_visible_records(session, "approved"), key=lambda r: str(r["name"]))


def search_practices(
    session: Session,
    query: str = "",
    *,
    land_use: str | Sequence[str] | None = None,
    degradation_types: str | Sequence[str] | None = None,
    climate_zones: str | Sequence[str] | None = None,
    aridity: str | Sequence[str] | None = None,
    goals: str | Sequence[str] | None = None,
    measure_types: str | Sequence[str] | None = None,
    status: str | None = "approved",
    limit: int = 20,
    offset: int = 0,
    actor: User | None = None,
) -> SearchResult:
    """Full-text search with facets over the knowledge base.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session.
    query : str
        Free text, ranked with BM25F over name (weight 3), summary and keywords (2)
        and description (1); see :func:`landwatch.knowledge.search.rank`. Empty:
        every record passing the filters, by name.
    land_use, degradation_types, climate_zones, aridity, goals, measure_types : str or list of str, optional
        Facet filters: a record passes a facet when it has any of the given codes
        (OR within a facet), and must pass every facet given (AND across facets).
    status : str or None
        ``approved`` (default; each record in its approved version), another status
        (records whose latest version has it), or None for all (latest versions).
        Anything but ``approved`` needs a moderator ``actor``.
    limit, offset : int
        The page of hits to return (1 <= limit <= 1000).
    actor : landwatch.store.auth.User, optional
        Who searches (needed only for statuses other than approved).

    Returns
    -------
    SearchResult
        ``hits`` (the page), ``total`` (all hits) and ``facets`` (counts per code over
        all hits).

    Raises
    ------
    InputError
        An unknown facet code or status, or a bad limit / offset.
    PermissionDenied
        A status other than approved without a moderator actor.
    """
    if status is not None:
        status = _status(status)
    if status != "approved":
        what = f"search {status or 'all'} SLM practices"
        if actor is None:
            raise PermissionDenied(
                f"cannot {what} without a token: only moderators see records that are not "
                "approved. Pass a moderator's token (--token), or search approved records."
            )
        require_role(actor, "moderator", action=what)
    if not 1 <= int(limit) <= MAX_LIMIT:
        raise InputError(f"limit {limit!r}: expected 1..{MAX_LIMIT}.")
    if int(offset) < 0:
        raise InputError(f"offset {offset!r}: expected 0 or more.")
    given = {
        "land_use": land_use,
        "degradation_types": degradation_types,
        "climate_zones": climate_zones,
        "aridity": aridity,
        "goals": goals,
        "measure_types": measure_types,
    }
    filters = {f: codes for f, v in given.items() if (codes := _facet_filter(f, v))}

    records = {r["uuid"]: r for r in _visible_records(session, status)}
    documents = [
        ranking.SearchDocument(
            key=uid,
            fields={
                "name": r["name"],
                "summary": r["summary"],
                "keywords": " ".join(r.get("keywords", [])),
                "description": r["description"],
            },
        )
        for uid, r in records.items()
    ]
    ranked = ranking.rank(documents, query)

    def passes(record: Mapping[str, Any]) -> bool:
        return all(set(record.get(f, ())) & set(codes) for f, codes in filters.items())

    kept = [r for r in ranked if passes(records[r.key])]
    facets: dict[str, dict[str, int]] = {}
    for facet in FACETS:
        counts: Counter[str] = Counter()
        for r in kept:
            counts.update(records[r.key].get(facet, ()))
        facets[facet] = {code: counts[code] for code in vocabulary().codes(facet)}
    page = kept[int(offset) : int(offset) + int(limit)]
    hits = [
        SearchHit(
            record=records[r.key],
            score=r.score,
            matched=r.matched,
            snippet=r.snippet,
            name_match=r.name_phrase,
        )
        for r in page
    ]
    return SearchResult(
        query=query,
        hits=hits,
        facets=facets,
        total=len(kept),
        limit=int(limit),
        offset=int(offset),
        filters=filters,
        status=status,
    )


# --------------------------------------------------------------------------- import / export


@dataclass
class ImportReport:
    """What an import did, by uuid: records created, changed (a new version) and unchanged."""

    source: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.created) + len(self.updated) + len(self.unchanged)


class PracticeImportError(InputError):
    """Records of an import break rules; nothing was imported.

    ``errors`` lists every problem as ``{"record": index (0-based), "name": ...,
    "field": ..., "message": ..., "value": ...}``.
    """

    def __init__(
        self, source: str, n_records: int, problems: Sequence[tuple[int, str, list[dict[str, Any]]]]
    ) -> None:
        self.errors: list[dict[str, Any]] = [
            {"record": i, "name": name, **e} for i, name, errs in problems for e in errs
        ]
        lines = [
            f"import of {source}: {len(problems)} of {n_records} records are invalid; "
            "nothing was imported. Fix them and import the file again:"
        ]
        for i, name, errs in problems:
            label = f"({name!r})" if name else ""
            lines.append(format_field_errors(errs, label=label, title=f"record {i + 1}"))
        super().__init__("\n".join(lines))


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is None:
        fmt = path.suffix.lower().lstrip(".")
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise InputError(
            f"{path}: format {fmt!r} is not known; expected json or csv. Name the file "
            "*.json or *.csv, or pass --format json|csv."
        )
    return fmt


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataSourceError(
            f"{path}: file not found; expected a JSON or CSV file of practice records."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataSourceError(
            f"{path}: cannot be read ({exc}); expected a UTF-8 JSON or CSV file."
        ) from None


def read_practice_file(
    path: str | os.PathLike[str], fmt: str | None = None
) -> tuple[list[Any], list[list[dict[str, Any]]]]:
    """Records from a JSON or CSV file, not yet validated, with per-record read errors.

    A JSON file holds a list of records (or one record); a CSV file one record per row
    in the columns of :data:`landwatch.knowledge.records.CSV_COLUMNS`.

    Raises
    ------
    DataSourceError
        The file is missing or unreadable.
    InputError
        Not JSON / CSV, or a CSV header with unknown or repeated columns.
    """
    p = Path(path)
    kind = _format_of(p, fmt)
    text = _read_text(p)
    if kind == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{p}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                "expected a JSON list of practice records."
            ) from None
        records = data if isinstance(data, list) else [data]
        return records, [[] for _ in records]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = list(reader.fieldnames or [])
    unknown = [c for c in header if c not in CSV_COLUMNS]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if not header or unknown or repeated:
        problem = (
            "has no header row"
            if not header
            else f"has unknown columns {', '.join(map(repr, unknown))}"
            if unknown
            else f"repeats columns {', '.join(map(repr, repeated))}"
        )
        raise InputError(
            f"{p}: the CSV header {problem}; expected the columns {', '.join(CSV_COLUMNS)} "
            "(as written by `landwatch practices export --format csv`)."
        )
    out: list[Any] = []
    errors: list[list[dict[str, Any]]] = []
    for row in reader:
        data, errs = record_from_csv_row(row)
        out.append(data)
        errors.append(errs)
    return out, errors


def _blank_value(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass
class _Planned:
    record: PracticeRecord
    status: str | None  # explicit target status, None: by the edit rules
    existing: Practice | None


def _import(
    session: Session,
    items: Sequence[Any],
    read_errors: Sequence[list[dict[str, Any]]],
    *,
    actor: User | None,
    author: str,
    status: str | None,
    source: str,
    action: str,
    force: Mapping[str, Any] | None = None,
) -> ImportReport:
    """Validate every record, check every permission, then write (all or nothing)."""
    problems: list[tuple[int, str, list[dict[str, Any]]]] = []
    checked: list[tuple[int, PracticeRecord]] = []
    first_of: dict[str, int] = {}
    for i, item in enumerate(items):
        data = dict(item) if isinstance(item, Mapping) else item
        if isinstance(data, dict):
            data.update(force or {})
            if _blank_value(data.get("contributor")):
                data["contributor"] = author
        record, errors = check_practice(data)
        bad_fields = {e["field"] for e in read_errors[i]}
        errors = list(read_errors[i]) + [e for e in errors if e["field"] not in bad_fields]
        if record is not None and record.uuid in first_of:
            errors.append(
                {
                    "field": "uuid",
                    "message": f"repeats the uuid of record {first_of[record.uuid] + 1}; "
                    "expected each record once.",
                    "value": record.uuid,
                }
            )
        name = data.get("name") if isinstance(data, Mapping) else None
        if errors:
            problems.append((i, name if isinstance(name, str) else "", errors))
        elif record is not None:
            first_of[record.uuid] = i
            checked.append((i, record))
    if problems:
        raise PracticeImportError(source, len(items), problems)

    uuids = [r.uuid for _, r in checked]
    existing = (
        {p.uuid: p for p in session.scalars(select(Practice).where(Practice.uuid.in_(uuids)))}
        if uuids
        else {}
    )
    plan: list[_Planned] = []
    for i, record in checked:
        target = status or record.status
        practice = existing.get(record.uuid)
        where = f"record {i + 1} ({record.name!r})"
        writes = practice is None or record.content() != practice.record
        if actor is not None and writes:  # an unchanged record is left alone, whatever its status
            if target in ("approved", "rejected") and not has_role(actor, "moderator"):
                raise PermissionDenied(
                    f"user {actor.name!r} (role {actor.role}) cannot import {where} as {target}: "
                    "expected role moderator or higher; nothing was imported. Import as "
                    "submitted (--status submitted) for a moderator to review."
                )
            if practice is not None:
                try:
                    _check_can_edit(actor, practice)
                except PermissionDenied as exc:
                    raise PermissionDenied(f"{where}: {exc} Nothing was imported.") from None
        plan.append(_Planned(record, target, practice))

    report = ImportReport(source=source)
    note = f"{action} from {source}"
    for item in plan:
        record, practice = item.record, item.existing
        if practice is None:
            _create(
                session,
                record,
                status=item.status or "submitted",
                author=author,
                action=action,
                note=note,
                version=record.version or 1,
            )
            report.created.append(record.uuid)
        elif record.content() == practice.record:
            report.unchanged.append(record.uuid)
        else:
            target = item.status
            if target is None:
                keep = practice.status == "approved" and (
                    actor is None or _can_approve(actor, practice)
                )
                target = "approved" if keep else "submitted"
            _new_version(
                session, practice, record, status=target, author=author, action=action, note=note
            )
            report.updated.append(record.uuid)
    session.flush()
    return report


def import_practices(
    session: Session,
    path_or_records: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    actor: User,
    *,
    fmt: str | None = None,
    status: str | None = None,
) -> ImportReport:
    """Import records from a JSON or CSV file (or a list of records): all or nothing.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session; the caller commits (nothing is written if this raises).
    path_or_records : path-like or list of mappings
        A ``.json`` file (a list of records), a ``.csv`` file (as written by
        :func:`export_practices`), or the records themselves. A record without a
        ``contributor`` gets the actor's name.
    actor : landwatch.store.auth.User
        Who imports: a contributor; a moderator for approved or rejected records, or to
        change records of others.
    fmt : {"json", "csv"}, optional
        File format (default: from the file name).
    status : str, optional
        Status for every imported record; default: each record's own ``status``, else
        ``submitted``.

    Returns
    -------
    ImportReport
        uuids created, updated (a new version) and unchanged. A new record keeps its
        ``version`` (default 1); a changed one gets the next version of the stored
        record; an unchanged one (same content) is left as it is, whatever its status.

    Raises
    ------
    PracticeImportError
        Some records break rules: the message names each record (number and name)
        and its field errors; ``.errors`` has them as data.
    PermissionDenied
        The actor may not import a record with its status or change an existing one.
    """
    require_role(actor, "contributor", action="import SLM practices")
    if status is not None:
        status = _status(status)
    if isinstance(path_or_records, str | os.PathLike):
        items, read_errors = read_practice_file(path_or_records, fmt)
        source = str(path_or_records)
    else:
        items = list(path_or_records)
        read_errors = [[] for _ in items]
        source = "records"
    return _import(
        session,
        items,
        read_errors,
        actor=actor,
        author=actor.name,
        status=status,
        source=source,
        action="import",
    )


def _export_records(session: Session, status: str | None) -> list[dict[str, Any]]:
    records = _visible_records(session, status)
    return sorted(records, key=lambda r: (ranking.fold(r["name"]), r["uuid"]))


def export_practices(
    session: Session,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    status: str | None = "approved",
    *,
    actor: User | None = None,
) -> int:
    """Write records to a JSON or CSV file (atomically) and return how many.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session.
    path : path-like
        The file to write (replaced only once complete).
    fmt : {"json", "csv"}, optional
        Default: from the file name. JSON is a list of records (the schema's fields);
        CSV has one row per record: list fields joined with ``;``, nested objects
        flattened (``costs.currency``), impacts as ``impact:rating;...``, sources as
        JSON text. Both read back unchanged with :func:`import_practices`.
    status : str or None
        ``approved`` (default: each record in its approved version), another status,
        or None for all records in their latest version; anything but approved needs
        a moderator ``actor``.
    actor : landwatch.store.auth.User, optional
        Who exports.

    Returns
    -------
    int
        The number of records written, sorted by name.
    """
    target = Path(path)
    kind = _format_of(target, fmt)
    if status is not None:
        status = _status(status)
    if status != "approved":
        what = f"export {status or 'all'} SLM practices"
        if actor is None:
            raise PermissionDenied(
                f"cannot {what} without a token: only moderators see records that are not "
                "approved. Pass a moderator's token (--token), or export approved records."
            )
        require_role(actor, "moderator", action=what)
    records = _export_records(session, status)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        if kind == "json":
            tmp.write_text(
                json.dumps(records, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS))
                writer.writeheader()
                for record in records:
                    writer.writerow(record_to_csv_row(record))
    return len(records)


# --------------------------------------------------------------------------- built-in records


def builtin_practices_path() -> Path:
    """Where the built-in records are (``landwatch/data/slm_practices.json``)."""
    return Path(str(resources.files("landwatch") / "data" / "slm_practices.json"))


def load_builtin_practices(session: Session, path: str | os.PathLike[str] | None = None) -> int:
    """Load the curated records as approved, contributor ``landwatch curators``.

    Idempotent by uuid: a record already there with the same content is left alone
    (no new version); a changed one gets a new approved version.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session; the caller commits.
    path : path-like, optional
        A JSON list of records (default: :func:`builtin_practices_path`).

    Returns
    -------
    int
        The number of records created or changed (0 when everything was there).

    Raises
    ------
    DataSourceError
        The file is missing.
    PracticeImportError
        A curated record breaks rules (nothing is loaded).
    """
    p = Path(path) if path is not None else builtin_practices_path()
    if not p.is_file():
        raise DataSourceError(
            f"{p}: the built-in SLM practice records are missing; expected a JSON list of "
            "records. Reinstall landwatch, or pass the file to load."
        )
    items, read_errors = read_practice_file(p, "json")
    report = _import(
        session,
        items,
        read_errors,
        actor=None,
        author=CURATORS,
        status="approved",
        source=p.name,
        action="seed",
        force={"contributor": CURATORS},
    )
    return len(report.created) + len(report.updated)


__all__ = [
    "CURATORS",
    "ImportReport",
    "PracticeImportError",
    "SearchHit",
    "SearchResult",
    "builtin_practices_path",
    "export_practices",
    "get_practice",
    "import_practices",
    "list_versions",
    "load_builtin_practices",
    "practice_history",
    "practice_record",
    "read_practice_file",
    "review_practice",
    "search_practices",
    "submit_practice",
    "update_practice",
    "visible_record",
]
