#!/usr/bin/env python3
"""A small OTLP/HTTP (JSON) trace receiver for the tests: POST /v1/traces
bodies are appended, one per line, to the file given; it answers 200 with
an empty ExportTraceServiceResponse. Prints its port on stdout once it
listens on 127.0.0.1."""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        ok = self.path == "/v1/traces" and self.headers.get("Content-Type", "").startswith("application/json")
        if ok:
            with open(sys.argv[1], "ab") as f:
                f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}" if ok else b"")

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
