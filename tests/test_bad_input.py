"""Property-based bad input (issue 13): Hypothesis sends odd bodies to every API route and odd values to every
console form, as the users who may use them, on the demo partnership; no answer may be a 500, and the API answers
JSON even when it refuses.

The console forms are found the way a user finds them: each user's pages are crawled from /admin/ and every form
on them (its action, fields, hidden values and options) becomes a target. A POST route no crawled page reaches is
still sent odd values, with its ids taken from the demo data. The suite runs this on SQLite and on PostgreSQL.
Examples are derandomised so CI repeats the same inputs; `HYPOTHESIS_PROFILE=explore` draws new ones (and more).
"""
from __future__ import annotations

import os
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta
from io import BytesIO
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, quote_from_bytes, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, select, text
from werkzeug.exceptions import MethodNotAllowed, NotFound

from app import create_app
from casework import directory, import_jobs, mfa, retention, tokens
from cli.demo import DEMO_PASSWORD
from models import Case, CaseParticipant, RetentionRule, User, WorkflowInstance, WorkItem, db
from models.base import utcnow
from models.enums import CaseStatus
from tests.conftest import IS_PG, _config, _truncate_pg
from tests.fixtures.imports import PEOPLE_HEADER, xlsx
from workflows import drafts, processes

settings.register_profile("ci", max_examples=12, derandomize=True, database=None, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("explore", max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

# Who crawls: one account per kind of user (the case lead's practitioner and manager, a lead, an admin, an auditor).
USERS = ["practitioner@police.demo", "manager@police.demo", "lead@victims.demo", "lead@police.demo",
         "admin@opcc.demo", "auditor@opcc.demo"]
# Links a crawler must not follow: they end the session, or are files rather than pages.
SKIP_LINK = re.compile(r"^/(static|admin/static)/|/logout|\.xlsx$|\.bpmn$|/export/|/download$")
PAGES_PER_ENDPOINT = 2

# Values people (and attackers) type: empty, huge, negative and non-ASCII numbers, NUL, a lone surrogate, odd
# dates, markup, long text, SQL, paths.
ODD = ["", " ", "0", "-1", "1.5", "1e309", "NaN", "99999999999999999999", "2147483648", "\u0663", "\uff12",
       "\x00", "a\x00b", "\ud800", "0000-00-00", "9999-12-31", "31/02/2024", "-0001-01-01", "<script>x</script>",
       "' OR 1=1 --", "../../etc/passwd", "x" * 5000, "true", "null", "[]", "{}", "\u202e", "😀"]
strings = st.one_of(st.sampled_from(ODD), st.text(st.characters(exclude_categories=()), max_size=30))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                         st.floats(allow_nan=True, allow_infinity=True), strings)


def _zip_bomb() -> bytes:
    """A small xlsx-shaped zip whose one sheet inflates a thousandfold."""
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", "<" + "a" * 5_000_000)
    return out.getvalue()


UPLOADS = st.one_of(st.binary(max_size=200), st.sampled_from([
    xlsx(PEOPLE_HEADER, ["X-2", "Bo", "Ray", "2001-02-29"]),
    xlsx(["given_name"] * 3, ["=HYPERLINK(1)", "\u202e", "9" * 400]), _zip_bomb(),
    b"<?xml version='1.0'?><!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><d>&e;</d>", b"PK\x03\x04"]))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(strings, inner, max_size=4), max_leaves=12)


# ---------------------------------------------------------------------------------------------------------------
# The world: the demo partnership on its own database, crawled once per module


