"""docker-compose.yml and deploy/Dockerfile agree with the code and with the test harness.

No Docker engine runs on the development and CI machines, so the production shape cannot be started
here. These checks keep it honest instead: every `lif serve` target is deployed and nothing else is
served, the reverse proxy mounts the committed configuration and is the only published address, the
topics compose creates are exactly deploy/topics.json (the file the harness creates its topics
from), one step applies every service's migrations before any service starts, the broker is configured
like the harness's broker (deploy/local/kafka.sh) where that matters, and every service gets the
settings it cannot start without.
"""

from __future__ import annotations

import ast
import inspect
import ipaddress
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from events import topics as event_topics
from lif.cli import cmd_db_provision, cmd_migrate
from lif.cli import parser as cli_parser
from lif.database_roles import ADMIN, ROLES, password_variable, role_name
from lif.http_routes import SERVICES
from lif.infra import topics as topic_defs
from lif.infra.proxy_config import COMPOSE_RESOLVER, COMPOSE_WEB_ADDRESS, compose_config
from lif.runtime.targets import TARGET_MIGRATIONS, TARGETS
from lif.settings import service_database_url_variable

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "deploy" / "Dockerfile"
HARNESS_KAFKA_SCRIPT = REPO_ROOT / "deploy" / "local" / "kafka.sh"
TOPICS_JSON = REPO_ROOT / "deploy" / "topics.json"
PROXY_CONFIG = REPO_ROOT / "deploy" / "proxy" / "nginx.conf"

REQUIRED_ENV = ("KAFKA_BOOTSTRAP_SERVERS", "LIF_PSEUDONYM_KEY")
# Broker settings where compose must behave like the broker the tests run against.
HARNESS_SETTINGS_THAT_MATTER = (
    "auto.create.topics.enable",
    "num.partitions",
    "log.retention.ms",
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
)
# Topic-level settings of deploy/topics.json and the broker default that applies when a topic sets none.
BROKER_DEFAULT_OF_TOPIC_SETTING = {
    "retention.ms": "log.retention.ms",
    "retention.bytes": "log.retention.bytes",
    "cleanup.policy": "log.cleanup.policy",
    "min.insync.replicas": "min.insync.replicas",
}


# --- reading the files ------------------------------------------------------------------------------


def load_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict) and isinstance(document.get("services"), dict), "no services in compose"
    return document


def services() -> dict[str, dict[str, Any]]:
    return load_compose()["services"]


def as_argv(value: str | list[Any] | None) -> list[str]:
    """A compose `command`/`entrypoint` (string or list) as an argument vector."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(item) for item in value]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment (mapping or KEY=VALUE list), values as strings."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {key: value for key, value in pairs}
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def dockerfile_exec_form(keyword: str) -> list[str]:
    """The last ENTRYPOINT or CMD, which must be in exec (JSON) form."""
    values = [rest for kw, rest in dockerfile_instructions() if kw == keyword]
    assert values, f"deploy/Dockerfile has no {keyword}"
    parsed = yaml.safe_load(values[-1])
    assert isinstance(parsed, list), f'{keyword} must use the exec form, e.g. {keyword} ["lif"]'
    return [str(item) for item in parsed]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in dockerfile_instructions():
        if keyword == "ENV":
            for token in shlex.split(rest):
                key, _, value = token.partition("=")
                env[key] = value
    return env


def lif_image_services() -> dict[str, dict[str, Any]]:
    """Services built from deploy/Dockerfile (directly or through the image name such a build tags)."""
    all_services = services()
    built = {name: svc for name, svc in all_services.items() if isinstance(svc.get("build"), dict | str)}
    images = {svc.get("image") for svc in built.values() if svc.get("image")}
    for name, svc in built.items():
        build = svc["build"]
        dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
        context = build.get("context", ".") if isinstance(build, dict) else build
        assert (COMPOSE_FILE.parent / context / dockerfile).resolve() == DOCKERFILE, (
            f"service {name} builds {context}/{dockerfile}, not deploy/Dockerfile"
        )
    return {name: svc for name, svc in all_services.items() if name in built or svc.get("image") in images}


def effective_argv(service: dict[str, Any]) -> list[str]:
    """What the container runs: entrypoint and command, each defaulting to the Dockerfile's."""
    entrypoint = as_argv(service["entrypoint"]) if "entrypoint" in service else dockerfile_exec_form("ENTRYPOINT")
    if "command" in service:
        command = as_argv(service["command"])
    elif "entrypoint" in service:
        command = []  # overriding the entrypoint clears the image's CMD
    else:
        command = dockerfile_exec_form("CMD")
    return entrypoint + command


