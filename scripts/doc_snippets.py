#!/usr/bin/env python3
"""Extracts the C++ examples of the docs into translation units that make test compiles.

Where examples are:
- README.md and docs/*.md: fenced blocks tagged ```cpp (or c++, cc, cxx).
- Public headers (pkg/svckit/**/*.hpp, not detail/, test helpers or testdata/): comment blocks fenced
  the same way, `// ```cpp` ... `// ````, the code indented under `//` as the rest of the comment.

The convention (CONTRIBUTING.md repeats it):
- Every ```cpp block is compiled. A block that is deliberately not C++ as written (a signature with
  `...` in it) is fenced ```cpp fragment; keep that rare. A fence without a language whose content
  looks like C++, or an indented example in a header comment outside a fence, is an error: an example
  cannot escape the check by losing its tag.
- A block is compiled as if it followed the prelude: every public svckit header included, then
  `using namespace svckit;`, `using namespace std::chrono_literals;` and the ByteSize literals
  (4_MiB). Its own #include lines are kept (they must exist) and moved to the top of the unit, before
  the using-directives.
- Each block is compiled in a namespace of its own, so two blocks may both define `struct User` or
  `main` (a `main` may end without a return, as ::main may). A block fenced ```cpp continued goes on
  in the namespace of the previous compiled block of the same file and sees its declarations.
- A block's declarations of types, functions (`int main` included), function declarations, namespace
  aliases and using-declarations are compiled as written, at namespace scope.
- Its variables and statements at top level (`auto db = ...;`, `router.get(...);`, `if`, `for`, a
  `co_await`) are the example's body: they are wrapped, in order, in a function whose parameters are
  the names the docs use for what a handler or a main has at hand:
      svckit::Context ctx, svckit::Runtime& rt, svckit::app::App& app, svckit::http::Router& router,
      svckit::log::Logger& logger, svckit::http::Request& req, svckit::http::Response& res
  (a name the body declares itself at its top level, its own `rt` or `res`, is left out). The
  function is a `svckit::Task<void>` coroutine when the statements co_await or co_return (outside
  lambdas), otherwise `void`. These names are not visible to the block's own functions, which take
  what they use as parameters. Any other name a block uses it declares itself; a declaration without
  a definition is enough, since nothing is linked (`Task<void> get_user(http::Request&,
  http::Response&);`). A body returns nothing (`return res.error(st);` returns a void expression and
  is fine); one that returns a value (`return 1;`, `co_return st;`) fails to compile: write that
  example as the function it is, with its signature.
- Nothing is linked or run. Warnings about unused names are off for these units (examples name things
  to show them), and so is -Wsubobject-linkage (the #line directives make GCC take the examples for a
  header); every other warning of the project is an error. Errors point at the document's own lines.

usage: doc_snippets.py extract ROOT OUT_DIR    writes OUT_DIR/<name>.cpp for every document, and
                                               OUT_DIR/prelude.hpp (files are rewritten only when
                                               their text changes); exits 1 on a convention error
       doc_snippets.py outputs ROOT            the names extract writes (for CMake)
       doc_snippets.py list ROOT               every example found, with its place and form
"""
import pathlib
import re
import sys

CPP_TAGS = {"cpp", "c++", "cc", "cxx"}
AMBIENT = [("svckit::Context", "ctx"), ("svckit::Runtime&", "rt"), ("svckit::app::App&", "app"),
           ("svckit::http::Router&", "router"), ("svckit::log::Logger&", "logger"),
           ("svckit::http::Request&", "req"), ("svckit::http::Response&", "res")]
DECL_KEYWORDS = {"struct", "class", "enum", "union", "namespace", "template", "typedef", "using",
                 "static_assert", "extern", "concept"}
CONTROL_KEYWORDS = {"if", "for", "while", "switch", "catch", "else", "do", "try", "return", "co_return",
                    "co_await", "co_yield"}


class Snippet:
    def __init__(self, source, line, code, words):
        self.source = source  # path relative to the root
        self.line = line  # 1-based line of the snippet's first code line in source
        self.code = code  # the code, with its indentation removed
        self.mode = "fragment" if "fragment" in words else "compile"
        self.continued = "continued" in words  # shares the previous block's namespace


def public_headers(root):
    pkg = root / "pkg/svckit"
    for p in sorted(pkg.rglob("*.hpp")):
        rel = p.relative_to(pkg)
        if "detail" in rel.parts or "testdata" in rel.parts or "_test" in p.name or "_fuzz" in p.name:
            continue
        yield p


def documents(root):
    docs = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
    return [d for d in docs if d.exists()]


