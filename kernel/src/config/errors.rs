//! Config errors that name the dotted key: from toml's byte spans for the
//! kernel's own tables, and from an actor's own deserializer messages.

use super::ConfigError;

/// A TOML error as a `ConfigError` naming the dotted key: toml reports the
/// byte span of the offending key or value; the key is the text before `=`
/// on that line and its table the last `[header]` above it. Syntax errors
/// without a key keep the whole report under `config`.
pub(super) fn toml_error(text: &str, err: &toml::de::Error) -> ConfigError {
    let Some(span) = err.span() else {
        let report = err.to_string();
        let one_line: Vec<&str> = report.lines().map(str::trim).collect();
        return ConfigError::new("config", one_line.join(" "));
    };
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_no = text[..start].matches('\n').count() + 1;
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[line_start..line_end];
    let column = text[line_start..start].chars().count() + 1;
    let fallback = || {
        ConfigError::new(
            "config",
            format!(
                "{} (line {line_no}, column {column})",
                err.message().trim_end()
            ),
        )
    };
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && !l.starts_with("[["))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    if let Some(header) = line
        .trim()
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
    {
        // The error is about a table itself (`[kernal]`).
        let header = header.trim_matches(|c| c == '[' || c == ']').trim();
        return ConfigError::new(
            header,
            format!("{} (line {line_no})", err.message().trim_end()),
        );
    }
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"'));
    let dotted = match (table, key) {
        (Some(table), Some(key)) if !key.is_empty() => format!("{table}.{key}"),
        (Some(table), _) => table,
        (None, Some(key)) if !key.is_empty() => key.to_owned(),
        _ => return fallback(),
    };
    ConfigError::new(
        dotted,
        format!("{} (line {line_no})", err.message().trim_end()),
    )
}

/// An error from an actor's own config keys, named by its dotted key:
/// toml reports a bad value as "…\nin `key`" and an unknown key as
/// "unknown field `key`, …".
pub(super) fn actor_key_error(prefix: &str, message: &str) -> ConfigError {
    let between_ticks = |text: &str| {
        let rest = text.split_once('`')?.1;
        Some(rest.split_once('`')?.0.to_owned())
    };
    if let Some((what, place)) = message.rsplit_once("\nin ")
        && let Some(key) = between_ticks(place)
    {
        return ConfigError::new(format!("{prefix}.{key}"), what.trim_end());
    }
    if let Some(rest) = message.strip_prefix("unknown field ")
        && let Some(key) = between_ticks(rest)
    {
        return ConfigError::new(format!("{prefix}.{key}"), message);
    }
    ConfigError::new(prefix, message)
}
