"""The smallest honest bridge from influxdb-client's write path to InfluxDB before 1.8.

influxdb-client writes with POST /api/v2/write (InfluxDB 1.8+, 2.x, 3.x). Debian's InfluxDB is
1.6.7, which only has POST /write. This forwards the line-protocol body unchanged, mapping
bucket "db/rp" to db and rp and the precision names, and passes InfluxDB's answer back.
Nothing is buffered here: a failed forward is a failed write to the hub, which keeps the points.
"""

import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PRECISION = {"ns": "n", "us": "u", "ms": "ms", "s": "s"}
MAX_BODY = 64 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    server: "InfluxV1Bridge"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path in ("/ping", "/health"):
            self._forward("GET", "/ping", b"", {})
        else:
            self._answer(404, b'{"message":"not found"}')

    def do_POST(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/api/v2/write":
            self._answer(404, b'{"message":"only /api/v2/write is bridged"}')
            return
        query = urllib.parse.parse_qs(url.query)
        bucket = query.get("bucket", [""])[0]
        if not bucket:
            self._answer(400, b'{"message":"bucket is required"}')
            return
        db, _, rp = bucket.partition("/")
        params = {"db": db, "precision": PRECISION.get(query.get("precision", ["ns"])[0], "n")}
        if rp:
            params["rp"] = rp
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._answer(413, b'{"message":"body too large"}')
            return
        body = self.rfile.read(length)
        headers = {}
        if self.headers.get("Content-Encoding"):
            headers["Content-Encoding"] = self.headers["Content-Encoding"]
        self._forward("POST", "/write?" + urllib.parse.urlencode(params), body, headers)

    def _forward(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> None:
        request = urllib.request.Request(  # noqa: S310 - the target is fixed at start
            self.server.target + path, data=body or None, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - fixed target
                self._answer(resp.status, resp.read())
        except urllib.error.HTTPError as err:
            self._answer(err.code, err.read())
        except OSError as err:
            self._answer(503, f'{{"message":"InfluxDB unreachable: {err}"}}'.encode())

    def _answer(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class InfluxV1Bridge(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, target: str, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.target = target.rstrip("/")
        self._thread = threading.Thread(
            target=self.serve_forever, name="influx-bridge", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> "InfluxV1Bridge":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
