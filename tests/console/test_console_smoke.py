"""Every console page renders for an organisation admin on a fresh deployment."""
from tests.console.conftest import sign_in


def test_every_page_renders_for_the_organisation_admin(client, console):
    r = sign_in(client, console, "adam")
    assert r.status_code == 302, r.get_data(as_text=True)
    for path in ("/console/", "/console/cases", "/console/audit", "/console/groups", "/console/people",
                 "/console/it", "/console/me", "/console/audit.csv", "/console/groups/1"):
        r = client.get(path, follow_redirects=True)
        assert r.status_code == 200, (path, r.get_data(as_text=True)[:3000])
