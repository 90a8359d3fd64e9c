//! The `camera` reducer: `set` any of `center` (2 or 3 numbers), `zoom`
//! (> 0), `angles` (3 numbers, degrees) and `perspective` (field of view in
//! degrees, 0..180; 0 is orthographic). Records: `(camera, VIEW, KEY)`.

use std::fmt::Display;

use serde_json::{Map, Value};

use super::Rejection;
use super::fields::{self, as_f64, numbers, object, only};
use crate::records::{TopicRecords, Write};

/// The keys a camera may have.
pub const CAMERA_KEYS: [&str; 4] = ["center", "zoom", "angles", "perspective"];

pub(super) fn reduce(_prev: &TopicRecords, delta: &Value) -> Result<Vec<Write>, Rejection> {
    let obj = object(delta, "payload")?;
    match fields::op(obj)? {
        "set" => set(obj),
        other => Err(Rejection::invalid(
            "op",
            format!("unknown op `{other}` for camera (expected set)"),
        )),
    }
}

fn set(obj: &Map<String, Value>) -> Result<Vec<Write>, Rejection> {
    only(
        obj,
        &["op", "target", "center", "zoom", "angles", "perspective"],
        "set",
    )?;
    let target = fields::target(obj, "target")?;
    let mut writes = Vec::with_capacity(4);
    for key in CAMERA_KEYS {
        if let Some(value) = obj.get(key) {
            writes.push(Write::set(target, key, normalise(key, value, key)?));
        }
    }
    if writes.is_empty() {
        return Err(Rejection::invalid(
            "op",
            "`set` needs at least one of center, zoom, angles, perspective",
        ));
    }
    Ok(writes)
}

/// Validate one camera property and return the value to store.
fn normalise(key: &str, value: &Value, field: impl Display + Copy) -> Result<Value, Rejection> {
    match key {
        "center" => Ok(fields::number_array(&numbers(value, field, &[2, 3])?)),
        "angles" => Ok(fields::number_array(&numbers(value, field, &[3])?)),
        "zoom" => {
            let zoom = as_f64(value, field)?;
            if zoom <= 0.0 {
                return Err(Rejection::invalid(field, format!("{zoom} must be > 0")));
            }
            Ok(fields::number(zoom))
        }
        "perspective" => {
            let fov = as_f64(value, field)?;
            if !(0.0..180.0).contains(&fov) {
                return Err(Rejection::invalid(
                    field,
                    format!("{fov} is outside 0..180 degrees"),
                ));
            }
            Ok(fields::number(fov))
        }
        _ => Err(Rejection::invalid(
            field,
            "unknown camera record (expected center, zoom, angles or perspective)",
        )),
    }
}

/// Check one record of a camera snapshot; returns the value to store.
pub(super) fn check_value(key: &str, value: &Value, path: &str) -> Result<Value, Rejection> {
    normalise(key, value, path)
}

/// A camera snapshot needs no cross-record checks beyond non-empty views.
pub(super) fn check_whole(targets: &Map<String, Value>) -> Result<(), Rejection> {
    match targets
        .iter()
        .find(|(_, keys)| keys.as_object().is_some_and(Map::is_empty))
    {
        Some((target, _)) => Err(Rejection::invalid(
            target.as_str(),
            "a view with no camera records",
        )),
        None => Ok(()),
    }
}
