"""An installed bondlab works outside the repository: its wheel carries the shipped scenarios, and
`bondlab run baseline` finds them by name.

Cheap by design: the wheel is built with this environment's setuptools (no network, no build
isolation) from a copy of the sources, then installed without dependencies into a new venv,
which sees this environment's packages through a .pth file. The run is a reduced baseline, and
the new copy of the numba kernels starts from the checkout's cache (numba keys a cache on its
source's mtime and size, and compiles again whatever does not match).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import sim
from sim.scenario import library

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "README.md", "sim", "agents", "strategies", "scenarios")
PACKAGES = ("sim", "agents", "strategies")
SMALL = [
    "calendar.days=1",
    "universe.count=3",
    "retail.count=40",
    "value.count=6",
    "sip.investors=300",
    "repo.count=3",
    'calendar.close="10:15"',
]


def _run(command, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc", "*.egg-info")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", root, source])
    (built,) = root.glob("bondlab-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A venv holding bondlab installed from its wheel, and this environment's packages."""
    root = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", root])
    python = root / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python]
    # Installed before the .pth below, so that pip sees no other bondlab.
    _run([*pip, "install", "--no-deps", "--no-index", wheel])
    site = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
        ).stdout.strip()
    )
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "bondlab-test-environment.pth").write_text("\n".join(sorted(ours)) + "\n")
    _seed_numba_cache(site)
    return root


def _seed_numba_cache(site: Path) -> None:
    """Copy the checkout's numba caches beside the installed kernels that are the same code."""
    sim.run(sim.load_scenario("baseline", SMALL), out=None)  # the checkout's caches are current
    for package in PACKAGES:
        for installed in (site / package).rglob("*.py"):
            checkout = REPO / installed.relative_to(site)
            cache = checkout.parent / "__pycache__"
            if not cache.is_dir() or checkout.read_bytes() != installed.read_bytes():
                continue
            files = [*cache.glob(f"{checkout.stem}.*.nbi"), *cache.glob(f"{checkout.stem}.*.nbc")]
            if not files:
                continue
            (installed.parent / "__pycache__").mkdir(exist_ok=True)
            for file in files:
                shutil.copy2(file, installed.parent / "__pycache__" / file.name)
            stat = checkout.stat()
            os.utime(installed, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def _outside_the_repo(tmp_path) -> dict:
    return {"cwd": tmp_path, "env": {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}}


def test_the_wheel_ships_every_package_and_scenario(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in PACKAGES:
        for init in (REPO / package).rglob("__init__.py"):
            assert init.relative_to(REPO).as_posix() in names
    for scenario in (REPO / "scenarios").glob("*.toml"):
        assert f"sim/scenario/shipped/{scenario.name}" in names
    assert not any(name.startswith("scenarios/") for name in names)
    assert "sim/gate/gate.toml" in names  # the gate's shipped policy
    assert "sim/presentation/report/templates/report.html.j2" in names  # the report's page


def test_the_installed_copy_is_the_one_imported(venv, tmp_path):
    code = (
        "import sim, agents\nfrom sim.scenario import library\n"
        "print(sim.__file__, agents.__file__, library.folder())"
    )
    done = _run([venv / "bin" / "python", "-c", code], **_outside_the_repo(tmp_path))
    for path in done.stdout.split():
        assert Path(path).is_relative_to(venv), path


def test_scenarios_list_shows_the_shipped_names(venv, tmp_path):
    done = _run([venv / "bin" / "bondlab", "scenarios", "list"], **_outside_the_repo(tmp_path))
    listed = [line.split()[0] for line in done.stdout.splitlines()]
    assert listed == library.names() and "baseline" in listed


def test_bondlab_runs_a_shipped_scenario_by_name(venv, tmp_path):
    out = tmp_path / "runs"
    overrides = [arg for override in SMALL for arg in ("--set", override)]
    command = [venv / "bin" / "bondlab", "run", "baseline", *overrides, "--quiet", "--out", out]
    done = _run(command, **_outside_the_repo(tmp_path))
    run_dir = Path(done.stdout.strip())
    assert run_dir.parent == out and run_dir.name.startswith("baseline-seed1-")
    code = (
        f"import sim\nresult = sim.Result.load({str(run_dir)!r})\n"
        "print(result.trades.height, result.metrics['ledger']['conserved'],"
        " result.manifest['git_commit'])"
    )
    trades, conserved, commit = _run(
        [venv / "bin" / "python", "-c", code], **_outside_the_repo(tmp_path)
    ).stdout.split()
    assert int(trades) > 0 and conserved == "True"
    # An installed bondlab records no commit, even inside another project's repository.
    assert commit == "None"


def test_the_installed_copy_renders_the_report_page(venv, tmp_path):
    code = (
        "from sim.presentation.report.model import Report\n"
        "from sim.presentation.report.render import render_html\n"
        "print(render_html(Report('run', 'a title', 'now', '0', ())).count('a title'))"
    )
    done = _run([venv / "bin" / "python", "-c", code], **_outside_the_repo(tmp_path))
    assert done.stdout.strip() == "2"  # the <title> and the heading


@pytest.fixture
def inside_another_repository(venv):
    """The venv inside a git repository of some other project, for one test."""
    _run(["git", "init", "-q", venv])
    identity = ["-c", "user.name=someone", "-c", "user.email=someone@example.org"]
    _run(["git", "-C", venv, *identity, "commit", "-q", "--allow-empty", "-m", "theirs"])
    yield venv
    shutil.rmtree(venv / ".git")


def test_an_installed_run_inside_another_repository_records_no_commit(
    inside_another_repository, tmp_path
):
    code = "from sim.records.summary import _git_commit\nprint(_git_commit())"
    python = inside_another_repository / "bin" / "python"
    assert _run([python, "-c", code], **_outside_the_repo(tmp_path)).stdout.strip() == "None"
