//! Hostile input and faults against the real server, on PostgreSQL and on SQLite: limits,
//! malformed requests, a blocked database, a PostgreSQL server that goes away and comes back
//! (through a TCP relay of the test's own, so the shared server is never disturbed), racing
//! writes and graceful shutdown. Everything is on loopback and bounded in count and time.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use common::{Db, Gateway, Reply, on_both, on_postgres, users_spec};
use serde_json::{Value, json};

fn detail(r: &Reply) -> String {
    r.json()["detail"].as_str().unwrap_or_default().to_owned()
}

on_both! {
    /// Every size and count limit answers its status in the API's format, and the gateway goes
    /// on serving.
    fn size_and_count_limits_answer_in_the_api_format(db) {
        let gw = Gateway::start_on(
            db,
            &users_spec(),
            &[
                "--max-body",
                "200",
                "--max-query-params",
                "20",
                "--max-query-bytes",
                "300",
                "--max-json-depth",
                "8",
            ],
        );
        let big = format!(
            r#"{{"username": "a", "email": "a@example.com", "first_name": "{}"}}"#,
            "x".repeat(300)
        );
        let r = gw.json_text("POST", "/api/users/", &big);
        assert_eq!(r.status, 413);
        assert_eq!(detail(&r), "Request body too large.");
        let many: Vec<String> = (0..21).map(|i| format!("p{i}=1")).collect();
        let r = gw.get(&format!("/api/users/?{}", many.join("&")));
        assert_eq!(r.status, 400);
        assert_eq!(detail(&r), "Too many query parameters.");
        let r = gw.get(&format!("/api/users/?search={}", "a".repeat(400)));
        assert_eq!(r.status, 414);
        let deep = format!("{}{}", "[".repeat(9), "]".repeat(9));
        let r = gw.json_text("POST", "/api/users/", &deep);
        assert_eq!(r.status, 400);
        assert_eq!(detail(&r), "JSON parse error - nested deeper than 8 levels");
        let r = gw.send("GET", "/api/users/", &[("X-Big", &"h".repeat(20_000))], b"");
        assert_eq!(r.status, 431);
        let headers: Vec<(String, String)> = (0..120)
            .map(|i| (format!("X-H{i}"), "1".to_owned()))
            .collect();
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(gw.send("GET", "/api/users/", &refs, b"").status, 431);
        assert_eq!(gw.get("/api/users/").status, 200, "still serving");
    }
}

on_both! {
    /// A client that never finishes its headers is disconnected, and one that never finishes its
    /// body gets a 408.
    fn slow_clients_are_cut_off(db) {
        let gw = Gateway::start_on(
            db,
            &users_spec(),
            &["--header-timeout-ms", "300", "--body-timeout-ms", "300"],
        );
        // Headers that never finish: the connection is closed.
        let started = Instant::now();
        let mut stream = TcpStream::connect(&gw.addr).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        stream
            .write_all(b"GET /api/users/ HTTP/1.1\r\nHost: x\r\n")
            .expect("writes");
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf);
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "closed after the header timeout"
        );
        // A body that never finishes: 408 in the API's format.
        let mut stream = TcpStream::connect(&gw.addr).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        stream
            .write_all(b"POST /api/users/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"us")
            .expect("writes");
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stream.read(&mut chunk) {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..n]);
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(
            text.contains("The request body did not arrive in time."),
            "{text}"
        );
        assert_eq!(gw.get("/api/users/").status, 200, "still serving");
    }
}