def looks_like_cpp(lines):
    text = "\n".join(lines)
    if re.search(r"^\s*#include\b|\bco_await\b|\bco_return\b|\bsvckit::", text, re.M):
        return True
    return sum(1 for l in lines if re.search(r"[;{}]\s*(//.*)?$", l)) >= 2


def dedent(lines):
    indents = [len(l) - len(l.lstrip()) for l in lines if l.strip()]
    cut = min(indents) if indents else 0
    return [l[cut:] if l.strip() else "" for l in lines]


def markdown_snippets(root, path, errors):
    rel = str(path.relative_to(root))
    lines = path.read_text().splitlines()
    out = []
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(```+|~~~+)\s*(.*)$", lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3).strip()
        j = i + 1
        while j < len(lines) and not re.match(r"^\s*" + re.escape(fence) + r"\s*$", lines[j]):
            j += 1
        body = [l[indent:] if l[:indent].strip() == "" else l for l in lines[i + 1:j]]
        words = info.split()
        lang = words[0].lower() if words else ""
        if lang in CPP_TAGS:
            out.append(Snippet(rel, i + 2, "\n".join(dedent(body)), words[1:]))
        elif not lang and looks_like_cpp(body):
            errors.append(f"{rel}:{i + 1}: a code block without a language looks like C++: "
                          "fence it ```cpp (compiled) or ```cpp fragment")
        i = j + 1
    return out


def header_snippets(root, path, errors):
    rel = str(path.relative_to(root))
    lines = path.read_text().splitlines()
    out = []
    i = 0
    loose = []  # indented code-like comment lines outside fences
    while i < len(lines):
        m = re.match(r"^\s*//\s*```\s*(\S*)\s*(.*)$", lines[i])
        if m:
            lang, rest = m.group(1).lower(), m.group(2).split()
            j = i + 1
            while j < len(lines) and not re.match(r"^\s*//\s*```\s*$", lines[j]):
                j += 1
            if j == len(lines):
                errors.append(f"{rel}:{i + 1}: unterminated ``` fence in a comment")
                break
            body = [re.sub(r"^\s*// ?", "", l) for l in lines[i + 1:j]]
            if lang in CPP_TAGS:
                out.append(Snippet(rel, i + 2, "\n".join(dedent(body)), rest))
            i = j + 1
            continue
        c = re.match(r"^\s*//(\s{3,})(\S.*?)\s*(//.*)?$", lines[i])
        if c and (c.group(2).endswith(";") or (c.group(2)[-1] in "{}" and re.search(r"[(=;]", c.group(2)))):
            loose.append(i + 1)  # ends a statement, or opens/closes a block of code (not a YAML map)
        i += 1
    if loose:
        errors.append(f"{rel}:{loose[0]}: an example in a comment outside a fence "
                      f"(lines {', '.join(map(str, loose[:6]))}): fence it // ```cpp ... // ```")
    return out


# --- a small C++ scanner: enough to split a snippet into top-level items -------------------------------

def mask(code):
    """The code with comments, string and character literals blanked (same length, newlines kept)."""
    out = list(code)
    i, n = 0, len(code)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = code[i]
        if code.startswith("//", i):
            j = code.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif code.startswith("/*", i):
            j = code.find("*/", i + 2)
            j = n if j < 0 else j + 2
            blank(i, j)
            i = j
        elif c == "R" and i + 1 < n and code[i + 1] == '"' and (i == 0 or not (code[i - 1].isalnum() or code[i - 1] == "_")):
            m = re.match(r'R"([^(\s]*)\(', code[i:])
            if not m:
                i += 1
                continue
            end = code.find(")" + m.group(1) + '"', i)
            j = n if end < 0 else end + len(m.group(1)) + 2
            blank(i + 1, j)
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and code[i - 1].isalnum() and i + 1 < n and code[i + 1].isalnum():
                i += 1  # a digit separator: 1'000
                continue
            j = i + 1
            while j < n and code[j] != c and code[j] != "\n":
                j += 2 if code[j] == "\\" else 1
            blank(i + 1, min(j, n))
            i = j + 1
        elif c == "#" and (i == 0 or code[i - 1] == "\n" or code[:i].rsplit("\n", 1)[-1].strip() == ""):
            j = code.find("\n", i)
            j = n if j < 0 else j
            i = j  # directives are split out line by line before scanning; keep them as they are
        else:
            i += 1
    return "".join(out)


def closing_paren(masked, close):
    depth = 0
    for k in range(close, -1, -1):
        if masked[k] == ")":
            depth += 1
        elif masked[k] == "(":
            depth -= 1
            if depth == 0:
                return k
    return -1


def is_lambda_brace(masked, pos):
    before = masked[:pos].rstrip()
    if before.endswith("]"):
        return True
    # strip a trailing return type and specifiers: ") mutable -> Task<Status>"
    m = re.search(r"\)\s*(?:(?:mutable|constexpr|noexcept)\s*)*(?:->\s*[\w:<>,\s&*]+?)?\s*$", before)
    if not m:
        return False
    close = m.start()
    open_ = closing_paren(masked, close)
    return open_ > 0 and masked[:open_].rstrip().endswith("]")


def split_items(code):
    """Top-level items: (start, end) spans of code, directives one per line."""
    masked = mask(code)
    items = []
    depth = {"(": 0, "[": 0, "{": 0}
    pairs = {")": "(", "]": "[", "}": "{"}
    start = None
    i, n = 0, len(masked)
    while i < n:
        c = masked[i]
        line_start = masked.rfind("\n", 0, i) + 1
        if c == "#" and masked[line_start:i].strip() == "" and sum(depth.values()) == 0 and start is None:
            j = code.find("\n", i)
            j = n if j < 0 else j
            items.append((i, j))
            i = j
            continue
        if start is None and not c.isspace():
            start = i
        if c in depth:
            depth[c] += 1
        elif c in pairs:
            depth[pairs[c]] -= 1
            if c == "}" and sum(depth.values()) == 0:
                rest = masked[i + 1:].lstrip()
                if not rest.startswith((";", ",", ")", "else", "while", "catch")):
                    items.append((start, i + 1))
                    start = None
        elif c == ";" and sum(depth.values()) == 0:
            items.append((start, i + 1))
            start = None
        i += 1
    if start is not None and masked[start:].strip():
        items.append((start, n))
    return masked, items


TYPE = r"(?:(?:const|constexpr|static|inline|thread_local)\s+)*(?:::)?[A-Za-z_][\w:]*(?:<[^;{}]*>)?(?:::\w+)*"
DECLARATOR = TYPE + r"(?:\s*[&*]+\s*|\s+)(?:const\s+)?[&*]*\s*[A-Za-z_]\w*\s*"


def is_param_list(params):
    params = params.strip()
    if params in ("", "void"):
        return True
    parts = [p.strip() for p in re.split(r",(?![^<>]*>)", params)]
    return all(re.fullmatch(TYPE + r"\s*[&*]*\s*(?:[A-Za-z_]\w*)?(?:\s*=\s*[^,]+)?", p) and
               (re.search(r"[&*]|[\w>]\s+\w", p)) for p in parts)


def declared_name(masked_item):
    m = re.match(TYPE + r"(?:\s*[&*]+\s*|\s+)(?:const\s+)?[&*]*\s*([A-Za-z_]\w*)\s*[=({;\[]", masked_item.strip())
    return m.group(1) if m else None


def classify(masked_item):
    """include, directive; decl (namespace scope only: a type, a function, a using); var (a variable:
    either scope); stmt (a statement: only in a body)."""
    text = masked_item.strip()
    if text.startswith("#"):
        return "include" if re.match(r"#\s*include\b", text) else "directive"
    first = re.match(r"[\w:]+", text)
    word = first.group(0) if first else ""
    if word in DECL_KEYWORDS or text.startswith("[["):
        return "decl"
    if word in CONTROL_KEYWORDS:
        return "stmt"
    if text.endswith("}") and not text.endswith("};"):
        head = text[:text.find("{")].rstrip()
        if re.search(r"\)\s*(?:(?:const|noexcept|override|final)\s*)*(?:->\s*[^{}]+)?$", head):
            return "decl"  # a function definition
    m = re.match(DECLARATOR + r"\((.*)\)\s*(?:const\s*|noexcept\s*)*;$", text, re.S)
    if m and is_param_list(m.group(1)):
        return "decl"  # a function declaration: Task<void> get_user(http::Request& req, http::Response&);
    if scan_body(text, [(0, len(text))]):
        return "stmt"  # co_await, co_return
    if re.match(DECLARATOR + r"(?:[=({;\[]|$)", text) or re.match(r"auto\s*[&*]*\s*\[", text):
        return "var"
    return "stmt"


def scan_body(masked, spans):
    """Whether the body's statements co_await or co_return (outside lambdas): a coroutine."""
    text = "\n".join(masked[a:b] for a, b in spans)
    stack = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "{":
            stack.append(is_lambda_brace(text, i))
        elif c == "}":
            if stack:
                stack.pop()
        elif (c.isalpha() or c == "_") and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r"\w+", text[i:])
            word = m.group(0)
            if not any(stack) and word in ("co_await", "co_return", "co_yield"):
                return True
            i += len(word)
            continue
        i += 1
    return False


