//! A fixed-capacity ring of the most recent `f32` values (the onset and
//! novelty histories): pushes never allocate, reads address values by age.

/// The last `capacity` values pushed, oldest overwritten first.
#[derive(Clone, Debug)]
pub(crate) struct Ring {
    data: Vec<f32>,
    /// Index where the next value goes.
    head: usize,
    len: usize,
}

impl Ring {
    /// An empty ring holding at most `capacity` (≥ 1) values.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            data: vec![0.0; capacity.max(1)],
            head: 0,
            len: 0,
        }
    }

    /// Append `value`, dropping the oldest when full.
    pub(crate) fn push(&mut self, value: f32) {
        self.data[self.head] = value;
        self.head += 1;
        if self.head == self.data.len() {
            self.head = 0;
        }
        self.len = (self.len + 1).min(self.data.len());
    }

    /// The held values in storage order (not chronological): for sums and
    /// other order-free reductions.
    pub(crate) fn values(&self) -> &[f32] {
        if self.len == self.data.len() {
            &self.data
        } else {
            &self.data[..self.len]
        }
    }

    /// Number of values held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The value pushed `age` pushes ago (0 = newest), if still held.
    pub(crate) fn get(&self, age: usize) -> Option<f32> {
        if age >= self.len {
            return None;
        }
        let cap = self.data.len();
        let index = self.head + cap - 1 - age;
        Some(self.data[if index >= cap { index - cap } else { index }])
    }

    /// Copy the held values, oldest first, into the front of `out`; returns
    /// how many were written (`min(len, out.len())`, the newest ones).
    pub(crate) fn copy_chronological(&self, out: &mut [f32]) -> usize {
        let n = self.len.min(out.len());
        // The n newest values end just before `head`, possibly wrapping.
        let cap = self.data.len();
        let start = (self.head + cap - n) % cap;
        let first = n.min(cap - start);
        out[..first].copy_from_slice(&self.data[start..start + first]);
        out[first..n].copy_from_slice(&self.data[..n - first]);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_values_by_age() {
        let mut r = Ring::new(3);
        assert_eq!(r.get(0), None);
        for v in 1..=5 {
            r.push(v as f32);
        }
        assert_eq!(r.len(), 3);
        assert_eq!((r.get(0), r.get(2), r.get(3)), (Some(5.0), Some(3.0), None));
        let mut out = [0.0; 4];
        assert_eq!(r.copy_chronological(&mut out), 3);
        assert_eq!(out, [3.0, 4.0, 5.0, 0.0]);
        let mut two = [0.0; 2];
        assert_eq!(r.copy_chronological(&mut two), 2);
        assert_eq!(two, [4.0, 5.0]);
        let mut sorted = r.values().to_vec();
        sorted.sort_by(f32::total_cmp);
        assert_eq!(sorted, [3.0, 4.0, 5.0]);
        let mut young = Ring::new(4);
        young.push(1.0);
        assert_eq!(young.values(), &[1.0]);
        assert_eq!(young.copy_chronological(&mut out), 1);
        assert_eq!(out[0], 1.0);
    }
}