MIGRATE_ARGV = ["lif", "migrate"]
PROVISION_ARGV = ["lif", "db", "provision"]
ONE_SHOT_ARGVS = (MIGRATE_ARGV, PROVISION_ARGV)


def served_targets() -> dict[str, str]:
    """Service name to the `lif serve` target it runs."""
    served = {}
    for name, svc in lif_image_services().items():
        argv = effective_argv(svc)
        if argv[:1] == ["lif"] and argv not in ONE_SHOT_ARGVS:
            assert len(argv) == 3 and argv[1] == "serve", (
                f"service {name} runs {argv}, not `lif serve <target>` or `lif migrate`"
            )
            served[name] = argv[2]
    return served


def migrate_step() -> tuple[str, dict[str, Any]]:
    """The one service that runs `lif migrate` (every service's migrations: no --service)."""
    found = [(name, svc) for name, svc in lif_image_services().items() if effective_argv(svc) == MIGRATE_ARGV]
    assert len(found) == 1, f"expected one service running `lif migrate`, found {[name for name, _ in found]}"
    return found[0]


def provision_step() -> tuple[str, dict[str, Any]]:
    """The one service that runs `lif db provision` (the roles, their schemas and grants)."""
    found = [(name, svc) for name, svc in lif_image_services().items() if effective_argv(svc) == PROVISION_ARGV]
    assert len(found) == 1, f"expected one service running `lif db provision`, found {[name for name, _ in found]}"
    return found[0]


def topic_step() -> tuple[str, dict[str, Any], ast.Call]:
    """The service that creates the topics, and its call of `ensure_topics`."""
    found = []
    for name, svc in lif_image_services().items():
        argv = effective_argv(svc)
        if argv[:1] == ["lif"]:
            continue
        assert len(argv) == 3 and argv[0] in {"python", "python3"} and argv[1] == "-c", (
            f"service {name} runs the lif image with {argv}: only `lif serve <target>`, `lif migrate` and the "
            "topic step may"
        )
        calls = [
            node
            for node in ast.walk(ast.parse(argv[2]))
            if isinstance(node, ast.Call)
            and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) == "ensure_topics"
        ]
        assert len(calls) == 1, f"service {name} runs python but not one call of lif.infra.topics.ensure_topics"
        assert "from lif.infra.topics import ensure_topics" in argv[2], f"{name}: import ensure_topics from lif"
        found.append((name, svc, calls[0]))
    assert len(found) == 1, f"expected one topic-creation service, found {[name for name, _, _ in found]}"
    return found[0]


def kafka_service() -> tuple[str, dict[str, Any]]:
    found = [(name, svc) for name, svc in services().items() if "kafka" in str(svc.get("image", "")).split(":")[0]]
    assert len(found) == 1, f"expected one Kafka service, found {[name for name, _ in found]}"
    return found[0]


def kafka_settings(service: dict[str, Any]) -> dict[str, str]:
    """Broker properties from the apache/kafka image's KAFKA_* variables (`_`=`.`, `__`=`_`, `___`=`-`)."""
    settings = {}
    for key, value in environment(service).items():
        if not key.startswith("KAFKA_") or key in {"KAFKA_HEAP_OPTS", "KAFKA_OPTS", "KAFKA_JVM_PERFORMANCE_OPTS"}:
            continue
        name = key.removeprefix("KAFKA_").lower()
        name = name.replace("___", "\0").replace("__", "\1").replace("_", ".").replace("\0", "-").replace("\1", "_")
        settings[name] = value.lower() if value.lower() in {"true", "false"} else value
    return settings


def harness_broker_settings() -> dict[str, str]:
    """The server.properties deploy/local/kafka.sh writes for the test broker."""
    text = HARNESS_KAFKA_SCRIPT.read_text(encoding="utf-8")
    block = re.search(r'cat >"\$data/server\.properties" <<EOF\n(.*?)\nEOF', text, re.DOTALL)
    assert block, "server.properties block not found in deploy/local/kafka.sh"
    settings = {}
    for line in block.group(1).splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings


