//! The slideshow's timeline, as a pure state machine over the compositor's
//! clock: which image to ask for and when (well ahead of its turn), when a
//! transition starts (only once its target is in memory; until then the
//! current image stays), which transition, and when it ends. No I/O, no
//! clock of its own: the actor feeds it times and images.

use std::sync::Arc;
use std::time::Duration;

use warden_renderer::{Easing, Frame, TransitionKind, TransitionSpec};

/// How long before its turn the next image is asked for (at most a third
/// of the time an image stays).
const LEAD: Duration = Duration::from_secs(3);

/// After a failed request, wait this long before asking again.
const RETRY: Duration = Duration::from_millis(500);

/// An image in memory, ready to show.
#[derive(Clone, Debug)]
pub struct Picture {
    /// Its position in the source.
    pub index: u64,
    /// Its name.
    pub name: String,
    /// Canvas-sized RGBA.
    pub frame: Arc<Frame>,
}

/// A transition under way.
#[derive(Clone, Debug)]
pub struct Running {
    /// The image left behind.
    pub from: Arc<Frame>,
    /// What runs.
    pub spec: TransitionSpec,
    /// When it started (on the compositor's clock).
    pub started: Duration,
    /// When it could have started: its image in memory and its turn come
    /// (the image-ready → on-screen latency counts from here).
    pub ready: Duration,
}

impl Running {
    /// Its time fraction at `now`, `0..=1`.
    pub fn time(&self, now: Duration) -> f64 {
        self.spec.time_fraction(now.saturating_sub(self.started))
    }
}

/// The timing and transitions the slideshow follows.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// How long an image stays (from the end of its transition).
    pub slide: Duration,
    /// How long a transition runs.
    pub transition: Duration,
    /// The transitions, in turn.
    pub kinds: Vec<TransitionKind>,
    /// Their easing.
    pub easing: Easing,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Slideshow {
    timing: Timing,
    /// The image shown (the target while a transition runs).
    current: Option<Picture>,
    /// Since when it is shown alone (the end of its transition).
    since: Duration,
    next: Option<Picture>,
    /// When `next` arrived.
    next_at: Duration,
    transition: Option<Running>,
    /// The request in flight, and its index.
    asking: Option<u64>,
    /// The index to ask for next.
    index: u64,
    /// No request before this time (after a failure).
    quiet_until: Duration,
    /// Transitions started by this slideshow.
    transitions: u64,
    /// The turn the next transition takes (picks its kind and seed): it
    /// starts at the first image's index, so a slideshow resumed at image
    /// `k` runs the transitions one started at 0 would run from there.
    turn: u64,
}

impl Slideshow {
    /// A slideshow that starts with the source's image `first`.
    pub fn new(timing: Timing, first: u64) -> Self {
        Slideshow {
            timing,
            current: None,
            since: Duration::ZERO,
            next: None,
            next_at: Duration::ZERO,
            transition: None,
            asking: None,
            index: first,
            quiet_until: Duration::ZERO,
            transitions: 0,
            turn: first,
        }
    }

    /// Show image `index` next (a client moved the slideshow): the image
    /// already in memory for the next turn is dropped if it is another one.
    pub fn jump(&mut self, index: u64) {
        if self.current.as_ref().is_some_and(|c| c.index == index) {
            return;
        }
        self.index = index;
        if self.next.as_ref().is_some_and(|n| n.index != index) {
            self.next = None;
        }
    }

    /// Follow other timing from now on.
    pub fn retime(&mut self, timing: Timing) {
        self.timing = timing;
    }

    /// The image to ask for at `now`, if it is time to ask (and nothing is
    /// being asked for already).
    pub fn wants(&self, now: Duration) -> Option<u64> {
        if self.asking.is_some() || self.next.is_some() || now < self.quiet_until {
            return None;
        }
        let due = match (&self.current, &self.transition) {
            (None, _) => true,
            // The next one is asked for once this transition is over…
            (Some(_), Some(_)) => false,
            // …and a lead before its turn.
            (Some(_), None) => {
                let lead = LEAD.min(self.timing.slide / 3);
                now + lead >= self.since + self.timing.slide
            }
        };
        due.then_some(self.index)
    }

    /// A request for `index` went out.
    pub fn asked(&mut self, index: u64) {
        self.asking = Some(index);
    }

    /// The image asked for arrived (its position may have wrapped round
    /// the source's list).
    pub fn received(&mut self, picture: Picture, now: Duration) {
        self.asking = None;
        self.index = picture.index + 1;
        if self.current.is_none() {
            self.current = Some(picture);
            self.since = now;
        } else {
            self.next = Some(picture);
            self.next_at = now;
        }
    }

    /// The request failed (the actor is restarting, the source is empty):
    /// ask again a little later.
    pub fn failed(&mut self, now: Duration) {
        self.asking = None;
        self.quiet_until = now + RETRY;
    }

    /// Start and end transitions as `now` says.
    pub fn advance(&mut self, now: Duration) {
        if let Some(running) = &self.transition
            && running.time(now) >= 1.0
        {
            self.since = running.started + running.spec.duration;
            self.transition = None;
        }
        if self.transition.is_some() {
            return;
        }
        let due = self.since + self.timing.slide;
        if now < due {
            return;
        }
        let (Some(current), Some(_)) = (&self.current, &self.next) else {
            // The next image is not in memory yet: the current one stays.
            return;
        };
        let from = Arc::clone(&current.frame);
        let Some(next) = self.next.take() else {
            return;
        };
        let kinds = &self.timing.kinds;
        let kind = kinds[(self.turn % kinds.len() as u64) as usize];
        self.transition = Some(Running {
            from,
            spec: TransitionSpec {
                kind,
                duration: self.timing.transition,
                easing: self.timing.easing,
                seed: self.turn,
            },
            started: now,
            ready: self.next_at.max(due),
        });
        self.transitions += 1;
        self.turn += 1;
        self.current = Some(next);
    }

