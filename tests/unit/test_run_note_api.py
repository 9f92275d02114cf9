"""set_run_note against a real HTTP server on 127.0.0.1 standing in for Airflow's REST API."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sparkify.run_note import _patch_note


class _Api(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, dict, str]] = []

    def _answer(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> dict:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        self.seen.append((self.command, self.path, body, self.headers.get("Authorization", "")))
        return body

    def do_POST(self) -> None:
        body = self._record()
        ok = body == {"username": "admin", "password": "secret"}
        self._answer(201 if ok else 401, {"access_token": "t0ken"} if ok else {"detail": "no"})

    def do_PATCH(self) -> None:
        self._record()
        self._answer(200 if self.headers.get("Authorization") == "Bearer t0ken" else 401, {})

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def api():
    _Api.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_note_is_patched_with_the_token_of_the_api_user(api):
    assert _patch_note(api, "admin", "secret", "sparkify_etl", "backfill__2018-11-15T07:00:00+00:00", "window x", 5)
    (post, patch) = _Api.seen
    assert post[:3] == ("POST", "/auth/token", {"username": "admin", "password": "secret"})
    assert patch[0] == "PATCH"
    assert patch[1] == (
        "/api/v2/dags/sparkify_etl/dagRuns/backfill__2018-11-15T07%3A00%3A00%2B00%3A00?update_mask=note"
    )
    assert patch[2] == {"note": "window x"} and patch[3] == "Bearer t0ken"


def test_a_refused_login_raises_and_patches_nothing(api):
    import httpx

    with pytest.raises(httpx.HTTPStatusError):
        _patch_note(api, "admin", "wrong", "sparkify_etl", "r", "window x", 5)
    assert [request[0] for request in _Api.seen] == ["POST"]