class Forms(HTMLParser):
    """Collects links and forms (action, method, fields with their offered values) from one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": {},
                          "files": []}
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select", "button") and a.get("name"):
            if a.get("type") == "file":
                self._form["files"].append(a["name"])
                return
            values = self._form["fields"].setdefault(a["name"], [])
            if tag == "select":
                self._select = a["name"]
            elif a.get("value"):
                values.append(a["value"])
        elif tag == "option" and self._form is not None and self._select and a.get("value"):
            self._form["fields"][self._select].append(a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


@dataclass
class Target:
    """A form a user can send: where, how, and the values the page offered for each field."""
    user: str | None
    url: str
    method: str
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


@dataclass
class World:
    app: Any
    clients: dict[str, Any]
    targets: dict[str, list[Target]]
    ids: dict[str, int]
    tokens: dict[str, str]
    accounts: list[dict[str, Any]]
    roles: list[dict[str, Any]]
    organisations: list[dict[str, Any]]
    task_fields: dict[int, dict[str, list[Any]]]
    seen_by: dict[str, str]


def _app(tmp_path_factory, database_template):
    if IS_PG:
        app = create_app(_config(database_template))
        _truncate_pg(app)
    else:
        path = tmp_path_factory.mktemp("bad-input") / "world.db"
        shutil.copy(database_template, path)
        app = create_app(_config(f"sqlite:///{path}"))
    app.instance_path = str(tmp_path_factory.mktemp("bad-input-instance"))
    return app


def _login(client, email: str) -> None:
    client.post("/logout")
    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, (email, response.status_code)


def _endpoint(app, url: str, method: str) -> str | None:
    parts = urlsplit(url)
    try:
        endpoint, _ = app.url_map.bind("localhost").match(parts.path, method.upper())
    except (NotFound, MethodNotAllowed):
        return None
    return endpoint


def _crawl(app, client, email: str, targets: dict[str, list[Target]], seen_by: dict[str, str]) -> None:
    """Visit the user's console from /admin/, keeping every form (and every link's query string) found, at most
    a few pages per endpoint; `seen_by` notes the first user who could open each page."""
    queue, seen, per_endpoint = ["/admin/", "/admin/account/"], set(), {}
    while queue:
        url = queue.pop(0)
        endpoint = _endpoint(app, url, "GET")
        if url in seen or endpoint is None or per_endpoint.get(endpoint, 0) >= PAGES_PER_ENDPOINT:
            continue
        seen.add(url)
        per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + 1
        response = client.get(url)
        if response.status_code != 200 or not response.mimetype == "text/html":
            continue
        seen_by.setdefault(endpoint, email)
        query = urlsplit(url).query
        if query:
            fields = {k: [v] for k, v in parse_qsl(query, keep_blank_values=True)}
            targets.setdefault(endpoint, []).append(Target(email, urlsplit(url).path, "get", fields))
        page = Forms()
        page.feed(response.get_data(as_text=True))
        for href in page.links:
            parts = urlsplit(href)
            if not parts.netloc and parts.path.startswith("/admin") and not SKIP_LINK.search(parts.path):
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        for form in page.forms:
            action = form["action"] or url
            action = urlsplit(action).path + (f"?{urlsplit(action).query}" if urlsplit(action).query else "")
            target = _endpoint(app, action, form["method"])
            if target is not None and not SKIP_LINK.search(action):
                targets.setdefault(target, []).append(Target(email, action, form["method"], form["fields"],
                                                             form["files"]))


def _prepare() -> dict[str, int]:
    """Rows the crawl should find beside the demo's: a draft with a test run, a deploy waiting for approval, a
    closed case due for disposal review, a checked import, two second-factor accounts; returns ids for routes
    no crawled form names."""
    by_email = {u.email: u for u in db.session.scalars(select(User))}
    police = by_email["practitioner@police.demo"].organisation_id
    case = db.session.scalar(select(Case).where(Case.lead_organisation_id == police, Case.restricted.is_(False))
                             .order_by(Case.id))
    instance = db.session.scalar(select(WorkflowInstance.id).where(WorkflowInstance.case_id == case.id))
    item = db.session.scalar(select(WorkItem.id).where(WorkItem.case_id == case.id).order_by(WorkItem.id.desc()))
    person = db.session.scalar(select(CaseParticipant.person_id).where(CaseParticipant.case_id == case.id))
    lead = by_email["lead@victims.demo"]
    shipped = processes.latest("victim_referral")
    draft = drafts.open_draft(lead, shipped)
    run = drafts.start_test_run(lead, draft)
    pending, _ = processes.propose(shipped.bpmn_xml.replace('name="', 'name="Changed ', 1), lead)
    closed = db.session.scalar(select(Case).where(Case.lead_organisation_id == police, Case.id != case.id)
                               .order_by(Case.id))
    closed.status, closed.closed_at = CaseStatus.CLOSED, utcnow() - timedelta(days=30)
    db.session.add(RetentionRule(case_type_code=closed.case_type_code, keep_days=1, action="review"))
    retention.sweep()
    job = import_jobs.queue(by_email["manager@police.demo"], "people", xlsx(PEOPLE_HEADER, ["X-1", "Ann", "Lee",
                                                                                            "1990-01-01"]),
                            "people.xlsx", {}, None, dry_run=True)
    for email in MFA_USERS:
        user, _ = directory.create_user(email, email, "notts_police", ["practitioner"], DEMO_PASSWORD)
        if email.startswith("enrolled"):
            mfa.begin_enrolment(user)
            user.mfa_enrolled_at = utcnow()
    db.session.commit()
    import_jobs.run_pending()
    return {"case_id": case.id, "instance_id": instance, "item_id": item, "definition_id": pending.id,
            "draft_id": draft.id, "run_id": run.id, "job_id": job.id, "person_id": person, "export_type": "xlsx",
            "kind": "people", "key": "victim_referral", "code": "notts_police", "filename": "casebook.js"}


# Accounts that must give a second factor: the fuzz of /login/code and /login/enrol runs half-way through a login.
MFA_USERS = ["enrolled@police.demo", "new@police.demo"]


def _snapshot(table: str, column: str, values: list[Any]) -> list[dict[str, Any]]:
    rows = db.session.execute(text(f'SELECT * FROM "{table}"'))
    return [dict(r._mapping) for r in rows if r._mapping[column] in values]


def _list_targets(app, seen_by: dict[str, str]) -> dict[str, list[Target]]:
    """Every list page's query string (search, paging, sorting, page size, each filter), as its reader sends it."""
    out: dict[str, list[Target]] = {}
    with app.test_request_context():
        for view in app.extensions["admin"][0]._views:
            endpoint = f"{view.endpoint}.index_view"
            if not hasattr(view, "get_filter_arg") or endpoint not in seen_by:
                continue
            fields = {"search": [], "page": ["0", "1"], "sort": ["0", "1"], "desc": ["1"], "page_size": ["20"]}
            for i, flt in enumerate(view._filters or []):
                options = [str(o[0]) for o in (flt.get_options(view) or [])] if hasattr(flt, "get_options") else []
                fields[f"flt{i}_{view.get_filter_arg(i, flt)}"] = options
            out[endpoint] = [Target(seen_by[endpoint], f"/admin/{view.url.strip('/')}/", "get", fields)]
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory, database_template) -> World:
    """The demo partnership, each crawling user logged in, the forms they can reach, and API tokens."""
    app = _app(tmp_path_factory, database_template)
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    clients, targets, seen_by = {}, {}, {}
    with app.app_context():
        ids = _prepare()
        users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(USERS + MFA_USERS)))}
        issued = {email: tokens.issue(user) for email, user in users.items()}
        db.session.commit()
        for email in USERS:
            clients[email] = app.test_client()
            _login(clients[email], email)
            _crawl(app, clients[email], email, targets, seen_by)
        for endpoint, found in _list_targets(app, seen_by).items():
            targets.setdefault(endpoint, []).extend(found)
        user_ids = [u.id for u in users.values()]
        accounts = _snapshot("user", "id", user_ids)
        roles = _snapshot("user_role", "user_id", user_ids)
        organisations = _snapshot("organisation", "id", [u.organisation_id for u in users.values()])
    clients[None] = app.test_client()
    for email in MFA_USERS:
        clients[email] = app.test_client()
        page = clients[email].post("/login", data={"email": email, "password": DEMO_PASSWORD}, follow_redirects=True)
        forms = Forms()
        forms.feed(page.get_data(as_text=True))
        endpoint = "auth.second_factor" if email.startswith("enrolled") else "auth.enrol"
        targets.setdefault(endpoint, []).extend(Target(email, urlsplit(f["action"] or page.request.path).path, "post",
                                                       f["fields"]) for f in forms.forms if f["method"] == "post")
    page = Forms()
    page.feed(clients[None].get("/login").get_data(as_text=True))
    targets.setdefault("auth.login", []).extend(Target(None, "/login", "post", f["fields"]) for f in page.forms)
    task_fields = {}
    ready = app.test_client().get("/api/v1/tasks?status=ready",
                                  headers={"Authorization": f"Bearer {issued['practitioner@police.demo']}"}).json
    for item in ready:
        task_fields[item["id"]] = {f["id"]: [o["id"] for o in f["options"]] for f in item["form"]["fields"]}
    yield World(app, clients, targets, ids, issued, accounts, roles, organisations, task_fields, seen_by)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _restore(world: World) -> None:
    """Put the crawling users back as they were (an admin's fuzzed edit may deactivate or re-role them) and log
    them in again; the second-factor accounts start a new login."""
    with world.app.app_context():
        with db.engine.begin() as conn:
            for table, rows, key in (("organisation", world.organisations, "id"), ("user", world.accounts, "id")):
                for row in rows:
                    sets = ", ".join(f'"{c}" = :{c}' for c in row if c != key)
                    conn.execute(text(f'UPDATE "{table}" SET {sets} WHERE "{key}" = :{key}'), row)
            remove = text("DELETE FROM user_role WHERE user_id IN :ids").bindparams(bindparam("ids", expanding=True))
            conn.execute(remove, {"ids": sorted({r["user_id"] for r in world.roles})})
            for row in world.roles:
                conn.execute(text("INSERT INTO user_role (id, user_id, role) VALUES (:id, :user_id, :role)"), row)
    for email, client in world.clients.items():
        if email in MFA_USERS:
            client.post("/logout")
            client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        elif email is not None:
            _login(client, email)


