"""docker-compose.yml, deploy/Dockerfile and deploy/k8s agree with each other and with the code.

No container engine or cluster is needed: the files are parsed and checked against the
settings class and the ``maillon`` command line they rely on.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from pydantic import ValidationError
from typer.core import TyperCommand, TyperGroup

from services.cli import commands
from services.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY_README = ROOT / "deploy" / "README.md"
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATION = K8S / "kustomization.yaml"

# Manifests an operator applies by hand, on purpose absent from kustomization.yaml.
NOT_IN_KUSTOMIZATION = {"secret.example.yaml", "reference-data-job.yaml"}

SECRET_NAME = "maillon-secrets"
# In every pod, and required: the pod does not start without them.
SECRET_KEYS = {"DATABASE_URL", "REDIS_URL", "MAILLON_SECRET_KEY"}
# The bucket's keys (decision 0060): required where files are read or written.
S3_SECRET_KEYS = {"MAILLON_S3_ACCESS_KEY_ID", "MAILLON_S3_SECRET_ACCESS_KEY"}
# Optional references (`optional: true`): a relay without login, no SMS provider.
OPTIONAL_SECRET_KEYS = {
    "MAILLON_SMTP_USERNAME",
    "MAILLON_SMTP_PASSWORD",
    "MAILLON_SMS_API_KEY",
    "MAILLON_SMS_CALLBACK_SECRET",
}
# Which credentials each workload receives beyond SECRET_KEYS: the API stores and serves files
# and checks the SMS provider's callbacks; the notifications worker sends e-mail and SMS and
# deletes the files of anonymised candidates (retention).
EXTRA_SECRETS: dict[str, set[str]] = {
    "Deployment/maillon-api": S3_SECRET_KEYS | {"MAILLON_SMS_CALLBACK_SECRET"},
    "Deployment/maillon-notifications": S3_SECRET_KEYS
    | {"MAILLON_SMTP_USERNAME", "MAILLON_SMTP_PASSWORD", "MAILLON_SMS_API_KEY"},
}
CONFIGMAP_NAME = "maillon-config"
API_PORT = 8000
UID = 10001
TMP = "/tmp"  # noqa: S108 (an emptyDir in every pod, the only writable path)

# The command surface the containers use (services/cli). Every command a container or a probe
# runs must start with one of these, and must parse against the real CLI (see below).
CONTAINER_COMMANDS: set[tuple[str, ...]] = {
    ("migrate",),
    ("api",),
    ("worker", "matching"),
    ("worker", "notifications"),
    ("relay",),
    ("health", "worker", "matching"),
    ("health", "worker", "notifications"),
    ("health", "relay"),
    ("import", "communes"),
    ("import", "qpv"),
    ("import", "rome"),
}
# The long-running processes, in compose as in Kubernetes.
PROCESSES: dict[str, list[str]] = {
    "api": ["api", "--host", "0.0.0.0", "--port", str(API_PORT)],  # noqa: S104 (in a container)
    "matching": ["worker", "matching"],
    "notifications": ["worker", "notifications"],
    "relay": ["relay"],
}
WORKERS = ("matching", "notifications", "relay")
AUTOSCALED = {"api", "matching", "notifications"}

Manifest = dict[str, Any]


# --- loading ------------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose() -> dict[str, Any]:
    data = load_yaml(COMPOSE_FILE)
    assert isinstance(data, dict)
    return data


def compose_services() -> dict[str, dict[str, Any]]:
    services = compose()["services"]
    assert isinstance(services, dict)
    return services


def maillon_services() -> dict[str, dict[str, Any]]:
    """Compose services running the Maillon image (built from deploy/Dockerfile)."""
    return {
        name: service
        for name, service in compose_services().items()
        if isinstance(service.get("build"), dict)
    }


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != KUSTOMIZATION.name)


def manifests(*, include_not_applied: bool = True) -> list[tuple[str, Manifest]]:
    found: list[tuple[str, Manifest]] = []
    for path in manifest_files():
        if not include_not_applied and path.name in NOT_IN_KUSTOMIZATION:
            continue
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document is not None:
                assert isinstance(document, dict), path.name
                found.append((path.name, document))
    return found


def of_kind(kind: str, *, include_not_applied: bool = False) -> dict[str, Manifest]:
    return {
        doc["metadata"]["name"]: doc
        for _, doc in manifests(include_not_applied=include_not_applied)
        if doc["kind"] == kind
    }


def deployments() -> dict[str, Manifest]:
    return of_kind("Deployment")


def deployment(process: str) -> Manifest:
    return deployments()[f"maillon-{process}"]


def workloads(*, include_not_applied: bool = True) -> dict[str, Manifest]:
    """Deployments and Jobs: everything that runs the image."""
    return {
        name: doc
        for _, doc in manifests(include_not_applied=include_not_applied)
        if doc["kind"] in {"Deployment", "Job"}
        for name in [f"{doc['kind']}/{doc['metadata']['name']}"]
    }


def pod_spec(workload: Manifest) -> dict[str, Any]:
    spec = workload["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


def pod_containers(workload: Manifest) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def only_container(workload: Manifest) -> dict[str, Any]:
    containers = pod_containers(workload)
    assert len(containers) == 1, workload["metadata"]["name"]
    return containers[0]


def container_argv(container: dict[str, Any]) -> list[str]:
    """The ``maillon`` arguments a container runs (the image's ENTRYPOINT is ``maillon``)."""
    command = container.get("command")
    if command is not None:
        assert command[0] == "maillon", command
        return [str(a) for a in [*command[1:], *container.get("args", [])]]
    return [str(a) for a in container["args"]]


def exec_probes(container: dict[str, Any]) -> Iterator[list[str]]:
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        if "exec" in container.get(probe, {}):
            yield [str(a) for a in container[probe]["exec"]["command"]]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions: list[tuple[str, str]] = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def allowed_env_names() -> set[str]:
    return {"DATABASE_URL", "REDIS_URL"} | {
        f"MAILLON_{field.upper()}" for field in Settings.model_fields
    }


_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::?-(?P<default>[^}]*))?\}")


