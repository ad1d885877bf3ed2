//! Who is calling, once the auth layer has checked it: what the layers after it (rate
//! limits keyed by subject or key), the access log and the forwarding to upstreams read.

/// The authenticated caller of one request, in the request's extensions (and copied to the
/// response's, for the access log). No `Caller` means nobody was authenticated (a public
/// route).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The name of the scheme in `routes.yaml` that accepted the credentials.
    pub scheme: String,
    /// The token's subject (`sub`), for a JWT.
    pub subject: Option<String>,
    /// The key's name in the key file, for an API key.
    pub key_name: Option<String>,
    /// The scopes (or roles) the credentials carry.
    pub scopes: Vec<String>,
    /// The token's top-level claims whose values are text or numbers, as text (what a
    /// limit keyed by `claim:NAME` reads); none for an API key.
    pub claims: Vec<(String, String)>,
}

impl Caller {
    /// The identity a limit or a log line keys on: the subject, else the key's name.
    pub fn identity(&self) -> Option<&str> {
        self.subject.as_deref().or(self.key_name.as_deref())
    }

    /// The value of the token's claim `name`, when it is text or a number.
    pub fn claim(&self, name: &str) -> Option<&str> {
        self.claims
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
