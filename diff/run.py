#!/usr/bin/env python3
"""Differential check: specgate against a faithful rebuild of the original DRF app.

    python3 diff/run.py            # from the repository root (or anywhere: paths are relative to this file)

Starts the gateway and the Django rebuild (diff/drfapp) on two fresh databases whose users_*
tables both come from specgate's migrations, seeds both with the same rows, sends the same
sequence of requests to both and compares status, Content-Type/Allow/Location headers and the
parsed JSON bodies (key order included). Prints OK / EXPECTED / DIFF per request and the
counts; exits 1 when there is an unexpected difference, 2 when the run itself failed.

The gateway runs on PostgreSQL, on SQLite, or (the default) once on each, one full run after
the other; the Django rebuild is on PostgreSQL every time.

Only the standard library is used here; the rebuild runs in diff/.venv (created from
diff/requirements.txt when missing).

Options:
  --no-build        do not run `cargo build --release` first (use the existing binary)
  --specgate PATH   the gateway binary (default: target/release/specgate)
  --keep            keep the two databases (on SQLite, the gateway's file) and print their names
  --quiet           print only the non-OK requests and the summary
  --only GROUP      run only the requests of these groups (comma-separated; setup always runs)
  --database DB     the gateway's database: postgres, sqlite or both (default: both, one full
                    run on each, PostgreSQL first)
"""
import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
MAIN = os.path.dirname(HERE)
DRFAPP = os.path.join(HERE, "drfapp")
VENV = os.path.join(HERE, ".venv")
VENV_PY = os.path.join(VENV, "bin", "python")
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
HOST = "testserver"

# --------------------------------------------------------------------------------------------
# Known, deliberate differences (BEHAVIOUR.md / README.md "Where we differ on purpose").
KNOWN_308 = ("trailing-slash redirect of a non-GET method: the gateway answers 308 (method "
             "and body kept), the original 301 (deliberate)")
KNOWN_EXACT = "`field__exact`: the original silently ignores it, the gateway honours it (deliberate)"
KNOWN_RENDERS = "OPTIONS `renders`: the gateway lists only application/json (deliberate: no browsable API)"
KNOWN_HTML = ("browsable API (text/html): the gateway has none; a GET preferring text/html is "
              "sent to the API explorer at /docs (303, deliberate)")
KNOWN_FORMAT_API = ("?format=api (DRF's browsable API): the gateway has none, so the format is "
                    "not found (404); people use the API explorer at /docs (deliberate)")
KNOWN_404 = ("unknown path: the gateway answers its API's JSON 404 {\"detail\": \"Not found.\"}, "
             "not Django's HTML page (BEHAVIOUR.md asks for JSON)")
KNOWN_ROOT = "GET /api/: the gateway has no DRF API root (deliberate: the route table lists every path)"
KNOWN_HUGE_LIMIT = ("?limit= beyond 64 bits: the original answered 500 (an overflow in its SQL); "
                    "the gateway gives a page of everything (deliberate: a 500 is a bug)")
KNOWN_RANGE = ("a number beyond the double range (1E400): the original read it as infinity "
               "and stored the text \"inf\"; the gateway answers a 400 field error and stores "
               "nothing (deliberate, README)")
KNOWN_RANGE_CLEANUP = ("deletes the 1E400 row the original stored and the gateway refused (see "
                       "the create before), so that the final list compares the same rows")
KNOWN_UTF8 = ("a query string that is not UTF-8 once percent-decoded: the original searched or "
              "filtered for replacement characters (200); the gateway answers 400 (deliberate, "
              "README)")
ARTEFACT_NO_CT = ("harness artefact: Django's runserver (wsgiref) turns a missing Content-Type into "
                  "text/plain; under a production WSGI server DRF names it \"\" like the gateway "
                  "(BEHAVIOUR.md)")

TS_KEYS = ("date_joined", "last_login")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")
NOTE_HEADERS = ("Vary", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
                "Cross-Origin-Opener-Policy")

# --------------------------------------------------------------------------------------------
# The seed rows, inserted identically into both databases before any request.
SEED_SQL = r"""
INSERT INTO users_role (name) VALUES ('admin'), ('staff'), ('viewer');
INSERT INTO users_user (password, last_login, is_superuser, username, first_name, last_name,
                        email, is_staff, is_active, date_joined, phone_number) VALUES
 ('', '2025-11-06 07:37:34.364302+00', false, 'mike', '', '', 'hello@world.com', false, true,
  '2025-11-05 14:21:05.963153+00', '1234567890'),
 ('', NULL, false, 'jane_doe', 'Jane', 'Doe', 'jane_doe@example.com', false, true,
  '2025-11-06 08:00:00+00', NULL),
 ('', NULL, false, 'élodie', 'Élodie', 'Martin', 'ELODIE@Example.com', false, true,
  '2024-01-01 00:00:00.5+00', '+33 1 23 45 67 89'),
 ('pbkdf2_sha256$x', '2025-01-02 03:04:05.000001+00', true, 'bob', 'Bob', '', 'bob@example.org',
  true, false, '2023-06-15 12:00:00.123456+00', '555-0100'),
 ('', NULL, false, 'alice.smith', 'Alice', 'Smith', 'alice@sub.example.co.uk', false, true,
  '2025-02-01 10:00:00.0001+00', '5550101'),
 ('', NULL, false, 'Zed_99', '', '', 'zed@EXAMPLE.com', false, true, '2025-03-01 00:00:00+00', ''),
 ('', NULL, false, 'percent', '', '', '100%off@example.com', false, true,
  '2025-04-01 00:00:00+00', '50%_x'),
 ('', NULL, false, 'user.with+plus', '', '', 'plus+tag@example.com', false, true,
  '2025-05-01 00:00:00+00', NULL),
 ('', NULL, false, 'obrien', '', '', 'o''brien@example.com', false, true,
  '2025-06-01 00:00:00+00', '"quoted"'),
 ('', NULL, false, 'backslash', '', '', 'back@example.com', false, true,
  '2025-07-01 00:00:00+00', 'a\b'),
 ('', NULL, false, 'bad name', '', '', 'seed@b', false, true, '2025-08-01 00:00:00+00', NULL);
INSERT INTO users_user_roles (user_id, role_id) VALUES (1, 1), (1, 3), (4, 2);
"""
SEED_IDS = {"mike": 1, "jane_doe": 2, "elodie": 3, "bob": 4, "alice": 5, "zed": 6,
            "percent": 7, "plus": 8, "obrien": 9, "backslash": 10, "badseed": 11}

# --------------------------------------------------------------------------------------------
# The requests.

REQUESTS = []
_group = ["?"]


def group(name):
    _group[0] = name


