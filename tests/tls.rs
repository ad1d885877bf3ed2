//! TLS both ways, against real servers. To PostgreSQL: private PostgreSQL clusters this
//! file starts (one with `ssl = on`, a certificate for `localhost` made here and pg_hba
//! refusing plain text; one with `ssl = off`), reached under each `sslmode` by `check`,
//! `migrate` and `serve`. For clients: the Users API served with `--tls-cert`/`--tls-key`,
//! spoken to by curl with `--cacert` over HTTP/1.1 and HTTP/2, its certificate swapped on
//! disk and on SIGHUP.
//!
//! The PostgreSQL half needs the PostgreSQL server binaries (`/usr/lib/postgresql/*/bin`)
//! and root (the cluster runs as `postgres`); without them it is skipped with a line on
//! stderr, unless `SPECGATE_TEST_POSTGRES=required`.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use common::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::{Value, json};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A fresh folder under the temporary folder, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "specgate-tls-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creates the scratch folder");
        Scratch(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("writes the file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A certificate authority made for one test.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().expect("a CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let pem = params.self_signed(&key).expect("a CA certificate").pem();
        Ca {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// A server certificate for `names` (DNS names only), and its key, both PEM.
    fn server(&self, names: &[&str], subject: &str) -> (String, String) {
        let key = KeyPair::generate().expect("a server key");
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("server params");
        params.distinguished_name.push(DnType::CommonName, subject);
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        (cert.pem(), key.serialize_pem())
    }
}

// --- PostgreSQL -------------------------------------------------------------------------

/// The folder of the PostgreSQL server binaries, if installed; `None` skips the test (a
/// line on stderr), or fails it when `SPECGATE_TEST_POSTGRES=required`.
fn pg_bin(test: &str) -> Option<PathBuf> {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .find(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists());
    if found.is_none() {
        let required = std::env::var(PG_REQUIRED).is_ok_and(|v| v == "required");
        assert!(
            !required,
            "{test}: no PostgreSQL server binaries and {PG_REQUIRED}=required"
        );
        eprintln!("{test}: skipped, no PostgreSQL server binaries under /usr/lib/postgresql");
    }
    found
}

/// A private PostgreSQL cluster on a free loopback port, stopped and removed on drop.
struct Cluster {
    bin: PathBuf,
    folder: Scratch,
    port: u16,
    /// The root the server's certificate chains to (an `ssl = on` cluster).
    ca_file: Option<PathBuf>,
}

/// Runs `program args` as the `postgres` user.
fn as_postgres(program: &Path, args: &[&str]) -> Output {
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(program)
        .args(args)
        .output()
        .expect("runuser runs")
}

impl Cluster {
    /// `ssl = on` with a certificate for `localhost` and only TLS connections let in over
    /// TCP, or `ssl = off`.
    fn start(bin: &Path, ssl: bool) -> Cluster {
        let folder = Scratch::new("pg");
        let data = folder.0.join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let chown = |path: &Path| {
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(path)
                .status()
                .expect("chown runs");
        };
        chown(&folder.0);
        let data_arg = data.to_string_lossy().into_owned();
        let made = as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                &data_arg,
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        );
        assert!(made.status.success(), "initdb: {made:?}");
        let mut ca_file = None;
        let mut conf = format!(
            "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\nmax_connections = 40\n",
            folder.0.display()
        );
        let hba = if ssl {
            let ca = Ca::new("specgate test PostgreSQL CA");
            let (cert, key) = ca.server(&["localhost"], "localhost");
            std::fs::write(data.join("server.crt"), cert).expect("writes the certificate");
            std::fs::write(data.join("server.key"), key).expect("writes the key");
            ca_file = Some(folder.write("ca.pem", &ca.pem));
            conf.push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n\
             hostnossl all all 0.0.0.0/0 reject\n"
        } else {
            conf.push_str("ssl = off\n");
            "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        };
        let conf_file = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_file).expect("reads postgresql.conf");
        text.push_str(&conf);
        std::fs::write(&conf_file, text).expect("writes postgresql.conf");
        std::fs::write(data.join("pg_hba.conf"), hba).expect("writes pg_hba.conf");
        chown(&data);
        let key = data.join("server.key");
        if key.exists() {
            std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .expect("key mode");
        }
        let cluster = Cluster {
            bin: bin.to_owned(),
            folder,
            port,
            ca_file,
        };
        let log = cluster.folder.0.join("log").to_string_lossy().into_owned();
        let started = as_postgres(
            &bin.join("pg_ctl"),
            &["-D", &data_arg, "-l", &log, "-w", "-t", "60", "start"],
        );
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            started.status.success(),
            "pg_ctl start: {started:?}\n{log_text}"
        );
        cluster
    }

    /// The cluster this test process shares while any test holds it (one initdb, not one
    /// per test; each test makes its own database in it).
    fn shared(slot: &'static Mutex<Weak<Cluster>>, bin: &Path, ssl: bool) -> Arc<Cluster> {
        let mut held = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cluster) = held.upgrade() {
            return cluster;
        }
        let cluster = Arc::new(Cluster::start(bin, ssl));
        *held = Arc::downgrade(&cluster);
        cluster
    }

    /// A URL for a fresh database on `host` (`localhost` or `127.0.0.1`) with `query`.
    fn url(&self, host: &str, query: &str) -> (String, String) {
        let database = format!(
            "tls_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let url = format!(
            "postgres://postgres@{host}:{}/{database}?{query}",
            self.port
        );
        (url, database)
    }

    fn ca(&self) -> String {
        let ca = self.ca_file.as_ref().expect("an ssl = on cluster");
        ca.to_string_lossy().into_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.folder.0.join("data").to_string_lossy().into_owned();
        as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", &data, "-m", "immediate", "stop"],
        );
    }
}

