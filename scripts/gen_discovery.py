#!/usr/bin/env python3
"""Extract what meshform's emulator needs from the compute v1 and container v1 discovery documents.

Reads ../shared/gcp-discovery/{compute,container}.v1.json (relative to the
repository root) and writes src/emulator/discovery/{compute,container}.json:
for the emulated methods their path, HTTP method and query parameters; for the
request schemas (and every schema they reference) each property's type,
format, $ref, items, enum values, additionalProperties and whether it is
output only. No prose is kept.

Container paths are the methods' `flatPath`s without the leading `v1/` (the
emulator serves them under `/v1/`), so `{+name}` never spans segments.

Usage: python3 scripts/gen_discovery.py            (both APIs)
       python3 scripts/gen_discovery.py compute|container [DISCOVERY_JSON] [OUTPUT_JSON]
       python3 scripts/gen_discovery.py DISCOVERY_JSON [OUTPUT_JSON]   (compute, as .ci/run calls it)
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_in(api):
    return os.path.join(ROOT, "..", "shared", "gcp-discovery", f"{api}.v1.json")


def default_out(api):
    return os.path.join(ROOT, "src", "emulator", "discovery", f"{api}.json")


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
    "regionBackendServices": ["insert", "get", "patch", "delete", "list"],
    "backendServices": ["aggregatedList"],
    "healthChecks": ["insert", "get", "patch", "delete", "list", "aggregatedList"],
    "networkEndpointGroups": ["insert", "get", "delete", "list", "aggregatedList"],
    "globalOperations": ["get", "wait", "list", "aggregatedList"],
    "regionOperations": ["get", "wait", "list"],
    "zoneOperations": ["get", "wait", "list"],
    # Read-only lookups gcloud makes (src/emulator/compute/places.rs).
    "projects": ["get"],
    "regions": ["get", "list"],
    "zones": ["get", "list"],
}

# Resource schemas; the request schemas of the emulated methods (e.g.
# SubnetworksSetPrivateIpGoogleAccessRequest) are added automatically.
ROOT_SCHEMAS = [
    "Network",
    "Subnetwork",
    "Router",
    "Firewall",
    "ForwardingRule",
    "Instance",
    "BackendService",
    "HealthCheck",
    "NetworkEndpointGroup",
]

# Container: resource path (under `resources`) -> emulated methods. Keep in
# sync with src/emulator/container/mod.rs.
CONTAINER_METHODS = {
    ("projects", "locations", "clusters"): ["create", "get", "list", "delete", "update"],
    ("projects", "locations", "operations"): ["get", "list"],
}

# Container response schemas, kept for the enum-number table and output checks.
CONTAINER_ROOT_SCHEMAS = ["Cluster", "Operation", "ListClustersResponse", "ListOperationsResponse"]

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


def compact_method(m, path):
    params = m.get("parameters", {})
    return {
        "path": path,
        "httpMethod": m["httpMethod"],
        "pathParams": list(m.get("parameterOrder", [])),
        "queryParams": {
            k: {kk: v[kk] for kk in ("type", "format", "enum", "required") if kk in v}
            for k, v in sorted(params.items())
            if v.get("location") == "query"
        },
        "request": m.get("request", {}).get("$ref"),
    }


# Query parameters the real compute API accepts on these verbs although this
# revision of the discovery document leaves them out (its own descriptions
# recommend setting `returnPartialSuccess`, and gcloud sends it on every list).
SUPPLEMENTED_QUERY_PARAMS = {
    "list": {"returnPartialSuccess": {"type": "boolean"}},
    "aggregatedList": {"returnPartialSuccess": {"type": "boolean"}},
}


def compute_methods(doc):
    methods = {}
    for collection, names in METHODS.items():
        for name in names:
            m = doc["resources"][collection]["methods"][name]
            compact = compact_method(m, m["path"])
            for param, spec in SUPPLEMENTED_QUERY_PARAMS.get(name, {}).items():
                compact["queryParams"].setdefault(param, spec)
            compact["queryParams"] = dict(sorted(compact["queryParams"].items()))
            methods[m["id"]] = compact
    return methods


def container_methods(doc):
    methods = {}
    for resource_path, names in CONTAINER_METHODS.items():
        node = doc
        for part in resource_path:
            node = node["resources"][part]
        for name in names:
            m = node["methods"][name]
            flat = m["flatPath"]
            assert flat.startswith("v1/"), flat
            methods[m["id"]] = compact_method(m, flat[len("v1/"):])
    return methods


def generate(api, src, dst):
    with open(src, encoding="utf-8") as f:
        doc = json.load(f)

    if api == "compute":
        methods, roots = compute_methods(doc), ROOT_SCHEMAS
    else:
        methods, roots = container_methods(doc), CONTAINER_ROOT_SCHEMAS

    schemas = {}
    requests = sorted({m["request"] for m in methods.values() if m["request"]})
    todo = list(roots) + [r for r in requests if r not in roots]
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


def main():
    if len(sys.argv) == 1:
        for api in ("compute", "container"):
            generate(api, default_in(api), default_out(api))
        return
    args = sys.argv[1:]
    api = args.pop(0) if args[0] in ("compute", "container") else "compute"
    src = args[0] if args else default_in(api)
    dst = args[1] if len(args) > 1 else default_out(api)
    generate(api, src, dst)


if __name__ == "__main__":
    main()
