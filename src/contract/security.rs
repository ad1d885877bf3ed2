//! `security:` in `routes.yaml`, compiled: the schemes (with their keys and key files read
//! now, so a reload re-reads them), each route's requirement (its own, or the block's
//! `default:`), and the identity headers for upstreams.
//!
//! ```yaml
//! security:
//!   schemes:
//!     bearer:
//!       jwt: { algorithms: [HS256], secret: "${JWT_SECRET}", scopes_claim: scope }
//!     keys:
//!       api_key: { header: X-API-Key, file: api-keys.yaml }
//!   default: { schemes: [bearer, keys], scopes: { GET: [users:read], POST: [users:write] } }
//!   forward: { subject: X-Auth-Subject, scopes: X-Auth-Scopes, key_name: X-Auth-Key }
//! routes:
//!   - path: /api/status/
//!     security: public
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use http::Method;
use http::header::HeaderName;
use serde::Deserialize;

use super::locate::Step;
use super::roots::{Roots, client_config};
use crate::auth::jwt::{JwtConfig, JwtScheme};
use crate::auth::keys::{KeyEntry, KeyFile};
use crate::auth::{Forward, KeyLocation, Requirement, Scheme, SchemeKind, Security};

/// The `security:` block.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityDef {
    /// The schemes, by name.
    #[serde(default)]
    pub schemes: BTreeMap<String, SchemeDef>,
    /// What a route without its own `security:` requires (default: public).
    pub default: Option<RequirementDef>,
    /// The headers that carry the caller's identity upstream.
    #[serde(default)]
    pub forward: ForwardDef,
}

/// One scheme: `jwt: {...}` or `api_key: {...}` (exactly one of the two).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeDef {
    /// Bearer JWTs.
    pub jwt: Option<JwtDef>,
    /// API keys.
    pub api_key: Option<ApiKeyDef>,
}

/// A JWT scheme's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtDef {
    /// Accepted algorithms.
    pub algorithms: Vec<String>,
    /// The HMAC secret (write `${NAME}` to take it from the environment).
    pub secret: Option<String>,
    /// A PEM public key file (or several), relative to the spec folder.
    #[serde(default)]
    pub public_key: OneOrMany,
    /// A local JWKS file, relative to the spec folder.
    pub jwks: Option<String>,
    /// A JWKS URL, fetched when needed and cached.
    pub jwks_url: Option<String>,
    /// For an https `jwks_url`: a PEM file (relative to the spec folder) of the roots the
    /// key server's certificate must chain to; without it, the system's.
    pub jwks_ca: Option<String>,
    /// Seconds a fetched JWKS is used before it is fetched again.
    #[serde(default = "default_jwks_ttl")]
    pub jwks_ttl_s: u64,
    /// The accepted `iss` (one or several).
    #[serde(default)]
    pub issuer: OneOrMany,
    /// The accepted `aud` (one or several).
    #[serde(default)]
    pub audience: OneOrMany,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_s: u64,
    /// The claim with the scopes or roles.
    #[serde(default = "default_scopes_claim")]
    pub scopes_claim: String,
}

/// An API-key scheme's settings: exactly one of `header` and `query`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyDef {
    /// The header carrying the key.
    pub header: Option<String>,
    /// The query parameter carrying the key.
    pub query: Option<String>,
    /// The key file, relative to the spec folder.
    pub file: String,
}

/// `public`, or the schemes and scopes a route needs.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RequirementDef {
    /// `public`.
    Word(String),
    /// `{ schemes: [...], scopes: { METHOD: [...] } }`.
    Required(RequiredDef),
}

/// The schemes and scopes of a requirement.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredDef {
    /// Any one of these schemes.
    pub schemes: Vec<String>,
    /// Scopes per method.
    #[serde(default)]
    pub scopes: BTreeMap<String, Vec<String>>,
}

