"""The AWS JSON 1.1 protocol as botocore speaks it for `redshift-data`.

A request is `POST /` with `X-Amz-Target: RedshiftData.<Operation>` and a JSON body; the answer is a JSON
body, or an error: HTTP 4xx/5xx with `{"__type": <code>, "message": <text>}` (and the shape's own members,
such as ResourceNotFoundException's `ResourceId`), which botocore turns into `ClientError`. Requests must
be SigV4-signed, but the signature is not checked (the local stack has no IAM); nothing of the request's
headers is logged.
"""

from __future__ import annotations

import json
import logging
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local_stack.redshift_data.inputs import ApiError
from local_stack.redshift_data.operations import Operations

log = logging.getLogger(__name__)
TARGET_PREFIX = "RedshiftData."
CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_BODY = 2 << 20  # bytes: a request larger than this is refused


class DataApiHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], operations: Operations) -> None:
        super().__init__(address, DataApiHandler)
        self.operations = operations


class DataApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: DataApiHttpServer

    def do_POST(self) -> None:  # noqa: N802  # http.server's name
        try:
            self._reply(200, self._answer())
        except ApiError as error:
            self._reply(error.status, {"__type": error.code, "message": error.message, **error.members})
        except Exception:
            log.exception("the Data API request failed")
            self._reply(500, {"__type": "InternalServerException", "message": "The local Data API failed."})

    def _answer(self) -> dict:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            raise ApiError("SerializationException", f"Content-Length must be 0 to {MAX_BODY} bytes.", 413)
        body = self.rfile.read(length)
        target = self.headers.get("X-Amz-Target", "")
        if not target.startswith(TARGET_PREFIX):
            raise ApiError("UnknownOperationException", "X-Amz-Target must be RedshiftData.<Operation>.")
        if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
            raise ApiError("MissingAuthenticationTokenException", "The request is not signed (SigV4).", 403)
        try:
            request: Any = json.loads(body or b"{}")
        except ValueError:
            raise ApiError("SerializationException", "The request body is not JSON.") from None
        if not isinstance(request, dict):
            raise ApiError("SerializationException", "The request body must be a JSON object.")
        operation = target.removeprefix(TARGET_PREFIX)
        log.debug("%s", operation)
        return self.server.operations.call(operation, request)

    def _reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if status >= 400:
            self.send_header("x-amzn-ErrorType", str(payload["__type"]))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  # http.server's signature
        log.debug(format, *args)