def harness_kafka_versions() -> list[str]:
    match = re.search(r'KAFKA_VERSIONS_DEFAULT="([^"]+)"', HARNESS_KAFKA_SCRIPT.read_text(encoding="utf-8"))
    assert match, "KAFKA_VERSIONS_DEFAULT not found in deploy/local/kafka.sh"
    return match.group(1).split()


def postgres_service() -> tuple[str, dict[str, Any]]:
    found = [(name, svc) for name, svc in services().items() if str(svc.get("image", "")).startswith("postgres")]
    assert len(found) == 1, f"expected one PostgreSQL service, found {[name for name, _ in found]}"
    return found[0]


def proxy_service() -> tuple[str, dict[str, Any]]:
    found = [(name, svc) for name, svc in services().items() if str(svc.get("image", "")).startswith("nginx:")]
    assert len(found) == 1, f"expected one reverse proxy (the official nginx image), found {[n for n, _ in found]}"
    return found[0]


def proxy_upstreams() -> dict[str, tuple[str, str]]:
    """Service to (host, port) in deploy/proxy/nginx.conf's upstream map."""
    block = re.search(r"map \$lif_service \$lif_upstream \{(.*?)\}", PROXY_CONFIG.read_text(encoding="utf-8"), re.S)
    assert block, "deploy/proxy/nginx.conf has no upstream map"
    pairs = re.findall(r"^\s*([a-z_]+)\s+([A-Za-z0-9._-]+):([0-9]+);", block.group(1), re.M)
    return {service: (host, port) for service, host, port in pairs}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Dependency name to condition (`service_started` for the short list form)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


# --- the lif services ------------------------------------------------------------------------------


def test_every_lif_service_runs_a_known_target_and_every_target_is_deployed() -> None:
    served = served_targets()
    unknown = {name: target for name, target in served.items() if target not in TARGETS}
    assert not unknown, f"services run targets `lif serve` does not have: {unknown} (known: {TARGETS})"
    assert sorted(served.values()) == sorted(TARGETS), (
        f"each target of lif.runtime.targets.TARGETS must run exactly once; compose runs {sorted(served.values())}"
    )


def test_the_lif_services_get_the_settings_they_need() -> None:
    _, kafka = kafka_service()
    postgres_name, postgres = postgres_service()
    advertised = kafka_settings(kafka)["advertised.listeners"]
    pg_env = environment(postgres)
    for name in served_targets():
        env = environment(services()[name])
        if name == "web":  # consumes no topic and hashes nothing: it is a client of the public API
            assert env.get("LIF_API_URL", "").startswith("http://proxy:"), "the web service calls the API via the proxy"
        else:
            missing = [key for key in REQUIRED_ENV if not env.get(key, "").strip()]
            assert not missing, f"service {name} lacks {missing}"
            assert env["LIF_PSEUDONYM_KEY"].startswith("${LIF_PSEUDONYM_KEY:?"), (
                f"service {name}: the pseudonym key must come from the environment and be required, never a default"
            )
            assert f"//{env['KAFKA_BOOTSTRAP_SERVERS']}" in advertised, (
                f"service {name}: KAFKA_BOOTSTRAP_SERVERS={env['KAFKA_BOOTSTRAP_SERVERS']} is not a listener the "
                f"broker advertises ({advertised})"
            )
        assert "DATABASE_URL" not in env, f"service {name}: a service connects with its own role, not DATABASE_URL"
        for service in target_services(served_targets()[name]):
            variable = service_database_url_variable(service)
            assert variable in env, f"service {name} lacks {variable}"
            check_role_url(f"{name}: {variable}", env[variable], role_name(service), postgres_name, pg_env)


def test_each_service_behind_the_proxy_listens_on_all_interfaces_at_the_port_the_proxy_calls() -> None:
    targets = served_targets()
    proxy_name, proxy = proxy_service()
    for host, port in proxy_upstreams().values():
        assert host in targets, f"the proxy sends requests to {host}, which is no `lif serve` service"
        env = {**dockerfile_env(), **environment(services()[host])}
        assert env.get("LIF_HOST") == "0.0.0.0", f"{host}: inside a container the server must listen on 0.0.0.0"
        assert env.get("LIF_PORT", "8000") == port, f"{host} listens on {env.get('LIF_PORT', '8000')}, not {port}"
        assert depends_on(proxy).get(host) in {"service_started", "service_healthy"}, f"{proxy_name} waits for {host}"
    missing = set(targets) - set(depends_on(proxy))
    assert not missing, f"{proxy_name} must start after every lif service; it does not wait for {sorted(missing)}"


