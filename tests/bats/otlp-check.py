#!/usr/bin/env python3
"""Check what otlp-receiver.py recorded: every body validates against the
OTLP ExportTraceServiceRequest JSON structure (opentelemetry-proto's JSON
mapping: hex ids, nanosecond times as strings, typed attribute values),
all spans are one trace, every parent is a span of that trace (one root),
and the names asked for (argv[2:]) are there, each as a prefix of some
span's name. Prints a summary: name (parent's name) per span."""
import json
import sys

import jsonschema

HEX = {"type": "string"}
ANY_VALUE = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "properties": {
        "stringValue": {"type": "string"},
        "boolValue": {"type": "boolean"},
        "intValue": {"type": ["string", "integer"], "pattern": "^-?[0-9]+$"},
        "doubleValue": {"type": "number"},
        "arrayValue": {"type": "object"},
        "kvlistValue": {"type": "object"},
        "bytesValue": {"type": "string"},
    },
    "additionalProperties": False,
}
KV = {
    "type": "object",
    "required": ["key", "value"],
    "properties": {"key": {"type": "string"}, "value": ANY_VALUE},
    "additionalProperties": False,
}
SPAN = {
    "type": "object",
    "required": ["traceId", "spanId", "name", "kind", "startTimeUnixNano", "endTimeUnixNano"],
    "properties": {
        "traceId": dict(HEX, pattern="^[0-9a-f]{32}$"),
        "spanId": dict(HEX, pattern="^[0-9a-f]{16}$"),
        "parentSpanId": dict(HEX, pattern="^([0-9a-f]{16})?$"),
        "traceState": {"type": "string"},
        "name": {"type": "string", "minLength": 1},
        "kind": {"type": "integer", "minimum": 0, "maximum": 5},
        "startTimeUnixNano": {"type": "string", "pattern": "^[0-9]+$"},
        "endTimeUnixNano": {"type": "string", "pattern": "^[0-9]+$"},
        "attributes": {"type": "array", "items": KV},
        "droppedAttributesCount": {"type": "integer"},
        "events": {"type": "array"},
        "links": {"type": "array"},
        "status": {
            "type": "object",
            "properties": {"code": {"type": "integer", "enum": [0, 1, 2]}, "message": {"type": "string"}},
            "additionalProperties": False,
        },
        "flags": {"type": "integer"},
    },
    "additionalProperties": False,
}
REQUEST = {
    "type": "object",
    "required": ["resourceSpans"],
    "additionalProperties": False,
    "properties": {
        "resourceSpans": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["scopeSpans"],
                "additionalProperties": False,
                "properties": {
                    "resource": {
                        "type": "object",
                        "properties": {"attributes": {"type": "array", "items": KV}},
                    },
                    "schemaUrl": {"type": "string"},
                    "scopeSpans": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["spans"],
                            "additionalProperties": False,
                            "properties": {
                                "scope": {
                                    "type": "object",
                                    "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
                                },
                                "schemaUrl": {"type": "string"},
                                "spans": {"type": "array", "items": SPAN},
                            },
                        },
                    },
                },
            },
        }
    },
}

spans = []
with open(sys.argv[1]) as f:
    for line in f:
        body = json.loads(line)
        jsonschema.validate(body, REQUEST)
        for rs in body["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                spans.extend(ss["spans"])
if not spans:
    sys.exit("no spans")
traces = {s["traceId"] for s in spans}
if len(traces) != 1:
    sys.exit("spans of %d traces: %s" % (len(traces), sorted(traces)))
ids = {s["spanId"]: s for s in spans}
if len(ids) != len(spans):
    sys.exit("a span id is used twice")
roots = [s for s in spans if not s.get("parentSpanId")]
orphans = [s for s in spans if s.get("parentSpanId") and s["parentSpanId"] not in ids]
if len(roots) != 1 or orphans:
    sys.exit("roots %s, spans whose parent is missing %s" % ([r["name"] for r in roots], [o["name"] for o in orphans]))
for s in spans:
    if int(s["endTimeUnixNano"]) < int(s["startTimeUnixNano"]):
        sys.exit("span %s ends before it starts" % s["name"])
for want in sys.argv[2:]:
    if not any(s["name"].startswith(want) for s in spans):
        sys.exit("no span named %s... in %s" % (want, sorted({s["name"] for s in spans})))
for s in spans:
    p = ids.get(s.get("parentSpanId", ""))
    print("%s (%s)" % (s["name"], p["name"] if p else "-"))