/// The identity headers.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardDef {
    /// The scheme's name.
    pub scheme: Option<String>,
    /// The subject.
    pub subject: Option<String>,
    /// The scopes.
    pub scopes: Option<String>,
    /// The API key's name.
    pub key_name: Option<String>,
}

/// One string or a list of them.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// None given.
    #[default]
    None,
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(one) => vec![one.clone()],
            OneOrMany::Many(many) => many.clone(),
        }
    }
}

fn default_jwks_ttl() -> u64 {
    300
}

fn default_leeway() -> u64 {
    30
}

fn default_scopes_claim() -> String {
    "scope".to_owned()
}

/// Where in `routes.yaml` a problem of the block is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum At {
    /// `security.schemes.NAME`.
    Scheme(String),
    /// `security.default`.
    Default,
    /// `security.forward`.
    Forward,
    /// `routes[i].security`.
    Route(usize),
}

impl At {
    /// The path, for the line.
    pub fn steps(&self) -> Vec<Step<'_>> {
        match self {
            At::Scheme(name) => vec![Step::Key("security"), Step::Key("schemes"), Step::Key(name)],
            At::Default => vec![Step::Key("security"), Step::Key("default")],
            At::Forward => vec![Step::Key("security"), Step::Key("forward")],
            At::Route(i) => vec![Step::Key("routes"), Step::Item(*i), Step::Key("security")],
        }
    }
}

/// Compiles `def` for routes whose own requirements are `own` (by route index; imported
/// routes have none), reading key files from `dir`.
pub fn compile(
    def: &SecurityDef,
    own: &[Option<&RequirementDef>],
    dir: &Path,
) -> Result<Security, Vec<(At, String)>> {
    let mut problems: Vec<(At, String)> = Vec::new();
    let mut schemes = Vec::new();
    for (name, scheme) in &def.schemes {
        match compile_scheme(name, scheme, dir) {
            Ok(kind) => schemes.push(Scheme {
                name: name.clone(),
                kind,
            }),
            Err(message) => problems.push((At::Scheme(name.clone()), message)),
        }
    }
    let names: Vec<&str> = def.schemes.keys().map(String::as_str).collect();
    let default = match &def.default {
        None => Requirement::Public,
        Some(req) => requirement(req, &names).unwrap_or_else(|m| {
            problems.push((At::Default, m));
            Requirement::Public
        }),
    };
    let mut routes = Vec::with_capacity(own.len());
    for (i, req) in own.iter().enumerate() {
        let compiled = match req {
            None => default.clone(),
            Some(req) => requirement(req, &names).unwrap_or_else(|m| {
                problems.push((At::Route(i), m));
                Requirement::Public
            }),
        };
        routes.push(compiled);
    }
    let forward = forward(&def.forward).unwrap_or_else(|m| {
        problems.push((At::Forward, m));
        Forward::default()
    });
    if problems.is_empty() {
        Ok(Security {
            schemes,
            routes,
            forward,
        })
    } else {
        Err(problems)
    }
}

