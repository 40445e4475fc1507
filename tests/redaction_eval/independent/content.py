"""What the screens show: files, transcripts, messages and tables, each a labelled Document.

Every builder takes a Values source and returns a Document; screens decide where and how it
is drawn. Sensitive values sit where people really leave them (a `.env`, a key file, an
Authorization header, a mail signature, a dashboard cell), beside ordinary words and code
that only looks like it holds a secret.
"""

from __future__ import annotations

import json

from tests.redaction_eval.independent.text import Document
from tests.redaction_eval.independent.values import WORDS, Values

ENV_KEYS = {
    "SECRET": ("DJANGO_SECRET_KEY", "SESSION_SECRET", "DB_PASSWORD", "SMTP_PASS", "REDIS_AUTH"),
    "API_TOKEN": ("STRIPE_API_KEY", "SLACK_BOT_TOKEN", "SENDGRID_KEY", "MAPS_TOKEN"),
}
PLACEHOLDERS = ("<redacted>", "REPLACE_ME", "changeme", "${VAULT_TOKEN}", "********", "TODO")


def code_line(v: Values) -> str:
    """A line of source code that names a secret but holds none."""
    var = v.pick(("token", "auth_token", "access_token", "bearer"))
    pw = v.pick(("password", "passwd", "db_password", "admin_pw"))
    env = v.pick(("API_KEY", "SECRET_KEY", "GITHUB_TOKEN", "STRIPE_SECRET"))
    return v.pick(
        (
            f'{var} = request.headers.get("Authorization")',
            f'{pw} = getpass.getpass("Password: ")',
            f"{env} = os.environ[{env!r}]",
            f'{pw} = os.getenv("{pw.upper()}", "")',
            f'headers["Authorization"] = f"Bearer {{{var}}}"',
            f"if {pw} != confirm_{pw}:",
            f"const {var} = await session.getToken(user.id);",
            f"apiKey: process.env.{env},",
            f"{var}_expiry = datetime.utcnow() + timedelta(hours=8)",
            f"secret_key = settings.{env}",
            f"def rotate_{var}(client, ttl={v.rng.randint(60, 3600)}):",
        )
    )


def prompt(doc: Document, v: Values, command: str) -> None:
    host = v.pick(("build-07", "ws-lena", "devbox", "ci-runner-3"))
    doc.plain(f"{v.pick(('dev', 'ops', 'deploy'))}@{host}:~/app$ ")
    doc.ordinary(command, "code")
    doc.newline()


# -- files a terminal prints --------------------------------------------------------------
def env_file(v: Values) -> Document:
    doc = Document()
    doc.plain("# ").ordinary(v.words(4)).newline()
    user = v.pick(("app", "shop_rw", "analytics", "svc_billing"))
    host = f"db-{v.rng.randint(1, 9)}.{v.pick(('internal', 'corp.local'))}"
    scheme = v.pick(("postgres", "mysql", "amqp", "redis"))
    lines = [
        ("SECRET", "SECRET"),
        ("API_TOKEN", "API_TOKEN"),
        ("URL", "URL_PASSWORD"),
        ("AWS", "AWS_KEY"),
        ("PLACEHOLDER", None),
        ("PLAIN", None),
        ("SECRET", "SECRET"),
    ]
    v.rng.shuffle(lines)
    for what, _ in lines:
        if what == "SECRET":
            doc.plain(v.pick(ENV_KEYS["SECRET"]) + "=")
            value, style = v.password()
            doc.sensitive(value, "SECRET", f"env {style}")
        elif what == "API_TOKEN":
            doc.plain(v.pick(ENV_KEYS["API_TOKEN"]) + "=")
            value, style = v.api_token()
            doc.sensitive(value, "API_TOKEN", f"env {style}")
        elif what == "URL":
            doc.plain(f"DATABASE_URL={scheme}://{user}:")
            value, style = v.url_password()
            doc.sensitive(value, "URL_PASSWORD", "env")
            doc.plain(f"@{host}:{v.rng.randint(1024, 9999)}/{v.pick(WORDS)}")
        elif what == "AWS":
            doc.plain("AWS_ACCESS_KEY_ID=")
            value, style = v.aws_key()
            doc.sensitive(value, "AWS_KEY", style)
        elif what == "PLACEHOLDER":
            doc.plain(v.pick(("SENTRY_DSN", "OAUTH_CLIENT_SECRET", "API_KEY")) + "=")
            doc.ordinary(v.pick(PLACEHOLDERS), "placeholder")
        else:
            doc.plain(v.pick(("LOG_LEVEL", "REGION", "WORKERS", "BUILD")) + "=")
            doc.ordinary(v.pick(("debug", "eu-central-1", str(v.rng.randint(2, 16)), v.hash())))
        doc.newline()
    return doc


