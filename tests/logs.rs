//! The access log as a client's operator reads it: one JSON object per line with
//! `--log-format json`, carrying the request id sent back to the client and the W3C trace
//! id (the client's, or a new one).

mod common;

use common::{Gateway, on_both, users_spec};
use serde_json::Value;

/// The access-log lines (message "request") of a JSON log file.
fn access_lines(log: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(log).expect("reads the log");
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|v| v["fields"]["message"] == "request")
        .collect()
}

on_both! {
    /// The client's trace id is logged with the request id it got back; a request without
    /// one gets a trace of its own.
    fn the_access_log_carries_request_and_trace_ids(db) {
        let (gw, log) = Gateway::start_logged(
            db,
            &users_spec(),
            &["--log-format", "json", "--log", "info"],
        );
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        let traced = gw.send(
            "GET",
            "/api/users/",
            &[("traceparent", &format!("00-{trace}-00f067aa0ba902b7-01"))],
            b"",
        );
        let untraced = gw.get("/api/users/1/");
        let ids = [traced.header("x-request-id"), untraced.header("x-request-id")];
        // The log line is written once the response is ready; give it a moment.
        let mut lines = Vec::new();
        for _ in 0..50 {
            lines = access_lines(&log);
            if lines.len() >= 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = std::fs::remove_file(&log);
        assert_eq!(lines.len(), 2, "{lines:?}");
        let fields = |i: usize| &lines[i]["fields"];
        assert_eq!(fields(0)["request_id"].as_str(), ids[0]);
        assert_eq!(fields(0)["trace_id"], trace);
        assert_eq!(fields(0)["route"], "/api/users/");
        assert_eq!(fields(0)["status"], 200);
        assert_eq!(fields(1)["request_id"].as_str(), ids[1]);
        assert_eq!(fields(1)["status"], 404);
        let fresh = fields(1)["trace_id"].as_str().unwrap_or_default();
        assert!(fresh.len() == 32 && fresh != trace && fresh.bytes().all(|b| b.is_ascii_hexdigit()), "{fresh}");
    }
}
