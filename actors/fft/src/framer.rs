//! Framing of a mono sample stream into overlapping windows: frame `n` is
//! centred on sample `n·hop` and covers `n·hop − N/2 .. n·hop + N/2`, with
//! zeros before the first and after the last sample (numpy:
//! `np.pad(x, N // 2)`), so a stream of `L` samples yields `L / hop + 1`
//! frames. Fixed buffer, no allocation after construction.

/// Accumulates samples and hands out each full window exactly once.
#[derive(Clone, Debug)]
pub(crate) struct Framer {
    buf: Vec<f32>,
    frame_len: usize,
    hop: usize,
    samples_in: u64,
    frames_out: u64,
}

impl Framer {
    /// A framer for windows of `frame_len` samples every `hop` samples.
    pub(crate) fn new(frame_len: usize, hop: usize) -> Self {
        let mut buf = Vec::with_capacity(frame_len);
        buf.resize(frame_len / 2, 0.0);
        Self {
            buf,
            frame_len,
            hop,
            samples_in: 0,
            frames_out: 0,
        }
    }

    /// Samples pushed so far.
    pub(crate) fn samples_in(&self) -> u64 {
        self.samples_in
    }

    /// Append `samples`, calling `emit` with every window they complete.
    pub(crate) fn push<E>(
        &mut self,
        samples: &[f32],
        mut emit: impl FnMut(&[f32]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.samples_in += samples.len() as u64;
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (self.frame_len - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() == self.frame_len {
                self.emit_and_advance(&mut emit)?;
            }
        }
        Ok(())
    }

    /// End of stream: emit the remaining windows (centres up to and including
    /// the last sample position), zero-padded.
    pub(crate) fn finish<E>(
        &mut self,
        mut emit: impl FnMut(&[f32]) -> Result<(), E>,
    ) -> Result<(), E> {
        while self.frames_out * self.hop as u64 <= self.samples_in {
            self.buf.resize(self.frame_len, 0.0);
            self.emit_and_advance(&mut emit)?;
        }
        Ok(())
    }

    fn emit_and_advance<E>(
        &mut self,
        emit: &mut impl FnMut(&[f32]) -> Result<(), E>,
    ) -> Result<(), E> {
        emit(&self.buf)?;
        self.frames_out += 1;
        self.buf.copy_within(self.hop.., 0);
        self.buf.truncate(self.frame_len - self.hop);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(len: usize, frame_len: usize, hop: usize, chunk: usize) -> Vec<Vec<f32>> {
        let samples: Vec<f32> = (1..=len).map(|v| v as f32).collect();
        let mut framer = Framer::new(frame_len, hop);
        let mut out = Vec::new();
        for c in samples.chunks(chunk) {
            framer
                .push::<()>(c, |w| {
                    out.push(w.to_vec());
                    Ok(())
                })
                .unwrap();
        }
        framer
            .finish::<()>(|w| {
                out.push(w.to_vec());
                Ok(())
            })
            .unwrap();
        out
    }

    #[test]
    fn frames_are_centred_and_zero_padded_like_numpy_pad() {
        // samples 1..=10, N = 4, hop = 3: padded = [0,0,1,..,10,0,0]
        let f = frames(10, 4, 3, 1);
        assert_eq!(f.len(), 10 / 3 + 1);
        assert_eq!(f[0], vec![0.0, 0.0, 1.0, 2.0]);
        assert_eq!(f[1], vec![2.0, 3.0, 4.0, 5.0]);
        assert_eq!(f[3], vec![8.0, 9.0, 10.0, 0.0]);
    }

    #[test]
    fn chunking_does_not_change_the_frames() {
        let a = frames(1000, 64, 16, 1);
        for chunk in [7, 64, 333, 1000] {
            assert_eq!(frames(1000, 64, 16, chunk), a);
        }
        assert_eq!(a.len(), 1000 / 16 + 1);
    }
}
