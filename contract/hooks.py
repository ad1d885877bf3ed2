"""Schemathesis hooks for specgate's contract run: the built-in data checks, each with the
one allowance the contract makes and JSON Schema cannot express.

`positive_data_acceptance` fails any 400 to a schema-valid request. A JSON Schema cannot say
"unique": a valid body whose value is already taken gets the API's uniqueness 400, as the
contract requires (DRF answers 400, not 409). This check is the built-in one, except that a
400 whose every message is one of the uniqueness messages declared in routes.yaml counts as
accepted. Any other 400 to valid data still fails. Likewise a schema cannot say which entity
tag a row has now: a 412 to a request that sent `If-Match` or `If-None-Match` is the answer
the contract requires for a tag that is not (or is) the current one, so it counts as accepted;
and, judged before the body, it is as much a refusal of invalid data as a 400.
"""

import json
import os

import jsonschema_rs
import schemathesis
import yaml
from schemathesis.specs.openapi.checks import (
    _openapi_negative_data_rejection,
    _openapi_positive_data_acceptance,
)

SPEC = os.environ.get("SPECGATE_SPEC", os.path.join(os.path.dirname(__file__), ".."))


def _uniqueness_messages():
    with open(os.path.join(SPEC, "routes.yaml"), encoding="utf-8") as f:
        table = yaml.safe_load(f)
    return {
        message
        for resource in (table.get("resources") or {}).values()
        for message in (resource.get("unique") or {}).values()
    }


UNIQUENESS = _uniqueness_messages()


def _only_conflicts(response):
    if response.status_code != 400:
        return False
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    if not isinstance(body, dict) or not body:
        return False
    return all(
        isinstance(messages, list) and messages and all(m in UNIQUENESS for m in messages)
        for messages in body.values()
    )


def _precondition_failed(response, case):
    if response.status_code != 412:
        return False
    sent = {name.lower() for name in (case.headers or {})}
    return bool(sent & {"if-match", "if-none-match"})


@schemathesis.check
def positive_data_accepted_unless_taken(ctx, response, case):
    """Valid data is accepted, unless its unique values are already taken or its
    preconditions do not hold for the row as it is."""
    if _only_conflicts(response) or _precondition_failed(response, case):
        return None
    return _openapi_positive_data_acceptance(ctx, response, case)


def _request_schema(case):
    """The operation's body schema, `$ref` resolved against the document's components."""
    request_body = case.operation.definition.raw.get("requestBody") or {}
    for media in (request_body.get("content") or {}).values():
        schema = media.get("schema") or {}
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            components = case.operation.schema.raw_schema["components"]["schemas"]
            return components[ref.rsplit("/", 1)[1]]
        return schema
    return None


def _allows_text(prop):
    types = prop.get("type")
    return types == "string" or (isinstance(types, list) and "string" in types)


def _shaped(body, schema):
    """The body as the gateway reads it: unknown keys dropped, strings trimmed, numbers sent
    for text fields turned into Python's text for them (the README documents all three)."""
    properties = schema.get("properties") or {}
    shaped = {}
    for key, value in body.items():
        prop = properties.get(key)
        if prop is None:
            continue
        if isinstance(value, str) and prop.get("x-trim", True):
            value = value.strip()
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and _allows_text(prop):
            value = str(value).strip()
        shaped[key] = value
    return shaped


def _valid_after_shaping(case):
    schema = _request_schema(case)
    if schema is None or not isinstance(case.body, dict):
        return False
    try:
        return jsonschema_rs.validator_for(schema).is_valid(_shaped(case.body, schema))
    except Exception:  # a schema this validator cannot load proves nothing
        return False


@schemathesis.check
def invalid_data_rejected_after_shaping(ctx, response, case):
    """Invalid data is rejected, unless the gateway's documented shaping (trimming, numbers
    as text for text fields, unknown keys ignored) makes it valid: then accepting it is the
    contract, as DRF did. A 412 to a request that sent a precondition rejects it too:
    nothing was written (a failed precondition is judged before the body, RFC 9110 13.2.1)."""
    if 200 <= response.status_code < 300 and _valid_after_shaping(case):
        return None
    if _precondition_failed(response, case):
        return None
    return _openapi_negative_data_rejection(ctx, response, case)
