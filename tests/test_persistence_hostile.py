"""Hostile and damaged model files: ``FunkSVD.load`` refuses each with one InputError, runs no code, and reads
no more memory than the file's own size.

Oracles: the documented one-line messages; ``tracemalloc`` (numpy's allocations are traced) for the memory
bounds; a marker file that a pickle payload would create, for "no code is run"; the file's bytes for the
writes.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import stat
import tracemalloc
import zipfile

import numpy as np
import pytest

from funksvd import FunkSVD
from funksvd.base.errors import InputError
from funksvd.data import Dataset

MB = 1 << 20


@pytest.fixture
def saved(tmp_path):
    """A model fitted on a small dataset with raw ids and titles, saved; ``(path, model)``."""
    rng = np.random.default_rng(0)
    cells = rng.choice(12 * 9, size=80, replace=False)  # distinct (user, item) pairs
    users, items = cells // 9, cells % 9
    data = Dataset.from_arrays(users + 100, items + 500, rng.integers(1, 6, 80).astype(float),
                               titles={500 + j: f"film {j}" for j in range(9)})
    model = FunkSVD(n_factors=3, n_epochs=2, engine="python", random_state=0).fit(data)
    path = tmp_path / "model.npz"
    model.save(path)
    return path, model


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def npy(array, dtype=None) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, np.asarray(array, dtype=dtype), allow_pickle=True)
    return out.getvalue()


def rewrite(path, drop=(), compress=(), **replace) -> None:
    """Rewrite the archive at ``path``: members dropped, replaced (raw ``.npy`` bytes or arrays), or deflated."""
    old = members(path)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in {**old, **{f"{k}.npy": v for k, v in replace.items()}}.items():
            if name.removesuffix(".npy") in drop:
                continue
            data = data if isinstance(data, bytes) else npy(data)
            kind = zipfile.ZIP_DEFLATED if name.removesuffix(".npy") in compress else zipfile.ZIP_STORED
            archive.writestr(name, data, compress_type=kind)


def edit_meta(path, change) -> None:
    meta = json.loads(np.lib.format.read_array(io.BytesIO(members(path)["funksvd_metadata.npy"])).tobytes())
    change(meta)
    rewrite(path, funksvd_metadata=np.frombuffer(json.dumps(meta).encode(), np.uint8))


def refused(path, *fragments):
    with pytest.raises(InputError) as info:
        FunkSVD.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


class _Payload:
    """Unpickling this creates the file ``target``: the evidence that a pickle ran code."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_a_pickled_member_is_refused_and_never_run(saved, tmp_path):
    """Oracle: the marker file the payload would create does not exist; one InputError, for a pickle as a
    member of the format (P) and as an extra member."""
    path, _ = saved
    marker = tmp_path / "pwned"
    payload = npy(np.array([_Payload(marker)], dtype=object))
    assert b"pwned" in payload  # the payload really is in the file
    rewrite(path, P=payload)
    refused(path, "'P' holds Python objects (a pickle)", "no code from the file was run")
    rewrite(path, evil=payload)
    refused(path, "'evil.npy', which the format does not define")
    assert not marker.exists()
    pickle.loads(pickle.dumps(_Payload(marker))).close()  # the payload is live: unpickled, it runs
    assert marker.exists()


def test_a_compressed_memory_bomb_is_refused_before_reading(saved):
    """A 256 MiB member deflated to about 0.5 MB (as an unknown member and as ``Q``): refused from the zip
    directory, the traced peak stays under 20 MB (oracle: tracemalloc; main read it whole)."""
    path, _ = saved
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (MB // 32, 1024)})
    zeros = bytes(8 * MB)
    with (zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive,
          archive.open("junk.npy", "w", force_zip64=True) as member):
        member.write(header.getvalue())
        for _ in range(32):
            member.write(zeros)
    assert os.path.getsize(path) < 4 * MB
    tracemalloc.start()
    try:
        refused(path, "'junk.npy', which the format does not define")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * MB, peak
    rewrite(path, drop=("junk",), compress=("Q",))
    refused(path, "'Q.npy' is compressed")


def test_a_header_claiming_a_huge_shape_is_refused_unread(saved):
    """P's header claims shape (10**10, 20) (1.46 TiB) over a few bytes: refused by comparing the claim with the
    member's size (oracle: the message, tracemalloc's peak under 5 MB)."""
    path, _ = saved
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**10, 20)})
    rewrite(path, P=header.getvalue() + bytes(64))
    tracemalloc.start()
    try:
        refused(path, "claims shape (10000000000, 20)", "holds 64 bytes")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * MB, peak