on_both! {
    /// Malformed bodies, paths, queries and framing get 4xx, never 5xx; SQL-looking text is
    /// stored and matched literally.
    fn malformed_requests_get_4xx_never_5xx(db) {
        let gw = Gateway::users_on(db);
        let id = gw
            .json(
                "POST",
                "/api/users/",
                &json!({"username": "victim", "email": "v@example.com"}),
            )
            .json()["id"]
            .as_i64()
            .unwrap_or(1);
        let json_bodies: Vec<&[u8]> = vec![
            b"{\"username\": \"\\ud800\", \"email\": \"x@example.com\"}",
            b"{\"username\": \xff\xfe}",
            b"{\"username\": \"a\", \"email\": \"b@example.com\", \"first_name\": 1e999999}",
            b"{\"username\": 123456789012345678901234567890123456789, \"email\": \"c@example.com\"}",
            b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            b"\x00\x00\x00",
            b"{\"username\": {\"$gt\": \"\"}, \"email\": [\"a\"]}",
            b"{\"username\": \"x\", \"email\": \"x@example.com\", \"username\": null}",
        ];
        for body in json_bodies {
            let r = gw.send(
                "POST",
                "/api/users/",
                &[("Content-Type", "application/json")],
                body,
            );
            assert!(
                (400..500).contains(&r.status) || r.status == 201,
                "{:?}: {} {}",
                String::from_utf8_lossy(body),
                r.status,
                r.text()
            );
            assert_eq!(r.header("content-type"), Some("application/json"));
        }
        let paths = [
            "/api/users/%FF/".to_owned(),
            "/api/users/%00/".to_owned(),
            "/api/users/18446744073709551616/".to_owned(),
            "/api/users/-9223372036854775808/".to_owned(),
            format!("/api/users/{id}/?username=%FF%FE"),
            "/api/users/?limit=99999999999999999999999&offset=99999999999999999999".to_owned(),
            "/api/users/?search=%ED%A0%80".to_owned(),
            "/api/users/?username__in=%27%3B%20DROP%20TABLE%20users_user%3B%20--".to_owned(),
            "/api/users/?ordering=id;DROP%20TABLE%20users_user".to_owned(),
            "/api/users/?email__gt=%27%20OR%201=1%20--".to_owned(),
            "/%2e%2e/%2e%2e/etc/passwd".to_owned(),
        ];
        for path in &paths {
            let r = gw.get(path);
            assert!(r.status < 500, "{path}: {} {}", r.status, r.text());
        }
        let r = gw.raw(b"POST /api/users/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        assert!(
            (400..500).contains(&r.status),
            "conflicting framing: {}",
            r.status
        );
        // SQL-looking text is stored and matched literally.
        let sly = "Robert'); DROP TABLE users_user; --";
        let r = gw.json(
            "PATCH",
            &format!("/api/users/{id}/"),
            &json!({"first_name": sly}),
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["first_name"], sly);
        assert_eq!(
            gw.sql("SELECT first_name FROM users_user WHERE username = 'victim'"),
            sly
        );
        assert_eq!(
            gw.get("/api/users/?username__in=%27%29%3B%20DROP").json()["count"],
            0
        );
        assert_eq!(
            gw.sql("SELECT count(*) FROM users_user WHERE username = 'victim'"),
            "1",
            "the table is whole"
        );
    }
}

/// A TCP relay to the shared PostgreSQL that the test can cut and restore.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start() -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (flag, streams) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !flag.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect("127.0.0.1:5432") else {
                    continue;
                };
                if let (Ok(c), Ok(s)) = (client.try_clone(), server.try_clone())
                    && let Ok(mut list) = streams.lock()
                {
                    list.push(c);
                    list.push(s);
                }
                pipe(&client, &server);
                pipe(&server, &client);
            }
        });
        Relay { port, up, open }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        if let Ok(mut list) = self.open.lock() {
            for stream in list.drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn pipe(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
    });
}

on_postgres! {
    /// When the PostgreSQL server goes away, every request is a quick 503 with `Retry-After`, and
    /// the gateway recovers by itself when the server is back. PostgreSQL only: the outage is cut
    /// in the test's own TCP relay to the server, and SQLite has no server to lose.
    fn a_database_outage_is_a_503_and_the_gateway_recovers_on_its_own() {
        let relay = Relay::start();
        let server = format!("postgres://postgres@127.0.0.1:{}", relay.port);
        let gw = Gateway::start_via(&users_spec(), &server, &["--pool-timeout-ms", "1000"]);
        let made = gw.json(
            "POST",
            "/api/users/",
            &json!({"username": "before", "email": "before@example.com"}),
        );
        assert_eq!(made.status, 201);
        let id = made.json()["id"].as_i64().unwrap_or_default();
        assert_eq!(gw.get("/ready").status, 200);

        relay.cut();
        let mut sent = 0;
        for path in [
            format!("/api/users/{id}/"),
            "/api/users/".to_owned(),
            "/ready".to_owned(),
        ] {
            let started = Instant::now();
            let r = gw.get(&path);
            sent += 1;
            assert_eq!(r.status, 503, "{path}: {}", r.text());
            assert_eq!(r.header("retry-after"), Some("5"));
            assert!(!detail(&r).is_empty());
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "answered without hanging"
            );
        }
        let r = gw.json(
            "POST",
            "/api/users/",
            &json!({"username": "during", "email": "during@example.com"}),
        );
        assert_eq!(r.status, 503);

        relay.restore();
        let deadline = Instant::now() + Duration::from_secs(15);
        while gw.get("/ready").status != 200 {
            assert!(Instant::now() < deadline, "recovered within 15 s");
            std::thread::sleep(Duration::from_millis(200));
            sent += 1;
        }
        let r = gw.get(&format!("/api/users/{id}/"));
        assert_eq!(r.status, 200, "the row written before the outage is there");
        let r = gw.json(
            "POST",
            "/api/users/",
            &json!({"username": "after", "email": "after@example.com"}),
        );
        assert_eq!(r.status, 201);
        assert_eq!(
            gw.sql("SELECT string_agg(username, ',' ORDER BY id) FROM users_user"),
            "before,after"
        );
        assert!(sent < 100);
    }
}

