"""The DuckDB recipe of docs/datasets.md gives `report -o`'s per-prefix numbers.

Usage: check_duckdb_recipe.py docs/datasets.md SCAN.parquet REPORT.csv

The SQL is taken from docs/datasets.md (the block under "The same numbers from DuckDB"), with
its `out/part-*.parquet` pointed at SCAN.parquet, so the documented recipe is the one
checked.
"""
import csv
import re
import sys

import duckdb

readme, parquet, report = sys.argv[1:4]
text = open(readme, encoding="utf-8").read()
section = text[text.index("The same numbers from DuckDB"):]
sql = re.search(r"```sql\n(.*?)```", section, re.S).group(1)
assert "out/part-*.parquet" in sql, "the recipe reads out/part-*.parquet"
sql = sql.replace("out/part-*.parquet", parquet)
con = duckdb.connect()
cur = con.execute(sql)
names = [d[0] for d in cur.description]
duck = {r[0]: dict(zip(names, r)) for r in cur.fetchall()}
with open(report, newline="", encoding="utf-8") as f:
    ours = {r["prefix"]: r for r in csv.DictReader(f)}
assert duck.keys() == ours.keys(), (sorted(duck.keys() ^ ours.keys())[:5])
counts = [n for n in names if n not in ("prefix", "hygiene_score")]
bad = 0
for prefix, row in ours.items():
    for n in counts:
        if int(row[n]) != int(duck[prefix][n]):
            print(f"{prefix} {n}: report {row[n]}, DuckDB {duck[prefix][n]}", file=sys.stderr)
            bad += 1
    if abs(float(row["hygiene_score"]) - float(duck[prefix]["hygiene_score"])) > 0.051:
        print(f"{prefix} hygiene_score: report {row['hygiene_score']}, DuckDB "
              f"{duck[prefix]['hygiene_score']}", file=sys.stderr)
        bad += 1
if bad:
    sys.exit(1)
print(f"DuckDB recipe: {len(ours)} prefixes, {len(counts)} counts each, equal to report -o")
