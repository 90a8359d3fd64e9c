//! The `dims` reducer: `ndim`, per-axis ranges `[start, stop, step]`, and
//! `current_step`, always within its axis' range. Records per view:
//! `(dims, VIEW, ndim|range|current_step)`.

use std::fmt::Display;

use serde_json::{Map, Value};

use super::Rejection;
use super::fields::{self, At, Dot, as_u64, numbers, object, only, required};
use crate::records::{TopicRecords, Write};

/// The most axes a view may have.
pub const MAX_NDIM: u64 = 32;
/// The range new axes get: `[0, 1, 1]`, two steps.
pub const DEFAULT_RANGE: [f64; 3] = [0.0, 1.0, 1.0];
/// The most steps an axis may have.
const MAX_STEPS: u64 = 1 << 32;

/// How many steps the range `[start, stop, step]` has (`stop` included):
/// `floor((stop - start) / step) + 1`.
pub fn steps(range: [f64; 3]) -> u64 {
    let [start, stop, step] = range;
    // The small epsilon keeps `[0, 1, 0.1]` at 11 steps despite rounding.
    ((stop - start) / step + 1e-9).floor() as u64 + 1
}

pub(super) fn reduce(prev: &TopicRecords, delta: &Value) -> Result<Vec<Write>, Rejection> {
    let obj = object(delta, "payload")?;
    match fields::op(obj)? {
        "ndim" => ndim(prev, obj),
        "range" => range(prev, obj),
        "current_step" => current_step(prev, obj),
        other => Err(Rejection::invalid(
            "op",
            format!("unknown op `{other}` for dims (expected ndim, range or current_step)"),
        )),
    }
}

/// A view's dims as stored.
struct View {
    ranges: Vec<[f64; 3]>,
    steps: Vec<u64>,
}

fn view(prev: &TopicRecords, target: &str) -> Result<Option<View>, Rejection> {
    let Some(keys) = prev.target(target) else {
        return Ok(None);
    };
    let stored = |key: &'static str| {
        keys.get(key)
            .map(|r| &r.confirmed_value)
            .ok_or_else(|| Rejection::invalid(Dot(target, key), "missing"))
    };
    let ranges = parse_ranges(stored("range")?, Dot(target, "range"))?;
    let steps = parse_steps(stored("current_step")?, Dot(target, "current_step"))?;
    Ok(Some(View { ranges, steps }))
}

fn existing(prev: &TopicRecords, obj: &Map<String, Value>) -> Result<(String, View), Rejection> {
    let target = fields::target(obj, "target")?;
    match view(prev, target)? {
        Some(view) => Ok((target.to_owned(), view)),
        None => Err(Rejection::invalid(
            "target",
            format!("no dims for view {target:?}; send `ndim` first"),
        )),
    }
}

fn axis(obj: &Map<String, Value>, view: &View) -> Result<usize, Rejection> {
    let axis = as_u64(required(obj, "axis")?, "axis")?;
    usize::try_from(axis)
        .ok()
        .filter(|a| *a < view.ranges.len())
        .ok_or_else(|| {
            Rejection::invalid(
                "axis",
                format!("{axis} is not below ndim {}", view.ranges.len()),
            )
        })
}

fn ranges_value(ranges: &[[f64; 3]]) -> Value {
    Value::Array(ranges.iter().map(|r| fields::number_array(r)).collect())
}

fn steps_value(steps: &[u64]) -> Value {
    Value::Array(steps.iter().map(|s| Value::from(*s)).collect())
}

fn ndim(prev: &TopicRecords, obj: &Map<String, Value>) -> Result<Vec<Write>, Rejection> {
    only(obj, &["op", "target", "ndim"], "ndim")?;
    let target = fields::target(obj, "target")?;
    let n = check_ndim(required(obj, "ndim")?, "ndim")?;
    let mut view = view(prev, target)?.unwrap_or(View {
        ranges: Vec::new(),
        steps: Vec::new(),
    });
    view.ranges.resize(n, DEFAULT_RANGE);
    view.steps.resize(n, 0);
    Ok(vec![
        Write::set(target, "ndim", Value::from(n)),
        Write::set(target, "range", ranges_value(&view.ranges)),
        Write::set(target, "current_step", steps_value(&view.steps)),
    ])
}

fn range(prev: &TopicRecords, obj: &Map<String, Value>) -> Result<Vec<Write>, Rejection> {
    only(obj, &["op", "target", "axis", "range"], "range")?;
    let (target, mut view) = existing(prev, obj)?;
    let axis = axis(obj, &view)?;
    let range = check_range(required(obj, "range")?, "range")?;
    view.ranges[axis] = range;
    let mut writes = vec![Write::set(
        target.as_str(),
        "range",
        ranges_value(&view.ranges),
    )];
    // The current step stays within the range: a shrinking range pulls it in,
    // and the audit log shows that change as its own record.
    let last = steps(range) - 1;
    if view.steps[axis] > last {
        view.steps[axis] = last;
        writes.push(Write::set(target, "current_step", steps_value(&view.steps)));
    }
    Ok(writes)
}

