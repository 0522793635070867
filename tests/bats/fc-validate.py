#!/usr/bin/env python3
"""Check recorded Firecracker API requests (JSON lines: method, path, body)
against the published specification (swagger 2.0 YAML): the path and
method exist, path parameters match, the body validates against the
operation's body schema (definitions resolved). Prints one line per
request and exits 1 if any is invalid."""
import json, re, sys
import jsonschema, yaml

spec = yaml.safe_load(open(sys.argv[1]))
defs = spec.get("definitions", {})
bad = 0
for line in open(sys.argv[2]):
    req = json.loads(line)
    path, method = req["path"], req["method"].lower()
    op, params = None, {}
    for tmpl, item in spec["paths"].items():
        rx = "^" + re.sub(r"\{([^}]+)\}", r"(?P<\1>[^/]+)", tmpl) + "$"
        m = re.match(rx, path)
        if m and method in item:
            op, params = item[method], m.groupdict()
            break
    if op is None:
        print("INVALID %s %s: not in the API" % (method.upper(), path))
        bad += 1
        continue
    schema = None
    for p in op.get("parameters", []):
        if p.get("in") == "body":
            schema = p.get("schema")
    err = None
    if schema is not None:
        full = dict(schema)
        full["definitions"] = defs
        try:
            jsonschema.validate(req["body"], full, cls=jsonschema.Draft4Validator)
        except jsonschema.ValidationError as e:
            err = e.message
    # a body with the id in it must agree with the path's
    for k, v in params.items():
        if isinstance(req["body"], dict) and k in req["body"] and req["body"][k] != v:
            err = "%s in the body (%s) is not the path's (%s)" % (k, req["body"][k], v)
    if err:
        print("INVALID %s %s: %s" % (method.upper(), path, err))
        bad += 1
    else:
        print("ok %s %s" % (method.upper(), path))
sys.exit(1 if bad else 0)
