#!/usr/bin/env python3
"""List public C++ declarations in include/cxlens/**/*.hpp that have no doc comment.

    python scripts/check_doc_comments.py [ROOT]     # exit status 1 when something is listed

A declaration is public when it is at namespace scope (outside ``detail`` and anonymous
namespaces and outside ``include/cxlens/**/detail/``) or a public member of a public class,
struct or union. It is documented when a ``///`` or ``/** ... */`` comment ends on the line
just above it (``template <...>`` and attribute lines may come between) or a ``///<`` comment
is on one of its lines. Checked: classes, structs, unions, enums, free functions, member
functions, data members, aliases (``using X = ...``) and variables. Not checked: enumerators,
friend declarations, ``= default`` / ``= delete`` members, ``static_assert``, ``using
namespace`` and forward declarations.

This is not a C++ parser: it strips comments and strings, tracks braces and reads each
statement's text, which is enough for this code base's plain style.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

KEYWORDS_SKIP = ("friend ", "static_assert", "using namespace", "#")
TYPE_RE = re.compile(r"^(?:template\s*<.*>\s*)?(?:\[\[[^\]]*\]\]\s*)*(class|struct|union|enum(?:\s+class|\s+struct)?)\s+"
                     r"(?:\[\[[^\]]*\]\]\s*)?([A-Za-z_]\w*)", re.S)
NAMESPACE_RE = re.compile(r"^(?:inline\s+)?namespace\s*([\w:]*)", re.S)
ACCESS_RE = re.compile(r"^(public|private|protected)\s*:$")


@dataclass
class Scope:
    kind: str  # "namespace", "class", "skip" (function bodies, initialisers, enums, private)
    public: bool
    access_public: bool = True


@dataclass
class Finding:
    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _doc_lines(text: str) -> tuple[list[bool], list[bool]]:
    """Per line (0-based): does a doc comment end on it; does it hold a trailing `///<`."""
    lines = text.split("\n")
    ends_doc = [False] * len(lines)
    trailing = [False] * len(lines)
    in_block = False
    block_is_doc = False
    for i, line in enumerate(lines):
        s = line.strip()
        if in_block:
            if "*/" in s:
                in_block = False
                ends_doc[i] = block_is_doc
            continue
        if s.startswith("///") or s.startswith("//!"):
            ends_doc[i] = True
        elif s.startswith("/**") or s.startswith("/*!"):
            if "*/" in s[3:]:
                ends_doc[i] = True
            else:
                in_block, block_is_doc = True, True
        elif s.startswith("/*") and "*/" not in s:
            in_block, block_is_doc = True, False
        if "///<" in line or "//!<" in line or "/**<" in line:
            trailing[i] = True
    return ends_doc, trailing


def _strip(text: str) -> str:
    """Comments, string and character literals and preprocessor lines become spaces (lines kept)."""
    out = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if at_line_start and c == "#":  # preprocessor line, with continuations
            while i < n and not (text[i] == "\n" and text[i - 1] != "\\"):
                out.append("\n" if text[i] == "\n" else " ")
                i += 1
            continue
        at_line_start = False
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                out.append(" ")
                i += 1
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.extend("\n" if ch == "\n" else " " for ch in text[i:j])
            i = j
            continue
        if c == 'R' and text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            if m:
                end = text.find(")" + m.group(1) + '"', i)
                end = n if end < 0 else end + len(m.group(1)) + 2
                out.extend("\n" if ch == "\n" else " " for ch in text[i:end])
                out.append('""')
                i = end
                continue
        if c in "\"'":
            # a digit separator (1'000) is not a character literal
            if c == "'" and i > 0 and text[i - 1].isalnum() and i + 1 < n and text[i + 1].isalnum():
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * max(0, j - i - 1) + c)
            i = j + 1
            continue
        if c == "\n":
            at_line_start = True
        out.append(c)
        i += 1
    return "".join(out)


def _name_of(statement: str) -> str:
    s = re.sub(r"\s+", " ", statement).strip()
    s = re.sub(r"^template ?<.*?> ?", "", s)
    m = re.search(r"(operator\s*[^\s(]+|~?[A-Za-z_]\w*)\s*\(", s)
    if m and "=" not in s.split("(")[0]:
        return m.group(1) + "()"
    s = s.split("=")[0].split("{")[0].rstrip(" ;")
    m = re.search(r"([A-Za-z_]\w*)\s*(\[[^\]]*\])?\s*$", s)
    return m.group(1) if m else s[:40]


def _paren_depth_zero_has(statement: str, ch: str) -> bool:
    depth = 0
    for c in statement:
        if c in "(<[":
            depth += 1
        elif c in ")>]":
            depth = max(0, depth - 1)
        elif c == ch and depth == 0:
            return True
    return False


def check_file(path: Path, rel: Path) -> list[Finding]:
    raw = path.read_text(encoding="utf-8")
    ends_doc, trailing = _doc_lines(raw)
    code = _strip(raw)
    raw_lines = raw.split("\n")
    findings: list[Finding] = []
    in_detail_dir = "detail" in rel.parts[:-1]
    scopes = [Scope("namespace", not in_detail_dir)]
    stmt: list[str] = []
    stmt_line = -1  # 0-based line where the current statement starts
    line = 0
    resume_stmt = None  # statement text interrupted by an initialiser's braces

    def documented(first: int, last: int) -> bool:
        if any(trailing[k] for k in range(first, min(last + 1, len(trailing)))):
            return True
        k = first - 1
        while k >= 0:
            s = raw_lines[k].strip()
            if s.startswith("template") or (s.startswith("[[") and s.endswith("]]")):
                k -= 1
                continue
            return ends_doc[k]
        return False

    def report(statement: str, kind: str, first: int, last: int) -> None:
        if not documented(first, last):
            findings.append(Finding(rel, first + 1, f"{kind} {_name_of(statement)}"))

    def current_public() -> bool:
        top = scopes[-1]
        if top.kind == "namespace":
            return top.public
        if top.kind == "class":
            return top.public and top.access_public
        return False

    def classify_end(statement: str, first: int, last: int) -> None:
        """A statement ending with ';' at namespace or class scope."""
        s = re.sub(r"\s+", " ", statement).strip()
        if not s or not current_public():
            return
        bare = re.sub(r"^template ?<[^{;]*?> ?(?=[a-z])", "", s)
        if bare.startswith(KEYWORDS_SKIP) or re.search(r"=\s*(default|delete)\s*$", s):
            return
        m = TYPE_RE.match(s)
        if m and "(" not in s and "=" not in s and re.fullmatch(r"[\w\s<>,:=\[\]]*", s):
            return  # forward declaration
        if s.startswith("using ") and "=" not in s:
            return  # using-declaration of a base member
        kind = "function" if _paren_depth_zero_has(s.split("=")[0], "(") or "(" in s.split("=")[0] else (
            "alias" if s.startswith("using ") else "variable")
        report(s, kind, first, last)

    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if c == "\n":
            line += 1
            if stmt:
                stmt.append(" ")
            i += 1
            continue
        top = scopes[-1]
        if top.kind == "skip":
            if c == "{":
                scopes.append(Scope("skip", False))
            elif c == "}":
                scopes.pop()
                if resume_stmt is not None and scopes[-1].kind != "skip":
                    stmt, stmt_line = resume_stmt
                    resume_stmt = None
                    stmt.append("{}")
            i += 1
            continue
        if not stmt and c in " \t\r;":
            i += 1
            continue
        if not stmt:
            stmt_line = line
        if c == "{" and "".join(stmt).count("(") > "".join(stmt).count(")"):
            # braces inside parentheses (a default argument `= {}`): part of the statement
            scopes.append(Scope("skip", False))
            stmt.append("{")
            resume_stmt = (stmt, stmt_line)
            stmt = []
            i += 1
            continue
        if c == "{":
            s = re.sub(r"\s+", " ", "".join(stmt)).strip()
            first, last = stmt_line, line
            public = current_public()
            mn = NAMESPACE_RE.match(s)
            mt = TYPE_RE.match(s)
            if mn and not s.startswith("namespace_"):
                name = mn.group(1)
                is_public = public and name != "" and "detail" not in name.split("::")
                scopes.append(Scope("namespace", is_public))
                stmt = []
            elif s.startswith('extern ""'):
                scopes.append(Scope("namespace", public))
                stmt = []
            elif mt and not _paren_depth_zero_has(s.split(":")[0], "(") and "=" not in s:
                kind, name = mt.group(1), mt.group(2)
                if public:
                    if not documented(first, last):
                        findings.append(Finding(rel, first + 1, f"{kind.split()[0]} {name}"))
                if kind.startswith("enum"):
                    scopes.append(Scope("skip", False))
                    resume_stmt = ([" "], stmt_line)  # the closing "};" ends it
                else:
                    scopes.append(Scope("class", public, access_public=kind != "class"))
                stmt = []
            elif s and (_paren_depth_zero_has(re.sub(r"operator\s*[^\s(]+", "operator", s), "=")
                        or "(" not in s or s.endswith(")=")
                        or re.search(r"\breturn\b", s)):
                # an initialiser (braced, lambda, aggregate): the statement goes on after it
                scopes.append(Scope("skip", False))
                stmt.append("{")
                resume_stmt = (stmt, stmt_line)
                stmt = []
            else:
                # a function body (or a constructor with an initialiser list)
                # out-of-class definitions (`Type::name(...) {`) are documented in the class
                qualified = re.search(r"\w::(~?\w+|operator\s*[^\s(]+)\s*\(", s.split("(")[0] + "(")
                bare = re.sub(r"^template ?<[^{;]*?> ?(?=[a-z])", "", s)
                if public and s and not bare.startswith(KEYWORDS_SKIP) and not qualified:
                    report(s, "function", first, last)
                scopes.append(Scope("skip", False))
                stmt = []
            i += 1
            continue
        if c == "}":
            if len(scopes) > 1:
                scopes.pop()
            stmt = []
            i += 1
            continue
        if c == ";":
            classify_end("".join(stmt), stmt_line, line)
            stmt = []
            i += 1
            continue
        if c == ":" and scopes[-1].kind == "class":
            m = ACCESS_RE.match("".join(stmt).strip() + ":")
            if m:
                scopes[-1].access_public = m.group(1) == "public"
                stmt = []
                i += 1
                continue
        stmt.append(c)
        i += 1
    return findings


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    include = root / "include"
    findings: list[Finding] = []
    for path in sorted((include / "cxlens").rglob("*.hpp")):
        findings += check_file(path, path.relative_to(root))
    for f in findings:
        print(f)
    if findings:
        print(f"{len(findings)} public declarations without a doc comment", file=sys.stderr)
        return 1
    print("every public declaration has a doc comment")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
