def test_healthz(client):
    assert client.get("/healthz").json()["status"] == "ok"


def test_readyz_checks_database_migrations_and_index(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "database": True, "migrations": True, "grid_index": True}


def test_unknown_route_is_a_json_404(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "http_error"
