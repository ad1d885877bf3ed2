//! JWT bearer tokens: the signature by the key the token's header picks (HMAC secret, PEM
//! public key, a JWKS file or a JWKS URL), then `exp`/`nbf` with a leeway, `iss`, `aud`,
//! and the scopes from a configured claim. `alg: none` is not an algorithm here at all, and
//! a token is only ever checked with a key of its algorithm's family: an HS256 token is
//! checked with the configured secret, never with an RSA public key taken as one.

use std::str::FromStr;
use std::sync::Arc;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde_json::Value;

use super::jwks::Remote;

/// Why a token was refused, for `WWW-Authenticate`'s `error_description` and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not three base64url parts with a JSON header and claims.
    Malformed,
    /// An algorithm this scheme does not accept (`none` among them).
    Algorithm(String),
    /// No key of this scheme fits the token's `kid` and algorithm.
    UnknownKey,
    /// The signature does not match.
    Signature,
    /// `exp` has passed.
    Expired,
    /// `nbf` has not come yet.
    NotYetValid,
    /// `aud` is not the configured audience.
    Audience,
    /// `iss` is not the configured issuer.
    Issuer,
    /// A claim the scheme requires is missing or has the wrong type.
    Claim(String),
    /// The JWKS URL could not be fetched, and no key was cached.
    KeysUnavailable(String),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Malformed => f.write_str("the token is malformed"),
            TokenError::Algorithm(alg) => write!(f, "the algorithm {alg} is not accepted"),
            TokenError::UnknownKey => f.write_str("no key matches the token"),
            TokenError::Signature => f.write_str("the signature is invalid"),
            TokenError::Expired => f.write_str("the token has expired"),
            TokenError::NotYetValid => f.write_str("the token is not valid yet"),
            TokenError::Audience => f.write_str("the token is for another audience"),
            TokenError::Issuer => f.write_str("the token is from another issuer"),
            TokenError::Claim(claim) => write!(f, "the claim {claim} is missing or invalid"),
            TokenError::KeysUnavailable(why) => {
                write!(f, "the signing keys are unavailable: {why}")
            }
        }
    }
}

/// What a valid token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `sub`, when the token has one.
    pub subject: Option<String>,
    /// The scopes (or roles) of the configured claim.
    pub scopes: Vec<String>,
    /// The top-level claims that are text or numbers, as text.
    pub claims: Vec<(String, String)>,
}

/// One key, with what it may verify.
struct Key {
    kid: Option<String>,
    /// The one algorithm the key is for, when it says (a JWK's `alg`).
    alg: Option<Algorithm>,
    key: DecodingKey,
}

/// How one JWT scheme checks tokens.
pub struct JwtScheme {
    /// Each accepted algorithm with its checks, made once here rather than per token.
    validations: Vec<(Algorithm, Validation)>,
    secret: Option<DecodingKey>,
    keys: Vec<Key>,
    remote: Option<Remote>,
    scopes_claim: Vec<String>,
}

/// A JWT scheme's settings, as the contract read them (files already read).
pub struct JwtConfig {
    /// Accepted algorithms (`HS256`, `RS256`, ...).
    pub algorithms: Vec<String>,
    /// The HMAC secret, for HS*.
    pub secret: Option<String>,
    /// PEM public keys (RSA, EC or Ed25519), as text.
    pub public_keys: Vec<String>,
    /// A JWKS document, as text.
    pub jwks: Option<String>,
    /// A JWKS URL (http:// or https://), fetched when needed.
    pub jwks_url: Option<String>,
    /// The TLS settings an https `jwks_url` is fetched with (its roots).
    pub jwks_tls: std::sync::Arc<rustls::ClientConfig>,
    /// How long a fetched JWKS is used before it is fetched again.
    pub jwks_ttl: std::time::Duration,
    /// Accepted issuers (`iss`); none means any.
    pub issuers: Vec<String>,
    /// Accepted audiences (`aud`); none means the token must not name one.
    pub audiences: Vec<String>,
    /// Seconds of clock skew allowed on `exp` and `nbf`.
    pub leeway_s: u64,
    /// The claim holding scopes: a space-separated string or an array; dots walk into
    /// objects (`realm_access.roles`).
    pub scopes_claim: String,
}

