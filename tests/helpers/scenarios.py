"""A small scenario for kernel and agent tests: one bond, one venue, a short session."""

from __future__ import annotations

from pathlib import Path

SMALL_SCENARIO = """
[run]
name = "small"
seed = 1

[calendar]
start = 2024-01-02
days = {days}
open = "09:30"
close = "10:30"

[[instruments]]
symbol = "ABM"
tick_size = "0.01"
unit_face_value = 100
reference_price = "100.00"

[[venues]]
name = "EXCH"
settlement_lag_days = {lag}
[venues.fees]
maker_bps = 0
taker_bps = 1
[venues.latency]
base_us = 50
jitter_us = 20

[fundamentals]
kind = "mean_reverting"
kappa_per_second = 1e-4
sigma_s = 0.01

[recording]
book_interval_seconds = 60

[retail]
count = 60
arrivals_per_day = 10
cash_rupees = 100_000
units = 100

[value]
count = 8
arrival_interval_seconds = 60
observation_noise = 20
units = 200

[momentum]
count = 2
interval_seconds = 10
short_window = 3
long_window = 6
units = 100

[market_maker]
count = 1
quote_size = 20
units = 2000
requote_seconds = 5
"""


def small_scenario(tmp_path: Path, days: int = 1, lag: int = 0) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL_SCENARIO.format(days=days, lag=lag))
    return path
