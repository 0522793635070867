#!/usr/bin/env python3
"""A token issuer for docker-registry's token auth, for tests only.
GET /token?service=S&scope=repository:NAME:pull[,push] with Basic auth
USER:PASSWORD (argv[3]) -> {"token": RS256 JWT signed by KEY, with the
certificate in x5c}. Wrong or missing credentials -> 401.
Usage: token-server.py PORT DIR USER:PASSWORD [EXPIRES_IN]"""
import base64, json, os, subprocess, sys, time, uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlparse, parse_qs

port, d, creds = int(sys.argv[1]), sys.argv[2], sys.argv[3]
expires = int(sys.argv[4]) if len(sys.argv) > 4 else 300
der = subprocess.run(["openssl", "x509", "-in", f"{d}/cert.pem", "-outform", "DER"], capture_output=True, check=True).stdout
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        q = parse_qs(urlparse(self.path).query)
        auth = self.headers.get("Authorization", "")
        if auth != "Basic " + base64.b64encode(creds.encode()).decode():
            self.send_response(401)
            self.end_headers()
            return
        access = []
        for s in q.get("scope", []):
            t, name, actions = s.split(":")
            access.append({"type": t, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
        claims = {"iss": "fb-test-issuer", "sub": creds.split(":")[0], "aud": q.get("service", [""])[0],
                  "exp": now + expires, "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()), "access": access}
        signing = (b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())).encode()
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", f"{d}/key.pem"], input=signing,
                             capture_output=True, check=True).stdout
        body = json.dumps({"token": signing.decode() + "." + b64u(sig), "expires_in": expires}).encode()
        with open(f"{d}/tokens.log", "a") as f:
            f.write(json.dumps(access) + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer(("127.0.0.1", port), H).serve_forever()
