"""Fixtures of the knowledge-base tests: valid records, a database and users of each role."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from landwatch.store import init_db, session_scope
from landwatch.store.auth import create_user

BASE_RECORD: dict[str, Any] = {
    "name": "Stone bunds on the contour",
    "summary": "Lines of stones laid along the contour slow runoff and trap sediment on "
    "sloping cropland.",
    "description": "Stones collected from the field are laid in lines along the contour, "
    "about 20 m apart on gentle slopes. Runoff slows down behind each line, water soaks "
    "in and sediment settles. Maintenance is to replace stones moved by animals.",
    "land_use": ["cropland"],
    "degradation_types": ["Wt"],
    "measure_types": ["structural"],
    "goals": ["reduce"],
    "climate_zones": ["tropical_dry"],
    "aridity": ["semi_arid"],
    "slope": ["gentle"],
    "soil_texture": [],
    "scale": ["farm"],
    "costs": {
        "establishment_per_ha": 250,
        "maintenance_per_ha_year": 20.5,
        "currency": "USD",
        "year": 2019,
        "note": "",
    },
    "impacts": {
        "on_site": [
            {"impact": "soil_loss", "rating": 3},
            {"impact": "crop_production", "rating": 2},
        ],
        "off_site": [{"impact": "downstream_siltation", "rating": 1}],
    },
    "adoption": {"level": "high", "note": ""},
    "location": {"countries": ["BF"], "lat": 12.35, "lon": -1.52},
    "keywords": ["water harvesting", "erosion control"],
    "sources": [
        {
            "title": "Where the land is greener",
            "authors": "Liniger H., Critchley W.",
            "year": 2007,
            "publisher": "WOCAT",
            "url": "https://www.wocat.net",
            "doi": "",
        }
    ],
    "licence": "CC-BY-4.0",
    "language": "en",
    "contributor": "Test author",
}


def make_record(**changes: Any) -> dict[str, Any]:
    """A valid record with some fields replaced."""
    record = copy.deepcopy(BASE_RECORD)
    record.update(copy.deepcopy(changes))
    return record


@pytest.fixture()
def record() -> Callable[..., dict[str, Any]]:
    return make_record


@pytest.fixture()
def engine(db_url: str) -> Engine:
    eng = init_db(db_url)
    with session_scope(eng) as s:
        for name, role in (
            ("vera", "viewer"),
            ("alice", "contributor"),
            ("bob", "contributor"),
            ("mona", "moderator"),
            ("mike", "moderator"),
            ("ada", "admin"),
        ):
            create_user(s, name, role)
    return eng
