//! W3C Trace Context (level 1) `traceparent`: the caller's trace read from a request, or a
//! new one started, and the value this gateway's hop forwards upstream, so its logs and the
//! services behind it share one trace id.
//!
//! Random ids come from `rand`'s thread-local generator (ChaCha, seeded from the operating
//! system once per thread and reseeded as it goes): no system call per id, and ids that
//! cannot be guessed from earlier ones.

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};

/// The header's name (lowercase, as the spec asks senders to write it).
pub const TRACEPARENT: &str = "traceparent";

/// The `sampled` bit of trace-flags, the only flag level 1 defines.
const SAMPLED: u8 = 0x01;

/// The length of a version-00 value: `00-` 32 hex `-` 16 hex `-` 2 hex.
const LEN: usize = 55;

/// The version this gateway writes, the highest it knows.
const VERSION: &[u8; 2] = b"00";

const HEX: &[u8; 16] = b"0123456789abcdef";

/// One hop of a trace: the trace's id, the id of the span that made the request (the
/// caller's, or this gateway's for the request it forwards), and the trace flags.
///
/// Both ids are never all zero, and only the `sampled` flag is kept: level 1 defines no
/// other and asks that the others be sent as zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceContext {
    trace_id: [u8; 16],
    parent_id: [u8; 8],
    flags: u8,
}

impl TraceContext {
    /// The trace in one `traceparent` value, or `None` where the spec says to restart the
    /// trace: a malformed value (wrong lengths, uppercase or other non-hex digits, missing
    /// dashes), version `ff`, an all-zero id, or version `00` with anything after the flags.
    /// A higher version is read by the version-00 layout when it is at least as long and
    /// goes on, if at all, with a dash; what follows is ignored.
    /// Spaces and tabs around the value are allowed.
    pub fn from_header(value: &HeaderValue) -> Option<TraceContext> {
        parse(value.as_bytes())
    }

    /// The trace in a request's headers: `None` without a `traceparent`, with more than one
    /// (which the spec counts as invalid), or with an invalid one.
    pub fn from_headers(headers: &HeaderMap) -> Option<TraceContext> {
        // A constant name: no parsing of the name's text per request.
        const NAME: HeaderName = HeaderName::from_static(TRACEPARENT);
        let mut values = headers.get_all(NAME).iter();
        let value = values.next()?;
        match values.next() {
            Some(_) => None,
            None => TraceContext::from_header(value),
        }
    }

    /// A new trace: random trace and span ids, not sampled (this gateway records no trace
    /// data itself, so it leaves the decision to whoever does).
    pub fn start() -> TraceContext {
        TraceContext {
            trace_id: random_id(),
            parent_id: random_id(),
            flags: 0,
        }
    }

    /// The same trace and flags with a new random span id: the span of this gateway's hop,
    /// to forward upstream and to log.
    pub fn child(&self) -> TraceContext {
        TraceContext {
            parent_id: random_id(),
            ..*self
        }
    }

    /// The trace's id.
    pub fn trace_id(&self) -> [u8; 16] {
        self.trace_id
    }

    /// The id of the span that this context's request comes from.
    pub fn parent_id(&self) -> [u8; 8] {
        self.parent_id
    }

    /// The trace flags (only the `sampled` bit can be set).
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// Whether the caller may have recorded trace data for this request.
    pub fn sampled(&self) -> bool {
        self.flags & SAMPLED == SAMPLED
    }

    /// The trace id as 32 lowercase hex digits, for logs.
    pub fn trace_id_hex(&self) -> String {
        hex_string(&self.trace_id)
    }

    /// The span id as 16 lowercase hex digits, for logs.
    pub fn parent_id_hex(&self) -> String {
        hex_string(&self.parent_id)
    }

    /// The `traceparent` value for this context, in version 00.
    pub fn header_value(&self) -> HeaderValue {
        let text = self.encode();
        // The text is only lowercase hex digits and dashes, which every header value may
        // hold, so the fallback is never taken; it is there only so nothing can panic here.
        HeaderValue::from_bytes(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The version-00 text, byte by byte.
    fn encode(&self) -> [u8; LEN] {
        let mut text = [b'-'; LEN];
        text[..2].copy_from_slice(VERSION);
        write_hex(&mut text[3..35], &self.trace_id);
        write_hex(&mut text[36..52], &self.parent_id);
        write_hex(&mut text[53..55], &[self.flags]);
        text
    }
}

impl fmt::Display for TraceContext {
    /// The `traceparent` value, as [`TraceContext::header_value`] has it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &byte in &self.encode() {
            fmt::Write::write_char(f, char::from(byte))?;
        }
        Ok(())
    }
}

