//! How a JSON number sent for a text field comes back: Python's `str(json.loads(raw))`
//! (`int` digits, or `repr(float)` with CPython's shortest round-trip digits, ties to even).
//! Rust's `f64` formatting differs in notation and on exact ties, so it is ported here.
//!
//! Integers longer than 4300 digits make Python 3.11+ raise while parsing;
//! [`python_number_text`] has no error channel and returns the digits anyway, so callers
//! enforce that limit themselves (the JSON parse error does).

/// Returns what Python prints for `str(json.loads(raw))`, where `raw` is the
/// text of one JSON number literal exactly as received (also accepts Python's
/// `NaN` / `Infinity` / `-Infinity` constants). Text that is not a number is
/// returned unchanged.
pub fn python_number_text(raw: &str) -> String {
    match raw {
        "NaN" => return "nan".to_owned(),
        "Infinity" => return "inf".to_owned(),
        "-Infinity" => return "-inf".to_owned(),
        _ => {}
    }
    if !raw.contains(['.', 'e', 'E']) {
        return python_int_text(raw);
    }
    let number_shaped = raw
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    match raw.parse::<f64>() {
        Ok(value) if number_shaped => python_float_repr(value),
        _ => raw.to_owned(),
    }
}

/// `str(int(raw))` for an optionally signed run of ASCII digits.
fn python_int_text(raw: &str) -> String {
    let (negative, digits) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw.strip_prefix('+').unwrap_or(raw)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return raw.to_owned();
    }
    let significant = digits.trim_start_matches('0');
    match (significant.is_empty(), negative) {
        (true, _) => "0".to_owned(),
        (false, true) => format!("-{significant}"),
        (false, false) => significant.to_owned(),
    }
}

/// `repr(float)`: shortest round-trip digits, fixed notation for decimal
/// exponents in [-4, 16), scientific (`1e+16`, `1.5e-05`) otherwise.
fn python_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let sign = if value.is_sign_negative() { "-" } else { "" };
    let Some((digits, exp)) = shortest_digits(value.abs()) else {
        return format!("{value:e}");
    };
    let body = if (-4..16).contains(&exp) {
        let point = usize::try_from(exp + 1).unwrap_or(0);
        if exp < 0 {
            let zeros = "0".repeat(usize::try_from(-exp - 1).unwrap_or(0));
            format!("0.{zeros}{digits}")
        } else if digits.len() <= point {
            let zeros = "0".repeat(point - digits.len());
            format!("{digits}{zeros}.0")
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    } else {
        let exp_sign = if exp < 0 { '-' } else { '+' };
        let mantissa = match digits.split_at_checked(1) {
            Some((first, rest)) if !rest.is_empty() => format!("{first}.{rest}"),
            _ => digits.clone(),
        };
        format!("{mantissa}e{exp_sign}{:02}", exp.unsigned_abs())
    };
    format!("{sign}{body}")
}

/// Shortest round-trip decimal digits (no trailing zeros) and decimal
/// exponent of the first digit, for a finite `value >= 0`, chosen like
/// David Gay's `dtoa` mode 0 that CPython uses.
///
/// Rust's `{:e}` already yields a shortest round-trip digit string, but when
/// the exact binary value lies exactly halfway between two shortest
/// candidates it picks the upper one, whereas `dtoa` rounds half to even
/// (e.g. 1577075378970848.25 is `...848.2` in Python).
fn shortest_digits(value: f64) -> Option<(String, i32)> {
    let (digits, exp) = split_scientific(&format!("{value:e}"))?;
    let n = digits.len();
    // Cheap pre-check: a tie's exact expansion rounded to n + 1 digits is
    // itself, ending in 5.
    let (probe, _) = split_scientific(&format!("{value:.n$e}"))?;
    if !probe.ends_with('5') {
        return Some((digits, exp));
    }
    // Every f64 has an exact decimal expansion of at most 767 significant
    // digits, so this precision prints it exactly.
    let (exact, exact_exp) = split_scientific(&format!("{value:.780e}"))?;
    let exact = exact.trim_end_matches('0');
    let is_tie = exact_exp == exp && exact.len() == n + 1 && exact.ends_with('5');
    if !is_tie {
        return Some((digits, exp));
    }
    let lower = exact.get(..n)?.to_owned();
    let (upper, upper_exp) = increment_decimal(&lower, exp);
    let round_trips = |d: &str, e: i32| format!("{d}e{e}").parse::<f64>().ok() == Some(value);
    let lower_is_even = lower
        .bytes()
        .last()
        .is_some_and(|b| matches!(b, b'0' | b'2' | b'4' | b'6' | b'8'));
    let candidates = if lower_is_even {
        [(lower, exp), (upper, upper_exp)]
    } else {
        [(upper, upper_exp), (lower, exp)]
    };
    let chosen = candidates
        .into_iter()
        .find(|(d, e)| round_trips(&format!("0.{d}"), e + 1))
        .unwrap_or((digits, exp));
    let trimmed = chosen.0.trim_end_matches('0');
    let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
    Some((trimmed.to_owned(), chosen.1))
}

