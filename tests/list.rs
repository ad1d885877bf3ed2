//! The list endpoint through real HTTP on PostgreSQL: DRF's pagination, search,
//! `field__lookup` filters and ordering, and the same scoping on detail routes.

mod common;

use common::Gateway;
use serde_json::{Value, json};

/// (username, email, phone_number) rows inserted in this order (ids 1, 2, ...).
const ROWS: [(&str, &str, Option<&str>); 5] = [
    ("Alpha_1", "alpha@example.com", Some("+1-555-0100")),
    ("beta%2", "Beta@Example.org", Some("555_0200")),
    ("gamma.3", "gamma@test.net", None),
    ("École", "ecole@example.com", Some("0033 1")),
    ("back\\slash", "bs@example.com", Some("\\9")),
];

fn seeded() -> Gateway {
    let gw = Gateway::users();
    let values: Vec<String> = ROWS
        .iter()
        .map(|(u, e, p)| {
            format!(
                "($q${u}$q$, $q${e}$q$, {})",
                p.map(|p| format!("$q${p}$q$")).unwrap_or("NULL".into())
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

#[test]
fn every_field_and_lookup_matches_and_misses() {
    let gw = seeded();
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

#[test]
fn filter_values_are_trimmed_and_the_last_repeat_wins() {
    let gw = seeded();
    assert_eq!(names(&gw, "username=%20Alpha_1%20"), ["Alpha_1"]);
    assert_eq!(names(&gw, "username=Alpha_1&username=gamma.3"), ["gamma.3"]);
    assert_eq!(
        names(&gw, "username=Alpha_1&username__exact=gamma.3"),
        Vec::<String>::new()
    );
}

#[test]
fn nul_in_a_filter_is_a_400_keyed_by_the_parameter() {
    let gw = seeded();
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

#[test]
fn search_splits_terms_and_needs_every_one() {
    let gw = seeded();
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

#[test]
fn ordering_over_allowed_fields_else_by_id() {
    let gw = seeded();
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
    gw.sql(
        "UPDATE users_user SET date_joined = '2020-01-01' WHERE username IN ('gamma.3', 'Alpha_1')",
    );
    assert_eq!(
        names(&gw, "ordering=date_joined,-username"),
        ["gamma.3", "Alpha_1", "École", "beta%2", "back\\slash"]
    );
}

fn page(gw: &Gateway, query: &str) -> Value {
    let r = gw.get(&format!("/api/users/{query}"));
    assert_eq!(r.status, 200, "{query}: {}", r.text());
    r.json()
}

fn seed_many(gw: &Gateway, n: usize) {
    gw.sql(&format!(
        "INSERT INTO users_user (username, email) SELECT 'user' || lpad(i::text, 3, '0'), 'user' || i || '@example.com' FROM generate_series(1, {n}) i"
    ));
}

#[test]
fn limit_and_offset_edges() {
    let gw = Gateway::users();
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

#[test]
fn following_next_walks_every_row_once() {
    let gw = Gateway::users();
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

#[test]
fn links_keep_every_parameter_sorted_and_encoded() {
    let gw = Gateway::users();
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

#[test]
fn combinations_of_filters_search_ordering_and_pages() {
    let gw = seeded();
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

#[test]
fn filters_and_search_scope_detail_routes() {
    let gw = seeded();
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
