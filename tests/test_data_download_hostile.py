"""Downloads from servers that misbehave (local HTTP servers on 127.0.0.1 only, each bounded in time): an archive
of the right size with the wrong bytes, an endless or oversized body, a trickle, a redirect loop, an HTML page,
a wrong Content-Length, a body cut short. Each fails with a clear error and leaves nothing in the cache.

Oracles: the SHA-256 of the archives computed with hashlib here; the cache folder's listing; the bytes the
server counted; ``time.monotonic`` for the deadline; ``tracemalloc`` for the endless body.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
import tracemalloc

import pytest

from funksvd.data import RELEASES, fetch_movielens, load_movielens
from tests.test_data_movielens import write_zip

MB = 1 << 20


@pytest.fixture
def archive(tmp_path, monkeypatch):
    """The bytes of a small ml-100k-style archive, registered as the published ml-100k (size and SHA-256)."""
    data = write_zip(tmp_path / "good.zip").read_bytes()
    monkeypatch.setitem(RELEASES, "ml-100k", (len(data), hashlib.sha256(data).hexdigest()))
    return data


@pytest.fixture
def serve():
    """``serve(handler) -> (base_url, log)``: an HTTP server on 127.0.0.1 whose GET is ``handler(request, log)``."""
    servers = []

    def start(behaviour):
        log = {"requests": 0, "sent": 0}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                log["requests"] += 1
                try:
                    behaviour(self, log)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
                    pass

            def log_message(self, *args):
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}", log

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def send(handler, body: bytes, status=200, headers=None):
    handler.send_response(status)
    for key, value in (headers or {"Content-Length": str(len(body)), "Content-Type": "application/zip"}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


def test_an_archive_of_the_right_size_with_wrong_bytes_is_refused(archive, serve, tmp_path):
    """One flipped byte, same size: only the SHA-256 tells (the size-only check survived mutation on main)."""
    wrong = bytearray(archive)
    wrong[len(wrong) // 2] ^= 0x01
    url, _ = serve(lambda h, log: send(h, bytes(wrong)))
    digest = hashlib.sha256(bytes(wrong)).hexdigest()
    with pytest.raises(ValueError,
                       match=rf"downloaded {len(archive):,} bytes with SHA-256 {digest}, but the published"):
        fetch_movielens("ml-100k", tmp_path / "cache", base_url=url)
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_cached_archive_of_the_right_size_with_wrong_bytes_is_downloaded_again(archive, serve, tmp_path):
    """A cached file of the published size but other bytes is not trusted (oracle: one request, then the cache
    holds the published bytes)."""
    url, log = serve(lambda h, log: send(h, archive))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "ml-100k.zip").write_bytes(bytes(len(archive)))
    fetch_movielens("ml-100k", cache, base_url=url)
    assert log["requests"] == 1 and (cache / "ml-100k.zip").read_bytes() == archive


def test_an_endless_body_stops_at_the_published_size(archive, serve, tmp_path):
    """No Content-Length, megabytes forever (main copied until EOF, which never comes): the client stops after the
    published size + 1 byte; the server counted little more than its socket buffers (oracle: its count, bounded
    at 16 MB), the traced peak stays under 5 MB, nothing is cached."""
    def endless(handler, log):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/zip")
        handler.end_headers()
        chunk = archive + bytes(MB)
        while log["sent"] < 64 * MB:
            handler.wfile.write(chunk)
            log["sent"] += len(chunk)

    url, log = serve(endless)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=rf"sends more than the published {len(archive):,} bytes"):
            fetch_movielens("ml-100k", tmp_path / "cache", base_url=url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * MB, peak
    time.sleep(0.2)
    assert log["sent"] < 16 * MB, log
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_trickle_is_stopped_by_the_deadline(archive, serve, tmp_path):
    """One byte every 0.2 s never trips a per-read timeout (main waited forever): the overall deadline of 1 s
    does, well within 5 s (oracle: time.monotonic), naming the deadline; nothing is cached."""
    def trickle(handler, log):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(archive)))
        handler.end_headers()
        for byte in archive:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.2)

    url, _ = serve(trickle)
    tic = time.monotonic()
    with pytest.raises(OSError, match="the download took longer than its deadline"):
        fetch_movielens("ml-100k", tmp_path / "cache", base_url=url, deadline=1.0)
    assert time.monotonic() - tic < 5
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_redirect_loop_fails_clearly(archive, serve, tmp_path):
    """A 302 to itself: urllib's loop detection, reported as an OSError naming the URL (oracle: the message)."""
    url, log = serve(lambda h, log: send(h, b"", 302, {"Location": h.path, "Content-Length": "0"}))
    with pytest.raises(OSError, match=rf"{url}/ml-100k\.zip: cannot download ml-100k\.zip .*redirect"):
        fetch_movielens("ml-100k", tmp_path / "cache", base_url=url)
    assert 1 < log["requests"] <= 11 and list((tmp_path / "cache").iterdir()) == []


def test_an_html_page_is_refused(archive, serve, tmp_path):
    """A captive portal's page with status 200: refused from its Content-Type before the body is read."""
    page = b"<html><body>Please log in</body></html>"
    url, _ = serve(lambda h, log: send(h, page, 200, {"Content-Type": "text/html; charset=utf-8",
                                                       "Content-Length": str(len(page))}))
    with pytest.raises(ValueError, match=r"answered with a web page \(text/html; charset=utf-8\)"):
        fetch_movielens("ml-100k", tmp_path / "cache", base_url=url)
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_wrong_content_length_is_refused_before_the_body(archive, serve, tmp_path):
    """A server announcing 200 MB (main read 200 MB before its size check): refused from the header alone."""
    url, _ = serve(lambda h, log: send(h, b"", 200, {"Content-Length": str(200 * MB)}))
    with pytest.raises(ValueError, match=rf"announces {200 * MB:,} bytes \(Content-Length\), but the published"):
        fetch_movielens("ml-100k", tmp_path / "cache", base_url=url)
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_body_cut_short_is_refused(archive, serve, tmp_path):
    """The right Content-Length, half the body, then the connection closes: an OSError naming the byte count."""
    url, _ = serve(lambda h, log: send(h, archive[: len(archive) // 2], 200,
                                       {"Content-Length": str(len(archive))}))
    with pytest.raises(OSError, match=rf"the download broke off after {len(archive) // 2:,} bytes"):
        load_movielens("ml-100k", cache_dir=tmp_path / "cache", base_url=url)
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_cache_that_is_a_file_is_named(archive, tmp_path):
    """FUNKSVD_DATA pointing at a file: a NotADirectoryError naming it (main: FileExistsError from mkdir)."""
    cache = tmp_path / "cache"
    cache.write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=r"the download cache .*cache is a file, not a folder"):
        fetch_movielens("ml-100k", cache, base_url="http://127.0.0.1:9")
