"""praxis-collector's commands: tokens, serve's ready file, ls, verify and export."""

from __future__ import annotations

import json
import os
import socket
import textwrap
from urllib.parse import urljoin

from tests.collector.helpers import Collector, collector_cli, create, make_package, patch


def _upload(client, server, token, package):
    created = create(client, server.url, token, package)
    url = urljoin(server.url, created.headers["Location"])
    assert patch(client, url, token, 0, package.data).status_code == 204


def test_tokens_are_shown_once_and_stored_hashed(fresh_dir):
    made = collector_cli("token", "create", "--name", "alice-laptop", "--data-dir", str(fresh_dir))
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert len(made.stdout.splitlines()) == 1 and token.startswith("pxc_")
    token_id = token.split("_")[1]
    assert token_id in made.stderr
    for path in fresh_dir.rglob("*"):
        if path.is_file():
            assert token.split("_", 2)[2].encode() not in path.read_bytes()
    listed = collector_cli("token", "list", "--data-dir", str(fresh_dir))
    assert "alice-laptop" in listed.stdout and "active" in listed.stdout
    assert token not in listed.stdout
    revoked = collector_cli("token", "revoke", token_id, "--data-dir", str(fresh_dir))
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    rows = collector_cli("token", "list", "--json", "--data-dir", str(fresh_dir)).stdout
    row = json.loads(rows.splitlines()[0])
    assert row["id"] == token_id and row["revoked_at"] and "sha256" not in row


def test_bad_input_gives_one_line_and_no_traceback(fresh_dir):
    cases = [
        (["token", "revoke", "0123456789ab", "--data-dir", str(fresh_dir)], 1, "no token"),
        (["token", "create", "--name", " ", "--data-dir", str(fresh_dir)], 1, "token name"),
        (["ls", "--data-dir", str(fresh_dir), "--storage", "s3"], 1, "--bucket"),
        (["serve", "--data-dir", str(fresh_dir), "--port", "99999"], 2, "port"),
        (["ls"], 2, "--data-dir"),
    ]
    for args, code, words in cases:
        done = collector_cli(*args)
        assert done.returncode == code, (args, done.stderr)
        assert words in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_a_taken_port_is_one_line(fresh_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = collector_cli("serve", "--data-dir", str(fresh_dir), "--port", port)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and f"port {port}" in done.stderr


def test_ls_verify_and_export(fresh_dir, client, tmp_path):
    server = Collector(fresh_dir, []).start()
    try:
        token = server.token("export")
        first = make_package()
        packages = [first, make_package(device_id=first.device_id)]
        for package in packages:
            _upload(client, server, token, package)
    finally:
        assert server.stop() == 0
    assert not (fresh_dir.parent / f"{fresh_dir.name}.ready").exists()  # removed on stop

    listed = server.cli("ls")
    assert listed.returncode == 0
    for package in packages:
        assert package.segment_id in listed.stdout and package.sha256[:16] in listed.stdout
    env = {**os.environ, "PRAXIS_COLLECTOR_DATA_DIR": str(fresh_dir)}  # as a systemd unit would
    by_env = collector_cli("ls", "--json", env=env)
    rows = [json.loads(line) for line in by_env.stdout.splitlines()]
    assert {row["segment_id"] for row in rows} == {p.segment_id for p in packages}

    verified = server.cli("verify")
    assert verified.returncode == 0 and "2 packages whole, 0 problems" in verified.stdout

    out = tmp_path / "export"
    exported = server.cli("export", "--out", str(out))
    assert exported.returncode == 0, exported.stdout
    index = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    assert len(index) == 2
    for line in index:
        package = next(p for p in packages if p.segment_id == line["segment_id"])
        assert (out / line["path"]).read_bytes() == package.data
        assert line["sha256"] == package.sha256 and line["device_id"] == package.device_id
        assert line["receipt"]["apps"] == ["xterm"] and line["manifest"]["format_version"] == 1

    stored = fresh_dir / "store" / "packages" / first.device_id / f"{first.segment_id}.zip"
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    (stored.parent / "stray.zip").write_bytes(b"PK")
    broken = server.cli("verify")
    assert broken.returncode == 1
    assert f"BAD packages/{first.device_id}/{first.segment_id}.zip" in broken.stdout
    assert "without a record" in broken.stdout
    assert "1 packages whole, 2 problems" in broken.stdout
    again = server.cli("export", "--out", str(out))
    assert again.returncode == 1
    remaining = (out / "index.jsonl").read_text().splitlines()
    assert [json.loads(line)["segment_id"] for line in remaining] == [packages[1].segment_id]
    assert not (out / "packages" / first.device_id / f"{first.segment_id}.zip").exists()


def test_the_collector_needs_nothing_from_the_desktop_app():
    import subprocess
    import sys

    code = textwrap.dedent(
        """
        import importlib, pkgutil, sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("app", "PySide6", "pynput", "mss", "numpy"):
                    raise ImportError(f"the collector imported {name}")

        sys.meta_path.insert(0, Block())
        import praxis_collector
        for info in pkgutil.walk_packages(praxis_collector.__path__, "praxis_collector."):
            if info.name != "praxis_collector.__main__":
                importlib.import_module(info.name)
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


def _self_signed(folder):
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import datetime
    import ipaddress

    import pytest

    x509 = pytest.importorskip("cryptography.x509", reason="cryptography is not installed")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_serves_https_with_a_certificate(fresh_dir, tmp_path):
    import ssl

    import httpx

    cert, key = _self_signed(tmp_path)
    server = Collector(fresh_dir, [], ["--tls-cert", str(cert), "--tls-key", str(key)]).start()
    try:
        assert server.url.startswith("https://127.0.0.1:")
        token = server.token()
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(verify=trust, timeout=30) as tls_client:
            answer = tls_client.options(server.url, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 204 and answer.headers["Tus-Version"] == "1.0.0"
    finally:
        assert server.stop() == 0
    missing = collector_cli("serve", "--data-dir", str(fresh_dir), "--tls-cert", str(cert))
    assert missing.returncode == 1 and "--tls-key" in missing.stderr
    wrong = collector_cli(
        "serve", "--data-dir", str(fresh_dir), "--tls-cert", str(cert), "--tls-key", str(cert)
    )
    assert wrong.returncode == 1 and "cannot use the certificate" in wrong.stderr
    assert wrong.stderr.count("\n") == 1
