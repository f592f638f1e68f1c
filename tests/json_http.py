"""A quiet HTTP request handler that answers with JSON (the tests' local servers)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


class JsonHandler(BaseHTTPRequestHandler):
    """Base handler: :meth:`send_json` writes one JSON reply; request logging is off."""

    def send_json(self, status: int, payload: Any) -> None:
        """Answer ``status`` with ``payload`` (bytes as given, anything else as JSON)."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        """Keep the test output clean."""
