//! Conditional requests (RFC 9110 §13): the `If-Match` and `If-None-Match` fields read once
//! into a [`Precondition`], and its evaluation against a row's current entity tag.
//!
//! A field that does not parse is not an error: each list element that is not an
//! entity-tag is dropped, so it matches nothing (an `If-Match` left with nothing can only
//! fail, an `If-None-Match` left with nothing never holds back the request). `*` is `*`
//! only as the field's whole value.

use std::fmt;

use http::header::{self, HeaderMap, HeaderValue};

/// An entity tag: opaque text between quotes, strong or weak (`W/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    /// `W/"…"`: the client's copy is only semantically equivalent.
    pub weak: bool,
    /// The text between the quotes.
    pub opaque: String,
}

impl EntityTag {
    /// A strong tag with this opaque text (the gateway's own tags).
    pub fn strong(opaque: String) -> EntityTag {
        EntityTag {
            weak: false,
            opaque,
        }
    }

    /// Strong comparison (If-Match): both strong and equal.
    fn strong_eq(&self, other: &EntityTag) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison (If-None-Match): equal opaque text, weak or not.
    fn weak_eq(&self, other: &EntityTag) -> bool {
        self.opaque == other.opaque
    }

    /// The tag as an `ETag` field value.
    pub fn header_value(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&self.to_string()).ok()
    }
}

impl fmt::Display for EntityTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let weak = if self.weak { "W/" } else { "" };
        write!(f, "{weak}\"{}\"", self.opaque)
    }
}

/// What an `If-Match` or `If-None-Match` field names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tags {
    /// `*`: any current representation.
    Any,
    /// These tags (maybe none, when nothing in the field parsed).
    List(Vec<EntityTag>),
}

impl Tags {
    /// Whether the field holds for the current tag (`None`: no row), comparing strongly or
    /// weakly.
    fn matches(&self, current: Option<&EntityTag>, strong: bool) -> bool {
        match (self, current) {
            (_, None) => false,
            (Tags::Any, Some(_)) => true,
            (Tags::List(tags), Some(current)) => tags.iter().any(|t| {
                if strong {
                    t.strong_eq(current)
                } else {
                    t.weak_eq(current)
                }
            }),
        }
    }
}

/// A request's preconditions, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Precondition {
    /// `If-Match`.
    pub if_match: Option<Tags>,
    /// `If-None-Match`.
    pub if_none_match: Option<Tags>,
}

/// What the preconditions decide for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Carry on as if there were none.
    Proceed,
    /// GET or HEAD: 304, the client's copy is current.
    NotModified,
    /// 412.
    Failed,
}

impl Precondition {
    /// The preconditions in `headers` (every line of each field).
    pub fn parse(headers: &HeaderMap) -> Precondition {
        Precondition {
            if_match: field(headers, header::IF_MATCH),
            if_none_match: field(headers, header::IF_NONE_MATCH),
        }
    }

    /// Whether the request has none.
    pub fn is_empty(&self) -> bool {
        self.if_match.is_none() && self.if_none_match.is_none()
    }

    /// RFC 9110 §13.2.2's order for a row whose current tag is `current` (`None`: there is
    /// no row): `If-Match` first (strong comparison; false on a missing row), then
    /// `If-None-Match` (weak comparison; a match is a 304 for a read, a 412 for a write).
    pub fn evaluate(&self, current: Option<&EntityTag>, read: bool) -> Verdict {
        if let Some(tags) = &self.if_match
            && !tags.matches(current, true)
        {
            return Verdict::Failed;
        }
        match &self.if_none_match {
            Some(tags) if tags.matches(current, false) && read => Verdict::NotModified,
            Some(tags) if tags.matches(current, false) => Verdict::Failed,
            _ => Verdict::Proceed,
        }
    }
}

/// One field's tags, its lines taken as one list; `None` when absent.
fn field(headers: &HeaderMap, name: header::HeaderName) -> Option<Tags> {
    let mut lines = headers.get_all(name).iter().peekable();
    lines.peek()?;
    let lines: Vec<&[u8]> = lines.map(HeaderValue::as_bytes).collect();
    if let [only] = lines.as_slice()
        && only.trim_ascii() == b"*"
    {
        return Some(Tags::Any);
    }
    Some(Tags::List(
        lines.into_iter().flat_map(entity_tags).collect(),
    ))
}

