import base64
import json

from registry.auth import (
    Credentials,
    docker_config_credentials,
    parse_challenge,
    scope_for,
)


def test_bearer_challenge_keeps_commas_inside_quoted_scope():
    header = ('Bearer realm="https://auth.example/token",service="reg, main",'
              'scope="repository:models/car/net:pull,push",error="insufficient_scope"')
    challenge = parse_challenge(header)
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example/token",
        "service": "reg, main",
        "scope": "repository:models/car/net:pull,push",
        "error": "insufficient_scope",
    }


def test_basic_challenge_and_escaped_quotes():
    challenge = parse_challenge(r'Basic realm="say \"hi\"", charset=UTF-8')
    assert challenge.scheme == "basic"
    assert challenge.params == {"realm": 'say "hi"', "charset": "UTF-8"}


def test_credentials_never_show_the_password():
    creds = Credentials("fleet", "hunter2")
    assert "hunter2" not in repr(creds) and "hunter2" not in str(creds)
    assert creds.basic_header() == "Basic " + base64.b64encode(b"fleet:hunter2").decode()


def test_docker_config_auths_by_host(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {
        "reg.example:5000": {"auth": base64.b64encode(b"bob:pw:with:colons").decode()},
    }}))
    creds = docker_config_credentials("http://reg.example:5000", config)
    assert creds == Credentials("bob", "pw:with:colons")
    assert docker_config_credentials("http://other:5000", config) is None
    assert docker_config_credentials("http://reg.example:5000", tmp_path / "missing") is None


def test_scope_needed_per_request():
    assert scope_for("GET", "/v2/models/car/net/manifests/1.0") == "repository:models/car/net:pull"
    assert scope_for("PUT", "/v2/models/car/net/manifests/1.0") == (
        "repository:models/car/net:pull,push")
    assert scope_for("GET", "/v2/_catalog") == "registry:catalog:*"
    assert scope_for("GET", "/v2/") is None
