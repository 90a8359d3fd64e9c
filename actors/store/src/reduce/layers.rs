//! The `layers` reducer: add, remove, reorder, and set `visible`, `opacity`
//! (0..=1) and `name`. Records: `(layers, ID, name|visible|opacity)` per
//! layer and `(layers, *, order)`, the ids bottom to top.

use std::collections::HashSet;

use std::fmt::Display;

use serde_json::{Map, Value};

use super::Rejection;
use super::fields::{self, At, as_bool, as_f64, as_str, object, only, required};
use crate::records::{TopicRecords, Write};

/// The target of the scope-wide order record.
pub const ORDER_TARGET: &str = "*";
/// The key of the scope-wide order record.
pub const ORDER_KEY: &str = "order";
/// The keys every layer has.
pub const LAYER_KEYS: [&str; 3] = ["name", "visible", "opacity"];
/// The most layers a scene may hold.
pub(crate) const MAX_LAYERS: usize = 1024;
/// The longest layer name accepted, in bytes.
const MAX_NAME_LEN: usize = 256;

pub(super) fn reduce(prev: &TopicRecords, delta: &Value) -> Result<Vec<Write>, Rejection> {
    let obj = object(delta, "payload")?;
    match fields::op(obj)? {
        "add" => add(prev, obj),
        "remove" => remove(prev, obj),
        "reorder" => reorder(prev, obj),
        "set" => set(prev, obj),
        other => Err(Rejection::invalid(
            "op",
            format!("unknown op `{other}` for layers (expected add, remove, reorder or set)"),
        )),
    }
}

/// The current order, bottom to top.
fn order(prev: &TopicRecords) -> Result<Vec<&str>, Rejection> {
    let Some(value) = prev.value(ORDER_TARGET, ORDER_KEY) else {
        return Ok(Vec::new());
    };
    let corrupt = || Rejection::invalid("*.order", "the stored order is not an array of ids");
    value
        .as_array()
        .ok_or_else(corrupt)?
        .iter()
        .map(|v| v.as_str().ok_or_else(corrupt))
        .collect()
}

fn order_write(ids: &[&str]) -> Write {
    let ids = ids.iter().map(|id| Value::from(*id)).collect();
    Write::set(ORDER_TARGET, ORDER_KEY, Value::Array(ids))
}

fn existing<'a>(prev: &TopicRecords, obj: &'a Map<String, Value>) -> Result<&'a str, Rejection> {
    let id = fields::target(obj, "id")?;
    if prev.target(id).is_none() {
        return Err(Rejection::invalid("id", format!("no layer {id:?}")));
    }
    Ok(id)
}

fn name(value: &Value, field: impl Display + Copy) -> Result<Value, Rejection> {
    let name = as_str(value, field)?;
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(Rejection::invalid(
            field,
            format!("must be 1..={MAX_NAME_LEN} bytes"),
        ));
    }
    Ok(Value::from(name))
}

fn opacity(value: &Value, field: impl Display + Copy) -> Result<Value, Rejection> {
    let x = as_f64(value, field)?;
    if !(0.0..=1.0).contains(&x) {
        return Err(Rejection::invalid(field, format!("{x} is outside 0..=1")));
    }
    Ok(fields::number(x))
}

fn add(prev: &TopicRecords, obj: &Map<String, Value>) -> Result<Vec<Write>, Rejection> {
    only(
        obj,
        &["op", "id", "name", "visible", "opacity", "index"],
        "add",
    )?;
    let id = fields::target(obj, "id")?;
    if prev.target(id).is_some() {
        return Err(Rejection::invalid(
            "id",
            format!("layer {id:?} already exists"),
        ));
    }
    let mut ids = order(prev)?;
    if ids.len() >= MAX_LAYERS {
        return Err(Rejection::invalid(
            "id",
            format!("the scene already holds {MAX_LAYERS} layers"),
        ));
    }
    let index = match obj.get("index") {
        Some(v) => {
            let i = fields::as_u64(v, "index")?;
            usize::try_from(i)
                .ok()
                .filter(|i| *i <= ids.len())
                .ok_or_else(|| {
                    Rejection::invalid("index", format!("{i} is past the top ({})", ids.len()))
                })?
        }
        None => ids.len(),
    };
    let name = name(obj.get("name").unwrap_or(&Value::from(id)), "name")?;
    let visible = obj
        .get("visible")
        .map(|v| as_bool(v, "visible"))
        .transpose()?
        .unwrap_or(true);
    let opacity = obj
        .get("opacity")
        .map(|v| opacity(v, "opacity"))
        .transpose()?
        .unwrap_or(fields::number(1.0));
    ids.insert(index, id);
    Ok(vec![
        Write::set(id, "name", name),
        Write::set(id, "visible", Value::Bool(visible)),
        Write::set(id, "opacity", opacity),
        order_write(&ids),
    ])
}