/// Reads a `traceparent` value by the spec's rules (see [`TraceContext::from_header`]).
fn parse(value: &[u8]) -> Option<TraceContext> {
    let text = trim_ows(value);
    let version = hex_byte(text.get(..2)?)?;
    if text.get(2) != Some(&b'-') || version == 0xff {
        return None;
    }
    let fits = match version {
        0 => text.len() == LEN,
        _ => text.len() == LEN || text.get(LEN) == Some(&b'-'),
    };
    if !fits || text[35] != b'-' || text[52] != b'-' {
        return None;
    }
    let trace_id: [u8; 16] = decode_hex(&text[3..35])?;
    let parent_id: [u8; 8] = decode_hex(&text[36..52])?;
    let flags = hex_byte(&text[53..55])?;
    if is_zero(&trace_id) || is_zero(&parent_id) {
        return None;
    }
    Some(TraceContext {
        trace_id,
        parent_id,
        flags: flags & SAMPLED,
    })
}

/// `value` without the spaces and tabs (HTTP's optional white space) around it.
fn trim_ows(value: &[u8]) -> &[u8] {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !ows(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !ows(b)).map_or(start, |i| i + 1);
    &value[start..end]
}

/// The value of one lowercase hex digit.
fn hex_digit(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// The byte that two lowercase hex digits spell.
fn hex_byte(pair: &[u8]) -> Option<u8> {
    match pair {
        [high, low] => Some(hex_digit(*high)? << 4 | hex_digit(*low)?),
        _ => None,
    }
}

/// `N` bytes from `2 * N` lowercase hex digits.
fn decode_hex<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    if digits.len() != 2 * N {
        return None;
    }
    let mut bytes = [0; N];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = hex_byte(pair)?;
    }
    Some(bytes)
}

fn write_hex(out: &mut [u8], bytes: &[u8]) {
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0x0f)];
    }
}

fn hex_string(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text
}

fn is_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| *b == 0)
}

