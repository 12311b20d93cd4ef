#!/usr/bin/env python3
"""A fake Kubernetes API server (plain HTTP, Python standard library only) for bench/controller-memory.sh.

It holds generated ToolHive objects (MCPGroup, MCPServerEntry, VirtualMCPServer, MCPRegistry, in a few
namespaces, every member and VirtualMCPServer in an existing group) and behaves like an API server as
far as the operator's informers and controllers can tell:

- LIST of any resource (label selectors honoured; `resourceVersion=0` lists come whole, as from the
  API server's watch cache; `limit`/`continue` are honoured otherwise), and an empty list for
  resources it has nothing of;
- WATCH: chunked responses held open until the client goes away or `timeoutSeconds` passes, carrying
  ADDED/MODIFIED/DELETED events of the writes below (and BOOKMARKs when asked for);
- writes: server-side apply (status subresource or whole object), JSON patch (finalizers), merge and
  strategic merge patch (Lease renewals, repeated events), POST create (409 when present), PUT,
  DELETE; the objects keep what was written, so the controllers see their own status and children
  come back through their watches and settle. Deployments become ready at once (a stand-in for the
  Deployment controller) unless --no-ready-deployments. Events are answered, counted, not stored;
- discovery (`/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`),
  SelfSubjectAccessReview and SelfSubjectRulesReview (always allowed), Leases (GET 404, then create).

Secret values written by the client are replaced by zero bytes of the same length before they are
stored or echoed; the served Secrets hold dummy data. Bodies are never logged.

`GET /_fake/stats` answers counts of the calls by verb and resource, the age of the last write (Lease
writes and events excluded) and object counts; requests the server does not know are logged to stderr.

    bench/fake-apiserver.py --port 0 --objects 10000 --port-file /tmp/port
"""

import argparse
import base64
import collections
import copy
import http.server
import json
import os
import queue
import select
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
import uuid

TOOLHIVE = "toolhive.stacklok.dev"
CREATED = "2025-01-15T09:00:00Z"

# (group, plural) -> (kind, namespaced, has status subresource); the versions served per group below.
RESOURCES = {
    ("", "configmaps"): ("ConfigMap", True, False),
    ("", "secrets"): ("Secret", True, False),
    ("", "services"): ("Service", True, True),
    ("", "serviceaccounts"): ("ServiceAccount", True, False),
    ("", "namespaces"): ("Namespace", False, True),
    ("", "pods"): ("Pod", True, True),
    ("", "events"): ("Event", True, False),
    ("apps", "deployments"): ("Deployment", True, True),
    ("rbac.authorization.k8s.io", "roles"): ("Role", True, False),
    ("rbac.authorization.k8s.io", "rolebindings"): ("RoleBinding", True, False),
    ("rbac.authorization.k8s.io", "clusterroles"): ("ClusterRole", False, False),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): ("ClusterRoleBinding", False, False),
    ("coordination.k8s.io", "leases"): ("Lease", True, False),
    ("events.k8s.io", "events"): ("Event", True, False),
    ("apiextensions.k8s.io", "customresourcedefinitions"): ("CustomResourceDefinition", False, True),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"): ("ValidatingWebhookConfiguration", False, False),
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"): ("MutatingWebhookConfiguration", False, False),
    ("authorization.k8s.io", "selfsubjectaccessreviews"): ("SelfSubjectAccessReview", False, False),
    ("authorization.k8s.io", "selfsubjectrulesreviews"): ("SelfSubjectRulesReview", False, False),
    (TOOLHIVE, "mcpgroups"): ("MCPGroup", True, True),
    (TOOLHIVE, "mcpserverentries"): ("MCPServerEntry", True, True),
    (TOOLHIVE, "virtualmcpservers"): ("VirtualMCPServer", True, True),
    (TOOLHIVE, "mcpregistries"): ("MCPRegistry", True, True),
}
VERSIONS = {
    "": ["v1"],
    "apps": ["v1"],
    "rbac.authorization.k8s.io": ["v1"],
    "coordination.k8s.io": ["v1"],
    "events.k8s.io": ["v1"],
    "apiextensions.k8s.io": ["v1"],
    "admissionregistration.k8s.io": ["v1"],
    "authorization.k8s.io": ["v1"],
    TOOLHIVE: ["v1beta1", "v1alpha1"],
}
# Writes of these do not count as controller activity when deciding whether things settled.
BACKGROUND = {"leases", "events"}