def line_of(code, offset):
    return code.count("\n", 0, offset)


def render(snippets, source, errors):
    """The translation unit for one document's snippets (the headers' share one)."""
    includes, parts = [], []
    ns = None
    for s in snippets:
        if s.mode != "compile":
            continue
        if not (s.continued and ns):
            ns = "doc_" + re.sub(r"[^A-Za-z0-9]+", "_", s.source) + f"_{s.line}"
        masked, items = split_items(s.code)
        kinds = [(classify(masked[a:b]), a, b) for a, b in items]
        decls, body = [], []
        for kind, a, b in kinds:
            if kind == "include":
                includes.append((s.source, s.line + line_of(s.code, a), s.code[a:b].strip()))
            elif kind in ("decl", "directive"):
                decls.append((a, b))
            else:
                body.append((a, b))
        out = [f"namespace {ns} {{  // {s.source}:{s.line}"]
        for a, b in decls:
            # Only ::main returns 0 by itself: an example's main, in its namespace, may end without return.
            is_main = re.match(r"int\s+main\s*\(", masked[a:b].strip()) is not None
            if is_main:
                out += ["#pragma GCC diagnostic push", '#pragma GCC diagnostic ignored "-Wreturn-type"']
            out.append(f'#line {s.line + line_of(s.code, a)} "{s.source}"')
            out.append(s.code[a:b])
            if is_main:
                out.append("#pragma GCC diagnostic pop")
        if body:
            coroutine = scan_body(masked, body)
            ret = "svckit::Task<void>" if coroutine else "void"
            declared = {declared_name(masked[a:b]) for a, b in body}  # an example's own rt, res...
            params = ", ".join(f"{t} {n}" for t, n in AMBIENT if n not in declared)
            out.append(f"{ret} body_{s.line}({params}) {{  // the example's statements (a body returns nothing)")
            for a, b in body:
                out.append(f'#line {s.line + line_of(s.code, a)} "{s.source}"')
                out.append(s.code[a:b])
            out.append("}")
        out.append(f"}}  // namespace {ns}")
        parts.append("\n".join(out))
    head = [f"// Generated by scripts/doc_snippets.py from {source}: edit the document, not this file."]
    if not parts:
        return "\n".join(head + ["// (no compiled C++ examples)"]) + "\n"
    head.append('#include "prelude.hpp"')
    for src, line, inc in includes:
        head.append(f'#line {line} "{src}"')
        head.append(inc)
    head.append(f'#line 1 "{source} (prelude)"')
    head += USINGS
    return "\n".join(head + parts) + "\n"


