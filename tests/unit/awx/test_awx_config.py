"""AWX as code (awx/controller_config.yml): every survey and extra variable matches what the playbooks read.

A survey variable is either a role option (checked against the role's meta/argument_specs.yml: type,
choices, default), or an extra variable the playbook hands to a role option as
``option: "{{ variable | default(X) }}"`` (checked against that option's spec, and X against the spec
default), or a variable of the playbook itself (``variable | default(X)``: the survey default must be X).
"""

from __future__ import annotations

import ast
import glob
import os
import re

import pytest
import yaml

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CONFIG = os.path.join(CHECKOUT, "awx", "controller_config.yml")


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def config():
    return load(CONFIG)


def templates():
    return config()["controller_templates"]


def collection_playbook(wrapper):
    """The collection playbook a wrapper of awx/playbooks imports (fuel.lifecycle.<name>)."""
    plays = load(os.path.join(CHECKOUT, wrapper))
    assert len(plays) == 1, wrapper
    target = plays[0]["ansible.builtin.import_playbook"]
    match = re.match(r"\Afuel\.lifecycle\.(\w+)\Z", target)
    assert match, "%s: imports %r, not a playbook of this collection" % (wrapper, target)
    path = os.path.join(CHECKOUT, "playbooks", match.group(1) + ".yml")
    assert os.path.exists(path), path
    return path


def playbook_text(path):
    """The playbook and the task files it includes (playbooks/tasks/*.yml)."""
    text = open(path, encoding="utf-8").read()
    for name in re.findall(r"include_tasks:\s*(tasks/[\w.-]+\.yml)", text):
        text += "\n" + open(os.path.join(os.path.dirname(path), name), encoding="utf-8").read()
    return text


def role_specs(text):
    """Options of every role of this collection the playbook text runs."""
    options = {}
    for role in set(re.findall(r"(?:role|name):\s*fuel\.lifecycle\.(\w+)\s*$", text, flags=re.M)):
        spec_path = os.path.join(CHECKOUT, "roles", role, "meta", "argument_specs.yml")
        if not os.path.exists(spec_path):
            continue
        role_options = load(spec_path)["argument_specs"]["main"]["options"]
        # A role may keep its defaults in defaults/main.yml only: that is the default the spec stands for.
        defaults_path = os.path.join(CHECKOUT, "roles", role, "defaults", "main.yml")
        defaults = load(defaults_path) or {} if os.path.exists(defaults_path) else {}
        for name, spec in role_options.items():
            if "default" not in spec and name in defaults and "{{" not in str(defaults[name]):
                spec = dict(spec, default=defaults[name])
            options[name] = spec
    return options


def literal(text):
    """A Jinja default(...) literal as Python data."""
    text = text.strip()
    return ast.literal_eval(re.sub(r"\b(true|false|none)\b", lambda m: m.group(1).capitalize(), text))


def survey_value(question, value):
    """A survey answer as the playbook sees it (AWX sends multiple choice "true"/"false" as strings; the
    roles' `bool` options accept them)."""
    if question["type"] == "multiplechoice" and sorted(question["choices"]) == ["false", "true"]:
        return value == "true"
    return value


SURVEY_TYPES = {"text": "str", "textarea": "str", "password": "str", "integer": "int", "float": "float",
                "multiselect": "list"}


def survey_type(question):
    if question["type"] == "multiplechoice":
        return "bool" if sorted(question["choices"]) == ["false", "true"] else "str"
    return SURVEY_TYPES[question["type"]]


def check_against_spec(where, question, spec):
    problems = []
    if survey_type(question) != spec.get("type", "str"):
        problems.append("%s: survey type %s, spec type %s" % (where, survey_type(question), spec.get("type", "str")))
    if spec.get("choices") and question["type"] == "multiplechoice":
        extra = set(question["choices"]) - {str(c) for c in spec["choices"]}
        if extra:
            problems.append("%s: choices %s not in the spec's %s" % (where, sorted(extra), spec["choices"]))
    default = survey_value(question, question.get("default"))
    # A required question with an empty default makes the operator answer (no spec default applies).
    must_answer = question.get("required") and default in ("", None) and not (
        spec.get("choices") and "" in spec["choices"] and question["type"] != "multiplechoice")
    if not must_answer and default != spec.get("default"):
        problems.append("%s: survey default %r, spec default %r" % (where, default, spec.get("default")))
    return problems


def uses(text, variable):
    """(role option or None, default literal text or None) for each place the playbook reads variable."""
    found = []
    for match in re.finditer(r"(?:^\s*(\w+):\s*[\"']?)?\{\{\s*%s\s*(?:\|\s*default\(([^()]*(?:\([^()]*\))?[^()]*)\))?"
                             % re.escape(variable), text, flags=re.M):
        found.append((match.group(1), match.group(2)))
    for match in re.finditer(r"[(\s]%s\s*\|\s*default\(([^()]*)\)" % re.escape(variable), text):
        found.append((None, match.group(1)))
    return found


