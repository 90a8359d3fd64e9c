//! Hostile configs: the embedded default and drill configs, mutated at
//! random — a key renamed (unknown), removed, or given a value of another
//! type, an extreme number, a strange string — and loaded with every actor
//! kind registered. Loading never panics; every rejection names a key (a
//! dotted path, or `config` with the line and column of a syntax error);
//! an unknown or mistyped key is named itself.
#![allow(clippy::unwrap_used)]

#[path = "support/kernel.rs"]
mod support;

use proptest::prelude::*;
use toml::Value;
use warden_kernel::KernelConfig;

const DEFAULT: &str = include_str!("../src/default.toml");
const DRILL: &str = include_str!("../src/drill.toml");

/// Every leaf's dotted path in `value`.
fn leaves(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        Value::Table(table) => {
            for (key, child) in table {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                leaves(child, &path, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

/// The table holding `path`'s last key, and that key.
fn parent<'a>(root: &'a mut Value, path: &str) -> (&'a mut toml::Table, String) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap().to_string();
    let mut at = root;
    for part in parts {
        at = at.as_table_mut().unwrap().get_mut(part).unwrap();
    }
    (at.as_table_mut().unwrap(), last)
}

#[derive(Clone, Debug)]
enum Mutation {
    /// The key gets a suffix: now unknown.
    Rename(String),
    /// The key goes (its default applies, or it was required).
    Remove,
    /// A value of another type.
    Retype(u8),
    /// A number at an edge.
    Extreme(i64),
    /// A string no one expects.
    Text(String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        "[a-z_]{1,8}".prop_map(Mutation::Rename),
        Just(Mutation::Remove),
        (0u8..5).prop_map(Mutation::Retype),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(i64::MAX),
            Just(i64::MIN),
            Just(1 << 40)
        ]
        .prop_map(Mutation::Extreme),
        "\\PC{0,12}".prop_map(Mutation::Text),
    ]
}

fn retyped(original: &Value, kind: u8) -> Value {
    let options = [
        Value::String("7".into()),
        Value::Integer(7),
        Value::Float(f64::NAN),
        Value::Boolean(true),
        Value::Array(vec![Value::Integer(1)]),
    ];
    let pick = &options[kind as usize % options.len()];
    if std::mem::discriminant(pick) == std::mem::discriminant(original) {
        options[(kind as usize + 1) % options.len()].clone()
    } else {
        pick.clone()
    }
}

/// Apply `mutation` at leaf `index` of `text`; the mutated text and the
/// key that must be named if it is refused (for renames and retypes).
fn mutate(text: &str, index: usize, mutation: &Mutation) -> (String, String, Option<String>) {
    let mut root: Value = toml::from_str(text).unwrap();
    let mut all = Vec::new();
    leaves(&root, "", &mut all);
    let path = all[index % all.len()].clone();
    let (table, key) = parent(&mut root, &path);
    let must_name = match mutation {
        Mutation::Rename(suffix) => {
            let value = table.remove(&key).unwrap();
            let renamed = format!("{key}{suffix}");
            if table.contains_key(&renamed) {
                return (text.to_string(), path, None);
            }
            table.insert(renamed.clone(), value);
            Some(renamed)
        }
        Mutation::Remove => {
            table.remove(&key);
            None
        }
        Mutation::Retype(kind) => {
            let value = retyped(&table[&key], *kind);
            table.insert(key.clone(), value);
            Some(key)
        }
        Mutation::Extreme(n) => {
            table.insert(key, Value::Integer(*n));
            None
        }
        Mutation::Text(s) => {
            table.insert(key, Value::String(s.clone()));
            None
        }
    };
    (toml::to_string(&root).unwrap(), path, must_name)
}

fn check(text: &str, index: usize, mutation: &Mutation) -> Result<(), TestCaseError> {
    let (mutated, path, must_name) = mutate(text, index, mutation);
    let registry = support::full_registry();
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        KernelConfig::from_toml(&mutated, &registry)
    }));
    let Ok(result) = loaded else {
        return Err(TestCaseError::fail(format!(
            "loading panicked: {mutation:?} at {path}\n{mutated}"
        )));
    };
    let Err(err) = result else {
        return Ok(());
    };
    let said = err.to_string();
    prop_assert!(
        !err.message.trim().is_empty(),
        "an empty message for {mutation:?} at {path}"
    );
    prop_assert!(
        err.key == "config" && said.contains("line ")
            || err.key.split('.').all(|part| !part.is_empty()),
        "the key is not a dotted path: {said} ({mutation:?} at {path})"
    );
    if let Some(name) = must_name {
        prop_assert!(
            said.contains(&name),
            "{mutation:?} at {path}: the error does not name {name:?}: {said}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn a_mutated_default_config_is_loaded_or_refused_by_name(index in 0usize..1000, m in mutation()) {
        check(DEFAULT, index, &m)?;
    }

    #[test]
    fn a_mutated_drill_config_is_loaded_or_refused_by_name(index in 0usize..1000, m in mutation()) {
        check(DRILL, index, &m)?;
    }
}