fn remove(prev: &TopicRecords, obj: &Map<String, Value>) -> Result<Vec<Write>, Rejection> {
    only(obj, &["op", "id"], "remove")?;
    let id = existing(prev, obj)?;
    let mut ids = order(prev)?;
    ids.retain(|x| *x != id);
    let mut writes: Vec<Write> = prev
        .target(id)
        .into_iter()
        .flat_map(|keys| keys.keys())
        .map(|key| Write::delete(id, key.as_str()))
        .collect();
    writes.push(order_write(&ids));
    Ok(writes)
}

fn reorder(prev: &TopicRecords, obj: &Map<String, Value>) -> Result<Vec<Write>, Rejection> {
    only(obj, &["op", "order"], "reorder")?;
    let value = required(obj, "order")?;
    let items = value.as_array().ok_or_else(|| {
        Rejection::invalid(
            "order",
            format!("expected an array, got {}", fields::kind(value)),
        )
    })?;
    let current = order(prev)?;
    let known: HashSet<&str> = current.iter().copied().collect();
    let mut seen = HashSet::with_capacity(items.len());
    let mut ids = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = At("order", i);
        let id = as_str(item, field)?;
        if !known.contains(id) {
            return Err(Rejection::invalid(
                field.to_string(),
                format!("no layer {id:?}"),
            ));
        }
        if !seen.insert(id) {
            return Err(Rejection::invalid(
                field.to_string(),
                format!("{id:?} appears twice"),
            ));
        }
        ids.push(id);
    }
    if let Some(missing) = current.iter().find(|id| !seen.contains(*id)) {
        return Err(Rejection::invalid(
            "order",
            format!("missing layer {missing:?}"),
        ));
    }
    Ok(vec![order_write(&ids)])
}

fn set(prev: &TopicRecords, obj: &Map<String, Value>) -> Result<Vec<Write>, Rejection> {
    only(obj, &["op", "id", "name", "visible", "opacity"], "set")?;
    let id = existing(prev, obj)?;
    let mut writes = Vec::with_capacity(3);
    if let Some(v) = obj.get("name") {
        writes.push(Write::set(id, "name", name(v, "name")?));
    }
    if let Some(v) = obj.get("visible") {
        writes.push(Write::set(
            id,
            "visible",
            Value::Bool(as_bool(v, "visible")?),
        ));
    }
    if let Some(v) = obj.get("opacity") {
        writes.push(Write::set(id, "opacity", opacity(v, "opacity")?));
    }
    if writes.is_empty() {
        return Err(Rejection::invalid(
            "op",
            "`set` needs at least one of name, visible, opacity",
        ));
    }
    Ok(writes)
}

/// Check one record of a layers snapshot; returns the value to store.
pub(super) fn check_value(
    target: &str,
    key: &str,
    value: &Value,
    path: &str,
) -> Result<Value, Rejection> {
    match (target == ORDER_TARGET, key) {
        (true, ORDER_KEY) => {
            let items = value.as_array().ok_or_else(|| {
                Rejection::invalid(
                    path,
                    format!("expected an array, got {}", fields::kind(value)),
                )
            })?;
            for (i, item) in items.iter().enumerate() {
                fields::target_name(as_str(item, At(path, i))?, At(path, i))?;
            }
            Ok(value.clone())
        }
        (false, "name") => name(value, path),
        (false, "visible") => as_bool(value, path).map(Value::Bool),
        (false, "opacity") => opacity(value, path),
        _ => Err(Rejection::invalid(path, "unknown layers record")),
    }
}

/// Check that a layers snapshot is whole: the order names every layer once,
/// and every layer has all its keys.
pub(super) fn check_whole(targets: &Map<String, Value>) -> Result<(), Rejection> {
    let ids: Vec<&str> = match targets.get(ORDER_TARGET).and_then(|t| t.get(ORDER_KEY)) {
        Some(order) => order
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect(),
        None if targets.is_empty() => return Ok(()),
        None => return Err(Rejection::invalid("*.order", "missing")),
    };
    if ids.len() > MAX_LAYERS {
        return Err(Rejection::invalid(
            "*.order",
            format!("more than {MAX_LAYERS} layers"),
        ));
    }
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        if !seen.insert(*id) {
            return Err(Rejection::invalid(
                format!("*.order[{i}]"),
                format!("{id:?} appears twice"),
            ));
        }
        let keys = targets.get(*id).and_then(Value::as_object).ok_or_else(|| {
            Rejection::invalid(
                format!("*.order[{i}]"),
                format!("no records for layer {id:?}"),
            )
        })?;
        if let Some(key) = LAYER_KEYS.iter().find(|k| !keys.contains_key(**k)) {
            return Err(Rejection::invalid(format!("{id}.{key}"), "missing"));
        }
    }
    match targets
        .keys()
        .find(|t| t.as_str() != ORDER_TARGET && !seen.contains(t.as_str()))
    {
        Some(stray) => Err(Rejection::invalid(
            stray.as_str(),
            "a layer that is not in *.order",
        )),
        None => Ok(()),
    }
}
