#!/usr/bin/env python3
"""Dead references in the docs (make test: docs.links).

Checks README.md, CONTRIBUTING.md, docs/*.md and every other tracked README.md:
- each relative Markdown link, [text](path) or [text](path#anchor), leads to a file or folder inside
  the repository, and its anchor (or a bare #anchor) to a heading of the target (GitHub's slugs);
- each file path quoted as code (`pkg/svckit/db/database.hpp`, `scripts/pg.sh`, `tests/`) exists,
  taken from the repository's root, the document's folder, `pkg/` (include paths: `svckit/...`) or
  `pkg/svckit/` (a module's files: `http/detail/read_poller.hpp`). Paths into build output (`build/`) and runtime data (`data/`),
  absolute paths, URLs' paths, templates (`<env>`, `*`) are not files and are skipped.
usage: scripts/doc_links.py SOURCE_DIR
"""
import pathlib
import re
import subprocess
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
FILE_EXT = r"(?:cpp|hpp|h|c|md|py|sh|cmake|in|proto|yaml|yml|json|sql|lua|go|supp|txt)"


# Include prefixes of the packages svckit builds on: their headers are not files of this repository.
THIRD_PARTY = ("grpcpp/", "google/", "asio/", "yaml-cpp/", "gtest/", "gmock/", "benchmark/", "nghttp2/",
               "openssl/", "sodium/", "fmt/", "boost/")


def documents():
    files = subprocess.run(["git", "ls-files", "*.md"], cwd=root, capture_output=True, text=True).stdout.split()
    found = {root / f for f in files}
    found |= {root / "README.md", root / "CONTRIBUTING.md"} | set((root / "docs").glob("*.md"))
    return sorted(p for p in found if p.exists() and "tests/fuzz/corpus" not in str(p))


def slugs(path):
    out, seen, fence = set(), {}, False
    for line in path.read_text().splitlines():
        if re.match(r"^\s*(```|~~~)", line):
            fence = not fence
            continue
        m = None if fence else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        text = re.sub(r"`([^`]*)`", r"\1", m.group(1))
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def inside(p):
    try:
        p.resolve().relative_to(root)
        return True
    except ValueError:
        return False


errors = []
for doc in documents():
    rel = doc.relative_to(root)
    text = doc.read_text()
    lines = text.splitlines()
    fence = False
    for no, line in enumerate(lines, 1):
        if re.match(r"^\s*(```|~~~)", line):
            fence = not fence
            continue
        if fence:
            continue
        for m in re.finditer(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|^\s*\[[^\]]+\]:\s*(\S+)", line):
            target = m.group(1) or m.group(2)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # http:, https:, mailto:
            path, _, anchor = target.partition("#")
            dest = (doc.parent / path) if path else doc
            if not inside(dest):
                errors.append(f"{rel}:{no}: link outside the repository: {target}")
            elif not dest.exists():
                errors.append(f"{rel}:{no}: link to a missing file: {target}")
            elif anchor and dest.suffix == ".md" and anchor not in slugs(dest):
                errors.append(f"{rel}:{no}: link to a missing heading: {target}")
        for m in re.finditer(r"`([^`\s]+)`", line):
            span = m.group(1).rstrip(".,:;")
            if not re.fullmatch(r"[\w.\-/]+/(?:[\w.\-]+\." + FILE_EXT + r"|[\w.\-]*/?)", span):
                continue
            if span.startswith(("/", "build/", "data/", "http", "127.")) or "//" in span or span.startswith(".."):
                continue
            if span.startswith(THIRD_PARTY):
                continue  # another package's header
            if not re.search(r"\." + FILE_EXT + r"$", span) and not re.search(r"/.*/$", span):
                continue  # a/b without an extension, or one folder (`detail/`): a key, a route, a header
            bases = [root, doc.parent, root / "pkg", root / "pkg/svckit"]
            if not any((b / span).exists() for b in bases):
                errors.append(f"{rel}:{no}: `{span}` names no file of the repository")

for e in errors:
    print(f"doc_links: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
