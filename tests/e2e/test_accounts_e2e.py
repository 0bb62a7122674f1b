"""Issue 2 "done when", over real HTTP against the local stack."""

from __future__ import annotations

from typing import Any


def test_health_and_openapi_are_public(http: Any) -> None:
    # When
    health = http.get("/v1/health")
    doc = http.get("/v1/openapi.json")
    # Then
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert doc.status_code == 200 and doc.json()["openapi"].startswith("3.")
    assert "/v1/me" in doc.json()["paths"]


def test_publisher_key_lifecycle(http_admin: Any, new_account: Any) -> None:
    # Given an admin creates a publisher account
    pub, account = new_account("publisher")
    # When the publisher uses its key
    me = pub.get("/v1/me")
    # Then it is that account
    assert me.status_code == 200
    assert me.json()["id"] == account["id"] and me.json()["roles"] == ["publisher"]
    # And an admin route is forbidden to it
    forbidden = pub.post("/v1/accounts", json={"name": "x", "email": "x@example.com", "roles": ["buyer"]})
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"
    # When it revokes its own key
    keys = pub.get("/v1/me/keys").json()["items"]
    assert len(keys) == 1 and "api_key" not in keys[0]
    assert pub.delete(f"/v1/me/keys/{keys[0]['key_id']}").status_code == 204
    # Then the key stops working
    after = pub.get("/v1/me")
    assert after.status_code == 401 and after.headers["content-type"] == "application/problem+json"


def test_request_without_key_is_401_problem(http: Any) -> None:
    r = http.get("/v1/me")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 401 and r.json()["code"] == "unauthorized"


def test_requests_are_logged(local_stack: dict[str, Any], http: Any) -> None:
    http.get("/v1/health")
    with open(local_stack["log_path"]) as log:
        assert "GET /v1/health -> 200" in log.read()
