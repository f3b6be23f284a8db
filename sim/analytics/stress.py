"""What a stress did to the market, measured from a run's records: the emergent outcomes that
stress scenarios are calibrated on and that `bondlab compare` puts side by side.

Days are the run's trading days, 0-based as a scenario's shocks count them; a record belongs to
the last session that opened at or before it. The **stress window** runs from the open of
`shock_day` (by default the earliest shock's day in the run's scenario) for `days` trading
days, or to the end of the run (the default); the **reference** is the `pre_days` trading days
before it (fewer when the run starts later). A run without a shock has no window, and a shock
on day 0 no reference: what needs them is None, as is anything the run has no records for (no
two-sided book, no SIP cohort, ...).

Market, from the records (prices in ticks, quantities in units, as recorded):

- quoted spread: the day's median of (ask - bid) / mid in bp over every book snapshot (each
  venue and bond) with both sides quoted; ``spread_multiple`` is the window's widest day over
  the reference days' mean;
- depth: the day's mean over book snapshots of the quantity in each book's best 5 levels, both
  sides, a book with nothing in it counting 0 until its bond's maturity date; the multiple is
  the window's shallowest day over the reference mean;
- traded volume: the day's traded face value (units x unit face value, rupees), 0 on a day
  without trades; ``volume_multiple`` is the window's busiest day over the reference mean and
  ``turnover_multiple`` its mean day over the reference mean;
- fair yield and credit spread moves (bp), by rating grade (ratings at the start of the run,
  notches pooled, unrated as BIG) and over all bonds: at each publication in the window the
  grade's mean move of its bonds from their last values before the window; the move of
  largest size, with its sign;
- drawdown (%) of the lower-rated bonds (A and below): each bond's deepest fall in the window
  of its mid (the mean over the venues quoting both sides at a book snapshot) below its
  highest mid since the start of the reference; the median over those bonds;
- discount to fair value (bp of the fair clean price) of the lower-rated bonds: each window
  day's median of (fair clean price - traded price) over their trades, at the valuation in
  force; the largest (negative when they traded above fair value throughout);
- fire-sale yield (bp) of the AAA bonds: each window day's median of how far their sales into
  the book (the aggressor sold) yielded above the fair clean price in force, both as yields to
  maturity settling that day (the pricing engine's); the largest.

Populations:

- SIP: ``sip_absorption`` is the cohorts' own figure over the run (units the pool bought over
  units investors asked to sell, metrics.json); ``sip_absorption_window`` the share of the
  exit units handled in the window that the pool bought (its purchases in `transfers`) rather
  than the book (the cohorts' sales in `trades`); exits still open are in neither;
- repo: margin calls over the run (metrics.json: the records hold no per-day count) and
  collateral sold by lenders in forced sales, units, over the run and in the window (trades);
- market makers: presence, the share of a maker's quote checks that met its tier obligations,
  averaged over the makers, over the run only (metrics.json: checks are not recorded by day).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Literal

import polars as pl

from sim.analytics.realism import GRADE
from sim.market.calendar import TradingCalendar
from sim.units import NS_PER_DAY

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()  # trading times count from it, naive wall time

GRADES = ("AAA", "AA", "A", "BBB", "BIG")  # ratings with notches pooled, best first
LOWER_GRADES = ("A", "BBB", "BIG", "D")
TOP_LEVELS = 5


@dataclass(frozen=True)
class StressWindow:
    """A run's trading days around a stress: `opens` are the sessions' opens (ns), one per
    trading day; `shock_day` (None: no stress) opens the window and the `pre_days` days before
    it are the reference."""

    opens: tuple[int, ...]
    shock_day: int | None
    pre_days: int = 5
    days: int | None = None  # the window's length in trading days (None: to the run's end)

    def __post_init__(self) -> None:
        if self.pre_days < 1:
            raise ValueError(f"pre_days must be at least 1, got {self.pre_days}")
        if self.days is not None and self.days < 1:
            raise ValueError(f"days must be at least 1, got {self.days}")
        if self.shock_day is not None and not 0 <= self.shock_day < len(self.opens):
            raise ValueError(
                f"shock_day must be a trading day of the run, 0 to {len(self.opens) - 1}, "
                f"got {self.shock_day}"
            )

    @property
    def reference_days(self) -> range:
        """The trading days the window is compared with (empty without a shock)."""
        if self.shock_day is None:
            return range(0)
        return range(max(self.shock_day - self.pre_days, 0), self.shock_day)

    @property
    def start_ns(self) -> int | None:
        """The open of the first day of the window."""
        return None if self.shock_day is None else self.opens[self.shock_day]

    @property
    def end_day(self) -> int:
        """The first trading day after the window (the run's day count when it runs to the
        end)."""
        if self.shock_day is None or self.days is None:
            return len(self.opens)
        return min(self.shock_day + self.days, len(self.opens))

    def has_day(self, day: pl.Expr) -> pl.Expr:
        """Whether trading day `day` is in the window."""
        return (day >= self.shock_day) & (day < self.end_day)

    def has_time(self, time: pl.Expr) -> pl.Expr:
        """Whether a record's `time` (ns) falls in the window."""
        if self.end_day == len(self.opens):
            return time >= self.start_ns
        return (time >= self.start_ns) & (time < self.opens[self.end_day])


