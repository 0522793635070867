#!/usr/bin/env python3
"""A forward HTTP proxy (every method, bodies passed on) that logs each
request and, from the Nth PATCH on, takes the request and never answers
nor passes it on: the registry keeps the upload as it was before that
PATCH, and a test can kill the client there. Writes "stalled" to the log
when it does. Usage: stall-proxy.py PORT LOG N (N=0: never stall)"""
import http.client, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

port, logpath, stall_at = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
lock = threading.Lock()
patches = 0


def log(line):
    with lock, open(logpath, "a") as f:
        f.write(line + "\n")


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def relay(self):
        global patches
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if self.command == "PATCH":
            with lock:
                patches += 1
                mine = patches
            if stall_at and mine >= stall_at:
                log("stalled")
                while True:
                    time.sleep(3600)
        log("%s %s %s" % (self.command, self.path, self.headers.get("Content-Range", "")))
        u = urlsplit(self.path)
        if u.scheme != "http":
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        c = http.client.HTTPConnection(u.netloc)
        path = u.path + ("?" + u.query if u.query else "")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        c.request(self.command, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        c.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = relay


ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
