"""bondlab's agent library: the market participants a scenario populates.

Each module defines one kind (its parameters, its decision rule and `build`) and exposes it as
`KIND`; pyproject.toml declares them as entry points of the group ``bondlab.agents``, which
is how `sim` finds them without importing this package.
"""
