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
