"""What pyproject.toml cannot say: the scenario library ships inside the package.

The scenario files live at the top of the repository (``scenarios/``), as the design card
fixes; a wheel carries them as ``sim/scenario/shipped/``, where `sim.scenario.library` finds
them in an installed bondlab (and falls back to ``scenarios/`` in a checkout). The gate's
shipped policy, ``sim/gate/gate.toml``, and the report's jinja2 templates travel with their
packages.
"""

from setuptools import find_packages, setup

SHIPPED = "sim.scenario.shipped"
TEMPLATES = "sim.presentation.report.templates"  # a folder of data: named, or setuptools warns

setup(
    packages=[*find_packages(include=["sim*", "agents*", "strategies*"]), SHIPPED, TEMPLATES],
    package_dir={SHIPPED: "scenarios"},
    package_data={
        SHIPPED: ["*.toml"],
        "sim.gate": ["gate.toml"],
        TEMPLATES: ["*.j2"],
    },
)
