r"""Nanoseconds per rating update inside the compiled kernel, warm, against the floor of this CPU.

What is timed: ``Grid.run`` of :class:`funksvd.FunkSVD`'s default visiting order (the compiled
epoch of ``RULES["funk"]``, once per cell) on MovieLens 100K's 80/20 training split, from fixed
start values, best of ``--repeats`` epochs, the four cases taking turns (a slow spell of the shared
machine then falls on all of them), each beside the other compiled loop (pipelined or pairs,
:data:`funksvd.sgd.compiled.PIPELINE_ROW_BYTES`) in alternating order; nothing outside the kernel
(no loss, no guard). The grid's cells keep their rows of :math:`P` and :math:`Q` in the L2 cache
(they are sized for 512 KiB), so this is mostly the arithmetic, not memory.

**The floor** is the larger of two bounds, each a count of what one update must do divided by
what this core does a cycle.

* *Floating-point ports.* One update of Funk's rule at :math:`k` factors does, per factor, one
  multiply-add for the dot product and, per row, the update of one entry. Written as the rule is
  (:math:`p \mathrel{+}= \gamma(e q - \lambda p)`) that is three operations; in the factored form
  the compiled engine runs (:func:`funksvd.maths.rules.funk_factored`,
  :math:`p \leftarrow (1-\gamma\lambda) p + (\gamma e) q`, factors computed once per rating) two, a
  multiply and a multiply-add. So :math:`5k` lane operations, on two vector multiply/FMA ports of
  :math:`w` lanes each: :math:`5k / 2w` cycles. ``w`` is the width LLVM emits for numba here, read
  off the kernel's assembly (``ymm`` = 256 bits, ``zmm`` = 512), capped at the core's datapath: AMD
  Zen 2 to 4 (family 23 and 25) run a 512-bit instruction as two 256-bit halves, so ``zmm`` there
  does no more a cycle than ``ymm``.
* *The two rows through the cache.* The grid's cells keep their rows of :math:`P` and :math:`Q`
  in L2, not in L1 (32 KiB): an update reads both rows and writes both back, :math:`2 \times 2k`
  times the itemsize of traffic each way. Its rate is measured here, not looked up: the best
  bytes a cycle of ``x <- a x + b y; y <- a y + b x`` streamed over two arrays of 192 KiB (a cell's
  rows, in L2), compiled with the kernels' options — the same reads and writes in the cheapest
  order (sequential, prefetched, whole lines), so no update can move its rows faster. A row still
  in L1 from an earlier rating (a few percent of them at these sizes) escapes the bound.

Loads (:math:`4k` entries at two 256-bit loads a cycle) bind less than either. The clock is
``--ghz`` (default: measured from a chain of dependent float64 adds where their latency is known,
AMD Zen 2 to 4, else the nominal frequency ``/proc/cpuinfo`` reports, which under turbo makes the
floor in ns too high).

    .venv/bin/python benchmarks/bench_kernel.py [--repeats 7] [--write]
    .venv/bin/python benchmarks/bench_kernel.py --ks 32,40,64,96,100,112 --repeats 15 --write

``--ks`` other than the default sizes writes its own section (``bench_kernel_sizes``): the cost of a
factor with and without a leftover tail of the vectorised loops. Each case also runs with
:math:`P` and :math:`Q` 16 bytes past a cache line (where numpy's own allocations start) beside
the aligned arrays a fit trains, in turns: the column "16 bytes off".
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np

import _common

GOAL_RATIO = 1.5


def nominal_ghz() -> float:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1]) / 1000
    except (OSError, ValueError):
        pass
    return float("nan")


def measured_ghz() -> float:
    """The running clock, from a chain of dependent float64 adds, where their latency is known: 3 cycles on AMD Zen 2
    to 4 (family 23 and 25); NaN elsewhere. Under turbo it is above the nominal clock, so the floor in ns is lower."""
    import numba

    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return float("nan")
    family = re.search(r"^cpu family\s*:\s*(\d+)", info, re.M)
    if "AuthenticAMD" not in info or family is None or int(family.group(1)) not in (23, 25):
        return float("nan")

    @numba.njit
    def chain(n, x, y):
        for _ in range(n):
            x = x + y  # no fastmath: every add waits for the one before
        return x

    chain(10, 1.0, 1e-9)
    n, best = 100_000_000, float("inf")
    for _ in range(5):
        tic = time.perf_counter()
        chain(n, 1.0, 1e-9)
        best = min(best, time.perf_counter() - tic)
    return 3 * n / best / 1e9


def datapath_bits() -> int:
    """Bits a vector FP port does a cycle: 256 on AMD Zen 2 to 4 (family 23 and 25: 512-bit instructions run as
    two halves), else the widest vector the CPU has."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return 256
    family = re.search(r"^cpu family\s*:\s*(\d+)", info, re.M)
    if "AuthenticAMD" in info and family is not None and int(family.group(1)) in (23, 25):
        return 256
    return 512 if "avx512f" in info else 256 if "avx2" in info else 128


