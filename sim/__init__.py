"""bondlab's engine room: order book, venues, ledger, pricing and (soon) the simulation kernel.

`import sim` stays light: heavy packages (mlflow, lightgbm, cvxpy, fastapi, dask) are imported
inside the functions that need them.
"""

__version__ = "0.1.0"
