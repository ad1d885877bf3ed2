//! DRF's words for field values: which texts its `BooleanField` reads as true or false.

/// DRF's `BooleanField` words for true.
pub const TRUE_WORDS: [&str; 14] = [
    "t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1",
];
/// DRF's `BooleanField` words for false.
pub const FALSE_WORDS: [&str; 14] = [
    "f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0",
];
