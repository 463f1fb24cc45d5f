"""Regenerate the Python gRPC stubs for the mec5g.v1 protos.

protoc writes its output under the proto package path (``mec5g/v1/...``), but the stubs are
committed flat in ``protos/generated/``, which setuptools installs as the ``mec5g.v1`` package.
So this script runs ``grpc_tools.protoc`` into a temporary directory, moves the stubs into the
target, drops stubs of protos that no longer exist and writes the package's ``__init__.py``. The
output depends only on the protos and the grpcio-tools version, byte for byte, which lets
tests/test_protos.py regenerate into a scratch directory and compare.

Usage: python protos/generate.py [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
PACKAGE_PATH = Path("mec5g", "v1")
DEFAULT_OUT = PROTO_ROOT / "generated"
STUB_PATTERNS = ("*_pb2.py", "*_pb2.pyi", "*_pb2_grpc.py")
INIT_TEXT = (
    '"""Generated gRPC stubs for the mec5g.v1 proto package; '
    'regenerate with protos/generate.py."""\n'
)


def generate(out_dir: Path) -> None:
    """Write the stubs of every proto in protos/mec5g/v1 and an ``__init__.py`` into out_dir."""
    protos = sorted(str(path) for path in (PROTO_ROOT / PACKAGE_PATH).glob("*.proto"))
    bundled_include = resources.files("grpc_tools") / "_proto"
    with tempfile.TemporaryDirectory() as scratch:
        status = protoc.main(
            [
                "grpc_tools.protoc",
                f"-I{PROTO_ROOT}",
                f"-I{bundled_include}",
                f"--python_out={scratch}",
                f"--pyi_out={scratch}",
                f"--grpc_python_out={scratch}",
                *protos,
            ]
        )
        if status != 0:
            raise SystemExit(f"protoc failed with exit status {status}")
        out_dir.mkdir(parents=True, exist_ok=True)
        for pattern in STUB_PATTERNS:
            for stale in out_dir.glob(pattern):
                stale.unlink()
        for stub in sorted((Path(scratch) / PACKAGE_PATH).iterdir()):
            shutil.move(stub, out_dir / stub.name)
    (out_dir / "__init__.py").write_text(INIT_TEXT, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="Regenerate the mec5g.v1 Python gRPC stubs.")
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="directory to write the stubs into (default: protos/generated/)",
    )
    generate(parser.parse_args().out)


if __name__ == "__main__":
    main()
