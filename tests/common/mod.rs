//! Test harness: a real `specgate` process on its own fresh PostgreSQL database, spoken to
//! over real HTTP/1.1 on loopback. Each test starts its own, so tests run in parallel and
//! own their data.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The PostgreSQL server the tests use (trust auth).
pub const PG: &str = "postgres://postgres@127.0.0.1:5432";

/// The project's own spec folder (routes.yaml at the top level).
pub fn users_spec() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture resource's spec folder.
pub fn books_spec() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/books")
}

/// A private copy of a spec folder (routes.yaml, schemas/, migrations/) to edit.
pub fn copy_spec(from: &Path, name: &str) -> PathBuf {
    let to = std::env::temp_dir().join(format!("specgate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&to);
    for dir in ["schemas", "migrations"] {
        std::fs::create_dir_all(to.join(dir)).expect("mkdir");
        for entry in std::fs::read_dir(from.join(dir)).expect("reads") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), to.join(dir).join(entry.file_name())).expect("copies");
        }
    }
    std::fs::copy(from.join("routes.yaml"), to.join("routes.yaml")).expect("copies");
    to
}

/// Replaces the first `from` in a file with `to` (which must be there).
pub fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("reads");
    assert!(text.contains(from), "{} has {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).expect("writes");
}

/// Runs SQL on a database with psql; panics with psql's message on failure.
pub fn psql(database: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &format!("{PG}/{database}"),
            "-c",
            sql,
        ])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A running gateway on its own database; both go away when dropped.
pub struct Gateway {
    child: Child,
    /// Where it listens.
    pub addr: String,
    /// Its database's name.
    pub database: String,
}

impl Gateway {
    /// Starts the Users API.
    pub fn users() -> Gateway {
        Gateway::start(&users_spec(), &[])
    }

    /// Starts the gateway on `spec` with extra arguments.
    pub fn start(spec: &Path, extra: &[&str]) -> Gateway {
        Gateway::start_via(spec, PG, extra)
    }

    /// Starts the gateway reaching PostgreSQL at `server` (e.g. through a relay).
    pub fn start_via(spec: &Path, server: &str, extra: &[&str]) -> Gateway {
        let database = format!(
            "specgate_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let url = format!("{server}/{database}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_specgate"))
            .args(["--listen", "127.0.0.1:0", "--spec"])
            .arg(spec)
            .args([
                "--database-url",
                &url,
                "--log",
                "warn",
                "--max-connections",
                "4",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("specgate starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reads the listening line");
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(!addr.is_empty(), "specgate did not start: {line:?}");
        Gateway {
            child,
            addr,
            database,
        }
    }

    /// The gateway's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (at most `limit`) for the process to exit; its success.
    pub fn terminate(&mut self, limit: Duration) -> Option<bool> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.success());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Runs SQL on this gateway's database.
    pub fn sql(&self, sql: &str) -> String {
        psql(&self.database, sql)
    }

    /// Sends a request; `headers` are extra header lines, `body` is sent as is.
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        self.raw(&[head.as_bytes(), body].concat())
    }

    /// Sends raw bytes and reads the whole answer.
    pub fn raw(&self, bytes: &[u8]) -> Reply {
        let mut stream = TcpStream::connect(&self.addr).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("sets timeout");
        stream.write_all(bytes).expect("writes");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        Reply::parse(&answer)
    }

    /// GET with no extra headers.
    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], b"")
    }

    /// A method with a JSON body.
    pub fn json(&self, method: &str, path: &str, body: &Value) -> Reply {
        let bytes = serde_json::to_vec(body).expect("serializes");
        self.send(
            method,
            path,
            &[("Content-Type", "application/json")],
            &bytes,
        )
    }

    /// A method with a raw JSON text body.
    pub fn json_text(&self, method: &str, path: &str, body: &str) -> Reply {
        self.send(
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("psql")
            .args(["-X", "-q", "-d", &format!("{PG}/postgres"), "-c"])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.database
            ))
            .output();
    }
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Header lines, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Reply {
    fn parse(bytes: &[u8]) -> Reply {
        let split = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete response head");
        let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut body = bytes[split + 4..].to_vec();
        if headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
        {
            body = dechunk(&body);
        }
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The value of a header, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&body[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&body[end + 2..end + 2 + size]);
        body = &body[end + 4 + size..];
    }
    out
}