def test_services_start_only_after_what_they_need() -> None:
    step_name, step, _ = topic_step()
    kafka_name, _ = kafka_service()
    postgres_name, postgres = postgres_service()
    assert "healthcheck" in postgres, f"{postgres_name} needs a healthcheck for service_healthy"
    assert depends_on(step).get(kafka_name) == "service_healthy", f"{step_name} must wait for a healthy {kafka_name}"
    assert "healthcheck" in services()[kafka_name], f"{kafka_name} needs a healthcheck for service_healthy"
    migrate_name, migrate = migrate_step()
    assert depends_on(migrate).get(postgres_name) == "service_healthy", (
        f"{migrate_name} must wait for a healthy {postgres_name}"
    )
    for name in served_targets():
        deps = depends_on(services()[name])
        assert deps.get(postgres_name) == "service_healthy", f"{name} must wait for a healthy {postgres_name}"
        assert deps.get(step_name) == "service_completed_successfully", f"{name} must wait for the topics"
        assert deps.get(migrate_name) == "service_completed_successfully", (
            f"{name} must start only after `lif migrate` succeeded: no service makes tables at start-up"
        )


def test_the_migrate_step_runs_once_after_provisioning_each_service_under_its_role() -> None:
    name, migrate = migrate_step()
    provision_name, _ = provision_step()
    postgres_name, postgres = postgres_service()
    assert migrate.get("restart") in {"no", None}, f"{name} is a one-shot step: restart must be \"no\""
    assert depends_on(migrate).get(provision_name) == "service_completed_successfully", (
        f"{name} must run after `lif db provision` made the roles and their schemas"
    )
    env = environment(migrate)
    admin_url = env.get("DATABASE_URL", "")
    check_role_url(f"{name}: DATABASE_URL", admin_url, role_name(ADMIN), postgres_name, environment(postgres))
    for target in served_targets():
        target_env = environment(services()[target])
        for service in target_services(target):
            variable = service_database_url_variable(service)
            assert env.get(variable) == target_env[variable], (
                f"{name} migrates {service} as {env.get(variable)}, but {target} connects as {target_env[variable]}"
            )
    # The command exists, and without --service it applies every service's migrations.
    args = cli_parser().parse_args(MIGRATE_ARGV[1:])
    assert args.func is cmd_migrate and args.service is None and not args.status


def test_the_provision_step_alone_connects_as_the_superuser_and_sets_every_roles_password() -> None:
    name, provision = provision_step()
    postgres_name, postgres = postgres_service()
    pg_env = environment(postgres)
    superuser = pg_env.get("POSTGRES_USER", "postgres")
    assert provision.get("restart") in {"no", None}, f"{name} is a one-shot step: restart must be \"no\""
    assert depends_on(provision).get(postgres_name) == "service_healthy", f"{name} must wait for {postgres_name}"
    env = environment(provision)
    assert urlparse(env.get("DATABASE_URL", "")).username == superuser, f"{name} provisions as the superuser"
    for role in ROLES:
        assert env.get(password_variable(role), "").startswith(f"${{{password_variable(role)}:-"), (
            f"{name}: the password of {role_name(role)} must come from {password_variable(role)}"
        )
    as_superuser = [
        (service_name, key)
        for service_name, svc in services().items()
        for key, value in environment(svc).items()
        if str(value).startswith("postgres") and urlparse(str(value)).username == superuser
    ]
    assert as_superuser == [(name, "DATABASE_URL")], f"only {name} may connect as {superuser}: {as_superuser}"
    args = cli_parser().parse_args(PROVISION_ARGV[1:])
    assert args.func is cmd_db_provision and args.admin_url is None


def target_services(target: str) -> list[str]:
    """The services whose stores a target opens (those whose migrations it needs, the token store aside)."""
    return [service for service in TARGET_MIGRATIONS[target] if service != "access"]


