#!/usr/bin/env python3
"""Prints the results of bench/run as one Markdown table set, with the targets checked.

Usage: table.py CRITERION_DIR RUN_DIR
"""

import json
import os
import re
import sys

criterion_dir, run_dir = sys.argv[1], sys.argv[2]

KINDS = [
    ("plain", "plain rustls"),
    ("plain-hrr", "plain rustls, HelloRetryRequest"),
    ("ech-not-offered", "ECH layer on, client offers no ECH"),
    ("ech-accepted", "ECH accepted"),
    ("ech-accepted-hrr", "ECH accepted after HelloRetryRequest"),
    ("ech-rejected", "ECH rejected, retry configs sent"),
]


def criterion():
    """(group, function) -> (median ns, throughput bytes or None)"""
    found = {}
    for dirpath, _, files in os.walk(criterion_dir):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            bench = json.load(f)
        with open(os.path.join(dirpath, "estimates.json")) as f:
            estimates = json.load(f)
        throughput = (bench.get("throughput") or {}).get("Bytes")
        key = (bench["group_id"], bench.get("function_id"))
        found[key] = (estimates["median"]["point_estimate"], throughput)
    return found


def go_bench():
    """name -> (ns/op, server-ns/op)"""
    found = {}
    with open(os.path.join(run_dir, "go-bench.txt")) as f:
        for line in f:
            m = re.match(r"BenchmarkHandshake/(\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) server-ns/op", line)
            if m:
                found[m.group(1)] = (float(m.group(3)), float(m.group(4)))
    return found


def callgrind():
    """(provider, kind) -> instructions"""
    found = {}
    with open(os.path.join(run_dir, "callgrind.txt")) as f:
        for line in f:
            provider, kind, n = line.split()
            found[(provider, kind)] = int(n)
    return found


def labelled(name):
    """(label, {field: value}) for each line `label key=value ...` of a file of the run"""
    with open(os.path.join(run_dir, name)) as f:
        for line in f:
            label, *fields = line.split()
            yield label, dict(field.split("=", 1) for field in fields)