def pem_file(v: Values) -> Document:
    lines, kind = v.private_key()
    doc = Document()
    doc.plain(lines[0]).newline()
    doc.block(lines[1:-1], "PRIVATE_KEY", kind)
    doc.newline().plain(lines[-1]).newline()
    return doc


def http_transcript(v: Values) -> Document:
    """`curl -v` output: request headers with tokens, response headers with a cookie."""
    doc = Document()
    path = f"/v{v.rng.randint(1, 3)}/{v.pick(('orders', 'invoices', 'users'))}/{v.rng.randint(1, 99999)}"
    doc.plain("> ").ordinary(f"GET {path} HTTP/1.1", "code").newline()
    doc.plain("> Host: ").ordinary(f"api.{v.pick(('example.net', 'corp.local'))}").newline()
    doc.plain("> Authorization: Bearer ")
    if v.rng.random() < 0.6:
        value, style = v.jwt()
        doc.sensitive(value, "JWT", style)
    else:
        value, style = v.bearer()
        doc.sensitive(value, "BEARER", style)
    doc.newline()
    doc.plain("> X-Request-Id: ").ordinary(v.uuid(), "uuid").newline()
    doc.plain("< ").ordinary(f"HTTP/1.1 {v.pick(('200 OK', '401 Unauthorized', '302 Found'))}")
    doc.newline()
    doc.plain("< ETag: ").ordinary(v.hash(), "hash").newline()
    doc.plain("< Set-Cookie: session=")
    value, style = v.jwt()
    doc.sensitive(value, "JWT", f"cookie {style}")
    doc.plain("; Path=/; HttpOnly").newline()
    return doc


def log_lines(v: Values, n: int) -> Document:
    doc = Document()
    for _ in range(n):
        doc.ordinary(f"{v.number()} {v.pick(('INFO', 'WARN', 'ERROR'))}")
        doc.plain(" ")
        what = v.rng.random()
        if what < 0.3:
            doc.ordinary(f"{v.pick(('git', 'pip', 'helm'))} fetch from").plain(" https://")
            doc.plain(v.pick(("deploy", "ci", "oauth2")) + ":")
            value, _ = v.url_password()
            doc.sensitive(value, "URL_PASSWORD", "log")
            doc.plain(f"@git.{v.pick(('corp.local', 'example.net'))}/{v.pick(WORDS)}.git")
        elif what < 0.5:
            doc.ordinary(f"order {v.reference()} {v.words(2)}", "reference")
        elif what < 0.7:
            doc.ordinary(f"commit {v.hash()} {v.words(3)}", "hash")
        else:
            doc.ordinary(v.words(v.rng.randint(4, 9)))
        doc.newline()
    return doc


def wrapped_urls(v: Values, cols: int, n: int = 2) -> Document:
    """Remote URLs with a password that the terminal wraps to the next row before the `@`."""
    doc = Document()
    for _ in range(n):
        password, _ = v.url_password()
        user = v.pick(("deploy", "ci-bot", "mirror"))
        url = f"https://{user}:"
        cut = v.rng.randint(2, len(password) - 2)  # characters of it left on the first row
        room = max(8, cols - len(url) - cut)
        head = f"{v.pick(('origin', 'backup', 'upstream'))}  "
        while len(head) < room:
            head += v.pick(WORDS) + " "
        head = head[:room]
        if not head.endswith(" "):
            head = head[: head.rstrip().rfind(" ") + 1].ljust(room)
        doc.ordinary(head).plain(url)
        doc.sensitive(password, "URL_PASSWORD", "wrapped")
        doc.plain(f"@git.{v.pick(('corp.local', 'example.net'))}/{v.pick(WORDS)}.git (fetch)")
        doc.newline()
    return doc


