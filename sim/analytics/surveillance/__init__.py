"""Market-abuse surveillance over a run's records (issue 20): spoofing, layering, wash trades,
marking the close, quote stuffing, momentum ignition and market makers' obligation breaches.

    from sim.analytics.surveillance import surveil, surveil_result, ALERT_COLUMNS
    alerts = surveil_result(sim.Result.load("results/<run>"))

Every detector reads the recorder's polars frames and answers rows of one alert table
(`alerts`); thresholds are `SurveillanceParams`. Modules, one concept each: `params` (the
thresholds), `alerts` (the alert record and its evidence), `activity` (the frames laid out
once, with beneficial owners), one module per detector, and `surveil` (the entry point).
``bondlab surveil RUN_DIR`` prints the table; `sim.studies.surveillance` scores the detectors
on a scenario with planted abusers.
"""

from sim.analytics.surveillance.alerts import ALERT_COLUMNS, ALERT_SCHEMA
from sim.analytics.surveillance.mm_obligation import with_obligations
from sim.analytics.surveillance.params import DETECTOR_NAMES, SurveillanceParams
from sim.analytics.surveillance.surveil import (
    DETECTORS,
    surveil,
    surveil_result,
    tier_compliance,
)

__all__ = [
    "ALERT_COLUMNS",
    "ALERT_SCHEMA",
    "DETECTORS",
    "DETECTOR_NAMES",
    "SurveillanceParams",
    "surveil",
    "surveil_result",
    "tier_compliance",
    "with_obligations",
]