def stress_window(
    result, *, shock_day: int | None = None, pre_days: int = 5, days: int | None = None
) -> StressWindow:
    """The stress window of a `sim.Result`: its trading days from the manifest's scenario,
    `shock_day` or else the day of its earliest shock (None when it has none), and `days` of
    it (None: to the run's end)."""
    scenario = result.manifest["scenario"]
    spec = scenario["calendar"]
    calendar = TradingCalendar(
        date.fromisoformat(spec["start"]),
        spec["days"],
        time.fromisoformat(spec["open"]),
        time.fromisoformat(spec["close"]),
        tuple(date.fromisoformat(day) for day in spec.get("holidays", ())),
    )
    opens = tuple(calendar.session(day)[0] for day in range(calendar.days))
    if shock_day is None:
        shock_day = min((shock["day"] for shock in scenario.get("shocks", ())), default=None)
    return StressWindow(opens, shock_day, pre_days, days)


def with_trading_day(frame: pl.DataFrame, window: StressWindow) -> pl.DataFrame:
    """`frame` with a ``day`` column: the trading day of each row's ``time`` (-1 before the
    first open)."""
    opens = pl.Series("open", window.opens, dtype=pl.Int64)
    day = opens.search_sorted(frame["time"], side="right").cast(pl.Int64) - 1
    return frame.with_columns(day.alias("day"))


def _symbols(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("instrument").cast(pl.String))


def _grades(instruments: pl.DataFrame) -> pl.DataFrame:
    return instruments.select(pl.col("symbol").cast(pl.String).alias("instrument"), GRADE)


def _top_of_book(book: pl.DataFrame) -> pl.DataFrame:
    """Best bid and ask (ticks) of every snapshot of every book where both are quoted."""
    return (
        _symbols(book)
        .filter(pl.col("level") == 1)
        .group_by("time", "venue", "instrument")
        .agg(
            bid=pl.col("price").filter(pl.col("side") == 1).first(),
            ask=pl.col("price").filter(pl.col("side") == -1).first(),
        )
        .drop_nulls(["bid", "ask"])
    )


# --- daily series and the multiples over the reference ------------------------------------


def daily_quoted_spread(book: pl.DataFrame, window: StressWindow) -> pl.DataFrame:
    """(day, spread_bp): the median quoted spread, bp of mid, over the day's two-sided
    snapshots of every book; days without one are absent."""
    top = _top_of_book(book)
    spread = (pl.col("ask") - pl.col("bid")) / ((pl.col("ask") + pl.col("bid")) / 2) * 1e4
    return (
        with_trading_day(top.select("time", spread.alias("spread_bp")), window)
        .group_by("day")
        .agg(pl.col("spread_bp").median())
        .sort("day")
    )


