//! Any body of any supported media type through parsing and validation: no panic.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use specgate::intake::body;
use specgate::validate;

use common::spec;

const MEDIA: [&str; 4] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=b",
    "application/json; charset=latin-1",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let media = MEDIA[usize::from(selector) % MEDIA.len()];
    let _ = specgate::compat::json_error::python_json_error(bytes);
    if let Ok(value) = body::parse(Some(media), bytes, 32)
        && let Some(input) = &spec().resources[0].input
    {
        let _ = validate::check_input(input, value.clone(), false);
        let _ = validate::check_input(input, value, true);
    }
});
