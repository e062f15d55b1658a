"""Readers for what a run leaves on disk: TensorBoard event files and W&B offline run files."""

import json
import struct
import time
from collections import defaultdict
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def tensorboard_events(run_dir: Path) -> EventAccumulator:
    """All scalars and images of the TensorBoard event files in `run_dir` (no sampling limits)."""
    accumulator = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def wandb_history(run_file: Path, timeout: float = 60.0) -> list[dict]:
    """The history rows of a finished W&B offline run file (`run-*.wandb`), as {key: json} dicts.

    W&B's service process writes the file behind the run; this waits (up to `timeout` s) until the
    run's final "exit" record is in it, so the history is complete.
    """
    records = _finished_wandb_records(run_file, timeout)
    return [
        {item.key or "/".join(item.nested_key): item.value_json for item in r.history.item} for r in records["history"]
    ]


def wandb_summary(run_file: Path, timeout: float = 60.0) -> dict:
    """The run summary of a finished W&B offline run file, {key: decoded JSON value} (later updates win)."""
    summary: dict = {}
    for record in _finished_wandb_records(run_file, timeout)["summary"]:
        for item in record.summary.update:
            summary[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return summary


def _finished_wandb_records(run_file: Path, timeout: float) -> dict[str, list]:
    """The file's records by kind, once its "exit" record is there (waiting up to `timeout` s)."""
    deadline = time.monotonic() + timeout
    while True:
        records, finished = _read_wandb_records(run_file)
        if finished or time.monotonic() > deadline:
            assert finished, f"{run_file} has no exit record after {timeout} s"
            return records


def _read_wandb_records(run_file: Path) -> tuple[dict[str, list], bool]:
    """The records by kind ("history", "summary", ...) and whether the exit record was seen.

    The file is a LevelDB-style log (7-byte W&B header, 32 KiB blocks of crc|length|type|payload
    records) of protobuf `Record`s; wandb no longer ships a Python reader for it.
    """
    from wandb.proto import wandb_internal_pb2

    raw, finished = run_file.read_bytes(), False
    block, pos, pending, records = 32768, 7, b"", defaultdict(list)  # a 7-byte file header, then 32 KiB blocks
    assert raw[:4] == b":W&B", f"{run_file} is not a W&B run file"
    while pos + 7 <= len(raw):
        if block - pos % block < 7:  # a block's trailer is padding
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", raw[pos : pos + 7])
        if kind == 0 and length == 0:
            break
        data, pos = raw[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind in (2, 3):  # first / middle fragment
            pending = (pending if kind == 3 else b"") + data
            continue
        payload = pending + data if kind == 4 else data
        pending = b""
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        kind_name = record.WhichOneof("record_type")
        records[kind_name].append(record)
        finished |= kind_name == "exit"
    return records, finished