def daily_depth(
    book: pl.DataFrame,
    instruments: pl.DataFrame,
    window: StressWindow,
    levels: int = TOP_LEVELS,
) -> pl.DataFrame:
    """(day, depth): units in the best `levels` levels of both sides, the mean over the day's
    snapshots of every book. An empty book records no rows, so each venue's snapshot times are
    crossed with every book it ever showed, an absent one counting 0, until its bond's
    maturity date (`instruments`: symbol, maturity)."""
    book = _symbols(book)
    shown = (
        book.filter(pl.col("level") <= levels)
        .group_by("time", "venue", "instrument")
        .agg(pl.col("qty").sum().alias("depth"))
    )
    matures = instruments.select(
        pl.col("symbol").cast(pl.String).alias("instrument"),
        pl.col("maturity").cast(pl.Datetime("ns")).cast(pl.Int64).alias("matures"),
    )
    grid = (
        book.select("time", "venue")
        .unique()
        .join(book.select("venue", "instrument").unique(), on="venue")
        .join(matures, on="instrument", how="left")
        .filter(pl.col("matures").is_null() | (pl.col("time") < pl.col("matures")))
    )
    cells = grid.join(shown, on=["time", "venue", "instrument"], how="left")
    cells = cells.with_columns(pl.col("depth").fill_null(0))
    return with_trading_day(cells, window).group_by("day").agg(pl.col("depth").mean()).sort("day")


def daily_volume(
    trades: pl.DataFrame, instruments: pl.DataFrame, window: StressWindow
) -> pl.DataFrame:
    """(day, face_rupees): the face value traded on each trading day (0 without trades)."""
    faces = instruments.select(
        pl.col("symbol").cast(pl.String).alias("instrument"),
        pl.col("unit_face_value").cast(pl.Float64),
    )
    traded = (
        with_trading_day(_symbols(trades).join(faces, on="instrument"), window)
        .group_by("day")
        .agg((pl.col("qty") * pl.col("unit_face_value")).sum().alias("face_rupees"))
    )
    days = pl.DataFrame({"day": range(len(window.opens))}, schema={"day": pl.Int64})
    return days.join(traded, on="day", how="left").with_columns(
        pl.col("face_rupees").fill_null(0.0)
    )


def multiple(
    daily: pl.DataFrame, column: str, window: StressWindow, worst: Literal["max", "min", "mean"]
) -> float | None:
    """The window's worst day of `daily[column]` (`worst`: "max" or "min"; "mean": its mean
    day) over the mean of the reference days; None without both, or when the reference mean
    is 0."""
    if window.shock_day is None:
        return None
    days = pl.col("day")
    reference = daily.filter(days.is_in(list(window.reference_days)))[column].mean()
    stressed = daily.filter(window.has_day(days))[column]
    if not reference or stressed.is_empty():
        return None
    return float(getattr(stressed, worst)() / reference)


def spread_multiple(book: pl.DataFrame, window: StressWindow) -> float | None:
    """Widest daily median quoted spread in the window over its reference mean."""
    return multiple(daily_quoted_spread(book, window), "spread_bp", window, "max")


def depth_multiple(
    book: pl.DataFrame, instruments: pl.DataFrame, window: StressWindow, levels: int = TOP_LEVELS
) -> float | None:
    """Shallowest daily mean top-`levels` depth in the window over its reference mean."""
    return multiple(daily_depth(book, instruments, window, levels), "depth", window, "min")


def volume_multiple(
    trades: pl.DataFrame, instruments: pl.DataFrame, window: StressWindow
) -> float | None:
    """Busiest day's traded face value in the window over its reference mean."""
    return multiple(daily_volume(trades, instruments, window), "face_rupees", window, "max")


def turnover_multiple(
    trades: pl.DataFrame, instruments: pl.DataFrame, window: StressWindow
) -> float | None:
    """The window's mean daily traded face value over its reference mean: how busy the market
    stayed (a month's turnover against the weeks before, as exchanges report it)."""
    return multiple(daily_volume(trades, instruments, window), "face_rupees", window, "mean")


# --- fair values ----------------------------------------------------------------------------


def _peak_moves(
    fair_values: pl.DataFrame, value: pl.Expr, instruments: pl.DataFrame, window: StressWindow
) -> dict[str, float | None]:
    """{"all", *GRADES: the signed largest mean move of `value` (bp) at a publication in the
    window from each bond's last value before it}."""
    empty: dict[str, float | None] = dict.fromkeys(("all", *GRADES))
    if window.shock_day is None:
        return empty
    published = (
        _symbols(fair_values)
        .select("time", "instrument", value.alias("value"))
        .drop_nulls("value")  # a bond without a yield or spread (not priced as a bond)
        # Publications sharing a time (the open's, then a shock's) stay apart, in order.
        .with_columns(pl.int_range(pl.len()).over("instrument", "time").alias("nth"))
    )
    before = published.filter(pl.col("time") < window.start_ns)
    base = before.group_by("instrument").agg(pl.col("value").last().alias("base"))
    moves = (
        published.filter(window.has_time(pl.col("time")))
        .join(base, on="instrument")
        .join(_grades(instruments), on="instrument")
        .with_columns((pl.col("value") - pl.col("base")).alias("move"))
    )
    peaks = empty
    for grade in peaks:
        rows = moves if grade == "all" else moves.filter(pl.col("grade") == grade)
        means = rows.group_by("time", "nth").agg(pl.col("move").mean()).sort("time", "nth")
        move = means["move"]
        peaks[grade] = None if move.is_empty() else float(move[move.abs().arg_max()])
    return peaks


