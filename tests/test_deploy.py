"""The shipped deployment files: deploy/nginx.conf passes `nginx -t` (with a throwaway
certificate in place of the placeholders) and says what the README promises; the systemd
unit runs `wbok serve --workers`."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CONF = (ROOT / "deploy" / "nginx.conf").read_text()


@pytest.mark.skipif(not Path(NGINX).exists() or not shutil.which("openssl"), reason="needs nginx and openssl")
def test_nginx_conf_is_valid(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=panel.example.pl", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", CONF)
    site = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)
    site = re.sub(r"listen (\[::\]:)?(80|443)", lambda m: f"listen {m.group(1) or ''}{18080 if m.group(2) == '80' else 18443}", site)
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
                    f"http {{\n include /etc/nginx/mime.types;\n access_log off;\n{site}\n}}\n")
    done = subprocess.run([NGINX, "-t", "-c", str(main)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_nginx_conf_says_what_the_readme_promises():
    sse = CONF[CONF.index("location ~ ^/(admin/)?helpdesk"):]
    sse = sse[:sse.index("}")]
    assert "proxy_buffering off" in sse and "proxy_read_timeout 1h" in sse
    pattern = re.compile(r"^/(admin/)?helpdesk/([0-9]+/)?events$")
    for path in ("/helpdesk/events", "/helpdesk/12/events", "/admin/helpdesk/events", "/admin/helpdesk/7/events"):
        assert pattern.match(path), path
    assert not pattern.match("/helpdesk/12")
    static = CONF[CONF.index("location /static/"):]
    static = static[:static.index("}")]
    assert 'Cache-Control "public, max-age=31536000, immutable"' in static
    assert "gzip off;" in CONF and "ssl_certificate " in CONF and "WBOK_TRUSTED_PROXIES" in CONF


def test_systemd_unit_serves_with_workers():
    unit = (ROOT / "deploy" / "wbok.service").read_text()
    exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1)
    assert exec_start.split()[1:3] == ["serve", "--host"] and "--workers auto" in exec_start
    assert re.search(r"^Restart=always$", unit, re.M) and "EnvironmentFile=/etc/wbok/wbok.env" in unit
