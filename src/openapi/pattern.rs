//! Patterns as every reader of the document reads them. A schema's `pattern` is ECMA-262,
//! but the standard tools read it with their own engines, and Python's `re`
//! (openapi-spec-validator, Schemathesis, generated clients) knows no `\p{..}` classes. Each
//! such class is written out as the ranges it stands for, which ECMA-262, Python and Rust
//! read alike: the strings a pattern matches do not change, only its spelling.

use std::fmt::Write;

use regex_syntax::hir::{Class, HirKind};
use serde_json::Value;

/// Every `pattern` in `value` (a document or a schema), made portable.
pub fn make_portable(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match item {
                    Value::String(text) if key == "pattern" => *text = portable(text),
                    _ => make_portable(item),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(make_portable),
        _ => {}
    }
}

/// `pattern` with each `\p{..}` or `\P{..}` escape replaced by its ranges (inside a class)
/// or by a class of them (outside). Anything else, and an escape that does not parse, stays
/// as written.
pub fn portable(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut in_class = false;
    let mut chars = pattern.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => {
                let expanded = property_escape(&pattern[at..])
                    .and_then(|escape| ranges(escape).map(|ranges| (escape.len(), ranges)));
                if let Some((len, ranges)) = expanded {
                    if in_class {
                        out.push_str(&ranges);
                    } else {
                        let _ = write!(out, "[{ranges}]");
                    }
                    // The escape's remaining characters are all ASCII: skip them.
                    chars.nth(len - 2);
                    continue;
                }
                out.push('\\');
                if let Some((_, next)) = chars.next() {
                    out.push(next);
                }
            }
            '[' => {
                in_class = true;
                out.push(c);
            }
            ']' => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The `\p{..}` or `\P{..}` escape at the start of `text`, if there is one.
fn property_escape(text: &str) -> Option<&str> {
    let rest = text
        .strip_prefix("\\p{")
        .or_else(|| text.strip_prefix("\\P{"))?;
    let end = rest.find('}')?;
    let name = &rest[..end];
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_=:-".contains(&b))
        .then(|| &text[..3 + end + 1])
}

/// The ranges `escape` stands for, written for the inside of a class.
fn ranges(escape: &str) -> Option<String> {
    let hir = regex_syntax::parse(&format!("[{escape}]")).ok()?;
    let HirKind::Class(Class::Unicode(class)) = hir.kind() else {
        return None;
    };
    let mut out = String::new();
    for range in class.ranges() {
        push_class_char(&mut out, range.start());
        if range.end() != range.start() {
            out.push('-');
            push_class_char(&mut out, range.end());
        }
    }
    Some(out)
}

/// One character inside a class: the few that mean something there are escaped, control
/// characters written as `\uXXXX`, everything else as itself.
fn push_class_char(out: &mut String, c: char) {
    if matches!(c, '\\' | ']' | '[' | '^' | '-') {
        out.push('\\');
        out.push(c);
    } else if c.is_control() {
        let _ = write!(out, "\\u{:04x}", u32::from(c));
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_language(original: &str) {
        let rewritten = portable(original);
        assert!(!rewritten.contains("\\p{"), "{rewritten}");
        let before = regex_syntax::parse(original).expect("original parses");
        let after = regex_syntax::parse(&rewritten).expect("rewritten parses");
        assert_eq!(before, after, "{original} → {rewritten}");
    }

    #[test]
    fn property_classes_become_the_same_ranges() {
        same_language("^[\\p{L}\\p{N}_.@+-]+$");
        same_language("^\\p{Lu}\\P{N}*$");
        same_language("^[^\\p{Zs}]+$");
        same_language("^[\\P{Cc}]{1,3}$");
    }

    #[test]
    fn everything_else_is_kept_as_written() {
        for pattern in [
            "^[a-z]+$",
            "\\\\p{L}",
            "^\\d{2}\\.\\[x\\]$",
            "\\p{NoSuchClass}",
        ] {
            assert_eq!(portable(pattern), pattern);
        }
    }

    #[test]
    fn only_pattern_keywords_are_rewritten() {
        let mut schema = serde_json::json!({
            "properties": {
                "pattern": {"type": "string", "pattern": "\\p{Nd}"},
                "other": {"description": "\\p{Nd}"}
            }
        });
        make_portable(&mut schema);
        assert_eq!(
            schema["properties"]["pattern"]["pattern"],
            portable("\\p{Nd}")
        );
        assert_eq!(schema["properties"]["other"]["description"], "\\p{Nd}");
    }
}
