//! Camera perception without weights: synthetic camera, motion detection, SORT tracking, MOT metrics.
