"""The Helm chart, rendered and linted by the real Helm engine (helm-python-sdk bundles it), every
object validated against the Kubernetes schemas, and the properties an operator relies on
asserted from the rendered objects, checked against the services' own code and contracts."""

import copy
import functools
import pathlib
import re

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "k8s" / "ates"
# The Kubernetes versions the chart supports: its kubeVersion floor, the newest the schemas know,
# and one between.
KUBE_VERSIONS = ["1.29.0", "1.33.0", "1.37.0"]
SERVICES = ["auth", "tracker", "accounting", "payouts", "bff", "analytics"]
VALUE_SETS = {
    "default": {},
    **{
        path.stem: yaml.safe_load(path.read_text())
        for path in sorted((CHART / "examples").glob("*.yaml"))
    },
}


@functools.cache
def chart():
    """The chart, loaded once for every test."""
    return helm.Chart.load(str(CHART))


def render(values, name="ates", namespace="ates"):
    """Every object the chart renders with `values`, and NOTES.txt."""
    manifests = chart().render(
        values, name=name, namespace=namespace, is_install=True
    )
    objects, notes = [], None
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects, notes


@pytest.fixture(scope="module", params=sorted(VALUE_SETS))
def rendered(request):
    objects, notes = render(VALUE_SETS[request.param])
    return request.param, objects, notes


def of_kind(objects, kind):
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def values_of(set_name):
    """The values a set resolves to (the chart's defaults with the set merged over them)."""
    return chart().merge_values(VALUE_SETS[set_name])


@functools.cache
def rust_specs():
    """What each service's own code says it serves: its gRPC services and whether the browser may
    call it over gRPC-web (the ServiceSpec in <service>-svc/src/app.rs)."""
    specs = {}
    for service in SERVICES:
        source = (ROOT / f"{service}-svc" / "src" / "app.rs").read_text()
        served = re.search(r"grpc_services:\s*&\[([^\]]*)\]", source, re.S)
        grpc_web = re.search(r"grpc_web:\s*(true|false)", source)
        assert served and grpc_web, f"{service}-svc/src/app.rs: no ServiceSpec found"
        specs[service] = {
            "grpc_services": re.findall(r'"([^"]+)"', served.group(1)),
            "grpc_web": grpc_web.group(1) == "true",
        }
    return specs


@functools.cache
def proto_services():
    """Every gRPC service the contracts define, by full name (package.Service)."""
    names = set()
    for path in (ROOT / "proto").rglob("*.proto"):
        text = path.read_text()
        package = re.search(r"^package\s+([\w.]+);", text, re.M)
        for service in re.findall(r"^service\s+(\w+)\s*\{", text, re.M):
            names.add(f"{package.group(1)}.{service}")
    return names


@functools.cache
def default_ports():
    """The gRPC port each service listens on when run without settings (libs/server config)."""
    source = (ROOT / "libs" / "server" / "src" / "config.rs").read_text()
    return {
        name.lower(): int(port)
        for name, port in re.findall(r"Service::(\w+) => (\d{4,5}),", source)
    }


# --- The engine and the schemas -----------------------------------------------------------------


@pytest.mark.parametrize("set_name", sorted(VALUE_SETS))
@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_helm_lint_strict_finds_nothing(set_name, kube_version):
    report = helm.lint(
        str(CHART), VALUE_SETS[set_name], strict=True, kube_version=f"v{kube_version}"
    )
    findings = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert not findings, findings


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_every_rendered_object_validates_strictly(rendered, kube_version):
    _, objects, _ = rendered
    assert objects
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {error.message} at {list(error.path)}")


# --- Each service ---------------------------------------------------------------------------------


