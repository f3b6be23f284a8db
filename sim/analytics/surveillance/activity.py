"""A run's records laid out once for every detector: requests, order lives, fills by owner,
trades, quotes and the sessions, with the beneficial owner of each order and fill.

Input frames are the recorder's (`sim.records.recorder`): ``orders``, ``trades``, ``quotes``
and ``agents`` (agents.parquet). Categorical columns become strings. An order is keyed by
(venue, instrument, order_id): order ids are numbered per book.

**Beneficial owners.** The venue applies self-trade prevention per (account, client code) and
the ledger books every code to its account (`sim.market.venue`). Whether two codes of one
account are two owners depends on the account: an omnibus account holds a population of
investors, one client code each (agents.parquet gives it an ``investors`` count, as the retail
cohort's row has), and there each (account, code) is an owner of its own; any other account
is one owner whatever codes it sends, so its two codes on both sides of a trade are a wash.
``owner`` is the account for the latter and ``account + code * 2**32`` for an omnibus account's
investor (the venue's own key for that pair); ``owner_client`` is that investor's code as text
(null for an owner that is a whole account).

**The replayed market.** A replay day's recorded order flow (agents.parquet kind
``replay``, `UNATTRIBUTED_KINDS`) is the whole exchange's, many anonymous owners under one
account: its requests and fills are left out of ``requests``, ``lives`` and ``fills`` (there
is no owner to surveil), and kept in ``trades``, the market the agents traded in.

**Sessions.** A day's session runs from its first to its last recorded request or trade (the
records carry no calendar; a day is a calendar day of the run's clock).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from sim.analytics.surveillance.alerts import PriceFormat
from sim.units import NS_PER_DAY

OMNIBUS_COLUMN = "investors"  # agents.parquet: how many investors an omnibus account holds
UNATTRIBUTED_KINDS = ("replay",)  # agents.parquet kinds whose orders have no known owner
KEY = ("venue", "instrument", "order_id")  # an order
BOOK = ("venue", "instrument")
REQUEST_TYPES = ("cancel", "modify")  # orders.parquet types that are not new orders
_CLIENT_FACTOR = 2**32  # the venue's owner key: account + code * 2**32


@dataclass(frozen=True)
class Activity:
    """The frames the detectors read (see the module docstring).

    requests : orders.parquet, one row per request, with ``day``, ``owner``, ``owner_client``.
    lives : one row per order the venue accepted: its placement (``placed``, agent, owner,
        owner_client, side, type, tif, price, qty, status on arrival), ``cancelled_at`` (its
        owner's or the venue's cancel, null if none) and ``filled`` (units).
    fills : one row per side of each trade: trade_id, time, day, venue, instrument, price, qty,
        order_id, agent, owner, owner_client, side (+1 bought, -1 sold), aggressive (the taker).
    trades, quotes : as recorded, with strings; quotes with ``mid`` (null unless both sides).
    agents : agents.parquet as given.
    sessions : day, open, close (ns).
    prices : formats ticks for evidence.
    """

    requests: pl.DataFrame
    lives: pl.DataFrame
    fills: pl.DataFrame
    trades: pl.DataFrame
    quotes: pl.DataFrame
    agents: pl.DataFrame
    sessions: pl.DataFrame
    prices: PriceFormat


def prepare(
    orders: pl.DataFrame,
    trades: pl.DataFrame,
    quotes: pl.DataFrame,
    agents: pl.DataFrame,
    instruments: pl.DataFrame | None = None,
) -> Activity:
    """The detectors' frames from a run's orders, trades, quotes and agents tables;
    `instruments` (symbol, tick_size) lets evidence print prices."""
    omnibus = omnibus_accounts(agents)
    owned = ~pl.col("agent").is_in(unattributed_accounts(agents))
    requests = (
        _strings(orders)
        .filter(owned)
        .with_columns(day=pl.col("time") // NS_PER_DAY, **_owner("agent", "client", omnibus))
    )
    trades = _strings(trades).with_columns(day=pl.col("time") // NS_PER_DAY)
    fills = _fills(trades, omnibus).filter(owned)
    quotes = _strings(quotes).with_columns(
        mid=pl.when(pl.col("bid").is_not_null() & pl.col("ask").is_not_null()).then(
            (pl.col("bid") + pl.col("ask")) / 2
        )
    )
    times = pl.concat([requests.select("time"), trades.select("time")])
    sessions = (
        times.group_by(day=pl.col("time") // NS_PER_DAY)
        .agg(open=pl.col("time").min(), close=pl.col("time").max())
        .sort("day")
    )
    return Activity(
        requests=requests,
        lives=_lives(requests, fills),
        fills=fills,
        trades=trades,
        quotes=quotes,
        agents=agents,
        sessions=sessions,
        prices=PriceFormat(instruments),
    )


def omnibus_accounts(agents: pl.DataFrame) -> list[int]:
    """The accounts that hold a population of investors, one client code each."""
    if OMNIBUS_COLUMN not in agents.columns:
        return []
    return agents.filter(pl.col(OMNIBUS_COLUMN).is_not_null())["agent"].to_list()


def unattributed_accounts(agents: pl.DataFrame) -> list[int]:
    """The accounts whose orders belong to no known owner: a replayed market's."""
    kinds = pl.col("kind").cast(pl.String)
    return agents.filter(kinds.is_in(UNATTRIBUTED_KINDS))["agent"].to_list()