impl JwtScheme {
    /// The scheme for `config`, or what is wrong with it.
    pub fn new(config: JwtConfig) -> Result<JwtScheme, String> {
        let mut algorithms = Vec::new();
        for name in &config.algorithms {
            let alg = Algorithm::from_str(name).map_err(|_| {
                format!(
                    "unknown algorithm {name:?} (HS256/384/512, RS256/384/512, PS256/384/512, \
                     ES256/384, EdDSA)"
                )
            })?;
            algorithms.push(alg);
        }
        if algorithms.is_empty() {
            return Err("`algorithms` must list at least one algorithm".into());
        }
        let hmac = algorithms.iter().any(|a| is_hmac(*a));
        let asymmetric = algorithms.iter().any(|a| !is_hmac(*a));
        let secret = match (&config.secret, hmac) {
            (Some(secret), true) if secret.len() < 32 => {
                return Err("the HMAC `secret` must be at least 32 bytes".into());
            }
            (Some(secret), true) => Some(
                DecodingKey::from_secret(secret.as_bytes()).map_err(|e| format!("secret: {e}"))?,
            ),
            (Some(_), false) => return Err("a `secret` needs an HS* algorithm".into()),
            (None, true) => return Err("HS* algorithms need a `secret`".into()),
            (None, false) => None,
        };
        let mut keys = Vec::new();
        for (i, pem) in config.public_keys.iter().enumerate() {
            keys.push(Key {
                kid: None,
                alg: None,
                key: pem_key(pem).map_err(|e| format!("public key {}: {e}", i + 1))?,
            });
        }
        if let Some(text) = &config.jwks {
            keys.extend(jwks_keys(text)?);
        }
        let remote = config
            .jwks_url
            .as_deref()
            .map(|url| Remote::new(url, config.jwks_ttl, config.jwks_tls.as_ref().clone()))
            .transpose()?;
        if asymmetric && keys.is_empty() && remote.is_none() {
            return Err(
                "RS*/PS*/ES*/EdDSA algorithms need `public_key`, `jwks` or `jwks_url`".into(),
            );
        }
        if !asymmetric && (!keys.is_empty() || remote.is_some()) {
            return Err("public keys need an RS*/PS*/ES*/EdDSA algorithm".into());
        }
        Ok(JwtScheme {
            validations: algorithms
                .iter()
                .map(|&alg| (alg, validation(&config, alg)))
                .collect(),
            secret,
            keys,
            remote,
            scopes_claim: config.scopes_claim.split('.').map(str::to_owned).collect(),
        })
    }

