//! What the fuzz targets share: the project's own spec, loaded once.

use std::path::PathBuf;
use std::sync::OnceLock;

use specgate::contract::{self, Spec};

/// The Users API's compiled spec (the repository's top level).
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        contract::load(&dir).unwrap_or_else(|p| panic!("{p:?}"))
    })
}