def test_each_service_has_its_objects_and_grpc_probes_on_its_port(rendered):
    set_name, objects, _ = rendered
    values = values_of(set_name)
    deployments, services = of_kind(objects, "Deployment"), of_kind(objects, "Service")
    assert sorted(values["services"]) == sorted(SERVICES)
    assert len(deployments) == len(SERVICES)
    for service in SERVICES:
        port = values["services"][service]["port"]
        name = f"ates-{service}"
        for kind in ["ServiceAccount", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget"]:
            assert name in of_kind(objects, kind), f"{kind}/{name} missing"
        pod = deployments[name]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["command"] == [f"/usr/local/bin/{service}-svc"]
        metrics = [values["config"]["metricsPort"]] if values["config"]["metricsExporter"] == "prometheus" else []
        assert [p["containerPort"] for p in container["ports"]] == [port] + metrics
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"]:
            assert container[probe]["grpc"] == {"port": port}, f"{name} {probe}"
        assert container["readinessProbe"]["periodSeconds"] > 0
        assert [(p["port"], p["targetPort"]) for p in services[name]["spec"]["ports"]] == [
            (port, "grpc")
        ]
        assert services[name]["spec"]["selector"] == deployments[name]["spec"]["selector"]["matchLabels"]
        assert pod["automountServiceAccountToken"] is False
        assert of_kind(objects, "ServiceAccount")[name]["automountServiceAccountToken"] is False
        assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} == {
            "kubernetes.io/hostname",
            "topology.kubernetes.io/zone",
        }


def test_ports_are_the_services_own_defaults():
    values = values_of("default")
    assert {s: values["services"][s]["port"] for s in SERVICES} == default_ports()


