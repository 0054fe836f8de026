#!/usr/bin/env python3
"""Write the WSDL the SOAP API serves to wsdl/sms.wsdl (or check that it is up to date).

The committed file is the document served for the canonical public URL
http://localhost:9587 (the vendor's address; target namespace
http://localhost:9587/wsdl/sms). A deployment serves the same document with its own
soap:address (and its own namespace when FINSMS_PUBLIC_URL or FINSMS_SOAP_NAMESPACE
say so). tests/e2e/soap/test_wsdl_file.py fails when the two differ.

    python scripts/export_wsdl.py            # rewrite wsdl/sms.wsdl
    python scripts/export_wsdl.py --check    # exit 1 when the file is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.api.soap import make_soap_app  # noqa: E402
from service.config import Settings  # noqa: E402

CANONICAL_URL = "http://localhost:9587"
DEFAULT_OUTPUT = ROOT / "wsdl" / "sms.wsdl"


def served_wsdl(public_url: str = CANONICAL_URL, namespace: str | None = None) -> bytes:
    """The WSDL document the SOAP app serves for this public URL and namespace."""
    settings = Settings(public_url=public_url, soap_namespace=namespace)
    # Building the WSDL reads only the settings: no database is opened.
    return make_soap_app(SimpleNamespace(settings=settings)).wsdl.document


def main(argv: list[str] | None = None) -> int:
    """Export or check; the exit status says whether the file was up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--public-url", default=CANONICAL_URL)
    parser.add_argument("--namespace", default=None)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    document = served_wsdl(args.public_url, args.namespace)
    current = args.output.read_bytes() if args.output.exists() else None
    if args.check:
        if current != document:
            print(f"{args.output} is stale: run scripts/export_wsdl.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(document)
    print(f"wrote {args.output} ({len(document)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
