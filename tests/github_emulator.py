"""A stateful emulator of the parts of GitHub's REST API that the sync uses, for tests.

It serves on 127.0.0.1 (a free port) from a `ThreadingHTTPServer` in a thread and answers close enough to
GitHub's JSON for PyGithub's real client: repositories, issues (create/get/list with `state`, `labels`,
`sort`, `direction`, `per_page`/`page` and `Link` headers; edit of title/body/state/labels/milestone),
comments, labels (422 on a duplicate name), milestones (422 on a duplicate title), ETags (`If-None-Match` ->
304), `X-RateLimit-*` headers, 401 without a token (or with an unknown one), 403 for a read-only token on
writes, and injectable faults: the next N requests matching a method and path answer 5xx or a rate-limit 403.
Every write request (POST/PATCH/PUT/DELETE) is counted, faulted or not.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlparse

WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    remaining: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "Server Error"
    after: bool = False  # apply the request, then answer with the fault (a gateway error after the write)


@dataclass
class RepoState:
    owner: str
    name: str
    id: int
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower-case name -> label
    milestones: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_number: int = 1


class GitHubEmulator:
    def __init__(self, *, tokens: set[str] | None = None, read_only_tokens: set[str] | None = None,
                 default_per_page: int = 30, rate_limit: int = 5000) -> None:
        self.tokens = tokens if tokens is not None else {"test-token"}
        self.read_only_tokens = read_only_tokens or set()
        self.default_per_page = default_per_page
        self.rate_limit = rate_limit
        self.repos: dict[str, RepoState] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self.writes = 0  # write requests received, faulted or not
        self.writes_applied = 0  # write requests that changed state
        self._lock = threading.RLock()
        self._ids = 1000
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.used = 0

    # --- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> GitHubEmulator:
        emulator = self

        class Handler(_Handler):
            emu = emulator

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="github-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- test helpers --------------------------------------------------------------------------------------------
    def add_repo(self, full_name: str) -> RepoState:
        owner, name = full_name.split("/")
        with self._lock:
            repo = RepoState(owner, name, self._new_id())
            self.repos[full_name] = repo
            return repo

    def inject(self, method: str, path: str, status: int, count: int = 1, *, headers: dict[str, str] | None = None,
               message: str = "Server Error", after: bool = False) -> None:
        """The next `count` requests with `method` whose path matches the regex `path` answer `status`.

        With `after=True` the request is carried out first (the write happens, the client never hears of it).
        """
        with self._lock:
            self.faults.append(Fault(method.upper(), re.compile(path), status, count, headers or {}, message, after))

    def inject_rate_limit(self, method: str, path: str, *, reset_in: int = 1, retry_after: int | None = None,
                          count: int = 1) -> None:
        headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + reset_in)}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        self.inject(method, path, 403, count, headers=headers, message="API rate limit exceeded for user ID 1.")

    def seed_issue(self, full_name: str, title: str, body: str = "", *, labels: list[str] | None = None,
                   state: str = "open") -> dict[str, Any]:
        """An issue as if a person had filed it (not counted as a write)."""
        with self._lock:
            repo = self.repos[full_name]
            issue = self._create_issue(repo, {"title": title, "body": body, "labels": labels or []})
            if state == "closed":
                issue["state"], issue["closed_at"], issue["state_reason"] = "closed", _now(), "completed"
            return issue

    def edit_issue_as_person(self, full_name: str, number: int, **fields: Any) -> dict[str, Any]:
        with self._lock:
            issue = self.repos[full_name].issues[number]
            for key, value in fields.items():
                issue[key] = value
            if fields.get("state") == "closed":
                issue["closed_at"] = _now()
            issue["updated_at"] = _now()
            return issue

    def issues(self, full_name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [self.repos[full_name].issues[n] for n in sorted(self.repos[full_name].issues)]


    def managed_issues(self, full_name: str) -> dict[str, list[dict[str, Any]]]:
        """Issues carrying an abel-triage marker, by limitation slug (more than one per slug is a duplicate)."""
        from analysis.limitations import find_marker

        out: dict[str, list[dict[str, Any]]] = {}
        for issue in self.issues(full_name):
            slug = find_marker(issue["body"])
            if slug:
                out.setdefault(slug, []).append(issue)
        return out
    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.repos[full_name].comments.get(number, []))

    # --- JSON shapes --------------------------------------------------------------------------------------------
    def _new_id(self) -> int:
        self._ids += 1
        return self._ids

    def _user(self) -> dict[str, Any]:
        return {"login": "abel-bot", "id": 1, "node_id": "U_1", "type": "User", "site_admin": False,
                "url": f"{self.url}/users/abel-bot", "html_url": "https://github.com/abel-bot",
                "avatar_url": "https://avatars.githubusercontent.com/u/1"}

    def _repo_json(self, repo: RepoState) -> dict[str, Any]:
        full = f"{repo.owner}/{repo.name}"
        return {
            "id": repo.id, "node_id": f"R_{repo.id}", "name": repo.name, "full_name": full, "private": False,
            "owner": {**self._user(), "login": repo.owner}, "html_url": f"https://github.com/{full}",
            "url": f"{self.url}/repos/{full}", "description": "", "fork": False, "has_issues": True,
            "open_issues_count": sum(1 for i in repo.issues.values() if i["state"] == "open"),
            "default_branch": "main", "created_at": _now(), "updated_at": _now(),
            "permissions": {"admin": True, "push": True, "pull": True},
        }

    def _label_json(self, repo: RepoState, name: str, color: str = "ededed", description: str = "") -> dict:
        full = f"{repo.owner}/{repo.name}"
        lid = self._new_id()
        return {"id": lid, "node_id": f"L_{lid}", "url": f"{self.url}/repos/{full}/labels/{quote(name)}",
                "name": name, "color": color, "default": False, "description": description}

    def _milestone_json(self, repo: RepoState, number: int, title: str) -> dict[str, Any]:
        full = f"{repo.owner}/{repo.name}"
        mid = self._new_id()
        return {"url": f"{self.url}/repos/{full}/milestones/{number}",
                "html_url": f"https://github.com/{full}/milestone/{number}",
                "labels_url": f"{self.url}/repos/{full}/milestones/{number}/labels", "id": mid,
                "node_id": f"M_{mid}", "number": number, "title": title, "description": None,
                "creator": self._user(), "open_issues": 0, "closed_issues": 0, "state": "open",
                "created_at": _now(), "updated_at": _now(), "due_on": None, "closed_at": None}

    def _create_issue(self, repo: RepoState, data: dict[str, Any]) -> dict[str, Any]:
        full = f"{repo.owner}/{repo.name}"
        number = repo.next_number
        repo.next_number += 1
        iid = self._new_id()
        issue = {
            "id": iid, "node_id": f"I_{iid}", "url": f"{self.url}/repos/{full}/issues/{number}",
            "repository_url": f"{self.url}/repos/{full}",
            "labels_url": f"{self.url}/repos/{full}/issues/{number}/labels{{/name}}",
            "comments_url": f"{self.url}/repos/{full}/issues/{number}/comments",
            "events_url": f"{self.url}/repos/{full}/issues/{number}/events",
            "html_url": f"https://github.com/{full}/issues/{number}", "number": number, "state": "open",
            "state_reason": None, "title": data["title"], "body": data.get("body"), "user": self._user(),
            "labels": [], "assignee": None, "assignees": [], "milestone": None, "locked": False, "comments": 0,
            "created_at": _now(), "updated_at": _now(), "closed_at": None, "author_association": "OWNER",
        }
        self._set_labels(repo, issue, data.get("labels") or [])
        repo.issues[number] = issue
        return issue

    def _set_labels(self, repo: RepoState, issue: dict[str, Any], names: list[Any]) -> None:
        labels = []
        for raw in names:
            name = raw["name"] if isinstance(raw, dict) else str(raw)
            key = name.lower()
            if key not in repo.labels:  # GitHub creates unknown labels for users with push access
                repo.labels[key] = self._label_json(repo, name)
            labels.append(repo.labels[key])
        issue["labels"] = labels

    def _count_milestones(self, repo: RepoState) -> None:
        for ms in repo.milestones.values():
            ms["open_issues"] = sum(1 for i in repo.issues.values()
                                    if i["milestone"] and i["milestone"]["number"] == ms["number"]
                                    and i["state"] == "open")
            ms["closed_issues"] = sum(1 for i in repo.issues.values()
                                      if i["milestone"] and i["milestone"]["number"] == ms["number"]
                                      and i["state"] == "closed")


class _Handler(BaseHTTPRequestHandler):
    emu: GitHubEmulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the default stderr log
        return

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle("PATCH")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    # --- plumbing -----------------------------------------------------------------------------------------------
    def _rate_headers(self) -> dict[str, str]:
        emu = self.emu
        return {"X-RateLimit-Limit": str(emu.rate_limit),
                "X-RateLimit-Remaining": str(max(0, emu.rate_limit - emu.used)),
                "X-RateLimit-Reset": str(int(time.time()) + 3600), "X-RateLimit-Used": str(emu.used),
                "X-RateLimit-Resource": "core"}

    _after_fault: Fault | None = None

    def _send(self, status: int, payload: Any = None, headers: dict[str, str] | None = None) -> None:
        if self._after_fault is not None:
            fault, self._after_fault = self._after_fault, None
            self._error(fault.status, fault.message, fault.headers)
            return
        body = b"" if payload is None else json.dumps(payload).encode()
        all_headers = {**self._rate_headers(), **(headers or {})}
        if payload is not None and self.command == "GET" and status == 200:
            etag = '"' + hashlib.sha1(body).hexdigest() + '"'
            all_headers["ETag"] = etag
            if self.headers.get("If-None-Match") == etag:
                status, body = 304, b""
        self.send_response(status)
        if body:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in all_headers.items():
            self.send_header(k, v)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        with self.emu._lock:
            self.emu.requests.append((self.command, urlparse(self.path).path, status))

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        self._send(status, {"message": message, "documentation_url": "https://docs.github.com/rest", **extra},
                   headers)

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else {}

    def _handle(self, method: str) -> None:
        emu = self.emu
        parsed = urlparse(self.path)
        path = parsed.path
        if path.startswith("/api/v3/"):
            path = path[len("/api/v3"):]
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        data = self._read_json() if method in WRITE_METHODS else None
        with emu._lock:
            emu.used += 1
            if method in WRITE_METHODS:
                emu.writes += 1
            self._after_fault = None
            for fault in emu.faults:
                if fault.remaining > 0 and fault.method == method and fault.path.search(path):
                    fault.remaining -= 1
                    if fault.after:
                        self._after_fault = fault
                        break
                    self._error(fault.status, fault.message, fault.headers)
                    return
        auth = self.headers.get("Authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else ""
        if not token:
            self._error(401, "Requires authentication")
            return
        if token not in emu.tokens and token not in emu.read_only_tokens:
            self._error(401, "Bad credentials")
            return
        if method in WRITE_METHODS and token in emu.read_only_tokens:
            self._error(403, "Resource not accessible by personal access token")
            return
        with emu._lock:
            try:
                self._route(method, path, query, data)
            except _NotFound:
                self._error(404, "Not Found")

    def _route(self, method: str, path: str, query: dict[str, str], data: Any) -> None:
        emu = self.emu
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if not m:
            raise _NotFound
        full = f"{m.group(1)}/{m.group(2)}"
        repo = emu.repos.get(full)
        if repo is None:
            raise _NotFound
        rest = m.group(3) or ""
        if rest == "" and method == "GET":
            self._send(200, emu._repo_json(repo))
        elif rest == "/issues" and method == "GET":
            self._list_issues(repo, query)
        elif rest == "/issues" and method == "POST":
            self._post_issue(repo, data)
        elif (mi := re.fullmatch(r"/issues/(\d+)", rest)) and method in ("GET", "PATCH"):
            issue = repo.issues.get(int(mi.group(1)))
            if issue is None:
                raise _NotFound
            if method == "GET":
                self._send(200, issue)
            else:
                self._patch_issue(repo, issue, data)
        elif (mc := re.fullmatch(r"/issues/(\d+)/comments", rest)) and method in ("GET", "POST"):
            number = int(mc.group(1))
            if number not in repo.issues:
                raise _NotFound
            if method == "GET":
                self._paginate(repo.comments.get(number, []), query)
            else:
                self._post_comment(repo, number, data)
        elif rest == "/labels" and method == "GET":
            self._paginate(list(repo.labels.values()), query)
        elif rest == "/labels" and method == "POST":
            name = str(data.get("name", ""))
            if not name or name.lower() in repo.labels:
                self._error(422, "Validation Failed",
                            errors=[{"resource": "Label", "code": "already_exists", "field": "name"}])
                return
            label = emu._label_json(repo, name, data.get("color", "ededed"), data.get("description", ""))
            repo.labels[name.lower()] = label
            emu.writes_applied += 1
            self._send(201, label)
        elif rest == "/milestones" and method == "GET":
            state = query.get("state", "open")
            items = [ms for _, ms in sorted(repo.milestones.items()) if state == "all" or ms["state"] == state]
            self._paginate(items, query)
        elif rest == "/milestones" and method == "POST":
            title = str(data.get("title", ""))
            if not title or any(ms["title"] == title for ms in repo.milestones.values()):
                self._error(422, "Validation Failed",
                            errors=[{"resource": "Milestone", "code": "already_exists", "field": "title"}])
                return
            number = len(repo.milestones) + 1
            repo.milestones[number] = emu._milestone_json(repo, number, title)
            emu.writes_applied += 1
            self._send(201, repo.milestones[number])
        elif (mm := re.fullmatch(r"/milestones/(\d+)", rest)) and method == "GET":
            ms = repo.milestones.get(int(mm.group(1)))
            if ms is None:
                raise _NotFound
            self._send(200, ms)
        else:
            raise _NotFound

    def _paginate(self, items: list[Any], query: dict[str, str]) -> None:
        per_page = min(100, max(1, int(query.get("per_page", self.emu.default_per_page))))
        page = max(1, int(query.get("page", 1)))
        last = max(1, (len(items) + per_page - 1) // per_page)
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []
        base = f"{self.emu.url}{urlparse(self.path).path}"

        def url_for(p: int) -> str:
            return base + "?" + urlencode({**query, "page": p, "per_page": per_page})

        if page < last:
            links += [f'<{url_for(page + 1)}>; rel="next"', f'<{url_for(last)}>; rel="last"']
        if page > 1:
            links += [f'<{url_for(page - 1)}>; rel="prev"', f'<{url_for(1)}>; rel="first"']
        self._send(200, chunk, {"Link": ", ".join(links)} if links else None)

    def _list_issues(self, repo: RepoState, query: dict[str, str]) -> None:
        state = query.get("state", "open")
        wanted = [s.strip().lower() for s in query.get("labels", "").split(",") if s.strip()]
        items = []
        for issue in repo.issues.values():
            if state != "all" and issue["state"] != state:
                continue
            names = {lab["name"].lower() for lab in issue["labels"]}
            if any(w not in names for w in wanted):
                continue
            items.append(issue)
        key = "updated_at" if query.get("sort") == "updated" else "number"
        items.sort(key=lambda i: (i[key], i["number"]), reverse=query.get("direction", "desc") == "desc")
        self._paginate(items, query)

    def _milestone_for(self, repo: RepoState, value: Any) -> dict[str, Any] | None | bool:
        if value is None or value == "":
            return None
        ms = repo.milestones.get(int(value))
        return ms if ms is not None else False

    def _post_issue(self, repo: RepoState, data: dict[str, Any]) -> None:
        if not data.get("title"):
            self._error(422, "Validation Failed", errors=[{"resource": "Issue", "code": "missing_field",
                                                           "field": "title"}])
            return
        if len(data.get("body") or "") > 65_536:
            self._error(422, "Validation Failed", errors=[{"resource": "Issue", "code": "custom", "field": "body",
                                                           "message": "body is too long (maximum is 65536)"}])
            return
        ms = self._milestone_for(repo, data.get("milestone"))
        if ms is False:
            self._error(422, "Validation Failed", errors=[{"resource": "Issue", "code": "invalid",
                                                           "field": "milestone"}])
            return
        issue = self.emu._create_issue(repo, data)
        issue["milestone"] = ms
        self.emu._count_milestones(repo)
        self.emu.writes_applied += 1
        self._send(201, issue)

    def _patch_issue(self, repo: RepoState, issue: dict[str, Any], data: dict[str, Any]) -> None:
        if "body" in data and len(data["body"] or "") > 65_536:
            self._error(422, "Validation Failed", errors=[{"resource": "Issue", "code": "custom", "field": "body"}])
            return
        if "milestone" in data:
            ms = self._milestone_for(repo, data["milestone"])
            if ms is False:
                self._error(422, "Validation Failed", errors=[{"resource": "Issue", "code": "invalid",
                                                               "field": "milestone"}])
                return
            issue["milestone"] = ms
        for key in ("title", "body"):
            if key in data:
                issue[key] = data[key]
        if "labels" in data:
            self.emu._set_labels(repo, issue, data["labels"])
        if "state" in data and data["state"] != issue["state"]:
            issue["state"] = data["state"]
            issue["closed_at"] = _now() if data["state"] == "closed" else None
            issue["state_reason"] = data.get("state_reason") or ("completed" if data["state"] == "closed"
                                                                 else "reopened")
        issue["updated_at"] = _now()
        self.emu._count_milestones(repo)
        self.emu.writes_applied += 1
        self._send(200, issue)

    def _post_comment(self, repo: RepoState, number: int, data: dict[str, Any]) -> None:
        full = f"{repo.owner}/{repo.name}"
        cid = self.emu._new_id()
        comment = {"id": cid, "node_id": f"C_{cid}", "url": f"{self.emu.url}/repos/{full}/issues/comments/{cid}",
                   "html_url": f"https://github.com/{full}/issues/{number}#issuecomment-{cid}",
                   "issue_url": f"{self.emu.url}/repos/{full}/issues/{number}", "body": data.get("body", ""),
                   "user": self.emu._user(), "created_at": _now(), "updated_at": _now(),
                   "author_association": "OWNER"}
        repo.comments.setdefault(number, []).append(comment)
        repo.issues[number]["comments"] += 1
        self.emu.writes_applied += 1
        self._send(201, comment)


class _NotFound(Exception):
    pass


@contextmanager
def running_emulator(**kwargs: Any) -> Iterator[GitHubEmulator]:
    """Start an emulator for a test and always stop it."""
    emu = GitHubEmulator(**kwargs).start()
    try:
        yield emu
    finally:
        emu.stop()
