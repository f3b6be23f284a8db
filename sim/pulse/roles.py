"""The Pulse as each role reads it: `view(frame, role, bond)` keeps what the role should see of
a Pulse frame (`sim.pulse.frame`) and hides the rest.

- ``retail``: the consolidated book's rows (venue "all"); where and when, ``score``, ``band``
  and ``explanation``.
- ``professional``: every venue's book and the consolidated one; the retail columns, the
  issuer's sector and rating, the features, the liquidity and repayment indices and every
  index's drivers.
- ``regulator``: every venue's book and the consolidated one; every column (the uncertainties
  and points too), and the view's `metadata` (`provenance`): the run, its scenario and seed,
  the code, the params and where the frame came from.

``band`` names the fifth of the scale around the neutral 50 (`BANDS`) the bond's score falls
in, and ``explanation`` is one plain sentence: the score, its band and the driver that moved it
most (`PHRASES`), or that none stands out (`NEUTRAL_POINTS`). The score is the combined score,
or for a bond without one (unrated: no repayment index) its liquidity index, which the
sentence then says; retail's ``score`` column is that score, while the other roles keep the
frame's columns as they are. A bond's rows keep the frame's order. An unknown role or bond is
a `ViewError`, one line with a "did you mean".
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from sim.errors import BondlabError
from sim.pulse.params import PulseParams
from sim.pulse.snapshots import ALL_VENUES

ROLES = ("retail", "professional", "regulator")

# Lower bounds of each band, highest first: the index is 50 plus its drivers' points.
BANDS = ((65.0, "strong"), (55.0, "above average"), (45.0, "average"),
         (35.0, "below average"), (0.0, "weak"))  # fmt: skip

# A driver smaller than this (index points) explains nothing: the score is near neutral.
NEUTRAL_POINTS = 0.5

# Each driver in plain words: (when it lifts the score, when it holds it back).
PHRASES: Mapping[str, tuple[str, str]] = {
    "quoted_spread": ("the gap between buying and selling prices is narrow",
                      "the gap between buying and selling prices is wide"),
    "depth": ("plenty of the bond is on offer near its price",
              "little of the bond is on offer near its price"),
    "maker_presence": ("several dealers quote both a buying and a selling price",
                       "few dealers quote both a buying and a selling price"),
    "turnover": ("it changes hands often", "it rarely changes hands"),
    "trade_recency": ("it traded recently", "it has not traded for a while"),
    "order_imbalance": ("buyers and sellers are balanced", "orders come mostly from one side"),
    "sip_activity": ("the SIP pool is actively buying and selling it",
                     "the SIP pool is quiet in it"),
    "credit_spread": ("lenders charge its issuer a low credit spread",
                      "lenders charge its issuer a high credit spread"),
    "rating": ("its issuer has a strong credit rating", "its issuer has a weak credit rating"),
    "default_probability": ("its issuer's chance of default is low",
                            "its issuer's chance of default is high"),
    "downgrade_probability": ("a downgrade of its issuer looks unlikely",
                              "a downgrade of its issuer looks likely"),
    "spread_stability": ("its issuer's credit spread has been steady",
                         "its issuer's credit spread has been jumpy"),
    "depth_stability": ("the amount on offer has been steady",
                        "the amount on offer has been unsteady"),
    "traffic": ("activity at its issuer's business looks healthy",
                "activity at its issuer's business looks weak"),
    "utilities": ("its issuer's operations look busy", "its issuer's operations look slack"),
    "sentiment": ("news about its issuer is upbeat", "news about its issuer is gloomy"),
    "rating_adjustment": ("its rating grade earns a bonus",
                          "its issuer is rated below investment grade or has defaulted"),
}  # fmt: skip

_WHERE = ("instrument", "interval", "day", "slot", "start", "end")
_RETAIL = (*_WHERE, "score", "band", "explanation")
_PROFESSIONAL = (
    *_WHERE[:1], "venue", *_WHERE[1:], "issuer", "sector", "sector_group", "rating", "grade",
    "score", "band", "explanation", "liquidity", "repayment",
    "quoted_spread_bp", "depth_rupees", "makers_two_sided", "turnover_velocity",
    "minutes_since_trade", "order_imbalance", "sip_activity", "snapshots", "trades",
    "liquidity_drivers", "repayment_drivers", "score_drivers",
)  # fmt: skip


class ViewError(BondlabError, ValueError):
    """A view that cannot be made: an unknown role or bond (one line, with a "did you mean")."""


@dataclass(frozen=True)
class RoleView:
    """What one role sees: `rows`, a row per listing and interval with the role's columns,
    and `metadata`, the provenance only the regulator sees (empty for the others)."""

    role: str
    rows: pl.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The view as plain data (for JSON): role, metadata and rows."""
        return {"role": self.role, "metadata": self.metadata, "rows": self.rows.to_dicts()}