def R(method, path, body=None, ctype=None, headers=None, known=None, exact_ts=False,
      capture=None, note=""):
    """One request sent to both servers.

    path/body may hold {name} placeholders: ids captured from each server's own responses
    (capture=) or the seed ids. known: {aspect: reason}; an aspect is "status",
    "content-type", "allow", "location", "body" or a JSON path prefix such as "$.renders";
    "*" covers everything."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    REQUESTS.append({
        "n": len(REQUESTS) + 1, "group": _group[0], "method": method, "path": path,
        "body": body, "ctype": ctype, "headers": headers or {}, "known": known or {},
        "exact_ts": exact_ts, "capture": capture, "note": note,
    })


def J(method, path, obj, **kw):
    R(method, path, json.dumps(obj, ensure_ascii=False), ctype="application/json", **kw)


def RAW(method, path, text, **kw):
    """A JSON body given as its exact text (number spellings, duplicate keys, broken JSON)."""
    kw.setdefault("ctype", "application/json")
    R(method, path, text, **kw)


def multipart(fields):
    boundary = "----specgatediff7MA4YWxkTrZu0gW"
    out = []
    for k, v in fields:
        out.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
    out.append(f"--{boundary}--\r\n")
    return "".join(out), f"multipart/form-data; boundary={boundary}"


U = "/api/users/"


def build_requests():
    # -- 1. the seeded rows, timestamps compared exactly ------------------------------------
    group("seed-read")
    R("GET", U, exact_ts=True, note="first page of the seeded rows")
    for name in ("mike", "jane_doe", "elodie", "bob"):
        R("GET", f"{U}{{{name}}}/", exact_ts=True, note=f"seeded {name}")
    R("GET", f"{U}?limit=3&offset=3", exact_ts=True)

    # -- 2. valid creates (these should succeed on both) ------------------------------------
    group("create")
    J("POST", U, {"username": "jane", "email": "jane@example.com"}, capture="jane")
    J("POST", U, {"id": 999, "roles": [1], "is_active": False, "is_staff": True,
                  "is_superuser": True, "date_joined": "2000-01-01T00:00:00Z",
                  "last_login": "2000-01-01T00:00:00Z", "password": "secret", "unknown": "x",
                  "username": "full", "first_name": "Full", "last_name": "Name",
                  "phone_number": "+1 555 0102", "email": "full@example.com"},
      capture="full", note="read-only and unknown keys are ignored")
    J("POST", U, {"username": "  trimmed  ", "email": " trimmed@example.com\n",
                  "first_name": "  Ann  ", "last_name": "\tLee\t", "phone_number": "  42  "},
      capture="trimmed", note="strings are trimmed")
    RAW("POST", U, '{"username":12345,"email":"num@example.com","first_name":1.5,'
                   '"last_name":1e3,"phone_number":12345678901234567890}',
        capture="num", note="numbers for strings")
    RAW("POST", U, '{"username":1.5,"email":"num2@example.com",'
                   '"first_name":123456789012345678901234567890,"last_name":1.0,'
                   '"phone_number":1e16}', capture="num2", note="numbers for strings (2)")
    R("POST", U, "username=formuser&email=form%40example.com&phone_number=&first_name=F+orm",
      ctype="application/x-www-form-urlencoded", capture="formuser")
    body, ct = multipart([("username", "multi"), ("email", "multi@example.com"),
                          ("phone_number", ""), ("last_name", "Part")])
    R("POST", U, body, ctype=ct, capture="multi")
    R("POST", U, '{"username":"upper.ct","email":"upper@example.com"}',
      ctype="Application/JSON; charset=UTF-8", capture="upperct")
    RAW("POST", U, '{"username":"dup1","email":"dup@example.com","username":"dup2"}',
        capture="dup", note="duplicate keys: the last wins")
    J("POST", U, {"username": "MIKE", "email": "mike.upper@example.com"}, capture="MIKE",
      note="username uniqueness is case-sensitive")
    J("POST", U, {"username": "hellocase", "email": "HELLO@WORLD.COM"}, capture="hellocase",
      note="email uniqueness is case-sensitive")
    J("POST", U, {"username": "local", "email": "user@localhost"}, capture="local")
    J("POST", U, {"username": "iplit", "email": "x@[127.0.0.1]"}, capture="iplit")
    J("POST", U, {"username": "idn", "email": "user@exämple.com"}, capture="idn")
    J("POST", U, {"username": "puny", "email": "user@xn--bcher-kva.ch"}, capture="puny")
    J("POST", U, {"username": "Zoë.ü-中文_+@", "email": "zoe@example.com",
                  "phone_number": "0049 30 1234567"}, capture="zoe")
    J("POST", U, {"username": "p" * 150, "email": "long@" + "e" * 63 + ".com",
                  "first_name": "f" * 150, "last_name": "l" * 150, "phone_number": "9" * 20},
      capture="maxlen", note="every field at its maximum length")
    J("POST", U, {"username": "nulphone", "email": "nulphone@example.com", "phone_number": None,
                  "first_name": "", "last_name": ""}, capture="nulphone")

    # -- 3. retrieve ------------------------------------------------------------------------
    group("retrieve")
    R("GET", f"{U}{{full}}/")
    R("GET", f"{U}{{num}}/")
    R("GET", f"{U}{{formuser}}/")
    R("GET", f"{U}{{zoe}}/")
    for p in ("99999", "0", "-1", "007", "abc", "1.5", "1e3", "99999999999999999999",
              "9223372036854775807", "9223372036854775808", "%31", "+1", "0x1", "%201"):
        R("GET", f"{U}{p}/")

    # -- 4. the list: pagination ------------------------------------------------------------
    group("pagination")
    n = len(SEED_IDS) + sum(1 for r in REQUESTS if r["group"] == "create")
    for q in ("", "?limit=5", "?limit=5&offset=5", "?offset=10", "?offset=20", "?offset=1000",
              "?limit=0", "?limit=-1", "?limit=abc", "?limit=", "?limit=+2", "?limit=%202%20",
              "?limit=2.5", "?offset=-5", "?offset=abc", "?offset=+3&limit=3",
              "?limit=3&offset=2", "?limit=3&offset=3", "?limit=3&offset=4",
              f"?limit={n - 1}", f"?limit={n}", f"?limit=3&offset={n - 4}",
              f"?limit=3&offset={n - 3}", f"?limit=3&offset={n - 1}", f"?offset={n}", "?limit=1000000", "?limit=2&limit=3",
              "?offset=1&offset=2&limit=2", "?limit=2&offset=2&search=a&ordering=-id",
              "?limit=2&search=a%20b", "?limit=1&email__icontains=%40example",
              "?limit=1&zzz=1&aaa=2", "?offset=2", "?limit=1_0", "?limit=%D9%A3",
              "?offset=%EF%BC%93&limit=2", "?limit=2&offset=1&search=e&search=%C3%A9"):
        R("GET", U + q)

    # -- 5. search --------------------------------------------------------------------------
    group("search")
    for q in ("mike", "MIKE", "example.com", "jane%20doe", "jane,doe", "jane,,doe", ",,,", "%20",
              "", "%22mike%22", "%25", "_", "50%25_", "%00mike", "mi%00ke", "o%27brien", "555",
              "%2B33", "+33", "%C3%A9", "%C3%89LODIE", "%5C", "a%5Cb", "zzz", "%09mike%0A",
              "example%20org", "Doe,jane_doe", "1.5"):
        R("GET", f"{U}?search={q}")
    R("GET", f"{U}?search=mike&search=jane", note="repeated: the last wins")

    # -- 6. filters: every field x lookup ---------------------------------------------------
    group("filters")
    values = {
        "username": {"": "mike", "iexact": "MIKE", "contains": "ik", "icontains": "IK",
                     "startswith": "ja", "istartswith": "JA", "endswith": "doe",
                     "iendswith": "DOE", "in": "mike,%20bob,,jane_doe", "gt": "m",
                     "gte": "mike", "lt": "bob", "lte": "bob"},
        "email": {"": "hello%40world.com", "iexact": "elodie%40example.com",
                  "contains": "example", "icontains": "EXAMPLE", "startswith": "zed",
                  "istartswith": "ZED", "endswith": ".com", "iendswith": ".COM",
                  "in": "hello%40world.com,bob%40example.org", "gt": "p", "gte": "plus",
                  "lt": "b", "lte": "back%40example.com"},
        "phone_number": {"": "1234567890", "iexact": "555-0100", "contains": "555",
                         "icontains": "%25", "startswith": "%2B33", "istartswith": "%22",
                         "endswith": "0", "iendswith": "%5Cb", "in": "1234567890,5550101",
                         "gt": "5", "gte": "555-0100", "lt": "1", "lte": "1234567890"},
    }
    for field, lookups in values.items():
        for lookup, v in lookups.items():
            name = field if not lookup else f"{field}__{lookup}"
            R("GET", f"{U}?{name}={v}")
    for field, v in (("username", "mike"), ("email", "hello%40world.com"),
                     ("phone_number", "1234567890")):
        R("GET", f"{U}?{field}__exact={v}", known={"*": KNOWN_EXACT})
    for q in ("username=", "username=%20mike%20", "username=Mike", "username__in=",
              "username__in=,%20,", "username__in=%20mike%20,%20bob", "foo=bar",
              "username__regex=.*", "username__isnull=true", "is_active=false", "id=1",
              "username__iexact=%C3%89LODIE", "username__icontains=%C3%89", "username__contains=%25",
              "username__contains=_", "phone_number__contains=%5C", "phone_number__gt=",
              "username=mike&username=bob", "email__icontains=example&username__startswith=a",
              "email__iendswith=.com&search=o&ordering=-username",
              "phone_number__lt=5&phone_number__gt=1", "USERNAME=mike", "username__IEXACT=mike",
              "username=%00", "username__icontains=a%00b", "email__in=a%00b",
              "phone_number__gte=%00&username=%00", "username=%00&phone_number__gte=%00",
              "email__iexact=%00&username__lt=%00"):
        R("GET", f"{U}?{q}")

    group("query-edges")
    # Python's str.strip()/split()/int() know more whitespace and digits than ASCII.
    for q in ("username=%1Fmike%1F", "username=%C2%A0jane%C2%A0", "search=jane%C2%A0doe",
              "search=jane%1Fdoe", "search=%E2%80%83mike", "limit=%C2%A02", "limit=%0B2",
              "offset=99999999999999999999", "limit=99999999999999999999",
              "offset=9223372036854775807&limit=1", "username__in=mike%C2%A0,%C2%A0bob"):
        R("GET", f"{U}?{q}", known={"*": KNOWN_HUGE_LIMIT} if q.startswith("limit=9999") else {})
    # Bytes that are not UTF-8 once percent-decoded: a search, a filter value, a name, a
    # detail route.
    for path in (f"{U}?search=%ff%fe", f"{U}?username__icontains=%C3", f"{U}?%ff=1",
                 f"{U}{{mike}}/?search=%80"):
        R("GET", path, known={"status": KNOWN_UTF8, "body": KNOWN_UTF8})

    # -- 7. ordering ------------------------------------------------------------------------
    group("ordering")
    for q in ("username", "-username", "email", "-email", "date_joined", "-date_joined", "id",
              "-id", "username,-date_joined", "password", "foo", "-foo,username", "first_name",
              "", "%20-id", "-id,-id", "-id%20,%20username", "phone_number", "-is_active,-id",
              "--id", "-", ","):
        R("GET", f"{U}?ordering={q}")
    R("GET", f"{U}?ordering=username&ordering=-id", note="repeated: the last wins")
    R("GET", f"{U}?limit=3&offset=3&ordering=-username")

    # -- 8. create: validation errors (nothing is written) ----------------------------------
    group("validation")
    J("POST", U, {})
    J("POST", U, {"username": None, "email": None, "first_name": None, "last_name": None,
                  "phone_number": None})
    J("POST", U, {"username": "", "email": "", "first_name": "", "last_name": "",
                  "phone_number": ""})
    J("POST", U, {"username": "   ", "email": " \t\n ", "phone_number": "  "})
    J("POST", U, {"username": "a" * 151, "email": "toolong@example.com", "first_name": "f" * 151,
                  "last_name": "l" * 151, "phone_number": "1" * 21})
    J("POST", U, {"username": "longmail", "email": "a" * 64 + "@" + "b" * 63 + "." + "c" * 63
                  + "." + "d" * 63 + ".com"}, note="a well-formed e-mail of 260 characters")
    J("POST", U, {"username": "bad name!", "email": "badname@example.com"})
    J("POST", U, {"username": "longbad", "email": "x" * 260}, note="too long and invalid")
    J("POST", U, {"username": "longbad2", "email": "x" * 250 + "@example.com"},
      note="too long, well-formed local part")
    J("POST", U, {"username": "!" * 151, "email": "badlong@example.com"},
      note="pattern and too long: both messages, the pattern's first")
    J("POST", U, {"username": "a b", "email": "a b@example.com"})
    RAW("POST", U, '{"username":"numemail","email":123}')
    RAW("POST", U, '{"username":true,"email":false,"first_name":[],"last_name":{},'
                   '"phone_number":true}')
    RAW("POST", U, '{"username":[],"email":{"a":1},"phone_number":false,"first_name":0}')
    RAW("POST", U, '{"username":["a"],"email":["a@example.com"],"phone_number":[]}')
    J("POST", U, {"username": "ab\u0000c", "email": "nul\u0000@example.com",
                  "first_name": "x\u0000", "phone_number": "\u0000"})
    J("POST", U, {"username": "a" * 150 + "\u0000", "email": "nul2@example.com",
                  "last_name": "l" * 150 + "\u0000"}, note="NUL and too long")
    J("POST", U, {"username": "nulspace", "email": "nul3@example.com", "first_name": " \u0000 "})
    for email in ("a@b", "plainaddress", "user@example", "user@@example.com",
                  "üser@example.com", "user@exa_mple.com", "user@example..com",
                  "user.@example.com", ".user@example.com", "user@-example.com",
                  "user@example.c", "user@123.123.123.123", "user@[127.0.0.1",
                  "user@[300.1.1.1]", "@example.com", "user@", "user@.example.com",
                  "user@example.com-", "us\"er@example.com"):
        J("POST", U, {"username": "bademail", "email": email}, note=f"email {email!r}")
    group("uniqueness")
    J("POST", U, {"username": "mike", "email": "hello@world.com"})
    J("POST", U, {"username": " mike ", "email": "mike.other@example.com"})
    J("POST", U, {"username": "mike", "email": "bad"})
    J("POST", U, {"username": "jane", "email": "jane@example.com", "first_name": "f" * 151})
    J("POST", U, {"username": "newone", "email": "hello@world.com", "phone_number": "1" * 21})
    J("POST", U, {"username": "newtwo", "email": " hello@world.com "})
    J("POST", U, {"username": "bad!", "email": "hello@world.com"})
    J("POST", U, {"username": "bad name", "email": "badname2@example.com"},
      note="a taken username that is also invalid (seeded)")
    J("POST", U, {"username": "badseed2", "email": "seed@b"},
      note="a taken e-mail that is also invalid (seeded)")
    J("POST", U, {"username": "bad name", "email": "seed@b", "first_name": "f" * 151})
    J("PUT", f"{U}{{badseed}}/", {"username": "bad name", "email": "seed@b"},
      note="PUT keeping its own invalid values")
    J("PATCH", f"{U}{{badseed}}/", {"first_name": "ok"}, note="PATCH leaves the invalid values alone")
    group("body-shape")
    for text in ("[]", '[{"username":"x","email":"x@example.com"}]', '"str"', "1", "1.5", "true",
                 "false", "null", '""'):
        RAW("POST", U, text, note=f"body {text}")
    group("broken-json")
    for text in ('{"username": }', "{", '{"a":1,}', "{'a':1}", "[1,2", '{"username":"x" "email":"y"}',
                 "{} x", "nul", "  ", '"unterminated', '{"a":1}\n\n]', '{"a":01}', '{"a":tru}',
                 '{"a":"\\x"}', "{\n  \"username\": \"x\",\n  \"email\":\n}", "NaN", '{"a":NaN}',
                 '{"a":Infinity}', '{"a":-Infinity}'):
        RAW("POST", U, text, note=f"body {text!r}")
    R("POST", U, b"\xff\xfe{}", ctype="application/json", note="invalid UTF-8")
    R("POST", U, b"\xef\xbb\xbf{\"username\":\"bom\",\"email\":\"bom@example.com\"}",
      ctype="application/json", note="UTF-8 BOM")
    R("POST", U, b"", ctype="application/json", note="empty JSON body")
    group("media-type")
    R("POST", U, '{"username":"t","email":"t@example.com"}', ctype="text/plain")
    R("POST", U, '{"username":"t","email":"t@example.com"}', ctype=None, note="no Content-Type",
      known={"$.detail": ARTEFACT_NO_CT})
    R("POST", U, "<user/>", ctype="application/xml")
    R("POST", U, "[]", ctype="application/json-patch+json")
    R("POST", U, '{"username":"t","email":"t@example.com"}', ctype="text/json")
    R("POST", U, '{"username":"t","email":"t@example.com"}', ctype="application/jsonx")
    R("POST", U, '{"username":"t","email":"t@example.com"}', ctype="application/json; charset=utf-8; foo=bar")
    R("POST", U, "username=&email=", ctype="application/x-www-form-urlencoded")
    R("POST", U, "first_name=x", ctype="application/x-www-form-urlencoded")
    R("POST", U, "username=a%00b&email=nulform%40example.com", ctype="application/x-www-form-urlencoded")
    R("POST", U, "username=mike&email=bad", ctype="application/x-www-form-urlencoded")
    body, ct = multipart([("username", "multi2")])
    R("POST", U, body, ctype=ct)
    R("POST", U, "username=x", ctype="multipart/form-data", note="multipart without a boundary")
    R("POST", U, None, ctype=None, note="no body, no Content-Type")
    R("POST", U, b"", ctype="text/plain", note="empty body, text/plain")

    # -- 9. update, partial update, delete --------------------------------------------------
    group("put")
    J("PUT", f"{U}{{jane}}/", {"username": "jane.new", "email": "jane.new@example.com"})
    J("PUT", f"{U}{{full}}/", {"username": "full", "email": "full@example.com"},
      note="unique checks exclude the object itself; omitted fields keep their values")
    J("PUT", f"{U}{{jane}}/", {"email": "x@example.com"})
    J("PUT", f"{U}{{jane}}/", {})
    J("PUT", f"{U}{{jane}}/", {"username": "mike", "email": "hello@world.com"})
    J("PUT", f"{U}{{jane}}/", {"username": "jane.new", "email": "bad", "first_name": "f" * 151})
    RAW("PUT", f"{U}99999/", "{broken")
    J("PUT", f"{U}99999/", {"username": "ghost", "email": "ghost@example.com"})
    R("PUT", f"{U}99999/", "x", ctype="text/plain")
    RAW("PUT", f"{U}{{jane}}/", "[]")
    RAW("PUT", f"{U}{{jane}}/", "null")
    RAW("PUT", f"{U}{{jane}}/", "{broken")
    R("PUT", f"{U}{{jane}}/", '{"username":"a","email":"a@example.com"}', ctype="text/plain")
    R("PUT", f"{U}{{jane}}/", "username=jane.form&email=jane.form%40example.com",
      ctype="application/x-www-form-urlencoded")
    J("PUT", f"{U}{{jane}}/", {"username": "jane.new", "email": "jane.new@example.com",
                                 "phone_number": None, "first_name": "  J  ", "id": 1})
    J("PUT", f"{U}abc/", {"username": "x", "email": "x@example.com"})
    R("GET", f"{U}{{jane}}/")
    group("patch")
    J("PATCH", f"{U}{{full}}/", {"first_name": "shinoda"})
    J("PATCH", f"{U}{{full}}/", {})
    J("PATCH", f"{U}{{full}}/", {"email": "bad"})
    J("PATCH", f"{U}{{full}}/", {"username": None})
    J("PATCH", f"{U}{{full}}/", {"phone_number": None})
    J("PATCH", f"{U}{{full}}/", {"username": "mike"})
    J("PATCH", f"{U}{{full}}/", {"username": "ok.name", "email": "bad", "first_name": "f" * 151})
    R("GET", f"{U}{{full}}/", note="after a failed PATCH: unchanged")
    J("PATCH", f"{U}99999/", {"x": 1})
    RAW("PATCH", f"{U}99999/", "{")
    RAW("PATCH", f"{U}{{full}}/", "[]")
    RAW("PATCH", f"{U}{{full}}/", "null")
    RAW("PATCH", f"{U}{{full}}/", '"s"')
    RAW("PATCH", f"{U}{{full}}/", "{")
    R("PATCH", f"{U}{{full}}/", "phone_number=", ctype="application/x-www-form-urlencoded")
    J("PATCH", f"{U}{{full}}/", {"is_active": False, "roles": [2], "last_login": None})
    J("PATCH", f"{U}{{full}}/", {"username": "  full  ", "last_name": 7})
    R("PATCH", f"{U}{{full}}/", "{}", ctype="text/plain")
    R("PATCH", f"{U}{{full}}/", b"", ctype="application/json", note="empty body")
    J("PATCH", f"{U}{{full}}/", {"email": "HELLO@world.com"})
    R("GET", f"{U}{{full}}/")
    group("delete")
    R("DELETE", f"{U}{{dup}}/")
    R("DELETE", f"{U}{{dup}}/")
    R("GET", f"{U}{{dup}}/")
    for p in ("0", "abc", "-1", "99999"):
        R("DELETE", f"{U}{p}/")
    R("DELETE", f"{U}{{multi}}/", '{"ignored": true}', ctype="application/json")

    # -- 10. filters, search and ordering on detail routes ----------------------------------
    group("detail-scope")
    R("GET", f"{U}{{mike}}/?search=zzz")
    R("GET", f"{U}{{mike}}/?search=mike")
    R("GET", f"{U}{{mike}}/?username=bob")
    R("GET", f"{U}{{mike}}/?username__icontains=MI")
    R("GET", f"{U}{{mike}}/?limit=abc&offset=5&ordering=-id")
    R("GET", f"{U}{{mike}}/?username=%00")
    R("GET", f"{U}{{mike}}/?username__exact=bob", known={"*": KNOWN_EXACT})
    J("PUT", f"{U}{{mike}}/?username=bob", {"username": "hacked", "email": "hacked@example.com"})
    J("PATCH", f"{U}{{mike}}/?search=zzz", {"first_name": "hacked"})
    R("DELETE", f"{U}{{mike}}/?search=zzz")
    R("GET", f"{U}{{mike}}/", exact_ts=True, note="untouched by the scoped writes")
    J("PATCH", f"{U}{{mike}}/?email__icontains=WORLD", {"last_name": "Shinoda"})
    R("DELETE", f"{U}{{bob}}/?phone_number__startswith=555")
    R("GET", f"{U}{{bob}}/")

    # -- 11. methods, HEAD, OPTIONS, content negotiation, redirects, unknown paths -----------
    group("methods")
    for m, p in (("DELETE", U), ("PUT", U), ("PATCH", U), ("POST", f"{U}{{mike}}/"),
                 ("POST", f"{U}99999/"), ("FOO", U), ("FOO", f"{U}{{mike}}/"), ("TRACE", U),
                 ("get", U), ("CONNECT", f"{U}{{mike}}/")):
        R(m, p)
    group("head")
    for p in (U, f"{U}{{mike}}/", f"{U}99999/", f"{U}?limit=abc", f"{U}?username=%00"):
        R("HEAD", p)
    group("options")
    for p in (U, f"{U}{{mike}}/", f"{U}99999/", f"{U}?search=zzz"):
        R("OPTIONS", p, known={"$.renders": KNOWN_RENDERS})
    R("OPTIONS", U, headers={"Accept": "application/xml"})
    group("negotiation")
    for acc in ("application/xml", "text/html", "text/*", "application/json; indent=4",
                "*/*", "application/*", "application/json, text/html", "application/xml, */*;q=0.1",
                "", "application/json; indent=abc", "application/json; indent=2", "TEXT/HTML",
                "application/json;q=0", "image/png"):
        known = {"*": KNOWN_HTML} if "html" in acc.lower() or acc == "text/*" else {}
        R("GET", f"{U}{{mike}}/", headers={"Accept": acc}, known=known, exact_ts=True)
    R("GET", f"{U}?limit=2", headers={"Accept": "application/json; indent=4"})
    R("GET", f"{U}99999/", headers={"Accept": "application/xml"})
    J("POST", U, {"username": "xmlaccept", "email": "xmlaccept@example.com"},
      headers={"Accept": "application/xml"}, note="406 before anything is written")
    R("GET", f"{U}?search=xmlaccept")
    for q in ("?format=json", "?format=xml", "?format=api"):
        R("GET", f"{U}{{mike}}/{q}", known={"*": KNOWN_FORMAT_API} if q.endswith("api") else {})
    group("redirects")
    R("GET", "/api/users")
    R("GET", "/api/users?limit=2&search=a%20b")
    R("HEAD", "/api/users")
    R("GET", "/api/users/{mike}")
    known308 = {"status": KNOWN_308, "content-type": KNOWN_308, "body": KNOWN_308}
    J("POST", "/api/users", {"username": "redir", "email": "redir@example.com"}, known=known308)
    J("PUT", "/api/users/{mike}", {"username": "redir", "email": "redir@example.com"},
      known=known308)
    J("PATCH", "/api/users/{mike}", {"first_name": "redir"}, known=known308)
    R("DELETE", "/api/users/{mike}", known=known308)
    R("OPTIONS", "/api/users", known=known308)
    R("GET", "/api/users/99999")
    group("unknown-paths")
    for p in ("/nope/", "/", "/api/", "/api/users/{mike}/extra/", "/api/users.json",
              "/api/users/{jane_doe}.json", "/API/USERS/", "/api/users//", "/api/roles/",
              "/api/users/{mike}/?"):
        R("GET", p, known={"*": KNOWN_ROOT} if p == "/api/" else
          {"content-type": KNOWN_404, "body": KNOWN_404})
    R("POST", "/nope/", "{}", ctype="application/json",
      known={"content-type": KNOWN_404, "body": KNOWN_404})

    # -- 12. probes whose outcome may diverge (kept last so they cannot shift other results) -
    group("probes")
    for email in ('"john doe"@example.com', "user@example.com.", "x@[::1]", "x@[IPv6:::1]",
                  "user@bücher.example", "user@例え.jp", "USER@EXAMPLE.COM",
                  "a" * 64 + "@" + "b" * 250 + ".com", "x" * 330 + "@example.com",
                  "user@localhost.", "user@sub.localhost", "user@[127.0.0.1]"):
        J("POST", U, {"username": "probe" + uuid.uuid5(uuid.NAMESPACE_DNS, email).hex[:8],
                      "email": email}, note=f"email {email[:40]!r}")
    for uname in ("½", "Ⅻ", "e\u0301", "‿", "٣", "x\u200b", "\x1fxunit\x1f", "\u00a0nbsp\u00a0",
                  "\u3000ideo\u3000", "\u0085nel", "\u2028ls", "ǅʰª", "ß", "١٢٣٤"):
        J("POST", U, {"username": uname, "email": f"u{ord(uname[0]):x}{len(uname)}@probe.com"},
          note=f"username {uname!r}")
    RAW("POST", U, '{"username":"bigfloat","email":"bigfloat@example.com","phone_number":1E400}',
        capture="bigfloat", known={"*": KNOWN_RANGE})
    R("DELETE", f"{U}{{bigfloat}}/", known={"*": KNOWN_RANGE_CLEANUP})
    RAW("POST", U, '{"username":"tinyfloat","email":"tinyfloat@example.com","phone_number":1e-7,'
                   '"first_name":-0.0,"last_name":1e15}')
    R("POST", U, '{"username":"caf\u00e9","email":"cafe@example.com"}'.encode("latin-1"),
      ctype="application/json; charset=latin-1", note="a latin-1 body")
    R("POST", U, "username=na%EFve&email=naive%40example.com",
      ctype="application/x-www-form-urlencoded; charset=latin-1", note="a latin-1 form")
    J("POST", U, {"username": "deep", "email": "deep@example.com",
                  "first_name": {"a": [1, {"b": None}]}})
    R("POST", U, "username=first&username=formdup&email=formdup%40example.com",
      ctype="application/x-www-form-urlencoded", note="repeated form keys")
    R("POST", U, '{"username":"jsonasform","email":"jsonasform@example.com"}',
      ctype="application/x-www-form-urlencoded", note="JSON sent as a form")
    group("final")
    J("POST", U, {"username": "last", "email": "last@example.com"}, capture="last",
      note="id after every failed create")
    R("GET", f"{U}?limit=100")


# --------------------------------------------------------------------------------------------
# Plumbing.

def log(msg):
    print(msg, flush=True)


def psql(db, sql, check=True):
    r = subprocess.run(["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", db,
                        "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                       capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"psql on {db} failed: {r.stderr.strip()}")
    return r.stdout


def next_id(db):
    out = psql(db, "SELECT pg_sequence_last_value(pg_get_serial_sequence('users_user', 'id')"
                   "::regclass)").strip()
    return int(out) + 1 if out else 1


def set_next_id(db, value):
    if value > 1:
        psql(db, f"SELECT setval(pg_get_serial_sequence('users_user', 'id'), {value - 1})")


def db_url(db):
    return f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{db}"


class PostgresGatewayDb:
    """The gateway's database on PostgreSQL (a fresh database, migrated by the gateway)."""
    kind = "postgres"
    title = "PostgreSQL"

    def __init__(self, name):
        self.name = name

    def create(self):
        psql("postgres", f'CREATE DATABASE "{self.name}"')

    def url(self):
        return db_url(self.name)

    def seed(self):
        psql(self.name, SEED_SQL)

    def next_id(self):
        return next_id(self.name)

    def set_next_id(self, value):
        set_next_id(self.name, value)

    def drop(self):
        psql("postgres", f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)', check=False)

    def __str__(self):
        return self.name


