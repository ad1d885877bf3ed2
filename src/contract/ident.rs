//! Quoted SQL identifiers as a type only the contract compiler can make.
//!
//! Every table, column and alias that reaches SQL text is an [`Ident`]: it can only be
//! built inside `contract`, from a name written in the contract, so the SQL builder cannot be
//! handed text a client sent.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A quoted SQL identifier (`"users_user"`), from the contract. Cloning is cheap (shared
/// text), since plans copy the columns they name on every request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident {
    quoted: Arc<str>,
}

/// Quotes `raw` for SQL, doubling any `"` inside, so that whatever it holds stays one
/// identifier. The compiler checks names it reads from the contract (`is_identifier`)
/// before it quotes them.
pub(super) fn quote(raw: &str) -> Ident {
    Ident {
        quoted: format!("\"{}\"", raw.replace('"', "\"\"")).into(),
    }
}

impl Ident {
    /// The quoted text, as it goes into SQL.
    pub fn as_str(&self) -> &str {
        &self.quoted
    }

    /// The name as written in the contract (for catalogue look-ups and messages).
    pub fn name(&self) -> Cow<'_, str> {
        let inner = &self.quoted[1..self.quoted.len() - 1];
        if inner.contains('"') {
            Cow::Owned(inner.replace("\"\"", "\""))
        } else {
            Cow::Borrowed(inner)
        }
    }
}

impl Deref for Ident {
    type Target = str;

    fn deref(&self) -> &str {
        &self.quoted
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.quoted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_reads_back() {
        let plain = quote("users_user");
        assert_eq!(plain.as_str(), "\"users_user\"");
        assert_eq!(plain.to_string(), "\"users_user\"");
        assert_eq!(plain.name(), "users_user");
        let odd = quote("a\"b");
        assert_eq!(&*odd, "\"a\"\"b\"");
        assert_eq!(odd.name(), "a\"b");
        assert_eq!(quote("").name(), "");
    }
}
