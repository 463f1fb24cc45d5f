"""A fake Kubernetes API server for the enrolment tests: Secrets and claims of one namespace.

It answers the few core/v1 calls ``mec5g k8s`` makes (create, get, merge-patch) from memory, so
that a test sees exactly what lands in the Secrets, and can fail PATCHes on demand.
"""

from __future__ import annotations

import base64
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NAMESPACE = "testbed"


class FakeApi(ThreadingHTTPServer):
    """Secrets and claims of one namespace; ``fail_patches`` answers that many PATCHes 500."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.fail_patches = 0
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def secret_files(self, name: str) -> dict[str, bytes]:
        data = self.objects[("secrets", name)].get("data") or {}
        return {key: base64.b64decode(value) for key, value in data.items()}


class _Handler(BaseHTTPRequestHandler):
    server: FakeApi

    def log_message(self, format: str, *args: Any) -> None:
        del format, args

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> tuple[str, str | None]:
        parts = self.path.strip("/").split("/")
        assert parts[:4] == ["api", "v1", "namespaces", NAMESPACE], self.path
        return parts[4], parts[5] if len(parts) > 5 else None

    def _body(self) -> dict[str, Any]:
        length = int(self.headers["Content-Length"])
        document: dict[str, Any] = json.loads(self.rfile.read(length))
        return document

    def do_POST(self) -> None:
        self.server.requests.append(f"POST {self.path}")
        collection, _ = self._route()
        body = self._body()
        key = (collection, body["metadata"]["name"])
        if key in self.server.objects:
            self._answer(409, {"message": "already exists"})
            return
        self.server.objects[key] = body
        self._answer(201, body)

    def do_GET(self) -> None:
        self.server.requests.append(f"GET {self.path}")
        collection, name = self._route()
        found = self.server.objects.get((collection, str(name)))
        self._answer(200, found) if found else self._answer(404, {"message": "not found"})

    def do_PATCH(self) -> None:
        self.server.requests.append(f"PATCH {self.path}")
        assert self.headers["Content-Type"] == "application/merge-patch+json"
        collection, name = self._route()
        body = self._body()
        if self.server.fail_patches:
            self.server.fail_patches -= 1
            self._answer(500, {"message": "etcd is having a bad day"})
            return
        target = self.server.objects[(collection, str(name))]
        target.setdefault("data", {}).update(body["data"])
        self._answer(200, target)