def check_role_url(what: str, value: str, role: str, postgres_name: str, pg_env: dict[str, Any]) -> None:
    """`value` connects to the compose database as `role`, with the password the provision step sets."""
    url = urlparse(value)
    assert url.scheme in {"postgresql", "postgres"} and url.hostname == postgres_name, (
        f"{what} must point at the {postgres_name} service"
    )
    assert url.username == role, f"{what} connects as {url.username}, not {role}"
    variable = password_variable(role.removeprefix("lif_"))
    assert (url.password or "").startswith(f"${{{variable}:-"), f"{what}: the password must be ${variable}"
    assert url.path.lstrip("/") == pg_env.get("POSTGRES_DB", pg_env.get("POSTGRES_USER", "postgres")), (
        f"{what}: the database"
    )


# --- the reverse proxy ----------------------------------------------------------------------------


def test_the_proxy_is_the_official_nginx_image_with_the_committed_configuration() -> None:
    name, proxy = proxy_service()
    image, _, tag = str(proxy["image"]).partition(":")
    assert image == "nginx" and re.fullmatch(r"[0-9]+\.[0-9]+(\.[0-9]+)?-alpine", tag), (
        f"{name}: pin an official nginx:<version>-alpine image, not {proxy['image']}"
    )
    mounts = [str(volume).split(":") for volume in proxy.get("volumes") or []]
    config = [m for m in mounts if len(m) >= 2 and m[1] == "/etc/nginx/nginx.conf"]
    assert len(config) == 1, f"{name} must mount deploy/proxy/nginx.conf as /etc/nginx/nginx.conf"
    assert (COMPOSE_FILE.parent / config[0][0]).resolve() == PROXY_CONFIG
    assert config[0][2:] == ["ro"], f"{name}: mount the configuration read-only"
    assert PROXY_CONFIG.read_text(encoding="utf-8") == compose_config(), (
        "deploy/proxy/nginx.conf is stale: run `lif proxy config > deploy/proxy/nginx.conf`"
    )
    assert f"resolver {COMPOSE_RESOLVER} " in compose_config(), "compose names must be resolved per request"


def test_the_proxy_is_the_only_published_address() -> None:
    name, proxy = proxy_service()
    published = {other: svc["ports"] for other, svc in services().items() if svc.get("ports") and other != name}
    assert not published, f"only the proxy may be published; also published: {published}"
    listen = re.search(r"^\s*listen ([0-9]+) default_server;", PROXY_CONFIG.read_text(encoding="utf-8"), re.M)
    assert listen, "deploy/proxy/nginx.conf listens on no port"
    ports = [str(item) for item in proxy.get("ports") or []]
    assert any(item.split(":")[-1].split("/")[0] == listen.group(1) for item in ports), (
        f"{name} listens on {listen.group(1)} but publishes {ports}"
    )
    assert "8000:8000" in ports, "the public address stays port 8000"


def test_the_proxy_reaches_every_service_of_the_route_table() -> None:
    assert sorted(proxy_upstreams()) == sorted(SERVICES)


# --- topics ----------------------------------------------------------------------------------------


