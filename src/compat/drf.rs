//! DRF's words for field values (which texts its `BooleanField` reads as true or false),
//! its `JSONRenderer`'s escaping of the two line separators, and its throttling message.

/// DRF's `BooleanField` words for true.
pub const TRUE_WORDS: [&str; 14] = [
    "t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1",
];
/// DRF's `BooleanField` words for false.
pub const FALSE_WORDS: [&str; 14] = [
    "f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0",
];

/// DRF's `Throttled` detail for a wait of `wait` seconds (already rounded up, as DRF's
/// `math.ceil`), with its singular for one second.
pub fn throttled(wait: u64) -> String {
    let unit = if wait == 1 { "second" } else { "seconds" };
    format!("Request was throttled. Expected available in {wait} {unit}.")
}

/// DRF's `JSONRenderer` writes U+2028 and U+2029 escaped (`\\u2028`), as JavaScript needs.
pub fn escape_line_separators(out: Vec<u8>) -> Vec<u8> {
    const LS: &[u8] = "\u{2028}".as_bytes();
    const PS: &[u8] = "\u{2029}".as_bytes();
    // Both start with the byte 0xE2: look for that first (a vectorised scan), and only
    // where it occurs for the three-byte sequences.
    let found = memchr::memchr_iter(LS[0], &out)
        .any(|i| matches!(out.get(i..i + 3), Some(w) if w == LS || w == PS));
    if !found {
        return out;
    }
    let text = String::from_utf8_lossy(&out);
    text.replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
        .into_bytes()
}

/// DRF's `DecimalField` and `CharField` messages for a value its model
/// field's column would not hold, by the key a schema's `x-messages` can override them
/// with; `{n}` is the column's limit.
pub const COLUMN_MESSAGES: [(&str, &str); 4] = [
    (
        "max_digits",
        "Ensure that there are no more than {n} digits in total.",
    ),
    (
        "max_decimal_places",
        "Ensure that there are no more than {n} decimal places.",
    ),
    (
        "max_whole_digits",
        "Ensure that there are no more than {n} digits before the decimal point.",
    ),
    (
        "max_length",
        "Ensure this field has no more than {n} characters.",
    ),
];
