#!/usr/bin/env python3
"""ci/layers.py — the architecture rules, checked so they cannot silently return.

1. Crate layers (from `cargo metadata`, normal dependencies only):
   proto <- store <- daemon; proto <- api; api <- daemon (its server);
   secure (crypto on bytes, knows no other crate of ours) <- daemon, bench;
   api <- messngr (CLI, agent). Nothing depends on the binary crate, and
   nothing below knows what is above.
2. `messngr-api` in its default build pulls no async runtime, no SQLite,
   no socket server (checked with `cargo tree`).
3. The CLI, the agent and the demo talk to the daemon through
   `messngr-api` only: no `messngr_daemon::` or `messngr_store::` in
   crates/messngr/src outside main.rs (which runs the daemon).
4. No import cycles between the daemon's top-level modules (`crate::x`
   references, test files excluded).

Exit 1 with one line per broken rule.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)

# Which workspace crates each crate may depend on (normal dependencies).
ALLOWED = {
    "messngr-proto": set(),
    "messngr-store": {"messngr-proto"},
    "messngr-api": {"messngr-proto"},
    "messngr-secure": set(),
    "messngr-daemon": {"messngr-proto", "messngr-store", "messngr-api", "messngr-secure"},
    "messngr-lan": set(),
    "messngr-bench": {"messngr-proto", "messngr-store", "messngr-lan", "messngr-secure"},
    "messngr": {"messngr-proto", "messngr-api", "messngr-daemon", "messngr-lan"},
}

errors = []

meta = json.loads(
    subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"]
    )
)
members = {p["name"] for p in meta["packages"]}
for p in meta["packages"]:
    name = p["name"]
    if name not in ALLOWED:
        errors.append(f"{name}: a new crate; add its layer to ci/layers.py")
        continue
    for d in p["dependencies"]:
        if d["kind"] is not None or d["name"] not in members:
            continue
        if d["name"] not in ALLOWED[name]:
            errors.append(f"{name} depends on {d['name']}: against the layers (see docs/ARCHITECTURE.md)")

tree = subprocess.check_output(
    ["cargo", "tree", "-p", "messngr-api", "-e", "normal", "--prefix", "none", "--locked"],
    text=True,
)
for banned in ("tokio", "rusqlite", "messngr-store", "messngr-daemon"):
    if re.search(rf"^{banned} v", tree, re.M):
        errors.append(f"messngr-api's default build pulls in {banned}")

for dirpath, _, files in os.walk("crates/messngr/src"):
    for f in files:
        path = os.path.join(dirpath, f)
        if not f.endswith(".rs") or path == "crates/messngr/src/main.rs":
            continue
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r"\bmessngr_(daemon|store)::", text):
            line = text.count("\n", 0, m.start()) + 1
            errors.append(f"{path}:{line}: talks to the daemon past messngr-api (messngr_{m.group(1)})")

src = "crates/messngr-daemon/src"
modules = {}
for entry in os.listdir(src):
    name = entry[:-3] if entry.endswith(".rs") else entry
    if name in ("lib", "tests"):
        continue
    paths = []
    full = os.path.join(src, entry)
    if os.path.isdir(full):
        for dirpath, _, files in os.walk(full):
            paths += [os.path.join(dirpath, f) for f in files if f.endswith(".rs")]
    else:
        paths.append(full)
    refs = set()
    for path in paths:
        if os.path.basename(path) == "tests.rs" or "/tests/" in path:
            continue
        text = open(path, encoding="utf-8").read()
        # Unit tests at the end of a file may reach anywhere.
        text = text.split("#[cfg(test)]\nmod tests {")[0]
        refs |= set(re.findall(r"\bcrate::([a-z_]+)", text))
    modules[name] = refs - {name}
graph = {m: {r for r in refs if r in modules} for m, refs in modules.items()}

def cycle_from(start):
    stack = [(start, [start])]
    seen = set()
    while stack:
        node, path = stack.pop()
        for nxt in graph[node]:
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None

reported = set()
for m in sorted(graph):
    c = cycle_from(m)
    if c and frozenset(c) not in reported:
        reported.add(frozenset(c))
        errors.append("daemon module cycle: " + " -> ".join(c))

for e in errors:
    print(f"layers: {e}")
if errors:
    sys.exit(1)
print(f"layers: ok ({len(meta['packages'])} crates, {len(graph)} daemon modules, no cycles)")