#: Bytes of each of the two arrays the stream runs over: a cell's rows of P and Q (``funksvd.sgd.orders``: 128 and
#: 256 KiB), in L2 and well past L1.
STREAM_ARRAY_BYTES = 192 << 10


def stream_bytes_per_cycle(dtype, ghz: float, repeats: int = 5) -> float:
    """Bytes of the two arrays a cycle (each byte read once and written once) of the rows' update streamed from L2."""
    import numba

    from funksvd.sgd.compiled import OPTIONS

    @numba.njit(fastmath=set(OPTIONS["fastmath"]), nogil=True)
    def update_rows(x, y, keep, step, passes):
        for _ in range(passes):
            for f in range(x.shape[0]):
                xf, yf = x[f], y[f]
                x[f] = keep * xf + step * yf
                y[f] = keep * yf + step * xf

    n = STREAM_ARRAY_BYTES // np.dtype(dtype).itemsize
    x, y = np.full(n, 0.1, dtype), np.full(n, 0.1, dtype)
    keep, step = np.dtype(dtype).type(0.9999), np.dtype(dtype).type(1e-5)
    passes = 2000
    update_rows(x, y, keep, step, 1)
    best = float("inf")
    for _ in range(repeats):
        tic = time.perf_counter()
        update_rows(x, y, keep, step, passes)
        best = min(best, time.perf_counter() - tic)
    return 2 * STREAM_ARRAY_BYTES * passes / (best * ghz * 1e9)


def emitted_vector_bits(dtype) -> int:
    """The widest vector register in the assembly of the funk epoch compiled afresh (numba shows no cached code)."""
    import numba

    from funksvd.maths import rules
    from funksvd.sgd import compiled
    from funksvd.sgd.loops import bind, run_epoch

    options = dict(compiled.OPTIONS, fastmath=set(compiled.OPTIONS["fastmath"]), cache=False)
    predict = numba.njit(inline="always", **options)(bind(rules.predict_one))
    step = numba.njit(inline="always", **options)(bind(rules.funk, predict_one=predict))
    epoch = numba.njit(**options)(bind(run_epoch, step=step, prefetch=compiled.prefetch))
    P, Q, b = np.zeros((3, 8), dtype), np.zeros((3, 8), dtype), np.zeros(3, dtype)
    ids = np.zeros(2, np.uint32)
    one = np.dtype(dtype).type(0.1)
    epoch(P, Q, b, b, one, ids, ids, np.ones(2, dtype), ids, (one,) * 4, (one,) * 4)
    asm = "\n".join(epoch.inspect_asm().values())
    return 512 if re.search(r"%zmm", asm) else 256 if re.search(r"%ymm", asm) else 128


