//! Precomputed transition tables: the dissolve threshold map and the
//! blockflip start times. Each is a pure function of (size, seed), so a
//! worker can build them ahead of time; applying them per frame is one
//! comparison per pixel (dissolve) or per block (blockflip).

use std::sync::Arc;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use crate::error::RenderError;
use crate::frame::check_size;
use crate::transition::{PROGRESS_ONE, TransitionKind};

/// How long one block's flip lasts, in Q16 progress (a quarter of the transition).
pub const FLIP_SPAN: u32 = PROGRESS_ONE / 4;

/// The blockflip grid: `cols × rows` blocks, each with the progress (Q16) at
/// which its flip starts. Block `i` spans columns `i·W/cols .. (i+1)·W/cols`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockGrid {
    /// Blocks across.
    pub cols: u32,
    /// Blocks down.
    pub rows: u32,
    /// Start of each block's flip in Q16, row-major, each `+ FLIP_SPAN ≤ PROGRESS_ONE`.
    pub starts: Vec<u32>,
}

/// The table data of one kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableData {
    /// Blockflip start times.
    Blockflip(BlockGrid),
    /// One threshold per pixel, row-major: the pixel shows the target once
    /// progress (Q16) is greater than its threshold.
    Dissolve(Vec<u16>),
}

/// Tables for one transition at one size and seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitionTables {
    kind: TransitionKind,
    width: u32,
    height: u32,
    seed: u64,
    data: TableData,
}

impl TransitionTables {
    /// Builds the tables `kind` needs at `width × height` with `seed`;
    /// `Ok(None)` for kinds that need none.
    pub fn build(
        kind: TransitionKind,
        width: u32,
        height: u32,
        seed: u64,
    ) -> Result<Option<Self>, RenderError> {
        check_size("transition", width, height)?;
        let data = match kind {
            TransitionKind::Blockflip => TableData::Blockflip(blockflip_grid(width, height, seed)),
            TransitionKind::Dissolve => {
                TableData::Dissolve(dissolve_thresholds(width, height, seed))
            }
            _ => return Ok(None),
        };
        Ok(Some(Self {
            kind,
            width,
            height,
            seed,
            data,
        }))
    }

    /// Whether these tables serve `kind` at this size and seed.
    pub fn serves(&self, kind: TransitionKind, width: u32, height: u32, seed: u64) -> bool {
        self.kind == kind && self.width == width && self.height == height && self.seed == seed
    }

    /// Checks [`serves`](Self::serves), naming both sides when it does not.
    pub(crate) fn check(
        &self,
        kind: TransitionKind,
        width: u32,
        height: u32,
        seed: u64,
    ) -> Result<(), RenderError> {
        if self.serves(kind, width, height, seed) {
            return Ok(());
        }
        Err(RenderError::TablesMismatch {
            built: format!(
                "{} {}x{} seed {}",
                self.kind, self.width, self.height, self.seed
            ),
            needed: format!("{kind} {width}x{height} seed {seed}"),
        })
    }

    /// The data.
    pub fn data(&self) -> &TableData {
        &self.data
    }

    /// The blockflip grid, if these are blockflip tables.
    pub fn blockflip(&self) -> Option<&BlockGrid> {
        match &self.data {
            TableData::Blockflip(g) => Some(g),
            TableData::Dissolve(_) => None,
        }
    }

    /// The dissolve thresholds, if these are dissolve tables.
    pub fn dissolve(&self) -> Option<&[u16]> {
        match &self.data {
            TableData::Dissolve(t) => Some(t),
            TableData::Blockflip(_) => None,
        }
    }
}

/// The tables a compositor built itself, the most recent few kept.
#[derive(Default)]
pub(crate) struct TableCache {
    entries: Vec<Arc<TransitionTables>>,
}

impl TableCache {
    /// How many table sets are kept (one per kind is the common case).
    const KEEP: usize = 2;

    /// The tables for `kind` at this size and seed, built on first use.
    pub(crate) fn get(
        &mut self,
        kind: TransitionKind,
        width: u32,
        height: u32,
        seed: u64,
    ) -> Result<Option<Arc<TransitionTables>>, RenderError> {
        if !kind.needs_tables() {
            return Ok(None);
        }
        if let Some(i) = self
            .entries
            .iter()
            .position(|t| t.serves(kind, width, height, seed))
        {
            let t = self.entries.remove(i);
            self.entries.push(Arc::clone(&t));
            return Ok(Some(t));
        }
        let Some(built) = TransitionTables::build(kind, width, height, seed)? else {
            return Ok(None);
        };
        let built = Arc::new(built);
        if self.entries.len() == Self::KEEP {
            self.entries.remove(0);
        }
        self.entries.push(Arc::clone(&built));
        Ok(Some(built))
    }
}

