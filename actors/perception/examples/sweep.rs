//! Development sweep: every built-in scenario over several seeds, with the
//! scores and per-frame time. `cargo run --release -p warden-perception
//! --example sweep -- [SEEDS] [FRAMES]`.

use warden_perception::{PipelineConfig, Scenario, SyntheticCamera, evaluate, run_sequence};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seeds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3);
    let frames: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(300);
    let only: Option<String> = args.next();
    for sc in Scenario::ALL {
        if only.as_deref().is_some_and(|o| o != sc.name()) {
            continue;
        }
        for seed in 1..=seeds {
            let mut cfg = sc.config(seed);
            cfg.frames = frames;
            let mut cam = SyntheticCamera::new(cfg)?;
            let rep = run_sequence(&mut cam, &PipelineConfig::default(), |_| {})?;
            let m = evaluate(rep.truth.as_deref().unwrap_or(&[]), &rep.tracks, 0.5);
            println!(
                "{:9} seed {seed:2}: MOTA {:.3} IDF1 {:.3} P {:.3} R {:.3} FP {:4} FN {:4} IDSW {:3} gt_ids {:3} hyp_ids {:3} | {:.2} ms/frame",
                sc.name(),
                m.mota,
                m.idf1,
                m.precision,
                m.recall,
                m.false_positives,
                m.misses,
                m.id_switches,
                m.gt_ids,
                m.hyp_ids,
                rep.timing.median_ms
            );
        }
    }
    Ok(())
}
