#!/usr/bin/env python3
"""Score a MOTChallenge tracker file against a ground-truth file with
py-motmetrics (https://github.com/cheind/py-motmetrics), independently of
warden: `motmetrics_score.py GT.txt TRACKS.txt` prints one JSON object with
frames, mota, idf1, precision, recall, id_switches, false_positives, misses,
ground_truth and idtp. Boxes match at IoU >= 0.5, as in the MOTChallenge
benchmarks."""

import json
import sys

import numpy as np

# motmetrics 1.4 calls np.asfarray, which NumPy 2 removed.
if not hasattr(np, "asfarray"):
    np.asfarray = lambda a, dtype=np.float64: np.asarray(a, dtype=dtype)

import motmetrics as mm  # noqa: E402


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: motmetrics_score.py GT.txt TRACKS.txt")
    gt = mm.io.loadtxt(sys.argv[1], fmt="mot15-2D", min_confidence=1)
    ts = mm.io.loadtxt(sys.argv[2], fmt="mot15-2D")
    acc = mm.utils.compare_to_groundtruth(gt, ts, "iou", distth=0.5)
    names = {
        "num_frames": "frames",
        "mota": "mota",
        "idf1": "idf1",
        "precision": "precision",
        "recall": "recall",
        "num_switches": "id_switches",
        "num_false_positives": "false_positives",
        "num_misses": "misses",
        "num_objects": "ground_truth",
        "idtp": "idtp",
    }
    summary = mm.metrics.create().compute(acc, metrics=list(names), name="sequence")
    row = summary.iloc[0]
    print(json.dumps({out: float(row[key]) for key, out in names.items()}))


if __name__ == "__main__":
    main()
