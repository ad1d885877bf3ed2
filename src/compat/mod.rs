//! Everything that imitates Python, Django or DRF, because the gateway must answer as the
//! Django REST Framework app it replaces did (Django 4.2, Python 3.11): these rules are
//! theirs, not HTTP's or JSON's. A leaf module: it knows nothing of the rest of the crate.
//!
//! - [`python`]: `str.isspace()`, `int()`, type names, codec names.
//! - [`number`]: `str()` of a number `json.loads` read.
//! - [`json_error`]: the text of `json.loads`' errors.
//! - [`email`]: Django's `EmailValidator`.
//! - [`header`]: Django's `parse_header_parameters`.
//! - [`urlencoded`], [`multipart`]: the `request.data` DRF's form parsers give.
//! - [`drf`]: DRF's field words.

pub mod drf;
pub mod email;
pub mod header;
pub mod json_error;
pub mod multipart;
pub mod number;
pub mod python;
pub mod urlencoded;