/// Splits Rust `{:e}` output such as "1.25e-7" into ("125", -7).
fn split_scientific(sci: &str) -> Option<(String, i32)> {
    let (mantissa, exp) = sci.split_once('e')?;
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    Some((digits, exp.parse().ok()?))
}

/// Adds one unit in the last place to a digit string whose first digit has
/// decimal exponent `exp`; a carry out of the first digit bumps `exp`.
fn increment_decimal(digits: &str, exp: i32) -> (String, i32) {
    let mut bytes = digits.as_bytes().to_vec();
    for b in bytes.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return (String::from_utf8_lossy(&bytes).into_owned(), exp);
        }
    }
    bytes.insert(0, b'1');
    bytes.pop();
    (String::from_utf8_lossy(&bytes).into_owned(), exp + 1)
}
#[cfg(test)]
mod tests {
    use super::*;

    // Every expected text below was produced by CPython 3.11 (`str(json.loads(raw))`).

    fn check_numbers(cases: &[(&str, &str)]) {
        for (raw, expected) in cases {
            assert_eq!(python_number_text(raw), *expected, "{raw:?}");
        }
    }

    #[test]
    fn numbers_integers() {
        check_numbers(&[
            ("123", "123"),
            ("-0", "0"),
            ("0", "0"),
            ("-12", "-12"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            (
                "-123456789012345678901234567890",
                "-123456789012345678901234567890",
            ),
            ("9007199254740993", "9007199254740993"),
            // Not valid JSON, but int() semantics are kept.
            ("007", "7"),
            ("-000", "0"),
        ]);
    }

    #[test]
    fn numbers_fixed_notation() {
        check_numbers(&[
            ("1.5", "1.5"),
            ("1e3", "1000.0"),
            ("1E+3", "1000.0"),
            ("1e-3", "0.001"),
            ("-2.50", "-2.5"),
            ("0.0001", "0.0001"),
            ("0.00012345", "0.00012345"),
            ("1e15", "1000000000000000.0"),
            ("1.5e15", "1500000000000000.0"),
            ("1234567890123456.7", "1234567890123456.8"),
            ("9007199254740993.0", "9007199254740992.0"),
            ("0.0", "0.0"),
            ("-0.0", "-0.0"),
            ("0e0", "0.0"),
            ("-0E-0", "-0.0"),
            ("0.1", "0.1"),
            ("0.30000000000000004", "0.30000000000000004"),
            ("100.0", "100.0"),
            ("3.14159", "3.14159"),
            ("12.5e1", "125.0"),
            ("123e-2", "1.23"),
        ]);
    }

    #[test]
    fn numbers_scientific_notation() {
        check_numbers(&[
            ("0.00001", "1e-05"),
            ("0.000015", "1.5e-05"),
            ("1e16", "1e+16"),
            ("9999999999999999.0", "1e+16"),
            ("12345678901234567.0", "1.2345678901234568e+16"),
            ("123456789012345678901234567890.0", "1.2345678901234568e+29"),
            ("1e23", "1e+23"),
            ("1e100", "1e+100"),
            ("1.5e-100", "1.5e-100"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("2.2250738585072014e-308", "2.2250738585072014e-308"),
            ("5e-324", "5e-324"),
            ("4.9406564584124654e-324", "5e-324"),
        ]);
    }

    #[test]
    fn numbers_overflow_underflow_and_specials() {
        check_numbers(&[
            ("1e400", "inf"),
            ("-1e400", "-inf"),
            ("1e-400", "0.0"),
            ("-1e-400", "-0.0"),
            ("2e-324", "0.0"),
            ("NaN", "nan"),
            ("Infinity", "inf"),
            ("-Infinity", "-inf"),
        ]);
    }

    #[test]
    fn numbers_half_way_ties_round_to_even() {
        // Rust's shortest formatting rounds these ties up; CPython's dtoa
        // rounds half to even.
        check_numbers(&[
            ("1577075378970848.25", "1577075378970848.2"),
            ("-1577075378970848.2", "-1577075378970848.2"),
            ("-1151571512920038.19752174087478542", "-1151571512920038.2"),
            ("-22239324445549.31129174240615", "-22239324445549.312"),
        ]);
    }

    #[test]
    fn numbers_non_numbers_pass_through() {
        check_numbers(&[
            ("abc", "abc"),
            ("1.5x", "1.5x"),
            ("inf.0", "inf.0"),
            ("-", "-"),
        ]);
    }
}
