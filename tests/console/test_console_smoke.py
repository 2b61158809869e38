from tests.console.conftest import sign_in


def test_smoke(client, console):
    r = sign_in(client, console, "adam")
    assert r.status_code == 302, r.get_data(as_text=True)
    for path in ("/console/", "/console/cases", "/console/audit", "/console/groups", "/console/people",
                 "/console/it", "/console/me", "/console/audit.csv", "/console/groups/1"):
        r = client.get(path, follow_redirects=True)
        assert r.status_code == 200, (path, r.get_data(as_text=True)[:3000])