def test_no_container_runs_as_root_or_can_write_its_image(rendered):
    _, objects, _ = rendered
    for name, deployment in of_kind(objects, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"].get("runAsUser", 1) != 0, name
        for container in pod["containers"] + pod.get("initContainers", []):
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, name
            assert context.get("runAsUser", 1) != 0, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert "privileged" not in context or context["privileged"] is False, name


def test_secrets_reach_pods_only_from_secrets_never_through_a_configmap(rendered):
    set_name, objects, _ = rendered
    values = values_of(set_name)
    from_secrets = set()
    for deployment in of_kind(objects, "Deployment").values():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            for variable in container.get("env", []):
                assert "value" not in variable, f"{variable['name']}: a literal value in a pod spec"
                assert "secretKeyRef" in variable["valueFrom"], variable
                from_secrets.add(variable["name"])
    assert {"DATABASE_URL", "AMQP_URL", "AUTH_BEAK_KEY", "AUTH_KEY_ENCRYPTION_KEY", "SMTP_URL"} <= from_secrets
    # Names of values an operator must keep secret; and what a secret looks like in text.
    secret_shaped = re.compile(r"://[^/@\s]*:[^/@\s]*@|-----BEGIN|(?i:password|passwd)")
    for name, config_map in of_kind(objects, "ConfigMap").items():
        data = config_map.get("data", {})
        assert not (from_secrets & set(data)), f"{name}: {from_secrets & set(data)}"
        for key, value in data.items():
            assert not secret_shaped.search(value), f"{name}: {key} looks like a secret"
    assert not of_kind(objects, "Secret"), "the chart never makes a Secret: it names existing ones"
    # And no secret value can be set through values: the schema refuses it (see below).
    assert all("value" not in ref for s in values["services"].values() for ref in s["secretEnv"].values())


# --- The edge ---------------------------------------------------------------------------------


def test_the_ingress_routes_each_browser_facing_grpc_service_to_the_service_serving_it(rendered):
    set_name, objects, _ = rendered
    values = values_of(set_name)
    ingresses = of_kind(objects, "Ingress")
    if not values["ingress"]["enabled"]:
        assert not ingresses
        return
    (ingress,) = ingresses.values()
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == values["ingress"]["host"]
    routes = {
        path["path"]: (path["pathType"], path["backend"]["service"]["name"], path["backend"]["service"]["port"])
        for path in rule["http"]["paths"]
    }
    specs, contracts = rust_specs(), proto_services()
    expected = {"/": ("Prefix", "ates-bff", {"name": "grpc"})}
    for service, spec in specs.items():
        for grpc_service in spec["grpc_services"]:
            assert grpc_service in contracts, f"{service}-svc serves {grpc_service}, not in proto/"
            if spec["grpc_web"]:
                expected[f"/{grpc_service}"] = ("Prefix", f"ates-{service}", {"name": "grpc"})
    assert routes == expected
    # Every path is a gRPC service of the contracts, so nothing else (health, reflection) is public.
    assert all(path == "/" or path[1:] in contracts for path in routes)
    services = of_kind(objects, "Service")
    for _, backend, _ in routes.values():
        assert [p["name"] for p in services[backend]["spec"]["ports"]] == ["grpc"]
    tls = ingress["spec"].get("tls")
    if values["ingress"]["tls"]["enabled"]:
        assert tls == [{"hosts": [rule["host"]], "secretName": values["ingress"]["tls"]["secret"]}]
    else:
        assert tls is None


def test_the_browser_facing_services_allow_exactly_the_page_origin(rendered):
    set_name, objects, _ = rendered
    values = values_of(set_name)
    origins = values["config"]["webAllowedOrigins"] or [f"https://{values['ingress']['host']}"]
    for service in SERVICES:
        data = of_kind(objects, "ConfigMap")[f"ates-{service}"]["data"]
        # A service taking gRPC-web calls does not start in production without it.
        assert data["WEB_ALLOWED_ORIGINS"] == ",".join(origins), service
        assert data["ATES_PROFILE"] == "production"
        assert data["AUTH_URL"] == f"http://ates-auth:{values['services']['auth']['port']}"
        # Each service it calls, by its Service's name and port.
        for callee in values["services"][service]["calls"]:
            port = values["services"][callee]["port"]
            assert data[f"{callee.upper()}_URL"] == f"http://ates-{callee}:{port}", service


def test_network_policies_admit_only_the_edge_and_callers_and_reach_only_what_is_called(rendered):
    set_name, objects, _ = rendered
    values = values_of(set_name)
    policies = of_kind(objects, "NetworkPolicy")
    if not values["networkPolicy"]["enabled"]:
        assert not policies
        return
    specs = rust_specs()
    selector = lambda service: {"podSelector": {"matchLabels": {  # noqa: E731
        "app.kubernetes.io/instance": "ates", "app.kubernetes.io/name": f"{service}-svc"}}}
    for service in SERVICES:
        svc = values["services"][service]
        policy = policies[f"ates-{service}"]["spec"]
        assert policy["policyTypes"] == ["Ingress", "Egress"]
        admitted = [peer for rule in policy["ingress"] for peer in rule["from"]]
        callers = [
            other for other in sorted(SERVICES)
            if other != service and (service == "auth" or service in values["services"][other]["calls"])
        ]
        # The edge reaches the services the Ingress routes to: the BFF (the web app at `/`) and
        # every service with browser-facing gRPC services.
        routed = service == "bff" or (specs[service]["grpc_web"] and specs[service]["grpc_services"])
        edge = values["networkPolicy"]["edge"] if routed else []
        scraped = values["config"]["metricsExporter"] == "prometheus"
        scrapers = values["networkPolicy"]["scrapers"] if scraped else []
        assert admitted == edge + [selector(caller) for caller in callers] + scrapers, service
        assert all(
            port["port"] == (values["config"]["metricsPort"] if rule["from"] == scrapers else svc["port"])
            for rule in policy["ingress"] for port in rule["ports"]
        )
        reached_pods = [
            peer for rule in policy["egress"] for peer in rule.get("to", []) if "podSelector" in peer
            and "app.kubernetes.io/instance" in peer["podSelector"].get("matchLabels", {})
        ]
        callees = ([] if service == "auth" else ["auth"]) + svc["calls"]
        assert reached_pods == [selector(callee) for callee in callees], service
        egress_ports = {port["port"] for rule in policy["egress"] for port in rule["ports"]}
        assert (values["networkPolicy"]["postgres"]["port"] in egress_ports) == ("database" in svc)
        assert (values["networkPolicy"]["rabbitmq"]["port"] in egress_ports) == svc["broker"]
    # accounting is reached by the BFF only (and never from the edge).
    accounting = policies["ates-accounting"]["spec"]["ingress"]
    assert [peer for rule in accounting for peer in rule["from"]] == [selector("bff")]


def test_production_values_scale_every_service_and_serve_tls():
    objects, notes = render(VALUE_SETS["production"])
    autoscalers = of_kind(objects, "HorizontalPodAutoscaler")
    assert sorted(autoscalers) == sorted(f"ates-{s}" for s in SERVICES)
    for name, deployment in of_kind(objects, "Deployment").items():
        # The autoscaler owns the replica count; a Deployment that set it would fight it.
        assert "replicas" not in deployment["spec"], name
        assert autoscalers[name]["spec"]["minReplicas"] == 3
        assert deployment["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "registry-example-com"}]
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == "registry.example.com/ates/ates:0.1.0"
    assert "https://ates.uberpopug.example/" in notes


def test_minimal_values_run_one_replica_each_without_edge_or_policies():
    objects, _ = render(VALUE_SETS["minimal"])
    assert {d["spec"]["replicas"] for d in of_kind(objects, "Deployment").values()} == {1}
    assert not of_kind(objects, "Ingress") and not of_kind(objects, "NetworkPolicy")


def test_the_default_image_is_the_charts_app_version_and_notes_say_how_to_sign_in():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    objects, notes = render({}, name="popugs", namespace="payroll")
    images = {d["spec"]["template"]["spec"]["containers"][0]["image"] for d in of_kind(objects, "Deployment").values()}
    assert images == {f"ghcr.io/ates/ates:{chart['appVersion']}"}
    # Names follow the release; the NOTES point at this release's auth and namespace.
    assert "popugs-ates-auth" in of_kind(objects, "Service")
    assert "kubectl -n payroll port-forward service/popugs-ates-auth 50051:50051" in notes
    assert "/ates.auth.v1.AuthService/SignIn" in notes
    assert "ates.auth.v1.AuthService" in proto_services()


# --- Values an operator gets wrong are refused at render time, with the schema's message --------


@pytest.mark.parametrize(
    "values, message",
    [
        ({"services": {"auth": {"replicas": "two"}}}, r"/services/auth/replicas.*want integer"),
        ({"servcies": {}}, r"servcies"),
        ({"services": {"tracker": {"prot": 50052}}}, r"prot"),
        ({"services": {"tracker": {"port": 70000}}}, r"/services/tracker/port"),
        ({"ingress": {"tls": {"enabled": "yes"}}}, r"/ingress/tls/enabled.*want boolean"),
        ({"services": {"auth": {"env": {"AUTH_BEAK_KEY": "a beak"}}}}, r"AUTH_BEAK_KEY"),
        ({"services": {"auth": {"env": {"DATABASE_URL": "postgres://u:p@db/auth"}}}}, r"DATABASE_URL"),
        ({"services": {"payouts": {"env": {"SMTP_URL": "smtp://u:p@mail"}}}}, r"SMTP_URL"),
        ({"services": {"auth": {"secretEnv": {"AUTH_BEAK_KEY": {"value": "a beak"}}}}}, r"value"),
        ({"config": {"businessTimeZone": 3}}, r"/config/businessTimeZone.*want string"),
    ],
    ids=[
        "wrong-type", "unknown-top-level-key", "unknown-service-key", "port-out-of-range",
        "string-for-boolean", "secret-in-env", "database-url-in-env", "smtp-url-in-env",
        "secret-value-inline", "number-for-zone",
    ],
)
def test_a_wrong_type_or_unknown_key_fails_the_render_with_the_schemas_message(values, message):
    with pytest.raises(helm.HelmError) as refused:
        render(values)
    assert re.search(message, str(refused.value)), str(refused.value)
    assert "values don't meet the specifications of the schema" in str(refused.value)


def test_pods_carry_the_scrape_annotations_of_their_metrics_port_when_prometheus_scrapes_them():
    monitoring = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    objects, _ = render({"networkPolicy": {"scrapers": monitoring}})
    values = values_of("default")
    deployments, configs = of_kind(objects, "Deployment"), of_kind(objects, "ConfigMap")
    policies = of_kind(objects, "NetworkPolicy")
    for service in SERVICES:
        name, port = f"ates-{service}", values["services"][service]["port"]
        annotations = deployments[name]["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        metrics_port = values["config"]["metricsPort"]
        assert metrics_port != port
        assert annotations["prometheus.io/port"] == str(metrics_port), name
        assert annotations["prometheus.io/path"] == "/metrics", name
        assert configs[name]["data"]["METRICS_EXPORTER"] == "prometheus", name
        assert configs[name]["data"]["METRICS_LISTEN_ADDR"] == f"0.0.0.0:{metrics_port}", name
        scraper_rules = [
            rule for rule in policies[name]["spec"]["ingress"] if rule["from"] == monitoring
        ]
        assert [rule["ports"] for rule in scraper_rules] == [[{"port": metrics_port, "protocol": "TCP"}]], name
    # The Ingress routes only gRPC ports: the metrics port is never on it.
    for ingress in of_kind(objects, "Ingress").values():
        backends = [path["backend"]["service"]["port"] for rule in ingress["spec"]["rules"]
                    for path in rule["http"]["paths"]]
        assert all(backend.get("number") != values["config"]["metricsPort"] for backend in backends)
    # Pushed over OTLP, or not kept: no scrape annotations, and nobody admitted to scrape.
    for exporter, extra in [("otlp", {"otlpEndpoint": "http://collector.observability:4317"}), ("none", {})]:
        objects, _ = render({"config": {"metricsExporter": exporter, **extra},
                             "networkPolicy": {"scrapers": monitoring}})
        for name, deployment in of_kind(objects, "Deployment").items():
            annotations = deployment["spec"]["template"]["metadata"]["annotations"]
            assert not any(key.startswith("prometheus.io/") for key in annotations), name
            assert of_kind(objects, "ConfigMap")[name]["data"]["METRICS_EXPORTER"] == exporter
            assert "METRICS_LISTEN_ADDR" not in of_kind(objects, "ConfigMap")[name]["data"]
        for name, policy in of_kind(objects, "NetworkPolicy").items():
            assert all(rule["from"] != monitoring for rule in policy["spec"].get("ingress", [])), name


def test_metrics_pushed_over_otlp_need_an_endpoint():
    with pytest.raises(helm.HelmError) as refused:
        render({"config": {"metricsExporter": "otlp"}})
    assert "config.otlpEndpoint" in str(refused.value)


def test_an_origin_is_required_when_there_is_no_ingress():
    values = copy.deepcopy(VALUE_SETS["minimal"])
    values["config"]["webAllowedOrigins"] = []
    with pytest.raises(helm.HelmError) as refused:
        render(values)
    assert "config.webAllowedOrigins" in str(refused.value)


def _env_names_refused(field):
    schema = chart().schema
    names = schema["$defs"]["service"]["properties"][field]["propertyNames"]["allOf"]
    return {name for rule in names if "not" in rule for name in rule["not"]["enum"]}


def test_every_secret_the_code_reads_is_refused_as_a_plain_setting():
    """The code's secrets (`ServiceConfig::secret`) and infrastructure URLs can come only from
    Secrets: `env` refuses their names, so no one can put their value in a values file."""
    read_as_secret = {"DATABASE_URL", "AMQP_URL"}
    for path in ROOT.glob("*-svc/src/**/*.rs"):
        read_as_secret |= set(re.findall(r'\.secret\(\s*"([A-Z0-9_]+)"', path.read_text()))
    assert {"AUTH_BEAK_KEY", "AUTH_KEY_ENCRYPTION_KEY", "SMTP_URL"} <= read_as_secret
    assert read_as_secret <= _env_names_refused("env")


def test_settings_the_chart_owns_cannot_be_overridden_per_service():
    objects, _ = render({})
    owned = set().union(*(set(c["data"]) for c in of_kind(objects, "ConfigMap").values()))
    owned -= {k for s in values_of("default")["services"].values() for k in s["env"]}
    assert owned <= _env_names_refused("env")
    assert owned <= _env_names_refused("secretEnv")


def test_one_service_upgraded_alone_changes_only_its_own_deployment():
    before, _ = render({})
    after, _ = render({"services": {"tracker": {"imageTag": "0.2.0"}}})
    changed = {
        f"{obj['kind']}/{obj['metadata']['name']}"
        for old, obj in zip(before, after)
        if old != obj
    }
    assert [o["metadata"]["name"] for o in before] == [o["metadata"]["name"] for o in after]
    assert changed == {"Deployment/ates-tracker"}
    tracker = of_kind(after, "Deployment")["ates-tracker"]
    assert tracker["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":0.2.0")
