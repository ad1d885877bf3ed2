//! Finds the line of a key in `routes.yaml`, so that `specgate check` can point at it.
//!
//! serde gives positions for syntax errors and unknown keys, but the cross-reference checks
//! run on the parsed value, which has none. This walks the text by indentation instead: good
//! enough for the block and flow styles a route table uses.

/// One step of a path into the YAML document.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// A mapping key.
    Key(&'a str),
    /// The n-th item (0-based) of a sequence.
    Item(usize),
}

/// The 1-based line where `path` is written in `text`, or the nearest line found on the way.
pub fn line_of(text: &str, path: &[Step<'_>]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut at: Option<usize> = None;
    let mut parent_indent: isize = -1;
    for step in path {
        let from = at.unwrap_or(0);
        let found = match step {
            Step::Key(key) => find_key(&lines, from, at.is_some(), parent_indent, key),
            Step::Item(n) => find_item(&lines, from, parent_indent, *n),
        };
        match found {
            Some((line, indent)) => {
                at = Some(line);
                parent_indent = indent;
            }
            None => break,
        }
    }
    at.map(|line| line + 1)
}

fn indent_of(line: &str) -> isize {
    (line.len() - line.trim_start().len()) as isize
}

fn is_content(line: &str) -> bool {
    let t = line.trim_start();
    !t.is_empty() && !t.starts_with('#')
}

fn key_matches(text: &str, key: &str) -> bool {
    let text = text.trim_start_matches("- ").trim_start();
    for quote in ["", "\"", "'"] {
        if text.starts_with(&format!("{quote}{key}{quote}:")) {
            return true;
        }
    }
    false
}

fn flow_has_key(line: &str, key: &str) -> bool {
    line.find('{').is_some_and(|open| {
        line[open..]
            .split([',', '{'])
            .any(|part| key_matches(part.trim(), key))
    })
}

fn find_key(
    lines: &[&str],
    from: usize,
    inside: bool,
    parent_indent: isize,
    key: &str,
) -> Option<(usize, isize)> {
    for (i, line) in lines.iter().enumerate().skip(from) {
        if !is_content(line) {
            continue;
        }
        let indent = indent_of(line);
        let on_parent_line = inside && i == from;
        if on_parent_line {
            let after_dash = line.trim_start().strip_prefix("- ");
            if after_dash.is_some_and(|rest| key_matches(rest, key)) || flow_has_key(line, key) {
                return Some((i, indent + 1));
            }
            continue;
        }
        if indent <= parent_indent {
            return None;
        }
        if key_matches(line.trim_start(), key) {
            return Some((i, indent));
        }
    }
    None
}

fn find_item(
    lines: &[&str],
    from: usize,
    parent_indent: isize,
    n: usize,
) -> Option<(usize, isize)> {
    let mut seen = 0;
    let mut item_indent = None;
    for (i, line) in lines.iter().enumerate().skip(from + 1) {
        if !is_content(line) {
            continue;
        }
        let indent = indent_of(line);
        if indent < parent_indent
            || (indent == parent_indent && !line.trim_start().starts_with('-'))
        {
            return None;
        }
        if line.trim_start().starts_with("- ") && item_indent.is_none_or(|at| at == indent) {
            item_indent = Some(indent);
            if seen == n {
                return Some((i, indent));
            }
            seen += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "resources:\n  books:\n    table: books\n    filters:\n      isbn: [exact]\n\nroutes:\n  - path: /a/\n    resource: books\n  - path: /b/\n    resource: nope\n    methods: { GET: list }\n";

    #[test]
    fn finds_nested_keys() {
        let path = [
            Step::Key("resources"),
            Step::Key("books"),
            Step::Key("filters"),
            Step::Key("isbn"),
        ];
        assert_eq!(line_of(TEXT, &path), Some(5));
    }

    #[test]
    fn finds_sequence_items_and_their_keys() {
        assert_eq!(
            line_of(
                TEXT,
                &[Step::Key("routes"), Step::Item(0), Step::Key("path")]
            ),
            Some(8)
        );
        assert_eq!(
            line_of(
                TEXT,
                &[Step::Key("routes"), Step::Item(1), Step::Key("resource")]
            ),
            Some(11)
        );
    }

    #[test]
    fn finds_keys_in_flow_mappings() {
        let path = [
            Step::Key("routes"),
            Step::Item(1),
            Step::Key("methods"),
            Step::Key("GET"),
        ];
        assert_eq!(line_of(TEXT, &path), Some(12));
    }

    #[test]
    fn falls_back_to_the_nearest_parent() {
        let path = [
            Step::Key("resources"),
            Step::Key("books"),
            Step::Key("missing"),
        ];
        assert_eq!(line_of(TEXT, &path), Some(2));
    }
}
