//! The list endpoint through real HTTP, on PostgreSQL and on SQLite (every test runs on both
//! and expects the same answers): DRF's pagination, search, `field__lookup` filters and
//! ordering, and the same scoping on detail routes.

mod common;

use common::{Db, Gateway, on_both};
use serde_json::{Value, json};

/// (username, email, phone_number) rows inserted in this order (ids 1, 2, ...).
const ROWS: [(&str, &str, Option<&str>); 5] = [
    ("Alpha_1", "alpha@example.com", Some("+1-555-0100")),
    ("beta%2", "Beta@Example.org", Some("555_0200")),
    ("gamma.3", "gamma@test.net", None),
    ("École", "ecole@example.com", Some("0033 1")),
    ("back\\slash", "bs@example.com", Some("\\9")),
];

/// An SQL string literal (standard quoting, which both databases read the same way).
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The Users API on `db` with [`ROWS`] in it.
fn seeded(db: Db) -> Gateway {
    let gw = Gateway::users_on(db);
    let values: Vec<String> = ROWS
        .iter()
        .map(|(u, e, p)| {
            format!(
                "({}, {}, {})",
                quoted(u),
                quoted(e),
                p.map(quoted).unwrap_or("NULL".into())
            )
        })
        .collect();
    gw.sql(&format!(
        "INSERT INTO users_user (username, email, phone_number) VALUES {}",
        values.join(", ")
    ));
    gw
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn names(gw: &Gateway, query: &str) -> Vec<String> {
    let r = gw.get(&format!("/api/users/?limit=100&{query}"));
    assert_eq!(r.status, 200, "{query}: {}", r.text());
    r.json()["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u["username"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

on_both! {
    /// Every declared `field__lookup` matches what it should and misses the rest, with `%`, `_`
    /// and `\` literal, Unicode case folding, and undeclared parameters ignored.
    fn every_field_and_lookup_matches_and_misses(db) {
        let gw = seeded(db);
        let all: Vec<&str> = ROWS.iter().map(|r| r.0).collect();
        let cases: Vec<(&str, &str, Vec<&str>)> = vec![
            ("username", "Alpha_1", vec!["Alpha_1"]),
            ("username", "alpha_1", vec![]),
            ("username__exact", "Alpha_1", vec!["Alpha_1"]),
            ("username__exact", "Alpha", vec![]),
            ("username__iexact", "ALPHA_1", vec!["Alpha_1"]),
            ("username__iexact", "alpha", vec![]),
            ("username__iexact", "école", vec!["École"]),
            ("username__contains", "pha", vec!["Alpha_1"]),
            ("username__contains", "PHA", vec![]),
            ("username__icontains", "PHA", vec!["Alpha_1"]),
            ("username__icontains", "COL", vec!["École"]),
            ("username__contains", "%", vec!["beta%2"]),
            ("username__contains", "_", vec!["Alpha_1"]),
            ("username__contains", "\\", vec!["back\\slash"]),
            ("username__icontains", "%2", vec!["beta%2"]),
            ("username__startswith", "Al", vec!["Alpha_1"]),
            ("username__startswith", "al", vec![]),
            ("username__istartswith", "al", vec!["Alpha_1"]),
            ("username__istartswith", "é", vec!["École"]),
            ("username__endswith", "%2", vec!["beta%2"]),
            ("username__endswith", "2%", vec![]),
            ("username__iendswith", "A.3", vec!["gamma.3"]),
            (
                "username__in",
                " Alpha_1, gamma.3 ,,",
                vec!["Alpha_1", "gamma.3"],
            ),
            ("username__in", "nobody", vec![]),
            ("username__gt", "beta", vec!["beta%2", "gamma.3", "École"]),
            ("username__gte", "gamma.3", vec!["gamma.3", "École"]),
            ("username__lt", "back", vec!["Alpha_1"]),
            ("username__lte", "Alpha_1", vec!["Alpha_1"]),
            ("email", "gamma@test.net", vec!["gamma.3"]),
            ("email__exact", "beta@example.org", vec![]),
            ("email__iexact", "beta@example.org", vec!["beta%2"]),
            (
                "email__contains",
                "@example.",
                vec!["Alpha_1", "École", "back\\slash"],
            ),
            ("email__icontains", "EXAMPLE.ORG", vec!["beta%2"]),
            ("email__startswith", "B", vec!["beta%2"]),
            ("email__istartswith", "b", vec!["beta%2", "back\\slash"]),
            ("email__endswith", ".net", vec!["gamma.3"]),
            ("email__iendswith", ".ORG", vec!["beta%2"]),
            (
                "email__in",
                "gamma@test.net,bs@example.com",
                vec!["gamma.3", "back\\slash"],
            ),
            ("email__gt", "d", vec!["gamma.3", "École"]),
            ("email__gte", "gamma@test.net", vec!["gamma.3"]),
            ("email__lt", "b", vec!["Alpha_1", "beta%2"]),
            ("email__lte", "alpha@example.com", vec!["Alpha_1", "beta%2"]),
            ("phone_number", "555_0200", vec!["beta%2"]),
            ("phone_number__exact", "555", vec![]),
            ("phone_number__iexact", "0033 1", vec!["École"]),
            ("phone_number__contains", "_", vec!["beta%2"]),
            ("phone_number__icontains", "555", vec!["Alpha_1", "beta%2"]),
            ("phone_number__startswith", "+", vec!["Alpha_1"]),
            ("phone_number__istartswith", "\\", vec!["back\\slash"]),
            ("phone_number__endswith", "00", vec!["Alpha_1", "beta%2"]),
            ("phone_number__iendswith", " 1", vec!["École"]),
            (
                "phone_number__in",
                "\\9,+1-555-0100",
                vec!["Alpha_1", "back\\slash"],
            ),
            ("phone_number__gt", "5", vec!["beta%2", "back\\slash"]),
            (
                "phone_number__gte",
                "555_0200",
                vec!["beta%2", "back\\slash"],
            ),
            ("phone_number__lt", "1", vec!["Alpha_1", "École"]),
            ("phone_number__lte", "+1-555-0100", vec!["Alpha_1"]),
            ("username__icontains", "", all.clone()),
            ("username__icontains", "   ", all.clone()),
            ("username__in", ", ,", vec![]),
            ("username__regex", "x", all.clone()),
            ("password", "", all.clone()),
            ("is_staff", "true", all.clone()),
        ];
        for (param, value, expected) in cases {
            let got = names(&gw, &format!("{param}={}", encode(value)));
            assert_eq!(got, expected, "{param}={value}");
        }
    }
}

on_both! {
    /// Filter values are trimmed, the last of repeated parameters wins, and two spellings of one
    /// filter both apply.
    fn filter_values_are_trimmed_and_the_last_repeat_wins(db) {
        let gw = seeded(db);
        assert_eq!(names(&gw, "username=%20Alpha_1%20"), ["Alpha_1"]);
        assert_eq!(names(&gw, "username=Alpha_1&username=gamma.3"), ["gamma.3"]);
        assert_eq!(
            names(&gw, "username=Alpha_1&username__exact=gamma.3"),
            Vec::<String>::new()
        );
    }
}

on_both! {
    /// A NUL in a filter value is a 400 keyed by the parameter as sent.
    fn nul_in_a_filter_is_a_400_keyed_by_the_parameter(db) {
        let gw = seeded(db);
        let r = gw.get("/api/users/?username__icontains=a%00b");
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json(),
            json!({"username__icontains": ["Null characters are not allowed."]})
        );
        let r = gw.get("/api/users/?username=a%00");
        assert_eq!(
            r.json(),
            json!({"username": ["Null characters are not allowed."]})
        );
    }
}

on_both! {
    /// Search splits on spaces and commas, needs every term in some searched field, and reads
    /// `%`, `_` and quotes literally.
    fn search_splits_terms_and_needs_every_one(db) {
        let gw = seeded(db);
        assert_eq!(names(&gw, "search=ALPHA"), ["Alpha_1"]);
        assert_eq!(names(&gw, "search=alp+example"), ["Alpha_1"]);
        assert_eq!(names(&gw, "search=alpha,beta"), Vec::<String>::new());
        assert_eq!(
            names(&gw, "search=0200"),
            ["beta%2"],
            "phone numbers are searched"
        );
        assert_eq!(names(&gw, "search=%25"), ["beta%2"], "% is literal");
        assert_eq!(
            names(&gw, "search=_"),
            ["Alpha_1", "beta%2"],
            "_ is literal"
        );
        assert_eq!(names(&gw, "search=al%00pha"), ["Alpha_1"], "NUL is dropped");
        assert_eq!(names(&gw, "search=%C3%89COLE"), ["École"]);
        assert_eq!(
            names(&gw, "search=%22alpha%22"),
            Vec::<String>::new(),
            "quotes are ordinary"
        );
        assert_eq!(names(&gw, "search=+,+").len(), ROWS.len());
    }
}

on_both! {
    /// `ordering` sorts by the declared fields (byte order for text, id breaking ties) and falls
    /// back to id for anything else.
    fn ordering_over_allowed_fields_else_by_id(db) {
        let gw = seeded(db);
        let by_id: Vec<&str> = ROWS.iter().map(|r| r.0).collect();
        assert_eq!(names(&gw, ""), by_id);
        assert_eq!(
            names(&gw, "ordering=-username"),
            ["École", "gamma.3", "beta%2", "back\\slash", "Alpha_1"]
        );
        assert_eq!(
            names(&gw, "ordering=email"),
            ["beta%2", "Alpha_1", "back\\slash", "École", "gamma.3"],
            "byte order: B < a"
        );
        assert_eq!(names(&gw, "ordering=bogus"), by_id);
        assert_eq!(
            names(&gw, "ordering=phone_number"),
            by_id,
            "not an ordering field"
        );
        assert_eq!(
            names(&gw, "ordering=bogus,+-id"),
            ["back\\slash", "École", "gamma.3", "beta%2", "Alpha_1"]
        );
        // SQLite keeps timestamps as UTC text with six fraction digits. Every row gets a
        // stated time, so the ties are the test's own (PostgreSQL's now() gives every row of
        // one INSERT the same time, SQLite's specgate_now() each row its own).
        let (early, late) = match db {
            Db::Postgres => ("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"),
            Db::Sqlite => ("2020-01-01 00:00:00.000000", "2021-01-01 00:00:00.000000"),
        };
        gw.sql(&format!("UPDATE users_user SET date_joined = '{late}'"));
        gw.sql(&format!(
            "UPDATE users_user SET date_joined = '{early}' WHERE username IN ('gamma.3', 'Alpha_1')"
        ));
        assert_eq!(
            names(&gw, "ordering=date_joined,-username"),
            ["gamma.3", "Alpha_1", "École", "beta%2", "back\\slash"]
        );
    }
}

fn page(gw: &Gateway, query: &str) -> Value {
    let r = gw.get(&format!("/api/users/{query}"));
    assert_eq!(r.status, 200, "{query}: {}", r.text());
    r.json()
}

/// Inserts users `user001`, `user002`, ... (`user1@example.com`, ...), ids 1 to `n`.
fn seed_many(gw: &Gateway, n: usize) {
    let values: Vec<String> = (1..=n)
        .map(|i| format!("('user{i:03}', 'user{i}@example.com')"))
        .collect();
    gw.sql(&format!(
        "INSERT INTO users_user (username, email) VALUES {}",
        values.join(", ")
    ));
}

on_both! {
    /// Bad `limit`s fall back to the page size, signs and spaces are read, and `next`/`previous`
    /// are right at the edges.
    fn limit_and_offset_edges(db) {
        let gw = Gateway::users_on(db);
        seed_many(&gw, 25);
        let base = format!("http://{}/api/users/", gw.addr);
        for query in [
            "?limit=0",
            "?limit=-1",
            "?limit=abc",
            "?limit=",
            "?limit=1.5",
        ] {
            let body = page(&gw, query);
            assert_eq!(
                body["results"].as_array().map(Vec::len),
                Some(10),
                "{query}"
            );
            assert_eq!(
                body["next"],
                format!("{base}?limit=10&offset=10"),
                "{query}"
            );
        }
        assert_eq!(
            page(&gw, "?limit=%2B5")["results"].as_array().map(Vec::len),
            Some(5)
        );
        assert_eq!(
            page(&gw, "?limit=%205%20")["results"]
                .as_array()
                .map(Vec::len),
            Some(5)
        );
        let negative = page(&gw, "?offset=-3&limit=5");
        assert_eq!(negative["results"][0]["username"], "user001");
        assert_eq!(negative["previous"], Value::Null);
        let past = page(&gw, "?offset=100");
        assert_eq!(past["count"], 25);
        assert_eq!(past["results"], json!([]));
        assert_eq!(past["next"], Value::Null);
        assert_eq!(past["previous"], format!("{base}?limit=10&offset=90"));
        let boundary = page(&gw, "?offset=20&limit=5");
        assert_eq!(boundary["next"], Value::Null);
        assert_eq!(boundary["previous"], format!("{base}?limit=5&offset=15"));
        let near = page(&gw, "?offset=3&limit=5");
        assert_eq!(near["previous"], format!("{base}?limit=5"));
        let exact = page(&gw, "?offset=5&limit=5");
        assert_eq!(exact["previous"], format!("{base}?limit=5"));
    }
}

on_both! {
    /// Following `next` from the first page visits every row exactly once, in order.
    fn following_next_walks_every_row_once(db) {
        let gw = Gateway::users_on(db);
        seed_many(&gw, 23);
        let mut url = "/api/users/?limit=7&ordering=-username".to_owned();
        let mut seen = Vec::new();
        let prefix = format!("http://{}", gw.addr);
        loop {
            let body = page(&gw, url.trim_start_matches("/api/users/"));
            for user in body["results"].as_array().into_iter().flatten() {
                seen.push(user["username"].as_str().unwrap_or_default().to_owned());
            }
            match body["next"].as_str() {
                Some(next) => url = next.trim_start_matches(&prefix).to_owned(),
                None => break,
            }
        }
        let mut expected: Vec<String> = (1..=23).map(|i| format!("user{i:03}")).collect();
        expected.reverse();
        assert_eq!(seen, expected);
    }
}

on_both! {
    /// `next` and `previous` keep every other parameter, sorted and encoded.
    fn links_keep_every_parameter_sorted_and_encoded(db) {
        let gw = Gateway::users_on(db);
        seed_many(&gw, 5);
        let body = page(
            &gw,
            "?search=user%20example&email__icontains=%40example&limit=2&zeta=1&zeta=2&alpha=%2A",
        );
        let base = format!("http://{}/api/users/", gw.addr);
        assert_eq!(
            body["next"],
            format!(
                "{base}?alpha=%2A&email__icontains=%40example&limit=2&offset=2&search=user+example&zeta=1&zeta=2"
            )
        );
        let second = page(&gw, "?offset=2&limit=2&search=a+b");
        assert_eq!(second["previous"], format!("{base}?limit=2&search=a+b"));
    }
}

on_both! {
    /// Filters, search, ordering and paging combine: the count is of the filtered rows.
    fn combinations_of_filters_search_ordering_and_pages(db) {
        let gw = seeded(db);
        let body = page(
            &gw,
            "?email__icontains=example&search=a&ordering=-email&limit=2",
        );
        assert_eq!(body["count"], 4);
        let got: Vec<&str> = body["results"]
            .as_array()
            .map(|a| a.iter().filter_map(|u| u["username"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(got, ["École", "back\\slash"]);
        assert!(
            body["next"]
                .as_str()
                .is_some_and(|n| n.contains("offset=2"))
        );
    }
}

on_both! {
    /// Filters and search scope the detail routes too: a row scoped out is a 404 for every
    /// method and is left as it was.
    fn filters_and_search_scope_detail_routes(db) {
        let gw = seeded(db);
        let path = "/api/users/1/";
        assert_eq!(gw.get(&format!("{path}?search=alpha")).status, 200);
        assert_eq!(gw.get(&format!("{path}?search=zzz")).status, 404);
        assert_eq!(gw.get(&format!("{path}?username=beta%252")).status, 404);
        let r = gw.send("DELETE", &format!("{path}?username=nobody"), &[], b"");
        assert_eq!(r.status, 404);
        assert_eq!(gw.sql("SELECT count(*) FROM users_user WHERE id = 1"), "1");
        let r = gw.json(
            "PUT",
            &format!("{path}?search=zzz"),
            &json!({"username": "changed", "email": "c@example.com"}),
        );
        assert_eq!(r.status, 404);
        let r = gw.json(
            "PATCH",
            &format!("{path}?search=zzz"),
            &json!({"username": ""}),
        );
        assert_eq!(r.status, 404, "scoped out before the body is looked at");
        assert_eq!(
            gw.sql("SELECT username FROM users_user WHERE id = 1"),
            "Alpha_1"
        );
        let r = gw.json(
            "PATCH",
            &format!("{path}?search=alpha"),
            &json!({"first_name": "A"}),
        );
        assert_eq!(r.status, 200);
    }
}

on_both! {
    /// `*`, `?`, `[` and `^` (special to SQLite's GLOB, which case-sensitive matches use
    /// there) are literal in every lookup and in search, as they are on PostgreSQL.
    fn glob_characters_are_literal_in_every_lookup(db) {
        let gw = Gateway::users_on(db);
        gw.sql(
            "INSERT INTO users_user (username, email, phone_number) VALUES \
             ('star', 'a@x.com', '1*2'), ('quest', 'b@x.com', '1?2'), ('brack', 'c@x.com', '[12]'), \
             ('one', 'd@x.com', '1'), ('two', 'e@x.com', '12'), ('caret', 'f@x.com', '[^1]'), \
             ('Up', 'g@x.com', 'X*Y')",
        );
        let cases: Vec<(&str, Vec<&str>)> = vec![
            ("phone_number__contains=*", vec!["star", "Up"]),
            ("phone_number__contains=?", vec!["quest"]),
            ("phone_number__contains=[", vec!["brack", "caret"]),
            ("phone_number__contains=[12]", vec!["brack"]),
            ("phone_number__contains=[^1]", vec!["caret"]),
            ("phone_number__startswith=1*", vec!["star"]),
            ("phone_number__startswith=1?", vec!["quest"]),
            ("phone_number__endswith=*2", vec!["star"]),
            ("phone_number__endswith=?2", vec!["quest"]),
            ("phone_number__icontains=x*", vec!["Up"]),
            ("phone_number__icontains=?", vec!["quest"]),
            ("phone_number__icontains=[^", vec!["caret"]),
            ("phone_number__istartswith=x*", vec!["Up"]),
            ("phone_number__iendswith=*y", vec!["Up"]),
            ("phone_number__iexact=x*y", vec!["Up"]),
            ("phone_number__in=1*2,[12]", vec!["star", "brack"]),
            ("search=*", vec!["star", "Up"]),
            ("search=?", vec!["quest"]),
            ("search=[12]", vec!["brack"]),
        ];
        for (query, expected) in cases {
            let (param, value) = query.split_once('=').expect("param=value");
            let got = names(&gw, &format!("{param}={}", encode(value)));
            assert_eq!(got, expected, "{query}");
        }
    }
}

on_both! {
    /// Under the default `unknown_query: ignore`, a parameter the resource does not read
    /// changes nothing (as in the original); under `reject`, each unknown filter, lookup or
    /// ordering field is a 400 that names it, and the known parameters still work.
    fn unknown_query_parameters_are_ignored_or_rejected(db) {
        let plain = seeded(db);
        let everyone = names(&plain, "");
        assert_eq!(names(&plain, "email__regex=x&nope=1&ordering=nope"), everyone);
        drop(plain);

        let spec = common::copy_spec(&common::users_spec(), "unknown-query");
        common::edit(
            &spec.join("routes.yaml"),
            "    page_size:",
            "    unknown_query: reject\n    page_size:",
        );
        let gw = Gateway::start_on(db, &spec, &[]);
        gw.sql("INSERT INTO users_user (username, email) VALUES ('mike', 'mike@example.com')");
        let r = gw.get("/api/users/?email__regex=x&username__istartswith=m&colour=red");
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(
            r.json(),
            json!({
                "email__regex": ["Unknown query parameter."],
                "colour": ["Unknown query parameter."],
            })
        );
        let r = gw.get("/api/users/?ordering=-username,nope,,-");
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(
            r.json(),
            json!({"ordering": ["Unknown ordering field \"nope\".", "Unknown ordering field \"\"."]})
        );
        let r = gw.get("/api/users/1/?email__regex=x");
        assert_eq!(r.status, 400, "{}", r.text());
        let known = "username__istartswith=m&email=mike@example.com&search=mi&ordering=-username\
                     &limit=5&offset=0&format=json";
        let r = gw.get(&format!("/api/users/?{known}"));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["count"], 1);
        assert_eq!(gw.get("/api/users/1/?username=mike").status, 200);
    }
}

/// Characters the prefix test draws from: case pairs, characters whose upper case is
/// another script's or several letters' (`ß`, `ı`, `ſ`, `ǅ`, the Kelvin sign), LIKE and GLOB
/// metacharacters, and the code points around which the next string after a prefix turns
/// (the one before the surrogates, the last one).
const PREFIX_CHARS: &[char] = &[
    'a',
    'A',
    'b',
    'B',
    'i',
    'I',
    'ı',
    'İ',
    's',
    'S',
    'ſ',
    'ß',
    'ẞ',
    'é',
    'É',
    'k',
    'K',
    '\u{212A}',
    'ǅ',
    'Ǆ',
    'ǆ',
    'Ω',
    'ω',
    'ÿ',
    'Ÿ',
    '%',
    '_',
    '\\',
    '*',
    '?',
    '[',
    '0',
    '~',
    '\u{D7FF}',
    '\u{E000}',
    '\u{10FFFF}',
];

/// A small deterministic generator (the test must be repeatable).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// The SQL, in `db`'s dialect, that counts the users a lookup matches the way the gateway
/// matched before prefixes became index ranges: the pattern or the upper-cased equality
/// alone.
fn plain_count(db: Db, lookup: &str, value: &str) -> String {
    let (upper, col, pattern) = match db {
        Db::Postgres => (
            "upper",
            "username::text",
            format!("{}%", specgate::sql::escape_like(value)),
        ),
        Db::Sqlite => (
            "specgate_upper",
            "username",
            format!("{}*", specgate::sql::escape_glob(value)),
        ),
    };
    let like = if db == Db::Postgres { "LIKE" } else { "GLOB" };
    let condition = match lookup {
        "startswith" => format!("{col} {like} {}", quoted(&pattern)),
        "istartswith" => format!("{upper}({col}) {like} {upper}({})", quoted(&pattern)),
        _ => format!("{upper}({col}) = {upper}({})", quoted(value)),
    };
    format!("(SELECT count(*) FROM users_user WHERE {condition})")
}

on_both! {
    /// `startswith`, `istartswith` and `iexact` are answered through index ranges computed
    /// from the value (PostgreSQL: in byte order, bounded by the database's own `upper()`;
    /// SQLite: the leading ASCII run on the built-in `upper()`), with the pattern as the
    /// re-check: for hundreds of prefixes drawn from awkward characters, the gateway counts
    /// exactly the rows the pattern alone matches.
    fn prefix_ranges_match_exactly_what_the_pattern_matches(db) {
        let gw = Gateway::users_on(db);
        let mut rng = Lcg(14);
        let mut names = std::collections::BTreeSet::new();
        while names.len() < 300 {
            let len = 1 + rng.below(4);
            names.insert(
                (0..len)
                    .map(|_| PREFIX_CHARS[rng.below(PREFIX_CHARS.len())])
                    .collect::<String>(),
            );
        }
        let values: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, name)| format!("({}, 'u{i}@example.com')", quoted(name)))
            .collect();
        gw.sql(&format!(
            "INSERT INTO users_user (username, email) VALUES {}",
            values.join(", ")
        ));
        let mut prefixes: Vec<String> = PREFIX_CHARS.iter().map(|c| c.to_string()).collect();
        for name in names.iter().step_by(3) {
            let chars: Vec<char> = name.chars().collect();
            let cut = 1 + rng.below(chars.len());
            prefixes.push(chars[..cut].iter().collect());
            let swapped: String = chars[..cut]
                .iter()
                .map(|c| if rng.below(2) == 0 { c.to_uppercase().next().unwrap_or(*c) } else { c.to_lowercase().next().unwrap_or(*c) })
                .collect();
            prefixes.push(swapped);
        }
        let mut checked = 0;
        for chunk in prefixes.chunks(60) {
            for lookup in ["startswith", "istartswith", "iexact"] {
                let counts: Vec<String> = chunk.iter().map(|p| plain_count(db, lookup, p)).collect();
                let expected = gw.sql(&format!("SELECT {}", counts.join(", ")));
                for (prefix, want) in chunk.iter().zip(expected.split('|')) {
                    let query = format!("/api/users/?username__{lookup}={}", encode(prefix));
                    let r = gw.get(&query);
                    assert_eq!(r.status, 200, "{query}: {}", r.text());
                    assert_eq!(
                        r.json()["count"].to_string(),
                        want,
                        "{lookup} {prefix:?} ({query})"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 300, "{checked}");
    }
}