def check_variable(where, question, text, options):
    variable = question["variable"]
    if variable in options:
        return check_against_spec(where, question, options[variable])
    places = uses(text, variable)
    if not places:
        return ["%s: the playbook does not read %s" % (where, variable)]
    problems = []
    default = survey_value(question, question.get("default"))
    for option, fallback in places:
        if option in options:
            problems += check_against_spec("%s -> %s" % (where, option), question, options[option])
            if fallback is not None and literal(fallback) != options[option].get("default"):
                problems.append("%s: playbook default %s, spec default of %s %r"
                                % (where, fallback, option, options[option].get("default")))
        elif fallback is not None and not (question.get("required") and default == ""):
            if str(literal(fallback)) != str(default) and literal(fallback) != default:
                problems.append("%s: survey default %r, playbook default %s" % (where, default, fallback))
    return problems


@pytest.mark.parametrize("template", templates(), ids=lambda t: t["name"])
def test_survey_matches_the_playbook_and_role_specs(template):
    path = collection_playbook(template["playbook"])
    text = playbook_text(path)
    options = role_specs(text)
    assert options, "%s: no role spec found for %s" % (template["name"], path)
    spec = template["survey_spec"]["spec"]
    assert template["survey_enabled"] and spec
    names = [q["variable"] for q in spec]
    assert len(names) == len(set(names)), "duplicate survey variables"
    problems = []
    for question in spec:
        where = "%s / %s" % (template["name"], question["variable"])
        if question["type"] == "multiplechoice":
            assert question["default"] in question["choices"] or (question["required"] and question["default"] == "")
        problems += check_variable(where, question, text, options)
    for variable in template.get("extra_vars", {}):
        if variable not in options and not uses(text, variable):
            problems.append("%s: extra var %s is not read by the playbook" % (template["name"], variable))
    assert not problems, "\n".join(problems)


def test_one_template_per_playbook_and_references_resolve():
    data = config()
    wrappers = sorted(os.path.relpath(p, CHECKOUT) for p in glob.glob(os.path.join(CHECKOUT, "awx", "playbooks", "*.yml")))
    assert sorted(t["playbook"] for t in data["controller_templates"]) == wrappers
    assert sorted(os.path.basename(collection_playbook(w)) for w in wrappers) == sorted(
        os.path.basename(p) for p in glob.glob(os.path.join(CHECKOUT, "playbooks", "*.yml")))
    names = {kind: {o["name"] for o in data[kind]} for kind in (
        "controller_credential_types", "controller_credentials", "controller_execution_environments",
        "controller_projects", "controller_inventories")}
    for template in data["controller_templates"]:
        assert template["inventory"] in names["controller_inventories"]
        assert template["project"] in names["controller_projects"]
        assert template["execution_environment"] in names["controller_execution_environments"]
        assert set(template["credentials"]) <= names["controller_credentials"]
    for source in data["controller_inventory_sources"]:
        assert source["credential"] in names["controller_credentials"]
        assert source["source_project"] in names["controller_projects"]
        path = os.path.join(CHECKOUT, source["source_path"])
        assert path.endswith("nailgun.yml") and load(path)["plugin"] == "fuel.lifecycle.nailgun"
    # Orchestrated jobs are never sliced nor run twice at once.
    for template in data["controller_templates"]:
        if template["playbook"].endswith(("mu_install.yml", "master_upgrade.yml")):
            assert template["job_slice_count"] == 1 and template["allow_simultaneous"] is False


def test_credential_type_feeds_the_inventory_plugin():
    """The injected environment variables are the ones the plugin's options read."""
    from ansible_collections.fuel.lifecycle.plugins.inventory import nailgun  # pylint: disable=import-outside-toplevel
    doc = yaml.safe_load(nailgun.DOCUMENTATION)["options"]
    read = {env["name"]: name for name, option in doc.items() for env in option.get("env", [])}
    credential_type, = config()["controller_credential_types"]
    for variable in credential_type["injectors"]["env"]:
        assert variable in read, variable
    assert {read[v] for v in credential_type["injectors"]["env"]} == {"url", "keystone_url", "username", "password"}
    secret = {f["id"] for f in credential_type["inputs"]["fields"] if f.get("secret")}
    assert secret == {"password"}


def test_the_check_catches_a_wrong_survey():
    """The checker itself: a wrong type, choice, default or name is reported."""
    template = dict(templates()[0])
    path = collection_playbook(template["playbook"])
    text = playbook_text(path)
    options = role_specs(text)
    bad = [
        {"variable": "fuel_mu_validate_certs", "type": "text", "default": "yes", "required": True},
        {"variable": "fuel_mu_release", "type": "text", "default": "8.0", "required": True},
        {"variable": "fuel_mu_env", "type": "integer", "default": 2, "required": True},
        {"variable": "fuel_mu_no_such_thing", "type": "text", "default": "", "required": False},
        {"variable": "mu_check_timeout", "type": "text", "default": "10", "required": True},
    ]
    for question in bad:
        assert check_variable("x", question, text, options), question
    node_report = load(os.path.join(CHECKOUT, "roles", "node_report", "meta", "argument_specs.yml"))
    spec = node_report["argument_specs"]["main"]["options"]["node_report_package_manager"]
    question = {"variable": "node_report_package_manager", "type": "multiplechoice", "choices": ["auto", "yum"],
                "default": "auto", "required": True}
    assert check_against_spec("x", question, spec)
