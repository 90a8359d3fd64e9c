//! Unit tests of the CPU transitions: both ends exact for every kind and
//! size, slides and wipes halfway, dissolve proportional to progress.

use super::*;
use crate::transition::PROGRESS_ONE;

fn image(w: u32, h: u32, salt: u8) -> Vec<u8> {
    (0..w * h * 4)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt))
        .collect()
}

#[test]
fn every_kind_starts_on_the_source_and_ends_on_the_target() {
    for (w, h) in [(1, 1), (7, 5), (97, 13)] {
        let (a, b) = (image(w, h, 3), image(w, h, 200));
        for kind in TransitionKind::ALL {
            let tables = TransitionTables::build(kind, w, h, 11).expect("size ok");
            let mut out = vec![0; a.len()];
            for (p, want) in [(PROGRESS_ONE, &b), (0, &a)] {
                let inputs = Inputs {
                    from: &a,
                    to: &b,
                    width: w,
                    height: h,
                    background: [1, 2, 3, 4],
                    progress: p,
                    tables: tables.as_ref(),
                };
                compose(kind, &inputs, &mut out, &mut Scratch::default());
                assert!(&out == want, "{kind} at {p} on {w}x{h}");
            }
        }
    }
}

#[test]
fn slide_left_halfway_shows_both_halves_shifted() {
    let (w, h) = (4, 1);
    let a: Vec<u8> = (0..16).collect();
    let b: Vec<u8> = (100..116).collect();
    let mut out = vec![0; 16];
    let inputs = Inputs {
        from: &a,
        to: &b,
        width: w,
        height: h,
        background: [0; 4],
        progress: PROGRESS_ONE / 2,
        tables: None,
    };
    compose(
        TransitionKind::SlideLeft,
        &inputs,
        &mut out,
        &mut Scratch::default(),
    );
    assert_eq!(&out[..8], &a[8..]);
    assert_eq!(&out[8..], &b[..8]);
    compose(
        TransitionKind::WipeRight,
        &inputs,
        &mut out,
        &mut Scratch::default(),
    );
    assert_eq!(&out[..8], &b[..8]);
    assert_eq!(&out[8..], &a[8..]);
}

#[test]
fn dissolve_switches_pixels_in_proportion_to_progress() {
    let (w, h) = (64, 32);
    let (a, b) = (vec![0u8; 64 * 32 * 4], vec![255u8; 64 * 32 * 4]);
    let tables = TransitionTables::build(TransitionKind::Dissolve, w, h, 5)
        .expect("ok")
        .expect("dissolve");
    let mut out = vec![0; a.len()];
    let inputs = Inputs {
        from: &a,
        to: &b,
        width: w,
        height: h,
        background: [0; 4],
        progress: PROGRESS_ONE / 4,
        tables: Some(&tables),
    };
    compose(
        TransitionKind::Dissolve,
        &inputs,
        &mut out,
        &mut Scratch::default(),
    );
    let switched = out.chunks_exact(4).filter(|p| p[0] == 255).count();
    assert_eq!(switched, 64 * 32 / 4);
}
