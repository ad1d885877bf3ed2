//! API keys: a file of key hashes (SHA-256, hex), each with a name and scopes; the keys
//! themselves are never stored. A presented key is hashed and compared with every stored
//! hash in constant time, so neither the comparison nor which entry matched shows in the
//! time taken. The file is read with the contract, so a reload drops a removed key.
//!
//! ```yaml
//! keys:
//!   - name: ci-bot
//!     sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//!     scopes: [users:read]
//! ```
//!
//! `printf %s "$KEY" | sha256sum` gives a key's hash.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// One stored key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// Its name, for logs and upstream headers.
    pub name: String,
    hash: [u8; 32],
    /// The scopes it grants.
    pub scopes: Vec<String>,
}

/// The keys of one key file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFile {
    keys: Vec<StoredKey>,
}

/// One key of a key file, as the contract read it: the hash still as written.
pub struct KeyEntry {
    /// Its name.
    pub name: String,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// The scopes it grants.
    pub scopes: Vec<String>,
}

impl KeyFile {
    /// The keys of `entries`, or what is wrong with one (a hash that is not 64 hex digits,
    /// a name given twice).
    pub fn new(entries: Vec<KeyEntry>) -> Result<KeyFile, String> {
        let mut keys = Vec::with_capacity(entries.len());
        for key in entries {
            let hash = hex32(&key.sha256).ok_or_else(|| {
                format!(
                    "key {:?}: sha256 must be 64 hex digits (the key's SHA-256, never the key)",
                    key.name
                )
            })?;
            if keys.iter().any(|k: &StoredKey| k.name == key.name) {
                return Err(format!("key {:?} is given twice", key.name));
            }
            keys.push(StoredKey {
                name: key.name,
                hash,
                scopes: key.scopes,
            });
        }
        Ok(KeyFile { keys })
    }

    /// The stored key `presented` is, if any. Every entry is compared, whatever matches.
    pub fn find(&self, presented: &str) -> Option<&StoredKey> {
        let hash: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for key in &self.keys {
            if bool::from(key.hash.ct_eq(&hash)) {
                found = Some(key);
            }
        }
        found
    }
}

/// 64 hex digits as 32 bytes.
fn hex32(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // SHA-256 of "test".
    const TEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn entry(name: &str, sha256: &str) -> KeyEntry {
        KeyEntry {
            name: name.into(),
            sha256: sha256.into(),
            scopes: vec!["a".into(), "b".into()],
        }
    }

    #[test]
    fn a_key_is_found_by_its_hash_only() {
        let file = KeyFile::new(vec![entry("bot", TEST)]).unwrap_or_default();
        assert_eq!(file.find("test").map(|k| k.name.as_str()), Some("bot"));
        assert_eq!(file.find("test").map(|k| k.scopes.len()), Some(2));
        assert!(file.find("tesT").is_none());
        assert!(file.find(TEST).is_none(), "the hash is not a key");
    }

    #[test]
    fn a_plaintext_key_and_a_name_twice_are_refused() {
        let e = KeyFile::new(vec![entry("bot", "hunter2")]);
        assert!(e.is_err_and(|e| e.contains("64 hex digits")));
        let e = KeyFile::new(vec![entry("bot", TEST), entry("bot", TEST)]);
        assert!(e.is_err_and(|e| e.contains("twice")));
    }
}