def encode(value):
    return json.dumps(value, separators=(",", ":")).encode()


def log(*parts):
    print("fake-apiserver:", *parts, file=sys.stderr, flush=True)


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def api_version(group, version):
    return f"{group}/{version}" if group else version


def fields_v1(value):
    """A plausible managedFields `fieldsV1` for `value`: every map key, lists as a whole."""
    if isinstance(value, dict):
        return {f"f:{k}": fields_v1(v) for k, v in value.items()}
    return {}


def managed_entry(manager, operation, version_string, body, subresource=None):
    owned = {k: v for k, v in body.items() if k not in ("apiVersion", "kind")}
    if "metadata" in owned:
        owned["metadata"] = {k: v for k, v in owned["metadata"].items() if k in ("labels", "annotations", "ownerReferences")}
    entry = {"manager": manager, "operation": operation, "apiVersion": version_string, "time": now(),
             "fieldsType": "FieldsV1", "fieldsV1": fields_v1(owned)}
    if subresource:
        entry["subresource"] = subresource
    return entry


def merge(base, patch):
    """RFC 7386 merge patch (also stands in for strategic merge and, without nulls, for SSA)."""
    if not isinstance(patch, dict):
        return patch
    out = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


class PatchFailed(Exception):
    pass


def json_patch(doc, ops):
    doc = copy.deepcopy(doc)

    def parts(path):
        return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]

    def parent(path):
        keys = parts(path)
        node = doc
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        return node, keys[-1]

    def get(path):
        node = doc
        for key in parts(path):
            try:
                node = node[int(key)] if isinstance(node, list) else node[key]
            except (KeyError, IndexError, ValueError, TypeError):
                return None
        return node

    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        if kind == "test":
            if get(path) != op.get("value"):
                raise PatchFailed(f"test of {path} failed")
            continue
        node, key = parent(path)
        if kind == "add":
            if isinstance(node, list):
                node.insert(len(node) if key == "-" else int(key), op.get("value"))
            else:
                node[key] = op.get("value")
        elif kind == "replace":
            node[int(key) if isinstance(node, list) else key] = op.get("value")
        elif kind == "remove":
            try:
                del node[int(key) if isinstance(node, list) else key]
            except (KeyError, IndexError, ValueError):
                raise PatchFailed(f"nothing at {path} to remove")
        else:
            raise PatchFailed(f"unsupported op {kind}")
    return doc


