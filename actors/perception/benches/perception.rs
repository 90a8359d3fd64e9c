//! Benchmarks of the perception hot paths (being written).
fn main() {}
