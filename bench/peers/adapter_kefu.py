"""bench.py adapter for kefu (the peer harness in shared/peers/django-helpdesk/).

Standard library only: the harness imports this file with the system python3. Everything kefu-specific
runs in subprocesses with kefu's own interpreter: the project's .venv (found from this file's location,
bench/peers/ -> project root), or KEFU_BENCH_PYTHON.

The server is kefu's production setup, `kefu serve --workers N` (uvicorn workers), with KEFU_PRODUCTION=1
(DEBUG off, hashed static files from collectstatic, secure-flagged cookies) except the HTTPS redirect
(KEFU_SSL_REDIRECT=0): the harness speaks plain HTTP on 127.0.0.1. See README.md beside this file.

Operation mapping (workload op id -> kefu requests):
  agent_ticket_list     GET /console/tickets/  (one HTML page with the first 25 rows, default filters)
  agent_ticket_detail   GET /console/tickets/<id>/
  api_ticket_list       GET /api/v1/tickets  (JSON {"items": [...25], "next_cursor": ...}, session auth)
  public_ticket_submit  POST /portal/new/  (anonymous; 302 to /portal/new/done/ on success)
The agent is bench-agent (role agent, not a supervisor), a member of all ten support teams, so every
loaded ticket is visible to it through the agent's access rule.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent  # bench/peers/ -> the project root
PYTHON = os.environ.get("KEFU_BENCH_PYTHON") or str(ROOT / ".venv" / "bin" / "python")
AGENT_USER = "bench-agent"  # bench/generate.py: role agent, in every support team
AGENT_PASSWORD = "bench-pass-123"  # noqa: S105 - the documented benchmark login


class _Fail(Exception):
    pass


def _check(resp, expected=(200,)):
    if resp.status not in expected:
        raise _Fail(f"{resp.path}: HTTP {resp.status} (expected {expected}) {resp.body[:160]!r}")
    return resp


def _csrf_field(html: str) -> str:
    m = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not m:
        raise _Fail("no CSRF token on the form")
    return m.group(1)


class Kefu:
    name = "kefu"
    ready_path = "/login/"

    def __init__(self, ctx):
        self.ctx = ctx
        self.root = Path(ctx.workdir) / "kefu"
        self.data_dir = self.root / "data"  # KEFU_DATA_DIR: static files, media, sent mail
        self.port = None

    # ---------------------------------------------------------------- setup
    def _run(self, argv, env, timeout=3600):
        r = subprocess.run([str(a) for a in argv], env=env, cwd=str(ROOT), capture_output=True, text=True,
                           timeout=timeout, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, argv[:4]))} failed ({r.returncode}):\n"
                               f"{(r.stdout or '')[-2000:]}\n{(r.stderr or '')[-3000:]}")
        return r

    def _secret_key(self) -> str:
        path = self.root / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(50))
            path.chmod(0o600)
        return path.read_text().strip()

    def setup(self):
        if not Path(PYTHON).exists():
            raise RuntimeError(f"no kefu interpreter at {PYTHON}; create the project's .venv "
                               "(pip install -e .) or set KEFU_BENCH_PYTHON")
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        # The production storage serves hashed static files from the manifest that collectstatic writes;
        # no database is touched (the URL only has to parse).
        env = self.env({"kind": "sqlite", "path": str(self.root / "unused.sqlite3")})
        t0 = time.perf_counter()
        self._run([PYTHON, "-m", "kefu", "collectstatic", "--noinput", "-v", "0"], env)
        collect_s = time.perf_counter() - t0
        code = ("import sys, sqlite3, importlib.metadata as m\n"
                "v = {p: m.version(p) for p in ('kefu', 'django', 'uvicorn', 'psycopg', 'django-ninja')}\n"
                "v['python'] = sys.version.split()[0]; v['sqlite'] = sqlite3.sqlite_version\n"
                "print(__import__('json').dumps(v))")
        versions = json.loads(self._run([PYTHON, "-c", code], env).stdout.strip().splitlines()[-1])
        git = shutil.which("git")
        if git:
            r = subprocess.run([git, "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                               text=True, check=False)
            if r.returncode == 0:
                versions["kefu_commit"] = r.stdout.strip()
        return {"versions": versions, "collectstatic_s": round(collect_s, 1)}

    def database_url(self, db) -> str:
        if db["kind"] == "sqlite":
            return "sqlite:///" + str(Path(db["path"]).resolve())
        host = urllib.parse.quote(db["host"], safe="")  # a socket directory, percent-encoded
        return f"postgres://{db['user']}@{host}:{db['port']}/{db['name']}"

    def env(self, db):
        env = dict(os.environ)
        env.update({
            "DJANGO_SETTINGS_MODULE": "kefu.settings",
            "PYTHONDONTWRITEBYTECODE": "1",
            "DATABASE_URL": self.database_url(db),
            "KEFU_DATA_DIR": str(self.data_dir),
            "KEFU_SECRET_KEY": self._secret_key(),  # one key for every worker process
            # Production settings (DEBUG off, hashed static files, secure-flagged cookies, HSTS on HTTPS)
            # but no redirect to HTTPS: the harness talks plain HTTP to 127.0.0.1.
            "KEFU_PRODUCTION": "1",
            "KEFU_DEBUG": "0",
            "KEFU_SSL_REDIRECT": "0",
            "KEFU_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # No mail server here; no background worker runs either, so queued mail stays queued.
            "KEFU_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        })
        if self.port is not None:
            origin = f"http://127.0.0.1:{self.port}"
            env.update(KEFU_CSRF_TRUSTED_ORIGINS=origin, KEFU_PUBLIC_URL=origin)
        return env

    def kefu(self, db, *args, timeout=3600):
        return self._run([PYTHON, "-m", "kefu", *args], self.env(db), timeout=timeout)

    # ------------------------------------------------------------- database
    def reset_and_migrate(self, db):
        if db["kind"] == "sqlite":
            for suffix in ("", "-journal", "-wal", "-shm", ".writers"):  # .writers: kefu's writer-queue lock
                p = Path(db["path"] + suffix)
                if p.exists():
                    p.unlink()
        t0 = time.perf_counter()
        self.kefu(db, "migrate", "--noinput", "-v", "0")
        return {"migrate_s": round(time.perf_counter() - t0, 2)}

    def load(self, db, ds, n, seed):
        argv = [PYTHON, HERE / "kefu_load.py",
                "--database-url", self.database_url(db), "--data-dir", self.data_dir,
                "--tickets", n, "--messages", ds["messages_per_ticket"], "--customers", ds["customers"],
                "--seed", seed, "--chunk", ds.get("load_chunk", 10000),
                "--save-sample", ds.get("save_path_sample", 0), "--shape", json.dumps(ds)]
        r = self._run(argv, self.env(db), timeout=7200)
        for line in r.stderr.splitlines():
            if line.startswith("kefu_load:"):
                self.ctx.log(line)
        return json.loads(r.stdout.strip().splitlines()[-1])

    def probe(self, db, ds):
        """SQL statements and time per request, in-process (kefu's bench/probe.py, Django's test client)."""
        paths = ["/console/tickets/", "/console/tickets/1/", "/api/v1/tickets"]
        argv = [PYTHON, ROOT / "bench" / "probe.py", "--database-url", self.database_url(db),
                "--data-dir", self.data_dir]
        r = self._run([*argv, *(x for p in paths for x in ("--path", p))], self.env(db), timeout=1800)
        report = json.loads(r.stdout[r.stdout.index("["):])
        ops = {e["path"]: {"queries": e["queries"], "sql_ms": e["sql_ms"], "wall_ms": e["ms"],
                           "status": e["status"]} for e in report}
        return {"ops": ops, "slowest": {e["path"]: e["slowest"] for e in report}}

    # --------------------------------------------------------------- server
    def server(self, db, host, port, workers, timeout):
        # uvicorn has no per-request timeout (gunicorn's --timeout): `timeout` is not used. Keep-alive is
        # raised from uvicorn's 5 s so an idle kept-alive connection is not closed under a POST.
        self.port = port
        argv = [PYTHON, "-m", "kefu", "serve", "--host", host, "--port", str(port),
                "--workers", str(workers), "--timeout-keep-alive", "30",
                "--log-level", "warning", "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"]
        return argv, self.env(db), str(ROOT)

    # ------------------------------------------------------------------ ops
    OPS = ("agent_ticket_list", "agent_ticket_detail", "api_ticket_list", "public_ticket_submit")

    def supports(self, op_id):
        return op_id in self.OPS

    def prepare_client(self, op_id, client, state):
        if op_id == "public_ticket_submit":
            r = _check(client.get("/portal/new/"))
            client.csrf_form = _csrf_field(r.text)
            if "csrftoken" not in client.cookies:
                raise _Fail("the public form set no CSRF cookie")
        else:
            self.login(client)

    def login(self, client):
        r = _check(client.get("/login/"))
        r = client.post("/login/", form={"username": AGENT_USER, "password": AGENT_PASSWORD,
                                         "csrfmiddlewaretoken": _csrf_field(r.text), "next": "/console/tickets/"})
        _check(r, (302,))
        if "sessionid" not in client.cookies:
            raise _Fail("login did not set a session")

    def op(self, op_id):
        return getattr(self, "op_" + op_id)

    def op_agent_ticket_list(self, client, rng, state):
        page = _check(client.get("/console/tickets/"))
        if b'<tr class="ticket-row">' not in page.body:
            raise _Fail("the ticket list shows no ticket")
        return [("page", page)]

    def op_agent_ticket_detail(self, client, rng, state):
        lo, hi = state["load"]["ticket_id_min"], state["load"]["ticket_id_max"]
        return [("detail", _check(client.get(f"/console/tickets/{rng.randint(lo, hi)}/")))]

    def op_api_ticket_list(self, client, rng, state):
        r = _check(client.get("/api/v1/tickets", headers={"Accept": "application/json"}))
        if not r.body.startswith(b'{"items"'):
            raise _Fail(f"unexpected API answer {r.body[:80]!r}")
        return [("api", r)]

    def op_public_ticket_submit(self, client, rng, state):
        n = rng.randint(0, 10**9)
        # Each submission comes from its own address, as many customers' would (through the proxy header
        # uvicorn trusts from 127.0.0.1): kefu allows 10 anonymous submissions per address and hour, and the
        # limiter's count (one upsert per submission) stays in the measured path (README.md).
        ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        customer = n % state["dataset"]["customers"] + 1  # an existing customer's address (bench/generate.py)
        r = client.post("/portal/new/", headers={"X-Forwarded-For": ip}, form={
            "csrfmiddlewaretoken": client.csrf_form,
            "name": f"Customer {customer}",
            "email": f"customer{customer}@bench.example",
            "phone": "",
            "subject": f"Cannot log in to the portal #{n}",
            "category": "",
            "description": "Hello, since this morning I cannot log in. The page says my password "
                           "is wrong, but I reset it twice. Please help. " * 3,
        })
        _check(r, (302,))
        if not r.headers.get("location", "").endswith("/portal/new/done/"):
            raise _Fail(f"submission redirected to {r.headers.get('location')!r}")
        return [("submit", r)]


def make_adapter(ctx):
    return Kefu(ctx)
