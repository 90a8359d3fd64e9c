//! The synthetic scene's moving objects: where they enter, how they move,
//! when they leave and are replaced by new identities. Pure geometry; no
//! pixels (those are `render.rs`).

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::{Layout, SyntheticConfig};
use crate::geometry::BBox;

/// One object of the scene.
#[derive(Debug, Clone)]
pub(crate) struct SceneObject {
    /// Ground-truth identity (never reused).
    pub(crate) id: u64,
    /// Centre x, px.
    pub(crate) cx: f32,
    /// Centre y, px.
    pub(crate) cy: f32,
    /// Width, px.
    pub(crate) w: f32,
    /// Height, px.
    pub(crate) h: f32,
    /// Direction of motion, radians.
    heading: f32,
    /// Speed, px per frame.
    speed: f32,
    /// Change of heading per frame, radians.
    turn: f32,
    /// Elliptic (true) or rectangular (false).
    pub(crate) ellipse: bool,
    /// Four shades of the object's colour; its surface is a random pattern
    /// of 4×4-pixel cells in these shades, fixed to the object.
    pub(crate) shades: [[u8; 3]; 4],
    /// Seed of the cell pattern.
    pub(crate) pattern: u64,
    /// Larger is farther: nearer objects hide farther ones.
    pub(crate) depth: f32,
    /// Whether the object has been inside the frame yet.
    entered: bool,
    /// Frames it has lived.
    age: u32,
}

impl SceneObject {
    /// The object's full box (unclipped).
    pub(crate) fn bbox(&self) -> BBox {
        BBox::from_center(self.cx, self.cy, self.w, self.h)
    }
}

/// The set of objects: a fixed number of slots, each holding a live object
/// or counting down to the next arrival.
#[derive(Debug)]
pub(crate) struct Scene {
    slots: Vec<Slot>,
    next_id: u64,
    width: f32,
    height: f32,
}

#[derive(Debug)]
enum Slot {
    Live(SceneObject),
    Waiting(u32),
}

impl Scene {
    /// A new scene: with `cfg.start_inside` the objects are already in
    /// motion somewhere along their paths (the camera is switched on in the
    /// middle of the action); otherwise the scene starts empty and the
    /// objects enter through the edges within the first `cfg.arrival_s`
    /// seconds.
    pub(crate) fn new(cfg: &SyntheticConfig, rng: &mut ChaCha8Rng) -> Self {
        let mut scene = Scene {
            slots: Vec::with_capacity(cfg.objects),
            next_id: 1,
            width: cfg.width as f32,
            height: cfg.height as f32,
        };
        for slot in 0..cfg.objects {
            if !cfg.start_inside {
                let spread = (cfg.arrival_s * cfg.fps).max(1.0);
                let wait = if cfg.layout == Layout::Crossing {
                    // In turn, so that objects sharing an edge arrive apart.
                    let step = spread / cfg.objects.max(1) as f32;
                    (slot as f32 * step + rng.random_range(0.0..step.max(1.0))) as u32
                } else {
                    rng.random_range(0..spread as u32)
                };
                scene.slots.push(Slot::Waiting(wait));
                continue;
            }
            let mut obj = scene.spawn(cfg, slot, rng);
            // Advance along the path by a random fraction of a crossing.
            let crossing = (scene.width + scene.height) / 2.0 / obj.speed.max(0.1);
            let steps = rng.random_range(0.0..crossing.max(1.0)) as u32;
            let mut alive = true;
            for _ in 0..steps {
                if !scene.advance(&mut obj) {
                    alive = false;
                    break;
                }
            }
            if alive {
                scene.slots.push(Slot::Live(obj));
            } else {
                let fresh = scene.spawn(cfg, slot, rng);
                scene.slots.push(Slot::Live(fresh));
            }
        }
        scene
    }

    /// The live objects.
    pub(crate) fn objects(&self) -> impl Iterator<Item = &SceneObject> {
        self.slots.iter().filter_map(|s| match s {
            Slot::Live(o) => Some(o),
            Slot::Waiting(_) => None,
        })
    }

