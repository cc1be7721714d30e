"""Credentials: the documented attributes, and secrets kept out of reprs."""
from __future__ import annotations

import pytest

import cerulean
from cerulean.credential import AgentCredential, Credential, DefaultKeysCredential


def test_password_credential_has_the_documented_attributes() -> None:
    credential = cerulean.PasswordCredential("alice", "s3cret")
    assert isinstance(credential, Credential)
    assert (credential.username, credential.password) == ("alice", "s3cret")


def test_pubkey_credential_has_the_documented_attributes() -> None:
    credential = cerulean.PubKeyCredential("alice", "/home/alice/.ssh/id_ed25519")
    assert (credential.username, credential.public_key, credential.passphrase) == (
        "alice", "/home/alice/.ssh/id_ed25519", None)
    with_passphrase = cerulean.PubKeyCredential("alice", "key", "phrase")
    assert with_passphrase.passphrase == "phrase"


@pytest.mark.parametrize("credential", [
    cerulean.PasswordCredential("alice", "s3cret"),
    cerulean.PubKeyCredential("alice", "/k", "s3cret"),
    DefaultKeysCredential("alice", ["/k"], "s3cret"),
], ids=["password", "pubkey", "default-keys"])
def test_repr_never_shows_the_secret(credential: Credential) -> None:
    assert "s3cret" not in repr(credential)
    assert "alice" in repr(credential)


def test_ssh_terminal_rejects_something_that_is_not_a_credential() -> None:
    with pytest.raises(TypeError, match="Credential, not tuple"):
        cerulean.SshTerminal("host", 22, ("alice", "s3cret"))  # type: ignore[arg-type]


def test_agent_and_default_keys_credentials() -> None:
    assert AgentCredential("bob").username == "bob"
    default = DefaultKeysCredential("bob")
    assert (default.key_files, default.passphrase, default.use_agent) == (None, None, True)
    assert DefaultKeysCredential.DEFAULT_KEY_FILES[0] == "~/.ssh/id_rsa"


def test_default_keys_credential_rejects_a_single_string() -> None:
    with pytest.raises(TypeError, match="list of paths"):
        DefaultKeysCredential("bob", "~/.ssh/id_rsa")  # type: ignore[arg-type]