    /// Checks `token`: its signature, its times, issuer and audience; then reads its
    /// subject and scopes.
    pub async fn verify(&self, token: &str) -> Result<Verified, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            // Only an algorithm jsonwebtoken does not know fails here: `none` and the like.
            ErrorKind::Json(_) => alg_of(token)
                .map(TokenError::Algorithm)
                .unwrap_or(TokenError::Malformed),
            _ => TokenError::Malformed,
        })?;
        let Some((_, validation)) = self.validations.iter().find(|(a, _)| *a == header.alg) else {
            return Err(TokenError::Algorithm(format!("{:?}", header.alg)));
        };
        if is_hmac(header.alg) {
            let secret = self.secret.as_ref().ok_or(TokenError::UnknownKey)?;
            return self.decode(token, secret, validation);
        }
        let kid = header.kid.as_deref();
        let mut last = TokenError::UnknownKey;
        for key in self.keys.iter().filter(|k| fits(k, kid, header.alg)) {
            match self.decode(token, &key.key, validation) {
                Err(TokenError::Signature) => last = TokenError::Signature,
                other => return other,
            }
        }
        let Some(remote) = &self.remote else {
            return Err(last);
        };
        let fetched = remote
            .keys(kid)
            .await
            .map_err(TokenError::KeysUnavailable)?;
        for jwk in fetched.keys.iter() {
            let Some(key) = jwk_key(jwk) else { continue };
            if !fits(&key, kid, header.alg) {
                continue;
            }
            match self.decode(token, &key.key, validation) {
                Err(TokenError::Signature) => last = TokenError::Signature,
                other => return other,
            }
        }
        Err(last)
    }

    fn decode(
        &self,
        token: &str,
        key: &DecodingKey,
        validation: &Validation,
    ) -> Result<Verified, TokenError> {
        let data = jsonwebtoken::decode::<Value>(token, key, validation).map_err(token_error)?;
        let claims = data.claims;
        let subject = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
        Ok(Verified {
            subject,
            scopes: scopes(&claims, &self.scopes_claim),
            claims: plain_claims(&claims),
        })
    }
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// The `alg` a header names, read without knowing the algorithm (for the message).
fn alg_of(token: &str) -> Option<String> {
    use base64::Engine;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

/// Whether `key` may check a token with `kid` and `alg`: its family is the algorithm's, its
/// own `alg` (if any) is the token's, and its `kid` is the token's when both have one.
fn fits(key: &Key, kid: Option<&str>, alg: Algorithm) -> bool {
    key.key.family() == alg.family()
        && key.alg.is_none_or(|a| a == alg)
        && match (kid, &key.kid) {
            (Some(wanted), Some(have)) => wanted == have,
            _ => true,
        }
}

/// The checks of a token signed with `alg`: that algorithm only, the times with the leeway,
/// and the configured issuer and audience.
fn validation(config: &JwtConfig, alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.leeway = config.leeway_s;
    validation.validate_nbf = true;
    let mut required = vec!["exp"];
    if !config.issuers.is_empty() {
        validation.set_issuer(&config.issuers);
        required.push("iss");
    }
    if config.audiences.is_empty() {
        validation.validate_aud = false;
    } else {
        validation.set_audience(&config.audiences);
        required.push("aud");
    }
    validation.set_required_spec_claims(&required);
    validation
}

fn token_error(e: jsonwebtoken::errors::Error) -> TokenError {
    match e.kind() {
        ErrorKind::InvalidSignature => TokenError::Signature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidAudience => TokenError::Audience,
        ErrorKind::InvalidIssuer => TokenError::Issuer,
        ErrorKind::MissingRequiredClaim(c) | ErrorKind::InvalidClaimFormat(c) => {
            TokenError::Claim(c.clone())
        }
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            TokenError::Algorithm("of this key".into())
        }
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => TokenError::UnknownKey,
        _ => TokenError::Malformed,
    }
}

/// The claims whose values are text or numbers, as text.
fn plain_claims(claims: &Value) -> Vec<(String, String)> {
    let Some(object) = claims.as_object() else {
        return Vec::new();
    };
    object
        .iter()
        .filter_map(|(name, value)| match value {
            Value::String(text) => Some((name.clone(), text.clone())),
            Value::Number(n) => Some((name.clone(), n.to_string())),
            _ => None,
        })
        .collect()
}

/// The scopes at `path` in `claims`: a space-separated string, or an array of strings.
fn scopes(claims: &Value, path: &[String]) -> Vec<String> {
    let mut at = claims;
    for step in path {
        match at.get(step) {
            Some(next) => at = next,
            None => return Vec::new(),
        }
    }
    match at {
        Value::String(text) => text.split_whitespace().map(str::to_owned).collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// A PEM public key of any supported family.
fn pem_key(pem: &str) -> Result<DecodingKey, String> {
    let bytes = pem.as_bytes();
    DecodingKey::from_rsa_pem(bytes)
        .or_else(|_| DecodingKey::from_ec_pem(bytes))
        .or_else(|_| DecodingKey::from_ed_pem(bytes))
        .map_err(|_| "not a PEM RSA, EC or Ed25519 public key".to_owned())
}

/// The keys of a JWKS document.
fn jwks_keys(text: &str) -> Result<Vec<Key>, String> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("jwks: {e}"))?;
    let keys: Vec<Key> = set.keys.iter().filter_map(jwk_key).collect();
    if keys.is_empty() {
        return Err("jwks: no usable key".into());
    }
    Ok(keys)
}

/// One JWK as a key, `None` when it is not a signature key this crate can use.
fn jwk_key(jwk: &Jwk) -> Option<Key> {
    let key = DecodingKey::from_jwk(jwk).ok()?;
    let alg = jwk
        .common
        .key_algorithm
        .and_then(|a| Algorithm::from_str(&a.to_string()).ok());
    Some(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        key,
    })
}

/// A shared scheme, as the contract holds it.
pub type Shared = Arc<JwtScheme>;