    /// Move every object one frame; replace those that left.
    pub(crate) fn step(&mut self, cfg: &SyntheticConfig, rng: &mut ChaCha8Rng) {
        let max_wait = cfg.fps.max(1.0) as u32;
        for slot in 0..self.slots.len() {
            let next = match &mut self.slots[slot] {
                Slot::Live(obj) => {
                    let mut moved = obj.clone();
                    if self.advance(&mut moved) {
                        Slot::Live(moved)
                    } else {
                        Slot::Waiting(rng.random_range(0..=max_wait))
                    }
                }
                Slot::Waiting(0) => {
                    // Objects do not appear inside one another: an arrival
                    // waits until its way in is clear.
                    let candidate = self.spawn(cfg, slot, rng);
                    if self.entry_is_clear(&candidate) {
                        Slot::Live(candidate)
                    } else {
                        self.next_id -= 1;
                        Slot::Waiting(0)
                    }
                }
                Slot::Waiting(n) => Slot::Waiting(*n - 1),
            };
            self.slots[slot] = next;
        }
    }

    /// Whether the stretch `obj` covers while it comes in (two of its
    /// lengths along its path) is free of other objects, with a margin of
    /// half its size.
    fn entry_is_clear(&self, obj: &SceneObject) -> bool {
        let start = obj.bbox();
        let reach = 2.0 * obj.w.max(obj.h);
        let end = BBox::from_center(
            obj.cx + reach * obj.heading.cos(),
            obj.cy + reach * obj.heading.sin(),
            obj.w,
            obj.h,
        );
        let margin = 0.5 * obj.w.max(obj.h);
        let x0 = start.x.min(end.x) - margin;
        let y0 = start.y.min(end.y) - margin;
        let x1 = start.right().max(end.right()) + margin;
        let y1 = start.bottom().max(end.bottom()) + margin;
        let lane = BBox::new(x0, y0, x1 - x0, y1 - y0);
        self.objects().all(|o| o.bbox().intersection(&lane) <= 0.0)
    }

    /// One frame of motion; false when the object has left the frame for good.
    fn advance(&self, obj: &mut SceneObject) -> bool {
        obj.heading += obj.turn;
        obj.cx += obj.speed * obj.heading.cos();
        obj.cy += obj.speed * obj.heading.sin();
        obj.age += 1;
        let inside = obj
            .bbox()
            .clip(self.width as u32, self.height as u32)
            .is_some();
        if inside {
            obj.entered = true;
        }
        // Leaves once it has been in and is out again; a stray that never
        // makes it in is retired after a long while.
        if obj.entered { inside } else { obj.age <= 600 }
    }

    /// A new object entering through an edge.
    fn spawn(&mut self, cfg: &SyntheticConfig, slot: usize, rng: &mut ChaCha8Rng) -> SceneObject {
        let (w, h) = self.pick_size(cfg, rng);
        let speed = rng.random_range(cfg.speed_min..=cfg.speed_max) * self.width / cfg.fps;
        let (cx, cy, heading, turn) = match cfg.layout {
            Layout::Lanes => {
                let lane_h = self.height / cfg.objects.max(1) as f32;
                let cy = (slot as f32 + 0.5) * lane_h;
                if slot.is_multiple_of(2) {
                    (-w / 2.0, cy, 0.0, 0.0)
                } else {
                    (self.width + w / 2.0, cy, std::f32::consts::PI, 0.0)
                }
            }
            Layout::Free | Layout::Crossing => {
                // Crossing: the k-th arrival of slot s comes through edge
                // (s + k) mod 4, so objects meet from every side instead of
                // travelling in convoys; free paths pick any edge.
                let edge = if cfg.layout == Layout::Crossing {
                    ((slot as u64 + self.next_id / cfg.objects.max(1) as u64) % 4) as u8
                } else {
                    rng.random_range(0..4u8)
                };
                let (ex, ey) = self.entry_point(edge, w, h, rng);
                let (lo, hi) = if cfg.layout == Layout::Crossing {
                    (0.35, 0.65)
                } else {
                    (0.1, 0.9)
                };
                let tx = rng.random_range(lo..hi) * self.width;
                let ty = rng.random_range(lo..hi) * self.height;
                let heading = (ty - ey).atan2(tx - ex);
                let turn = if cfg.layout == Layout::Crossing || cfg.turn_max <= 0.0 {
                    0.0
                } else {
                    rng.random_range(-cfg.turn_max..=cfg.turn_max) / cfg.fps
                };
                (ex, ey, heading, turn)
            }
        };
        let bright = rng.random_bool(0.5);
        // Luma stays outside [60, 195] whatever the shade: at least 30 grey
        // levels from any background.
        let luma = if bright {
            rng.random_range(212.0..238.0)
        } else {
            rng.random_range(17.0..43.0)
        };
        let dr: f32 = rng.random_range(-25.0..25.0);
        let db: f32 = rng.random_range(-25.0..25.0);
        let id = self.next_id;
        self.next_id += 1;
        SceneObject {
            id,
            cx,
            cy,
            w,
            h,
            heading,
            speed,
            turn,
            ellipse: rng.random_bool(0.5),
            shades: [-15.0, -5.0, 5.0, 15.0].map(|d| tint(luma + d, dr, db)),
            pattern: rng.random(),
            depth: rng.random_range(0.0..1.0),
            entered: false,
            age: 0,
        }
    }

