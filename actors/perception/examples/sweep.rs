//! Quality sweep: the built-in scenarios over many seeds (and, optionally,
//! another object count), each sequence scored against its exact ground
//! truth, with a summary per scenario against the issue's targets. This is
//! the command behind the multi-seed table of `docs/BENCHMARKS.md`. The
//! summary gives min / median / max per sequence and the combined scores
//! (errors and ground truth summed over the sequences, as MOTChallenge
//! scores a benchmark):
//!
//! ```sh
//! cargo run --release -p warden-perception --example sweep -- \
//!     [--seeds N] [--first SEED] [--frames N] [--scenario NAME] [--objects N] [--start-inside]
//! ```

use warden_perception::{PipelineConfig, Scenario, SyntheticCamera, evaluate, run_sequence};

/// The issue's targets per scenario: (MOTA, IDF1).
fn target(sc: Scenario) -> (f64, f64) {
    match sc {
        Scenario::Easy | Scenario::Crossing => (0.95, 0.90),
        Scenario::Crowded | Scenario::Noisy => (0.85, 0.75),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut seeds, mut first, mut frames, mut only, mut objects) =
        (10u64, 1u64, 300usize, None, None);
    let mut start_inside = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--start-inside" {
            start_inside = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seeds" => seeds = value.parse()?,
            "--first" => first = value.parse()?,
            "--frames" => frames = value.parse()?,
            "--scenario" => only = Some(value.parse::<Scenario>()?),
            "--objects" => objects = Some(value.parse::<usize>()?),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    for sc in Scenario::ALL
        .into_iter()
        .filter(|sc| only.is_none_or(|o| o == *sc))
    {
        let (mut motas, mut idf1s, mut ms) = (Vec::new(), Vec::new(), Vec::new());
        // Sums over every sequence: the combined scores, as MOTChallenge
        // reports a benchmark (errors and ground truth pooled, not averaged).
        let (mut errors, mut gt, mut idtp, mut idfp, mut idfn) = (0usize, 0usize, 0, 0, 0);
        for seed in first..first + seeds {
            let mut cfg = sc.config(seed);
            cfg.frames = frames;
            cfg.start_inside = start_inside;
            if let Some(n) = objects {
                cfg.objects = n;
            }
            let n_objects = cfg.objects;
            let mut cam = SyntheticCamera::new(cfg)?;
            let rep = run_sequence(&mut cam, &PipelineConfig::default(), |_| {})?;
            let m = evaluate(rep.truth.as_deref().unwrap_or(&[]), &rep.tracks, 0.5);
            println!(
                "{:9} {n_objects:3} objects seed {seed:3}: MOTA {:.3} IDF1 {:.3} P {:.3} R {:.3} FP {:4} FN {:4} IDSW {:3} | {:.2} ms/frame",
                sc.name(),
                m.mota,
                m.idf1,
                m.precision,
                m.recall,
                m.false_positives,
                m.misses,
                m.id_switches,
                rep.timing.median_ms
            );
            errors += m.false_positives + m.misses + m.id_switches;
            gt += m.ground_truth;
            (idtp, idfp, idfn) = (idtp + m.idtp, idfp + m.idfp, idfn + m.idfn);
            motas.push(m.mota);
            idf1s.push(m.idf1);
            ms.push(rep.timing.median_ms);
        }
        let (t_mota, t_idf1) = target(sc);
        let met = motas
            .iter()
            .zip(&idf1s)
            .filter(|(a, b)| **a >= t_mota && **b >= t_idf1)
            .count();
        let stats = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            (v[0], v[v.len() / 2], v[v.len() - 1])
        };
        let ((a0, a1, a2), (b0, b1, b2), (_, m1, _)) =
            (stats(&mut motas), stats(&mut idf1s), stats(&mut ms));
        println!(
            "{:9} summary over {seeds} seeds: MOTA min {a0:.3} median {a1:.3} max {a2:.3}; IDF1 min {b0:.3} median {b1:.3} max {b2:.3}; \
             {met}/{seeds} meet MOTA >= {t_mota} and IDF1 >= {t_idf1}; median {m1:.2} ms/frame",
            sc.name()
        );
        let pooled_mota = 1.0 - errors as f64 / gt.max(1) as f64;
        let pooled_idf1 = 2.0 * idtp as f64 / (2 * idtp + idfp + idfn).max(1) as f64;
        println!(
            "{:9} combined over {seeds} seeds: MOTA {pooled_mota:.3} IDF1 {pooled_idf1:.3}",
            sc.name()
        );
    }
    Ok(())
}