# ---------------------------------------------------------------------------------------------------------------
# Console forms


def _routes(methods: set[str], prefix: str) -> list[str]:
    """Endpoints (sorted, admins' model views last) of the app's routes with one of these methods."""
    app = create_app(_config("sqlite://"))
    found = {r.endpoint for r in app.url_map.iter_rules()
             if r.rule.startswith(prefix) and methods & set(r.methods or ()) and r.endpoint != "admin.static"}
    # These change the accounts the crawl logged in with, or discard the draft other designer routes use.
    last = ("users.", "organisations.", "auth.logout", "designer.discard")
    return sorted(found, key=lambda e: (e.startswith(last), e))


CONSOLE_POSTS = _routes({"POST"}, "/admin") + ["auth.login", "auth.second_factor", "auth.enrol", "auth.logout"]


def _fallback(world: World, endpoint: str, method: str) -> Target:
    """A target for a route no crawled page has a form for: its ids from the demo data, and a user who could open
    another page of the same screen (else the first an empty POST does not turn away), so the fuzz reaches the
    view's own checks. A GET gets the query arguments the console's pages use."""
    rule = next(r for r in world.app.url_map.iter_rules() if r.endpoint == endpoint)
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(rf"<(?:(?:int|path):)?{name}>", str(world.ids.get(name, 1)), url)
    fields = {} if method == "post" else {"id": [str(world.ids["case_id"])], "url": ["/admin/"], "name": [],
                                          "query": [], "page": [], "next": []}
    screen = endpoint.split(".")[0] + "."
    user = next((u for e, u in world.seen_by.items() if e.startswith(screen)), None)
    if user is None and method == "post":
        for email in USERS:
            response = world.clients[email].post(url)
            if response.status_code not in (401, 403, 404) and "/login" not in response.headers.get("Location", ""):
                user = email
                break
    return Target(user or USERS[0], url, method, fields)


