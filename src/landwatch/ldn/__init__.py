"""Land Degradation Neutrality: land types, neutrality balance, hotspots, response
hierarchy. Arrays in, arrays and tables out; no files (see ``workflows/ldn.py``)."""

from landwatch.ldn.hotspots import label_patches, patch_polygons, patch_table
from landwatch.ldn.land_types import LAND_TYPE_NODATA, land_types
from landwatch.ldn.neutrality import (
    gains_losses,
    neutrality_balance,
    neutrality_summary,
    planned_balance,
)
from landwatch.ldn.response import load_response_rules, response_class, response_table

__all__ = [
    "LAND_TYPE_NODATA",
    "gains_losses",
    "label_patches",
    "land_types",
    "load_response_rules",
    "neutrality_balance",
    "neutrality_summary",
    "patch_polygons",
    "patch_table",
    "planned_balance",
    "response_class",
    "response_table",
]