def load():
    """label -> the load generator's fields in the median round, and every round's rate"""
    rounds = {}
    for label, fields in labelled("load-rounds.txt"):
        rounds.setdefault(label, []).append(fields)
    found = {}
    for label, runs in rounds.items():
        ordered = sorted(runs, key=lambda r: float(r["per_second"]))
        median = dict(ordered[len(ordered) // 2])
        median["rounds"] = ", ".join(f"{float(r['per_second']):,.0f}" for r in runs)
        found[label] = median
    return found


def datapath():
    """direction -> the data-path binary's fields"""
    return dict(labelled("datapath.txt"))


def us(ns):
    return f"{ns / 1000:.1f}"


def per_second(ns):
    return f"{1e9 / ns:,.0f}"


crit, go, cg, lg = criterion(), go_bench(), callgrind(), load()
lines = []
out = lines.append

out("### In-process handshakes: the server's time per full TLS 1.3 handshake")
out("")
out("ECDSA P-256 certificate, X25519, TLS13_AES_128_GCM_SHA256. rustls-ech: criterion median of the")
out("time spent in the server's calls; Go: the time the server goroutine runs, GOMAXPROCS=1.")
out("")
out("| handshake | rustls-ech, aws-lc-rs: µs | handshakes/s | rustls-ech, ring: µs | handshakes/s | Go crypto/tls: µs | handshakes/s |")
out("|---|---:|---:|---:|---:|---:|---:|")
for kind, label in KINDS:
    row = [label]
    for provider in ("aws-lc-rs", "ring"):
        ns = crit.get((f"server-handshake/{provider}", kind), (None,))[0]
        row += [us(ns), per_second(ns)] if ns else ["", ""]
    g = go.get(kind)
    row += [us(g[1]), per_second(g[1])] if g else ["—", "—"]
    out("| " + " | ".join(row) + " |")
row = ["one HPKE open of ClientHelloInner (the floor)"]
for provider in ("aws-lc-rs", "ring"):
    ns = crit.get((f"hpke-open/{provider}", None), (None,))[0] or crit.get(("hpke-open/" + provider, "hpke-open/" + provider), (None,))[0]
    row += [us(ns), ""] if ns else ["", ""]
row += ["—", ""]
out("| " + " | ".join(row) + " |")
out("")

out("Both peers on one thread (client and server together), aws-lc-rs / Go:")
out("")
out("| handshake | rustls client + rustls-ech server: µs | Go client + Go server: µs |")
out("|---|---:|---:|")
for kind in ("plain", "ech-accepted"):
    ns = crit.get(("full-handshake/aws-lc-rs", kind), (None,))[0]
    g = go.get(kind)
    out(f"| {kind} | {us(ns) if ns else ''} | {us(g[0]) if g else ''} |")
out("")

out("### Instructions per handshake, server side (callgrind)")
out("")
out("| handshake | aws-lc-rs | added by ECH | ring (HPKE: hpke-rs) | added by ECH |")
out("|---|---:|---:|---:|---:|")
baseline = {"plain": "plain", "plain-hrr": "plain-hrr", "ech-not-offered": "plain",
            "ech-accepted": "plain", "ech-accepted-hrr": "plain-hrr", "ech-rejected": "plain"}
for kind, label in KINDS:
    row = [label]
    for provider in ("aws-lc-rs", "ring"):
        n = cg.get((provider, kind))
        base = cg.get((provider, baseline[kind]))
        added = "" if kind.startswith("plain") or n is None or base is None else f"{n - base:+,}"
        row += [f"{n:,}" if n is not None else "", added]
    out("| " + " | ".join(row) + " |")
row = ["one HPKE open (the floor)"]
for provider in ("aws-lc-rs", "ring"):
    n = cg.get((provider, "hpke-open"))
    row += [f"{n:,}" if n is not None else "", ""]
out("| " + " | ".join(row) + " |")
out("")

out("### Over loopback: each server on one core, the load generator on the other")
out("")
out("32 connections at a time, each a new handshake and one HTTP/1.1 GET; rustls's client. Both")
out("servers share the server core, the rounds alternate between them; the median round is shown.")
out("")
out("| server | ECH | handshakes/s | p50 ms | p99 ms | failed | not accepted | server CPU % | every round, handshakes/s |")
out("|---|---|---:|---:|---:|---:|---:|---:|---|")
for label, server, ech in (("rustls-ech-ech", "rustls-ech example server", "accepted"),
                           ("rustls-ech-plain", "rustls-ech example server", "not offered"),
                           ("go-ech", "Go crypto/tls", "accepted"),
                           ("go-plain", "Go crypto/tls", "not offered")):
    r = lg.get(label)
    if r:
        out(f"| {server} | {ech} | {float(r['per_second']):,.0f} | {r['p50_ms']} | {r['p99_ms']} | "
            f"{r['failed']} | {r['not_accepted']} | {r['server_cpu_percent']} | {r['rounds']} |")
out("")

out("### Data path: bulk throughput after the handshake (loopback TCP, one thread)")
out("")
out("The two connections take turns moving 256 MiB a round; the median round of each is shown,")
out("and the median of the rounds' ECH / plain ratios.")
out("")
out("| direction | plain tokio-rustls MiB/s | through the ECH adapter MiB/s | ECH / plain |")
out("|---|---:|---:|---:|")
rates = datapath()
for direction, r in rates.items():
    out(f"| {direction} | {float(r['plain']):,.0f} | {float(r['ech']):,.0f} | {r['ratio']} |")
out("")

out("### Targets")
out("")
for provider in ("aws-lc-rs", "ring"):
    acc, plain, hpke = (cg.get((provider, k)) for k in ("ech-accepted", "plain", "hpke-open"))
    if acc and plain and hpke:
        out(f"- instructions ECH adds to an accepted handshake / one HPKE open, {provider}: "
            f"{(acc - plain) / hpke:.3f} (target ≤ 1.15)")
ours = crit.get(("server-handshake/aws-lc-rs", "ech-accepted"), (None,))[0]
theirs = go.get("ech-accepted")
if ours and theirs:
    out(f"- ECH-accepted handshakes per second per core, in process, rustls-ech (aws-lc-rs) / Go: "
        f"{theirs[1] / ours:.2f} (target ≥ 1.5)")
a, b = lg.get("rustls-ech-ech"), lg.get("go-ech")
if a and b:
    out(f"- ECH-accepted handshakes per second per core, over loopback, rustls-ech / Go: "
        f"{float(a['per_second']) / float(b['per_second']):.2f} (target ≥ 1.5)")
for direction, r in rates.items():
    out(f"- data path, {direction}, ECH adapter / plain tokio-rustls: {r['ratio']} "
        f"(target within 2%)")

print("\n".join(lines))
