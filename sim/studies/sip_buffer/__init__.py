"""The SIP buffer-sizing study (issue 19): how large a share of SIP inflows the platform's
liquidity-recycling pool must keep to absorb a target share of early exits, in a calm market
and in covid_2020's redemption wave, with confidence intervals over seeds; and which levers
move absorption (Sobol indices).

    from sim.studies.sip_buffer import plan_study, run_study
    result = run_study(plan_study(seeds=20), "results/studies/sip_buffer", workers=2)
    result.table, result.crossings, result.sobol

``bondlab study sip-buffer`` is the same from the command line. Built on the sweep engine
(`sim.studies.sweep`); modules, one concept each: `conditions` (the market and its two
conditions), `table` (outcomes per run and their means with CIs), `crossing` (the smallest
share reaching the target, bootstrap CI), `sobol` (the sensitivity design and indices, SALib),
`figures` (matplotlib), `study` (planning, running, writing).
"""

from sim.studies.sip_buffer.study import (
    StudyError,
    StudyPlan,
    StudyResult,
    StudySpec,
    carry_rate_of,
    plan_study,
    run_study,
    write_study,
)

__all__ = [
    "StudyError",
    "StudyPlan",
    "StudyResult",
    "StudySpec",
    "carry_rate_of",
    "plan_study",
    "run_study",
    "write_study",
]
