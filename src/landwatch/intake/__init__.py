"""Requests for information products: intake, priority and tracking.

* :mod:`landwatch.intake.priority`: the priority score (0-100) of a request from
  documented criteria (``data/request_priority.yaml``) and its tier.
* :mod:`landwatch.intake.records`: the request record, its validation, the status
  workflow with its audit trail, the queue by priority and the hook that delivers a
  request when its brief job succeeds.
"""