def terminal_session(v: Values, budget: int, cols: int) -> Document:
    """A shell session that fits `budget` terminal rows of `cols` columns."""
    doc = Document()
    blocks = [
        ("git remote -v", lambda v: wrapped_urls(v, cols)),
        ("cat .env", env_file),
        (f"cat {v.pick(('deploy.key', 'id_ed25519', 'server.pem'))}", pem_file),
        ("curl -v https://api/...", http_transcript),
        ("tail -n 6 app.log", lambda v: log_lines(v, 6)),
        ("cat settings.py", lambda v: source_file(v, 5)),
    ]
    v.rng.shuffle(blocks)
    used = 0
    for command, build in blocks:
        part = Document()
        prompt(part, v, command)
        part.extend(build(v))
        rows = sum(max(1, -(-len(t) // cols)) for t in part.texts()[:-1])
        if used + rows > budget:
            continue
        used += rows
        doc.extend(part)
    return doc


# -- files an editor shows ------------------------------------------------------------------
def source_file(v: Values, n: int) -> Document:
    doc = Document()
    for _ in range(n):
        doc.ordinary(code_line(v), "code").newline()
    return doc


def config_file(v: Values, syntax: str) -> Document:
    """A config file in `syntax` (yaml, toml, ini, json) with secrets among settings."""
    doc = Document()
    entries: list[tuple[str, str, str | None, str]] = []  # key, value, category, variant
    for _ in range(2):
        value, style = v.password()
        entries.append(
            (v.pick(("password", "secret_key", "client_secret")), value, "SECRET", style)
        )
    value, style = v.api_token()
    entries.append((v.pick(("api_key", "token", "webhook_key")), value, "API_TOKEN", style))
    value, style = v.aws_key()
    entries.append(("aws_access_key_id", value, "AWS_KEY", style))
    value, style = v.github_token()
    entries.append(("github_token", value, "GITHUB_TOKEN", style))
    entries.append(("signing_key", v.pick(PLACEHOLDERS), None, "placeholder"))
    entries.append(("owner", v.email()[0], "EMAIL", "config"))
    entries.append(("oncall_phone", v.phone()[0], "PHONE", "config"))
    for key in ("region", "replicas", "checksum", "release"):
        entries.append((key, v.pick((v.number(), v.hash(), v.pick(WORDS))), None, "number"))
    v.rng.shuffle(entries)
    section = v.pick(("production", "billing", "worker", "default"))
    if syntax == "json":
        doc.plain("{").newline().plain(f'  "{section}": {{').newline()
    elif syntax == "yaml":
        doc.plain(f"{section}:").newline()
    else:
        doc.plain(f"[{section}]").newline()
    for n, (key, value, category, variant) in enumerate(entries):
        if syntax == "json":
            doc.plain(f'    "{key}": "')
        elif syntax == "yaml":
            doc.plain(f"  {key}: ")
        elif syntax == "toml":
            doc.plain(f'{key} = "')
        else:
            doc.plain(f"{key} = ")
        if category is None:
            kind = "placeholder" if variant == "placeholder" else "number"
            if kind == "number" and any(c.isalpha() for c in value) and len(value) >= 7:
                kind = "hash" if all(c in "0123456789abcdef" for c in value) else "word"
            doc.ordinary(value, kind)
        else:
            doc.sensitive(value, category, f"{syntax} {variant}")
        if syntax == "json":
            doc.plain('"' + ("," if n + 1 < len(entries) else ""))
        elif syntax == "toml":
            doc.plain('"')
        doc.newline()
    if syntax == "json":
        doc.plain("  }").newline().plain("}").newline()
    return doc


def http_request_file(v: Values) -> Document:
    """A saved request (.http), as REST clients in editors keep them."""
    doc = Document()
    doc.ordinary(f"POST https://api.{v.pick(('example.net', 'corp.local'))}/v2/token", "code")
    doc.newline()
    doc.plain("Authorization: Bearer ")
    value, style = v.jwt()
    doc.sensitive(value, "JWT", f"request {style}")
    doc.newline().plain("X-Api-Key: ")
    value, style = v.api_token()
    doc.sensitive(value, "API_TOKEN", f"header {style}")
    doc.newline().plain("Content-Type: application/json").newline().newline()
    body = {"client_id": v.uuid(), "note": v.words(3)}
    doc.plain(json.dumps(body)).newline()
    return doc


# -- mail and chat ----------------------------------------------------------------------------
def mail_message(v: Values) -> Document:
    country = v.country()
    first, last = v.person(country)
    doc = Document()
    doc.plain("From: ").plain(f"{first} {last} <")
    doc.sensitive(v.email(country)[0], "EMAIL", "from")
    doc.plain(">").newline()
    doc.plain("To: ")
    doc.sensitive(v.email()[0], "EMAIL", "to")
    doc.newline().plain("Subject: ").ordinary(v.words(4)).newline().newline()
    for _ in range(v.rng.randint(2, 3)):
        doc.ordinary(v.words(v.rng.randint(6, 11))).newline()
    what = v.pick(("iban", "card", "ssn", "phone"))
    if what == "iban":
        doc.ordinary("please transfer the deposit to").plain(" ")
        doc.sensitive(*_cat(v.iban(), "IBAN")).newline()
    elif what == "card":
        doc.ordinary("the card on file is").plain(" ")
        doc.sensitive(*_cat(v.card(), "CARD")).newline()
    elif what == "ssn":
        doc.ordinary("for the W-4 form my SSN is").plain(" ")
        doc.sensitive(*_cat(v.ssn(), "SSN")).newline()
    else:
        doc.ordinary("you can call my colleague on").plain(" ")
        doc.sensitive(*_cat(v.phone(), "PHONE")).newline()
    doc.ordinary(f"reference {v.reference()}", "reference").newline().newline()
    doc.plain("-- ").newline().plain(f"{first} {last}").newline()
    for label in v.rng.sample(("Tel.", "Mobil", "Mob.", "Fax", "Phone"), 2):
        doc.ordinary(label).plain(" ")
        doc.sensitive(*_cat(v.phone(country), "PHONE")).newline()
    doc.sensitive(v.email(country)[0], "EMAIL", "signature").newline()
    return doc


def _cat(pair: tuple[str, str], category: str) -> tuple[str, str, str]:
    return pair[0], category, pair[1]


def chat_messages(v: Values, n: int) -> Document:
    doc = Document()
    people = [v.person(v.country())[0] for _ in range(3)]
    for _ in range(n):
        doc.plain(f"[{v.rng.randint(8, 18):02d}:{v.rng.randint(0, 59):02d}] {v.pick(people)}: ")
        r = v.rng.random()
        if r < 0.55:
            category = v.pick(("EMAIL", "PHONE", "PHONE", "CARD", "IBAN", "SSN", "GITHUB_TOKEN"))
            make = {
                "EMAIL": v.email,
                "PHONE": v.phone,
                "CARD": v.card,
                "IBAN": v.iban,
                "SSN": v.ssn,
                "GITHUB_TOKEN": v.github_token,
            }[category]
            doc.ordinary(v.words(v.rng.randint(2, 5))).plain(" ")
            value, variant = make()  # type: ignore[operator]
            doc.sensitive(value, category, f"chat {variant}")
            doc.plain(" ").ordinary(v.words(v.rng.randint(0, 3)))
        elif r < 0.75:
            doc.ordinary(code_line(v), "code")
        elif r < 0.85:
            doc.ordinary(f"ticket {v.reference()} {v.words(2)}", "reference")
        else:
            doc.ordinary(v.words(v.rng.randint(4, 12)))
        doc.newline()
    return doc


# -- a table of keys ---------------------------------------------------------------------------
TABLE_COLUMNS = ("Name", "Key", "Created", "Last used", "Fingerprint", "ID")


def key_table(v: Values, rows: int) -> list[list[Document]]:
    table = []
    for _ in range(rows):
        value, style = v.api_token() if v.rng.random() < 0.8 else v.aws_key()
        category = "AWS_KEY" if style in ("AKIA", "ASIA") else "API_TOKEN"
        row = [
            Document().ordinary(f"{v.pick(WORDS)}-{v.pick(('prod', 'ci', 'staging'))}"),
            Document().sensitive(value, category, f"table {style}"),
            Document().ordinary(v.number(), "number"),
            Document().ordinary(v.pick(("never", "2 days ago", "today", v.number()))),
            Document().ordinary(v.hash(), "hash"),
            Document().ordinary(v.uuid(), "uuid"),
        ]
        table.append(row)
    return table
