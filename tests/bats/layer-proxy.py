#!/usr/bin/env python3
"""An HTTP proxy that passes responses on at RATE bytes a second and can
spoil one blob's download (a GET without Range of a URL ending in DIGEST):
MODE cut sends half its body and closes the connection, flip sends it all
with one byte changed half-way. Range requests pass untouched.
Usage: layer-proxy.py PORT RATE [DIGEST MODE]"""
import sys, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, rate = int(sys.argv[1]), int(sys.argv[2])
digest, mode = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else (None, None)
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
        code = r.status if hasattr(r, "status") else r.code
        self.send_response(code)
        length = None
        for k, v in r.headers.items():
            if k.lower() == "content-length":
                length = int(v)
            if k.lower() not in ("transfer-encoding", "connection"):
                self.send_header(k, v)
        self.end_headers()
        spoil = digest and code == 200 and self.path.endswith(digest) and "Range" not in self.headers
        half = (length or 0) // 2
        sent = 0
        while True:
            chunk = r.read(max(rate // 10, 1))
            if not chunk:
                break
            if spoil and sent + len(chunk) > half:
                if mode == "cut":
                    self.wfile.write(chunk[: half - sent])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if mode == "flip" and sent <= half:
                    b = bytearray(chunk)
                    b[half - sent] ^= 0xFF
                    chunk = bytes(b)
            self.wfile.write(chunk)
            self.wfile.flush()
            sent += len(chunk)
            time.sleep(0.1)


ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