def yield_moves(
    fair_values: pl.DataFrame, instruments: pl.DataFrame, window: StressWindow
) -> dict[str, float | None]:
    """Peak move of fair yields (bp) in the window, over all bonds and by grade."""
    return _peak_moves(fair_values, pl.col("fair_yield") * 1e4, instruments, window)


def credit_spread_moves(
    fair_values: pl.DataFrame, instruments: pl.DataFrame, window: StressWindow
) -> dict[str, float | None]:
    """Peak move of fair credit spreads (bp) in the window, over all bonds and by grade."""
    return _peak_moves(fair_values, pl.col("spread_bp"), instruments, window)


# --- lower-rated bonds ----------------------------------------------------------------------


def _lower_rated(instruments: pl.DataFrame, grades: Sequence[str]) -> pl.DataFrame:
    return _grades(instruments).filter(pl.col("grade").is_in(list(grades))).select("instrument")


def drawdown_pct(
    book: pl.DataFrame,
    instruments: pl.DataFrame,
    window: StressWindow,
    grades: Sequence[str] = LOWER_GRADES,
) -> float | None:
    """Median over the bonds of `grades` of each one's deepest fall (%) in the window of its
    mid below its highest mid since the reference began."""
    if window.shock_day is None:
        return None
    mids = (
        _top_of_book(book)
        .join(_lower_rated(instruments, grades), on="instrument")
        .group_by("time", "instrument")
        .agg(((pl.col("bid") + pl.col("ask")) / 2).mean().alias("mid"))
    )
    first = window.reference_days.start if window.reference_days else window.shock_day
    falls = (
        with_trading_day(mids, window)
        .filter(pl.col("day") >= first)
        .sort("time")
        .with_columns(peak=pl.col("mid").cum_max().over("instrument"))
        .filter(window.has_day(pl.col("day")))
        .group_by("instrument")
        .agg(((1 - pl.col("mid") / pl.col("peak")) * 100).max().alias("fall"))
    )
    return None if falls.is_empty() else float(falls["fall"].median())


def _traded_at_fair(
    trades: pl.DataFrame,
    fair_values: pl.DataFrame,
    instruments: pl.DataFrame,
    window: StressWindow,
    grades: Sequence[str],
) -> pl.DataFrame:
    """The window's trades in bonds of `grades`, each with its clean ``price`` (per 100 face),
    its ``aggressor_side``, the fair clean price in force and its ``day``."""
    ticks = instruments.select(
        pl.col("symbol").cast(pl.String).alias("instrument"),
        pl.col("tick_size").cast(pl.Float64),
    )
    fair = _symbols(fair_values).select("time", "instrument", "fair_clean_price").sort("time")
    priced = (
        _symbols(trades)
        .filter(window.has_time(pl.col("time")))
        .join(_lower_rated(instruments, grades), on="instrument")
        .join(ticks, on="instrument")
        .with_columns((pl.col("price") * pl.col("tick_size")).alias("price"))
        .select("time", "instrument", "price", "aggressor_side")
        .sort("time")
        .join_asof(
            fair,
            on="time",
            by="instrument",
            strategy="backward",
            check_sortedness=False,  # both sorted by time, so each instrument's rows are too
        )
        .drop_nulls("fair_clean_price")
    )
    return with_trading_day(priced, window)