def test_the_topic_step_creates_exactly_deploy_topics_json(monkeypatch: pytest.MonkeyPatch) -> None:
    name, svc, call = topic_step()

    # The call creates the declared topics: only the bootstrap is given, no definitions or prefix.
    parameters = inspect.signature(topic_defs.ensure_topics).parameters
    assert len(call.args) == 1, f"{name}: ensure_topics must get the bootstrap only (definitions from the file)"
    keywords = {kw.arg for kw in call.keywords}
    assert keywords <= {"ready_timeout"} and keywords <= set(parameters), f"{name}: ensure_topics got {keywords}"
    env = {**dockerfile_env(), **environment(svc)}
    bootstrap = call.args[0]
    if isinstance(bootstrap, ast.Constant):
        assert bootstrap.value == environment(services()[next(iter(served_targets()))])["KAFKA_BOOTSTRAP_SERVERS"]
    else:
        assert "KAFKA_BOOTSTRAP_SERVERS" in ast.unparse(bootstrap) and env.get("KAFKA_BOOTSTRAP_SERVERS"), (
            f"{name}: the bootstrap must come from KAFKA_BOOTSTRAP_SERVERS, which must be set"
        )

    # Inside the image the definitions come from LIF_TOPICS_FILE, a copy of deploy/topics.json.
    in_image = env.get(topic_defs.TOPICS_FILE_ENV)
    assert in_image, f"{name}: LIF_TOPICS_FILE must be set (the installed package cannot find deploy/)"
    copies = [shlex.split(rest) for keyword, rest in dockerfile_instructions() if keyword == "COPY"]
    assert ["deploy/topics.json", in_image] in [[*args[-2:]] for args in copies], (
        f"deploy/Dockerfile must COPY deploy/topics.json {in_image}"
    )

    # And deploy/topics.json is what the harness creates (tests/harness.py -> load_topic_definitions()).
    monkeypatch.delenv(topic_defs.TOPICS_FILE_ENV, raising=False)
    assert topic_defs.topics_file().resolve() == TOPICS_JSON
    assert topic_defs.load_topic_definitions(TOPICS_JSON) == topic_defs.load_topic_definitions()
    names = [definition.name for definition in topic_defs.load_topic_definitions(TOPICS_JSON)]
    assert sorted(names) == sorted(event_topics.ALL), "deploy/topics.json must declare every topic events/ names"


BOUNDED_RETENTION = {
    event_topics.INCIDENTS,
    event_topics.INCIDENT_RECEIPTS,
    *(event_topics.dead_letter(t) for t in (event_topics.INCIDENTS, event_topics.INTAKE)),
    *(event_topics.dead_letter(t) for t in (event_topics.DECISIONING, event_topics.ORCHESTRATION)),
    event_topics.dead_letter(event_topics.NOTIFICATIONS),
    event_topics.dead_letter(event_topics.LEARNING),
}
"""Topics that may carry what integrators sent (or dead letters): kept days, not for ever."""


def test_personal_data_topics_have_a_bounded_retention_and_event_topics_keep_everything() -> None:
    week = 7 * 24 * 3600 * 1000
    for definition in topic_defs.load_topic_definitions(TOPICS_JSON):
        retention = int(definition.config["retention.ms"])
        if definition.name in BOUNDED_RETENTION:
            assert retention == week, f"{definition.name}: retention {retention}, declared bounded at 7 days"
        else:
            assert retention == -1, f"{definition.name} is a log of record: it keeps everything"


def test_the_topic_definitions_suit_the_broker() -> None:
    _, kafka = kafka_service()
    broker = kafka_settings(kafka)
    brokers = 1  # a single node: process.roles and the voters are checked below
    for definition in topic_defs.load_topic_definitions(TOPICS_JSON):
        assert definition.replication_factor <= brokers, f"{definition.name}: more replicas than brokers"
        assert str(definition.partitions) == broker["num.partitions"], (
            f"{definition.name}: {definition.partitions} partitions, the broker default is {broker['num.partitions']}"
        )
        assert str(definition.replication_factor) == broker.get("default.replication.factor", "1")
        for key, value in definition.config.items():
            broker_key = BROKER_DEFAULT_OF_TOPIC_SETTING.get(key)
            if key == "retention.ms" and definition.name in BOUNDED_RETENTION:
                continue  # a bounded retention of its own (test_personal_data_topics_have_a_bounded_retention)
            if broker_key is not None:
                assert broker.get(broker_key) == value, (
                    f"{definition.name} sets {key}={value}; compose's broker default {broker_key} is "
                    f"{broker.get(broker_key)}"
                )


# --- Kafka -----------------------------------------------------------------------------------------


def test_kafka_runs_like_the_harness_broker() -> None:
    name, kafka = kafka_service()
    broker = kafka_settings(kafka)
    harness = harness_broker_settings()

    combined = {"broker", "controller"}
    assert set(harness["process.roles"].split(",")) == combined, "the harness runs KRaft combined mode"
    assert set(broker["process.roles"].split(",")) == combined, f"{name}: KRaft combined mode, as in the harness"
    assert "zookeeper.connect" not in broker
    voters = broker.get("controller.quorum.voters", "")
    assert voters.split("@")[0] == broker["node.id"], f"{name}: the node must be its own controller voter"
    controller = broker["controller.listener.names"]
    assert f"{controller}://" in broker["listeners"], f"{name}: no {controller} listener"

    for key in HARNESS_SETTINGS_THAT_MATTER:
        assert broker.get(key) == harness[key], f"{name}: {key}={broker.get(key)}, the harness runs {harness[key]}"
    assert broker["auto.create.topics.enable"] == "false"
    assert broker["num.partitions"] == "3"


