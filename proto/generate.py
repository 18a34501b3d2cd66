"""Regenerate the Python code of every .proto under proto/ (`make proto`).

The .proto files live at proto/cabinet/v1/*.proto and are compiled with the repository root as
the include path, so the generated modules import each other as `proto.cabinet.v1.…_pb2`: the
import paths land inside our own package. Outputs: *_pb2.py, *_pb2_grpc.py and mypy-protobuf
stubs (*_pb2.pyi, *_pb2_grpc.pyi). `--out DIR` writes elsewhere (the staleness test uses it).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"


def _plugin(name: str) -> str:
    """Path of a protoc plugin installed next to this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found: install the dev extras (mypy-protobuf)")
    return found


def proto_files() -> list[Path]:
    """Every .proto of the contract, relative to the repository root, in a stable order."""
    return sorted(p.relative_to(ROOT) for p in PROTO_DIR.rglob("*.proto"))


def generated_names(proto: Path) -> list[Path]:
    """The files generated for one .proto, relative to the output root."""
    stem = proto.with_suffix("")
    return [
        stem.with_name(stem.name + suffix)
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")
    ]


def generate(out: Path) -> list[Path]:
    """Compile every .proto into `out`; return the files written (relative to `out`)."""
    out.mkdir(parents=True, exist_ok=True)
    well_known = str(resources.files("grpc_tools") / "_proto")
    written: list[Path] = []
    for proto in proto_files():
        args = [
            "grpc_tools.protoc",
            f"-I{ROOT}",
            f"-I{well_known}",
            f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
            f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            f"--mypy_out={out}",
            f"--mypy_grpc_out={out}",
            str(proto),
        ]
        # protoc resolves the file against -I; run from the root so its path is "proto/…".
        code = protoc.main(args)
        if code != 0:
            raise SystemExit(f"protoc failed on {proto} (exit {code})")
        written.extend(generated_names(proto))
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: regenerate in place, or into --out."""
    parser = argparse.ArgumentParser(prog="python -m proto.generate", description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT, help="output root (default: repo)")
    args = parser.parse_args(argv)
    for path in generate(args.out.resolve()):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