def discount_to_fair_bp(
    trades: pl.DataFrame,
    fair_values: pl.DataFrame,
    instruments: pl.DataFrame,
    window: StressWindow,
    grades: Sequence[str] = LOWER_GRADES,
) -> float | None:
    """Largest daily median, over the window, of how far the bonds of `grades` traded below
    the fair clean price in force (bp of it; negative above it)."""
    if window.shock_day is None:
        return None
    priced = _traded_at_fair(trades, fair_values, instruments, window, grades)
    fair_price = pl.col("fair_clean_price")
    discount = (fair_price - pl.col("price")) / fair_price * 1e4
    daily = priced.group_by("day").agg(discount.median().alias("discount"))
    return None if daily.is_empty() else float(daily["discount"].max())


def fire_sale_yield_bp(
    trades: pl.DataFrame,
    fair_values: pl.DataFrame,
    instruments: pl.DataFrame,
    window: StressWindow,
    grades: Sequence[str] = ("AAA",),
) -> float | None:
    """Largest daily median, over the window, of how far the sales of bonds of `grades` into
    the book (trades whose aggressor sold) yielded above the fair clean price in force (bp;
    negative below it). Both yields are the bond's yield to maturity at the clean price,
    settling on the trade's day; a price with no yield (a defaulted bond's, say) is left out."""
    if window.shock_day is None:
        return None
    priced = _traded_at_fair(trades, fair_values, instruments, window, grades).filter(
        pl.col("aggressor_side") == -1
    )
    bonds = _bonds(instruments)
    # Prices sit on a tick grid and valuations change a few times a day: solve each
    # (day, bond, price) once.
    traded = priced.select("day", "instrument", "price").unique()
    valued = priced.select("day", "instrument", pl.col("fair_clean_price").alias("price")).unique()
    solved = pl.concat([traded, valued]).unique()
    yields = [
        _yield(bonds.get(symbol), price, _date_of(window.opens[day]))
        for day, symbol, price in solved.iter_rows()
    ]
    solved = solved.with_columns(pl.Series("ytm", yields, dtype=pl.Float64))
    premium = (
        priced.join(solved, on=["day", "instrument", "price"])
        .join(
            solved.rename({"price": "fair_clean_price", "ytm": "fair_ytm"}),
            on=["day", "instrument", "fair_clean_price"],
        )
        .select("day", ((pl.col("ytm") - pl.col("fair_ytm")) * 1e4).alias("premium"))
        .drop_nulls("premium")
    )
    daily = premium.group_by("day").agg(pl.col("premium").median())
    return None if daily.is_empty() else float(daily["premium"].max())


