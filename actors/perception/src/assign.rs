//! Optimal one-to-one assignment (the Hungarian method, `pathfinding`'s
//! Kuhn–Munkres) for the tracker's detection-to-track matching and the
//! metrics' ground-truth-to-hypothesis matching.

use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix;

/// The matching of `rows × cols` that maximises the total weight, where
/// `weight(r, c)` is `Some(w > 0)` for an allowed pair and `None` for a pair
/// that may not be matched. Returns the matched `(row, col)` pairs, sorted.
pub fn max_weight_matching(
    rows: usize,
    cols: usize,
    weight: impl Fn(usize, usize) -> Option<i64>,
) -> Vec<(usize, usize)> {
    if rows == 0 || cols == 0 {
        return Vec::new();
    }
    // Kuhn-Munkres assigns every row: put the smaller side on the rows.
    let transpose = rows > cols;
    let (n, m) = if transpose {
        (cols, rows)
    } else {
        (rows, cols)
    };
    let at = |i: usize, j: usize| {
        if transpose {
            weight(j, i)
        } else {
            weight(i, j)
        }
    };
    let mut any = false;
    let mut data = Vec::with_capacity(n * m);
    for i in 0..n {
        for j in 0..m {
            let w = at(i, j).filter(|w| *w > 0).unwrap_or(0);
            any |= w > 0;
            data.push(w);
        }
    }
    if !any {
        return Vec::new();
    }
    let Ok(matrix) = Matrix::from_vec(n, m, data) else {
        return Vec::new();
    };
    let (_, cols_of_rows) = kuhn_munkres(&matrix);
    let mut pairs: Vec<(usize, usize)> = cols_of_rows
        .into_iter()
        .enumerate()
        .filter(|&(i, j)| matrix[(i, j)] > 0)
        .map(|(i, j)| if transpose { (j, i) } else { (i, j) })
        .collect();
    pairs.sort_unstable();
    pairs
}

/// The matching of `rows × cols` with the most pairs whose overlap
/// `iou(r, c)` is at least `threshold`, and among those the largest total
/// overlap (the same optimum as minimising `1 − IoU` with forbidden pairs,
/// as the MOTChallenge scorers do).
pub fn match_by_iou(
    rows: usize,
    cols: usize,
    threshold: f64,
    iou: impl Fn(usize, usize) -> f64,
) -> Vec<(usize, usize)> {
    const SCALE: f64 = 1_000_000.0;
    // A pair's weight is BIG + its overlap: any extra pair outweighs every
    // possible gain in overlap, so cardinality comes first.
    let big = (rows.min(cols) as i64 + 1) * SCALE as i64;
    max_weight_matching(rows, cols, |r, c| {
        let v = iou(r, c);
        (v.is_finite() && v >= threshold).then(|| big + (v * SCALE).round() as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_assignment_with_the_largest_total() {
        let w = [[100, 110, 90], [95, 130, 75], [95, 140, 65]];
        let pairs = max_weight_matching(3, 3, |r, c| Some(w[r][c]));
        assert_eq!(pairs, vec![(0, 2), (1, 0), (2, 1)]);
    }

    #[test]
    fn handles_more_rows_than_columns_and_forbidden_pairs() {
        let w = [[Some(5), None], [Some(9), None], [None, Some(1)]];
        assert_eq!(
            max_weight_matching(3, 2, |r, c| w[r][c]),
            vec![(1, 0), (2, 1)]
        );
        assert!(max_weight_matching(0, 4, |_, _| Some(1)).is_empty());
        assert!(max_weight_matching(2, 2, |_, _| None).is_empty());
    }

    #[test]
    fn iou_matching_prefers_more_pairs_over_more_overlap() {
        // The largest total overlap (0.99 + 0.99) matches two pairs; three
        // pairs of 0.5 are possible and come first.
        let iou = [[0.99, 0.5, 0.0], [0.0, 0.99, 0.5], [0.5, 0.0, 0.0]];
        assert_eq!(
            match_by_iou(3, 3, 0.5, |r, c| iou[r][c]),
            vec![(0, 1), (1, 2), (2, 0)]
        );
        assert!(match_by_iou(1, 1, 0.5, |_, _| 0.49).is_empty());
    }
}
