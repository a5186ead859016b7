"""Helpers shared by the benchmark scripts: data location, machine facts, RESULTS.md sections.

Not a test module and not part of the package: the scripts import it as ``_common`` (they run
as ``python benchmarks/bench_*.py``, which puts this folder on ``sys.path``).
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
#: MovieLens 100K beside the repository (never copied into it); override with --data or FUNKSVD_ML100K.
DEFAULT_ML100K = Path(os.environ.get("FUNKSVD_ML100K", ROOT.parent / "shared" / "data" / "ml-100k"))


def add_common_arguments(parser, data=True) -> None:
    if data:
        parser.add_argument("--data", type=Path, default=DEFAULT_ML100K,
                            help=f"MovieLens 100K folder, u.data or ml-100k.zip (default: {DEFAULT_ML100K})")
    parser.add_argument("--write", action="store_true", help="update this benchmark's section of benchmarks/RESULTS.md")


def load_ml100k(path: Path):
    from funksvd.data import load_movielens

    try:
        return load_movielens(path)
    except FileNotFoundError as error:
        sys.exit(f"MovieLens 100K not found ({error}); pass --data PATH or set FUNKSVD_ML100K")


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


#: AMD's core generations by CPU family and model (``/proc/cpuinfo``), for the records: the same model name
#: ("AMD EPYC" in a VM) covers cores whose speeds differ by a factor of two.
AMD_CORES = ((23, range(0x30, 0x100), "Zen 2"), (23, range(0, 0x30), "Zen 1"), (25, range(0x10, 0x20), "Zen 4"),
             (25, range(0x60, 0x80), "Zen 4"), (25, range(0xA0, 0xB0), "Zen 4"), (25, range(0, 0x100), "Zen 3"),
             (26, range(0, 0x100), "Zen 5"))


def cpu_model() -> str:
    """The model name, with AMD's core generation, the vector extension and the L2 size where /proc and sysfs tell."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    fields = dict(line.split(":", 1) for line in info.split("\n\n")[0].splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    name = fields.get("model name", platform.processor() or "unknown")
    notes = []
    if fields.get("vendor_id") == "AuthenticAMD":
        family, model = int(fields.get("cpu family", 0)), int(fields.get("model", 0))
        notes += [core for f, models, core in AMD_CORES if f == family and model in models][:1]
    flags = fields.get("flags", "").split()
    notes.append("AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2")
    try:
        notes.append(f"L2 {Path('/sys/devices/system/cpu/cpu0/cache/index2/size').read_text().strip()}")
    except OSError:
        pass
    return f"{name} ({', '.join(notes)})"


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "") if out.returncode == 0 else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine_facts(extra=("numpy", "numba")) -> str:
    """One markdown line of facts: date, CPUs, CPU model, memory, Python and package versions."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f"{pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError):
        memory = "RAM unknown"
    packages = ", ".join(f"{name} {version(name)}" for name in ("funksvd", *extra))
    return (f"{datetime.date.today().isoformat()}; nproc {affinity}; {cpu_model()}; {memory}; "
            f"Python {platform.python_version()}; {packages}; commit {git_commit()}")


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def median(values) -> float:
    return float(statistics.median(values))


def table(header, rows) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def command_line() -> str:
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(ROOT)
    except ValueError:
        pass
    return " ".join([".venv/bin/python", str(script), *sys.argv[1:]])


def write_section(name: str, body: str) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->`` in RESULTS.md."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + f"\n\n{block}\n"
    RESULTS.write_text(text)
    print(f"updated the {name} section of {RESULTS}")


def report(name: str, body: str, write: bool, packages=("numpy", "numba")) -> None:
    """Print ``body``; with ``write`` store it, the command and the machine facts in RESULTS.md."""
    print(body)
    if write:
        write_section(name, f"Command: `{command_line()}`\n\nMachine: {machine_facts(packages)}\n\n{body}")
