//! MOTChallenge text files: one box per line,
//! `frame,id,x,y,w,h,conf,-1,-1,-1`, frames numbered from 1 — the format
//! standard scorers (py-motmetrics, TrackEval) read. Reading checks every
//! field and names the line of the first bad one.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::PerceptionError;
use crate::geometry::BBox;

/// One line of a MOTChallenge file.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MotRecord {
    /// Frame number, from 1.
    pub frame: u32,
    /// Track or object identity.
    pub id: u64,
    /// Box, pixels.
    pub bbox: BBox,
    /// Confidence (tracker output) or the "consider" flag (ground truth:
    /// 0 means ignore the line).
    pub conf: f32,
}

/// Write `records` in MOTChallenge format.
pub fn write_mot(path: &Path, records: &[MotRecord]) -> Result<(), PerceptionError> {
    let io = |source| PerceptionError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    write_mot_to(&mut out, records).map_err(io)?;
    out.flush().map_err(io)
}

/// Write `records` in MOTChallenge format to any writer. Coordinates are
/// written with the shortest text that reads back to the same `f32`.
pub fn write_mot_to(out: &mut impl Write, records: &[MotRecord]) -> std::io::Result<()> {
    for r in records {
        let b = &r.bbox;
        writeln!(
            out,
            "{},{},{},{},{},{},{},-1,-1,-1",
            r.frame, r.id, b.x, b.y, b.w, b.h, r.conf
        )?;
    }
    Ok(())
}

/// Read a MOTChallenge file.
pub fn read_mot(path: &Path) -> Result<Vec<MotRecord>, PerceptionError> {
    let text = std::fs::read_to_string(path).map_err(|source| PerceptionError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_mot(&text, path)
}

/// Parse MOTChallenge text; `path` only names the source in errors. Lines
/// need at least the six fields `frame,id,x,y,w,h`; a missing `conf` reads
/// as 1; further columns are ignored. Blank lines are skipped.
pub fn parse_mot(text: &str, path: &Path) -> Result<Vec<MotRecord>, PerceptionError> {
    let mut out = Vec::new();
    let mut seen: HashMap<(u32, u64), usize> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let err = |reason: String| PerceptionError::MotParse {
            path: path.to_path_buf(),
            line: line_no,
            reason,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() < 6 {
            return Err(err(format!(
                "{} fields, need at least 6 (frame,id,x,y,w,h)",
                fields.len()
            )));
        }
        let number = |i: usize, name: &str| -> Result<f64, PerceptionError> {
            let v: f64 = fields[i]
                .parse()
                .map_err(|_| err(format!("{name} {:?} is not a number", fields[i])))?;
            // Stored as f32: a value beyond f32's range would become
            // infinite, and a file written back could not be read again.
            if v.is_finite() && (v as f32).is_finite() {
                Ok(v)
            } else {
                Err(err(format!("{name} {:?} is not finite", fields[i])))
            }
        };
        let whole = |i: usize, name: &str, min: f64| -> Result<f64, PerceptionError> {
            let v = number(i, name)?;
            if v.fract() != 0.0 || v < min {
                return Err(err(format!(
                    "{name} {:?} is not a whole number ≥ {min}",
                    fields[i]
                )));
            }
            Ok(v)
        };
        let frame = whole(0, "frame", 1.0)?;
        let id = whole(1, "id", 0.0)?;
        if frame > f64::from(u32::MAX) || id > 9.0e15 {
            return Err(err("frame or id is too large".into()));
        }
        let (x, y, w, h) = (
            number(2, "x")?,
            number(3, "y")?,
            number(4, "w")?,
            number(5, "h")?,
        );
        if w < 0.0 || h < 0.0 {
            return Err(err(format!("negative size {w}x{h}")));
        }
        let conf = if fields.len() > 6 {
            number(6, "conf")?
        } else {
            1.0
        };
        let (frame, id) = (frame as u32, id as u64);
        if let Some(first) = seen.insert((frame, id), line_no) {
            return Err(err(format!(
                "frame {frame} has id {id} twice (first on line {first})"
            )));
        }
        out.push(MotRecord {
            frame,
            id,
            bbox: BBox::new(x as f32, y as f32, w as f32, h as f32),
            conf: conf as f32,
        });
    }
    Ok(out)
}

/// The ground-truth lines to score: those whose "consider" flag (the
/// `conf` column) is not 0, as in the MOTChallenge benchmarks.
pub fn considered(records: Vec<MotRecord>) -> Vec<MotRecord> {
    records.into_iter().filter(|r| r.conf != 0.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<MotRecord>, PerceptionError> {
        parse_mot(text, Path::new("t.txt"))
    }

    #[test]
    fn written_records_read_back_exactly() {
        let recs = vec![
            MotRecord {
                frame: 1,
                id: 3,
                bbox: BBox::new(10.5, 20.25, 30.125, 40.0),
                conf: 0.75,
            },
            MotRecord {
                frame: 2,
                id: 3,
                bbox: BBox::new(1.0 / 3.0, 7.1, 0.3, 99.9),
                conf: 1.0,
            },
        ];
        let mut buf = Vec::new();
        write_mot_to(&mut buf, &recs).expect("write");
        let text = String::from_utf8(buf).expect("utf8");
        assert!(
            text.starts_with("1,3,10.5,20.25,30.125,40,0.75,-1,-1,-1\n"),
            "{text}"
        );
        assert_eq!(parse(&text).expect("parse"), recs);
    }

    #[test]
    fn reads_gt_style_lines_with_visibility_and_short_lines() {
        let recs =
            parse("1, 1, 794.2, 47.5, 71.2, 174.8, 1, 1, 0.8\n\n2,1,5,5,10,10\n").expect("parse");
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].conf, 1.0);
        assert_eq!(
            considered(parse("1,1,0,0,1,1,0\n1,2,0,0,1,1,1\n").expect("parse")).len(),
            1
        );
    }

    #[test]
    fn malformed_lines_name_the_line_and_the_field() {
        for (text, needle) in [
            ("1,1,0,0,1\n", "5 fields"),
            ("1,1,0,0,1,1\n0,1,0,0,1,1\n", ":2: frame"),
            ("1,x,0,0,1,1\n", "id \"x\" is not a number"),
            ("1,1,0,0,-1,1\n", "negative size"),
            ("1,1,nan,0,1,1\n", "not finite"),
            ("1.5,1,0,0,1,1\n", "whole number"),
            ("1,1,0,0,1,1\n1,1,2,2,1,1\n", "twice (first on line 1)"),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.to_string().contains(needle), "{text:?}: {err}");
        }
    }
}