fn current_step(prev: &TopicRecords, obj: &Map<String, Value>) -> Result<Vec<Write>, Rejection> {
    only(obj, &["op", "target", "axis", "value"], "current_step")?;
    let (target, mut view) = existing(prev, obj)?;
    let axis = axis(obj, &view)?;
    let value = as_u64(required(obj, "value")?, "value")?;
    let n = steps(view.ranges[axis]);
    if value >= n {
        return Err(Rejection::invalid(
            "value",
            format!("step {value} is outside axis {axis}'s 0..{n}"),
        ));
    }
    view.steps[axis] = value;
    Ok(vec![Write::set(
        target,
        "current_step",
        steps_value(&view.steps),
    )])
}

fn check_ndim(value: &Value, field: impl Display + Copy) -> Result<usize, Rejection> {
    let n = as_u64(value, field)?;
    if !(1..=MAX_NDIM).contains(&n) {
        return Err(Rejection::invalid(
            field,
            format!("{n} is outside 1..={MAX_NDIM}"),
        ));
    }
    usize::try_from(n).map_err(|_| Rejection::invalid(field, "too large"))
}

fn check_range(value: &Value, field: impl Display + Copy) -> Result<[f64; 3], Rejection> {
    let xs = numbers(value, field, &[3])?;
    let range = [xs[0], xs[1], xs[2]];
    let [start, stop, step] = range;
    if step <= 0.0 {
        return Err(Rejection::invalid(
            format!("{field}[2]"),
            format!("step {step} must be > 0"),
        ));
    }
    if stop < start {
        return Err(Rejection::invalid(
            format!("{field}[1]"),
            format!("stop {stop} is below start {start}"),
        ));
    }
    if (stop - start) / step >= MAX_STEPS as f64 {
        return Err(Rejection::invalid(
            field,
            format!("more than {MAX_STEPS} steps"),
        ));
    }
    Ok(range)
}

fn parse_ranges(value: &Value, field: impl Display + Copy) -> Result<Vec<[f64; 3]>, Rejection> {
    let items = value.as_array().ok_or_else(|| {
        Rejection::invalid(
            field,
            format!("expected an array, got {}", fields::kind(value)),
        )
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, r)| check_range(r, At(field, i)))
        .collect()
}

fn parse_steps(value: &Value, field: impl Display + Copy) -> Result<Vec<u64>, Rejection> {
    let items = value.as_array().ok_or_else(|| {
        Rejection::invalid(
            field,
            format!("expected an array, got {}", fields::kind(value)),
        )
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, s)| as_u64(s, At(field, i)))
        .collect()
}

/// Check one record of a dims snapshot; returns the value to store.
pub(super) fn check_value(key: &str, value: &Value, path: &str) -> Result<Value, Rejection> {
    match key {
        "ndim" => check_ndim(value, path).map(Value::from),
        "range" => parse_ranges(value, path).map(|r| ranges_value(&r)),
        "current_step" => parse_steps(value, path).map(|s| steps_value(&s)),
        _ => Err(Rejection::invalid(
            path,
            "unknown dims record (expected ndim, range or current_step)",
        )),
    }
}

/// Check that every view of a dims snapshot is whole and consistent.
pub(super) fn check_whole(targets: &Map<String, Value>) -> Result<(), Rejection> {
    for (target, keys) in targets {
        let get = |key: &str| {
            keys.get(key)
                .ok_or_else(|| Rejection::invalid(format!("{target}.{key}"), "missing"))
        };
        let n = check_ndim(get("ndim")?, Dot(target, "ndim"))?;
        let ranges = parse_ranges(get("range")?, Dot(target, "range"))?;
        let steps_now = parse_steps(get("current_step")?, Dot(target, "current_step"))?;
        if ranges.len() != n || steps_now.len() != n {
            return Err(Rejection::invalid(
                format!("{target}.ndim"),
                format!(
                    "ndim {n}, but {} ranges and {} steps",
                    ranges.len(),
                    steps_now.len()
                ),
            ));
        }
        for (axis, (range, step)) in ranges.iter().zip(&steps_now).enumerate() {
            if *step >= steps(*range) {
                return Err(Rejection::invalid(
                    format!("{target}.current_step[{axis}]"),
                    format!("step {step} is outside 0..{}", steps(*range)),
                ));
            }
        }
    }
    Ok(())
}