@pytest.mark.parametrize("member, value, fragment", [
    ("item_ids", np.arange(5000, dtype=np.int64), "item_ids has shape (5000,), but the factors need (9,)"),
    ("user_ids", np.arange(100, dtype=np.int64), "user_ids has shape (100,), but the factors need (12,)"),
    ("item_titles", np.array(["a", "b", "c"]), "item_titles has shape (3,), but the factors need (9,)"),
    ("rated_indptr", np.arange(5, dtype=np.int64), "rated_indptr has shape (5,), but the factors need (13,)"),
    ("rated_items", -np.ones(80, dtype=np.int64), "rated_items[0] = -1 is not an item index (0..8)"),
    ("P", np.zeros((12, 3), dtype=np.int64), "P must hold float64 numbers (the model's dtype), got dtype int64"),
    ("P", np.zeros((12, 3), dtype=np.complex128), "got dtype complex128"),
    ("P", np.full((12, 3), "x"), "got dtype <U1"),
    ("bu", np.zeros(11), "bu has shape (11,), but the factors need (12,)"),
    ("Q", np.zeros((9, 4)), "P has shape (12, 3) and Q (9, 4), but n_factors is 3"),
])
def test_tables_that_disagree_with_the_factors_are_refused(saved, member, value, fragment):
    """Oracle: each id table, title list, rated-items table and parameter block checked against P and Q
    (main accepted 5000 item ids for 9 rows and recommended wrong ids, cast int P silently)."""
    path, _ = saved
    rewrite(path, **{member: value})
    refused(path, "is a damaged funksvd model", fragment)


def test_a_missing_half_of_a_pair_is_refused(saved):
    """Oracle: rated_items without rated_indptr, bu without bi, item_ids without user_ids each name the missing one."""
    path, _ = saved
    for drop, named in (("rated_indptr", "'rated_indptr' is missing"), ("bi", "'bi' is missing"),
                        ("user_ids", "'user_ids' is missing")):
        original = path.read_bytes()
        rewrite(path, drop=(drop,))
        refused(path, named)
        path.write_bytes(original)


def test_a_bad_rated_indptr_is_refused(saved):
    """A rated_indptr that falls, or does not end at len(rated_items) (oracle: the CSR's definition)."""
    path, model = saved
    indptr = model._rated[0].copy()
    indptr[3] = indptr[4] + 1
    rewrite(path, rated_indptr=indptr)
    refused(path, "rated_indptr must rise from 0 to len(rated_items) = 80")


@pytest.mark.parametrize("change, fragment", [
    (lambda m: m["params"].update(dtype="load"),
     "the parameter dtype must be one of ('float32', 'float64'), got 'load'"),
    (lambda m: m["params"].update(dtype="object"), "got 'object'"),
    (lambda m: m["params"].update(n_factors="abc"), "n_factors must be a positive integer, got 'abc'"),
    (lambda m: m["params"].update(rule="nope"), "nope"),
    (lambda m: m["params"].update(biased="false"), "biased must be True or False, got 'false'"),
    (lambda m: m.update(history_="oops"), "history_ must be a list of records"),
    (lambda m: m.update(rating_range_=[float("nan"), float("inf")]), "rating_range_ must be two finite numbers"),
    (lambda m: m.update(rating_range_=["1", "5"]), "rating_range_ must be two finite numbers"),
    (lambda m: m.update(rating_range_=[5, 1]), "low <= high"),
    (lambda m: m["fitted"].update(mu_="3.5"), "the fitted value mu_ must be a finite number, got '3.5'"),
    (lambda m: m["fitted"].update(best_epoch_=9), "best_epoch_ = 9 is past n_epochs_ = 2"),
    (lambda m: m["fitted"].pop("n_epochs_"), "the metadata has no fitted value 'n_epochs_'"),
    (lambda m: m.update(params=[1, 2]), "'params' must be an object, got list"),
])
def test_edited_metadata_is_refused(saved, change, fragment):
    """Oracle: every parameter, fitted scalar, rating_range_ and history_ validated on load, one InputError each
    (main took [NaN, Infinity] as the clip range and made clipped predictions NaN)."""
    path, _ = saved
    edit_meta(path, change)
    refused(path, "is a damaged funksvd model", fragment)


