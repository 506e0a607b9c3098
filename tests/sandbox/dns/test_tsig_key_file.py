"""BIND key files: comments go, quoted secrets stay whole (base64 may hold "//", which is not a comment)."""

from __future__ import annotations

import base64

import pytest

from xpchaos.sandbox.dns.rfc2136 import generate_tsig_key, parse_tsig_key


def test_a_secret_with_double_slash_survives_comment_stripping() -> None:
    secret = b"\xff\xff\xff" * 11  # base64: "////" repeated
    text = (f'// written by hand\nkey "k" {{ /* block */ algorithm hmac-sha256; # trailing\n'
            f'  secret "{base64.b64encode(secret).decode()}"; }};\n')
    assert "//" in base64.b64encode(secret).decode()
    assert parse_tsig_key(text).secret == secret


@pytest.mark.parametrize("attempt", range(200))
def test_generated_key_files_always_parse(attempt: int) -> None:
    key, text = generate_tsig_key("k.")
    assert parse_tsig_key(text).secret == key.secret