def parse_selector(text):
    """Equality-based label selector -> list of (key, op, value)."""
    terms = []
    for term in filter(None, (t.strip() for t in (text or "").split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            terms.append((k.strip(), "!=", v.strip()))
        elif "==" in term or "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            terms.append((k.strip(), "=", v.strip()))
        elif term.startswith("!"):
            terms.append((term[1:].strip(), "!", None))
        else:
            terms.append((term, "?", None))
    return terms


def selects(terms, obj):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for key, op, value in terms:
        if op == "=" and labels.get(key) != value:
            return False
        if op == "!=" and labels.get(key) == value:
            return False
        if op == "!" and key in labels:
            return False
        if op == "?" and key not in labels:
            return False
    return True


def scrub_secret(obj):
    """Replaces the values of a Secret written by the client by zeros of the same decoded length."""
    data = {}
    for key, value in (obj.get("data") or {}).items():
        try:
            size = len(base64.b64decode(value or ""))
        except ValueError:
            size = 0
        data[key] = base64.b64encode(b"\0" * size).decode()
    for key, value in (obj.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(b"\0" * len(str(value).encode())).decode()
    if data or "data" in obj:
        obj["data"] = data
    return obj


class Store:
    """Objects by (group, plural) -> {(namespace, name): object}, with a global resourceVersion and
    the recent watch events."""

    def __init__(self, history=200000):
        self.lock = threading.Lock()
        self.rv = 1000
        self.objects = collections.defaultdict(dict)
        self.events = collections.deque(maxlen=history)  # (rv, resource, namespace, object, line)
        self.first_rv = self.rv
        self.watchers = []
        self.counts = collections.Counter()
        self.unknown = collections.Counter()
        self.last_write = None
        self.last_request = time.monotonic()
        self.started = time.monotonic()
        self.watches_open = 0

    def next_rv(self):
        self.rv += 1
        return self.rv

    def count(self, verb, plural, write=False):
        with self.lock:
            self.counts[(verb, plural)] += 1
            self.last_request = time.monotonic()
            if write and plural not in BACKGROUND:
                self.last_write = time.monotonic()

    def put(self, resource, obj, event=None):
        """Stores obj (with a new resourceVersion) under resource and notifies the watches.
        Call with the lock held."""
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(self.next_rv())
        key = (meta.get("namespace", ""), meta["name"])
        if event is None:
            event = "MODIFIED" if key in self.objects[resource] else "ADDED"
        self.objects[resource][key] = obj
        self.broadcast(resource, event, obj)
        return obj

    def delete(self, resource, key):
        obj = self.objects[resource].pop(key)
        obj["metadata"]["resourceVersion"] = str(self.next_rv())
        self.broadcast(resource, "DELETED", obj)
        return obj

    def broadcast(self, resource, event, obj):
        line = (json.dumps({"type": event, "object": obj}, separators=(",", ":")) + "\n").encode()
        namespace = obj["metadata"].get("namespace", "")
        record = (int(obj["metadata"]["resourceVersion"]), resource, namespace, obj, line)
        if len(self.events) == self.events.maxlen:
            self.first_rv = self.events[0][0]
        self.events.append(record)
        for watcher in self.watchers:
            if watcher.resource == resource:
                watcher.queue.put(record)


class Watcher:
    def __init__(self, resource):
        self.resource = resource
        self.queue = queue.Queue()


def generate(store, objects, namespaces, mix):
    """Fills the store with `objects` ToolHive objects spread over `namespaces` namespaces."""
    if objects <= 0:
        return {}
    shares = dict(mix)
    total = sum(shares.values()) or 1
    groups = max(1, round(objects * shares["groups"] / total))
    vmcps = round(objects * shares["vmcps"] / total)
    registries = round(objects * shares["registries"] / total)
    entries = max(0, objects - groups - vmcps - registries)
    names = [f"team-{i:02d}" for i in range(namespaces)]
    gv = f"{TOOLHIVE}/v1beta1"

    def meta(name, namespace, labels, fields, annotations=None):
        m = {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()), "generation": 1,
             "creationTimestamp": CREATED, "labels": labels,
             "managedFields": [{"manager": "kubectl", "operation": "Apply", "apiVersion": gv, "time": CREATED,
                                "fieldsType": "FieldsV1", "fieldsV1": fields}]}
        if annotations:
            m["annotations"] = annotations
        return m

    def add(plural, obj):
        fields = {"f:metadata": {"f:labels": fields_v1(obj["metadata"]["labels"])}, "f:spec": fields_v1(obj["spec"])}
        obj["metadata"]["managedFields"][0]["fieldsV1"] = fields
        store.put((TOOLHIVE, plural), obj)

    with store.lock:
        for ns in names:
            store.put(("", "namespaces"), {"apiVersion": "v1", "kind": "Namespace",
                                           "metadata": {"name": ns, "uid": str(uuid.uuid4()), "creationTimestamp": CREATED,
                                                        "labels": {"kubernetes.io/metadata.name": ns}},
                                           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
            pem = "-----BEGIN CERTIFICATE-----\n" + ("MIIBszCCAVmgAwIBAgIUQk1vY2tDQQ==" * 20) + "\n-----END CERTIFICATE-----\n"
            for name in ("kube-root-ca.crt", "corp-ca"):
                store.put(("", "configmaps"), {"apiVersion": "v1", "kind": "ConfigMap",
                                               "metadata": {"name": name, "namespace": ns, "uid": str(uuid.uuid4()),
                                                            "creationTimestamp": CREATED},
                                               "data": {"ca.crt": pem}})
            dummy = base64.b64encode(b"dummy-not-a-secret-0123456789abcdef").decode()
            store.put(("", "secrets"), {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                        "metadata": {"name": "mcp-api-keys", "namespace": ns, "uid": str(uuid.uuid4()),
                                                     "creationTimestamp": CREATED},
                                        "data": {"api-key": dummy, "jira-token": dummy}})
        group_ns = []
        for i in range(groups):
            ns = names[i % namespaces]
            group_ns.append(ns)
            name = f"tools-{i:04d}"
            add("mcpgroups", {"apiVersion": gv, "kind": "MCPGroup",
                              "metadata": meta(name, ns, {"app.kubernetes.io/part-of": "tools", "team": ns}, {}),
                              "spec": {"description": f"MCP servers of team {ns}, set {i}."}})
        for j in range(entries):
            g = j % groups
            ns = group_ns[g]
            spec = {"groupRef": {"name": f"tools-{g:04d}"},
                    "remoteUrl": f"https://mcp-{j}.tools.example.com/mcp",
                    "transport": "sse" if j % 4 == 3 else "streamable-http"}
            if j % 5 == 0:
                spec["caBundleRef"] = {"configMapRef": {"name": "corp-ca", "key": "ca.crt"}}
            if j % 4 == 1:
                spec["headerForward"] = {"addPlaintextHeaders": {"X-Tenant": ns},
                                         "addHeadersFromSecret": [{"headerName": "X-API-Key",
                                                                   "valueSecretRef": {"name": "mcp-api-keys", "key": "api-key"}}]}
            add("mcpserverentries", {"apiVersion": gv, "kind": "MCPServerEntry",
                                     "metadata": meta(f"remote-{j:05d}", ns,
                                                      {"app.kubernetes.io/name": f"remote-{j:05d}",
                                                       "app.kubernetes.io/part-of": "tools", "team": ns}, {},
                                                      {"toolhive.stacklok.dev/owner": f"platform@{ns}.example.com"}),
                                     "spec": spec})
        for v in range(vmcps):
            g = v % groups
            ns = group_ns[g]
            name = f"vmcp-{v:04d}"
            spec = {"groupRef": {"name": f"tools-{g:04d}"},
                    "incomingAuth": {"type": "kubernetes", "kubernetes": {"audience": name}},
                    "outgoingAuth": {"source": "discovered"},
                    "serviceType": "ClusterIP",
                    "config": {"aggregation": {"conflictResolution": "prefix",
                                               "conflictResolutionConfig": {"prefixFormat": "{workload}_"}},
                               "operational": {"timeouts": {"default": "30s"},
                                               "failureHandling": {"healthCheckInterval": "30s", "unhealthyThreshold": 3}}}}
            add("virtualmcpservers", {"apiVersion": gv, "kind": "VirtualMCPServer",
                                      "metadata": meta(name, ns, {"app.kubernetes.io/part-of": "tools", "team": ns}, {}),
                                      "spec": spec})
        for r in range(registries):
            ns = names[r % namespaces]
            config = ("registryName: catalog\nsources:\n  - name: upstream\n    git:\n"
                      "      repository: https://github.com/stacklok/toolhive-registry\n")
            add("mcpregistries", {"apiVersion": gv, "kind": "MCPRegistry",
                                  "metadata": meta(f"catalog-{r:03d}", ns, {"app.kubernetes.io/part-of": "tools", "team": ns}, {}),
                                  "spec": {"configYAML": config, "displayName": f"Catalog {r}"}})
    return {"mcpgroups": groups, "mcpserverentries": entries, "virtualmcpservers": vmcps, "mcpregistries": registries}


def discovery_groups():
    groups = []
    for group, versions in VERSIONS.items():
        if not group:
            continue
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def resource_list(group, version):
    resources = []
    for (g, plural), (kind, namespaced, has_status) in sorted(RESOURCES.items()):
        if g != group:
            continue
        verbs = ["create"] if plural.startswith("selfsubject") else \
            ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        resources.append({"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                          "verbs": verbs})
        if has_status:
            resources.append({"name": f"{plural}/status", "singularName": "", "namespaced": namespaced,
                              "kind": kind, "verbs": ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version(group, version),
            "resources": resources}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-apiserver"
    # TCP_NODELAY, as Go's net/http has: headers and body go out in separate writes, and Nagle's
    # algorithm with the client's delayed ACK would add 40 ms to every answer.
    disable_nagle_algorithm = True
    store = None
    options = None

    def log_message(self, fmt, *args):  # one line per request only with --verbose
        if self.options.verbose:
            log(self.address_string(), fmt % args)

    # -- plumbing

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, code, value):
        data = value if isinstance(value, bytes) else encode(value)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def not_found(self, what, unknown=True):
        if unknown:
            with self.store.lock:
                self.store.unknown[f"{self.command} {self.path.split('?')[0]}"] += 1
            log("unknown request:", self.command, self.path)
        self.send_json(404, status(404, "NotFound", f"{what} not found"))

    def named_route(self):
        """route() for a request that names one object; answers 404 (and gives None) otherwise."""
        route = self.route()
        if route is None or route[4] is None:
            self.not_found(self.path)
            return None
        return route

    def route(self):
        """-> (group, version, namespace, plural, name, subresource) or None."""
        parts = [p for p in urllib.parse.urlsplit(self.path).path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        elif rest[:1] == ["namespaces"] and len(rest) == 2 and group == "":
            rest = ["namespaces", rest[1]]
        if not rest:
            return None
        plural = rest[0]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        return group, version, namespace, plural, name, sub

    def query(self):
        return {k: v[-1] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).items()}

    # -- verbs

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path.rstrip("/") or "/"
        if path == "/_fake/stats":
            return self.send_json(200, self.stats())
        if path in ("/version", "/api", "/apis", "/healthz", "/livez", "/readyz") or \
                path.startswith("/apis/") and path.count("/") == 3 or path == "/api/v1":
            return self.discovery(path)
        route = self.route()
        if route is None:
            return self.not_found(path)
        group, version, namespace, plural, name, sub = route
        resource = (group, plural)
        known = resource in RESOURCES
        if name is None:
            if self.query().get("watch") in ("1", "true"):
                return self.watch(resource, group, version, namespace)
            self.store.count("list", plural)
            if not known:
                log("list of an unknown resource, answering an empty list:", self.path)
                with self.store.lock:
                    self.store.unknown[f"LIST {'/'.join(filter(None, (group, plural)))}"] += 1
            return self.list(resource, group, version, namespace)
        self.store.count("get" + (f"-{sub}" if sub else ""), plural)
        with self.store.lock:
            obj = self.store.objects[resource].get((namespace, name))
            data = json.dumps(obj, separators=(",", ":")).encode() if obj else None
        if data is None:
            return self.not_found(f'{plural} "{name}"', unknown=not known)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def discovery(self, path):
        self.store.count("discovery", path)
        if path == "/version":
            return self.send_json(200, {"major": "1", "minor": "31", "gitVersion": "v1.31.0-fake",
                                        "gitCommit": "0" * 40, "gitTreeState": "clean", "buildDate": CREATED,
                                        "goVersion": "go1.22.0", "compiler": "gc", "platform": "linux/amd64"})
        if path in ("/healthz", "/livez", "/readyz"):
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            return self.wfile.write(data)
        if path == "/api":
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                                        "serverAddress": "127.0.0.1:6443"}]})
        if path == "/apis":
            return self.send_json(200, discovery_groups())
        if path == "/api/v1":
            return self.send_json(200, resource_list("", "v1"))
        _, _, group, version = path.split("/")
        if version not in VERSIONS.get(group, []):
            return self.not_found(path)
        return self.send_json(200, resource_list(group, version))

    def list(self, resource, group, version, namespace):
        q = self.query()
        terms = parse_selector(q.get("labelSelector"))
        with self.store.lock:
            items = [o for (ns, _), o in sorted(self.store.objects[resource].items())
                     if (not namespace or ns == namespace) and selects(terms, o)]
            rv = self.store.rv
            limit = int(q.get("limit") or 0)
            start = int(q.get("continue") or 0)
            more = ""
            # Like the API server's watch cache: a list at resourceVersion 0 ignores the limit.
            if limit and (q.get("resourceVersion") != "0" or self.options.paginate):
                more = str(start + limit) if start + limit < len(items) else ""
                items = items[start:start + limit]
            kind = RESOURCES.get(resource, (plural_kind(resource[1]),))[0]
            body = {"apiVersion": api_version(group, version), "kind": f"{kind}List",
                    "metadata": {"resourceVersion": str(rv)}, "items": items}
            if more:
                body["metadata"]["continue"] = more
            data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def watch(self, resource, group, version, namespace):
        q = self.query()
        self.store.count("watch", resource[1])
        terms = parse_selector(q.get("labelSelector"))
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true")
        timeout = int(q.get("timeoutSeconds") or 1800)
        start = int(q.get("resourceVersion") or 0)
        watcher = Watcher(resource)
        backlog = []
        with self.store.lock:
            gone = start and start < self.store.first_rv
            if not gone:
                backlog = [r for r in self.store.events if r[1] == resource and r[0] > start] if start else \
                    [self.synthetic_added(o) for o in self.store.objects[resource].values()]
            self.store.watchers.append(watcher)
            self.store.watches_open += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        kind = RESOURCES.get(resource, (plural_kind(resource[1]),))[0]

        def chunk(data):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def matches(record):
            _, _, ns, obj, _ = record
            return (not namespace or ns == namespace) and selects(terms, obj)

        try:
            if gone:
                chunk((json.dumps({"type": "ERROR", "object": status(410, "Expired", "too old resource version")})
                       + "\n").encode())
                return
            for record in backlog:
                if matches(record):
                    chunk(record[4])
            deadline = time.monotonic() + timeout
            last_mark = time.monotonic()
            while time.monotonic() < deadline:
                try:
                    record = watcher.queue.get(timeout=1.0)
                    if matches(record):
                        chunk(record[4])
                    continue
                except queue.Empty:
                    pass
                if self.client_gone():
                    return
                if bookmarks and time.monotonic() - last_mark >= self.options.bookmark_interval:
                    last_mark = time.monotonic()
                    mark = {"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version(group, version),
                                                           "metadata": {"resourceVersion": str(self.store.rv)}}}
                    chunk((json.dumps(mark) + "\n").encode())
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            with self.store.lock:
                self.store.watchers.remove(watcher)
                self.store.watches_open -= 1

    def synthetic_added(self, obj):
        line = (json.dumps({"type": "ADDED", "object": obj}, separators=(",", ":")) + "\n").encode()
        return (0, None, obj["metadata"].get("namespace", ""), obj, line)

    def client_gone(self):
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
        return False

    def read_json(self):
        raw = self.body()
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return None

    def do_POST(self):
        route = self.route()
        if route is None:
            return self.not_found(self.path)
        group, version, namespace, plural, name, sub = route
        resource = (group, plural)
        body = self.read_json()
        if not isinstance(body, dict):
            self.store.count("post-invalid", plural)
            return self.send_json(400, status(400, "BadRequest", "the body is not a JSON object"))
        if plural in ("selfsubjectaccessreviews", "selfsubjectrulesreviews"):
            self.store.count("create", plural)
            body.setdefault("metadata", {})["creationTimestamp"] = None
            if plural == "selfsubjectaccessreviews":
                body["status"] = {"allowed": True, "reason": "fake-apiserver allows everything"}
            else:
                body["status"] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                                  "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
            return self.send_json(201, body)
        if resource not in RESOURCES:
            with self.store.lock:
                self.store.unknown[f"POST {'/'.join(filter(None, (group, plural)))}"] += 1
            log("create of an unknown resource (stored anyway):", self.path)
        self.store.count("create", plural, write=True)
        meta = body.setdefault("metadata", {})
        if namespace:
            meta["namespace"] = namespace
        if not meta.get("name"):
            meta["name"] = (meta.get("generateName") or "obj-") + uuid.uuid4().hex[:5]
        meta.update({"uid": str(uuid.uuid4()), "creationTimestamp": now(), "generation": 1})
        body["apiVersion"] = api_version(group, version)
        body.setdefault("kind", RESOURCES.get(resource, (plural_kind(plural),))[0])
        if plural == "secrets":
            scrub_secret(body)
        if plural == "events":  # answered, not stored
            with self.store.lock:
                meta["resourceVersion"] = str(self.store.next_rv())
            return self.send_json(201, body)
        with self.store.lock:
            if (meta.get("namespace", ""), meta["name"]) in self.store.objects[resource]:
                answer = status(409, "AlreadyExists", f'{plural} "{meta["name"]}" already exists')
            else:
                answer = self.store.put(resource, body, "ADDED")
                self.after_write(resource, answer)
            code = 409 if answer.get("kind") == "Status" else 201
            answer = encode(answer)
        self.send_json(code, answer)

    def do_PUT(self):
        route = self.named_route()
        if route is None:
            return None
        group, version, namespace, plural, name, sub = route
        resource = (group, plural)
        body = self.read_json()
        self.store.count("update" + (f"-{sub}" if sub else ""), plural, write=True)
        if not isinstance(body, dict):
            return self.send_json(400, status(400, "BadRequest", "the body is not a JSON object"))
        if plural == "secrets":
            scrub_secret(body)
        with self.store.lock:
            old = self.store.objects[resource].get((namespace, name))
            if old is None:
                answer, code = status(404, "NotFound", f'{plural} "{name}" not found'), 404
            else:
                answer, code = self.write(resource, old, body, sub, replace=True), 200
            answer = encode(answer)
        self.send_json(code, answer)

    def do_PATCH(self):
        route = self.named_route()
        if route is None:
            return None
        group, version, namespace, plural, name, sub = route
        resource = (group, plural)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        body = self.read_json()
        q = self.query()
        style = {"application/apply-patch+yaml": "apply", "application/json-patch+json": "json-patch",
                 "application/merge-patch+json": "merge-patch",
                 "application/strategic-merge-patch+json": "strategic-patch"}.get(ctype, "patch")
        self.store.count(style + (f"-{sub}" if sub else ""), plural, write=True)
        if resource not in RESOURCES:
            log("patch of an unknown resource:", self.command, self.path)
        if plural == "events":  # answered, not stored
            answer = body if isinstance(body, dict) else {}
            answer.setdefault("metadata", {}).update({"name": name, "namespace": namespace})
            return self.send_json(200, answer)
        with self.store.lock:
            old = self.store.objects[resource].get((namespace, name))
            try:
                if style == "json-patch":
                    if old is None:
                        raise KeyError
                    answer, code = self.write(resource, old, json_patch(old, body or []), sub, replace=True), 200
                elif style == "apply":
                    if old is None and sub:
                        raise KeyError
                    if plural == "secrets":
                        scrub_secret(body)
                    manager = q.get("fieldManager", "unknown")
                    if old is None:
                        new = body
                        meta = new.setdefault("metadata", {})
                        meta.update({"name": name, "uid": str(uuid.uuid4()), "creationTimestamp": now(), "generation": 1})
                        if namespace:
                            meta["namespace"] = namespace
                        meta["managedFields"] = [managed_entry(manager, "Apply", body.get("apiVersion", ""), body)]
                        new["apiVersion"] = api_version(group, version)
                        answer = self.store.put(resource, new, "ADDED")
                        self.after_write(resource, answer)
                        code = 201
                    else:
                        new = merge(old, {k: v for k, v in body.items() if k != "status"} if not sub else
                                    {"status": body.get("status")})
                        if sub:  # the status is replaced by what this manager applies
                            new["status"] = body.get("status")
                        new["metadata"] = dict(new["metadata"])
                        entry = managed_entry(manager, "Apply", body.get("apiVersion", ""), body, sub)
                        fields = [f for f in old["metadata"].get("managedFields", [])
                                  if (f.get("manager"), f.get("subresource")) != (manager, sub)]
                        new["metadata"]["managedFields"] = fields + [entry]
                        answer, code = self.write(resource, old, new, sub, replace=True), 200
                else:
                    if old is None:
                        raise KeyError
                    answer, code = self.write(resource, old, merge(old, body or {}), sub, replace=True), 200
            except KeyError:
                answer, code = status(404, "NotFound", f'{plural} "{name}" not found'), 404
            except PatchFailed as failure:
                answer, code = status(422, "Invalid", str(failure)), 422
            answer = encode(answer)
        self.send_json(code, answer)

    def do_DELETE(self):
        route = self.named_route()
        if route is None:
            return None
        group, version, namespace, plural, name, sub = route
        resource = (group, plural)
        self.body()
        self.store.count("delete", plural, write=True)
        with self.store.lock:
            if (namespace, name) not in self.store.objects[resource]:
                answer, code = status(404, "NotFound", f'{plural} "{name}" not found'), 404
            else:
                answer, code = self.store.delete(resource, (namespace, name)), 200
            answer = encode(answer)
        self.send_json(code, answer)

    # -- storage semantics (lock held)

    def write(self, resource, old, new, sub, replace):
        """Stores `new` in place of `old` as a main-resource or status write; returns what is stored
        (stored objects are never changed in place: encode them before the lock is released)."""
        kind, _, has_status = RESOURCES.get(resource, (None, True, False))
        new = dict(new)
        meta = new["metadata"] = dict(new.get("metadata") or {})
        for key in ("name", "namespace", "uid", "creationTimestamp"):
            if key in old["metadata"]:
                meta[key] = old["metadata"][key]
        meta["generation"] = old["metadata"].get("generation", 1)
        if has_status and sub == "status":
            new = {**old, "status": new.get("status"), "metadata": {**old["metadata"],
                                                                     "managedFields": meta.get("managedFields", old["metadata"].get("managedFields"))}}
        elif has_status:
            new["status"] = old.get("status")
            if new.get("status") is None:
                new.pop("status", None)
        if not sub:
            strip = lambda o: {k: v for k, v in o.items() if k not in ("metadata", "status")}
            if strip(old) != strip(new):
                new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        unchanged = {k: v for k, v in old.items() if k != "metadata"} == {k: v for k, v in new.items() if k != "metadata"} \
            and {k: v for k, v in old["metadata"].items() if k not in ("resourceVersion", "managedFields")} == \
            {k: v for k, v in new["metadata"].items() if k not in ("resourceVersion", "managedFields")}
        if unchanged:  # a no-op write: the API server keeps the resourceVersion and sends no event
            return old
        stored = self.store.put(resource, new, "MODIFIED")
        self.after_write(resource, stored)
        return stored

    def after_write(self, resource, obj):
        """The Deployment controller, roughly: a Deployment becomes ready right after it is written."""
        if resource != ("apps", "deployments") or not self.options.ready_deployments:
            return
        replicas = (obj.get("spec") or {}).get("replicas", 1)
        ready = {"observedGeneration": obj["metadata"].get("generation", 1), "replicas": replicas,
                 "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                 "conditions": [
                     {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                      "message": "Deployment has minimum availability.", "lastUpdateTime": CREATED,
                      "lastTransitionTime": CREATED},
                     {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                      "message": "ReplicaSet has successfully progressed.", "lastUpdateTime": CREATED,
                      "lastTransitionTime": CREATED}]}
        if obj.get("status") != ready:
            updated = {**obj, "metadata": dict(obj["metadata"]), "status": ready}
            self.store.put(resource, updated, "MODIFIED")

    def stats(self):
        s = self.store
        with s.lock:
            calls = collections.defaultdict(dict)
            for (verb, plural), n in sorted(s.counts.items()):
                calls[verb][plural] = n
            return {"calls": calls, "total": sum(s.counts.values()),
                    "writes": sum(n for (verb, plural), n in s.counts.items()
                                  if verb not in ("list", "watch", "discovery") and not verb.startswith("get")
                                  and plural not in BACKGROUND),
                    "last_write_age_s": None if s.last_write is None else round(time.monotonic() - s.last_write, 3),
                    "last_request_age_s": round(time.monotonic() - s.last_request, 3),
                    "watches_open": s.watches_open, "unknown": dict(s.unknown),
                    "objects": {"/".join(filter(None, k)): len(v) for k, v in sorted(s.objects.items()) if v},
                    "uptime_s": round(time.monotonic() - s.started, 3)}


