"""indices/drought"""

from landwatch.indices.drought.accumulate import rolling_sum
from landwatch.indices.drought.spi import standardized_precipitation_index

__all__ = ["rolling_sum", "standardized_precipitation_index"]

from landwatch.indices.drought.pet import (  # noqa: E402
    potential_evapotranspiration_hargreaves,
    potential_evapotranspiration_penman_monteith,
    potential_evapotranspiration_thornthwaite,
)
from landwatch.indices.drought.spei import (  # noqa: E402
    standardized_precipitation_evapotranspiration_index,
)

__all__ += [
    "potential_evapotranspiration_hargreaves",
    "potential_evapotranspiration_penman_monteith",
    "potential_evapotranspiration_thornthwaite",
    "standardized_precipitation_evapotranspiration_index",
]

from landwatch.indices.drought.events import (  # noqa: E402
    drought_area_fraction,
    drought_event_catalog,
    drought_runs,
    regional_drought_events,
)
from landwatch.indices.drought.so3 import (  # noqa: E402
    december_spi,
    drought_hazard_class,
    drought_vulnerability_index,
    exposure_table,
    hazard_table,
    so3_period_summary,
    vulnerability_table,
)

__all__ += [
    "december_spi",
    "drought_area_fraction",
    "drought_event_catalog",
    "drought_hazard_class",
    "drought_runs",
    "drought_vulnerability_index",
    "exposure_table",
    "hazard_table",
    "regional_drought_events",
    "so3_period_summary",
    "vulnerability_table",
]

from landwatch.indices.drought.aggregate import daily_to_monthly  # noqa: E402

__all__ += ["daily_to_monthly"]
