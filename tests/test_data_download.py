"""Downloading a MovieLens release (:func:`funksvd.data.fetch_movielens`, ``load_movielens(name)``).

There is no outside network here: a local HTTP server on 127.0.0.1 serves archives the tests
build. Oracles: the SHA-256 of those archives computed with hashlib in the test; the files in
the cache folder (present, absent, unchanged); the documented error messages.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from funksvd.data import RELEASES, download, fetch_movielens, load_movielens
from tests.test_data_movielens import check_small, write_zip


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """``(base_url, folder)``: an HTTP server on 127.0.0.1 serving ``folder``; counts its requests."""
    folder = tmp_path / "served"
    folder.mkdir()
    requests = []

    class Handler(_Quiet):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/movielens", folder / "movielens", requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def publish(folder: Path, name="ml-100k") -> tuple[int, str]:
    """Build a small ml-100k-style archive at ``folder/<name>.zip``; its size and SHA-256."""
    folder.mkdir(exist_ok=True)
    path = write_zip(folder / f"{name}.zip")
    data = path.read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


def test_release_is_downloaded_verified_and_cached(server, tmp_path, monkeypatch):
    """Oracle: the archive's own SHA-256 (hashlib); one request, then the cache is used alone."""
    url, folder, requests = server
    monkeypatch.setitem(RELEASES, "ml-100k", publish(folder))
    cache = tmp_path / "cache"
    check_small(load_movielens("ml-100k", cache_dir=cache, base_url=url))
    assert (cache / "ml-100k.zip").read_bytes() == (folder / "ml-100k.zip").read_bytes()
    assert sorted(p.name for p in cache.iterdir()) == ["ml-100k.zip"]  # no temporary left behind
    assert requests == ["/movielens/ml-100k.zip"]
    check_small(load_movielens("ml-100k", cache_dir=cache, base_url=url))
    assert len(requests) == 1  # served from the cache


def test_environment_variables_set_the_url_and_the_cache(server, tmp_path, monkeypatch):
    """FUNKSVD_MOVIELENS_URL and FUNKSVD_DATA (oracle: where the file lands, which server was asked)."""
    url, folder, requests = server
    monkeypatch.setitem(RELEASES, "ml-100k", publish(folder))
    monkeypatch.setenv("FUNKSVD_MOVIELENS_URL", url + "/")
    monkeypatch.setenv("FUNKSVD_DATA", str(tmp_path / "env-cache"))
    assert fetch_movielens("ml-100k") == tmp_path / "env-cache" / "ml-100k.zip"
    assert requests == ["/movielens/ml-100k.zip"]
    monkeypatch.delenv("FUNKSVD_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert download.cache_directory() == tmp_path / "home" / ".cache" / "funksvd"


def test_official_checksum_rejects_another_archive(server, tmp_path):
    """The published ml-100k is not the test's archive: refused from its Content-Length, naming the URL; nothing
    cached (the same size with other bytes: tests/test_data_download_hostile.py)."""
    url, folder, _ = server
    size, digest = publish(folder)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match=rf"{url}/ml-100k\.zip: the server announces {size:,} bytes \(Content-Length\), "
                                         rf"but the published ml-100k\.zip has 4,924,029 bytes"):
        load_movielens("ml-100k", cache_dir=cache, base_url=url)
    assert list(cache.iterdir()) == []


def test_truncated_download_is_rejected(server, tmp_path, monkeypatch):
    """The server serves the first half of the archive: its Content-Length already tells (oracle: the byte count,
    nothing cached)."""
    url, folder, _ = server
    monkeypatch.setitem(RELEASES, "ml-100k", publish(folder))
    whole = (folder / "ml-100k.zip").read_bytes()
    (folder / "ml-100k.zip").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=rf"announces {len(whole) // 2:,} bytes"):
        fetch_movielens("ml-100k", tmp_path / "cache", base_url=url)
    assert list((tmp_path / "cache").iterdir()) == []


def test_damaged_cache_is_downloaded_again(server, tmp_path, monkeypatch):
    """A cached archive that no longer matches is replaced by a verified download (oracle: bytes, requests)."""
    url, folder, requests = server
    monkeypatch.setitem(RELEASES, "ml-100k", publish(folder))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "ml-100k.zip").write_bytes(b"PK\x03\x04 not really")
    fetch_movielens("ml-100k", cache, base_url=url)
    assert (cache / "ml-100k.zip").read_bytes() == (folder / "ml-100k.zip").read_bytes() and len(requests) == 1


def test_missing_file_and_unknown_release(server, tmp_path):
    """A 404 names the URL (OSError); an unknown name lists the known ones (oracle: the messages)."""
    url, folder, _ = server
    folder.mkdir()
    with pytest.raises(OSError, match=rf"{url}/ml-1m\.zip: cannot download ml-1m\.zip \(HTTP Error 404"):
        fetch_movielens("ml-1m", tmp_path / "cache", base_url=url)
    with pytest.raises(ValueError, match="unknown MovieLens release 'ml-2m'; known: ml-100k, ml-1m"):
        fetch_movielens("ml-2m", tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a MovieLens release name"):
        load_movielens("ml-2m", cache_dir=tmp_path)


def test_progress_only_when_verbose(server, tmp_path, monkeypatch, capsys):
    """verbose=False prints nothing; verbose=True reports the bytes on stderr (oracle: captured output)."""
    url, folder, _ = server
    monkeypatch.setitem(RELEASES, "ml-100k", publish(folder))
    fetch_movielens("ml-100k", tmp_path / "quiet", base_url=url)
    assert capsys.readouterr() == ("", "")
    fetch_movielens("ml-100k", tmp_path / "loud", base_url=url, verbose=True)
    assert "ml-100k.zip" in capsys.readouterr().err


def test_published_checksums_are_well_formed():
    """Every release has a positive size and a 64-hex-digit SHA-256 (oracle: the format of SHA-256)."""
    assert set(RELEASES) == {"ml-100k", "ml-1m", "ml-latest-small", "ml-20m", "ml-25m"}
    for size, digest in RELEASES.values():
        assert size > 0 and len(digest) == 64 and int(digest, 16) >= 0


def test_example_dataset_downloads_when_asked_and_says_so(server, tmp_path, monkeypatch, capsys):
    """Oracle: the local server's request log and the printed line. Without a local copy,
    example_dataset(download=True) fetches the verified archive (a notebook outside the repository);
    without download it falls back, and with the server gone it falls back with a UserWarning."""
    from funksvd.data import example_dataset

    url, folder, requests = server
    monkeypatch.setitem(RELEASES, "ml-100k", publish(folder))
    monkeypatch.delenv("FUNKSVD_ML100K", raising=False)
    monkeypatch.setenv("FUNKSVD_MOVIELENS_URL", url + "/")
    monkeypatch.setenv("FUNKSVD_DATA", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # no shared/data/ml-100k here or above
    assert example_dataset().source.startswith("synthetic") and requests == []
    data = example_dataset(download=True)
    assert data.source == "MovieLens 100K" and requests == ["/movielens/ml-100k.zip"]
    assert "downloading it once" in capsys.readouterr().out
    monkeypatch.setenv("FUNKSVD_DATA", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("FUNKSVD_MOVIELENS_URL", "http://127.0.0.1:9/nothing/")  # the discard port: refused
    with pytest.warns(UserWarning, match="could not be downloaded"):
        stand_in = example_dataset(download=True)
    assert "could not be downloaded" in stand_in.source