fn compile_scheme(name: &str, def: &SchemeDef, dir: &Path) -> Result<SchemeKind, String> {
    match (&def.jwt, &def.api_key) {
        (Some(jwt), None) => {
            let mut public_keys = Vec::new();
            for file in jwt.public_key.to_vec() {
                public_keys.push(read(dir, &file)?);
            }
            let jwks = jwt.jwks.as_deref().map(|f| read(dir, f)).transpose()?;
            let https = jwt
                .jwks_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"));
            let roots = match (https, &jwt.jwks_ca) {
                (true, ca) => Roots::of(ca.as_deref().map(|ca| dir.join(ca))),
                (false, Some(_)) => return Err("jwks_ca applies to an https:// jwks_url".into()),
                (false, None) => Roots::Nothing,
            };
            let config = JwtConfig {
                algorithms: jwt.algorithms.clone(),
                secret: jwt.secret.clone(),
                public_keys,
                jwks,
                jwks_url: jwt.jwks_url.clone(),
                jwks_tls: client_config(roots)?,
                jwks_ttl: Duration::from_secs(jwt.jwks_ttl_s),
                issuers: jwt.issuer.to_vec(),
                audiences: jwt.audience.to_vec(),
                leeway_s: jwt.leeway_s,
                scopes_claim: jwt.scopes_claim.clone(),
            };
            JwtScheme::new(config).map(|s| SchemeKind::Jwt(Box::new(s)))
        }
        (None, Some(key)) => {
            let location = match (&key.header, &key.query) {
                (Some(header), None) => KeyLocation::Header(
                    HeaderName::try_from(header.as_str())
                        .map_err(|_| format!("{header:?} is not a header name"))?,
                ),
                (None, Some(query)) => KeyLocation::Query(query.clone()),
                _ => {
                    return Err(format!(
                        "scheme {name:?}: give exactly one of `header` and `query`"
                    ));
                }
            };
            let text = read(dir, &key.file)?;
            let keys = key_file(&text).map_err(|e| format!("{}: {e}", key.file))?;
            Ok(SchemeKind::ApiKey { location, keys })
        }
        _ => Err(format!(
            "scheme {name:?}: give exactly one of `jwt:` and `api_key:`"
        )),
    }
}

/// An API-key file: `keys:`, each with `name`, `sha256` and `scopes`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileDef {
    keys: Vec<KeyDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyDef {
    name: String,
    sha256: String,
    #[serde(default)]
    scopes: Vec<String>,
}

/// The keys of a key file's text (YAML, or JSON).
fn key_file(text: &str) -> Result<KeyFile, String> {
    let def: KeyFileDef =
        serde_yaml::from_str(text).map_err(|e| super::yaml::plain(&e.to_string()))?;
    let entries = def
        .keys
        .into_iter()
        .map(|k| KeyEntry {
            name: k.name,
            sha256: k.sha256,
            scopes: k.scopes,
        })
        .collect();
    KeyFile::new(entries)
}

/// A file of the spec folder, by a plain relative path.
fn read(dir: &Path, file: &str) -> Result<String, String> {
    let relative = Path::new(file);
    if relative.is_absolute()
        || relative
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!(
            "{file:?} must be a path inside the spec folder (no leading / and no ..)"
        ));
    }
    std::fs::read_to_string(dir.join(relative)).map_err(|e| format!("cannot read {file}: {e}"))
}

fn requirement(def: &RequirementDef, names: &[&str]) -> Result<Requirement, String> {
    let required = match def {
        RequirementDef::Word(word) if word == "public" => return Ok(Requirement::Public),
        RequirementDef::Word(word) => {
            return Err(format!(
                "{word:?}: write `public`, or `{{ schemes: [...], scopes: {{...}} }}`"
            ));
        }
        RequirementDef::Required(required) => required,
    };
    if required.schemes.is_empty() {
        return Err("`schemes` must name at least one scheme (or write `public`)".into());
    }
    let mut schemes = Vec::new();
    for name in &required.schemes {
        match names.iter().position(|n| n == name) {
            Some(i) => schemes.push(i),
            None => return Err(format!("unknown scheme {name:?} (schemes: {names:?})")),
        }
    }
    let mut scopes = Vec::new();
    for (method, list) in &required.scopes {
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("{method:?} is not an HTTP method"))?;
        scopes.push((method, list.clone()));
    }
    Ok(Requirement::Authenticated { schemes, scopes })
}

fn forward(def: &ForwardDef) -> Result<Forward, String> {
    let header = |name: &Option<String>| {
        name.as_deref()
            .map(|n| HeaderName::try_from(n).map_err(|_| format!("{n:?} is not a header name")))
            .transpose()
    };
    Ok(Forward {
        scheme: header(&def.scheme)?,
        subject: header(&def.subject)?,
        scopes: header(&def.scopes)?,
        key_name: header(&def.key_name)?,
    })
}
