"""The production recipe (deploy/) agrees with the code: every variable it sets is one Steward reads, the
required ones are set, and the processes it runs are the ones the fault-injection suite runs."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from connectors import registry
from steward import settings

ROOT = Path(__file__).parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
#: every process needs these to be part of a cluster (several processes share rate limits and floods in Redis)
CLUSTER = {"DATABASE_URL", "STEWARD_REDIS_URL", "STEWARD_CONFIG", "STEWARD_FILES_DIR"}


def known() -> set[str]:
    names = {v.name for v in settings.ENV}
    for manifest in registry.manifests():
        names |= {v.name for v in manifest.env}
    return names


def steward_services() -> dict[str, dict]:
    return {name: s for name, s in COMPOSE["services"].items() if s.get("image", "").startswith("steward")}


def env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            out[name.strip()] = value
    return out


def test_compose_sets_only_variables_steward_reads():
    services = steward_services()
    assert {"migrate", "web1", "web2", "worker1", "worker2"} <= set(services)
    unknown = {f"{name}: {var}" for name, s in services.items() for var in s.get("environment", {})
               if var not in known()}
    assert not unknown, f"compose.yaml sets variables Steward never reads: {sorted(unknown)}"
    for name, s in services.items():
        for entry in s.get("env_file", []):
            path = DEPLOY / (entry["path"] if isinstance(entry, dict) else entry)
            example = path.with_name(path.name + ".example")
            assert example.is_file(), f"{name}: {path.name} has no {example.name} to start from"
            extra = set(env_file(example)) - known()
            assert not extra, f"{example.name} names variables Steward never reads: {sorted(extra)}"


def test_compose_sets_the_required_variables():
    required = {v.name for v in settings.ENV if v.required}
    for name, s in steward_services().items():
        env = s.get("environment", {})
        assert required <= set(env), (name, required - set(env))
        assert env.get("DATABASE_URL", "").startswith("postgresql://"), name
        if name == "migrate":
            continue
        missing = CLUSTER - set(env)
        assert not missing, f"{name} lacks {missing}"
    workers = [s for s in steward_services().values() if s["command"][0] == "worker"]
    ids = [s["environment"]["STEWARD_WORKER_ID"] for s in workers]
    assert len(ids) == 2 and len(set(ids)) == 2, ids


def test_compose_runs_two_web_processes_behind_the_proxy_and_two_workers():
    services = steward_services()
    webs = sorted(n for n, s in services.items() if s["command"][0] == "serve")
    assert webs == ["web1", "web2"]
    assert all("--no-worker" in services[w]["command"] for w in webs)       # delivery is the workers' job
    assert sorted(n for n, s in services.items() if s["command"][0] == "worker") == ["worker1", "worker2"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    nginx = (DEPLOY / "nginx.conf").read_text("utf-8")
    assert sorted(re.findall(r"server (web\d):8000", nginx)) == webs
    assert COMPOSE["services"]["proxy"]["volumes"][0].startswith("./nginx.conf:")
    # the web processes log in as a role that cannot rewrite the audit log; only migrations as the owner
    assert services["web1"]["environment"]["DATABASE_URL"].startswith("postgresql://steward_app:")
    assert services["migrate"]["environment"]["DATABASE_URL"].startswith("postgresql://steward:")


def test_the_fault_suite_runs_the_compose_commands():
    from tests.faults import cluster

    assert cluster.compose_command("web1")[0] == "serve" and cluster.compose_command("worker1")[0] == "worker"
    web = cluster.Web("web1", {}, ROOT)
    assert web.args[0] == "serve" and "--no-worker" in web.args and "--workers" in web.args


def test_systemd_units_run_steward_and_read_only_its_variables():
    units = {p.name: p.read_text("utf-8") for p in (DEPLOY / "systemd").glob("*.service")}
    assert set(units) == {"steward-migrate.service", "steward-web.service", "steward-worker@.service"}
    assert "steward db upgrade" in units["steward-migrate.service"]
    assert "steward serve" in units["steward-web.service"] and "--no-worker" in units["steward-web.service"]
    assert "steward worker" in units["steward-worker@.service"]
    for name, text in units.items():
        assert re.search(r"^User=steward$", text, re.M), f"{name} must not run as root"
        for var in re.findall(r"^Environment=(\w+)=", text, re.M):
            assert var in known(), (name, var)
    for example in (DEPLOY / "systemd").glob("*.example"):
        assert set(env_file(example)) <= known(), example.name
    assert CLUSTER <= set(env_file(DEPLOY / "systemd" / "steward.env.example"))


def test_the_image_holds_the_package_and_runs_as_a_user():
    dockerfile = (DEPLOY / "Dockerfile").read_text("utf-8")
    stages = re.findall(r"^FROM ", dockerfile, re.M)
    assert len(stages) >= 2, "multi-stage: build tools stay in the build stage"
    final = dockerfile.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER steward$", final, re.M)
    assert "COPY tests" not in dockerfile and "COPY . " not in dockerfile
    ignored = (ROOT / ".dockerignore").read_text("utf-8").split()
    assert "tests" in ignored and ".venv" in ignored and ".git" in ignored
