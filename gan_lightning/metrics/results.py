"""What an evaluation leaves: one JSON line per evaluation in `<run>/metrics.jsonl`, and a table to read."""

import json
from pathlib import Path

from gan_lightning.files import atomic_write
from gan_lightning.metrics.scores import HAS_STD, METRICS

LABELS = {"fid": "FID", "kid": "KID", "is": "IS"}


def append_jsonl(path: Path, record: dict) -> None:
    """Append `record` as one line; the file is rewritten atomically, so a killed run never leaves half a line."""
    existing = path.read_bytes() if path.is_file() else b""
    if existing and not existing.endswith(b"\n"):
        existing += b"\n"
    with atomic_write(path) as tmp:
        tmp.write_bytes(existing + (json.dumps(record, sort_keys=True) + "\n").encode())


def format_table(record: dict) -> str:
    """The metrics of one evaluation record as aligned text, with the protocol beneath."""
    protocol, values, unavailable = record["protocol"], record["metrics"], record.get("unavailable", {})
    rows = [("metric", "value", "± std")]
    for name in METRICS:
        if name in values:
            std = values.get(HAS_STD.get(name, ""), None)
            rows.append((LABELS.get(name, name), f"{values[name]:.6g}", "" if std is None else f"{std:.3g}"))
        elif name in unavailable:
            rows.append((LABELS.get(name, name), "unavailable", unavailable[name]))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{record['subject']}"]
    lines += [f"  {a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in rows]
    details = ", ".join(f"{k} {v}" for k, v in protocol.items() if k not in ("weights",))
    lines.append(f"  protocol: {details}")
    return "\n".join(lines)