static SSL_ON: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
static SSL_OFF: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());

/// Runs `specgate COMMAND` on the Users API against `url`: success, stdout then stderr.
fn specgate(command: &str, url: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_specgate"))
        .arg(command)
        .arg("--spec")
        .arg(users_spec())
        .args([
            "--database-url",
            url,
            "--listen",
            "127.0.0.1:0",
            "--log",
            "warn",
        ])
        .output()
        .expect("specgate runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn check_url(url: &str) -> (bool, String) {
    check(&users_spec(), &["--database-url", url], &[])
}

/// A migrated database on `cluster` reached with `query` (the migrations run on sqlx over
/// the same TLS); its URL for `host`.
fn migrated(cluster: &Cluster, query: &str) -> String {
    let (url, _) = cluster.url("localhost", query);
    let (ok, text) = specgate("migrate", &url);
    assert!(ok, "migrate with {query}: {text}");
    url
}

#[test]
fn verify_full_with_the_right_root_serves_the_users_api() {
    let Some(bin) = pg_bin("verify_full_with_the_right_root_serves_the_users_api") else {
        return;
    };
    let cluster = Cluster::shared(&SSL_ON, &bin, true);
    let query = format!("sslmode=verify-full&sslrootcert={}", cluster.ca());
    let (url, database) = cluster.url("localhost", &query);
    // `serve` creates the database, migrates it (sqlx) and serves it (tokio-postgres), all
    // over verified TLS.
    let gw = Gateway::start_url(&users_spec(), &url, &database, &[]);
    let body = json!({"username": "tls_user", "email": "tls@example.com"});
    let created = gw.json("POST", "/api/users/", &body);
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].clone();
    let read = gw.get(&format!("/api/users/{id}/"));
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(read.json()["username"], "tls_user");
    let (ok, text) = check_url(&url);
    assert!(ok, "{text}");
}

#[test]
fn verify_full_refuses_a_host_the_certificate_is_not_for() {
    let Some(bin) = pg_bin("verify_full_refuses_a_host_the_certificate_is_not_for") else {
        return;
    };
    let cluster = Cluster::shared(&SSL_ON, &bin, true);
    let query = format!("sslmode=verify-full&sslrootcert={}", cluster.ca());
    let (url, _) = cluster.url("127.0.0.1", &query);
    let said = "certificate for localhost does not match host 127.0.0.1";
    let (ok, text) = check_url(&url);
    assert!(!ok && text.contains(said), "check: {text}");
    for command in ["serve", "migrate"] {
        let (ok, text) = specgate(command, &url);
        assert!(!ok && text.contains(said), "{command}: {text}");
    }
}