def off_line(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` starting 16 bytes past a cache line (the alignment of numpy's large allocations)."""
    from funksvd.base.memory import CACHE_LINE, aligned_empty

    buffer = aligned_empty(a.nbytes + CACHE_LINE, np.uint8)
    out = buffer[16:16 + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _common.add_common_arguments(parser)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--ks", default="40,100", help="factors, comma-separated (default 40,100)")
    parser.add_argument("--ghz", type=float, default=None,
                        help="clock of the floor (default: measured where it can be, else the nominal clock)")
    args = parser.parse_args()
    nominal, measured = nominal_ghz(), measured_ghz()
    if args.ghz is None:
        args.ghz = measured if measured == measured else nominal
    how = "measured: a chain of dependent float64 adds, 3 cycles each" if args.ghz == measured else "given or nominal"
    clock_note = f"clock {args.ghz:.2f} GHz ({how}; nominal {nominal:.2f} GHz)"

    from funksvd import RULES
    from funksvd.data import train_test_split
    from funksvd.model.factors import Factors
    from funksvd.sgd.compiled import PIPELINE_ROW_BYTES, compiled_cells
    from funksvd.sgd.loops import typed_scalars
    from funksvd.sgd.orders import Grid

    train, _ = train_test_split(_common.load_ml100k(args.data).ratings, test_size=0.2, random_state=0)
    rows = []
    cases, kernels, other = {}, {}, {}
    loops = {True: "pipelined", False: "pairs"}
    ks = tuple(int(k) for k in args.ks.split(","))
    for dtype in (np.float64, np.float32):
        for k in ks:
            pipelined = k * np.dtype(dtype).itemsize >= PIPELINE_ROW_BYTES
            kernels[dtype, k] = compiled_cells(RULES["funk"], k * np.dtype(dtype).itemsize)  # the loop a fit runs
            other[dtype, k] = compiled_cells(RULES["funk"], 0 if pipelined else PIPELINE_ROW_BYTES)  # the other one
            start = Factors.random(train.n_users, train.n_items, k, mu=train.mean(), random_state=0, dtype=dtype)
            grid = Grid(train, k, dtype, np.random.default_rng(0))
            cases[dtype, k] = start, grid, typed_scalars(dtype, train.mean(), (0.005,) * 4, (0.02,) * 4)
    timed = {"fit": kernels, "other": other, "off": kernels}
    best = {(case, which): float("inf") for case in cases for which in timed}
    for repeat in range(args.repeats + 1):  # the first round compiles (or loads the cache)
        for case, (start, grid, (mu, lr, reg)) in cases.items():  # round-robin: a slow spell hits every case
            for which in ("fit", "other", "off") if repeat % 2 else ("off", "other", "fit"):
                arrays = start.mutable_copy()
                if which == "off":  # P and Q where numpy's malloc would put them: 16 bytes past a cache line
                    arrays = (off_line(arrays[0]), off_line(arrays[1])) + arrays[2:]
                tic = time.perf_counter()
                grid.run(timed[which][case], arrays, mu, lr, reg, np.random.default_rng(repeat))
                if repeat:
                    best[case, which] = min(best[case, which], time.perf_counter() - tic)
    datapath = datapath_bits()
    stream = {dtype: stream_bytes_per_cycle(dtype, args.ghz) for dtype in (np.float64, np.float32)}
    for dtype, k in cases:
        ns = best[(dtype, k), "fit"] / len(train) * 1e9
        pipelined = k * np.dtype(dtype).itemsize >= PIPELINE_ROW_BYTES
        other_ns = best[(dtype, k), "other"] / len(train) * 1e9
        off_ns = best[(dtype, k), "off"] / len(train) * 1e9
        bits = emitted_vector_bits(dtype)
        lanes = min(bits, datapath) // (8 * np.dtype(dtype).itemsize)
        fp_cycles = 5 * k / (2 * lanes)
        row_bytes = k * np.dtype(dtype).itemsize
        memory_cycles = 2 * row_bytes / stream[dtype]
        floor = max(fp_cycles, memory_cycles) / args.ghz
        ratio = ns / floor
        rows.append((np.dtype(dtype).name, k, loops[pipelined], f"**{ns:.1f}**",
                     f"{loops[not pipelined]}: {other_ns:.1f} ({other_ns / ns:.2f}x)",
                     f"{off_ns:.1f} ({off_ns / ns:.2f}x)", f"{bits} bits ({lanes} lanes a port)",
                     f"5 x {k} / (2 x {lanes}) = {fp_cycles:.1f}",
                     f"2 x {row_bytes} B / {stream[dtype]:.1f} B = {memory_cycles:.1f}",
                     f"{floor:.1f} ns", f"**{ratio:.2f}**", f"**{'met' if ratio <= GOAL_RATIO else 'not met'}**"))
    body = "\n".join([
        f"MovieLens 100K training split ({len(train):,} ratings), `RULES[\"funk\"]` compiled, the default grid order, "
        f"best of {args.repeats} epochs taking turns, warm; {clock_note}. Floor: the larger of the floating-point "
        f"ports' cycles (5k lane operations an update in the factored form, two ports of a {datapath}-bit datapath) "
        "and the cycles to move the two rows through the cache at the rate of the same update streamed over two "
        f"{STREAM_ARRAY_BYTES >> 10} KiB arrays in L2 (measured in this run: "
        + ", ".join(f"{np.dtype(d).name} {stream[d]:.1f} bytes a cycle" for d in stream)
        + "); see the script's docstring. The loop a fit runs is the pipelined one for rows of "
        f"{PIPELINE_ROW_BYTES} bytes or more (`funksvd.sgd.compiled.PIPELINE_ROW_BYTES`), else the pairs loop; "
        "the other loop is timed beside it, in turns.",
        "",
        _common.table(("dtype", "k", "loop a fit runs", "ns per update", "the other loop, ns",
                       "16 bytes off a cache line, ns", "vector width emitted", "FP ports, cycles",
                       "rows through L2, cycles", "floor", "ns / floor", f"goal <= {GOAL_RATIO}x"), rows),
    ])
    _common.report("bench_kernel" if ks == (40, 100) else "bench_kernel_sizes", body, args.write)


if __name__ == "__main__":
    main()
