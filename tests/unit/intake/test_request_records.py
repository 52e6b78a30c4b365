"""Request records: validation with field errors, the status workflow with its audit
trail, roles and visibility, the brief job's end, and the queue by priority."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from landwatch.errors import InputError, NotFoundError, PermissionDenied
from landwatch.intake import records as intake
from landwatch.intake.records import InfoRequestValidationError
from landwatch.store import init_db, session_scope
from landwatch.store.alerts import DroughtAlert
from landwatch.store.auth import User, create_user
from landwatch.store.jobs import Job
from landwatch.store.requests import InfoRequest

TODAY = dt.date.today()
EMAIL = "amina.kariuki@example.org"


def _body(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "requester": "Amina Kariuki",
        "organization": "Ministry of Environment",
        "requester_type": "government",
        "email": EMAIL,
        "country": "KE",
        "topic": "drought",
        "admin_id": "KE-S01",
        "question": "How many people are exposed to the drought?",
        "deadline": (TODAY + dt.timedelta(days=20)).isoformat(),
        "intended_use": "drought_response",
    }
    return base | kw


def _errors(exc: pytest.ExceptionInfo[InfoRequestValidationError]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in exc.value.errors}


@pytest.fixture()
def db(db_url: str) -> Iterator[Session]:
    engine = init_db(db_url)
    with session_scope(engine) as s:
        yield s
    engine.dispose()


@pytest.fixture()
def people(db: Session) -> dict[str, User]:
    return {
        "vera": create_user(db, "vera", "viewer"),
        "otto": create_user(db, "otto", "viewer"),
        "mona": create_user(db, "mona", "moderator"),
    }


def _run(tmp_path: Path, name: str, workflow: str) -> Path:
    run = tmp_path / "runs" / name
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"workflow": workflow}))
    return run


def _resolver(tmp_path: Path) -> Any:
    def resolve(value: str) -> Path:
        folder = tmp_path / "runs" / value
        if not folder.is_dir():
            raise ValueError(f"{value!r}: no such run")
        return folder

    return resolve


# --------------------------------------------------------------------------- validation


def test_validate_request__a_valid_request() -> None:
    rec = intake.validate_request(_body(country="ke", email="Amina.K@Example.ORG"), today=TODAY)
    assert rec.country == "KE" and rec.email == "Amina.K@example.org"
    assert rec.deadline == TODAY + dt.timedelta(days=20) and rec.area is None
    assert EMAIL not in repr(rec) and "Amina.K" not in repr(rec)


def test_validate_request__every_error_at_once() -> None:
    with pytest.raises(InfoRequestValidationError) as exc:
        intake.validate_request({"colour": "red"}, today=TODAY)
    errors = _errors(exc)
    assert set(errors) == {
        "colour",
        "requester",
        "organization",
        "requester_type",
        "email",
        "country",
        "topic",
        "area",
        "question",
        "deadline",
        "intended_use",
    }
    assert errors["colour"].startswith("unknown field")
    assert "admin_id" in errors["area"] and "GeoJSON polygon" in errors["area"]
    assert str(exc.value).startswith("information request: 11 errors:")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"requester_type": "press"}, "requester_type", "not a known code; expected one of"),
        ({"topic": "floods"}, "topic", "land_degradation, drought, ldn, hotspots_practices"),
        ({"country": "XX"}, "country", "not an ISO 3166-1 alpha-2 country code"),
        ({"country": "KEN"}, "country", "two letters"),
        ({"deadline": "next week"}, "deadline", "expected a date YYYY-MM-DD"),
        ({"deadline": "2001-01-01"}, "deadline", "is in the past"),
        ({"deadline": "2999-01-01"}, "deadline", "within two years"),
        ({"question": "Why?"}, "question", "expected 10 to 5000 characters, got 4"),
        ({"requester": "A\tB C"}, "requester", "one line"),
        ({"admin_id": "KE S01"}, "admin_id", "expected an admin unit id"),
        ({"population": True}, "population", "whole number"),
        ({"population": -3}, "population", "whole number"),
        ({"sdg_run": 5}, "sdg_run", "expected a run id"),
    ],
)
def test_validate_request__field_errors(changes: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InfoRequestValidationError) as exc:
        intake.validate_request(_body(**changes), today=TODAY)
    errors = _errors(exc)
    assert set(errors) == {field}
    assert message in errors[field]


@pytest.mark.parametrize("email", ["amina", "amina@", "a b@example.org", "a@example", "@x.org"])
def test_validate_request__email_is_checked_and_never_echoed(email: str) -> None:
    with pytest.raises(InfoRequestValidationError) as exc:
        intake.validate_request(_body(email=email), today=TODAY)
    assert set(_errors(exc)) == {"email"}
    assert email not in str(exc.value)


def _square(x0: float = 37.0, y0: float = -1.5) -> dict[str, Any]:
    ring = [[x0, y0], [x0 + 0.2, y0], [x0 + 0.2, y0 + 0.2], [x0, y0 + 0.2], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_validate_request__area_polygon() -> None:
    body = _body(admin_id=None, area={"type": "Feature", "geometry": _square(), "properties": {}})
    rec = intake.validate_request(body, today=TODAY)
    assert rec.admin_id is None and rec.area is not None and rec.area["type"] == "Polygon"
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    cases = {
        "crossing": (bowtie, "cross themselves"),
        "point": ({"type": "Point", "coordinates": [37, -1]}, "Polygon or MultiPolygon"),
        "range": (_square(x0=190), "within -180..180 and -90..90 (WGS84)"),
        "short ring": ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}, "at least 4"),
        "open ring": (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
            "closed rings",
        ),
    }
    for name, (area, message) in cases.items():
        with pytest.raises(InfoRequestValidationError) as exc:
            intake.validate_request(_body(admin_id=None, area=area), today=TODAY)
        assert message in _errors(exc)["area"], name
    with pytest.raises(InfoRequestValidationError) as exc:
        intake.validate_request(_body(area=_square()), today=TODAY)
    assert _errors(exc) == {"area": "give admin_id or area, not both."}


def test_validate_request__runs_exist_and_are_the_right_workflow(tmp_path: Path) -> None:
    _run(tmp_path, "so3", "so3")
    _run(tmp_path, "sdg", "sdg1531")
    resolve = _resolver(tmp_path)
    rec = intake.validate_request(_body(so3_run="so3", sdg_run="sdg"), resolve_run=resolve)
    assert rec.run_folders == {"sdg_run": tmp_path / "runs/sdg", "so3_run": tmp_path / "runs/so3"}
    with pytest.raises(InfoRequestValidationError) as exc:
        intake.validate_request(_body(so3_run="sdg", ldn_run="gone"), resolve_run=resolve)
    errors = _errors(exc)
    assert "'sdg' is not an output of so3 (its manifest.json names 'sdg1531')" in errors["so3_run"]
    assert errors["ldn_run"] == "'gone': no such run"


# --------------------------------------------------------------------------- workflow


def _submit(db: Session, who: User, **kw: Any) -> InfoRequest:
    return intake.submit_request(db, _body(**kw), who)


def _started(job_id: str = "job-1") -> Any:
    calls: list[int] = []

    def submit(req: InfoRequest) -> str:
        calls.append(req.id)
        return job_id

    submit.calls = calls  # type: ignore[attr-defined]
    return submit


def test_workflow__every_step_with_its_audit_row(db: Session, people: dict[str, User]) -> None:
    vera, mona = people["vera"], people["mona"]
    req = _submit(db, vera, so3_run="so3")
    assert (req.status, req.created_by, req.units) == ("received", "vera", ["KE-S01"])
    intake.triage_request(db, req.id, mona, "looks urgent")
    submit = _started("3f2b")
    intake.accept_request(db, req.id, mona, submit=submit, note="drought brief")
    assert submit.calls == [req.id] and req.job_id == "3f2b"
    intake.deliver_request(db, req.id, mona, ["https://example.org/b.pdf"], "sent by mail")
    intake.close_request(db, req.id, mona)
    assert req.status == "closed" and req.links == ["https://example.org/b.pdf"]
    trail = [(e.action, e.actor, e.from_status, e.to_status, e.note) for e in req.events]
    assert trail == [
        ("submit", "vera", None, "received", ""),
        ("triage", "mona", "received", "triaged", "looks urgent"),
        ("accept", "mona", "triaged", "in_progress", "brief job 3f2b: drought brief"),
        ("deliver", "mona", "in_progress", "delivered", "sent by mail"),
        ("close", "mona", "delivered", "closed", ""),
    ]
    times = [e.created_at for e in req.events]
    assert times == sorted(times)


def test_workflow__transitions_are_enforced(db: Session, people: dict[str, User]) -> None:
    mona = people["mona"]
    req = _submit(db, people["vera"], so3_run="so3")
    submit = _started()
    with pytest.raises(
        InputError,
        match="it is received; accept applies to a request that is "
        r"triaged \(-> in_progress\)\. Allowed from received: triage, reject\.",
    ):
        intake.accept_request(db, req.id, mona, submit=submit)
    assert submit.calls == []  # nothing started for a refused step
    with pytest.raises(InputError, match="Allowed from received: triage, reject"):
        intake.close_request(db, req.id, mona)
    with pytest.raises(InputError, match="a reason is required"):
        intake.reject_request(db, req.id, mona, "  ")
    intake.reject_request(db, req.id, mona, "Outside our mandate.")
    with pytest.raises(InputError, match="A rejected request takes no further step"):
        intake.triage_request(db, req.id, mona)
    assert [e.action for e in req.events] == ["submit", "reject"]
    assert req.events[-1].note == "Outside our mandate."


def test_workflow__in_progress_cannot_be_rejected(db: Session, people: dict[str, User]) -> None:
    mona = people["mona"]
    req = _submit(db, people["vera"], so3_run="so3")
    intake.triage_request(db, req.id, mona)
    intake.accept_request(db, req.id, mona, submit=_started())
    with pytest.raises(InputError, match="Allowed from in_progress: deliver"):
        intake.reject_request(db, req.id, mona, "too late")


def test_workflow__roles_and_visibility(db: Session, people: dict[str, User]) -> None:
    vera, otto, mona = people["vera"], people["otto"], people["mona"]
    req = _submit(db, vera)
    with pytest.raises(PermissionDenied, match="cannot triage requests: expected role moderator"):
        intake.triage_request(db, req.id, vera)
    assert intake.get_request(db, req.id, vera) is req
    assert intake.get_request(db, f"#{req.id}", mona) is req
    with pytest.raises(NotFoundError, match=f"request {req.id} does not exist"):
        intake.get_request(db, req.id, otto)
    with pytest.raises(NotFoundError):
        intake.get_request(db, 999, mona)
    with pytest.raises(InputError, match="expected a number"):
        intake.get_request(db, "abc", mona)
    vera.active = False
    with pytest.raises(PermissionDenied, match="deactivated"):
        _submit(db, vera)


def test_accept_request__needs_the_topic_runs(db: Session, people: dict[str, User]) -> None:
    mona = people["mona"]
    req = _submit(db, people["vera"], topic="land_degradation")
    intake.triage_request(db, req.id, mona)
    submit = _started()
    with pytest.raises(InputError, match="a land_degradation brief needs sdg_run"):
        intake.accept_request(db, req.id, mona, submit=submit)
    assert submit.calls == [] and req.status == "triaged"


def test_triage_request__links_runs_and_looks_up_population(
    db: Session, people: dict[str, User], tmp_path: Path
) -> None:
    mona = people["mona"]
    so3 = _run(tmp_path, "so3", "so3")
    (so3 / "tables").mkdir()
    (so3 / "tables" / "so3_2_drought_totals.csv").write_text(
        "year,sex,zone_id,zone,drought_population\n2023,total,1,KE-S01 Kilima,438.9\n"
    )
    req = _submit(db, people["vera"])
    assert req.population_exposed is None and intake.missing_runs(req) == [
        ("so3_run", "warning_run")
    ]
    resolve = _resolver(tmp_path)
    with pytest.raises(InfoRequestValidationError) as exc:
        intake.triage_request(db, req.id, mona, runs={"so3_run": "nope"}, resolve_run=resolve)
    assert set(_errors(exc)) == {"so3_run"} and req.status == "received"
    intake.triage_request(db, req.id, mona, "ok", runs={"so3_run": "so3"}, resolve_run=resolve)
    assert (req.so3_run, req.population_exposed) == ("so3", 438.9)
    assert req.population_source == "SO3 run so3, 2023"
    assert req.events[-1].note == "ok; runs: so3_run = so3"
    # a triaged request may be triaged again (other runs)
    _run(tmp_path, "warn", "warning")
    intake.triage_request(db, req.id, mona, runs={"warning_run": "warn"}, resolve_run=resolve)
    assert [e.to_status for e in req.events] == ["received", "triaged", "triaged"]


def test_deliver_request__links_are_checked(db: Session, people: dict[str, User]) -> None:
    mona = people["mona"]
    req = _submit(db, people["vera"], so3_run="so3")
    intake.triage_request(db, req.id, mona)
    intake.accept_request(db, req.id, mona, submit=_started())
    for links, field in (
        ([], "links"),
        (["javascript:alert(1)"], "links[0]"),
        (["/ok", "ftp://x"], "links[1]"),
        (["https://a b"], "links[0]"),
    ):
        with pytest.raises(InfoRequestValidationError) as exc:
            intake.deliver_request(db, req.id, mona, links)
        assert set(_errors(exc)) == {field}
    assert req.status == "in_progress"
    intake.deliver_request(db, req.id, mona, ["/jobs/x/results/brief.pdf"])
    assert req.events[-1].note == "delivered by hand"


def test_submit_request__email_never_logged_nor_in_the_trail(
    db: Session, people: dict[str, User], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    req = _submit(db, people["vera"], so3_run="so3")
    intake.triage_request(db, req.id, people["mona"])
    assert req.email == EMAIL
    assert EMAIL not in caplog.text and EMAIL not in repr(req)
    assert all(EMAIL not in e.note for e in req.events)
    assert "email" not in intake.brief_inputs(req) and EMAIL not in json.dumps(
        intake.brief_inputs(req)
    )


# --------------------------------------------------------------------------- jobs


def _job(db: Session, job_id: str, status: str, message: str = "") -> Job:
    now = dt.datetime.now(dt.UTC)
    job = Job(
        id=job_id,
        process_id="brief",
        status=status,
        progress=100.0 if status == "successful" else 10.0,
        message=message,
        inputs={},
        owner="mona",
        output_dir=f"jobs/{job_id}",
        created_at=now,
        updated_at=now,
        log="",
    )
    db.add(job)
    db.flush()
    return job


def test_on_job_finished__delivers_with_links(
    db: Session, people: dict[str, User], tmp_path: Path
) -> None:
    mona = people["mona"]
    req = _submit(db, people["vera"], so3_run="so3")
    intake.triage_request(db, req.id, mona)
    intake.accept_request(db, req.id, mona, submit=_started("j-ok"))
    job = _job(db, "j-ok", "running")
    assert intake.on_job_finished(db, job) is None  # still running: nothing changes
    folder = tmp_path / "jobs" / "j-ok"
    (folder / "maps").mkdir(parents=True)
    for name in ("numbers.json", "brief.html", "brief.pdf", "job.json", "maps/a.png", ".tmp"):
        (folder / name).write_text("x")
    job.status = "successful"
    assert intake.deliver_finished_jobs(db, tmp_path) == 1
    assert req.status == "delivered"
    assert req.links == [
        "/jobs/j-ok/results/brief.pdf",
        "/jobs/j-ok/results/brief.html",
        "/jobs/j-ok/results/maps/a.png",
        "/jobs/j-ok/results/numbers.json",
    ]
    last = req.events[-1]
    assert (last.action, last.actor, last.from_status, last.to_status) == (
        "deliver",
        "system",
        "in_progress",
        "delivered",
    )
    assert intake.on_job_finished(db, job) is None  # idempotent
    assert intake.deliver_finished_jobs(db, tmp_path) == 0


def test_on_job_finished__failed_job_goes_back_to_triaged(
    db: Session, people: dict[str, User]
) -> None:
    mona = people["mona"]
    req = _submit(db, people["vera"], so3_run="so3")
    intake.triage_request(db, req.id, mona)
    intake.accept_request(db, req.id, mona, submit=_started("j-bad"))
    job = _job(db, "j-bad", "failed", "--topic drought needs a drought run")
    assert intake.on_job_finished(db, job) is req
    assert req.status == "triaged" and req.links == []
    assert req.events[-1].action == "job_failed"
    assert req.events[-1].note == "brief job j-bad failed: --topic drought needs a drought run"
    assert intake.allowed_actions(req.status) == ["triage", "accept", "reject"]


# --------------------------------------------------------------------------- queue


def test_queue__by_priority_with_tie_breaking(db: Session, people: dict[str, User]) -> None:
    vera, otto, mona = people["vera"], people["otto"], people["mona"]
    soon = (TODAY + dt.timedelta(days=2)).isoformat()
    later = (TODAY + dt.timedelta(days=40)).isoformat()
    a = _submit(db, vera, deadline=later, admin_id="KE-S02")  # same score as b, d
    b = _submit(db, otto, deadline=later, admin_id="KE-S02")  # received after a
    c = _submit(db, vera, deadline=soon)  # urgent
    d = _submit(db, vera, deadline=later, admin_id="KE-S02", requester_type="research")
    e = _submit(db, otto, deadline=(TODAY + dt.timedelta(days=39)).isoformat(), admin_id="X-1")
    b.created_at = a.created_at  # same time: the smaller id first
    items = intake.queue(db, actor=mona, today=TODAY)
    assert [it.request.id for it in items] == [c.id, e.id, a.id, b.id, d.id]
    scores = [it.priority.score for it in items]
    assert scores == sorted(scores, reverse=True)
    assert items[2].priority.score == items[3].priority.score
    assert items[0].priority.tier == "snapshot" and items[2].priority.tier == "brief"
    # requesters see their own
    assert [it.request.id for it in intake.queue(db, actor=vera, today=TODAY)] == [c.id, a.id, d.id]
    intake.reject_request(db, c.id, mona, "duplicate")
    assert c.id not in [it.request.id for it in intake.queue(db, actor=mona)]
    assert c.id in [it.request.id for it in intake.queue(db, actor=mona, statuses=None)]
    assert [it.request.id for it in intake.queue(db, statuses=["rejected"])] == [c.id]
    with pytest.raises(InputError, match="status 'open'"):
        intake.queue(db, statuses=["open"])


def test_queue__current_alert_raises_priority_and_tier(
    db: Session, people: dict[str, User]
) -> None:
    later = (TODAY + dt.timedelta(days=40)).isoformat()
    quiet = _submit(db, people["vera"], deadline=later, admin_id="KE-S01")
    dry = _submit(db, people["vera"], deadline=later, admin_id="KE-S03")
    now = dt.datetime.now(dt.UTC)
    db.add(
        DroughtAlert(
            identifier="lw-KE-S03-1",
            unit_id="KE-S03",
            unit_name="Nyika North",
            is_forecast=False,
            certainty="Observed",
            status="active",
            level="severe",
            level_rank=3,
            severity="Severe",
            peak_level="severe",
            peak_rank=3,
            start_month=dt.date(2026, 8, 1),
            last_month=dt.date(2026, 10, 1),
            months_below=0,
            created_at=now,
            updated_at=now,
        )
    )
    db.flush()
    items = {it.request.id: it.priority for it in intake.queue(db)}
    assert items[dry.id].score - items[quiet.id].score == pytest.approx(25.0)
    assert (items[dry.id].tier, items[quiet.id].tier) == ("snapshot", "brief")
    alert = next(c for c in items[dry.id].criteria if c.name == "alert_level")
    assert alert.value == "alert" and "KE-S03: severe (Severe)" in alert.reason
    assert [it.request.id for it in intake.queue(db)][0] == dry.id


def test_request_dict__fields_priority_and_events(db: Session, people: dict[str, User]) -> None:
    req = _submit(db, people["vera"], population=12_000)
    d = intake.request_dict(req, intake.request_priority(db, req), events=True)
    assert d["email"] == EMAIL and d["population_exposed"] == 12_000.0
    assert d["population_source"] == "given by the requester"
    assert d["allowed_actions"] == ["triage", "reject"]
    assert [e["action"] for e in d["events"]] == ["submit"]
    assert "email" not in intake.request_dict(req, include_email=False)
    json.dumps(d)  # JSON-ready


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(field=st.sampled_from([*intake.FIELDS, "other"]), value=_json)
def test_check_request__any_json_value_gives_errors_not_exceptions(field: str, value: Any) -> None:
    record, errors = intake.check_request(_body() | {field: value}, today=TODAY)
    assert (record is None) == bool(errors)
    assert all(isinstance(e["message"], str) and e["message"] for e in errors)


def test_check_request__deeply_nested_values() -> None:
    deep: Any = 0
    for _ in range(900):
        deep = [deep]
    for field in ("requester_type", "country", "admin_id", "area", "population", "deadline"):
        record, errors = intake.check_request(_body() | {field: deep}, today=TODAY)
        assert record is None and errors, field
    area = {"type": "Polygon", "coordinates": deep}
    _, errors = intake.check_request(_body(admin_id=None, area=area), today=TODAY)
    assert errors == [
        {
            "field": "area",
            "message": "coordinates: expected rings of at least 4 "
            "positions, the last equal to the first.",
        }
    ]
