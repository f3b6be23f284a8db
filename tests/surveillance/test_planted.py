"""The planted scenario scored: over three seeds every planted abuser is found by the detectors
that target its kind and no honest agent is flagged by any detector; the precision and recall
arithmetic; and the planted agents doing what they are planted to do."""

from __future__ import annotations

import polars as pl
import pytest

from sim.analytics.surveillance import ALERT_SCHEMA, DETECTOR_NAMES, surveil_result
from sim.studies.surveillance import TARGETS, planted_scores, precision_recall, score_run

TARGETED = [name for name in DETECTOR_NAMES if TARGETS[name]]


@pytest.fixture(scope="module")
def scores():
    return planted_scores(seeds=(1, 2, 3))


def test_every_planted_abuser_is_found_in_every_seed(scores):
    targeted = scores.filter(pl.col("detector").is_in(TARGETED))
    assert targeted.height == 3 * len(TARGETED)
    assert (targeted["planted"] == 1).all()
    assert targeted["found"].to_list() == targeted["planted"].to_list()
    assert (targeted["recall"] == 1.0).all()


def test_no_honest_agent_is_flagged(scores):
    assert scores["flagged_honest"].list.len().sum() == 0
    assert scores["false_positives"].sum() == 0


def test_precision_and_recall_pooled_over_the_seeds(scores):
    table = precision_recall(scores)
    assert table["detector"].to_list() == list(DETECTOR_NAMES)
    assert (table["seeds"] == 3).all()
    targeted = table.filter(pl.col("detector").is_in(TARGETED))
    assert targeted["precision"].to_list() == [1.0] * len(TARGETED)
    assert targeted["recall"].to_list() == [1.0] * len(TARGETED)
    assert (targeted["planted"] == 3).all() and (targeted["alerts"] > 0).all()
    # The close marker trades every day but does not always move the close.
    assert (targeted["day_recall"] > 0.5).all()
    untargeted = table.filter(~pl.col("detector").is_in(TARGETED))
    assert untargeted["alerts"].to_list() == [0] * untargeted.height
    assert untargeted["precision"].null_count() == untargeted["recall"].null_count() == 3


def test_scores_count_alerts_against_the_kinds_targeted():
    agents = pl.DataFrame({"agent": [1, 2, 3, 4], "kind": ["spoofer", "wash_trader", "retail",
                                                           "close_marker"]})  # fmt: skip
    day = 86_400 * 10**9
    rows = [("spoofing", 1, day), ("spoofing", 1, 2 * day), ("spoofing", 3, day),
            ("wash_trade", 1, day), ("layering", 1, day)]  # fmt: skip
    alerts = pl.DataFrame(
        [{"detector": d, "agent": a, "start": s, "end": s} for d, a, s in rows]
    ).with_columns(pl.lit(None, pl.String).alias(c) for c in ("client", "venue", "instrument"))
    trades = pl.DataFrame({"time": [day, 2 * day, 3 * day], "maker_agent": [1, 1, 1],
                           "taker_agent": [2, 3, 4]})  # fmt: skip
    got = {row["detector"]: row for row in score_run(alerts, agents, trades).iter_rows(named=True)}
    spoofing = got["spoofing"]
    assert (spoofing["alerts"], spoofing["true_positives"], spoofing["false_positives"]) == (
        3,
        2,
        1,
    )
    assert spoofing["precision"] == pytest.approx(2 / 3) and spoofing["recall"] == 1.0
    assert spoofing["flagged_honest"] == [3]
    assert (spoofing["active_days"], spoofing["flagged_days"]) == (3, 2)
    wash = got["wash_trade"]  # flagged the spoofer, missed the wash trader
    assert (wash["precision"], wash["recall"], wash["flagged_honest"]) == (0.0, 0.0, [])
    close = got["marking_the_close"]
    assert (close["alerts"], close["precision"], close["recall"]) == (0, None, 0.0)
    assert got["quote_stuffing"]["recall"] is None


def test_the_planted_agents_do_what_they_are_planted_to_do(planted_run):
    kinds = dict(planted_run.agents.select("agent", "kind").iter_rows())
    assert planted_run.metrics["ledger"]["conserved"]
    washer = next(a for a, k in kinds.items() if k == "wash_trader")
    own = planted_run.trades.filter(pl.col("maker_agent") == pl.col("taker_agent"))
    washes = own.filter(pl.col("maker_agent") == washer)
    assert washes.height > 10
    assert set(washes["maker_client"]) | set(washes["taker_client"]) == {1, 2}
    alerts = surveil_result(planted_run)
    assert alerts.schema == pl.Schema(ALERT_SCHEMA)
    flagged = {kinds[a] for a in alerts["agent"]}
    assert flagged == {"spoofer", "wash_trader", "close_marker"}
