"""Benchmark: a 1,000,000-row contact import (`finsms contact import`'s service call).

Writes a CSV of --rows rows (GSM, FIRST_NAME, LAST_NAME, GROUP_NAME of 10 groups, one
custom field), imports it into an empty book, then again with --overwrite (every row an
update); prints the seconds, rows per second and the process's peak RSS
(resource.getrusage) for each database given. Each database runs in a process of its
own so that the peak RSS is that run's.

Usage: python3.11 scripts/bench_import.py [--rows 1000000]
       [--database sqlite] [--database postgresql://127.0.0.1/test]
A PostgreSQL URL gets a schema of its own for the run (dropped afterwards).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_api import bench_database, run_sql  # noqa: E402
from service.config import Settings  # noqa: E402
from service.domain.imports import ImportOptions  # noqa: E402
from service.services import imports, users  # noqa: E402
from service.services.platform import Platform  # noqa: E402

USER = "bench"
COLUMNS = ("GSM", "FIRST_NAME", "LAST_NAME", "GROUP_NAME", "SEHIR")


def write_csv(path: Path, rows: int) -> None:
    """A CSV of `rows` distinct numbers with a header row, CRLF line ends."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("'GSM','FIRST_NAME','LAST_NAME','GROUP_NAME','SEHIR'\r\n")
        for i in range(rows):
            out.write(f"'9053{i:08d}','Ad {i}','O''Soyad','Grup {i % 10}','İzmir'\r\n")


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(database: str, csv_path: Path, rows: int) -> None:
    """Both imports on one database, in this process."""
    with tempfile.TemporaryDirectory() as tmp:
        url, schema = bench_database(None if database == "sqlite" else database, Path(tmp))
        platform = Platform(Settings(database_url=url))
        try:
            platform.migrate()
            users.create_user(platform, USER, "bench-password", 3)
            who = platform.auth.principal_of(USER)
            before = peak_rss_mib()
            for label, overwrite in (("new contacts", False), ("overwrite", True)):
                start = time.perf_counter()
                with csv_path.open(encoding="utf-8-sig", newline="") as lines:
                    options = ImportOptions(COLUMNS, overwrite=overwrite)
                    job = imports.import_lines(platform, who, lines, options)
                seconds = time.perf_counter() - start
                c = job.counts
                assert c.total == rows and c.invalid == 0, c
                print(
                    f"{platform.database_name():>10}  {label:<12}  {seconds:6.1f} s"
                    f"  {rows / seconds:9,.0f} rows/s  created {c.created:,} updated"
                    f" {c.updated:,}  peak RSS {peak_rss_mib():.0f} MiB (at start"
                    f" {before:.0f} MiB)",
                    flush=True,
                )
        finally:
            platform.close()
            if schema:
                run_sql(database, f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    """Write the CSV once, then one process per database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", action="append", default=None)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child run: this database
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.csv, args.rows)
        return
    databases = args.database or ["sqlite", "postgresql://127.0.0.1/test"]
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "contacts.csv"
        write_csv(csv_path, args.rows)
        size = csv_path.stat().st_size / 2**20
        print(f"{args.rows:,} rows, {size:.0f} MiB of CSV")
        for database in databases:
            command = [sys.executable, __file__, "--one", database, "--csv", str(csv_path)]
            subprocess.run([*command, "--rows", str(args.rows)], check=True)


if __name__ == "__main__":
    main()