SQLITE_TS = re.compile(r"'(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\+00'")


def sqlite_seed_sql(sql):
    """SEED_SQL in SQLite's terms: timestamps become UTC text with six fraction digits
    ('2024-01-01 00:00:00.5+00' -> '2024-01-01 00:00:00.500000'). true/false and the
    string literals (no backslash escapes on either side) read the same."""
    out = SQLITE_TS.sub(lambda m: f"'{m.group(1)}.{(m.group(2) or '').ljust(6, '0')}'", sql)
    if "+00'" in out:
        raise RuntimeError("a seed timestamp was not converted for SQLite")
    return out


class SqliteGatewayDb:
    """The gateway's database on SQLite: a fresh file in the run's workdir, created and
    migrated by the gateway when it starts. The gateway keeps it open in WAL mode; every
    access here is one short connection that waits for the write lock if need be."""
    kind = "sqlite"
    title = "SQLite"

    def __init__(self, path):
        self.path = path

    def create(self):
        if os.path.exists(self.path):
            raise RuntimeError(f"{self.path} already exists")

    def url(self):
        return "sqlite://" + self.path

    def _connect(self):
        return contextlib.closing(sqlite3.connect(self.path, timeout=30,
                                                  isolation_level=None))

    def seed(self):
        with self._connect() as c:
            c.executescript("BEGIN;\n" + sqlite_seed_sql(SEED_SQL) + "\nCOMMIT;")

    def next_id(self):
        with self._connect() as c:
            row = c.execute("SELECT seq FROM sqlite_sequence WHERE name = 'users_user'").fetchone()
        return int(row[0]) + 1 if row and row[0] is not None else 1

    def set_next_id(self, value):
        if value <= 1:
            return
        with self._connect() as c:
            c.execute("BEGIN IMMEDIATE")
            cur = c.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'users_user'",
                            (value - 1,))
            if cur.rowcount == 0:
                c.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('users_user', ?)",
                          (value - 1,))
            c.execute("COMMIT")

    def drop(self):
        pass  # the file lives in the run's workdir

    def __str__(self):
        return self.path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, name, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/users/?limit=1", headers={"Host": HOST})
            c.getresponse().read()
            c.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer on port {port} within {timeout}s")


