"""A stand-in for Grafana's HTTP API: the datasource, folder and dashboard endpoints that
provisioning uses, kept in memory, every call recorded. Answers the way Grafana does (404 with
a message for unknown uids, secrets never read back, ids and versions added on save)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    method: str
    path: str
    authorization: str
    body: Any


@dataclass
class Grafana:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)

    def writes(self) -> list[tuple[str, str]]:
        return [(c.method, c.path) for c in self.calls if c.method != "GET"]

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        routes = (
            ("GET", r"/api/datasources/uid/([^/]+)", self._get_datasource),
            ("POST", r"/api/datasources", self._create_datasource),
            ("PUT", r"/api/datasources/uid/([^/]+)", self._update_datasource),
            ("GET", r"/api/folders/([^/]+)", self._get_folder),
            ("POST", r"/api/folders", self._create_folder),
            ("PUT", r"/api/folders/([^/]+)", self._update_folder),
            ("GET", r"/api/dashboards/uid/([^/]+)", self._get_dashboard),
            ("POST", r"/api/dashboards/db", self._save_dashboard),
        )
        for verb, pattern, handler in routes:
            matched = re.fullmatch(pattern, path)
            if verb == method and matched:
                return handler(body, *matched.groups())
        return 404, {"message": "Not found"}

    def _get_datasource(self, _body: Any, uid: str) -> tuple[int, Any]:
        if uid not in self.datasources:
            return 404, {"message": "Data source not found"}
        stored = self.datasources[uid]
        shown = {k: v for k, v in stored.items() if k != "secureJsonData"}
        if "secureJsonData" in stored:
            shown["secureJsonFields"] = {"password": True}
        return 200, shown

    def _create_datasource(self, body: Any) -> tuple[int, Any]:
        if body["uid"] in self.datasources:
            return 409, {"message": "data source with the same uid already exists"}
        self.datasources[body["uid"]] = body | {"id": len(self.datasources) + 1, "orgId": 1}
        return 200, {"message": "Datasource added", "datasource": body}

    def _update_datasource(self, body: Any, uid: str) -> tuple[int, Any]:
        if uid not in self.datasources:
            return 404, {"message": "Data source not found"}
        self.datasources[uid] = body | {"id": self.datasources[uid]["id"], "orgId": 1}
        return 200, {"message": "Datasource updated"}

    def _get_folder(self, _body: Any, uid: str) -> tuple[int, Any]:
        if uid not in self.folders:
            return 404, {"message": "folder not found"}
        return 200, self.folders[uid]

    def _create_folder(self, body: Any) -> tuple[int, Any]:
        if body["uid"] in self.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        self.folders[body["uid"]] = body | {"id": len(self.folders) + 1, "version": 1}
        return 200, self.folders[body["uid"]]

    def _update_folder(self, body: Any, uid: str) -> tuple[int, Any]:
        self.folders[uid] = self.folders[uid] | body
        return 200, self.folders[uid]

    def _get_dashboard(self, _body: Any, uid: str) -> tuple[int, Any]:
        if uid not in self.dashboards:
            return 404, {"message": "Dashboard not found"}
        return 200, self.dashboards[uid]

    def _save_dashboard(self, body: Any) -> tuple[int, Any]:
        dashboard = body["dashboard"]
        uid = dashboard["uid"]
        if body["folderUid"] not in self.folders:
            return 400, {"message": "folder not found"}
        before = self.dashboards.get(uid)
        if before is not None and not body.get("overwrite"):
            return 412, {"message": "version-mismatch"}
        version = before["dashboard"]["version"] + 1 if before else 1
        saved = dashboard | {"id": len(self.dashboards) + 1, "version": version}
        self.dashboards[uid] = {"dashboard": saved, "meta": {"folderUid": body["folderUid"]}}
        return 200, {"status": "success", "uid": uid, "version": version}


@contextmanager
def grafana_standin() -> Iterator[Grafana]:
    grafana = Grafana()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            grafana.calls.append(
                Call(self.command, self.path, self.headers.get("Authorization", ""), body)
            )
            status, answer = grafana.answer(self.command, self.path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def log_message(self, *_args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    grafana.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield grafana
    finally:
        server.shutdown()
        server.server_close()
