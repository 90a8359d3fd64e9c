//! The analysis window: the symmetric Hann window, exactly `numpy.hanning(N)`,
//! and the scale that makes a full-scale sine read 0 dB.

/// The symmetric Hann window of length `len`:
/// `w[n] = 0.5 − 0.5·cos(2πn / (len − 1))`, the same values as
/// `numpy.hanning(len)` (first and last samples are 0).
pub fn hann(len: usize) -> Vec<f32> {
    if len < 2 {
        return vec![1.0; len];
    }
    let denom = (len - 1) as f64;
    (0..len)
        .map(|n| (0.5 - 0.5 * (std::f64::consts::TAU * n as f64 / denom).cos()) as f32)
        .collect()
}

/// The magnitude a full-scale (amplitude 1) sine centred on a bin reaches
/// after windowing with `window`: half the window's sum.
pub fn full_scale_magnitude(window: &[f32]) -> f64 {
    window.iter().map(|&w| f64::from(w)).sum::<f64>() / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_hanning_definition() {
        // numpy.hanning(5) = [0, 0.5, 1, 0.5, 0]
        let w = hann(5);
        let expected = [0.0, 0.5, 1.0, 0.5, 0.0];
        for (a, b) in w.iter().zip(expected) {
            assert!((a - b).abs() < 1e-7, "{w:?}");
        }
        let w = hann(2048);
        assert_eq!(w[0], 0.0);
        assert!(w[2047].abs() < 1e-7);
        assert!(
            (w[1023] - w[1024]).abs() < 1e-6,
            "symmetric around the middle"
        );
    }

    #[test]
    fn full_scale_is_half_the_sum() {
        let w = hann(1024);
        // sum of a symmetric Hann of length N is (N - 1) / 2
        assert!((full_scale_magnitude(&w) - 1023.0 / 4.0).abs() < 1e-3);
    }
}