def interpolate(value: str) -> str:
    """Compose's ``${NAME:-default}`` with nothing set in the environment."""
    return _INTERPOLATION.sub(lambda m: m.group("default") or "", value)


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(os.environ):
        if name.startswith("MAILLON_") or name in {"DATABASE_URL", "REDIS_URL"}:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def k8s_env(secret: dict[str, str]) -> dict[str, str]:
    configmap = of_kind("ConfigMap")[CONFIGMAP_NAME]
    return {**configmap["data"], **secret}


def container_argvs() -> list[list[str]]:
    """Every ``maillon`` command line a container or a health check runs, compose and k8s."""
    argvs: list[list[str]] = []
    for service in maillon_services().values():
        argvs.append([str(a) for a in service["command"]])
        test = [str(a) for a in service["healthcheck"].get("test", [])]
        if test[1:2] == ["maillon"]:
            argvs.append(test[2:])
    for workload in workloads().values():
        for container in pod_containers(workload):
            argvs.append(container_argv(container))
            argvs.extend(probe[1:] for probe in exec_probes(container) if probe[0] == "maillon")
    return argvs


# --- docker-compose.yml ---------------------------------------------------------------------


def test_compose_has_every_service() -> None:
    services = compose_services()
    assert {"postgres", "redis", "migrate", *PROCESSES} <= set(services)
    assert set(maillon_services()) == {"migrate", *PROCESSES}
    catchers = [s for s in services.values() if str(s.get("image", "")).startswith("axllent/")]
    assert len(catchers) == 1, "one mail catcher (mailpit)"
    assert "1025" in [str(p) for p in catchers[0].get("expose", [])]
    assert any(str(p).endswith(":8025") for p in catchers[0]["ports"])