on_both! {
    /// Concurrent PUTs and PATCHes of one row leave one request's values, never a mix, and a
    /// DELETE racing a PATCH wins cleanly.
    fn concurrent_writes_to_one_row_never_mix(db) {
        let gw = Gateway::users_on(db);
        let id = gw
            .json(
                "POST",
                "/api/users/",
                &json!({"username": "shared", "email": "shared@example.com"}),
            )
            .json()["id"]
            .as_i64()
            .unwrap_or_default();
        let path = format!("/api/users/{id}/");
        let replies: Vec<Reply> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|i| {
                    let (gw, path) = (&gw, &path);
                    s.spawn(move || {
                        let body = json!({"username": "shared", "email": "shared@example.com", "first_name": format!("f{i}"), "last_name": format!("l{i}")});
                        gw.json(if i % 2 == 0 { "PUT" } else { "PATCH" }, path, &body)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        assert!(replies.iter().all(|r| r.status == 200));
        let row = gw.sql(&format!(
            "SELECT first_name || ' ' || last_name FROM users_user WHERE id = {id}"
        ));
        let (first, last) = row.split_once(' ').unwrap_or_default();
        assert_eq!(
            first.trim_start_matches('f'),
            last.trim_start_matches('l'),
            "one request's values, not a mix: {row}"
        );
        let races: Vec<u16> = std::thread::scope(|s| {
            let a = s.spawn(|| gw.send("DELETE", &path, &[], b"").status);
            let b = s.spawn(|| {
                gw.json("PATCH", &path, &json!({"first_name": "late"}))
                    .status
            });
            vec![a.join().unwrap_or(0), b.join().unwrap_or(0)]
        });
        assert_eq!(races[0], 204);
        assert!(races[1] == 200 || races[1] == 404, "{races:?}");
        assert_eq!(
            gw.sql(&format!("SELECT count(*) FROM users_user WHERE id = {id}")),
            "0"
        );
    }
}

on_both! {
    /// On SIGTERM, in-flight creates finish and are stored, later connections are refused, and
    /// the process exits cleanly.
    fn sigterm_finishes_in_flight_requests_and_loses_nothing(db) {
        let mut gw = Gateway::users_on(db);
        let replies: Vec<Reply> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..24)
                .map(|i| {
                    let gw = &gw;
                    s.spawn(move || {
                        std::thread::sleep(Duration::from_millis(2 * i));
                        let body = json!({"username": format!("u{i}"), "email": format!("u{i}@example.com")});
                        let bytes = serde_json::to_vec(&body).unwrap_or_default();
                        let head = format!("POST /api/users/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", bytes.len());
                        match TcpStream::connect(&gw.addr) {
                            Ok(mut stream) => {
                                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                                let _ = stream.write_all(&[head.as_bytes(), &bytes].concat());
                                let mut answer = Vec::new();
                                let _ = stream.read_to_end(&mut answer);
                                parse_status(&answer)
                            }
                            Err(_) => Reply { status: 0, headers: Vec::new(), body: Vec::new() },
                        }
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_millis(20));
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &gw.pid().to_string()])
                .status();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        assert_eq!(
            gw.terminate(Duration::from_secs(15)),
            Some(true),
            "exits cleanly"
        );
        let created: Vec<String> = replies
            .iter()
            .filter(|r| r.status == 201)
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .filter_map(|v| v["username"].as_str().map(str::to_owned))
            .collect();
        for name in &created {
            assert_eq!(
                gw.sql(&format!(
                    "SELECT count(*) FROM users_user WHERE username = '{name}'"
                )),
                "1",
                "{name} was answered 201"
            );
        }
        assert!(
            replies.iter().all(|r| r.status == 201 || r.status == 0),
            "in-flight requests finish; later ones are refused at connect"
        );
    }
}

fn parse_status(answer: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .as_bytes()
        .to_vec();
    Reply {
        status,
        headers: Vec::new(),
        body,
    }
}

on_both! {
    /// A database that cannot serve (a table lock on PostgreSQL, a write lock held elsewhere
    /// on SQLite) gives bounded waits and then 503, never a hang.
    fn a_blocked_database_gives_bounded_waits_then_503(db) {
        match db {
            Db::Postgres => blocked_postgres(),
            Db::Sqlite => blocked_sqlite(),
        }
    }
}

/// PostgreSQL: with one connection, a statement waiting on a table lock is cancelled at the
/// statement timeout (503), and a request pipelined behind it on the same connection waits for
/// that, then for its own statement's timeout (503): every wait is bounded by the statement
/// timeout, one per statement ahead.
fn blocked_postgres() {
    let gw = Gateway::start_on(
        Db::Postgres,
        &users_spec(),
        &[
            "--max-connections",
            "1",
            "--pool-timeout-ms",
            "300",
            "--statement-timeout-ms",
            "1500",
        ],
    );
    assert_eq!(gw.get("/api/users/").status, 200);
    // Another session holds the table for a few seconds.
    let database = gw.database.clone();
    let locker = std::thread::spawn(move || {
        common::psql(
            &database,
            "BEGIN; LOCK TABLE users_user IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;",
        )
    });
    // Wait until the lock is held (a fixed sleep is not enough on a loaded machine).
    let deadline = Instant::now() + Duration::from_secs(3);
    while gw.sql(
        "SELECT count(*) FROM pg_locks WHERE relation = 'users_user'::regclass AND granted \
         AND mode = 'AccessExclusiveLock'",
    ) != "1"
    {
        assert!(Instant::now() < deadline, "the lock was taken within 3 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| {
            let started = Instant::now();
            (gw.get("/api/users/"), started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(100));
        let second = s.spawn(|| {
            let started = Instant::now();
            (gw.get("/api/users/"), started.elapsed())
        });
        (first.join(), second.join())
    });
    let (first, first_took) = first.unwrap_or_else(|_| panic!("first request thread"));
    let (second, second_took) = second.unwrap_or_else(|_| panic!("second request thread"));
    assert_eq!(
        second.status,
        503,
        "queued behind the blocked statement, then blocked itself: {}",
        second.text()
    );
    assert!(
        second_took < Duration::from_millis(4500),
        "waited {second_took:?}"
    );
    assert_eq!(
        first.status,
        503,
        "the statement timed out: {}",
        first.text()
    );
    assert!(
        first_took < Duration::from_millis(3000),
        "took {first_took:?}"
    );
    let _ = locker.join();
    assert_eq!(gw.get("/api/users/").status, 200, "serving again");
}

/// SQLite: while another connection holds the write lock (`BEGIN IMMEDIATE`), a write waits
/// at most about the statement timeout (the busy timeout) and then answers 503, reads go on
/// (WAL), and writes succeed again once the lock is released.
fn blocked_sqlite() {
    let gw = Gateway::start_on(
        Db::Sqlite,
        &users_spec(),
        &["--pool-timeout-ms", "300", "--statement-timeout-ms", "1500"],
    );
    let made = gw.json(
        "POST",
        "/api/users/",
        &json!({"username": "before", "email": "before@example.com"}),
    );
    assert_eq!(made.status, 201, "{}", made.text());
    let id = made.json()["id"].as_i64().unwrap_or_default();
    let path = gw
        .sqlite_path()
        .expect("a gateway on SQLite has a file")
        .to_owned();
    let (locked, lock_taken) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let locker = std::thread::spawn(move || {
        common::runtime().block_on(async {
            let mut conn = common::sqlite_connect(&path).await;
            sqlx::raw_sql("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .await
                .expect("takes the write lock");
            let _ = locked.send(());
            let _ = released.recv_timeout(Duration::from_secs(20));
            sqlx::raw_sql("ROLLBACK")
                .execute(&mut conn)
                .await
                .expect("releases the write lock");
        });
    });
    lock_taken
        .recv_timeout(Duration::from_secs(10))
        .expect("the test holds the write lock");

    let started = Instant::now();
    let r = gw.json(
        "POST",
        "/api/users/",
        &json!({"username": "during", "email": "during@example.com"}),
    );
    let create_took = started.elapsed();
    assert_eq!(
        r.status,
        503,
        "the write could not get the lock: {}",
        r.text()
    );
    assert_eq!(r.header("retry-after"), Some("5"));
    assert!(!detail(&r).is_empty());
    // The busy timeout is the statement timeout (1.5 s): it waited for the lock, then gave up.
    assert!(
        create_took > Duration::from_millis(1000) && create_took < Duration::from_millis(3000),
        "a create waited {create_took:?}"
    );
    let started = Instant::now();
    let r = gw.json(
        "PATCH",
        &format!("/api/users/{id}/"),
        &json!({"first_name": "during"}),
    );
    let update_took = started.elapsed();
    assert_eq!(
        r.status,
        503,
        "the write could not get the lock: {}",
        r.text()
    );
    assert!(
        update_took > Duration::from_millis(1000) && update_took < Duration::from_millis(3000),
        "an update waited {update_took:?}"
    );

    let started = Instant::now();
    let list = gw.get("/api/users/");
    let one = gw.get(&format!("/api/users/{id}/"));
    let reads_took = started.elapsed();
    assert_eq!(list.status, 200, "reads go on: {}", list.text());
    assert_eq!(list.json()["count"], 1);
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(
        one.json()["first_name"],
        "",
        "the refused update wrote nothing"
    );
    assert!(
        reads_took < Duration::from_millis(1000),
        "reads took {reads_took:?}"
    );

    let _ = release.send(());
    locker.join().expect("the locking thread");
    let r = gw.json(
        "POST",
        "/api/users/",
        &json!({"username": "after", "email": "after@example.com"}),
    );
    assert_eq!(r.status, 201, "writing again: {}", r.text());
    assert_eq!(
        gw.sql("SELECT username FROM users_user ORDER BY id"),
        "before\nafter"
    );
}

on_both! {
    /// A number beyond the double range is a field error for any field, text or number, and
    /// nothing is stored (the original stored the text "inf" for a text field).
    fn numbers_beyond_the_double_range_are_refused(db) {
        let gw = Gateway::users_on(db);
        let huge_int = format!("1{}", "0".repeat(400));
        for (body, field) in [
            (r#"{"username": 1e400, "email": "big1@example.com"}"#.to_owned(), "username"),
            (
                r#"{"username": "big2", "email": "big2@example.com", "first_name": -1E+400}"#
                    .to_owned(),
                "first_name",
            ),
            (
                format!(r#"{{"username": "big3", "email": "big3@example.com", "last_name": {huge_int}}}"#),
                "last_name",
            ),
        ] {
            let r = gw.json_text("POST", "/api/users/", &body);
            assert_eq!(r.status, 400, "{body}: {}", r.text());
            assert_eq!(
                r.json(),
                json!({ field: ["Ensure this number is within the double range."] }),
                "{body}"
            );
        }
        let r = gw.json_text(
            "PATCH",
            "/api/users/1/",
            r#"{"first_name": 1e400}"#,
        );
        assert_eq!(r.status, 404, "{}", r.text());
        assert_eq!(gw.get("/api/users/").json()["count"], 0);
        // The largest doubles are still numbers, shaped as Python prints them.
        let r = gw.json_text(
            "POST",
            "/api/users/",
            r#"{"username": "big4", "email": "big4@example.com", "first_name": 1.7e308}"#,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["first_name"], "1.7e+308");
        let id = r.json()["id"].as_i64().unwrap_or_default();
        let r = gw.json_text("PATCH", &format!("/api/users/{id}/"), r#"{"first_name": 1e999}"#);
        assert_eq!(r.status, 400, "{}", r.text());
        let r = gw.get(&format!("/api/users/{id}/"));
        assert_eq!(r.json()["first_name"], "1.7e+308");

        let books = Gateway::books_on(db);
        let r = books.json_text(
            "POST",
            "/library/books/",
            r#"{"title": "Big", "isbn": "9780000000001", "pages": 1e400}"#,
        );
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json(), json!({"pages": ["Beyond the double range."]}));
        assert_eq!(books.get("/library/books/").json()["count"], 0);
    }
}

on_both! {
    /// Bytes that are not UTF-8 once percent-decoded, anywhere in the query (a search, a
    /// filter value, a parameter's name, on list and detail routes), are a 400 with a detail,
    /// not a search for replacement characters.
    fn invalid_utf8_in_the_query_is_a_400(db) {
        let gw = Gateway::users_on(db);
        gw.sql("INSERT INTO users_user (username, email) VALUES ('\u{e9}lodie', 'e@example.com')");
        for path in [
            "/api/users/?search=%ff%fe",
            "/api/users/?username=%C3",
            "/api/users/?%ff=1",
            "/api/users/?limit=2&ordering=%80",
            "/api/users/1/?search=%ff",
        ] {
            let r = gw.get(path);
            assert_eq!(r.status, 400, "{path}: {}", r.text());
            assert_eq!(
                detail(&r),
                "The query string is not valid UTF-8 once percent-decoded.",
                "{path}"
            );
        }
        let r = gw.json_text("PATCH", "/api/users/1/?x=%fe", r#"{"first_name": "x"}"#);
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(gw.get("/api/users/1/").json()["first_name"], "");
        let r = gw.get("/api/users/?search=%C3%A9lo");
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["count"], 1);
    }
}
