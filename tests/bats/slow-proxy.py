#!/usr/bin/env python3
"""An HTTP proxy that passes responses on at RATE bytes a second, so a
test can kill a download half-way. Usage: slow-proxy.py PORT RATE"""
import sys, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, rate = int(sys.argv[1]), int(sys.argv[2])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        if not self.path.startswith("http"):
            self.send_response(400)
            self.end_headers()
            return
        req = urllib.request.Request(self.path, headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
        try:
            r = opener.open(req)
        except urllib.error.HTTPError as e:
            r = e
        self.send_response(r.status if hasattr(r, "status") else r.code)
        for k, v in r.headers.items():
            if k.lower() not in ("transfer-encoding", "connection"):
                self.send_header(k, v)
        self.end_headers()
        while True:
            chunk = r.read(rate // 10)
            if not chunk:
                break
            self.wfile.write(chunk)
            self.wfile.flush()
            time.sleep(0.1)

ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
