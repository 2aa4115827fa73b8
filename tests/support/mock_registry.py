#!/usr/bin/env python3
"""A small OCI registry for the tests of what a real one will not do on
demand: the Bearer token flow (with tokens that expire), 429/503 answers,
and blob redirects. It serves, read-only, the images of an OCI image layout
(tags from index.json's org.opencontainers.image.ref.name) under any
repository name, and logs every request as one JSON line.

  mock_registry.py --layout DIR --port-file F --log F [--user U --password P]
                   [--bearer] [--token-uses N] [--fail-first N] [--fail-status S]
                   [--redirect-blobs]
"""
import argparse
import base64
import hashlib
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ARGS = None
LOCK = threading.Lock()
TOKENS = {}  # token -> uses left
COUNT = {"n": 0, "failed": 0}


def log(entry):
    with LOCK, open(ARGS.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def blob_path(digest):
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        return None
    p = os.path.join(ARGS.layout, "blobs", "sha256", digest[7:])
    return p if os.path.isfile(p) else None


def manifest_for(ref):
    if ref.startswith("sha256:"):
        p = blob_path(ref)
        if p is None:
            return None
        data = open(p, "rb").read()
        return data, json.loads(data).get("mediaType", "application/vnd.oci.image.manifest.v1+json")
    index = json.load(open(os.path.join(ARGS.layout, "index.json")))
    for d in index.get("manifests", []):
        if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref:
            return open(blob_path(d["digest"]), "rb").read(), d["mediaType"]
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body=b"", headers=None):
        # Logged before the answer goes out: a client that exits on the answer
        # must find its request in the log (logged after, a test could count
        # the log before the mock had written the last line).
        log({"method": self.command, "path": self.path, "status": status,
             "authorization": self.headers.get("Authorization", "")})
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message, headers=None):
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self.reply(status, body, dict({"Content-Type": "application/json"}, **(headers or {})))

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        if ARGS.bearer:
            token = auth[7:] if auth.startswith("Bearer ") else None
            with LOCK:
                left = TOKENS.get(token, 0)
                if left > 0:
                    TOKENS[token] = left - 1
                    return True
            return False
        if ARGS.user:
            want = "Basic " + base64.b64encode(f"{ARGS.user}:{ARGS.password}".encode()).decode()
            return auth == want
        return True

    def challenge(self):
        host = self.headers.get("Host")
        if ARGS.bearer:
            value = f'Bearer realm="http://{host}/token",service="mock-registry"'
        else:
            value = 'Basic realm="mock"'
        self.error(401, "UNAUTHORIZED", "authentication required", {"WWW-Authenticate": value})

    def token(self):
        q = parse_qs(urlparse(self.path).query)
        if ARGS.user:
            want = "Basic " + base64.b64encode(f"{ARGS.user}:{ARGS.password}".encode()).decode()
            if self.headers.get("Authorization", "") != want:
                return self.error(401, "UNAUTHORIZED", "bad credentials")
        with LOCK:
            COUNT["n"] += 1
            token = f"token-{COUNT['n']}"
            TOKENS[token] = ARGS.token_uses
        body = json.dumps({"token": token, "scope": q.get("scope", []), "service": q.get("service", [])})
        self.reply(200, body.encode(), {"Content-Type": "application/json"})

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/token":
            return self.token()
        with LOCK:
            fail = COUNT["failed"] < ARGS.fail_first and url.path != "/v2/"
            if fail:
                COUNT["failed"] += 1
        if fail:
            return self.error(ARGS.fail_status, "UNAVAILABLE", "try again", {"Retry-After": "0"})
        if not self.authorized():
            return self.challenge()
        if url.path == "/v2/":
            return self.reply(200, b"{}", {"Content-Type": "application/json"})
        m = re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", url.path)
        if m:
            found = manifest_for(m.group(2))
            if found is None:
                return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            data, media_type = found
            return self.reply(200, data, {"Content-Type": media_type,
                                          "Docker-Content-Digest": "sha256:" + hashlib.sha256(data).hexdigest()})
        m = re.fullmatch(r"/(v2|redirected)/(.+)/blobs/([^/]+)", url.path)
        if m:
            if ARGS.redirect_blobs and m.group(1) == "v2":
                log({"method": self.command, "path": self.path, "status": 307,
                     "authorization": self.headers.get("Authorization", "")})
                self.send_response(307)
                self.send_header("Location", f"/redirected/{m.group(2)}/blobs/{m.group(3)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            p = blob_path(m.group(3))
            if p is None:
                return self.error(404, "BLOB_UNKNOWN", "blob unknown")
            data = open(p, "rb").read()
            r = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            if r:
                start = int(r.group(1))
                end = int(r.group(2)) if r.group(2) else len(data) - 1
                part = data[start:end + 1]
                return self.reply(206, part, {"Content-Range": f"bytes {start}-{start + len(part) - 1}/{len(data)}"})
            return self.reply(200, data, {"Content-Type": "application/octet-stream"})
        return self.error(404, "NOT_FOUND", "no such endpoint")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--layout", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--user", default="")
    p.add_argument("--password", default="")
    p.add_argument("--bearer", action="store_true")
    p.add_argument("--token-uses", type=int, default=1000000)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--fail-status", type=int, default=503)
    p.add_argument("--redirect-blobs", action="store_true")
    ARGS = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, ARGS.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
