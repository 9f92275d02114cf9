"""A real HTTP server on 127.0.0.1 standing in for a Slack Incoming Webhook; it keeps every message posted to it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WEBHOOK_PATH = "/services/T0SPARKIFY/B0ALERTS/not-a-real-token"


@dataclass
class SlackChannel:
    url: str
    messages: list[dict] = field(default_factory=list)
    status: int = 200  # what the webhook answers; Slack answers 200 "ok"

    def connection_json(self) -> str:
        """An Airflow `slackwebhook` connection to this server (the webhook URL in the password), as JSON."""
        return json.dumps({"conn_type": "slackwebhook", "password": self.url, "extra": {"timeout": 5}})


@contextmanager
def slack_webhook_server() -> Iterator[SlackChannel]:
    channel: SlackChannel

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's hook name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == WEBHOOK_PATH:
                channel.messages.append(json.loads(body))
            answer = b"ok" if channel.status == 200 and self.path == WEBHOOK_PATH else b"invalid_token"
            self.send_response(channel.status if self.path == WEBHOOK_PATH else 404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    channel = SlackChannel(f"http://127.0.0.1:{server.server_address[1]}{WEBHOOK_PATH}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield channel
    finally:
        server.shutdown()
        server.server_close()
