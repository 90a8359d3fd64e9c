//! Reading the fields of a JSON delta, with rejections that name the field.
//! A field's path (`range[2]`, `main.zoom`) is a small `Display` value that
//! is only formatted when a rejection needs it: the accepting path never
//! allocates for names.

use std::fmt::{self, Display};

use serde_json::{Map, Value};

use super::Rejection;

/// The longest target (layer id, view name) accepted.
pub(crate) const MAX_ID_LEN: usize = 128;

/// `field[index]`, formatted only on demand.
#[derive(Clone, Copy)]
pub(crate) struct At<F>(pub(crate) F, pub(crate) usize);

impl<F: Display> Display for At<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.0, self.1)
    }
}

/// `target.key`, formatted only on demand.
#[derive(Clone, Copy)]
pub(crate) struct Dot<'a>(pub(crate) &'a str, pub(crate) &'a str);

impl Display for Dot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// Describe a JSON value's type for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `value` as an object, or a rejection naming `field`.
pub(crate) fn object(
    value: &Value,
    field: impl Display + Copy,
) -> Result<&Map<String, Value>, Rejection> {
    value.as_object().ok_or_else(|| {
        Rejection::invalid(field, format!("expected an object, got {}", kind(value)))
    })
}

/// The delta's `op`.
pub(crate) fn op(obj: &Map<String, Value>) -> Result<&str, Rejection> {
    match obj.get("op") {
        Some(Value::String(op)) => Ok(op),
        Some(other) => Err(Rejection::invalid(
            "op",
            format!("expected a string, got {}", kind(other)),
        )),
        None => Err(Rejection::invalid("op", "missing")),
    }
}

/// Reject any field of `obj` not in `allowed`.
pub(crate) fn only(obj: &Map<String, Value>, allowed: &[&str], op: &str) -> Result<(), Rejection> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(Rejection::invalid(
            unknown.as_str(),
            format!(
                "unknown field for op `{op}` (expected one of: {})",
                allowed.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// A required field.
pub(crate) fn required<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a Value, Rejection> {
    obj.get(name)
        .ok_or_else(|| Rejection::invalid(name, "missing"))
}

/// `value` as a string.
pub(crate) fn as_str(value: &Value, field: impl Display) -> Result<&str, Rejection> {
    value.as_str().ok_or_else(|| {
        Rejection::invalid(
            field.to_string(),
            format!("expected a string, got {}", kind(value)),
        )
    })
}

/// `value` as a boolean.
pub(crate) fn as_bool(value: &Value, field: impl Display + Copy) -> Result<bool, Rejection> {
    value.as_bool().ok_or_else(|| {
        Rejection::invalid(field, format!("expected a boolean, got {}", kind(value)))
    })
}

/// `value` as a finite number.
pub(crate) fn as_f64(value: &Value, field: impl Display + Copy) -> Result<f64, Rejection> {
    match value.as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        Some(x) => Err(Rejection::invalid(field, format!("{x} is not finite"))),
        None => Err(Rejection::invalid(
            field,
            format!("expected a number, got {}", kind(value)),
        )),
    }
}

/// `value` as a non-negative integer.
pub(crate) fn as_u64(value: &Value, field: impl Display + Copy) -> Result<u64, Rejection> {
    value.as_u64().ok_or_else(|| {
        Rejection::invalid(
            field,
            format!("expected a non-negative integer, got {value}"),
        )
    })
}

/// `value` as an array of exactly `len` finite numbers (any of `lens`).
pub(crate) fn numbers(
    value: &Value,
    field: impl Display + Copy,
    lens: &[usize],
) -> Result<Vec<f64>, Rejection> {
    let items = value.as_array().ok_or_else(|| {
        Rejection::invalid(field, format!("expected an array, got {}", kind(value)))
    })?;
    if !lens.contains(&items.len()) {
        let want: Vec<String> = lens.iter().map(ToString::to_string).collect();
        return Err(Rejection::invalid(
            field,
            format!(
                "expected {} numbers, got {}",
                want.join(" or "),
                items.len()
            ),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| as_f64(v, At(field, i)))
        .collect()
}

/// A valid target name: 1..=128 bytes of `[A-Za-z0-9._:-]`.
pub(crate) fn target_name(name: &str, field: impl Display + Copy) -> Result<&str, Rejection> {
    if name.is_empty() {
        return Err(Rejection::invalid(field, "must not be empty"));
    }
    if name.len() > MAX_ID_LEN {
        return Err(Rejection::invalid(
            field,
            format!("longer than {MAX_ID_LEN} bytes"),
        ));
    }
    if name == "*" {
        return Ok(name);
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
    {
        Some(bad) => Err(Rejection::invalid(
            field,
            format!("{name:?} contains {bad:?}; use letters, digits, '.', '_', ':' or '-'"),
        )),
        None => Ok(name),
    }
}

/// The delta's `target` field: a view or layer name other than `*`.
pub(crate) fn target<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, Rejection> {
    let value = as_str(required(obj, name)?, name)?;
    if value == "*" {
        return Err(Rejection::invalid(name, "`*` is reserved"));
    }
    target_name(value, name)
}

/// A number as the JSON value the store keeps (floats are normalised, so
/// `1` and `1.0` are stored alike and replay compares equal).
pub(crate) fn number(x: f64) -> Value {
    Value::from(x)
}

/// An array of numbers as a JSON value.
pub(crate) fn number_array(xs: &[f64]) -> Value {
    Value::Array(xs.iter().copied().map(number).collect())
}
