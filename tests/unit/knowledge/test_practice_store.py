"""The knowledge base on a real SQLite file: permissions, versions, moderation, history,
import (all or nothing), export round trips and the built-in records."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select

from landwatch.errors import DataSourceError, InputError, NotFoundError, PermissionDenied
from landwatch.knowledge import practices as svc
from landwatch.knowledge.practices import (
    CURATORS,
    PracticeImportError,
    export_practices,
    get_practice,
    import_practices,
    list_versions,
    load_builtin_practices,
    practice_history,
    practice_record,
    review_practice,
    search_practices,
    submit_practice,
    update_practice,
    visible_record,
)
from landwatch.knowledge.records import PracticeValidationError
from landwatch.store import session_scope
from landwatch.store.auth import get_user
from landwatch.store.practices import Practice, PracticeEvent, PracticeVersion

Record = Callable[..., dict[str, Any]]


def submit(engine: Engine, data: dict[str, Any], who: str = "alice", **kw: Any) -> str:
    with session_scope(engine) as s:
        return submit_practice(s, data, get_user(s, who), **kw).uuid


def review(engine: Engine, uid: str, who: str, decision: str, reason: str = "") -> Practice:
    with session_scope(engine) as s:
        return review_practice(s, uid, get_user(s, who), decision, reason)


def counts(engine: Engine) -> tuple[int, int, int]:
    with session_scope(engine) as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(t))
            for t in (Practice, PracticeVersion, PracticeEvent)
        )


def test_migration__creates_the_tables(engine: Engine) -> None:
    names = set(inspect(engine).get_table_names())
    assert {"practices", "practice_versions", "practice_events"} <= names
    uniques = inspect(engine).get_unique_constraints("practice_versions")
    assert any(u["column_names"] == ["practice_id", "version"] for u in uniques)


# --------------------------------------------------------------------------- submit


def test_submit_practice__viewer_cannot_submit(engine: Engine, record: Record) -> None:
    with pytest.raises(
        PermissionDenied, match=r"'vera' \(role viewer\) cannot submit SLM practices"
    ):
        submit(engine, record(), "vera")
    assert counts(engine) == (0, 0, 0)


def test_submit_practice__creates_version_1_with_history(engine: Engine, record: Record) -> None:
    data = record(status="approved", version=9)  # system fields are set here, not taken
    del data["contributor"]
    uid = submit(engine, data)
    with session_scope(engine) as s:
        p = get_practice(s, uid[:8])
        assert (p.status, p.version, p.approved_version, p.created_by) == (
            "submitted",
            1,
            None,
            "alice",
        )
        assert p.contributor == "alice"  # defaults to the account
        rec = practice_record(s, p)
        assert rec["status"] == "submitted" and rec["version"] == 1 and rec["uuid"] == uid
        versions = list_versions(s, uid, get_user(s, "alice"))
        assert [(v.version, v.status, v.author) for v in versions] == [(1, "submitted", "alice")]
        events = practice_history(s, uid, get_user(s, "mona"))
        assert [(e.action, e.from_status, e.to_status) for e in events] == [
            ("submit", None, "submitted")
        ]


def test_submit_practice__draft_and_taken_uuid(engine: Engine, record: Record) -> None:
    uid = submit(engine, record(), as_draft=True)
    with session_scope(engine) as s:
        assert get_practice(s, uid).status == "draft"
    with pytest.raises(PracticeValidationError, match="uuid: a practice .* exists already"):
        submit(engine, record(uuid=uid), "bob")


def test_submit_practice__invalid_record_writes_nothing(engine: Engine, record: Record) -> None:
    with pytest.raises(PracticeValidationError) as info:
        submit(engine, record(goals=["nope"], costs={"establishment_per_ha": 5}))
    assert {e["field"] for e in info.value.errors} == {"goals[0]", "costs.currency", "costs.year"}
    assert counts(engine) == (0, 0, 0)


# --------------------------------------------------------------------------- review


def test_review_practice__contributor_cannot_approve(engine: Engine, record: Record) -> None:
    uid = submit(engine, record())
    with pytest.raises(
        PermissionDenied, match="cannot review SLM practices: expected role moderator"
    ):
        review(engine, uid, "bob", "approve")
    with pytest.raises(PermissionDenied):
        review(engine, uid, "alice", "approve")  # not even their own


def test_review_practice__moderator_cannot_approve_own_but_admin_can(
    engine: Engine, record: Record
) -> None:
    uid = submit(engine, record(), "mona")
    with pytest.raises(PermissionDenied, match="they submitted it themselves"):
        review(engine, uid, "mona", "approve")
    p = review(engine, uid, "mike", "approve")
    assert p.status == "approved" and p.reviewed_by == "mike" and p.approved_version == 1
    uid2 = submit(engine, record(name="Admin's own record"), "ada")
    assert review(engine, uid2, "ada", "approve").status == "approved"


def test_review_practice__reject_needs_a_reason_and_records_it(
    engine: Engine, record: Record
) -> None:
    uid = submit(engine, record())
    with pytest.raises(InputError, match="a reason is required"):
        review(engine, uid, "mona", "reject", "  ")
    with pytest.raises(InputError, match="expected 'approve' or 'reject'"):
        review(engine, uid, "mona", "maybe")
    p = review(engine, uid, "mona", "reject", "Cite a source for the costs.")
    assert (p.status, p.reviewed_by, p.review_reason) == (
        "rejected",
        "mona",
        "Cite a source for the costs.",
    )
    assert p.reviewed_at is not None
    with session_scope(engine) as s:
        event = practice_history(s, uid, get_user(s, "alice"))[-1]
        assert (event.action, event.actor, event.from_status, event.to_status, event.note) == (
            "reject", "mona", "submitted", "rejected", "Cite a source for the costs.",
        )  # fmt: skip
        assert list_versions(s, uid, get_user(s, "alice"))[0].status == "rejected"


def test_review_practice__a_draft_is_not_reviewed(engine: Engine, record: Record) -> None:
    uid = submit(engine, record(), as_draft=True)
    with pytest.raises(
        InputError, match="it is draft; expected a record that is submitted or rejected"
    ):
        review(engine, uid, "mona", "approve")


# --------------------------------------------------------------------------- edit


def test_update_practice__author_edits_and_versions_accumulate(
    engine: Engine, record: Record
) -> None:
    uid = submit(engine, record())
    with session_scope(engine) as s:
        alice = get_user(s, "alice")
        with pytest.raises(InputError, match="a change note is required"):
            update_practice(s, uid, record(), alice, "")
        with pytest.raises(InputError, match="nothing to change"):
            update_practice(s, uid, record(), alice, "no change")
        with pytest.raises(PracticeValidationError, match="uuid: cannot be changed"):
            update_practice(s, uid, record(uuid="0f8fad5b-d9cb-469f-a165-70867728950e"), alice, "x")
        p = update_practice(s, uid, record(goals=["reduce", "restore"]), alice, "add restore")
        assert (p.version, p.status) == (2, "submitted")
    review(engine, uid, "mona", "reject", "Add costs of maintenance.")
    with session_scope(engine) as s:
        p = update_practice(s, uid, record(goals=["restore"]), get_user(s, "alice"), "fix")
        assert (p.version, p.status) == (3, "submitted")  # back to submitted after a rejection
        versions = list_versions(s, uid, get_user(s, "mona"))
        assert [(v.version, v.status, v.change_note) for v in versions] == [
            (1, "submitted", ""), (2, "rejected", "add restore"), (3, "submitted", "fix"),
        ]  # fmt: skip
        assert practice_record(s, p, version=1)["goals"] == ["reduce"]
        with pytest.raises(NotFoundError, match="has no version 7"):
            practice_record(s, p, version=7)
        actions = [e.action for e in practice_history(s, uid, get_user(s, "alice"))]
        assert actions == ["submit", "edit", "reject", "edit"]


def test_update_practice__who_may_edit(engine: Engine, record: Record) -> None:
    uid = submit(engine, record())
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied, match="it was submitted by 'alice'"):
            update_practice(s, uid, record(goals=["restore"]), get_user(s, "bob"), "mine now")
        with pytest.raises(PermissionDenied, match="role viewer"):
            update_practice(s, uid, record(goals=["restore"]), get_user(s, "vera"), "x")
    review(engine, uid, "mona", "approve")
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied, match="it is approved; .*Ask a moderator"):
            update_practice(s, uid, record(goals=["restore"]), get_user(s, "alice"), "x")
        p = update_practice(s, uid, record(goals=["restore"]), get_user(s, "mike"), "typo")
        # a moderator's edit of an approved record stays approved, in the new version
        assert (p.version, p.status, p.approved_version, p.reviewed_by) == (
            2,
            "approved",
            2,
            "mike",
        )


def test_update_practice__approved_version_stays_visible_until_the_new_one_is_approved(
    engine: Engine, record: Record
) -> None:
    uid = submit(engine, record(), "mona")
    review(engine, uid, "mike", "approve")
    with session_scope(engine) as s:
        # mona may not approve her own change: it waits for review
        p = update_practice(
            s, uid, record(name="Stone lines (revised)"), get_user(s, "mona"), "rename"
        )
        assert (p.version, p.status, p.approved_version) == (2, "submitted", 1)
        assert visible_record(s, uid)["name"] == "Stone bunds on the contour"
        assert visible_record(s, uid, get_user(s, "mona"))["name"] == "Stone lines (revised)"
        # the public history stops at the approved version
        assert [v.version for v in list_versions(s, uid)] == [1]
        assert [v.version for v in list_versions(s, uid, get_user(s, "mona"))] == [1, 2]
        assert [e.action for e in practice_history(s, uid)] == ["submit", "approve"]
        hits = search_practices(s, "stone").hits
        assert [(h.name, h.record["version"], h.record["status"]) for h in hits] == [
            ("Stone bunds on the contour", 1, "approved")
        ]
    review(engine, uid, "mike", "approve")
    with session_scope(engine) as s:
        assert [h.name for h in search_practices(s, "stone").hits] == ["Stone lines (revised)"]
        assert visible_record(s, uid)["version"] == 2
    # withdrawing the approved version hides the record
    review(engine, uid, "mike", "reject", "Duplicate of another record.")
    with session_scope(engine) as s:
        assert search_practices(s, "stone").total == 0
        with pytest.raises(NotFoundError, match="is not approved"):
            visible_record(s, uid)


# --------------------------------------------------------------------------- import / export


def test_import_practices__all_or_nothing(engine: Engine, record: Record, tmp_path: Path) -> None:
    submit(engine, record(name="Already there"))
    before = counts(engine)
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            [
                record(name="Good record one"),
                record(name="Broken record", licence="MIT", location={"countries": ["XXX"]}),
                record(name="Good record two"),
                record(name="Also broken", goals=[]),
            ]
        )
    )
    with session_scope(engine) as s, pytest.raises(PracticeImportError) as info:
        import_practices(s, bad, get_user(s, "alice"))
    msg = str(info.value)
    assert "2 of 4 records are invalid; nothing was imported" in msg
    assert "record 2 ('Broken record'): 2 errors:" in msg
    assert "  licence: 'MIT' is not a code of the licences list" in msg
    assert "  location.countries[0]:" in msg
    assert "record 4 ('Also broken'): 1 error:" in msg
    assert {(e["record"], e["field"]) for e in info.value.errors} == {
        (1, "licence"), (1, "location.countries[0]"), (3, "goals"),
    }  # fmt: skip
    assert counts(engine) == before


def test_import_practices__permissions_and_duplicates(engine: Engine, record: Record) -> None:
    approved = [record(name="Approved elsewhere", status="approved", version=2)]
    with (
        session_scope(engine) as s,
        pytest.raises(PermissionDenied, match="as approved: expected role moderator"),
    ):
        import_practices(s, approved, get_user(s, "alice"))
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        import_practices(s, approved, get_user(s, "vera"))
    assert counts(engine) == (0, 0, 0)
    with session_scope(engine) as s:
        report = import_practices(s, approved, get_user(s, "alice"), status="submitted")
        assert len(report.created) == 1
        assert get_practice(s, report.created[0]).status == "submitted"
    uid = "6f1c1a37-3c5e-4d7e-9b0a-2f0c2a1b3c4d"
    twice = [record(uuid=uid), record(uuid=uid, name="Same uuid")]
    with (
        session_scope(engine) as s,
        pytest.raises(PracticeImportError, match="repeats the uuid of record 1"),
    ):
        import_practices(s, twice, get_user(s, "mona"))


def _seed_approved(engine: Engine, record: Record) -> None:
    recs = [
        record(
            name="Zaï planting pits",
            keywords=["zai"],
            costs={},
            location={"countries": ["BF", "NE"]},
        ),
        record(
            name="Rotational grazing",
            land_use=["grazing_land"],
            measure_types=["management"],
            description="Herds move between paddocks so grasses recover; rest periods follow the rains.\nA second line.",
            impacts={"on_site": [{"impact": "fodder_production", "rating": 2}], "off_site": []},
        ),
    ]
    with session_scope(engine) as s:
        import_practices(s, recs, get_user(s, "mona"), status="approved")
        # one more, approved in version 2, and a submitted one that must not be exported
        p = submit_practice(s, record(name="Grass strips"), get_user(s, "alice"))
        review_practice(s, p.uuid, get_user(s, "mona"), "approve")
        update_practice(
            s, p.uuid, record(name="Grass strips", keywords=["vetiver"]), get_user(s, "mike"), "kw"
        )
        submit_practice(s, record(name="Pending record"), get_user(s, "alice"))


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_import__round_trip_is_exact(
    engine: Engine, record: Record, tmp_path: Path, fmt: str
) -> None:
    from landwatch.store import init_db
    from landwatch.store.auth import create_user

    _seed_approved(engine, record)
    first = tmp_path / f"first.{fmt}"
    with session_scope(engine) as s:
        assert export_practices(s, first, fmt) == 3
    other = init_db(f"sqlite:///{tmp_path}/other.sqlite")
    with session_scope(other) as s:
        create_user(s, "mod", "moderator")
    with session_scope(other) as s:
        report = import_practices(s, first, get_user(s, "mod"))
        assert len(report.created) == 3
    second = tmp_path / f"second.{fmt}"
    with session_scope(other) as s:
        export_practices(s, second, fmt)
    assert second.read_bytes() == first.read_bytes()
    # JSON and CSV carry the same records
    other_fmt = tmp_path / ("x.csv" if fmt == "json" else "x.json")
    with session_scope(other) as s:
        export_practices(s, other_fmt)
        again = import_practices(s, other_fmt, get_user(s, "mod"))
        assert again.total == 3 and len(again.unchanged) == 3
    records = json.loads((first if fmt == "json" else other_fmt).read_text())
    assert [r["name"] for r in records] == [
        "Grass strips",
        "Rotational grazing",
        "Zaï planting pits",
    ]
    assert records[0]["version"] == 2 and records[0]["keywords"] == ["vetiver"]


def test_export_practices__statuses_need_a_moderator_and_writes_are_atomic(
    engine: Engine, record: Record, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed_approved(engine, record)
    out = tmp_path / "all.json"
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied, match="without a token"):
            export_practices(s, out, status="submitted")
        with pytest.raises(PermissionDenied):
            export_practices(s, out, status=None, actor=get_user(s, "alice"))
        assert export_practices(s, out, status=None, actor=get_user(s, "mona")) == 4
        with pytest.raises(InputError, match="expected json or csv"):
            export_practices(s, tmp_path / "x.xlsx")
    before = out.read_bytes()

    def boom(_record: Any) -> dict[str, str]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(svc, "record_to_csv_row", boom)
    target = tmp_path / "all.csv"
    target.write_text("old")
    with session_scope(engine) as s, pytest.raises(RuntimeError):
        export_practices(s, target)
    assert target.read_text() == "old" and out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_import_practices__changed_record_gets_a_new_version(
    engine: Engine, record: Record, tmp_path: Path
) -> None:
    uid = submit(engine, record())
    with session_scope(engine) as s:
        report = import_practices(s, [record(uuid=uid)], get_user(s, "alice"))
        assert report.unchanged == [uid]
        # unchanged records need no rights, whatever status the file gives them
        report = import_practices(s, [record(uuid=uid, status="approved")], get_user(s, "bob"))
        assert report.unchanged == [uid] and get_practice(s, uid).status == "submitted"
        report = import_practices(s, [record(uuid=uid, goals=["restore"])], get_user(s, "alice"))
        assert report.updated == [uid]
        assert (get_practice(s, uid).version, get_practice(s, uid).status) == (2, "submitted")
        with pytest.raises(PermissionDenied, match="record 1 .*submitted by 'alice'"):
            import_practices(s, [record(uuid=uid, goals=["prevent"])], get_user(s, "bob"))


def test_import_practices__csv_file_errors(engine: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name,colour\nx,red\n")
    with session_scope(engine) as s, pytest.raises(InputError, match="unknown columns 'colour'"):
        import_practices(s, bad, get_user(s, "alice"))
    with session_scope(engine) as s, pytest.raises(DataSourceError, match="file not found"):
        import_practices(s, tmp_path / "missing.json", get_user(s, "alice"))
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    with session_scope(engine) as s, pytest.raises(InputError, match="not valid JSON"):
        import_practices(s, broken, get_user(s, "alice"))


# --------------------------------------------------------------------------- built-in records


def test_load_builtin_practices__approved_curated_and_idempotent(
    engine: Engine, record: Record, tmp_path: Path
) -> None:
    path = tmp_path / "slm_practices.json"
    recs = [
        record(uuid="7d0a3f5e-2b1c-4e8f-9a6d-1c2b3a4d5e6f", contributor="someone"),
        record(uuid="8e1b4a6f-3c2d-4f9a-8b7e-2d3c4b5e6f70", name="Half-moons"),
    ]
    path.write_text(json.dumps(recs))
    with session_scope(engine) as s:
        assert load_builtin_practices(s, path) == 2
    with session_scope(engine) as s:
        assert load_builtin_practices(s, path) == 0  # nothing new: no duplicates, no new versions
        rows = s.scalars(select(Practice).order_by(Practice.name)).all()
        assert [(p.status, p.version, p.contributor, p.created_by) for p in rows] == [
            ("approved", 1, CURATORS, CURATORS)
        ] * 2
        assert search_practices(s, "half moons").hits[0].name == "Half-moons"
    recs[1]["summary"] = "Half-moon shaped earth bunds catch runoff on degraded crusted land."
    path.write_text(json.dumps(recs))
    with session_scope(engine) as s:
        assert load_builtin_practices(s, path) == 1
        p = get_practice(s, recs[1]["uuid"])
        assert (p.version, p.status, p.approved_version) == (2, "approved", 2)
    with session_scope(engine) as s, pytest.raises(DataSourceError, match="missing"):
        load_builtin_practices(s, tmp_path / "nope.json")


def test_load_builtin_practices__the_shipped_file_loads(engine: Engine) -> None:
    path = svc.builtin_practices_path()
    n = len(json.loads(path.read_text(encoding="utf-8")))
    assert n >= 30  # the issue asks for at least 30 curated records
    with session_scope(engine) as s:
        assert load_builtin_practices(s) == n
    with session_scope(engine) as s:
        assert load_builtin_practices(s) == 0
        assert search_practices(s, limit=1).total == n
