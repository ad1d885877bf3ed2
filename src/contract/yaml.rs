//! The YAML reader's errors in plain words. The parser speaks of scalars, flow sequences and
//! tokens, and serde of structs; a person editing `routes.yaml` thinks of keys, lists and
//! indentation. The line travels separately (with the file, in a `Problem`), so the
//! parser's own "at line L column C" is left out here.

/// `message`, from the YAML parser or serde, said in words about keys, lists and
/// indentation.
pub fn plain(message: &str) -> String {
    let message = without_locations(message);
    let (path, what) = split_path(&message);
    let said = scanner(what).unwrap_or_else(|| serde_words(what));
    match path {
        Some(path) => format!("{path}: {said}"),
        None => said,
    }
}

/// The parser's scanning failures, which have nothing to do with the keys.
fn scanner(what: &str) -> Option<String> {
    let said = if what.contains("while scanning a quoted scalar") {
        "a quoted text is not closed: its closing quote is missing"
    } else if what.contains("found character that cannot start any token") {
        "a character that cannot begin a value (YAML indents with spaces, never tabs; quote a \
         value that begins with @ or `)"
    } else if what.contains("mapping values are not allowed") {
        "a `:` where none may be: quote a value that holds \": \", or fix the line's \
         indentation"
    } else if what.contains("did not find expected key") {
        "the indentation is off: each key must line up with the keys beside it, and a key \
         needs a `:` after it"
    } else if what.contains("did not find expected ',' or ']'") {
        "a list opened with [ is not closed with ]"
    } else if what.contains("did not find expected ',' or '}'") {
        "a mapping opened with { is not closed with }"
    } else if what.contains("did not find expected '-' indicator") {
        "a list item is indented differently from the items before it"
    } else if what.contains("found unexpected end of stream") {
        "the file ends in the middle of a value"
    } else if what.contains("found a tab character") {
        "a tab where YAML needs spaces: indent with spaces"
    } else if what.contains("duplicate") && what.contains("key") {
        "a key is given twice in one mapping"
    } else {
        return None;
    };
    Some(said.to_owned())
}

/// serde's words for a value of the wrong shape.
fn serde_words(what: &str) -> String {
    if let Some(field) = what
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        return format!("the key `{field}` is required here, and missing");
    }
    if let Some((found, expected)) = what
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split_once(", expected "))
    {
        return format!("{} where {} was expected", shape(found), shape(expected));
    }
    if let Some(rest) = what.strip_prefix("unknown field ") {
        // "unknown field `x`, expected one of `a`, `b`": plain enough, with the word "key".
        return format!("unknown key {rest}");
    }
    if let Some(rest) = what.strip_prefix("unknown variant ") {
        return format!("unknown value {rest}");
    }
    what.to_owned()
}

/// serde's name for a kind of value, as YAML's.
fn shape(serde: &str) -> String {
    let serde = serde.trim();
    if serde.starts_with("struct ") || serde == "map" || serde.starts_with("a map") {
        return "a mapping of keys".to_owned();
    }
    match serde {
        "sequence" | "a sequence" => return "a list".to_owned(),
        "unit value" => return "nothing (an empty value)".to_owned(),
        "a string" => return "text".to_owned(),
        _ => {}
    }
    for (prefix, name) in [
        ("integer ", "the number "),
        ("floating point ", "the number "),
        ("string ", "the text "),
        ("boolean ", "the boolean "),
    ] {
        if let Some(value) = serde.strip_prefix(prefix) {
            return format!("{name}{}", value.trim_matches('`'));
        }
    }
    serde.to_owned()
}

/// `message` without its " at line L column C" parts (and what follows a comma after one).
fn without_locations(message: &str) -> String {
    let mut out = message.to_owned();
    while let Some(at) = out.find(" at line ") {
        let rest = &out[at + " at line ".len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ' ' || c.is_ascii_alphabetic()))
            .unwrap_or(rest.len());
        let cut = &rest[..end];
        // Only "L column C" (and nothing beyond it) is the location.
        if !cut.contains("column") {
            break;
        }
        out.replace_range(at..at + " at line ".len() + end, "");
    }
    out.trim().to_owned()
}

/// "resources.things: rest" as the path and the rest; a parser message has no path.
fn split_path(message: &str) -> (Option<&str>, &str) {
    match message.split_once(": ") {
        Some((path, rest))
            if !path.is_empty()
                && path
                    .chars()
                    .all(|c| c.is_alphanumeric() || "._-[]/{}".contains(c)) =>
        {
            (Some(path), rest)
        }
        _ => (None, message),
    }
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn parser_errors_speak_of_quotes_indentation_and_tabs() {
        assert_eq!(
            plain(
                "found unexpected end of stream at line 4 column 1, while scanning a quoted \
                 scalar at line 3 column 12"
            ),
            "a quoted text is not closed: its closing quote is missing"
        );
        assert!(
            plain(
                "found character that cannot start any token at line 2 column 1, while \
                 scanning for the next token"
            )
            .contains("never tabs")
        );
        assert!(
            plain(
                "did not find expected key at line 5 column 3, while parsing a block mapping \
                 at line 2 column 1"
            )
            .starts_with("the indentation is off")
        );
    }

    #[test]
    fn serde_errors_keep_the_path_and_speak_of_keys_and_lists() {
        assert_eq!(
            plain("resources.things: missing field `representation` at line 3 column 5"),
            "resources.things: the key `representation` is required here, and missing"
        );
        assert_eq!(
            plain(
                "resources.things: invalid type: sequence, expected struct ResourceDef at line \
                 2 column 10"
            ),
            "resources.things: a list where a mapping of keys was expected"
        );
        assert_eq!(
            plain("routes: invalid type: map, expected a sequence at line 2 column 9"),
            "routes: a mapping of keys where a list was expected"
        );
        assert_eq!(
            plain("resources.things: invalid type: integer `1`, expected struct ResourceDef"),
            "resources.things: the number 1 where a mapping of keys was expected"
        );
        assert_eq!(
            plain("resources.x: unknown field `pagesize`, expected one of `table`, `key`"),
            "resources.x: unknown key `pagesize`, expected one of `table`, `key`"
        );
    }
}