def _owner(account: str, client: str, omnibus: list[int]) -> dict[str, pl.Expr]:
    """``owner`` and ``owner_client`` of the rows' (account, client code)."""
    investor = pl.col(account).is_in(omnibus) & (pl.col(client) != 0)
    return {
        "owner": pl.when(investor)
        .then(pl.col(account) + pl.col(client).cast(pl.Int64) * _CLIENT_FACTOR)
        .otherwise(pl.col(account)),
        "owner_client": pl.when(investor).then(pl.col(client).cast(pl.String)),
    }


def _strings(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))


def _fills(trades: pl.DataFrame, omnibus: list[int]) -> pl.DataFrame:
    common = ["trade_id", "time", "day", "venue", "instrument", "price", "qty"]
    sides = []
    for role, side, aggressive in (("maker", -pl.col("aggressor_side"), False),
                                   ("taker", pl.col("aggressor_side"), True)):  # fmt: skip
        sides.append(
            trades.select(
                *common,
                order_id=pl.col(f"{role}_order_id"),
                agent=pl.col(f"{role}_agent"),
                client=pl.col(f"{role}_client"),
                side=side.cast(pl.Int8),
                aggressive=pl.lit(aggressive),
            ).with_columns(**_owner("agent", "client", omnibus))
        )
    return pl.concat(sides).sort("time", "trade_id", "aggressive", maintain_order=True)


def _lives(requests: pl.DataFrame, fills: pl.DataFrame) -> pl.DataFrame:
    new = requests.filter(
        ~pl.col("type").is_in(REQUEST_TYPES)
        & (pl.col("status") != "rejected")
        & (pl.col("order_id") > 0)
    ).select(
        *KEY, "agent", "owner", "owner_client", "side", "type", "tif", "price", "qty", "status",
        placed=pl.col("time"),
    )  # fmt: skip
    cancels = (
        requests.filter((pl.col("type") == "cancel") & (pl.col("status") == "cancelled"))
        .group_by(KEY)
        .agg(cancelled_at=pl.col("time").min())
    )
    filled = fills.group_by(KEY).agg(filled=pl.col("qty").sum())
    return (
        new.join(cancels, on=KEY, how="left")
        .join(filled, on=KEY, how="left")
        .with_columns(pl.col("filled").fill_null(0))
        .sort("placed", *KEY, maintain_order=True)
    )


def opposite_trades(episodes: pl.DataFrame, fills: pl.DataFrame, grace_ns: int) -> pl.DataFrame:
    """For each episode (``episode``, owner, instrument, side, start, end) the owner's trades
    on the other side, in any venue, from its start to `grace_ns` after its end: ``trade_ids``,
    ``traded`` (units), ``trades`` (count), ``low`` and ``high`` (prices). Episodes without
    any are left out."""
    own = fills.select(
        "owner", "instrument", "trade_id", "qty", "price",
        fill_time=pl.col("time"), fill_side=pl.col("side"),
    )  # fmt: skip
    return (
        episodes.select("episode", "owner", "instrument", "side", "start", "end")
        .join(own, on=["owner", "instrument"])
        .filter(
            (pl.col("fill_side") == -pl.col("side"))
            & pl.col("fill_time").is_between(pl.col("start"), pl.col("end") + grace_ns)
        )
        .group_by("episode")
        .agg(
            trade_ids=pl.col("trade_id").unique().sort(),
            traded=pl.col("qty").sum(),
            trades=pl.col("trade_id").n_unique(),
            low=pl.col("price").min(),
            high=pl.col("price").max(),
        )
    )


def median_sizes(lives: pl.DataFrame) -> pl.DataFrame:
    """The median size of the new orders in each book (venue, instrument, ``median_qty``):
    the population's norm that "large" is measured against."""
    return lives.group_by(BOOK).agg(median_qty=pl.col("qty").median())