def test_compose_servers_are_checked_and_persistent() -> None:
    services = compose_services()
    postgres, redis = services["postgres"], services["redis"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert redis["image"] == "redis:7"
    assert redis["healthcheck"]["test"][-1] == "ping"
    assert "--appendonly" in redis["command"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert any(v.endswith(":/data") for v in redis["volumes"])
    declared_volumes = set(compose()["volumes"])
    for service in (postgres, redis):
        for volume in service["volumes"]:
            assert volume.split(":")[0] in declared_volumes


def test_compose_runs_one_image_with_shared_settings() -> None:
    services = maillon_services()
    images = {s["image"] for s in services.values()}
    builds = {(s["build"]["context"], s["build"]["dockerfile"]) for s in services.values()}
    assert len(images) == 1
    assert builds == {(".", "deploy/Dockerfile")}
    environments = [s["environment"] for s in services.values()]
    assert all(env == environments[0] for env in environments), "x-maillon-env for all"
    assert compose()["x-maillon-env"] == environments[0]


def test_compose_commands() -> None:
    services = maillon_services()
    assert services["migrate"]["command"] == ["migrate"]
    for process, argv in PROCESSES.items():
        assert [str(a) for a in services[process]["command"]] == argv


def test_compose_start_order() -> None:
    services = maillon_services()
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"].get("restart", "no") == "no"
    for process in PROCESSES:
        depends = services[process]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", process
        assert depends["postgres"]["condition"] == "service_healthy", process
        assert depends["redis"]["condition"] == "service_healthy", process


def test_compose_healthchecks() -> None:
    services = maillon_services()
    api_check = " ".join(services["api"]["healthcheck"]["test"])
    assert f"http://127.0.0.1:{API_PORT}/health/" in api_check
    for process in WORKERS:
        # The image's HEALTHCHECK probes the API port: workers must replace it.
        test = services[process]["healthcheck"]["test"]
        assert test == ["CMD", "maillon", "health", *PROCESSES[process]], process
    assert services["migrate"]["healthcheck"] == {"disable": True}


def test_compose_api_port() -> None:
    api = maillon_services()["api"]
    targets = {int(str(p).rsplit(":", 1)[-1].split("/")[0]) for p in api["ports"]}
    assert targets == {API_PORT}
    assert int(api["environment"]["MAILLON_API_PORT"]) == API_PORT


def test_compose_env_names_are_settings() -> None:
    allowed = allowed_env_names()
    for name, service in maillon_services().items():
        environment = service["environment"]
        assert isinstance(environment, dict), name
        assert set(environment) <= allowed, set(environment) - allowed
        for value in environment.values():
            for match in _INTERPOLATION.finditer(str(value)):
                assert match.group("name") in allowed, match.group("name")


def test_compose_env_loads_into_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = maillon_services()["api"]["environment"]
    settings = settings_from({k: interpolate(str(v)) for k, v in environment.items()}, monkeypatch)
    assert settings.database_url is not None
    assert settings.database_url.split("@")[1].startswith("postgres:5432/")
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.api_port == API_PORT
    assert settings.cors_origins  # a JSON list, parsed


# --- deploy/Dockerfile and .dockerignore ----------------------------------------------------


def test_dockerfile_is_multi_stage_and_non_root() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    builder, final = stages[0], stages[-1]
    builder_runs = " ".join(rest for keyword, rest in builder if keyword == "RUN")
    assert "pip install -r requirements.lock" in builder_runs
    assert "pip install --no-deps ." in builder_runs
    assert builder_runs.index("requirements.lock") < builder_runs.index("--no-deps")
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "the final stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert user in {"maillon", str(UID)}
    final_text = " ".join(rest for _, rest in final)
    assert f"--uid {UID}" in final_text
    assert "build-essential" not in final_text
    assert any(k == "COPY" and rest.startswith("--from=") for k, rest in final)


def test_dockerfile_runs_maillon_api_on_its_port() -> None:
    stage = dockerfile_stages()[-1]
    final = dict(stage)
    assert json.loads(final["ENTRYPOINT"]) == ["maillon"]
    assert json.loads(final["CMD"]) == PROCESSES["api"]
    assert final["EXPOSE"] == str(API_PORT)
    assert final["WORKDIR"] == "/app"
    assert f"http://127.0.0.1:{API_PORT}/health/live" in final["HEALTHCHECK"]
    env = " ".join(rest for keyword, rest in stage if keyword == "ENV")
    for name in re.findall(r"\b(MAILLON_\w+)=", env):
        assert name in allowed_env_names(), name


def test_docker_build_context_has_what_the_dockerfile_copies() -> None:
    allowed = {
        line[1:].strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    }
    assert "*" in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    for keyword, rest in dockerfile_instructions():
        if keyword == "COPY" and not rest.startswith("--from="):
            *sources, _destination = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source in allowed, f"{source} is excluded by .dockerignore"


# --- deploy/k8s -----------------------------------------------------------------------------


def test_kustomization_lists_every_manifest() -> None:
    kustomization = load_yaml(KUSTOMIZATION)
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources))
    for resource in resources:
        assert (K8S / resource).is_file(), resource
    expected = {p.name for p in manifest_files()} - NOT_IN_KUSTOMIZATION
    assert set(resources) == expected
    for name in NOT_IN_KUSTOMIZATION:
        assert (K8S / name).is_file(), name
    images = {image["name"] for image in kustomization["images"]}
    used = {c["image"] for w in workloads().values() for c in pod_containers(w)}
    assert used == images == {"maillon"}