/// The entity-tags of one comma-separated line, malformed elements left out.
fn entity_tags(line: &[u8]) -> Vec<EntityTag> {
    line.split(|b| *b == b',')
        .fold(Elements::default(), Elements::push)
        .tags
}

/// A line's elements, gathered across commas inside quotes (an entity-tag may hold one).
#[derive(Default)]
struct Elements {
    tags: Vec<EntityTag>,
    open: Option<Vec<u8>>,
}

impl Elements {
    /// Takes the next comma-separated piece: it completes an element, or continues one
    /// whose quotes are still open.
    fn push(mut self, piece: &[u8]) -> Elements {
        let element = match self.open.take() {
            Some(mut open) => {
                open.push(b',');
                open.extend_from_slice(piece);
                open
            }
            None => piece.to_vec(),
        };
        if element.iter().filter(|b| **b == b'"').count() == 1 {
            self.open = Some(element);
        } else if let Some(tag) = entity_tag(element.trim_ascii()) {
            self.tags.push(tag);
        }
        self
    }
}

/// `"opaque"` or `W/"opaque"`, the opaque part of etagc characters (RFC 9110 §8.8.3).
fn entity_tag(text: &[u8]) -> Option<EntityTag> {
    let (weak, quoted) = match text.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let opaque = quoted.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    let etagc = |b: &u8| *b == 0x21 || (0x23..=0x7e).contains(b) || *b >= 0x80;
    opaque.iter().all(etagc).then(|| EntityTag {
        weak,
        opaque: String::from_utf8_lossy(opaque).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(fields: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in fields {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn tag(weak: bool, opaque: &str) -> EntityTag {
        EntityTag {
            weak,
            opaque: opaque.into(),
        }
    }

    #[test]
    fn fields_parse_into_tags_and_malformed_elements_match_nothing() {
        let p = Precondition::parse(&headers(&[
            ("if-match", r#""a", W/"b""#),
            ("if-match", r#"junk, "c,d" , "e"#),
        ]));
        let expected = vec![tag(false, "a"), tag(true, "b"), tag(false, "c,d")];
        assert_eq!(p.if_match, Some(Tags::List(expected)));
        assert_eq!(p.if_none_match, None);
        let any = Precondition::parse(&headers(&[("if-none-match", " * ")]));
        assert_eq!(any.if_none_match, Some(Tags::Any));
        let mixed = Precondition::parse(&headers(&[("if-match", r#"*, "a""#)]));
        assert_eq!(mixed.if_match, Some(Tags::List(vec![tag(false, "a")])));
        assert!(Precondition::parse(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn evaluation_follows_rfc_9110_order_and_comparisons() {
        let current = tag(false, "x");
        let eval = |fields: &[(&'static str, &'static str)], current, read| {
            Precondition::parse(&headers(fields)).evaluate(current, read)
        };
        assert_eq!(eval(&[], Some(&current), false), Verdict::Proceed);
        assert_eq!(
            eval(&[("if-match", r#""x""#)], Some(&current), false),
            Verdict::Proceed
        );
        assert_eq!(
            eval(&[("if-match", r#"W/"x""#)], Some(&current), false),
            Verdict::Failed
        );
        assert_eq!(
            eval(&[("if-match", r#""y""#)], Some(&current), false),
            Verdict::Failed
        );
        assert_eq!(
            eval(&[("if-match", "*")], Some(&current), false),
            Verdict::Proceed
        );
        assert_eq!(eval(&[("if-match", "*")], None, false), Verdict::Failed);
        assert_eq!(
            eval(&[("if-match", "nonsense")], Some(&current), false),
            Verdict::Failed
        );
        let inm = [("if-none-match", r#""y", W/"x""#)];
        assert_eq!(eval(&inm, Some(&current), true), Verdict::NotModified);
        assert_eq!(eval(&inm, Some(&current), false), Verdict::Failed);
        assert_eq!(eval(&inm, None, true), Verdict::Proceed);
        assert_eq!(
            eval(&[("if-none-match", "*")], None, false),
            Verdict::Proceed
        );
        assert_eq!(
            eval(&[("if-none-match", "*")], Some(&current), false),
            Verdict::Failed
        );
        let both = [("if-match", r#""y""#), ("if-none-match", r#""x""#)];
        assert_eq!(eval(&both, Some(&current), true), Verdict::Failed);
        assert_eq!(tag(true, "q").to_string(), r#"W/"q""#);
    }
}
