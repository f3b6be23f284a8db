"""The stylized-facts comparison table: bondlab runs, LOBSTER days and ABIDES side by side."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.analytics.stylized import comparison_table, lobster_segments, stylized_facts

LOBSTER = Path(__file__).resolve().parents[3] / "shared" / "data" / "lobster"


def test_each_row_holds_its_samples_stylized_facts():
    rng = np.random.default_rng(4)
    fat = [rng.standard_t(3, 400), rng.standard_t(3, 300)]
    calm = [rng.normal(0, 1, 500)]
    table = comparison_table({"fat": fat, "calm": calm})
    assert table["series"].to_list() == ["ABIDES RMSC04 (design card)", "fat", "calm"]
    abides = table.row(0, named=True)
    assert (abides["n"], abides["excess_kurtosis"], abides["acf_1"]) == (None, 4.0, 0.27)
    for name, segments in (("fat", fat), ("calm", calm)):
        row = table.row(table["series"].to_list().index(name), named=True)
        facts = stylized_facts(segments)
        assert row["n"] == facts["n"] and row["excess_kurtosis"] == facts["excess_kurtosis"]
        assert row["acf_1"] == facts["acf_returns"]["1"]
        assert row["acf_2_5"] == [facts["acf_returns"][str(k)] for k in range(2, 6)]
        assert row["abs_acf_1_10"] == [facts["acf_abs_returns"][str(k)] for k in range(1, 11)]
    assert comparison_table({"calm": calm}, abides=False)["series"].to_list() == ["calm"]


@pytest.mark.skipif(not LOBSTER.exists(), reason="LOBSTER sample days are not on this machine")
def test_a_lobster_days_row():
    (message,) = sorted(LOBSTER.glob("AMZN_*_message_1.csv"))
    row = comparison_table({"AMZN": lobster_segments(message)}, abides=False).row(0, named=True)
    # As benchmarks/RESULTS.md reports the day: 389 one-minute returns, fat tails, no memory.
    assert row["n"] == 389
    assert row["excess_kurtosis"] == pytest.approx(3.36, abs=0.005)
    assert row["acf_1"] == pytest.approx(0.05, abs=0.005)
