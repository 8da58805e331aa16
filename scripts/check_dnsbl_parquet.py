#!/usr/bin/env python3
"""Reads the Parquet file of a `scan --dnsbl` of the fixture network with DuckDB and checks
the DNSBL columns against fixtures/dnsbl/truth.csv: `dnsbl` is a list of text and
`dnsbl_listed` a boolean, every listing of every scanned address is there once, and no
address is listed that the truth does not list.

    scripts/check_dnsbl_parquet.py SCAN.parquet fixtures/dnsbl/truth.csv
"""
import csv
import sys

import duckdb

parquet, truth_path = sys.argv[1], sys.argv[2]
con = duckdb.connect()
types = dict(con.execute(
    f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{parquet}'))").fetchall())
expected = {"dnsbl": "VARCHAR[]", "dnsbl_listed": "BOOLEAN"}
bad = {k: (types.get(k), v) for k, v in expected.items() if types.get(k) != v}
if bad:
    sys.exit(f"check_dnsbl_parquet: unexpected column types (got, expected): {bad}")
scanned = {ip for (ip,) in con.execute(f"SELECT ip FROM read_parquet('{parquet}')").fetchall()}
want = set()
for r in csv.DictReader(open(truth_path)):
    if r["ip"] in scanned:
        want.update((r["ip"], f"{r['list']}={c}") for c in r["codes"].split(";"))
got = set(con.execute(
    f"SELECT ip, unnest(dnsbl) FROM read_parquet('{parquet}')").fetchall())
listed = con.execute(
    f"SELECT count(*) FILTER (WHERE dnsbl_listed), count(*) FILTER (WHERE NOT dnsbl_listed), "
    f"count(*) FILTER (WHERE dnsbl_listed IS NULL) FROM read_parquet('{parquet}')").fetchone()
problems = []
if not want:
    problems.append("the scan covers no listed address")
if got != want:
    problems.append(f"{len(want - got)} listings missing, {len(got - want)} not in the truth")
if listed[0] != len({ip for ip, _ in want}) or listed[2] != 0:
    problems.append(f"dnsbl_listed true/false/null = {listed}")
if problems:
    sys.exit("check_dnsbl_parquet: " + "; ".join(problems))
print(f"check_dnsbl_parquet: DuckDB read {len(scanned)} rows: {len(got)} listings of "
      f"{listed[0]} addresses as in the truth, {listed[1]} not listed; types {expected}")