def test_every_manifest_is_well_formed() -> None:
    for filename, doc in manifests():
        assert {"apiVersion", "kind", "metadata"} <= set(doc), filename
        assert "namespace" not in doc["metadata"], f"{filename}: namespace-agnostic"
        assert doc["metadata"]["name"].startswith("maillon-"), filename


def test_deployments_run_the_processes() -> None:
    assert set(deployments()) == {f"maillon-{p}" for p in PROCESSES}
    for process, argv in PROCESSES.items():
        doc = deployment(process)
        assert container_argv(only_container(doc)) == argv, process
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert doc["spec"]["selector"]["matchLabels"].items() <= labels.items(), process
        assert labels["app.kubernetes.io/component"] == process
    assert deployment("relay")["spec"]["replicas"] >= 2
    jobs = of_kind("Job")
    assert [container_argv(only_container(job)) for job in jobs.values()] == [["migrate"]]


def test_container_commands_are_the_known_ones() -> None:
    argvs = container_argvs()
    assert len(argvs) > 10
    for argv in argvs:
        assert any(tuple(argv[: len(c)]) == c for c in CONTAINER_COMMANDS), argv


def test_container_commands_parse_against_the_cli(tmp_path: Path) -> None:
    """Each command a container or probe runs exists in ``services.cli`` and its options parse."""
    app = commands()  # every command registered

    # Typer builds on its own copy of click: walk its groups, then let the leaf command parse.
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    missing: set[str] = set()
    for container_argv_ in container_argvs():
        # Paths exist in the container (mounted volumes), not here.
        argv = [str(tmp_path) if a.startswith("/data") else a for a in container_argv_]
        current: object = root
        path: list[str] = []
        while isinstance(current, TyperGroup) and argv and argv[0] in current.commands:
            path.append(argv.pop(0))
            current = current.commands[path[-1]]
        if isinstance(current, TyperGroup):
            missing.add(" ".join(container_argv_))
            continue
        assert isinstance(current, TyperCommand), path
        # Parses arguments and options exactly as at run time, without running the command.
        with current.make_context(" ".join(["maillon", *path]), argv):
            pass
    assert not missing, f"not registered in services/cli: {', '.join(sorted(missing))}"


def test_pods_run_as_non_root_on_a_read_only_filesystem() -> None:
    for name, workload in workloads().items():
        spec = pod_spec(workload)
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True, name
        assert pod_security["runAsUser"] == UID, name
        assert spec.get("automountServiceAccountToken") is False, name
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in pod_containers(workload):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get(TMP) in tmp_volumes, f"{name}: {TMP} must be an emptyDir"
            assert "memory" in container["resources"]["limits"], name
            assert "cpu" in container["resources"]["requests"], name