def plural_kind(plural):
    return plural[:-1].capitalize() if plural.endswith("s") else plural.capitalize()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: an ephemeral port (see --port-file)")
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--objects", type=int, default=10000, help="ToolHive objects to serve")
    parser.add_argument("--namespaces", type=int, default=10)
    parser.add_argument("--mix", default="groups=10,entries=80,vmcps=8,registries=2",
                        help="shares of the objects per kind")
    parser.add_argument("--bookmark-interval", type=float, default=60.0, help="seconds between BOOKMARKs")
    parser.add_argument("--paginate", action="store_true", help="honour limit also at resourceVersion 0")
    parser.add_argument("--no-ready-deployments", dest="ready_deployments", action="store_false")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    options = parser.parse_args()
    mix = {"groups": 0, "entries": 0, "vmcps": 0, "registries": 0}
    for part in options.mix.split(","):
        key, value = part.split("=")
        mix[key.strip()] = float(value)

    store = Store()
    started = time.monotonic()
    generated = generate(store, options.objects, options.namespaces, mix)
    Handler.store, Handler.options = store, options
    server = Server((options.host, options.port), Handler)
    port = server.server_address[1]
    log(f"listening on http://{options.host}:{port} with {generated or 'no objects'}"
        f" (generated in {time.monotonic() - started:.1f}s)")
    if options.port_file:
        with open(options.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(options.port_file + ".tmp", options.port_file)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
