"""Built-in sample region with planted truth (synthetic, offline, deterministic)."""

from __future__ import annotations

from landwatch.sample.region import SampleRegion, create_sample_region

__all__ = ["SampleRegion", "create_sample_region"]