def _date_of(t_ns: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + t_ns // NS_PER_DAY)


def _bonds(instruments: pl.DataFrame) -> dict:
    """symbol -> `sim.pricing.Bond`, for the instruments with bond terms."""
    from sim.pricing import Bond

    if not {"issue", "maturity", "coupon", "frequency", "day_count"} <= set(instruments.columns):
        return {}
    return {
        row["symbol"]: Bond(
            issue=row["issue"],
            maturity=row["maturity"],
            coupon=row["coupon"],
            frequency=row["frequency"],
            day_count=row["day_count"],
        )
        for row in instruments.with_columns(pl.col("symbol").cast(pl.String))
        .drop_nulls(["issue", "maturity", "coupon", "frequency", "day_count"])
        .iter_rows(named=True)
    }


def _yield(bond, clean: float, settle: date) -> float | None:
    """`bond`'s yield to maturity at `clean`, None where there is none."""
    from sim.pricing import PricingError

    if bond is None:
        return None
    try:
        return bond.yield_from_price(clean, settle)
    except (PricingError, ValueError):  # no yield at that price, or settling at maturity
        return None


# --- populations ----------------------------------------------------------------------------


def _accounts(agents: pl.DataFrame, kind: str) -> list[int]:
    return agents.filter(pl.col("kind").cast(pl.String) == kind)["agent"].to_list()


def _sold_by(trades: pl.DataFrame, accounts: list[int]) -> pl.DataFrame:
    """The trades in which one of `accounts` sold."""
    seller = pl.when(pl.col("aggressor_side") == 1).then("maker_agent").otherwise("taker_agent")
    return trades.filter(seller.is_in(accounts))


def sip_absorption(metrics: dict) -> float | None:
    """Share of the early-exit units asked for over the run that SIP pools bought."""
    return metrics.get("sip", {}).get("absorption_rate_units")


def sip_absorption_window(
    transfers: pl.DataFrame, trades: pl.DataFrame, agents: pl.DataFrame, window: StressWindow
) -> float | None:
    """Share of the exit units handled in the window that the pools bought: pool purchases
    over pool purchases plus the cohorts' sales on the book."""
    pools, cohorts = _accounts(agents, "sip_pool"), _accounts(agents, "sip")
    if window.shock_day is None or not cohorts:
        return None
    in_window = window.has_time(pl.col("time"))
    # A pool buying an exit pays the cohort (source -> target) and takes its units.
    bought = transfers.filter(
        in_window
        & (pl.col("kind").cast(pl.String) == "transfer")
        & pl.col("source").is_in(pools)
        & pl.col("target").is_in(cohorts)
    )["qty"].sum()
    sold = _sold_by(trades.filter(in_window), cohorts)["qty"].sum()
    return bought / (bought + sold) if bought + sold else None


def margin_calls(metrics: dict) -> int | None:
    """Margin calls the repo lenders made over the run."""
    return metrics.get("repo", {}).get("margin_calls")


def forced_sale_units(metrics: dict) -> int | None:
    """Units of collateral repo lenders sold in forced sales over the run."""
    return metrics.get("repo", {}).get("forced_sale_units")


def forced_sale_units_window(
    trades: pl.DataFrame, agents: pl.DataFrame, window: StressWindow
) -> int | None:
    """Units repo lenders sold in the window: they sell only to recover what a repo owes."""
    lenders = _accounts(agents, "repo_lender")
    if window.shock_day is None or not lenders:
        return None
    in_window = trades.filter(window.has_time(pl.col("time")))
    return int(_sold_by(in_window, lenders)["qty"].sum())


def maker_presence(metrics: dict) -> float | None:
    """Mean over the market makers of their presence over the run."""
    makers = metrics.get("market_makers", {})
    shares = [v for k, v in makers.items() if k.endswith("_presence") and v is not None]
    return sum(shares) / len(shares) if shares else None


# --- all of it ------------------------------------------------------------------------------


def stress_outcomes(
    result, *, shock_day: int | None = None, pre_days: int = 5, days: int | None = None
) -> dict[str, float | int | None]:
    """Every outcome above for a `sim.Result`, as one flat dict: the window's ``shock_day`` and
    number of ``reference_days``; ``spread_multiple``, ``depth_multiple``,
    ``volume_multiple``, ``turnover_multiple``; ``yield_move_bp`` and
    ``credit_spread_move_bp`` (all bonds) and ``..._<grade>``; ``drawdown_pct`` and
    ``discount_to_fair_bp`` (lower-rated bonds); ``fire_sale_yield_bp`` (AAA bonds);
    ``sip_absorption``, ``sip_absorption_window``; ``margin_calls``, ``forced_sale_units``,
    ``forced_sale_units_window``; ``maker_presence``."""
    window = stress_window(result, shock_day=shock_day, pre_days=pre_days, days=days)
    book, trades, fair = result.book, result.trades, result.fair_values
    instruments, agents, metrics = result.instruments, result.agents, result.metrics
    moves = {
        "yield_move_bp": yield_moves(fair, instruments, window),
        "credit_spread_move_bp": credit_spread_moves(fair, instruments, window),
    }
    return {
        "shock_day": window.shock_day,
        "reference_days": len(window.reference_days),
        "spread_multiple": spread_multiple(book, window),
        "depth_multiple": depth_multiple(book, instruments, window),
        "volume_multiple": volume_multiple(trades, instruments, window),
        "turnover_multiple": turnover_multiple(trades, instruments, window),
        **{
            name if grade == "all" else f"{name}_{grade}": move
            for name, by_grade in moves.items()
            for grade, move in by_grade.items()
        },
        "drawdown_pct": drawdown_pct(book, instruments, window),
        "discount_to_fair_bp": discount_to_fair_bp(trades, fair, instruments, window),
        "fire_sale_yield_bp": fire_sale_yield_bp(trades, fair, instruments, window),
        "sip_absorption": sip_absorption(metrics),
        "sip_absorption_window": sip_absorption_window(result.transfers, trades, agents, window),
        "margin_calls": margin_calls(metrics),
        "forced_sale_units": forced_sale_units(metrics),
        "forced_sale_units_window": forced_sale_units_window(trades, agents, window),
        "maker_presence": maker_presence(metrics),
    }
