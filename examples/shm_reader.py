#!/usr/bin/env python3
"""Read Warden's perception export from POSIX shared memory.

Standard library only (mmap, struct, zlib). The perception actor keeps the
latest detections, tracks and timelines in

    /dev/shm/warden-<instance>-detections
    /dev/shm/warden-<instance>-tracks
    /dev/shm/warden-<instance>-timelines

(<instance> is the actor's `shm_instance`, by default its name:
`perception`). Each segment is a 64-byte header guarded by a sequence
number (a seqlock: odd while the writer is inside) followed by one of seed
003's wire frames, which ends with its own CRC32. The layout is in
docs/PERCEPTION.md.

    python3 examples/shm_reader.py                    # print tracks as they change
    python3 examples/shm_reader.py --kind detections --frames 5
    python3 examples/shm_reader.py --reads 1000000 --json   # a torn-read check
"""

import argparse
import json
import mmap
import os
import struct
import sys
import time
import zlib

SEGMENT_MAGIC = 0x4D485357  # "WSHM" little-endian
LAYOUT_VERSION = 1
HEADER = struct.Struct("<IIQIIIIQQIIQ")  # 64 bytes
WIRE_MAGIC = 0x4F4D4E49  # "OMNI"
WIRE_VERSION = 1
WIRE_HEADER = struct.Struct("<IIIQQII")  # 36 bytes
KINDS = {"detections": 1, "tracks": 2, "timelines": 3}
TRACK_STATES = {0: "tracked", 1: "occluded", 2: "coasting", 3: "lost"}


class Torn(Exception):
    """The writer was inside the frame for every attempt."""


class Invalid(Exception):
    """A consistent read that does not check out: a real error."""


def open_segment(instance, kind):
    path = f"/dev/shm/warden-{instance}-{kind}"
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size < HEADER.size:
            raise Invalid(f"{path}: {size} bytes, shorter than the {HEADER.size}-byte header")
        return path, mmap.mmap(fd, size, prot=mmap.PROT_READ)
    finally:
        os.close(fd)


def read_once(mm, attempts=10000):
    """One consistent copy of (header fields, frame bytes), or Torn."""
    for _ in range(attempts):
        seq1 = struct.unpack_from("<Q", mm, 8)[0]
        if seq1 & 1:
            continue
        header = mm[: HEADER.size]
        (_, _, _, _, capacity, length, *_rest) = HEADER.unpack(header)
        if length > capacity or HEADER.size + length > len(mm):
            continue
        frame = mm[HEADER.size : HEADER.size + length]
        seq2 = struct.unpack_from("<Q", mm, 8)[0]
        if seq1 == seq2:
            return HEADER.unpack(header), frame
    raise Torn("the writer held the segment for every attempt")