def test_api_port_is_8000_everywhere() -> None:
    assert Settings.model_fields["api_port"].default == API_PORT
    container = only_container(deployment("api"))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": API_PORT}

    def resolve(port: int | str) -> int:
        return port if isinstance(port, int) else ports[port]

    service = of_kind("Service")["maillon-api"]
    assert [resolve(p["targetPort"]) for p in service["spec"]["ports"]] == [API_PORT]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert resolve(container[probe]["httpGet"]["port"]) == API_PORT
    configmap = of_kind("ConfigMap")[CONFIGMAP_NAME]["data"]
    assert configmap["MAILLON_API_PORT"] == str(API_PORT)
    template = deployment("api")["spec"]["template"]["metadata"]
    assert template["annotations"]["prometheus.io/port"] == str(API_PORT)
    assert template["annotations"]["prometheus.io/path"] == "/metrics"


def test_api_probes() -> None:
    container = only_container(deployment("api"))
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"


def test_worker_probes_use_their_heartbeat() -> None:
    for process in WORKERS:
        container = only_container(deployment(process))
        assert "ports" not in container, process
        probes = list(exec_probes(container))
        assert "livenessProbe" in container, process
        assert probes, process
        for probe in probes:
            assert probe == ["maillon", "health", *PROCESSES[process]], process