def test_kafka_is_a_version_the_tests_run_against() -> None:
    _, kafka = kafka_service()
    image, _, tag = str(kafka["image"]).partition(":")
    assert image == "apache/kafka"
    assert tag in harness_kafka_versions(), (
        f"apache/kafka:{tag} is not one of the versions deploy/local/kafka.sh tests with {harness_kafka_versions()}"
    )


# --- the image -------------------------------------------------------------------------------------


def test_the_image_installs_lif_and_runs_it_as_a_user() -> None:
    instructions = dockerfile_instructions()
    stages = [rest for kw, rest in instructions if kw == "FROM"]
    assert stages[-1] == "python:3.11-slim", "the image is the last stage (earlier ones only build assets)"
    assert any(kw == "RUN" and re.search(r"\bpip install \.(\s|$)", rest) for kw, rest in instructions)
    users = [rest for kw, rest in instructions if kw == "USER"]
    assert users and users[-1] not in {"root", "0"}, "the image must not run as root"
    assert dockerfile_exec_form("ENTRYPOINT") == ["lif"]
    assert dockerfile_exec_form("CMD")[0] == "serve" and dockerfile_exec_form("CMD")[1] in TARGETS
    sources = {part for kw, rest in instructions if kw == "COPY" for part in shlex.split(rest)[:-1]}
    # pyproject.toml names README.md as the readme: `pip install .` fails without it.
    assert {"pyproject.toml", "README.md", "lif", "events", "services", "projections"} <= sources


INTERNAL_REQUESTS = (
    ("decisioning", "intake", "LIF_INTAKE_URL"),
    ("projections", "decisioning", "LIF_DECISIONING_URL"),
    ("notifications", "decisioning", "LIF_DECISIONING_URL"),
)
"""(caller, owner, the caller's setting of the owner's address): every internal request between services."""


@pytest.mark.parametrize(("caller", "owner", "variable"), INTERNAL_REQUESTS)
def test_each_internal_request_goes_to_the_owner_directly_with_a_credential_it_accepts(
    caller: str, owner: str, variable: str
) -> None:
    calling, owning = environment(services()[caller]), environment(services()[owner])
    url = urlparse(calling.get(variable, ""))
    assert url.hostname == owner and str(url.port) == str(owning.get("LIF_PORT")), (
        f"{caller} must call {owner}'s own address, never the proxy's"
    )
    token = calling.get("LIF_SERVICE_TOKEN", "")
    assert token.startswith("${") and ":?" in token, "the service credential comes from the environment, required"
    assert f"LIF_{caller.upper()}_SERVICE_TOKEN" in token, f"{caller}'s credential is its own variable"
    accepted = owning.get("LIF_SERVICE_CREDENTIALS", "").split(",")
    assert token in accepted, f"{owner} must accept {caller}'s credential"


def test_the_services_forward_only_from_the_compose_network() -> None:
    for name in served_targets():
        trusted = environment(services()[name]).get("FORWARDED_ALLOW_IPS", "")
        subnets = [c["subnet"] for c in load_compose()["networks"]["default"]["ipam"]["config"]]
        assert trusted in subnets, f"{name} must trust X-Forwarded-For from the compose network only"


def test_the_proxy_believes_x_real_ip_from_the_web_services_fixed_address_only() -> None:
    """The web service names the browser it calls the API for; the proxy believes that of the web alone."""
    network = load_compose()["networks"]["default"]["ipam"]["config"][0]
    web = services()["web"]["networks"]["default"]["ipv4_address"]
    assert web == COMPOSE_WEB_ADDRESS
    assert ipaddress.ip_address(web) in ipaddress.ip_network(network["subnet"])
    assert ipaddress.ip_address(web) not in ipaddress.ip_network(network["ip_range"]), "no other container gets it"
    realip = [line.strip() for line in compose_config().splitlines() if "real_ip" in line]
    assert realip == [f"set_real_ip_from {COMPOSE_WEB_ADDRESS};", "real_ip_header X-Real-IP;"]