#[test]
fn verify_ca_checks_the_chain_and_not_the_name() {
    let Some(bin) = pg_bin("verify_ca_checks_the_chain_and_not_the_name") else {
        return;
    };
    let cluster = Cluster::shared(&SSL_ON, &bin, true);
    let right = format!("sslmode=verify-ca&sslrootcert={}", cluster.ca());
    let url = migrated(&cluster, &right);
    // Through 127.0.0.1, which the certificate does not name: verify-ca does not mind.
    let by_address = url.replace("@localhost:", "@127.0.0.1:");
    let (ok, text) = check_url(&by_address);
    assert!(ok, "{text}");
    let other = Scratch::new("other-ca");
    let wrong = other.write("ca.pem", &Ca::new("another CA").pem);
    let wrong_url = by_address.replace(&cluster.ca(), &wrong.to_string_lossy());
    let (ok, text) = check_url(&wrong_url);
    let said = format!(
        "is not signed by a root certificate in sslrootcert {}",
        wrong.display()
    );
    assert!(!ok && text.contains(&said), "{text}");
    let (ok, text) = specgate("serve", &wrong_url);
    assert!(!ok && text.contains(&said), "serve: {text}");
}

#[test]
fn require_encrypts_without_verifying_and_disable_is_refused_by_a_tls_only_server() {
    let Some(bin) = pg_bin("require_encrypts_without_verifying") else {
        return;
    };
    let cluster = Cluster::shared(&SSL_ON, &bin, true);
    // No root certificate at all: require and prefer encrypt, and check nothing.
    let url = migrated(&cluster, "sslmode=require");
    let (ok, text) = check_url(&url);
    assert!(ok, "require: {text}");
    let (ok, text) = check_url(&url.replace("sslmode=require", "sslmode=prefer"));
    assert!(ok, "prefer: {text}");
    // pg_hba lets no plain-text connection in: the server's own words.
    let (ok, text) = check_url(&url.replace("sslmode=require", "sslmode=disable"));
    assert!(!ok && text.contains("no encryption"), "disable: {text}");
}

#[test]
fn a_plaintext_server_is_refused_under_require_and_used_under_prefer_and_disable() {
    let Some(bin) = pg_bin("a_plaintext_server_is_refused_under_require") else {
        return;
    };
    let cluster = Cluster::shared(&SSL_OFF, &bin, false);
    let url = migrated(&cluster, "sslmode=prefer");
    let (ok, text) = check_url(&url.replace("sslmode=prefer", "sslmode=disable"));
    assert!(ok, "disable: {text}");
    let (ok, text) = check_url(&url);
    assert!(ok, "prefer: {text}");
    for mode in ["require", "verify-full"] {
        let strict = url.replace("sslmode=prefer", &format!("sslmode={mode}"));
        let (ok, text) = check_url(&strict);
        let said = format!(
            "the server at localhost:{} does not offer TLS, but sslmode={mode}",
            cluster.port
        );
        assert!(!ok && text.contains(&said), "{mode}: {text}");
    }
    let (ok, text) = specgate("serve", &url.replace("sslmode=prefer", "sslmode=require"));
    assert!(!ok && text.contains("does not offer TLS"), "serve: {text}");
}

// --- Clients ----------------------------------------------------------------------------

/// The files a TLS gateway serves from, and the CA that signed them.
struct Served {
    folder: Scratch,
    cert: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

impl Served {
    fn new() -> Served {
        let folder = Scratch::new("served");
        let ca = Ca::new("specgate test CA one");
        let (cert, key) = ca.server(&["localhost"], "first");
        Served {
            cert: folder.write("cert.pem", &cert),
            key: folder.write("key.pem", &key),
            ca: folder.write("ca.pem", &ca.pem),
            folder,
        }
    }

    /// A new pair from a new CA, written over the served files; that CA's file.
    fn replace(&self, name: &str) -> PathBuf {
        let ca = Ca::new(&format!("{name} CA"));
        let (cert, key) = ca.server(&["localhost"], name);
        // The key first: a reload between the two writes sees a mismatched pair, refuses it,
        // and the second write's event reloads again.
        std::fs::write(&self.key, key).expect("writes the key");
        std::fs::write(&self.cert, cert).expect("writes the certificate");
        self.folder.write(&format!("{name}.pem"), &ca.pem)
    }

    fn args(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.cert.to_string_lossy().into_owned(),
            "--tls-key".into(),
            self.key.to_string_lossy().into_owned(),
        ]
    }

    fn start(&self, extra: &[&str]) -> Gateway {
        let args = self.args();
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend_from_slice(extra);
        Gateway::start_on(Db::Sqlite, &users_spec(), &all)
    }
}