def send(port, req, ids):
    path = req["path"].format_map(ids)
    body = req["body"]
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.putrequest(req["method"], path, skip_host=True, skip_accept_encoding=True)
    c.putheader("Host", HOST)
    for k, v in req["headers"].items():
        c.putheader(k, v)
    if req["ctype"] is not None:
        c.putheader("Content-Type", req["ctype"])
    if body is not None:
        c.putheader("Content-Length", str(len(body)))
    c.putheader("Connection", "close")
    c.endheaders(body)
    r = c.getresponse()
    data = r.read() if req["method"] != "HEAD" else b""
    headers = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return {"status": r.status, "headers": headers, "raw": data, "path": path}


def parse_json(resp):
    ct = resp["headers"].get("content-type", "")
    if not resp["raw"] or "json" not in ct.lower():
        return None
    try:
        return json.loads(resp["raw"].decode("utf-8"))
    except ValueError:
        return None


# The gateway's timestamps of rows created during the run (the values `normalise` masked),
# to check its clock's precision at the end of the run (see `clock_check`).
GW_CREATED_TS = set()


def clock_check():
    """A failure text when the gateway's clock looks like milliseconds: more than a tenth of
    its created rows' timestamps (of at least 20) fall on a whole millisecond, where a clock
    with microseconds puts one in a thousand. None otherwise."""
    whole_ms = [t for t in GW_CREATED_TS if TS_RE.match(t).group(1) is None or t.endswith("000Z")]
    if len(GW_CREATED_TS) >= 20 and 10 * len(whole_ms) > len(GW_CREATED_TS):
        return (f"clock: {len(whole_ms)} of the gateway's {len(GW_CREATED_TS)} created-row "
                "timestamps fall on a whole millisecond: its clock has millisecond precision, "
                "the original's microseconds")
    return None


