#!/usr/bin/env python3
"""Extract what meshform's compute emulator needs from the compute v1 discovery document.

Reads ../shared/gcp-discovery/compute.v1.json (relative to the repository root)
and writes src/emulator/discovery/compute.json: for the emulated methods their
path, HTTP method and query parameters; for the request schemas (and every
schema they reference) each property's type, format, $ref, items, enum values,
additionalProperties and whether it is output only. No prose is kept.

Usage: python3 scripts/gen_discovery.py [DISCOVERY_JSON] [OUTPUT_JSON]
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_IN = os.path.join(ROOT, "..", "shared", "gcp-discovery", "compute.v1.json")
DEFAULT_OUT = os.path.join(ROOT, "src", "emulator", "discovery", "compute.json")

# Collection -> emulated methods. Keep in sync with src/emulator/compute/mod.rs.
METHODS = {
    "networks": ["insert", "get", "patch", "delete", "list"],
    "subnetworks": [
        "insert",
        "get",
        "patch",
        "delete",
        "list",
        "aggregatedList",
        "setPrivateIpGoogleAccess",
    ],
    "routers": ["insert", "get", "patch", "delete", "list", "aggregatedList"],
    "firewalls": ["insert", "get", "patch", "delete", "list"],
    "forwardingRules": ["insert", "get", "patch", "delete", "list", "aggregatedList"],
    "instances": ["insert", "get", "delete", "list", "aggregatedList"],
    "globalOperations": ["get", "wait"],
    "regionOperations": ["get", "wait"],
    "zoneOperations": ["get", "wait"],
}

# Resource schemas; the request schemas of the emulated methods (e.g.
# SubnetworksSetPrivateIpGoogleAccessRequest) are added automatically.
ROOT_SCHEMAS = ["Network", "Subnetwork", "Router", "Firewall", "ForwardingRule", "Instance"]

PROPERTY_KEYS = ["type", "format", "$ref", "enum"]


def compact_property(prop):
    out = {k: prop[k] for k in PROPERTY_KEYS if k in prop}
    if prop.get("readOnly"):
        out["outputOnly"] = True
    if "items" in prop:
        out["items"] = compact_property(prop["items"])
    if "additionalProperties" in prop:
        out["additionalProperties"] = compact_property(prop["additionalProperties"])
    if "properties" in prop:
        out["properties"] = {k: compact_property(v) for k, v in sorted(prop["properties"].items())}
    return out


def refs_of(prop, found):
    if "$ref" in prop:
        found.add(prop["$ref"])
    for key in ("items", "additionalProperties"):
        if key in prop:
            refs_of(prop[key], found)
    for sub in prop.get("properties", {}).values():
        refs_of(sub, found)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_IN
    dst = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_OUT
    with open(src, encoding="utf-8") as f:
        doc = json.load(f)

    methods = {}
    for collection, names in METHODS.items():
        for name in names:
            m = doc["resources"][collection]["methods"][name]
            params = m.get("parameters", {})
            methods[m["id"]] = {
                "path": m["path"],
                "httpMethod": m["httpMethod"],
                "pathParams": list(m.get("parameterOrder", [])),
                "queryParams": {
                    k: {kk: v[kk] for kk in ("type", "format", "enum", "required") if kk in v}
                    for k, v in sorted(params.items())
                    if v.get("location") == "query"
                },
                "request": m.get("request", {}).get("$ref"),
            }

    schemas = {}
    requests = sorted({m["request"] for m in methods.values() if m["request"]})
    todo = list(ROOT_SCHEMAS) + [r for r in requests if r not in ROOT_SCHEMAS]
    while todo:
        name = todo.pop()
        if name in schemas:
            continue
        schema = doc["schemas"][name]
        compact = compact_property(schema)
        compact.pop("outputOnly", None)
        schemas[name] = compact
        found = set()
        refs_of(schema, found)
        todo.extend(sorted(found - set(schemas)))

    out = {
        "source": {"id": doc["id"], "revision": doc["revision"]},
        "systemParams": sorted(doc.get("parameters", {}).keys()),
        "methods": dict(sorted(methods.items())),
        "schemas": dict(sorted(schemas.items())),
    }
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(tmp, dst)
    print(f"wrote {dst}: {len(methods)} methods, {len(schemas)} schemas")


if __name__ == "__main__":
    main()
