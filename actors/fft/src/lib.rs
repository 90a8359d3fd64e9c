//! FFT audio analysis: spectrum bars, peak envelopes, onsets and tempo.