def prelude(root):
    lines = ["// Generated by scripts/doc_snippets.py: every public header, which every example may use.",
             "#pragma once"]
    for h in public_headers(root):
        lines.append(f'#include "{h.relative_to(root / "pkg")}"')
    return "\n".join(lines) + "\n"


# After the examples' own includes (a generated grpc++ header must not see `using namespace svckit`,
# whose svckit::grpc would make grpc++'s own `grpc::` ambiguous).
USINGS = ["using namespace svckit;",
          "using namespace std::chrono_literals;",
          'using svckit::config::operator""_KiB;',
          'using svckit::config::operator""_MiB;',
          'using svckit::config::operator""_GiB;']


def unit_name(root, doc):
    return "doc_" + re.sub(r"[^A-Za-z0-9]+", "_", str(doc.relative_to(root))) + ".cpp"


def collect(root, errors):
    units = {}
    for d in documents(root):
        units[unit_name(root, d)] = (str(d.relative_to(root)), markdown_snippets(root, d, errors))
    header = []
    for h in public_headers(root):
        header += header_snippets(root, h, errors)
    units["doc_headers.cpp"] = ("public headers", header)
    return units


def write_if_changed(path, text):
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def main(argv):
    if len(argv) < 3 or argv[1] not in ("extract", "outputs", "list"):
        sys.exit(__doc__)
    root = pathlib.Path(argv[2]).resolve()
    errors = []
    units = collect(root, errors)
    if argv[1] == "outputs":
        print(";".join(["prelude.hpp"] + sorted(units)))
        return 0
    if argv[1] == "list":
        for name, (_, snippets) in sorted(units.items()):
            for s in snippets:
                print(f"{s.source}:{s.line}: {s.mode} -> {name}")
        for e in errors:
            print(e, file=sys.stderr)
        return 1 if errors else 0
    out = pathlib.Path(argv[3])
    out.mkdir(parents=True, exist_ok=True)
    write_if_changed(out / "prelude.hpp", prelude(root))
    for name, (source, snippets) in units.items():
        write_if_changed(out / name, render(snippets, source, errors))
    for e in errors:
        print(f"doc_snippets: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
