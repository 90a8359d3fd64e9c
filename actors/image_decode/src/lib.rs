//! Image decode, prescale and a byte-budgeted cache, safe on hostile input.