def test_deep_truncated_or_foreign_metadata_is_refused(saved):
    """Metadata nested 200,000 deep (RecursionError on main), cut JSON, bytes of another dtype."""
    path, _ = saved
    original = path.read_bytes()
    deep = b'{"format": "funksvd-model", "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    rewrite(path, funksvd_metadata=np.frombuffer(deep, np.uint8))
    refused(path, "nested too deeply")
    path.write_bytes(original)
    text = np.lib.format.read_array(io.BytesIO(members(path)["funksvd_metadata.npy"])).tobytes()
    rewrite(path, funksvd_metadata=np.frombuffer(text[: len(text) // 2], np.uint8))
    refused(path, "the funksvd metadata is not valid JSON")
    rewrite(path, funksvd_metadata=np.zeros(3, np.float64))
    refused(path, "the metadata must be at most")


def test_a_truncated_or_bit_flipped_file_is_one_clear_error(saved):
    """Every cut point of the file, and one flipped byte in each array's data: an InputError (or a loaded model
    when only float bits changed), never another exception (oracle: the exception type)."""
    path, _ = saved
    data = path.read_bytes()
    for cut in range(0, len(data), max(1, len(data) // 97)):
        path.write_bytes(data[:cut])
        with pytest.raises(InputError):
            FunkSVD.load(path)
    for offset in range(0, len(data), max(1, len(data) // 211)):
        flipped = bytearray(data)
        flipped[offset] ^= 0xFF
        path.write_bytes(bytes(flipped))
        try:
            FunkSVD.load(path)
        except InputError:
            pass


def test_save_refuses_links_fifos_and_devices(saved, tmp_path):
    """A save over a symlink, a FIFO or a device replaced the node itself on main (as root ``/dev/full`` became a
    regular file). Oracle: the node is still there, of its kind, and the link's target unchanged."""
    _, model = saved
    target = tmp_path / "real.npz"
    target.write_bytes(b"keep me")
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    with pytest.raises(InputError, match="it is a symbolic link, not a regular file"):
        model.save(link)
    assert link.is_symlink() and target.read_bytes() == b"keep me"
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"it is a FIFO \(named pipe\)"):
        model.save(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    if os.geteuid() == 0:  # only root makes device nodes; this one is /dev/null's (1, 3), inside tmp_path
        device = tmp_path / "null.npz"
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 3))
        with pytest.raises(InputError, match="it is a character device"):
            model.save(device)
        assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_a_read_only_folder_is_named_not_the_temporary_file(saved, tmp_path, monkeypatch):
    """Oracle: the message names the target and its folder, never the hidden ``.tmp`` (main named the temporary
    file). The folder is made read-only by chmod, or (as root, whom chmod does not stop) by os.access."""
    _, model = saved
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(folder) else real(p, mode, **kw))
    else:
        folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError) as info:
            model.save(folder / "m.npz")
    finally:
        folder.chmod(0o700)
    assert f"cannot save the model to {folder / 'm.npz'}: the folder {folder} is not writable" in str(info.value)
    assert ".tmp" not in str(info.value) and list(folder.iterdir()) == []


def test_a_stale_temporary_file_of_a_killed_save_is_removed(saved, tmp_path):
    """Oracle: the directory listing. A temporary of our pattern an hour old goes; a fresh one (a save running in
    another process) and other hidden files stay."""
    _, model = saved
    stale, fresh, other = (tmp_path / ".m.npz.abcd1234.tmp", tmp_path / ".m.npz.wxyz9876.tmp",
                           tmp_path / ".m.npz.notours")
    for path in (stale, fresh, other):
        path.write_bytes(b"half")
    old = os.path.getmtime(stale) - 7200
    os.utime(stale, (old, old))
    model.save(tmp_path / "m.npz")
    assert not stale.exists() and fresh.exists() and other.exists()


_KILLED_SAVE = """
import os, sys, numpy as np
from funksvd import FunkSVD
from funksvd.estimator import persistence
model = FunkSVD.load(sys.argv[1])
def slow(out, **arrays):
    out.write(b"PK\\x03\\x04" + bytes(4096))
    out.flush()
    print("writing", flush=True)
    import time; time.sleep(60)
persistence.np.savez = slow
model.save(sys.argv[1])
"""


def test_sigkill_during_save_keeps_the_old_file(saved):
    """Oracle: the old file's bytes after ``kill -9`` in the middle of a save (a subprocess); only a hidden
    temporary is left beside it, which the next save removes once stale."""
    import signal
    import subprocess
    import sys

    path, model = saved
    before = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", _KILLED_SAVE, str(path)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert child.stdout.readline().strip() == "writing"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert path.read_bytes() == before
    left = [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and left[0].name.startswith(".model.npz.")
    FunkSVD.load(path)
    old = os.path.getmtime(left[0]) - 7200
    os.utime(left[0], (old, old))
    model.save(path)
    assert not left[0].exists()
