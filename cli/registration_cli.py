"""``mec5g ecqv``, ``mec5g user`` and ``mec5g analysis``: phases 1 and 2 from the command line.

``ecqv`` makes and checks certificate files offline. ``user`` and ``analysis`` are the patient
and doctor apps: they talk to the TTP's registration and monitoring services and keep the user's
ECQV key in a wallet file (mode 0600) that never leaves the user's machine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mec5g.core import ecqv_vectors


def add_registration_parsers(roles: Any) -> None:
    ecqv = roles.add_parser("ecqv", help="ECQV implicit certificates: known answers and checks")
    actions = ecqv.add_subparsers(dest="action", required=True)
    make = actions.add_parser("make-vectors", help="write N known-answer certificates")
    make.add_argument("--count", type=int, default=8)
    make.add_argument("--out", type=Path, help="file to write (standard output without it)")
    make.set_defaults(handler=_make_vectors)
    verify = actions.add_parser(
        "verify",
        help="reconstruct every public key of FILE from its certificate; exit 0 if all match",
    )
    verify.add_argument("file", type=Path)
    verify.set_defaults(handler=_verify)


def _make_vectors(args: Any) -> int:
    text = json.dumps(ecqv_vectors.make(args.count), indent=1) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    return 0


def _verify(args: Any) -> int:
    try:
        document = json.loads(args.file.read_text())
        mismatches = ecqv_vectors.verify(document)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        print(f"cannot read {args.file}: {error}", file=sys.stderr)
        return 2
    for line in mismatches:
        print(line)
    count = len(document["certs"])
    if mismatches:
        print(f"{len(mismatches)} mismatches in {count} certificates", file=sys.stderr)
        return 1
    print(f"all {count} certificates match")
    return 0
