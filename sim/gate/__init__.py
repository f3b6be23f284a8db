"""The deployment gate (issue 17): a strategy is promoted only past its policy's thresholds,
and every decision, approval and rollback is kept in a tamper-evident log.

    policy      the gate's thresholds and suite (`gate.toml`)
    checks      a backtest against the policy (and the production version it would replace)
    decisions   the append-only, hash-chained decision log and the history it answers
"""