def _encode(fields: dict[str, list[str]]) -> bytes:
    """A form body as a browser could send it, surrogates and NUL included (percent-encoded bytes)."""
    def q(value: str) -> str:
        return quote_from_bytes(value.encode("utf-8", "surrogatepass"))
    return "&".join(f"{q(k)}={q(v)}" for k, vs in fields.items() for v in vs).encode()


def _form_values(target: Target) -> st.SearchStrategy[dict[str, list[str]]]:
    """Each field: a value the page offered, or an odd one; fields may be left out; an unknown field may come."""
    optional = {name: st.lists(st.one_of(st.sampled_from(offered), strings) if offered else strings,
                               min_size=1, max_size=2)
                for name, offered in target.fields.items()}
    known = st.fixed_dictionaries({}, optional=optional)
    return st.tuples(known, st.dictionaries(strings, st.lists(strings, min_size=1, max_size=1), max_size=1)).map(
        lambda parts: {**parts[1], **parts[0]})


def _send_form(world: World, target: Target, fields: dict[str, list[str]],
               files: dict[str, tuple[bytes, str]] | None = None):
    client = world.clients[target.user]
    if target.method == "get":
        query = dict(parse_qsl(urlsplit(target.url).query))
        body = _encode({**{k: [v] for k, v in query.items()}, **fields}).decode()
        return client.get(f"{urlsplit(target.url).path}?{body}")
    if files is not None:
        data: dict[str, Any] = {k: v for k, v in fields.items()}
        data.update({name: (BytesIO(content), filename) for name, (content, filename) in files.items()})
        return client.post(target.url, data=data, content_type="multipart/form-data")
    return client.post(target.url, data=_encode(fields), content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("endpoint", CONSOLE_POSTS)
def test_console_forms_never_answer_500(world, endpoint):
    _restore(world)
    targets = [t for t in world.targets.get(endpoint, []) if t.method == "post"] or [_fallback(world, endpoint, "post")]

    @settings(settings.get_profile(PROFILE))
    @given(st.data())
    def send(data):
        target = data.draw(st.sampled_from(targets))
        if data.draw(st.integers(0, 3)) == 0:
            # The console's scripts post JSON to a few of these (the designer, security keys): any JSON at all.
            body = data.draw(st.one_of(json_values, st.fixed_dictionaries(
                {}, optional={k: json_values for k in [*target.fields, "credential", "label", "xml", "version"]})))
            response = world.clients[target.user].post(target.url, json=body)
            assert response.status_code < 500, (target.url, response.get_data(as_text=True)[:300])
            return
        fields = data.draw(_form_values(target))
        files = None
        if target.files:
            # Multipart text must be valid UTF-8 (a browser sends nothing else there); the files carry the rest.
            fields = {_utf8(k): [_utf8(v) for v in vs] for k, vs in fields.items()}
            files = {name: (data.draw(UPLOADS), data.draw(strings.map(_safe_segment))) for name in target.files}
        response = _send_form(world, target, fields, files)
        assert response.status_code < 500, (target.url, response.get_data(as_text=True)[:300])

    send()


CONSOLE_GET_FORMS = _routes({"GET"}, "/admin") + ["auth.sso_start", "auth.sso_callback"]


@pytest.mark.parametrize("endpoint", CONSOLE_GET_FORMS)
def test_console_searches_and_filters_never_answer_500(world, endpoint):
    """Search boxes, filters, paging, sorting and ids: the GET forms and query strings of the crawled pages, or
    the arguments the console's pages take."""
    _restore(world)
    targets = [t for t in world.targets.get(endpoint, []) if t.method == "get"] or [_fallback(world, endpoint, "get")]

    @settings(settings.get_profile(PROFILE))
    @given(st.data())
    def send(data):
        target = data.draw(st.sampled_from(targets))
        response = _send_form(world, target, data.draw(_form_values(target)))
        assert response.status_code < 500, (target.url, response.get_data(as_text=True)[:300])

    send()


# ---------------------------------------------------------------------------------------------------------------
# API bodies

# The keys each API body reads, so examples reach past "missing field" into the values' checks.
API_KEYS = {
    "api.open_case": ["case_type", "title", "area", "summary", "risk_level", "restricted", "lead_organisation",
                      "people", "organisations"],
    "api.add_organisation": ["code"],
    "api.start_process": ["key", "data"],
    "api.ask_agency": ["organisation", "service", "text", "due_on"],
    "api.assign_task": ["organisation", "user"],
    "api.complete_task": ["data"],
}
# Plausible values for those keys (real codes), mixed with any JSON.
PLAUSIBLE = ["victim_support", "asb", "notts_police", "victim_services", "mansfield", "victim", "perpetrator",
             "high", "not_assessed", "victim_referral", "practitioner@police.demo", "2027-01-31", "policing"]
people_rows = st.lists(st.fixed_dictionaries({}, optional={
    k: st.one_of(st.sampled_from(PLAUSIBLE + ["Amira", "1988-03-14"]), json_values)
    for k in ("role", "given_name", "family_name", "date_of_birth", "external_reference")}), max_size=3)
API_ROUTES = [(e, m) for e in _routes({"GET", "POST"}, "/api/v1/") for m in ("GET", "POST")
              if m in next(r.methods for r in create_app(_config("sqlite://")).url_map.iter_rules()
                           if r.endpoint == e)]
API_USER = {"api.deploy_process": "lead@victims.demo", "api.approve_process": "lead@police.demo",
            "api.reject_process": "lead@police.demo"}


def _api_body(endpoint: str, task_fields: dict[int, dict[str, list[Any]]]) -> st.SearchStrategy[Any]:
    keys = API_KEYS.get(endpoint, [])
    value = st.one_of(st.sampled_from(PLAUSIBLE), json_values)
    optional = {k: value for k in keys}
    if "people" in optional:
        optional["people"] = st.one_of(people_rows, json_values)
        optional["organisations"] = st.one_of(st.lists(st.fixed_dictionaries({"code": value}), max_size=2),
                                              json_values)
    if endpoint == "api.complete_task":
        answers = [st.fixed_dictionaries({}, optional={k: st.one_of(st.sampled_from(opts), json_values)
                                                       if opts else json_values for k, opts in fields.items()})
                   for fields in task_fields.values()]
        optional["data"] = st.one_of(*answers, json_values) if answers else json_values
    return st.one_of(st.fixed_dictionaries({}, optional=optional), json_values)


@pytest.mark.parametrize("endpoint,method", API_ROUTES)
def test_api_never_answers_500_or_html(world, endpoint, method):
    rule = next(r for r in world.app.url_map.iter_rules() if r.endpoint == endpoint and method in r.methods)
    user = API_USER.get(endpoint, "practitioner@police.demo")
    headers = {"Authorization": f"Bearer {world.tokens[user]}"}
    items = sorted(world.task_fields) or [world.ids["item_id"]]
    ids = {"case_id": st.sampled_from([world.ids["case_id"], 2**31, 0]),
           "item_id": st.sampled_from([*items, 2**31]),
           "instance_id": st.sampled_from([world.ids["instance_id"], 2**31]),
           "definition_id": st.sampled_from([world.ids["definition_id"], 2**31]),
           "notification_id": st.sampled_from([1, 2**31])}
    client = world.app.test_client()

    @settings(settings.get_profile(PROFILE))
    @given(st.data())
    def send(data):
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:int:)?{name}>", str(data.draw(ids.get(name, strings.map(_safe_segment)))), url)
        query = data.draw(st.dictionaries(st.sampled_from(["status", "case", "limit", "after", "page", "q"]),
                                          strings, max_size=3))
        if query:
            url += "?" + urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in query.items()})
        if method == "GET":
            response = client.get(url, headers=headers)
        elif endpoint == "api.deploy_process":
            content = data.draw(st.one_of(strings, st.sampled_from(BPMN_ODD))).encode("utf-8", "surrogatepass")
            response = client.post(url, headers=headers, data={"file": (BytesIO(content), "x.bpmn")},
                                   content_type="multipart/form-data")
        elif data.draw(st.booleans()):
            response = client.post(url, headers=headers, json=data.draw(_api_body(endpoint, world.task_fields)))
        else:
            raw = data.draw(st.one_of(st.binary(max_size=60), st.sampled_from([b"[" * 5000, b'{"a":' * 40 + b"1"])))
            response = client.post(url, headers=headers, data=raw, content_type="application/json")
        assert response.status_code < 500, (url, response.get_data(as_text=True)[:300])
        assert response.is_json or response.mimetype.startswith("application/vnd.openxml"), (url, response.mimetype)

    send()


def _utf8(value: str) -> str:
    """Text a browser could put in a multipart form (lone surrogates become "?")."""
    return value.encode("utf-8", "replace").decode()


def _safe_segment(value: str) -> str:
    """A path segment from any text (the test client needs a URL, so '/', '?' and '#' are escaped)."""
    return quote_from_bytes(value.encode("utf-8", "surrogatepass"), safe="") or "x"


BPMN_ODD = [
    "<?xml version='1.0'?><!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><d>&e;</d>",
    "<?xml version='1.0'?><!DOCTYPE l [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;&a;'>]><l>&b;</l>",
    "<definitions xmlns='http://www.omg.org/spec/BPMN/20100524/MODEL'><process id='p' isExecutable='true'>"
    "<startEvent id='s'/></process></definitions>",
    "<definitions xmlns='http://www.omg.org/spec/BPMN/20100524/MODEL'><process id='p' isExecutable='true'>"
    "<scriptTask id='t'><script>__import__('os').system('id')</script></scriptTask></process></definitions>",
    "\x00<xml", "<" * 10000,
]