    /// What shows at `now`: the image (the target of a running transition)
    /// and the transition.
    pub fn view(&self) -> (Option<&Picture>, Option<&Running>) {
        (self.current.as_ref(), self.transition.as_ref())
    }

    /// Whether a transition is due but its image is not in memory (a
    /// virtual clock holds still until it is).
    pub fn held(&self, now: Duration) -> bool {
        self.transition.is_none()
            && self.current.is_some()
            && self.next.is_none()
            && now >= self.since + self.timing.slide
    }

    /// Whether a first image is still awaited (a virtual clock holds).
    pub fn empty(&self) -> bool {
        self.current.is_none()
    }

    /// Transitions started so far.
    pub fn transitions(&self) -> u64 {
        self.transitions
    }

    /// Where it stands, for a moved compositor to resume: the image shown
    /// (or, before the first, the one to ask for) and the next turn.
    pub fn position(&self) -> (u64, u64) {
        (
            self.current
                .as_ref()
                .map_or(self.index, |picture| picture.index),
            self.turn,
        )
    }

    /// A slideshow resumed at `position` (see [`Slideshow::position`]): it
    /// shows that image again first, and runs the transitions the moved
    /// one would have run next.
    pub fn resume(timing: Timing, (image, turn): (u64, u64)) -> Self {
        Slideshow {
            turn,
            ..Slideshow::new(timing, image)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> Timing {
        Timing {
            slide: Duration::from_secs(6),
            transition: Duration::from_secs(1),
            kinds: vec![TransitionKind::Crossfade, TransitionKind::Zoom],
            easing: Easing::Linear,
        }
    }

    fn picture(index: u64, fill: u8) -> Picture {
        Picture {
            index,
            name: format!("p{index}"),
            frame: Arc::new(Frame::filled(4, 4, [fill, 0, 0, 255]).expect("frame")),
        }
    }

    const fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn images_are_asked_for_ahead_and_transitions_start_only_when_they_are_here() {
        let mut show = Slideshow::new(timing(), 0);
        assert_eq!(show.wants(s(0)), Some(0), "the first image at once");
        show.asked(0);
        assert_eq!(show.wants(s(0)), None, "one request at a time");
        show.received(picture(0, 1), s(0));
        assert_eq!(show.view().0.map(|p| p.index), Some(0));
        // The next is asked for a lead (2 s: a third of 6) before its turn.
        assert_eq!(show.wants(s(3)), None);
        assert_eq!(show.wants(s(4)), Some(1));
        show.asked(1);
        // Its turn comes, but it is not here: the current image stays.
        show.advance(s(6));
        assert!(show.view().1.is_none());
        assert!(show.held(s(6)));
        show.received(picture(1, 2), s(7));
        show.advance(s(7));
        let (shown, running) = show.view();
        assert_eq!(shown.map(|p| p.index), Some(1), "the target");
        let running = running.expect("a transition");
        assert_eq!(running.spec.kind, TransitionKind::Crossfade);
        assert_eq!(running.from.pixel(0, 0), Some([1, 0, 0, 255]));
        assert!((running.time(s(7) + Duration::from_millis(500)) - 0.5).abs() < 1e-9);
        // Over after a second; the next kind next time.
        show.advance(s(8));
        assert!(show.view().1.is_none());
        assert_eq!(show.wants(s(11)), None);
        assert_eq!(show.wants(s(12)), Some(2));
        show.asked(2);
        show.received(picture(2, 3), s(12));
        show.advance(s(14));
        assert_eq!(
            show.view().1.map(|r| r.spec.kind),
            Some(TransitionKind::Zoom)
        );
        assert_eq!(show.transitions(), 2);
    }

    #[test]
    fn a_resumed_slideshow_runs_the_turns_from_where_it_was_and_jumps_when_told() {
        let mut show = Slideshow::new(timing(), 3);
        assert_eq!(show.wants(s(0)), Some(3), "the scene's image first");
        show.asked(3);
        show.received(picture(3, 1), s(0));
        assert_eq!(show.wants(s(4)), Some(4));
        show.asked(4);
        show.received(picture(4, 2), s(4));
        show.advance(s(6));
        // Turn 3 of [Crossfade, Zoom]: what a slideshow from 0 runs into image 4.
        assert_eq!(
            show.view().1.map(|r| r.spec.kind),
            Some(TransitionKind::Zoom)
        );
        show.advance(s(7));
        // A client moves it to image 9: the next request asks for 9.
        show.jump(9);
        assert_eq!(show.wants(s(11)), Some(9));
        show.jump(4);
        assert_eq!(show.wants(s(11)), Some(9), "the image shown is no jump");
    }

    #[test]
    fn a_failed_request_is_retried_later_and_a_wrapped_index_continues() {
        let mut show = Slideshow::new(timing(), 5);
        show.asked(5);
        show.failed(s(1));
        assert_eq!(show.wants(s(1)), None, "not at once");
        assert_eq!(show.wants(s(2)), Some(5));
        // The source had three images: 5 wrapped to 2; the next is 3.
        show.asked(5);
        show.received(picture(2, 1), s(2));
        assert_eq!(show.wants(s(8)), Some(3));
    }
}