/// A random id that is not all zero (the spec forbids that one).
fn random_id<const N: usize>() -> [u8; N] {
    let mut id = [0; N];
    while is_zero(&id) {
        rand::fill(&mut id[..]);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header(text: &str) -> Option<TraceContext> {
        TraceContext::from_header(&HeaderValue::from_str(text).expect("a header value"))
    }

    fn trace_hex(text: &str) -> Option<String> {
        header(text).map(|c| c.trace_id_hex())
    }

    const ID: &str = "12345678901234567890123456789012";

    #[test]
    fn the_specs_examples() {
        let sampled =
            header("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").expect("valid");
        assert_eq!(sampled.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(sampled.parent_id_hex(), "00f067aa0ba902b7");
        assert_eq!(
            sampled.trace_id(),
            [
                0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e,
                0x47, 0x36
            ]
        );
        assert_eq!(
            sampled.parent_id(),
            [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]
        );
        assert!(sampled.sampled());
        let unsampled =
            header("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").expect("valid");
        assert!(!unsampled.sampled());
        assert_eq!(unsampled.flags(), 0);
        let other =
            header("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").expect("valid");
        assert_eq!(other.trace_id_hex(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(other.parent_id_hex(), "b7ad6b7169203331");
    }

    #[test]
    fn a_value_reads_back_as_written() {
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = header(text).expect("valid");
        assert_eq!(context.header_value(), text);
        assert_eq!(context.to_string(), text);
    }

    #[test]
    fn all_zero_ids_are_refused() {
        assert_eq!(
            trace_hex("00-00000000000000000000000000000000-1234567890123456-01"),
            None
        );
        assert_eq!(trace_hex(&format!("00-{ID}-0000000000000000-01")), None);
    }

    #[test]
    fn uppercase_and_other_digits_are_refused() {
        for text in [
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
            "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
            "00-.2345678901234567890123456789012-1234567890123456-01",
            "00-1234567890123456789012345678901.-1234567890123456-01",
            "00-12345678901234567890123456789012-.234567890123456-01",
            "00-12345678901234567890123456789012-123456789012345.-01",
            "00-12345678901234567890123456789012-1234567890123456-.0",
            "00-12345678901234567890123456789012-1234567890123456-0.",
            "00-1234567890123456789012345678901g-1234567890123456-01",
            ".0-12345678901234567890123456789012-1234567890123456-01",
            "0.-12345678901234567890123456789012-1234567890123456-01",
            "00_12345678901234567890123456789012-1234567890123456-01",
            "00-12345678901234567890123456789012_1234567890123456-01",
            "00-12345678901234567890123456789012-1234567890123456_01",
        ] {
            assert_eq!(trace_hex(text), None, "{text}");
        }
    }

    #[test]
    fn wrong_lengths_are_refused() {
        for text in [
            "",
            "0",
            "00",
            "00-",
            "0-12345678901234567890123456789012-1234567890123456-01",
            "000-12345678901234567890123456789012-1234567890123456-01",
            "0000-12345678901234567890123456789012-1234567890123456-01",
            "00-123456789012345678901234567890123-1234567890123456-01",
            "00-1234567890123456789012345678901-1234567890123456-01",
            "00-12345678901234567890123456789012-12345678901234567-01",
            "00-12345678901234567890123456789012-123456789012345-01",
            "00-12345678901234567890123456789012-1234567890123456-001",
            "00-12345678901234567890123456789012-1234567890123456-1",
            "00-12345678901234567890123456789012-1234567890123456-",
            "00-12345678901234567890123456789012-1234567890123456",
        ] {
            assert_eq!(trace_hex(text), None, "{text:?}");
        }
    }

    #[test]
    fn version_ff_is_refused() {
        assert_eq!(trace_hex(&format!("ff-{ID}-1234567890123456-01")), None);
    }

    #[test]
    fn version_00_takes_nothing_after_the_flags() {
        for text in [
            format!("00-{ID}-1234567890123456-01."),
            format!("00-{ID}-1234567890123456-01-what-the-future-will-be-like"),
            format!("00-{ID}-1234567890123456-01-"),
        ] {
            assert_eq!(trace_hex(&text), None, "{text}");
        }
    }

    #[test]
    fn a_higher_version_is_read_by_the_known_layout() {
        for text in [
            format!("cc-{ID}-1234567890123456-01"),
            format!("cc-{ID}-1234567890123456-01-what-the-future-will-be-like"),
            format!("01-{ID}-1234567890123456-01-"),
        ] {
            assert_eq!(trace_hex(&text).as_deref(), Some(ID), "{text}");
        }
        for text in [
            format!("cc-{ID}-1234567890123456-01.what-the-future-will-be-like"),
            format!("cc-{ID}-1234567890123456-0"),
            format!("cc-{ID}-1234567890123456"),
            format!("cc-{ID}-123456789012345-01-what-the-future-will-be-like"),
            format!("cc-{ID}x1234567890123456-01-what-the-future-will-be-like"),
            format!("cc-{ID}-1234567890123456x01-what-the-future-will-be-like"),
            format!("cc-{ID}-0000000000000000-01"),
        ] {
            assert_eq!(trace_hex(&text), None, "{text}");
        }
    }

    #[test]
    fn a_higher_version_is_forwarded_as_version_00() {
        let context = header(&format!("cc-{ID}-1234567890123456-ff-extra")).expect("valid");
        assert_eq!(
            context.header_value(),
            format!("00-{ID}-1234567890123456-01").as_str()
        );
    }

    #[test]
    fn only_the_sampled_flag_is_kept() {
        let context = header(&format!("00-{ID}-1234567890123456-09")).expect("valid");
        assert_eq!(context.flags(), SAMPLED);
        assert!(context.sampled());
        let context = header(&format!("00-{ID}-1234567890123456-fe")).expect("valid");
        assert_eq!(context.flags(), 0);
        assert!(
            context
                .header_value()
                .to_str()
                .is_ok_and(|v| v.ends_with("-00"))
        );
    }

    #[test]
    fn white_space_around_the_value_is_allowed() {
        let value = format!("00-{ID}-1234567890123456-01");
        for text in [
            format!(" {value}"),
            format!("\t{value}"),
            format!("{value} "),
            format!("{value}\t"),
            format!("\t {value} \t"),
        ] {
            assert_eq!(trace_hex(&text).as_deref(), Some(ID), "{text:?}");
        }
        assert_eq!(trace_hex(&format!("00-{ID} -1234567890123456-01")), None);
    }

    #[test]
    fn bytes_beyond_ascii_are_refused_without_panicking() {
        let mut bytes = format!("00-{ID}-1234567890123456-01").into_bytes();
        bytes[10] = 0xe9;
        let value = HeaderValue::from_bytes(&bytes).expect("obs-text is allowed");
        assert_eq!(TraceContext::from_header(&value), None);
        let value = HeaderValue::from_bytes(b"\xff\xfe-").expect("obs-text is allowed");
        assert_eq!(TraceContext::from_header(&value), None);
    }

    #[test]
    fn one_header_or_none() {
        let value = format!("00-{ID}-1234567890123456-01");
        let mut headers = HeaderMap::new();
        assert_eq!(TraceContext::from_headers(&headers), None);
        headers.insert(
            http::header::HeaderName::from_static(TRACEPARENT),
            HeaderValue::from_str(&value).expect("a header value"),
        );
        assert_eq!(
            TraceContext::from_headers(&headers).map(|c| c.trace_id_hex()),
            Some(ID.to_owned())
        );
        headers.append(
            http::header::HeaderName::from_static(TRACEPARENT),
            HeaderValue::from_static("00-12345678901234567890123456789011-1234567890123456-01"),
        );
        assert_eq!(TraceContext::from_headers(&headers), None, "duplicated");
    }

    #[test]
    fn the_header_name_is_matched_in_any_case() {
        let mut headers = HeaderMap::new();
        let name = http::header::HeaderName::from_bytes(b"TrAcEpArEnT").expect("a name");
        headers.insert(
            name,
            HeaderValue::from_str(&format!("00-{ID}-1234567890123456-01")).expect("a value"),
        );
        assert!(TraceContext::from_headers(&headers).is_some());
    }

    #[test]
    fn a_new_trace_has_random_nonzero_ids_and_no_flags() {
        let first = TraceContext::start();
        let second = TraceContext::start();
        assert_ne!(first.trace_id(), second.trace_id());
        assert_ne!(first.parent_id(), second.parent_id());
        assert!(!is_zero(&first.trace_id()) && !is_zero(&first.parent_id()));
        assert_eq!(first.flags(), 0);
        assert_eq!(
            TraceContext::from_header(&first.header_value()),
            Some(first)
        );
    }

    #[test]
    fn a_child_keeps_the_trace_and_flags_with_a_new_span() {
        let caller = header(&format!("00-{ID}-1234567890123456-01")).expect("valid");
        let hop = caller.child();
        assert_eq!(hop.trace_id(), caller.trace_id());
        assert_eq!(hop.flags(), caller.flags());
        assert_ne!(hop.parent_id(), caller.parent_id());
        assert!(!is_zero(&hop.parent_id()));
        let forwarded = hop.header_value();
        let text = forwarded.to_str().expect("ascii");
        assert!(text.starts_with(&format!("00-{ID}-")), "{text}");
        assert!(text.ends_with("-01"), "{text}");
        assert_eq!(TraceContext::from_header(&forwarded), Some(hop));
    }

    proptest! {
        #[test]
        fn every_context_reads_back(
            trace_id in any::<[u8; 16]>().prop_filter("nonzero", |id| !is_zero(id)),
            parent_id in any::<[u8; 8]>().prop_filter("nonzero", |id| !is_zero(id)),
            sampled in any::<bool>(),
        ) {
            let context = TraceContext { trace_id, parent_id, flags: u8::from(sampled) };
            let value = context.header_value();
            prop_assert_eq!(value.len(), LEN);
            prop_assert_eq!(TraceContext::from_header(&value), Some(context));
        }

        #[test]
        fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = parse(&bytes);
        }
    }
}
