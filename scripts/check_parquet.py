#!/usr/bin/env python3
"""Reads a ptraudit Parquet file with DuckDB, a real consumer, and checks it against the
CSV of the same scan: typed columns, the same counts by (fcrdns, generic), the same number
of IPv6 rows and of PTR names in the lists — and none of them zero (an empty scan, or one
that lost its IPv6 hosts or its PTR lists, fails).

    scripts/check_parquet.py SCAN.parquet SCAN.csv
"""
import sys

import duckdb

parquet, csv = sys.argv[1], sys.argv[2]
con = duckdb.connect()

types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{parquet}'))").fetchall())
expected = {
    "ip": "VARCHAR", "ip_version": "UTINYINT", "ptr_all": "VARCHAR[]", "forward_addrs": "VARCHAR[]",
    "generic": "BOOLEAN", "attempts": "UINTEGER", "rtt_ms": "UBIGINT",
    "scanned_at": "TIMESTAMP WITH TIME ZONE",
}
bad = {k: (types.get(k), v) for k, v in expected.items() if types.get(k) != v}
if bad:
    sys.exit(f"check_parquet: unexpected column types (got, expected): {bad}")

q = "SELECT fcrdns, CAST(generic AS VARCHAR) AS g, count(*) FROM {} GROUP BY ALL ORDER BY ALL"
from_parquet = con.execute(q.format(f"read_parquet('{parquet}')")).fetchall()
from_csv = con.execute(q.format(
    f"read_csv('{csv}', header=true, all_varchar=true, nullstr='')")).fetchall()
if from_parquet != from_csv:
    sys.exit(f"check_parquet: counts differ\n parquet: {from_parquet}\n csv:     {from_csv}")
lists = con.execute(f"SELECT sum(len(ptr_all)) FROM read_parquet('{parquet}')").fetchone()[0] or 0
v6 = con.execute(f"SELECT count(*) FROM read_parquet('{parquet}') WHERE ip_version = 6").fetchone()[0]
csv_src = f"read_csv('{csv}', header=true, all_varchar=true, nullstr='')"
csv_v6 = con.execute(f"SELECT count(*) FROM {csv_src} WHERE contains(ip, ':')").fetchone()[0]
csv_lists = con.execute(
    f"SELECT sum(len(string_split(ptr_all, ';'))) FROM {csv_src} WHERE ptr_all <> ''").fetchone()[0] or 0
total = sum(n for _, _, n in from_parquet)
problems = []
if total == 0:
    problems.append("no rows")
if v6 == 0 or v6 != csv_v6:
    problems.append(f"IPv6 rows: parquet {v6}, csv {csv_v6} (expected equal and not zero)")
if lists == 0 or lists != csv_lists:
    problems.append(f"PTR names in ptr_all: parquet {lists}, csv {csv_lists} (expected equal and not zero)")
if problems:
    sys.exit("check_parquet: " + "; ".join(problems))
print(f"check_parquet: DuckDB {duckdb.__version__} read {total} rows ({v6} IPv6, {lists} PTR names, "
      f"both as in the CSV); counts by fcrdns/generic equal the CSV's: {from_parquet}")
