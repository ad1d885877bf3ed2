"""A client generated from the served document gets every operation, and each works.

Usage: python contract/client.py BASE_URL OUT_DIR

Generates a Python client from BASE_URL/openapi.json with openapi-python-client (pinned in
contract/requirements.txt) into OUT_DIR, imports it, and calls every operation of the Users
API through it against the running gateway: create, list, retrieve, update, partial update
and destroy, each body operation with every media type the document offers (JSON, form,
multipart), then checks the answers. Exits 1 on the first wrong answer.
"""

import builtins
import importlib
import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path


def generate(base, out):
    """The client package generated from the served document, imported."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    document = out / "openapi.json"
    with urllib.request.urlopen(f"{base}/openapi.json") as response:
        document.write_bytes(response.read())
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    generated = subprocess.run(
        [bin_dir / "openapi-python-client", "generate", "--path", document,
         "--output-path", out / "client", "--fail-on-warning"],
        env=env, capture_output=True, text=True,
    )
    if generated.returncode != 0:
        sys.exit(f"client generation failed:\n{generated.stdout}\n{generated.stderr}")
    (package,) = [p.parent.name for p in (out / "client").glob("*/client.py")]
    sys.path.insert(0, str(out / "client"))
    return package


def expect(response, status, what):
    """The response, after checking its status (and that the client parsed a body)."""
    if response.status_code != status:
        sys.exit(f"{what}: expected {status}, got {response.status_code}: {response.content!r}")
    print(f"ok  {what}: {status}")
    return response.parsed


def main():
    base, out = sys.argv[1], Path(sys.argv[2])
    package = generate(base, out)
    models = importlib.import_module(f"{package}.models")
    # openapi-python-client 0.29.1 annotates a required body offered in several media types
    # as `... | Unset` without importing `Unset` (its issue 1451): give the name to the
    # modules it generated, unchanged, so they import.
    builtins.Unset = importlib.import_module(f"{package}.types").Unset
    ops = {name: importlib.import_module(f"{package}.api.default.{name}")
           for name in ("create_users", "list_users", "retrieve_users", "update_users",
                        "partial_update_users", "destroy_users")}
    client = importlib.import_module(f"{package}.client").Client(base_url=base)
    run = uuid.uuid4().hex[:8]

    made = {}
    for media, model in [("json", models.UserInput), ("form", models.UserInputForm),
                         ("multipart", models.UserInputMultipart)]:
        name = f"client-{run}-{media}"
        body = model(username=name, email=f"{name}@example.com", first_name="Ada")
        user = expect(ops["create_users"].sync_detailed(client=client, body=body), 201,
                      f"create ({media})")
        assert user.username == name and user.first_name == "Ada", user
        made[media] = user

    page = expect(ops["list_users"].sync_detailed(
        client=client, username_istartswith=f"CLIENT-{run}"), 200, "list (istartswith)")
    assert page.count == 3 and {u.username for u in page.results} == {
        u.username for u in made.values()}, page
    page = expect(ops["list_users"].sync_detailed(
        client=client, email=made["json"].email, limit="1"), 200, "list (email)")
    assert [u.id for u in page.results] == [made["json"].id], page

    target = made["json"].id
    user = expect(ops["retrieve_users"].sync_detailed(target, client=client), 200, "retrieve")
    assert user.username == made["json"].username, user

    for media, model in [("json", models.UserInput), ("form", models.UserInputForm),
                         ("multipart", models.UserInputMultipart)]:
        name = f"client-{run}-put-{media}"
        body = model(username=name, email=f"{name}@example.com", last_name=media)
        user = expect(ops["update_users"].sync_detailed(target, client=client, body=body), 200,
                      f"update ({media})")
        assert user.username == name and user.last_name == media and user.first_name == "Ada", user  # PUT keeps what it omits, as in DRF

    for media, model in [("json", models.UserInputPartial),
                         ("form", models.UserInputPartialForm),
                         ("multipart", models.UserInputPartialMultipart)]:
        body = model(first_name=f"Grace {media}")
        user = expect(ops["partial_update_users"].sync_detailed(target, client=client, body=body),
                      200, f"partial update ({media})")
        assert user.first_name == f"Grace {media}" and user.last_name == "multipart", user

    taken = models.UserInput(username=made["form"].username, email=f"other-{run}@example.com")
    errors = expect(ops["create_users"].sync_detailed(client=client, body=taken), 400,
                    "create (taken username)")
    assert errors["username"] == ["A user with that username already exists."], errors

    for user in made.values():
        expect(ops["destroy_users"].sync_detailed(user.id, client=client), 204, "destroy")
    gone = expect(ops["retrieve_users"].sync_detailed(target, client=client), 404,
                  "retrieve (destroyed)")
    assert gone.detail, gone
    print("generated client: every operation answered as documented")


if __name__ == "__main__":
    main()
