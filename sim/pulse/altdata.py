"""Simulated alternative data: an issuer's "traffic", "utilities" and "sentiment", noisy
observations of its latent credit state, so that they carry real but imperfect information, as
alternative data do.

On trading day d an issuer's latent state is the mean credit adjustment of its bonds
(`sim.pulse.credit`'s ``latent_bp``: the credit factor, spread shocks and contagion), or
`AltDataParams.default_bp` once it is in default. Each signal is

    signal = -latent_bp / scale_bp + noise_sd * e,   e ~ N(0, 1), independent

so higher is healthier, in units of about the latent state's calm standard deviation
(`scale_bp` 10 bp, against some 12 bp for the credit factor's; the noise sds are 1, 1.5 and 2:
traffic tracks credit best, sentiment worst). The fundamentals have one credit factor common
to every bond, so in a calm run every issuer's latent state is the same and the signals tell
issuers apart by their noise alone; spread shocks by sector or rating, defaults and their
contagion are what set issuers apart (a rating's own spread is not part of the latent state:
the rating features carry it).

The draws come from a generator of their own, seeded from the run's seed (a
`numpy.random.SeedSequence` with the Pulse's spawn key, apart from the run's own streams) and
taken in (day, issuer) order: the same run gives the same signals, and nothing global is
touched.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from sim.pulse.params import AltDataParams

SIGNALS = ("traffic", "utilities", "sentiment")
# "PULSE" in ASCII: a spawn key no run's own SeedSequence.spawn reaches.
_SPAWN_KEY = (0x50554C5345,)


def generator(seed: int) -> np.random.Generator:
    """The alternative data's generator for a run of `seed`."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=_SPAWN_KEY))


def alt_data(latent: pl.DataFrame, seed: int, params: AltDataParams) -> pl.DataFrame:
    """`latent` (day, issuer, latent_bp: null in default) with the three signals."""
    rows = latent.sort("day", "issuer").with_columns(
        pl.col("latent_bp").fill_null(params.default_bp)
    )
    noise = generator(seed).standard_normal((rows.height, len(SIGNALS)))
    state = -rows["latent_bp"].to_numpy() / params.scale_bp
    sds = [getattr(params, f"{name}_noise") for name in SIGNALS]
    return rows.with_columns(
        pl.Series(name, state + sd * noise[:, i])
        for i, (name, sd) in enumerate(zip(SIGNALS, sds, strict=True))
    )
