//! A 3×5 pixel font for the digits of track ids, as horizontal runs so a
//! label costs a few quads.

/// Rows of each digit, top to bottom; bit 2 is the left column.
const DIGITS: [[u8; 5]; 10] = [
    [0b111, 0b101, 0b101, 0b101, 0b111],
    [0b010, 0b110, 0b010, 0b010, 0b111],
    [0b111, 0b001, 0b111, 0b100, 0b111],
    [0b111, 0b001, 0b011, 0b001, 0b111],
    [0b101, 0b101, 0b111, 0b001, 0b001],
    [0b111, 0b100, 0b111, 0b001, 0b111],
    [0b111, 0b100, 0b111, 0b101, 0b111],
    [0b111, 0b001, 0b010, 0b010, 0b010],
    [0b111, 0b101, 0b111, 0b101, 0b111],
    [0b111, 0b101, 0b111, 0b001, 0b111],
];

/// Glyph width in font pixels.
pub(crate) const GLYPH_W: u32 = 3;
/// Glyph height in font pixels.
pub(crate) const GLYPH_H: u32 = 5;

/// Calls `run(col, row, len)` for each horizontal run of set pixels of
/// `digit` (0..=9), in font pixels.
pub(crate) fn runs(digit: u8, mut run: impl FnMut(u32, u32, u32)) {
    let Some(rows) = DIGITS.get(usize::from(digit)) else {
        return;
    };
    for (row, bits) in rows.iter().enumerate() {
        let mut col = 0;
        while col < GLYPH_W {
            if bits & (0b100 >> col) == 0 {
                col += 1;
                continue;
            }
            let start = col;
            while col < GLYPH_W && bits & (0b100 >> col) != 0 {
                col += 1;
            }
            run(start, row as u32, col - start);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_exactly_the_set_bits() {
        for d in 0..10u8 {
            let mut grid = [[false; 3]; 5];
            runs(d, |c, r, len| {
                for x in c..c + len {
                    assert!(!grid[r as usize][x as usize], "runs overlap");
                    grid[r as usize][x as usize] = true;
                }
            });
            for (r, bits) in DIGITS[usize::from(d)].iter().enumerate() {
                for (c, set) in grid[r].iter().enumerate() {
                    assert_eq!(*set, bits & (0b100 >> c) != 0, "digit {d}");
                }
            }
        }
    }
}
