"""Shared helpers of the whole-module tests: YAML cases, scratch trees, placeholders."""

from __future__ import annotations

import os

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def load_cases(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def substitute(value, mapping):
    """Replace {placeholders} in every string of a nested structure."""
    if isinstance(value, str):
        for key, repl in mapping.items():
            value = value.replace("{%s}" % key, repl)
        return value
    if isinstance(value, list):
        return [substitute(v, mapping) for v in value]
    if isinstance(value, dict):
        return {substitute(k, mapping): substitute(v, mapping) for k, v in value.items()}
    return value


def make_tree(root, files):
    for rel, content in (files or {}).items():
        path = os.path.join(root, rel)
        if isinstance(content, dict) and content.get("dir"):
            os.makedirs(path, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = bytes.fromhex(content["hex"]) if isinstance(content, dict) else content.encode()
        with open(path, "wb") as handle:
            handle.write(data)


def dig(result, path):
    """result['a'][0]['b'] for the path 'a.0.b'."""
    value = result
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value