    fn pick_size(&self, cfg: &SyntheticConfig, rng: &mut ChaCha8Rng) -> (f32, f32) {
        let side = rng.random_range(cfg.size_min..=cfg.size_max) * self.height;
        let aspect = rng.random_range(cfg.aspect_min..=cfg.aspect_max);
        let (mut w, mut h) = if aspect >= 1.0 {
            (side, side / aspect)
        } else {
            (side * aspect, side)
        };
        if cfg.layout == Layout::Lanes {
            // Keep each object inside its lane so lanes never overlap.
            let lane_h = self.height / cfg.objects.max(1) as f32;
            let cap = 0.8 * lane_h;
            if h > cap {
                w *= cap / h;
                h = cap;
            }
        }
        (w.max(4.0).round(), h.max(4.0).round())
    }

    /// A centre just outside `edge` (0 left, 1 right, 2 top, 3 bottom).
    fn entry_point(&self, edge: u8, w: f32, h: f32, rng: &mut ChaCha8Rng) -> (f32, f32) {
        match edge {
            0 => (-w / 2.0, rng.random_range(0.1..0.9) * self.height),
            1 => (
                self.width + w / 2.0,
                rng.random_range(0.1..0.9) * self.height,
            ),
            2 => (rng.random_range(0.1..0.9) * self.width, -h / 2.0),
            _ => (
                rng.random_range(0.1..0.9) * self.width,
                self.height + h / 2.0,
            ),
        }
    }
}

/// A colour of the given luma (BT.601) with a red and blue tint.
fn tint(luma: f32, dr: f32, db: f32) -> [u8; 3] {
    let dg = -(0.299 * dr + 0.114 * db) / 0.587;
    let c = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    [c(luma + dr), c(luma + dg), c(luma + db)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn cfg(layout: Layout, objects: usize) -> SyntheticConfig {
        SyntheticConfig {
            layout,
            objects,
            ..SyntheticConfig::default()
        }
    }

    #[test]
    fn objects_keep_their_count_and_get_fresh_ids_when_replaced() {
        let cfg = cfg(Layout::Free, 6);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut scene = Scene::new(&cfg, &mut rng);
        let mut max_id = 0;
        for _ in 0..600 {
            scene.step(&cfg, &mut rng);
            assert!(scene.objects().count() <= 6);
            for o in scene.objects() {
                max_id = max_id.max(o.id);
            }
        }
        assert!(
            max_id > 6,
            "objects left and new ones arrived (max id {max_id})"
        );
    }

    #[test]
    fn lanes_never_overlap() {
        let cfg = cfg(Layout::Lanes, 4);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut scene = Scene::new(&cfg, &mut rng);
        for _ in 0..300 {
            scene.step(&cfg, &mut rng);
            let boxes: Vec<BBox> = scene.objects().map(SceneObject::bbox).collect();
            for (i, a) in boxes.iter().enumerate() {
                for b in &boxes[i + 1..] {
                    assert_eq!(a.intersection(b), 0.0);
                }
            }
        }
    }

    #[test]
    fn tint_keeps_the_luma() {
        let [r, g, b] = tint(120.0, 20.0, -20.0);
        let luma = 0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b);
        assert!((luma - 120.0).abs() < 1.0);
    }
}