def test_service_and_pdb_select_the_api_pods_only() -> None:
    api_labels = deployment("api")["spec"]["template"]["metadata"]["labels"]
    selectors = [
        of_kind("Service")["maillon-api"]["spec"]["selector"],
        of_kind("PodDisruptionBudget")["maillon-api"]["spec"]["selector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector.items() <= api_labels.items()
        for process in WORKERS:
            labels = deployment(process)["spec"]["template"]["metadata"]["labels"]
            assert not selector.items() <= labels.items(), process


def test_hpas_target_existing_deployments() -> None:
    hpas = of_kind("HorizontalPodAutoscaler")
    targets: set[str] = set()
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2", name
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref["kind"] == "Deployment", name
        assert ref["name"] in deployments(), name
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"], name
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"], name
        targets.add(ref["name"])
        # The HPA owns the replica count: a fixed one would be reset on every apply.
        assert "replicas" not in deployments()[ref["name"]]["spec"], ref["name"]
    assert targets == {f"maillon-{p}" for p in AUTOSCALED}
    assert hpas["maillon-api"]["spec"]["minReplicas"] >= 2


def test_k8s_env_names_are_settings() -> None:
    allowed = allowed_env_names()
    configmap = of_kind("ConfigMap")[CONFIGMAP_NAME]
    assert set(configmap["data"]) <= allowed, set(configmap["data"]) - allowed
    assert all(isinstance(v, str) for v in configmap["data"].values()), "quote every value"
    assert configmap["data"]["MAILLON_ENVIRONMENT"] == "production"
    for name, workload in workloads().items():
        for container in pod_containers(workload):
            names = {e["name"] for e in container.get("env", [])}
            assert names <= allowed, (name, names - allowed)
            refs = [e["configMapRef"]["name"] for e in container["envFrom"]]
            assert refs == [CONFIGMAP_NAME], name


def secret_refs(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in container["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }


def test_secret_keys_are_the_documented_ones() -> None:
    documented = DEPLOY_README.read_text(encoding="utf-8")
    every_key = SECRET_KEYS | S3_SECRET_KEYS | OPTIONAL_SECRET_KEYS
    for key in every_key:
        assert f"`{key}`" in documented, key
    assert "Not wired" not in documented
    for name, workload in workloads().items():
        for container in pod_containers(workload):
            assert all("secretRef" not in e for e in container["envFrom"]), name
            refs = secret_refs(container)
            assert {r["name"] for r in refs.values()} == {SECRET_NAME}, name
            assert set(refs) == SECRET_KEYS | EXTRA_SECRETS.get(name, set()), name
            assert all(env == ref["key"] for env, ref in refs.items()), name
            for env, ref in refs.items():
                assert ref.get("optional", False) is (env in OPTIONAL_SECRET_KEYS), (name, env)
    example = of_kind("Secret", include_not_applied=True)[SECRET_NAME]
    assert set(example["stringData"]) == every_key
    assert all("CHANGE_ME" in v for v in example["stringData"].values())


def test_every_credential_setting_reaches_the_pods_as_a_secret() -> None:
    """Each SecretStr setting but the signing key's own default is wired from the Secret, and
    none is in the ConfigMap or written in a manifest."""
    secret_settings = {
        f"MAILLON_{name.upper()}"
        for name, field in Settings.model_fields.items()
        if "SecretStr" in str(field.annotation)
    }
    assert "MAILLON_S3_SECRET_ACCESS_KEY" in secret_settings
    assert "MAILLON_SMTP_PASSWORD" in secret_settings
    wired = {
        env
        for workload in workloads().values()
        for container in pod_containers(workload)
        for env in secret_refs(container)
    }
    assert secret_settings <= wired, secret_settings - wired
    configmap = of_kind("ConfigMap")[CONFIGMAP_NAME]["data"]
    assert not (set(configmap) & (wired | S3_SECRET_KEYS | {"MAILLON_S3_ACCESS_KEY_ID"}))
    for name, workload in workloads().items():
        for container in pod_containers(workload):
            plain = {e["name"] for e in container.get("env", []) if "value" in e}
            assert not plain & wired, (name, plain & wired)


def test_k8s_keeps_files_in_s3_and_compose_in_its_minio() -> None:
    configmap = of_kind("ConfigMap")[CONFIGMAP_NAME]["data"]
    assert configmap["MAILLON_STORAGE_BACKEND"] == "s3"
    assert configmap["MAILLON_S3_BUCKET"]
    assert configmap["MAILLON_S3_SSE"] == "AES256"
    services = compose_services()
    environment = maillon_services()["api"]["environment"]
    assert environment["MAILLON_STORAGE_BACKEND"] == "s3"
    store = next(n for n, s in services.items() if str(s.get("image", "")).startswith("minio/"))
    assert environment["MAILLON_S3_ENDPOINT_URL"] == f"http://{store}:9000"
    assert any(v.endswith(":/data") for v in services[store]["volumes"])
    assert "healthcheck" in services[store]
    # The bucket is made before any Maillon process starts (the API checks it at start-up).
    bucket = environment["MAILLON_S3_BUCKET"]
    makers = [
        n
        for n, s in services.items()
        if str(s.get("image", "")).startswith("minio/mc") and bucket in " ".join(s["entrypoint"])
    ]
    assert len(makers) == 1
    for process in PROCESSES:
        depends = maillon_services()[process]["depends_on"]
        assert depends[makers[0]]["condition"] == "service_completed_successfully", process
    assert services[makers[0]]["depends_on"][store]["condition"] == "service_healthy"


def test_k8s_settings_load_and_refuse_the_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    example = of_kind("Secret", include_not_applied=True)[SECRET_NAME]["stringData"]
    with pytest.raises(ValidationError, match="MAILLON_SECRET_KEY"):
        settings_from(k8s_env(example), monkeypatch)
    real = {
        "DATABASE_URL": "postgresql://maillon:pw@db:5432/maillon",
        "REDIS_URL": "rediss://:pw@cache:6379/0",
        "MAILLON_SECRET_KEY": "x" * 48,
    }
    settings = settings_from(k8s_env(real), monkeypatch)
    assert settings.environment == "production"
    assert (settings.storage_backend, settings.s3_sse) == ("s3", "AES256")
    assert settings.api_port == API_PORT
    assert settings.log_json is True
    assert settings.state_dir.is_relative_to(TMP)