/// curl to `https://localhost:PORT{path}` (resolved to the gateway's loopback address),
/// trusting `ca`: whether it succeeded, and its stdout then stderr.
fn curl(gw: &Gateway, ca: &Path, path: &str, args: &[&str]) -> (bool, String) {
    let port = gw.addr.rsplit(':').next().unwrap_or_default();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "5", "--cacert"])
        .arg(ca)
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .args(args)
        .arg(format!("https://localhost:{port}{path}"))
        .output()
        .expect("curl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Whether `ready` turns true within five seconds.
fn eventually(mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn serves_http1_and_http2_to_a_client_trusting_its_ca() {
    let served = Served::new();
    let gw = served.start(&[]);
    for (flag, version) in [("--http1.1", "1.1"), ("--http2", "2")] {
        let (ok, text) = curl(
            &gw,
            &served.ca,
            "/api/users/",
            &[
                flag,
                "-o",
                "/dev/null",
                "-w",
                "%{http_version} %{http_code}",
            ],
        );
        assert!(ok, "{flag}: {text}");
        assert_eq!(text, format!("{version} 200"), "{flag}");
    }
    // A client that does not trust the CA is refused by its own checks.
    let other = served
        .folder
        .write("other.pem", &Ca::new("not the one").pem);
    let (ok, _) = curl(&gw, &other, "/api/users/", &[]);
    assert!(!ok, "a client with another CA connected");
}

#[test]
fn links_in_list_pages_say_https() {
    let served = Served::new();
    let gw = served.start(&[]);
    for n in 0..2 {
        let body = format!(r#"{{"username": "u{n}", "email": "u{n}@example.com"}}"#);
        let (ok, text) = curl(
            &gw,
            &served.ca,
            "/api/users/",
            &["-H", "Content-Type: application/json", "--data", &body],
        );
        assert!(ok, "{text}");
    }
    let (ok, text) = curl(&gw, &served.ca, "/api/users/?limit=1", &[]);
    assert!(ok, "{text}");
    let page: Value = serde_json::from_str(&text).expect("a JSON page");
    let port = gw.addr.rsplit(':').next().unwrap_or_default();
    let next = page["next"].as_str().unwrap_or_default();
    assert!(
        next.starts_with(&format!("https://localhost:{port}/api/users/?")),
        "{page}"
    );
}

#[test]
fn a_certificate_changed_on_disk_is_served_and_a_broken_one_keeps_the_old() {
    let served = Served::new();
    let gw = served.start(&[]);
    let second = served.replace("second");
    let mut last = String::new();
    let picked_up = eventually(|| {
        let (ok, text) = curl(&gw, &second, "/api/users/", &[]);
        last = text;
        ok
    });
    assert!(picked_up, "the new certificate was not served: {last}");
    let (ok, _) = curl(&gw, &served.ca, "/api/users/", &[]);
    assert!(!ok, "the old certificate is still served");
    std::fs::write(&served.cert, "not a certificate").expect("breaks the file");
    // Long enough for the watcher's quiet period and the reload it refuses.
    std::thread::sleep(Duration::from_millis(800));
    let (ok, text) = curl(&gw, &second, "/api/users/", &[]);
    assert!(
        ok,
        "the broken file replaced the serving certificate: {text}"
    );
}

#[test]
fn sighup_reloads_the_certificate_when_files_are_not_watched() {
    let served = Served::new();
    let gw = served.start(&["--no-watch"]);
    let second = served.replace("second");
    std::thread::sleep(Duration::from_millis(500));
    let (ok, _) = curl(&gw, &second, "/api/users/", &[]);
    assert!(!ok, "reloaded with watching off and no signal");
    let sent = Command::new("kill")
        .args(["-HUP", &gw.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let mut last = String::new();
    let reloaded = eventually(|| {
        let (ok, text) = curl(&gw, &second, "/api/users/", &[]);
        last = text;
        ok
    });
    assert!(reloaded, "SIGHUP: {last}");
}

#[test]
fn the_admin_listener_stays_plain_http_and_plain_text_does_not_stop_the_tls_listener() {
    let served = Served::new();
    let gw = served.start(&["--admin-listen", "127.0.0.1:0"]);
    let admin = gw.admin.clone().expect("an admin listener");
    assert_eq!(gw.get_at(&admin, "/live").json(), json!({"status": "live"}));
    // Plain HTTP to the TLS port: the handshake fails, the listener goes on.
    let mut plain = std::net::TcpStream::connect(&gw.addr).expect("connects");
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a read timeout");
    plain
        .write_all(b"GET /api/users/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("writes");
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/"), "answered in plain text");
    let (ok, text) = curl(&gw, &served.ca, "/api/users/", &[]);
    assert!(ok, "{text}");
}

#[test]
fn missing_unreadable_or_mismatched_files_are_said_in_a_sentence() {
    let served = Served::new();
    let dir = users_spec();
    let missing = served.folder.0.join("missing.pem");
    let cert = served.cert.to_string_lossy().into_owned();
    let key = served.key.to_string_lossy().into_owned();
    let missing_text = missing.to_string_lossy().into_owned();
    let not_pem = served.folder.write("garbage.pem", "hello");
    let not_pem = not_pem.to_string_lossy().into_owned();
    let (other_cert, _) = Ca::new("x").server(&["localhost"], "other");
    let other_cert = served.folder.write("other-cert.pem", &other_cert);
    let other_cert = other_cert.to_string_lossy().into_owned();
    let cases = [
        (
            &missing_text,
            &key,
            format!("cannot read the TLS certificate {missing_text}"),
        ),
        (
            &cert,
            &missing_text,
            format!("cannot read the TLS key {missing_text}"),
        ),
        (
            &not_pem,
            &key,
            format!("the TLS certificate {not_pem} holds no PEM certificate"),
        ),
        (
            &cert,
            &not_pem,
            format!("the TLS key {not_pem} holds no PEM private key"),
        ),
        (
            &other_cert,
            &key,
            format!("the TLS key {key} is not the key of the certificate {other_cert}"),
        ),
    ];
    for (cert, key, said) in cases {
        let args = ["--spec-only", "--tls-cert", cert, "--tls-key", key];
        let (ok, text) = check(&dir, &args, &[]);
        assert!(!ok && text.contains(&said), "check {cert} {key}: {text}");
        let out = Command::new(env!("CARGO_BIN_EXE_specgate"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                "sqlite::memory:",
            ])
            .arg("--spec")
            .arg(&dir)
            .args(["--tls-cert", cert, "--tls-key", key])
            .output()
            .expect("specgate runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(&said),
            "serve: {stderr}"
        );
    }
    let (ok, text) = check(&dir, &["--spec-only", "--tls-cert", &cert], &[]);
    assert!(!ok && text.contains("--tls-key"), "{text}");
}

// --- https upstreams ----------------------------------------------------------------------

/// The Users API proxied to `url`, trusting the roots in `ca` (PEM, written beside
/// routes.yaml), over HTTP/2 (by ALPN) when `http2`.
fn proxied_to(url: &str, ca: &str, http2: bool) -> ScratchSpec {
    let spec = copy_spec(&users_spec(), "https-upstream");
    std::fs::write(spec.join("ca.pem"), ca).expect("writes the roots");
    let routes = spec.join("routes.yaml");
    edit(
        &routes,
        "resources:",
        &format!(
            "upstreams:\n  legacy:\n    url: {url}\n    ca: ca.pem\n    http2: {http2}\n    response_timeout_ms: 5000\n\nresources:"
        ),
    );
    edit(
        &routes,
        "    methods: { GET: list, POST: create }",
        "    methods: { GET: list, POST: create }\n    upstream: legacy",
    );
    edit(
        &routes,
        "    methods: { GET: retrieve,",
        "    upstream: legacy\n    methods: { GET: retrieve,",
    );
    spec
}

/// How many users the TLS upstream has, asked with curl.
fn upstream_count(upstream: &Gateway, ca: &Path) -> Value {
    let (ok, out) = curl(upstream, ca, "/api/users/", &[]);
    assert!(ok, "{out}");
    serde_json::from_str::<Value>(&out).map_or(Value::Null, |v| v["count"].clone())
}

/// An https upstream is reached over TLS when its certificate chains to the upstream's
/// `ca` and names its host, over HTTP/1.1 and, with `http2: true`, HTTP/2 by ALPN. Another
/// CA's certificate, or a host name the certificate is not for, is a 502, and the request
/// never reaches the upstream.
#[test]
fn proxied_routes_reach_an_https_upstream_that_proves_its_name() {
    let served = Served::new();
    let upstream = served.start(&[]);
    let port = upstream
        .addr
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let ca = std::fs::read_to_string(&served.ca).expect("reads the CA");
    for http2 in [false, true] {
        let spec = proxied_to(&format!("https://localhost:{port}"), &ca, http2);
        let gw = Gateway::start_on(Db::Sqlite, &spec, &[]);
        let user =
            json!({"username": format!("tls{http2}"), "email": format!("t{http2}@example.org")});
        let r = gw.json("POST", "/api/users/", &user);
        assert_eq!(r.status, 201, "http2={http2}: {}", r.text());
        let id = r.json()["id"].as_i64().unwrap_or_default();
        let r = gw.get(&format!("/api/users/{id}/"));
        assert_eq!(r.json()["username"], format!("tls{http2}"), "{}", r.text());
    }
    assert_eq!(upstream_count(&upstream, &served.ca), 2);

    let other = Ca::new("another CA");
    let wrong_roots = proxied_to(&format!("https://localhost:{port}"), &other.pem, false);
    let wrong_name = proxied_to(&format!("https://127.0.0.1:{port}"), &ca, false);
    for spec in [&wrong_roots, &wrong_name] {
        let gw = Gateway::start_on(Db::Sqlite, spec, &[]);
        let r = gw.json(
            "POST",
            "/api/users/",
            &json!({"username": "x", "email": "x@example.org"}),
        );
        assert_eq!(r.status, 502, "{}", r.text());
        assert_eq!(
            r.json()["detail"],
            "The upstream service is unreachable; try again shortly."
        );
    }
    assert_eq!(
        upstream_count(&upstream, &served.ca),
        2,
        "nothing reached it"
    );
}

// --- https JWKS URLs ----------------------------------------------------------------------

/// `openssl s_server -WWW` serving `folder`'s files over TLS on a free loopback port, with
/// `served`'s certificate; stopped on drop.
struct FileServer {
    child: std::process::Child,
    port: u16,
}

impl FileServer {
    fn start(folder: &Path, served: &Served) -> FileServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-WWW", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&served.cert)
            .arg("-key")
            .arg(&served.key)
            .current_dir(folder)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("openssl s_server starts");
        let up = eventually(|| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        assert!(up, "openssl s_server did not listen");
        FileServer { child, port }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Users API behind one JWT scheme whose keys come from `jwks_url`, trusting `ca`.
fn jwks_spec(jwks_url: &str, ca: &str) -> ScratchSpec {
    let spec = copy_spec(&users_spec(), "https-jwks");
    std::fs::write(spec.join("idp-ca.pem"), ca).expect("writes the roots");
    let routes = spec.join("routes.yaml");
    let text = std::fs::read_to_string(&routes).expect("reads routes.yaml");
    let security = format!(
        "security:\n  schemes:\n    idp:\n      jwt:\n        algorithms: [RS256]\n        jwks_url: {jwks_url}\n        jwks_ca: idp-ca.pem\n  default:\n    schemes: [idp]\n\n"
    );
    std::fs::write(&routes, format!("{security}{text}")).expect("writes routes.yaml");
    spec
}

/// A token for `kid`, signed with the RSA test key `file`.
fn rs256(file: &str, kid: &str) -> String {
    let pem = std::fs::read(users_spec().join("tests/fixtures/keys").join(file)).expect("a key");
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).expect("an RSA key");
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 600;
    jsonwebtoken::encode(&header, &json!({"sub": "ada", "exp": exp}), &key).expect("signs")
}

/// A JWKS URL over https is fetched when its server's certificate chains to `jwks_ca`,
/// and a token its key signed is let in; trusting another CA, the keys cannot be fetched
/// and the same token is refused.
#[test]
fn an_https_jwks_url_is_fetched_from_a_server_that_proves_its_name() {
    let served = Served::new();
    let folder = Scratch::new("jwks");
    let pem = std::fs::read(users_spec().join("tests/fixtures/keys/rsa2.pem")).expect("a key");
    let private = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).expect("an RSA key");
    let mut jwk =
        jsonwebtoken::jwk::Jwk::from_encoding_key(&private, jsonwebtoken::Algorithm::RS256)
            .expect("a JWK");
    jwk.common.key_id = Some("k1".to_owned());
    folder.write("jwks.json", &json!({"keys": [jwk]}).to_string());
    let server = FileServer::start(&folder.0, &served);
    let url = format!("https://localhost:{}/jwks.json", server.port);
    let token = format!("Bearer {}", rs256("rsa2.pem", "k1"));

    let ca = std::fs::read_to_string(&served.ca).expect("reads the CA");
    let trusting = jwks_spec(&url, &ca);
    let gw = Gateway::start_on(Db::Sqlite, &trusting, &[]);
    let r = gw.send("GET", "/api/users/", &[("Authorization", &token)], b"");
    assert_eq!(r.status, 200, "{}", r.text());

    let other = Ca::new("not the IdP's CA");
    let distrusting = jwks_spec(&url, &other.pem);
    let gw = Gateway::start_on(Db::Sqlite, &distrusting, &[]);
    let r = gw.send("GET", "/api/users/", &[("Authorization", &token)], b"");
    assert_ne!(r.status, 200, "{}", r.text());
}
