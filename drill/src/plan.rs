//! The fault plan: which fault strikes which actor next, drawn from a seed
//! the report prints, so that a failing drill replays with `--seed`.

use serde::Serialize;

/// A small, fast, well-mixed generator (SplitMix64): the plan needs
/// reproducibility, not cryptography.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// A fault the drill injects into one actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The admin API's kill (SIGKILL for a child, an abrupt end in the kernel).
    Kill,
    /// SIGKILL sent by the drill to the child's pid, behind the kernel's back.
    Sigkill,
    /// A panic inside the actor's handling path.
    Panic,
    /// The instance stops answering, heartbeats included.
    Hang,
    /// Every request is answered slowly for a while (no restart expected).
    Stall,
    /// Bytes that decode as no message on the child's channel.
    Garbage,
    /// One message over the transport's limit on the child's channel.
    Oversize,
    /// The child exits with an error code.
    Exit,
    /// The child closes its channel and keeps running.
    Linger,
}

impl Fault {
    /// Every fault.
    pub const ALL: [Fault; 9] = [
        Fault::Kill,
        Fault::Sigkill,
        Fault::Panic,
        Fault::Hang,
        Fault::Stall,
        Fault::Garbage,
        Fault::Oversize,
        Fault::Exit,
        Fault::Linger,
    ];

    /// Its name in reports and on the admin API.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Sigkill => "sigkill",
            Fault::Panic => "panic",
            Fault::Hang => "hang",
            Fault::Stall => "stall",
            Fault::Garbage => "garbage",
            Fault::Oversize => "oversize",
            Fault::Exit => "exit",
            Fault::Linger => "linger",
        }
    }

    /// Whether it needs the actor in a child process.
    pub fn child_only(self) -> bool {
        matches!(
            self,
            Fault::Sigkill | Fault::Garbage | Fault::Oversize | Fault::Exit | Fault::Linger
        )
    }

    /// Whether the supervisor must restart the actor after it.
    pub fn restarts(self) -> bool {
        self != Fault::Stall
    }

    /// The faults an actor in `placement` can take.
    pub fn for_placement(placement: &str) -> Vec<Fault> {
        Fault::ALL
            .into_iter()
            .filter(|f| placement != "inprocess" || !f.child_only())
            .collect()
    }
}

/// One actor as the plan sees it.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The actor's name.
    pub name: String,
    /// `process` or `inprocess`.
    pub placement: String,
    /// Whether it may be struck now (it has run long enough since its last
    /// restart that the supervisor's backoff is reset).
    pub ready: bool,
}

/// The next (actor, fault): a random ready actor, then a random fault its
/// placement can take. Faults are spread evenly: among the faults the actor
/// can take, those it has taken least are drawn first.
pub fn next(
    rng: &mut Rng,
    actors: &[Candidate],
    taken: &dyn Fn(&str, Fault) -> u32,
) -> Option<(usize, Fault)> {
    let ready: Vec<usize> = (0..actors.len()).filter(|&i| actors[i].ready).collect();
    if ready.is_empty() {
        return None;
    }
    let index = ready[rng.below(ready.len())];
    let actor = &actors[index];
    let faults = Fault::for_placement(&actor.placement);
    let least = faults.iter().map(|&f| taken(&actor.name, f)).min()?;
    let fewest: Vec<Fault> = faults
        .into_iter()
        .filter(|&f| taken(&actor.name, f) == least)
        .collect();
    Some((index, fewest[rng.below(fewest.len())]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn candidates() -> Vec<Candidate> {
        vec![
            Candidate {
                name: "a".into(),
                placement: "process".into(),
                ready: true,
            },
            Candidate {
                name: "b".into(),
                placement: "inprocess".into(),
                ready: true,
            },
        ]
    }

    #[test]
    fn the_same_seed_gives_the_same_plan_and_another_seed_another() {
        let plan = |seed| {
            let mut rng = Rng::new(seed);
            (0..50)
                .map(|_| next(&mut rng, &candidates(), &|_, _| 0))
                .collect::<Vec<_>>()
        };
        assert_eq!(plan(7), plan(7));
        assert_ne!(plan(7), plan(8));
    }

    #[test]
    fn in_process_actors_never_get_a_childs_fault_and_every_fault_is_drawn() {
        let mut rng = Rng::new(1);
        let mut taken: HashMap<(String, Fault), u32> = HashMap::new();
        for _ in 0..400 {
            let counts = taken.clone();
            let get = move |name: &str, f: Fault| {
                counts.get(&(name.to_string(), f)).copied().unwrap_or(0)
            };
            let (i, fault) = next(&mut rng, &candidates(), &get).expect("both are ready");
            let actor = &candidates()[i];
            assert!(
                actor.placement == "process" || !fault.child_only(),
                "{fault:?} drawn for {}",
                actor.name
            );
            *taken.entry((actor.name.clone(), fault)).or_default() += 1;
        }
        for fault in Fault::ALL {
            assert!(
                taken.get(&("a".into(), fault)).copied().unwrap_or(0) >= 10,
                "{fault:?} under-drawn for the child: {taken:?}"
            );
        }
        for fault in Fault::for_placement("inprocess") {
            assert!(
                taken.get(&("b".into(), fault)).copied().unwrap_or(0) >= 10,
                "{fault:?} under-drawn in the kernel"
            );
        }
        // Balanced: no fault was drawn more than one more time than another.
        let a: Vec<u32> = Fault::ALL
            .iter()
            .map(|&f| taken[&("a".to_string(), f)])
            .collect();
        assert!(
            a.iter().max().unwrap_or(&0) - a.iter().min().unwrap_or(&0) <= 1,
            "{a:?}"
        );
    }

    #[test]
    fn no_ready_actor_means_no_fault() {
        let mut actors = candidates();
        for actor in &mut actors {
            actor.ready = false;
        }
        assert_eq!(next(&mut Rng::new(3), &actors, &|_, _| 0), None);
    }

    #[test]
    fn chance_is_roughly_its_probability() {
        let mut rng = Rng::new(42);
        let hits = (0..10_000).filter(|_| rng.chance(0.25)).count();
        assert!((2_200..2_800).contains(&hits), "{hits}");
    }
}
