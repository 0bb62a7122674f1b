"""CLI profiles: ``~/.config/imprimatur/config.toml`` (or ``IMPRIMATUR_CONFIG``), overridden by
``IMPRIMATUR_API_URL`` / ``IMPRIMATUR_API_KEY``."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path


def config_path() -> Path:
    return Path(os.environ.get("IMPRIMATUR_CONFIG") or Path.home() / ".config" / "imprimatur" / "config.toml")


def state_dir() -> Path:
    return Path(os.environ.get("IMPRIMATUR_STATE_DIR") or config_path().parent / "uploads")


@dataclass
class Profile:
    name: str
    url: str
    key: str | None


def load_profiles() -> dict[str, dict[str, str]]:
    path = config_path()
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text())
    return {k: dict(v) for k, v in data.get("profiles", {}).items()}


def save_profile(name: str, url: str, key: str | None) -> Path:
    profiles = load_profiles()
    profiles[name] = {"url": url, **({"key": key} if key else {})}
    lines = []
    for pname, values in sorted(profiles.items()):
        lines.append(f"[profiles.{json.dumps(pname)}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
        lines.append("")
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    path.chmod(0o600)  # it holds API keys
    return path


def resolve(name: str | None) -> Profile | None:
    env_url, env_key = os.environ.get("IMPRIMATUR_API_URL"), os.environ.get("IMPRIMATUR_API_KEY")
    profiles = load_profiles()
    pname = name or os.environ.get("IMPRIMATUR_PROFILE") or "default"
    found = profiles.get(pname, {})
    url = env_url or found.get("url")
    if not url:
        return None
    return Profile(pname, url, env_key or found.get("key"))


def local_state(path: Path) -> dict[str, object]:
    return dict(json.loads(path.read_text()))
