"""Property-based fuzz of the whole app's OpenAPI schema (schemathesis): no operation
answers 5xx, whatever it is sent.

Every operation of ``/openapi.json`` gets examples made from its schema (valid ones and
ones that break it), sent with an admin's token so that writes are exercised too, on
a database that holds the curated practices and an observation. A bounded number of
examples per operation and a timeout per request keep the test to about a minute or
two; examples are derandomized so a failure reproduces. Every operation is tried even
when an earlier one fails, and the failures are reported together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error

from landwatch.api import Settings, create_app
from landwatch.knowledge.practices import load_builtin_practices
from landwatch.observations.records import create_observation
from landwatch.store import init_db, session_scope
from landwatch.store.auth import create_user, issue_token

#: Examples per operation and generation mode (valid, then schema-breaking).
MAX_EXAMPLES = {"positive": 25, "negative": 10}
#: Seconds one request may take before it counts as a failure.
REQUEST_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    app_settings = Settings(
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp}/fuzz.sqlite",
        rate_limit_per_minute=10**9,  # the fuzzer is one client sending fast
        write_rate_limit_per_minute=10**9,
        job_workers=1,
    )
    engine = init_db(app_settings.db_url())
    with session_scope(engine) as s:
        create_user(s, "ada", "admin")
        token = issue_token(s, "ada")
        load_builtin_practices(s)
        create_observation(
            s,
            {
                "lon": 37.21,
                "lat": -1.43,
                "observed_on": dt.date(2024, 3, 17),
                "observer_role": "farmer",
                "category": "crop_failure",
                "impact_severity": "severe",
                "validation_status": "confirmed",
                "validated_by": "ada",
            },
        )
    engine.dispose()
    app = create_app(app_settings)
    yield app, token
    # schemathesis started the app's lifespan (database, job workers); stop it
    from schemathesis.python import asgi

    asgi.shutdown_lifespans()


def _strategies(operation: Any) -> dict[str, Any]:
    out = {}
    for mode in schemathesis.GenerationMode:
        try:
            out[mode.value] = operation.as_strategy(generation_mode=mode)
        except Exception:  # an operation whose schema cannot be broken (e.g. no parameters)
            continue
    return out


def fuzz(app: FastAPI, headers: dict[str, str]) -> tuple[list[str], list[str]]:
    """Every operation of the app's schema, fuzzed: (operations tried, failures)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    tried: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        tried.append(label)
        for mode, strategy in _strategies(operation).items():

            @settings(
                max_examples=MAX_EXAMPLES[mode],
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def call(case: schemathesis.Case) -> None:
                case.call_and_validate(
                    headers=headers, checks=[not_a_server_error], timeout=REQUEST_TIMEOUT
                )

            try:
                call()
            except Unsatisfiable:  # nothing to break in it (no parameters, no body)
                continue
            except Exception as exc:  # a 5xx, a timeout or a crash: note it, go on
                failures.append(f"{label} ({mode}): {type(exc).__name__}: {str(exc)[:3000]}")
    return tried, failures


def test_fuzz__no_operation_answers_5xx(fuzz_app: tuple[FastAPI, str]) -> None:
    app, token = fuzz_app
    tried, failures = fuzz(app, {"Authorization": f"Bearer {token}"})
    assert {"GET /practices", "POST /observations", "POST /match", "GET /health"} <= set(tried)
    assert not failures, f"{len(failures)} failing operation(s):\n\n" + "\n\n".join(failures)


def test_fuzz__finds_a_planted_server_error(tmp_path: Path) -> None:
    """The harness itself: a route that fails on some inputs is reported, others are not."""
    app = FastAPI()

    @app.get("/thirds")
    def thirds(n: int) -> dict[str, int]:
        if n % 3 == 0:
            raise RuntimeError("a bug")  # -> 500 for a third of the inputs
        return {"n": n}

    @app.get("/fine")
    def fine(a: int) -> dict[str, int]:
        return {"a": a}

    tried, failures = fuzz(app, {})
    assert tried == ["GET /thirds", "GET /fine"]
    # the bug is found with valid inputs (and may be again with broken ones that still
    # parse as a multiple of 3); the healthy route is never reported
    assert any(f.startswith("GET /thirds (positive)") for f in failures), failures
    assert all(f.startswith("GET /thirds") and "a bug" in f for f in failures), failures