def normalise(a, b, exact_ts):
    """Replaces differing timestamps by a placeholder when both are well-formed and in the
    same format (6 fraction digits or none), on every run alike: each server stamps the rows
    it creates with its own clock. The gateway's values are kept for `clock_check`, since
    the placeholder alone would hide a clock with milliseconds only."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if k not in b:
                continue
            va, vb = a[k], b[k]
            if (k in TS_KEYS and not exact_ts and isinstance(va, str) and isinstance(vb, str)
                    and va != vb):
                ma, mb = TS_RE.match(va), TS_RE.match(vb)
                if ma and mb and bool(ma.group(1)) == bool(mb.group(1)):
                    GW_CREATED_TS.add(vb)
                    a[k] = b[k] = "<timestamp>"
                continue
            normalise(va, vb, exact_ts)
    elif isinstance(a, list) and isinstance(b, list):
        for x, y in zip(a, b):
            normalise(x, y, exact_ts)


def short(v, n=160):
    s = json.dumps(v, ensure_ascii=False) if not isinstance(v, bytes) else repr(v)
    return s if len(s) <= n else s[:n] + "…"


def json_diff(a, b, path="$"):
    """[(path, text)] describing how b (gateway) differs from a (DRF)."""
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        ka, kb = list(a), list(b)
        for k in ka:
            if k not in b:
                out.append((f"{path}.{k}", f"{path}.{k}: only DRF has it: {short(a[k])}"))
        for k in kb:
            if k not in a:
                out.append((f"{path}.{k}", f"{path}.{k}: only the gateway has it: {short(b[k])}"))
        common_a = [k for k in ka if k in b]
        common_b = [k for k in kb if k in a]
        if common_a != common_b:
            out.append((path, f"{path}: key order: DRF {common_a} gateway {common_b}"))
        for k in common_a:
            out += json_diff(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append((path, f"{path}: {len(a)} items (DRF) vs {len(b)} (gateway): "
                              f"DRF {short(a, 300)} gateway {short(b, 300)}"))
            return out
        for i, (x, y) in enumerate(zip(a, b)):
            out += json_diff(x, y, f"{path}[{i}]")
    elif type(a) is not type(b) or a != b:
        out.append((path, f"{path}: DRF {short(a)} gateway {short(b)}"))
    return out


def drf_bytes(value, indent):
    s = json.dumps(value, ensure_ascii=False, separators=(",", ":"), indent=indent,
                   allow_nan=False)
    return s.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode("utf-8")


def indent_of(req):
    m = re.search(r"indent=(\d+)", req["headers"].get("Accept", ""))
    return int(m.group(1)) if m else None


def compare(req, drf, gw):
    """Returns (diffs, notes): diffs are [(aspect, text)]."""
    diffs, notes = [], []
    if drf["status"] != gw["status"]:
        diffs.append(("status", f"status: DRF {drf['status']} gateway {gw['status']}"))
    for h in ("content-type", "allow", "location"):
        a, b = drf["headers"].get(h), gw["headers"].get(h)
        if a != b:
            diffs.append((h, f"{h}: DRF {a!r} gateway {b!r}"))
    for h in NOTE_HEADERS:
        a, b = drf["headers"].get(h.lower()), gw["headers"].get(h.lower())
        if a != b:
            notes.append(("header " + h, f"{h}: DRF {a!r} gateway {b!r}"))
    ja, jb = parse_json(drf), parse_json(gw)
    if ja is not None and jb is not None:
        normalise(ja, jb, req["exact_ts"])
        for path, text in json_diff(ja, jb):
            diffs.append((path, "body " + text))
        if not json_diff(ja, jb):
            # Equal once parsed: also compare the bytes, against DRF's rendering of the
            # gateway's value (timestamps may differ), or directly when nothing was normalised.
            ind = indent_of(req)
            BYTES_CHECKED[0] += 1
            try:
                drf_canonical = drf["raw"] == drf_bytes(parse_json(drf), ind)
                gw_canonical = gw["raw"] == drf_bytes(parse_json(gw), ind)
            except ValueError:
                drf_canonical = gw_canonical = False
            if drf_canonical:
                BYTES_CHECKED[1] += 1
                if not gw_canonical:
                    notes.append(("body bytes", "body bytes: the gateway's rendering differs "
                                                f"from DRF's: {gw['raw'][:200]!r}"))
            elif drf["raw"] == gw["raw"]:
                BYTES_CHECKED[1] += 1
            elif parse_json(drf) == parse_json(gw):
                BYTES_CHECKED[1] += 1
                notes.append(("body bytes", f"body bytes: DRF {drf['raw'][:200]!r} gateway "
                                            f"{gw['raw'][:200]!r}"))
            else:
                BYTES_UNCHECKED.append(req["n"])
    elif drf["raw"] != gw["raw"]:
        diffs.append(("body", f"body: DRF {drf['raw'][:300]!r} gateway {gw['raw'][:300]!r}"))
    return diffs, notes


BYTES_CHECKED = [0, 0]  # JSON bodies equal once parsed; of those, the ones whose bytes were compared
BYTES_UNCHECKED = []


def matches_known(aspect, known):
    if "*" in known:
        return "*"
    for k in known:
        if aspect == k or aspect.startswith(k + ".") or aspect.startswith(k + "["):
            return k
        if k == "body" and aspect.startswith("$"):
            return k
    return None


def describe(req, ids_drf):
    path = req["path"].format_map(ids_drf)
    line = f"#{req['n']} [{req['group']}] {req['method']} {path}"
    extra = []
    if req["headers"]:
        extra.append(", ".join(f"{k}: {v}" for k, v in req["headers"].items()))
    if req["ctype"] is not None or req["body"] is not None:
        extra.append(f"Content-Type: {req['ctype']!r}")
    if req["body"] is not None:
        b = req["body"]
        extra.append("body " + (repr(b[:200]) + ("…" if len(b) > 200 else "")))
    if req["note"]:
        extra.append(f"({req['note']})")
    return line + ("  " + " ".join(extra) if extra else "")


def show(resp):
    ct = resp["headers"].get("content-type")
    raw = resp["raw"]
    txt = raw.decode("utf-8", "replace")
    if len(txt) > 700:
        txt = txt[:700] + "…"
    loc = resp["headers"].get("location")
    allow = resp["headers"].get("allow")
    bits = [str(resp["status"]), f"Content-Type={ct!r}"]
    if allow:
        bits.append(f"Allow={allow!r}")
    if loc:
        bits.append(f"Location={loc!r}")
    return " ".join(bits) + (f" {txt}" if txt else "")


# --------------------------------------------------------------------------------------------

def ensure_venv():
    """diff/.venv with exactly the pinned requirements: made when missing, and made anew when
    requirements.txt changed since it was installed (a copy is kept in the venv)."""
    wanted = os.path.join(HERE, "requirements.txt")
    stamp = os.path.join(VENV, "requirements.txt")
    with open(wanted, "rb") as f:
        pins = f.read()
    if os.path.exists(VENV_PY) and os.path.exists(stamp):
        with open(stamp, "rb") as f:
            if f.read() == pins:
                return
    log("creating diff/.venv from diff/requirements.txt ...")
    py = shutil.which("python3.11") or sys.executable
    subprocess.run([py, "-m", "venv", "--clear", VENV], check=True)
    subprocess.run([VENV_PY, "-m", "pip", "install", "-q", "-r", wanted], check=True)
    with open(stamp, "wb") as f:
        f.write(pins)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--specgate", default=os.path.join(MAIN, "target", "release", "specgate"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--database", choices=("postgres", "sqlite", "both"), default="both",
                    help="the gateway's database (default: both, one full run on each)")
    ap.add_argument("--via", choices=("native", "proxy", "proxy-report", "mirror"),
                    default="native",
                    help="proxy: the gateway side is examples/proxy (validate: enforce) in "
                         "front of a second copy of the original app, on its own database "
                         "(one run); proxy-report: the same in report mode; mirror: "
                         "examples/mirror in front of that copy, the native executor on its "
                         "own database as the mirror, whose findings are checked too")
    args = ap.parse_args()

    started = time.time()
    build_requests()
    only = {g for g in args.only.split(",") if g}
    reqs = [r for r in REQUESTS if not only or r["group"] in only or r["capture"]]

    ensure_venv()
    if not args.no_build:
        log("cargo build --release ...")
        r = subprocess.run(["cargo", "build", "--release"], cwd=MAIN, capture_output=True,
                           text=True)
        if r.returncode != 0:
            if os.path.exists(args.specgate):
                log("WARNING: cargo build failed; using the existing binary\n" + r.stderr[-2000:])
            else:
                log(r.stderr[-4000:])
                return 2
    if not os.path.exists(args.specgate):
        log(f"no gateway binary at {args.specgate}")
        return 2

    kinds = ["postgres", "sqlite"] if args.database == "both" else [args.database]
    if args.via != "native":
        kinds = [args.via]
        PROXY_RUN["enforce"] = args.via == "proxy"
    titles = {"postgres": "PostgreSQL", "sqlite": "SQLite", "proxy": "the proxy",
              "proxy-report": "the proxy (report mode)", "mirror": "the mirror"}
    results = []
    for i, kind in enumerate(kinds, 1):
        if len(kinds) > 1:
            log(("\n" if i > 1 else "") + "=" * 92)
            log(f"== run {i} of {len(kinds)}: the gateway on {titles[kind]}, the original on "
                "PostgreSQL")
            log("=" * 92)
        try:
            # A single run counts its time from the start, cargo build included, as before.
            results.append((kind, run_once(args, reqs, kind,
                                           started if len(kinds) == 1 else time.time())))
        except RuntimeError as e:
            if len(kinds) == 1:
                raise
            log(f"run failed ({titles[kind]}): {e}")
            results.append((kind, None))
        except Exception:  # noqa: BLE001 - the other run still runs; the exit status says 2
            if len(kinds) == 1:
                raise
            log(f"run failed ({titles[kind]}):\n{traceback.format_exc()}")
            results.append((kind, None))

    if len(kinds) > 1:
        log("\n" + "=" * 92)
        log(f"== both runs ({time.time() - started:.1f}s in all)")
        log("=" * 92)
        for kind, res in results:
            if res is None:
                log(f"gateway on {titles[kind]:<10}: the run failed")
            else:
                c = res["counts"]
                log(f"gateway on {titles[kind]:<10}: {sum(c.values())} requests: {c['OK']} OK, "
                    f"{c['EXPECTED']} expected differences, {c['DIFF']} unexpected differences "
                    f"({res['elapsed']:.1f}s)")
        done = dict(results)
        if done.get("postgres") and done.get("sqlite"):
            report_between_runs(done["postgres"], done["sqlite"])
    if any(res is None for _, res in results):
        return 2
    if any(not res["mirror_ok"] or not res["clock_ok"] for _, res in results):
        return 1
    return 1 if any(res["counts"]["DIFF"] for _, res in results) else 0


TS_IN_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")


def report_between_runs(pg, sq):
    """The requests whose unexpected differences are not the same on both runs (created-row
    timestamps masked, since they come from each run's clock)."""
    def key(res, n):
        return sorted({TS_IN_TEXT.sub("<ts>", t) for _, t in res["failures"].get(n, ([], None, None))[0]})

    ns = sorted(set(pg["failures"]) | set(sq["failures"]))
    for label, this, other in (("only on SQLite", sq, pg), ("only on PostgreSQL", pg, sq)):
        log(f"\n== unexpected differences {label} (same request, compared with the other run) ==")
        shown = 0
        for n in ns:
            mine, theirs = key(this, n), key(other, n)
            new = [t for t in mine if t not in theirs]
            if not new:
                continue
            shown += 1
            unexpected, rd, rg = this["failures"][n]
            log(f"DIFF     {this['titles'][n]}")
            for t in new:
                log(f"           {t}")
            log(f"           DRF:     {show(rd)}")
            log(f"           gateway: {show(rg)}")
        if not shown:
            log("none")


PROXY_RUN = {"enforce": False}
PROXY_REFUSAL = ("validate: enforce refuses an invalid request before the app sees it, so the "
                 "parts of the app's answer that need its database are not in the proxy's: "
                 "uniqueness messages, and a missing row's 404 (DRF looks the row up before "
                 "reading the body); --via proxy-report forwards such requests (deliberate)")


def proxy_refusal(req, rd, rg):
    """In an enforce-mode proxy run, the reason when the proxy itself refused a request the
    app refused for more reasons (see PROXY_REFUSAL), else None."""
    if not PROXY_RUN["enforce"] or req["method"] not in ("POST", "PUT", "PATCH"):
        return None
    jd, jg = parse_json(rd), parse_json(rg)
    if not isinstance(jg, dict):
        return None
    if rd["status"] == 404 and rg["status"] in (400, 415) and jd == {"detail": "Not found."}:
        return PROXY_REFUSAL
    if rd["status"] != 400 or rg["status"] != 400 or not isinstance(jd, dict):
        return None
    for field, messages in jg.items():
        theirs = jd.get(field)
        if not isinstance(theirs, list) or [m for m in theirs if m in messages] != messages:
            return None
    dropped = [m for f, ms in jd.items() for m in ms if m not in jg.get(f, [])]
    return PROXY_REFUSAL if dropped and all("already exists" in m for m in dropped) else None


def prepare_drf_db(args, db):
    """Gives the app's database its tables (specgate's migrations, then Django's own) and
    checks that the models match them; returns the app's environment."""
    r = subprocess.run([args.specgate, "migrate", "--spec", MAIN, "--database-url",
                        db_url(db)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"specgate migrate failed: {r.stderr}")
    env = dict(os.environ, DRFAPP_DB_NAME=db, DRFAPP_DB_HOST=PG["host"],
               DRFAPP_DB_PORT=PG["port"], DRFAPP_DB_USER=PG["user"],
               PYTHONDONTWRITEBYTECODE="1")
    for cmd in (["migrate", "--noinput"], ["checkschema"]):
        r = subprocess.run([VENV_PY, "manage.py", *cmd], cwd=DRFAPP, env=env,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"manage.py {cmd[0]} failed:\n{r.stdout}{r.stderr}")
        if cmd[0] == "checkschema":
            log(r.stdout.strip())
    return env


def start_drf(env, port, log_path):
    """`manage.py runserver` on `port` (DEBUG off), its output in `log_path`."""
    out = open(log_path, "w")
    return subprocess.Popen([VENV_PY, "manage.py", "runserver", "--noreload", "--nothreading",
                             f"127.0.0.1:{port}"], cwd=DRFAPP, env=env,
                            stdout=out, stderr=subprocess.STDOUT)


def run_once(args, reqs, kind, started):
    """One full comparison: fresh databases, both servers, every request. The gateway's
    database is PostgreSQL or SQLite (kind); the original's is PostgreSQL."""
    BYTES_CHECKED[:] = [0, 0]
    BYTES_UNCHECKED.clear()
    GW_CREATED_TS.clear()
    tag = f"{os.getpid()}_{int(time.time())}"
    workdir = tempfile.mkdtemp(prefix="specgate-diff-")
    if kind == "sqlite":
        gwdb = SqliteGatewayDb(os.path.join(workdir, "gateway.sqlite3"))
        db_drf = f"diff_drf_{tag}_sqliterun"
    elif kind in ("proxy", "proxy-report", "mirror"):
        # The proxied app's own database: the ids to realign are the app's behind the proxy.
        gwdb = PostgresGatewayDb(f"diff_drfb_{tag}")
        db_drf = f"diff_drf_{tag}_{kind}run"
    else:
        gwdb = PostgresGatewayDb(f"diff_gw_{tag}")
        db_drf = f"diff_drf_{tag}"
    procs = []
    completed = False
    # The mirror run's third database: the native executor's, behind the mirror.
    mirror_db = PostgresGatewayDb(f"diff_mir_{tag}") if kind == "mirror" else None
    admin_port = None
    try:
        gwdb.create()
        if mirror_db:
            mirror_db.create()
        psql("postgres", f'CREATE DATABASE "{db_drf}"')
        env = prepare_drf_db(args, db_drf)
        gw_port, drf_port = free_port(), free_port()
        gw_log = open(os.path.join(workdir, "specgate.log"), "w")
        if kind in ("proxy", "proxy-report", "mirror"):
            # The second copy of the app, behind examples/proxy (or examples/mirror); the
            # proxy's own database holds nothing (the mirror's is seeded like the app's).
            env_b = prepare_drf_db(args, gwdb.name)
            gwdb.seed()
            app_port = free_port()
            app_b = start_drf(env_b, app_port, os.path.join(workdir, "django-behind-proxy.log"))
            procs.append(app_b)
            wait_ready(app_port, app_b, "django behind the proxy")
            folder = "mirror" if kind == "mirror" else "proxy"
            cmd = [args.specgate, "--listen", f"127.0.0.1:{gw_port}", "--spec",
                   os.path.join(MAIN, "examples", folder), "--log", "warn", "--no-watch"]
            if kind == "mirror":
                admin_port = free_port()
                cmd += ["--database-url", mirror_db.url(), "--admin-listen",
                        f"127.0.0.1:{admin_port}", "--mirror-keep", "100000",
                        "--mirror-queue", "100000"]
            else:
                cmd += ["--database-url", "sqlite::memory:"]
            gw = subprocess.Popen(cmd, stdout=gw_log, stderr=subprocess.STDOUT,
                                  env=dict(os.environ, UPSTREAM_URL=f"http://127.0.0.1:{app_port}",
                                           PROXY_VALIDATE="report" if kind == "proxy-report"
                                           else "enforce"))
            procs.append(gw)
            wait_ready(gw_port, gw, f"specgate ({kind})")
            if mirror_db:
                mirror_db.seed()
        else:
            gw = subprocess.Popen([args.specgate, "--listen", f"127.0.0.1:{gw_port}", "--spec",
                                   MAIN, "--database-url", gwdb.url(), "--log", "warn"],
                                  stdout=gw_log, stderr=subprocess.STDOUT)
            procs.append(gw)
            wait_ready(gw_port, gw, "specgate")
            gwdb.seed()
        psql(db_drf, SEED_SQL)
        drf = start_drf(env, drf_port, os.path.join(workdir, "django.log"))
        procs.append(drf)
        wait_ready(drf_port, drf, "django")
        log(f"gateway  http://127.0.0.1:{gw_port} on {gwdb}\n"
            f"original http://127.0.0.1:{drf_port} on {db_drf}\nlogs in {workdir}\n")

        ids = {"drf": _Missing(SEED_IDS), "gw": _Missing(SEED_IDS)}
        counts = {"OK": 0, "EXPECTED": 0, "DIFF": 0}
        failures, expected, notes = [], [], {}
        by_n, titles = {}, {}
        # The mirror run: per request, whether it was mirrored and whether the mirror's answer
        # differed (the mirror is waited for after each request, so each finding is its own).
        mirrored, mirror_differed, mirror_notes = set(), set(), []
        for req in reqs:
            rd = send(drf_port, req, ids["drf"])
            if kind == "mirror":
                before = mirror_report(admin_port)
                tagged = dict(req, headers=dict(req["headers"], **{"X-Request-Id": f"diff-{req['n']}"}))
                rg = send(gw_port, tagged, ids["gw"])
                after = mirror_drained(admin_port)
                if after["queued"] > before["queued"]:
                    mirrored.add(req["n"])
                if after["differed"] > before["differed"]:
                    mirror_differed.add(req["n"])
            else:
                rg = send(gw_port, req, ids["gw"])
            if req["capture"]:
                for side, resp in (("drf", rd), ("gw", rg)):
                    j = parse_json(resp)
                    if resp["status"] == 201 and isinstance(j, dict) and "id" in j:
                        ids[side][req["capture"]] = j["id"]
            diffs, req_notes = compare(req, rd, rg)
            if req["method"] not in ("GET", "HEAD"):
                # Ids are visible: a create that burns an id on one side only shifts every
                # later id. Report it here, at its origin, then realign both sequences.
                nd, ng = next_id(db_drf), gwdb.next_id()
                if nd != ng:
                    diffs.append(("id-sequence", f"id sequence: after this request DRF's next "
                                                 f"id is {nd}, the gateway's {ng} (realigned "
                                                 f"to {max(nd, ng)})"))
                    if nd < ng:
                        set_next_id(db_drf, max(nd, ng))
                    else:
                        gwdb.set_next_id(max(nd, ng))
                if mirror_db:
                    # The mirror's own sequence follows the app behind the gateway.
                    nm, top = mirror_db.next_id(), max(nd, ng)
                    if nm != top:
                        mirror_notes.append(f"#{req['n']}: the mirror's next id was {nm}, the "
                                            f"app's {top} (realigned)")
                        mirror_db.set_next_id(top)
            for kind_, text in req_notes:
                notes.setdefault(kind_, {}).setdefault(text, []).append(req["n"])
            title = describe(req, ids["drf"])
            titles[req["n"]] = title
            if not diffs:
                counts["OK"] += 1
                if not args.quiet:
                    log(f"OK       {title}")
                continue
            refused = proxy_refusal(req, rd, rg)
            if refused:
                req = dict(req, known={**req["known"], "*": refused})
            unexpected = [(a, t) for a, t in diffs if not matches_known(a, req["known"])]
            if unexpected:
                counts["DIFF"] += 1
                failures.append((req, rd, rg, unexpected))
                by_n[req["n"]] = (unexpected, rd, rg)
                log(f"DIFF     {title}")
                for _, t in unexpected:
                    log(f"           {t}")
                log(f"           DRF:     {show(rd)}")
                log(f"           gateway: {show(rg)}")
            else:
                counts["EXPECTED"] += 1
                reasons = sorted({req["known"][matches_known(a, req["known"])] for a, _ in diffs})
                expected.append((req, reasons))
                log(f"EXPECTED {title}")
                for reason in reasons:
                    log(f"           {reason}")
                for _, t in diffs:
                    log(f"           {t}")

        log("\n== notes (informational, not counted as differences) ==")
        log(f"bytes of the JSON bodies that are equal once parsed: {BYTES_CHECKED[1]} of "
            f"{BYTES_CHECKED[0]} compared"
            + (f" (not comparable: #{', #'.join(map(str, BYTES_UNCHECKED))})"
               if BYTES_UNCHECKED else ""))
        if not notes:
            log("none")
        for kind_, texts in sorted(notes.items()):
            for text, ns in sorted(texts.items(), key=lambda kv: -len(kv[1])):
                log(f"{kind_}: {text} — on {len(ns)} request(s), e.g. #{', #'.join(map(str, ns[:8]))}")
        log(f"created-row timestamps of the gateway compared through a placeholder: "
            f"{len(GW_CREATED_TS)} distinct")
        clock = clock_check()
        if clock:
            log(f"DIFF     {clock}")
        log("\n== unexpected differences by group ==")
        by_group = {}
        for req, *_ in failures:
            by_group.setdefault(req["group"], []).append(req["n"])
        for g, ns in sorted(by_group.items(), key=lambda kv: -len(kv[1])):
            log(f"{g}: {len(ns)} (#{', #'.join(map(str, ns))})")
        if not by_group:
            log("none")
        total = sum(counts.values())
        elapsed = time.time() - started
        log(f"\n{total} requests: {counts['OK']} OK, {counts['EXPECTED']} expected differences, "
            f"{counts['DIFF']} unexpected differences ({elapsed:.1f}s)")
        mirror_ok = True
        if kind == "mirror":
            mirror_ok = report_mirror(admin_port, reqs, titles, mirrored, mirror_differed,
                                      mirror_notes)
        completed = True
        return {"counts": counts, "elapsed": elapsed, "failures": by_n, "titles": titles,
                "mirror_ok": mirror_ok, "clock_ok": clock is None}
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        if args.keep:
            if kind == "sqlite":
                log(f"kept the gateway's SQLite file {gwdb} and the database {db_drf} "
                    "(original)")
            else:
                log(f"kept databases {gwdb} (gateway) and {db_drf} (original)")
        else:
            gwdb.drop()
            if mirror_db:
                mirror_db.drop()
            psql("postgres", f'DROP DATABASE IF EXISTS "{db_drf}" WITH (FORCE)', check=False)
            if completed:
                shutil.rmtree(workdir, ignore_errors=True)
        if not completed:
            log(f"the run did not complete; server logs kept in {workdir}")


def admin_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError(f"admin {path}: {r.status} {data[:200]!r}")
    return data.decode("utf-8")


def mirror_report(port):
    return json.loads(admin_get(port, "/mirror"))


def mirror_drained(port, timeout=30):
    """/mirror once the mirror compared every request queued so far."""
    deadline = time.time() + timeout
    while True:
        rep = mirror_report(port)
        if rep["compared"] >= rep["queued"] or time.time() > deadline:
            return rep
        time.sleep(0.005)


def report_mirror(port, reqs, titles, mirrored, differed, notes):
    """Prints what the mirror found against the requests the native run marks known= (its
    deliberate differences); True when the mirror differed exactly on the known requests it
    saw, skipped nothing, and /metrics agrees with /mirror."""
    rep = mirror_drained(port)
    metrics = admin_get(port, "/metrics")

    def total(name):
        return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                   if line.startswith(name + "{"))

    known = {r["n"]: r["known"] for r in reqs if r["known"]}
    by_id = {e["request"]["headers"].get("x-request-id"): e for e in rep["differences"]}
    # The kept entries name their requests; the windows between requests confirm them.
    differed = differed | {int(i[5:]) for i in by_id if i and i.startswith("diff-")}
    log("\n== the mirror (native executor on its own database) against the known differences ==")
    log(f"mirrored {rep['compared']} of {len(reqs)} requests, {rep['differed']} answered "
        f"differently, {rep['skipped']} skipped; /metrics: "
        f"{total('specgate_mirror_compared_total'):.0f} compared, "
        f"{total('specgate_mirror_differences_total'):.0f} differences, "
        f"{total('specgate_mirror_skipped_total'):.0f} skipped")
    as_expected = sorted(differed & set(known))
    unexpected = sorted(differed - set(known))
    missed = sorted((set(known) & mirrored) - differed)
    unseen = sorted(set(known) - mirrored)

    def show_entry(n):
        e = by_id.get(f"diff-{n}")
        if e:
            for t in e["differences"][:6]:
                log(f"           {t}")

    log(f"known and different on the mirror too: {len(as_expected)}")
    for n in as_expected:
        log(f"  SAME     {titles.get(n, n)}")
        for reason in sorted(set(known[n].values())):
            log(f"           known: {reason}")
        show_entry(n)
    log(f"different on the mirror, not known: {len(unexpected)}")
    for n in unexpected:
        log(f"  UNKNOWN  {titles.get(n, n)}")
        show_entry(n)
    log(f"known, mirrored, but the mirror agreed (a known= mark allows a difference, the "
        f"native run may have none there): {len(missed)}")
    for n in missed:
        log(f"  MISSED   {titles.get(n, n)}")
        for reason in sorted(set(known[n].values())):
            log(f"           known: {reason}")
    log(f"known, not mirrored (the gateway answered itself, or HEAD/OPTIONS): {len(unseen)}"
        + (f" (#{', #'.join(map(str, unseen))})" if unseen else ""))
    for note in notes:
        log(f"note: {note}")
    consistent = (total("specgate_mirror_compared_total") == rep["compared"]
                  and total("specgate_mirror_differences_total") == rep["differed"]
                  and len(rep["differences"]) == rep["differed"])
    if not consistent:
        log("/metrics and /mirror disagree")
    # A known= mark says a difference there is deliberate, not that there is one (#396's
    # Accept gets JSON from both): a known request the mirror agreed on is reported only.
    ok = not unexpected and rep["skipped"] == 0 and consistent
    log("mirror: " + ("OK, the mirror differed exactly on the known differences it saw"
                      if ok else "FAILED"))
    return ok


class _Missing(dict):
    """Placeholder map: an id that one side never got (its create failed) becomes 99999999."""

    def __missing__(self, key):
        return 99999999


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print(f"run failed: {e}", file=sys.stderr)
        sys.exit(2)