def decode(fields, frame, want_kind):
    (magic, layout, seq, kind, capacity, length, pid, frame_id, timestamp_ms, count, crc,
     published_ns) = fields
    if magic != SEGMENT_MAGIC:
        raise Invalid(f"segment magic {magic:#010x}, expected {SEGMENT_MAGIC:#010x}")
    if layout != LAYOUT_VERSION:
        raise Invalid(f"layout version {layout}, this reader knows {LAYOUT_VERSION}")
    if seq == 0 or length == 0:
        return None  # nothing published yet
    if kind != want_kind:
        raise Invalid(f"segment kind {kind}, expected {want_kind}")
    if len(frame) < WIRE_HEADER.size + 4:
        raise Invalid(f"frame of {len(frame)} bytes is shorter than a wire header")
    stored = struct.unpack_from("<I", frame, len(frame) - 4)[0]
    computed = zlib.crc32(frame[:-4]) & 0xFFFFFFFF
    if stored != computed or stored != crc:
        raise Invalid(f"CRC32 mismatch: stored {stored:#010x}, header {crc:#010x}, computed {computed:#010x}")
    w_magic, w_version, w_kind, w_frame_id, w_ts, w_count, payload_len = WIRE_HEADER.unpack_from(frame)
    if w_magic != WIRE_MAGIC or w_version != WIRE_VERSION or w_kind != want_kind:
        raise Invalid(f"wire header magic {w_magic:#x} version {w_version} kind {w_kind}")
    if (w_frame_id, w_ts, w_count) != (frame_id, timestamp_ms, count):
        raise Invalid("the segment header and the wire frame disagree")
    if WIRE_HEADER.size + payload_len + 4 != len(frame):
        raise Invalid(f"payload of {payload_len} bytes in a frame of {len(frame)}")
    payload = frame[WIRE_HEADER.size : WIRE_HEADER.size + payload_len]
    records = []
    if want_kind == 1:
        for i in range(w_count):
            x, y, w, h, score, area, border = struct.unpack_from("<ffffffI", payload, i * 28)
            records.append({"box": [x, y, w, h], "score": score, "area": area, "border": border})
    elif want_kind == 2:
        for i in range(w_count):
            (tid, x, y, w, h, vx, vy, score, age, hits, since, state) = struct.unpack_from(
                "<QfffffffIIII", payload, i * 52
            )
            records.append(
                {
                    "id": tid,
                    "box": [x, y, w, h],
                    "velocity": [vx, vy],
                    "score": score,
                    "age": age,
                    "hits": hits,
                    "time_since_update": since,
                    "state": TRACK_STATES.get(state, state),
                }
            )
    else:
        at = 0
        for _ in range(w_count):
            track_id, points = struct.unpack_from("<QI", payload, at)
            at += 12
            pts = []
            for _ in range(points):
                dt, x, y, w, h, sx, sy = struct.unpack_from("<Iffffff", payload, at)
                at += 28
                pts.append({"dt_ms": dt, "box": [x, y, w, h], "sigma": [sx, sy]})
            records.append({"track_id": track_id, "points": pts})
    return {
        "frame_id": frame_id,
        "timestamp_ms": timestamp_ms,
        "count": count,
        "crc32": f"{crc:08x}",
        "writer_pid": pid,
        "age_ms": round(time.time() * 1000 - published_ns / 1e6, 3),
        "records": records,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", default="perception")
    parser.add_argument("--kind", choices=sorted(KINDS), default="tracks")
    parser.add_argument("--frames", type=int, default=0, help="stop after this many new frames (0: never)")
    parser.add_argument("--reads", type=int, default=0, help="read this many times as fast as possible, then report")
    parser.add_argument("--timeout", type=float, default=10.0, help="give up waiting for a frame after this long (s)")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    args = parser.parse_args()
    want = KINDS[args.kind]
    try:
        path, mm = open_segment(args.instance, args.kind)
    except (OSError, Invalid) as err:
        print(f"shm_reader: cannot open the {args.kind} segment: {err}", file=sys.stderr)
        return 2

    if args.reads:
        # A torn-read check: every consistent read must decode with a valid CRC.
        frames, started = set(), time.perf_counter()
        for _ in range(args.reads):
            fields, frame = read_once(mm)
            try:
                value = decode(fields, frame, want)
            except Invalid as err:
                print(f"shm_reader: {path}: {err}", file=sys.stderr)
                return 1
            if value:
                frames.add(value["frame_id"])
        elapsed = time.perf_counter() - started
        report = {"path": path, "reads": args.reads, "invalid": 0, "distinct_frames": len(frames),
                  "reads_per_s": round(args.reads / elapsed)}
        print(json.dumps(report) if args.json else
              f"{path}: {args.reads} reads, 0 invalid, {len(frames)} distinct frames, "
              f"{report['reads_per_s']} reads/s")
        return 0

    seen, last, deadline = 0, None, time.monotonic() + args.timeout
    while args.frames == 0 or seen < args.frames:
        try:
            value = decode(*read_once(mm), want)
        except (Invalid, Torn) as err:
            print(f"shm_reader: {path}: {err}", file=sys.stderr)
            return 1
        if value is None or value["frame_id"] == last:
            if time.monotonic() > deadline:
                print(f"shm_reader: {path}: no new frame for {args.timeout} s", file=sys.stderr)
                return 1
            time.sleep(0.005)
            continue
        last, seen, deadline = value["frame_id"], seen + 1, time.monotonic() + args.timeout
        if args.json:
            print(json.dumps(value), flush=True)
        else:
            print(f"frame {value['frame_id']} at {value['timestamp_ms']} ms, {value['count']} "
                  f"{args.kind}, CRC32 {value['crc32']} ok", flush=True)
            for record in value["records"]:
                print(f"  {record}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