/// The blockflip grid dimensions for a size: square-ish blocks about a sixth
/// of the shorter side, at least 4 pixels.
pub fn block_grid_dims(width: u32, height: u32) -> (u32, u32) {
    let side = (width.min(height) / 6).max(4);
    let cols = ((width + side / 2) / side).clamp(1, width);
    let rows = ((height + side / 2) / side).clamp(1, height);
    (cols, rows)
}

/// Builds the blockflip grid: a seeded permutation of the blocks, spread so
/// the last flip ends exactly at progress one.
pub fn blockflip_grid(width: u32, height: u32, seed: u64) -> BlockGrid {
    let (cols, rows) = block_grid_dims(width, height);
    let n = cols * rows;
    let mut rank: Vec<u32> = (0..n).collect();
    shuffle(&mut rank, seed);
    let room = u64::from(PROGRESS_ONE - FLIP_SPAN);
    let starts = rank
        .iter()
        .map(|&r| (u64::from(r) * room / u64::from(n)) as u32)
        .collect();
    BlockGrid { cols, rows, starts }
}

/// Builds the dissolve threshold map: the values `⌊k·65536/n⌋` for
/// `k in 0..n` (n = pixels), shuffled with the seed. Exactly `k` pixels
/// have switched once progress passes the `k`-th smallest threshold.
pub fn dissolve_thresholds(width: u32, height: u32, seed: u64) -> Vec<u16> {
    let n = u64::from(width) * u64::from(height);
    let mut t: Vec<u16> = (0..n)
        .map(|k| (k * u64::from(PROGRESS_ONE) / n) as u16)
        .collect();
    shuffle(&mut t, seed);
    t
}

/// Fisher–Yates with ChaCha8 seeded from `seed`, index drawn by the
/// multiply-shift method: stable across platforms and `rand` releases.
fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for i in (1..v.len()).rev() {
        let j = ((u128::from(rng.next_u64()) * (i as u128 + 1)) >> 64) as usize;
        v.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dissolve_is_a_seeded_permutation_of_even_thresholds() {
        let a = dissolve_thresholds(37, 23, 9);
        assert_eq!(a, dissolve_thresholds(37, 23, 9), "pure in (size, seed)");
        assert_ne!(a, dissolve_thresholds(37, 23, 10), "the seed matters");
        let mut sorted = a.clone();
        sorted.sort_unstable();
        let n = 37 * 23;
        let expect: Vec<u16> = (0..n).map(|k| (k * 65536 / n) as u16).collect();
        assert_eq!(sorted, expect);
        // Shuffled, not sorted.
        assert_ne!(a, expect);
    }

    #[test]
    fn blockflip_starts_leave_room_for_the_last_flip() {
        let g = blockflip_grid(96, 64, 3);
        assert_eq!((g.cols, g.rows), block_grid_dims(96, 64));
        assert_eq!(g.starts.len(), (g.cols * g.rows) as usize);
        assert!(g.starts.iter().all(|&s| s + FLIP_SPAN <= PROGRESS_ONE));
        let mut s = g.starts.clone();
        s.sort_unstable();
        s.dedup();
        assert_eq!(s.len(), g.starts.len(), "distinct start times");
        assert_eq!(g, blockflip_grid(96, 64, 3));
    }

    #[test]
    fn grid_dims_cover_tiny_and_large_sizes() {
        assert_eq!(block_grid_dims(1, 1), (1, 1));
        assert_eq!(block_grid_dims(3, 200), (1, 50));
        let (c, r) = block_grid_dims(1920, 1080);
        assert!((8..=14).contains(&c) && (4..=8).contains(&r), "{c}x{r}");
    }

    #[test]
    fn tables_check_names_the_mismatch() {
        let t = TransitionTables::build(TransitionKind::Dissolve, 8, 8, 1)
            .expect("valid size")
            .expect("dissolve has tables");
        assert!(t.check(TransitionKind::Dissolve, 8, 8, 1).is_ok());
        let err = t
            .check(TransitionKind::Dissolve, 8, 9, 1)
            .expect_err("size differs");
        assert!(err.to_string().contains("8x9"), "{err}");
        assert!(
            TransitionTables::build(TransitionKind::Crossfade, 8, 8, 1)
                .expect("valid")
                .is_none()
        );
    }
}
