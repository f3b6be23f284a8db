"""What a run leaves behind: the recorder's columnar buffers, the run's summary (agents,
metrics, manifest), the atomic writer of results folders and `Result`, which reads one back;
and what a regulator checks it with: the audit trail (`audit`), trade receipts (`receipts`)
and verification by re-run (`verify`).

    from sim.records import Result
"""

from sim._lazy import lazy_exports

_EXPORTS = {
    "Result": "result",
    "ResultError": "result",
    "write_run": "store",
    "Recorder": "recorder",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
