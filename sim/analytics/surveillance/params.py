"""The thresholds of every surveillance detector, in one validated model.

Each field's description says what it bounds. The defaults find the planted abusers of
``scenarios/surveillance_planted.toml`` and flag none of its honest agents (retail, value,
momentum, market makers) over seeds; `sim.studies.surveillance` measures both and
benchmarks/RESULTS.md records the figures. Units are named in the field: seconds and minutes
of the run's clock, basis points of price, multiples of a population norm.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

DetectorName = Literal[
    "spoofing",
    "layering",
    "wash_trade",
    "marking_the_close",
    "quote_stuffing",
    "momentum_ignition",
    "mm_obligation",
]
DETECTOR_NAMES: tuple[str, ...] = get_args(DetectorName)


class SurveillanceParams(BaseModel):
    """Which detectors run, and the thresholds each applies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    detectors: tuple[DetectorName, ...] = Field(
        DETECTOR_NAMES, description="the detectors to run, by name"
    )

    # Spoofing and layering: resting orders its owner cancels soon, while it trades the other way.
    spoof_size_multiple: float = Field(
        10.0,
        gt=0,
        description="a spoofing order is at least this many times the median size of the new "
        "orders in its book",
    )
    spoof_max_lifetime_seconds: float = Field(
        30.0, gt=0, description="placed to cancelled within this many seconds"
    )
    spoof_max_fill_share: float = Field(
        0.1, ge=0, le=1, description="at most this share of the order filled before its cancel"
    )
    spoof_grace_seconds: float = Field(
        5.0,
        ge=0,
        description="the owner's trades on the other side count from the order's placement "
        "until this long after its cancel",
    )
    spoof_episode_gap_seconds: float = Field(
        10.0,
        gt=0,
        description="such orders of one owner on one side of a book placed at most this far "
        "apart make one episode (spoofing) or layer set (layering)",
    )
    layering_min_levels: int = Field(
        3, ge=2, description="layering: at least this many distinct prices in a layer set"
    )

    # Marking the close: aggressive trading in the session's last minutes that moves the close.
    close_window_minutes: float = Field(
        10.0, gt=0, description="the closing window: this long before the session's last request"
    )
    close_min_orders: int = Field(
        3, ge=1, description="aggressive orders of the owner in the window, at least"
    )
    close_min_size_multiple: float = Field(
        10.0,
        gt=0,
        description="its units that way in the window, at least this many times the median "
        "size of the new orders in the book",
    )
    close_min_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="the owner's share of the window's aggressive volume in its direction",
    )
    close_min_concentration: float = Field(
        3.0,
        gt=0,
        description="its aggressive pace in the window over its pace in the whole session",
    )
    close_min_move_bp: float = Field(
        5.0,
        gt=0,
        description="the closing price moved at least this far its way from the mid at the "
        "window's start, bp",
    )

    # Quote stuffing: message-rate bursts.
    stuffing_min_messages: int = Field(
        20, ge=1, description="messages (orders, cancels, modifies) in one second and one book"
    )
    stuffing_multiple: float = Field(
        10.0,
        gt=0,
        description="and this many times the population's median rate per active second",
    )

    # Momentum ignition: a burst of aggressive orders that moves price, then the reversal.
    ignition_min_orders: int = Field(
        3, ge=2, description="aggressive orders on one side in a burst, at least"
    )
    ignition_gap_seconds: float = Field(
        30.0, gt=0, description="a burst's consecutive orders at most this far apart"
    )
    ignition_min_move_bp: float = Field(
        10.0, gt=0, description="the burst moved the last price at least this far its way, bp"
    )
    ignition_reversal_seconds: float = Field(
        300.0, gt=0, description="the owner trades the other way within this long after it"
    )
    ignition_reversal_share: float = Field(
        0.5, gt=0, description="for at least this share of the burst's units"
    )
    ignition_min_volume_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="the burst's units at least this share of the book's traded units while "
        "it lasted: the owner moved the price, rather than trading along with a market that did",
    )

    # Market makers' obligations.
    maker_kinds: tuple[str, ...] = Field(
        ("market_maker",), description="agents.parquet kinds whose quotes carry obligations"
    )
    obligation_min_breach_seconds: float = Field(
        300.0,
        ge=0,
        description="a breach is a period at least this long in which the maker's quotes miss "
        "its tier's spread or size",
    )
