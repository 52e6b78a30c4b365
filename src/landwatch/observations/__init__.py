"""Community observations that confirm or correct the maps.

* :mod:`~landwatch.observations.records` - the vocabulary, the validation rules and
  create / update / validate / query through a database session;
* :mod:`~landwatch.observations.checks` - an observation against the map at its
  location: possible false positive or false negative;
* :mod:`~landwatch.observations.corrections` - confirmed contradictions as SDG 15.3.1
  correction polygons (the ``corrections:`` input of the next run);
* :mod:`~landwatch.observations.confidence` - confirmed drought-impact reports as
  evidence for or against a drought alert.

Files (CSV, GeoJSON, photos, maps) are read and written by
:mod:`landwatch.io.observations`; :mod:`landwatch.workflows.observations` joins the two.
"""

from landwatch.observations.records import (
    CATEGORIES,
    IMPACT_SEVERITIES,
    LAND_STATES,
    MAP_FLAGS,
    OBSERVER_ROLES,
    VALIDATION_STATUSES,
    ObservationFieldError,
    create_observation,
    get_observation,
    query_observations,
    set_validation_status,
    update_observation,
    validate_observation_fields,
)

__all__ = [
    "CATEGORIES",
    "IMPACT_SEVERITIES",
    "LAND_STATES",
    "MAP_FLAGS",
    "OBSERVER_ROLES",
    "VALIDATION_STATUSES",
    "ObservationFieldError",
    "create_observation",
    "get_observation",
    "query_observations",
    "set_validation_status",
    "update_observation",
    "validate_observation_fields",
]