def band(score: float | None) -> str | None:
    """The band (`BANDS`) a 0–100 score falls in, rounded to the whole points it is shown
    in (34.6 shows as 35: below average, not weak); None for no score."""
    if score is None:
        return None
    return next(label for floor, label in BANDS if round(score) >= floor)


def explain(
    bond: str, score: float | None, top: Mapping[str, Any] | None, liquidity_only: bool = False
) -> str:
    """One plain sentence: `bond`'s score, its band and what moved it most (`top`, a driver:
    {feature, points}); `liquidity_only` when the score is its liquidity index."""
    if score is None:
        return f"{bond} has no score for this interval."
    scale = " for liquidity" if liquidity_only else ""
    said = f"{bond} scores {score:.0f} out of 100{scale} ({band(score)})"
    if top is None or abs(top["points"]) < NEUTRAL_POINTS:
        return f"{said}; no single factor stands out."
    lifts, holds_back = PHRASES[top["feature"]]
    if top["points"] > 0:
        return f"{said}; what helps it most: {lifts}."
    return f"{said}; what holds it back most: {holds_back}."


def check_role(role: str) -> None:
    """A `ViewError` unless `role` is one of `ROLES`."""
    if role not in ROLES:
        raise ViewError(f"unknown role {role!r}{_hint(role, ROLES)} (roles: {', '.join(ROLES)})")


def view(
    frame: pl.DataFrame,
    role: str,
    bond: str | None = None,
    *,
    metadata: Mapping[str, Any] | None = None,
) -> RoleView:
    """`role`'s view (the module's table) of Pulse `frame`, only `bond`'s rows when given;
    `metadata` (`provenance`) is kept for the regulator only."""
    check_role(role)
    if bond is not None:
        bonds = frame["instrument"].unique().sort().to_list()
        if bond not in bonds:
            raise ViewError(f"no bond {bond!r} in the Pulse{_hint(bond, bonds)}")
        frame = frame.filter(pl.col("instrument") == bond)
    if role == "retail":
        rows = _with_words(frame.filter(pl.col("venue") == ALL_VENUES))
        return RoleView(role, rows.with_columns(score=pl.col("shown_score")).select(_RETAIL))
    rows = _with_words(frame).drop("shown_score")
    if role == "regulator":
        return RoleView(role, rows, dict(metadata or {}))
    return RoleView(role, rows.select(_PROFESSIONAL))


def provenance(result, params: PulseParams) -> dict[str, Any]:
    """The regulator's metadata of `result`'s Pulse (`result` a `sim.Result`, `params` the
    settings it was computed with): the run, scenario, seed, code, params and the frame's
    source (``pulse.parquet`` with its sha256, or computed from the records)."""
    manifest = result.manifest
    recorded = manifest.get("files", {}).get("pulse.parquet")
    return {
        "run_id": result.run_id,
        "scenario": manifest["scenario"]["run"]["name"],
        "scenario_hash": manifest.get("scenario_hash"),
        "seed": manifest.get("seed"),
        "git_commit": manifest.get("git_commit"),
        "code_hash": manifest.get("code_hash"),
        "source": "computed from the run's records" if recorded is None else "pulse.parquet",
        "pulse_sha256": recorded,
        "params": params.model_dump(mode="json"),
        "uncertainty": "a standard deviation in index points (sim.pulse.scoring)",
    }


def _with_words(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with ``shown_score`` (the combined score, else the liquidity index), its
    ``band`` and its ``explanation``."""
    combined = pl.col("score").is_not_null()
    words = frame.select(
        "instrument",
        combined.alias("combined"),
        pl.coalesce("score", "liquidity").alias("shown"),
        pl.when(combined)
        .then(pl.col("score_drivers"))
        .otherwise(pl.col("liquidity_drivers"))
        .list.first()
        .alias("top"),
    )
    sentences = [
        explain(bond, score, top, liquidity_only=not combined)
        for bond, combined, score, top in words.iter_rows()
    ]
    return frame.with_columns(
        shown_score=words["shown"],
        band=pl.Series([band(score) for score in words["shown"]], dtype=pl.String),
        explanation=pl.Series(sentences, dtype=pl.String),
    )


def _hint(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]}?)" if close else ""
