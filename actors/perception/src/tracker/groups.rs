//! Merged blobs. When objects cross, background subtraction sees one blob
//! where there are several objects. A detection that covers the predicted
//! boxes of two or more live tracks is such a group: it is not matched to any
//! one of them (which would drag that track onto the union box). Instead each
//! member is corrected along the sides of the blob it defines — the leftmost
//! member's left edge is the blob's left edge, and so on — and predicted
//! along the others; a member that defines no side coasts on its prediction.

use super::track::{Track, TrackState};
use crate::geometry::BBox;
use crate::kalman::Observed;

/// Indices of the tracks whose predicted boxes lie mostly inside `blob`.
pub(crate) fn members(tracks: &[Track], usable: &[bool], blob: &BBox, cover: f32) -> Vec<usize> {
    tracks
        .iter()
        .enumerate()
        .filter(|(i, t)| usable[*i] && t.kf.bbox().covered_by(blob) >= cover)
        .map(|(i, _)| i)
        .collect()
}

/// The members that make `blob` a merge of several objects, or nothing:
/// of the members, those of at least a tenth of the blob's area count
/// (slivers are fragments, not objects); a merge needs two of them, the
/// blob clearly larger than any one (else it is one object that several
/// tracks claim) and mostly made of them (else they are fragments of one
/// object). When it is no merge, plain association decides.
pub(crate) fn merged(tracks: &[Track], members: &[usize], blob: &BBox) -> Vec<usize> {
    let area = |m: usize| tracks[m].kf.bbox().area();
    let objects: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&m| area(m) >= blob.area() / 10.0)
        .collect();
    let largest = objects.iter().map(|&m| area(m)).fold(0.0f32, f32::max);
    let total: f32 = objects.iter().map(|&m| area(m)).sum();
    if objects.len() >= 2 && blob.area() >= 1.2 * largest && total >= 0.5 * blob.area() {
        objects
    } else {
        Vec::new()
    }
}

/// Whether the members are fragments of one object rather than several
/// objects: they move together (velocities within half a pixel per frame)
/// and their boxes tile the blob (the box around them has IoU ≥ 0.8 with
/// it). A track split in pieces at start-up looks like this; objects that
/// met have, almost always, come from different directions.
pub(crate) fn are_fragments(tracks: &[Track], members: &[usize], blob: &BBox) -> bool {
    let Some((&first, rest)) = members.split_first() else {
        return false;
    };
    let v0 = tracks[first].kf.velocity();
    let together = rest.iter().all(|&m| {
        let v = tracks[m].kf.velocity();
        (v.0 - v0.0).hypot(v.1 - v0.1) <= 0.5
    });
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &m in members {
        let b = tracks[m].kf.bbox();
        x0 = x0.min(b.x);
        y0 = y0.min(b.y);
        x1 = x1.max(b.right());
        y1 = y1.max(b.bottom());
    }
    together && BBox::new(x0, y0, x1 - x0, y1 - y0).iou(blob) >= 0.8
}

/// Correct each member of a group with the sides of `blob` it defines.
pub(crate) fn correct(tracks: &mut [Track], members: &[usize], blob: &BBox) {
    let preds: Vec<BBox> = members.iter().map(|&i| tracks[i].kf.bbox()).collect();
    for (k, &i) in members.iter().enumerate() {
        let p = preds[k];
        let others = preds
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .map(|(_, b)| b);
        let (mut min_x, mut min_y, mut max_r, mut max_b) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for o in others {
            min_x = min_x.min(o.x);
            min_y = min_y.min(o.y);
            max_r = max_r.max(o.right());
            max_b = max_b.max(o.bottom());
        }
        // A side is this member's when it sticks out beyond every other
        // member on that side (by a tenth of its size: ties are nobody's) and
        // the blob's side is near its predicted side.
        let (margin_x, margin_y) = (0.1 * p.w, 0.1 * p.h);
        let (snap_x, snap_y) = (0.3 * p.w, 0.3 * p.h);
        let left = p.x + margin_x < min_x && (blob.x - p.x).abs() <= snap_x;
        let right = p.right() - margin_x > max_r && (blob.right() - p.right()).abs() <= snap_x;
        let top = p.y + margin_y < min_y && (blob.y - p.y).abs() <= snap_y;
        let bottom = p.bottom() - margin_y > max_b && (blob.bottom() - p.bottom()).abs() <= snap_y;
        let (x, w, seen_x, seen_w) = side_pair(left, right, blob.x, blob.right(), p.x, p.w);
        let (y, h, seen_y, seen_h) = side_pair(top, bottom, blob.y, blob.bottom(), p.y, p.h);
        let t = &mut tracks[i];
        t.state = TrackState::Occluded;
        if seen_x || seen_y {
            t.kf.update_observed(
                BBox::new(x, y, w, h),
                Observed {
                    cx: seen_x,
                    cy: seen_y,
                    w: seen_w,
                    h: seen_h,
                },
            );
            t.time_since_update = 0;
        }
    }
}

/// From which of the two sides of one axis are observed, the measured start
/// and size and whether the centre and the size are observed.
fn side_pair(
    lo: bool,
    hi: bool,
    blob_lo: f32,
    blob_hi: f32,
    pred_lo: f32,
    pred_size: f32,
) -> (f32, f32, bool, bool) {
    match (lo, hi) {
        (true, true) => (blob_lo, blob_hi - blob_lo, true, true),
        (true, false) => (blob_lo, pred_size, true, false),
        (false, true) => (blob_hi - pred_size, pred_size, true, false),
        (false, false) => (pred_lo, pred_size, false, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kalman::KalmanConfig;

    fn track(b: BBox) -> Track {
        let mut t = Track::new(b, 1.0, KalmanConfig::default());
        t.id = 1;
        t
    }

    #[test]
    fn two_side_by_side_members_take_their_own_outer_edges() {
        let mut tracks = vec![
            track(BBox::new(10.0, 10.0, 20.0, 20.0)),
            track(BBox::new(24.0, 10.0, 20.0, 20.0)),
        ];
        let blob = BBox::new(12.0, 10.0, 34.0, 20.0); // both moved right by 2
        let m = members(&tracks, &[true, true], &blob, 0.6);
        assert_eq!(m, vec![0, 1]);
        correct(&mut tracks, &m, &blob);
        assert!(
            tracks[0].kf.bbox().x > 10.5,
            "left member follows the blob's left edge"
        );
        assert!(
            tracks[1].kf.bbox().right() > 44.5,
            "right member follows the blob's right edge"
        );
        assert!(tracks.iter().all(|t| t.state == TrackState::Occluded));
    }

    #[test]
    fn a_member_hidden_inside_defines_no_side_and_only_coasts() {
        let mut tracks = vec![
            track(BBox::new(0.0, 0.0, 60.0, 60.0)),
            track(BBox::new(20.0, 20.0, 10.0, 10.0)),
        ];
        tracks[1].time_since_update = 3;
        let blob = BBox::new(0.0, 0.0, 60.0, 60.0);
        let before = tracks[1].kf.bbox();
        correct(&mut tracks, &[0, 1], &blob);
        assert_eq!(tracks[1].kf.bbox(), before);
        assert_eq!(tracks[1].time_since_update, 3);
        assert_eq!(tracks[0].time_since_update, 0);
    }
}
