#!/usr/bin/env python3
"""The module graph check (make test: deps.module_graph).

The graph is the block between <!-- module-graph --> markers in docs/architecture.md: one line per
module, "name: the modules it may use". Fails when the graph has a cycle or names a module with no
folder, when a module's library sources include a header of a module outside what it may use
(transitively), or when its CMake target links such a module. Tests, benchmarks and fuzzers are not
checked: a test may reach up to drive its module.
usage: scripts/check_deps.py SOURCE_DIR
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
doc = (root / "docs/architecture.md").read_text()
block = re.search(r"<!-- module-graph -->\s*```\n(.*?)```\s*<!-- /module-graph -->", doc, re.S)
if not block:
    sys.exit("check_deps: no module-graph block in docs/architecture.md")
graph = {}
for line in block.group(1).strip().splitlines():
    name, _, deps = line.partition(":")
    graph[name.strip()] = deps.split()

errors = []
for m, deps in graph.items():
    for d in deps:
        if d not in graph:
            errors.append(f"graph: {m} uses unknown module {d}")

# Files of one folder that build another module's target: the PostgreSQL driver's sources and its
# internal headers.
owner_override = [(re.compile(r"db/(postgres\.cpp|pg_\w+\.cpp|detail/pg_\w+\.hpp)$"), "db_postgres")]


def owner(rel, folder):
    for pattern, module in owner_override:
        if pattern.match(rel):
            return module
    return folder


# Folders that are modules; each must be in the graph.
pkg = root / "pkg/svckit"
folders = sorted(p.name for p in pkg.iterdir() if (p / "CMakeLists.txt").exists())
for f in folders:
    if f not in graph and f != "testing":
        errors.append(f"graph: pkg/svckit/{f} is a module missing from docs/architecture.md")


def closure(m, seen=None, stack=()):
    if m in stack:
        errors.append("graph: cycle " + " -> ".join(stack + (m,)))
        return set()
    seen = set() if seen is None else seen
    for d in graph.get(m, []):
        if d not in seen:
            seen.add(d)
            closure(d, seen, stack + (m,))
    return seen


allowed = {m: closure(m) | {m} for m in graph}

skip = re.compile(r"(_test|_bench|_fuzz)\.(cpp|hpp)$")
include = re.compile(r'#\s*include\s*[<"]svckit/([a-z_]+)/')
for folder in folders:
    for path in sorted((pkg / folder).rglob("*")):
        if path.suffix not in (".cpp", ".hpp") or skip.search(path.name):
            continue
        rel = path.relative_to(pkg).as_posix()
        module = owner(rel, folder)
        if module not in allowed:
            continue
        for n, text in enumerate(path.read_text().splitlines(), 1):
            hit = include.search(text)
            if hit and hit.group(1) not in allowed[module]:
                errors.append(f"pkg/svckit/{rel}:{n}: {module} includes svckit/{hit.group(1)}/, "
                              f"which it may not use (it may use: {' '.join(sorted(allowed[module] - {module}))})")

# CMake: svckit::x named by a module's CMakeLists (the test executables' lines excluded).
for folder in folders:
    text = (pkg / folder / "CMakeLists.txt").read_text()
    text = re.sub(r"if\(SVCKIT_BUILD_TESTS\).*?endif\(\)", "", text, flags=re.S)
    for target, body in re.findall(r"(svckit_module\(\s*[a-z_]+|add_library\(svckit_[a-z_]+|"
                                   r"target_link_libraries\(svckit_[a-z_]+)(.*?)\)", text, re.S):
        name = re.sub(r"^(svckit_module\(\s*|add_library\(svckit_|target_link_libraries\(svckit_)", "", target)
        if name not in allowed:
            continue
        for dep in re.findall(r"svckit::([a-z_]+)", body):
            if dep != name and dep not in allowed[name]:
                errors.append(f"pkg/svckit/{folder}/CMakeLists.txt: svckit_{name} links svckit::{dep}, "
                              "which it may not use")

if errors:
    print("\n".join(errors))
    sys.exit(1)
print(f"check_deps: {len(graph)} modules, one-way graph respected by sources and CMake targets")
