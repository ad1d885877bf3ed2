//! `${NAME}` and `${NAME:-default}` in `routes.yaml`, replaced from the environment before the
//! text is parsed, so one route table serves every deployment (upstream URLs now, secrets
//! next). `$${` writes a literal `${`. An unset variable without a default is a problem with
//! its line, which `specgate check` prints.

/// A variable the text needs and the environment does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unset {
    /// 1-based line of the reference.
    pub line: usize,
    /// What is wrong, for `check`.
    pub message: String,
}

/// `text` with every reference replaced through `lookup`; the unset ones are all reported.
pub fn interpolate(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, Vec<Unset>> {
    let mut out = String::with_capacity(text.len());
    let mut problems = Vec::new();
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at..];
            if let Some(tail) = after.strip_prefix("$${") {
                out.push_str("${");
                rest = tail;
                continue;
            }
            let Some(body) = after.strip_prefix("${") else {
                out.push('$');
                rest = &after[1..];
                continue;
            };
            let Some(close) = body.find('}') else {
                problems.push(Unset {
                    line: n + 1,
                    message: "`${` without its closing `}`".to_owned(),
                });
                out.push_str(after);
                rest = "";
                continue;
            };
            let reference = &body[..close];
            rest = &body[close + 1..];
            match resolve(reference, &lookup) {
                Ok(value) => out.push_str(&value),
                Err(message) => problems.push(Unset {
                    line: n + 1,
                    message,
                }),
            }
        }
        out.push_str(rest);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The value of one `NAME` or `NAME:-default` reference.
fn resolve(reference: &str, lookup: &impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let (name, default) = match reference.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (reference, None),
    };
    if !is_name(name) {
        return Err(format!(
            "`${{{reference}}}` is not a variable reference (`${{NAME}}` or `${{NAME:-default}}`, NAME of letters, digits and _)"
        ));
    }
    match (lookup(name), default) {
        (Some(value), Some(default)) if value.is_empty() => Ok(default.to_owned()),
        (Some(value), _) => Ok(value),
        (None, Some(default)) => Ok(default.to_owned()),
        (None, None) => Err(format!(
            "environment variable {name} is not set (write ${{{name}:-default}} to give it a default)"
        )),
    }
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "URL" => Some("http://127.0.0.1:9".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn references_are_replaced_and_defaults_apply_when_unset_or_empty() {
        let text = "a: ${URL}/x\nb: ${NOPE:-7}\nc: ${EMPTY:-d}\nd: $${URL} and $5\n";
        assert_eq!(
            interpolate(text, env).ok().as_deref(),
            Some("a: http://127.0.0.1:9/x\nb: 7\nc: d\nd: ${URL} and $5\n")
        );
    }

    #[test]
    fn every_unset_variable_is_reported_with_its_line() {
        let problems = interpolate("a: 1\nb: ${MISSING}\nc: ${ALSO} ${bad-name}\n", env)
            .err()
            .unwrap_or_default();
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [2, 3, 3]);
        assert!(problems[0].message.contains("MISSING is not set"));
        assert!(problems[2].message.contains("not a variable reference"));
    }
}
